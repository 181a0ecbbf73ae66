#!/bin/sh
# compare-optimizers.sh OLD_BUILD NEW_BUILD [WORKDIR] - does every optimizer
# kind train to the same bits with both builds?
#
# Trains tests/train/Inputs/optim_oracle.py's tiny model (its data, its
# starting checkpoint, two epochs of three steps) with each optimizer of a
# train section, once with each build's nnc, and compares the final
# checkpoints (parameters, optimizer state, metadata) byte for byte. For
# changes to how the training step is compiled that must keep its bits
# (the oracle's own comparison with NumPy only allows a tolerance).
# Exit status 0 when every checkpoint is the same.
set -u
old=$1 new=$2 work=${3:-$(mktemp -d)}
here=$(dirname "$0")/..
oracle=$here/tests/train/Inputs/optim_oracle.py
mkdir -p "$work/old" "$work/new"
status=0
while IFS='|' read -r name opt extra; do
  for side in old new; do
    eval nnc=\$$side/nnc
    /usr/bin/python3 "$oracle" "$nnc" "$work/$side" "$name" "$opt" ${extra:+"$extra"} \
      > "$work/$side.$name.log" 2>&1
  done
  if ! grep -q "^$name: ok" "$work/new.$name.log"; then
    echo "FAIL: $name: $(head -1 "$work/new.$name.log")"
    status=1
  elif cmp -s "$work/old/$name.safetensors" "$work/new/$name.safetensors"; then
    echo "same bits: $name ($opt $extra)"
  else
    echo "DIFFERENT: $name ($opt $extra)"
    status=1
  fi
done <<'LIST'
sgd|sgd(lr = 0.1)|
sgd_wd|sgd(lr = 0.1, weight_decay = 0.01)|
momentum|sgd(lr = 0.1, momentum = 0.9)|
nesterov|sgd(lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 0.01)|
rmsprop|rmsprop(lr = 0.01)|
rmsprop_wd|rmsprop(lr = 0.01, weight_decay = 0.01)|
rmsprop_m|rmsprop(lr = 0.01, momentum = 0.5)|
rmsprop_m_wd|rmsprop(lr = 0.01, momentum = 0.5, weight_decay = 0.01)|
adam|adam(lr = 0.01)|
adam_wd|adam(lr = 0.01, weight_decay = 0.1)|
adamw|adamw(lr = 0.01, weight_decay = 0.1)|
adam_clip|adam(lr = 0.01)|clip = 0.1
sgd_clip|sgd(lr = 0.5)|clip = 0.1
momentum_warmup|sgd(lr = 0.1, momentum = 0.9)|warmup = 4
adam_cosine|adam(lr = 0.01)|schedule = cosine(min_lr = 0.001)
LIST
exit $status
