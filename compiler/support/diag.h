/* diag.h - source files and user-facing diagnostics.
 *
 * Every source file the compiler reads is registered in a SourceMap and gets
 * a small integer id; a SrcSpan names a file id and a 1-based line/column
 * range (columns count bytes, like clang and gcc). Diagnostics print as
 *
 *   file:line:col: error: message
 *     source line
 *     ^~~~~
 *
 * followed by any note: lines. After DIAG_MAX_ERRORS errors further ones are
 * counted but not printed, and diag_should_stop() tells stages to give up.
 * This file only reports problems in the user's program; bugs in nnc itself
 * go through NNC_BUG (arena.h).
 */
#ifndef NNC_DIAG_H
#define NNC_DIAG_H

#include <stdbool.h>
#include <stdio.h>

#include "arena.h"

enum { DIAG_MAX_ERRORS = 20 };

/* Field names match what bison's default YYLLOC_DEFAULT expects. */
typedef struct SrcSpan {
  int file; /* SourceMap id; -1 for "no location" */
  int first_line, first_column;
  int last_line, last_column; /* inclusive end */
} SrcSpan;

typedef struct SourceFile {
  const char *path;    /* as given / as resolved, used in messages */
  const char *text;    /* whole contents, NUL-terminated copy (may hold NULs) */
  size_t len;          /* bytes, excluding the terminator */
  size_t *line_starts; /* byte offset of each line, computed lazily */
  int nlines;
  /* The REPL wraps what was typed in generated lines: those before it
   * (skip_lines) are not counted, so typed lines are numbered from 1, and
   * positions outside the typed lines (typed_lines of them; 0: the whole
   * text is real) are reported without a line or excerpt. */
  int skip_lines, typed_lines;
} SourceFile;

typedef struct Diag {
  Arena *arena;
  SourceFile **files;
  int nfiles, cap;
  FILE *out;
  int errors;       /* errors reported (including suppressed ones) */
  bool suppressing; /* past the cap: notes of a hidden error are hidden too */
  bool color;
} Diag;

void diag_init(Diag *d, Arena *arena, FILE *out);

/* Registers a file's contents; returns its id. The text is copied. */
int diag_add_source(Diag *d, const char *path, const char *text, size_t len);
/* Same, for text whose lines skip_lines+1 .. skip_lines+typed_lines were
 * typed and the rest generated (see SourceFile). */
int diag_add_source_at(Diag *d, const char *path, const char *text, size_t len, int skip_lines,
                       int typed_lines);
/* Reads a file from disk and registers it; returns -1 (and prints nothing)
 * if it cannot be read, leaving errno set. */
int diag_load_file(Diag *d, const char *path);
const SourceFile *diag_source(const Diag *d, int file);

SrcSpan diag_span_none(void);

void diag_error(Diag *d, SrcSpan at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, SrcSpan at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* True once the error cap has been reached; stages stop early. */
bool diag_should_stop(const Diag *d);
bool diag_has_errors(const Diag *d);
/* Prints "N errors generated." when errors were suppressed or > 1. */
void diag_summary(Diag *d);

#endif
