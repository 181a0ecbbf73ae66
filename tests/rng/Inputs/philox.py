"""Philox-4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as
easy as 1, 2, 3", SC 2011), written from the paper's definition, and the
values nnc's random ops derive from it (compiler/backend/cg_random.c).

Vectorised over NumPy uint64 arrays holding 32-bit words. The published
known-answer vectors (Random123's kat_vectors) are checked by kat()."""
import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = np.uint64(0xFFFFFFFF)


def philox4x32_10(ctr, key):
    """ctr: four arrays (or ints) of 32-bit words, key: two; returns four."""
    c = [np.asarray(x, dtype=np.uint64) & MASK for x in ctr]
    k0, k1 = (np.asarray(x, dtype=np.uint64) & MASK for x in key)
    for r in range(10):
        if r:
            k0 = (k0 + np.uint64(W0)) & MASK
            k1 = (k1 + np.uint64(W1)) & MASK
        p0 = c[0] * np.uint64(M0)  # < 2^64: no wrap
        p1 = c[2] * np.uint64(M1)
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
    return c


# Random123 1.09, examples/kat_vectors, the philox4x32 10 lines:
# counter words, key words -> expected output words
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2,
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


def kat():
    """The known-answer vectors: a list of failures (empty when all hold)."""
    bad = []
    for ctr, key, want in KAT:
        got = tuple(int(x) for x in philox4x32_10(ctr, key))
        if got != want:
            bad.append("ctr %s key %s: got %s, want %s" % (
                [hex(x) for x in ctr], [hex(x) for x in key], [hex(x) for x in got],
                [hex(x) for x in want]))
    return bad


def words(n, seed, step, stream):
    """The four words of elements 0..n-1 of a random op."""
    i = np.arange(n, dtype=np.uint64)
    ctr = (i & MASK, i >> np.uint64(32), np.full(n, stream, np.uint64),
           np.full(n, step & 0xFFFFFFFF, np.uint64))
    s = np.uint64(seed)
    return philox4x32_10(ctr, (s & MASK, s >> np.uint64(32)))


def uniform_f32(n, seed=0, step=0, stream=0):
    x = words(n, seed, step, stream)
    return ((x[0] >> np.uint64(8)).astype(np.float64) * 2.0 ** -24).astype(np.float32)


def unit_f64(hi, lo, open0=False):
    k = ((hi << np.uint64(32)) | lo) >> np.uint64(11)
    return (k + np.uint64(1 if open0 else 0)).astype(np.float64) * 2.0 ** -53


def uniform_f64(n, seed=0, step=0, stream=0):
    """Within 2^-24 of uniform_f32: the same numbers, more bits."""
    x = words(n, seed, step, stream)
    return unit_f64(x[0], x[2])


def dropout_keep(n, p, seed=0, step=0, stream=0):
    """Which elements dropout keeps (the f32 uniform >= p)."""
    x = words(n, seed, step, stream)
    return (x[0] >> np.uint64(8)).astype(np.float64) * 2.0 ** -24 >= p


def normal_f64(n, seed=0, step=0, stream=0):
    """Box-Muller as the f64 code computes it (exactly, up to libm)."""
    x = words(n, seed, step, stream)
    u1, u2 = unit_f64(x[0], x[2], open0=True), unit_f64(x[1], x[3])
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


def normal_f32_ref(n, seed=0, step=0, stream=0):
    """The f32 code's Box-Muller in f64 from the same 24-bit uniforms (the
    f32 code agrees to a few ulp)."""
    x = words(n, seed, step, stream)
    u1 = ((x[0] >> np.uint64(8)) + np.uint64(1)).astype(np.float64) * 2.0 ** -24
    u2 = (x[1] >> np.uint64(8)).astype(np.float64) * 2.0 ** -24
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


if __name__ == "__main__":
    import sys
    bad = kat()
    print("\n".join(bad) or "philox4x32_10: %d known-answer vectors hold" % len(KAT))
    sys.exit(1 if bad else 0)
