"""Prints the epoch lines FIRST..LAST of an `nnc run` log without their
timing fields (which differ between runs)."""
import re
import sys

path, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for line in open(path):
    m = re.match(r"epoch (\d+)/\d+ ", line)
    if m and first <= int(m.group(1)) <= last:
        print(re.sub(r"\s+[0-9.]+s\s.*$", "", line.rstrip()))
