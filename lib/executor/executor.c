/* The batch executor's public API: device choice, argument checks, the
 * one-run-at-a-time guard and the host handler's guarded output buffer. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "executor/cuda/cuda_backend.h"
#include "executor/executor_internal.h"
#include "mserve/common.h"
#include "mserve/executor.h"

enum { KIND_CPU = 0, KIND_CUDA = 1, KIND_HOST = 2 };

/* Floats of canary after a handler's rows: a write past the output lands
 * here (inside the executor's own allocation) and fails the run. */
#define GUARD_FLOATS 1024
#define GUARD_WORD 0x7FA5C3E1u /* a NaN payload no computation produces */

struct ms_executor {
  int kind;
  int64_t in_dim, out_dim, max_batch;
  int threads;
  atomic_int busy;
  char device[300];
  /* built-in MLP */
  ms__executor_model *model; /* kept by the CPU backend (its mapping); freed after a CUDA upload */
  ms__executor_cpu *cpu;
  ms__executor_cuda *cuda;
  /* host handler */
  ms_handler_fn fn;
  void *user;
  float *staging; /* max_batch x out_dim + GUARD_FLOATS */
};

static int fail_in(int st, const char *call) {
  ms__errmsg_prefix("executor: %s", call);
  return st;
}

/* "cpu" -> -2, "auto" -> -1, "cuda" -> 0, "cuda:N" -> N; -3 for anything else. */
static int parse_device(const char *s) {
  if (strcmp(s, "cpu") == 0) return -2;
  if (strcmp(s, "auto") == 0) return -1;
  if (strcmp(s, "cuda") == 0) return 0;
  if (strncmp(s, "cuda:", 5) != 0 || !s[5]) return -3;
  int v = 0;
  for (const char *p = s + 5; *p; p++) {
    if (*p < '0' || *p > '9' || (p == s + 5 && *p == '0' && p[1]) || v > 100000) return -3;
    v = v * 10 + (*p - '0');
  }
  return v;
}

static int open_cuda(ms_executor *ex, int device) {
  const ms__executor_model *m = ex->model;
  ms__executor_cuda_layer *cl = calloc(m->n_layers, sizeof *cl);
  if (!cl) return ms__fail(MS_ENOMEM, "executor: out of memory");
  for (size_t i = 0; i < m->n_layers; i++) {
    const ms__executor_layer *L = &m->layers[i];
    cl[i].in = L->in;
    cl[i].out = L->out;
    cl[i].w_dtype = L->weight->dtype;
    cl[i].w = L->weight->data;
    cl[i].b_dtype = L->bias ? L->bias->dtype : MS__ST_F32;
    cl[i].b = L->bias ? L->bias->data : NULL;
  }
  int st = ms__executor_cuda_open(device, cl, m->n_layers, m->act, m->output, m->allow_tf32, ex->max_batch, &ex->cuda);
  free(cl);
  if (st) return st;
  ex->kind = KIND_CUDA;
  snprintf(ex->device, sizeof ex->device, "%s", ms__executor_cuda_name(ex->cuda));
  ms__executor_model_free(ex->model); /* the weights live on the device now */
  ex->model = NULL;
  return MS_OK;
}

static int open_cpu(ms_executor *ex) {
  int st = ms__executor_cpu_open(ex->model, ex->max_batch, &ex->cpu);
  if (st) return st;
  ex->kind = KIND_CPU;
  snprintf(ex->device, sizeof ex->device, "cpu");
  return MS_OK;
}

int ms_executor_open(const char *model_dir, const char *device, ms_executor **out) {
  static const char *const call = "ms_executor_open";
  if (!model_dir || !device || !out) return ms__fail(MS_EINVAL, "executor: %s: NULL argument", call);
  int dev = parse_device(device);
  if (dev == -3)
    return ms__fail(MS_EINVAL, "executor: %s: device '%s' is not cpu, cuda, cuda:N or auto", call, device);
  ms_executor *ex = calloc(1, sizeof *ex);
  if (!ex) return ms__fail(MS_ENOMEM, "executor: %s: out of memory", call);
  ex->max_batch = MS_EXECUTOR_DEFAULT_MAX_BATCH;
  atomic_init(&ex->busy, 0);
  int st = ms__executor_model_load(model_dir, &ex->model);
  if (!st) {
    ex->in_dim = ex->model->layers[0].in;
    ex->out_dim = ex->model->layers[ex->model->n_layers - 1].out;
    if (dev == -2) {
      st = open_cpu(ex);
    } else if (dev >= 0) {
      st = open_cuda(ex, dev);
    } else {
      st = open_cuda(ex, 0);
      if (st) {
        if (ms__log_enabled(MS_LOG_INFO))
          ms__log(MS_LOG_INFO, "executor: model '%s': CUDA not used (%s: %s); running on the CPU", model_dir,
                  ms_status_name(st), ms_errmsg());
        st = open_cpu(ex);
      }
    }
  }
  if (st) {
    ms_executor_close(ex);
    return fail_in(st, call);
  }
  *out = ex;
  return MS_OK;
}

static int alloc_staging(int64_t rows, int64_t out_dim, float **out) {
  size_t n = (size_t)rows * (size_t)out_dim + GUARD_FLOATS;
  float *p = malloc(n * sizeof *p);
  if (!p) return ms__fail(MS_ENOMEM, "out of memory for %lld rows of %lld outputs", (long long)rows, (long long)out_dim);
  *out = p;
  return MS_OK;
}

int ms_executor_open_handler(ms_handler_fn fn, void *user, int64_t input_dim, int64_t output_dim,
                             ms_executor **out) {
  static const char *const call = "ms_executor_open_handler";
  if (!fn || !out) return ms__fail(MS_EINVAL, "executor: %s: NULL argument", call);
  if (input_dim < 1 || output_dim < 1 || input_dim > MS__EXECUTOR_MAX_DIM || output_dim > MS__EXECUTOR_MAX_DIM)
    return ms__fail(MS_EINVAL, "executor: %s: dims %lld -> %lld: each must be 1..%d", call, (long long)input_dim,
                    (long long)output_dim, MS__EXECUTOR_MAX_DIM);
  ms_executor *ex = calloc(1, sizeof *ex);
  if (!ex) return ms__fail(MS_ENOMEM, "executor: %s: out of memory", call);
  ex->kind = KIND_HOST;
  ex->fn = fn;
  ex->user = user;
  ex->in_dim = input_dim;
  ex->out_dim = output_dim;
  ex->max_batch = MS_EXECUTOR_DEFAULT_MAX_BATCH;
  atomic_init(&ex->busy, 0);
  snprintf(ex->device, sizeof ex->device, "host");
  int st = alloc_staging(ex->max_batch, output_dim, &ex->staging);
  if (st) {
    free(ex);
    return fail_in(st, call);
  }
  *out = ex;
  return MS_OK;
}

void ms_executor_close(ms_executor *ex) {
  if (!ex) return;
  ms__executor_cuda_close(ex->cuda);
  ms__executor_cpu_close(ex->cpu);
  ms__executor_model_free(ex->model);
  free(ex->staging);
  free(ex);
}

int ms_executor_dims(const ms_executor *ex, int64_t *input_dim, int64_t *output_dim) {
  if (!ex) return ms__fail(MS_EINVAL, "executor: ms_executor_dims: NULL executor");
  if (input_dim) *input_dim = ex->in_dim;
  if (output_dim) *output_dim = ex->out_dim;
  return MS_OK;
}

int ms_executor_set_max_batch(ms_executor *ex, int64_t rows) {
  static const char *const call = "ms_executor_set_max_batch";
  if (!ex) return ms__fail(MS_EINVAL, "executor: %s: NULL executor", call);
  if (rows < 1 || rows > MS__EXECUTOR_MAX_ROWS)
    return ms__fail(MS_EINVAL, "executor: %s: %lld rows: must be 1..%lld", call, (long long)rows,
                    (long long)MS__EXECUTOR_MAX_ROWS);
  if (rows == ex->max_batch) return MS_OK;
  if (atomic_exchange(&ex->busy, 1))
    return ms__fail(MS_EBUSY, "executor: %s: a run of this executor is in progress", call);
  int st = MS_OK;
  if (ex->kind == KIND_CPU) {
    st = ms__executor_cpu_set_max_batch(ex->cpu, rows);
  } else if (ex->kind == KIND_CUDA) {
    st = ms__executor_cuda_set_max_batch(ex->cuda, rows);
  } else {
    float *p = NULL;
    if (!(st = alloc_staging(rows, ex->out_dim, &p))) {
      free(ex->staging);
      ex->staging = p;
    }
  }
  if (!st) ex->max_batch = rows;
  atomic_store(&ex->busy, 0);
  return st ? fail_in(st, call) : MS_OK;
}

int ms_executor_get_max_batch(const ms_executor *ex, int64_t *rows) {
  if (!ex || !rows) return ms__fail(MS_EINVAL, "executor: ms_executor_get_max_batch: NULL argument");
  *rows = ex->max_batch;
  return MS_OK;
}

int ms_executor_set_threads(ms_executor *ex, int threads) {
  if (!ex) return ms__fail(MS_EINVAL, "executor: ms_executor_set_threads: NULL executor");
  if (threads < 0 || threads > 1024)
    return ms__fail(MS_EINVAL, "executor: ms_executor_set_threads: %d threads: must be 0..1024", threads);
  if (ex->kind != KIND_CPU || threads == ex->threads) {
    ex->threads = threads;
    return MS_OK;
  }
  if (atomic_exchange(&ex->busy, 1))
    return ms__fail(MS_EBUSY, "executor: ms_executor_set_threads: a run of this executor is in progress");
  int st = ms__executor_cpu_set_threads(ex->cpu, threads);
  if (!st) ex->threads = threads;
  atomic_store(&ex->busy, 0);
  return st ? fail_in(st, "ms_executor_set_threads") : MS_OK;
}

const char *ms_executor_device(const ms_executor *ex) { return ex ? ex->device : ""; }

static int run_handler(ms_executor *ex, const float *input, int64_t rows, float *output) {
  size_t n = (size_t)rows * (size_t)ex->out_dim;
  float *buf = ex->staging;
  uint32_t word = GUARD_WORD;
  for (size_t i = 0; i < GUARD_FLOATS; i++) memcpy(buf + n + i, &word, sizeof word);
  int hs = ex->fn(ex->user, input, rows, ex->in_dim, buf, ex->out_dim);
  if (hs != MS_OK) {
    const char *name = ms_status_name(hs);
    if (hs < 0 || hs > MS_EINTERNAL)
      return ms__fail(MS_EINTERNAL, "handler returned %d, which is not an ms_status", hs);
    return ms__fail(hs, "handler returned %s (%d) for %lld rows", name, hs, (long long)rows);
  }
  for (size_t i = 0; i < GUARD_FLOATS; i++) {
    uint32_t w;
    memcpy(&w, buf + n + i, sizeof w);
    if (w != GUARD_WORD)
      return ms__fail(MS_EINTERNAL,
                      "handler wrote past the end of its output (%lld rows x %lld floats, found a write at float "
                      "%zu); output discarded",
                      (long long)rows, (long long)ex->out_dim, n + i);
  }
  memcpy(output, buf, n * sizeof *output);
  return MS_OK;
}

int ms_executor_run(ms_executor *ex, const float *input, int64_t rows, float *output) {
  static const char *const call = "ms_executor_run";
  if (!ex || !input || !output) return ms__fail(MS_EINVAL, "executor: %s: NULL argument", call);
  if (rows < 1 || rows > ex->max_batch)
    return ms__fail(MS_EINVAL, "executor: %s: %lld rows on '%s': must be 1..%lld (the max batch)", call,
                    (long long)rows, ex->device, (long long)ex->max_batch);
  if (atomic_exchange(&ex->busy, 1))
    return ms__fail(MS_EBUSY, "executor: %s: '%s' is already running a batch on another thread", call, ex->device);
  int st = MS_OK;
  if (ex->kind == KIND_CPU) ms__executor_cpu_run(ex->cpu, input, rows, output, ex->threads);
  else if (ex->kind == KIND_CUDA) st = ms__executor_cuda_run(ex->cuda, input, rows, output);
  else st = run_handler(ex, input, rows, output);
  atomic_store(&ex->busy, 0);
  if (st) {
    ms__errmsg_prefix("executor: %s: '%s'", call, ex->device);
    return st;
  }
  return MS_OK;
}

int ms_executor_cuda_available(int device) {
  if (device < 0) {
    ms__fail(MS_EINVAL, "executor: ms_executor_cuda_available: device %d is negative", device);
    return 0;
  }
  int st = ms__executor_cuda_probe(device);
  if (st) {
    ms__errmsg_prefix("executor: ms_executor_cuda_available");
    return 0;
  }
  return 1;
}
