#!/usr/bin/env bash
# quickstart.sh - install dependencies, build nnc, and run it on an example.
#
# Idempotent: a second run only rebuilds what changed. The compiler ends up in
# build/nnc.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

gen=()
if [[ ! -f build/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
  gen=(-G Ninja)
fi
cmake -S . -B build ${gen[@]+"${gen[@]}"}
cmake --build build

run() {
  echo "+ $*"
  "$@"
}

# The main job, until training lands (issue 4): check the example model,
# show its fused kernels, compile its forward and training step with the JIT
# and verify the derived gradients against finite differences.
run ./build/nnc check examples/mlp.nn
run ./build/nnc --emit=fused-ir --grad --fn loss examples/mlp.nn
run ./build/nnc --gradcheck --fn loss --dim B=8 examples/mlp.nn
