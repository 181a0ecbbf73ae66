"""tbptt_oracle.py DIR WHICH [EVAL_LOG]: checks tbptt_acc.nn's carried state
in DIR/ck.safetensors against the sums of the streams of DIR/WHICH.csv
(the last pass that ran: training, or validation after it), and with
EVAL_LOG the loss `nnc run --eval` printed there against the loss of the
streams of DIR/val.csv under the checkpoint's weight w. The data are read
as nnrt_stream_order reads them: `batch` streams of n // batch consecutive
rows, batch k holding row k of each stream, the rows past the last full
batch left out. Prints what matched; exits 1 on a mismatch."""
import json
import struct
import sys

import numpy as np

BATCH = 4


def tensor(path, name):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    lo, hi = head[name]["data_offsets"]
    return np.frombuffer(raw[8 + n + lo:8 + n + hi], np.float32)


def streams(path):
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    length = len(rows) // BATCH
    used = rows[:length * BATCH]
    # stream s is rows s*length .. s*length+length-1; batch k its row k
    return [used[np.arange(BATCH) * length + k] for k in range(length)]


def final_state(path):
    h = np.zeros(BATCH)
    for b in streams(path):
        h += b[:, 0]
    return h


def stream_loss(path, w):
    h = np.zeros(BATCH)
    total = 0.0
    batches = streams(path)
    for b in batches:
        h = h + b[:, 0]
        total += np.mean((h * w - b[:, 1]) ** 2)
    return total / len(batches)


d, which = sys.argv[1], sys.argv[2]
want = final_state("%s/%s.csv" % (d, which))
got = tensor(d + "/ck.safetensors", "h")
if not np.allclose(got, want, rtol=1e-5, atol=1e-6):
    sys.exit("h is %s, the streams of %s.csv sum to %s" % (got, which, want))
print("ok: h holds the sums of the %d streams of %s.csv" % (BATCH, which))
if len(sys.argv) > 3:
    log = open(sys.argv[3]).read()
    loss = float(log.split("loss=")[1].split()[0])
    w = float(tensor(d + "/ck.safetensors", "w")[0])
    expect = stream_loss(d + "/val.csv", w)
    if abs(loss - expect) > 1e-5 * max(1.0, abs(expect)):
        sys.exit("--eval printed loss %.6f, the streams of val.csv give %.6f" % (loss, expect))
    print("ok: the eval loss is the streams' loss")
