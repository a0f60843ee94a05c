/* mserve-batch: reading the arrivals and replaying them through a batcher. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_cli.h"

/* A decimal integer field, all of it: 0, or -1. */
static int field_int(const char *s, size_t len, int64_t *out) {
  char buf[32];
  while (len && isspace((unsigned char)*s)) s++, len--;
  while (len && isspace((unsigned char)s[len - 1])) len--;
  if (!len || len >= sizeof buf) return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end = NULL;
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  if (errno || *end) return -1;
  *out = (int64_t)v;
  return 0;
}

int arrivals_read(const char *path, arrivals *out, char *err, size_t errlen) {
  FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  arrivals a = {NULL, 0};
  size_t cap = 0;
  char line[1024];
  long lineno = 0;
  int rc = 0, first_data = 1;
  int64_t last_t = INT64_MIN;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    size_t len = strlen(line);
    if (len == sizeof line - 1 && line[len - 1] != '\n') {
      snprintf(err, errlen, "%s:%ld: line too long", path, lineno);
      rc = -1;
      break;
    }
    char *p = line;
    if (lineno == 1 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf) p += 3;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#' || *p == '\n' || *p == '\r' || !*p) continue;
    int64_t v[4] = {0, 0, 0, 0};
    int n = 0, bad = 0;
    char *s = p;
    for (;;) {
      char *e = s + strcspn(s, ",\r\n");
      if (n == 4 || field_int(s, (size_t)(e - s), &v[n])) {
        bad = 1;
        break;
      }
      n++;
      if (*e != ',') break;
      s = e + 1;
    }
    if (bad && first_data && !isdigit((unsigned char)*p) && *p != '-') { /* a header line */
      first_data = 0;
      continue;
    }
    first_data = 0;
    if (bad || n < 2) {
      snprintf(err, errlen, "%s:%ld: expected time_us,items[,priority[,timeout_us]] (integers)", path, lineno);
      rc = -1;
      break;
    }
    const char *why = v[0] < 0 ? "time_us is negative" : v[0] < last_t ? "time goes backwards"
                      : v[1] < 1 ? "items must be at least 1" : v[2] < 0 ? "priority is negative"
                      : v[2] > MS_BATCHER_MAX_LEVELS ? "priority is above 256" : v[3] < 0 ? "timeout_us is negative" : NULL;
    if (why) {
      snprintf(err, errlen, "%s:%ld: %s", path, lineno, why);
      rc = -1;
      break;
    }
    if (a.n == cap) {
      cap = cap ? cap * 2 : 256;
      arrival *nv = realloc(a.v, cap * sizeof *nv);
      if (!nv) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -1;
        break;
      }
      a.v = nv;
    }
    a.v[a.n].t_us = v[0];
    a.v[a.n].items = v[1];
    a.v[a.n].priority = (int)v[2];
    a.v[a.n].timeout_us = v[3];
    a.v[a.n].line = lineno;
    a.n++;
    last_t = v[0];
  }
  if (!rc && ferror(f)) {
    snprintf(err, errlen, "%s: read error", path);
    rc = -1;
  }
  if (f != stdin) fclose(f);
  if (rc) {
    free(a.v);
    return -1;
  }
  *out = a;
  return 0;
}

void arrivals_free(arrivals *a) {
  free(a->v);
  a->v = NULL;
  a->n = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * size);
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

static int record(result *r, ms_batch *x, const arrivals *a) {
  size_t n = ms_batch_count(x), cap_m = r->cap_m;
  if (grow((void **)&r->b, &r->cap_b, r->nb + 1, sizeof *r->b) ||
      grow((void **)&r->member, &r->cap_m, r->nm + n, sizeof *r->member))
    return MS_ENOMEM;
  if (r->cap_m != cap_m || !r->wait) { /* the waits follow the members' capacity */
    int64_t *w = realloc(r->wait, r->cap_m * sizeof *w);
    if (!w) return MS_ENOMEM;
    r->wait = w;
  }
  rbatch *b = &r->b[r->nb++];
  b->at_us = ms_batch_formed_us(x);
  b->status = ms_batch_status(x);
  b->first = r->nm;
  b->n = n;
  b->items = ms_batch_items(x);
  b->wait_min = INT64_MAX;
  b->wait_max = 0;
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t id = 0;
    ms_batch_get(x, i, &id, NULL, NULL);
    int64_t wait = b->at_us - a->v[id].t_us;
    r->member[r->nm] = (size_t)id;
    r->wait[r->nm] = wait;
    r->nm++;
    if (wait < b->wait_min) b->wait_min = wait;
    if (wait > b->wait_max) b->wait_max = wait;
    sum += (double)wait;
  }
  b->wait_mean = n ? sum / (double)n : 0;
  if (b->status == MS_OK) r->run += (long)n;
  else if (b->status == MS_ETIMEDOUT) r->timed_out += (long)n;
  else r->canceled += (long)n;
  if (b->at_us > r->end_us) r->end_us = b->at_us;
  return MS_OK;
}

/* Every batch due at or before t, each at the instant it became due. */
static int drain_until(ms_batcher *b, int64_t t, result *r, const arrivals *a) {
  for (;;) {
    int64_t d = 0;
    int st = ms_batcher_next_deadline(b, &d);
    if (st) return st;
    if (d > t) return MS_OK;
    int got = 0;
    for (;;) {
      ms_batch *x = NULL;
      if ((st = ms_batcher_poll(b, d, &x)) != MS_OK) return st;
      if (!x) break;
      got = 1;
      st = record(r, x, a);
      ms_batch_free(x);
      if (st) return st;
    }
    int64_t again = 0;
    if ((st = ms_batcher_next_deadline(b, &again)) != MS_OK) return st;
    if (!got && again <= d) return MS_EINTERNAL; /* would loop forever */
  }
}

int replay_run(const settings *s, const arrivals *a, result *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  int levels = s->levels;
  for (size_t i = 0; i < a->n && !s->levels; i++)
    if (a->v[i].priority > levels) levels = a->v[i].priority;
  if (levels < 1) levels = 1;
  r->levels = levels;
  ms_batcher *b = NULL;
  int st = ms_batcher_new(&b);
  const char *what = "ms_batcher_new";
  if (!st) what = "--batch-size", st = ms_batcher_set_max_batch(b, s->batch_size.value);
  if (!st) what = "--max-batch-delay", st = ms_batcher_set_max_delay(b, s->delay_us.value);
  if (!st && s->n_pref) what = "--preferred", st = ms_batcher_set_preferred_sizes(b, s->pref, s->n_pref);
  if (!st) what = "--max-queue", st = ms_batcher_set_max_queue(b, s->max_queue.value);
  if (!st) what = "priority levels", st = ms_batcher_set_priority_levels(b, levels, levels);
  if (!st) what = "--timeout", st = ms_batcher_set_queue_policy(b, 0, s->action, s->timeout_us.value, 1);
  if (st) {
    snprintf(err, errlen, "%s: %s: %s", what, ms_status_name(st), ms_errmsg());
    ms_batcher_free(b);
    return st;
  }
  for (size_t i = 0; i < a->n && !st; i++) {
    const arrival *v = &a->v[i];
    if ((st = drain_until(b, v->t_us - 1, r, a)) != MS_OK) break;
    int sub = ms_batcher_submit(b, (uint64_t)i, v->items, v->priority, v->timeout_us, v->t_us);
    if (sub == MS_EFULL) {
      if (grow((void **)&r->refused, &r->cap_r, r->nrefused + 1, sizeof *r->refused)) st = MS_ENOMEM;
      else r->refused[r->nrefused++] = i;
    } else if (sub) {
      snprintf(err, errlen, "line %ld: %s: %s", v->line, ms_status_name(sub), ms_errmsg());
      st = sub;
      break;
    }
    if (!st) st = drain_until(b, v->t_us, r, a);
  }
  if (!st) st = drain_until(b, INT64_MAX - 1, r, a);
  if (st && !*err) snprintf(err, errlen, "replay: %s: %s", ms_status_name(st), st == MS_EINTERNAL ? "the batcher's deadline did not move" : ms_errmsg());
  ms_batcher_free(b);
  return st;
}

void result_free(result *r) {
  free(r->b);
  free(r->member);
  free(r->wait);
  free(r->refused);
  memset(r, 0, sizeof *r);
}
