"""Writes adding.npz, the adding problem (Hochreiter and Schmidhuber, 1997,
as in Le, Jaitly and Hinton, 2015) for examples/adding_rnn.nn.

Each sample is a sequence of T = 50 steps of two channels: a value drawn
uniformly from [0, 1) and a mask that is 1 at two steps, one in each half
of the sequence, and 0 elsewhere. The target is the sum of the two marked
values. Predicting the mean, 1.0, scores a mean squared error of 1/6
(0.167), the variance of a sum of two uniforms; a model beats it only by
remembering the first marked value across up to 49 steps.

x: float32 [N, 50, 2] (value, mask at each step), y: float32 [N].
The values are multiples of 1/256 so that the archive deflates well.

usage: python3 make_adding.py [OUT.npz] [--n N] [--seed S]
(defaults: adding.npz beside this script, N = 10000, seed 1)"""
import argparse
import os

import numpy as np

T = 50


def make(n, seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 256, size=(n, T)).astype(np.float32) / 256
    first = rng.integers(0, T // 2, size=n)
    second = rng.integers(T // 2, T, size=n)
    mask = np.zeros((n, T), np.float32)
    rows = np.arange(n)
    mask[rows, first] = 1
    mask[rows, second] = 1
    x = np.stack([values, mask], axis=2)
    y = values[rows, first] + values[rows, second]
    return x, y.astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "adding.npz"))
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    x, y = make(a.n, a.seed)
    np.savez_compressed(a.out, x=x, y=y)
    print("%s: x %s, y %s; predicting 1.0 scores an MSE of %.4f"
          % (a.out, x.shape, y.shape, float(np.mean((y - 1.0) ** 2))))


main()
