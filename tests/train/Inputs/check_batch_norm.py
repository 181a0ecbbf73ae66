"""Checks what training batch_norm.nn left in its checkpoint, and what
--predict computed from that checkpoint, against NumPy.

- The running statistics after every step of every epoch (batches in file
  order): running = (1 - momentum) * running + momentum * batch statistic,
  the mean and the unbiased variance (PyTorch's BatchNorm1d), over axis 0
  for bn and over axes 0 and 2 for bn3.
- The predictions: the forward pass with the running statistics (not the
  batch's), and the weights, read from the checkpoint.

usage: check_batch_norm.py CKPT DIGITS_CSV EPOCHS BATCH ROWS_CSV PRED_NPY
Prints "batch norm: ok" and exits 0, or says what differs."""
import json
import struct
import sys

import numpy as np

ckpt, csv, epochs, batch, rows_csv, pred = sys.argv[1:7]
epochs, batch = int(epochs), int(batch)
raw = open(ckpt, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]


def tensor(name):
    h = header[name]
    lo, hi = h["data_offsets"]
    return np.frombuffer(data[lo:hi], np.float32).reshape(h["shape"]).astype(np.float64)


x = np.loadtxt(csv, delimiter=",")[:, :64] * 0.0625
rm, rv = np.zeros(64), np.ones(64)
rm3, rv3 = np.zeros(8), np.ones(8)
for _ in range(epochs):
    for i in range(0, len(x), batch):
        b = x[i:i + batch]
        rm = 0.7 * rm + 0.3 * b.mean(0)
        rv = 0.7 * rv + 0.3 * b.var(0, ddof=1)
        b3 = b.reshape(-1, 8, 8)
        rm3 = 0.9 * rm3 + 0.1 * b3.mean((0, 2))
        rv3 = 0.9 * rv3 + 0.1 * b3.var((0, 2), ddof=1)
fails = []
for name, want in (("bn.running_mean", rm), ("bn.running_var", rv),
                   ("bn3.running_mean", rm3), ("bn3.running_var", rv3)):
    got = tensor(name)
    if not np.allclose(got, want, rtol=1e-4, atol=1e-6):
        fails.append("%s differs by %.3g" % (name, np.abs(got - want).max()))

r = np.loadtxt(rows_csv, delimiter=",", ndmin=2) * 0.0625
h = (r - tensor("bn.running_mean")) / np.sqrt(tensor("bn.running_var") + 1e-5)
h = h * tensor("bn.weight") + tensor("bn.bias")
r3 = r.reshape(-1, 8, 8)
h3 = (r3 - tensor("bn3.running_mean")[:, None]) / np.sqrt(tensor("bn3.running_var")[:, None] + 1e-3)
h3 = h3 * tensor("bn3.weight")[:, None] + tensor("bn3.bias")[:, None]
want = (h + h3.reshape(-1, 64)) @ tensor("fc.W") + tensor("fc.b")
got = np.load(pred)
if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-4):
    fails.append("predictions differ from the running statistics' forward pass")
print("batch norm: " + ("ok" if not fails else "WRONG\n" + "\n".join(fails)))
sys.exit(1 if fails else 0)
