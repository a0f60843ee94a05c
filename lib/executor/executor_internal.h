/* Internal: the batch executor's pieces.
 *
 *   model.c       model folder -> ms__executor_model (manifest, model-config.yaml
 *                 `mlp:` section, the safetensors weights, layer checks)
 *   yaml_read.c   model-config.yaml as a cJSON tree of strings (libyaml events)
 *   cpu.c         the CPU backend: OpenBLAS sgemm, or the skinny path for small batches
 *   skinny.c      the skinny GEMM (a few rows against [out, in] weights), vectorized
 *   pool.c        the skinny path's persistent thread pool (pool.h)
 *   kernels.c     fused bias + activation pass and softmax on the CPU
 *   cuda/         the CUDA backend (.cu, only when MSERVE_HAVE_CUDA; stubs in cuda_stub.c)
 *   executor.c    the public API
 *
 * Messages of internal functions name the object and the cause; the public
 * entry point puts "executor: <call>: " in front. */
#ifndef MS_EXECUTOR_INTERNAL_H
#define MS_EXECUTOR_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "executor/safetensors.h"

typedef enum ms__executor_act {
  MS__ACT_NONE = 0,
  MS__ACT_RELU = 1,
  MS__ACT_GELU = 2, /* exact: x * Phi(x) */
  MS__ACT_TANH = 3
} ms__executor_act;

typedef enum ms__executor_output { MS__OUTPUT_NONE = 0, MS__OUTPUT_SOFTMAX = 1 } ms__executor_output;

/* Largest dimension and max batch the executor takes (BLAS and cuBLAS use int). */
#define MS__EXECUTOR_MAX_DIM 2147483647
#define MS__EXECUTOR_MAX_ROWS ((int64_t)1 << 24)
#define MS__EXECUTOR_MAX_LAYERS 1024

typedef struct ms__executor_layer {
  const char *prefix;
  int64_t in, out;
  const ms__st_tensor *weight; /* [out, in], F32/F16/BF16 */
  const ms__st_tensor *bias;   /* [out] or NULL */
} ms__executor_layer;

typedef struct ms__executor_model {
  char *weights_path; /* as opened, for messages */
  ms__st_file *st;    /* the mapped weights */
  char **prefixes;
  ms__executor_layer *layers;
  size_t n_layers;
  int act, output, allow_tf32;
} ms__executor_model;

/* Read and check the MLP of a model folder. Errors: see ms_executor_open. */
int ms__executor_model_load(const char *model_dir, ms__executor_model **out);
void ms__executor_model_free(ms__executor_model *m);

/* Parse a model-config.yaml held in buf[len] into a cJSON tree whose
 * scalars are strings. Anchors, aliases and tags are refused, depth and
 * size bounded. Errors: MS_ECORRUPT naming origin and line, MS_ENOMEM. */
int ms__executor_yaml_parse(const char *buf, size_t len, const char *origin, cJSON **out);

/* Parse the `mlp` mapping of a config (the cJSON tree of the YAML). */
int ms__executor_mlp_config(const cJSON *mlp, const char *origin, char ***prefixes, size_t *n, int *act,
                            int *output, int *allow_tf32);

/* ---- CPU kernels (kernels.c), exposed for white-box tests ---- */

/* y[rows][cols] = act(y + b) in one pass (b may be NULL). */
void ms__executor_cpu_bias_act(float *y, int64_t rows, int64_t cols, const float *b, int act);
/* Row-wise softmax, subtracting each row's max first. */
void ms__executor_cpu_softmax(float *y, int64_t rows, int64_t cols);
/* The vectorizable exp, gelu and tanh the kernels use (scalar entry points for tests). */
float ms__executor_expf(float x);
float ms__executor_gelu(float x);
float ms__executor_tanh(float x);
/* The instruction set the kernels run with: "baseline", "AVX2+FMA" or "AVX-512". */
const char *ms__executor_cpu_isa(void);
/* The same as a level: 0 baseline, 1 AVX2+FMA, 2 AVX-512 (the skinny GEMM dispatches on it too). */
int ms__executor_cpu_isa_level(void);
/* Tests: run the kernels with level 0 (baseline), 1 (AVX2+FMA) or 2 (AVX-512)
 * when the CPU has it; returns the level now in use. */
int ms__executor_cpu_force_isa(int level);

/* ---- skinny GEMM (skinny.c) ---- */

/* y[r * ldy + o] = sum_k w[o * in + k] * x[r * ldx + k] for r < rows and
 * o0 <= o < o1 (w is [out, in] row-major): the CPU's path for small
 * batches, vectorized at ms__executor_cpu_isa_level. Writes only those
 * outputs; no allocation. */
void ms__executor_skinny_gemm(const float *w, int64_t in, int64_t o0, int64_t o1, const float *x, int64_t ldx,
                              int64_t rows, float *y, int64_t ldy);

/* ---- CPU backend (cpu.c) ---- */

typedef struct ms__executor_cpu ms__executor_cpu;
/* Borrows m (its mapping) until ms__executor_cpu_close. */
int ms__executor_cpu_open(const ms__executor_model *m, int64_t max_batch, ms__executor_cpu **out);
int ms__executor_cpu_set_max_batch(ms__executor_cpu *c, int64_t rows);
/* Runs of up to this many rows take the skinny path (the crossover measured
 * with bench-executor --crossover; above it OpenBLAS's sgemm is faster). */
#define MS__EXECUTOR_SKINNY_MAX 24
/* threads: OpenBLAS's count for the sgemm path (0: leave it). */
void ms__executor_cpu_run(ms__executor_cpu *c, const float *in, int64_t rows, float *out, int threads);
/* The skinny path's pool: threads workers (0: OpenBLAS's count), the
 * caller's thread included. Not during a run. Errors: MS_ENOMEM. */
int ms__executor_cpu_set_threads(ms__executor_cpu *c, int threads);
int ms__executor_cpu_threads(const ms__executor_cpu *c);
/* Tests and the benchmark: the largest row count of the skinny path (0: never take it). */
void ms__executor_cpu_set_skinny_max(ms__executor_cpu *c, int64_t rows);
void ms__executor_cpu_close(ms__executor_cpu *c);
/* "OpenBLAS (<config>; N threads)" for messages and the benchmark. */
const char *ms__executor_cpu_blas_info(void);
/* The kernel set OpenBLAS chose ("SkylakeX", "Haswell", "Prescott", ...). */
const char *ms__executor_cpu_openblas_core(void);

#endif
