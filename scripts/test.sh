#!/usr/bin/env bash
# test.sh - build nnc and run every test suite; what CI runs (.ci/run).
#
#   1. scripts/install-deps.sh (a no-op when everything is installed)
#   2. build/       normal build (warnings are errors), whole lit suite
#   3. build-asan/  ASan+UBSan build, whole lit suite again
#   4. build-fuzz/  clang-19 + libFuzzer builds of tests/fuzz/: fuzz_frontend
#                   for 60 s from a corpus of every *.nn in the repo, and
#                   fuzz_readers (the runtime's data and checkpoint readers)
#                   for 30 s from seeds tests/fuzz/make_reader_seeds.py
#                   writes (corpora in temporary directories; repo untouched)
#
# The last line of output is "N passed, N failed": lit tests of both suites
# plus each fuzz run as one test (a failed build or an unusable lit run
# counts as one failure). Exits non-zero when anything failed.
#
# Usage: scripts/test.sh [--no-asan] [--no-fuzz]
# Environment: NNC_JOBS (default 2), NNC_FUZZ_SECONDS (default 60),
#              NNC_FUZZ_READERS_SECONDS (default 30),
#              NNC_LIT_TIMEOUT (seconds for one lit run, default 1500).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

jobs=${NNC_JOBS:-2}
fuzz_seconds=${NNC_FUZZ_SECONDS:-60}
fuzz_readers_seconds=${NNC_FUZZ_READERS_SECONDS:-30}
lit_timeout=${NNC_LIT_TIMEOUT:-1500}
do_asan=1
do_fuzz=1
for arg in "$@"; do
  case "$arg" in
    --no-asan) do_asan=0 ;;
    --no-fuzz) do_fuzz=0 ;;
    *)
      echo "test.sh: unknown argument '$arg' (known: --no-asan --no-fuzz)" >&2
      exit 2
      ;;
  esac
done

passed=0
failed=0
failures=()
notes=()

stage() { printf '\n===== %s =====\n' "$*"; }

fail() { # what
  failed=$((failed + 1))
  failures+=("$1")
  echo "test.sh: FAILED: $1" >&2
}

# configure_build DIR "TARGET..." [CMAKE_ARGS...]: configure (Ninja on first run)
# and build the TARGETs (one word, space-separated).
configure_build() {
  local dir=$1 targets
  read -r -a targets <<<"$2"
  shift 2
  local gen=()
  if [[ ! -f "$dir/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
    gen=(-G Ninja)
  fi
  cmake -S "$root" -B "$dir" ${gen[@]+"${gen[@]}"} "$@" &&
    cmake --build "$dir" --target "${targets[@]}" -j "$jobs"
}

cache_value() { # DIR VAR: a value from DIR/CMakeCache.txt
  sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt"
}

# run_lit DIR LABEL: the whole lit suite of build DIR; adds to the counts.
run_lit() {
  local dir=$1 label=$2
  local lit python json rc=0 counts
  lit=$(cache_value "$dir" NNC_LIT)
  python=$(cache_value "$dir" NNC_PYTHON)
  if [[ -z "$lit" || "$lit" == *NOTFOUND || ! -f "$dir/tests/lit.site.cfg.py" ]]; then
    fail "$label: lit not configured (install llvm-19-tools)"
    return
  fi
  json="$dir/tests/lit-results.json"
  rm -f "$json"
  timeout "$lit_timeout" "$python" "$lit" -sv -j "$jobs" --allow-empty-runs \
    -o "$json" "$dir/tests" || rc=$?
  if [[ ! -f "$json" ]]; then
    fail "$label: lit produced no results (exit $rc)"
    return
  fi
  # PASS/XFAIL/FLAKYPASS pass; FAIL/XPASS/UNRESOLVED/TIMEOUT fail;
  # UNSUPPORTED counts as neither.
  counts=$("$python" - "$json" <<'PY'
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
ok = sum(t["code"] in ("PASS", "XFAIL", "FLAKYPASS") for t in tests)
bad = sum(t["code"] in ("FAIL", "XPASS", "UNRESOLVED", "TIMEOUT") for t in tests)
print(ok, bad)
PY
  ) || counts=""
  if [[ -z "$counts" ]]; then
    fail "$label: cannot read $json"
    return
  fi
  local ok bad
  read -r ok bad <<<"$counts"
  passed=$((passed + ok))
  failed=$((failed + bad))
  if ((bad > 0)); then
    failures+=("$label: $bad lit test(s)")
  elif ((rc != 0)); then
    fail "$label: lit exited with status $rc"
  fi
  echo "test.sh: $label: $ok passed, $bad failed"
}

# ------------------------------------------------------------ dependencies ---
stage "dependencies"
if ! "$root/scripts/install-deps.sh"; then
  fail "scripts/install-deps.sh"
fi

# ------------------------------------------------------------ normal build ---
stage "build (build/, -Werror)"
if configure_build "$root/build" all -DNNC_WERROR=ON -DNNC_SANITIZE=OFF; then
  stage "lit (build/)"
  run_lit "$root/build" "lit"
else
  fail "build (build/)"
fi

# -------------------------------------------------------------- ASan+UBSan ---
if ((do_asan)); then
  stage "build (build-asan/, ASan+UBSan)"
  # gcc's warnings are less precise with sanitizers on (its manual advises
  # against -Werror there); build/ already enforces a warning-free build.
  if configure_build "$root/build-asan" all -DNNC_SANITIZE=ON -DNNC_WERROR=OFF; then
    stage "lit (build-asan/)"
    run_lit "$root/build-asan" "lit-asan"
  else
    fail "build (build-asan/)"
  fi
fi

# -------------------------------------------------------------------- fuzz ---
fuzz_available() {
  command -v clang-19 >/dev/null 2>&1 || return 1
  local probe
  probe=$(mktemp -d)
  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$probe/probe.c"
  local ok=0
  clang-19 -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" \
    >/dev/null 2>&1 || ok=1
  rm -rf "$probe"
  return $ok
}

# One libFuzzer target for $2 seconds over the seed files in corpus
# directory $3 (which it may add to); counts as one test.
fuzz_target() {
  local target=$1 seconds=$2 corpus=$3 dir=$root/build-fuzz log rc=0
  mkdir -p "$dir/artifacts"
  log="$dir/$target.log"
  "$dir/$target" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
  if ((rc == 0)); then
    passed=$((passed + 1))
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log" || true
    echo "test.sh: $target: no crash"
  else
    tail -n 60 "$log"
    fail "$target (exit $rc; log $log; crashing input in $dir/artifacts/)"
  fi
}

run_fuzz() {
  local corpus
  corpus=$(mktemp -d "${TMPDIR:-/tmp}/nnc-fuzz-corpus.XXXXXX")
  # Seeds: every .nn file of the repository (tracked or not, but not ignored).
  local files=() f
  if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    while IFS= read -r -d '' f; do files+=("$f"); done \
      < <(git -C "$root" ls-files -z --cached --others --exclude-standard -- '*.nn')
  else
    while IFS= read -r -d '' f; do files+=("${f#./}"); done \
      < <(find . -name '*.nn' -not -path './build*' -not -path './.git/*' -print0)
  fi
  for f in ${files[@]+"${files[@]}"}; do
    if [[ -f "$root/$f" ]]; then cp "$root/$f" "$corpus/${f//\//__}"; fi
  done
  echo "test.sh: fuzzing the front end ${fuzz_seconds}s from ${#files[@]} seed file(s)"
  fuzz_target fuzz_frontend "$fuzz_seconds" "$corpus"
  rm -rf "$corpus"

  corpus=$(mktemp -d "${TMPDIR:-/tmp}/nnc-fuzz-readers.XXXXXX")
  if "$(cache_value "$root/build-fuzz" NNC_PYTHON)" "$root/tests/fuzz/make_reader_seeds.py" "$corpus"; then
    echo "test.sh: fuzzing the runtime's readers ${fuzz_readers_seconds}s from $(find "$corpus" -type f | wc -l) seed file(s)"
    fuzz_target fuzz_readers "$fuzz_readers_seconds" "$corpus"
  else
    fail "fuzz_readers seeds (tests/fuzz/make_reader_seeds.py)"
  fi
  rm -rf "$corpus"
}

if ((do_fuzz)); then
  stage "fuzz (build-fuzz/, clang-19 + libFuzzer)"
  if ! fuzz_available; then
    notes+=("fuzzing skipped: clang-19 with libFuzzer not usable (libfuzzer-19-dev)")
  elif [[ ! -f "$root/compiler/elab/frontend.h" ]]; then
    notes+=("fuzzing skipped: compiler/elab/frontend.h does not exist yet")
  elif configure_build "$root/build-fuzz" "fuzz_frontend fuzz_readers" \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DNNC_FUZZ=ON; then
    run_fuzz
  else
    fail "build (build-fuzz/)"
  fi
fi

# ----------------------------------------------------------------- summary ---
stage "summary"
for n in ${notes[@]+"${notes[@]}"}; do echo "note: $n"; done
for f in ${failures[@]+"${failures[@]}"}; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
((failed == 0))
