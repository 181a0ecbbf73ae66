"""Runs the functions of Inputs/net.nn through `nnc call` and checks them
against NumPy (float64 reference): forward values, the derived gradients
(`--grad`), batch 1 and batch 7 through the same compiled function, and
fused/unfused/-O0 agreement (bitwise in f64 for the elementwise-only
function, within 1e-12 otherwise).

usage: roundtrip.py NNC MODEL WORKDIR
"""
import os
import subprocess
import sys

import numpy as np

NNC, MODEL, WORK = sys.argv[1:4]
os.makedirs(WORK, exist_ok=True)
rng = np.random.default_rng(7)
failures = checks = 0


def save(name, a):
    path = os.path.join(WORK, name + ".npy")
    np.save(path, a)
    return path


def call(fn, args, flags=(), out_dir=None):
    out = out_dir or os.path.join(WORK, "out.npy")
    cmd = [NNC, "call", MODEL, fn] + args + ["--params", PDIR] + list(flags)
    cmd += ["--out-dir", out] if out_dir else ["-o", out]
    subprocess.run(cmd, check=True)
    if out_dir:
        return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}
    return np.load(out)


def check(what, got, want, rtol=2e-5, atol=2e-6):
    global failures, checks
    checks += 1
    ok = got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=atol)
    if not ok:
        failures += 1
        err = np.abs(got - want).max() if got.shape == want.shape else "shape"
        print("FAIL %s: got %s want %s (max err %s)" % (what, got.shape, want.shape, err))
    else:
        print("ok %s" % what)


P = {"W1": rng.standard_normal((6, 8)), "b1": rng.standard_normal(8) * 0.1,
     "W2": rng.standard_normal((8, 5)), "b2": rng.standard_normal(5) * 0.1}
PDIR = os.path.join(WORK, "params")
os.makedirs(PDIR, exist_ok=True)
for k, v in P.items():
    np.save(os.path.join(PDIR, k + ".npy"), v.astype(np.float32))
P = {k: v.astype(np.float32).astype(np.float64) for k, v in P.items()}


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def forward(x):
    a = x @ P["W1"] + P["b1"]
    h = np.maximum(a, 0)
    return a, h, h @ P["W2"] + P["b2"]


def loss_grads(x, y):
    a, h, z = forward(x)
    n = x.shape[0]
    loss = -np.log(softmax(z)[np.arange(n), y]).mean()
    dz = (softmax(z) - np.eye(5)[y]) / n
    dh = dz @ P["W2"].T
    da = dh * (a > 0)
    return {"result": loss, "d.W1": x.T @ da, "d.b1": da.sum(0), "d.W2": h.T @ dz,
            "d.b2": dz.sum(0), "d.x": da @ P["W1"].T}


for batch in (1, 7):
    x = rng.standard_normal((batch, 6)).astype(np.float32)
    y = rng.integers(0, 5, batch).astype(np.int32)
    t = rng.uniform(0, 1, (batch, 5)).astype(np.float32)
    xf, yf, tf = save("x%d" % batch, x), save("y%d" % batch, y), save("t%d" % batch, t)
    x64 = x.astype(np.float64)
    z = forward(x64)[2]
    check("forward B=%d" % batch, call("forward", [xf]), z)
    check("probs B=%d" % batch, call("probs", [xf]), softmax(z))
    check("loss B=%d" % batch, call("loss", [xf, yf]),
          np.asarray(-np.log(softmax(z)[np.arange(batch), y]).mean()))
    s = 1 / (1 + np.exp(-z))
    check("regress B=%d" % batch, call("regress", [xf, tf]), np.asarray(((s - t) ** 2).mean()))
    th = np.tanh(z)
    check("mixed B=%d" % batch, call("mixed", [xf]), (th - th.mean(1, keepdims=True)).T)
    got = call("loss", [xf, yf], ["--grad"], out_dir=os.path.join(WORK, "g%d" % batch))
    want = loss_grads(x64, y)
    for k in sorted(want):
        check("loss --grad %s B=%d" % (k, batch), got[k], np.asarray(want[k]))

# The same inputs under different flags, in f64.
x, y = save("x7", rng.standard_normal((7, 6))), save("y7", rng.integers(0, 5, 7).astype(np.int32))
for fn, args, exact in (("forward", [x], True), ("probs", [x], False), ("loss", [x, y], False),
                        ("mixed", [x], False)):
    base = call(fn, args, ["--dtype=f64"])
    for flags in (["--no-fuse"], ["-O0"], ["--no-fuse", "-O1"], ["--threads", "2"]):
        other = call(fn, args, ["--dtype=f64"] + flags)
        checks += 1
        same = np.array_equal(base, other) if exact else np.allclose(base, other, 1e-12, 1e-14)
        if not same:
            failures += 1
            print("FAIL %s %s differs from the default flags" % (fn, " ".join(flags)))
        else:
            print("ok %s %s agrees%s" % (fn, " ".join(flags), " bitwise" if exact else ""))
print("roundtrip: %d checks, %d failures" % (checks, failures))
sys.exit(1 if failures else 0)
