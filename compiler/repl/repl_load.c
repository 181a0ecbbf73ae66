/* repl_load.c - :load; see repl_load.h.
 *
 * The session checks all its definitions as one text, whose imports are
 * looked for next to the current directory; so before the file's text
 * joins it, each import that names a file next to the loaded one is
 * rewritten to that file's absolute path (on the same line, so the file's
 * line numbers stay right). The rest of its imports are the standard
 * library's. */
#include "repl.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "strbuf.h"

/* The whole file, NUL-terminated; NULL with errno set (a NUL byte inside
 * is EINVAL: the text could not be checked as a whole). */
static char *read_all(const char *path) {
  StrBuf t = {0};
  if (!strbuf_read_file(&t, path)) {
    free(t.s);
    return NULL;
  }
  if (memchr(t.s, '\0', t.len)) {
    free(t.s);
    errno = EINVAL;
    return NULL;
  }
  return t.s;
}

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* The import target at s (`a.b` or `"x.nn"`): its length, and in rel the
 * path it names relative to the importing file. */
static size_t import_target(const char *s, char *rel, size_t cap) {
  size_t n = 0;
  if (*s == '"') {
    while (s[n + 1] && s[n + 1] != '"' && s[n + 1] != '\n' && s[n + 1] != '\\')
      n++;
    if (s[n + 1] != '"' || n + 1 > cap)
      return 0;
    memcpy(rel, s + 1, n);
    rel[n] = '\0';
    return n + 2;
  }
  while (ident(s[n]) || (s[n] == '.' && ident(s[n + 1])))
    n++;
  if (!n || n + 4 > cap)
    return 0;
  for (size_t i = 0; i < n; i++)
    rel[i] = s[i] == '.' ? '/' : s[i];
  memcpy(rel + n, ".nn", 4);
  return n;
}

/* text with its imports of files next to it (in dir) made absolute. */
static char *absolute_imports(const char *text, const char *dir) {
  StrBuf t = {0};
  strbuf_add(&t, "", 0);
  const char *done = text;
  for (const char *s = repl_skip_space(text); *s;) {
    bool at_import =
        !strncmp(s, "import", 6) && isspace((unsigned char)s[6]) && (s == text || !ident(s[-1]));
    if (!at_import) {
      size_t k = *s == '"' ? 1 + strcspn(s + 1, "\"\n") : 0; /* a string's text */
      s = repl_skip_space(s + k + (s[k] ? 1 : 0));
      continue;
    }
    const char *target = repl_skip_space(s + 6);
    char rel[PATH_MAX], abs[PATH_MAX + PATH_MAX];
    size_t n = import_target(target, rel, sizeof rel);
    snprintf(abs, sizeof abs, "%s/%s", dir, rel);
    if (n && rel[0] != '/' && is_file(abs) && !strpbrk(abs, "\"\\\n")) {
      strbuf_add(&t, done, (size_t)(target - done));
      strbuf_puts(&t, "\"");
      strbuf_puts(&t, abs);
      strbuf_puts(&t, "\"");
      done = target + n;
    }
    s = repl_skip_space(target + n);
  }
  strbuf_puts(&t, done);
  return t.s;
}

bool repl_load(Repl *r, const char *args) {
  const char *start = args + strspn(args, " \t");
  size_t n = strlen(start);
  while (n && isspace((unsigned char)start[n - 1]))
    n--;
  char *path = strndup(start, n);
  if (!path)
    arena_fatal("out of memory");
  char real[PATH_MAX];
  bool ok = false;
  errno = 0;
  char *text = n ? read_all(path) : NULL;
  if (!n)
    fprintf(r->err, "error: usage: :load FILE.nn\n");
  else if (!text || !realpath(path, real))
    fprintf(r->err, "error: cannot read '%s': %s\n", path, strerror(errno ? errno : EINVAL));
  else {
    const char *dir = dirname(real);
    char *abs = absolute_imports(text, dir);
    ok = repl_define_from(r, abs, path, dir);
    free(abs);
  }
  free(text);
  free(path);
  return ok;
}
