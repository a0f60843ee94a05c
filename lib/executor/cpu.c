/* The CPU backend: per layer one OpenBLAS sgemm (sgemv for a single row)
 * straight into the next layer's input buffer (the last layer into the
 * caller's output), then one fused pass for bias + activation, then the
 * softmax. Weights stay in the mapping when they are F32 and aligned; F16,
 * BF16 and misaligned F32 are converted to F32 once, here. Buffers are sized
 * for the max batch when it is set, never in a run. */
#include <cblas.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "executor/executor_internal.h"
#include "executor/half.h"
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
  free(c);
}

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
  if (!st) st = ms__executor_cpu_set_max_batch(c, max_batch);
  if (st) {
    ms__executor_cpu_close(c);
    return st;
  }
  *out = c;
  return MS_OK;
}

void ms__executor_cpu_run(ms__executor_cpu *c, const float *in, int64_t rows, float *out, int threads) {
  if (threads > 0 && openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
  const float *x = in;
  for (size_t i = 0; i < c->n; i++) {
    const cpu_layer *L = &c->L[i];
    int last = i + 1 == c->n;
    float *y = last ? out : c->buf[i & 1];
    if (rows == 1)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, L->out, L->in, 1.0f, L->w, L->in, x, 1, 0.0f, y, 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, L->out, L->in, 1.0f, x, L->in, L->w, L->in,
                  0.0f, y, L->out);
    ms__executor_cpu_bias_act(y, rows, L->out, L->b, last ? MS__ACT_NONE : c->act);
    x = y;
  }
  if (c->output == MS__OUTPUT_SOFTMAX) ms__executor_cpu_softmax(out, rows, c->L[c->n - 1].out);
}

const char *ms__executor_cpu_blas_info(void) {
  static _Thread_local char info[160];
  snprintf(info, sizeof info, "OpenBLAS (%s; %d threads)", openblas_get_config(), openblas_get_num_threads());
  return info;
}
