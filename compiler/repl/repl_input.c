/* repl_input.c - reading whole inputs, with libedit on a terminal; see
 * repl_input.h. */
#include "repl.h"

#include <editline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"

enum { HISTORY_MAX = 1000 };

/* libedit's completion callbacks take no context argument. */
static Repl *completion_session;

static const char *const commands[] = {":help",    ":type",  ":shape", ":ir",    ":llvm",
                                       ":time",    ":grad",  ":load",  ":train", ":save",
                                       ":restore", ":cache", ":quit",  NULL};

/* The idx-th name that completion may offer: commands, then bindings, then
 * what the definitions define (imports excluded). */
static const char *candidate(int idx) {
  for (int i = 0; commands[i]; i++)
    if (idx-- == 0)
      return commands[i];
  Repl *r = completion_session;
  if (idx < r->nvars)
    return r->vars[idx].name;
  idx -= r->nvars;
  for (int i = 0; i < r->ndefs; i++)
    for (int k = 0; k < r->defs[i].nnames; k++)
      if (strncmp(r->defs[i].names[k], "import ", 7) && idx-- == 0)
        return r->defs[i].names[k];
  return NULL;
}

static char *complete_name(const char *text, int state) {
  static int next;
  if (!state)
    next = 0;
  size_t n = strlen(text);
  for (const char *c; (c = candidate(next));) {
    next++;
    if (!strncmp(c, text, n))
      return strdup(c);
  }
  return NULL;
}

static char **complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1; /* no file names */
  return rl_completion_matches(text, complete_name);
}

static char *history_path(void) {
  const char *env = getenv("NNC_HISTORY");
  if (env && *env)
    return strdup(env);
  const char *home = getenv("HOME");
  if (!home || !*home)
    return NULL;
  size_t n = strlen(home) + sizeof "/.nnc_history";
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/.nnc_history", home);
  return p;
}

void repl_input_open(ReplInput *in, Repl *session) {
  memset(in, 0, sizeof *in);
  in->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  if (!in->tty)
    return;
  repl_interrupt_install();
  completion_session = session;
  rl_readline_name = "nnc";
  rl_attempted_completion_function = complete;
  rl_completer_word_break_characters = " \t\n()[]{},+-*/@=<>!;";
  using_history();
  stifle_history(HISTORY_MAX);
  in->history = history_path();
  if (in->history)
    read_history(in->history);
}

void repl_input_close(ReplInput *in) {
  if (in->tty)
    repl_interrupt_remove();
  if (in->history) {
    write_history(in->history);
    history_truncate_file(in->history, HISTORY_MAX);
  }
  free(in->history);
  in->history = NULL;
}

/* One line without its newline, malloc'd; NULL at end of input. */
static char *read_line(ReplInput *in, bool continued) {
  if (in->tty)
    return readline(continued ? "...> " : "nnc> ");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0) {
    free(line);
    return NULL;
  }
  if (n > 0 && line[n - 1] == '\n')
    line[n - 1] = '\0';
  return line;
}

static char *append_line(char *text, const char *line) {
  size_t a = text ? strlen(text) : 0, b = strlen(line);
  char *t = realloc(text, a + b + 2);
  if (!t)
    arena_fatal("out of memory");
  if (a)
    t[a++] = '\n';
  memcpy(t + a, line, b + 1);
  return t;
}

/* Ctrl-C while typing: the input so far is dropped and a fresh prompt
 * comes, as in a shell. */
static char *abandon(char *text) {
  free(text);
  fputs("\n", stdout);
  fflush(stdout);
  return strdup("");
}

char *repl_input_read(ReplInput *in) {
  char *text = NULL;
  repl_interrupt_take(); /* one pressed while the last input ran is spent */
  for (;;) {
    char *line = read_line(in, text != NULL);
    if (in->tty && repl_interrupt_take()) {
      free(line);
      return abandon(text);
    }
    if (!line)
      return text; /* an unfinished input at the end is still evaluated */
    text = append_line(text, line);
    free(line);
    if (repl_open_depth(text) <= 0)
      break;
  }
  if (in->tty && !repl_is_blank(text))
    add_history(text);
  return text;
}
