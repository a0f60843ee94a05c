"""The baseline of bench-server: the server people write by hand, FastAPI +
uvicorn with PyTorch eager, one inference per request, serving the same
weights (read from the archive's safetensors file with struct + json).

  server_fastapi.py MAR PORT WORKERS

WORKERS processes share the port (SO_REUSEPORT), one torch thread each. To be
fair, accepted sockets get TCP_NODELAY, as a production deployment sets it:
uvicorn writes a response's head and body separately, and without it every
keep-alive request waits ~40 ms for the client's delayed ACK."""
import json
import os
import signal
import socket
import struct
import sys
import zipfile

import numpy as np
import torch
import uvicorn
from fastapi import FastAPI, Request
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as FastProtocol
except ImportError:  # httptools is optional
    FastProtocol = H11Protocol


class NoDelay(FastProtocol):
    def connection_made(self, transport):
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def load(mar):
    with zipfile.ZipFile(mar) as z:
        raw = z.read("model.safetensors")
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    t = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        t[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).reshape(h["shape"]).copy())
    layers = []
    k = 1
    while "fc%d.weight" % k in t:
        w = t["fc%d.weight" % k]
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(t["fc%d.bias" % k])
        if layers:
            layers.append(torch.nn.ReLU())
        layers.append(lin)
        k += 1
    return torch.nn.Sequential(*layers).eval()


def serve(mar, port):
    torch.set_num_threads(1)
    model = load(mar)
    app = FastAPI()

    @app.post("/predictions/{name}")
    async def predict(name: str, request: Request):
        body = await request.json()
        rows = body["data"] if isinstance(body, dict) else body
        with torch.inference_mode():
            out = model(torch.tensor(rows, dtype=torch.float32))
        return out.tolist()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    config = uvicorn.Config(app, http=NoDelay, log_level="warning", access_log=False, backlog=1024)
    uvicorn.Server(config).run(sockets=[sock])


def main():
    mar, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    pids = []

    def stop(sig, frame):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    signal.signal(signal.SIGTERM, stop)
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            serve(mar, port)
            os._exit(0)
        pids.append(pid)
    try:
        for pid in pids:
            os.waitpid(pid, 0)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
