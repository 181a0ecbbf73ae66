/* repl_scan.c - see repl_scan.h. Strings and comments are skipped as the
 * lexer would. */
#include "repl.h"

#include <ctype.h>
#include <string.h>

/* Skips a comment or string starting at s; returns s when there is none.
 * *open is set when a block comment runs to the end of the text. */
static const char *skip_opaque(const char *s, bool *open) {
  if (s[0] == '/' && s[1] == '/') {
    while (*s && *s != '\n')
      s++;
    return s;
  }
  if (s[0] == '/' && s[1] == '*') {
    const char *e = strstr(s + 2, "*/");
    if (!e) {
      *open = true;
      return s + strlen(s);
    }
    return e + 2;
  }
  if (s[0] == '"') {
    s++;
    while (*s && *s != '"' && *s != '\n')
      s += s[0] == '\\' && s[1] ? 2 : 1;
    return *s == '"' ? s + 1 : s;
  }
  return s;
}

int repl_open_depth(const char *text) {
  int depth = 0;
  bool open = false;
  for (const char *s = text; *s;) {
    const char *t = skip_opaque(s, &open);
    if (t != s) {
      s = t;
      continue;
    }
    if (strchr("([{", *s))
      depth++;
    else if (strchr(")]}", *s))
      depth--;
    s++;
  }
  return open ? depth + 1 : depth;
}

const char *repl_skip_space(const char *text) {
  const char *s = text;
  for (;;) {
    bool open = false;
    while (isspace((unsigned char)*s))
      s++;
    const char *t = *s == '"' ? s : skip_opaque(s, &open);
    if (t == s)
      return s;
    s = t;
  }
}

bool repl_is_blank(const char *text) { return !*repl_skip_space(text); }
