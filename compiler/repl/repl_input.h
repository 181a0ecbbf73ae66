/* repl_input.h - reading the REPL's inputs: whole inputs of one or more
 * lines (an open bracket or block comment continues on the next line), with
 * libedit's line editing, history and completion on a terminal and plain
 * reads with no prompts otherwise, so scripts and tests see only results. */
#ifndef NNC_REPL_INPUT_H
#define NNC_REPL_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "repl_session.h"

typedef struct ReplInput {
  bool tty;
  char *history; /* the history file; NULL when not on a terminal */
} ReplInput;

/* `session` supplies names for tab completion. */
void repl_input_open(ReplInput *in, Repl *session);
/* The next input, malloc'd, without its final newline; NULL at end of input. */
char *repl_input_read(ReplInput *in);
/* Saves the history. */
void repl_input_close(ReplInput *in);

#endif
