"""Executor: a Python handler, the built-in MLP on the CPU, every input kind, failures."""
import array
import math
import threading
import unittest

from support import TempDirTest, mserve, write_mlp_dir

try:
    import numpy
except ImportError:  # numpy is optional: its test is skipped
    numpy = None


def doubler(inp, out):
    for r in range(inp.shape[0]):
        out[r, 0] = inp[r, 0] + inp[r, 1]
        out[r, 1] = 2 * inp[r, 2]


class HandlerTest(unittest.TestCase):
    def setUp(self):
        self.ex = mserve.Executor.handler(doubler, 3, 2)

    def tearDown(self):
        self.ex.close()

    def test_rows_through_a_python_function(self):
        self.assertEqual(self.ex.device, "host")
        self.assertEqual(self.ex.dims, (3, 2))
        self.assertEqual(self.ex.run([[1, 2, 3], [4, 5, 6]]), [[3.0, 6.0], [9.0, 12.0]])
        out = self.ex.run(array.array("f", [1, 1, 1]))
        self.assertEqual((out.shape, out.tolist()), ((1, 2), [[2.0, 2.0]]))
        self.assertEqual(self.ex.run(bytes(array.array("f", [0, 0, 5]))).tolist(), [[0.0, 10.0]])

    @unittest.skipIf(numpy is None, "numpy not installed")
    def test_numpy_in_numpy_out(self):
        y = self.ex.run(numpy.arange(6, dtype=numpy.float64).reshape(2, 3))
        self.assertIsInstance(y, numpy.ndarray)
        self.assertEqual(y.tolist(), [[1.0, 4.0], [7.0, 10.0]])

    def test_bad_shapes_and_limits(self):
        with self.assertRaises(mserve.InvalidError):
            self.ex.run([[1, 2]])
        with self.assertRaises(mserve.InvalidError):
            self.ex.run(array.array("f", [1, 2, 3, 4]))
        self.ex.max_batch = 1
        self.assertEqual(self.ex.max_batch, 1)
        with self.assertRaises(mserve.InvalidError):
            self.ex.run([[1, 2, 3], [4, 5, 6]])
        self.ex.set_threads(1)

    def test_a_failing_handler_fails_the_run_with_its_exception_as_cause(self):
        def broken(inp, out):
            raise KeyError("boom")

        def busy(inp, out):
            raise mserve.errors.error(mserve.EBUSY, "model busy")

        with mserve.Executor.handler(broken, 1, 1) as ex:
            with self.assertRaises(mserve.InternalError) as cm:
                ex.run([[1.0]])
            self.assertIsInstance(cm.exception.__cause__, KeyError)
            self.assertIn("handler returned", cm.exception.message)
        with mserve.Executor.handler(busy, 1, 1) as ex:
            with self.assertRaises(mserve.BusyError):
                ex.run([[1.0]])

    def test_closed_executor_raises(self):
        ex = mserve.Executor.handler(doubler, 3, 2)
        ex.close()
        with self.assertRaises(mserve.ClosedError):
            ex.run([[1, 2, 3]])

    def test_close_waits_for_a_run_in_flight_and_refuses_new_calls(self):
        entered, release = threading.Event(), threading.Event()

        def slow(inp, out):
            entered.set()
            release.wait(30)
            doubler(inp, out)

        ex = mserve.Executor.handler(slow, 3, 2)
        result = []
        runner = threading.Thread(target=lambda: result.append(ex.run([[1, 2, 3]])))
        runner.start()
        self.assertTrue(entered.wait(30))
        closer = threading.Thread(target=ex.close)
        closer.start()
        closer.join(0.2)
        self.assertTrue(closer.is_alive(), "close() returned while a run was inside the executor")
        self.assertTrue(ex.closed)
        with self.assertRaises(mserve.ClosedError):  # a call made once close began
            ex.run([[1, 2, 3]])
        release.set()
        runner.join(30)
        closer.join(30)
        self.assertFalse(closer.is_alive())
        self.assertEqual(result, [[[3.0, 6.0]]])
        with self.assertRaises(mserve.ClosedError):
            ex.dims

    def test_close_from_inside_its_own_handler_is_busy(self):
        box = []

        def closing(inp, out):
            box[0].close()  # would wait for itself

        ex = box.append(mserve.Executor.handler(closing, 1, 1)) or box[0]
        with ex:
            with self.assertRaises(mserve.BusyError) as cm:
                ex.run([[1.0]])
            self.assertIsInstance(cm.exception.__cause__, mserve.BusyError)  # what the handler's close raised
            self.assertIn("close: called from inside a call on it", cm.exception.__cause__.message)
            self.assertFalse(ex.closed)
            self.assertEqual(ex.dims, (1, 1))
        self.assertTrue(ex.closed)


class MlpTest(TempDirTest):
    def test_cpu_mlp_matches_the_reference(self):
        w1, b1 = [[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]], [0.5, -0.5]
        w2, b2 = [[2.0, 1.0]], None
        folder = write_mlp_dir(self.path("mlp"), [(w1, b1), (w2, b2)], activation="relu")
        x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]]

        def ref(row):
            h = [max(0.0, sum(w * v for w, v in zip(wr, row)) + b) for wr, b in zip(w1, b1)]
            return [sum(w * v for w, v in zip(w2[0], h))]

        with mserve.Executor(folder, device="cpu") as ex:
            self.assertEqual(ex.device, "cpu")
            self.assertEqual(ex.dims, (3, 1))
            for got, row in zip(ex.run(x), x):
                self.assertTrue(math.isclose(got[0], ref(row)[0], rel_tol=1e-5), (got, ref(row)))

    def test_a_broken_model_names_the_file(self):
        with self.assertRaises(mserve.NotFoundError) as cm:
            mserve.Executor(self.path("absent"), device="cpu")
        self.assertIn("absent", cm.exception.message)
        folder = write_mlp_dir(self.path("mlp"), [([[1.0]], None)])
        with self.assertRaises(mserve.InvalidError) as cm:
            mserve.Executor(folder, device="tpu")
        self.assertIn("tpu", cm.exception.message)

    def test_cuda_available_is_a_bool(self):
        self.assertIn(mserve.cuda_available(0), (True, False))

    @unittest.skipUnless(mserve.cuda_available(0), "no usable CUDA device")
    def test_cuda_gives_the_cpu_outputs(self):
        folder = write_mlp_dir(self.path("mlp"), [([[1.0, -2.0], [0.5, 0.25]], [0.1, -0.1])], activation="tanh")
        x = [[0.5, 1.5], [-2.0, 3.0], [4.0, -1.0]]
        with mserve.Executor(folder, device="cpu") as cpu, mserve.Executor(folder, device="cuda") as gpu:
            self.assertTrue(gpu.device.startswith("cuda:0"))
            for a, b in zip(cpu.run(x), gpu.run(x)):
                for u, v in zip(a, b):
                    self.assertLessEqual(abs(u - v), 1e-5 * max(1.0, abs(u)))


if __name__ == "__main__":
    unittest.main()
