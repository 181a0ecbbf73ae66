"""Reads the checkpoint written by training state_group.nn and checks mu and
var against the same updates in NumPy (f64), batch after batch in file
order: every read of a step sees the states of the step before. Prints
"state group: ok"."""
import json
import struct
import sys

import numpy as np

ckpt, csv, epochs, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
raw = open(ckpt, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]


def tensor(name):
    lo, hi = header[name]["data_offsets"]
    return np.frombuffer(data[lo:hi], np.float32)


x = np.loadtxt(csv, delimiter=",", skiprows=1)[:, :4]
mu, var = np.zeros(4), np.ones(4)
for _ in range(epochs):
    for b in range(0, len(x), batch):
        d = x[b:b + batch].mean(0) - mu
        mu, var = mu + 0.1 * d, 0.9 * var + 0.1 * d * d
fails = []
for name, want in (("mu", mu), ("var", var)):
    got = tensor(name)
    if np.abs(got - want).max() > 1e-5 * (1 + np.abs(want).max()):
        fails.append("%s = %s, want %s" % (name, got, want))
print("state group: %s" % ("ok" if not fails else "WRONG\n" + "\n".join(fails)))
sys.exit(1 if fails else 0)
