"""Benchmark: the reference CNNs of issue 15 (lenet5, vgg_small,
resnet_small), nnc against PyTorch on the same machine in the same run,
with each side's GFLOP/s as a share of the CPU's FMA peak measured by
fma_peak.c.

First the harness compiles fma_peak.c with the system C compiler (`cc`, or
$CC) and runs it: the f32 GFLOP/s of FMA chains on 1 and on N threads
(AVX-512 where the CPU has it, else AVX2), the best of its repetitions. Then it counts each
model's FLOPs (torch_cnn.py --flops: 2 x MACs of the convolutions and
fully connected layers, forward; a training step counts 3x that per
sample, see torch_cnn.py) and writes synthetic data for nnc (uniform
pixels in 0..1, labels 0..9, a fixed numpy seed) as an .npz per model into
a temporary directory.

For every OPENBLAS_CORETYPE setting (as inherited and, if it was set,
unset), model and thread count (1 and the machine's cores, or --threads),
it runs --runs times, alternating, in fresh processes:
- nnc: `EXE train --data NPZ --epochs E --threads N`, EXE compiled once
  per model by `nnc MODEL.nn -o EXE` (the code `nnc run` JIT-compiles, for
  the host's CPU, and the same loop; compiling once keeps resnet_small's
  long compile out of every run): the training step (forward, backward,
  Adam) is the median over epochs of each epoch's time inside the compiled
  step per step, from its samples/s; then `nnc bench MODEL.nn --dim B=1`
  (batch-1 inference: the forward median);
- PyTorch, once per configuration (torch_cnn.py; `nchw` and
  `channels_last`): the median of single training steps after a warm-up,
  and (in the nchw process) batch-1 eager inference.
It reports the medians over the runs, PyTorch's best configuration per
row, and ratios: PyTorch's best time divided by nnc's for the training
step, PyTorch eager's batch-1 time divided by nnc's for inference (above 1:
nnc is faster). A model nnc cannot compile or run (`nnc check`, the
executable, one epoch of its training and one batch-1 call of `nnc bench`,
tried first) is reported with a line saying so, and its PyTorch side is
still measured.

usage: /usr/bin/python3 bench/bench_cnn.py [--nnc build/nnc] [--runs 3]
       [--model NAME]... [--threads N]... [--steps 20] [--epochs 3]
       [--infer-runs 200] [--markdown FILE]
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
import time

import numpy as np

from bench_common import alternate, coretype_env, loadavg

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ("lenet5", "vgg_small", "resnet_small")
# name: (features per sample, batch, steps per nnc epoch)
SHAPES = {"lenet5": (784, 64, 16), "vgg_small": (3072, 32, 8), "resnet_small": (3072, 32, 8)}
# A layout (torch_cnn.py's configuration), and "+avx512": ATen's own
# kernels (activations, pooling, batch norm, Adam; not oneDNN's
# convolutions, which pick their ISA themselves) at AVX-512, where this
# torch defaults to AVX2 (ATEN_CPU_CAPABILITY).
TORCH_CONFIGS = ("nchw", "channels_last", "nchw+avx512", "channels_last+avx512")
DATA_SEED = 12345


def run_out(cmd, env=None, what=None, cwd=None):
    """cmd's stdout; exits with its output if it fails."""
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0:
        sys.exit("failed (%d): %s\n%s%s" % (r.returncode, what or " ".join(cmd), r.stdout,
                                            r.stderr))
    return r.stdout


def json_line(out, cmd, prefix=""):
    for line in out.splitlines():
        if line.startswith(prefix) and "{" in line:
            return json.loads(line[line.index("{"):])
    sys.exit("no JSON from: %s\n%s" % (" ".join(cmd), out))


def coretype_settings():
    """(label, OPENBLAS_CORETYPE or None): as inherited, and unset if it was
    set (issue 15 asks for these two; bench_common's third, Haswell, would
    double the run time)."""
    inherited = os.environ.get("OPENBLAS_CORETYPE")
    settings = [("inherited (%s)" % (inherited or "unset"), inherited)]
    if inherited is not None:
        settings.append(("unset", None))
    return settings


# ---- the FMA peak -------------------------------------------------------------


def measure_peak(tmp, max_threads, iters, reps):
    """{threads: (isa, GFLOP/s)} for 1 and max_threads threads, the widest
    ISA the CPU has. The figure is the best of fma_peak's repetitions, not
    their median: a peak is what the core can do, and another process on
    the core only ever takes from it (the median is printed beside it)."""
    exe = os.path.join(tmp, "fma_peak")
    cc = os.environ.get("CC", "cc")
    run_out([cc, "-O2", "-std=c17", "-pthread", os.path.join(HERE, "fma_peak.c"), "-o", exe])
    cmd = [exe, "--threads", str(max_threads), "--iters", str(iters), "--reps", str(reps)]
    out = run_out(cmd)
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    peak = {}
    for r in rows:  # AVX-512 comes first: the widest supported wins
        if r["supported"] and r["threads"] not in peak:
            peak[r["threads"]] = (r["isa"], r["gflops_best"])
    if not peak:
        sys.exit("fma_peak: the CPU has neither AVX-512 nor AVX2 FMA\n" + out)
    return peak, rows


# ---- the two sides ------------------------------------------------------------


def write_data(directory, name, epochs_rows):
    """Synthetic images for nnc: x [rows, features] f32 in 0..1, y [rows]
    i32 in 0..9, as an .npz."""
    features, _batch, _steps = SHAPES[name]
    rng = np.random.default_rng(DATA_SEED)
    path = os.path.join(directory, name + ".npz")
    np.savez(path, x=rng.random((epochs_rows, features), dtype=np.float32),
             y=rng.integers(0, 10, size=epochs_rows).astype(np.int32))
    return path


def first_error(out):
    lines = out.strip().splitlines()
    return next((ln for ln in lines if "error" in ln), lines[0] if lines else "no output")


def nnc_build(nnc, name, data, tmp):
    """Compiles the model ahead of time into tmp and tries it (one epoch of
    training, one batch-1 call of `nnc bench`): (the executable, its
    compile seconds, "") or (None, None, the first error line of the
    command that failed)."""
    nn_file = os.path.join(HERE, name + ".nn")
    exe = os.path.join(tmp, name)
    compile_s = None
    for cmd in ([nnc, "check", nn_file],
                [nnc, nn_file, "-o", exe],
                [exe, "train", "--data", data, "--epochs", "1", "--threads", "1",
                 "--no-progress"],
                [nnc, "bench", nn_file, "--dim", "B=1", "--runs", "1", "--threads", "1"]):
        t0 = time.perf_counter()
        # in tmp: an executable's training saves EXE.safetensors in its directory
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        if r.returncode != 0:
            return None, None, "`%s`: %s" % (" ".join(os.path.basename(c) for c in cmd[:2]),
                                           first_error(r.stderr + r.stdout))
        if cmd[-2] == "-o":
            compile_s = time.perf_counter() - t0
    return exe, compile_s, ""


def run_nnc(args, name, exe, data, threads, env):
    """The training step from the executable nnc compiled (the code `nnc run`
    JIT-compiles: the same passes, the host's CPU; compiling once keeps the
    compile out of every run), batch-1 inference from `nnc bench`."""
    nn_file = os.path.join(HERE, name + ".nn")
    _features, batch, _steps = SHAPES[name]
    cmd = [exe, "train", "--data", data, "--epochs", str(args.epochs), "--threads", str(threads),
           "--no-progress"]
    out = run_out(cmd, env, cwd=os.path.dirname(exe))  # where it saves its checkpoint
    epoch_sps = [float(m.group(1)) for m in
                 re.finditer(r"^epoch \d+/\d+ .*\s([0-9.]+) samples/s$", out, re.M)]
    res = re.search(r"^result: .*\bloss=(\S+)", out, re.M)
    if not res or len(epoch_sps) != args.epochs:
        sys.exit("unexpected output from: %s\n%s" % (" ".join(cmd), out))
    # every batch is full: an epoch's step time is batch / samples_per_s
    step_ms = statistics.median(batch * 1e3 / s for s in epoch_sps)
    cmd = [args.nnc, "bench", nn_file, "--dim", "B=1", "--runs", str(args.infer_runs),
           "--threads", str(threads)]
    bench = json_line(run_out(cmd, env), cmd, "bench-json:")
    return {"step_ms": step_ms, "infer_ms": bench["forward_ms"], "loss": float(res.group(1)),
            "compile_s": bench["compile_s"]}


def run_torch(args, name, threads, config, env):
    layout, _, isa = config.partition("+")
    env = dict(env, **args.torch_env)
    env.pop("ATEN_CPU_CAPABILITY", None)
    if isa:
        env["ATEN_CPU_CAPABILITY"] = isa
    cmd = [sys.executable, os.path.join(HERE, "torch_cnn.py"), name, str(threads), layout,
           str(args.steps), str(args.infer_runs if layout == "nchw" else 0)]
    return json_line(run_out(cmd, env), cmd)


# ---- report -------------------------------------------------------------------


def gflops(flops, ms):
    return flops / (ms * 1e-3) * 1e-9


def measure_row(args, name, threads, coretype, data, flops, peak, exe):
    env = coretype_env(coretype)
    env["NNC_THREADS"] = env["OMP_NUM_THREADS"] = str(threads)
    nnc_ok = exe is not None
    sides = (("nnc",) if nnc_ok else ()) + tuple(args.torch_config)
    runs = alternate(args.runs, sides, lambda side: (
        run_nnc(args, name, exe, data, threads, env) if side == "nnc" else
        run_torch(args, name, threads, side, env)))
    med = {side: {k: statistics.median(r[k] for r in runs[side])
                  for k in ("step_ms", "infer_ms")} for side in sides}
    best = min(args.torch_config, key=lambda c: med[c]["step_ms"])
    eager = [c for c in args.torch_config if c.startswith("nchw")]
    best_eager = min(eager, key=lambda c: med[c]["infer_ms"]) if eager else None
    row = {"model": name, "threads": threads, "batch": SHAPES[name][1],
           "torch": {c: med[c]["step_ms"] for c in args.torch_config},
           "torch_best": best, "torch_step_ms": med[best]["step_ms"],
           "torch_infer_best": best_eager,
           "torch_infer_ms": med[best_eager]["infer_ms"] if best_eager else None,
           "nnc_step_ms": med["nnc"]["step_ms"] if nnc_ok else None,
           "nnc_infer_ms": med["nnc"]["infer_ms"] if nnc_ok else None,
           "train_flops": flops["train_flops"], "forward_flops": flops["forward_flops"],
           "peak": peak[threads][1]}
    return row


def describe(row, label):
    peak = row["peak"]
    t_gf = gflops(row["train_flops"], row["torch_step_ms"])
    s = ("%-15s %-12s threads %d | step PyTorch %s: %.2f ms (%s) %.1f GFLOP/s %.0f%% of peak" %
         (label, row["model"], row["threads"], row["torch_best"], row["torch_step_ms"],
          ", ".join("%s %.2f" % kv for kv in row["torch"].items()), t_gf, 100 * t_gf / peak))
    if row["nnc_step_ms"] is not None:
        n_gf = gflops(row["train_flops"], row["nnc_step_ms"])
        s += (" | nnc %.2f ms %.1f GFLOP/s %.0f%% (x%.2f)" %
              (row["nnc_step_ms"], n_gf, 100 * n_gf / peak,
               row["torch_step_ms"] / row["nnc_step_ms"]))
    if row["torch_infer_ms"] is not None:
        s += " | batch 1 PyTorch eager %s %.4f ms" % (row["torch_infer_best"],
                                                      row["torch_infer_ms"])
        if row["nnc_infer_ms"] is not None:
            s += " nnc %.4f ms (x%.2f)" % (row["nnc_infer_ms"],
                                          row["torch_infer_ms"] / row["nnc_infer_ms"])
    return s


def fmt(v, spec):
    return "n/a" if v is None else spec % v


def write_markdown(path, rows, peak, peak_rows, flops, skipped, args, load_start, load_end,
                   cores):
    with open(path, "w") as f:
        f.write("FMA peak (fma_peak.c, best of its repetitions; median in brackets): %s.\n\n" %
                "; ".join("%s %d thread(s) %.1f GFLOP/s (%.1f)" %
                          (r["isa"], r["threads"], r["gflops_best"], r["gflops_median"])
                          for r in peak_rows if r["supported"]))
        f.write("| model | FLOPs forward / sample | FLOPs per training step | share of the "
                "forward in the first layer |\n|---|---:|---:|---:|\n")
        for name in args.model:
            fl = flops[name]
            f.write("| %s, batch %d | %.2f M | %.3f G | %.1f%% |\n" %
                    (name, fl["batch"], fl["forward_flops"] * 1e-6, fl["train_flops"] * 1e-9,
                     100 * fl["first_layer_frac"]))
        f.write("\n| model | threads | OPENBLAS_CORETYPE | step PyTorch (ms) | best config "
                "| GFLOP/s (% of peak) | step nnc (ms) | GFLOP/s (% of peak) | ratio "
                "| batch 1 PyTorch eager (ms) | batch 1 nnc (ms) | ratio |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        for label, r in rows:
            pk = r["peak"]
            t_gf = gflops(r["train_flops"], r["torch_step_ms"])
            n_gf = gflops(r["train_flops"], r["nnc_step_ms"]) if r["nnc_step_ms"] else None
            f.write("| %s, batch %d | %d | %s | %s | %s | %.1f (%.0f%%) | %s | %s | %s "
                    "| %s | %s | %s |\n" %
                    (r["model"], r["batch"], r["threads"], label,
                     " / ".join("%s %.2f" % kv for kv in r["torch"].items()), r["torch_best"],
                     t_gf, 100 * t_gf / pk, fmt(r["nnc_step_ms"], "%.2f"),
                     "n/a" if n_gf is None else "%.1f (%.0f%%)" % (n_gf, 100 * n_gf / pk),
                     fmt(r["nnc_step_ms"] and r["torch_step_ms"] / r["nnc_step_ms"], "%.2f"),
                     fmt(r["torch_infer_ms"], "%.4f") + (" (%s)" % r["torch_infer_best"]
                                                         if r["torch_infer_best"] else ""),
                     fmt(r["nnc_infer_ms"], "%.4f"),
                     fmt(r["nnc_infer_ms"] and r["torch_infer_ms"] and
                         r["torch_infer_ms"] / r["nnc_infer_ms"], "%.2f")))
        for name, why in skipped.items():
            f.write("\nnnc skipped %s: it does not compile or run (%s).\n" % (name, why))
        if args.torch_env:
            f.write("\nPyTorch's environment also had %s.\n" %
                    " ".join("`%s=%s`" % kv for kv in args.torch_env.items()))
        f.write("\nLoad average (1, 5, 15 min) at start %s, at end %s, on %d cores. "
                "Medians of %d runs; PyTorch: %d timed steps per run after 3 warm-up "
                "steps; nnc: %d epochs of %s steps; batch 1: %d calls per run.\n" %
                (load_start, load_end, cores, args.runs, args.steps, args.epochs,
                 ", ".join("%s %d" % (m, SHAPES[m][2]) for m in args.model), args.infer_runs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default=os.path.join(HERE, "..", "build", "nnc"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", action="append", choices=MODELS)
    ap.add_argument("--threads", action="append", type=int)
    ap.add_argument("--torch-config", action="append", choices=TORCH_CONFIGS)
    ap.add_argument("--steps", type=int, default=20, help="PyTorch's timed steps per run")
    ap.add_argument("--epochs", type=int, default=3, help="nnc's epochs per run")
    ap.add_argument("--infer-runs", type=int, default=200, help="batch-1 calls per run")
    # Many short repetitions: on a loaded machine the best of them is one
    # that ran on a core of its own, which long ones seldom get.
    ap.add_argument("--peak-iters", type=int, default=1000000,
                    help="fma_peak's iterations per repetition (of 16 FMAs; 1e6: about 2 ms)")
    ap.add_argument("--peak-reps", type=int, default=101)
    ap.add_argument("--torch-env", action="append", default=[], metavar="NAME=VALUE",
                    help="set in PyTorch's environment only (repeatable), e.g. "
                    "OMP_WAIT_POLICY=PASSIVE")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    args.torch_env = dict(kv.split("=", 1) for kv in args.torch_env)
    args.model = args.model or list(MODELS)
    args.torch_config = args.torch_config or list(TORCH_CONFIGS)
    cores = os.cpu_count() or 1
    threads_list = sorted(set(args.threads or {1, cores}))
    tmp = tempfile.mkdtemp(prefix="nnc-bench-cnn-")
    rows, skipped = [], {}
    load_start = loadavg()
    print("load average at start: %s (%d cores)%s" %
          (load_start, cores, "; PyTorch also with " + " ".join(
              "%s=%s" % kv for kv in args.torch_env.items()) if args.torch_env else ""),
          flush=True)
    try:
        peak, peak_rows = {}, []
        for t in reversed(threads_list):  # fma_peak measures 1 and its --threads
            if t not in peak:
                got, got_rows = measure_peak(tmp, t, args.peak_iters, args.peak_reps)
                peak.update(got)
                peak_rows += [r for r in got_rows if r not in peak_rows]
        for r in peak_rows:
            if r["supported"]:
                print("FMA peak %s %d thread(s): best %.1f GFLOP/s (median %.1f)" %
                      (r["isa"], r["threads"], r["gflops_best"], r["gflops_median"]), flush=True)
        flops = {}
        for name in args.model:
            cmd = [sys.executable, os.path.join(HERE, "torch_cnn.py"), name, "--flops"]
            flops[name] = json_line(run_out(cmd), cmd)
            fl = flops[name]
            print("%s: forward %.2f MFLOP per sample, training step %.3f GFLOP (batch %d)" %
                  (name, fl["forward_flops"] * 1e-6, fl["train_flops"] * 1e-9, fl["batch"]),
                  flush=True)
        data = {name: write_data(tmp, name, SHAPES[name][1] * SHAPES[name][2])
                for name in args.model}
        exes, compile_s = {}, {}
        for name in args.model:
            exes[name], compile_s[name], why = nnc_build(args.nnc, name, data[name], tmp)
            if why:
                skipped[name] = why
                print("nnc: skipping %s, it does not compile or run: %s" % (name, why),
                      flush=True)
            else:
                print("nnc: %s compiled ahead of time in %.1f s" % (name, compile_s[name]),
                      flush=True)
        for label, coretype in coretype_settings():
            for name in args.model:
                for threads in threads_list:
                    row = measure_row(args, name, threads, coretype, data[name], flops[name], peak,
                                      exes[name])
                    rows.append((label, row))
                    print(describe(row, label), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = loadavg()
    print("load average at end: %s" % load_end)
    if args.markdown:
        write_markdown(args.markdown, rows, peak, peak_rows, flops, skipped, args, load_start,
                       load_end, cores)


if __name__ == "__main__":
    main()
