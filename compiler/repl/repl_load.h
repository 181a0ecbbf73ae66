/* repl_load.h - `:load FILE.nn`: a file's imports, layers and models join
 * the session as one definition, as if typed (a name defined again is
 * replaced). */
#ifndef NNC_REPL_LOAD_H
#define NNC_REPL_LOAD_H

#include <stdbool.h>

#include "repl_session.h"

/* `args` is the file's path. False after reporting errors (with the file's
 * name and line numbers), leaving the session as it was. */
bool repl_load(Repl *r, const char *args);

#endif
