"""Prints the __metadata__ of a safetensors file, one `key=value` per line,
sorted (read with json alone, independent of the runtime's reader). With
--step-before ERR_FILE it prints instead whether the checkpoint's nnc.step
is the step just before the one the `loss is nan/inf at step N` message in
ERR_FILE names.

usage: st_meta.py FILE [--step-before ERR_FILE]"""
import json
import re
import struct
import sys

with open(sys.argv[1], "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    meta = json.loads(f.read(n)).get("__metadata__", {})
if len(sys.argv) > 3 and sys.argv[2] == "--step-before":
    failed = int(re.search(r"at step (\d+)", open(sys.argv[3]).read()).group(1))
    saved = int(meta["nnc.step"])
    print("saved step %s the failed step" % ("just before" if saved == failed - 1 else
                                               "%d, not just before %d:" % (saved, failed)))
    sys.exit(0)
for k in sorted(meta):
    print("%s=%s" % (k, meta[k]))
