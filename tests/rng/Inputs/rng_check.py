"""Random ops and constructors through `nnc call`, against an independent
Philox-4x32-10 (philox.py) and against statistics that a wrong generator
fails: exact bits, 10^6-sample moments, dropout's keep fraction and scale,
the same bits at 1 and 2 threads, fused and unfused, -O0 and -O3, across
runs, other bits for another seed or step, and dropout only with
--training.

usage: rng_check.py NNC WORKDIR
Prints one line per failure ("FAIL ...") and a summary line."""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import philox  # noqa: E402

NNC, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
MODEL = os.path.join(WORK, "rng.nn")
N = 1000  # rows: 10^6 samples per [N, 1000] call

open(MODEL, "w").write("""
model Rng {
  fn u(a: f32[B, C]) -> f32[B, C] { return uniform([B, C]) }
  fn u_lohi(a: f32[B, C]) -> f32[B, C] { return uniform([B, C], lo = -2.0, hi = 3.0) }
  fn n(a: f32[B, C]) -> f32[B, C] { return normal([B, C]) }
  fn n_ms(a: f32[B, C]) -> f32[B, C] { return normal([B, C], mean = 1.5, std = 0.5) }
  // the second random op of a function draws from stream 1
  fn two(a: f32[B, C]) -> f32[B, C] { return uniform([B, C]) * 0.0 + uniform([B, C]) }
  // broadcast in a kernel over a larger domain: indexed in its own shape
  fn bcast(a: f32[B, C]) -> f32[B, C] { return a * 0.0 + uniform([C]) }
  fn drop(a: f32[B, C]) -> f32[B, C] { return dropout(a, 0.3) }
  fn drop_sum(a: f32[B, C]) -> f32 { return sum(dropout(a * a, 0.25)) }
  fn z(a: f32[B, C]) -> f32[B, C] { return a * 0.0 + zeros([B, C]) + ones([C]) + full([B, 1], 2.5) }
  fn fi(a: f32[B, C]) -> i32[B, 2] { return full([B, 2], 7) }
  fn ar(a: f32[B, C]) -> i32[B] { return arange(B) }
  fn arf(a: f32[B, C]) -> f32[5] { return arange(4.5) }
}
""")

failures = []
checks = 0


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        fail(msg)


def call(fn, a, *flags, env=None):
    x = os.path.join(WORK, "a_%d_%d_%s.npy" % (a.shape + (a.dtype.name,)))
    if not os.path.exists(x):
        np.save(x, a)
    out = os.path.join(WORK, "out.npy")
    r = subprocess.run([NNC, "call", MODEL, fn, x, "-o", out] + list(flags),
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        fail("%s %s: nnc call failed: %s" % (fn, " ".join(flags), r.stderr.strip()))
        return None
    return np.load(out)


big = np.ones((N, 1000), np.float32)
n = big.size

# exact bits against the independent Philox
u = call("u", big)
check(u is not None and u.dtype == np.float32 and
      np.array_equal(u.ravel(), philox.uniform_f32(n)), "uniform f32 bits != philox.py")
u64 = call("u", big.astype(np.float64), "--dtype=f64")
check(u64 is not None and u64.dtype == np.float64 and
      np.array_equal(u64.ravel(), philox.uniform_f64(n)), "uniform f64 bits != philox.py")
for seed, step in ((7, 0), (0, 3), (2 ** 40 + 5, 2 ** 31 + 1)):
    got = call("u", big[:4], "--seed", str(seed), "--step", str(step))
    want = philox.uniform_f32(4000, seed=seed, step=step)
    check(got is not None and np.array_equal(got.ravel(), want),
          "uniform bits at seed %d step %d != philox.py" % (seed, step))
two = call("two", big[:4])
check(two is not None and np.array_equal(two.ravel(), philox.uniform_f32(4000, stream=1)),
      "the second random op does not draw stream 1")
bc = call("bcast", big[:4])
check(bc is not None and all(np.array_equal(r, philox.uniform_f32(1000)) for r in bc),
      "a broadcast uniform([C]) is not indexed in its own shape")
nz64 = call("n", big[:100].astype(np.float64), "--dtype=f64")
check(nz64 is not None and np.allclose(nz64.ravel(), philox.normal_f64(100000), rtol=1e-12,
                                       atol=1e-12), "normal f64 != Box-Muller of philox.py")

# moments of 10^6 samples (bounds are about 5 standard errors)
check(u is not None and abs(u.mean() - 0.5) < 1.5e-3 and abs(u.var() - 1 / 12) < 1e-3 and
      u.min() >= 0 and u.max() < 1,
      "uniform: mean %.5f var %.5f min %g max %g" % (u.mean(), u.var(), u.min(), u.max()))
ul = call("u_lohi", big)
check(ul is not None and abs(ul.mean() - 0.5) < 7e-3 and abs(ul.var() - 25 / 12) < 2.5e-2 and
      ul.min() >= -2 and ul.max() <= 3 and
      np.array_equal(ul, (u * np.float32(5) + np.float32(-2)).astype(np.float32)),
      "uniform(lo = -2, hi = 3)")
nz = call("n", big)
if nz is not None:
    m, v = nz.mean(), nz.var()
    m3 = ((nz - m) ** 3).mean()
    m4 = ((nz - m) ** 4).mean() / v ** 2
    check(abs(m) < 5e-3 and abs(v - 1) < 7e-3 and abs(m3) < 1.2e-2 and abs(m4 - 3) < 2.5e-2,
          "normal: mean %.5f var %.5f third moment %.5f kurtosis %.5f" % (m, v, m3, m4))
    frac = np.mean(np.abs(nz) < 1.959964)
    check(abs(frac - 0.95) < 1.1e-3, "normal: %.5f within 1.96 std (want 0.95)" % frac)
    check(np.allclose(nz.ravel(), philox.normal_f32_ref(n), rtol=0, atol=2e-5),
          "normal f32 further than 2e-5 from Box-Muller of philox.py")
nms = call("n_ms", big)
check(nms is not None and abs(nms.mean() - 1.5) < 2.5e-3 and abs(nms.std() - 0.5) < 2.5e-3,
      "normal(mean = 1.5, std = 0.5): mean %.5f std %.5f" % (nms.mean(), nms.std()))

# dropout: identity unless --training; keep fraction 1 - p, kept scaled by 1/(1-p)
x = np.random.default_rng(5).standard_normal((N, 1000)).astype(np.float32) + 3
xf = os.path.join(WORK, "x.npy")
np.save(xf, x)


def call_x(fn, *flags):
    out = os.path.join(WORK, "outx.npy")
    r = subprocess.run([NNC, "call", MODEL, fn, xf, "-o", out] + list(flags),
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("%s: nnc call failed: %s" % (fn, r.stderr.strip()))
        return None
    return np.load(out)


d_inf = call_x("drop")
check(d_inf is not None and np.array_equal(d_inf, x), "dropout is not the identity in inference")
d = call_x("drop", "--training")
if d is not None:
    keep = d != 0
    kf = keep.mean()
    check(abs(kf - 0.7) < 2.5e-3, "dropout(p = 0.3) keeps %.5f (want 0.7)" % kf)
    check(np.array_equal(keep.ravel(), philox.dropout_keep(n, 0.3)),
          "dropout mask != philox.py's uniform >= p")
    check(np.array_equal(d[keep], x[keep] * np.float32(1 / 0.7)),
          "dropout: kept values are not x * 1/(1-p)")
    for flags in (["--threads", "1"], ["--threads", "2"], ["--no-fuse"], ["-O0"]):
        other = call_x("drop", "--training", *flags)
        check(other is not None and np.array_equal(other, d),
              "dropout bits differ with %s" % " ".join(flags))
    env = dict(os.environ, NNC_THREADS="2")
    r = subprocess.run([NNC, "call", MODEL, "drop", xf, "-o", os.path.join(WORK, "e.npy"),
                        "--training"], capture_output=True, text=True, env=env)
    check(r.returncode == 0 and np.array_equal(np.load(os.path.join(WORK, "e.npy")), d),
          "dropout bits differ with NNC_THREADS=2")
    again = call_x("drop", "--training")
    check(again is not None and np.array_equal(again, d), "dropout bits differ across runs")
    s1 = call_x("drop", "--training", "--seed", "1")
    check(s1 is not None and not np.array_equal(s1 != 0, keep) and
          abs((s1 != 0).mean() - 0.7) < 2.5e-3, "seed 1 does not give another mask")
    st1 = call_x("drop", "--training", "--step", "1")
    check(st1 is not None and not np.array_equal(st1 != 0, keep), "step 1 gives the same mask")

# the gradient reuses the forward mask: d sum(dropout(a*a)) / da = 2a * mask
xs = x[:8]
np.save(os.path.join(WORK, "xs.npy"), xs)
gdir = os.path.join(WORK, "grad")
r = subprocess.run([NNC, "call", MODEL, "drop_sum", os.path.join(WORK, "xs.npy"), "--grad",
                    "--training", "--seed", "9", "--out-dir", gdir], capture_output=True,
                   text=True)
if r.returncode:
    fail("drop_sum --grad: " + r.stderr.strip())
else:
    keep = philox.dropout_keep(xs.size, 0.25, seed=9).reshape(xs.shape)
    scale = np.float32(1 / 0.75)
    want = np.where(keep, (xs * xs) * scale, 0).astype(np.float64).sum()
    got = np.load(os.path.join(gdir, "result.npy"))
    check(abs(float(got) - want) < 1e-3 * abs(want), "drop_sum: %g, want %g" % (got, want))
    dg = np.load(os.path.join(gdir, "d.a.npy"))
    check(np.allclose(dg, np.where(keep, 2 * xs * scale, 0), rtol=1e-6, atol=0),
          "d drop_sum / da is not 2a * mask")

# constructors
zz = call("z", big[:3, :5])
check(zz is not None and np.array_equal(zz, np.full((3, 5), 3.5, np.float32)),
      "zeros + ones + full")
fi = call("fi", big[:3, :5])
check(fi is not None and fi.dtype == np.int32 and np.array_equal(fi, np.full((3, 2), 7)),
      "full of an int is i32 7s")
ar = call("ar", big[:6, :2])
check(ar is not None and ar.dtype == np.int32 and np.array_equal(ar, np.arange(6)), "arange(B)")
arf = call("arf", big[:1, :1])
check(arf is not None and arf.dtype == np.float32 and np.array_equal(arf, np.arange(4.5)),
      "arange(4.5) is f32 0..4")

print("rng: %d checks, %d failures" % (checks, len(failures)))
sys.exit(1 if failures else 0)
