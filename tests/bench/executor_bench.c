/* Benchmark: the batch executor against PyTorch eager on the same weights.
 *
 *   bench-executor [--quick] [--threads N] [--iters N] [--rounds N] [--json FILE]
 *                  [--dir DIR] [--python PATH] [--no-torch] [--gpu-only] [--cpu-only]
 *                  [--keep-coretype]
 *
 * Two MLPs, generated here with fixed seeds and written as safetensors
 * model folders: small 784 -> 512 -> 512 -> 10 (ReLU, softmax) and large
 * 1024 -> 4096 -> 4096 -> 1024 (GELU). For batch 1, 8, 64, 256:
 *   mserve   ms_executor_run on "cpu" with N OpenBLAS threads, timed per call
 *   torch    tests/bench/executor_torch.py under /usr/bin/python3: the same
 *            weights in nn.Sequential, torch.inference_mode(), the same thread
 *            count (torch.set_num_threads and OPENBLAS_NUM_THREADS), timed
 *            inside Python with perf_counter_ns, on the same inputs
 * The Python side runs as a server process, and each configuration is timed
 * in rounds that alternate the two sides (ABBA), so both see the same
 * machine load; the figures pool every round's samples. Reports the median
 * and p99 latency, rows/s, the speed-up (torch median / mserve median)
 * against the targets, the largest difference between the two sides'
 * outputs, and which BLAS library each side has loaded (and where
 * libblas.so.3 points: Debian's torch calls the system BLAS through it, and a
 * baseline on the reference BLAS would be ~30x too slow to mean anything).
 * When OpenBLAS does not know the CPU model and falls back to its Prescott
 * kernels on an AVX2 / AVX-512 machine, the benchmark re-runs itself with
 * OPENBLAS_CORETYPE set (for both sides) and says so; --keep-coretype stops it.
 * With a usable CUDA device it also runs the GPU path: the same MLPs in F32,
 * F16 and BF16 on "cuda" against PyTorch 2.x eager and CUDA graphs, end to
 * end (host buffers in and out); without one it says why and skips it.
 * Writes JSON (default bench-executor.json). Never a pass/fail test. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <mserve.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "executor/executor_internal.h"
#include "executor/half.h"

#ifndef MS_BENCH_DIR
#define MS_BENCH_DIR "."
#endif

typedef struct model_spec {
  const char *name, *act, *output;
  int n;
  int dims[4];
  const char *gemm; /* what our CPU side runs per layer */
} model_spec;

static const model_spec MODELS[2] = {
    {"small", "relu", "softmax", 3, {784, 512, 512, 10}, "own skinny GEMM (small batches) / OpenBLAS sgemm, bias+ReLU fused"},
    {"large", "gelu", "none", 3, {1024, 4096, 4096, 1024}, "own skinny GEMM (small batches) / OpenBLAS sgemm, bias+GELU fused"},
};
static const int BATCHES[4] = {1, 8, 64, 256};
static const char *const DTYPES[3] = {"F32", "F16", "BF16"};

/* ---- data ------------------------------------------------------------------------------------------ */

static uint64_t rng = 0x243F6A8885A308D3ull;
static double uniform(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static int write_all(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(p, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

/* One model folder per (model, dtype): manifest, config, weights (fc1.., bias and weight). */
static int write_model(const char *dir, const model_spec *m, int dtype) {
  char p[4096];
  mkdir(dir, 0755);
  snprintf(p, sizeof p, "%s/MAR-INF", dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/MAR-INF/MANIFEST.json", dir);
  char text[1024];
  int n = snprintf(text, sizeof text,
                   "{\"runtime\":\"python\",\"model\":{\"modelName\":\"%s\",\"handler\":\"mserve:mlp\","
                   "\"serializedFile\":\"model.safetensors\",\"configFile\":\"model-config.yaml\"}}",
                   m->name);
  if (write_all(p, text, (size_t)n)) return -1;
  snprintf(p, sizeof p, "%s/model-config.yaml", dir);
  n = snprintf(text, sizeof text, "mlp:\n  layers: [fc1, fc2, fc3]\n  activation: %s\n  output: %s\n", m->act,
               m->output);
  if (write_all(p, text, (size_t)n)) return -1;
  size_t es = dtype == 0 ? 4 : 2, total = 0;
  for (int k = 0; k < m->n; k++) total += (size_t)m->dims[k + 1] * ((size_t)m->dims[k] + 1) * es;
  char hdr[2048];
  size_t hl = (size_t)snprintf(hdr, sizeof hdr, "{\"__metadata__\":{\"format\":\"pt\"}");
  size_t off = 0;
  for (int k = 0; k < m->n; k++) {
    size_t wb = (size_t)m->dims[k + 1] * (size_t)m->dims[k] * es, bb = (size_t)m->dims[k + 1] * es;
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl,
                           ",\"fc%d.weight\":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}"
                           ",\"fc%d.bias\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                           k + 1, DTYPES[dtype], m->dims[k + 1], m->dims[k], off, off + wb, k + 1, DTYPES[dtype],
                           m->dims[k + 1], off + wb, off + wb + bb);
    off += wb + bb;
  }
  hdr[hl++] = '}';
  while (hl % 8) hdr[hl++] = ' ';
  unsigned char *buf = malloc(8 + hl + total);
  if (!buf) return -1;
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
  memcpy(buf + 8, hdr, hl);
  unsigned char *q = buf + 8 + hl;
  rng = (uint64_t)0x243F6A8885A308D3ull; /* the same numbers for every dtype */
  rng += (uint64_t)(unsigned)m->dims[1];
  for (int k = 0; k < m->n; k++) {
    size_t count = (size_t)m->dims[k + 1] * (size_t)m->dims[k];
    double scale = 1.0 / sqrt((double)m->dims[k]);
    for (int part = 0; part < 2; part++, count = (size_t)m->dims[k + 1]) {
      for (size_t i = 0; i < count; i++) {
        float f = (float)(uniform() * (part ? 0.1 : scale * 1.7));
        if (dtype == 0) memcpy(q, &f, 4);
        else {
          uint16_t h = dtype == 1 ? ms__executor_f32_to_f16(f) : ms__executor_f32_to_bf16(f);
          memcpy(q, &h, 2);
        }
        q += es;
      }
    }
  }
  snprintf(p, sizeof p, "%s/model.safetensors", dir);
  int rc = write_all(p, buf, 8 + hl + total);
  free(buf);
  return rc;
}

static float *make_input(int rows, int cols, uint64_t seed) {
  rng = seed;
  float *x = malloc((size_t)rows * (size_t)cols * sizeof(float));
  for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) x[i] = (float)(uniform() * 3.0);
  return x;
}

/* ---- timing -------------------------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct samples {
  double *v;
  int n, cap;
} samples;

static void push(samples *s, double v) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 256;
    s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
    if (!s->v) abort();
  }
  s->v[s->n++] = v;
}

typedef struct timing {
  double median_us, p99_us, rows_per_s;
  int iters;
} timing;

static timing summarize(samples *s, int rows) {
  timing t = {NAN, NAN, NAN, s->n};
  if (!s->n) return t;
  qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_double);
  t.median_us = s->v[s->n / 2];
  int k = (int)((double)s->n * 0.99);
  t.p99_us = s->v[k < s->n ? k : s->n - 1];
  t.rows_per_s = rows / (t.median_us * 1e-6);
  return t;
}

/* Warm up (10 runs, or a quarter of max_s), then at least 5 runs, and until
 * `iters` runs and min_s seconds, within max_s seconds (the same rule as the
 * Python side); samples in microseconds. */
static int time_executor(ms_executor *ex, const float *x, int rows, float *y, int iters, double min_s, double max_s,
                         samples *out) {
  double warm = now_s();
  for (int i = 0; i < 10 && now_s() - warm < max_s / 4; i++)
    if (ms_executor_run(ex, x, rows, y)) return -1;
  int n = 0;
  double start = now_s();
  for (;;) {
    double t0 = now_s();
    if (ms_executor_run(ex, x, rows, y)) return -1;
    double t1 = now_s();
    push(out, (t1 - t0) * 1e6);
    n++;
    double spent = t1 - start;
    if (n >= 20 * iters || (n >= 5 && (spent >= max_s || (n >= iters && spent >= min_s)))) break;
  }
  return 0;
}

/* ---- which BLAS -------------------------------------------------------------------------------------- */

static void loaded_blas(char *out, size_t len) {
  out[0] = 0;
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    char *p = strchr(line, '/');
    if (!p || !strstr(p, "blas")) continue;
    p[strcspn(p, "\n")] = 0;
    char real[4096];
    const char *r = realpath(p, real) ? real : p;
    size_t used = strlen(out), rl = strlen(r);
    if (strstr(out, r) || used + rl + 3 > len) continue;
    if (used) memcpy(out + used, ", ", 2), used += 2;
    memcpy(out + used, r, rl + 1);
  }
  fclose(f);
}

static void blas_alternative(char *out, size_t len) {
  char real[4096];
  const char *link = "/usr/lib/x86_64-linux-gnu/libblas.so.3";
  if (realpath(link, real)) snprintf(out, len, "%s -> %s%s", link, real,
                                     strstr(real, "openblas") ? "" : "  (NOT OpenBLAS: the torch baseline is crippled)");
  else snprintf(out, len, "%s: missing", link);
}

/* ---- the torch side: a server process answering one JSON line per request ---- */

typedef struct py {
  pid_t pid;
  FILE *to, *from;
  cJSON *ready;
  char *skipped;
} py;

static int py_start(py *p, const char *python, const char *args) {
  memset(p, 0, sizeof *p);
  int in[2], out[2];
  if (pipe(in) || pipe(out)) return -1;
  char cmd[32768];
  snprintf(cmd, sizeof cmd, "exec %s %s/executor_torch.py --serve %s", python, MS_BENCH_DIR, args);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(in[0], 0), dup2(out[1], 1);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(in[0]), close(out[1]);
  p->pid = pid;
  p->to = fdopen(in[1], "w");
  p->from = fdopen(out[0], "r");
  char *line = NULL;
  size_t cap = 0;
  cJSON *j = getline(&line, &cap, p->from) > 0 ? cJSON_Parse(line) : NULL;
  free(line);
  const cJSON *sk = j ? cJSON_GetObjectItemCaseSensitive(j, "skipped") : NULL;
  if (cJSON_IsString(sk)) p->skipped = strdup(sk->valuestring);
  else if (j && cJSON_GetObjectItemCaseSensitive(j, "ready")) p->ready = cJSON_DetachItemFromObject(j, "ready");
  else p->skipped = strdup("the Python baseline did not start (see its error above)");
  cJSON_Delete(j);
  return p->ready ? 0 : -1;
}

static void py_stop(py *p) {
  if (p->to) fclose(p->to);
  if (p->from) fclose(p->from);
  if (p->pid > 0) waitpid(p->pid, NULL, 0);
  cJSON_Delete(p->ready);
  free(p->skipped);
  memset(p, 0, sizeof *p);
}

/* One timing request; adds the samples to `out`. The reply (without samples) is returned. */
static cJSON *py_run(py *p, const char *model, const char *dtype, const char *mode, int batch, int iters, double min_s,
                     double max_s, samples *out) {
  if (!p->ready) return NULL;
  fprintf(p->to, "{\"model\":\"%s\",\"dtype\":\"%s\",\"mode\":\"%s\",\"batch\":%d,\"iters\":%d,\"min_s\":%g,\"max_s\":%g}\n",
          model, dtype, mode, batch, iters, min_s, max_s);
  fflush(p->to);
  char *line = NULL;
  size_t cap = 0;
  cJSON *j = getline(&line, &cap, p->from) > 0 ? cJSON_Parse(line) : NULL;
  free(line);
  if (!j) {
    fprintf(stderr, "bench-executor: the Python baseline stopped answering\n");
    cJSON_Delete(p->ready);
    p->ready = NULL;
    return NULL;
  }
  cJSON *sv = cJSON_DetachItemFromObject(j, "samples_us");
  for (const cJSON *e = sv ? sv->child : NULL; e; e = e->next) push(out, e->valuedouble);
  cJSON_Delete(sv);
  return j;
}

/* Largest |a - b| relative to each row's max |b|. */
static double compare_file(const char *path, const float *ours, int rows, int cols) {
  FILE *f = fopen(path, "rb");
  if (!f) return NAN;
  float *b = malloc((size_t)rows * (size_t)cols * sizeof(float));
  size_t got = fread(b, sizeof(float), (size_t)rows * (size_t)cols, f);
  fclose(f);
  double worst = got == (size_t)rows * (size_t)cols ? 0 : NAN;
  for (int r = 0; r < rows && got; r++) {
    double m = 1e-30;
    for (int j = 0; j < cols; j++) m = fmax(m, fabs(b[r * cols + j]));
    for (int j = 0; j < cols; j++) worst = fmax(worst, fabs((double)ours[r * cols + j] - b[r * cols + j]) / m);
  }
  free(b);
  return worst;
}

/* ---- OpenBLAS's kernel choice ---------------------------------------------------------------------- */

/* Re-run with OPENBLAS_CORETYPE when OpenBLAS fell back to kernels older than the CPU. */
static void fix_coretype(char **argv) {
  if (getenv("OPENBLAS_CORETYPE")) return;
  const char *core = ms__executor_cpu_openblas_core(), *isa = ms__executor_cpu_isa();
  if (strcmp(core, "Prescott") != 0 || strcmp(isa, "baseline") == 0) return;
  const char *want = strcmp(isa, "AVX-512") == 0 ? "SkylakeX" : "Haswell";
  printf("bench-executor: OpenBLAS chose its %s kernels on a CPU with %s (it does not know this model);\n"
         "  re-running with OPENBLAS_CORETYPE=%s, for both sides (--keep-coretype keeps %s)\n",
         core, isa, want, core);
  fflush(stdout);
  setenv("OPENBLAS_CORETYPE", want, 1);
  execv("/proc/self/exe", argv);
  perror("bench-executor: execv");
}

static void add_num(cJSON *o, const char *k, double v);

/* ---- the CPU backend's crossover: skinny path against sgemm ------------------------------------- */

static double median_of(samples *s) {
  if (!s->n) return NAN;
  qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_double);
  return s->v[s->n / 2];
}

/* Time both CPU paths of one model at row counts around the crossover, in
 * alternating rounds; prints a table and adds it to the JSON. */
static int crossover(const char *model_dir, const model_spec *spec, int threads, int quick, cJSON *arr) {
  static const int ROWS[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64};
  ms__executor_model *m = NULL;
  ms__executor_cpu *c = NULL;
  if (ms__executor_model_load(model_dir, &m) || ms__executor_cpu_open(m, 64, &c) ||
      ms__executor_cpu_set_threads(c, threads)) {
    fprintf(stderr, "crossover: %s: %s\n", model_dir, ms_errmsg());
    ms__executor_cpu_close(c);
    ms__executor_model_free(m);
    return -1;
  }
  float *x = make_input(64, spec->dims[0], 4242), *y = malloc(64 * 4096 * sizeof(float));
  printf("  %-6s %5s | %10s %10s | %7s\n", "model", "rows", "skinny us", "sgemm us", "sgemm/skinny");
  double budget = quick ? 0.05 : 0.15;
  for (size_t k = 0; k < sizeof ROWS / sizeof ROWS[0]; k++) {
    int rows = ROWS[k];
    samples sk = {0}, sg = {0};
    for (int round = 0; round < 4; round++)
      for (int path = 0; path < 2; path++) {
        int skinny = (path == 0) == (round % 2 == 0);
        ms__executor_cpu_set_skinny_max(c, skinny ? 64 : 0);
        for (int w = 0; w < 3; w++) ms__executor_cpu_run(c, x, rows, y, threads);
        double start = now_s();
        for (int n = 0; n < 5 || now_s() - start < budget; n++) {
          double t0 = now_s();
          ms__executor_cpu_run(c, x, rows, y, threads);
          push(skinny ? &sk : &sg, (now_s() - t0) * 1e6);
          if (n > 20000) break;
        }
      }
    double a = median_of(&sk), b = median_of(&sg);
    printf("  %-6s %5d | %10.1f %10.1f | %6.2fx\n", spec->name, rows, a, b, b / a);
    fflush(stdout);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "model", spec->name);
    cJSON_AddNumberToObject(r, "rows", rows);
    add_num(r, "skinny_median_us", a);
    add_num(r, "sgemm_median_us", b);
    add_num(r, "sgemm_over_skinny", b / a);
    cJSON_AddItemToArray(arr, r);
    free(sk.v), free(sg.v);
  }
  free(x), free(y);
  ms__executor_cpu_close(c);
  ms__executor_model_free(m);
  return 0;
}

/* ---- main ---------------------------------------------------------------------------------------- */

static void usage(void) {
  printf("usage: bench-executor [--quick] [--threads N] [--iters N] [--rounds N] [--json FILE] [--dir DIR]\n"
         "                      [--python PATH] [--no-torch] [--cpu-only] [--gpu-only] [--keep-coretype]\n"
         "                      [--crossover] [--model small|large]\n"
         "  --threads: OpenBLAS / torch threads on both sides (default: online CPUs)\n"
         "  --rounds: alternations of the two sides per configuration (default 3, --quick 1)\n"
         "  --quick: fewer iterations and rounds (about a minute instead of several)\n"
         "  --model: only this MLP\n"
         "  --crossover: also time the CPU's skinny path against sgemm at 1..64 rows (where to switch)\n");
}

static void add_num(cJSON *o, const char *k, double v) {
  if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
}

int main(int argc, char **argv) {
  int quick = 0, threads = (int)sysconf(_SC_NPROCESSORS_ONLN), iters = 0, rounds = 0, torch_on = 1, cpu = 1, gpu = 1;
  int keep_core = 0, cross = 0;
  const char *only = NULL; /* --model: one of the two MLPs */
  const char *json_path = "bench-executor.json", *python = "/usr/bin/python3", *base = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--quick")) quick = 1;
    else if (!strcmp(a, "--no-torch")) torch_on = 0;
    else if (!strcmp(a, "--cpu-only")) gpu = 0;
    else if (!strcmp(a, "--gpu-only")) cpu = 0;
    else if (!strcmp(a, "--keep-coretype")) keep_core = 1;
    else if (!strcmp(a, "--crossover")) cross = 1;
    else if (!strcmp(a, "--model") && v) only = argv[++i];
    else if (!strcmp(a, "--threads") && v) threads = atoi(argv[++i]);
    else if (!strcmp(a, "--iters") && v) iters = atoi(argv[++i]);
    else if (!strcmp(a, "--rounds") && v) rounds = atoi(argv[++i]);
    else if (!strcmp(a, "--json") && v) json_path = argv[++i];
    else if (!strcmp(a, "--python") && v) python = argv[++i];
    else if (!strcmp(a, "--dir") && v) base = argv[++i];
    else {
      usage();
      return strcmp(a, "--help") == 0 ? 0 : 2;
    }
  }
  if (!keep_core) fix_coretype(argv);
  if (threads < 1) threads = 1;
  if (!iters) iters = quick ? 30 : 200;
  if (rounds < 1) rounds = quick ? 1 : 3;
  double min_s = quick ? 0.2 : 0.5, max_s = quick ? 1.0 : 3.0;
  char tmpl[] = "/tmp/bench-executor-XXXXXX";
  const char *dir = base ? base : mkdtemp(tmpl);
  if (!dir) return perror("mkdtemp"), 1;

  struct utsname u;
  uname(&u);
  char ours_blas[4096], alt[4200];
  blas_alternative(alt, sizeof alt);
  printf("bench-executor: libmserve %s, %s %s, %d thread%s, %d round%s per configuration, %s\n", ms_version(),
         u.sysname, u.machine, threads, threads == 1 ? "" : "s", rounds, rounds == 1 ? "" : "s", quick ? "quick" : "full");
  printf("  system BLAS: %s\n  OpenBLAS kernels: %s%s; fused passes: %s\n", alt, ms__executor_cpu_openblas_core(),
         getenv("OPENBLAS_CORETYPE") ? " (OPENBLAS_CORETYPE)" : "", ms__executor_cpu_isa());

  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "benchmark", "bench-executor");
  cJSON_AddStringToObject(out, "libmserve", ms_version());
  cJSON_AddNumberToObject(out, "threads", threads);
  cJSON_AddNumberToObject(out, "rounds", rounds);
  cJSON_AddStringToObject(out, "libblas_so_3", alt);
  cJSON_AddStringToObject(out, "openblas_core", ms__executor_cpu_openblas_core());
  if (getenv("OPENBLAS_CORETYPE")) cJSON_AddStringToObject(out, "openblas_coretype_env", getenv("OPENBLAS_CORETYPE"));
  cJSON *rows = cJSON_AddArrayToObject(out, "results");

  /* model folders and inputs */
  char mdir[2][3][4200];
  for (int m = 0; m < 2; m++)
    for (int d = 0; d < 3; d++) {
      snprintf(mdir[m][d], sizeof mdir[m][d], "%s/%s-%s", dir, MODELS[m].name, DTYPES[d]);
      if ((d == 0 || gpu) && write_model(mdir[m][d], &MODELS[m], d))
        return fprintf(stderr, "cannot write %s\n", mdir[m][d]), 1;
    }
  float *in[2][4];
  for (int m = 0; m < 2; m++)
    for (int b = 0; b < 4; b++) {
      in[m][b] = make_input(BATCHES[b], MODELS[m].dims[0], 1000u + (uint64_t)(m * 10 + b));
      char p[4400];
      snprintf(p, sizeof p, "%s/%s_in_%d.f32", dir, MODELS[m].name, BATCHES[b]);
      write_all(p, in[m][b], (size_t)BATCHES[b] * (size_t)MODELS[m].dims[0] * sizeof(float));
    }
  float *y = malloc(256 * 4096 * sizeof(float));

  /* ---- CPU ---- */
  if (cpu) {
    py tp = {0};
    if (torch_on) {
      char args[20000];
      snprintf(args, sizeof args,
               "--device cpu --threads %d --io %s --model small=%s/model.safetensors:relu:softmax"
               " --model large=%s/model.safetensors:gelu:none",
               threads, dir, mdir[0][0], mdir[1][0]);
      printf("  starting the PyTorch baseline (%s executor_torch.py --serve) ...\n", python);
      fflush(stdout);
      if (py_start(&tp, python, args)) printf("  PyTorch baseline unavailable: %s\n", tp.skipped ? tp.skipped : "?");
    }
    printf("\nCPU, F32: latency per batch (median / p99, us), rows/s, speed-up = torch median / mserve median\n");
    printf("  %-6s %5s | %10s %10s %10s | %10s %10s %10s | %7s %8s | %s\n", "model", "batch", "mserve med", "p99",
           "rows/s", "torch med", "p99", "rows/s", "speedup", "max diff", "target");
    cJSON *torch_blas = NULL;
    for (int m = 0; m < 2; m++) {
      if (only && strcmp(only, MODELS[m].name) != 0) continue;
      ms_executor *ex = NULL;
      if (ms_executor_open(mdir[m][0], "cpu", &ex) || ms_executor_set_threads(ex, threads)) {
        fprintf(stderr, "open %s: %s\n", mdir[m][0], ms_errmsg());
        return 1;
      }
      for (int b = 0; b < 4; b++) {
        samples ms = {0}, ts = {0};
        cJSON *round_ratios = cJSON_CreateArray();
        for (int r = 0; r < rounds; r++) {
          samples one_m = {0}, one_t = {0};
          for (int k = 0; k < 2; k++) {
            int torch_turn = (k == 0) == (r % 2 == 1); /* ABBA: mserve first on even rounds */
            if (!torch_turn) {
              if (time_executor(ex, in[m][b], BATCHES[b], y, iters, min_s, max_s, &one_m))
                return fprintf(stderr, "%s\n", ms_errmsg()), 1;
            } else if (tp.ready) {
              cJSON *rep = py_run(&tp, MODELS[m].name, "F32", "eager", BATCHES[b], iters, min_s, max_s, &one_t);
              const cJSON *bl = rep ? cJSON_GetObjectItemCaseSensitive(rep, "blas") : NULL;
              if (bl && !torch_blas) torch_blas = cJSON_Duplicate(bl, 1);
              cJSON_Delete(rep);
            }
          }
          timing a = summarize(&one_m, BATCHES[b]), t = summarize(&one_t, BATCHES[b]);
          if (isfinite(t.median_us)) cJSON_AddItemToArray(round_ratios, cJSON_CreateNumber(t.median_us / a.median_us));
          for (int i = 0; i < one_m.n; i++) push(&ms, one_m.v[i]);
          for (int i = 0; i < one_t.n; i++) push(&ts, one_t.v[i]);
          free(one_m.v), free(one_t.v);
        }
        timing t = summarize(&ms, BATCHES[b]), tt = summarize(&ts, BATCHES[b]);
        ms_executor_run(ex, in[m][b], BATCHES[b], y);
        double ratio = tt.median_us / t.median_us;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s_F32_eager_out_%d.f32", dir, MODELS[m].name, BATCHES[b]);
        double diff = ts.n ? compare_file(p, y, BATCHES[b], MODELS[m].dims[3]) : NAN;
        double target = m == 0 ? (BATCHES[b] == 1 ? 3.0 : BATCHES[b] == 256 ? 1.5 : 0) : 1.0;
        char tg[32] = "-";
        if (target > 0) snprintf(tg, sizeof tg, ">= %.1fx %s", target, !ts.n ? "" : ratio >= target ? "met" : "MISSED");
        printf("  %-6s %5d | %10.1f %10.1f %10.0f | %10.1f %10.1f %10.0f | %6.2fx %8.1e | %s\n", MODELS[m].name,
               BATCHES[b], t.median_us, t.p99_us, t.rows_per_s, tt.median_us, tt.p99_us, tt.rows_per_s, ratio, diff, tg);
        fflush(stdout);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "device", "cpu");
        cJSON_AddStringToObject(r, "model", MODELS[m].name);
        cJSON_AddStringToObject(r, "dtype", "F32");
        cJSON_AddNumberToObject(r, "batch", BATCHES[b]);
        add_num(r, "mserve_median_us", t.median_us);
        add_num(r, "mserve_p99_us", t.p99_us);
        add_num(r, "mserve_rows_per_s", t.rows_per_s);
        cJSON_AddNumberToObject(r, "mserve_runs", t.iters);
        add_num(r, "torch_median_us", tt.median_us);
        add_num(r, "torch_p99_us", tt.p99_us);
        add_num(r, "torch_rows_per_s", tt.rows_per_s);
        cJSON_AddNumberToObject(r, "torch_runs", tt.iters);
        add_num(r, "speedup", ratio);
        cJSON_AddItemToObject(r, "speedup_per_round", round_ratios);
        add_num(r, "max_rel_diff", diff);
        if (target > 0) cJSON_AddNumberToObject(r, "target_speedup", target);
        cJSON_AddItemToArray(rows, r);
        free(ms.v), free(ts.v);
      }
      ms_executor_close(ex);
    }
    loaded_blas(ours_blas, sizeof ours_blas);
    printf("\n  mserve: per layer %s; %s\n", MODELS[0].gemm, ms__executor_cpu_blas_info());
    printf("  mserve loaded: %s\n", ours_blas);
    cJSON_AddStringToObject(out, "mserve_blas", ours_blas);
    cJSON_AddStringToObject(out, "mserve_blas_config", ms__executor_cpu_blas_info());
    if (tp.ready) {
      char *b = torch_blas ? cJSON_PrintUnformatted(torch_blas) : NULL;
      const cJSON *ver = cJSON_GetObjectItemCaseSensitive(tp.ready, "torch");
      printf("  torch %s: nn.Linear -> addmm -> sgemm_ of the system BLAS (libblas.so.3), per-op eager dispatch;\n"
             "  torch loaded: %s\n", cJSON_IsString(ver) ? ver->valuestring : "?", b ? b : "?");
      cJSON *info = cJSON_Duplicate(tp.ready, 1);
      if (torch_blas) cJSON_AddItemToObject(info, "blas", torch_blas), torch_blas = NULL;
      cJSON_AddItemToObject(out, "torch_cpu", info);
      free(b);
    }
    cJSON_Delete(torch_blas);
    py_stop(&tp);
  }

  if (cpu && cross) {
    printf("\nCPU crossover: the skinny path (own GEMV tiles, %d threads) against OpenBLAS sgemm, median us\n",
           threads);
    cJSON *arr = cJSON_AddArrayToObject(out, "crossover");
    for (int m = 0; m < 2; m++)
      if ((!only || strcmp(only, MODELS[m].name) == 0) && crossover(mdir[m][0], &MODELS[m], threads, quick, arr))
        return 1;
    printf("  runs of up to %d rows take the skinny path\n", (int)MS__EXECUTOR_SKINNY_MAX);
    cJSON_AddNumberToObject(out, "skinny_max_rows", MS__EXECUTOR_SKINNY_MAX);
  }

  /* ---- GPU ---- */
  if (gpu) {
    printf("\nGPU: ");
    if (!ms_executor_cuda_available(0)) {
      printf("skipped: %s\n", ms_errmsg());
      cJSON_AddStringToObject(out, "gpu_skipped", ms_errmsg());
    } else {
      py tp = {0};
      if (torch_on) {
        char args[20000];
        snprintf(args, sizeof args,
                 "--device cuda --dtypes F32,F16,BF16 --threads %d --io %s "
                 "--model small=%s/model.safetensors:relu:softmax --model large=%s/model.safetensors:gelu:none",
                 threads, dir, mdir[0][0], mdir[1][0]);
        if (py_start(&tp, python, args)) printf("(PyTorch GPU baseline skipped: %s) ", tp.skipped ? tp.skipped : "?");
      }
      printf("end to end (host F32 in and out), latency (median / p99, us); speed-ups over torch eager and graphs\n");
      printf("  %-6s %-5s %5s | %9s %9s %12s | %9s %7s | %9s %7s | %s\n", "model", "dtype", "batch", "mserve", "p99",
             "rows/s", "eager", "x", "graph", "x", "device");
      for (int m = 0; m < 2; m++)
        for (int d = 0; d < 3; d++) {
          ms_executor *ex = NULL;
          if (ms_executor_open(mdir[m][d], "cuda", &ex)) {
            printf("  %-6s %-5s: %s\n", MODELS[m].name, DTYPES[d], ms_errmsg());
            continue;
          }
          for (int b = 0; b < 4; b++) {
            samples ms = {0}, te = {0}, tg = {0};
            int failed = 0;
            for (int r = 0; r < rounds && !failed; r++) {
              failed = time_executor(ex, in[m][b], BATCHES[b], y, iters, min_s, max_s, &ms) != 0;
              cJSON_Delete(py_run(&tp, MODELS[m].name, DTYPES[d], "eager", BATCHES[b], iters, min_s, max_s, &te));
              cJSON_Delete(py_run(&tp, MODELS[m].name, DTYPES[d], "graph", BATCHES[b], iters, min_s, max_s, &tg));
            }
            if (failed) {
              printf("  run failed: %s\n", ms_errmsg());
              break;
            }
            timing t = summarize(&ms, BATCHES[b]), e = summarize(&te, BATCHES[b]), g = summarize(&tg, BATCHES[b]);
            printf("  %-6s %-5s %5d | %9.1f %9.1f %12.0f | %9.1f %6.2fx | %9.1f %6.2fx | %s\n", MODELS[m].name,
                   DTYPES[d], BATCHES[b], t.median_us, t.p99_us, t.rows_per_s, e.median_us, e.median_us / t.median_us,
                   g.median_us, g.median_us / t.median_us, ms_executor_device(ex));
            fflush(stdout);
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "device", ms_executor_device(ex));
            cJSON_AddStringToObject(r, "model", MODELS[m].name);
            cJSON_AddStringToObject(r, "dtype", DTYPES[d]);
            cJSON_AddNumberToObject(r, "batch", BATCHES[b]);
            add_num(r, "mserve_median_us", t.median_us);
            add_num(r, "mserve_p99_us", t.p99_us);
            add_num(r, "mserve_rows_per_s", t.rows_per_s);
            add_num(r, "torch_eager_median_us", e.median_us);
            add_num(r, "torch_eager_p99_us", e.p99_us);
            add_num(r, "torch_graph_median_us", g.median_us);
            add_num(r, "torch_graph_p99_us", g.p99_us);
            add_num(r, "speedup_eager", e.median_us / t.median_us);
            add_num(r, "speedup_graph", g.median_us / t.median_us);
            cJSON_AddItemToArray(rows, r);
            free(ms.v), free(te.v), free(tg.v);
          }
          ms_executor_close(ex);
        }
      printf("  targets: >= 3x eager at batch <= 8, >= 1.0x at batch 256, small MLP batch 1 <= 30 us\n");
      if (tp.ready) cJSON_AddItemToObject(out, "torch_gpu", cJSON_Duplicate(tp.ready, 1));
      else if (tp.skipped) cJSON_AddStringToObject(out, "torch_gpu_skipped", tp.skipped);
      py_stop(&tp);
    }
  }

  char *txt = cJSON_Print(out);
  if (write_all(json_path, txt, strlen(txt))) fprintf(stderr, "cannot write %s: %s\n", json_path, strerror(errno));
  else printf("\nwrote %s\n", json_path);
  free(txt);
  cJSON_Delete(out);
  for (int m = 0; m < 2; m++)
    for (int b = 0; b < 4; b++) free(in[m][b]);
  free(y);
  if (!base) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
  return 0;
}
