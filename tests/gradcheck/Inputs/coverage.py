"""Fails unless every op with a gradient rule in ops.def appears in the IR of
the gradient-check models given, so a new differentiable op cannot go
unchecked.

usage: coverage.py NNC OPS_DEF MODEL.nn...
"""
import re
import subprocess
import sys


def main():
    nnc, ops_def, models = sys.argv[1], sys.argv[2], sys.argv[3:]
    diff_ops = []
    for line in open(ops_def):
        # OP(Enum, "text", arity, class, shape, grad, emit)
        m = re.match(r'OP\(\s*\w+\s*,\s*"(\w+)"(?:\s*,[^,]*){3},\s*(\w+)\s*,\s*\w+\s*\)\s*$',
                     line)
        if m and m.group(2) != "NODIFF":
            diff_ops.append(m.group(1))
    seen = set()
    for model in models:
        r = subprocess.run([nnc, "--emit=ir", model], capture_output=True, text=True)
        if r.returncode:
            sys.exit("nnc --emit=ir %s failed:\n%s" % (model, r.stderr))
        seen |= set(re.findall(r"^\s+%\d+ = (\w+)", r.stdout, re.M))
    missing = [op for op in diff_ops if op not in seen]
    print("%d differentiable ops, %d without a gradient check%s" %
          (len(diff_ops), len(missing), ": " + ", ".join(missing) if missing else ""))
    return 1 if missing or not diff_ops else 0


if __name__ == "__main__":
    sys.exit(main())
