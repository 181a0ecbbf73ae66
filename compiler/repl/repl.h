/* repl.h - `nnc repl`: an interactive session in which each input is parsed,
 * checked, JIT-compiled and run at once. */
#ifndef NNC_REPL_H
#define NNC_REPL_H

/* argv[0] is "repl". Returns the exit status: 0, or 2 for a bad command
 * line. Errors in what is typed are reported and the session goes on. */
int repl_command(int argc, char **argv, const char *stdlib_dir);

#endif
