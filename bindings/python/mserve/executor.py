"""The batch executor (executor.h): runs a formed batch through a model, or through a Python function.

run() takes any buffer of float32 (bytes, bytearray, array('f'), memoryview, a
numpy array) or a list of rows; it returns a numpy array for numpy input (numpy
is used only when the caller passes it), a list of rows for a list, and a 2-D
float memoryview otherwise.
"""
import array
import ctypes
import sys

from ._handle import Handle
from ._lib import lib
from ._signatures import HANDLER_FN
from .constants import Status
from .errors import Error, InvalidError, check, error

_byref = ctypes.byref
_FLOATS = ctypes.POINTER(ctypes.c_float)


def cuda_available(device=0):
    """True when this build has CUDA and device `device` is usable."""
    return bool(lib.ms_executor_cuda_available(device))


def _view(ptr, rows, dim):
    n = rows * dim
    return memoryview((ctypes.c_float * n).from_address(ctypes.addressof(ptr.contents))).cast("B").cast(
        "f", (rows, dim))


class Executor(Handle):
    """One model instance on one device; one run at a time (a concurrent one is BusyError).
    close() from any thread waits for a run in flight to end; calls made meanwhile and later
    raise ClosedError; close() from inside the executor's own handler is BusyError."""
    _kind = "executor"

    def __init__(self, model_dir, device="auto"):
        out = ctypes.c_void_p()
        check(lib.ms_executor_open(str(model_dir).encode(), device.encode(), _byref(out)))
        super().__init__(out.value, lib.ms_executor_close)
        self._failure = [None]

    @classmethod
    def handler(cls, fn, input_dim, output_dim):
        """An executor whose batches run through fn(input, output): both 2-D float memoryviews
        (rows x input_dim, rows x output_dim), valid during the call; fn writes output. An
        mserve.Error it raises fails the run with its status; any other exception with
        EINTERNAL, and run() raises it as the cause."""
        self = cls.__new__(cls)
        # The callback reaches the failure box, never the executor: the finalizer
        # keeps the callback alive, and a callback holding the executor would keep
        # it alive forever.
        failure = self._failure = [None]

        def bridge(user, inp, rows, in_dim, outp, out_dim):
            try:
                fn(_view(inp, rows, in_dim), _view(outp, rows, out_dim))
                return 0
            except Error as e:
                failure[0] = e
                return int(e.status)
            except BaseException as e:  # noqa: BLE001 - handed to run() as the cause
                failure[0] = e
                return int(Status.EINTERNAL)

        cb = HANDLER_FN(bridge)
        out = ctypes.c_void_p()
        check(lib.ms_executor_open_handler(cb, None, input_dim, output_dim, _byref(out)))
        Handle.__init__(self, out.value, lib.ms_executor_close, keep=cb)
        return self

    @property
    def dims(self):
        """(input_dim, output_dim)."""
        i, o = ctypes.c_int64(), ctypes.c_int64()
        check(self._call(lib.ms_executor_dims, _byref(i), _byref(o)))
        return i.value, o.value

    @property
    def max_batch(self):
        v = ctypes.c_int64()
        check(self._call(lib.ms_executor_get_max_batch, _byref(v)))
        return v.value

    @max_batch.setter
    def max_batch(self, rows):
        check(self._call(lib.ms_executor_set_max_batch, rows))

    def set_threads(self, threads):
        check(self._call(lib.ms_executor_set_threads, threads))

    @property
    def device(self):
        """"cpu", "host", or "cuda:N (<name>)"."""
        return self._call(lib.ms_executor_device).decode()

    def run(self, input, rows=None):
        """The outputs of `input`'s rows (see the module's comment for the kinds)."""
        p = self._enter()  # close() waits for the run to end
        try:
            return self._run_on(p, input, rows)
        finally:
            self._leave()

    def _run_on(self, p, input, rows):
        in_dim, out_dim = self.dims
        np = sys.modules.get("numpy")
        if np is not None and isinstance(input, np.ndarray):
            x = np.ascontiguousarray(input, dtype=np.float32)
            n = x.size // in_dim if rows is None else rows
            self._check_rows(x.size, n, in_dim)
            y = np.empty((n, out_dim), dtype=np.float32)
            self._run(p, x.ctypes.data_as(_FLOATS), n, y.ctypes.data_as(_FLOATS))
            return y
        as_list = isinstance(input, (list, tuple))
        if as_list:
            flat = array.array("f")
            for row in input:
                if len(row) != in_dim:
                    raise InvalidError(Status.EINVAL, "executor: run: a row of %d values, the model takes %d"
                                       % (len(row), in_dim))
                flat.extend(row)
            input = flat
        mv = memoryview(input).cast("B")
        count = mv.nbytes // 4
        n = count // in_dim if rows is None else rows
        self._check_rows(count if mv.nbytes % 4 == 0 else -1, n, in_dim)
        if mv.readonly:
            x = (ctypes.c_float * count).from_buffer_copy(mv)
        else:
            x = (ctypes.c_float * count).from_buffer(mv)
        out = bytearray(n * out_dim * 4)
        y = (ctypes.c_float * (n * out_dim)).from_buffer(out)
        self._run(p, x, n, y)
        del x, y
        view = memoryview(out).cast("f", (n, out_dim))
        return view.tolist() if as_list else view

    @staticmethod
    def _check_rows(count, rows, in_dim):
        if count < 0 or rows < 1 or count != rows * in_dim:
            raise InvalidError(Status.EINVAL, "executor: run: the input holds %d floats, not rows x %d (rows %d)"
                               % (count, in_dim, rows))

    def _run(self, p, x, n, y):
        self._failure[0] = None
        st = lib.ms_executor_run(p, x, n, y)
        if st:
            e = error(st)
            cause, self._failure[0] = self._failure[0], None
            raise e from cause
