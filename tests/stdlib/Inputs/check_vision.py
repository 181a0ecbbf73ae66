"""Writes the inputs and parameters of vision.test (`write DIR`) and checks
what nnc call computed from them (`check DIR`) against NumPy: Conv2d
(stride, padding; groups and dilation), ConvTranspose2d, BasicBlockDown
(with running statistics, and with batch statistics under --training)
and the Inception module (its four branches, concatenated in order)."""
import os
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv2d(x, w, stride=1, padding=0, dilation=1, groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
    win = sliding_window_view(xp, (span_h, span_w), axis=(2, 3))
    win = win[:, :, ::stride, ::stride, ::dilation, ::dilation]
    og = o // groups
    outs = [np.einsum("nchwij,ocij->nohw", win[:, g * cg:(g + 1) * cg],
                      w[g * og:(g + 1) * og]) for g in range(groups)]
    return np.concatenate(outs, axis=1)


def conv_transpose2d(x, w, stride=1, padding=0, output_padding=0):
    # Scatter each input pixel's kernel-weighted contribution, then crop.
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    full = np.zeros((n, o, (h - 1) * stride + kh + output_padding,
                     (wd - 1) * stride + kw + output_padding))
    for i in range(h):
        for j in range(wd):
            full[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += \
                np.einsum("nc,cokl->nokl", x[:, :, i, j], w)
    oh = (h - 1) * stride - 2 * padding + kh + output_padding
    ow = (wd - 1) * stride - 2 * padding + kw + output_padding
    return full[:, :, padding:padding + oh, padding:padding + ow]


def max_pool_same3(x):
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    return sliding_window_view(xp, (3, 3), axis=(2, 3)).max(axis=(-2, -1))


def bn(x, p, name, training):
    if training:
        mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    else:
        mean, var = p[name + ".running_mean"], p[name + ".running_var"]
    r = lambda v: v.reshape(1, -1, 1, 1)
    return (x - r(mean)) / np.sqrt(r(var) + 1e-5) * r(p[name + ".weight"]) + r(p[name + ".bias"])


def conv_b(x, p, name, **kw):
    return conv2d(x, p[name + ".weight"], **kw) + p[name + ".bias"].reshape(1, -1, 1, 1)


SHAPES = {
    "conv.weight": (4, 3, 3, 3), "conv.bias": (4,),
    "convg.weight": (6, 2, 3, 3), "convg.bias": (6,),
    "deconv.weight": (4, 2, 3, 3), "deconv.bias": (2,),
    "block.conv1.weight": (6, 4, 3, 3), "block.conv2.weight": (6, 6, 3, 3),
    "block.proj.weight": (6, 4, 1, 1),
    "incep.b1.weight": (2, 4, 1, 1), "incep.b1.bias": (2,),
    "incep.b3r.weight": (2, 4, 1, 1), "incep.b3r.bias": (2,),
    "incep.b3.weight": (3, 2, 3, 3), "incep.b3.bias": (3,),
    "incep.b5r.weight": (1, 4, 1, 1), "incep.b5r.bias": (1,),
    "incep.b5.weight": (2, 1, 5, 5), "incep.b5.bias": (2,),
    "incep.bp.weight": (2, 4, 1, 1), "incep.bp.bias": (2,),
}
for bname in ("bn1", "bn2", "proj_bn"):
    for s in ("weight", "bias", "running_mean", "running_var"):
        SHAPES["block.%s.%s" % (bname, s)] = (6,)
INPUTS = {"x_conv": (2, 3, 7, 7), "x_convg": (2, 4, 5, 5), "x_deconv": (2, 4, 4, 4),
          "x_block": (3, 4, 6, 6), "x_incep": (2, 4, 5, 5)}

mode, d = sys.argv[1], sys.argv[2]
if mode == "write":
    rng = np.random.default_rng(15)
    os.makedirs(os.path.join(d, "params"), exist_ok=True)
    for name, shape in SHAPES.items():
        v = rng.standard_normal(shape)
        if name.endswith("running_var"):
            v = rng.uniform(0.5, 2.0, shape)
        np.save(os.path.join(d, "params", name + ".npy"), v.astype(np.float32))
    for name, shape in INPUTS.items():
        np.save(os.path.join(d, name + ".npy"), rng.standard_normal(shape).astype(np.float32))
    sys.exit(0)

p = {n: np.load(os.path.join(d, "params", n + ".npy")).astype(np.float64) for n in SHAPES}
x = {n: np.load(os.path.join(d, n + ".npy")).astype(np.float64) for n in INPUTS}
relu = lambda v: np.maximum(v, 0)


def block(v, training):
    h = relu(bn(conv2d(v, p["block.conv1.weight"], stride=2, padding=1), p, "block.bn1", training))
    h = bn(conv2d(h, p["block.conv2.weight"], padding=1), p, "block.bn2", training)
    s = bn(conv2d(v, p["block.proj.weight"], stride=2), p, "block.proj_bn", training)
    return relu(h + s)


def incep(v):
    y1 = relu(conv_b(v, p, "incep.b1"))
    y3 = relu(conv_b(relu(conv_b(v, p, "incep.b3r")), p, "incep.b3", padding=1))
    y5 = relu(conv_b(relu(conv_b(v, p, "incep.b5r")), p, "incep.b5", padding=2))
    yp = relu(conv_b(max_pool_same3(v), p, "incep.bp"))
    return np.concatenate([y1, y3, y5, yp], axis=1)


want = {
    "conv": conv_b(x["x_conv"], p, "conv", stride=2, padding=1),
    "convg": conv_b(x["x_convg"], p, "convg", padding=2, dilation=2, groups=2),
    "deconv": conv_transpose2d(x["x_deconv"], p["deconv.weight"], stride=2, padding=1,
                               output_padding=1) + p["deconv.bias"].reshape(1, -1, 1, 1),
    "block": block(x["x_block"], False),
    "block_train": block(x["x_block"], True),
    "incep": incep(x["x_incep"]),
}
fails = []
for name, w in want.items():
    got = np.load(os.path.join(d, name + ".npy"))
    if got.shape != w.shape:
        fails.append("%s: shape %s, expected %s" % (name, got.shape, w.shape))
    elif not np.allclose(got, w, rtol=1e-4, atol=1e-4):
        fails.append("%s: max error %.3g" % (name, np.abs(got - w).max()))
print("vision: " + ("ok" if not fails else "WRONG: " + "; ".join(fails)))
sys.exit(1 if fails else 0)
