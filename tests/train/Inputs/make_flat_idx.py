"""Writes DIR/flat.gz, 100 samples of 784 u8 values as a rank-2 IDX file
(each sample flat, not an image), and DIR/flat_labels.gz, gzip-compressed."""
import gzip
import os
import struct
import sys

out = sys.argv[1]
n = 100
images = struct.pack(">BBBBII", 0, 0, 0x08, 2, n, 784) + bytes(i % 251 for i in range(n * 784))
labels = struct.pack(">BBBBI", 0, 0, 0x08, 1, n) + bytes(i % 10 for i in range(n))
with open(os.path.join(out, "flat.gz"), "wb") as f:
    f.write(gzip.compress(images, mtime=0))
with open(os.path.join(out, "flat_labels.gz"), "wb") as f:
    f.write(gzip.compress(labels, mtime=0))
