"""NumPy's side of the .npz tests (test_npz.c and npz.test).

  npz_tool.py make DIR    writes .npz archives with NumPy (np.savez,
                          np.savez_compressed, to a file and to a stream that
                          cannot seek), and broken ones: cut, not a ZIP, every
                          field of the ZIP structures that the reader checks
                          made wrong in turn, members that are not .npy files

Array values follow npy_tool.py's formulas (element i of a float array is
i * 0.25 - 1, of an int array i * 3 - 7, of a bool array i % 3 == 0), which
test_npz.c computes again.
"""
import io
import os
import struct
import sys
import zipfile

import numpy as np

from npy_tool import bools, floats, ints


def arrays():
    """The members of stored.npz and compressed.npz, by key."""
    return {
        "a": floats((3, 4), "<f4"),
        "b": floats((2, 3), "<f8"),
        "c": ints((5,), "<i4"),
        "d": ints((2, 3), "<i8"),
        "e": bools((7,)),
        "s": floats((), "<f8"),
    }


class Unseekable(io.RawIOBase):
    """A write-only stream without tell or seek: zipfile then writes sizes
    and CRCs after each member's data (a data descriptor), not in its local
    header."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


def unseekable(save, **kw):
    s = Unseekable()
    save(s, **kw)
    return bytes(s.buf)


# ---- the ZIP structures, to break them ----


def end_record(data):
    return data.rindex(b"PK\x05\x06")


def directory(data):
    """{name: offset of its central directory entry}."""
    end = end_record(data)
    count, _, pos = struct.unpack_from("<HII", data, end + 10)
    out = {}
    for _ in range(count):
        nlen, xlen, clen = struct.unpack_from("<HHH", data, pos + 28)
        out[data[pos + 46:pos + 46 + nlen].decode()] = pos
        pos += 46 + nlen + xlen + clen
    return out


def local_header(data, name):
    return struct.unpack_from("<I", data, directory(data)[name] + 42)[0]


def data_start(data, name):
    local = local_header(data, name)
    nlen, xlen = struct.unpack_from("<HH", data, local + 26)
    return local + 30 + nlen + xlen


def patched(data, at, fmt, fn):
    """data with the field of struct format fmt at offset `at` replaced by
    fn(its value)."""
    b = bytearray(data)
    struct.pack_into(fmt, b, at, fn(struct.unpack_from(fmt, b, at)[0]))
    return bytes(b)


def entry_field(data, name, offset, fmt, fn):
    return patched(data, directory(data)[name] + offset, fmt, fn)


# central directory entry fields
FLAGS, CRC, CSIZE, USIZE, LOCAL = 8, 16, 20, 24, 42


def members(entries, compression=zipfile.ZIP_STORED):
    """An archive of these (name, bytes) members, as zipfile writes it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as z:
        for name, data in entries:
            z.writestr(name, data)
    return out.getvalue()


def npy_bytes(a):
    out = io.BytesIO()
    np.save(out, a)
    return out.getvalue()


def npy_raw(header, data=b""):
    """A .npy file with this header text (as npy_tool.raw writes it)."""
    text = header.encode("latin1")
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def make(d):
    os.makedirs(d, exist_ok=True)

    def write(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    def read(name):
        with open(os.path.join(d, name), "rb") as f:
            return f.read()

    # Good archives.
    np.savez(os.path.join(d, "stored.npz"), **arrays())
    np.savez_compressed(os.path.join(d, "compressed.npz"), **arrays())
    write("unseekable_stored.npz", unseekable(np.savez, **arrays()))
    write("unseekable_compressed.npz", unseekable(np.savez_compressed, **arrays()))
    # Members of many inflate chunks, and one near deflate's best ratio.
    np.savez_compressed(os.path.join(d, "big.npz"), big=floats((300, 1000), "<f8"),
                        zeros=np.zeros((1000, 1000), "<f4"))
    np.savez(os.path.join(d, "positional.npz"), ints((4,), "<i4"), floats((2,), "<f4"))
    np.savez(os.path.join(d, "comment.npz"), a=floats((3, 4), "<f4"))
    with zipfile.ZipFile(os.path.join(d, "comment.npz"), "a") as z:
        z.comment = b"PK\x05\x06 a comment that looks like an end record"
    np.savez(os.path.join(d, "empty_archive.npz"))

    # Broken archives (test_npz.c knows the error each must give).
    stored, compressed = read("stored.npz"), read("compressed.npz")
    write("not_zip.npz", npy_bytes(floats((3, 4), "<f4")))
    write("empty.npz", b"")
    write("truncated.npz", stored[:len(stored) // 2])
    cd = struct.unpack_from("<I", stored, end_record(stored) + 16)[0]
    write("cut_middle.npz", stored[:cd - 100] + stored[cd:])
    write("bzip2.npz", members([("a.npy", npy_bytes(floats((3, 4), "<f4")))],
                               zipfile.ZIP_BZIP2))
    write("method_local.npz",
          patched(compressed, local_header(compressed, "a.npy") + 8, "<H", lambda m: 0))
    write("encrypted.npz", entry_field(stored, "a.npy", FLAGS, "<H", lambda f: f | 1))
    last = data_start(stored, "a.npy") + len(npy_bytes(arrays()["a"])) - 1
    write("crc_data.npz", patched(stored, last, "<B", lambda b: b ^ 0x40))
    write("crc_field.npz", entry_field(compressed, "a.npy", CRC, "<I", lambda c: c ^ 1))
    write("stored_sizes.npz", entry_field(stored, "a.npy", USIZE, "<I", lambda n: n + 1))
    write("ratio.npz", entry_field(compressed, "a.npy", USIZE, "<I", lambda n: 0x7FFFFFFF))
    write("usize_small.npz", entry_field(compressed, "a.npy", USIZE, "<I", lambda n: n - 8))
    write("usize_large.npz", entry_field(compressed, "a.npy", USIZE, "<I", lambda n: n + 8))
    write("csize_short.npz", entry_field(compressed, "a.npy", CSIZE, "<I", lambda n: n // 2))
    write("csize_past.npz", entry_field(compressed, "a.npy", CSIZE, "<I", lambda n: n + 10000))
    write("local_offset.npz", entry_field(stored, "a.npy", LOCAL, "<I", lambda n: n + 1))
    write("local_name.npz",
          patched(stored, local_header(stored, "a.npy") + 30, "<B", lambda c: ord("q")))
    write("zip64.npz", patched(stored, end_record(stored) + 16, "<I", lambda n: 0xFFFFFFFF))
    write("zip64_member.npz", entry_field(stored, "a.npy", CSIZE, "<I", lambda n: 0xFFFFFFFF))
    write("multidisk.npz", patched(stored, end_record(stored) + 4, "<H", lambda n: 1))
    write("bad_entry.npz", entry_field(stored, "b.npy", 0, "<I", lambda s: 0x12345678))
    write("deflate_corrupt.npz",
          patched(compressed, data_start(compressed, "a.npy"), "<B", lambda b: 0xFF))
    write("npy_garbage.npz", members([("x.npy", b"not a .npy file at all")]))
    write("npy_truncated.npz", members([("x.npy", npy_bytes(floats((3, 4), "<f4"))[:-8])]))
    write("npy_huge.npz", members([("x.npy", npy_raw(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", bytes(64)))],
        zipfile.ZIP_DEFLATED))

    # Data sets for nnrt_load_npz, and the same arrays as .npy pairs.
    x, y = floats((4, 3), "<f8"), np.array([0, 2, 1, 2], "<i8")
    np.savez_compressed(os.path.join(d, "data.npz"), x=x, y=y)
    np.savez(os.path.join(d, "keys.npz"), feat=x, lab=y.astype("<f4"))
    np.save(os.path.join(d, "data_x.npy"), x)
    np.save(os.path.join(d, "data_y.npy"), y)
    np.savez(os.path.join(d, "count.npz"), x=x, y=y[:3])
    np.savez(os.path.join(d, "range.npz"), x=x, y=np.array([0, 2, 5, 1], "<i8"))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "make":
        sys.exit("usage: npz_tool.py make DIR")
    make(sys.argv[2])
