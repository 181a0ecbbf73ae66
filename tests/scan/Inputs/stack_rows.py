"""stack_rows.py NNC MODEL WORKDIR [FLAGS...]: runs stack_rows.nn's two
functions through `nnc call` and compares them with the same recurrences
in NumPy (float64); prints one line per function."""
import os
import subprocess
import sys

import numpy as np


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def fwd(x, w):
    h = np.zeros((x.shape[0], 5))
    ys = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t, :] * 2.0 + h @ w)
        ys.append(h)
    return np.stack(ys) * 3.0


def rev(x, w):
    h = np.zeros((x.shape[0], 5))
    zs = [None] * x.shape[1]
    for t in reversed(range(x.shape[1])):
        z = (x[:, t, :] + h) @ w
        h = sigmoid(z)
        zs[t] = z
    zs = np.stack(zs)
    return (zs * zs).sum(axis=2) + zs.sum(axis=2)


def main():
    nnc, model, work = sys.argv[1:4]
    flags = sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 7, 5)).astype(np.float32)
    w = (0.5 * rng.standard_normal((5, 5))).astype(np.float32)
    np.save(os.path.join(work, "x.npy"), x)
    np.save(os.path.join(work, "w.npy"), w)
    for name, oracle in (("fwd", fwd), ("rev", rev)):
        out = os.path.join(work, name + ".npy")
        subprocess.run([nnc, "call", model, name, os.path.join(work, "x.npy"),
                        os.path.join(work, "w.npy"), "-o", out] + flags, check=True)
        got = np.load(out)
        want = oracle(x.astype(np.float64), w.astype(np.float64))
        err = np.max(np.abs(got - want))
        print("%s %s max error %.1e %s" % (name, list(got.shape), err,
                                            "ok" if err < 1e-5 else "WRONG"))


if __name__ == "__main__":
    main()
