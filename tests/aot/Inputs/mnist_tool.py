"""Usage: mnist_tool.py npy IMAGES.gz N OUT.npy
          mnist_tool.py check AOT.txt JIT.npy LABELS.gz

npy: the first N images of a gzip-compressed IDX file as float32
[N, 1, 28, 28] in 0..255 (what nnc run --predict takes for LeNet-5).
check: AOT.txt has a line "<index> <digit> <probability>" per image
(classify_mnist); JIT.npy the probabilities nnc run --predict wrote.
Checks that each digit is the JIT's argmax and each probability its
maximum (to 1e-4), and prints how many agree and how many match the
labels. Reads IDX itself (header, big-endian dims), independently of
nnc's reader."""
import gzip
import struct
import sys

import numpy as np


def read_idx(path):
    data = gzip.open(path, "rb").read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


if sys.argv[1] == "npy":
    n = int(sys.argv[3])
    x = read_idx(sys.argv[2])[:n].astype(np.float32).reshape(n, 1, 28, 28)
    np.save(sys.argv[4], x)
else:
    lines = [l.split() for l in open(sys.argv[2]) if l.strip()]
    probs = np.load(sys.argv[3])
    labels = read_idx(sys.argv[4])[:len(lines)]
    assert len(lines) == len(probs), (len(lines), len(probs))
    agree = correct = 0
    for (i, digit, p), row, label in zip(lines, probs, labels):
        if int(digit) == int(row.argmax()) and abs(float(p) - row.max()) < 1e-4:
            agree += 1
        correct += int(digit) == int(label)
    print("%d images, %d predictions agree, %d correct" % (len(lines), agree, correct))
