"""The elementwise ops and losses of issue 14 at their kinks, at large
magnitudes and at NaN, forward values and gradients, against PyTorch 1.13.

The expected values were recorded from PyTorch 1.13.1 (Debian's
python3-torch, float64: `y = f(a[, b]); y.sum().backward()`); where torch is
importable the script recomputes them and checks the table too. The compiled
side is `nnc call` of an f64 function returning the elementwise result, and
`nnc call --grad` of its sum.

usage: kinks.py NNC WORK
"""
import math
import os
import subprocess
import sys

import numpy as np

INF = "inf"
# (name, body, a, b or None, forward values, [d/da, d/db]); None is NaN.
CASES = [
    ('abs', 'abs(a)', [0.0, -0.0, None, 1.0, -2.0, 0.5], None, [0.0, 0.0, None, 1.0, 2.0, 0.5], [[0.0, 0.0, 0.0, 1.0, -1.0, 1.0]]),
    ('sign', 'sign(a) * a', [0.0, -0.0, None, 1.0, -2.0, 0.5], None, [0.0, -0.0, None, 1.0, 2.0, 0.5], [[0.0, 0.0, 0.0, 1.0, -1.0, 1.0]]),
    ('leaky_relu', 'leaky_relu(a, slope = 0.1)', [0.0, -0.0, None, 1.0, -2.0, 0.5], None, [0.0, -0.0, None, 1.0, -0.2, 0.5], [[0.1, 0.1, 0.1, 1.0, 0.1, 1.0]]),
    ('elu', 'elu(a, alpha = 2.0)', [0.0, -0.0, None, 1.0, -2.0, 0.5], None, [0.0, 0.0, None, 1.0, -1.7293294335267746, 0.5], [[2.0, 2.0, 1.0, 1.0, 0.2706705664732254, 1.0]]),
    ('clamp', 'clamp(a, 0.0, 0.5)', [None, 5.0, -5.0, 0.5, 0.0, 0.25], None, [None, 0.5, 0.0, 0.5, 0.0, 0.25], [[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]]),
    ('softplus', 'softplus(a)', [19.0, 20.0, 21.0, -100.0, 30.0, 0.0], None, [19.000000005602796, 20.000000002061153, 21.0, 3.720075976020836e-44, 30.0, 0.6931471805599453], [[0.9999999943972036, 0.9999999979388464, 1.0, 3.720075976020836e-44, 1.0, 0.5]]),
    ('silu', 'silu(a)', [0.0, None, -50.0, 50.0, 1.0, -1.0], None, [0.0, None, -9.64374923981959e-21, 50.0, 0.7310585786300049, -0.2689414213699951], [[0.5, None, -9.450874255023198e-21, 1.0, 0.9276705118714869, 0.07232948812851325]]),
    ('gelu', 'gelu(a)', [0.0, None, -50.0, 50.0, 1.0, -1.0], None, [0.0, None, -0.0, 50.0, 0.841344746068543, -0.15865525393145702], [[0.5, None, 0.0, 1.0, 1.0833154705876864, -0.08331547058768635]]),
    ('gelu_tanh', 'gelu(a, approximate = "tanh")', [0.0, None, -50.0, 50.0, 1.0, -1.0], None, [0.0, None, -0.0, 50.0, 0.8411919906082768, -0.15880800939172324], [[0.5, None, 0.0, 1.0, 1.0829640838457826, -0.08296408384578252]]),
    ('sqrt', 'sqrt(a)', [0.0, 4.0, 2.0, 1.0, 0.25, 9.0], None, [0.0, 2.0, 1.4142135623730951, 1.0, 0.5, 3.0], [[INF, 0.25, 0.35355339059327373, 0.5, 1.0, 0.16666666666666666]]),
    ('maximum', 'maximum(a, b)', [1.0, 2.0, None, 3.0, -0.0, 0.0], [1.0, 1.0, 1.0, None, 0.0, 5.0], [1.0, 2.0, None, None, -0.0, 5.0], [[0.5, 1.0, 1.0, 1.0, 0.5, 0.0], [0.5, 0.0, 1.0, 1.0, 0.5, 1.0]]),
    ('minimum', 'minimum(a, b)', [1.0, 2.0, None, 3.0, -0.0, 0.0], [1.0, 1.0, 1.0, None, 0.0, 5.0], [1.0, 1.0, None, None, -0.0, 0.0], [[0.5, 0.0, 1.0, 1.0, 0.5, 1.0], [0.5, 1.0, 1.0, 1.0, 0.5, 0.0]]),
    ('bce_logits', 'bce_logits(a, b)', [0.0, 0.0, 30.0, -30.0, 2.0, -1.0], [0.0, 1.0, 0.0, 1.0, 0.3, 0.7], [10.654414009946878], [[0.08333333333333333, -0.08333333333333333, 0.1666666666666511, -0.16666666666665106, 0.09679951299631373, -0.07184309643833414], [-0.0, -0.0, -5.0, 5.0, -0.3333333333333333, 0.16666666666666666]]),
    ('l1', 'l1(a, b)', [1.0, 2.0, 3.0, 0.0, -1.0, 4.0], [1.0, 1.0, 5.0, 0.0, 1.0, 4.5], [0.9166666666666666], [[0.0, 0.16666666666666666, -0.16666666666666666, 0.0, -0.16666666666666666, -0.16666666666666666], [-0.0, -0.16666666666666666, 0.16666666666666666, -0.0, 0.16666666666666666, 0.16666666666666666]]),
    ('huber', 'huber(a, b, delta = 0.5)', [1.0, 2.0, 3.0, 0.0, -1.0, 4.0], [0.5, 1.0, 5.0, 0.0, -0.5, 4.25], [0.2552083333333333], [[0.08333333333333333, 0.08333333333333333, -0.08333333333333333, 0.0, -0.08333333333333333, -0.041666666666666664], [-0.08333333333333333, -0.08333333333333333, 0.08333333333333333, 0.0, 0.08333333333333333, 0.041666666666666664]]),
]

LOSSES = ("bce_logits", "l1", "huber")


def arr(xs):
    return np.array([math.nan if x is None else math.inf if x == INF else
                     -math.inf if x == "-inf" else x for x in xs], dtype=np.float64)


def torch_values(case):
    """The same case through PyTorch, or None without it."""
    try:
        import torch
    except ImportError:
        return None
    F = torch.nn.functional
    fns = {
        "abs": torch.abs, "sign": lambda a: torch.sign(a) * a,
        "leaky_relu": lambda a: F.leaky_relu(a, 0.1), "elu": lambda a: F.elu(a, 2.0),
        "clamp": lambda a: torch.clamp(a, 0.0, 0.5), "softplus": F.softplus, "silu": F.silu,
        "gelu": F.gelu, "gelu_tanh": lambda a: F.gelu(a, approximate="tanh"),
        "sqrt": torch.sqrt, "maximum": torch.maximum, "minimum": torch.minimum,
        "bce_logits": F.binary_cross_entropy_with_logits, "l1": F.l1_loss,
        "huber": lambda a, b: F.huber_loss(a, b, delta=0.5),
    }
    name, _, a, b, _, _ = case
    args = [torch.tensor(arr(x), requires_grad=True) for x in ([a] if b is None else [a, b])]
    y = fns[name](*args)
    y.sum().backward()
    return [y.detach().numpy().reshape(-1)] + [t.grad.numpy() for t in args]


def same(got, want):
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-12, atol=1e-300,
                                                   equal_nan=True)


def main():
    nnc, work = sys.argv[1:3]
    os.makedirs(work, exist_ok=True)
    lines = ["model Kinks {"]
    for name, body, a, b, _, _ in CASES:
        sig = "a: f64[6]" + ("" if b is None else ", b: f64[6]")
        shape = "f64" if name in LOSSES else "f64[6]"
        lines.append("  fn e_%s(%s) -> %s { return %s }" % (name, sig, shape, body))
        total = body if name in LOSSES else "sum(%s)" % body
        lines.append("  fn g_%s(%s) -> f64 { return %s }" % (name, sig, total))
    lines.append("}")
    model = os.path.join(work, "kinks.nn")
    open(model, "w").write("\n".join(lines) + "\n")
    failures = 0
    for case in CASES:
        name, _, a, b, fwd, grads = case
        files = []
        for i, x in enumerate([a] if b is None else [a, b]):
            files.append(os.path.join(work, "%s_%d.npy" % (name, i)))
            np.save(files[-1], arr(x))
        out = os.path.join(work, name + "_fwd.npy")
        gdir = os.path.join(work, name + "_grad")
        r1 = subprocess.run([nnc, "call", model, "e_" + name] + files + ["-o", out],
                            capture_output=True, text=True)
        r2 = subprocess.run([nnc, "call", model, "g_" + name, "--grad"] + files +
                            ["--out-dir", gdir], capture_output=True, text=True)
        if r1.returncode or r2.returncode:
            print("FAIL %s: nnc call failed:\n%s%s" % (name, r1.stderr, r2.stderr))
            failures += 1
            continue
        want = [arr(fwd)] + [arr(g) for g in grads]
        got = [np.load(out)] + [np.load(os.path.join(gdir, "d.%s.npy" % v))
                                for v in "ab"[:len(grads)]]
        for what, g, w in zip(["forward", "d/da", "d/db"], got, want):
            if not same(g, w):
                print("FAIL %s %s:\n  got  %s\n  want %s" % (name, what, g.reshape(-1), w))
                failures += 1
        live = torch_values(case)
        if live is not None and not all(same(x, w) for x, w in zip(live, want)):
            print("FAIL %s: the recorded values are not what this PyTorch gives" % name)
            failures += 1
    print("kinks: %d cases, %d failures" % (len(CASES), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
