"""stale_temps.py make CKPT LIST | check CKPT LIST - what killed saves leave.

make: beside CKPT (and its .best checkpoint) creates temporary files
<name>.tmp.<pid> of a process that is gone (a child that has exited) and
of one that lives (pid 1), and files of other names that no run may touch;
writes their names, by group, to LIST. check: prints, for each group,
whether its files are all gone, all there, or some of each."""
import json
import os
import subprocess
import sys

mode, ck, listing = sys.argv[1:4]
d, base = os.path.split(ck)
if mode == "make":
    child = subprocess.Popen(["true"])
    child.wait()
    dead = child.pid
    best = base[:-len(".safetensors")] + ".best.safetensors"
    names = {
        "dead": [base + ".tmp.%d" % dead, best + ".tmp.%d" % dead],
        "live": [base + ".tmp.1", best + ".tmp.1"],
        "others": [base + ".tmp.%dx" % dead, base + ".tmp.", base + ".tmp.%d.bak" % dead,
                   "other.safetensors.tmp.%d" % dead, "x" + base + ".tmp.%d" % dead],
    }
    for group in names.values():
        for n in group:
            with open(os.path.join(d, n), "wb") as f:
                f.write(b"partial checkpoint")
    with open(listing, "w") as f:
        json.dump(names, f)
else:
    names = json.load(open(listing))
    for what, group in names.items():
        there = sum(os.path.exists(os.path.join(d, n)) for n in group)
        state = "all gone" if there == 0 else "all there" if there == len(group) else "some gone"
        print("%s: %s" % (what, state))
