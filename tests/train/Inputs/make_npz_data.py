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


# Archives of about 1 MB whose x.npy inflates to 1 GiB of zeros.
def npy_header(shape, descr="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def bomb(name, header, zeros):
    with zipfile.ZipFile(p(name), "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("x.npy", "w") as f:
            f.write(header)
            chunk = bytes(1 << 20)
            for _ in range(zeros >> 20):
                f.write(chunk)
        ybuf = io.BytesIO()
        np.save(ybuf, y)
        z.writestr("y.npy", ybuf.getvalue())


# A header that says what the member holds, in a shape the model cannot
# take (16 features, not 4).
bomb("bomb_shape.npz", npy_header((1 << 24, 16)), 1 << 30)
# A header for 40 samples followed by 1 GiB: the directory's size is not
# what the header says.
bomb("bomb_size.npz", npy_header((40, 4)), 1 << 30)
