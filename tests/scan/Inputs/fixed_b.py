"""fixed_b.py NNC MODEL WORKDIR [FLAGS...]: runs fixed_b.nn's functions
through `nnc call` and compares them with the same recurrences in NumPy
(float64); prints one line per function."""
import os
import subprocess
import sys

import numpy as np


def fwd(x, u, w):
    h = np.zeros((x.shape[0], 48))
    ys = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t, :] @ u + h @ w)
        ys.append(h)
    return np.stack(ys)


def rev(x, u, w):
    h = np.zeros((x.shape[0], 48))
    ys = [None] * x.shape[1]
    for t in reversed(range(x.shape[1])):
        h = np.tanh(x[:, t, :] @ u + h @ w.T)
        ys[t] = h
    return np.stack(ys)


def nested(x, u):
    acc = np.zeros((x.shape[2], 48))
    outs = []
    for s in range(x.shape[0]):
        us = u * (1.0 + 0.1 * acc.mean())
        h = acc
        for t in range(x.shape[1]):
            h = np.tanh(x[s, t] @ us + 0.5 * h)
        acc = h
        outs.append(h)
    return np.stack(outs)


def call(nnc, model, work, name, arrays, flags):
    paths = []
    for i, a in enumerate(arrays):
        paths.append(os.path.join(work, "%s%d.npy" % (name, i)))
        np.save(paths[-1], a)
    out = os.path.join(work, name + ".out.npy")
    subprocess.run([nnc, "call", model, name] + paths + ["-o", out] + flags, check=True)
    return np.load(out)


def main():
    nnc, model, work = sys.argv[1:4]
    flags = sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 6, 8)).astype(np.float32)
    u = (0.4 * rng.standard_normal((8, 48))).astype(np.float32)
    w = (0.2 * rng.standard_normal((48, 48))).astype(np.float32)
    xn = rng.standard_normal((3, 6, 5, 8)).astype(np.float32)
    d = lambda a: a.astype(np.float64)
    cases = (("fwd", (x, u, w), fwd(d(x), d(u), d(w))),
             ("rev", (x, u, w), rev(d(x), d(u), d(w))),
             ("nested", (xn, u), nested(d(xn), d(u))))
    for name, args, want in cases:
        got = call(nnc, model, work, name, args, flags)
        err = np.max(np.abs(got - want))
        print("%s %s max error %.1e %s" % (name, list(got.shape), err,
                                            "ok" if err < 1e-5 else "WRONG"))


if __name__ == "__main__":
    main()
