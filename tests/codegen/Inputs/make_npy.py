"""Writes the .npy files the `nnc call` error tests read into DIR.

usage: make_npy.py DIR
"""
import os
import sys

import numpy as np

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
arrays = {
    "x3": np.zeros((3, 6), np.float32),
    "x3_f64": np.zeros((3, 6), np.float64),
    "x_rank1": np.zeros(6, np.float32),
    "x_cols7": np.zeros((3, 7), np.float32),
    "y3": np.array([0, 4, 2], np.int32),
    "y4": np.zeros(4, np.int32),
    "y3_bad": np.array([1, 9, 2], np.int32),
    "y3_neg": np.array([1, 2, -1], np.int32),
    "y3_i64": np.array([0, 1, 2], np.int64),
    "yy_bad": np.array([[0, 1, 3], [2, 4, 0]], np.int32),
    "ll": np.zeros((2, 3, 4), np.float32),
}
for name, a in arrays.items():
    np.save(os.path.join(d, name + ".npy"), a)
open(os.path.join(d, "garbage.npy"), "wb").write(b"definitely not an array")
good = open(os.path.join(d, "x3.npy"), "rb").read()
open(os.path.join(d, "truncated.npy"), "wb").write(good[:len(good) - 10])
