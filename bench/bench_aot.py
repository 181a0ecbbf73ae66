"""Benchmark: the digits MLP of examples/mlp.nn (64-128-64-10, relu, softmax
in predict) compiled ahead of time, against PyTorch on the same machine in
the same run: size, cold start to the first prediction, and inference
latency at batch 1 (and 64).

Setup (once): train a checkpoint with `nnc run examples/mlp.nn --checkpoint
CK --no-progress`; compile the executable (`nnc examples/mlp.nn -o mlp`), a
stripped copy, the object (`nnc -c`) and the object with the weights baked
in (`nnc -c --bake CK`); link bench/aot_latency.c with the object and
bench/aot_cold.c with the baked object; save the TorchScript module
(torch_infer.py save-script). Inputs: the first 64 rows of
examples/data/digits.csv scaled to 0..1 as the model was trained (x.bin,
one.csv: the first row), and the first row unscaled (raw.csv) for the
command lines, which scale their input as the data section says.

1. Sizes in bytes of those files. The executable links OpenBLAS, cJSON and
   libc dynamically (libnnrt statically); those shared libraries are not
   counted.
2. Cold start: wall time of a fresh process, from spawn to exit, that loads
   the model and predicts one sample (the CSV's first row), the median of
   --runs runs, the programs interleaved round-robin after one untimed run
   each (page cache warm):
     ./mlp predict raw.csv --checkpoint CK     the nnc executable
     aot_cold one.csv                          C program, baked object
     nnc run examples/mlp.nn --predict ...     JIT, for reference
     python3 torch_infer.py cold-eager ...     import torch, build the
                                               nn.Sequential, read the
                                               safetensors, predict
     python3 torch_infer.py cold-script ...    torch.jit.load of the .pt
   and three baselines: /bin/true (process spawn), an empty C program
   linked with the same shared libraries as aot_cold (OpenBLAS, cJSON: the
   dynamic loading floor) and `python3 -c "import torch"`. Every
   program's printed probabilities are checked against nnc's (max abs
   diff < 1e-5) first.
3. Latency: aot_latency (digits_mlp_predict) against PyTorch eager
   (model(x) under torch.inference_mode()) and TorchScript
   (torch.jit.script + torch.jit.optimize_for_inference, which freezes),
   same weights, same inputs. Before any timing, the predictions of each
   configuration are compared (row 0 as a batch of 1, all 64 rows as one
   batch; max abs diff < 1e-5, else the harness stops).
   Each side: warm-up, then --repeats loops of N calls, N calibrated so a
   loop takes about --target seconds; the figure is the median over the
   loops of the loop's time / N; --procs such processes per side
   (alternating), and the median of their figures is reported (nnc's
   batch-1 figure varies between processes, 0.95-1.5 us here, and not with
   ASLR off: where its buffers land matters). Ratio: PyTorch's time / nnc's.

Threads: every child runs with NNC_THREADS, OPENBLAS_NUM_THREADS and
OMP_NUM_THREADS set to the thread count (--threads, default 1) and PyTorch
with torch.set_num_threads. Every figure is measured with OPENBLAS_CORETYPE
as inherited, unset if it was set, and Haswell (bench_common.coretype_settings),
in separate child processes.

usage: /usr/bin/python3 bench/bench_aot.py [--build build] [--runs 15]
       [--repeats 7] [--target 0.1] [--procs 3] [--threads 1[,2]]
       [--json FILE] [--markdown FILE] [--keep DIR]
"""
import argparse
import array
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench_common import coretype_env, coretype_settings, loadavg, runtime_ldflags

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODEL = os.path.join(REPO, "examples", "mlp.nn")
DIGITS = os.path.join(REPO, "examples", "data", "digits.csv")
ROWS, IN, OUT = 64, 64, 10
TOL = 1e-5
COLD = [  # key, label
    ("exe", "nnc executable: ./mlp predict raw.csv --checkpoint CK"),
    ("baked", "C program + baked object (aot_cold)"),
    ("jit", "nnc run --predict (JIT)"),
    ("torch_eager", "python3: import torch, build, load safetensors, predict"),
    ("torch_script", "python3: import torch, torch.jit.load(.pt), predict"),
    ("true", "baseline: /bin/true"),
    ("empty_blas", "baseline: empty C program linked like aot_cold"),
    ("import_torch", "baseline: python3 -c 'import torch'"),
]


def run(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed (%d): %s\n%s%s" % (r.returncode, " ".join(map(shlex.quote, cmd)),
                                            r.stdout, r.stderr))
    return r.stdout


def read_f32(path):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return a


def max_diff(a, b):
    if len(a) != len(b):
        return float("inf")
    return max(abs(x - y) for x, y in zip(a, b))


def parse_csv_floats(text):
    return [float(v) for line in text.split() for v in line.split(",")]


def setup(args, work):
    nnc = os.path.join(args.build, "nnc")
    cc = os.environ.get("CC", "cc")
    p = lambda *names: os.path.join(work, *names)
    os.makedirs(p("plain"))
    os.makedirs(p("baked"))
    ck = p("ck.safetensors")
    run([nnc, "run", MODEL, "--checkpoint", ck, "--no-progress"])
    run([nnc, MODEL, "-o", p("mlp")])
    run(["strip", "-o", p("mlp.stripped"), p("mlp")])
    run([nnc, "-c", MODEL, "-o", p("plain", "m.o")])
    run([nnc, "-c", MODEL, "--bake", ck, "-o", p("baked", "m.o")])
    link = [os.path.join(args.build, "libnnrt.a")] + runtime_ldflags(args.build)
    inc = ["-I" + os.path.join(REPO, "runtime")]
    run([cc, "-O2", "-I" + p("plain")] + inc + [os.path.join(HERE, "aot_latency.c"),
                                                 p("plain", "m.o"), "-o", p("aot_latency")] + link)
    run([cc, "-O2", "-I" + p("baked")] + inc + [os.path.join(HERE, "aot_cold.c"),
                                                 p("baked", "m.o"), "-o", p("aot_cold")] + link)
    run(["strip", "-o", p("aot_cold.stripped"), p("aot_cold")])
    with open(p("empty.c"), "w") as f:
        f.write("int main(void) { return 0; }\n")
    run([cc, "-O2", p("empty.c"), "-o", p("empty_blas"), "-Wl,--no-as-needed"] +
        runtime_ldflags(args.build))
    run([sys.executable, os.path.join(HERE, "torch_infer.py"), "save-script", ck, p("model.pt")])

    # x.bin and one.csv: scaled as the model takes them (the C API and
    # PyTorch); raw.csv: the pixels as in the data file, for ./mlp predict
    # and nnc run --predict, which scale their input as the data section
    # says (scale = 0.0625, exact for these integers).
    x, raw = array.array("f"), None
    with open(DIGITS) as f:
        for line in f:
            if line.strip() and len(x) < ROWS * IN:
                if not raw:
                    raw = line.split(",")[:IN]
                x.extend(float(v) / 16.0 for v in line.split(",")[:IN])
    with open(p("x.bin"), "wb") as f:
        f.write(x.tobytes())
    with open(p("one.csv"), "w") as f:
        f.write(",".join("%.9g" % v for v in x[:IN]) + "\n")
    with open(p("raw.csv"), "w") as f:
        f.write(",".join(v.strip() for v in raw) + "\n")

    sizes = [
        ("executable (nnc examples/mlp.nn -o mlp)", p("mlp")),
        ("executable, stripped", p("mlp.stripped")),
        ("object (nnc -c)", p("plain", "m.o")),
        ("object with baked weights (nnc -c --bake)", p("baked", "m.o")),
        ("C program + baked object (aot_cold), stripped", p("aot_cold.stripped")),
        ("checkpoint (safetensors, with Adam state)", ck),
        ("TorchScript module (.pt, optimize_for_inference)", p("model.pt")),
    ]
    return ck, [(label, os.path.getsize(path)) for label, path in sizes]


def cold_commands(args, work, ck):
    py = [sys.executable, os.path.join(HERE, "torch_infer.py")]
    one, raw = os.path.join(work, "one.csv"), os.path.join(work, "raw.csv")
    return {
        "exe": [os.path.join(work, "mlp"), "predict", raw, "--checkpoint", ck],
        "baked": [os.path.join(work, "aot_cold"), one],
        "jit": [os.path.join(args.build, "nnc"), "run", MODEL, "--predict", raw,
                "--checkpoint", ck],
        "torch_eager": py + ["cold-eager", ck, one],
        "torch_script": py + ["cold-script", os.path.join(work, "model.pt"), one],
        "true": ["/bin/true"],
        "empty_blas": [os.path.join(work, "empty_blas")],
        "import_torch": [sys.executable, "-c", "import torch"],
    }


def measure(args, work, ck, env, threads):
    p = lambda *names: os.path.join(work, *names)
    # Agreement first: nnc's predictions against eager and TorchScript.
    run([p("aot_latency"), ck, p("x.bin"), "--check", p("nnc.bin")], env)
    run([sys.executable, os.path.join(HERE, "torch_infer.py"), "check", ck, p("x.bin"),
         p("torch.bin")], env)
    ours, theirs = read_f32(p("nnc.bin")), read_f32(p("torch.bin"))
    n = len(ours)
    if n != (1 + ROWS) * OUT or len(theirs) != 2 * n:
        sys.exit("unexpected prediction sizes: nnc %d, torch %d" % (n, len(theirs)))
    diffs = {"eager": max_diff(ours, theirs[:n]), "script": max_diff(ours, theirs[n:]),
             "batch1_vs_batch64": max_diff(ours[:OUT], ours[OUT:2 * OUT])}
    for k, d in diffs.items():
        if not d < TOL:
            sys.exit("predictions disagree (%s): max abs diff %g" % (k, d))

    # Cold start: one untimed run each (checked), then interleaved timed runs.
    cmds = cold_commands(args, work, ck)
    ref = list(ours[:OUT])
    cold_diff = {}
    for key, cmd in cmds.items():
        out = run(cmd, env)
        if key in ("true", "empty_blas", "import_torch"):
            continue
        got = parse_csv_floats(out)
        cold_diff[key] = max_diff(ref, got)
        if not cold_diff[key] < TOL:
            sys.exit("cold start %s predicts %s, nnc's digits_mlp_predict %s (./mlp predict "
                     "and nnc run --predict get the pixels unscaled, as in the data file)"
                     % (key, got, ref))
    times = {k: [] for k in cmds}
    for _ in range(args.runs):
        for key, cmd in cmds.items():
            t0 = time.perf_counter()
            r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            dt = time.perf_counter() - t0
            if r.returncode != 0:
                sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr.decode()))
            times[key].append(dt * 1e3)
    cold = {k: {"median_ms": statistics.median(v), "min_ms": min(v), "runs": len(v)}
            for k, v in times.items()}

    # Latency: --procs processes per side, alternating; each figure is the
    # median of the processes' medians (a process's figure depends on where
    # its buffers land: with ASLR, 0.95-1.5 us at batch 1 between processes).
    batches = ",".join(map(str, args.batches))
    nnc_runs, torch_runs = [], []
    for _ in range(args.procs):
        nnc_runs.append(json.loads(run([p("aot_latency"), ck, p("x.bin"), batches,
                                        str(args.target), str(args.repeats)], env)))
        torch_runs.append(json.loads(run([sys.executable, os.path.join(HERE, "torch_infer.py"),
                                          "latency", ck, p("x.bin"), str(threads), batches,
                                          str(args.target), str(args.repeats)], env)))
        if torch_runs[-1]["threads"] != threads:
            sys.exit("PyTorch runs %d threads, not %d" % (torch_runs[-1]["threads"], threads))
    latency = {}
    for b in args.batches:
        latency[b] = {}
        for side, key, runs in (("nnc", "nnc_b%d", nnc_runs), ("eager", "eager_b%d", torch_runs),
                                ("script", "script_b%d", torch_runs)):
            figs = [r[key % b] for r in runs]
            latency[b][side + "_us"] = statistics.median(f["median_us"] for f in figs)
            latency[b][side + "_min_us"] = min(f["min_us"] for f in figs)
            latency[b][side + "_procs_us"] = [f["median_us"] for f in figs]
            latency[b][side + "_iters"] = [f["iters"] for f in figs]
    return {"diffs": diffs, "cold_diffs": cold_diff, "cold": cold, "latency": latency,
            "torch": torch_runs[0]["torch"]}


def markdown(res):
    lines = []
    w = lines.append
    w("Sizes (bytes):\n")
    w("| file | bytes |")
    w("|---|---|")
    for label, size in res["sizes"]:
        w("| %s | %d |" % (label, size))
    cfgs = res["configs"]
    w("\nCold start to the first prediction, wall time of a fresh process (ms, median "
      "of %d runs, minimum in parentheses):\n" % res["runs"])
    w("| program | " + " | ".join("threads %d, OPENBLAS_CORETYPE %s" % (c["threads"],
                                                                        c["coretype"])
                                   for c in cfgs) + " |")
    w("|---|" + "---|" * len(cfgs))
    for key, label in COLD:
        w("| %s | %s |" % (label, " | ".join("%.1f (%.1f)" % (c["cold"][key]["median_ms"],
                                                                 c["cold"][key]["min_ms"])
                                             for c in cfgs)))
    w("\nInference latency per call (us; per process the median of %d loops, then the "
      "median of %d processes; ratio = PyTorch / nnc):\n" % (res["repeats"], res["procs"]))
    w("| OPENBLAS_CORETYPE | threads | batch | nnc (us) | PyTorch eager (us) | ratio "
      "| TorchScript (us) | ratio |")
    w("|---|---|---|---|---|---|---|---|")
    for c in cfgs:
        for b, l in sorted(c["latency"].items(), key=lambda kv: int(kv[0])):
            w("| %s | %d | %s | %.2f | %.2f | %.1f | %.2f | %.1f |" %
              (c["coretype"], c["threads"], b, l["nnc_us"], l["eager_us"],
               l["eager_us"] / l["nnc_us"], l["script_us"], l["script_us"] / l["nnc_us"]))
    w("\nLoad average (1, 5, 15 min) at start %s, at end %s; PyTorch %s; max abs "
      "difference of the predictions, nnc against eager / TorchScript: %s." %
      (res["load_start"], res["load_end"], res["torch"],
       "; ".join("%g / %g" % (c["diffs"]["eager"], c["diffs"]["script"]) for c in cfgs)))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="build directory with nnc and libnnrt.a")
    ap.add_argument("--runs", type=int, default=15, help="cold-start runs per program")
    ap.add_argument("--repeats", type=int, default=7, help="timed loops per latency figure")
    ap.add_argument("--target", type=float, default=0.1, help="seconds per timed loop")
    ap.add_argument("--procs", type=int, default=3,
                    help="latency processes per side and configuration")
    ap.add_argument("--threads", default="1", help="thread counts, comma-separated")
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    ap.add_argument("--keep", help="build in this (new or empty) directory and keep it")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.batches = [int(b) for b in args.batches.split(",")]
    if max(args.batches) > ROWS or min(args.batches) < 1:
        sys.exit("--batches: 1..%d" % ROWS)
    thread_counts = [int(t) for t in args.threads.split(",")]
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    work = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="nnc-bench-aot-")
    res = {"load_start": loadavg(), "cores": os.cpu_count(), "runs": args.runs,
           "repeats": args.repeats, "procs": args.procs, "target_s": args.target, "configs": []}
    print("load average at start: %s (%d cores)" % (res["load_start"], res["cores"]), flush=True)
    try:
        ck, res["sizes"] = setup(args, work)
        for label, size in res["sizes"]:
            print("size %-48s %9d bytes" % (label, size), flush=True)
        for label, coretype in coretype_settings():
            for threads in thread_counts:
                env = coretype_env(coretype)
                for var in ("NNC_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
                    env[var] = str(threads)
                m = measure(args, work, ck, env, threads)
                m.update({"coretype": label, "threads": threads})
                res["configs"].append(m)
                res["torch"] = m["torch"]
                print("%s, threads %d: predictions agree (max abs diff: eager %.2g, "
                      "TorchScript %.2g, cold-start programs %.2g)" %
                      (label, threads, m["diffs"]["eager"], m["diffs"]["script"],
                       max(m["cold_diffs"].values())), flush=True)
                for key, desc in COLD:
                    c = m["cold"][key]
                    print("  cold start %-58s %8.1f ms (min %.1f)" %
                          (desc, c["median_ms"], c["min_ms"]), flush=True)
                for b in args.batches:
                    l = m["latency"][b]
                    print("  batch %2d: nnc %8.2f us | eager %8.2f us (x%.1f) | "
                          "TorchScript %8.2f us (x%.1f)" %
                          (b, l["nnc_us"], l["eager_us"], l["eager_us"] / l["nnc_us"],
                           l["script_us"], l["script_us"] / l["nnc_us"]), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    res["load_end"] = loadavg()
    print("load average at end: %s" % res["load_end"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(res))


if __name__ == "__main__":
    main()
