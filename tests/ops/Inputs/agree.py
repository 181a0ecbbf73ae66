"""Fused and unfused code, and -O0 and -O3, agree: every case of the NumPy
suite runs under two flag sets on the same inputs. In f64 the results must
be bitwise equal where fusion keeps the op order (elementwise chains), and
within 1e-13 relative otherwise (reductions LLVM may vectorise in a
different order); in f32 within 1e-6 relative.

usage: agree.py NNC DTYPE WORK "FLAGS A" "FLAGS B"
"""
import os
import shlex
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy_suite  # noqa: E402

REDUCING = ("sum", "mean", "softmax", "log_softmax", "cross_entropy", "xent", "mse", "matmul",
            "fused_chain", "einsum", "scatter_add", "bce_logits", "l1", "huber", "batch_norm",
            "var", "std")
REDUCING += numpy_suite.pool_cases.REDUCING


def main():
    nnc, dt, work, flags_a, flags_b = sys.argv[1:6]
    os.makedirs(work, exist_ok=True)
    dtype = np.float32 if dt == "f32" else np.float64
    model = os.path.join(work, "opsuite.nn")
    numpy_suite.write_model(model, dt)
    rng = np.random.default_rng(99)
    pdir = os.path.join(work, "params")
    os.makedirs(pdir, exist_ok=True)
    np.save(os.path.join(pdir, "P.npy"), rng.standard_normal(4).astype(dtype))
    numpy_suite.write_states(pdir, dtype)
    bad = bitwise = 0
    for case in numpy_suite.CASES:
        name = case[0]
        xs = numpy_suite.case_inputs(case, dtype, 6, rng)
        files = []
        for i, x in enumerate(xs):
            files.append(os.path.join(work, "%s_%d.npy" % (name, i)))
            np.save(files[-1], x)
        outs = []
        for tag, flags in (("a", flags_a), ("b", flags_b)):
            out = os.path.join(work, "%s_%s.npy" % (name, tag))
            subprocess.run([nnc, "call", model, "t_" + name] + files +
                           ["-o", out, "--params", pdir] + shlex.split(flags), check=True)
            outs.append(np.load(out))
        a, b = outs
        exact = dt == "f64" and not any(name.startswith(r) for r in REDUCING)
        if exact or a.dtype.kind != "f":
            same = a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            bitwise += 1
        else:
            tol = 1e-13 if dt == "f64" else 1e-6
            same = a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True)
        if not same:
            bad += 1
            print("DIFFER %s: %s vs %s" % (name, flags_a, flags_b))
    print("agree (%s, %s vs %s): %d cases, %d bitwise, %d differ" %
          (dt, flags_a, flags_b, len(numpy_suite.CASES), bitwise, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
