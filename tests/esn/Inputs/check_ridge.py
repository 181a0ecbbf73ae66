"""ridge.nn's fitted readout against np.linalg.solve on the same collected
states: rows h[t] of the 18 training windows after 10 steps of washout, a
1 appended (the bias, not penalised), (X^T X + alpha I') W = X^T Y."""
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from check_esn_ckpt import tensors  # noqa: E402

d = sys.argv[1]
alpha, washout = 1e-3, 10
h = np.load(f"{d}/states.npy").astype(np.float64)  # [18, 50, 40]
y = np.load(f"{d}/y_train.npy").astype(np.float64)
X = h[:, washout:, :].reshape(-1, h.shape[-1])
X = np.hstack([X, np.ones((X.shape[0], 1))])
Y = y[:, washout:, :].reshape(-1, y.shape[-1])
A = X.T @ X + alpha * np.diag(np.r_[np.ones(X.shape[1] - 1), 0.0])
W = np.linalg.solve(A, X.T @ Y)
ck = tensors(f"{d}/ridge.safetensors")
got_w, got_b = ck["readout.W"].astype(np.float64), ck["readout.b"].astype(np.float64)
scale = np.abs(W).max()
err = max(np.abs(got_w - W[:-1]).max(), np.abs(got_b - W[-1]).max()) / scale
assert err < 1e-4, err
assert not [k for k in ck if k.startswith("optim.res")], sorted(ck)
pred = X @ W
nmse = ((pred - Y) ** 2).mean()
print(f"readout {got_w.shape} + bias {got_b.shape}: max |nnc - numpy| / max |W| = {err:.1e}; "
      f"training mse {nmse:.3e}")
