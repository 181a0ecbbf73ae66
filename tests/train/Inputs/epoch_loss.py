"""epoch_loss.py LOG EPOCH LOW HIGH: fails unless the training loss on the
epoch line EPOCH of an `nnc run` log lies in [LOW, HIGH]; prints it."""
import re
import sys

path, epoch, low, high = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
losses = [float(m.group(2)) for m in re.finditer(r"^epoch (\d+)/\d+  loss ([0-9.e+-]+|nan|inf)",
                                                 open(path).read(), re.M)
          if int(m.group(1)) == epoch]
ok = len(losses) == 1 and low <= losses[0] <= high
print(f"epoch {epoch} loss {losses} in [{low:g}, {high:g}]: {'yes' if ok else 'NO'}")
sys.exit(0 if ok else 1)
