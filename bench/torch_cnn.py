"""The PyTorch side of bench_cnn.py: the three reference CNNs of issue 15,
their FLOP counts, one configuration's training step and batch-1
inference, timed. Prints one JSON line. Run in its own process so
OPENBLAS_CORETYPE and the thread count apply from library load on.

Models (the issue's definitions; PyTorch's default initialisation):
  lenet5        1x28x28,  conv5x5 6, relu, maxpool 2, conv5x5 16, relu,
                maxpool 2, fc 120, relu, fc 84, relu, fc 10; batch 64
  vgg_small     3x32x32,  three stages of [conv3x3 pad 1 + relu, twice;
                maxpool 2] with 32, 64, 128 channels, fc 256, relu, fc 10;
                batch 32
  resnet_small  3x32x32,  stem conv3x3 16 + batch norm + relu, three stages
                of two basic blocks (16, 32, 64 channels; stride 2 and a
                1x1 projection + batch norm at the entry of stages 2 and 3),
                global average pooling, fc 10; convolutions without bias
                (batch norm follows each); batch 32
All train with cross-entropy and Adam (lr 1e-3).

Training step: forward, loss, zero_grad, backward, optimizer.step() on one
fixed batch of random inputs and labels (the data does not change the work),
timed call by call after a warm-up; the median is reported. Configurations
(--config): `nchw` (eager, the default layout) and `channels_last` (model
and input in torch.channels_last, which routes convolutions to oneDNN's
NHWC kernels). This torch (Debian's 1.13) has no torch.compile.

Inference: batch 1, eager, model.eval() under torch.no_grad() (running
statistics for batch norm), NCHW, median of individually timed calls.

FLOPs: 2 * multiply-accumulates of the convolutions and fully connected
layers (counted by forward hooks on the model itself, so they follow its
definition), per sample. Bias adds, activations, pooling, batch norm, the
loss and Adam are not counted. A training step counts 3x the forward
FLOPs (weight gradient and data gradient each as much as the forward) times
the batch, the usual convention; the input needs no gradient, so the first
layer's data gradient need not be computed (PyTorch skips it), and this
overstates a step's work by a third of `first_layer_frac`, the first
layer's share of the forward FLOPs, which the JSON reports.

usage: torch_cnn.py MODEL THREADS CONFIG STEPS INFER_RUNS
       torch_cnn.py MODEL --flops"""
import json
import resource
import sys

from bench_common import median_ms

import torch
import torch.nn as nn

# name: (sample shape, batch)
MODELS = {
    "lenet5": ((1, 28, 28), 64),
    "vgg_small": ((3, 32, 32), 32),
    "resnet_small": ((3, 32, 32), 32),
}
CONFIGS = ("nchw", "channels_last")
LR = 1e-3
SEED = 1


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def vgg_small():
    layers, cin = [], 3
    for c in (32, 64, 128):
        layers += [nn.Conv2d(cin, c, 3, padding=1), nn.ReLU(),
                   nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        cin = c
    return nn.Sequential(*layers, nn.Flatten(),
                         nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Linear(256, 10))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.proj(x) if self.proj is not None else x))


def resnet_small():
    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for c, stride in ((16, 1), (32, 2), (64, 2)):
        layers += [BasicBlock(cin, c, stride), BasicBlock(c, c, 1)]
        cin = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


BUILD = {"lenet5": lenet5, "vgg_small": vgg_small, "resnet_small": resnet_small}


def forward_flops(model, shape):
    """FLOPs (2 * MACs) of the convolutions and linear layers for one sample,
    and the share of them in the first such layer, from forward hooks."""
    counts = []

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            macs = out.numel() * (mod.in_channels // mod.groups) * kh * kw
        else:
            macs = out.numel() * mod.in_features
        counts.append(2 * macs)

    hooks = [m.register_forward_hook(hook) for m in model.modules()
             if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(torch.zeros((1,) + shape))
    for h in hooks:
        h.remove()
    return sum(counts), counts[0] / sum(counts)


def main():
    name = sys.argv[1]
    shape, batch = MODELS[name]
    torch.manual_seed(SEED)
    model = BUILD[name]()
    flops, first = forward_flops(model, shape)
    info = {"model": name, "batch": batch, "forward_flops": flops,
            "train_flops": 3 * flops * batch, "first_layer_frac": first,
            "params": sum(p.numel() for p in model.parameters()), "torch": torch.__version__}
    if sys.argv[2] == "--flops":
        print(json.dumps(info))
        return
    threads, config = int(sys.argv[2]), sys.argv[3]
    steps, infer_runs = int(sys.argv[4]), int(sys.argv[5])
    if config not in CONFIGS:
        sys.exit("unknown configuration %s (one of %s)" % (config, ", ".join(CONFIGS)))
    torch.set_num_threads(threads)

    # Batch-1 inference first, eager NCHW, before any layout change.
    model.eval()
    x1 = torch.rand((1,) + shape)

    def infer():
        with torch.no_grad():
            model(x1)

    infer_ms, infer_min = median_ms(infer, infer_runs, warmup=10) if infer_runs else (0, 0)

    model.train()
    x = torch.rand((batch,) + shape)
    y = torch.randint(0, 10, (batch,))
    if config == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    ce = nn.functional.cross_entropy
    losses = []

    def step():
        loss = ce(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    step_ms, step_min = median_ms(step, steps, warmup=3)
    info.update({"threads": torch.get_num_threads(), "config": config, "steps": steps,
                 "step_ms": step_ms, "step_min_ms": step_min, "infer_ms": infer_ms,
                 "infer_min_ms": infer_min, "first_loss": losses[0], "last_loss": losses[-1],
                 "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})
    print(json.dumps(info))


if __name__ == "__main__":
    main()
