package mserve

/*
#include <stdint.h>
#include <stdlib.h>
#include <mserve.h>
extern int gomserveHandler(void *user, float *input, int64_t rows, int64_t input_dim, float *output,
                           int64_t output_dim);
static int gomserve_handler(void *user, const float *input, int64_t rows, int64_t input_dim, float *output,
                            int64_t output_dim) {
  return gomserveHandler(user, (float *)input, rows, input_dim, output, output_dim);
}
static int gomserve_open_handler(uintptr_t user, int64_t input_dim, int64_t output_dim, ms_executor **out) {
  return ms_executor_open_handler(gomserve_handler, (void *)user, input_dim, output_dim, out);
}
static void gomserve_executor_close(void *p) { ms_executor_close(p); }
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// ExecutorDefaultMaxBatch is a new executor's max batch (rows per Run).
const ExecutorDefaultMaxBatch = C.MS_EXECUTOR_DEFAULT_MAX_BATCH

// Handler runs one batch: in is rows x inputDim floats, out rows x outputDim
// (row-major); both are valid only during the call. A *Error it returns fails
// the run with its status; any other error with EInternal, as the Cause.
type Handler func(in []float32, rows int, out []float32) error

type handlerState struct {
	fn     Handler
	inDim  int
	outDim int
	failed error // the last failure, for Run to report as the Cause (one run at a time)
}

// Executor is one model instance on one device: one Run at a time (a
// concurrent one is ErrBusy), from any goroutine.
type Executor struct {
	h     *handle
	state *handlerState
}

func newExecutor(p *C.ms_executor, state *handlerState, release func()) *Executor {
	ex := &Executor{h: newHandle(unsafe.Pointer(p), func(p unsafe.Pointer) {
		C.gomserve_executor_close(p)
		if release != nil {
			release()
		}
	}, "executor", nil), state: state}
	runtime.SetFinalizer(ex, (*Executor).Close)
	return ex
}

// OpenExecutor opens the built-in MLP of a model folder on device ("cpu", "cuda", "cuda:N", "auto").
func OpenExecutor(modelDir, device string) (*Executor, error) {
	cd, cdev := cString(modelDir), cString(device)
	defer free(cd)
	defer free(cdev)
	var out *C.ms_executor
	if err := call(func() C.int { return C.ms_executor_open(cd, cdev, &out) }); err != nil {
		return nil, err
	}
	return newExecutor(out, nil, nil), nil
}

// OpenHandlerExecutor is an executor whose batches run through a Go function.
func OpenHandlerExecutor(fn Handler, inputDim, outputDim int) (*Executor, error) {
	state := &handlerState{fn: fn, inDim: inputDim, outDim: outputDim}
	h := cgo.NewHandle(state)
	var out *C.ms_executor
	if err := call(func() C.int {
		return C.gomserve_open_handler(C.uintptr_t(h), C.int64_t(inputDim), C.int64_t(outputDim), &out)
	}); err != nil {
		h.Delete()
		return nil, err
	}
	return newExecutor(out, state, h.Delete), nil
}

// Close frees the executor. Idempotent.
func (ex *Executor) Close() error {
	ex.h.close()
	return nil
}

func (ex *Executor) with(f func(p *C.ms_executor) C.int) error {
	err := ex.h.run(func(p unsafe.Pointer) C.int { return f((*C.ms_executor)(p)) })
	runtime.KeepAlive(ex)
	return err
}

// Dims is the floats per input row and per output row.
func (ex *Executor) Dims() (in, out int, err error) {
	var i, o C.int64_t
	err = ex.with(func(p *C.ms_executor) C.int { return C.ms_executor_dims(p, &i, &o) })
	return int(i), int(o), err
}

// SetMaxBatch sets the most rows one Run accepts.
func (ex *Executor) SetMaxBatch(rows int) error {
	return ex.with(func(p *C.ms_executor) C.int { return C.ms_executor_set_max_batch(p, C.int64_t(rows)) })
}

// MaxBatch is the most rows one Run accepts.
func (ex *Executor) MaxBatch() (int, error) {
	var v C.int64_t
	err := ex.with(func(p *C.ms_executor) C.int { return C.ms_executor_get_max_batch(p, &v) })
	return int(v), err
}

// SetThreads sets the CPU backend's threads: its own pool for small batches and OpenBLAS for
// larger ones (0: OpenBLAS's count).
func (ex *Executor) SetThreads(n int) error {
	return ex.with(func(p *C.ms_executor) C.int { return C.ms_executor_set_threads(p, C.int(n)) })
}

// Device is "cpu", "host" or "cuda:N (<name>)".
func (ex *Executor) Device() string {
	p, err := ex.h.use()
	if err != nil {
		return ""
	}
	defer ex.h.done()
	return C.GoString(C.ms_executor_device((*C.ms_executor)(p)))
}

// Run runs rows rows of in (rows x input dim, row-major) and returns rows x output dim floats.
func (ex *Executor) Run(in []float32, rows int) ([]float32, error) {
	inDim, outDim, err := ex.Dims()
	if err != nil {
		return nil, err
	}
	if rows < 1 || len(in) != rows*inDim {
		return nil, &Error{Status: EInval, Name: StatusName(EInval),
			Message: fmt.Sprintf("executor: Run: %d floats are not %d rows of %d", len(in), rows, inDim)}
	}
	out := make([]float32, rows*outDim)
	if ex.state != nil {
		ex.state.failed = nil
	}
	err = ex.with(func(p *C.ms_executor) C.int {
		return C.ms_executor_run(p, (*C.float)(unsafe.Pointer(&in[0])), C.int64_t(rows),
			(*C.float)(unsafe.Pointer(&out[0])))
	})
	if err != nil {
		var e *Error
		if ex.state != nil && errors.As(err, &e) {
			e.Cause, ex.state.failed = ex.state.failed, nil
		}
		return nil, err
	}
	return out, nil
}

// CUDAAvailable reports whether this build has CUDA and device is usable.
func CUDAAvailable(device int) bool { return C.ms_executor_cuda_available(C.int(device)) != 0 }
