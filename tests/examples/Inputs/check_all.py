"""check_all.py NNC DIR... - runs `NNC check` on every *.nn file directly in
each DIR (so a newly added example or stdlib module is covered too); fails
if any exits non-zero or prints anything, or if a DIR has no .nn file.

A module in INSTANTIATED is checked through the named file instead, a model
that instantiates every layer of it: checked alone, its unused layers are
checked generically (int arguments unknown), which still refuses what only
real sizes settle (a stride of 2 on a symbolic H, groups given as an
argument, /work/briefs/bugs.md 01:55).  Remove an entry once its module
checks clean alone."""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INSTANTIATED = {}

nnc, dirs = sys.argv[1], sys.argv[2:]
bad = 0
for d in dirs:
    files = sorted(glob.glob(os.path.join(d, "*.nn")))
    if not files:
        print("check_all: no .nn files in %s" % d)
        bad += 1
    for f in files:
        if os.path.basename(d.rstrip("/")) == "stdlib" and os.path.basename(f) in INSTANTIATED:
            f = INSTANTIATED[os.path.basename(f)]
        r = subprocess.run([nnc, "check", f], capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or r.stdout or r.stderr:
            print("check_all: %s: exit %d\n%s%s" % (f, r.returncode, r.stdout, r.stderr))
            bad += 1
sys.exit(1 if bad else 0)
