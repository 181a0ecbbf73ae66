#!/usr/bin/env bash
# check-layers.sh [ROOT] - the compiler's include arrows point down.
#
# compiler/ is in layers, lowest first (docs/architecture.md):
#   support front ir elab passes backend cmd repl, then main.c on top.
# A file may include headers of its own layer and of the layers below it.
# The grammar (grammar/*.y, *.l) belongs to the front end. The runtime
# (runtime/) sits below everything: it includes only its own headers, and the
# compiler includes only its public ones (nnrt*.h), the ones a user of the
# installed library sees. Headers generated into the build directory are
# placed by name below.
#
# Prints every arrow that breaks a rule and exits 1, else prints
# "layers: ok" and exits 0.
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
layers=(support front ir elab passes backend cmd repl main)

rank_of_layer() {
  local i
  for i in "${!layers[@]}"; do
    [[ ${layers[$i]} == "$1" ]] && { echo "$i"; return; }
  done
  echo -1
}

# The layer a header named in an #include belongs to, or "runtime",
# "runtime-private", or "unknown".
layer_of_header() {
  local name=$1 hit
  case $name in
    parser.h | lexer.h) echo front; return ;;
    nnc_toolchain.h) echo support; return ;;
  esac
  if [[ -f $root/runtime/$name ]]; then
    case $name in
      nnrt*.h) echo runtime ;;
      *) echo runtime-private ;;
    esac
    return
  fi
  for hit in "$root"/compiler/*/"$name"; do
    [[ -f $hit ]] || continue
    basename "$(dirname "$hit")"
    return
  done
  echo unknown
}

includes_of() {
  sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

bad=0
report() {
  echo "$1"
  bad=1
}

check_file() { # FILE LAYER
  local file=$1 layer=$2 rank inc target trank
  rank=$(rank_of_layer "$layer")
  while read -r inc; do
    [[ -n $inc ]] || continue
    target=$(layer_of_header "$inc")
    case $target in
      runtime) continue ;;
      runtime-private)
        report "${file#"$root"/}: includes $inc, a private header of the runtime (use the public nnrt*.h)"
        continue ;;
      unknown)
        report "${file#"$root"/}: includes $inc, which is in no layer"
        continue ;;
    esac
    trank=$(rank_of_layer "$target")
    if ((trank > rank)); then
      report "${file#"$root"/}: $layer includes $inc from $target, a higher layer"
    fi
  done < <(includes_of "$file")
}

shopt -s nullglob
for dir in "$root"/compiler/*/; do
  layer=$(basename "$dir")
  if (($(rank_of_layer "$layer") < 0)); then
    report "compiler/$layer/: not a layer (add it to scripts/check-layers.sh and docs/architecture.md)"
    continue
  fi
  for f in "$dir"*.c "$dir"*.h "$dir"*.def; do
    check_file "$f" "$layer"
  done
done
for f in "$root"/compiler/*.c "$root"/compiler/*.h; do
  check_file "$f" main
done
for f in "$root"/grammar/*.y "$root"/grammar/*.l; do
  check_file "$f" front
done

# The runtime includes nothing of the compiler.
for f in "$root"/runtime/*.c "$root"/runtime/*.h; do
  while read -r inc; do
    [[ -n $inc ]] || continue
    if [[ ! -f $root/runtime/$inc ]]; then
      report "${f#"$root"/}: the runtime includes $inc, which is not the runtime's"
    fi
  done < <(includes_of "$f")
done

if ((bad)); then
  exit 1
fi
echo "layers: ok"
