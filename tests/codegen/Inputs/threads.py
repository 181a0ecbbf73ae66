"""Big kernels give the same bits with one thread and with two, and match
NumPy.

usage: threads.py NNC MODEL WORKDIR
"""
import os
import subprocess
import sys

import numpy as np

NNC, MODEL, WORK = sys.argv[1:4]
os.makedirs(WORK, exist_ok=True)
rng = np.random.default_rng(3)
W = rng.standard_normal((64, 512)).astype(np.float32) * 0.2
os.makedirs(os.path.join(WORK, "p"), exist_ok=True)
np.save(os.path.join(WORK, "p", "W.npy"), W)
x = rng.standard_normal((128, 64)).astype(np.float32)
xf = os.path.join(WORK, "x.npy")
np.save(xf, x)
z = x.astype(np.float64) @ W.astype(np.float64)


def softmax(a):
    e = np.exp(a - a.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


REF = {"soft": softmax(np.tanh(z) * 2), "rowsum": np.exp(z * 0.1).sum(1),
       "act": 1 / (1 + np.exp(-z)) - 0.5, "colmean": np.maximum(z, 0).mean(0)}
bad = 0
for fn, want in REF.items():
    outs = []
    for t in ("1", "2"):
        out = os.path.join(WORK, "%s_%s.npy" % (fn, t))
        subprocess.run([NNC, "call", MODEL, fn, xf, "-o", out, "--params",
                        os.path.join(WORK, "p"), "--threads", t], check=True)
        outs.append(np.load(out))
    same = np.array_equal(outs[0], outs[1])
    close = np.allclose(outs[1], want, rtol=1e-4, atol=1e-5)
    print("%s %s: threads 1 vs 2 %s, NumPy %s" % ("ok" if same and close else "FAIL", fn,
                                                   "bitwise" if same else "DIFFER",
                                                   "close" if close else "FAR"))
    bad += not (same and close)
print("threads: %d functions, %d failures" % (len(REF), bad))
sys.exit(1 if bad else 0)
