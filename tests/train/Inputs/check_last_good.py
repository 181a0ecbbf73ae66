"""After a run that stopped on a non-finite loss: the checkpoint left behind
is the last finished epoch's, i.e. `--eval` of it gives that epoch's
validation loss (to f32 summation order).

usage: check_last_good.py TRAIN_LOG EVAL_LOG"""
import re
import sys

epochs = re.findall(r"^epoch (\d+)/\d+ .*val_loss ([0-9.]+)", open(sys.argv[1]).read(), re.M)
got = float(re.search(r"^eval: .* loss=([0-9.]+)", open(sys.argv[2]).read(), re.M).group(1))
epoch, want = epochs[-1][0], float(epochs[-1][1])
if abs(got - want) > 1e-4 * abs(want) + 1e-4:
    sys.exit("eval loss %r, last epoch (%s) val_loss %r" % (got, epoch, want))
print("checkpoint holds epoch %s" % epoch)
