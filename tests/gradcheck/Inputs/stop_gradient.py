"""stop_gradient passes values forward and no gradient back: for
L = sum(stop_gradient(a) * b + a + stop_gradient(a * a)), dL/da = 1 and
dL/db = a. Runs `nnc call --grad` and checks both with NumPy."""
import os
import subprocess
import sys

import numpy as np

nnc, model, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(7)
a = rng.standard_normal((3, 4)).astype(np.float32)
b = rng.standard_normal((3, 4)).astype(np.float32)
np.save(os.path.join(work, "a.npy"), a)
np.save(os.path.join(work, "b.npy"), b)
subprocess.run([nnc, "call", model, "f", os.path.join(work, "a.npy"),
                os.path.join(work, "b.npy"), "--grad", "--out-dir", work], check=True)
result = np.load(os.path.join(work, "result.npy"))
da = np.load(os.path.join(work, "d.a.npy"))
db = np.load(os.path.join(work, "d.b.npy"))
ok = (np.allclose(result, (a * b + a + a * a).sum(), rtol=1e-5) and
      np.array_equal(da, np.ones_like(a)) and np.allclose(db, a, rtol=1e-6))
print("stop_gradient: %s" % ("ok" if ok else "WRONG\nd.a=%s\nd.b=%s" % (da, db)))
sys.exit(0 if ok else 1)
