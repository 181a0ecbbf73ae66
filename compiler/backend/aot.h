/* aot.h - ahead-of-time compilation: a model as an object file with a C
 * header (`nnc -c`), or as an executable (`nnc model.nn -o model`).
 *
 * The object holds every function of the model (the training step and
 * evaluation when it has a train section), compiled as for the JIT, plus
 * the model's descriptor `<prefix>_desc` (runtime/nnrt_model.h) and one
 * exported function per entry of the handle API, `<prefix>_create`,
 * `<prefix>_predict`, ...; everything else is internal, so objects of
 * different models link into one program. An executable is that object plus
 * a `main` that calls nnrt_main, linked with the runtime by the system's C
 * compiler driver.
 */
#ifndef NNC_AOT_H
#define NNC_AOT_H

#include "frontend.h"
#include "jit.h"

typedef enum AotEmit { AOT_EXE, AOT_OBJ, AOT_ASM, AOT_LLVM } AotEmit;

typedef struct AotOptions {
  AotEmit emit;
  const char *out;        /* the file to write */
  const char *header;     /* AOT_OBJ: the header (NULL: out with .h) */
  const char *prefix;     /* symbol prefix (NULL: the model name in snake_case) */
  const char *triple;     /* NULL: the host */
  const char *cpu;        /* NULL: the host's for the host triple, else generic */
  const char *bake;       /* a checkpoint whose weights are compiled in, or NULL */
  const char *model_file; /* the .nn file, for relative data paths and the header */
  const char *train;      /* the train section compiled in (NULL: the first); one, as the
                             descriptor and the header's train_step hold one step */
  const char *cc;         /* the C compiler driver for AOT_EXE (NULL: $CC, else the
                             runtime's, toolchain_runtime_cc) */
  CodegenOptions cg;
} AotOptions;

/* Compiles m as o says and writes o->out (and the header). Errors go to
 * stderr as "nnc: error: ..."; returns 0 or 1. */
int aot_compile(Compilation *comp, IrModule *m, const AotOptions *o);

/* "DigitsMLP" -> "digits_mlp": the default symbol prefix. */
const char *aot_default_prefix(Arena *a, const char *model_name);

#endif
