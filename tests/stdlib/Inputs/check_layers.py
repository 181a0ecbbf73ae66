"""Writes the inputs of layers.test (`write DIR`) and checks what nnc call
computed from them (`check DIR`): Embedding picks table rows, Dropout passes
its input through outside training and, with --training, zeroes elements or
doubles them (p = 0.5), not all of either."""
import os
import sys

import numpy as np

mode, d = sys.argv[1], sys.argv[2]
if mode == "write":
    rng = np.random.default_rng(7)
    os.makedirs(os.path.join(d, "params"), exist_ok=True)
    np.save(os.path.join(d, "params", "emb.weight.npy"),
            rng.standard_normal((5, 3)).astype(np.float32))
    np.save(os.path.join(d, "ids2.npy"), np.array([[0, 4, 4], [2, 1, 0]], np.int32))
    np.save(os.path.join(d, "ids1.npy"), np.arange(40, dtype=np.int32) % 5)
    sys.exit(0)
W = np.load(os.path.join(d, "params", "emb.weight.npy"))
ids2, ids1 = np.load(os.path.join(d, "ids2.npy")), np.load(os.path.join(d, "ids1.npy"))
fails = []
if not np.array_equal(np.load(os.path.join(d, "seq.npy")), W[ids2]):
    fails.append("Embedding.forward is not the table's rows")
if not np.array_equal(np.load(os.path.join(d, "rows.npy")), W[ids1]):
    fails.append("Dropout outside training is not the identity")
t = np.load(os.path.join(d, "rows_train.npy"))
kept = t != 0
if not np.allclose(t[kept], 2 * W[ids1][kept], rtol=1e-6) or kept.all() or not kept.any():
    fails.append("Dropout in training is not a mask of 0 and 1 / (1 - p)")
if not np.array_equal(np.load(os.path.join(d, "rows_seq.npy")), W[ids2]):
    fails.append("Dropout.seq outside training is not the identity")
print("layers: " + ("ok" if not fails else "WRONG: " + "; ".join(fails)))
sys.exit(1 if fails else 0)
