"""Benchmark: nnc's threads on a quiet and on a loaded machine (issue 12).

Trains three models with `nnc run` (JIT), each configuration --runs times
in fresh processes, alternating between configurations, and prints medians:

  mlp.nn  examples/mlp.nn as shipped (64-128-64-10, batch 64, 60 epochs)
  small   bench/train_small.nn (64-128-10, batch 64), synthetic data
  large   bench/train_large.nn (784-512-512-10, batch 128), synthetic data

(the synthetic CSVs are bench_train.py's, from the same seed).

quiet: 1 thread, `cores` threads, and the default (no --threads and no
  $NNC_THREADS, so all CPUs). Goal: the default is at most 5% slower than
  the better of 1 and `cores` threads.
busy: the same 1 and `cores` threads while `--busy` (default: one per core)
  other processes spin on the cores: `sh -c 'while :; do :; done'`, started
  before and killed after each measured run (each also under `timeout`, so
  none can outlive the harness). Goal: `cores` threads take at most 1.5x the
  1-thread time.

Time is the `result:` line's `time=` (the whole training loop: steps,
shuffling, bookkeeping; not loading or compiling). Every configuration
runs with OPENBLAS_CORETYPE as inherited and, if it was set, unset.

usage: /usr/bin/python3 bench/bench_threads.py [--nnc build/nnc] [--runs 5]
       [--busy N] [--only quiet|busy] [--model mlp.nn|small|large]...
       [--markdown FILE]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from bench_common import (MODELS, alternate, coretype_env, coretype_settings, loadavg,
                          median_of, write_datasets)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUSY_LIFETIME_S = 600  # `timeout` on each busy process: a bound, not a schedule


def start_busy(count):
    return [subprocess.Popen(["timeout", str(BUSY_LIFETIME_S), "sh", "-c",
                              "while :; do :; done"], start_new_session=True)
            for _ in range(count)]


def stop_busy(procs):
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # its own session: timeout and sh
        except ProcessLookupError:
            pass
    for p in procs:
        p.wait()


def run_nnc(args, model, threads, env):
    cmd = [args.nnc, "run", model["file"], "--no-progress"] + model["extra"]
    if threads:
        cmd += ["--threads", str(threads)]
    p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    m = re.search(r"^result: .*\btime=([0-9.]+)s", p.stdout, re.M)
    if p.returncode != 0 or not m:
        sys.exit("failed (%d): %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    return float(m.group(1))


def measure(args, model, configs, env, busy):
    """Runs each thread count in `configs` --runs times, alternating; returns
    {threads: median seconds}."""
    def run(threads):
        procs = start_busy(busy) if busy else []
        try:
            if procs:
                time.sleep(0.2)  # let them take the cores first
            return run_nnc(args, model, threads, env)
        finally:
            stop_busy(procs)

    return median_of(alternate(args.runs, configs, run))


def models(tmp):
    data = write_datasets(tmp)  # bench_train.py's
    out = [{"name": "mlp.nn", "file": os.path.join(ROOT, "examples", "mlp.nn"), "extra": []}]
    for name, nn_file, _sizes, _batch, epochs, *_ in MODELS:
        path = data[name][0]
        out.append({"name": name.split()[0], "file": os.path.join(HERE, nn_file),
                    "extra": ["--data", path, "--epochs", str(epochs)]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default=os.path.join(ROOT, "build", "nnc"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--busy", type=int, help="busy processes (default: one per core)")
    ap.add_argument("--only", choices=("quiet", "busy"))
    ap.add_argument("--model", action="append", choices=("mlp.nn", "small", "large"),
                    help="only this model (repeatable; default: all three)")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    args.nnc = os.path.abspath(args.nnc)
    cores = os.cpu_count() or 1
    busy = args.busy if args.busy is not None else cores
    load_start = loadavg()
    print("load average at start: %s (%d cores)" % (load_start, cores), flush=True)
    if args.only != "busy" and load_start != "n/a" and float(load_start.split()[0]) > 0.5:
        print("warning: the machine is not quiet; the quiet figures will not mean much",
              flush=True)
    quiet_rows, busy_rows = [], []
    tmp = tempfile.mkdtemp(prefix="nnc-bench-threads-")
    try:
        ms = [m for m in models(tmp) if not args.model or m["name"] in args.model]
        for label, coretype in coretype_settings()[:2]:
            env = coretype_env(coretype, drop=("NNC_THREADS", "OPENBLAS_NUM_THREADS"))
            for model in ms:
                if args.only != "busy":
                    r = measure(args, model, [1, cores, 0], env, 0)
                    best = min(r[1], r[cores])
                    row = (label, model["name"], r[1], r[cores], r[0], r[0] / best)
                    quiet_rows.append(row)
                    print("quiet %-18s %-7s 1 thread %.3f s, %d threads %.3f s, default %.3f s:"
                          " default / best %.3f %s" % (label, model["name"], r[1], cores,
                                                       r[cores], r[0], row[5],
                                                       "ok" if row[5] <= 1.05 else "OVER 1.05"),
                          flush=True)
                if args.only != "quiet":
                    r = measure(args, model, [1, cores], env, busy)
                    row = (label, model["name"], r[1], r[cores], r[cores] / r[1])
                    busy_rows.append(row)
                    print("busy  %-18s %-7s 1 thread %.3f s, %d threads %.3f s: ratio %.2f %s" %
                          (label, model["name"], r[1], cores, r[cores], row[4],
                           "ok" if row[4] <= 1.5 else "OVER 1.5"), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = loadavg()
    print("load average at end: %s" % load_end)
    if args.markdown:
        with open(args.markdown, "w") as f:
            if quiet_rows:
                f.write("| model | OPENBLAS_CORETYPE | 1 thread (s) | %d threads (s) "
                        "| default (s) | default / best |\n|---|---|---|---|---|---|\n" % cores)
                for label, name, t1, tn, td, ratio in quiet_rows:
                    f.write("| %s | %s | %.3f | %.3f | %.3f | %.3f |\n" %
                            (name, label, t1, tn, td, ratio))
                f.write("\n")
            if busy_rows:
                f.write("With %d busy processes:\n\n| model | OPENBLAS_CORETYPE | 1 thread (s) "
                        "| %d threads (s) | ratio |\n|---|---|---|---|---|\n" % (busy, cores))
                for label, name, t1, tn, ratio in busy_rows:
                    f.write("| %s | %s | %.3f | %.3f | %.2f |\n" % (name, label, t1, tn, ratio))
                f.write("\n")
            f.write("Medians of %d runs each, on %d cores; load average (1, 5, 15 min) at "
                    "start %s, at end %s.\n" % (args.runs, cores, load_start, load_end))


if __name__ == "__main__":
    main()
