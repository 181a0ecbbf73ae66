"""The text source against NumPy: `write DIR` writes DIR/words.txt (random
phrases from a fixed seed); `check DIR LOG SEQ` computes the conditional
entropy of the next byte given the current one over exactly the pairs that
text(seq = SEQ) yields (windows of SEQ + 1 bytes, the bytes after the last
whole window in none), which is the least mean cross-entropy a bigram model
can reach on them, and compares the final training loss of LOG with it."""
import collections
import math
import random
import re
import sys

cmd, d = sys.argv[1], sys.argv[2]
path = d + "/words.txt"
if cmd == "write":
    random.seed(1)
    phrases = ["the cat sat", "on the mat", "a dog ran", "to the park", "and back"]
    with open(path, "w") as f:
        f.write(" . ".join(random.choice(phrases) for _ in range(400)))
    sys.exit(0)

log, seq = open(sys.argv[3]).read(), int(sys.argv[4])
data = open(path, "rb").read()
pairs, ctx = collections.Counter(), collections.Counter()
for k in range(len(data) // (seq + 1)):
    w = data[k * (seq + 1):(k + 1) * (seq + 1)]
    for a, b in zip(w[:-1], w[1:]):
        pairs[a, b] += 1
        ctx[a] += 1
entropy = -sum(c * math.log(c / ctx[a]) for (a, _), c in pairs.items()) / sum(pairs.values())
loss = float(re.search(r"^result: .* loss=([0-9.]+)", log, re.M).group(1))
print("vocabulary %d bytes" % len(set(data)))
if loss < entropy - 1e-3 or loss > entropy + 0.02:
    sys.exit("final loss %.4f, bigram entropy %.4f" % (loss, entropy))
print("final loss within 0.02 of the bigram entropy")
