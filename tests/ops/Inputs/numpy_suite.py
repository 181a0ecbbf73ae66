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
import math
import os
import re
import shlex
import subprocess
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "rng",
                                "Inputs"))
import philox  # noqa: E402  (the independent Philox-4x32-10)
import pool_cases  # noqa: E402  (pooling, upsampling, LRN: builtins_pool.c)


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


def logsumexp(x, axis, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    r = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return r if keepdims else r.squeeze(axis)


def xent_options(l, y, mask=None, ignore=None, eps=0.0):
    """torch.nn.functional.cross_entropy with ignore_index and
    label_smoothing, written out; a mask weights positions like an ignore."""
    lsm = log_softmax(l, -1)
    w = np.ones(y.shape, l.dtype) if mask is None else mask.astype(l.dtype)
    if ignore is not None:
        w = w * (y != ignore)
        y = np.where(y != ignore, y, 0)
    nll = -np.take_along_axis(lsm, y[..., None], -1)[..., 0]
    row = (1 - eps) * nll - eps * lsm.mean(-1)
    return (row * w).sum() / w.sum()


def layer_norm(x, axes, eps):
    mu = x.mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def batch_norm(x, mean, var, eps):
    """F.batch_norm's normalisation; mean and var [C] broadcast along axis 1."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)


def batch_stats(x):
    """The batch's mean and population variance per channel (axis 1)."""
    axes = (0,) + tuple(range(2, x.ndim))
    return x.mean(axis=axes), x.var(axis=axes)


def per_channel(p, x):
    return p.reshape((-1,) + (1,) * (x.ndim - 2))


def conv_taps(xp, k, stride, dil, out):
    """For every kernel tap, the padded input's elements it meets: [N, C, out...]."""
    for tap in np.ndindex(*k):
        yield tap, xp[(slice(None), slice(None)) + tuple(
            slice(t * d, t * d + s * (o - 1) + 1, s) for t, d, s, o in zip(tap, dil, stride, out))]


def conv_ref(x, w, stride, pad_lo, pad_hi, dil, groups=1):
    """Convolution from its definition (PyTorch's F.conv1d / F.conv2d)."""
    nsp = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + list(zip(pad_lo, pad_hi)))
    k = w.shape[2:]
    out = [(xp.shape[2 + i] - dil[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nsp)]
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    y = np.zeros((x.shape[0], w.shape[0]) + tuple(out))
    for tap, patch in conv_taps(xp, k, stride, dil, out):
        for g in range(groups):
            wg = w[(slice(g * og, (g + 1) * og), slice(None)) + tap]
            y[:, g * og:(g + 1) * og] += np.einsum("nc...,oc->no...",
                                                    patch[:, g * cg:(g + 1) * cg], wg)
    return y


def conv_transpose_ref(x, w, stride, pad, out_pad, dil, groups=1):
    """F.conv_transpose1d / 2d: every input element scatters w's taps."""
    nsp = x.ndim - 2
    k = w.shape[2:]
    cg, og = x.shape[1] // groups, w.shape[1]
    full = [(x.shape[2 + i] - 1) * stride[i] + dil[i] * (k[i] - 1) + 1 + out_pad[i]
            for i in range(nsp)]
    y = np.zeros((x.shape[0], og * groups) + tuple(full))
    for tap in np.ndindex(*k):
        at = (slice(None), slice(None)) + tuple(
            slice(t * d, t * d + s * (n - 1) + 1, s)
            for t, d, s, n in zip(tap, dil, stride, x.shape[2:]))
        for g in range(groups):
            wg = w[(slice(g * cg, (g + 1) * cg), slice(None)) + tap]
            part = np.einsum("nc...,co->no...", x[:, g * cg:(g + 1) * cg], wg)
            y[(slice(None), slice(g * og, (g + 1) * og)) + at[2:]] += part
    size = [full[i] - 2 * pad[i] for i in range(nsp)]
    return y[(slice(None), slice(None)) + tuple(slice(p, p + n) for p, n in zip(pad, size))]


def conv_weight_grad_ref(x, dy, k, stride, pad, dil, groups=1):
    """torch.nn.grad.conv2d_weight: the gradient of conv_ref in w."""
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    cg, og = x.shape[1] // groups, dy.shape[1] // groups
    dw = np.zeros((dy.shape[1], cg) + tuple(k))
    for tap, patch in conv_taps(xp, k, stride, dil, dy.shape[2:]):
        for g in range(groups):
            xs = patch[:, g * cg:(g + 1) * cg].reshape(x.shape[0], cg, -1)
            ds = dy[:, g * og:(g + 1) * og].reshape(x.shape[0], og, -1)
            dw[(slice(g * og, (g + 1) * og), slice(None)) + tap] = np.einsum("ncp,nop->oc", xs, ds)
    return dw


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def scatter_add(src, ids, rows):
    out = np.zeros((rows,) + src.shape[ids.ndim:], src.dtype)
    np.add.at(out, ids, src)
    return out


erf = np.vectorize(math.erf, otypes=[np.float64])
erfc = np.vectorize(math.erfc, otypes=[np.float64])


def gelu(x):
    """x Phi(x); erfc keeps it accurate for negative x."""
    return 0.5 * x * erfc(-x / math.sqrt(2))


def gelu_tanh(x):
    """0.5 x (1 + tanh(u)) written as x sigmoid(2 u), accurate for negative x."""
    u = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
    with np.errstate(over="ignore"):
        return x / (1 + np.exp(-2 * u))


def softplus(x):
    """PyTorch's softplus (beta 1, threshold 20): x itself above 20."""
    with np.errstate(over="ignore"):
        return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))


def to_i32(x):
    """PyTorch's .to(torch.int32) on x86: truncation, INT32_MIN for NaN and
    values out of range."""
    ok = (x >= -2.0 ** 31) & (x < 2.0 ** 31)
    return np.where(ok, np.trunc(np.where(ok, x, 0)), -2 ** 31).astype(np.int32)


def bce_logits(x, t):
    return (np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))).mean()


def huber(p, t, delta):
    z = np.abs(p - t)
    return np.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta)).mean()


# Kinks, large magnitudes and NaN, for the edge cases of the elementwise ops.
EDGE = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 25.0, -25.0, 90.0, -90.0, 1e-3, -1e-3,
        np.nan, 19.5]

# Argument kinds: "f" normal floats, "pos" floats in [0.5, 2), "unit" floats
# in [0, 1), "edge" the values of EDGE in turn (then normal floats), "edges"
# only the values of EDGE (products stay exact in f32), "i3"/"i5"
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
    # max / min / arg reductions and the composed ones (logsumexp, var, std)
    ("max_axis", [("a", "f", "B, 3, 4")], "max(a, axis = 1)", lambda a: a.max(axis=1)),
    ("max_batch", [("a", "f", "B, 3, 4")], "max(a, axis = 0)", lambda a: a.max(axis=0)),
    ("max_all", [("a", "f", "B, 4")], "max(a)", lambda a: a.max()),
    ("min_keep", [("a", "f", "B, 3, 4")], "min(a, axis = [0, 2], keepdims = true)",
     lambda a: a.min(axis=(0, 2), keepdims=True)),
    ("max_i32", [("i", "i5", "B, 4")], "max(i, axis = 1)", lambda i: i.max(axis=1)),
    ("min_i32", [("i", "i5", "B, 4")], "min(i, axis = 0)", lambda i: i.min(axis=0)),
    ("argmax_last", [("a", "f", "B, 5")], "argmax(a, axis = -1)", lambda a: a.argmax(axis=-1)),
    ("argmax_mid", [("a", "f", "B, 3, 4")], "argmax(a, axis = 1, keepdims = true)",
     lambda a: a.argmax(axis=1)[:, None, :]),
    ("argmax_all", [("a", "f", "B, 3")], "argmax(a)", lambda a: a.argmax()),
    ("argmin_batch", [("a", "f", "B, 3")], "argmin(a, axis = 0)", lambda a: a.argmin(axis=0)),
    ("argmax_ties", [("i", "i3", "B, 6")], "argmax(i, axis = 1)", lambda i: i.argmax(axis=1)),
    ("argmin_ties", [("i", "i3", "B, 6")], "argmin(i, axis = 1)", lambda i: i.argmin(axis=1)),
    ("logsumexp", [("a", "f", "B, 3, 4")], "logsumexp(a * 20.0, axis = -1)",
     lambda a: logsumexp(a * 20, axis=-1)),
    ("logsumexp_keep", [("a", "f", "B, 3")], "logsumexp(a, axis = 0, keepdims = true)",
     lambda a: logsumexp(a, axis=0, keepdims=True)),
    ("var", [("a", "f", "B, 3, 4")], "var(a, axis = -1)", lambda a: a.var(axis=-1)),
    ("var_all", [("a", "f", "B, 4")], "var(a)", lambda a: a.var()),
    ("std_keep", [("a", "f", "B, 3")], "std(a, axis = 0, keepdims = true) + 1.0",
     lambda a: a.std(axis=0, keepdims=True) + 1),
    ("layer_norm", [("a", "f", "B, 3, 4"), ("w", "f", "4"), ("b", "f", "4")],
     "layer_norm(a, [4], w, b)", lambda a, w, b: layer_norm(a, (-1,), 1e-5) * w + b),
    ("layer_norm2", [("a", "f", "B, 3, 4")], "layer_norm(a, [3, 4], eps = 0.1)",
     lambda a: layer_norm(a, (-2, -1), 0.1)),
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
    # cross_entropy's options, composed from log_softmax and one_hot
    ("xent_ignore", [("l", "f", "B, 5"), ("y", "i5", "B")],
     "cross_entropy(l * 2.0, y, ignore_index = 2) + 0.0",
     lambda l, y: xent_options(l * 2, y, ignore=2)),
    ("xent_smooth", [("l", "f", "B, 3, 5"), ("y", "i5", "B, 3")],
     "cross_entropy(l, y, label_smoothing = 0.1)",
     lambda l, y: xent_options(l, y, eps=0.1)),
    ("xent_mask", [("l", "f", "B, 3, 5"), ("y", "i5", "B, 3"), ("a", "f", "B, 3")],
     "cross_entropy(l, y, mask = a > -0.5, ignore_index = 0, label_smoothing = 0.2)",
     lambda l, y, a: xent_options(l, y, mask=a > -0.5, ignore=0, eps=0.2)),
    ("mse", [("p", "f", "B, 4"), ("t", "f", "B, 4")], "mse(p, t)",
     lambda p, t: ((p - t) ** 2).mean()),
    # the elementwise ops and losses of issue 14
    ("sqrt", [("a", "pos", "B, 4")], "sqrt(a)", np.sqrt),
    ("rsqrt", [("a", "pos", "B, 4")], "rsqrt(a)", lambda a: 1 / np.sqrt(a)),
    ("abs", [("a", "edge", "B, 16")], "abs(a)", np.abs),
    ("sign", [("a", "edge", "B, 16")], "sign(a)",
     lambda a: np.where(np.isnan(a), 0, np.sign(a))),
    ("sin", [("a", "f", "B, 4")], "sin(a * 3.0)", lambda a: np.sin(a * 3)),
    ("cos", [("a", "f", "B, 4")], "cos(a * 3.0)", lambda a: np.cos(a * 3)),
    ("erf", [("a", "edge", "B, 16")], "erf(a)", erf),
    ("leaky_relu", [("a", "edge", "B, 16")], "leaky_relu(a)",
     lambda a: np.where(a > 0, a, 0.01 * a)),
    ("leaky_relu_slope", [("a", "f", "B, 4")], "leaky_relu(a, slope = 0.2)",
     lambda a: np.where(a > 0, a, 0.2 * a)),
    ("elu", [("a", "edge", "B, 16")], "elu(a)", lambda a: np.where(a > 0, a, np.expm1(a))),
    ("elu_alpha", [("a", "f", "B, 4")], "elu(a, alpha = 0.5)",
     lambda a: np.where(a > 0, a, 0.5 * np.expm1(a))),
    ("gelu", [("a", "edge", "B, 16")], "gelu(a)", gelu),
    ("gelu_tanh", [("a", "edge", "B, 16")], "gelu(a, approximate = \"tanh\")", gelu_tanh),
    ("softplus", [("a", "edge", "B, 16")], "softplus(a)", softplus),
    ("softplus_small", [("a", "f", "B, 4")], "softplus(a * 40.0 - 60.0)",
     lambda a: softplus(a * 40 - 60)),
    ("silu", [("a", "edge", "B, 16")], "silu(a)", lambda a: a / (1 + np.exp(-a))),
    ("clamp", [("a", "edge", "B, 16")], "clamp(a, -1.0, 0.5)", lambda a: np.clip(a, -1, 0.5)),
    ("clamp_hi", [("a", "f", "B, 4")], "clamp(a, hi = 0.0)", lambda a: np.minimum(a, 0)),
    ("minimum", [("a", "edge", "B, 16"), ("b", "f", "16")], "minimum(a, b)", np.minimum),
    ("maximum", [("a", "f", "B, 1"), ("b", "edge", "16")], "maximum(a, b)", np.maximum),
    ("maximum_i32", [("i", "i5", "B, 4"), ("j", "i5", "4")], "maximum(i, j)", np.maximum),
    ("cast_f64", [("a", "f", "B, 4")], "f64(a)", lambda a: a),
    ("cast_f32", [("a", "f", "B, 4")], "f32(a)", lambda a: a.astype(np.float32)),
    ("cast_i32", [("a", "f", "B, 4")], "i32(a * 3.0)", lambda a: to_i32(a * 3)),
    ("cast_i32_edge", [("a", "edges", "B, 16")], "i32(a * 100000000.0)",
     lambda a: to_i32(a * 1e8)),
    ("cast_from_i32", [("i", "i5", "B, 4")], "f32(i) / 2.0", lambda i: i / 2),
    ("cast_from_bool", [("a", "f", "B, 4")], "f32(a > 0.0)", lambda a: (a > 0) * 1.0),
    ("bce_logits", [("x", "f", "B, 4"), ("t", "unit", "B, 4")], "bce_logits(x * 8.0, t)",
     lambda x, t: bce_logits(x * 8, t)),
    ("bce_logits_big", [("x", "f", "B, 4"), ("t", "unit", "B, 4")], "bce_logits(x * 60.0, t)",
     lambda x, t: bce_logits(x * 60, t)),
    ("l1", [("p", "f", "B, 4"), ("t", "f", "B, 4")], "l1(p, t)",
     lambda p, t: np.abs(p - t).mean()),
    ("huber", [("p", "f", "B, 4"), ("t", "f", "B, 4")], "huber(p, t)",
     lambda p, t: huber(p, t, 1.0)),
    ("huber_delta", [("p", "f", "B, 4"), ("t", "f", "B, 4")], "huber(p, t, delta = 0.3)",
     lambda p, t: huber(p, t, 0.3)),
    ("with_param", [("a", "f", "B, 4")], "a * P + a", lambda a, P: a * P + a),
    # generators, which make f32 whatever the suite's dtype, so they meet
    # the arguments through a comparison (tests/rng checks their bits,
    # statistics and dropout; f64 draws refine the f32 ones)
    ("arange", [("a", "f", "B, 4")], "arange(B)", lambda a: np.arange(len(a), dtype=np.int32)),
    ("uniform", [("a", "f", "B, 4")], "where(uniform([B, 4], lo = -1.0, hi = 3.0) > 1.0, a, a * 2.0)",
     lambda a: np.where(-1 + 4 * philox.uniform_f64(a.size).reshape(a.shape) > 1, a, 2 * a)),
    ("normal", [("a", "f", "B, 4")], "where(normal([B, 4], mean = 2.0, std = 0.5) > 2.0, a, a * 2.0)",
     lambda a: np.where(2 + 0.5 * philox.normal_f64(a.size).reshape(a.shape) > 2, a, 2 * a)),
    ("fused_chain", [("a", "f", "B, 4"), ("w", "f", "4, 6"), ("b", "f", "6")],
     "sum(relu(a @ w + b) * 0.5, axis = 1)",
     lambda a, w, b: (np.maximum(a @ w + b, 0) * 0.5).sum(axis=1)),
    # indexing by data (gather, scatter_add) and batched matmul broadcasting
    ("gather", [("t", "f", "7, 3"), ("y", "i7", "B, 4")], "gather(t, y)",
     lambda t, y: t[y]),
    ("gather_rank3", [("t", "f", "5, 2, 3"), ("y", "i5", "B")], "gather(t, y) * 2.0",
     lambda t, y: t[y] * 2),
    ("gather_i32", [("t", "i7", "7, 3"), ("y", "i7", "B")], "gather(t, y)",
     lambda t, y: t[y]),
    ("scatter_add", [("s", "f", "B, 6, 3"), ("y", "i3", "B, 6")], "scatter_add(s, y, 4)",
     lambda s, y: scatter_add(s, y, 4)),
    ("matmul_bcast_left", [("a", "f", "4, 5"), ("t", "f", "2, B, 5, 3")], "a @ t",
     lambda a, t: a @ t),
    ("matmul_bcast_both", [("a", "f", "2, 1, 4, 5"), ("t", "f", "B, 5, 3")], "a @ t",
     lambda a, t: a @ t),
    ("matmul_bhqk", [("q", "f", "B, 2, 3, 4"), ("k", "f", "B, 2, 5, 4")],
     "q @ transpose(k)", lambda q, k: q @ k.swapaxes(-1, -2)),
    # einsum, elaborated into the ops above
    ("einsum_bmm", [("a", "f", "B, 3, 4"), ("b", "f", "B, 4, 5")],
     'einsum("bij,bjk->bik", a, b)', lambda a, b: np.einsum("bij,bjk->bik", a, b)),
    ("einsum_qk", [("q", "f", "B, 2, 3, 4"), ("k", "f", "B, 2, 5, 4")],
     'einsum("bhqd,bhkd->bhqk", q, k)', lambda q, k: np.einsum("bhqd,bhkd->bhqk", q, k)),
    ("einsum_pv", [("p", "f", "B, 2, 3, 5"), ("v", "f", "B, 2, 5, 4")],
     'einsum("bhqk,bhkd->bhqd", p, v)', lambda p, v: np.einsum("bhqk,bhkd->bhqd", p, v)),
    ("einsum_mm", [("a", "f", "3, 4"), ("b", "f", "4, B")],
     'einsum("ij,jk->ik", a, b)', lambda a, b: np.einsum("ij,jk->ik", a, b)),
    ("einsum_dot", [("a", "f", "B, 4"), ("b", "f", "B, 4")],
     'einsum("bi,bi->b", a, b)', lambda a, b: np.einsum("bi,bi->b", a, b)),
    ("einsum_t", [("a", "f", "B, 4")], 'einsum("ij->ji", a) * 1.0',
     lambda a: np.einsum("ij->ji", a)),
    ("einsum_outer", [("a", "f", "B, 3"), ("b", "f", "B, 4")],
     'einsum("bi,bj->bij", a, b)', lambda a, b: np.einsum("bi,bj->bij", a, b)),
    ("einsum_mixed", [("a", "f", "2, 3, B"), ("b", "f", "B, 4, 3")],
     'einsum("ijb,bkj->kbi", a, b)', lambda a, b: np.einsum("ijb,bkj->kbi", a, b)),
    ("einsum_merge", [("a", "f", "B, 3, 4, 2"), ("b", "f", "4, 2, 5")],
     'einsum("bijl,jlk->bik", a, b)', lambda a, b: np.einsum("bijl,jlk->bik", a, b)),
    ("einsum_implicit", [("a", "f", "B, 3, 4"), ("b", "f", "4, 5")],
     'einsum("bij,jk", a, b)', lambda a, b: np.einsum("bij,jk", a, b)),
    ("einsum_sum", [("a", "f", "B, 3, 4"), ("b", "f", "4, 5")],
     'einsum("bij,jk->bk", a, b)', lambda a, b: np.einsum("bij,jk->bk", a, b)),
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
    # negative steps, and windows (unfold: a view, overlapping or not)
    ("slice_rev", [("a", "f", "B, 7")], "a[:, ::-1] * 2.0", lambda a: a[:, ::-1] * 2),
    ("slice_rev_step", [("a", "f", "6, B")], "a[4:0:-2] + exp(a)[-1::-3]",
     lambda a: a[4:0:-2] + np.exp(a)[-1::-3]),
    ("slice_rev_pad", [("a", "f", "B, 5")], "pad(a[:, ::-2], [1, 2], value = 3.0)",
     lambda a: np.pad(a[:, ::-2], [(0, 0), (1, 2)], constant_values=3)),
    ("unfold", [("a", "f", "B, 7")], "unfold(a, 1, 3, 2)",
     lambda a: sliding_window_view(a, 3, axis=1)[:, ::2]),
    ("unfold_overlap", [("a", "f", "B, 6")], "unfold(exp(a), -1, 4) * 0.5",
     lambda a: sliding_window_view(np.exp(a), 4, axis=1) * 0.5),
    ("unfold_pool", [("a", "f", "B, 6, 5")],
     "max(unfold(unfold(tanh(a), 1, 2, 2), 2, 3, 1), axis = [-2, -1])",
     lambda a: sliding_window_view(np.tanh(a), (2, 3), axis=(1, 2))[:, ::2].max(axis=(-2, -1))),
    ("unfold_i32", [("i", "i9", "B, 5")], "unfold(i, 1, 2, 3)",
     lambda i: sliding_window_view(i, 2, axis=1)[:, ::3]),
    # convolution (conv, conv_transpose, conv_filter): strides, padding
    # (symmetric, per axis, "same" with an even kernel), dilation, groups
    # (depthwise), pointwise, 1-D; elementwise ops on both sides fuse
    # around the runtime call
    ("conv2d", [("a", "f", "B, 3, 6, 5"), ("w", "f", "4, 3, 3, 3")], "conv2d(a, w, padding = 1)",
     lambda a, w: conv_ref(a, w, [1, 1], [1, 1], [1, 1], [1, 1])),
    ("conv2d_geom", [("a", "f", "B, 2, 7, 8"), ("w", "f", "3, 2, 3, 2")],
     "conv2d(tanh(a), w, stride = [2, 3], padding = [1, 0], dilation = [1, 2]) * 2.0 + 1.0",
     lambda a, w: conv_ref(np.tanh(a), w, [2, 3], [1, 0], [1, 0], [1, 2]) * 2 + 1),
    ("conv2d_same", [("a", "f", "B, 3, 5, 6"), ("w", "f", "2, 3, 2, 4")],
     "conv2d(a, w, padding = \"same\")",
     lambda a, w: conv_ref(a, w, [1, 1], [0, 1], [1, 2], [1, 1])),
    ("conv2d_depthwise", [("a", "f", "B, 4, 5, 5"), ("w", "f", "4, 1, 3, 3")],
     "conv2d(a, w, stride = 2, padding = 1, groups = 4)",
     lambda a, w: conv_ref(a, w, [2, 2], [1, 1], [1, 1], [1, 1], 4)),
    ("conv2d_pointwise", [("a", "f", "B, 4, 3, 3"), ("w", "f", "6, 2, 1, 1")],
     "conv2d(a, w, groups = 2)",
     lambda a, w: conv_ref(a, w, [1, 1], [0, 0], [0, 0], [1, 1], 2)),
    ("conv1d", [("a", "f", "B, 3, 9"), ("w", "f", "2, 3, 3")],
     "conv1d(a, w, stride = 2, padding = 1, dilation = 2)",
     lambda a, w: conv_ref(a, w, [2], [1], [1], [2])),
    ("conv_transpose2d", [("a", "f", "B, 3, 4, 3"), ("w", "f", "3, 2, 3, 3")],
     "conv_transpose2d(a, w, stride = 2, padding = 1, output_padding = 1)",
     lambda a, w: conv_transpose_ref(a, w, [2, 2], [1, 1], [1, 1], [1, 1])),
    ("conv_transpose1d", [("a", "f", "B, 4, 5"), ("w", "f", "4, 3, 2")],
     "conv_transpose1d(exp(a), w, stride = 3, groups = 2, dilation = 2)",
     lambda a, w: conv_transpose_ref(np.exp(a), w, [3], [0], [0], [2], 2)),
    ("conv2d_weight_grad", [("a", "f", "B, 3, 6, 5"), ("d", "f", "B, 4, 3, 3")],
     "conv2d_weight_grad(a, d, 3, stride = 2, padding = 1)",
     lambda a, d: conv_weight_grad_ref(a, d, [3, 3], [2, 2], [1, 1], [1, 1])),
    ("conv1d_weight_grad", [("a", "f", "B, 4, 7"), ("d", "f", "B, 6, 5")],
     "conv1d_weight_grad(a, d, [3], groups = 2)",
     lambda a, d: conv_weight_grad_ref(a, d, [3], [1], [0], [1], 2)),
    # batch_norm with the batch's statistics (training = true: the running
    # statistics' updates are dropped outside training steps) and with the
    # running statistics, the suite's states RM and RV (STATES)
    ("batch_norm_train", [("a", "f", "B, 3"), ("w", "f", "3"), ("b", "f", "3")],
     "batch_norm(a, RM, RV, w, b, training = true)",
     lambda a, w, b, RM, RV: batch_norm(a, *batch_stats(a), 1e-5) * w + b),
    ("batch_norm_eval", [("a", "f", "B, 3"), ("w", "f", "3"), ("b", "f", "3")],
     "batch_norm(a, RM, RV, w, b)",
     lambda a, w, b, RM, RV: batch_norm(a, RM, RV, 1e-5) * w + b),
    ("batch_norm_seq", [("a", "f", "B, 3, 4"), ("b", "f", "3")],
     "batch_norm(a, RM, RV, bias = b, training = true, eps = 0.01)",
     lambda a, b, RM, RV: batch_norm(a, *batch_stats(a), 0.01) + per_channel(b, a)),
    ("batch_norm_seq_eval", [("a", "f", "B, 3, 2, 2"), ("w", "f", "3")],
     "batch_norm(a, RM, RV, weight = w, training = false, momentum = 0.5)",
     lambda a, w, RM, RV: batch_norm(a, RM, RV, 1e-5) * per_channel(w, a)),
]

CASES += pool_cases.CASES


def rnn_ref(x, h0, w, u, reverse=False):
    """An Elman recurrence h = tanh(x[:, t] @ w + h @ u), every step's h
    stacked in time order, and the last h."""
    h, hs = h0, [None] * x.shape[1]
    for t in (reversed(range(x.shape[1])) if reverse else range(x.shape[1])):
        h = np.tanh(x[:, t] @ w + h @ u)
        hs[t] = h
    return np.stack(hs), h


def scan_pair_ref(x, h0):
    """Two carries read each other's old values (the new ones are taken
    together at the end of a step), nested in an inner scan of 2 steps."""
    a, b = h0, h0 * 0.5
    for t in range(x.shape[1]):
        g = a
        for _ in range(2):
            g = np.tanh(g + x[:, t])
        a, b = b + g, a * 0.5
    return a - b


# scan (docs/language.md 12.1): a loop over a time axis of 5 steps carrying
# state, forward and reverse, emitted stacks, two carries, nested scans
CASES += [
    ("scan_rnn", [("x", "f", "B, 5, 3"), ("h0", "f", "B, 4"), ("w", "f", "3, 4"), ("u", "f", "4, 4")],
     (["scan t in 0..5 carry h = h0 {",
       "  let h2 = tanh(x[:, t, :] @ w + h @ u)",
       "  next h = h2",
       "  emit hs = h2",
       "}"], "hs * 2.0 + reshape(h, [1, B, 4])"),
     lambda x, h0, w, u: (lambda hs, h: hs * 2 + h[None])(*rnn_ref(x, h0, w, u))),
    ("scan_reverse", [("x", "f", "B, 5, 3"), ("h0", "f", "B, 4"), ("w", "f", "3, 4"), ("u", "f", "4, 4")],
     (["scan t in reverse 0..5 carry h = h0 {",
       "  next h = tanh(x[:, t, :] @ w + h @ u)",
       "  emit hs = h",
       "}"], "hs"),
     # the carry each step starts from: h0 at the last position
     lambda x, h0, w, u: np.stack(list(rnn_ref(x, h0, w, u, True)[0][1:]) + [h0])),
    ("scan_pair_nested", [("x", "f", "B, 5, 3"), ("h0", "f", "B, 3")],
     (["scan t in 0..5 carry a = h0, b = h0 * 0.5 {",
       "  scan s in 0..2 carry g = a {",
       "    next g = tanh(g + x[:, t, :])",
       "  }",
       "  next a = b + g",
       "  next b = a * 0.5",
       "}"], "a - b"),
     scan_pair_ref),
]

# State tensors of the suite's model, for the batch_norm cases (whose
# reference functions take them last): RM any value, RV positive.
STATES = [("RM", "f", "3"), ("RV", "pos", "3")]

PARAM_P = ("P", "4")


def write_states(pdir, dtype):
    """The values of STATES, drawn from a generator of their own (the
    other cases' inputs stay what they were), saved as `--params` files."""
    states = case_inputs((None, STATES, None, None), dtype, 0, np.random.default_rng(99))
    for (n, _, _), x in zip(STATES, states):
        np.save(os.path.join(pdir, n + ".npy"), x)
    return states


def read_ops(ops_def):
    """Ops a forward function can contain. dropout_mask exists only where
    `training` is true; tests/rng checks it against philox.py. ASSIGN rows
    (state <-, and the optimizers' writes) run only in training steps;
    tests/train/state-update.test and optimizers.test check them."""
    ops = []
    for line in open(ops_def):
        m = re.match(r'OP\(\s*\w+\s*,\s*"(\w+)"\s*,\s*-?\d+\s*,\s*(\w+)', line)
        if m and m.group(2) not in ("ASSIGN",) and m.group(1) != "dropout_mask":
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
        elif kind == "unit":
            x = rng.uniform(0.0, 1.0, dims).astype(dtype)
        elif kind == "edge":
            x = rng.standard_normal(dims).astype(dtype)
            flat = x.reshape(-1)
            n = min(flat.size, len(EDGE))
            flat[:n] = np.asarray(EDGE[:n], dtype=dtype)
        elif kind == "edges":
            x = np.resize(np.asarray(EDGE, dtype=dtype), dims)
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
    # one_hot rows are f32 whatever the model's float type, casts are what
    # they name
    fixed = {"one_hot": np.float32, "cast_f64": np.float64, "cast_f32": np.float32,
             "cast_from_i32": np.float32, "cast_from_bool": np.float32}
    return np.dtype(fixed.get(name, model_dtype))


def write_model(path, dt):
    lines = ["model OpSuite {", "  param %s: %s[%s] = zeros" % (PARAM_P[0], dt, PARAM_P[1])]
    lines += ["  state %s: %s[%s] = zeros" % (n, dt, shape) for n, _, shape in STATES]
    for name, args, body, _ in CASES:
        sig = ", ".join(
            "%s: %s[%s]" % (a, "i32" if k[0] in "is" else dt, s) for a, k, s in args)
        lines.append("  fn t_%s(%s) {" % (name, sig))
        if isinstance(body, tuple):  # statements (a scan), then the result
            lines += ["    " + st for st in body[0]]
            body = body[1]
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
        if cur is not None:  # values, and a loop's parameters ("params %2 = scan_step")
            cur.update(re.findall(r"%\d+ = (\w+)", line))
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
    states = write_states(pdir, dtype)
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
            if name.startswith("batch_norm"):
                ref_args += [x.astype(np.float64) for x in states]
            with np.errstate(invalid="ignore", over="ignore"):
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
            elif not np.allclose(got.astype(np.float64), want, rtol=rtol, atol=atol,
                                 equal_nan=True):
                err = np.nanmax(np.abs(got.astype(np.float64) - want))
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
