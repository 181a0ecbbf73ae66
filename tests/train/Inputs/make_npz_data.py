"""Writes the arrays of tiny_npz.nn and tiny_npz_pair.nn into DIR: the same
values as .npz archives (np.savez_compressed, np.savez) and as .npy files,
another training archive for --data, and broken archives."""
import io
import os
import sys
import zipfile

import numpy as np

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
p = lambda name: os.path.join(d, name)
rng = np.random.default_rng(3)


def samples(n):
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 4)) + np.eye(3, 4)[y] * 2  # f64, narrowed on loading
    return x, y  # int64 labels


x, y = samples(40)
vx, vy = samples(12)
np.savez_compressed(p("train.npz"), x=x, y=y)
np.savez(p("val.npz"), features=vx, labels=vy)
np.save(p("x.npy"), x)
np.save(p("y.npy"), y)
np.save(p("val_x.npy"), vx)
np.save(p("val_y.npy"), vy)
ox, oy = samples(24)
np.savez_compressed(p("other.npz"), x=ox, y=oy)

np.savez(p("wrong_keys.npz"), a=x, b=y)
np.savez(p("count.npz"), x=x, y=y[:39])
np.savez(p("wide.npz"), x=np.ones((40, 5)), y=y)
with open(p("not_zip.npz"), "wb") as f:
    np.save(f, x)
good = open(p("train.npz"), "rb").read()
with open(p("truncated.npz"), "wb") as f:
    f.write(good[:len(good) // 2])
# A flipped byte inside the stored x.npy's values: only the CRC can tell.
stored = io.BytesIO()
np.savez(stored, x=x, y=y)
b = bytearray(stored.getvalue())
b[b.index(b"x.npy") + 5 + 20 + 128 + 3] ^= 0x10
with open(p("bad_crc.npz"), "wb") as f:
    f.write(bytes(b))
bz = io.BytesIO()
np.save(bz, x)
with zipfile.ZipFile(p("bzip2.npz"), "w", zipfile.ZIP_BZIP2) as z:
    z.writestr("x.npy", bz.getvalue())
    z.writestr("y.npy", bz.getvalue())
