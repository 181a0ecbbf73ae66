"""Writes the inputs two_models.c uses as CSV files for `nnc run --predict`:
DIR/digits.csv (2 rows of 64) and DIR/xor.csv (4 rows of 2)."""
import sys

d = sys.argv[1]
flat = ["4"] * 64
stroke = ["16" if i % 9 == 0 else "0" for i in range(64)]
with open(d + "/digits.csv", "w") as f:
    f.write(",".join(flat) + "\n" + ",".join(stroke) + "\n")
with open(d + "/xor.csv", "w") as f:
    f.write("0,0\n0,1\n1,0\n1,1\n")
