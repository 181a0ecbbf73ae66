"""The ESN layer's states against NumPy's leaky-integrator recurrence, with
the reservoir and input weights nnc initialised:
h[t] = (1 - a) h[t-1] + a tanh(x[t] W_in + h[t-1] W), h[-1] = 0."""
import sys

import numpy as np

d, leak, radius = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
x = np.load(f"{d}/x.npy").astype(np.float64)
w, w_in = np.load(f"{d}/reservoir_w.npy"), np.load(f"{d}/input_w.npy")
got = np.load(f"{d}/forward.npy")
h = np.zeros((x.shape[0], w.shape[0]))
want = np.empty(got.shape)
for t in range(x.shape[1]):
    h = (1 - leak) * h + leak * np.tanh(x[:, t, :] @ w_in + h @ w)
    want[:, t, :] = h
err = np.abs(got - want).max()
rho = np.abs(np.linalg.eigvals(w.astype(np.float64))).max()
assert err < 1e-5, err
assert abs(rho - radius) < 1e-4, rho
assert np.abs(w_in).max() <= 0.5 and np.abs(w_in).max() > 0.3, np.abs(w_in).max()
print(f"states {got.shape}: max |nnc - numpy| {err:.1e}; reservoir radius {rho:.5f}")
