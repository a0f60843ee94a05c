/* Latency samples, percentiles and medians for the tracker benchmark. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tracker_bench.h"

uint64_t tb_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int reserve(tb_samples *s, size_t need) {
  if (need <= s->cap) return 0;
  size_t cap = s->cap ? s->cap : 4096;
  while (cap < need) cap *= 2;
  uint32_t *p = realloc(s->ns, cap * sizeof *p);
  if (!p) {
    fprintf(stderr, "bench: out of memory for %zu latency samples\n", cap);
    return -1;
  }
  s->ns = p;
  s->cap = cap;
  return 0;
}

int tb_samples_add(tb_samples *s, uint64_t ns) {
  if (s->n == s->cap && reserve(s, s->n + 1)) return -1;
  s->ns[s->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
  return 0;
}

int tb_samples_append(tb_samples *dst, const tb_samples *src) {
  if (!src->n) return 0;
  if (reserve(dst, dst->n + src->n)) return -1;
  memcpy(dst->ns + dst->n, src->ns, src->n * sizeof *src->ns);
  dst->n += src->n;
  return 0;
}

void tb_samples_free(tb_samples *s) {
  free(s->ns);
  memset(s, 0, sizeof *s);
}

double tb_samples_mean_us(const tb_samples *s) {
  if (!s->n) return 0.0;
  double sum = 0;
  for (size_t i = 0; i < s->n; i++) sum += s->ns[i];
  return sum / (double)s->n / 1000.0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile: the smallest sample with at least pct% of the
 * samples at or below it. */
double tb_samples_pct_us(tb_samples *s, double pct) {
  if (!s->n) return 0.0;
  qsort(s->ns, s->n, sizeof *s->ns, cmp_u32);
  double rank = pct / 100.0 * (double)s->n;
  size_t i = (size_t)rank;
  if ((double)i < rank) i++; /* ceil */
  if (i > 0) i--;
  if (i >= s->n) i = s->n - 1;
  return (double)s->ns[i] / 1000.0;
}

double tb_median(double *v, size_t n) {
  if (!n) return 0.0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

void tb_scope_names(unsigned u, char keypair[32], char user[32]) {
  snprintf(keypair, 32, "keypair:AK%04u", u);
  snprintf(user, 32, "user:%04u", u);
}
