/* repl.c - `nnc repl`: the read-eval-print loop and its commands. Each
 * input is a command (`:type x`), a definition (repl_defs.c), a binding
 * (`let x = ...`) or an expression (repl_eval.c). An error is reported and
 * leaves the session as it was. */
#include "repl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "Type an expression to see its type and value, or a definition to add it:\n"
    "  [[1, 2], [3, 4]] @ [[1], [1]]      tensors: lists, zeros([2, 3]), ones(...),\n"
    "                                     randn([2, 3], seed = 1), arange(5),\n"
    "                                     load(\"x.npy\"), load(\"x.csv\")\n"
    "  let x = relu(randn([4]))           bind a name (binding it again replaces it)\n"
    "  import nn / layer ... / model ...  definitions (defining a name again replaces it)\n"
    "  Net.forward(x), Net(x)             a model's functions, with the session's weights\n"
    "An open bracket continues the input on the next line; Ctrl-C drops the input.\n"
    "Commands:\n"
    "  :type EXPR    the type of EXPR          :shape EXPR   its shape\n"
    "  :ir EXPR      its tensor IR             :llvm EXPR    its optimised LLVM IR\n"
    "  :time EXPR    median time of one evaluation, compilation excluded\n"
    "  :grad EXPR wrt NAME   the gradient of a scalar EXPR with respect to the\n"
    "                        binding NAME\n"
    "  :load FILE.nn add a file's imports, layers and models to the session\n"
    "  :train MODEL STEPS    training steps on the model's data section, as its\n"
    "                        train section says (a second :train goes on;\n"
    "                        Ctrl-C stops it after the current step)\n"
    "  :train MODEL.SECTION STEPS  the same with train section SECTION (the\n"
    "                        first otherwise): the weights go on, the\n"
    "                        optimizer and the epoch order start afresh\n"
    "  :save MODEL FILE      its weights to a safetensors checkpoint\n"
    "  :restore MODEL FILE   its weights from one\n"
    "  :cache        how often compiled code was reused (an input whose function\n"
    "                is unchanged, bindings' values aside, is not compiled again)\n"
    "  :help         this text                 :quit         leave (or end of input)\n";

typedef struct Command {
  const char *name;
  ReplShow show;
} Command;

static const Command commands[] = {{":type", SHOW_TYPE}, {":shape", SHOW_SHAPE},
                                   {":ir", SHOW_IR},     {":llvm", SHOW_LLVM},
                                   {":time", SHOW_TIME}, {":grad", SHOW_GRAD}};

/* Commands on files and models, given the text after their name. */
typedef struct FileCommand {
  const char *name;
  bool (*run)(Repl *r, const char *args);
} FileCommand;

static const FileCommand file_commands[] = {
    {":load", repl_load}, {":train", repl_train}, {":save", repl_save}, {":restore", repl_restore}};

static void grad(Repl *r, char *text) {
  char *wrt = repl_grad_split(r, text);
  if (wrt && repl_is_blank(text))
    fprintf(r->err, "error: :grad needs an expression before 'wrt'\n");
  else if (wrt)
    repl_eval(r, text, SHOW_GRAD, wrt);
  free(wrt);
}

/* Runs a command; false when it ends the session. */
static bool command(Repl *r, char *text) {
  char *s = text + strspn(text, " \t");
  size_t n = strcspn(s, " \t\n");
  if ((n == 5 && !strncmp(s, ":quit", 5)) || (n == 2 && !strncmp(s, ":q", 2)))
    return false;
  if (n == 5 && !strncmp(s, ":help", 5)) {
    fputs(help, r->out);
    return true;
  }
  if (n == 6 && !strncmp(s, ":cache", 6)) {
    fprintf(r->out, "compiled code: %ld compiled, %ld reused\n", r->cache.compiles,
            r->cache.reuses);
    return true;
  }
  for (size_t i = 0; i < sizeof file_commands / sizeof file_commands[0]; i++)
    if (strlen(file_commands[i].name) == n && !strncmp(s, file_commands[i].name, n)) {
      file_commands[i].run(r, s + n);
      return true;
    }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strlen(commands[i].name) == n && !strncmp(s, commands[i].name, n)) {
      /* Blanked rather than cut, so columns in messages stay as typed. */
      memset(s, ' ', n);
      if (repl_is_blank(text))
        fprintf(r->err, "error: %s needs an expression\n", commands[i].name);
      else if (commands[i].show == SHOW_GRAD)
        grad(r, text);
      else
        repl_eval(r, text, commands[i].show, NULL);
      return true;
    }
  fprintf(r->err, "error: unknown command '%.*s' (:help lists the commands)\n", (int)n, s);
  return true;
}

/* `let NAME ...`: NAME, malloc'd; NULL if text is not a let. */
static char *let_name(const char *text) {
  const char *s = repl_skip_space(text);
  if (strncmp(s, "let", 3) || !isspace((unsigned char)s[3]))
    return NULL;
  s = repl_skip_space(s + 3);
  size_t n = 0;
  while (isalnum((unsigned char)s[n]) || s[n] == '_')
    n++;
  return n ? strndup(s, n) : NULL;
}

/* Evaluates one input; false when it ends the session. */
static bool eval(Repl *r, char *text) {
  if (repl_is_blank(text))
    return true;
  if (*repl_skip_space(text) == ':')
    return command(r, text);
  if (repl_is_definition(text)) {
    repl_define(r, text);
    return true;
  }
  char *name = let_name(text);
  repl_eval(r, text, name ? SHOW_BIND : SHOW_VALUE, name);
  free(name);
  return true;
}

static int usage(FILE *out, int rc) {
  fputs("usage: nnc repl [--stdlib=DIR]\n"
        "An interactive session: each input is checked, compiled and run at once.\n"
        "Type :help in it for what it takes. History is kept in $NNC_HISTORY\n"
        "(default ~/.nnc_history). With input from a file or pipe it prints no\n"
        "prompts, so a script can be run: nnc repl < session.txt\n",
        out);
  return rc;
}

int repl_command(int argc, char **argv, const char *stdlib_dir) {
  Repl r = {.stdlib_dir = stdlib_dir, .out = stdout, .err = stderr};
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "--stdlib=", 9))
      r.stdlib_dir = argv[i] + 9;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
      return usage(stdout, 0);
    else {
      fprintf(stderr, "nnc: error: unknown argument '%s'\n", argv[i]);
      return usage(stderr, 2);
    }
  }
  ReplInput in;
  repl_input_open(&in, &r);
  bool go = true;
  for (char *text; go && (text = repl_input_read(&in));) {
    go = eval(&r, text);
    free(text);
    fflush(r.out);
    fflush(r.err);
  }
  repl_input_close(&in);
  repl_session_free(&r);
  return 0;
}
