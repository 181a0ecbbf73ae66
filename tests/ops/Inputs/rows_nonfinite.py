"""softmax, log_softmax and cross_entropy (its value and its gradient) on
rows with infinities, NaN and huge logits, against the values the
hand-written loop nests gave before they became row kernels (recorded with
--record from that build; the row kernels must keep them, up to the last
place of f32).

usage: rows_nonfinite.py NNC WORK [--record]
"""
import math
import os
import subprocess
import sys

import numpy as np

INF, NAN = math.inf, math.nan
inf = INF  # as repr() writes the recorded table
ROWS = [
    [-INF, -INF, -INF, -INF],
    [-INF, 0.0, 1.0, -INF],
    [1e30, 1e30, -1e30, 0.0],
    [88.0, 89.0, 90.0, -88.0],
    [INF, 0.0, 1.0, 2.0],
    [NAN, 0.0, 1.0, 2.0],
    [-3e38, 3e38, 0.0, 1.0],
]
LABELS = [0, 1, 2, 3, 1, 2, 0]
MODEL = """model Rows {
  fn sm(x: f32[B, 4]) -> f32[B, 4] { return softmax(x, axis = 1) }
  fn lsm(x: f32[B, 4]) -> f32[B, 4] { return log_softmax(x, axis = 1) }
  fn ce(x: f32[B, 4], y: i32[B]) -> f32 { return cross_entropy(x, y) }
}
"""
# EXPECTED[fn] = one list per row (ce: [loss, d/dx...]); None is NaN
EXPECTED = {
    'sm': [[None, None, None, None], [0.0, 0.2689414322376251, 0.7310585975646973, 0.0], [0.5, 0.5, 0.0, 0.0], [0.09003057330846786, 0.2447284758090973, 0.6652409434318542, 0.0], [None, None, None, None], [None, None, None, None], [0.0, 1.0, 0.0, 0.0]],
    'lsm': [[None, None, None, None], [-inf, -1.31326162815094, -0.31326165795326233, -inf], [-0.6931471824645996, -0.6931471824645996, -2.0000000300949324e+30, -1.0000000150474662e+30], [-2.4076058864593506, -1.4076058864593506, -0.40760594606399536, -178.40760803222656], [None, None, None, None], [None, None, None, None], [-inf, 0.0, -3.0000000054977558e+38, -3.0000000054977558e+38]],
    'ce': [[None, None, None, None, None], [1.31326162815094, 0.0, -0.7310585975646973, 0.7310585975646973, 0.0], [2.0000000300949324e+30, 0.5, 0.5, -1.0, 0.0], [178.40760803222656, 0.09003057330846786, 0.2447284758090973, 0.6652409434318542, -1.0], [None, None, None, None, None], [None, None, None, None, None], [inf, -1.0, 1.0, 0.0, 0.0]]}


def call(nnc, work, fn, row, label, grad):
    x = os.path.join(work, "x.npy")
    np.save(x, np.array([row], dtype=np.float32))
    args = [x]
    if fn == "ce":
        args.append(os.path.join(work, "y.npy"))
        np.save(args[-1], np.array([label], dtype=np.int32))
    out = os.path.join(work, "out.npy")
    cmd = [nnc, "call", os.path.join(work, "rows.nn"), fn] + args
    cmd += ["--grad", "--out-dir", os.path.join(work, "g")] if grad else ["-o", out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("nnc call %s failed: %s" % (fn, r.stderr))
    if not grad:
        return [float(v) for v in np.load(out).reshape(-1)]
    g = os.path.join(work, "g")
    return [float(v) for v in np.load(os.path.join(g, "d.x.npy")).reshape(-1)]


def values(nnc, work):
    got = {}
    for fn in ("sm", "lsm", "ce"):
        got[fn] = []
        for row, label in zip(ROWS, LABELS):
            v = call(nnc, work, fn, row, label, False)
            if fn == "ce":
                v += call(nnc, work, fn, row, label, True)
            got[fn].append([None if math.isnan(x) else x for x in v])
    return got


def same(g, w):
    g = np.array([NAN if x is None else x for x in g], dtype=np.float64)
    w = np.array([NAN if x is None else x for x in w], dtype=np.float64)
    return g.shape == w.shape and np.allclose(g, w, rtol=1e-6, atol=0, equal_nan=True) and \
        np.array_equal(np.isinf(g), np.isinf(w))


def main():
    nnc, work = sys.argv[1:3]
    os.makedirs(work, exist_ok=True)
    open(os.path.join(work, "rows.nn"), "w").write(MODEL)
    got = values(nnc, work)
    if "--record" in sys.argv:
        print("EXPECTED = %r" % got)
        return 0
    failures = 0
    for fn, rows in EXPECTED.items():
        for i, (g, w) in enumerate(zip(got[fn], rows)):
            if not same(g, w):
                print("FAIL %s row %d %s:\n  got  %s\n  want %s" % (fn, i, ROWS[i], g, w))
                failures += 1
    print("rows: %d checks, %d failures" % (sum(len(r) for r in EXPECTED.values()), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
