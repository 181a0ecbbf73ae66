"""ae_grid.py - the convolutional autoencoder's reconstructions of held-out
digits as a PNG grid, and their reconstruction error.

    nnc run examples/autoencoder.nn -O2 --checkpoint ae.safetensors
    python3 examples/ae_grid.py --checkpoint ae.safetensors -o recon.png

It takes the digits that training held out (the data section's seeded
validation split, reproduced here exactly as the runtime draws it:
runtime/dataset.c), has `nnc run examples/autoencoder.nn --predict`
reconstruct all of them with the checkpoint's weights, prints their mean
squared error per pixel (pixels in [0, 1]: what the validation pass
reports as val_loss) and writes the first --show of them as an 8-bit grey
PNG: each cell holds the input digit and, beside it, its reconstruction.

Only the standard library: the IDX file through gzip, .npy by hand, the
PNG through zlib and struct. --keep DIR leaves the inputs (held_out.npy,
f32 [N, 1, 28, 28], grey levels 0..255) and the reconstructions
(recon.npy, f32 [N, 1, 28, 28] in [0, 1]) in DIR.
"""
import argparse
import ast
import gzip
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MASK32, MASK64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


# ---- the runtime's random numbers (runtime/rng.c) and its split ----------

def philox4x32_10(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(10):
        if r:
            k0 = (k0 + 0x9E3779B9) & MASK32
            k1 = (k1 + 0xBB67AE85) & MASK32
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
    return c0, c1, c2, c3


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


class Rng:
    """nnrt_rng: output c is word c % 4 of the Philox block {c / 4} under
    the key splitmix64(seed)."""

    def __init__(self, seed):
        key = splitmix64(seed & MASK64)
        self.key = (key & MASK32, key >> 32)
        self.counter = 0
        self.block = None

    def u32(self):
        b, w = divmod(self.counter, 4)
        if w == 0 or self.block is None:
            self.block = philox4x32_10((b & MASK32, b >> 32, 0, 0), self.key)
        self.counter += 1
        return self.block[w]

    def below(self, n):
        """nnrt_rng_below for n < 2^32: rejection of the biased low values."""
        if n <= 1:
            return 0
        low = (-n) % (1 << 32) % n
        while True:
            x = self.u32()
            if x >= low:
                return x % n


def held_out_indices(n, fraction, seed):
    """The indices nnrt_dataset_split puts in the validation set, in its
    order: the last round(n * fraction) (at least 1) of the shuffle that
    nnrt_epoch_order draws for epoch -1."""
    if not 0 < fraction < 1:
        sys.exit("ae_grid: --validation must be in (0, 1), got %g" % fraction)
    nv = max(1, int(math.floor(n * fraction + 0.5)))
    if nv >= n:
        sys.exit("ae_grid: %d digits leave none for training at --validation %g" % (n, fraction))
    rng = Rng(seed ^ ((0x9E3779B97F4A7C15 * 1) & MASK64))  # epoch -1: (uint64)-1 + 2 = 1
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm[n - nv:]


# ---- files -------------------------------------------------------------------

def read_idx_images(path):
    """(count, rows, cols, bytes) of a (gzip-compressed) IDX3 ubyte file."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 16 or struct.unpack(">I", raw[:4])[0] != 0x803:
        sys.exit("ae_grid: %s is not an IDX file of unsigned-byte images" % path)
    n, rows, cols = struct.unpack(">III", raw[4:16])
    if len(raw) != 16 + n * rows * cols:
        sys.exit("ae_grid: %s holds %d bytes of pixels, its header says %d" %
                 (path, len(raw) - 16, n * rows * cols))
    return n, rows, cols, raw[16:]


def write_npy_f32(path, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d, " % d for d in shape))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack("<%df" % len(values), *values))


def read_npy_f32(path):
    """(shape, values) of a little-endian f32 C-order .npy file."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:6] != b"\x93NUMPY":
        sys.exit("ae_grid: %s is not a .npy file" % path)
    hlen, start = ((struct.unpack("<H", raw[8:10])[0], 10) if raw[6] == 1 else
                   (struct.unpack("<I", raw[8:12])[0], 12))
    head = ast.literal_eval(raw[start:start + hlen].decode("latin1"))
    if head.get("descr") != "<f4" or head.get("fortran_order"):
        sys.exit("ae_grid: %s holds %s%s, expected little-endian f32 in C order" %
                 (path, head.get("descr"), " (Fortran order)" if head.get("fortran_order") else ""))
    shape = tuple(head["shape"])
    count = math.prod(shape)
    data = raw[start + hlen:]
    if len(data) != 4 * count:
        sys.exit("ae_grid: %s holds %d bytes of data, its shape %s needs %d" %
                 (path, len(data), shape, 4 * count))
    return shape, struct.unpack("<%df" % count, data)


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & MASK32))


def write_png_grey(path, width, rows):
    """rows: `height` bytes objects of `width` grey levels each."""
    raw = b"".join(b"\x00" + r for r in rows)  # filter type 0 (none) on every row
    ihdr = struct.pack(">IIBBBBB", width, len(rows), 8, 0, 0, 0, 0)  # 8-bit grey
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


# ---- the grid ----------------------------------------------------------------

def grey(v):
    """A reconstruction's pixel in [0, 1] as a grey level."""
    return int(math.floor(min(max(v, 0.0), 1.0) * 255 + 0.5))


def grid_rows(inputs, recons, h, w, cols, gap=2, background=128):
    """The PNG's rows: cells of [input | reconstruction] (each h x w),
    `cols` per row, separated and framed by `gap` pixels of `background`."""
    count = len(inputs)
    width = gap + cols * (2 * w + gap)
    fill = bytes([background])
    out = []
    for gr in range((count + cols - 1) // cols):
        out.extend(fill * width for _ in range(gap))
        for y in range(h):
            line = bytearray(fill * gap)
            for k in range(gr * cols, gr * cols + cols):
                if k < count:
                    line += inputs[k][y * w:(y + 1) * w] + bytes(recons[k][y * w:(y + 1) * w])
                else:
                    line += fill * (2 * w)
                line += fill * gap
            out.append(bytes(line))
    out.extend(fill * width for _ in range(gap))
    return width, out


def default_nnc():
    found = shutil.which("nnc")
    return found or os.path.join(HERE, "..", "build", "nnc")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True, help="the trained autoencoder's weights")
    ap.add_argument("-o", "--output", required=True, help="the PNG to write")
    ap.add_argument("--nnc", default=default_nnc(), help="the nnc to run (default: on PATH, "
                    "else build/nnc)")
    ap.add_argument("--model", default=os.path.join(HERE, "autoencoder.nn"))
    ap.add_argument("--images", default=os.path.join(HERE, "data",
                                                     "mnist10k-images-idx3-ubyte.gz"),
                    help="the digits the model trained on (its data section's, or --data's)")
    ap.add_argument("--validation", type=float, default=0.2, help="the data section's split")
    ap.add_argument("--seed", type=int, default=1, help="the data section's seed")
    ap.add_argument("--show", type=int, default=32, help="digits in the PNG (default 32)")
    ap.add_argument("--cols", type=int, default=8, help="cells per row of the PNG (default 8)")
    ap.add_argument("--keep", metavar="DIR", help="keep held_out.npy and recon.npy in DIR")
    args = ap.parse_args()
    if args.show < 1 or args.cols < 1:
        sys.exit("ae_grid: --show and --cols must be at least 1")

    n, rows, cols, pixels = read_idx_images(args.images)
    npix = rows * cols
    held = held_out_indices(n, args.validation, args.seed)
    inputs = [pixels[i * npix:(i + 1) * npix] for i in held]

    work = args.keep or tempfile.mkdtemp(prefix="ae-grid-")
    os.makedirs(work, exist_ok=True)
    try:
        held_npy, recon_npy = os.path.join(work, "held_out.npy"), os.path.join(work, "recon.npy")
        write_npy_f32(held_npy, (len(held), 1, rows, cols), [float(b) for d in inputs for b in d])
        cmd = [args.nnc, "run", args.model, "--predict", held_npy, "--checkpoint",
               args.checkpoint, "-o", recon_npy]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("ae_grid: `%s` failed:\n%s" % (" ".join(cmd), r.stderr + r.stdout))
        shape, recon = read_npy_f32(recon_npy)
        if shape != (len(held), 1, rows, cols):
            sys.exit("ae_grid: %s has shape %s, expected %s" %
                     (recon_npy, shape, (len(held), 1, rows, cols)))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    sq = math.fsum((recon[k * npix + p] - inputs[k][p] / 255.0) ** 2
                   for k in range(len(held)) for p in range(npix))
    mse = sq / (len(held) * npix)
    show = min(args.show, len(held))
    cells = [[grey(v) for v in recon[k * npix:(k + 1) * npix]] for k in range(show)]
    width, png_rows = grid_rows(inputs[:show], cells, rows, cols, min(args.cols, show))
    write_png_grey(args.output, width, png_rows)
    print("reconstruction error: %.6f (mean squared error per pixel, pixels in [0, 1], "
          "over %d held-out digits)" % (mse, len(held)))
    print("wrote %s: %d digits (left) and their reconstructions (right), %dx%d pixels" %
          (args.output, show, width, len(png_rows)))


if __name__ == "__main__":
    main()
