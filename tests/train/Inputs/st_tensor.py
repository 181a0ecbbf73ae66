"""st_tensor.py CKPT NAME: prints an f32 tensor of a safetensors checkpoint
as `NAME = [v, ...]` (each value with %g)."""
import json
import struct
import sys

import numpy as np

raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
lo, hi = header[sys.argv[2]]["data_offsets"]
values = np.frombuffer(raw[8 + n + lo:8 + n + hi], np.float32)
print("%s = [%s]" % (sys.argv[2], ", ".join("%g" % v for v in values)))
