#!/bin/sh
# Usage: cc_nnrt.sh NNC [CC ARGS...]
# Compiles and links a C program with a model object against the runtime
# NNC was built with, as `nnc --print-runtime` says: the same compiler (a
# sanitizer build needs its sanitizer runtime), the runtime's headers, and
# libnnrt.a with what it needs.
nnc=$1
shift
exec $("$nnc" --print-runtime cc) -std=c17 -Wall -Wextra -Werror \
  $("$nnc" --print-runtime cflags) "$@" $("$nnc" --print-runtime libs)
