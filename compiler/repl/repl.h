/* repl.h - `nnc repl`: an interactive session in which each input is parsed,
 * checked, JIT-compiled and run at once. The REPL's one header: repl_command
 * for the driver, then a section per file of the REPL (repl_*.c).
 */
#ifndef NNC_REPL_H
#define NNC_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend.h"
#include "ir.h"
#include "jit.h"
#include "nnrt.h"
#include "nnrt_data.h"
#include "nnrt_model.h"
#include "program.h"
#include "train_step.h"

/* argv[0] is "repl". Returns the exit status: 0, or 2 for a bad command
 * line. Errors in what is typed are reported and the session goes on. */
int repl_command(int argc, char **argv, const char *stdlib_dir);

/* ---- repl_cache.c ------------------------------------------------------------ */

/* repl_cache.c - compiled code of REPL inputs, kept for reuse.
 *
 * Every input goes through the front end again (cheap), but JIT compilation
 * (fusion, LLVM, O3) is reused when the function is the same as one
 * compiled before: the key is the printed IR of the generated module, its
 * parameters and the function, so a new value of a binding (a function
 * input) reuses the code, while a new shape, another expression or a
 * redefined layer or model compiles afresh. The cache keeps the last few
 * functions; an entry owns its compilation, which the code refers to. */

enum { REPL_CACHE_ENTRIES = 16 };

typedef struct ReplCacheEntry {
  char *key;
  Compilation *comp;
  Jit *jit;
  JitFunc *jf;
} ReplCacheEntry;

typedef struct ReplCache {
  ReplCacheEntry e[REPL_CACHE_ENTRIES];
  int next;              /* the entry the next miss replaces */
  long compiles, reuses; /* for :cache */
} ReplCache;

/* The compiled form of f, the one function of module m (from *comp): a
 * cached one, or a new one, in which case the cache takes *comp (and sets
 * it to NULL). NULL with a message when compilation fails. */
JitFunc *repl_cache_compile(ReplCache *c, Compilation **comp, const IrModule *m, const IrFunc *f,
                            char *err, size_t errlen);

void repl_cache_free(ReplCache *c);

/* ---- repl_session.c ---------------------------------------------------------- */

/* repl_session.c - what a REPL session remembers between inputs: the
 * definitions typed so far, as source text, and the tensors bound by `let`.
 * Both outlive any one compilation, so they are malloc'd, not in an arena. */

typedef struct ReplVar {
  char *name;
  nnrt_tensor t;
} ReplVar;

/* One input holding imports, layers or models; `names` are what it defines
 * ("import nn" for an import), so a later input can replace it. */
typedef struct ReplDef {
  char *text;
  char *dir; /* :load: the file's directory (its data paths are relative to it); else NULL */
  char **names;
  bool *is_model; /* names[i] is a model (not a layer or an import) */
  int nnames;
} ReplDef;

/* A model's runtime handle, made when a command first needs it
 * (repl_model.h). */
typedef struct ReplModel ReplModel;

typedef struct Repl {
  const char *stdlib_dir;
  FILE *out, *err;
  ReplVar *vars;
  int nvars, cap_vars;
  ReplDef *defs;
  int ndefs, cap_defs;
  ReplModel **models;
  int nmodels;
  ReplCache cache; /* compiled expressions */
  uint64_t draws;  /* evaluations so far: the step random ops draw with (seed 0) */
} Repl;

void repl_session_free(Repl *r);
void repl_def_free(ReplDef *d);
ReplVar *repl_var(Repl *r, const char *name);
/* Binds name to t, taking ownership of t's data and freeing any old value. */
void repl_bind(Repl *r, const char *name, nnrt_tensor t);

/* ---- repl_scan.c ------------------------------------------------------------- */

/* repl_scan.c - the little lexing the REPL does before the front end sees
 * an input: whether it is finished, blank, and where its first word is. */

/* Open brackets minus closed ones, outside strings and comments; an
 * unterminated block comment counts as open. */
int repl_open_depth(const char *text);
/* True if text holds nothing but spaces and comments. */
bool repl_is_blank(const char *text);
/* Where the first token starts (after spaces and comments). */
const char *repl_skip_space(const char *text);

/* ---- repl_input.c ------------------------------------------------------------ */

/* repl_input.c - reading the REPL's inputs: whole inputs of one or more
 * lines (an open bracket or block comment continues on the next line), with
 * libedit's line editing, history and completion on a terminal and plain
 * reads with no prompts otherwise, so scripts and tests see only results. */

typedef struct ReplInput {
  bool tty;
  char *history; /* the history file; NULL when not on a terminal */
} ReplInput;

/* `session` supplies names for tab completion. */
void repl_input_open(ReplInput *in, Repl *session);
/* The next input, malloc'd, without its final newline; NULL at end of input. */
char *repl_input_read(ReplInput *in);
/* Saves the history. */
void repl_input_close(ReplInput *in);

/* ---- repl_interrupt.c -------------------------------------------------------- */

/* repl_interrupt.c - Ctrl-C in an interactive REPL session: it abandons the
 * line being typed or stops a running :train (or :time) at the next step,
 * and the session goes on. Without a terminal SIGINT keeps its default
 * action, so a script run as `nnc repl < file` can still be stopped. */

/* Catches SIGINT from now on (interactive sessions only). */
void repl_interrupt_install(void);
/* Puts back the action SIGINT had before repl_interrupt_install. */
void repl_interrupt_remove(void);
/* Whether Ctrl-C was pressed since the last call; clears it. */
bool repl_interrupt_take(void);

/* ---- repl_defs.c ------------------------------------------------------------- */

/* repl_defs.c - the definitions typed at the REPL (imports, layers,
 * models). The session keeps them as source text; each new input is
 * checked together with the earlier ones it does not replace, and only
 * joins the session if the whole is well-formed. */

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

/* ---- repl_load.c ------------------------------------------------------------- */

/* repl_load.c - `:load FILE.nn`: a file's imports, layers and models join
 * the session as one definition, as if typed (a name defined again is
 * replaced). */

/* `args` is the file's path. False after reporting errors (with the file's
 * name and line numbers), leaving the session as it was. */
bool repl_load(Repl *r, const char *args);

/* ---- repl_eval.c ------------------------------------------------------------- */

/* repl_eval.c - evaluating a tensor expression typed at the REPL.
 *
 * The expression becomes the body of a generated function whose arguments
 * are the session's bindings, with their concrete types, and the tensor
 * literals and constructors the expression contains (repl_literal.c). The
 * function goes through the whole front end, is JIT-compiled and run. The
 * typed lines are given to the front end as the file `<input>`, numbered
 * from 1, so a diagnostic's caret sits under what was typed. */

typedef enum ReplShow {
  SHOW_VALUE, /* run it and print the type and values */
  SHOW_BIND,  /* `let NAME = EXPR`: run it and bind the result to NAME */
  SHOW_TYPE,
  SHOW_SHAPE,
  SHOW_IR,   /* the function's tensor IR */
  SHOW_LLVM, /* its optimised LLVM IR */
  SHOW_TIME, /* run it repeatedly and print the median time of a run */
  SHOW_GRAD  /* its gradient with respect to the binding `name` */
} ReplShow;

/* `text` is the expression, or for SHOW_BIND the whole `let` statement
 * binding `name` (for SHOW_GRAD, `name` is the binding to differentiate
 * with respect to). Returns false after reporting an error. */
bool repl_eval(Repl *r, const char *text, ReplShow show, const char *name);

/* ---- repl_literal.c ---------------------------------------------------------- */

/* repl_literal.c - tensors made directly at the REPL: list literals
 * (`[[1, 2], [3, 4]]`) and the constructors zeros, ones, randn, arange and
 * load. The language has no tensor constants, so before checking, each
 * such expression is evaluated here and replaced by a new argument of the
 * generated function (`__k0: f32[2, 2]`) whose value it supplies. */

typedef struct ReplLiterals {
  Repl *session;    /* a binding's name is not a constructor */
  nnrt_tensor *lit; /* __k<i>, malloc'd */
  int n, cap;
} ReplLiterals;

/* Rewrites the expressions in the body of `fn` (an AST_FN); errors go to
 * p->diag. */
void repl_literals_rewrite(Program *p, AstNode *fn, ReplLiterals *l);
void repl_literals_free(ReplLiterals *l);

/* ---- repl_calls.c ------------------------------------------------------------ */

/* repl_calls.c - expressions that call the session's models' functions:
 * `Xor.forward(x)`, `Xor(x)`. The generated model that holds the
 * expression gets an instance of each model named in it (`Xor = Xor()`),
 * and the session's definitions are compiled along with it; when it runs,
 * the instance's parameters are the model's runtime handle's (repl_model.h),
 * so a call sees the weights :train and :restore left there. */

typedef struct ReplCalls {
  char **names; /* the models the expression names, each once */
  int n;
} ReplCalls;

/* Finds the session's models named in text and followed by `.` or `(`. */
void repl_calls_find(const Repl *r, const char *text, ReplCalls *c);
void repl_calls_free(ReplCalls *c);

/* Every parameter of m (`Xor.hidden.W`) as the data of its model's handle
 * (`hidden.W`), in m's order; malloc'd. NULL after reporting an error (the
 * model has no handle: no data or train section). */
void **repl_calls_params(Repl *r, const IrModule *m);

/* ---- repl_grad.c ------------------------------------------------------------- */

/* repl_grad.c - `:grad EXPR wrt NAME`: the gradient of a scalar expression
 * with respect to one of the session's bindings, by reverse-mode autodiff
 * of the expression's generated function (autodiff.h, with wrt_inputs, as
 * `nnc call --grad` does). */

/* Splits `:grad`'s text (the command's name blanked) at its last ` wrt `:
 * the name after it, malloc'd, with the `wrt NAME` blanked in text (so
 * columns stay as typed). NULL after reporting a missing or bad name. */
char *repl_grad_split(Repl *r, char *text);

/* Derives f (a scalar float function of the bindings, arguments `in`,
 * parameters `params`) and prints d f / d wrt like a value. False after
 * reporting an error. */
bool repl_grad(Repl *r, Arena *a, IrModule *m, const IrFunc *f, const char *wrt, void *const *in,
               void *const *params);

/* ---- repl_time.c ------------------------------------------------------------- */

/* repl_time.c - `:time EXPR`: how long one evaluation of an expression's
 * compiled function takes, compilation excluded. */

/* Calls jf once to warm up (its workspace is allocated then), then again
 * until about 0.2 s have passed (at least 5 and at most 1000 calls), and
 * prints `median T UNIT per evaluation (N runs)`. False after reporting a
 * failed call. */
bool repl_time_calls(Repl *r, JitFunc *jf, void *const *in, void *const *params, void *const *out);

/* ---- repl_model.c ------------------------------------------------------------ */

/* repl_model.c - the runtime handles of the session's models, for :train,
 * :save and :restore. A handle is made when a command first names its
 * model: the session's definitions are compiled together, the model's
 * training step and loss are JIT-compiled and wrapped in an nnrt_model
 * (the same descriptor `nnc run` builds), with its parameters initialised
 * from the data section's seed and its training data loaded (a model
 * without data and train sections gets a handle too, for its weights). It keeps its
 * weights and its place in the epoch order until the model is defined
 * again. A model with several train sections trains through its first
 * until :train names another (MODEL.SECTION): the handle is then made
 * again for that section, with the model's weights and states as they
 * were, fresh optimizer state and the epoch order from its start. */

struct ReplModel {
  char *name;
  char *section;     /* the train section compiled in; NULL: the first */
  char *text;        /* the session source it was compiled from */
  Compilation *comp; /* owns the IR and the descriptor */
  Jit *jit;          /* owns the code */
  nnrt_model *m;
  TrainStep ts;            /* with a train section */
  nnrt_dataset train, val; /* as the compiled step takes them; empty without data */
  int64_t epoch, batch;    /* where the next step is in the epoch order */
  int64_t *perm;           /* the order of `epoch` */
  void *x, *y;             /* one batch */
};

/* The handle of model `name`, made if need be; NULL after reporting why
 * (no such model, data that cannot be read). */
ReplModel *repl_model(Repl *r, const char *name);
/* The handle of model `name` training through train section `section`
 * (repl_model's when it already does), if `usable` accepts it; NULL after
 * reporting why (no such section, among the others; what `usable`
 * reports), the model's handle left as it was. */
ReplModel *repl_model_section(Repl *r, const char *name, const char *section,
                              bool (*usable)(Repl *r, const ReplModel *h));
/* Forgets the handle of `name`, if any (the model was defined again). */
void repl_model_drop(Repl *r, const char *name);
void repl_models_free(Repl *r);

/* ---- repl_train.c ------------------------------------------------------------ */

/* repl_train.c - the REPL's commands on a model's runtime handle (see
 * repl_model.h): training it and saving or restoring its weights. `args`
 * is what follows the command's name. Each returns false after reporting
 * an error, leaving the handle as it was. */

/* `:train MODEL STEPS`: STEPS optimizer steps over the batches of the
 * data section's shuffled epochs, continuing where the last one stopped,
 * printing `step N loss X` (every step, or about ten of them). */
bool repl_train(Repl *r, const char *args);
/* `:save MODEL FILE` and `:restore MODEL FILE`: safetensors checkpoints. */
bool repl_save(Repl *r, const char *args);
bool repl_restore(Repl *r, const char *args);

/* ---- repl_print.c ------------------------------------------------------------ */

/* repl_print.c - tensors printed for people, NumPy-style: nested brackets,
 * aligned columns, and long tensors summarised with `...`. */

/* `f32[2, 3]`, or `f32` for a scalar. */
void repl_print_type(FILE *out, const nnrt_tensor *t);
/* `[2, 3]`, or `[]` for a scalar. */
void repl_print_shape(FILE *out, const nnrt_tensor *t);
/* The type on one line, then the values. */
void repl_print_tensor(FILE *out, const nnrt_tensor *t);

#endif
