"""Writes DIR/words.txt: 3000 words of a nine-word vocabulary, drawn with a
fixed seed (12 distinct characters), the text generate.test trains on."""
import random
import sys

WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "hat", "ran"]
rng = random.Random(1)
with open(sys.argv[1] + "/words.txt", "w") as f:
    f.write(" ".join(rng.choice(WORDS) for _ in range(3000)))
