/* Internal: the CUDA backend's C interface. Implemented in backend.cu when
 * the build has CUDA (MSERVE_HAVE_CUDA), else by cuda_stub.c, whose every
 * call is MS_ENODEV. Every symbol is ms__executor_cuda_*. */
#ifndef MS_EXECUTOR_CUDA_BACKEND_H
#define MS_EXECUTOR_CUDA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms__executor_cuda ms__executor_cuda;

typedef struct ms__executor_cuda_layer {
  int64_t in, out;
  int w_dtype;     /* MS__ST_F32 / MS__ST_F16 / MS__ST_BF16 */
  const void *w;   /* out x in elements, little-endian as stored (may be unaligned) */
  int b_dtype;
  const void *b;   /* out elements, or NULL: no bias */
} ms__executor_cuda_layer;

/*
 * Check that CUDA device `device` is usable: MS_OK, or MS_ENODEV with the
 * reason (no driver, no device, index out of range, cuBLASLt missing).
 */
int ms__executor_cuda_probe(int device);

/*
 * Upload the layers to `device` (weights copied; nothing borrowed after the
 * call), prepare every batch bucket up to max_batch and capture their
 * graphs. act / output: ms__executor_act / ms__executor_output.
 * Errors: MS_ENODEV, MS_EUNSUPPORTED (BF16 before compute capability 8.0,
 * no cuBLASLt algorithm), MS_ENOMEM, MS_EINTERNAL. *out untouched on failure.
 */
int ms__executor_cuda_open(int device, const ms__executor_cuda_layer *layers, size_t n, int act, int output,
                           int allow_tf32, int64_t max_batch, ms__executor_cuda **out);

/* "cuda:0 (NVIDIA H200)". */
const char *ms__executor_cuda_name(const ms__executor_cuda *c);

/* Rebuild buffers and graphs for a new max batch; on failure the old ones stay. */
int ms__executor_cuda_set_max_batch(ms__executor_cuda *c, int64_t rows);

/* One H2D copy, one graph launch, one D2H copy, one sync. 1 <= rows <= max batch. */
int ms__executor_cuda_run(ms__executor_cuda *c, const float *in, int64_t rows, float *out);

void ms__executor_cuda_close(ms__executor_cuda *c);

#ifdef __cplusplus
}
#endif

#endif
