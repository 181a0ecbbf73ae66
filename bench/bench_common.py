"""What the harnesses share: the OPENBLAS_CORETYPE settings every one runs
under and the environment for each, the alternating run loop, the load
average they report, and the synthetic training data of bench_train.py
(bench_threads.py trains on the same).
"""
import os
import statistics
import time

import numpy as np

# ---- configurations ---------------------------------------------------------


def coretype_settings():
    """(label, OPENBLAS_CORETYPE or None): as inherited, unset if it was set,
    and Haswell if neither is Haswell."""
    inherited = os.environ.get("OPENBLAS_CORETYPE")
    settings = [("inherited (%s)" % (inherited or "unset"), inherited)]
    if inherited is not None:
        settings.append(("unset", None))
    if inherited != "Haswell":
        settings.append(("Haswell", "Haswell"))
    return settings


def coretype_env(coretype, drop=()):
    """This process's environment with OPENBLAS_CORETYPE set to coretype
    (None: unset) and the variables in drop removed."""
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE",) + tuple(drop):
        env.pop(var, None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    return env


def alternate(runs, configs, run):
    """run(config) for every config, `runs` rounds of all of them in turn (so
    a change in the machine's load spreads over every config); returns
    {config: [results]}."""
    results = {c: [] for c in configs}
    for _ in range(runs):
        for c in configs:
            results[c].append(run(c))
    return results


def median_of(results):
    """{config: [numbers]} -> {config: median}."""
    return {c: statistics.median(v) for c, v in results.items()}


def loadavg():
    """The 1, 5 and 15 minute load averages as one string, or "n/a"."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


# ---- synthetic training data -------------------------------------------------

ROWS = 8192
DATA_SEED = 12345  # numpy's, for the CSVs

# name, .nn file, layer sizes, batch, default epochs, feature max, scale, lr
MODELS = [
    ("small 64-128-10", "train_small.nn", (64, 128, 10), 64, 10, 16, 0.0625, 0.001),
    ("large 784-512-512-10", "train_large.nn", (784, 512, 512, 10), 128, 3, 255,
     1.0 / 255.0, 0.001),
]
assert all(ROWS % m[3] == 0 for m in MODELS)


def write_csv(path, nfeatures, fmax, classes, rng):
    """Integer features uniform in 0..fmax, label = argmax of a fixed random
    linear teacher on the centred features."""
    x = rng.integers(0, fmax + 1, size=(ROWS, nfeatures))
    w = rng.standard_normal((nfeatures, classes))
    y = np.argmax((x / fmax - 0.5) @ w, axis=1)
    table = np.concatenate([x, y[:, None]], axis=1)
    with open(path, "w") as f:
        f.write("\n".join(",".join(map(str, row)) for row in table.tolist()))
        f.write("\n")
    return np.bincount(y, minlength=classes)


def write_datasets(directory):
    """MODELS' data sets as CSVs in directory, from DATA_SEED:
    {model name: (path, class counts)}."""
    rng = np.random.default_rng(DATA_SEED)
    out = {}
    for name, nn_file, sizes, _batch, _epochs, fmax, _scale, _lr in MODELS:
        path = os.path.join(directory, nn_file.replace(".nn", ".csv"))
        out[name] = (path, write_csv(path, sizes[0], fmax, sizes[-1], rng))
    return out


def median_ms(fn, runs, warmup):
    """fn's median and minimum time over runs calls after warmup calls, in ms."""
    for _ in range(warmup):
        fn()
    secs = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t0)
    secs.sort()
    return secs[len(secs) // 2] * 1e3, secs[0] * 1e3


def runtime_ldflags(build):
    """What libnnrt.a needs: Libs.private of the build's nnrt.pc."""
    try:
        with open(os.path.join(build, "pkgconfig", "nnrt.pc")) as f:
            for line in f:
                if line.startswith("Libs.private:"):
                    return line.split(":", 1)[1].split()
    except OSError:
        pass
    return ["-L/usr/lib/x86_64-linux-gnu/openblas-pthread", "-lopenblas", "-lcjson",
            "-lpthread", "-lm"]
