"""Python's side of the safetensors tests (test_safetensors.c and
safetensors.test): a reader and a writer of the format built on json and
NumPy alone, independent of runtime/safetensors.c.

  st_tool.py make DIR    writes good checkpoints (py.safetensors,
                         py_empty.safetensors) and one malformed file per
                         error test_safetensors.c expects, for
                         `test_safetensors read` and `... errors`
  st_tool.py check DIR   reads what `test_safetensors write DIR` wrote and
                         checks the layout nnc promises (8-byte aligned
                         header, contiguous offsets in the given order,
                         metadata) and every value

The values follow the formulas test_safetensors.c uses: element i of a float
array is i * 0.25 - 1, of an int array i * 3 - 7, of a bool array
i % 3 == 0.
"""
import json
import os
import struct
import sys

import numpy as np

NUMPY_DTYPE = {
    "F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "I16": "<i2", "I32": "<i4",
    "I64": "<i8", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?",
}

# A name that needs JSON escapes (quote, backslash, newline) and is not ASCII.
ODD_NAME = 'layer.0/w "q" \\ \u00fc\u4e2d'


def floats(shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n, dtype=np.float64) * 0.25 - 1).astype(dtype).reshape(shape)


def ints(shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n, dtype=np.int64) * 3 - 7).astype(dtype).reshape(shape)


def bools(shape):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n) % 3 == 0).reshape(shape)


# ---- writing ----

def raw(path, header, data=b"", length=None):
    """A file with exactly this header (bytes or str) and data; `length`
    overrides the 8-byte header length."""
    if isinstance(header, str):
        header = header.encode("utf-8")
    n = len(header) if length is None else length
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", n) + header + data)


def save(path, tensors, metadata=None, listing=None, pad=True):
    """tensors: [(name, dtype code, array)] laid out in this order; the
    header lists them in `listing` order (names) if given."""
    header, data, offset = {}, b"", 0
    entries = {}
    for name, code, arr in tensors:
        b = np.ascontiguousarray(arr, dtype=NUMPY_DTYPE[code]).tobytes()
        entries[name] = {"dtype": code, "shape": list(arr.shape),
                         "data_offsets": [offset, offset + len(b)]}
        data += b
        offset += len(b)
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in listing or [t[0] for t in tensors]:
        header[name] = entries[name]
    text = json.dumps(header).encode("utf-8")
    if pad:
        text += b" " * (-len(text) % 8)
    raw(path, text, data)


def entry(dtype="F32", shape=(2, 3), offsets=(0, 24)):
    e = {}
    if dtype is not None:
        e["dtype"] = dtype
    if shape is not None:
        e["shape"] = list(shape)
    if offsets is not None:
        e["data_offsets"] = list(offsets)
    return e


def make(d):
    os.makedirs(d, exist_ok=True)
    p = lambda name: os.path.join(d, name)
    # Good files. The data is laid out in one order and listed in another,
    # and the header is not padded to 8 bytes (both are allowed).
    tensors = [
        ("w", "F32", floats((3, 4), "<f4")),
        ("half", "F16", floats((2,), "<f2")),
        ("b", "F64", floats((4,), "<f8")),
        ("step", "I32", ints((), "<i4")),
        ("mask", "BOOL", bools((5,))),
        ("long", "I64", ints((3,), "<i8")),
        ("none", "F32", floats((0, 7), "<f4")),
        ("r8", "F64", floats((1, 2, 1, 2, 1, 2, 1, 2), "<f8")),
        (ODD_NAME, "I32", ints((2, 2), "<i4")),
    ]
    listing = ["mask", "w", ODD_NAME, "half", "b", "none", "step", "r8", "long"]
    meta = {"format": "np", "epoch": "3", "note": 'caf\u00e9 "quoted"\n'}
    save(p("py.safetensors"), tensors, meta, listing, pad=False)
    save(p("py_empty.safetensors"), [])

    # Malformed files: test_safetensors.c knows the error each must give.
    data24 = floats((2, 3), "<f4").tobytes()
    with open(p("bad_short.safetensors"), "wb") as f:
        f.write(b"\x02\x00\x00")
    raw(p("bad_header_past_end.safetensors"), b"{" + b" " * 40, length=1000)
    raw(p("bad_header_huge.safetensors"), b"{}      ", length=2**64 - 1)
    raw(p("bad_header_empty.safetensors"), b"", data24)
    raw(p("bad_not_json.safetensors"), "this is not json")
    raw(p("bad_text_after.safetensors"), '{"a": ' + json.dumps(entry()) + "} x", data24)
    raw(p("bad_not_object.safetensors"), "[1, 2]   ")
    raw(p("bad_not_utf8.safetensors"), b'{"\xff": 1}')
    bad = {
        "entry_not_object": {"a": 5},
        "no_dtype": {"a": entry(dtype=None)},
        "no_shape": {"a": entry(shape=None)},
        "no_offsets": {"a": entry(offsets=None)},
        "dtype_number": {"a": entry(dtype=4)},
        "dtype_unknown": {"a": entry(dtype="Q7")},
        "shape_not_array": {"a": dict(entry(), shape=6)},
        "shape_negative": {"a": entry(shape=(2, -3))},
        "shape_fraction": {"a": entry(shape=(2.5, 3))},
        "shape_rank9": {"a": entry(shape=(1,) * 8 + (6,))},
        "shape_overflow": {"a": entry(shape=(2**40, 2**40))},
        "offsets_one": {"a": entry(offsets=(0,))},
        "offsets_three": {"a": entry(offsets=(0, 12, 24))},
        "offsets_string": {"a": entry(offsets=("0", "24"))},
        "offsets_reversed": {"a": entry(offsets=(24, 0))},
        "offsets_past_end": {"a": entry(offsets=(0, 48))},
        "size_mismatch": {"fc1.W": entry(shape=(5, 6), offsets=(0, 100))},
        "overlap": {"a": entry(offsets=(0, 24)), "b": entry(offsets=(16, 40))},
        "hole": {"a": entry(offsets=(0, 24)), "b": entry(offsets=(32, 56))},
        "trailing_bytes": {"a": entry()},
        "no_tensors_but_data": {},
        "meta_not_object": {"__metadata__": ["x"], "a": entry()},
        "meta_not_string": {"__metadata__": {"epoch": 3}, "a": entry()},
    }
    sizes = {"size_mismatch": 100, "overlap": 40, "hole": 56, "trailing_bytes": 32,
             "no_tensors_but_data": 8, "offsets_past_end": 24}
    for name, header in bad.items():
        n = sizes.get(name, 24)
        raw(p("bad_%s.safetensors" % name), json.dumps(header), (data24 * 5)[:n])
    # json.dumps cannot write a key twice.
    e = json.dumps(entry())
    raw(p("bad_duplicate.safetensors"),
        '{"a": %s, "a": %s}' % (e, json.dumps(entry(offsets=(24, 48)))), data24 * 2)
    raw(p("bad_duplicate_field.safetensors"),
        '{"a": {"dtype": "F32", "dtype": "F64", "shape": [2, 3], "data_offsets": [0, 24]}}',
        data24)
    raw(p("bad_meta_duplicate.safetensors"),
        '{"__metadata__": {"k": "1", "k": "2"}, "a": %s}' % e, data24)
    # Names cJSON would cut at an escaped NUL or pass with control
    # characters, raw control characters JSON forbids, an escape it has not.
    raw(p("bad_name_nul.safetensors"), '{"fc1.W\\u0000evil": %s}' % e, data24)
    raw(p("bad_name_newline.safetensors"), '{"fc1.W\\nb": %s}' % e, data24)
    raw(p("bad_name_raw_tab.safetensors"), '{"fc1.W\tb": %s}' % e, data24)
    raw(p("bad_meta_nul.safetensors"),
        '{"__metadata__": {"nnc.model": "Mlp\\u0000x"}, "a": %s}' % e, data24)
    raw(p("bad_meta_raw_control.safetensors"),
        '{"__metadata__": {"note": "a\x01b"}, "a": %s}' % e, data24)
    raw(p("bad_bad_escape.safetensors"), '{"a\\x41": %s}' % e, data24)
    # A good file cut short inside its data.
    save(p("bad_truncated.safetensors"), [("a", "F32", floats((2, 3), "<f4"))])
    os.truncate(p("bad_truncated.safetensors"),
                os.path.getsize(p("bad_truncated.safetensors")) - 4)


# ---- reading ----

def load(path):
    """(header length, header dict in file order, header text, data)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    text = blob[8:8 + n].decode("utf-8")
    return n, json.loads(text), text, blob[8 + n:]


def check_file(path, want, meta):
    """want: [(name, code, array)] in the order nnc was given them."""
    problems = []
    n, header, text, data = load(path)
    if n % 8:
        problems.append("header length %d is not a multiple of 8" % n)
    if len(text) - len(text.rstrip(" ")) >= 8:
        problems.append("more padding than a multiple of 8 needs")
    got_meta = header.pop("__metadata__", None)
    if got_meta != meta:
        problems.append("metadata %r, want %r" % (got_meta, meta))
    names = list(header)
    if names != [w[0] for w in want]:
        problems.append("tensors listed as %r, want %r" % (names, [w[0] for w in want]))
    offset = 0
    for name, code, arr in want:
        e = header.get(name)
        if e is None:
            continue
        b, end = e["data_offsets"]
        if b != offset:
            problems.append("%r starts at %d, want %d" % (name, b, offset))
        if e["dtype"] != code:
            problems.append("%r has dtype %s, want %s" % (name, e["dtype"], code))
        if e["shape"] != list(arr.shape):
            problems.append("%r has shape %s, want %s" % (name, e["shape"], list(arr.shape)))
            continue
        got = np.frombuffer(data[b:end], dtype=NUMPY_DTYPE[code]).reshape(e["shape"])
        if not np.array_equal(got, arr):
            problems.append("%r: values differ" % name)
        if code == "BOOL" and not set(data[b:end]) <= {0, 1}:
            problems.append("%r: bool bytes other than 0 and 1" % name)
        offset = end
    if offset != len(data):
        problems.append("data is %d bytes, tensors cover %d" % (len(data), offset))
    return problems


def check(d):
    """What test_safetensors write DIR wrote (see do_write there)."""
    all_dtypes = [
        ("f32_2x3", "F32", floats((2, 3), "<f4")),
        ("f64_scalar", "F64", floats((), "<f8")),
        ("i32_5", "I32", ints((5,), "<i4")),
        ("bool_7", "BOOL", bools((7,))),
        ("f32_0x3", "F32", floats((0, 3), "<f4")),
        ("f64_rank8", "F64", floats((1, 2, 1, 2, 1, 2, 1, 2), "<f8")),
        ("i32_scalar", "I32", ints((), "<i4")),
        (ODD_NAME, "F32", floats((3,), "<f4")),
    ]
    meta = {"format": "nnc", "step": "42", "note": 'caf\u00e9 "quoted"\n\t\\ \u0001'}
    expect = {
        "nnrt.safetensors": (all_dtypes, meta),
        "nnrt_nometa.safetensors": ([("x", "F32", floats((70,), "<f4"))], None),
        "nnrt_none.safetensors": ([], None),
        "nnrt_overwritten.safetensors": ([("y", "I32", ints((3,), "<i4"))], {"v": "2"}),
    }
    failed = 0
    for name, (want, m) in sorted(expect.items()):
        try:
            problems = check_file(os.path.join(d, name), want, m)
        except (OSError, ValueError, KeyError, TypeError) as e:
            problems = ["cannot read: %s" % e]
        for p in problems:
            print("%s: %s" % (name, p))
        failed += bool(problems)
    left = [f for f in os.listdir(d) if ".tmp." in f]
    for f in left:
        print("left behind: %s" % f)
    print("st_tool check: %d of %d files wrong, %d temporary files left"
          % (failed, len(expect), len(left)))
    return 1 if failed or left else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        sys.exit("usage: st_tool.py make|check DIR")
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
