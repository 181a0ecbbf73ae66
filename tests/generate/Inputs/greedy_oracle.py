"""The greedy (top-k 1) text of Inputs/elman.nn computed in NumPy from a
checkpoint: h = tanh(E[tok] + h @ W), scores = h @ V + c, the next token
the first best score, h starting at zeros. With a parameter U (Inputs/
proj.nn) the row is projected first, per token: E[tok] @ U.

usage: greedy_oracle.py CHECKPOINT PROMPT TOKENS"""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", t
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], np.float32).reshape(t["shape"])
    return tensors, meta


def main():
    path, prompt, tokens = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t, meta = read_safetensors(path)
    vocab = bytes.fromhex(meta["nnc.vocab"]).decode("latin-1")
    E, W, V, c = (t[k].astype(np.float64) for k in ("E", "W", "V", "c"))
    if "U" in t:
        E = np.stack([row @ t["U"].astype(np.float64) for row in E])
    h = np.zeros(W.shape[0])
    scores = None
    for ch in prompt:
        h = np.tanh(E[vocab.index(ch)] + h @ W)
        scores = h @ V + c
    out = []
    for _ in range(tokens):
        tok = int(np.argmax(scores[: len(vocab)]))
        out.append(vocab[tok])
        h = np.tanh(E[tok] + h @ W)
        scores = h @ V + c
    print(prompt + "".join(out))


main()
