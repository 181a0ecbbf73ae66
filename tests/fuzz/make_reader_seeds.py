"""Writes seed inputs for fuzz_readers into DIR: valid files of every kind
the runtime reads, each behind the byte that selects its reader (see
fuzz_readers.c), so the fuzzer starts from inputs that get deep.

usage: make_reader_seeds.py DIR"""
import gzip
import io
import json
import os
import struct
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)
NPY, NPZ, SAFETENSORS, CSV, IDX, TEXT = range(6)


def seed(name, reader, body, option=0):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([reader + 6 * option]) + body)


def npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def npz(compressed, **arrays):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def safetensors(tensors, meta):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        b = arr.tobytes()
        dtype = {"float32": "F32", "float64": "F64", "int32": "I32", "bool": "BOOL"}[str(arr.dtype)]
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def idx(arr, code):
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim) + b"".join(struct.pack(">I", n) for n in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


x = rng.normal(size=(6, 4)).astype(np.float32)
y = rng.integers(0, 3, 6).astype(np.int32)
seed("npy-f32", NPY, npy(x))
seed("npy-f64", NPY, npy(x.astype(np.float64)))
seed("npy-i64", NPY, npy(y.astype(np.int64)))
seed("npy-bool", NPY, npy(x > 0))
seed("npy-scalar", NPY, npy(np.float32(1.5)))
seed("npz-stored", NPZ, npz(False, x=x, y=y))
seed("npz-deflated", NPZ, npz(True, x=x.astype(np.float64), y=y))
seed("safetensors", SAFETENSORS,
     safetensors({"fc.W": x, "fc.b": y.astype(np.float32)[:4], "mask": x[0] > 0},
                 {"nnc.format": "1", "nnc.model": "Fuzz", "nnc.step": "3"}))
rows = "\n".join(",".join("%g" % v for v in r) + ",%d" % c for r, c in zip(x, y)) + "\n"
seed("csv", CSV, rows.encode())
seed("csv-header", CSV, b"a,b,c,d,label\n" + rows.encode(), option=1)
seed("csv-float-label", CSV, rows.encode(), option=2)
images = rng.integers(0, 256, (5, 3, 3)).astype(np.uint8)
labels = rng.integers(0, 10, 5).astype(np.uint8)


def idx_pair(img, lab):  # the images file's length, then both files
    return struct.pack("<H", len(img)) + img + lab


seed("idx", IDX, idx_pair(idx(images, 0x08), idx(labels, 0x08)), option=1)
seed("idx-f32", IDX, idx_pair(idx(images.astype(np.float32), 0x0D), idx(labels.astype(np.int32), 0x0C)),
     option=2)
# gzip-compressed IDX: raw .gz files for the inflater (mtime 0, so the
# seeds are the same bytes each time), and plain IDX images that the
# target compresses itself (option bit 2) for the checks behind it.
def gz(b):
    return gzip.compress(b, mtime=0)


seed("idx-gz", IDX, idx_pair(gz(idx(images, 0x08)), gz(idx(labels, 0x08))), option=1)
seed("idx-gz-f32", IDX, idx_pair(gz(idx(images.astype(np.float32), 0x0D)), idx(labels, 0x08)), option=3)
seed("idx-gz-members", IDX, idx_pair(gz(idx(images, 0x08)[:9]) + gz(idx(images, 0x08)[9:]),
                                     idx(labels, 0x08)), option=1)
seed("idx-gzipped-here", IDX, idx_pair(idx(images, 0x08), idx(labels, 0x08)), option=5)
seed("text", TEXT, b"to be, or not to be: that is the question.\n", option=7)
