"""Inputs and NumPy answers for sum-dims.test (Inputs/sum_dims.nn).

usage: sum_dims.py inputs DIR       writes the arguments into DIR
       sum_dims.py check DIR FN     compares DIR/FN.npy with NumPy's answer
"""
import os
import sys

import numpy as np


def inputs(d):
    os.makedirs(d, exist_ok=True)
    r = np.random.default_rng(1)
    arrays = {
        "x": r.standard_normal((3, 5)),  # B = 3, T = 5
        "y": r.standard_normal((3, 4)),  # [B, T - 1]
        "yflat": r.standard_normal(16),  # [B*T + 1]
        "ygram": r.standard_normal((3, 14)),  # [B, 2*H + 4] with H = 5
        "ybad": r.standard_normal((3, 5)),  # not T - 1
        "x1": r.standard_normal((3, 1)),  # T = 1
        "y0": np.zeros((3, 0)),  # T - 1 = 0
    }
    for name, a in arrays.items():
        np.save(os.path.join(d, name + ".npy"), a.astype(np.float32))


def answer(d, fn):
    load = lambda n: np.load(os.path.join(d, n + ".npy")).astype(np.float64)
    x, y = load("x"), load("y")
    if fn == "shift":
        return y * 2.0 - y.mean() + x.sum(axis=1, keepdims=True)
    if fn == "flat":
        return np.exp(load("yflat")) * 3.0
    if fn == "gram":
        r = np.maximum(load("ygram").reshape(6, -1), 0)
        return r @ r.T
    if fn == "tail":
        return np.full(3, y.mean())
    raise SystemExit("unknown function " + fn)


def check(d, fn):
    got, want = np.load(os.path.join(d, fn + ".npy")), answer(d, fn)
    if got.shape != want.shape:
        raise SystemExit(f"{fn}: shape {got.shape}, NumPy's {want.shape}")
    err = np.max(np.abs(got - want)) if want.size else 0.0
    if not err <= 1e-5 * max(1.0, np.max(np.abs(want))):
        raise SystemExit(f"{fn}: differs from NumPy by {err}")
    print(f"{fn}: {got.shape} matches NumPy")


if __name__ == "__main__":
    if sys.argv[1] == "inputs":
        inputs(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3])
