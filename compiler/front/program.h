/* program.h - the set of modules one compilation reads, and the names they
 * declare.
 *
 * program_load reads the root file and, depth first, every module it imports.
 * Each file is parsed once (keyed by its real path); an import that reaches a
 * module still being loaded is an import cycle and is diagnosed with the
 * chain of imports. All layers of all loaded modules share one global scope:
 * a second definition of a name is an error pointing at the first.
 */
#ifndef NNC_PROGRAM_H
#define NNC_PROGRAM_H

#include "ast.h"
#include "diag.h"
#include "strmap.h"

typedef enum ModuleState { MOD_LOADING, MOD_DONE } ModuleState;

typedef struct ModuleFile {
  const char *key; /* real path, identifies the file */
  const char *dir; /* directory, for relative imports */
  int file;        /* Diag source id */
  AstNode *ast;
  ModuleState state;
  SrcSpan imported_at; /* the import that first loaded it (for cycle notes) */
  struct ModuleFile *importer;
} ModuleFile;

typedef struct Program {
  Arena *arena;
  Diag *diag;
  const char *stdlib_dir; /* may be NULL */
  PtrVec modules;         /* ModuleFile*, in load order */
  StrMap by_key;          /* real path -> ModuleFile* */
  StrMap layers;          /* layer name -> AstNode* (AST_LAYER) */
  PtrVec layer_list;      /* AstNode* in definition order, all modules */
  ModuleFile *root;
} Program;

void program_init(Program *p, Arena *a, Diag *d, const char *stdlib_dir);
/* Loads `path` (from disk) and its imports. False if the root could not be
 * read (already reported); syntax errors are reported but loading goes on. */
bool program_load_file(Program *p, const char *path);
/* Same, with the root's text given (fuzzing, the REPL). */
void program_load_buffer(Program *p, const char *path, const char *text, size_t len);
/* Same, for a generated text holding typed lines (diag_add_source_at). */
void program_load_buffer_at(Program *p, const char *path, const char *text, size_t len,
                            int skip_lines, int typed_lines);

/* The directory nnc's standard library lives in: $NNC_STDLIB, else
 * <exe dir>/<NNC_INSTALL_STDLIB_REL> (../share/nnc/stdlib) unless this is the
 * build tree's nnc, else <source tree>/stdlib. */
const char *program_find_stdlib(Arena *a, const char *argv0);

#endif
