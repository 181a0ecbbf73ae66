#!/usr/bin/env bash
# quickstart.sh - install dependencies, build nnc, and train the default example.
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

# The main job: compile the default example (an MLP on the bundled 8x8
# digits) with the JIT and train it; its last line reports the validation
# accuracy.
run ./build/nnc run examples/mlp.nn
