"""The PyTorch side of bench_train.py: the same MLP trained on the same CSV
the way `nnc run` trains it, timed the same way. Prints one JSON line. Run
in its own process so OPENBLAS_CORETYPE and the thread count apply from
library load on.

The CSV (integer features, then the label; no header) is read with numpy
into tensors before the clock starts. Each epoch: a random permutation,
then for every batch: index the batch (data handling), forward,
cross-entropy, backward, Adam step (the timed training step), and the
running loss and accuracy that nnc's loop also keeps. Reported:
- step_ms: forward + backward + optimizer per step, the median over epochs
  of each epoch's summed step time divided by its steps;
- samples_per_s: every sample of every epoch divided by the wall time of
  the whole loop (shuffling, batch indexing, bookkeeping included);
- maxrss_kb: this process's peak RSS (interpreter, torch and data included).

usage: torch_train.py CSV SIZES BATCH EPOCHS THREADS LR SCALE SEED
       (SIZES like 64,128,10: inputs, hidden layers, classes)"""
import json
import resource
import sys
import time

import numpy as np
import torch


def main():
    path, sizes = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
    batch, epochs, threads = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    lr, scale, seed = float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
    torch.set_num_threads(threads)
    torch.manual_seed(seed)

    nf = sizes[0]
    a = np.loadtxt(path, delimiter=",", dtype=np.float32)
    a[:, :nf] *= scale
    x = torch.from_numpy(a[:, :nf])        # a strided view: no second copy
    y = torch.from_numpy(a[:, nf].astype(np.int64))
    n = x.shape[0]

    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    ce = torch.nn.functional.cross_entropy

    epoch_step_ms = []
    steps = 0
    loss_sum = correct = 0.0
    t_loop = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        step_s = 0.0
        nb = 0
        loss_sum = correct = 0.0
        for lo in range(0, n, batch):
            idx = perm[lo:lo + batch]
            xb, yb = x[idx], y[idx]
            t0 = time.perf_counter()
            logits = model(xb)
            loss = ce(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step_s += time.perf_counter() - t0
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
            nb += 1
        steps += nb
        epoch_step_ms.append(step_s / nb * 1e3)
    loop_s = time.perf_counter() - t_loop

    med = sorted(epoch_step_ms)[len(epoch_step_ms) // 2]
    print(json.dumps({"threads": torch.get_num_threads(), "steps": steps,
                      "step_ms": med, "epoch_step_ms": epoch_step_ms,
                      "time_s": loop_s, "samples_per_s": n * epochs / loop_s,
                      "loss": loss_sum / n, "acc": correct / n,
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
