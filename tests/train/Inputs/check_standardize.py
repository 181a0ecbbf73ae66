"""Checks a standardized model's checkpoint statistics and its predictions."""
import json
import struct
import sys

import numpy as np

ckpt, preds, labels, data = sys.argv[1:5]
raw = open(ckpt, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])


def tensor(name):
    b, e = header[name]["data_offsets"]
    return np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4")


x = np.loadtxt(data, delimiter=",", skiprows=1)[:, :4]
mean, std = tensor("data.mean"), tensor("data.std")
inside = int(((mean > x.min(0)) & (mean < x.max(0))).sum())
print("stats: %d means within the data's range, %d positive stds" % (inside, int((std > 0).sum())))
p = np.load(preds)
acc = float((p.argmax(1) == np.loadtxt(labels)).mean())
print("predictions: accuracy %s 0.9 (%.3f)" % ("above" if acc > 0.9 else "NOT above", acc))
