/* repl_print.h - tensors printed for people, NumPy-style: nested brackets,
 * aligned columns, and long tensors summarised with `...`. */
#ifndef NNC_REPL_PRINT_H
#define NNC_REPL_PRINT_H

#include <stdio.h>

#include "nnrt.h"

/* `f32[2, 3]`, or `f32` for a scalar. */
void repl_print_type(FILE *out, const nnrt_tensor *t);
/* `[2, 3]`, or `[]` for a scalar. */
void repl_print_shape(FILE *out, const nnrt_tensor *t);
/* The type on one line, then the values. */
void repl_print_tensor(FILE *out, const nnrt_tensor *t);

#endif
