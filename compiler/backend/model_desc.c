/* model_desc.c - building the runtime's descriptor of a compiled model. */
#include "model_desc.h"

#include <string.h>

#include "fuse.h"
#include "gen_step.h"

/* The runtime's dims are positions in f->dim_syms, the compiler's are
 * symbol ids of the module. */
static nnrt_dim desc_dim(const IrFunc *f, Dim d) {
  _Static_assert((int)NNRT_DIM_TERMS >= (int)DIM_MAX_TERMS &&
                     (int)NNRT_DIM_DEGREE >= (int)DIM_MAX_DEGREE,
                 "the descriptor holds every Dim");
  if (d.kind != DIM_KNOWN)
    NNC_BUG("dimension of %s cannot be described", f->name);
  nnrt_dim out = {.constant = d.constant, .nterms = d.nterms};
  for (int i = 0; i < d.nterms; i++) {
    nnrt_dim_term *t = &out.terms[i];
    t->coeff = d.terms[i].coeff;
    t->nsyms = d.degree[i];
    for (int j = 0; j < d.degree[i]; j++) {
      int k = ir_func_dim_index(f, d.terms[i].syms[j]);
      if (k < 0)
        NNC_BUG("dimension symbol %d is not a run-time dim of %s", d.terms[i].syms[j], f->name);
      t->syms[j] = k;
    }
  }
  return out;
}

static void desc_type(const IrFunc *f, const TType *t, int32_t *dtype, int32_t *rank,
                      nnrt_dim *dims) {
  *dtype = (int32_t)t->dtype;
  *rank = t->rank;
  for (int i = 0; i < t->rank; i++)
    dims[i] = desc_dim(f, t->dims[i]);
}

static nnrt_arg_desc *desc_args(Arena *a, const IrFunc *f, IrValue **vals, const char **names,
                                int n, const char *fallback) {
  nnrt_arg_desc *out = ARENA_ARRAY(a, nnrt_arg_desc, (size_t)n + 1);
  for (int i = 0; i < n; i++) {
    out[i].name = names && names[i] ? names[i] : arena_printf(a, "%s%d", fallback, i);
    desc_type(f, &vals[i]->type, &out[i].dtype, &out[i].rank, out[i].dims);
  }
  return out;
}

static nnrt_buffer_desc *desc_buffers(Arena *a, const MemPlan *p) {
  nnrt_buffer_desc *out = ARENA_ARRAY(a, nnrt_buffer_desc, (size_t)p->nbufs + 1);
  for (int i = 0; i < p->nbufs; i++)
    out[i] = (nnrt_buffer_desc){.numel = desc_dim(p->ff->f, p->bufs[i].numel),
                                .elem_size = p->bufs[i].elem_size,
                                .first = p->bufs[i].first,
                                .last = p->bufs[i].last};
  return out;
}

/* Operand x of v, when it holds indices, as a site (one per value);
 * reader[j] is the OP_INDEX rank of the op site j is named after. */
static void add_label_site(const IrFunc *f, const IrValue *v, int x, nnrt_label_site *out,
                           int *reader, int32_t *n) {
  const IrValue *lab = v->args[x];
  Dim bound;
  if (!ir_index_bound(v, x, &bound))
    return;
  int j = 0;
  while (j < *n && out[j].value != lab->id)
    j++;
  if (j == *n) {
    out[j] = (nnrt_label_site){.value = lab->id, .op = op_info[v->op].name};
    reader[j] = ir_index_rank(v->op);
    out[j].input = lab->op == OP_INPUT ? IR_ATTR(lab, source).index : -1;
    desc_type(f, &lab->type, &(int32_t){0}, &out[j].rank, out[j].dims);
    (*n)++;
  }
  if (ir_index_rank(v->op) < reader[j]) {
    out[j].op = op_info[v->op].name;
    reader[j] = ir_index_rank(v->op);
  }
  /* Read by several ops, the indices must suit the one with the fewest. */
  if (dim_is_const(bound) && (out[j].classes == 0 || bound.constant < out[j].classes))
    out[j].classes = bound.constant;
}

/* Every value the code checks as indices (cg_entry.c, label_checks, from
 * ops.def's OP_INDEX rows), named for the messages after the reader whose
 * row comes first (cross_entropy before one_hot). */
static nnrt_label_site *desc_labels(Arena *a, const FusedFunc *ff, int32_t *n) {
  int cap = 0;
  for (int k = 0; k < ff->nkernels; k++)
    for (int i = 0; i < ff->kernels[k]->nvals; i++)
      cap += ff->kernels[k]->vals[i]->nargs;
  nnrt_label_site *out = ARENA_ARRAY(a, nnrt_label_site, (size_t)cap + 1);
  int *reader = ARENA_ARRAY(a, int, (size_t)cap + 1);
  *n = 0;
  for (int k = 0; k < ff->nkernels; k++) {
    const Kernel *kn = ff->kernels[k];
    if (kn->kind == KK_COPY)
      continue;
    for (int i = 0; i < kn->nvals; i++)
      for (int x = 0; x < kn->vals[i]->nargs; x++)
        add_label_site(ff->f, kn->vals[i], x, out, reader, n);
  }
  for (int j = 0; j < *n; j++) { /* after the op the program wrote (fuse_index_reader) */
    const IrValue *r = fuse_index_reader(ff, ff->by_id[out[j].value]);
    if (r)
      out[j].op = op_info[r->op].name;
  }
  return out;
}

nnrt_index_site model_desc_index_site(const IrModule *m, const IrFunc *f, const IrValue *v,
                                      int axis) {
  const IrViewAttrs *va = IR_ATTR(v, view);
  const IrValue *x = v->args[0], *t = va->dyn[axis] > 0 ? v->args[va->dyn[axis]] : NULL;
  return (nnrt_index_site){.value = v->id,
                           .axis = axis,
                           .gradient = v->op != OP_SLICE,
                           .step = va->step[axis],
                           .tensor = x->op == OP_INPUT   ? f->input_names[IR_ATTR(x, source).index]
                                     : x->op == OP_PARAM ? m->params[IR_ATTR(x, source).index]->name
                                                         : NULL,
                           .arg = t && t->op == OP_INPUT ? f->input_names[IR_ATTR(t, source).index]
                                                         : NULL};
}

/* Every run-time position the code checks (cg_entry.c, position_checks),
 * so that an executable names the sliced tensor and the index argument as
 * the JIT does. */
static nnrt_index_site *desc_indexes(Arena *a, const IrModule *m, const FusedFunc *ff, int32_t *n) {
  int cap = 0;
  for (int k = 0; k < ff->nkernels; k++)
    for (int i = 0; i < ff->kernels[k]->nvals; i++)
      if (ir_view_has_runtime(ff->kernels[k]->vals[i]))
        cap += ff->kernels[k]->vals[i]->args[0]->type.rank;
  nnrt_index_site *out = ARENA_ARRAY(a, nnrt_index_site, (size_t)cap + 1);
  *n = 0;
  for (int k = 0; k < ff->nkernels; k++) {
    const Kernel *kn = ff->kernels[k];
    if (kn->kind == KK_COPY)
      continue;
    for (int i = 0; i < kn->nvals; i++) {
      const IrValue *v = kn->vals[i];
      for (int x = 0; ir_view_has_runtime(v) && x < v->args[0]->type.rank; x++)
        if (ir_view_runtime_axis(v, x))
          out[(*n)++] = model_desc_index_site(m, ff->f, v, x);
    }
  }
  return out;
}

static void desc_func(Arena *a, const IrModule *m, nnrt_func_desc *out, const DescFunc *df) {
  const IrFunc *f = df->f;
  *out = (nnrt_func_desc){.name = f->name, .ndims = f->ndims};
  out->inputs = desc_args(a, f, f->inputs, f->input_names, f->ninputs, "in");
  out->ninputs = f->ninputs;
  out->results = desc_args(a, f, f->results, f->result_names, f->nresults, "out");
  out->nresults = f->nresults;
  out->bufs = desc_buffers(a, df->mp);
  out->nbufs = df->mp->nbufs;
  out->labels = desc_labels(a, df->mp->ff, &out->nlabels);
  out->indexes = desc_indexes(a, m, df->mp->ff, &out->nindexes);
}

static void desc_dim_names(Arena *a, const IrModule *m, nnrt_func_desc *out, const IrFunc *f) {
  const char **names = ARENA_ARRAY(a, const char *, (size_t)f->ndims + 1);
  for (int i = 0; i < f->ndims; i++)
    names[i] = m->syms->syms[f->dim_syms[i]].name;
  out->dim_names = names;
}

static nnrt_param_desc *desc_params(Arena *a, const IrModule *m) {
  nnrt_param_desc *out = ARENA_ARRAY(a, nnrt_param_desc, (size_t)m->nparams + 1);
  for (int i = 0; i < m->nparams; i++) {
    const IrParam *p = m->params[i];
    nnrt_param_desc *d = &out[i];
    *d = (nnrt_param_desc){.name = p->name,
                           .dtype = (int32_t)p->type.dtype,
                           .rank = p->type.rank,
                           .init = (int32_t)p->init.kind,
                           .trainable = p->trainable,
                           .a = p->init.a,
                           .b = p->init.b};
    for (int j = 0; j < p->type.rank; j++) {
      if (!dim_is_const(p->type.dims[j]))
        NNC_BUG("parameter %s has a symbolic shape", p->name);
      d->dims[j] = p->type.dims[j].constant;
    }
  }
  return out;
}

static nnrt_source_desc desc_source(Arena *a, const DataSource *s) {
  static const int32_t kinds[] = {[DATA_CSV] = NNRT_DATA_CSV,
                                  [DATA_IDX] = NNRT_DATA_IDX,
                                  [DATA_NPY] = NNRT_DATA_NPY,
                                  [DATA_TEXT] = NNRT_DATA_TEXT,
                                  [DATA_NPZ] = NNRT_DATA_NPZ};
  nnrt_source_desc d = {.kind =
                            s->kind == DATA_MACKEY_GLASS ? NNRT_DATA_MACKEY_GLASS : kinds[s->kind],
                        .path = s->path,
                        .path2 = s->path2,
                        .has_label = s->has_label,
                        .label = s->label,
                        .header = s->header,
                        .nfeatures = s->features ? s->nfeatures : 0,
                        .scale = s->scale,
                        .seq = s->seq,
                        .xkey = s->xkey,
                        .ykey = s->ykey,
                        .length = s->length,
                        .tau = s->tau,
                        .horizon = s->horizon};
  if (s->features) {
    int32_t *f = ARENA_ARRAY(a, int32_t, (size_t)s->nfeatures + 1);
    for (int i = 0; i < s->nfeatures; i++)
      f[i] = s->features[i];
    d.features = f;
  }
  return d;
}

static nnrt_train_desc desc_train(Arena *a, const TrainConfig *c) {
  nnrt_train_desc d = {.has_data = c->has_data,
                       .has_train = c->has_train,
                       .validation = c->validation,
                       .batch = c->batch,
                       .epochs = c->epochs,
                       .seed = c->seed,
                       .shuffle = c->shuffle,
                       .standardize = c->standardize,
                       .optim = (int32_t)c->optim.kind,
                       .schedule = (int32_t)c->schedule,
                       .lr = c->lr,
                       .beta1 = c->optim.beta1,
                       .beta2 = c->optim.beta2,
                       .gamma = c->gamma,
                       .min_lr = c->min_lr,
                       .every = c->every,
                       .warmup = c->warmup,
                       .patience = c->patience,
                       .checkpoint_every = c->checkpoint_every,
                       .image = {c->image[0], c->image[1], c->image[2]},
                       .random_crop = c->random_crop,
                       .shift = c->shift,
                       .hflip = c->hflip,
                       .fit = c->fit == FIT_RIDGE ? NNRT_FIT_RIDGE : NNRT_FIT_NONE,
                       .fit_alpha = c->fit_alpha,
                       .fit_washout = c->fit_washout,
                       .fit_features = c->fit_features,
                       .fit_weight = c->fit_weight,
                       .fit_bias = c->fit_bias,
                       .step_name = c->step_name};
  if (c->has_data) {
    d.source = desc_source(a, &c->source);
    if (c->has_val_source)
      d.val_source = desc_source(a, &c->val_source);
  }
  return d;
}

const IrFunc *model_desc_predict_func(const IrModule *m) {
  const char *names[] = {"predict", "forward"};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < m->nfuncs; i++)
      if (!strcmp(m->funcs[i]->name, names[k]) && m->funcs[i]->ninputs == 1)
        return m->funcs[i];
  return NULL;
}

nnrt_model_desc *model_desc_build(Arena *a, const IrModule *m, const TrainStep *ts,
                                  const TrainConfig *cfg, const DescFunc *funcs, int nfuncs) {
  nnrt_model_desc *d = ARENA_NEW(a, nnrt_model_desc);
  *d = (nnrt_model_desc){.abi = NNRT_MODEL_ABI,
                         .size = (int32_t)sizeof(nnrt_model_desc),
                         .name = m->name,
                         .nparams = m->nparams,
                         .nfuncs = nfuncs,
                         .params = desc_params(a, m),
                         .train = -1,
                         .eval = -1,
                         .predict = -1,
                         .generate = -1,
                         .generate_tables = -1};
  nnrt_func_desc *fs = ARENA_ARRAY(a, nnrt_func_desc, (size_t)nfuncs + 1);
  const IrFunc *pred = model_desc_predict_func(m);
  for (int i = 0; i < nfuncs; i++) {
    desc_func(a, m, &fs[i], &funcs[i]);
    desc_dim_names(a, m, &fs[i], funcs[i].f);
    if (ts && funcs[i].f == ts->step)
      d->train = i;
    if (ts && funcs[i].f == ts->eval)
      d->eval = i;
    if (funcs[i].f == pred)
      d->predict = i;
  }
  d->funcs = fs;
  if (ts) {
    d->nupdated = ts->nupdated;
    d->num_classes = ts->num_classes;
    d->ncarried = ts->ncarried;
    d->carried = ts->carried;
  }
  if (cfg)
    d->cfg = desc_train(a, cfg);
  return d;
}

void model_desc_set_generate(Arena *a, nnrt_model_desc *d, const IrModule *m, const GenStep *gen) {
  if (!gen || !gen->step)
    return;
  for (int i = 0; i < d->nfuncs; i++) {
    if (!strcmp(d->funcs[i].name, gen->step->name))
      d->generate = i;
    if (gen->tables && !strcmp(d->funcs[i].name, gen->tables->name))
      d->generate_tables = i;
  }
  int32_t *resets = ARENA_ARRAY(a, int32_t, (size_t)m->nparams + 1);
  d->nresets = gen_step_states(m, gen->step, resets);
  d->resets = resets;
}

void model_desc_set_entry(nnrt_model_desc *d, int func, nnrt_entry_fn entry) {
  ((nnrt_func_desc *)d->funcs)[func].entry = entry;
}
