"""Writes the data of ridge.nn: 24 windows of 50 steps of the Mackey-Glass
series (NumPy's integrator), x [24, 50, 1] and y [24, 50, 2] (the value one
and two steps ahead), into the directory given: the first 18 to train on, the last 6 to validate."""
import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "runtime", "Inputs"))
from mackey_glass import mackey_glass  # noqa: E402

out = sys.argv[1]
s = mackey_glass(24 * 50 + 2, 17).astype(np.float32)
x = s[: 24 * 50].reshape(24, 50, 1)
y = np.stack([s[1 : 24 * 50 + 1], s[2 : 24 * 50 + 2]], axis=-1).reshape(24, 50, 2)
for part, rows in (("train", slice(0, 18)), ("val", slice(18, 24))):
    np.save(f"{out}/x_{part}.npy", x[rows])
    np.save(f"{out}/y_{part}.npy", y[rows])
