"""Benchmark: training, nnc (`nnc run`, JIT) against PyTorch on the same
machine in the same run, on two MLPs:

  small  64-128-10,       batch 64,  Adam (bench/train_small.nn)
  large  784-512-512-10,  batch 128, Adam (bench/train_large.nn)

Synthetic data sets (8192 rows each; integer features, 0..16 for small and
0..255 for large, scaled like digits and MNIST; labels 0..9 from a fixed
random linear teacher, so the data are learnable) are written as CSV into a
temporary directory from a fixed numpy seed. `nnc run` reads them through
--data, PyTorch (torch_train.py) with numpy; both train without a
validation split, so only training is timed.

For every combination of model, thread count (1 and the machine's cores)
and OpenBLAS core type (as inherited from the environment, and unset, and
Haswell if neither is Haswell), nnc and PyTorch each run --runs times in
fresh processes, alternating. Per process:
- step ms: forward + backward + optimizer for one batch, the median over
  epochs of (time in the training step / steps). nnc: from its per-epoch
  samples/s, which counts only the time inside the JIT-compiled step;
  PyTorch: the time from forward to optimizer.step().
- samples/s: all samples of all epochs divided by the wall time of the
  whole training loop (shuffling, batch gathering, loss and accuracy
  bookkeeping included; data loading and compilation excluded). nnc: the
  `result:` line.
- peak RSS of the process (GNU time's %M), data loading included. nnc's RSS
  includes LLVM and its JIT; PyTorch's includes the Python interpreter and
  the torch library.
The figures reported are medians over the --runs processes. Ratios are
PyTorch's time (or RSS) divided by nnc's, and nnc's samples/s divided by
PyTorch's (above 1: nnc is faster / smaller).

usage: /usr/bin/python3 bench/bench_train.py [--nnc build/nnc] [--runs 5]
       [--epochs N] [--torch-env NAME=VALUE]... [--markdown FILE]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from bench_common import (MODELS, ROWS, alternate, coretype_env, coretype_settings, loadavg,
                          write_datasets)

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1  # the .nn files' data seed; PyTorch's too


TIME = "/usr/bin/time"  # GNU time: reports the peak RSS of the command alone


def run_measured(cmd, env):
    """Runs cmd; returns its stdout and its peak RSS in KiB.

    The RSS comes from GNU time wrapped around the command: a child forked
    from this (large) Python process would carry this process's RSS into
    its own high-water mark until exec, which os.wait4 and getrusage then
    report. Without /usr/bin/time, os.wait4's figure is used (an upper
    bound: at least this process's RSS)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r") as rss_file:
        full = [TIME, "-f", "%M", "-o", rss_file.name] + cmd if os.access(TIME, os.X_OK) else cmd
        p = subprocess.Popen(full, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        rss = usage.ru_maxrss
        if full is not cmd:
            lines = rss_file.read().split()
            rss = int(lines[-1]) if lines and lines[-1].isdigit() else rss
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s%s" % (p.returncode, " ".join(cmd), stdout, stderr))
    return stdout, rss


def run_nnc(args, nn_file, data, batch, epochs, threads, env):
    cmd = [args.nnc, "run", os.path.join(HERE, nn_file), "--data", data,
           "--epochs", str(epochs), "--threads", str(threads), "--no-progress"]
    out, rss = run_measured(cmd, env)
    epoch_sps = [float(m.group(1)) for m in
                 re.finditer(r"^epoch \d+/\d+ .*\s([0-9.]+) samples/s$", out, re.M)]
    res = re.search(r"^result: .*\bsteps=(\d+) loss=(\S+)(?: acc=(\S+))?.*"
                    r"\btime=([0-9.]+)s samples_per_s=([0-9.]+)", out, re.M)
    if not res or len(epoch_sps) != epochs:
        sys.exit("unexpected output from: %s\n%s" % (" ".join(cmd), out))
    # Every batch is full (ROWS % batch == 0): an epoch's step time over its
    # steps is batch / samples_per_s.
    step_ms = statistics.median(batch * 1e3 / s for s in epoch_sps)
    return {"step_ms": step_ms, "samples_per_s": float(res.group(5)),
            "steps": int(res.group(1)), "time_s": float(res.group(4)),
            "loss": float(res.group(2)), "acc": float(res.group(3) or "nan"),
            "rss_kb": rss}


def run_torch(data, sizes, batch, epochs, threads, lr, scale, env):
    cmd = [sys.executable, os.path.join(HERE, "torch_train.py"), data,
           ",".join(map(str, sizes)), str(batch), str(epochs), str(threads), repr(lr),
           repr(scale), str(SEED)]
    out, rss = run_measured(cmd, env)
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            r["rss_kb"] = rss
            return r
    sys.exit("no JSON from: %s\n%s" % (" ".join(cmd), out))


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default=os.path.join(HERE, "..", "build", "nnc"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--epochs", type=int,
                    help="epochs for both models (default: %s)" %
                    ", ".join("%s %d" % (m[0].split()[0], m[4]) for m in MODELS))
    ap.add_argument("--torch-env", action="append", default=[], metavar="NAME=VALUE",
                    help="set in PyTorch's environment only (repeatable), e.g. "
                    "OMP_WAIT_POLICY=PASSIVE")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    torch_env = dict(kv.split("=", 1) for kv in args.torch_env)
    cores = os.cpu_count() or 1
    tmp = tempfile.mkdtemp(prefix="nnc-bench-train-")
    rows = []
    load_start = loadavg()
    print("load average at start: %s (%d cores)%s" %
          (load_start, cores, "; PyTorch also with " + " ".join(args.torch_env)
           if torch_env else ""), flush=True)
    try:
        data = write_datasets(tmp)
        for name, _nn_file, sizes, *_ in MODELS:
            print("%s: %d rows, %d features, class counts %s" %
                  (name, ROWS, sizes[0], " ".join(map(str, data[name][1]))), flush=True)
        for label, coretype in coretype_settings():
            env = coretype_env(coretype)
            for name, nn_file, sizes, batch, epochs, fmax, scale, lr in MODELS:
                epochs = args.epochs or epochs
                for threads in sorted({1, cores}):
                    env["NNC_THREADS"] = str(threads)
                    env["OMP_NUM_THREADS"] = str(threads)
                    path = data[name][0]
                    runs = alternate(args.runs, ("nnc", "torch"), lambda side: (
                        run_nnc(args, nn_file, path, batch, epochs, threads, env)
                        if side == "nnc" else
                        run_torch(path, sizes, batch, epochs, threads, lr, scale,
                                  dict(env, **torch_env))))
                    nr, tr = runs["nnc"], runs["torch"]
                    row = {"coretype": label, "model": name, "threads": threads,
                           "batch": batch, "epochs": epochs, "steps": nr[0]["steps"]}
                    for side, runs in (("nnc", nr), ("torch", tr)):
                        for k in ("step_ms", "samples_per_s", "rss_kb", "loss", "acc"):
                            row["%s_%s" % (side, k)] = med(runs, k)
                    rows.append(row)
                    print("%-17s %-21s threads %d | step nnc %.4f ms torch %.4f ms (x%.2f) | "
                          "samples/s nnc %.0f torch %.0f (x%.2f) | RSS nnc %.0f MB "
                          "torch %.0f MB (x%.2f) | final loss nnc %.3f torch %.3f" %
                          (label, name, threads, row["nnc_step_ms"], row["torch_step_ms"],
                           row["torch_step_ms"] / row["nnc_step_ms"], row["nnc_samples_per_s"],
                           row["torch_samples_per_s"],
                           row["nnc_samples_per_s"] / row["torch_samples_per_s"],
                           row["nnc_rss_kb"] / 1024, row["torch_rss_kb"] / 1024,
                           row["torch_rss_kb"] / row["nnc_rss_kb"], row["nnc_loss"],
                           row["torch_loss"]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = loadavg()
    print("load average at end: %s" % load_end)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| model | threads | OPENBLAS_CORETYPE | step nnc (ms) | step PyTorch (ms) "
                    "| ratio | samples/s nnc | samples/s PyTorch | ratio | peak RSS nnc (MB) "
                    "| peak RSS PyTorch (MB) | ratio |\n")
            f.write("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
            order = [m[0] for m in MODELS]
            for r in sorted(rows, key=lambda r: (order.index(r["model"]), r["threads"])):
                f.write("| %s, batch %d | %d | %s | %.4f | %.4f | %.2f | %.0f | %.0f | %.2f "
                        "| %.0f | %.0f | %.2f |\n" %
                        (r["model"], r["batch"], r["threads"], r["coretype"], r["nnc_step_ms"],
                         r["torch_step_ms"], r["torch_step_ms"] / r["nnc_step_ms"],
                         r["nnc_samples_per_s"], r["torch_samples_per_s"],
                         r["nnc_samples_per_s"] / r["torch_samples_per_s"],
                         r["nnc_rss_kb"] / 1024, r["torch_rss_kb"] / 1024,
                         r["torch_rss_kb"] / r["nnc_rss_kb"]))
            epochs = {r["model"]: r["epochs"] for r in rows}
            if torch_env:
                f.write("\nPyTorch's environment also had %s.\n" %
                        " ".join("`%s=%s`" % kv for kv in torch_env.items()))
            f.write("\nLoad average (1, 5, 15 min) at start %s, at end %s, on %d cores.\n" %
                    (load_start, load_end, cores))
            f.write("\nMedians of %d runs each, %d rows per epoch, epochs: %s. "
                    "Final training loss, nnc / PyTorch (medians): %s.\n" %
                    (args.runs, ROWS, ", ".join("%s %d" % (m.split()[0], e)
                                                for m, e in epochs.items()),
                     "; ".join("%s %d thread(s) %s: %.3f / %.3f" %
                               (r["model"].split()[0], r["threads"], r["coretype"],
                                r["nnc_loss"], r["torch_loss"]) for r in rows)))


if __name__ == "__main__":
    main()
