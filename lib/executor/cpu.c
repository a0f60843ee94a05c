/* The CPU backend. Two paths, chosen per run by the row count:
 *
 * - skinny (rows <= skinny_max): per layer the skinny GEMM (skinny.c) in
 *   chunks of output rows over the executor's own pool (pool.c), each chunk
 *   with its bias + activation while it is in L1; a layer starts when the
 *   previous one is complete. A worker runs the same chunks every time, so
 *   each core keeps its part of a small model's weights in its own L2. No
 *   BLAS call: at a few rows its packing and thread hand-over cost more
 *   than the arithmetic.
 * - sgemm: per layer one OpenBLAS sgemm (sgemv for one row) straight into
 *   the next layer's input buffer (the last layer into the caller's
 *   output), then one fused pass for bias + activation.
 *
 * Both end with the softmax. Weights stay in the mapping when they are F32
 * and aligned; F16, BF16 and misaligned F32 are converted to F32 once,
 * here. Buffers are sized for the max batch when it is set, the pool and
 * its slices when the thread count is set, never in a run. */
#include <cblas.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "executor/executor_internal.h"
#include "executor/half.h"
#include "executor/pool.h"
#include "mserve/common.h"

typedef struct cpu_layer {
  int in, out;
  const float *w, *b; /* in place or owned */
  float *w_own, *b_own;
} cpu_layer;

struct ms__executor_cpu {
  cpu_layer *L;
  size_t n;
  int act, output;
  int64_t max_batch;
  int64_t widest; /* largest hidden width (outputs of every layer but the last) */
  float *buf[2];
  /* the skinny path */
  int64_t skinny_max;       /* runs of up to this many rows take it */
  ms__executor_pool *pool;  /* ms__executor_pool_threads(pool) workers, the caller's thread included */
  int *chunks;              /* [layer]: chunks of the pool's job */
  const float *job_in;      /* the run in progress */
  float *job_out;
  int64_t job_rows;
};

static int host_little_endian(void) {
  const uint16_t one = 1;
  unsigned char c;
  memcpy(&c, &one, 1);
  return c == 1;
}

/* A tensor as F32: in place when possible, else one converted copy. */
static int as_f32(const ms__st_tensor *t, size_t count, const float **use, float **own) {
  if (t->dtype == MS__ST_F32 && host_little_endian() && ((uintptr_t)t->data % _Alignof(float)) == 0) {
    *use = (const float *)(const void *)t->data;
    return MS_OK;
  }
  float *p = malloc(count * sizeof *p);
  if (!p) return ms__fail(MS_ENOMEM, "tensor '%s': out of memory converting %zu values to F32", t->name, count);
  ms__executor_to_f32(t->dtype, t->data, count, p);
  *own = p;
  *use = p;
  return MS_OK;
}

void ms__executor_cpu_close(ms__executor_cpu *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->L[i].w_own);
    free(c->L[i].b_own);
  }
  free(c->L);
  free(c->buf[0]);
  free(c->buf[1]);
  ms__executor_pool_destroy(c->pool);
  free(c->chunks);
  free(c);
}

static void skinny_chunk(void *ctx, int layer, int chunk);

/* Chunks per layer: up to CHUNKS_PER_THREAD per worker, of whole blocks of
 * 8 output rows; with the pool's ownership rule worker t's chunks are the
 * blocks [t B / n, (t + 1) B / n) of the layer's B. Several per worker, so
 * that one which is not running holds up a run by a chunk, not a share. */
#define CHUNKS_PER_THREAD 8

int ms__executor_cpu_set_threads(ms__executor_cpu *c, int threads) {
  int n = threads > 0 ? threads : openblas_get_num_threads();
  if (n < 1) n = 1;
  if (c->pool && ms__executor_pool_threads(c->pool) == n) return MS_OK;
  int *chunks = malloc(c->n * sizeof *chunks);
  if (!chunks) return ms__fail(MS_ENOMEM, "cpu: out of memory for %d threads", n);
  for (size_t i = 0; i < c->n; i++) {
    int64_t blocks = ((int64_t)c->L[i].out + 7) / 8, most = (int64_t)n * CHUNKS_PER_THREAD;
    chunks[i] = (int)(blocks < most ? blocks : most);
  }
  ms__executor_pool *pool = NULL;
  int st = ms__executor_pool_create(n, (int)c->n, chunks, skinny_chunk, c, &pool);
  if (st) {
    free(chunks);
    return st;
  }
  ms__executor_pool_destroy(c->pool);
  free(c->chunks);
  c->pool = pool;
  c->chunks = chunks;
  return MS_OK;
}

int ms__executor_cpu_threads(const ms__executor_cpu *c) { return ms__executor_pool_threads(c->pool); }

void ms__executor_cpu_set_skinny_max(ms__executor_cpu *c, int64_t rows) { c->skinny_max = rows; }

int ms__executor_cpu_set_max_batch(ms__executor_cpu *c, int64_t rows) {
  float *nb[2] = {NULL, NULL};
  if (c->n > 1) {
    size_t len = (size_t)rows * (size_t)c->widest;
    for (int k = 0; k < 2 && c->n > (size_t)k + 1; k++) {
      if (!(nb[k] = malloc(len * sizeof(float)))) {
        free(nb[0]);
        return ms__fail(MS_ENOMEM, "cpu: out of memory for %lld rows of %lld activations", (long long)rows,
                        (long long)c->widest);
      }
    }
  }
  free(c->buf[0]);
  free(c->buf[1]);
  c->buf[0] = nb[0];
  c->buf[1] = nb[1];
  c->max_batch = rows;
  return MS_OK;
}

/* OpenBLAS's DYNAMIC_ARCH falls back to its oldest x86-64 kernels on a CPU
 * model it does not know (0.3.21 on Sapphire/Emerald Rapids, say), which
 * makes every GEMM several times slower. Say so once per process. */
static atomic_int g_core_checked;

static void check_openblas_core(void) {
  if (atomic_exchange(&g_core_checked, 1)) return;
  const char *core = openblas_get_corename();
  const char *isa = ms__executor_cpu_isa();
  int weak = core && (strcmp(core, "Prescott") == 0 || strcmp(core, "Core2") == 0 || strcmp(core, "Penryn") == 0 ||
                      strcmp(core, "Dunnington") == 0 || strcmp(core, "Nehalem") == 0 || strcmp(core, "Atom") == 0);
  if (weak && strcmp(isa, "baseline") != 0 && !getenv("OPENBLAS_CORETYPE") && ms__log_enabled(MS_LOG_WARN))
    ms__log(MS_LOG_WARN,
            "executor: OpenBLAS runs its %s kernels on a CPU with %s (it does not know this CPU model); set "
            "OPENBLAS_CORETYPE=%s in the environment before the process starts for several times faster GEMMs",
            core, isa, strcmp(isa, "AVX-512") == 0 ? "SkylakeX" : "Haswell");
}

const char *ms__executor_cpu_openblas_core(void) {
  const char *core = openblas_get_corename();
  return core ? core : "?";
}

int ms__executor_cpu_open(const ms__executor_model *m, int64_t max_batch, ms__executor_cpu **out) {
  check_openblas_core();
  ms__executor_cpu *c = calloc(1, sizeof *c);
  if (!c || !(c->L = calloc(m->n_layers, sizeof *c->L))) {
    free(c);
    return ms__fail(MS_ENOMEM, "cpu: out of memory");
  }
  c->n = m->n_layers;
  c->act = m->act;
  c->output = m->output;
  int st = MS_OK;
  for (size_t i = 0; i < m->n_layers && !st; i++) {
    const ms__executor_layer *L = &m->layers[i];
    cpu_layer *C = &c->L[i];
    C->in = (int)L->in;
    C->out = (int)L->out;
    st = as_f32(L->weight, (size_t)L->in * (size_t)L->out, &C->w, &C->w_own);
    if (!st && L->bias) st = as_f32(L->bias, (size_t)L->out, &C->b, &C->b_own);
    if (i + 1 < m->n_layers && L->out > c->widest) c->widest = L->out;
  }
  c->skinny_max = MS__EXECUTOR_SKINNY_MAX;
  if (!st) st = ms__executor_cpu_set_max_batch(c, max_batch);
  if (!st) st = ms__executor_cpu_set_threads(c, 0);
  if (st) {
    ms__executor_cpu_close(c);
    return st;
  }
  *out = c;
  return MS_OK;
}

/* One chunk of a skinny run: a range of whole blocks of one layer's
 * outputs, for every row, bias and activation applied while in L1. */
static void skinny_chunk(void *ctx, int layer, int chunk) {
  ms__executor_cpu *c = ctx;
  const cpu_layer *L = &c->L[layer];
  int last = (size_t)layer + 1 == c->n;
  const float *x = layer == 0 ? c->job_in : c->buf[(layer - 1) & 1];
  float *y = last ? c->job_out : c->buf[layer & 1];
  int64_t blocks = ((int64_t)L->out + 7) / 8, n = c->chunks[layer];
  int64_t o0 = blocks * chunk / n * 8, o1 = blocks * (chunk + 1) / n * 8;
  if (o1 > L->out) o1 = L->out;
  if (o1 <= o0) return;
  int64_t rows = c->job_rows;
  ms__executor_skinny_gemm(L->w, L->in, o0, o1, x, L->in, rows, y, L->out);
  for (int64_t r = 0; r < rows; r++)
    ms__executor_cpu_bias_act(y + r * L->out + o0, 1, o1 - o0, L->b ? L->b + o0 : NULL, last ? MS__ACT_NONE : c->act);
}

static void sgemm_run(ms__executor_cpu *c, const float *in, int64_t rows, float *out, int threads) {
  if (threads > 0 && openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
  const float *x = in;
  for (size_t i = 0; i < c->n; i++) {
    const cpu_layer *L = &c->L[i];
    int last = i + 1 == c->n;
    float *y = last ? out : c->buf[i & 1];
    if (rows == 1) /* only when the skinny path is off (tests, the benchmark's crossover) */
      cblas_sgemv(CblasRowMajor, CblasNoTrans, L->out, L->in, 1.0f, L->w, L->in, x, 1, 0.0f, y, 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, L->out, L->in, 1.0f, x, L->in, L->w, L->in,
                  0.0f, y, L->out);
    ms__executor_cpu_bias_act(y, rows, L->out, L->b, last ? MS__ACT_NONE : c->act);
    x = y;
  }
}

void ms__executor_cpu_run(ms__executor_cpu *c, const float *in, int64_t rows, float *out, int threads) {
  if (rows <= c->skinny_max) {
    c->job_in = in;
    c->job_out = out;
    c->job_rows = rows;
    ms__executor_pool_run(c->pool);
  } else {
    sgemm_run(c, in, rows, out, threads);
  }
  if (c->output == MS__OUTPUT_SOFTMAX) ms__executor_cpu_softmax(out, rows, c->L[c->n - 1].out);
}

const char *ms__executor_cpu_blas_info(void) {
  static _Thread_local char info[160];
  snprintf(info, sizeof info, "OpenBLAS (%s; %d threads)", openblas_get_config(), openblas_get_num_threads());
  return info;
}
