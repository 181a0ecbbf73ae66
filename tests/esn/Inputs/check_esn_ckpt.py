"""Two checkpoints of model R, after 1 and 2 epochs: the reservoir and input
weights (state) are in both, identical, with no optimizer state; the
readout (the only parameter) has moved."""
import json
import struct
import sys

import numpy as np


def tensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype={"F32": np.float32, "F64": np.float64}[v["dtype"]]).reshape(v["shape"])
    return out


def main(a, b):
    a, b = tensors(a), tensors(b)
    for k in ("res.W", "res.W_in"):
        assert k in a and k in b, (k, sorted(a))
        assert np.array_equal(a[k], b[k]), k
    assert not [k for k in a if k.startswith("optim.res.")], sorted(a)
    assert "optim.readout.W.m" in a, sorted(a)
    moved = np.abs(a["readout.W"] - b["readout.W"]).max()
    assert moved > 0, moved
    rho = np.abs(np.linalg.eigvals(a["res.W"].astype(np.float64))).max()
    print(f"res.W {a['res.W'].shape} radius {rho:.5f} unchanged; readout.W moved by {moved:.2e}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
