/* rows.h - softmax, log_softmax and cross_entropy as row reductions.
 *
 * Before fusion, after autodiff (whose rules for these ops are exact and
 * stay as they are), each of them becomes the reductions along its axis and
 * the elementwise ops it is made of:
 *
 *   softmax(x)          m = max(x); e = exp(x - m); e / sum(e)
 *   log_softmax(x)      m = max(x); d = x - m; d - log(sum(exp(d)))
 *   cross_entropy(z, y) mean(max(z) + log(sum(exp(z - max(z))))
 *                            - sum(where(one_hot(y), z, 0)))
 *
 * every reduction along the row axis with keepdims, so that fusion can put
 * all of them into one row kernel (fuse.h). The label read of a
 * cross-entropy becomes a one_hot's, range-checked like every index
 * operand; messages keep naming the op the program wrote (rows_source).
 */
#ifndef NNC_ROWS_H
#define NNC_ROWS_H

#include "ir.h"

/* f itself when it holds none of these ops; else a copy with them
 * expanded, its values numbered afresh in definition order. *source gets,
 * for each value id of the result, the value of f it copies (NULL for the
 * values of an expansion). */
const IrFunc *rows_lower(Arena *a, const IrFunc *f, const IrValue ***source);

#endif
