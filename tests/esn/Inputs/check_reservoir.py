"""Checks reservoir matrices written by `nnc call`: spectral radius (NumPy's
eigvals, in f64) equal to the one asked to 1e-4, density within 5 standard
errors of the binomial fraction, values symmetric about 0."""
import sys

import numpy as np


def check(path, radius, density):
    w = np.load(path)
    n = w.shape[0]
    assert w.shape == (n, n), w.shape
    rho = np.abs(np.linalg.eigvals(w.astype(np.float64))).max()
    assert abs(rho - radius) <= 1e-4, f"{path}: spectral radius {rho}, asked {radius}"
    frac = np.count_nonzero(w) / w.size
    tol = 5 * np.sqrt(density * (1 - density) / w.size) + 1e-12
    assert abs(frac - density) <= tol, f"{path}: density {frac}, asked {density} (+-{tol})"
    print(f"{path.rsplit('/', 1)[-1]}: {w.dtype} n={n} radius={rho:.6f} density={frac:.4f} ok")


for spec in sys.argv[1:]:
    path, radius, density = spec.split(":")
    check(path, float(radius), float(density))
