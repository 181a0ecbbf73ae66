/* program.c - module loading, import resolution and the global layer scope. */
#include "program.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toolchain.h"

enum { MAX_IMPORT_DEPTH = 64 };

void program_init(Program *p, Arena *a, Diag *d, const char *stdlib_dir) {
  memset(p, 0, sizeof *p);
  p->arena = a;
  p->diag = d;
  p->stdlib_dir = stdlib_dir;
  strmap_init(&p->by_key, a);
  strmap_init(&p->layers, a);
}

static const char *dir_of(Arena *a, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return ".";
  if (slash == path)
    return "/";
  return arena_strndup(a, path, (size_t)(slash - path));
}

static const char *real_key(Arena *a, const char *path) {
  char buf[PATH_MAX];
  if (realpath(path, buf))
    return arena_strdup(a, buf);
  return arena_strdup(a, path);
}

static bool is_regular_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void declare_layers(Program *p, ModuleFile *m) {
  PtrVec *items = &m->ast->u.module.items;
  for (int i = 0; i < items->len; i++) {
    AstNode *n = items->items[i];
    if (n->kind != AST_LAYER)
      continue;
    AstNode *prev = strmap_get(&p->layers, n->u.layer.name);
    if (prev) {
      diag_error(p->diag, n->u.layer.name_loc, "redefinition of %s '%s'",
                 n->u.layer.is_model ? "model" : "layer", n->u.layer.name);
      diag_note(p->diag, prev->u.layer.name_loc, "previous definition is here");
      continue;
    }
    strmap_put(&p->layers, n->u.layer.name, n);
    arena_ptrvec_push(p->arena, &p->layer_list, n);
  }
}

static void load_imports(Program *p, ModuleFile *m, int depth);

static ModuleFile *add_module(Program *p, const char *path, int file, ModuleFile *importer,
                              SrcSpan at) {
  ModuleFile *m = ARENA_NEW(p->arena, ModuleFile);
  m->key = real_key(p->arena, path);
  m->dir = dir_of(p->arena, path);
  m->file = file;
  m->state = MOD_LOADING;
  m->importer = importer;
  m->imported_at = at;
  strmap_put(&p->by_key, m->key, m);
  arena_ptrvec_push(p->arena, &p->modules, m);
  return m;
}

static void parse_and_load(Program *p, ModuleFile *m, int depth) {
  int errors = p->diag->errors;
  m->ast = parse_source(p->arena, p->diag, m->file);
  /* A broken import line would only add a follow-on error. */
  if (p->diag->errors == errors)
    load_imports(p, m, depth);
  declare_layers(p, m);
  m->state = MOD_DONE;
}

/* `import a.b` -> a/b.nn, `import "x/y.nn"` -> as written. */
static const char *import_relpath(Arena *a, const AstNode *imp) {
  if (imp->u.import.is_path)
    return imp->u.import.name;
  char *s = arena_printf(a, "%s.nn", imp->u.import.name);
  for (char *c = s; c < s + strlen(s) - 3; c++)
    if (*c == '.')
      *c = '/';
  return s;
}

static const char *resolve_import(Program *p, const ModuleFile *from, const AstNode *imp) {
  const char *rel = import_relpath(p->arena, imp);
  if (rel[0] == '/')
    return is_regular_file(rel) ? rel : NULL;
  const char *cand = arena_printf(p->arena, "%s/%s", from->dir, rel);
  if (is_regular_file(cand))
    return cand;
  if (!imp->u.import.is_path && p->stdlib_dir) {
    cand = arena_printf(p->arena, "%s/%s", p->stdlib_dir, rel);
    if (is_regular_file(cand))
      return cand;
  }
  return NULL;
}

static void report_cycle(Program *p, const ModuleFile *from, const ModuleFile *target,
                         const AstNode *imp) {
  const SourceFile *tf = diag_source(p->diag, target->file);
  diag_error(p->diag, imp->loc, "import cycle: '%s' is imported while it is still being loaded",
             tf ? tf->path : target->key);
  for (const ModuleFile *m = from; m && m != target; m = m->importer)
    if (m->imported_at.file >= 0)
      diag_note(p->diag, m->imported_at, "imported from here");
}

static void load_import(Program *p, ModuleFile *from, const AstNode *imp, int depth) {
  const char *path = resolve_import(p, from, imp);
  if (!path) {
    diag_error(p->diag, imp->loc, "cannot find module '%s' (looked for '%s' next to this file%s)",
               imp->u.import.name, import_relpath(p->arena, imp),
               !imp->u.import.is_path && p->stdlib_dir ? " and in the standard library" : "");
    return;
  }
  ModuleFile *m = strmap_get(&p->by_key, real_key(p->arena, path));
  if (m) {
    if (m->state == MOD_LOADING)
      report_cycle(p, from, m, imp);
    return; /* each module is loaded once */
  }
  if (depth >= MAX_IMPORT_DEPTH) {
    diag_error(p->diag, imp->loc, "imports are nested too deeply (more than %d levels)",
               MAX_IMPORT_DEPTH);
    return;
  }
  int file = diag_load_file(p->diag, path);
  if (file < 0) {
    diag_error(p->diag, imp->loc, "cannot read module '%s': %s", path, strerror(errno));
    return;
  }
  parse_and_load(p, add_module(p, path, file, from, imp->loc), depth + 1);
}

static void load_imports(Program *p, ModuleFile *m, int depth) {
  PtrVec *items = &m->ast->u.module.items;
  for (int i = 0; i < items->len && !diag_should_stop(p->diag); i++) {
    AstNode *n = items->items[i];
    if (n->kind == AST_IMPORT)
      load_import(p, m, n, depth);
  }
}

bool program_load_file(Program *p, const char *path) {
  int file = diag_load_file(p->diag, path);
  if (file < 0) {
    fprintf(p->diag->out, "nnc: error: cannot read '%s': %s\n", path, strerror(errno));
    p->diag->errors++;
    return false;
  }
  p->root = add_module(p, path, file, NULL, diag_span_none());
  parse_and_load(p, p->root, 0);
  return true;
}

void program_load_buffer(Program *p, const char *path, const char *text, size_t len) {
  program_load_buffer_at(p, path, text, len, 0, 0);
}

void program_load_buffer_at(Program *p, const char *path, const char *text, size_t len,
                            int skip_lines, int typed_lines) {
  int file = diag_add_source_at(p->diag, path, text, len, skip_lines, typed_lines);
  p->root = add_module(p, path, file, NULL, diag_span_none());
  parse_and_load(p, p->root, 0);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *program_find_stdlib(Arena *a, const char *argv0) {
  (void)argv0;
  const char *env = getenv("NNC_STDLIB");
  if (env && *env)
    return arena_strdup(a, env);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    const char *dir = dir_of(a, exe);
#ifdef NNC_INSTALL_STDLIB_REL
    const char *installed = arena_printf(a, "%s/%s", dir, NNC_INSTALL_STDLIB_REL);
    if (!toolchain_in_build_tree() && is_dir(installed))
      return installed;
#endif
    (void)dir;
  }
#ifdef NNC_SOURCE_DIR
  const char *src = NNC_SOURCE_DIR "/stdlib";
  if (is_dir(src))
    return src;
#endif
  return NULL;
}
