/* repl_interrupt.h - Ctrl-C in an interactive REPL session: it abandons the
 * line being typed or stops a running :train (or :time) at the next step,
 * and the session goes on. Without a terminal SIGINT keeps its default
 * action, so a script run as `nnc repl < file` can still be stopped. */
#ifndef NNC_REPL_INTERRUPT_H
#define NNC_REPL_INTERRUPT_H

#include <stdbool.h>

/* Catches SIGINT from now on (interactive sessions only). */
void repl_interrupt_install(void);
/* Puts back the action SIGINT had before repl_interrupt_install. */
void repl_interrupt_remove(void);
/* Whether Ctrl-C was pressed since the last call; clears it. */
bool repl_interrupt_take(void);

#endif
