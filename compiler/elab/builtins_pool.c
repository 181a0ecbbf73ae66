/* builtins_pool.c - the CNN builtins other than convolution: max and
 * average pooling (1-D and 2-D: stride, padding, ceil mode, dilation),
 * global pooling, upsampling (nearest, bilinear), flatten and local
 * response normalisation, with PyTorch's semantics and argument names.
 * Each is composed from views (pad, unfold, slice), reductions,
 * broadcasts, generators and matmul, so that autodiff, fusion and codegen
 * need nothing of their own. */

#include <math.h>
#include <string.h>

#include "builtins.h"

enum { MAX_SPATIAL = 2 };

static const char *tstr(Elab *e, const IrValue *x) {
  return ttype_str(e->arena, e->mod->syms, &x->type);
}

/* x must be [N, C, <nsp spatial axes>]; `layout` spells it for the message. */
static bool check_rank(Elab *e, const Bound *b, const IrValue *x, int rank, const char *layout) {
  if (x->type.rank == rank)
    return true;
  diag_error(e->diag, b->arg[0]->loc, "%s: x must be %s, got %s", b->bi->name, layout, tstr(e, x));
  builtin_note_tensor(e, x);
  return false;
}

/* A spatial hyperparameter: one int for every spatial axis, or a list of
 * nsp ints ([h, w]). An argument not given keeps out[]. *unknown is set
 * while a layer is checked generically. */
static bool spatial_arg(Elab *e, Frame *f, const Bound *b, int i, int nsp, int64_t out[],
                        bool *unknown) {
  const AstNode *x = b->arg[i];
  if (!x)
    return true;
  bool list = x->kind == AST_LIST;
  if (list && x->u.list.items.len != nsp) {
    diag_error(e->diag, x->loc, "%s: %s must be an int or a list of %d ints, got %d entries",
               b->bi->name, b->bi->args[i], nsp, x->u.list.items.len);
    return false;
  }
  for (int k = 0; k < nsp; k++) {
    bool u = false;
    const AstNode *it = list ? x->u.list.items.items[k] : x;
    const char *what = arena_printf(e->arena, "%s's %s", b->bi->name, b->bi->args[i]);
    if (!builtin_const_int_arg(e, f, it, what, &out[k], &u))
      return false;
    *unknown |= u;
  }
  return true;
}

/* The windows along one spatial axis, PyTorch's pooling_output_shape. */
typedef struct Window {
  int64_t k, s, p, d; /* kernel, stride, padding, dilation */
  int64_t n;          /* the input's extent */
  int64_t out;        /* the number of windows */
  int64_t right;      /* padding after the input that the windows read:
                         p, less when the tail is not read, more for the
                         last window of ceil mode */
  bool sym;           /* n is symbolic: no padding, the count is a dim */
} Window;

static int64_t span_of(const Window *w) { return w->d * (w->k - 1) + 1; }

/* Pooling's arguments: kernel, stride (= kernel), padding, dilation. */
typedef struct PoolArgs {
  int nsp;
  int64_t k[MAX_SPATIAL], s[MAX_SPATIAL], p[MAX_SPATIAL], d[MAX_SPATIAL];
  bool ceil_mode, count_include_pad, unknown;
} PoolArgs;

enum { PA_X, PA_KERNEL, PA_STRIDE, PA_PADDING, PA_CEIL, PA_LAST };

/* Bounded so that window arithmetic cannot overflow. */
enum { MAX_WINDOW_ARG = 1 << 30 };

static bool positive_args(Elab *e, const Bound *b, int i, const int64_t *v, int nsp, int64_t lo) {
  for (int k = 0; k < nsp; k++)
    if (v[k] < lo || v[k] > MAX_WINDOW_ARG) {
      diag_error(e->diag, b->arg[i]->loc, "%s: %s must be %s and at most %d, got %lld", b->bi->name,
                 b->bi->args[i], lo ? "positive" : "non-negative", MAX_WINDOW_ARG, (long long)v[k]);
      return false;
    }
  return true;
}

static bool pool_args(Elab *e, Frame *f, const Bound *b, int nsp, bool is_max, PoolArgs *a) {
  *a = (PoolArgs){.nsp = nsp, .count_include_pad = true};
  for (int k = 0; k < nsp; k++)
    a->d[k] = 1;
  if (!spatial_arg(e, f, b, PA_KERNEL, nsp, a->k, &a->unknown))
    return false;
  memcpy(a->s, a->k, sizeof a->s);
  if (!spatial_arg(e, f, b, PA_STRIDE, nsp, a->s, &a->unknown) ||
      !spatial_arg(e, f, b, PA_PADDING, nsp, a->p, &a->unknown) ||
      (b->arg[PA_CEIL] && !builtin_bool_arg(e, f, b->arg[PA_CEIL], &a->ceil_mode)))
    return false;
  if (b->arg[PA_LAST] && is_max && !spatial_arg(e, f, b, PA_LAST, nsp, a->d, &a->unknown))
    return false;
  if (b->arg[PA_LAST] && !is_max && !builtin_bool_arg(e, f, b->arg[PA_LAST], &a->count_include_pad))
    return false;
  if (a->unknown)
    return true;
  return positive_args(e, b, PA_KERNEL, a->k, nsp, 1) &&
         positive_args(e, b, PA_STRIDE, a->s, nsp, 1) &&
         positive_args(e, b, PA_PADDING, a->p, nsp, 0) &&
         (!is_max || positive_args(e, b, PA_LAST, a->d, nsp, 1));
}

/* The windows of spatial axis i (axis 2 + i of x); errors for the ones
 * PyTorch refuses: padding past half the window, a window larger than the
 * padded input. */
static bool window_of(Elab *e, const Bound *b, const IrValue *x, const PoolArgs *a, int i,
                      Window *w) {
  int axis = 2 + i;
  Dim n = x->type.dims[axis];
  *w = (Window){.k = a->k[i], .s = a->s[i], .p = a->p[i], .d = a->d[i]};
  int64_t span = span_of(w);
  if (w->p > span / 2) {
    diag_error(e->diag, b->arg[PA_PADDING]->loc,
               "%s: padding %lld of axis %d is more than half the window (%lld elements)",
               b->bi->name, (long long)w->p, axis, (long long)span);
    diag_note(e->diag, b->call->loc,
              "PyTorch's rule: a window never lies in the padding alone, so padding <= %lld here",
              (long long)(span / 2));
    return false;
  }
  if (!dim_is_const(n)) {
    w->sym = true;
    /* unfold counts the windows, as a dim when it is exact; in a generic
     * check, whatever they are (each instance has constant extents) */
    if ((w->p == 0 && !a->ceil_mode) || e->generic)
      return true;
    diag_error(e->diag, b->call->loc,
               "%s: %s has a symbolic extent: padding and ceil mode need a constant one",
               b->bi->name, builtin_axis_text(e, x, axis));
    builtin_note_tensor(e, x);
    return false;
  }
  w->n = n.constant;
  int64_t room = w->n + 2 * w->p - span;
  if (room < 0) {
    const char *padded =
        w->p ? arena_printf(e->arena, " padded by %lld on each side (%lld elements)",
                            (long long)w->p, (long long)(w->n + 2 * w->p))
             : "";
    diag_error(e->diag, b->arg[PA_KERNEL]->loc, "%s: a window of %lld elements is larger than %s%s",
               b->bi->name, (long long)span, builtin_axis_text(e, x, axis), padded);
    builtin_note_tensor(e, x);
    return false;
  }
  w->out = (a->ceil_mode ? (room + w->s - 1) / w->s : room / w->s) + 1;
  /* ceil mode's last window must start in the input or its left padding */
  if (a->ceil_mode && (w->out - 1) * w->s >= w->n + w->p)
    w->out--;
  w->right = (w->out - 1) * w->s + span - w->n - w->p;
  if (w->right < 0)
    w->right = 0;
  return true;
}

/* An identity view of x, to change a few axes of. */
static IrViewAttrs identity_view(const IrValue *x) {
  IrViewAttrs va = {0};
  for (int i = 0; i < x->type.rank; i++) {
    va.step[i] = 1;
    va.size[i] = x->type.dims[i];
  }
  return va;
}

static IrValue *pad_windows(Elab *e, Frame *f, IrValue *x, const Window *w, int nsp, double value,
                            SrcSpan loc) {
  IrViewAttrs va = identity_view(x);
  bool any = false;
  for (int i = 0; i < nsp; i++) {
    if (w[i].sym || (w[i].p == 0 && w[i].right == 0))
      continue;
    any = true;
    va.start[2 + i] = w[i].p;
    va.size[2 + i] = dim_const(w[i].n + w[i].p + w[i].right);
  }
  va.value = value;
  return any ? builtin_emit1(e, f, OP_PAD, x, loc, &(IrAttrs){.view = &va}) : x;
}

/* [N, C, S...] -> [N, C, O..., K...]: the windows of every spatial axis,
 * their elements on new trailing axes; a dilated window unfolds its whole
 * span and keeps every d-th element. Parameters unknown in a generic
 * check give unknown extents (window 0). */
static IrValue *windows(Elab *e, Frame *f, IrValue *x, const Window *w, int nsp, bool unknown,
                        SrcSpan loc) {
  bool dilated = false;
  for (int i = 0; i < nsp && x; i++) {
    IrViewAttrs va = {.axis = 2 + i, .window = unknown ? 0 : span_of(&w[i])};
    va.step[2 + i] = unknown ? 1 : w[i].s;
    x = builtin_emit1(e, f, OP_UNFOLD, x, loc, &(IrAttrs){.view = &va});
    dilated |= !unknown && w[i].d > 1;
  }
  if (!x || !dilated)
    return x;
  IrViewAttrs va = identity_view(x);
  for (int i = 0; i < nsp; i++) {
    int axis = x->type.rank - nsp + i;
    va.step[axis] = w[i].d;
    va.size[axis] = dim_const(w[i].k);
  }
  return builtin_emit1(e, f, OP_SLICE, x, loc, &(IrAttrs){.view = &va});
}

static IrValue *reduce_trailing(Elab *e, Frame *f, OpKind op, IrValue *x, int n, SrcSpan loc) {
  if (!x)
    return NULL;
  IrAttrs at = {.reduce = {.naxes = n}};
  for (int i = 0; i < n; i++)
    at.reduce.axes[i] = x->type.rank - n + i;
  return builtin_emit1(e, f, op, x, loc, &at);
}

/* arange(n) * step + start, of x's element type. */
static IrValue *ramp(Elab *e, Frame *f, int64_t n, double start, double step, DType dt,
                     SrcSpan loc) {
  TType target = {.rank = 1, .dims = {dim_const(n)}};
  IrAttrs at = {.gen = {.target = &target, .dtype = dt, .a = start, .b = step}};
  return lower_emit_op(e, f, OP_ARANGE, NULL, 0, loc, &at);
}

static IrValue *reshape_to(Elab *e, Frame *f, IrValue *x, const TType *t, SrcSpan loc) {
  IrAttrs at = {.layout = {.target = t, .infer_axis = -1}};
  return builtin_emit1(e, f, OP_RESHAPE, x, loc, &at);
}

/* Elements of window o of an average pool that PyTorch divides by:
 * the window cut at the padded input's end (count_include_pad), or at the
 * input's ends. */
static int64_t window_count(const Window *w, int64_t o, bool include_pad) {
  int64_t st = o * w->s - w->p, lo = include_pad ? -w->p : 0, hi = w->n + (include_pad ? w->p : 0);
  int64_t end = st + w->k < hi ? st + w->k : hi;
  return end - (st > lo ? st : lo);
}

static bool uniform_count(const Window *w, bool include_pad) {
  for (int64_t o = 1; o < w->out; o++)
    if (window_count(w, o, include_pad) != window_count(w, 0, include_pad))
      return false;
  return true;
}

/* The divisors of one spatial axis as a vector [O], computed from a ramp
 * in the kernel that reads it: min(st + k, hi) - max(st, lo). */
static IrValue *count_vector(Elab *e, Frame *f, const Window *w, bool include_pad, DType dt,
                             SrcSpan loc) {
  IrValue *st = ramp(e, f, w->out, (double)-w->p, (double)w->s, dt, loc);
  double lo = include_pad ? (double)-w->p : 0, hi = (double)(w->n + (include_pad ? w->p : 0));
  IrValue *end =
      builtin_emit2(e, f, OP_MINIMUM,
                    builtin_emit2(e, f, OP_ADD, st, builtin_literal(e, f, (double)w->k, loc), loc),
                    builtin_literal(e, f, hi, loc), loc);
  return builtin_emit2(e, f, OP_SUB, end,
                       builtin_emit2(e, f, OP_MAXIMUM, st, builtin_literal(e, f, lo, loc), loc),
                       loc);
}

/* The divisor of every output position: the product of the axes'
 * counts, the constant ones multiplied here (a literal adopts x's type,
 * a product of literals would not), the others as vectors [OH, 1], [OW]. */
static IrValue *avg_divisor(Elab *e, Frame *f, const Window *w, int nsp, bool include_pad, DType dt,
                            SrcSpan loc) {
  IrValue *d = NULL;
  double constant = 1;
  for (int i = 0; i < nsp; i++) {
    if (w[i].sym || uniform_count(&w[i], include_pad)) {
      constant *= (double)(w[i].sym ? w[i].k : window_count(&w[i], 0, include_pad));
      continue;
    }
    IrValue *c = count_vector(e, f, &w[i], include_pad, dt, loc);
    if (c && i + 1 < nsp) {
      TType col = {.dtype = dt, .rank = 2, .dims = {c->type.dims[0], dim_const(1)}};
      c = reshape_to(e, f, c, &col, loc);
    }
    d = d ? builtin_emit2(e, f, OP_MUL, d, c, loc) : c;
  }
  if (d && constant == 1)
    return d;
  IrValue *k = builtin_literal(e, f, constant, loc);
  return d ? builtin_emit2(e, f, OP_MUL, d, k, loc) : k;
}

/* Whether the windows tile every spatial axis exactly: stride = kernel,
 * no padding or dilation, no element left over. */
static bool windows_tile(const Window *w, int nsp) {
  for (int i = 0; i < nsp; i++)
    if (w[i].sym || w[i].s != w[i].k || w[i].p || w[i].d != 1 || w[i].n != w[i].out * w[i].k)
      return false;
  return true;
}

/* Tiling windows as a reshape, [N, C, S...] -> [N, C, O0, K0, O1, K1...],
 * reduced over the K axes. Unfolded instead, the gradient would go back
 * through the unfolds' gradients, a sum of one padded slice per window
 * element, each re-evaluating the selection of the winners (max pooling's
 * training step took about 3.5x as long: docs/benchmarks.md); a reshape's
 * gradient is a reshape, free. */
static IrValue *pool_tiles(Elab *e, Frame *f, IrValue *x, const Window *w, int nsp, OpKind op,
                           SrcSpan loc) {
  TType t = x->type;
  t.rank = 2 + 2 * nsp;
  IrAttrs at = {.reduce = {.naxes = nsp}};
  for (int i = 0; i < nsp; i++) {
    t.dims[2 + 2 * i] = dim_const(w[i].out);
    t.dims[3 + 2 * i] = dim_const(w[i].k);
    at.reduce.axes[i] = 3 + 2 * i;
  }
  return builtin_emit1(e, f, op, reshape_to(e, f, x, &t, loc), loc, &at);
}

static Val pool(Elab *e, Frame *f, const Bound *b, int nsp, bool is_max) {
  SrcSpan loc = b->call->loc;
  IrValue *x = builtin_float_tensor_arg(e, f, b, b->bi->name);
  PoolArgs a;
  if (!x || !check_rank(e, b, x, 2 + nsp, nsp == 2 ? "[N, C, H, W]" : "[N, C, L]") ||
      !pool_args(e, f, b, nsp, is_max, &a))
    return builtin_error();
  Window w[MAX_SPATIAL] = {0};
  for (int i = 0; i < nsp && !a.unknown; i++) {
    if (x->type.dims[2 + i].kind == DIM_UNKNOWN) {
      a.unknown = true;
      break;
    }
    if (!window_of(e, b, x, &a, i, &w[i]))
      return builtin_error();
    /* padding or ceil mode on a symbolic extent passes only a generic
       check (window_of), whose instances have constant extents: the
       windows' count is left unknown, as for unknown arguments (padded,
       two symbolic extents would multiply out into more terms than a dim
       holds) */
    a.unknown |= w[i].sym && (w[i].p || a.ceil_mode);
  }
  if (a.unknown) /* a generic layer check: the shape is all it needs */
    return builtin_result(reduce_trailing(e, f, is_max ? OP_MAX : OP_SUM,
                                          windows(e, f, x, w, nsp, true, loc), nsp, loc));
  IrValue *r;
  if (windows_tile(w, nsp)) {
    r = pool_tiles(e, f, x, w, nsp, is_max ? OP_MAX : OP_SUM, loc);
  } else {
    /* max pads with -inf, which never wins: every window holds an element
       of the input (padding <= half the window, ceil mode's rule) */
    IrValue *xp = pad_windows(e, f, x, w, nsp, is_max ? -INFINITY : 0.0, loc);
    r = reduce_trailing(e, f, is_max ? OP_MAX : OP_SUM, windows(e, f, xp, w, nsp, false, loc), nsp,
                        loc);
  }
  if (is_max)
    return builtin_result(r);
  return builtin_result(builtin_emit2(
      e, f, OP_DIV, r, avg_divisor(e, f, w, nsp, a.count_include_pad, x->type.dtype, loc), loc));
}

static Val max_pool2d(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  return pool(e, f, b, 2, true);
}
static Val avg_pool2d(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  return pool(e, f, b, 2, false);
}
static Val max_pool1d(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  return pool(e, f, b, 1, true);
}
static Val avg_pool1d(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  return pool(e, f, b, 1, false);
}

/* global_avg_pool(x), global_max_pool(x): [N, C, S...] -> [N, C]. */
static Val global_pool(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = builtin_float_tensor_arg(e, f, b, b->bi->name);
  if (!x)
    return builtin_error();
  if (x->type.rank < 3) {
    diag_error(e->diag, b->arg[0]->loc, "%s: x must be [N, C, H, W] or [N, C, L], got %s",
               b->bi->name, tstr(e, x));
    builtin_note_tensor(e, x);
    return builtin_error();
  }
  return builtin_result(reduce_trailing(e, f, op, x, x->type.rank - 2, b->call->loc));
}

/* ---- upsample ---- */

/* The scale factor of each spatial axis: a whole number, or [h, w]. */
static bool scale_arg(Elab *e, Frame *f, const Bound *b, int nsp, int64_t out[]) {
  const AstNode *x = b->arg[1];
  bool list = x->kind == AST_LIST;
  if (list && x->u.list.items.len != nsp) {
    diag_error(e->diag, x->loc, "upsample: scale must be a number or a list of %d, got %d entries",
               nsp, x->u.list.items.len);
    return false;
  }
  for (int k = 0; k < nsp; k++) {
    const AstNode *it = list ? x->u.list.items.items[k] : x;
    CtVal v;
    CtEnv env = {.inst = f->inst};
    if (!consteval_expr(e, &env, it, &v))
      return false;
    /* a generic layer check: an int argument is unknown, or a symbol when
       the layer's shapes use it (H * scale) */
    bool symbolic = e->generic && v.kind == CV_INT && !dim_is_const(v.dim);
    if ((v.unknown || symbolic) && (v.kind == CV_INT || v.kind == CV_FLOAT)) {
      out[k] = 0;
      continue;
    }
    double s = v.kind == CV_FLOAT                        ? v.f
               : v.kind == CV_INT && dim_is_const(v.dim) ? (double)v.dim.constant
                                                         : NAN;
    if (!(s >= 1 && s <= 1 << 20) || s != floor(s)) {
      diag_error(e->diag, it->loc, "upsample: the scale must be a whole number >= 1");
      if (!v.unknown && !isnan(s))
        diag_note(e->diag, it->loc, "got %g; only whole scale factors are supported", s);
      return false;
    }
    out[k] = (int64_t)s;
  }
  return true;
}

/* nearest: out[o] = x[o / s], x [N, C, H, W] viewed as [N, C, H, 1, W, 1],
 * broadcast to [N, C, H, sh, W, sw] and merged. */
static IrValue *upsample_nearest(Elab *e, Frame *f, IrValue *x, const int64_t *s, int nsp,
                                 SrcSpan loc) {
  TType split = {.dtype = x->type.dtype, .rank = 2}, wide, merged = x->type;
  split.dims[0] = x->type.dims[0];
  split.dims[1] = x->type.dims[1];
  for (int i = 0; i < nsp; i++) {
    Dim n = x->type.dims[2 + i];
    split.dims[split.rank++] = n;
    split.dims[split.rank++] = dim_const(1);
    const char *why = NULL;
    if (n.kind != DIM_UNKNOWN && !dim_mul(n, dim_const(s[i]), &merged.dims[2 + i], &why)) {
      diag_error(e->diag, loc, "upsample: %s times %lld is not a dim: %s",
                 builtin_axis_text(e, x, 2 + i), (long long)s[i], why);
      return NULL;
    }
  }
  wide = split;
  for (int i = 0; i < nsp; i++)
    wide.dims[3 + 2 * i] = dim_const(s[i]);
  IrAttrs bc = {.expand = {.target = &wide}};
  return reshape_to(e, f,
                    builtin_emit1(e, f, OP_BROADCAST, reshape_to(e, f, x, &split, loc), loc, &bc),
                    &merged, loc);
}

/* Bilinear (align_corners = false) along one axis of n elements as a
 * matrix [n, n * s] for x @ M: output o reads source position
 * src = (o + 0.5) / s - 0.5, clamped to [0, n - 1], and element i weighs
 * max(0, 1 - |src - i|) (the two nearest elements, or the edge one). */
static IrValue *linear_matrix(Elab *e, Frame *f, int64_t n, int64_t s, DType dt, SrcSpan loc) {
  IrValue *src = ramp(e, f, n * s, 0.5 / (double)s - 0.5, 1.0 / (double)s, dt, loc);
  IrAttrs clamp = {.unary = {.lo = 0, .hi = (double)(n - 1)}};
  TType row = {.dtype = dt, .rank = 2, .dims = {dim_const(1), dim_const(n * s)}};
  TType col = {.dtype = dt, .rank = 2, .dims = {dim_const(n), dim_const(1)}};
  src = reshape_to(e, f, builtin_emit1(e, f, OP_CLAMP, src, loc, &clamp), &row, loc);
  IrValue *i = reshape_to(e, f, ramp(e, f, n, 0, 1, dt, loc), &col, loc);
  IrValue *dist = builtin_emit1(e, f, OP_ABS, builtin_emit2(e, f, OP_SUB, src, i, loc), loc, NULL);
  return builtin_emit1(e, f, OP_RELU,
                       builtin_emit2(e, f, OP_SUB, builtin_literal(e, f, 1, loc), dist, loc), loc,
                       NULL);
}

/* Each spatial axis through its interpolation matrix: the last as x @ Mw,
 * the one before as Mh^T @ x (matmul broadcasts over N and C). */
static IrValue *upsample_linear(Elab *e, Frame *f, IrValue *x, const int64_t *s, int nsp,
                                SrcSpan loc) {
  DType dt = x->type.dtype;
  for (int i = 0; i < nsp; i++) {
    Dim n = x->type.dims[2 + i];
    if (!dim_is_const(n)) {
      diag_error(e->diag, loc, "upsample: %s mode needs constant spatial extents, got %s",
                 nsp == 2 ? "bilinear" : "linear", builtin_axis_text(e, x, 2 + i));
      builtin_note_tensor(e, x);
      return NULL;
    }
  }
  int64_t w = x->type.dims[1 + nsp].constant;
  x = builtin_emit2(e, f, OP_MATMUL, x, linear_matrix(e, f, w, s[nsp - 1], dt, loc), loc);
  if (nsp == 2) {
    int64_t h = x->type.dims[2].constant;
    IrAttrs tr = {.layout = {.infer_axis = -1}};
    IrValue *mt =
        builtin_emit1(e, f, OP_TRANSPOSE, linear_matrix(e, f, h, s[0], dt, loc), loc, &tr);
    x = builtin_emit2(e, f, OP_MATMUL, mt, x, loc);
  }
  return x;
}

/* upsample(x, scale, mode = "nearest"), F.interpolate with a whole scale
 * factor: "nearest", "bilinear" ([N, C, H, W]) or "linear" ([N, C, L]),
 * align_corners = false. */
static Val upsample(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *x = builtin_float_tensor_arg(e, f, b, "upsample");
  if (!x)
    return builtin_error();
  if (x->type.rank != 3 && x->type.rank != 4) {
    diag_error(e->diag, b->arg[0]->loc, "upsample: x must be [N, C, H, W] or [N, C, L], got %s",
               tstr(e, x));
    builtin_note_tensor(e, x);
    return builtin_error();
  }
  int nsp = x->type.rank - 2;
  const char *mode = "nearest";
  if (b->arg[2]) {
    CtVal v;
    CtEnv env = {.inst = f->inst};
    if (!consteval_expr(e, &env, b->arg[2], &v))
      return builtin_error();
    const char *interp = nsp == 2 ? "bilinear" : "linear";
    if (v.kind != CV_STRING || (strcmp(v.s, "nearest") && strcmp(v.s, interp))) {
      diag_error(e->diag, b->arg[2]->loc, "upsample: mode must be \"nearest\" or \"%s\" for %s",
                 interp, tstr(e, x));
      return builtin_error();
    }
    mode = v.s;
  }
  int64_t s[MAX_SPATIAL];
  if (!scale_arg(e, f, b, nsp, s))
    return builtin_error();
  SrcSpan loc = b->call->loc;
  bool unknown = false;
  for (int i = 0; i < nsp; i++)
    unknown |= s[i] == 0 || x->type.dims[2 + i].kind == DIM_UNKNOWN;
  if (unknown) /* a generic layer check: unknown spatial extents */
    return builtin_result(
        reduce_trailing(e, f, OP_SUM, windows(e, f, x, NULL, nsp, true, loc), nsp, loc));
  return builtin_result(!strcmp(mode, "nearest") ? upsample_nearest(e, f, x, s, nsp, loc)
                                                 : upsample_linear(e, f, x, s, nsp, loc));
}

/* flatten(x, start = 1, end = -1): torch.flatten, axes start..end merged. */
static Val flatten(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  int ends[2] = {1, -1};
  if (!x)
    return builtin_error();
  int rank = x->type.rank;
  for (int k = 0; k < 2; k++) {
    if (b->arg[1 + k] && !builtin_axis_arg(e, f, b->arg[1 + k], &ends[k]))
      return builtin_error();
    if (ends[k] < -rank || ends[k] >= rank) {
      diag_error(e->diag, b->arg[1 + k] ? b->arg[1 + k]->loc : b->call->loc,
                 "flatten: %s axis %d is out of range for %s", k ? "end" : "start", ends[k],
                 tstr(e, x));
      return builtin_error();
    }
    if (ends[k] < 0)
      ends[k] += rank;
  }
  if (ends[0] > ends[1]) {
    diag_error(e->diag, b->call->loc, "flatten: the start axis %d comes after the end axis %d",
               ends[0], ends[1]);
    return builtin_error();
  }
  TType target = {.dtype = x->type.dtype};
  for (int i = 0; i < rank; i++) {
    if (i <= ends[0] || i > ends[1]) {
      target.dims[target.rank++] = x->type.dims[i];
      continue;
    }
    Dim *d = &target.dims[target.rank - 1];
    const char *why = NULL;
    if (d->kind == DIM_UNKNOWN || x->type.dims[i].kind == DIM_UNKNOWN) {
      *d = dim_unknown();
    } else if (!dim_mul(*d, x->type.dims[i], d, &why)) {
      diag_error(e->diag, b->call->loc, "flatten: the merged extent of %s is not a dim: %s",
                 tstr(e, x), why);
      return builtin_error();
    }
  }
  IrAttrs at = {.layout = {.target = &target, .infer_axis = -1}};
  return builtin_result(builtin_emit1(e, f, op, x, b->call->loc, &at));
}

/* local_response_norm(x, size, alpha = 1e-4, beta = 0.75, k = 1.0),
 * nn.LocalResponseNorm: x / (k + alpha / size * s)^beta, s the sum of x^2
 * over the `size` channels around each one (axis 1, zeros past the ends:
 * size / 2 before, (size - 1) / 2 after). */
static Val local_response_norm(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  SrcSpan loc = b->call->loc;
  IrValue *x = builtin_float_tensor_arg(e, f, b, "local_response_norm");
  int64_t size = 0;
  bool unknown = false;
  double alpha = 1e-4, beta = 0.75, k = 1.0;
  if (!x ||
      !builtin_const_int_arg(e, f, b->arg[1], "local_response_norm's size", &size, &unknown) ||
      !builtin_number_arg(e, f, b, 2, &alpha, NULL) ||
      !builtin_number_arg(e, f, b, 3, &beta, NULL) || !builtin_number_arg(e, f, b, 4, &k, NULL))
    return builtin_error();
  if (x->type.rank < 3) {
    diag_error(e->diag, b->arg[0]->loc,
               "local_response_norm: x must be [N, C, H, W] or [N, C, L...], got %s", tstr(e, x));
    builtin_note_tensor(e, x);
    return builtin_error();
  }
  if (!unknown && (size < 1 || size > MAX_WINDOW_ARG)) {
    diag_error(e->diag, b->arg[1]->loc,
               "local_response_norm: size must be positive and at most %d, got %lld",
               MAX_WINDOW_ARG, (long long)size);
    return builtin_error();
  }
  if (unknown)
    size = 1; /* a generic check: the shape does not depend on it */
  Dim c = x->type.dims[1];
  IrValue *sq = builtin_emit2(e, f, OP_MUL, x, x, loc);
  if (size > 1) {
    if (!dim_is_const(c) && c.kind != DIM_UNKNOWN) {
      diag_error(e->diag, loc, "local_response_norm: %s must have a constant extent",
                 builtin_axis_text(e, x, 1));
      builtin_note_tensor(e, x);
      return builtin_error();
    }
    IrViewAttrs va = identity_view(x);
    va.start[1] = size / 2;
    va.size[1] = c.kind == DIM_UNKNOWN ? c : dim_const(c.constant + size - 1);
    sq = builtin_emit1(e, f, OP_PAD, sq, loc, &(IrAttrs){.view = &va});
    IrViewAttrs uf = {.axis = 1, .window = size};
    uf.step[1] = 1;
    sq = reduce_trailing(e, f, OP_SUM,
                         builtin_emit1(e, f, OP_UNFOLD, sq, loc, &(IrAttrs){.view = &uf}), 1, loc);
  }
  IrValue *base = builtin_emit2(
      e, f, OP_ADD, builtin_literal(e, f, k, loc),
      builtin_emit2(e, f, OP_MUL, builtin_literal(e, f, alpha / (double)size, loc), sq, loc), loc);
  return builtin_result(builtin_emit2(
      e, f, OP_MUL, x, builtin_emit2(e, f, OP_POW, base, builtin_literal(e, f, -beta, loc), loc),
      loc));
}

static const Builtin rows[] = {
    {"max_pool2d",
     OP_MAX,
     max_pool2d,
     {"x", "kernel", "stride", "padding", "ceil_mode", "dilation"},
     2},
    {"avg_pool2d",
     OP_SUM,
     avg_pool2d,
     {"x", "kernel", "stride", "padding", "ceil_mode", "count_include_pad"},
     2},
    {"max_pool1d",
     OP_MAX,
     max_pool1d,
     {"x", "kernel", "stride", "padding", "ceil_mode", "dilation"},
     2},
    {"avg_pool1d",
     OP_SUM,
     avg_pool1d,
     {"x", "kernel", "stride", "padding", "ceil_mode", "count_include_pad"},
     2},
    {"global_avg_pool", OP_MEAN, global_pool, {"x"}, 1},
    {"global_max_pool", OP_MAX, global_pool, {"x"}, 1},
    {"upsample", OP_MATMUL, upsample, {"x", "scale", "mode"}, 2},
    {"flatten", OP_RESHAPE, flatten, {"x", "start", "end"}, 1},
    {"local_response_norm", OP_POW, local_response_norm, {"x", "size", "alpha", "beta", "k"}, 2},
};
const BuiltinGroup builtins_pool = {rows, sizeof rows / sizeof rows[0]};
