"""NumPy's side of the .npy tests (test_npy.c and npy.test).

  npy_tool.py make DIR    writes good and bad .npy files with NumPy (and by
                          hand where NumPy would refuse), for `test_npy read`
  npy_tool.py check DIR   loads what `test_npy write DIR` wrote with NumPy and
                          checks dtype, shape, values and the header layout

The values follow the formulas test_npy.c uses: element i of a float array is
i * 0.25 - 1, of an int array i * 3 - 7, of a bool array i % 3 == 0.
"""
import os
import struct
import sys

import numpy as np


def floats(shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n, dtype=np.float64) * 0.25 - 1).astype(dtype).reshape(shape)


def ints(shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n, dtype=np.int64) * 3 - 7).astype(dtype).reshape(shape)


def bools(shape):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n) % 3 == 0).reshape(shape)


def raw(path, header, data=b"", version=(1, 0)):
    """A file with exactly this header text (padded like NumPy's)."""
    text = header.encode("latin1")
    lenbytes = 2 if version[0] == 1 else 4
    pad = (64 - (6 + 2 + lenbytes + len(text) + 1) % 64) % 64
    text += b" " * pad + b"\n"
    fmt = "<H" if lenbytes == 2 else "<I"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(text)) + text + data)


def make(d):
    os.makedirs(d, exist_ok=True)
    p = lambda name: os.path.join(d, name)
    # Good files.
    np.save(p("f4_3x4.npy"), floats((3, 4), "<f4"))
    np.save(p("f8_scalar.npy"), floats((), "<f8"))
    np.save(p("i4_5.npy"), ints((5,), "<i4"))
    np.save(p("i8_2x3.npy"), ints((2, 3), "<i8"))
    np.save(p("i8_limits.npy"), np.array([-2**31, 2**31 - 1], dtype="<i8"))
    np.save(p("b1_7.npy"), bools((7,)))
    np.save(p("f4_0x3.npy"), floats((0, 3), "<f4"))
    np.save(p("f8_rank8.npy"), floats((1, 2, 1, 2, 1, 2, 1, 2), "<f8"))
    np.save(p("f4_fortran_1d.npy"), np.asfortranarray(floats((6,), "<f4")))
    with open(p("f4_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, floats((2, 2), "<f4"), version=(2, 0))
    with open(p("f4_v3.npy"), "wb") as f:
        np.lib.format.write_array(f, floats((2, 2), "<f4"), version=(3, 0))
    data = floats((2, 3), "<f4").tobytes()
    raw(p("f4_keys_reordered.npy"),
        "{ \"shape\" :(2,3) ,'fortran_order':False,\t'descr':'<f4'}", data)
    raw(p("f4_py2_longs.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
        data)
    raw(p("f4_trailing_bytes.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
        data + b"extra")

    # Bad files (test_npy.c knows which error each must give).
    with open(p("bad_magic.npy"), "wb") as f:
        f.write(b"\x93NUMPX\x01\x00" + b"\x00" * 100)
    with open(p("empty.npy"), "wb"):
        pass
    with open(p("header_too_large.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x02\x00" + struct.pack("<I", 70000) + b"{" + b" " * 100)
    with open(p("truncated_header.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + b"{'descr': '<f4'")
    good = floats((3, 4), "<f4")
    np.save(p("truncated_data.npy"), good)
    size = os.path.getsize(p("truncated_data.npy"))
    os.truncate(p("truncated_data.npy"), size - 5)
    np.save(p("fortran_2d.npy"), np.asfortranarray(good))
    np.save(p("big_endian.npy"), good.astype(">f4"))
    raw(p("rank9.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }",
        b"\0" * 4)
    raw(p("negative_dim.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }")
    raw(p("numel_overflow.npy"),
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")
    raw(p("huge_shape_small_file.npy"),
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", b"\0" * 64)
    raw(p("dim_too_large.npy"),
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }")
    np.save(p("i8_too_big.npy"), np.array([1, 2, 2**31], dtype="<i8"))
    np.save(p("u2.npy"), np.zeros(3, dtype="<u2"))
    np.save(p("structured.npy"), np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
    raw(p("version4.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
        b"\0" * 4, version=(4, 0))
    raw(p("missing_shape.npy"), "{'descr': '<f4', 'fortran_order': False, }")
    raw(p("unknown_key.npy"),
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", b"\0" * 4)
    raw(p("duplicate_key.npy"),
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", b"\0" * 4)
    raw(p("garbage_header.npy"), "this is not a dict")
    raw(p("unterminated_string.npy"), "{'descr: <f4}")
    raw(p("text_after_dict.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': ()} x")
    raw(p("bad_bool.npy"), "{'descr': '<f4', 'fortran_order': maybe, 'shape': ()}")


def check(d):
    """What test_npy write DIR wrote, as NumPy reads it."""
    expect = {
        "w_f32_2x3.npy": floats((2, 3), "<f4"),
        "w_f64_scalar.npy": floats((), "<f8"),
        "w_i32_5.npy": ints((5,), "<i4"),
        "w_bool_7.npy": bools((7,)),
        "w_f32_0x3.npy": floats((0, 3), "<f4"),
        "w_f64_rank8.npy": floats((1, 2, 1, 2, 1, 2, 1, 2), "<f8"),
        "w_f32_70.npy": floats((70,), "<f4"),
        "w_overwritten.npy": ints((3,), "<i4"),
    }
    failed = 0
    for name, want in sorted(expect.items()):
        path = os.path.join(d, name)
        got = np.load(path)
        with open(path, "rb") as f:
            head = f.read(10)
        hlen = struct.unpack("<H", head[8:10])[0]
        problems = []
        if head[:8] != b"\x93NUMPY\x01\x00":
            problems.append("not version 1.0")
        if (10 + hlen) % 64:
            problems.append("data not 64-byte aligned")
        if got.dtype != want.dtype:
            problems.append("dtype %s, want %s" % (got.dtype, want.dtype))
        if got.shape != want.shape:
            problems.append("shape %s, want %s" % (got.shape, want.shape))
        elif not np.array_equal(got, want):
            problems.append("values differ")
        if os.path.exists(path + ".tmp"):
            problems.append("left %s.tmp behind" % name)
        for p in problems:
            print("%s: %s" % (name, p))
        failed += bool(problems)
    print("npy_tool check: %d of %d files wrong" % (failed, len(expect)))
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        sys.exit("usage: npy_tool.py make|check DIR")
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
