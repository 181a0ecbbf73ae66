"""Inputs of gather.test: ids in and out of range, and a large batch whose
scatter-add hits every row many times."""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
np.save(os.path.join(out, "ids.npy"), rng.integers(0, 50, (3, 5)).astype(np.int32))
bad = rng.integers(0, 50, (3, 5)).astype(np.int32)
bad[2, 1] = 50
np.save(os.path.join(out, "ids_bad.npy"), bad)
neg = rng.integers(0, 50, (3, 5)).astype(np.int32)
neg[0, 4] = -1
np.save(os.path.join(out, "ids_neg.npy"), neg)
np.save(os.path.join(out, "y.npy"), rng.standard_normal((3, 5, 64)).astype(np.float32))
# 512 x 64 ids over 50 rows: each row's gradient sums about 650 rows
np.save(os.path.join(out, "big_ids.npy"), rng.integers(0, 50, (512, 64)).astype(np.int32))
np.save(os.path.join(out, "big_y.npy"), rng.standard_normal((512, 64, 64)).astype(np.float32))
np.save(os.path.join(out, "t.npy"), rng.standard_normal((4, 3)).astype(np.float32))
np.save(os.path.join(out, "t_ids.npy"), np.array([0, 3, 4], np.int32))
np.save(os.path.join(out, "s.npy"), rng.standard_normal((4, 2)).astype(np.float32))
np.save(os.path.join(out, "s_ids.npy"), np.array([2, 0, 2, 3], np.int32))
