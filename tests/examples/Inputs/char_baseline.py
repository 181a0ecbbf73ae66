"""Compares the validation loss of examples/char_mlp.nn (the `result:` line
of its log) with the count-based bigram model of the same text: the
cross-entropy, in nats per character, of p(next | current) estimated from
the counts of the whole text and scored on that same text. The bigram model
sees its own test data, so beating it on held-out windows means the
embedding and the 8-character context learned something.

usage: char_baseline.py TEXT LOG
"""
import re
import sys

import numpy as np

text = np.frombuffer(open(sys.argv[1], "rb").read(), np.uint8).astype(np.int64)
counts = np.zeros((256, 256))
np.add.at(counts, (text[:-1], text[1:]), 1)
p = counts / np.maximum(counts.sum(1, keepdims=True), 1)
bigram = -np.log(p[text[:-1], text[1:]]).mean()
m = re.search(r"^result: .* val_loss=([0-9.]+)", open(sys.argv[2]).read(), re.M)
if not m:
    sys.exit("no val_loss in the result line")
val = float(m.group(1))
print("bigram %.3f nats, model %.3f nats" % (bigram, val))
print("below the bigram model" if val < bigram - 0.1 else "NOT below the bigram model")
