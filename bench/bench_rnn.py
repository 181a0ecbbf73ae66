"""Benchmark: issue 16's character models (char_lstm, char_gru), nnc against
PyTorch on the same machine in the same run: the training step and batch-1
generation per character.

Each model (bench/char_lstm.nn, char_gru.nn: vocabulary 65, embedding 64,
one LSTM or GRU layer of 256, windows of 64, batch 32, a linear layer to 65,
cross-entropy, Adam) is compiled ahead of time (`nnc -c MODEL.nn`) into an
object linked with rnn_bench.c, which times it through the generated C API:
the training step (PREFIX_train_step: forward, backward, Adam; the median of
single steps after a warm-up) and generation (PREFIX_generate: per
character, one step of the generate function, next_char, with its `state`
carried, and one draw of the sampler; a call's time over its characters).
The PyTorch side (torch_rnn.py) is nn.LSTM / nn.GRU with batch_first, the
same shapes and Adam, timed the same way; its generation is eager, one
step at a time with the hidden state carried, softmax and
torch.multinomial, what a PyTorch user writes. PyTorch runs as `eager` and
`eager+avx512` (ATEN_CPU_CAPABILITY=avx512: its own kernels at AVX-512,
where this torch defaults to AVX2); the best of the two is its figure.

For every OPENBLAS_CORETYPE setting (as inherited and, if it was set,
unset), model and thread count (1 and 2, or --threads), --runs rounds of
fresh processes, alternating sides, and the medians over the rounds.
Ratios are PyTorch's best time divided by nnc's (above 1: nnc is faster).

usage: /usr/bin/python3 bench/bench_rnn.py [--build build] [--runs 3]
       [--model lstm|gru]... [--threads N]... [--steps 20]
       [--gen-tokens 200] [--gen-runs 5] [--torch-env NAME=VALUE]...
       [--markdown FILE]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

from bench_common import alternate, coretype_env, loadavg, runtime_ldflags

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODELS = {"lstm": "char_lstm", "gru": "char_gru"}  # torch_rnn.py's name: the .nn file and prefix
TORCH_CONFIGS = ("eager", "eager+avx512")


def run_out(cmd, env=None):
    """cmd's stdout; exits with its output if it fails."""
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed (%d): %s\n%s%s" % (r.returncode, " ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def json_line(out, cmd):
    for line in out.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    sys.exit("no JSON from: %s\n%s" % (" ".join(cmd), out))


def coretype_settings():
    """(label, OPENBLAS_CORETYPE or None): as inherited, and unset if it was
    set."""
    inherited = os.environ.get("OPENBLAS_CORETYPE")
    settings = [("inherited (%s)" % (inherited or "unset"), inherited)]
    if inherited is not None:
        settings.append(("unset", None))
    return settings


def build_nnc(build, name, tmp):
    """The model's object and rnn_bench linked with it: the executable."""
    prefix = MODELS[name]
    d = os.path.join(tmp, name)
    os.makedirs(d)
    run_out([os.path.join(build, "nnc"), "-c", os.path.join(HERE, prefix + ".nn"), "-o",
             os.path.join(d, "m.o")])
    exe = os.path.join(d, "rnn_bench")
    run_out([os.environ.get("CC", "cc"), "-O2", "-std=c17", "-I" + d,
             "-I" + os.path.join(REPO, "runtime"), "-DPREFIX=" + prefix,
             os.path.join(HERE, "rnn_bench.c"), os.path.join(d, "m.o"), "-o", exe,
             os.path.join(build, "libnnrt.a")] + runtime_ldflags(build))
    return exe


def run_side(args, exe, name, threads, side, env):
    if side == "nnc":
        cmd = [exe, str(args.steps), str(args.gen_tokens), str(args.gen_runs)]
        return json_line(run_out(cmd, env), cmd)
    env = dict(env, **args.torch_env)
    env.pop("ATEN_CPU_CAPABILITY", None)
    if side.endswith("+avx512"):
        env["ATEN_CPU_CAPABILITY"] = "avx512"
    cmd = [sys.executable, os.path.join(HERE, "torch_rnn.py"), name, str(threads),
           str(args.steps), str(args.gen_runs)]
    return json_line(run_out(cmd, env), cmd)


def measure_row(args, exe, name, threads, coretype):
    env = coretype_env(coretype)
    env["NNC_THREADS"] = env["OMP_NUM_THREADS"] = str(threads)
    sides = ("nnc",) + TORCH_CONFIGS
    runs = alternate(args.runs, sides, lambda side: run_side(args, exe, name, threads, side, env))
    med = {s: {k: statistics.median(r[k] for r in runs[s]) for k in ("step_ms", "gen_char_us")}
           for s in sides}
    best_step = min(TORCH_CONFIGS, key=lambda c: med[c]["step_ms"])
    best_gen = min(TORCH_CONFIGS, key=lambda c: med[c]["gen_char_us"])
    return {"model": name, "threads": threads, "med": med, "best_step": best_step,
            "best_gen": best_gen}


def describe(row, label):
    m = row["med"]
    n, ts, tg = m["nnc"], m[row["best_step"]], m[row["best_gen"]]
    return ("%-16s %-4s threads %d | step: nnc %.2f ms, PyTorch %s %.2f ms (%s), x%.2f | "
            "generation per char: nnc %.1f us, PyTorch %s %.1f us, x%.1f" %
            (label, row["model"], row["threads"], n["step_ms"], row["best_step"], ts["step_ms"],
             ", ".join("%s %.2f" % (c, m[c]["step_ms"]) for c in TORCH_CONFIGS),
             ts["step_ms"] / n["step_ms"], n["gen_char_us"], row["best_gen"], tg["gen_char_us"],
             tg["gen_char_us"] / n["gen_char_us"]))


def write_markdown(path, table, args, load_start, load_end):
    with open(path, "w") as f:
        f.write("load average %s at the start, %s at the end; %s; --runs %d --steps %d "
                "--gen-tokens %d --gen-runs %d\n\n" %
                (load_start, load_end, platform.processor() or platform.machine(), args.runs,
                 args.steps, args.gen_tokens, args.gen_runs))
        f.write("| OPENBLAS_CORETYPE | model | threads | nnc step ms | PyTorch step ms "
                "(eager / +avx512) | PyTorch best / nnc | nnc us/char | PyTorch us/char "
                "(eager / +avx512) | PyTorch best / nnc |\n|---|---|---|---|---|---|---|---|---|\n")
        for label, row in table:
            m = row["med"]
            n = m["nnc"]
            f.write("| %s | %s | %d | %.2f | %s | %.2f | %.1f | %s | %.1f |\n" %
                    (label, MODELS[row["model"]], row["threads"], n["step_ms"],
                     " / ".join("%.2f" % m[c]["step_ms"] for c in TORCH_CONFIGS),
                     m[row["best_step"]]["step_ms"] / n["step_ms"], n["gen_char_us"],
                     " / ".join("%.1f" % m[c]["gen_char_us"] for c in TORCH_CONFIGS),
                     m[row["best_gen"]]["gen_char_us"] / n["gen_char_us"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", action="append", choices=sorted(MODELS))
    ap.add_argument("--threads", action="append", type=int)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--gen-tokens", type=int, default=200)
    ap.add_argument("--gen-runs", type=int, default=5)
    ap.add_argument("--torch-env", action="append", default=[])
    ap.add_argument("--markdown")
    args = ap.parse_args()
    args.torch_env = dict(kv.split("=", 1) for kv in args.torch_env)
    models = args.model or ["lstm", "gru"]
    threads = args.threads or [1, 2]
    load_start = loadavg()
    print("load average at the start: %s" % load_start, flush=True)
    table = []
    with tempfile.TemporaryDirectory(prefix="bench_rnn.") as tmp:
        exes = {name: build_nnc(args.build, name, tmp) for name in models}
        for label, coretype in coretype_settings():
            for name in models:
                for n in threads:
                    row = measure_row(args, exes[name], name, n, coretype)
                    table.append((label, row))
                    print(describe(row, label), flush=True)
    load_end = loadavg()
    print("load average at the end: %s" % load_end)
    if args.markdown:
        write_markdown(args.markdown, table, args, load_start, load_end)


if __name__ == "__main__":
    main()
