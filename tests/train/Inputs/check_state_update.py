"""Reads the checkpoint written by training state_update.nn and checks the
states its loss wrote with `<-`: a step counter, a running sum, an average
and two states that swap each step. Exit 0 and print "state updates: ok"."""
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


x = np.loadtxt(csv, delimiter=",")[:, :64] * 0.0625
steps = epochs * -(-len(x) // batch)
fails = []
if tensor("steps").tolist() != [steps]:
    fails.append("steps = %s, want %d" % (tensor("steps"), steps))
total = epochs * x.sum()
if abs(tensor("total")[0] - total) > 1e-5 * total:
    fails.append("total = %s, want %s" % (tensor("total")[0], total))
# an average of batch means: within a small distance of the column means
if np.abs(tensor("mu") - x.mean(0)).max() > 0.05 + 0.05 * np.abs(x.mean(0)).max():
    fails.append("mu = %s, far from %s" % (tensor("mu"), x.mean(0)))
want_a, want_b = ([0, 0], [1, 1]) if steps % 2 else ([1, 1], [0, 0])
if tensor("swap_a").tolist() != want_a or tensor("swap_b").tolist() != want_b:
    fails.append("swap = %s %s after %d steps" % (tensor("swap_a"), tensor("swap_b"), steps))
print("state updates: %s" % ("ok" if not fails else "WRONG\n" + "\n".join(fails)))
sys.exit(1 if fails else 0)
