"""Forward values of every op in compiler/ir/ops.def against NumPy.

Each case below is one function of a generated model: its arguments, its
body in nnc's language and the same computation in NumPy. The script writes
the model, runs every case through the compiled path (`nnc call`) at batch 1
and at a larger batch, and compares with NumPy in float64.

Coverage is enforced from the op table: the script reads ops.def and
fails if some op does not appear in the IR (`nnc --emit=ir`) of any case,
so a new row without a NumPy case fails this test.

usage: numpy_suite.py --nnc NNC --ops-def OPS_DEF --dtype f32|f64 --work DIR
                      [--extra-flags "..."]
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

import numpy as np


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def cross_entropy(logits, labels):
    lp = log_softmax(logits, -1)
    picked = np.take_along_axis(lp, labels[..., None].astype(np.int64), -1)[..., 0]
    return -picked.mean()


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# Argument kinds: "f" normal floats, "pos" floats in [0.5, 2), "i3"/"i5"
# labels in [0, 3) / [0, 5). Shapes may use B, the batch.
CASES = [
    # (name, [(arg, kind, shape)], body, numpy)
    ("neg", [("a", "f", "B, 4")], "-a", lambda a: -a),
    ("exp", [("a", "f", "B, 3, 4")], "exp(a)", np.exp),
    ("log", [("a", "pos", "B, 4")], "log(a)", np.log),
    ("relu", [("a", "f", "B, 4")], "relu(a)", lambda a: np.maximum(a, 0)),
    ("sigmoid", [("a", "f", "B, 4")], "sigmoid(a * 4.0)", lambda a: sigmoid(a * 4)),
    ("tanh", [("a", "f", "B, 4")], "tanh(a * 3.0)", lambda a: np.tanh(a * 3)),
    ("add_bias", [("a", "f", "B, 4"), ("b", "f", "4")], "a + b", lambda a, b: a + b),
    ("add_outer", [("a", "f", "B, 1"), ("b", "f", "1, 4")], "a + b", lambda a, b: a + b),
    ("add_const", [("a", "f", "B, 4")], "a + 2.5", lambda a: a + 2.5),
    ("sub", [("a", "f", "B, 4"), ("b", "f", "4")], "b - a", lambda a, b: b - a),
    ("mul", [("a", "f", "B, 4"), ("b", "f", "B, 1")], "a * b", lambda a, b: a * b),
    ("div", [("a", "f", "B, 4"), ("b", "pos", "4")], "a / b", lambda a, b: a / b),
    ("pow", [("a", "pos", "B, 4"), ("b", "f", "4")], "a ** b", lambda a, b: a ** b),
    ("square", [("a", "f", "B, 4")], "a ** 2.0", lambda a: a ** 2),
    ("lt", [("a", "f", "B, 4"), ("b", "f", "4")], "a < b", lambda a, b: a < b),
    ("le", [("i", "i3", "B, 4"), ("j", "i3", "4")], "i <= j", lambda i, j: i <= j),
    ("gt", [("a", "f", "B, 4")], "a > 0.0", lambda a: a > 0),
    ("ge", [("i", "i3", "B, 4"), ("j", "i3", "B, 4")], "i >= j", lambda i, j: i >= j),
    ("eq", [("i", "i3", "B, 4"), ("j", "i3", "4")], "i == j", lambda i, j: i == j),
    ("ne", [("i", "i3", "B, 4"), ("j", "i3", "B, 1")], "i != j", lambda i, j: i != j),
    ("select", [("a", "f", "B, 4"), ("b", "f", "4")], "where(a > b, a, b * 2.0)",
     lambda a, b: np.where(a > b, a, b * 2)),
    ("matmul", [("a", "f", "B, 4"), ("w", "f", "4, 5")], "a @ w", lambda a, w: a @ w),
    ("matmul_vec", [("v", "f", "4"), ("w", "f", "4, B")], "v @ w", lambda v, w: v @ w),
    ("matmul_mat_vec", [("w", "f", "B, 4"), ("v", "f", "4")], "w @ v", lambda w, v: w @ v),
    ("matmul_batch", [("t", "f", "2, B, 4"), ("w", "f", "4, 3")], "t @ w",
     lambda t, w: t @ w),
    ("matmul_batch2", [("t", "f", "2, B, 4"), ("u", "f", "2, 4, 3")], "t @ u",
     lambda t, u: t @ u),
    ("matmul_trans", [("a", "f", "B, 4"), ("w", "f", "5, 4")], "a @ transpose(w)",
     lambda a, w: a @ w.T),
    ("sum_all", [("a", "f", "B, 3, 4")], "sum(a)", lambda a: a.sum()),
    ("sum_axis", [("a", "f", "B, 3, 4")], "sum(a, axis = 1)", lambda a: a.sum(axis=1)),
    ("sum_keep", [("a", "f", "B, 3, 4")], "sum(a, axis = [0, 2], keepdims = true)",
     lambda a: a.sum(axis=(0, 2), keepdims=True)),
    ("sum_i32", [("i", "i5", "B, 4")], "sum(i, axis = 0)", lambda i: i.sum(axis=0)),
    ("mean_last", [("a", "f", "B, 3, 4")], "mean(a, axis = -1)", lambda a: a.mean(axis=-1)),
    ("mean_all", [("a", "f", "B, 4")], "mean(a)", lambda a: a.mean()),
    ("broadcast", [("a", "f", "B, 1")], "broadcast_to(a, [3, B, 4])",
     lambda a: np.broadcast_to(a, (3, a.shape[0], 4))),
    ("one_hot", [("y", "i5", "B")], "one_hot(y, 5)", lambda y: np.eye(5)[y]),
    ("stop_gradient", [("a", "f", "B, 4")], "stop_gradient(a) * 2.0", lambda a: a * 2),
    ("reshape", [("a", "f", "B, 3, 4")], "reshape(a, [B, 12])",
     lambda a: a.reshape(a.shape[0], 12)),
    ("reshape_infer", [("a", "f", "B, 3, 4")], "reshape(a, [-1, 4]) * 1.0",
     lambda a: a.reshape(-1, 4)),
    ("transpose", [("a", "f", "B, 3, 4")], "transpose(a)", lambda a: a.transpose(0, 2, 1)),
    ("transpose_perm", [("a", "f", "B, 3, 4")], "transpose(a, [2, 0, 1])",
     lambda a: a.transpose(2, 0, 1)),
    ("softmax", [("a", "f", "B, 5")], "softmax(a * 3.0, axis = -1)",
     lambda a: softmax(a * 3, -1)),
    ("softmax_axis0", [("a", "f", "B, 3, 4")], "softmax(a, axis = 0)",
     lambda a: softmax(a, 0)),
    ("log_softmax", [("a", "f", "B, 3, 4")], "log_softmax(a, axis = 1)",
     lambda a: log_softmax(a, 1)),
    ("cross_entropy", [("l", "f", "B, 5"), ("y", "i5", "B")], "cross_entropy(l * 2.0, y)",
     lambda l, y: cross_entropy(l * 2, y)),
    ("cross_entropy_seq", [("l", "f", "B, 3, 5"), ("y", "i5", "B, 3")],
     "cross_entropy(l, y)", cross_entropy),
    ("mse", [("p", "f", "B, 4"), ("t", "f", "B, 4")], "mse(p, t)",
     lambda p, t: ((p - t) ** 2).mean()),
    ("with_param", [("a", "f", "B, 4")], "a * P + a", lambda a, P: a * P + a),
    ("fused_chain", [("a", "f", "B, 4"), ("w", "f", "4, 6"), ("b", "f", "6")],
     "sum(relu(a @ w + b) * 0.5, axis = 1)",
     lambda a, w, b: (np.maximum(a @ w + b, 0) * 0.5).sum(axis=1)),
    # views: indexing and slicing (steps, negative, omitted and clamped
    # bounds, constant, argument and symbolic-axis indices), pad, concat,
    # split and stack
    ("slice", [("a", "f", "B, 6, 5")], "a[:, 1:5, ::2]", lambda a: a[:, 1:5, ::2]),
    ("slice_neg", [("a", "f", "B, 7")], "a[:, -5:-1:3] * 2.0", lambda a: a[:, -5:-1:3] * 2),
    ("slice_clamp", [("a", "f", "6, B")], "a[-100:100:4]", lambda a: a[-100:100:4]),
    ("slice_omit", [("a", "f", "6, B")], "a[:4] + a[2:]", lambda a: a[:4] + a[2:]),
    ("slice_fused", [("a", "f", "B, 6")], "relu(a[:, 1:4]) * a[:, 3:]",
     lambda a: np.maximum(a[:, 1:4], 0) * a[:, 3:]),
    ("slice_of_exp", [("a", "f", "B, 6, 2")], "exp(a * 0.5)[:, 1:5:3, -1]",
     lambda a: np.exp(a * 0.5)[:, 1:5:3, -1]),
    ("index_last", [("a", "f", "B, 6, 5")], "a[..., -1]", lambda a: a[..., -1]),
    ("index_mid", [("a", "f", "B, 6, 5")], "a[:, 2, :] - a[:, -3]",
     lambda a: a[:, 2, :] - a[:, -3]),
    ("index_arg", [("a", "f", "B, 6, 5"), ("t", "s5", "")], "a[:, :, t]",
     lambda a, t: a[:, :, t]),
    ("index_arg_first", [("a", "f", "5, B"), ("t", "s5", "")], "a[t] * 2.0",
     lambda a, t: a[t] * 2),
    ("index_sym", [("a", "f", "3, B")], "a[:, -1] + a[:, 0]", lambda a: a[:, -1] + a[:, 0]),
    ("index_i32", [("i", "i5", "B, 4")], "i[:, 1:3]", lambda i: i[:, 1:3]),
    ("pad", [("a", "f", "B, 3")], "pad(a, [2, 1])", lambda a: np.pad(a, [(0, 0), (2, 1)])),
    ("pad_value", [("a", "f", "2, 3, B")], "pad(a * 2.0, [0, 0, 1, 2, 1, 0], value = -1.5)",
     lambda a: np.pad(a * 2, [(1, 0), (1, 2), (0, 0)], constant_values=-1.5)),
    ("pad_i32", [("i", "i5", "B, 3")], "pad(i, [1, 1], value = 7)",
     lambda i: np.pad(i, [(0, 0), (1, 1)], constant_values=7)),
    ("pad_slice", [("a", "f", "B, 7")], "pad(a[:, ::2], [1, 0]) + a[:, 2:]",
     lambda a: np.pad(a[:, ::2], [(0, 0), (1, 0)]) + a[:, 2:]),
    ("concat", [("a", "f", "B, 3"), ("b", "f", "B, 2")], "concat([a, b, a], axis = 1)",
     lambda a, b: np.concatenate([a, b, a], 1)),
    ("concat0", [("a", "f", "2, B"), ("b", "f", "3, B")], "concat([a, exp(b)]) * 3.0",
     lambda a, b: np.concatenate([a, np.exp(b)]) * 3),
    ("split", [("a", "f", "B, 5")], "split(a, [3, 2], axis = 1)[1] * split(a, 2, axis = -1)[2]",
     lambda a: np.split(a, [3], 1)[1] * a[:, 4:5]),
    ("stack", [("a", "f", "B, 3"), ("b", "f", "B, 3")], "stack([a, b], axis = -1)",
     lambda a, b: np.stack([a, b], -1)),
    ("stack0", [("a", "f", "B, 3"), ("b", "f", "B, 3")], "stack([a, b, a * b])",
     lambda a, b: np.stack([a, b, a * b])),
]

PARAM_P = ("P", "4")


def read_ops(ops_def):
    """Ops a forward function can contain. UPDATE rows (optimizer steps)
    exist only in training steps; tests/train/optimizers.test checks them
    against NumPy."""
    ops = []
    for line in open(ops_def):
        m = re.match(r'OP\(\s*\w+\s*,\s*"(\w+)"\s*,\s*-?\d+\s*,\s*(\w+)', line)
        if m and m.group(2) != "UPDATE":
            ops.append(m.group(1))
    return ops


def case_inputs(case, dtype, batch, rng):
    _, args, _, _ = case
    out = []
    for name, kind, shape in args:
        dims = [batch if d.strip() == "B" else int(d) for d in shape.split(",") if d.strip()]
        if kind == "f":
            x = rng.standard_normal(dims).astype(dtype)
        elif kind == "pos":
            x = rng.uniform(0.5, 2.0, dims).astype(dtype)
        elif kind.startswith("i"):
            x = rng.integers(0, int(kind[1:]), dims).astype(np.int32)
        elif kind.startswith("s"):  # a position: negative ones count from the end
            x = rng.integers(-int(kind[1:]), int(kind[1:]), dims).astype(np.int32)
        else:
            raise ValueError(kind)
        out.append(x)
    return out


def expected_dtype(name, want, model_dtype):
    if want.dtype == np.bool_:
        return np.dtype(np.bool_)
    if want.dtype.kind == "i":
        return np.dtype(np.int32)
    # one_hot rows are f32 whatever the model's float type
    return np.dtype(np.float32 if name == "one_hot" else model_dtype)


def write_model(path, dt):
    lines = ["model OpSuite {", "  param %s: %s[%s] = zeros" % (PARAM_P[0], dt, PARAM_P[1])]
    for name, args, body, _ in CASES:
        sig = ", ".join(
            "%s: %s[%s]" % (a, "i32" if k[0] in "is" else dt, s) for a, k, s in args)
        lines.append("  fn t_%s(%s) {" % (name, sig))
        lines.append("    return %s" % body)
        lines.append("  }")
    lines.append("}")
    open(path, "w").write("\n".join(lines) + "\n")


def ops_per_function(nnc, model, flags):
    ir = subprocess.run([nnc, "--emit=ir", model] + flags, capture_output=True, text=True)
    if ir.returncode != 0:
        sys.exit("nnc --emit=ir failed:\n" + ir.stderr)
    per_fn, cur = {}, None
    for line in ir.stdout.splitlines():
        m = re.match(r"func (\w+)\(", line)
        if m:
            cur = per_fn.setdefault(m.group(1), set())
            continue
        m = re.match(r"\s+%\d+ = (\w+)", line)
        if m and cur is not None:
            cur.add(m.group(1))
    return per_fn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", required=True)
    ap.add_argument("--ops-def", required=True)
    ap.add_argument("--dtype", choices=["f32", "f64"], required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--extra-flags", default="")
    ap.add_argument("--batches", default="1,5")
    args = ap.parse_args()
    flags = shlex.split(args.extra_flags)
    os.makedirs(args.work, exist_ok=True)
    dtype = np.float32 if args.dtype == "f32" else np.float64
    rtol, atol = (3e-5, 3e-6) if args.dtype == "f32" else (1e-12, 1e-13)
    model = os.path.join(args.work, "opsuite.nn")
    write_model(model, args.dtype)

    covered = set().union(*ops_per_function(args.nnc, model, []).values())
    missing = [op for op in read_ops(args.ops_def) if op not in covered]
    failures = 0
    if missing:
        print("FAIL: ops with no NumPy case: " + ", ".join(missing))
        failures += 1

    rng = np.random.default_rng(1234)
    param = rng.standard_normal([int(PARAM_P[1])]).astype(dtype)
    pdir = os.path.join(args.work, "params")
    os.makedirs(pdir, exist_ok=True)
    np.save(os.path.join(pdir, PARAM_P[0] + ".npy"), param)
    checked = 0
    for case in CASES:
        name, _, _, ref = case
        for batch in [int(b) for b in args.batches.split(",")]:
            xs = case_inputs(case, dtype, batch, rng)
            files = []
            for i, x in enumerate(xs):
                files.append(os.path.join(args.work, "%s_%d_%d.npy" % (name, batch, i)))
                np.save(files[-1], x)
            out = os.path.join(args.work, "%s_%d_out.npy" % (name, batch))
            cmd = [args.nnc, "call", model, "t_" + name] + files + ["-o", out, "--params", pdir] + flags
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print("FAIL %s batch %d: nnc call failed (%d):\n%s" %
                      (name, batch, r.returncode, r.stderr))
                failures += 1
                continue
            got = np.load(out)
            ref_args = [x.astype(np.float64) if x.dtype.kind == "f" else x for x in xs]
            if name == "with_param":
                ref_args.append(param.astype(np.float64))
            want = np.asarray(ref(*ref_args))
            checked += 1
            if got.shape != want.shape:
                print("FAIL %s batch %d: shape %s, NumPy %s" % (name, batch, got.shape,
                                                               want.shape))
                failures += 1
            elif want.dtype == np.bool_ or want.dtype.kind == "i":
                if not np.array_equal(got, want):
                    print("FAIL %s batch %d: values differ\n got %s\nwant %s" %
                          (name, batch, got, want))
                    failures += 1
            elif not np.allclose(got.astype(np.float64), want, rtol=rtol, atol=atol):
                err = np.abs(got.astype(np.float64) - want).max()
                print("FAIL %s batch %d: max abs error %.3g (rtol %g, atol %g)" %
                      (name, batch, err, rtol, atol))
                failures += 1
            elif got.dtype != expected_dtype(name, want, dtype):
                print("FAIL %s batch %d: dtype %s" % (name, batch, got.dtype))
                failures += 1
    print("numpy suite (%s): %d cases checked, %d ops covered, %d failures" %
          (args.dtype, checked, len(covered), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
