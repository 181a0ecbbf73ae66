/* main.c - the nnc driver: parses the command line and runs the stages.
 *
 *   nnc check FILE...          check syntax, names and shapes
 *   nnc --emit=ast FILE        print the syntax tree
 *   nnc --emit=ir FILE         print the tensor IR of each model
 *
 * Exit status: 0 success, 1 errors in the program, 2 bad command line.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "frontend.h"
#include "program.h"

#ifndef NNC_VERSION
#define NNC_VERSION "0.1.0"
#endif

static void usage(FILE *out) {
  fputs("usage: nnc check FILE.nn...         check a model: syntax, names, shapes\n"
        "       nnc --emit=ast|ir FILE.nn    print the syntax tree or the tensor IR\n"
        "       nnc --version | --help\n"
        "\n"
        "options:\n"
        "  --emit=ast        print the syntax tree of FILE\n"
        "  --emit=ir         print the tensor IR of each model in FILE\n"
        "  --stdlib=DIR      where `import nn` finds the standard library\n"
        "                    (default: $NNC_STDLIB, then the installed or source stdlib)\n",
        out);
}

int main(int argc, char **argv) {
  Arena arena;
  arena_init(&arena);
  FrontendOptions opt = {.emit = EMIT_NONE, .out = stdout, .diag_out = stderr};
  const char *files[256];
  int nfiles = 0;
  bool check = false, explicit_stdlib = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      arena_free(&arena);
      return 0;
    } else if (!strcmp(a, "--version")) {
      printf("nnc %s\n", NNC_VERSION);
      arena_free(&arena);
      return 0;
    } else if (!strcmp(a, "check") && nfiles == 0 && !check) {
      check = true;
    } else if (!strcmp(a, "--emit=ast")) {
      opt.emit = EMIT_AST;
    } else if (!strcmp(a, "--emit=ir")) {
      opt.emit = EMIT_IR;
    } else if (!strncmp(a, "--stdlib=", 9)) {
      opt.stdlib_dir = a + 9;
      explicit_stdlib = true;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "nnc: error: unknown option '%s'\n", a);
      usage(stderr);
      arena_free(&arena);
      return 2;
    } else if (nfiles < (int)(sizeof files / sizeof files[0])) {
      files[nfiles++] = a;
    } else {
      fprintf(stderr, "nnc: error: too many input files\n");
      arena_free(&arena);
      return 2;
    }
  }
  if (nfiles == 0 || (!check && opt.emit == EMIT_NONE)) {
    fprintf(stderr, nfiles ? "nnc: error: nothing to do: use 'nnc check' or --emit=ast|ir "
                             "(code generation is not implemented yet)\n"
                           : "nnc: error: no input file\n");
    usage(stderr);
    arena_free(&arena);
    return 2;
  }
  if (nfiles > 1 && opt.emit != EMIT_NONE) {
    fprintf(stderr, "nnc: error: --emit takes one input file\n");
    arena_free(&arena);
    return 2;
  }
  if (!explicit_stdlib)
    opt.stdlib_dir = program_find_stdlib(&arena, argv[0]);
  int errors = 0;
  for (int i = 0; i < nfiles; i++)
    errors += frontend_run_file(files[i], &opt);
  arena_free(&arena);
  return errors ? 1 : 0;
}
