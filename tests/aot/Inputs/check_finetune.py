"""Checks a finetune log: every epoch's loss below the one before, and the
final accuracy above the starting one (weights that stop changing fail
both)."""
import sys

lines = [l.split() for l in open(sys.argv[1])]
start = next(l for l in lines if l[0] == "start")
final = next(l for l in lines if l[0] == "final")
losses = [float(l[3]) for l in lines if l[0] == "epoch"]
falling = all(b < a for a, b in zip(losses, losses[1:]))
if not falling:
    print("loss does not fall every epoch:", losses)
elif not float(final[4]) > float(start[4]) or not float(final[2]) < float(start[2]):
    print("no better at the end:", start, final)
else:
    print(f"{len(losses)} epochs, each lowers the loss; accuracy rises")
