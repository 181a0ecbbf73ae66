"""Reads `step N loss X` lines (the output of :train) and checks that the
loss fell: the last is below `ratio` times the first. Prints both."""
import re
import sys

ratio = float(sys.argv[1])
losses = [float(m.group(1)) for m in re.finditer(r"^step \d+ loss (\S+)$", sys.stdin.read(), re.M)]
if len(losses) < 2:
    sys.exit("fewer than two loss lines")
print(f"first {losses[0]} last {losses[-1]}")
if not losses[-1] < ratio * losses[0]:
    sys.exit(f"the loss did not fall enough: {losses[0]} -> {losses[-1]}")
print("loss fell")
