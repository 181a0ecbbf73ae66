"""check_ae_grid.py PNG DIR LOG EVAL_LOG [SHOW COLS] - checks what
examples/ae_grid.py made from a trained autoencoder: DIR holds its --keep
files (held_out.npy, recon.npy), LOG its output, EVAL_LOG the output of
`nnc run --eval` on the same checkpoint and data.

- The PNG decodes (signature, chunk CRCs, 8-bit grey IHDR, zlib data,
  filter bytes) to the grid ae_grid.py documents: SHOW cells of COLS per
  row, each the input digit (held_out.npy's grey levels, exactly) beside
  its reconstruction (recon.npy's values rounded to grey levels, exactly),
  framed by 2 pixels of grey 128.
- The reported error is the mean squared error of recon.npy against
  held_out.npy / 255 (NumPy, f64), and agrees with --eval's loss,
  which the runtime computes over the same held-out digits: so the split
  ae_grid.py reproduced is the runtime's.
"""
import re
import struct
import sys
import zlib

import numpy as np

png, work, log, eval_log = sys.argv[1:5]
show = int(sys.argv[5]) if len(sys.argv) > 5 else 32
cols = int(sys.argv[6]) if len(sys.argv) > 6 else 8
fails = []


def decode_png(path):
    raw = open(path, "rb").read()
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("check_ae_grid: %s has no PNG signature" % path)
    pos, chunks = 8, []
    while pos < len(raw):
        n = struct.unpack(">I", raw[pos:pos + 4])[0]
        kind, data = raw[pos + 4:pos + 8], raw[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", raw[pos + 8 + n:pos + 12 + n])[0]
        if zlib.crc32(kind + data) & 0xFFFFFFFF != crc:
            fails.append("chunk %r has a bad CRC" % kind)
        chunks.append((kind, data))
        pos += 12 + n
    kinds = [k for k, _ in chunks]
    if kinds[0] != b"IHDR" or kinds[-1] != b"IEND":
        sys.exit("check_ae_grid: chunks %s: IHDR must come first and IEND last" % kinds)
    w, h, depth, colour, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if (depth, colour, comp, filt, interlace) != (8, 0, 0, 0, 0):
        sys.exit("check_ae_grid: not a plain 8-bit grey PNG: %s" %
                 ((depth, colour, comp, filt, interlace),))
    pix = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    if len(pix) != h * (w + 1):
        sys.exit("check_ae_grid: %d bytes of image data for %dx%d" % (len(pix), w, h))
    rows = np.frombuffer(pix, np.uint8).reshape(h, w + 1)
    if rows[:, 0].any():
        sys.exit("check_ae_grid: filter types %s, only 0 (none) is written" %
                 sorted(set(rows[:, 0].tolist())))
    return rows[:, 1:]


img = decode_png(png)
held = np.load(work + "/held_out.npy")
recon = np.load(work + "/recon.npy")
n, _, hh, ww = held.shape
if recon.shape != held.shape:
    fails.append("recon.npy %s and held_out.npy %s differ in shape" % (recon.shape, held.shape))
grid_rows = (show + cols - 1) // cols
want_w, want_h = 2 + cols * (2 * ww + 2), 2 + grid_rows * (hh + 2)
if img.shape != (want_h, want_w):
    sys.exit("check_ae_grid: the PNG is %dx%d, expected %dx%d" %
             (img.shape[1], img.shape[0], want_w, want_h))
expect = np.full((want_h, want_w), 128, np.uint8)
for k in range(show):
    y, x = 2 + (k // cols) * (hh + 2), 2 + (k % cols) * (2 * ww + 2)
    expect[y:y + hh, x:x + ww] = held[k, 0].astype(np.uint8)
    expect[y:y + hh, x + ww:x + 2 * ww] = np.floor(np.clip(recon[k, 0], 0, 1) * 255 + 0.5)
bad = np.argwhere(img != expect)
if len(bad):
    y, x = bad[0]
    fails.append("%d pixels differ from the npy files, first at (%d, %d): %d, expected %d" %
                 (len(bad), x, y, img[y, x], expect[y, x]))
if not (held == np.round(held)).all() or held.min() < 0 or held.max() > 255:
    fails.append("held_out.npy is not grey levels 0..255")

mse = float(np.mean((recon.astype(np.float64) - held / 255.0) ** 2))
m = re.search(r"^reconstruction error: ([0-9.]+) .* over (\d+) held-out digits", open(log).read(),
              re.M)
if not m:
    fails.append("no 'reconstruction error:' line in %s" % log)
else:
    if abs(float(m.group(1)) - mse) > 5e-7 + 1e-5 * mse:
        fails.append("reported error %s, the npy files give %.6f" % (m.group(1), mse))
    if int(m.group(2)) != n:
        fails.append("reported %s digits, recon.npy has %d" % (m.group(2), n))
e = re.search(r"^eval: .*\bloss=([0-9.e+-]+)", open(eval_log).read(), re.M)
if not e:
    fails.append("no 'eval: ... loss=' line in %s" % eval_log)
elif abs(float(e.group(1)) - mse) > 1e-3 * mse:
    fails.append("--eval's loss %s differs from the grid's error %.6f: not the same digits?"
                 % (e.group(1), mse))
print("ae grid: " + ("ok" if not fails else "WRONG: " + "; ".join(fails)))
sys.exit(1 if fails else 0)
