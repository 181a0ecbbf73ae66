"""Writes IRIS_CSV's rows into DIR/train.csv and DIR/val.csv (every fifth
row to validation, so both hold all three classes), without the header."""
import sys

rows = open(sys.argv[1]).read().splitlines()[1:]
with open(sys.argv[2] + "/train.csv", "w") as train, open(sys.argv[2] + "/val.csv", "w") as val:
    for i, row in enumerate(rows):
        (val if i % 5 == 4 else train).write(row + "\n")
