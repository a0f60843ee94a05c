/* The CUDA backend of the batch executor (see include/mserve/executor.h).
 *
 * Open: weights uploaded once (F16/BF16 as stored, F32 as F32); per layer a
 * cuBLASLt matmul descriptor (TN: D[out x n] = W^T' [out x in] * X [in x n]
 * in column-major terms, which is Y = X W^T row-major) with the RELU_BIAS /
 * RELU / BIAS epilogue where it computes what the layer needs, and the same
 * descriptor without epilogue as a fallback; per batch bucket (powers of two
 * up to the max batch, plus the max) the B/D layouts, the heuristic's
 * algorithm and a CUDA graph of the whole network, captured once.
 * Run: the input into pinned staging, one H2D copy, one graph launch, one
 * D2H copy, one stream synchronization, the output out of staging.
 *
 * cuBLASLt is loaded with dlopen at the first open, so libmserve needs no
 * CUDA library at load time (the CUDA runtime is linked statically and
 * finds the driver itself). Everything here has internal linkage except the
 * ms__executor_cuda_* entry points of cuda_backend.h. */
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <pthread.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {
#include "common/error.h"
#include "executor/cuda/cuda_backend.h"
#include "executor/half.h"
#include "executor/safetensors.h"
#include "mserve/common.h"
}

/* Same values as ms__executor_act / ms__executor_output (executor_internal.h). */
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_GELU = 2, ACT_TANH = 3 };
enum { OUTPUT_NONE = 0, OUTPUT_SOFTMAX = 1 };

static const size_t WORKSPACE_BYTES = (size_t)32 << 20;

/* ---- cuBLASLt through dlopen --------------------------------------------- */

#define MS_LT_FUNCS(X)                 \
  X(cublasLtCreate)                    \
  X(cublasLtDestroy)                   \
  X(cublasLtGetVersion)                \
  X(cublasLtGetStatusName)             \
  X(cublasLtMatmulDescCreate)          \
  X(cublasLtMatmulDescDestroy)         \
  X(cublasLtMatmulDescSetAttribute)    \
  X(cublasLtMatrixLayoutCreate)        \
  X(cublasLtMatrixLayoutDestroy)       \
  X(cublasLtMatmulPreferenceCreate)    \
  X(cublasLtMatmulPreferenceDestroy)   \
  X(cublasLtMatmulPreferenceSetAttribute) \
  X(cublasLtMatmulAlgoGetHeuristic)    \
  X(cublasLtMatmul)

struct lt_api {
#define MS_LT_FIELD(name) decltype(&::name) name;
  MS_LT_FUNCS(MS_LT_FIELD)
#undef MS_LT_FIELD
};

static lt_api g_lt;
static int g_lt_ok;
static char g_lt_error[512];
static pthread_once_t g_lt_once = PTHREAD_ONCE_INIT;

#define MS_STR2(x) #x
#define MS_STR(x) MS_STR2(x)

static void lt_load() {
  const char *names[] = {"libcublasLt.so." MS_STR(CUBLAS_VER_MAJOR), "libcublasLt.so"};
  void *h = NULL;
  const char *err = "";
  for (const char *n : names) {
    h = dlopen(n, RTLD_NOW | RTLD_LOCAL);
    if (h) break;
    err = dlerror();
  }
  if (!h) {
    snprintf(g_lt_error, sizeof g_lt_error, "cannot load %s: %s", names[0], err ? err : "unknown error");
    return;
  }
#define MS_LT_LOAD(name)                                                              \
  g_lt.name = reinterpret_cast<decltype(&::name)>(dlsym(h, #name));                   \
  if (!g_lt.name) {                                                                   \
    snprintf(g_lt_error, sizeof g_lt_error, "%s has no symbol %s", names[0], #name);  \
    return;                                                                           \
  }
  MS_LT_FUNCS(MS_LT_LOAD)
#undef MS_LT_LOAD
  g_lt_ok = 1; /* the library stays loaded for the life of the process */
}

static int lt_ready(int device) {
  pthread_once(&g_lt_once, lt_load);
  if (!g_lt_ok) return ms__fail(MS_ENODEV, "cuda:%d: %s", device, g_lt_error);
  return MS_OK;
}

/* ---- errors ------------------------------------------------------------------ */

static int cuda_status(cudaError_t e) {
  switch (e) {
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorInvalidDevice:
    case cudaErrorDevicesUnavailable:
    case cudaErrorInitializationError:
    case cudaErrorSystemNotReady:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
    case cudaErrorNoKernelImageForDevice:
      return MS_ENODEV;
    case cudaErrorMemoryAllocation:
      return MS_ENOMEM;
    default:
      return MS_EINTERNAL;
  }
}

static int cuda_fail(int device, const char *what, cudaError_t e) {
  return ms__fail(cuda_status(e), "cuda:%d: %s: %s (%s)", device, what, cudaGetErrorName(e), cudaGetErrorString(e));
}

static int lt_fail(int device, const char *what, cublasStatus_t s) {
  int st = s == CUBLAS_STATUS_ALLOC_FAILED                                        ? MS_ENOMEM
           : s == CUBLAS_STATUS_NOT_SUPPORTED || s == CUBLAS_STATUS_ARCH_MISMATCH ? MS_EUNSUPPORTED
           : s == CUBLAS_STATUS_NOT_INITIALIZED                                   ? MS_ENODEV
                                                                                  : MS_EINTERNAL;
  return ms__fail(st, "cuda:%d: %s: %s", device, what, g_lt.cublasLtGetStatusName(s));
}

#define CU(call, what)                                       \
  do {                                                       \
    cudaError_t e_ = (call);                                 \
    if (e_ != cudaSuccess) return cuda_fail(c->device, what, e_); \
  } while (0)

#define LT(call, what)                                                 \
  do {                                                                 \
    cublasStatus_t s_ = (call);                                        \
    if (s_ != CUBLAS_STATUS_SUCCESS) return lt_fail(c->device, what, s_); \
  } while (0)

/* ---- kernels ------------------------------------------------------------------ */

static __device__ __forceinline__ float to_f(float v) { return v; }
static __device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
static __device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> static __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ float from_f<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

static __device__ __forceinline__ float act_f(float v, int act) {
  switch (act) {
    case ACT_RELU:
      return v < 0.0f ? 0.0f : v;
    case ACT_GELU: {
      float phi = normcdff(v); /* exact form: x * Phi(x) */
      return phi == 0.0f ? 0.0f : v * phi;
    }
    case ACT_TANH:
      return tanhf(v);
    default:
      return v;
  }
}

/* y[i] = act(y[i] + b[i % cols]) over a row-major [rows x cols] block. */
template <typename T>
static __global__ void bias_act_kernel(T *y, const T *b, int cols, size_t total, int act) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    float v = to_f(y[i]);
    if (b) v += to_f(b[i % (size_t)cols]);
    y[i] = from_f<T>(act_f(v, act));
  }
}

template <typename T>
static __global__ void convert_kernel(const float *x, T *y, size_t total) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
    y[i] = from_f<T>(x[i]);
}

/* One block per row: max, sum of exp(x - max), scale. */
static __global__ void softmax_kernel(float *y, int cols) {
  __shared__ float red[32];
  float *row = y + (size_t)blockIdx.x * (size_t)cols;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  float m = -INFINITY;
  int nan = 0;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float v = row[j];
    nan |= v != v;
    m = fmaxf(m, v);
  }
  nan = __syncthreads_or(nan);
  for (int o = 16; o; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if (lane == 0) red[warp] = m;
  __syncthreads();
  m = lane < nwarps ? red[lane] : -INFINITY;
  for (int o = 16; o; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  __syncthreads();
  float s = 0.0f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float e = expf(row[j] - m);
    row[j] = e;
    s += e;
  }
  for (int o = 16; o; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if (lane == 0) red[warp] = s;
  __syncthreads();
  s = lane < nwarps ? red[lane] : 0.0f;
  for (int o = 16; o; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  float inv = nan ? NAN : 1.0f / s;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) row[j] *= inv;
}

static unsigned grid_for(size_t total) {
  size_t g = (total + 255) / 256;
  return (unsigned)(g < 1 ? 1 : g > 4096 ? 4096 : g);
}

/* ---- the executor ----------------------------------------------------------- */

static cudaDataType_t cuda_type(int st_dtype) {
  return st_dtype == MS__ST_F16 ? CUDA_R_16F : st_dtype == MS__ST_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

static size_t type_size(cudaDataType_t t) { return t == CUDA_R_32F ? 4 : 2; }

struct dlayer {
  int in, out;
  cudaDataType_t ab;   /* weights and input */
  cudaDataType_t d;    /* output: the next layer's type when it can be, else F32 */
  int convert_next;    /* the output (F32) is converted to the next layer's type */
  int act;             /* applied to this layer's output */
  void *w, *bias;      /* device; bias in type d, or NULL */
  cublasLtMatmulDesc_t op_fused, op_plain;
  int has_epilogue;    /* op_fused differs from op_plain */
  cublasLtMatrixLayout_t a;
};

struct bucket {
  int rows;
  cublasLtMatrixLayout_t *b, *d;
  cublasLtMatmulAlgo_t *algo;
  int *fused;
  cudaGraphExec_t exec;
};

/* Everything sized by the max batch: rebuilt together, swapped in whole. */
struct sized {
  int64_t max_batch;
  float *d_in, *d_out;
  void *act[2], *cvt, *ws;
  float *h_in, *h_out;
  bucket *bk;
  size_t n_bk;
};

struct ms__executor_cuda {
  int device;
  char name[300];
  cudaStream_t stream;
  cublasLtHandle_t lt;
  dlayer *L;
  size_t n;
  int output;
  int64_t widest; /* largest hidden width */
  sized cur;
  int broken;
};

typedef ms__executor_cuda ctx;

/* The calling thread's current device is the host's: switch to ours for a
 * call and back after it (a no-op when they are the same). */
static cudaError_t switch_device(int device, int *prev) {
  *prev = -1;
  if (cudaGetDevice(prev) != cudaSuccess) *prev = -1;
  return *prev == device ? cudaSuccess : cudaSetDevice(device);
}

static void restore_device(int device, int prev) {
  if (prev >= 0 && prev != device) cudaSetDevice(prev);
}

static void free_sized(ctx *c, sized *s) {
  for (size_t k = 0; k < s->n_bk; k++) {
    bucket *b = &s->bk[k];
    if (b->exec) cudaGraphExecDestroy(b->exec);
    for (size_t i = 0; i < c->n; i++) {
      if (b->b && b->b[i]) g_lt.cublasLtMatrixLayoutDestroy(b->b[i]);
      if (b->d && b->d[i]) g_lt.cublasLtMatrixLayoutDestroy(b->d[i]);
    }
    free(b->b);
    free(b->d);
    free(b->algo);
    free(b->fused);
  }
  free(s->bk);
  cudaFree(s->d_in);
  cudaFree(s->d_out);
  cudaFree(s->act[0]);
  cudaFree(s->act[1]);
  cudaFree(s->cvt);
  cudaFree(s->ws);
  cudaFreeHost(s->h_in);
  cudaFreeHost(s->h_out);
  memset(s, 0, sizeof *s);
}

static void launch_bias_act(ctx *c, cudaDataType_t t, void *y, const void *b, int cols, size_t total, int act) {
  unsigned g = grid_for(total);
  if (t == CUDA_R_16F)
    bias_act_kernel<__half><<<g, 256, 0, c->stream>>>((__half *)y, (const __half *)b, cols, total, act);
  else if (t == CUDA_R_16BF)
    bias_act_kernel<__nv_bfloat16>
        <<<g, 256, 0, c->stream>>>((__nv_bfloat16 *)y, (const __nv_bfloat16 *)b, cols, total, act);
  else
    bias_act_kernel<float><<<g, 256, 0, c->stream>>>((float *)y, (const float *)b, cols, total, act);
}

static void launch_convert(ctx *c, cudaDataType_t t, const float *x, void *y, size_t total) {
  unsigned g = grid_for(total);
  if (t == CUDA_R_16F) convert_kernel<__half><<<g, 256, 0, c->stream>>>(x, (__half *)y, total);
  else convert_kernel<__nv_bfloat16><<<g, 256, 0, c->stream>>>(x, (__nv_bfloat16 *)y, total);
}

/* The whole network for one bucket, enqueued on the stream (captured). */
static int enqueue(ctx *c, sized *s, bucket *b) {
  const size_t rows = (size_t)b->rows;
  const void *x = s->d_in;
  if (c->L[0].ab != CUDA_R_32F) {
    launch_convert(c, c->L[0].ab, s->d_in, s->cvt, rows * (size_t)c->L[0].in);
    x = s->cvt;
  }
  const float alpha = 1.0f, beta = 0.0f;
  for (size_t i = 0; i < c->n; i++) {
    dlayer *L = &c->L[i];
    int last = i + 1 == c->n;
    void *y = last ? (void *)s->d_out : s->act[i & 1];
    cublasLtMatmulDesc_t op = b->fused[i] ? L->op_fused : L->op_plain;
    LT(g_lt.cublasLtMatmul(c->lt, op, &alpha, L->w, L->a, x, b->b[i], &beta, y, b->d[i], y, b->d[i], &b->algo[i],
                           s->ws, WORKSPACE_BYTES, c->stream),
       "cublasLtMatmul");
    const void *kb = b->fused[i] ? NULL : L->bias;
    int ka = (b->fused[i] && L->act == ACT_RELU) ? ACT_NONE : L->act;
    if (kb || ka != ACT_NONE) launch_bias_act(c, L->d, y, kb, L->out, rows * (size_t)L->out, ka);
    if (!last && L->convert_next) {
      launch_convert(c, c->L[i + 1].ab, (const float *)y, s->cvt, rows * (size_t)L->out);
      x = s->cvt;
    } else {
      x = y;
    }
  }
  if (c->output == OUTPUT_SOFTMAX) {
    int cols = c->L[c->n - 1].out;
    int threads = cols >= 256 ? 256 : ((cols + 31) / 32) * 32;
    softmax_kernel<<<(unsigned)rows, (unsigned)threads, 0, c->stream>>>(s->d_out, cols);
  }
  CU(cudaGetLastError(), "kernel launch");
  return MS_OK;
}

static int prepare_bucket(ctx *c, sized *s, bucket *b, cublasLtMatmulPreference_t pref) {
  size_t n = c->n;
  if (!(b->b = (cublasLtMatrixLayout_t *)calloc(n, sizeof *b->b)) ||
      !(b->d = (cublasLtMatrixLayout_t *)calloc(n, sizeof *b->d)) ||
      !(b->algo = (cublasLtMatmulAlgo_t *)calloc(n, sizeof *b->algo)) || !(b->fused = (int *)calloc(n, sizeof(int))))
    return ms__fail(MS_ENOMEM, "cuda:%d: out of memory", c->device);
  for (size_t i = 0; i < n; i++) {
    dlayer *L = &c->L[i];
    LT(g_lt.cublasLtMatrixLayoutCreate(&b->b[i], L->ab, (uint64_t)L->in, (uint64_t)b->rows, (int64_t)L->in),
       "cublasLtMatrixLayoutCreate");
    LT(g_lt.cublasLtMatrixLayoutCreate(&b->d[i], L->d, (uint64_t)L->out, (uint64_t)b->rows, (int64_t)L->out),
       "cublasLtMatrixLayoutCreate");
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    memset(&res, 0, sizeof res);
    if (L->has_epilogue &&
        g_lt.cublasLtMatmulAlgoGetHeuristic(c->lt, L->op_fused, L->a, b->b[i], b->d[i], b->d[i], pref, 1, &res,
                                            &found) == CUBLAS_STATUS_SUCCESS &&
        found > 0) {
      b->fused[i] = 1;
    } else {
      found = 0;
      LT(g_lt.cublasLtMatmulAlgoGetHeuristic(c->lt, L->op_plain, L->a, b->b[i], b->d[i], b->d[i], pref, 1, &res,
                                             &found),
         "cublasLtMatmulAlgoGetHeuristic");
      if (found < 1)
        return ms__fail(MS_EUNSUPPORTED, "cuda:%d: cuBLASLt has no algorithm for layer %zu (%d -> %d, %d rows)",
                        c->device, i, L->in, L->out, b->rows);
      b->fused[i] = !L->has_epilogue;
    }
    b->algo[i] = res.algo;
  }
  /* One eager run first: whatever cuBLASLt or lazy module loading sets up on a
   * first call happens outside the capture (as PyTorch warms up before
   * capturing). */
  int st = enqueue(c, s, b);
  if (st) return st;
  CU(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize (warm-up)");
  /* Capture the network once; a failure inside ends the capture so the stream stays usable. */
  CU(cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
  st = enqueue(c, s, b);
  cudaGraph_t g = NULL;
  cudaError_t e = cudaStreamEndCapture(c->stream, &g);
  if (st) {
    if (g) cudaGraphDestroy(g);
    return st;
  }
  if (e != cudaSuccess) return cuda_fail(c->device, "cudaStreamEndCapture", e);
  e = cudaGraphInstantiate(&b->exec, g, 0);
  cudaGraphDestroy(g);
  if (e != cudaSuccess) {
    b->exec = NULL;
    return cuda_fail(c->device, "cudaGraphInstantiate", e);
  }
  CU(cudaGraphUpload(b->exec, c->stream), "cudaGraphUpload");
  return MS_OK;
}

static int build_sized(ctx *c, int64_t max_batch, sized *s) {
  memset(s, 0, sizeof *s);
  s->max_batch = max_batch;
  size_t mb = (size_t)max_batch, in = (size_t)c->L[0].in, out = (size_t)c->L[c->n - 1].out;
  size_t widest = (size_t)(c->widest > 0 ? c->widest : 1), cvt_w = 0;
  if (c->L[0].ab != CUDA_R_32F) cvt_w = in;
  for (size_t i = 0; i + 1 < c->n; i++)
    if (c->L[i].convert_next && (size_t)c->L[i].out > cvt_w) cvt_w = (size_t)c->L[i].out;
  CU(cudaMalloc((void **)&s->d_in, mb * in * sizeof(float)), "cudaMalloc");
  CU(cudaMalloc((void **)&s->d_out, mb * out * sizeof(float)), "cudaMalloc");
  if (c->n > 1) CU(cudaMalloc(&s->act[0], mb * widest * sizeof(float)), "cudaMalloc");
  if (c->n > 2) CU(cudaMalloc(&s->act[1], mb * widest * sizeof(float)), "cudaMalloc");
  if (cvt_w) CU(cudaMalloc(&s->cvt, mb * cvt_w * sizeof(float)), "cudaMalloc");
  CU(cudaMalloc(&s->ws, WORKSPACE_BYTES), "cudaMalloc");
  CU(cudaMallocHost((void **)&s->h_in, mb * in * sizeof(float)), "cudaMallocHost");
  CU(cudaMallocHost((void **)&s->h_out, mb * out * sizeof(float)), "cudaMallocHost");
  /* Rows past a run's own are padding: keep them defined. */
  CU(cudaMemsetAsync(s->d_in, 0, mb * in * sizeof(float), c->stream), "cudaMemsetAsync");
  size_t nb = 0;
  for (int64_t r = 1; r < max_batch; r *= 2) nb++;
  nb++; /* the max itself */
  if (!(s->bk = (bucket *)calloc(nb, sizeof *s->bk))) return ms__fail(MS_ENOMEM, "cuda:%d: out of memory", c->device);
  s->n_bk = nb;
  int64_t r = 1;
  for (size_t k = 0; k < nb; k++, r *= 2) s->bk[k].rows = (int)(k + 1 == nb ? max_batch : r);
  cublasLtMatmulPreference_t pref = NULL;
  LT(g_lt.cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  size_t wsb = WORKSPACE_BYTES;
  cublasStatus_t ls =
      g_lt.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb);
  int st = ls == CUBLAS_STATUS_SUCCESS ? MS_OK : lt_fail(c->device, "cublasLtMatmulPreferenceSetAttribute", ls);
  for (size_t k = 0; k < nb && !st; k++) st = prepare_bucket(c, s, &s->bk[k], pref);
  g_lt.cublasLtMatmulPreferenceDestroy(pref);
  if (st) return st;
  CU(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
  return MS_OK;
}

static int set_attr(ctx *c, cublasLtMatmulDesc_t op, cublasLtMatmulDescAttributes_t a, const void *v, size_t n) {
  LT(g_lt.cublasLtMatmulDescSetAttribute(op, a, v, n), "cublasLtMatmulDescSetAttribute");
  return MS_OK;
}

/* Upload one tensor in type t (converting on the host when it is stored otherwise). */
static int upload(ctx *c, const void *src, int st_dtype, size_t count, cudaDataType_t t, void **dst) {
  size_t bytes = count * type_size(t);
  CU(cudaMalloc(dst, bytes), "cudaMalloc");
  if (cuda_type(st_dtype) == t) {
    CU(cudaMemcpy(*dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
    return MS_OK;
  }
  float *f = (float *)malloc(count * sizeof(float));
  void *h = t == CUDA_R_32F ? (void *)f : malloc(bytes);
  if (!f || !h) {
    free(f);
    if (h != f) free(h);
    return ms__fail(MS_ENOMEM, "cuda:%d: out of memory", c->device);
  }
  ms__executor_to_f32(st_dtype, src, count, f);
  if (t == CUDA_R_16F)
    for (size_t i = 0; i < count; i++) ((uint16_t *)h)[i] = ms__executor_f32_to_f16(f[i]);
  else if (t == CUDA_R_16BF)
    for (size_t i = 0; i < count; i++) ((uint16_t *)h)[i] = ms__executor_f32_to_bf16(f[i]);
  cudaError_t e = cudaMemcpy(*dst, h, bytes, cudaMemcpyHostToDevice);
  if (h != f) free(h);
  free(f);
  if (e != cudaSuccess) return cuda_fail(c->device, "cudaMemcpy", e);
  return MS_OK;
}

static int setup_layer(ctx *c, dlayer *L, const ms__executor_cuda_layer *src, int allow_tf32) {
  cublasComputeType_t compute =
      L->ab == CUDA_R_32F ? (allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F) : CUBLAS_COMPUTE_32F;
  int st = upload(c, src->w, src->w_dtype, (size_t)L->in * (size_t)L->out, L->ab, &L->w);
  if (!st && src->b) st = upload(c, src->b, src->b_dtype, (size_t)L->out, L->d, &L->bias);
  if (st) return st;
  LT(g_lt.cublasLtMatrixLayoutCreate(&L->a, L->ab, (uint64_t)L->in, (uint64_t)L->out, (int64_t)L->in),
     "cublasLtMatrixLayoutCreate");
  cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
  if (L->act == ACT_RELU) epi = L->bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  else if (L->bias) epi = CUBLASLT_EPILOGUE_BIAS; /* gelu and tanh follow in a kernel */
  L->has_epilogue = epi != CUBLASLT_EPILOGUE_DEFAULT;
  for (int k = 0; k < 2; k++) {
    cublasLtMatmulDesc_t *op = k ? &L->op_fused : &L->op_plain;
    LT(g_lt.cublasLtMatmulDescCreate(op, compute, CUDA_R_32F), "cublasLtMatmulDescCreate");
    if ((st = set_attr(c, *op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta))) return st;
    if ((st = set_attr(c, *op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb))) return st;
    if (k && L->has_epilogue) {
      if ((st = set_attr(c, *op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi))) return st;
      /* the bias is in D's type, cuBLASLt's default for CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE */
      if (L->bias && (st = set_attr(c, *op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &L->bias, sizeof L->bias))) return st;
    }
  }
  return MS_OK;
}

static void destroy(ctx *c) {
  if (!c) return;
  int prev;
  switch_device(c->device, &prev);
  if (c->stream) cudaStreamSynchronize(c->stream);
  free_sized(c, &c->cur);
  for (size_t i = 0; c->L && i < c->n; i++) {
    dlayer *L = &c->L[i];
    if (L->op_fused) g_lt.cublasLtMatmulDescDestroy(L->op_fused);
    if (L->op_plain) g_lt.cublasLtMatmulDescDestroy(L->op_plain);
    if (L->a) g_lt.cublasLtMatrixLayoutDestroy(L->a);
    cudaFree(L->w);
    cudaFree(L->bias);
  }
  free(c->L);
  if (c->lt) g_lt.cublasLtDestroy(c->lt);
  if (c->stream) cudaStreamDestroy(c->stream);
  restore_device(c->device, prev);
  free(c);
}

static int probe(int device, cudaDeviceProp *prop) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess)
    return ms__fail(MS_ENODEV, "cuda:%d: no usable CUDA device: cudaGetDeviceCount: %s (%s)", device,
                    cudaGetErrorName(e), cudaGetErrorString(e));
  if (count < 1) return ms__fail(MS_ENODEV, "cuda:%d: no CUDA device", device);
  if (device >= count)
    return ms__fail(MS_ENODEV, "cuda:%d: no such device (%d CUDA device%s)", device, count, count == 1 ? "" : "s");
  if (prop && (e = cudaGetDeviceProperties(prop, device)) != cudaSuccess)
    return ms__fail(cuda_status(e), "cuda:%d: cudaGetDeviceProperties: %s (%s)", device, cudaGetErrorName(e),
                    cudaGetErrorString(e));
  return lt_ready(device);
}

extern "C" int ms__executor_cuda_probe(int device) { return probe(device, NULL); }

extern "C" int ms__executor_cuda_open(int device, const ms__executor_cuda_layer *layers, size_t n, int act,
                                      int output, int allow_tf32, int64_t max_batch, ms__executor_cuda **out) {
  cudaDeviceProp prop;
  int st = probe(device, &prop);
  if (st) return st;
  for (size_t i = 0; i < n; i++)
    if (layers[i].w_dtype == MS__ST_BF16 && prop.major < 8)
      return ms__fail(MS_EUNSUPPORTED, "cuda:%d: BF16 weights need compute capability 8.0, %s has %d.%d", device,
                      prop.name, prop.major, prop.minor);
  ctx *c = (ctx *)calloc(1, sizeof *c);
  if (!c) return ms__fail(MS_ENOMEM, "cuda:%d: out of memory", device);
  c->device = device;
  c->n = n;
  c->output = output;
  snprintf(c->name, sizeof c->name, "cuda:%d (%s)", device, prop.name);
  int prev;
  cudaError_t e = switch_device(device, &prev);
  if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    st = cuda_fail(device, "cudaStreamCreate", e);
    destroy(c);
    restore_device(device, prev);
    return st;
  }
  cublasStatus_t ls = g_lt.cublasLtCreate(&c->lt);
  if (ls != CUBLAS_STATUS_SUCCESS) {
    c->lt = NULL;
    st = lt_fail(device, "cublasLtCreate", ls);
    destroy(c);
    restore_device(device, prev);
    return st;
  }
  if (!(c->L = (dlayer *)calloc(n, sizeof *c->L))) st = ms__fail(MS_ENOMEM, "cuda:%d: out of memory", device);
  for (size_t i = 0; i < n && !st; i++) {
    dlayer *L = &c->L[i];
    L->in = (int)layers[i].in;
    L->out = (int)layers[i].out;
    L->ab = cuda_type(layers[i].w_dtype);
    int last = i + 1 == n;
    cudaDataType_t next = last ? CUDA_R_32F : cuda_type(layers[i + 1].w_dtype);
    /* cuBLASLt pairs 16-bit A/B with a D of the same type or F32, and F32 A/B with F32 D. */
    L->d = last ? CUDA_R_32F : (next == L->ab ? L->ab : CUDA_R_32F);
    L->convert_next = !last && L->d != next;
    L->act = last ? ACT_NONE : act;
    if (!last && L->out > c->widest) c->widest = L->out;
  }
  for (size_t i = 0; i < n && !st; i++) st = setup_layer(c, &c->L[i], &layers[i], allow_tf32);
  if (!st) st = build_sized(c, max_batch, &c->cur);
  if (st) {
    destroy(c);
    restore_device(device, prev);
    return st;
  }
  restore_device(device, prev);
  *out = c;
  return MS_OK;
}

extern "C" const char *ms__executor_cuda_name(const ms__executor_cuda *c) { return c ? c->name : ""; }

extern "C" int ms__executor_cuda_set_max_batch(ms__executor_cuda *c, int64_t rows) {
  if (c->broken) return ms__fail(MS_EINTERNAL, "%s: unusable after an earlier CUDA error", c->name);
  int prev;
  CU(switch_device(c->device, &prev), "cudaSetDevice");
  sized s;
  int st = build_sized(c, rows, &s);
  if (st) {
    free_sized(c, &s);
  } else {
    free_sized(c, &c->cur);
    c->cur = s;
  }
  restore_device(c->device, prev);
  return st;
}

extern "C" int ms__executor_cuda_run(ms__executor_cuda *c, const float *in, int64_t rows, float *out) {
  if (c->broken) return ms__fail(MS_EINTERNAL, "%s: unusable after an earlier CUDA error", c->name);
  sized *s = &c->cur;
  size_t k = 0;
  while (k + 1 < s->n_bk && s->bk[k].rows < rows) k++;
  size_t in_bytes = (size_t)rows * (size_t)c->L[0].in * sizeof(float);
  size_t out_bytes = (size_t)rows * (size_t)c->L[c->n - 1].out * sizeof(float);
  int prev;
  cudaError_t e = switch_device(c->device, &prev);
  const char *what = "cudaSetDevice";
  if (e == cudaSuccess) {
    memcpy(s->h_in, in, in_bytes);
    what = "cudaMemcpyAsync (input)";
    e = cudaMemcpyAsync(s->d_in, s->h_in, in_bytes, cudaMemcpyHostToDevice, c->stream);
  }
  if (e == cudaSuccess) {
    what = "cudaGraphLaunch";
    e = cudaGraphLaunch(s->bk[k].exec, c->stream);
  }
  if (e == cudaSuccess) {
    what = "cudaMemcpyAsync (output)";
    e = cudaMemcpyAsync(s->h_out, s->d_out, out_bytes, cudaMemcpyDeviceToHost, c->stream);
  }
  if (e == cudaSuccess) {
    what = "cudaStreamSynchronize";
    e = cudaStreamSynchronize(c->stream);
  }
  restore_device(c->device, prev);
  if (e != cudaSuccess) {
    c->broken = 1; /* never half-works: a failed run poisons the executor */
    return cuda_fail(c->device, what, e);
  }
  memcpy(out, s->h_out, out_bytes);
  return MS_OK;
}

extern "C" void ms__executor_cuda_close(ms__executor_cuda *c) { destroy(c); }
