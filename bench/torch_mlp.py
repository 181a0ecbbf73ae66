"""The PyTorch side of bench_mlp.py: the same MLP, the same work, timed the
same way (median of individually timed calls after a warm-up). Prints one
JSON line. Run in its own process so OPENBLAS_CORETYPE and the thread count
apply from library load on.

usage: torch_mlp.py BATCH THREADS RUNS"""
import json
import sys
import time

import torch


def median_ms(fn, runs, warmup=5):
    for _ in range(warmup):
        fn()
    secs = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t0)
    secs.sort()
    return secs[len(secs) // 2] * 1e3, secs[0] * 1e3


def main():
    batch, threads, runs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 10))
    x = torch.randn(batch, 784)
    y = torch.randint(0, 10, (batch,))
    params = list(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()

    def forward():
        with torch.no_grad():
            model(x)

    def step():
        loss = loss_fn(model(x), y)
        torch.autograd.grad(loss, params)

    fwd, fwd_min = median_ms(forward, runs)
    stp, stp_min = median_ms(step, runs)
    print(json.dumps({"threads": torch.get_num_threads(), "forward_ms": fwd, "step_ms": stp,
                      "forward_min_ms": fwd_min, "step_min_ms": stp_min,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
