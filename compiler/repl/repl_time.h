/* repl_time.h - `:time EXPR`: how long one evaluation of an expression's
 * compiled function takes, compilation excluded. */
#ifndef NNC_REPL_TIME_H
#define NNC_REPL_TIME_H

#include <stdbool.h>

#include "jit.h"
#include "repl_session.h"

/* Calls jf once to warm up (its workspace is allocated then), then again
 * until about 0.2 s have passed (at least 5 and at most 1000 calls), and
 * prints `median T UNIT per evaluation (N runs)`. False after reporting a
 * failed call. */
bool repl_time_calls(Repl *r, JitFunc *jf, void *const *in, void *const *params, void *const *out);

#endif
