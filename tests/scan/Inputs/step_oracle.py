"""Checks that a greedy generated text is what the model's scan-based
`logits` function predicts: the text generate wrote one character at a time
through a layer's `step` (its state carried between calls) is fed whole to
`logits` (the layer's `forward`, a scan over the sequence) with the same
checkpoint, through `nnc call`; at every position from the prompt's last
character on, forward's best score must be the character the step chose
next (ties to the lower token, as greedy sampling breaks them).

usage: step_oracle.py NNC MODEL.nn CHECKPOINT PROMPT_LEN TEXT_FILE WORKDIR"""
import json
import os
import struct
import subprocess
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
    nnc, model, ck, prompt_len, text_file, work = sys.argv[1:7]
    prompt_len = int(prompt_len)
    tensors, meta = read_safetensors(ck)
    vocab = bytes.fromhex(meta["nnc.vocab"]).decode("latin-1")
    params = os.path.join(work, "params")
    os.makedirs(params, exist_ok=True)
    for name, a in tensors.items():
        np.save(os.path.join(params, name + ".npy"), a)
    text = open(text_file).read().rstrip("\n")
    ids = np.array([[vocab.index(ch) for ch in text]], np.int32)
    np.save(os.path.join(work, "x.npy"), ids[:, :-1])
    out = os.path.join(work, "logits.npy")
    subprocess.run([nnc, "call", model, "logits", os.path.join(work, "x.npy"),
                    "--params", params, "-o", out], check=True)
    logits = np.load(out)[0]
    checked = 0
    for i in range(prompt_len - 1, ids.shape[1] - 1):
        best = int(np.argmax(logits[i, : len(vocab)]))
        if best != ids[0, i + 1]:
            print("step and forward differ after %r: forward's best is %r, the step chose %r"
                  % (text[: i + 1], vocab[best], text[i + 1]))
            return 1
        checked += 1
    distinct = len(set(text[prompt_len:]))
    print("step agrees with forward: %d characters (%d distinct)" % (checked, distinct))
    return 0


sys.exit(main())
