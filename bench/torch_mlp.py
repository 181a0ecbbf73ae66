"""The PyTorch side of bench_mlp.py: the same MLP, the same work, timed the
same way (median of individually timed calls after a warm-up). Prints one
JSON line. Run in its own process so OPENBLAS_CORETYPE and the thread count
apply from library load on.

usage: torch_mlp.py BATCH THREADS RUNS"""
import json
import sys

from bench_common import median_ms

import torch


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

    fwd, fwd_min = median_ms(forward, runs, warmup=5)
    stp, stp_min = median_ms(step, runs, warmup=5)
    print(json.dumps({"threads": torch.get_num_threads(), "forward_ms": fwd, "step_ms": stp,
                      "forward_min_ms": fwd_min, "step_min_ms": stp_min,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
