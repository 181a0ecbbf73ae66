/* diag.c - source registry and caret diagnostics; see diag.h. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

void diag_init(Diag *d, Arena *arena, FILE *out) {
  memset(d, 0, sizeof *d);
  d->arena = arena;
  d->out = out;
}

int diag_add_source(Diag *d, const char *path, const char *text, size_t len) {
  return diag_add_source_at(d, path, text, len, 0, 0);
}

int diag_add_source_at(Diag *d, const char *path, const char *text, size_t len, int skip_lines,
                       int typed_lines) {
  if (d->nfiles == d->cap) {
    int cap = d->cap ? d->cap * 2 : 8;
    d->files = arena_grow(d->arena, d->files, (size_t)d->nfiles, (size_t)cap, sizeof *d->files);
    d->cap = cap;
  }
  SourceFile *f = ARENA_NEW(d->arena, SourceFile);
  f->path = arena_strdup(d->arena, path);
  f->text = arena_strndup(d->arena, text, len);
  f->len = len;
  f->skip_lines = skip_lines;
  f->typed_lines = typed_lines;
  d->files[d->nfiles] = f;
  return d->nfiles++;
}

int diag_load_file(Diag *d, const char *path) {
  StrBuf b = {0};
  if (!strbuf_read_file(&b, path))
    return -1;
  int id = diag_add_source(d, path, b.s, b.len);
  free(b.s);
  return id;
}

const SourceFile *diag_source(const Diag *d, int file) {
  if (file < 0 || file >= d->nfiles)
    return NULL;
  return d->files[file];
}

SrcSpan diag_span_none(void) { return (SrcSpan){-1, 0, 0, 0, 0}; }

static void compute_lines(Arena *arena, SourceFile *f) {
  if (f->line_starts)
    return;
  int n = 1;
  for (size_t i = 0; i < f->len; i++)
    n += f->text[i] == '\n';
  f->line_starts = ARENA_ARRAY(arena, size_t, (size_t)n);
  int k = 0;
  f->line_starts[k++] = 0;
  for (size_t i = 0; i < f->len; i++)
    if (f->text[i] == '\n')
      f->line_starts[k++] = i + 1;
  f->nlines = n;
}

/* Long lines are cut around the caret so a 1 MB line prints a short excerpt. */
enum { EXCERPT_MAX = 160 };

static void print_excerpt(Diag *d, SrcSpan at) {
  SourceFile *f = d->files[at.file];
  compute_lines(d->arena, f);
  if (at.first_line < 1 || at.first_line > f->nlines)
    return;
  size_t start = f->line_starts[at.first_line - 1];
  size_t end = start;
  while (end < f->len && f->text[end] != '\n')
    end++;
  if (end > start && f->text[end - 1] == '\r')
    end--;
  size_t col0 = at.first_column > 0 ? (size_t)at.first_column - 1 : 0;
  if (col0 > end - start)
    col0 = end - start;
  size_t ulen = 1;
  if (at.last_line == at.first_line && at.last_column >= at.first_column)
    ulen = (size_t)(at.last_column - at.first_column) + 1;
  else if (at.last_line > at.first_line)
    ulen = (end - start) - col0; /* underline to end of line */
  if (ulen == 0)
    ulen = 1;

  size_t from = start, to = end;
  if (end - start > EXCERPT_MAX) {
    size_t c = start + col0;
    from = c > start + EXCERPT_MAX / 2 ? c - EXCERPT_MAX / 2 : start;
    to = from + EXCERPT_MAX < end ? from + EXCERPT_MAX : end;
  }
  if (ulen > EXCERPT_MAX)
    ulen = EXCERPT_MAX;
  /* Control bytes and NULs would garble the terminal; show them as '?'. */
  fputs("  ", d->out);
  if (from > start)
    fputs("...", d->out);
  for (size_t i = from; i < to; i++) {
    unsigned char ch = (unsigned char)f->text[i];
    fputc(ch == '\t' || ch >= 0x20 ? ch : '?', d->out);
  }
  if (to < end)
    fputs("...", d->out);
  fputc('\n', d->out);
  fputs("  ", d->out);
  if (from > start)
    fputs("   ", d->out);
  for (size_t i = from; i < start + col0 && i < to; i++)
    fputc(f->text[i] == '\t' ? '\t' : ' ', d->out);
  fputc('^', d->out);
  for (size_t i = 1; i < ulen && start + col0 + i < to + 1; i++)
    fputc('~', d->out);
  fputc('\n', d->out);
}

static bool generated(const SourceFile *f, SrcSpan at) {
  int line = at.first_line - f->skip_lines;
  return f->typed_lines && (line < 1 || line > f->typed_lines);
}

static void emit(Diag *d, const char *kind, SrcSpan at, const char *fmt, va_list ap) {
  const SourceFile *f = diag_source(d, at.file);
  if (f && generated(f, at)) {
    fprintf(d->out, "%s: %s: ", f->path, kind);
    f = NULL; /* no excerpt: the user never saw that text */
  } else if (f)
    fprintf(d->out, "%s:%d:%d: %s: ", f->path, at.first_line - f->skip_lines, at.first_column,
            kind);
  else
    fprintf(d->out, "nnc: %s: ", kind);
  vfprintf(d->out, fmt, ap);
  fputc('\n', d->out);
  if (f)
    print_excerpt(d, at);
}

void diag_error(Diag *d, SrcSpan at, const char *fmt, ...) {
  d->errors++;
  d->suppressing = d->errors > DIAG_MAX_ERRORS;
  if (d->suppressing)
    return;
  va_list ap;
  va_start(ap, fmt);
  emit(d, "error", at, fmt, ap);
  va_end(ap);
}

void diag_note(Diag *d, SrcSpan at, const char *fmt, ...) {
  if (d->suppressing)
    return;
  va_list ap;
  va_start(ap, fmt);
  emit(d, "note", at, fmt, ap);
  va_end(ap);
}

bool diag_should_stop(const Diag *d) { return d->errors >= DIAG_MAX_ERRORS; }
bool diag_has_errors(const Diag *d) { return d->errors > 0; }

void diag_summary(Diag *d) {
  if (d->errors >= DIAG_MAX_ERRORS)
    fprintf(d->out, "nnc: fatal error: too many errors emitted, stopping now\n");
  if (d->errors > 1)
    fprintf(d->out, "%d error%s generated.\n", d->errors, d->errors == 1 ? "" : "s");
}
