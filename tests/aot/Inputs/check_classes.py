"""Usage: check_classes.py AOT.txt JIT.npy IMAGES.csv

AOT.txt has a line "<digit> <probability>" per image (classify_digits);
JIT.npy the probabilities nnc run --predict wrote. Checks that each digit
is the JIT's argmax and each probability its maximum (to 1e-4), and prints
how many agree and how many match the labels in IMAGES.csv."""
import sys

import numpy as np

lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
probs = np.load(sys.argv[2])
labels = [int(float(r.split(",")[64])) for r in open(sys.argv[3]) if r.strip()]
assert len(lines) == len(probs) == len(labels), (len(lines), len(probs), len(labels))
agree = correct = 0
for (digit, p), row, label in zip(lines, probs, labels):
    if int(digit) == int(row.argmax()) and abs(float(p) - row.max()) < 1e-4:
        agree += 1
    correct += int(digit) == label
print("%d images, %d predictions agree, %d correct" % (len(lines), agree, correct))
