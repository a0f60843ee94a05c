"""Generated model archives for the server's tests and benchmark: built-in
MLPs (handler "mserve:mlp") as TorchServe users ship them, a .mar (zip) with
MAR-INF/MANIFEST.json, model-config.yaml and safetensors weights.
Stdlib only (struct, json, zipfile, random)."""
import json
import random
import struct
import zipfile


def mlp_weights(sizes, seed):
    """[(weights [out][in], bias [out])] for layer sizes [in, h1, ..., out],
    uniform in +-1/sqrt(in) as nn.Linear initialises them, from `seed`."""
    rng = random.Random(seed)
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        bound = 1.0 / (a ** 0.5)
        w = [[rng.uniform(-bound, bound) for _ in range(a)] for _ in range(b)]
        bias = [rng.uniform(-bound, bound) for _ in range(b)]
        layers.append((w, bias))
    return layers


def safetensors_bytes(layers):
    header, blobs, off = {}, [], 0
    for k, (w, b) in enumerate(layers):
        for name, shape, flat in (("fc%d.weight" % (k + 1), [len(w), len(w[0])], [v for row in w for v in row]),
                                  ("fc%d.bias" % (k + 1), [len(b)], b)):
            blob = struct.pack("<%df" % len(flat), *flat)
            header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(blob)]}
            blobs.append(blob)
            off += len(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write_mlp_mar(path, name, sizes, version="1.0", seed=1, activation="relu", output="none", settings=None,
                  weights=None, created="01/01/2025 00:00:00"):
    """A .mar of an MLP; settings: extra model-config.yaml lines (TorchServe keys:
    batchSize, maxBatchDelay, minWorkers, maxWorkers, responseTimeout, ...);
    weights: raw bytes to ship instead of valid safetensors."""
    layers = ["fc%d" % (k + 1) for k in range(len(sizes) - 1)]
    config = "mlp:\n  layers: [%s]\n  activation: %s\n  output: %s\n" % (", ".join(layers), activation, output)
    for k, v in (settings or {}).items():
        config += "%s: %s\n" % (k, v)
    manifest = {"createdOn": created, "runtime": "python", "archiverVersion": "0.9.0",
                "model": {"modelName": name, "modelVersion": version, "handler": "mserve:mlp",
                          "serializedFile": "model.safetensors", "configFile": "model-config.yaml"}}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model-config.yaml", config)
        z.writestr("model.safetensors", weights if weights is not None else
                   safetensors_bytes(mlp_weights(sizes, seed)))
        z.writestr("MAR-INF/MANIFEST.json", json.dumps(manifest))
    return path


def main(argv):
    """mlp_archive.py OUT.mar NAME IN,HIDDEN,...,OUT [--version V] [--seed N] [--activation A] [--output O]
    [KEY=VALUE ...]: write an MLP archive (KEY=VALUE: model-config.yaml settings, e.g. batchSize=32)."""
    import argparse
    p = argparse.ArgumentParser(prog="mlp_archive.py", description=main.__doc__)
    p.add_argument("out")
    p.add_argument("name")
    p.add_argument("sizes")
    p.add_argument("--version", default="1.0")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--activation", default="relu")
    p.add_argument("--output", default="none")
    p.add_argument("settings", nargs="*")
    a = p.parse_args(argv)
    settings = dict(kv.split("=", 1) for kv in a.settings)
    write_mlp_mar(a.out, a.name, [int(v) for v in a.sizes.split(",")], version=a.version, seed=a.seed,
                  activation=a.activation, output=a.output, settings=settings)


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
