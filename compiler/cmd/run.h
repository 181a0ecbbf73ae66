/* run.h - the `nnc run` command (training, evaluation, prediction). */
#ifndef NNC_RUN_H
#define NNC_RUN_H

/* argv[0] is "run". Returns the exit status: 0, 1 (errors in the model,
 * the data or at run time) or 2 (bad command line). */
int run_command(int argc, char **argv, const char *stdlib_dir);

#endif
