"""The PyTorch side of bench_aot.py: the digits MLP of examples/mlp.nn
(64-128-64-10, relu, softmax in predict) with the weights of an nnc
checkpoint, for cold start and batch-1 latency. Run in its own process so
OPENBLAS_CORETYPE and the thread count apply from library load on.

The checkpoint is read with the small safetensors reader below (8-byte
little-endian header length, a JSON header, then raw little-endian data);
nnc stores a Linear's weight as W [in, out] (y = x W + b), PyTorch's
nn.Linear as weight [out, in], so W is transposed on loading.

usage:
  torch_infer.py cold-eager CKPT INPUT.csv   import torch, build the model,
                                             load the weights, predict the
                                             CSV's rows, print them as CSV
  torch_infer.py cold-script MODEL.pt INPUT.csv   the same from a saved
                                             TorchScript module
  torch_infer.py save-script CKPT MODEL.pt   script + optimize_for_inference, save
  torch_infer.py check CKPT X.bin OUT.bin    eager and TorchScript
                                             predictions (row 0 as batch 1,
                                             then all rows as one batch):
                                             eager's, then TorchScript's,
                                             as raw f32 into OUT.bin
  torch_infer.py latency CKPT X.bin THREADS BATCHES TARGET_S REPEATS
                                             per-call time of eager and
                                             TorchScript; one JSON line
X.bin: raw little-endian f32 rows of 64 features (64 rows)."""
import array
import json
import struct
import sys
import time

import torch

SIZES = (64, 128, 64, 10)
LAYERS = ("fc1", "fc2", "fc3")


def read_safetensors(path):
    """{name: float32 tensor} of every F32 tensor in the file."""
    with open(path, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        lo, hi = info["data_offsets"]
        a = array.array("f")
        a.frombytes(blob[base + lo:base + hi])
        if sys.byteorder == "big":
            a.byteswap()
        out[name] = torch.frombuffer(a, dtype=torch.float32).clone().reshape(info["shape"])
    return out


class Predict(torch.nn.Module):
    """nn.Sequential of Linear/ReLU, then softmax: examples/mlp.nn's predict."""

    def __init__(self):
        super().__init__()
        layers = []
        for i in range(len(SIZES) - 1):
            layers.append(torch.nn.Linear(SIZES[i], SIZES[i + 1]))
            if i < len(SIZES) - 2:
                layers.append(torch.nn.ReLU())
        self.mlp = torch.nn.Sequential(*layers)

    def forward(self, x):
        return torch.softmax(self.mlp(x), dim=-1)


def build(ckpt):
    w = read_safetensors(ckpt)
    model = Predict()
    linears = [m for m in model.mlp if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for lin, name in zip(linears, LAYERS):
            lin.weight.copy_(w[name + ".W"].t())
            lin.bias.copy_(w[name + ".b"])
    return model.eval()


def script(model):
    """TorchScript: scripted, frozen (weights folded in as constants) and
    optimised for inference (torch.jit.optimize_for_inference, which
    freezes; about 15% faster at batch 1 here than freezing alone)."""
    return torch.jit.optimize_for_inference(torch.jit.script(model))


def read_csv(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append([float(v) for v in line.replace(",", " ").split()])
    return torch.tensor(rows, dtype=torch.float32)


def print_csv(y):
    sys.stdout.write("".join(",".join("%.7g" % v for v in row) + "\n" for row in y.tolist()))


def read_x(path):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder == "big":
        a.byteswap()
    return torch.frombuffer(a, dtype=torch.float32).clone().reshape(-1, SIZES[0])


def per_call_s(fn, target_s, repeats):
    """Calls per repeat calibrated so a repeat takes about target_s; returns
    the calls per repeat and the per-call time of each repeat (seconds)."""
    for _ in range(20):
        fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= 0.02:
            break
        n *= 2
    n = max(1, int(n * target_s / dt))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return n, times


def main():
    mode = sys.argv[1]
    if mode == "cold-eager":
        model = build(sys.argv[2])
        with torch.inference_mode():
            print_csv(model(read_csv(sys.argv[3])))
    elif mode == "cold-script":
        model = torch.jit.load(sys.argv[2])
        with torch.inference_mode():
            print_csv(model(read_csv(sys.argv[3])))
    elif mode == "save-script":
        torch.jit.save(script(build(sys.argv[2])), sys.argv[3])
    elif mode == "check":
        eager = build(sys.argv[2])
        scripted = script(eager)
        x = read_x(sys.argv[3])
        out = array.array("f")
        with torch.inference_mode():
            for model in (eager, scripted):
                for xb in (x[:1], x):
                    out.extend(model(xb).reshape(-1).tolist())
        if sys.byteorder == "big":
            out.byteswap()
        with open(sys.argv[4], "wb") as f:
            f.write(out.tobytes())
    elif mode == "latency":
        threads = int(sys.argv[4])
        batches = [int(b) for b in sys.argv[5].split(",")]
        target_s, repeats = float(sys.argv[6]), int(sys.argv[7])
        torch.set_num_threads(threads)
        eager = build(sys.argv[2])
        scripted = script(eager)
        x = read_x(sys.argv[3])
        res = {"threads": torch.get_num_threads(), "torch": torch.__version__}
        with torch.inference_mode():
            for name, model in (("eager", eager), ("script", scripted)):
                for b in batches:
                    xb = x[:b].contiguous()
                    n, times = per_call_s(lambda: model(xb), target_s, repeats)
                    times.sort()
                    res["%s_b%d" % (name, b)] = {
                        "iters": n, "repeats": repeats,
                        "median_us": times[len(times) // 2] * 1e6, "min_us": times[0] * 1e6}
        print(json.dumps(res))
    else:
        sys.exit("torch_infer.py: unknown mode %r" % mode)


if __name__ == "__main__":
    main()
