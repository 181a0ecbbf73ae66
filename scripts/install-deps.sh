#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 (bookworm) packages nnc needs.
#
# Checks each package with dpkg-query and installs only the missing ones, so a
# second run is a no-op (no apt-get update, no sudo). Runs apt-get through sudo
# only when not already root.
#
# Usage: scripts/install-deps.sh [--dry-run] [EXTRA_PACKAGE...]
#   --dry-run        print what would be run, change nothing
#   EXTRA_PACKAGE    more packages to ensure (e.g. python3-torch for benchmarks)
#
# Environment: NNC_DEPS_DRY_RUN=1 is the same as --dry-run.
set -euo pipefail

# What each package is for (kept in sync with README.md "Dependencies").
PACKAGES=(
  build-essential  # gcc, g++ (compiler/backend/llvm_ext.cpp), make, libc headers
  cmake            # build system
  ninja-build      # fast build backend for cmake
  pkg-config       # finds OpenBLAS, cJSON, libedit; `pkg-config nnrt` (tests/install)
  flex             # grammar/lexer.l -> lexer.c (flex 2.6)
  bison            # grammar/parser.y -> parser.c (bison 3.8)
  llvm-19-dev      # LLVM C API: code generation, ORC JIT, object files
  llvm-19-tools    # lit, FileCheck, not: the test suite
  clang-19         # compiler for the fuzzing build
  libclang-rt-19-dev # clang-19's ASan/UBSan runtimes (only recommended by clang-19)
  libfuzzer-19-dev # libFuzzer for tests/fuzz
  libopenblas-dev  # cblas_sgemm in the runtime
  libedit-dev      # line editing in `nnc repl`
  libcjson-dev     # JSON headers of safetensors checkpoints (runtime)
  zlib1g-dev       # inflating .npz archives and gzip-compressed IDX files (runtime)
  python3-numpy    # independent numerical oracle in tests
  valgrind         # memory checking of generated programs
  tmux             # a real terminal for the REPL's line-editing test
)

dry_run=${NNC_DEPS_DRY_RUN:-0}
extra=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    -h | --help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "install-deps.sh: unknown option '$arg'" >&2
      exit 2
      ;;
    *) extra+=("$arg") ;;
  esac
done
PACKAGES+=(${extra[@]+"${extra[@]}"})

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps.sh: dpkg-query not found: this script supports Debian 12 (bookworm)." >&2
  echo "install-deps.sh: please install the equivalents of: ${PACKAGES[*]}" >&2
  exit 1
fi

is_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ "$status" == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! is_installed "$pkg"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps.sh: missing: ${missing[*]}"

sudo_cmd=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  elif ((dry_run == 0)); then
    echo "install-deps.sh: not root and sudo is not installed; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

run() {
  echo "+ $*"
  if ((dry_run == 0)); then
    "$@"
  fi
}

run ${sudo_cmd[@]+"${sudo_cmd[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update
run ${sudo_cmd[@]+"${sudo_cmd[@]}"} env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
