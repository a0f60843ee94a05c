/* The CUDA backend of a build without CUDA: every call is MS_ENODEV. */
#include "executor/cuda/cuda_backend.h"

#include "common/error.h"
#include "mserve/common.h"

#if !defined(MSERVE_HAVE_CUDA) || !MSERVE_HAVE_CUDA

#define NO_CUDA "this libmserve was built without CUDA (MSERVE_CUDA=OFF or no CUDA Toolkit at build time)"

int ms__executor_cuda_probe(int device) { return ms__fail(MS_ENODEV, "cuda:%d: " NO_CUDA, device); }

int ms__executor_cuda_open(int device, const ms__executor_cuda_layer *layers, size_t n, int act, int output,
                           int allow_tf32, int64_t max_batch, ms__executor_cuda **out) {
  (void)layers, (void)n, (void)act, (void)output, (void)allow_tf32, (void)max_batch, (void)out;
  return ms__fail(MS_ENODEV, "cuda:%d: " NO_CUDA, device);
}

const char *ms__executor_cuda_name(const ms__executor_cuda *c) {
  (void)c;
  return "";
}

int ms__executor_cuda_set_max_batch(ms__executor_cuda *c, int64_t rows) {
  (void)c, (void)rows;
  return ms__fail(MS_ENODEV, NO_CUDA);
}

int ms__executor_cuda_run(ms__executor_cuda *c, const float *in, int64_t rows, float *out) {
  (void)c, (void)in, (void)rows, (void)out;
  return ms__fail(MS_ENODEV, NO_CUDA);
}

void ms__executor_cuda_close(ms__executor_cuda *c) { (void)c; }

#else
typedef int ms__executor_cuda_stub_unused; /* ISO C: a translation unit is never empty */
#endif
