/* repl_scan.h - the little lexing the REPL does before the front end sees
 * an input: whether it is finished, blank, and where its first word is. */
#ifndef NNC_REPL_SCAN_H
#define NNC_REPL_SCAN_H

#include <stdbool.h>

/* Open brackets minus closed ones, outside strings and comments; an
 * unterminated block comment counts as open. */
int repl_open_depth(const char *text);
/* True if text holds nothing but spaces and comments. */
bool repl_is_blank(const char *text);
/* Where the first token starts (after spaces and comments). */
const char *repl_skip_space(const char *text);

#endif
