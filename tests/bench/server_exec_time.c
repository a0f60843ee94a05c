/* bench-server-exec MODEL_DIR [RUNS]: the median time of ms_executor_run
 * for one row (all inputs 0.5) on the CPU with one OpenBLAS thread, in
 * microseconds, on stdout. What bench-server subtracts from the server's
 * p50 at concurrency 1 to get the server's own overhead. */
#include <mserve.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-server-exec MODEL_DIR [RUNS]\n");
    return 2;
  }
  int runs = argc > 2 ? atoi(argv[2]) : 2000;
  if (runs < 1) runs = 1;
  ms_executor *ex = NULL;
  if (ms_executor_open(argv[1], "cpu", &ex) || ms_executor_set_max_batch(ex, 1) || ms_executor_set_threads(ex, 1)) {
    fprintf(stderr, "bench-server-exec: %s\n", ms_errmsg());
    return 2;
  }
  int64_t in_dim = 0, out_dim = 0;
  ms_executor_dims(ex, &in_dim, &out_dim);
  float *in = malloc(sizeof(float) * (size_t)in_dim), *out = malloc(sizeof(float) * (size_t)out_dim);
  int64_t *t = malloc(sizeof(int64_t) * (size_t)runs);
  if (!in || !out || !t) return 2;
  for (int64_t k = 0; k < in_dim; k++) in[k] = 0.5f;
  for (int i = 0; i < 200; i++) ms_executor_run(ex, in, 1, out); /* warm up */
  for (int i = 0; i < runs; i++) {
    int64_t a = ms_clock_monotonic_us();
    if (ms_executor_run(ex, in, 1, out)) {
      fprintf(stderr, "bench-server-exec: %s\n", ms_errmsg());
      return 2;
    }
    t[i] = ms_clock_monotonic_us() - a;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp);
  printf("%lld\n", (long long)t[runs / 2]);
  free(in);
  free(out);
  free(t);
  ms_executor_close(ex);
  return 0;
}
