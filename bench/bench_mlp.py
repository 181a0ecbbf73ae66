"""Benchmark: forward and forward+backward of an MLP 784-512-512-10, nnc
against PyTorch on the same machine in the same run.

For every combination of batch size (128, 1), thread count (1 and the
machine's cores) and OpenBLAS core type (as inherited from the environment,
and unset, and Haswell if neither is Haswell), nnc (`nnc bench`, JIT) and
PyTorch (torch_mlp.py) each run in a fresh process with that environment.
Times are medians of individually timed calls; ratios are PyTorch's time
divided by nnc's (above 1: nnc is faster).

usage: /usr/bin/python3 bench/bench_mlp.py [--nnc build/nnc] [--runs 50]
       [--markdown FILE]
"""
import argparse
import json
import os
import subprocess
import sys

from bench_common import coretype_env, coretype_settings

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd, env, prefix=""):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    for line in r.stdout.splitlines():
        if line.startswith(prefix) and "{" in line:
            return json.loads(line[line.index("{"):])
    sys.exit("no JSON from: %s\n%s" % (" ".join(cmd), r.stdout))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default=os.path.join(HERE, "..", "build", "nnc"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--markdown")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    for label, coretype in coretype_settings():
        env = coretype_env(coretype)
        for threads in sorted({1, cores}):
            env["NNC_THREADS"] = str(threads)
            env["OMP_NUM_THREADS"] = str(threads)
            for batch in (128, 1):
                nnc = run_json([args.nnc, "bench", os.path.join(HERE, "mlp784.nn"),
                                "--dim", "B=%d" % batch, "--runs", str(args.runs),
                                "--threads", str(threads)], env, "bench-json:")
                torch = run_json([sys.executable, os.path.join(HERE, "torch_mlp.py"),
                                  str(batch), str(threads), str(args.runs)], env)
                rows.append((label, threads, batch, nnc, torch))
                print("%-20s threads %d batch %3d | forward nnc %.4f ms torch %.4f ms "
                      "(x%.2f) | fwd+bwd nnc %.4f ms torch %.4f ms (x%.2f) | compile %.3f s" %
                      (label, threads, batch, nnc["forward_ms"], torch["forward_ms"],
                       torch["forward_ms"] / nnc["forward_ms"], nnc["step_ms"],
                       torch["step_ms"], torch["step_ms"] / nnc["step_ms"], nnc["compile_s"]),
                      flush=True)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| OPENBLAS_CORETYPE | threads | batch | forward nnc (ms) | forward "
                    "PyTorch (ms) | ratio | fwd+bwd nnc (ms) | fwd+bwd PyTorch (ms) | ratio |\n")
            f.write("|---|---|---|---|---|---|---|---|---|\n")
            for label, threads, batch, n, t in rows:
                f.write("| %s | %d | %d | %.4f | %.4f | %.2f | %.4f | %.4f | %.2f |\n" %
                        (label, threads, batch, n["forward_ms"], t["forward_ms"],
                         t["forward_ms"] / n["forward_ms"], n["step_ms"], t["step_ms"],
                         t["step_ms"] / n["step_ms"]))
            f.write("\nnnc compile time of the MLP (front end + JIT of forward and "
                    "training step): %.3f s\n" % rows[0][3]["compile_s"])


if __name__ == "__main__":
    main()
