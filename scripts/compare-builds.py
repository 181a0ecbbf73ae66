#!/usr/bin/python3
"""compare-builds.py OLD_BUILD NEW_BUILD - does a change to the compiler keep
its output and its speed?

For a refactoring that must not change behaviour (issue 13), compares two
build directories (each with its `nnc`), say the base commit's and the
branch's:

1. Emitted code: for every examples/*.nn and bench/*.nn, `--emit=ir`,
   `grad-ir`, `fused-ir` and `llvm` (the functions and, with `--grad`, their
   derived functions) and the ahead-of-time module (`-c --emit=llvm`: every
   function, the training step, the descriptor and the exported API) must be
   the same text, up to the module's name.
2. Training: every example with data and train sections, trained by each
   `nnc run --threads 1`, must print the same epoch and `result:` lines
   (timings left out) and write the same checkpoint bytes.
3. Speed: `nnc bench` (compile time, forward, forward + backward) and
   `nnc run` (the whole training step, from the epoch lines' samples/s) of
   both builds, alternating old and new `--runs` times at one thread; the
   medians and their ratio. On a shared machine these are noisy: compare the
   ratio against the spread between repetitions.

Exit status 0 when 1 and 2 hold (timings never fail the run), 1 otherwise.
Options: --runs N (default 5), --no-timing, --markdown FILE (the timing
table), --work DIR (default: a temporary directory).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sources():
    out = []
    for d in ("examples", "bench"):
        full = os.path.join(ROOT, d)
        out += [os.path.join(d, f) for f in sorted(os.listdir(full)) if f.endswith(".nn")]
    return out


def run(cmd, cwd=None, timeout=600):
    p = subprocess.run(cmd, cwd=cwd or ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout


def normalise_llvm(text):
    # The module's name and source file name come from the output path.
    return "\n".join(l for l in text.splitlines()
                     if not l.startswith("; ModuleID") and not l.startswith("source_filename"))


def has_training(path):
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    return re.search(r"^\s*data\s*\{", text, re.M) and re.search(r"^\s*train\b", text, re.M)


def compare_emits(old, new, work):
    failures = 0
    checks = 0
    for src in sources():
        variants = [["--emit=ir"], ["--emit=grad-ir"], ["--emit=fused-ir"],
                    ["--emit=fused-ir", "--grad"], ["--emit=llvm"], ["--emit=llvm", "--grad"],
                    ["--emit=llvm", "--no-fuse"], ["--mem-plan", "--dim", "B=64"], ["aot"], ["header"]]
        for v in variants:
            outs = []
            for tag, build in (("old", old), ("new", new)):
                nnc = os.path.join(build, "nnc")
                if v == ["aot"]:
                    ll = os.path.join(work, f"{tag}.ll")
                    rc, text = run([nnc, "-c", src, "--emit=llvm", "-o", ll])
                    if rc == 0:
                        with open(ll) as f:
                            text = f.read()
                elif v == ["header"]:
                    # The header names the object: the same name for both.
                    os.makedirs(os.path.join(work, tag), exist_ok=True)
                    h = os.path.join(work, tag, "model.h")
                    rc, text = run([nnc, "-c", src, "-o", os.path.join(work, tag, "model.o"),
                                    "--header", h])
                    if rc == 0:
                        with open(h) as f:
                            text = f.read()
                else:
                    rc, text = run([nnc] + v + [src])
                outs.append((rc, normalise_llvm(text)))
            checks += 1
            if outs[0] != outs[1]:
                failures += 1
                print(f"DIFFERENT: {src} {' '.join(v)} (exit {outs[0][0]} vs {outs[1][0]})")
                a = os.path.join(work, "a.txt")
                b = os.path.join(work, "b.txt")
                with open(a, "w") as f:
                    f.write(outs[0][1])
                with open(b, "w") as f:
                    f.write(outs[1][1])
                _, d = run(["diff", "-u", a, b])
                print("\n".join(d.splitlines()[:40]))
    print(f"emitted code: {checks - failures}/{checks} the same")
    return failures


TIMING = re.compile(r"\s+\d+\.\d+s\s+\d+ samples/s$|\s*time=\S+|\s*samples_per_s=\S+")


def compare_training(old, new, work):
    failures = 0
    checks = 0
    for src in sources():
        if not has_training(src):
            continue
        outs = []
        for tag, build in (("old", old), ("new", new)):
            ck = os.path.join(work, f"{tag}.safetensors")
            for f in (ck, ck.replace(".safetensors", ".best.safetensors")):
                if os.path.exists(f):
                    os.remove(f)
            rc, text = run([os.path.join(build, "nnc"), "run", src, "--threads", "1",
                            "--no-progress", "--checkpoint", ck])
            lines = [TIMING.sub("", l) for l in text.splitlines()
                     if l.startswith("epoch") or l.startswith("result:")]
            blobs = []
            for f in (ck, ck.replace(".safetensors", ".best.safetensors")):
                blobs.append(open(f, "rb").read() if os.path.exists(f) else None)
            outs.append((rc, lines, blobs))
        checks += 1
        result = [l for l in outs[1][1] if l.startswith("result:")]
        if outs[0] != outs[1]:
            failures += 1
            print(f"DIFFERENT: nnc run {src}: exit {outs[0][0]} vs {outs[1][0]}, "
                  f"lines {'same' if outs[0][1] == outs[1][1] else 'differ'}, "
                  f"checkpoints {'same' if outs[0][2] == outs[1][2] else 'differ'}")
        elif result:
            print(f"same bits: {src}: {result[0]}")
        else:
            print(f"same failure: {src}: both exit {outs[0][0]} without training "
                  f"({outs[1][1][-1] if outs[1][1] else 'no epoch line'})")
    print(f"training: {checks - failures}/{checks} the same")
    return failures


BENCH_JSON = re.compile(r"^bench-json: (\{.*\})$", re.M)
EPOCH_RATE = re.compile(r"^epoch .* (\d+) samples/s$", re.M)


def bench_once(build, src):
    import json
    rc, text = run([os.path.join(build, "nnc"), "bench", src, "--dim", "B=64", "--threads", "1"])
    m = BENCH_JSON.search(text)
    if rc != 0 or not m:
        return None
    return json.loads(m.group(1))


def run_step_ms(build, src, batch):
    rc, text = run([os.path.join(build, "nnc"), "run", src, "--threads", "1", "--no-progress",
                    "--batch", str(batch), "--epochs", "5", "--checkpoint",
                    os.path.join(tempfile.gettempdir(), f"nnc-compare-{os.getpid()}.safetensors")])
    rates = [int(r) for r in EPOCH_RATE.findall(text)]
    if rc != 0 or not rates:
        return None
    return 1000.0 * batch / statistics.median(rates)


def timing(old, new, runs, markdown):
    rows = []
    for src in sources():
        samples = {"old": {}, "new": {}}
        for _ in range(runs):
            for tag, build in (("old", old), ("new", new)):
                b = bench_once(build, src)
                if b:
                    for k in ("compile_s", "forward_ms", "step_ms"):
                        samples[tag].setdefault(k, []).append(b[k])
                if has_training(src):
                    s = run_step_ms(build, src, 64)
                    if s is not None:
                        samples[tag].setdefault("run_step_ms", []).append(s)
        for k in ("compile_s", "forward_ms", "step_ms", "run_step_ms"):
            o, n = samples["old"].get(k), samples["new"].get(k)
            if not o or not n:
                continue
            mo, mn = statistics.median(o), statistics.median(n)
            spread = (max(o) - min(o)) / mo if mo else 0.0
            rows.append((src, k, mo, mn, mn / mo if mo else float("nan"), spread))
    head = "| model | measure | old (median) | new (median) | new/old | old spread |"
    lines = [head, "|---|---|---:|---:|---:|---:|"]
    units = {"compile_s": "s", "forward_ms": "ms", "step_ms": "ms", "run_step_ms": "ms"}
    names = {"compile_s": "compile (nnc bench)", "forward_ms": "forward, B=64",
             "step_ms": "forward + backward, B=64", "run_step_ms": "training step (nnc run), B=64"}
    for src, k, mo, mn, r, sp in rows:
        lines.append(f"| {os.path.basename(src)} | {names[k]} | {mo:.4g} {units[k]} | "
                     f"{mn:.4g} {units[k]} | {r:.3f} | {100 * sp:.0f}% |")
    table = "\n".join(lines)
    print(table)
    if markdown:
        with open(markdown, "w") as f:
            f.write(table + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--markdown")
    ap.add_argument("--work")
    a = ap.parse_args()
    old, new = os.path.abspath(a.old), os.path.abspath(a.new)
    for b in (old, new):
        if not os.access(os.path.join(b, "nnc"), os.X_OK):
            sys.exit(f"compare-builds: {b}/nnc is not an executable")
    work = a.work or tempfile.mkdtemp(prefix="nnc-compare-")
    os.makedirs(work, exist_ok=True)
    failures = compare_emits(old, new, work)
    failures += compare_training(old, new, work)
    if not a.no_timing:
        with open("/proc/loadavg") as f:
            print("load average at start:", f.read().split()[:3])
        t0 = time.time()
        timing(old, new, a.runs, a.markdown)
        with open("/proc/loadavg") as f:
            print("load average at end:", f.read().split()[:3],
                  f"({time.time() - t0:.0f} s of timing)")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    print("compare-builds:", "the same" if failures == 0 else f"{failures} differences")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
