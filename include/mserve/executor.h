/*
 * libmserve — the batch executor: runs a formed batch through a model.
 *
 * An ms_executor is one model instance on one device. It runs a batch of
 * rows (row-major F32 in, row-major F32 out) and nothing else: batching is
 * the batcher's job (batcher.h), scheduling the host's. Two kinds exist:
 *
 * Built-in MLP, opened from a model folder (a plain archive folder, or what
 * ms_registry_materialize extracted):
 *   MAR-INF/MANIFEST.json   model.handler "mserve:mlp", model.serializedFile
 *                           a .safetensors file, model.configFile a
 *                           TorchServe model-config.yaml
 *   model-config.yaml       an `mlp:` mapping:
 *                             layers:     [fc1, fc2, ...]   tensor name prefixes
 *                             activation: relu | gelu | tanh | none (default none)
 *                             output:     none | softmax            (default none)
 *                             allow_tf32: true | false              (default false)
 *   <serializedFile>        safetensors weights, as PyTorch's nn.Linear
 *                           names them: <p>.weight [out, in] and optional
 *                           <p>.bias [out], dtype F32, F16 or BF16.
 * The network is y = layer_n(... act(layer_1(x))): every layer is
 * x W^T + b, `activation` is applied between layers (not after the last),
 * then `output`. gelu is the exact erf form, x * Phi(x) (PyTorch's default,
 * not the tanh approximation); softmax subtracts the row's max first, so
 * large logits do not overflow. Edge values follow PyTorch: NaN propagates,
 * relu(-0) = -0, tanh(+-inf) = +-1, a softmax row holding +inf is NaN; except
 * gelu(-inf), which is 0 (its limit) where PyTorch gives NaN.
 *
 * The weights file is validated as strictly as Hugging Face's reference
 * reader: u64 little-endian header length <= 100,000,000 bytes and inside
 * the file; the header is UTF-8 JSON, one object of {"dtype", "shape",
 * "data_offsets"} entries plus an optional "__metadata__" object of strings;
 * dtype one of the format's names (BOOL, U8, I8, F8_E5M2, F8_E4M3,
 * F8_E8M0, F4, F6_E2M3, F6_E3M2, I16, U16, F16, BF16, I32, U32, F32, F64,
 * C64, I64, U64); tensors sorted by offset cover the data from 0 to exactly
 * the end of the file (no gap, overlap or trailing byte); element count x
 * dtype size computed without overflow equals each byte range; no
 * duplicate names or keys. JSON integers must be plain non-negative
 * decimals that fit in 64 bits. Every violation, a missing tensor, a weight
 * that is not 2-D, a bias whose length is not the layer's output size, and
 * layers whose shapes do not chain (in of layer k+1 = out of layer k) are
 * MS_ECORRUPT naming the file and the tensor(s); a known dtype the executor
 * does not run (anything but F32, F16, BF16) is MS_EUNSUPPORTED.
 *
 * The weights are memory-mapped and copied at most once on the CPU: F32
 * tensors aligned in the file are used in place (a misaligned one is copied
 * once), F16/BF16 are converted to F32 once at open. The file must not be
 * modified while an executor that uses it is open (as with any mapped
 * file). A CUDA executor uploads the weights once and keeps no mapping.
 *
 * Devices ("cpu", "cuda", "cuda:N", "auto"):
 *   cpu   batches of up to 24 rows: the executor's own GEMV-style kernels
 *         (vectorized for the CPU's AVX2 or AVX-512 when it has them), each
 *         layer's output rows split over a small pool of threads the
 *         executor owns (ms_executor_set_threads); idle threads spin for
 *         about 0.1 ms, then sleep. Larger batches: OpenBLAS sgemm per
 *         layer. Bias and activation applied in one pass over each layer's
 *         output, buffers sized once for the max batch; no allocation in
 *         ms_executor_run. OpenBLAS picks its
 *         kernels when it loads; on a CPU model it does not know it falls
 *         back to its slowest ones (the executor then logs a warning at
 *         MS_LOG_WARN): set OPENBLAS_CORETYPE (e.g. SkylakeX, Haswell) in the
 *         environment before the process starts.
 *   cuda  cuBLASLt on one stream per executor: F32 weights as F32 (TF32
 *         tensor cores only with allow_tf32: true), F16/BF16 weights kept as
 *         stored and run on tensor cores with F32 accumulation (activations
 *         between layers in the weights' dtype); bias and ReLU fused in the
 *         matmul epilogue (RELU_BIAS, BIAS), gelu, tanh and softmax in small
 *         kernels (cuBLASLt's GELU epilogue is the tanh approximation);
 *         layouts and the heuristic's algorithm chosen once per (layer, batch
 *         bucket); one CUDA graph per bucket (powers of two up to the max
 *         batch, plus the max itself), the input padded to its bucket; pinned
 *         host staging. A run is one host-to-device copy, one graph launch,
 *         one device-to-host copy and one synchronization. cuBLASLt is loaded
 *         at the first CUDA open (dlopen), so the library itself needs no
 *         CUDA library to load.
 *   auto  CUDA device 0 when it opens, else the CPU (the reason is logged at
 *         MS_LOG_INFO); ms_executor_device says which was chosen.
 * "cuda"/"cuda:N" with no usable device (no driver, no GPU, an index out of
 * range, a CPU-only build) is MS_ENODEV with the reason. A CUDA or cuBLAS
 * failure is MS_ENODEV (the device is unusable) or MS_EINTERNAL (any other
 * error), with the error's name in the message (MS_ENOMEM when device memory
 * runs out); an executor never half-works: a failed open frees everything,
 * and after a CUDA error in a run every later run fails with MS_EINTERNAL.
 *
 * Tolerance. Outputs are checked against the same network evaluated in
 * double precision on the stored weights (converted exactly): with F32
 * weights every output is within 1e-5 x the largest |output| of its row, on
 * the CPU and on CUDA (F32, TF32 off). With F16/BF16 weights the CPU computes
 * in F32 on the exactly converted weights, so the same 1e-5 holds; CUDA
 * rounds the input and the activations between layers to the weights' dtype,
 * so each layer adds about one rounding of that dtype: within
 * 4 x L x 2^-11 (F16) or 4 x L x 2^-8 (BF16) of the row's largest |output|,
 * for L layers. With allow_tf32 the F32 bound on CUDA becomes the F16 one,
 * 4 x L x 2^-11 (TF32 keeps 10 mantissa bits).
 *
 * Host handler: ms_executor_open_handler wraps a callback that runs the
 * model itself (PyTorch through the Python binding, ONNX Runtime, a remote
 * call) with the same checks: row counts, NULL buffers, the dims. The
 * callback writes into a buffer of the executor of exactly rows x
 * output_dim floats, which is copied to the caller's output only when the
 * callback returns MS_OK and wrote nothing past it; a non-zero return fails
 * the run with that status and the message "handler returned ...".
 *
 * Thread safety: one call at a time per executor, from any thread (an
 * executor is not bound to the thread that opened it); a second concurrent
 * ms_executor_run on the same executor fails with MS_EBUSY. Open several
 * executors for parallel instances. Different executors are independent,
 * except that OpenBLAS's thread count is process-wide (see
 * ms_executor_set_threads).
 *
 * Stability: Experimental — every function here may still change in a
 * minor release before 1.0.
 */
#ifndef MSERVE_EXECUTOR_H
#define MSERVE_EXECUTOR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_executor ms_executor;

/* Default max batch of a new executor (rows per ms_executor_run). */
#define MS_EXECUTOR_DEFAULT_MAX_BATCH 256

/*
 * Host handler: run `rows` rows of `input` (rows x input_dim, row-major) and
 * write rows x output_dim floats to `output` (row-major). Return MS_OK, or
 * an ms_status that fails the run. `input` and `output` are valid only
 * during the call; `output` is the executor's buffer, not the caller's.
 * Called on the thread that calls ms_executor_run; it must not call
 * ms_executor_run on the same executor.
 */
typedef int (*ms_handler_fn)(void *user, const float *input, int64_t rows, int64_t input_dim,
                             float *output, int64_t output_dim); /* returns an ms_status */

/*
 * ms_executor_open - open the built-in MLP of the model folder `model_dir`
 * on `device`: "cpu", "cuda" (device 0), "cuda:N", or "auto".
 * On success *out owns the executor; free it with ms_executor_close.
 * Errors: MS_EINVAL (NULL argument, unknown device string),
 * MS_ENOTFOUND (model_dir, its manifest, config or weights file missing),
 * MS_EIO (a file unreadable), MS_EUNSAFE (serializedFile or configFile
 * leaves the folder), MS_ECORRUPT (manifest, config or weights malformed,
 * a missing tensor, shapes that do not chain: the message names the file
 * and tensor), MS_EUNSUPPORTED (a handler other than "mserve:mlp" — run it
 * through ms_executor_open_handler —, weights that are not .safetensors, a
 * dtype other than F32/F16/BF16, a dimension over INT_MAX; on CUDA: BF16
 * weights before compute capability 8.0, no cuBLASLt algorithm for a layer),
 * MS_ENODEV ("cuda" without a usable device), MS_EINTERNAL (CUDA/cuBLAS),
 * MS_ENOMEM. *out untouched on failure. Experimental.
 */
MS_API int ms_executor_open(const char *model_dir, const char *device /* "cpu", "cuda", "cuda:N", "auto" */,
                            ms_executor **out);

/*
 * ms_executor_open_handler - an executor that runs batches through `fn`
 * with `user` (borrowed: keep it alive until ms_executor_close). Its device
 * is "host". input_dim and output_dim must be >= 1.
 * Errors: MS_EINVAL (NULL fn or out, a dim < 1 or over INT_MAX), MS_ENOMEM.
 * *out untouched on failure. Experimental.
 */
MS_API int ms_executor_open_handler(ms_handler_fn fn, void *user, int64_t input_dim, int64_t output_dim,
                                    ms_executor **out);

/* ms_executor_close - free the executor, its buffers and device memory.
 * NULL is a no-op. Not concurrently with a run. Experimental. */
MS_API void ms_executor_close(ms_executor *ex);

/*
 * ms_executor_dims - the row widths: input_dim floats per input row,
 * output_dim per output row (either pointer may be NULL).
 * Errors: MS_EINVAL (NULL executor). Outputs untouched on failure.
 * Experimental.
 */
MS_API int ms_executor_dims(const ms_executor *ex, int64_t *input_dim, int64_t *output_dim);

/*
 * ms_executor_set_max_batch - the most rows one ms_executor_run accepts
 * (default MS_EXECUTOR_DEFAULT_MAX_BATCH). Buffers (and, on CUDA, the
 * per-bucket layouts, algorithms and graphs) are rebuilt for it here, never
 * in a run; on failure the executor keeps its previous max batch and works
 * as before. Errors: MS_EINVAL (NULL, rows < 1 or > 16777216), MS_EBUSY (a run
 * is in progress on another thread), MS_ENOMEM, MS_EINTERNAL (CUDA).
 * Experimental.
 */
MS_API int ms_executor_set_max_batch(ms_executor *ex, int64_t rows); /* buffers and graphs sized for it; default 256 */

/*
 * ms_executor_get_max_batch - the current max batch into *rows.
 * Errors: MS_EINVAL (NULL argument). Experimental.
 */
MS_API int ms_executor_get_max_batch(const ms_executor *ex, int64_t *rows);

/*
 * ms_executor_set_threads - the CPU backend's thread count: 0 (the
 * default) leaves OpenBLAS's own (OPENBLAS_NUM_THREADS, else one per core),
 * n >= 1 makes each run of this executor use n threads. Small batches run on
 * the executor's own pool of that many threads (the calling thread is one of
 * them; the others are started here, or at open for 0, and stopped at
 * close); larger ones on OpenBLAS, which keeps one process-wide count that a
 * run sets when it differs: executors that run at the same time should use
 * the same count. More threads than free cores only slow runs down. Not
 * during a run of the executor. Ignored (MS_OK) by CUDA and host executors.
 * Errors: MS_EINVAL (NULL, threads < 0 or > 1024), MS_EBUSY (a run is in
 * progress), MS_ENOMEM (the threads could not be started; the executor keeps
 * its previous count). Experimental.
 */
MS_API int ms_executor_set_threads(ms_executor *ex, int threads);

/*
 * ms_executor_device - where the executor runs: "cpu", "host", or
 * "cuda:N (<device name>)", e.g. "cuda:0 (NVIDIA H200)". Static to the
 * executor: valid until ms_executor_close. "" for NULL. Experimental.
 */
MS_API const char *ms_executor_device(const ms_executor *ex); /* "cpu", "cuda:0 (NVIDIA H200)" */

/*
 * ms_executor_run - run `rows` rows: input is rows x input_dim floats,
 * output receives rows x output_dim floats (both row-major, caller-owned,
 * not overlapping). Allocates nothing. After a failed run the content of
 * `output` is unspecified (it is written in place), except for host
 * handlers, whose output is copied only on success.
 * Errors: MS_EINVAL (NULL argument, rows < 1 or > the max batch),
 * MS_EBUSY (another run of this executor is in progress), the handler's
 * status ("handler returned ..."; MS_EINTERNAL for a value that is not an
 * ms_status or an output written past its end), MS_EINTERNAL / MS_ENODEV
 * (CUDA). Experimental.
 */
MS_API int ms_executor_run(ms_executor *ex, const float *input, int64_t rows, float *output); /* row-major, F32 */

/*
 * ms_executor_cuda_available - 1 when this build has the CUDA backend and a
 * usable CUDA device `device` (>= 0) exists, else 0 with the reason in the
 * calling thread's ms_errmsg(). Thread safe. Experimental.
 */
MS_API int ms_executor_cuda_available(int device);

#ifdef __cplusplus
}
#endif

#endif /* MSERVE_EXECUTOR_H */
