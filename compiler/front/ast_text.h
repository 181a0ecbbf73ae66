/* ast_text.h - source text of an expression, for messages and printers. */
#ifndef NNC_AST_TEXT_H
#define NNC_AST_TEXT_H

#include <stdlib.h>
#include <string.h>

#include "ast.h"

const char *ast_text_expr(Arena *a, const AstNode *n);

#endif
