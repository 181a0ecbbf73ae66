"""st_set_meta.py IN OUT KEY=VALUE... - writes OUT as the safetensors file
IN with those __metadata__ values set (json alone, independent of the
runtime's writer; the header is padded to 8 bytes as nnc pads it)."""
import json
import struct
import sys

with open(sys.argv[1], "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(n))
    data = f.read()
for kv in sys.argv[3:]:
    key, value = kv.split("=", 1)
    header.setdefault("__metadata__", {})[key] = value
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
