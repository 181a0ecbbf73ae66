"""gen.py KIND OUT - writes a generated input for the tests in tests/robust.

Kinds are deterministic (fixed seeds), so a failure reproduces exactly.
"""
import random
import sys

FWD = "model M { fn forward(x: f32[B, 2]) -> f32[B, 2] { return x } }\n"


def layer_chain(n, with_model):
    s = ["layer L0 { param W: f32[2] = zeros\n"
         "  fn forward(x: f32[B, 2]) -> f32[B, 2] { return x * W } }"]
    for i in range(1, n):
        s.append("layer L%d { inner = L%d()\n"
                 "  fn forward(x: f32[B, 2]) -> f32[B, 2] { return inner(x) } }" % (i, i - 1))
    if with_model:
        s.append("model M { top = L%d()\n"
                 "  fn forward(x: f32[B, 2]) -> f32[B, 2] { return top(x) } }" % (n - 1))
    return ("\n".join(s) + "\n").encode()


def gen(kind):
    if kind == "binary":          # 100 KB of random bytes
        r = random.Random(1)
        return bytes(r.randrange(256) for _ in range(100 * 1024))
    if kind == "binary-ish":      # random printable tokens and punctuation
        r = random.Random(2)
        toks = ["model", "layer", "fn", "let", "return", "{", "}", "(", ")", "[", "]",
                ",", ":", "=", "+", "*", "@", "x", "f32", "B", "1", "2.5", '"s"', ";", "..",
                "for", "in", "param", "import", "data", "train", "->", "**", "!", "\n"]
        return " ".join(r.choice(toks) for _ in range(20000)).encode()
    if kind == "nul":             # NUL bytes in the middle of a line
        return (b"model M {\n  fn forward(x: f32[B, 2]) -> f32[B, 2] { return x \0\0 }\n}\n")
    if kind == "utf8-ident":      # invalid UTF-8 (and valid non-ASCII) in names
        return b"model M\xff\xfe {\n  fn forward(x\xc3\xa9: f32[B, 2]) -> f32[B, 2] { return x } }\n"
    if kind == "utf8-ok":         # invalid UTF-8 inside comments and strings is fine
        return (b"// caf\xc3\xa9 \xff\xfe\x80\n/* \xc0\xaf \xed\xa0\x80 */\n"
                b"model M {\n  fn forward(x: f32[B, 2]) -> f32[B, 2] { return x }\n"
                b"  fn loss(x: f32[B, 2], y: i32[B]) -> f32 { return cross_entropy(x, y) }\n"
                b"  data { source = csv(\"\xff\xfe\xc3.csv\", label = 2) }\n"
                b"  train step { loss = loss; optimizer = sgd(lr = 0.1) }\n}\n")
    if kind == "unterminated-comment":
        return FWD.encode() + b"/* never closed\n" + b"layer L { }\n" * 3
    if kind == "long-comment":    # a 1 MB comment line
        return b"// " + b"x" * (1 << 20) + b"\n" + FWD.encode()
    if kind == "long-expr":       # a 1 MB line: let a = b + b + b + ...
        return (b"model M { fn forward(b: f32[B, 2]) -> f32[B, 2] { let a = b"
                + b" + b" * (1 << 18) + b"\n return a } }\n")
    if kind == "long-ident":      # a 1 MB identifier
        return b"model " + b"M" * (1 << 20) + b" { fn forward(x: f32[B]) -> f32[B] { return x } }\n"
    if kind == "deep-parens":     # 100,000 nested parentheses
        n = 100000
        return (b"model M { fn forward(b: f32[B, 2]) -> f32[B, 2] { return "
                + b"(" * n + b"b" + b")" * n + b" } }\n")
    if kind == "deep-brackets":   # 100,000 nested lists and braces
        n = 100000
        return b"model M { data { source = " + b"[" * n + b"]" * n + b" } " + b"{" * n + b"\n"
    if kind == "many-errors":     # 10,000 errors, one per line
        return ("model M {\n" + "".join("  param $%d: f32 = zeros\n" % i for i in range(10000))
                + "}\n").encode()
    if kind == "deep-chain":      # 10,000 layers, each an instance of the previous
        return layer_chain(10000, True)
    if kind == "deep-chain-generic":
        return layer_chain(10000, False)
    if kind == "many-members":    # 20,000 instances in one model
        return ("import nn\nmodel M {\n" + "".join("  l%d = Linear(2, 2)\n" % i for i in range(20000))
                + "  fn forward(x: f32[B, 2]) -> f32[B, 2] { return l0(x) }\n}\n").encode()
    raise SystemExit("gen.py: unknown kind '%s'" % kind)


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    with open(out, "wb") as f:
        f.write(gen(kind))
