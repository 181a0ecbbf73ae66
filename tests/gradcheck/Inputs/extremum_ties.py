"""max / min share the gradient evenly among tied elements (torch.amax's
rule), and a NaN makes max NaN and wins argmax (torch.argmax). Runs
`nnc call --grad` and checks against the rule written out in NumPy."""
import os
import subprocess
import sys

import numpy as np

nnc, model, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)


def call(fn, arrays, grad):
    paths = []
    for name, x in arrays.items():
        paths.append(os.path.join(work, name + ".npy"))
        np.save(paths[-1], x)
    cmd = [nnc, "call", model, fn] + paths + ["--out-dir", work] + (["--grad"] if grad else [])
    subprocess.run(cmd, check=True)
    return lambda name: np.load(os.path.join(work, name + ".npy"))


a = np.array([[1, 3, 3, 0], [2, 2, 2, 2]], np.float32)
w = np.array([1.5, -2], np.float32)
out = call("f", {"a": a, "w": w}, True)
# max over rows: [3, 2]; min over all: 0, held once at a[0, 3]
want_da = np.array([[0, 0.75, 0.75, w.sum()], [-0.5, -0.5, -0.5, -0.5]], np.float32)
want_dw = np.array([3 + 0, 2 + 0], np.float32)
fails = []
if not np.allclose(out("d.a"), want_da, rtol=1e-6):
    fails.append("d.a = %s, want %s" % (out("d.a"), want_da))
if not np.allclose(out("d.w"), want_dw, rtol=1e-6):
    fails.append("d.w = %s, want %s" % (out("d.w"), want_dw))

nan = np.array([[1, np.nan, 3, np.nan], [0, 5, 5, 1]], np.float32)
out = call("idx", {"a": nan}, False)
if out("result").tolist() != [1, 1]:
    fails.append("argmax = %s, want [1, 1]" % out("result").tolist())
out = call("f", {"a": nan, "w": w}, False)
if not np.isnan(out("result")):
    fails.append("f with a NaN = %s, want nan" % out("result"))

print("extremum ties: %s" % ("ok" if not fails else "WRONG\n" + "\n".join(fails)))
sys.exit(1 if fails else 0)
