"""Runs every function of misc.nn through `nnc call` at batch 1 and 5 and
compares with NumPy (and, for loss, the --grad results: the gradient of an
unused parameter is zero).

usage: misc.py NNC MODEL WORKDIR
"""
import os
import subprocess
import sys

import numpy as np

NNC, MODEL, WORK = sys.argv[1:4]
os.makedirs(WORK, exist_ok=True)
rng = np.random.default_rng(11)
PD = os.path.join(WORK, "params")
os.makedirs(PD, exist_ok=True)
P = rng.standard_normal((4, 3)).astype(np.float32)
Q = rng.standard_normal((2, 5, 4)).astype(np.float32)
for k, v in (("P", P), ("Q", Q), ("unused", np.zeros(7, np.float32))):
    np.save(os.path.join(PD, k + ".npy"), v)
P64, Q64 = P.astype(np.float64), Q.astype(np.float64)


def softmax0(x):
    e = np.exp(x - x.max(0, keepdims=True))
    return e / e.sum(0, keepdims=True)


def f(*shape):
    return rng.standard_normal(shape).astype(np.float32)


CASES = [
    ("ident", lambda b: [f(b, 4)], lambda x: x),
    ("param_out", lambda b: [f(b, 4)], lambda x: P64),
    ("konst", lambda b: [f(b, 4)], lambda x: np.asarray(2.5)),
    ("view", lambda b: [f(b, 4)], lambda x: (x * 3).reshape(-1, 2, 2)),
    ("batched", lambda b: [f(3, 2, b, 4)], lambda t: t @ P64),
    ("batched_bcast", lambda b: [f(3, 1, b, 4)], lambda t: t @ Q64.transpose(0, 2, 1)),
    ("view_gemm", lambda b: [f(b, 2, 2)], lambda x: x.reshape(-1, 4) @ P64),
    ("vec_vec", lambda b: [f(4), f(4)], lambda v, w: np.asarray(v @ w)),
    ("trans_left", lambda b: [f(4, b)], lambda x: x.T @ P64),
    ("hot_mix", lambda b: [rng.integers(0, 6, b).astype(np.int32), f(b, 1)],
     lambda y, s: np.eye(6)[y] * s + 1),
    ("soft_col", lambda b: [f(b, 3)], lambda x: softmax0(x) * 2 - x),
    ("int_ops", lambda b: [rng.integers(-9, 9, (b, 3)).astype(np.int32),
                           rng.integers(0, 4, 3).astype(np.int32)],
     lambda i, j: (i * j - np.trunc(i / (j + 1)).astype(np.int32)).sum(1, keepdims=True)),
    ("cmp_sel", lambda b: [f(b, 3), f(3)],
     lambda a, c: np.where(a >= c, a, -a) + np.where(a != a, a, c)),
]
bad = 0
for name, make, ref in CASES:
    for b in (1, 5):
        xs = make(b)
        files = []
        for i, x in enumerate(xs):
            files.append(os.path.join(WORK, "%s_%d_%d.npy" % (name, b, i)))
            np.save(files[-1], x)
        out = os.path.join(WORK, "out.npy")
        r = subprocess.run([NNC, "call", MODEL, name] + files + ["-o", out, "--params", PD],
                           capture_output=True, text=True)
        if r.returncode:
            print("FAIL %s B=%d: %s" % (name, b, r.stderr.strip()))
            bad += 1
            continue
        got = np.load(out)
        want = np.asarray(ref(*[x.astype(np.float64) if x.dtype.kind == "f" else x
                                for x in xs]))
        ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-5)
        print("%s %s B=%d" % ("ok" if ok else "FAIL", name, b))
        if not ok:
            print("  got %s\n  want %s" % (got, want))
        bad += not ok
x, y = f(5, 4), rng.integers(0, 3, 5).astype(np.int32)
np.save(os.path.join(WORK, "lx.npy"), x)
np.save(os.path.join(WORK, "ly.npy"), y)
gd = os.path.join(WORK, "g")
subprocess.run([NNC, "call", MODEL, "loss", os.path.join(WORK, "lx.npy"),
                os.path.join(WORK, "ly.npy"), "--grad", "--out-dir", gd, "--params", PD],
               check=True)
ok = not np.load(os.path.join(gd, "d.unused.npy")).any() and \
    not np.load(os.path.join(gd, "d.Q.npy")).any() and np.load(os.path.join(gd, "d.P.npy")).any()
print("%s loss --grad: unused parameters get zero gradients" % ("ok" if ok else "FAIL"))
bad += not ok
print("misc: %d failures" % bad)
sys.exit(1 if bad else 0)
