"""Reads `nnc run` output of examples/esn_mackey_glass.nn and fails unless
the validation NMSE (the fit line's val_loss, which has more digits, else
the result line's) is below the bound given; prints it."""
import re
import sys

bound = float(sys.argv[1])
text = sys.stdin.read()
fit = re.search(r"^fit: .* val_loss ([0-9.e+-]+)", text, re.M)
res = re.findall(r"^result: .* val_loss=([0-9.e+-]+)", text, re.M)
nmse = float(fit.group(1)) if fit else float(res[-1])
print(f"validation NMSE {nmse:.3g} below {bound:g}: {'yes' if nmse < bound else 'NO'}")
sys.exit(0 if nmse < bound else 1)
