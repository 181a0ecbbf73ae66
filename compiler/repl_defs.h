/* repl_defs.h - the definitions typed at the REPL (imports, layers,
 * models). The session keeps them as source text; each new input is
 * checked together with the earlier ones it does not replace, and only
 * joins the session if the whole is well-formed. */
#ifndef NNC_REPL_DEFS_H
#define NNC_REPL_DEFS_H

#include <stdbool.h>

#include "repl_session.h"

/* True if text starts with `import`, `layer` or `model`. */
bool repl_is_definition(const char *text);
/* Checks and adds the definitions in text; false after reporting errors,
 * leaving the session as it was. */
bool repl_define(Repl *r, const char *text);

#endif
