"""Writes good and broken data files for bad-data.test into DIR."""
import struct
import sys

import numpy as np

d = sys.argv[1]


def write(name, data):
    with open("%s/%s" % (d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


rows = ["0.1,0.2,0.3,0.4,0", "1.0,0.5,0.2,0.1,1", "0.3,0.3,0.9,0.8,2", "0.0,0.1,0.0,0.2,0"]
write("good.csv", "\n".join(rows) + "\n")
write("empty.csv", "")
write("ragged.csv", "\n".join(rows[:2] + ["0.3,0.3,0.9,2"] + rows[3:]) + "\n")
write("text.csv", "\n".join(rows[:1] + ["1.0,abc,0.2,0.1,1"] + rows[2:]) + "\n")
write("label.csv", "\n".join(rows[:3] + ["0.0,0.1,0.0,0.2,7"]) + "\n")

images = np.arange(4 * 2 * 2, dtype=np.uint8).reshape(4, 2, 2)
labels = np.array([0, 1, 2, 0], dtype=np.uint8)


def idx(arr):
    head = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + b"".join(struct.pack(">I", n) for n in arr.shape)
    return head + arr.tobytes()


write("img.idx", idx(images))
write("lab.idx", idx(labels))
write("img_trunc.idx", idx(images)[:-5])
write("img_magic.idx", b"\x12\x34" + idx(images)[2:])
np.save("%s/x.npy" % d, np.ones((4, 4), np.float32))
np.save("%s/y.npy" % d, np.array([0, 1, 2, 0], np.int32))
header = b"{'descr': '<f4', 'shape': (4, 4), }".ljust(118) + b"\n"
write("x_badheader.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(64))
write("x_hugeheader.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0x7FFFFFF0) + b"{")
