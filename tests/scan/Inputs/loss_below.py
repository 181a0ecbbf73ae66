"""Reads `nnc run` output and fails unless the last line's val_loss (else
loss) is below the bound given."""
import re
import sys

bound = float(sys.argv[1])
last = [l for l in sys.stdin.read().splitlines() if l.startswith("result:")][-1]
m = re.search(r"val_loss=([0-9.]+)", last) or re.search(r"loss=([0-9.]+)", last)
loss = float(m.group(1))
print("loss %.4f, bound %.4f" % (loss, bound))
sys.exit(0 if loss < bound else 1)
