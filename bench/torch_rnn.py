"""The PyTorch side of bench_rnn.py: issue 16's character models, one
configuration's training step and batch-1 generation, timed. Prints one
JSON line. Run in its own process so OPENBLAS_CORETYPE and the thread count
apply from library load on.

Models (the issue's definitions, as bench/char_lstm.nn and char_gru.nn):
  lstm  Embedding(65, 64), nn.LSTM(64, 256, batch_first=True),
        Linear(256, 65)
  gru   the same with nn.GRU(64, 256, batch_first=True)
cross-entropy over every position of windows of 64 characters, Adam
(lr 1e-3), batch 32; PyTorch's default initialisation.

Training step: forward, loss, zero_grad, backward, optimizer.step() on one
fixed batch of random characters and next characters (the data does not
change the work), timed call by call after a warm-up; the median is
reported.

Generation: batch 1, eager, model.eval() under torch.no_grad(), what a
PyTorch user writes: per character, the embedding of the previous one, one
step of the layer with its state carried ((h, c) or h), the linear layer,
softmax and torch.multinomial (temperature 1, all tokens: what
`nnc run --generate` does by default); the per-character time is the median
over `--gen-runs` runs of GEN_TOKENS characters each, after a warm-up run.

usage: torch_rnn.py MODEL THREADS STEPS GEN_RUNS"""
import json
import resource
import sys

from bench_common import median_ms

import torch
import torch.nn as nn

VOCAB, EMBED, HIDDEN, SEQ, BATCH = 65, 64, 256, 64, 32
LR = 1e-3
SEED = 1
GEN_TOKENS = 200


class CharRNN(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, EMBED)
        self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(EMBED, HIDDEN, batch_first=True)
        self.out = nn.Linear(HIDDEN, VOCAB)

    def forward(self, x, state=None):
        hs, state = self.rnn(self.emb(x), state)
        return self.out(hs), state


def main():
    kind, threads = sys.argv[1], int(sys.argv[2])
    steps, gen_runs = int(sys.argv[3]), int(sys.argv[4])
    if kind not in ("lstm", "gru"):
        sys.exit("unknown model %s (lstm or gru)" % kind)
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    model = CharRNN(kind)

    # Batch-1 generation: one character at a time, the state carried.
    model.eval()
    gen = torch.Generator().manual_seed(SEED)

    def generate():
        with torch.no_grad():
            tok = torch.zeros((1, 1), dtype=torch.long)
            state = None
            for _ in range(GEN_TOKENS):
                logits, state = model(tok, state)
                probs = torch.softmax(logits[0, -1], dim=0)
                tok = torch.multinomial(probs, 1, generator=gen).view(1, 1)

    gen_ms, gen_min = median_ms(generate, gen_runs, warmup=1) if gen_runs else (0, 0)

    model.train()
    x = torch.randint(0, VOCAB, (BATCH, SEQ))
    y = torch.randint(0, VOCAB, (BATCH, SEQ))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    ce = nn.functional.cross_entropy
    losses = []

    def step():
        logits, _ = model(x)
        loss = ce(logits.reshape(BATCH * SEQ, VOCAB), y.reshape(BATCH * SEQ))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    step_ms, step_min = median_ms(step, steps, warmup=3)
    print(json.dumps({
        "model": kind, "threads": torch.get_num_threads(), "steps": steps,
        "step_ms": step_ms, "step_min_ms": step_min,
        "gen_char_us": gen_ms * 1e3 / GEN_TOKENS, "gen_char_min_us": gen_min * 1e3 / GEN_TOKENS,
        "first_loss": losses[0], "last_loss": losses[-1], "torch": torch.__version__,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
