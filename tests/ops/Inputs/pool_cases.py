"""NumPy cases of the CNN builtins other than convolution (builtins_pool.c):
pooling, global pooling, upsampling, flatten, local response normalisation,
and batch_norm on [N, C, H, W]. numpy_suite.py runs them with its own cases.

The references follow PyTorch's definitions window by window (the output
size rule, ceil mode, the average's divisor, bilinear's source index),
written independently of the views nnc lowers them to; they were checked
once by hand against torch.nn.functional.
"""
import itertools

import numpy as np


def pool_out(n, k, s, p, d, ceil):
    """PyTorch's pooling_output_shape."""
    span = d * (k - 1) + 1
    o = (n + 2 * p - span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def spatial(v, nsp):
    return list(v) if isinstance(v, (list, tuple)) else [v] * nsp


def max_pool(x, k, s=None, p=0, ceil=False, d=1):
    nsp = x.ndim - 2
    k, p, d = spatial(k, nsp), spatial(p, nsp), spatial(d, nsp)
    s = k if s is None else spatial(s, nsp)
    n = x.shape[2:]
    outs = [pool_out(n[i], k[i], s[i], p[i], d[i], ceil) for i in range(nsp)]
    y = np.empty(x.shape[:2] + tuple(outs))
    for o in itertools.product(*[range(m) for m in outs]):
        idx = []
        for i in range(nsp):
            taps = [o[i] * s[i] - p[i] + j * d[i] for j in range(k[i])]
            idx.append([t for t in taps if 0 <= t < n[i]])
        win = x[(slice(None), slice(None)) + np.ix_(*idx)]
        y[(slice(None), slice(None)) + o] = win.reshape(x.shape[:2] + (-1,)).max(-1)
    return y


def avg_pool(x, k, s=None, p=0, ceil=False, include_pad=True):
    nsp = x.ndim - 2
    k, p = spatial(k, nsp), spatial(p, nsp)
    s = k if s is None else spatial(s, nsp)
    n = x.shape[2:]
    outs = [pool_out(n[i], k[i], s[i], p[i], 1, ceil) for i in range(nsp)]
    y = np.empty(x.shape[:2] + tuple(outs))
    for o in itertools.product(*[range(m) for m in outs]):
        sl, size, real = [], 1, 1
        for i in range(nsp):
            start = o[i] * s[i] - p[i]
            end = min(start + k[i], n[i] + p[i])
            size *= end - start
            start, end = max(start, 0), min(end, n[i])
            real *= end - start
            sl.append(slice(start, end))
        total = x[(slice(None), slice(None)) + tuple(sl)].sum(axis=tuple(range(2, 2 + nsp)))
        y[(slice(None), slice(None)) + o] = total / (size if include_pad else real)
    return y


def linear_axis(x, axis, s):
    """F.interpolate's (bi)linear along one axis, align_corners = False."""
    n = x.shape[axis]
    out = []
    for o in range(n * s):
        src = max((o + 0.5) / s - 0.5, 0.0)
        i0 = int(src)
        i1 = i0 + 1 if i0 < n - 1 else i0
        l1 = src - i0
        out.append((1 - l1) * np.take(x, i0, axis) + l1 * np.take(x, i1, axis))
    return np.stack(out, axis)


def bilinear(x, s):
    for i, si in enumerate(spatial(s, x.ndim - 2)):
        x = linear_axis(x, 2 + i, si)
    return x


def nearest(x, s):
    for i, si in enumerate(spatial(s, x.ndim - 2)):
        x = np.repeat(x, si, axis=2 + i)
    return x


def lrn(x, size, alpha=1e-4, beta=0.75, k=1.0):
    c = x.shape[1]
    y = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(ch - size // 2, 0), min(ch + (size - 1) // 2, c - 1)
        sq = (x[:, lo:hi + 1] ** 2).sum(axis=1)
        y[:, ch] = x[:, ch] / (k + alpha / size * sq) ** beta
    return y


def bn_train(x, w, b, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mu) / np.sqrt(var + eps) * w.reshape(shape) + b.reshape(shape)


CASES = [
    ("max_pool2d", [("a", "f", "B, 3, 6, 6")], "max_pool2d(a, 2)", lambda a: max_pool(a, 2)),
    ("max_pool2d_overlap", [("a", "f", "B, 2, 7, 7")], "max_pool2d(a, 3, 2)",
     lambda a: max_pool(a, 3, 2)),
    ("max_pool2d_ceil", [("a", "f", "B, 2, 6, 5")],
     "max_pool2d(a, 3, stride = 2, padding = 1, ceil_mode = true)",
     lambda a: max_pool(a, 3, 2, 1, True)),
    ("max_pool2d_dilation", [("a", "f", "B, 2, 7, 6")],
     "max_pool2d(a, [3, 2], stride = [1, 2], padding = [1, 0], dilation = [2, 1])",
     lambda a: max_pool(a, [3, 2], [1, 2], [1, 0], False, [2, 1])),
    ("max_pool2d_neg", [("a", "f", "B, 2, 4, 4")], "max_pool2d(a - 10.0, 2, 1, padding = 1)",
     lambda a: max_pool(a - 10, 2, 1, 1)),
    ("avg_pool2d", [("a", "f", "B, 2, 6, 6")], "avg_pool2d(a, 2)", lambda a: avg_pool(a, 2)),
    ("avg_pool2d_pad", [("a", "f", "B, 2, 5, 5")], "avg_pool2d(a, 3, 2, padding = 1)",
     lambda a: avg_pool(a, 3, 2, 1)),
    ("avg_pool2d_ceil", [("a", "f", "B, 2, 6, 6")],
     "avg_pool2d(a, 3, 2, padding = 1, ceil_mode = true)",
     lambda a: avg_pool(a, 3, 2, 1, True)),
    ("avg_pool2d_ceil_excl", [("a", "f", "B, 2, 6, 5")],
     "avg_pool2d(a, [3, 2], 2, padding = 1, ceil_mode = true, count_include_pad = false)",
     lambda a: avg_pool(a, [3, 2], 2, 1, True, False)),
    ("avg_pool2d_mixed", [("a", "f", "B, 2, 5, 6")],
     "avg_pool2d(a, 3, [2, 3], padding = [1, 0], count_include_pad = false)",
     lambda a: avg_pool(a, 3, [2, 3], [1, 0], False, False)),
    ("max_pool1d_ceil", [("a", "f", "B, 3, 5")], "max_pool1d(a, 2, padding = 1, ceil_mode = true)",
     lambda a: max_pool(a, 2, 2, 1, True)),
    ("avg_pool1d", [("a", "f", "B, 3, 7")],
     "avg_pool1d(a, 3, 2, padding = 1, count_include_pad = false)",
     lambda a: avg_pool(a, 3, 2, 1, False, False)),
    ("global_avg_pool", [("a", "f", "B, 3, 4, 5")], "global_avg_pool(a)",
     lambda a: a.mean(axis=(2, 3))),
    ("global_max_pool", [("a", "f", "B, 3, 6")], "global_max_pool(a)", lambda a: a.max(axis=2)),
    ("upsample_nearest", [("a", "f", "B, 2, 3, 4")], "upsample(a, [2, 3])",
     lambda a: nearest(a, [2, 3])),
    ("upsample_nearest1d", [("a", "f", "B, 2, 3")], "upsample(a, 2.0, mode = \"nearest\")",
     lambda a: nearest(a, 2)),
    ("upsample_bilinear", [("a", "f", "B, 2, 3, 4")], "upsample(a, 2, mode = \"bilinear\")",
     lambda a: bilinear(a, 2)),
    ("upsample_bilinear3", [("a", "f", "B, 2, 2, 3")], "upsample(a, [3, 2], \"bilinear\")",
     lambda a: bilinear(a, [3, 2])),
    ("upsample_linear", [("a", "f", "B, 2, 5")], "upsample(a, 4, mode = \"linear\")",
     lambda a: bilinear(a, 4)),
    ("flatten", [("a", "f", "B, 2, 3, 4")], "flatten(a)", lambda a: a.reshape(a.shape[0], -1)),
    ("flatten_range", [("a", "f", "B, 2, 3, 4")], "flatten(a, 0, -2)",
     lambda a: a.reshape(-1, 4)),
    ("lrn", [("a", "f", "B, 5, 3, 2")], "local_response_norm(a, 3, alpha = 0.1, k = 2.0)",
     lambda a: lrn(a, 3, 0.1, 0.75, 2.0)),
    ("lrn_even", [("a", "f", "B, 6, 4")], "local_response_norm(a * 3.0, 4, 0.5, 0.6)",
     lambda a: lrn(a * 3, 4, 0.5, 0.6)),
    ("batch_norm_2d_train", [("a", "f", "B, 3, 2, 3"), ("w", "f", "3"), ("b", "f", "3")],
     "batch_norm(a, RM, RV, w, b, training = true)",
     lambda a, w, b, RM, RV: bn_train(a, w, b)),
]

# Cases whose sums the fused and unfused code may add in different orders
# (agree.py compares them within a tolerance, the others bitwise in f64).
REDUCING = ("avg_pool", "global_avg_pool", "upsample_bilinear", "upsample_linear", "lrn")
