/* builtins_conv.c - convolution builtins, PyTorch's F.conv1d, F.conv2d,
 * F.conv_transpose1d and F.conv_transpose2d without the bias (add one as
 * `y + reshape(b, [O, 1, 1])`): activations [N, C, spatial...], weights
 * [O, C / groups, k...] (transposed: [C, O / groups, k...]). They read
 * their compile-time geometry here and emit one op of the CONV class, whose
 * shape rules (shape.c) check the operands. */

#include "builtins.h"

#include <string.h>

typedef struct ConvCall {
  const Bound *b;
  const char *name;
  int nsp; /* spatial axes: 1 or 2 */
  IrConvAttrs ca;
  IrValue *x, *w;
} ConvCall;

/* Argument i as one int for every spatial axis or a list of one per axis,
 * each at least `min`; not given, `out` keeps the caller's default. */
static bool conv_ints(Elab *e, Frame *f, ConvCall *cc, int i, int64_t min, int64_t *out) {
  const AstNode *x = cc->b->arg[i];
  const char *what = cc->b->bi->args[i];
  if (!x)
    return true;
  const PtrVec *items = x->kind == AST_LIST ? &x->u.list.items : NULL;
  if (items && items->len != cc->nsp) {
    diag_error(e->diag, x->loc, "%s: %s takes one int or a list of %d, one per spatial axis",
               cc->name, what, cc->nsp);
    return false;
  }
  for (int a = 0; a < cc->nsp; a++) {
    const AstNode *item = items ? items->items[a] : x;
    bool unknown = false;
    if (!builtin_const_int_arg(e, f, item, arena_printf(e->arena, "%s's %s", cc->name, what),
                               &out[a], &unknown))
      return false;
    cc->ca.unknown |= unknown;
    if (!unknown && out[a] < min) {
      diag_error(e->diag, item->loc, "%s: %s must be at least %lld, got %lld", cc->name, what,
                 (long long)min, (long long)out[a]);
      return false;
    }
  }
  return true;
}

/* The kernel's extent along spatial axis a, or 0 while it is not known
 * (a wrong rank is the shape rule's to report). */
static int64_t kernel_extent(const ConvCall *cc, int a) {
  const TType *w = &cc->w->type;
  if (w->rank != cc->nsp + 2)
    return 0;
  Dim k = w->dims[2 + a];
  return k.kind == DIM_KNOWN && dim_is_const(k) ? k.constant : 0;
}

/* padding = "same" (the output as large as the input; stride 1, as
 * PyTorch requires; an odd total puts the extra element after) or "valid"
 * (none). */
static bool conv_padding_mode(Elab *e, ConvCall *cc, const AstNode *x) {
  const char *mode = x->u.string_lit.value;
  if (strcmp(mode, "valid") == 0)
    return true;
  if (strcmp(mode, "same") != 0) {
    diag_error(e->diag, x->loc, "%s: padding is an int, a list, \"same\" or \"valid\", not \"%s\"",
               cc->name, mode);
    return false;
  }
  for (int a = 0; a < cc->nsp; a++) {
    if (cc->ca.stride[a] != 1 && !cc->ca.unknown) {
      diag_error(e->diag, x->loc, "%s: padding = \"same\" needs stride 1, as in PyTorch", cc->name);
      return false;
    }
    int64_t k = kernel_extent(cc, a), total = cc->ca.dilation[a] * (k - 1);
    cc->ca.unknown |= k == 0;
    cc->ca.pad_lo[a] = k ? total / 2 : 0;
    cc->ca.pad_hi[a] = k ? total - total / 2 : 0;
  }
  return true;
}

/* Where a builtin takes its geometry arguments. */
typedef struct ConvArgPos {
  int stride, padding, dilation, groups;
  bool padding_modes; /* padding may be "same" or "valid" (conv1d, conv2d) */
} ConvArgPos;

/* Reads the arguments every convolution has: two tensors (0 and 1) and the
 * geometry at the positions given. */
static bool conv_common(Elab *e, Frame *f, ConvCall *cc, ConvArgPos pos) {
  const Bound *b = cc->b;
  int groups_at = pos.groups, dilation_at = pos.dilation;
  cc->x = builtin_tensor_arg(e, f, b->arg[0]);
  cc->w = builtin_tensor_arg(e, f, b->arg[1]);
  cc->ca = (IrConvAttrs){.nsp = cc->nsp, .groups = 1};
  for (int a = 0; a < 2; a++)
    cc->ca.stride[a] = cc->ca.dilation[a] = 1;
  int64_t groups = 1;
  bool unknown = false;
  if (!cc->x || !cc->w || !conv_ints(e, f, cc, pos.stride, 1, cc->ca.stride) ||
      !conv_ints(e, f, cc, dilation_at, 1, cc->ca.dilation) ||
      (b->arg[groups_at] &&
       !builtin_const_int_arg(e, f, b->arg[groups_at], "groups", &groups, &unknown)))
    return false;
  cc->ca.unknown |= unknown;
  if (!unknown && groups < 1) {
    diag_error(e->diag, b->arg[groups_at]->loc, "%s: groups must be at least 1, got %lld", cc->name,
               (long long)groups);
    return false;
  }
  cc->ca.groups = unknown ? 1 : groups;
  const AstNode *pad = b->arg[pos.padding];
  if (pad && pad->kind == AST_STRING && !pos.padding_modes) {
    diag_error(e->diag, pad->loc, "%s: padding must be an int or a list of ints", cc->name);
    return false;
  }
  if (pad && pad->kind == AST_STRING)
    return conv_padding_mode(e, cc, pad);
  if (!conv_ints(e, f, cc, pos.padding, 0, cc->ca.pad_lo))
    return false;
  memcpy(cc->ca.pad_hi, cc->ca.pad_lo, sizeof cc->ca.pad_hi);
  return true;
}

static Val conv_emit(Elab *e, Frame *f, OpKind op, ConvCall *cc) {
  IrValue *args[2] = {cc->x, cc->w};
  return builtin_result(
      lower_emit_op(e, f, op, args, 2, cc->b->call->loc, &(IrAttrs){.conv = &cc->ca}));
}

/* conv1d / conv2d(x, w, stride = 1, padding = 0, dilation = 1, groups = 1) */
static Val conv_nd(Elab *e, Frame *f, OpKind op, const Bound *b, int nsp) {
  ConvCall cc = {.b = b, .name = b->bi->name, .nsp = nsp};
  if (!conv_common(e, f, &cc, (ConvArgPos){2, 3, 4, 5, true}))
    return builtin_error();
  return conv_emit(e, f, op, &cc);
}

static Val conv1d(Elab *e, Frame *f, OpKind op, const Bound *b) { return conv_nd(e, f, op, b, 1); }
static Val conv2d(Elab *e, Frame *f, OpKind op, const Bound *b) { return conv_nd(e, f, op, b, 2); }

/* The transposed convolution's output extent along spatial axis a:
 * (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1. */
static bool transpose_size(Elab *e, ConvCall *cc, int a, int64_t out_pad) {
  const IrConvAttrs *ca = &cc->ca;
  int64_t k = kernel_extent(cc, a);
  Dim in = cc->x->type.rank == cc->nsp + 2 ? cc->x->type.dims[2 + a] : dim_unknown();
  if (ca->unknown || k == 0 || in.kind != DIM_KNOWN) {
    cc->ca.size[a] = dim_unknown();
    return true;
  }
  int64_t extra = -ca->stride[a] - 2 * ca->pad_lo[a] + ca->dilation[a] * (k - 1) + out_pad + 1;
  Dim size;
  const char *why = NULL;
  if (!dim_mul(in, dim_const(ca->stride[a]), &size, &why) ||
      !dim_add(size, dim_const(extra), &size, &why)) {
    diag_error(e->diag, cc->b->call->loc, "%s: the output size along axis %d is not a dim: %s",
               cc->name, 2 + a, why);
    return false;
  }
  if (dim_is_const(size) && size.constant < 1) {
    diag_error(e->diag, cc->b->call->loc,
               "%s: the output would have %lld elements along axis %d (padding %lld is too "
               "large for the input)",
               cc->name, (long long)size.constant, 2 + a, (long long)ca->pad_lo[a]);
    return false;
  }
  cc->ca.size[a] = size;
  return true;
}

/* conv_transpose1d / conv_transpose2d(x, w, stride = 1, padding = 0,
 * output_padding = 0, groups = 1, dilation = 1): the adjoint of conv in
 * its input, w [C, O / groups, k...]. */
static Val conv_transpose_nd(Elab *e, Frame *f, OpKind op, const Bound *b, int nsp) {
  ConvCall cc = {.b = b, .name = b->bi->name, .nsp = nsp};
  int64_t out_pad[2] = {0, 0};
  if (!conv_common(e, f, &cc, (ConvArgPos){2, 3, 6, 5, false}) ||
      !conv_ints(e, f, &cc, 4, 0, out_pad))
    return builtin_error();
  for (int a = 0; a < nsp; a++) {
    if (!cc.ca.unknown && out_pad[a] >= cc.ca.stride[a] && out_pad[a] >= cc.ca.dilation[a]) {
      diag_error(e->diag, b->arg[4]->loc,
                 "%s: output_padding (%lld) must be smaller than the stride or the dilation",
                 cc.name, (long long)out_pad[a]);
      return builtin_error();
    }
    if (!transpose_size(e, &cc, a, out_pad[a]))
      return builtin_error();
  }
  return conv_emit(e, f, op, &cc);
}

static Val conv_transpose1d(Elab *e, Frame *f, OpKind op, const Bound *b) {
  return conv_transpose_nd(e, f, op, b, 1);
}
static Val conv_transpose2d(Elab *e, Frame *f, OpKind op, const Bound *b) {
  return conv_transpose_nd(e, f, op, b, 2);
}

/* The output extent a convolution of `in` elements gives along spatial
 * axis a, as shape_conv computes it with padding on both sides. */
static bool expected_out(const ConvCall *cc, int a, Dim in, int64_t k, Dim *out) {
  const IrConvAttrs *ca = &cc->ca;
  int64_t slack = ca->pad_lo[a] + ca->pad_hi[a] - ca->dilation[a] * (k - 1) - 1;
  const char *why = NULL;
  if (dim_is_const(in)) {
    *out = dim_const(in.constant + slack < 0 ? 0 : (in.constant + slack) / ca->stride[a] + 1);
    return true;
  }
  return dim_add(in, dim_const(slack), out, &why) &&
         dim_div(*out, dim_const(ca->stride[a]), out, &why) &&
         dim_add(*out, dim_const(1), out, &why);
}

/* conv1d_weight_grad / conv2d_weight_grad(x, dy, kernel_size, stride = 1,
 * padding = 0, dilation = 1, groups = 1), PyTorch's
 * torch.nn.grad.conv2d_weight: the gradient of conv2d(x, w, ...) in w
 * given the gradient dy of its output, [O, C / groups, k...]. dy must have
 * the output's size. */
static Val weight_grad_nd(Elab *e, Frame *f, OpKind op, const Bound *b, int nsp) {
  ConvCall cc = {.b = b, .name = b->bi->name, .nsp = nsp};
  int64_t k[2] = {1, 1};
  if (!conv_common(e, f, &cc, (ConvArgPos){3, 4, 5, 6, false}) || !conv_ints(e, f, &cc, 2, 1, k))
    return builtin_error();
  const TType *x = &cc.x->type, *dy = &cc.w->type;
  for (int a = 0; a < nsp; a++) {
    cc.ca.size[a] = cc.ca.unknown ? dim_unknown() : dim_const(k[a]);
    if (cc.ca.unknown || x->rank != nsp + 2 || dy->rank != nsp + 2 ||
        x->dims[2 + a].kind != DIM_KNOWN || dy->dims[2 + a].kind != DIM_KNOWN)
      continue;
    Dim want;
    if (!expected_out(&cc, a, x->dims[2 + a], k[a], &want) || !dim_eq(want, dy->dims[2 + a])) {
      diag_error(e->diag, b->call->loc,
                 "%s: dy %s does not have the output size along axis %d that this "
                 "convolution of x %s gives",
                 cc.name, ttype_str(e->arena, e->mod->syms, dy), 2 + a,
                 ttype_str(e->arena, e->mod->syms, x));
      return builtin_error();
    }
  }
  return conv_emit(e, f, op, &cc);
}

static Val conv1d_weight_grad(Elab *e, Frame *f, OpKind op, const Bound *b) {
  return weight_grad_nd(e, f, op, b, 1);
}
static Val conv2d_weight_grad(Elab *e, Frame *f, OpKind op, const Bound *b) {
  return weight_grad_nd(e, f, op, b, 2);
}

static const Builtin rows[] = {
    {"conv1d", OP_CONV, conv1d, {"x", "w", "stride", "padding", "dilation", "groups"}, 2},
    {"conv2d", OP_CONV, conv2d, {"x", "w", "stride", "padding", "dilation", "groups"}, 2},
    {"conv_transpose1d",
     OP_CONV_TRANSPOSE,
     conv_transpose1d,
     {"x", "w", "stride", "padding", "output_padding", "groups", "dilation"},
     2},
    {"conv_transpose2d",
     OP_CONV_TRANSPOSE,
     conv_transpose2d,
     {"x", "w", "stride", "padding", "output_padding", "groups", "dilation"},
     2},
    {"conv1d_weight_grad",
     OP_CONV_FILTER,
     conv1d_weight_grad,
     {"x", "dy", "kernel_size", "stride", "padding", "dilation", "groups"},
     3},
    {"conv2d_weight_grad",
     OP_CONV_FILTER,
     conv2d_weight_grad,
     {"x", "dy", "kernel_size", "stride", "padding", "dilation", "groups"},
     3},
};
const BuiltinGroup builtins_conv = {rows, sizeof rows / sizeof rows[0]};
