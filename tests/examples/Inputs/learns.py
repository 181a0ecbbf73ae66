"""learns.py LOG MAX_LOSS [MIN_ACC] - checks an `nnc run` log of a short
training run: the last epoch's training loss is below the first epoch's
and below MAX_LOSS, and its training accuracy at least MIN_ACC (when given:
a loss such as mse reports no accuracy). Short runs are judged by their
training figures: the batch-norm examples' running statistics have not
settled yet for the validation pass."""
import re
import sys

path, max_loss = sys.argv[1], float(sys.argv[2])
min_acc = float(sys.argv[3]) if len(sys.argv) > 3 else None
epochs = [(float(m.group(1)), float(m.group(2) or "nan"))
          for m in re.finditer(r"^epoch \d+/\d+\s+loss ([0-9.]+)(?:\s+acc ([0-9.]+))?",
                               open(path).read(), re.M)]
fails = []
if len(epochs) < 2:
    fails.append("fewer than 2 epoch lines")
else:
    (first, _), (last, acc) = epochs[0], epochs[-1]
    if not last < first:
        fails.append("loss %.4f did not fall from %.4f" % (last, first))
    if not last < max_loss:
        fails.append("loss %.4f is not below %.4f" % (last, max_loss))
    if min_acc is not None and not acc >= min_acc:
        fails.append("accuracy %.4f is below %.4f" % (acc, min_acc))
print("learns: " + ("ok" if not fails else "WRONG: " + "; ".join(fails)))
sys.exit(1 if fails else 0)
