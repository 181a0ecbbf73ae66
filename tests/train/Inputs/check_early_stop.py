"""Checks an `nnc run` log of a run with `patience = P` that stopped early:
the last P epochs' validation losses are all above the best before them,
and the epoch before those P is that best (so the run stopped as soon as it
should have and not later). With BEST_EVAL, an `nnc run --eval` log of the
best-epoch checkpoint, also that its loss is that best validation loss.
Prints what it found.

usage: check_early_stop.py LOG P [BEST_EVAL]"""
import re
import sys

text = open(sys.argv[1]).read()
patience = int(sys.argv[2])
val = [float(v) for v in re.findall(r"^epoch \d+/\d+ .*val_loss ([0-9.]+)", text, re.M)]
if "early stop" not in text or len(val) <= patience:
    sys.exit("no early stop after more than %d epochs:\n%s" % (patience, text))
best_before = min(val[:-patience])
tail = val[-patience:]
if not all(v >= best_before for v in tail):
    sys.exit("stopped although an epoch of the last %d improved: %s" % (patience, val))
if val[-patience - 1] != best_before:
    sys.exit("should have stopped earlier: %s" % val)
print("stopped after %d epochs, %d without a better val_loss than %.4f"
      % (len(val), patience, best_before))
if len(sys.argv) > 3:
    got = float(re.search(r"^eval: .* loss=([0-9.]+)", open(sys.argv[3]).read(), re.M).group(1))
    if abs(got - best_before) > 1e-4 * best_before + 1e-4:
        sys.exit("the best checkpoint evaluates to %r, the best val_loss was %r" % (got, best_before))
    print("the best checkpoint evaluates to the best val_loss")
