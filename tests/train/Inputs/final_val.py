"""Prints val_loss and val_acc of an `nnc run` training log's result line,
or loss and acc of an --eval line, rounded alike so the two compare."""
import re
import sys

text = open(sys.argv[1]).read()
m = re.search(r"^result: .* val_loss=([0-9.]+) val_acc=([0-9.]+)", text, re.M)
if not m:
    m = re.search(r"^eval: .* loss=([0-9.]+) acc=([0-9.]+)", text, re.M)
print("%.5f %.4f" % (float(m.group(1)), float(m.group(2))))
