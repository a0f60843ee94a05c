#!/usr/bin/python3
"""bench-executor's baseline: the same MLPs in PyTorch eager, timed inside Python.

Reads the benchmark's safetensors files itself (struct + json + numpy: no
PyPI package), builds nn.Sequential(Linear, act, ..., [Softmax]) with the same
weights, and times forward calls under torch.inference_mode() with
time.perf_counter_ns around each call, so interpreter start-up and imports
are not counted. Run with /usr/bin/python3 (Debian's python3-torch and
python3-numpy).

  executor_torch.py --device cpu|cuda --threads N --io DIR \\
      --model small=DIR/small.safetensors:relu:softmax --model large=...:gelu:none \\
      [--dtypes F32,F16,BF16] [--serve | --batches 1,8,64,256]

The input of each (model, batch) is read from DIR/<model>_in_<batch>.f32 (raw
little-endian F32, written by bench-executor; random when absent) and the
output written to DIR/<model>_<dtype>_<mode>_out_<batch>.f32, so both sides
are compared on the same numbers. --device cuda times end to end (host F32 in,
host F32 out) in "eager" mode and, replaying a captured CUDA graph, in "graph"
mode; it needs PyTorch 2.x with CUDA and answers {"skipped": "..."} otherwise.

--serve: after loading, print {"ready": ...} and then answer one JSON line per
request line {"model", "dtype", "mode", "batch", "iters", "min_s", "max_s"}
with {"median_us", "p99_us", "samples_us", ...}, so bench-executor can
alternate the two sides under the same machine load. Without --serve, time
every configuration once and print one JSON object.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        if t["dtype"] == "BF16":
            arr = (np.frombuffer(data[b:e], dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif t["dtype"] == "F16":
            arr = np.frombuffer(data[b:e], dtype="<f2").astype(np.float32)
        else:
            arr = np.frombuffer(data[b:e], dtype="<f4").astype(np.float32)
        out[name] = arr.reshape(t["shape"])
    return out


def blas_in_use():
    """The BLAS libraries this process has loaded (after a matmul ran)."""
    libs = set()
    try:
        with open("/proc/self/maps") as m:
            for line in m:
                p = line.split()[-1] if "/" in line else ""
                base = os.path.basename(p)
                if "blas" in base or "mkl" in base:
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    return sorted(libs)


def build(torch, weights, act, output, dtype, device):
    layers = []
    n_layers = len([k for k in weights if k.endswith(".weight")])
    for k in range(n_layers):
        w = torch.from_numpy(weights["fc%d.weight" % (k + 1)].copy())
        lin = torch.nn.Linear(w.shape[1], w.shape[0], bias="fc%d.bias" % (k + 1) in weights)
        with torch.no_grad():
            lin.weight.copy_(w)
            if lin.bias is not None:
                lin.bias.copy_(torch.from_numpy(weights["fc%d.bias" % (k + 1)].copy()))
        layers.append(lin)
        if k + 1 < n_layers and act != "none":
            layers.append({"relu": torch.nn.ReLU(), "gelu": torch.nn.GELU(), "tanh": torch.nn.Tanh()}[act])
    if output == "softmax":
        layers.append(torch.nn.Softmax(dim=1))
    return torch.nn.Sequential(*layers).eval().to(device=device, dtype=dtype)


class Bench:
    def __init__(self, torch, args):
        self.torch, self.args = torch, args
        self.dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
        self.models = {}  # (name, dtype) -> (module, in_dim)
        for spec in args.model:
            name, rest = spec.split("=", 1)
            path, act, output = rest.rsplit(":", 2)
            weights = read_safetensors(path)
            for dname in args.dtypes.split(","):
                m = build(torch, weights, act, output, self.dtypes[dname], args.device)
                self.models[(name, dname)] = (m, weights["fc1.weight"].shape[1])

    def step_fn(self, name, dname, mode, b):
        torch, dev = self.torch, self.args.device
        model, in_dim = self.models[(name, dname)]
        dt = self.dtypes[dname]
        path = os.path.join(self.args.io or "", "%s_in_%d.f32" % (name, b))
        if self.args.io and os.path.exists(path):
            x_np = np.fromfile(path, dtype="<f4").reshape(b, in_dim)
        else:
            x_np = np.random.default_rng(b).uniform(-3, 3, size=(b, in_dim)).astype(np.float32)
        x_host = torch.from_numpy(x_np.copy())
        if dev == "cpu":
            return lambda: model(x_host)
        pinned_in = x_host.pin_memory()
        if mode == "graph":
            static_in = torch.empty((b, in_dim), device=dev, dtype=dt)
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    model(static_in)
            torch.cuda.current_stream().wait_stream(side)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                static_out = model(static_in)
            pinned_out = torch.empty(static_out.shape, dtype=torch.float32).pin_memory()

            def step():  # one H2D, one replay, one D2H, one sync: as ms_executor_run
                static_in.copy_(pinned_in, non_blocking=True)
                g.replay()
                pinned_out.copy_(static_out, non_blocking=True)
                torch.cuda.synchronize()
                return pinned_out
            return step

        def step():
            y = model(pinned_in.to(dev, non_blocking=True).to(dt))
            return y.float().cpu()
        return step

    def run(self, name, dname, mode, b, iters, min_s, max_s):
        torch = self.torch
        samples = []
        with torch.inference_mode():
            step = self.step_fn(name, dname, mode, b)
            warm = time.perf_counter()
            for _ in range(10):
                step()
                if time.perf_counter() - warm > max_s / 4:
                    break
            # at least 5 runs, then until `iters` runs and min_s seconds, within max_s seconds
            start = time.perf_counter()
            while True:
                t0 = time.perf_counter_ns()
                step()
                samples.append(time.perf_counter_ns() - t0)
                spent, n = time.perf_counter() - start, len(samples)
                if n >= 20 * iters or (n >= 5 and (spent >= max_s or (n >= iters and spent >= min_s))):
                    break
            y = step().detach().float().numpy()
        if self.args.io:
            y.astype("<f4").tofile(os.path.join(self.args.io, "%s_%s_%s_out_%d.f32" % (name, dname, mode, b)))
        s = sorted(samples)
        med, p99 = s[len(s) // 2] / 1000.0, s[min(len(s) - 1, int(len(s) * 0.99))] / 1000.0
        return {"model": name, "dtype": dname, "mode": mode, "batch": b, "median_us": med, "p99_us": p99,
                "rows_per_s": b / (med * 1e-6), "iters": len(samples), "samples_us": [v / 1000.0 for v in samples]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--min-seconds", type=float, default=0.5)
    ap.add_argument("--max-seconds", type=float, default=5.0)
    ap.add_argument("--batches", default="1,8,64,256")
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--dtypes", default="F32")
    ap.add_argument("--io", default=None)
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()

    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import torch

    if args.device.startswith("cuda"):
        why = None
        if int(torch.__version__.split(".")[0]) < 2:
            why = "PyTorch 2.x is needed for the GPU baseline, found %s" % torch.__version__
        elif not torch.cuda.is_available():
            why = "torch.cuda.is_available() is False (torch %s)" % torch.__version__
        if why:
            print(json.dumps({"skipped": why}), flush=True)
            return 0
    torch.set_num_threads(args.threads)
    bench = Bench(torch, args)
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": args.device,
            "config": [l.strip() for l in torch.__config__.show().splitlines() if "BLAS_INFO" in l]}
    if args.device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    if args.serve:
        first = True
        print(json.dumps({"ready": info}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            q = json.loads(line)
            r = bench.run(q["model"], q["dtype"], q["mode"], int(q["batch"]), int(q.get("iters", args.iters)),
                          float(q.get("min_s", args.min_seconds)), float(q.get("max_s", args.max_seconds)))
            if first:
                info["blas"] = blas_in_use()
                r["blas"] = info["blas"]
                first = False
            print(json.dumps(r), flush=True)
        return 0
    out = dict(info, results=[])
    modes = ["eager", "graph"] if args.device.startswith("cuda") else ["eager"]
    for name, dname in bench.models:
        for b in [int(v) for v in args.batches.split(",")]:
            for mode in modes:
                r = bench.run(name, dname, mode, b, args.iters, args.min_seconds, args.max_seconds)
                r.pop("samples_us")
                out["results"].append(r)
    out["blas"] = blas_in_use()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
