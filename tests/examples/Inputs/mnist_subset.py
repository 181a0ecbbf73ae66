"""mnist_subset.py SRC_DIR OUT_DIR N - writes the first N digits of the
bundled MNIST (SRC_DIR/mnist10k-*-ubyte.gz) to OUT_DIR as gzip-compressed
IDX files of the same names, so that an example's test trains on a slice
of its data in CI time."""
import gzip
import os
import sys

src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
for name, header, per in (("mnist10k-images-idx3-ubyte.gz", 16, 28 * 28),
                          ("mnist10k-labels-idx1-ubyte.gz", 8, 1)):
    with gzip.open(os.path.join(src, name), "rb") as f:
        raw = f.read()
    head = bytearray(raw[:header])
    total = int.from_bytes(head[4:8], "big")
    if n > total:
        sys.exit("mnist_subset: %s holds %d digits, fewer than %d" % (name, total, n))
    head[4:8] = n.to_bytes(4, "big")
    with gzip.open(os.path.join(out, name), "wb") as f:
        f.write(bytes(head) + raw[header:header + n * per])
