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

# max pooling, each window's dy shared evenly among its tied maxima
pa = np.array([[7, 7, 1, 2], [7, 7, 2, 1], [0, 5, 4, 4], [5, 1, 4, 3]], np.float32)[None, None]
pw = np.array([[1, 2], [3, 4]], np.float32)[None, None]


def pool_grad(k, s):
    """d sum(max_pool2d(pa, k, s) * pw) / d pa, the rule written out."""
    g = np.zeros_like(pa)
    for i in range(2):
        for j in range(2):
            win = pa[0, 0, i * s:i * s + k, j * s:j * s + k]
            hit = win == win.max()
            g[0, 0, i * s:i * s + k, j * s:j * s + k] += hit * pw[0, 0, i, j] / hit.sum()
    return g


for fn, k, s in (("pool", 2, 2), ("pool3", 3, 1)):
    out = call(fn, {"a": pa, "w": pw}, True)
    if not np.allclose(out("d.a"), pool_grad(k, s), rtol=1e-6):
        fails.append("%s: d.a = %s, want %s" % (fn, out("d.a"), pool_grad(k, s)))

print("extremum ties: %s" % ("ok" if not fails else "WRONG\n" + "\n".join(fails)))
sys.exit(1 if fails else 0)
