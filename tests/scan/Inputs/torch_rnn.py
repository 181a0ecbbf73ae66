"""The stdlib's LSTM and GRU (stdlib/rnn.nn) against PyTorch's nn.LSTM and
nn.GRU given the same weights: the loss and its gradients with respect to
every weight and the input sequence, through `nnc call --grad`, to 1e-5
relative (in f64, so that the comparison tests the formulas, not rounding).

usage: torch_rnn.py NNC WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import torch

B, T, IN, H = 3, 7, 5, 6

MODEL = """
import rnn
model Port {
  lstm = LSTM(%d, %d)
  gru = GRU(%d, %d)
  fn lstm_loss(x: f32[B, T, %d]) -> f32 {
    let y = lstm(x)
    return mean(y * y) + mean(lstm.last(x))
  }
  fn gru_loss(x: f32[B, T, %d]) -> f32 {
    let y = gru(x)
    return mean(y * y) + mean(gru.reversed(x))
  }
}
""" % (IN, H, IN, H, IN, IN)


def torch_loss(kind, weights, x):
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    net = cls(IN, H, batch_first=True).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(net, name + "_l0").copy_(torch.from_numpy(weights[name]))
    xt = torch.from_numpy(x).requires_grad_(True)
    y, _ = net(xt)
    loss = (y * y).mean()
    if kind == "lstm":
        loss = loss + y[:, -1].mean()  # last(x): the state after the last step
    else:  # reversed(x): the same GRU over the reversed sequence, in place
        yr, _ = net(torch.flip(xt, [1]))
        loss = loss + yr.mean()
    loss.backward()
    grads = {name: getattr(net, name + "_l0").grad.numpy() for name in weights}
    grads["x"] = xt.grad.numpy()
    return loss.item(), grads


def main():
    nnc, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    model = os.path.join(work, "port.nn")
    open(model, "w").write(MODEL)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((B, T, IN))
    np.save(os.path.join(work, "x.npy"), x)
    worst = 0.0
    for kind, gates in (("lstm", 4), ("gru", 3)):
        weights = {
            "weight_ih": rng.uniform(-0.5, 0.5, (gates * H, IN)),
            "weight_hh": rng.uniform(-0.5, 0.5, (gates * H, H)),
            "bias_ih": rng.uniform(-0.5, 0.5, gates * H),
            "bias_hh": rng.uniform(-0.5, 0.5, gates * H),
        }
        pdir = os.path.join(work, kind + "_params")
        os.makedirs(pdir, exist_ok=True)
        for other, og in (("lstm", 4), ("gru", 3)):  # every parameter needs a file
            src = weights if other == kind else {
                "weight_ih": np.zeros((og * H, IN)), "weight_hh": np.zeros((og * H, H)),
                "bias_ih": np.zeros(og * H), "bias_hh": np.zeros(og * H)}
            for name, w in src.items():
                np.save(os.path.join(pdir, "%s.%s.npy" % (other, name)), w)
            # the single-step function's state, which the loss does not read
            for name in ("step_h", "step_c") if other == "lstm" else ("step_h",):
                np.save(os.path.join(pdir, "%s.%s.npy" % (other, name)), np.zeros((1, H)))
        out = os.path.join(work, kind + "_out")
        r = subprocess.run([nnc, "call", "--dtype=f64", "--grad", "--params", pdir, "--out-dir", out,
                            model, kind + "_loss", os.path.join(work, "x.npy")],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit("nnc call failed:\n" + r.stderr)
        want_loss, want = torch_loss(kind, weights, x)
        got = {"loss": float(np.load(os.path.join(out, "result.npy")))}
        checks = [("loss", got["loss"], want_loss)]
        for name in weights:
            checks.append((name, np.load(os.path.join(out, "d.%s.%s.npy" % (kind, name))), want[name]))
        checks.append(("x", np.load(os.path.join(out, "d.x.npy")), want["x"]))
        for name, g, w in checks:
            g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
            rel = np.max(np.abs(g - w)) / max(np.max(np.abs(w)), 1e-12)
            worst = max(worst, rel)
            print("%s %-10s max rel err %.2e %s" % (kind, name, rel, "ok" if rel < 1e-5 else "FAIL"))
    print("torch rnn: %s" % ("ok" if worst < 1e-5 else "FAIL"))
    return 0 if worst < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
