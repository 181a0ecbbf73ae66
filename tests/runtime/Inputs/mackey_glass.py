"""The Mackey-Glass series by NumPy, integrated the way nnc's data step says
(docs/language.md 9.2): dx/dt = 0.2 x(t-tau) / (1 + x(t-tau)^10) - 0.1 x(t),
x = 1.2 for t <= 0, Runge-Kutta 4 with dt = 0.1, the delayed value at a half
step the mean of its neighbours, the first 1000 time units dropped, then
every 10th step. Run as a script, compares it with the .npy files
test_mackey wrote; tests/esn imports mackey_glass()."""
import sys

import numpy as np

WASHOUT, PER_UNIT, DT, X0 = 1000, 10, 0.1, 1.2


def rate(x, xd):
    return 0.2 * xd / (1.0 + xd**10) - 0.1 * x


def mackey_glass(n, tau):
    d = tau * PER_UNIT
    steps = (WASHOUT + n - 1) * PER_UNIT
    h = np.empty(steps + 1)
    h[0] = X0

    def past(i):
        return h[i] if i >= 0 else X0

    for i in range(steps):
        x, d0, d1 = h[i], past(i - d), past(i - d + 1)
        dh = 0.5 * (d0 + d1)
        k1 = rate(x, d0)
        k2 = rate(x + 0.5 * DT * k1, dh)
        k3 = rate(x + 0.5 * DT * k2, dh)
        k4 = rate(x + DT * k3, d1)
        h[i + 1] = x + DT / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return h[WASHOUT * PER_UNIT::PER_UNIT]


def main(out):
    seq, horizon = 50, 3
    for tau, name in ((17, "series"), (30, "series30")):
        ref = mackey_glass(600, tau)
        got = np.load(f"{out}/{name}.npy")
        err = np.abs(got - ref).max()
        assert got.shape == ref.shape and err <= 1e-12, (name, got.shape, err)
        print(f"tau={tau}: {len(got)} values, max |nnc - numpy| = {err:.1e}, "
              f"range [{ref.min():.3f}, {ref.max():.3f}]")
    ref = mackey_glass(600, 17).astype(np.float32)
    x, y = np.load(f"{out}/x.npy"), np.load(f"{out}/y.npy")
    w = (600 - horizon) // seq
    assert x.shape == (w, seq, 1) and y.shape == (w, seq, 1), (x.shape, y.shape)
    assert np.array_equal(x.ravel(), ref[: w * seq]) and np.array_equal(y.ravel(), ref[horizon : horizon + w * seq])
    print(f"windows: x {x.shape}, y {y.shape}, y is x {horizon} steps ahead")


if __name__ == "__main__":
    main(sys.argv[1])
