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
/* The same for the text of a file (:load): diagnostics name `file` with
 * its own line numbers, and `dir` is kept for the data paths of its
 * models. A model defined again loses its runtime handle. */
bool repl_define_from(Repl *r, const char *text, const char *file, const char *dir);
/* Every definition of the session, one after another; malloc'd. */
char *repl_defs_text(const Repl *r);
/* Whether `name` is a model of the session. */
bool repl_is_model(const Repl *r, const char *name);
/* The directory of the :load that defined `name`, or "." when it was
 * typed (or is not defined). */
const char *repl_def_dir(const Repl *r, const char *name);

#endif
