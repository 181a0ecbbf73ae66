"""One optimizer's training steps in nnc against NumPy.

Writes a small data set, a model (Linear 5-8 relu, Linear 8-3, cross-entropy)
using the optimizer given on the command line, and a starting checkpoint
with random parameters and zero optimizer state. `nnc run --resume` trains
from that checkpoint for two epochs of three batches (no shuffling) and
writes the final checkpoint; the same steps in NumPy, with torch.optim's
formulas, must give the same parameters and optimizer state.

The extra train fields may be `clip`, `warmup` and `schedule` (step or
cosine); the NumPy side follows the language reference's definitions:
step(every, gamma) multiplies the rate by gamma every `every` epochs,
cosine(min_lr) anneals per step over the steps after warm-up as PyTorch's
CosineAnnealingLR does, and warm-up scales the rate by t / warmup.

usage: optim_oracle.py NNC WORKDIR NAME 'OPTIMIZER' [EXTRA_TRAIN_FIELD...]
prints "NAME: ok (max rel err E)" or "NAME: FAIL ..." lines
"""
import json
import math
import os
import re
import struct
import subprocess
import sys

import numpy as np

N, F, H, C, BATCH, EPOCHS = 24, 5, 8, 3, 8, 2
PARAMS = [("fc1.W", (F, H)), ("fc1.b", (H,)), ("fc2.W", (H, C)), ("fc2.b", (C,))]


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for name, arr in tensors:
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + end], dtype="<f4").reshape(e["shape"])
    return out, header.get("__metadata__", {})


def parse_optimizer(text):
    kind, args = re.match(r"(\w+)\((.*)\)", text).groups()
    kw = {}
    for part in filter(None, (p.strip() for p in args.split(","))):
        k, v = (s.strip() for s in part.split("="))
        kw[k] = v == "true" if v in ("true", "false") else float(v)
    return kind, kw


def state_names(kind, kw):
    if kind == "sgd":
        return ["momentum"] if kw.get("momentum", 0) > 0 else []
    if kind in ("adam", "adamw"):
        return ["m", "v"]
    return ["square_avg"] + (["momentum"] if kw.get("momentum", 0) > 0 else [])


def grads(p, x, y):
    W1, b1, W2, b2 = p["fc1.W"], p["fc1.b"], p["fc2.W"], p["fc2.b"]
    a = x @ W1 + b1
    h = np.maximum(a, 0)
    z = h @ W2 + b2
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e / e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    dz = s.copy()
    dz[np.arange(n), y] -= 1
    dz /= n
    dh = dz @ W2.T
    da = dh * (a > 0)
    return {"fc1.W": x.T @ da, "fc1.b": da.sum(0), "fc2.W": h.T @ dz, "fc2.b": dz.sum(0)}


def step(kind, kw, p, st, g, t, lr, clip):
    if clip:
        norm = math.sqrt(sum(float((v * v).sum()) for v in g.values()))
        scale = min(1.0, clip / (norm + 1e-6))
        g = {k: v * scale for k, v in g.items()}
    wd = kw.get("weight_decay", 0.01 if kind == "adamw" else 0.0)
    for name, _ in PARAMS:
        w, d = p[name], g[name]
        s = st[name]
        if kind == "sgd":
            mom = kw.get("momentum", 0)
            if wd:
                d = d + wd * w
            if mom:
                s[0] = mom * s[0] + d
                d = d + mom * s[0] if kw.get("nesterov") else s[0]
            p[name] = w - lr * d
        elif kind in ("adam", "adamw"):
            b1, b2, eps = kw.get("beta1", 0.9), kw.get("beta2", 0.999), kw.get("eps", 1e-8)
            if kind == "adamw":
                w = w * (1 - lr * wd)
            elif wd:
                d = d + wd * w
            s[0] = b1 * s[0] + (1 - b1) * d
            s[1] = b2 * s[1] + (1 - b2) * d * d
            denom = np.sqrt(s[1]) / math.sqrt(1 - b2 ** t) + eps
            p[name] = w - lr / (1 - b1 ** t) * s[0] / denom
        else:
            alpha, eps, mom = kw.get("alpha", 0.99), kw.get("eps", 1e-8), kw.get("momentum", 0)
            if wd:
                d = d + wd * w
            s[0] = alpha * s[0] + (1 - alpha) * d * d
            upd = d / (np.sqrt(s[0]) + eps)
            if mom:
                s[1] = mom * s[1] + upd
                upd = s[1]
            p[name] = w - lr * upd


def schedule_lr(lr, sched, warmup, total, t, epoch):
    """The rate of step t (1-based) in 0-based epoch `epoch`."""
    if sched is not None and sched[0] == "step":
        lr = lr * sched[1].get("gamma", 0.1) ** (epoch // int(sched[1]["every"]))
    elif sched is not None and sched[0] == "cosine":
        lo, span = sched[1].get("min_lr", 0.0), total - warmup
        pos = min(max(t - warmup - 1, 0), span)
        lr = lo + (lr - lo) * (1 + math.cos(math.pi * pos / span)) / 2
    if t <= warmup:
        lr = lr * t / warmup
    return lr


def main():
    nnc, work, name, opt = sys.argv[1:5]
    extra = sys.argv[5:]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N, F)).astype(np.float32)
    y = rng.integers(0, C, N)
    with open(os.path.join(work, "data.csv"), "w") as f:
        for i in range(N):
            f.write(",".join("%.6f" % v for v in x[i]) + ",%d\n" % y[i])
    x = np.array([[float("%.6f" % v) for v in row] for row in x], dtype=np.float32)
    kind, kw = parse_optimizer(opt)
    clip, warmup, sched = 0.0, 0, None
    for field in extra:
        k, v = (s.strip() for s in field.split("=", 1))
        if k == "clip":
            clip = float(v)
        elif k == "warmup":
            warmup = int(v)
        elif k == "schedule":
            sched = parse_optimizer(v)
    model = os.path.join(work, name + ".nn")
    with open(model, "w") as f:
        f.write("""import nn
model OptTest {
  fc1 = Linear(5, 8)
  fc2 = Linear(8, 3)
  fn forward(x: f32[B, 5]) -> f32[B, 3] { return fc2(relu(fc1(x))) }
  fn loss(x: f32[B, 5], y: i32[B]) -> f32 { return cross_entropy(forward(x), y) }
  data {
    source = csv("data.csv", label = 5)
    batch = %d
    epochs = %d
    shuffle = false
  }
  train step {
    loss = loss
    optimizer = %s
    %s
  }
}
""" % (BATCH, EPOCHS, opt, "\n    ".join(extra)))
    p = {n: (rng.standard_normal(s) * 0.5).astype(np.float32) for n, s in PARAMS}
    snames = state_names(kind, kw)
    st = {n: [np.zeros(s, np.float32) for _ in snames] for n, s in PARAMS}
    tensors = [(n, p[n]) for n, _ in PARAMS]
    for n, _ in PARAMS:
        for i, sn in enumerate(snames):
            tensors.append(("optim.%s.%s" % (n, sn), st[n][i]))
    meta = {"nnc.format": "1", "nnc.model": "OptTest", "nnc.step": "0", "nnc.epoch": "0",
            "nnc.batch": "0", "nnc.loss_sum": "0", "nnc.correct": "0", "nnc.seen": "0",
            "nnc.best_val_loss": "inf", "nnc.bad_epochs": "0", "nnc.rng": "0:0"}
    ckpt = os.path.join(work, name + ".safetensors")
    write_safetensors(ckpt, tensors, meta)
    run = subprocess.run([nnc, "run", model, "--resume", "--checkpoint", ckpt, "--no-progress",
                          "--threads", "1"], capture_output=True, text=True)
    if run.returncode != 0:
        print("%s: FAIL nnc run exited %d\n%s%s" % (name, run.returncode, run.stdout, run.stderr))
        return 1
    lr = kw.get("lr", 0.01 if kind == "rmsprop" else 0.001)
    p64 = {k: v.astype(np.float64) for k, v in p.items()}
    st64 = {k: [s.astype(np.float64) for s in v] for k, v in st.items()}
    t, total = 0, EPOCHS * (N // BATCH)
    for epoch in range(EPOCHS):
        for b in range(0, N, BATCH):
            t += 1
            g = grads(p64, x[b:b + BATCH].astype(np.float64), y[b:b + BATCH])
            rate = schedule_lr(lr, sched, warmup, total, t, epoch)
            step(kind, kw, p64, st64, g, t, rate, clip)
    got, meta = read_safetensors(ckpt)
    worst = 0.0
    for n, _ in PARAMS:
        pairs = [(n, p64[n])] + [("optim.%s.%s" % (n, sn), st64[n][i]) for i, sn in enumerate(snames)]
        for key, want in pairs:
            err = np.abs(got[key] - want) / (np.abs(want) + 1e-3)
            worst = max(worst, float(err.max()))
    if meta.get("nnc.step") != str(t):
        print("%s: FAIL checkpoint step %s, expected %d" % (name, meta.get("nnc.step"), t))
        return 1
    if worst > 2e-4:
        print("%s: FAIL max rel err %.3g" % (name, worst))
        return 1
    print("%s: ok" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
