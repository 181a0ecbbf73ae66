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

# The main job: check the example model, then show the code nnc makes of it.
run ./build/nnc check examples/mlp.nn
run ./build/nnc --emit=ir examples/mlp.nn
