/* aot_header.c - the C header of a compiled model's object.
 *
 * The header is the contract with the embedding program: an opaque handle
 * type, one function per operation with the argument types of this model
 * (float * for f32 data, int32_t * for class labels), and the sizes of one
 * sample as constants. The functions are defined in the object (aot.c) as
 * calls into the runtime's handle API (runtime/nnrt_model.h).
 */
#include "aot_header.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifndef NNC_VERSION
#define NNC_VERSION "0.1.0"
#endif

static const char *c_type(int32_t dtype) {
  switch (dtype) {
  case NNRT_F32:
    return "float";
  case NNRT_F64:
    return "double";
  case NNRT_I32:
    return "int32_t";
  default:
    return "uint8_t";
  }
}

static void put_dim(FILE *out, const nnrt_func_desc *f, const nnrt_dim *d) {
  char text[256];
  nnrt_dim_text(f, d, text, sizeof text);
  fputs(text, out);
}

static void put_arg(FILE *out, const nnrt_func_desc *f, const nnrt_arg_desc *a) {
  fprintf(out, "%s[", nnrt_dtype_name(a->dtype));
  for (int i = 0; i < a->rank; i++) {
    if (i)
      fputs(", ", out);
    put_dim(out, f, &a->dims[i]);
  }
  fputs("]", out);
}

static void put_signature(FILE *out, const nnrt_func_desc *f) {
  fprintf(out, " *   %s(", f->name);
  for (int i = 0; i < f->ninputs; i++) {
    fprintf(out, "%s%s: ", i ? ", " : "", f->inputs[i].name);
    put_arg(out, f, &f->inputs[i]);
  }
  fputs(") -> ", out);
  for (int i = 0; i < f->nresults; i++) {
    if (i)
      fputs(", ", out);
    put_arg(out, f, &f->results[i]);
  }
  fputs("\n", out);
}

static void put_macro(FILE *out, const char *upper, const char *name, long long v,
                      const char *doc) {
  fprintf(out, "/* %s */\n#define %s_%s %lld\n", doc, upper, name, v);
}

/* What predict, train_step and evaluate do to raw f32 inputs, as the
 * runtime does it (nnrt_model_input): the data section's scale for csv and
 * idx sources, then standardisation by the training data's statistics. */
static void put_input_transform(FILE *out, const char *upper, const nnrt_model_desc *d) {
  const nnrt_train_desc *c = &d->cfg;
  bool scaled = c->has_data &&
                (c->source.kind == NNRT_DATA_CSV || c->source.kind == NNRT_DATA_IDX) &&
                c->source.scale != 0;
  fprintf(out,
          "/* Inputs are raw data-file values: predict, train_step and evaluate\n"
          " * multiply f32 inputs by INPUT_SCALE (the data section's scale; 1: none)\n"
          " * and, when INPUT_STANDARDIZE is 1, standardise them per feature with the\n"
          " * training data's statistics (input_stats): (x * INPUT_SCALE - mean) / std.\n"
          " * set_input_normalised(m, 1) takes inputs already transformed. */\n"
          "#define %s_INPUT_SCALE %.17g\n"
          "#define %s_INPUT_STANDARDIZE %d\n",
          upper, scaled ? c->source.scale : 1.0, upper, c->standardize ? 1 : 0);
}

static void put_constants(FILE *out, const char *upper, const nnrt_model_desc *d, bool baked) {
  const nnrt_func_desc *p = d->predict >= 0 ? &d->funcs[d->predict] : NULL;
  const nnrt_func_desc *t = d->train >= 0 ? &d->funcs[d->train] : NULL;
  /* a closed-form fit has no step; its loss takes the same targets */
  const nnrt_func_desc *ly = t ? t : d->eval >= 0 ? &d->funcs[d->eval] : NULL;
  put_macro(out, upper, "INPUT_SIZE", p ? nnrt_arg_sample_numel(&p->inputs[0]) : -1,
            "elements of one input sample (-1: no predict function or a symbolic size)");
  put_macro(out, upper, "OUTPUT_SIZE", p ? nnrt_arg_sample_numel(&p->results[0]) : -1,
            "elements of one prediction");
  put_macro(out, upper, "LABEL_SIZE",
            ly && ly->ninputs > 1 ? nnrt_arg_sample_numel(&ly->inputs[1]) : -1,
            "elements of one sample's label or target (-1: no training step)");
  put_macro(out, upper, "NUM_CLASSES", d->num_classes, "classes of the cross-entropy, or 0");
  put_macro(out, upper, "NUM_PARAMS", d->nparams, "parameters and optimizer state tensors");
  put_macro(out, upper, "HAS_TRAIN", t != NULL, "train_step is available");
  put_macro(out, upper, "HAS_GENERATE", d->generate >= 0,
            "generate is declared (a generate section)");
  if (d->generate >= 0)
    put_macro(out, upper, "NUM_TOKENS", d->funcs[d->generate].results[0].dims[1].constant,
              "tokens the generation step scores (the vocabulary's size at most)");
  put_input_transform(out, upper, d);
  put_macro(out, upper, "BAKED", baked, "the weights are compiled into the object");
}

static void put_params(FILE *out, const nnrt_model_desc *d) {
  fputs(" * Parameters (get_param/set_param by name; f32 unless noted):\n", out);
  for (int i = 0; i < d->nparams; i++) {
    const nnrt_param_desc *p = &d->params[i];
    fprintf(out, " *   %-24s %s[", p->name, nnrt_dtype_name(p->dtype));
    for (int j = 0; j < p->rank; j++)
      fprintf(out, "%s%lld", j ? ", " : "", (long long)p->dims[j]);
    fprintf(out, "]%s\n", p->trainable ? "" : "  (state)");
  }
}

static void put_prototypes(FILE *out, const char *pf, const nnrt_model_desc *d) {
  const nnrt_func_desc *p = d->predict >= 0 ? &d->funcs[d->predict] : NULL;
  const nnrt_func_desc *t = d->train >= 0  ? &d->funcs[d->train]
                            : d->eval >= 0 ? &d->funcs[d->eval]
                                           : NULL;
  const char *xin = p ? c_type(p->inputs[0].dtype) : "void";
  const char *yout = p ? c_type(p->results[0].dtype) : "void";
  const char *tx = t ? c_type(t->inputs[0].dtype) : "void";
  const char *ty = t && t->ninputs > 1 ? c_type(t->inputs[1].dtype) : "void";
  fprintf(out,
          "/* Creates a model: parameters initialised as the model file says (or\n"
          " * the baked weights), optimizer state zeroed. On failure *out is NULL\n"
          " * and %s_create_error() says why. */\n"
          "int %s_create(%s **out);\n"
          "const char *%s_create_error(void);\n"
          "void %s_free(%s *m); /* NULL is fine */\n\n",
          pf, pf, pf, pf, pf, pf);
  fprintf(out,
          "/* The message of the last failed call on m (\"\" if none). */\n"
          "const char *%s_error(const %s *m);\n\n",
          pf, pf);
  fprintf(out,
          "/* Safetensors checkpoints (parameters, optimizer state, position), as\n"
          " * `nnc run` and `./model train` write them. Loading checks names, dtypes\n"
          " * and shapes and changes nothing on failure; saving is atomic. */\n"
          "int %s_load(%s *m, const char *path);\n"
          "int %s_save(%s *m, const char *path);\n"
          "/* The weights alone (parameters, states, statistics, vocabulary):\n"
          " * optimizer state and position stay m's, so a checkpoint of any train\n"
          " * section of the model, or of its fit, loads. */\n"
          "int %s_load_weights(%s *m, const char *path);\n"
          "/* Re-initialises the parameters from seed; zeroes optimizer state. */\n"
          "int %s_reset(%s *m, uint64_t seed);\n\n",
          pf, pf, pf, pf, pf, pf, pf, pf);
  fprintf(out,
          "/* Inference on batch >= 1 samples: x[batch * INPUT_SIZE] in,\n"
          " * y[batch * OUTPUT_SIZE] out. x holds raw data-file values (pixels as\n"
          " * the data file has them): the data section's scale and standardisation\n"
          " * are applied inside (INPUT_SCALE, INPUT_STANDARDIZE), unless\n"
          " * set_input_normalised(m, 1) said x is already transformed. */\n"
          "int %s_predict(%s *m, int64_t batch, const %s *x, %s *y);\n\n",
          pf, pf, xin, yout);
  fprintf(out,
          "/* One optimizer step on a batch (forward, backward, update); *loss gets\n"
          " * the batch's mean loss (loss may be NULL). evaluate: the loss only.\n"
          " * x holds raw data-file values, transformed inside as for predict.\n"
          " * A batch whose loss or gradient norm is NaN or Inf updates nothing\n"
          " * and returns NNRT_ERR_NONFINITE (the parameters, optimizer state and\n"
          " * step count stay as they were). */\n"
          "int %s_train_step(%s *m, int64_t batch, const %s *x, const %s *y, float *loss);\n"
          "int %s_evaluate(%s *m, int64_t batch, const %s *x, const %s *y, float *loss);\n"
          "/* The learning rate. By default every step uses the train section's\n"
          " * base rate, constant (the program drives training, so the section's\n"
          " * epochs mean nothing here). set_schedule(m, N): the section's schedule\n"
          " * (warm-up, step or cosine) over the next N steps from now; 0: constant\n"
          " * again. set_lr(m, lr > 0) fixes the rate over any schedule; 0 undoes\n"
          " * it. lr(m): the rate the next train_step will use. set_epoch: the\n"
          " * epoch a step schedule decays by and a checkpoint records. */\n"
          "int %s_set_schedule(%s *m, int64_t total_steps);\n"
          "int %s_set_lr(%s *m, double lr);\n"
          "double %s_lr(const %s *m);\n"
          "int %s_set_epoch(%s *m, int64_t epoch);\n"
          "int64_t %s_steps(const %s *m);\n"
          "/* The seed of the model's random ops (uniform, normal, dropout;\n"
          " * default: the data section's seed, and reset's). Each call draws\n"
          " * with it and steps(m), so the same seed and step count give the\n"
          " * same bits at any thread count; dropout acts in train_step only. */\n"
          "int %s_set_seed(%s *m, uint64_t seed);\n\n",
          pf, pf, tx, ty, pf, pf, tx, ty, pf, pf, pf, pf, pf, pf, pf, pf, pf, pf, pf, pf);
  if (d->ncarried > 0)
    fprintf(out,
            "/* Truncated backpropagation through time (the train section's tbptt):\n"
            " * train_step and evaluate carry the states from each batch into the\n"
            " * next, row by row, so feed the batches as streams (row s of each\n"
            " * batch continues row s of the one before) and reset_carried where a\n"
            " * stream starts: an epoch, an evaluation pass. */\n"
            "int %s_reset_carried(%s *m);\n\n",
            pf, pf);
  if (d->generate >= 0)
    fprintf(out,
            "/* Generation (the model's generate section): resets the states the\n"
            " * step writes, feeds the prompt (a C string of vocabulary characters)\n"
            " * through it, then samples `tokens` characters into out (tokens + 1\n"
            " * bytes with the '\\0'): softmax(scores / temperature) over the top_k\n"
            " * best (0: all; temperature 0 or top_k 1: greedy); the same seed gives\n"
            " * the same text. The vocabulary (the training text's characters)\n"
            " * comes with a checkpoint written by training, with --bake, or from\n"
            " * set_vocab; vocab copies it out (cap >= its size) and returns its\n"
            " * size (0: none yet). */\n"
            "int %s_generate(%s *m, const char *prompt, int64_t tokens, double temperature,\n"
            "        int64_t top_k, uint64_t seed, char *out);\n"
            "int %s_set_vocab(%s *m, const char *bytes, int64_t n);\n"
            "int64_t %s_vocab(const %s *m, char *out, size_t cap);\n\n",
            pf, pf, pf, pf, pf, pf);
  fprintf(out,
          "/* The input transform: the scale (INPUT_SCALE), a copy of the\n"
          " * standardisation statistics (n = INPUT_SIZE floats each; they come\n"
          " * from the training data and are loaded with a checkpoint;\n"
          " * NNRT_ERR_ARG unless INPUT_STANDARDIZE), and whether x is passed\n"
          " * already transformed (1) or raw (0, the default). */\n"
          "double %s_input_scale(const %s *m);\n"
          "int %s_input_stats(%s *m, float *mean, float *std, size_t n);\n"
          "int %s_set_input_normalised(%s *m, int normalised);\n\n",
          pf, pf, pf, pf, pf, pf);
  fprintf(out,
          "/* Parameters by name: copies of exactly param_bytes bytes. */\n"
          "int %s_find_param(const %s *m, const char *name); /* index or -1 */\n"
          "int64_t %s_param_bytes(const %s *m, int index);\n"
          "int %s_get_param(%s *m, const char *name, void *dst, size_t bytes);\n"
          "int %s_set_param(%s *m, const char *name, const void *src, size_t bytes);\n\n",
          pf, pf, pf, pf, pf, pf, pf, pf);
  fprintf(out,
          "/* Sizes of one sample, as the constants above (-1: none or symbolic). */\n"
          "int64_t %s_input_size(const %s *m);\n"
          "int64_t %s_output_size(const %s *m);\n"
          "int64_t %s_label_size(const %s *m);\n\n",
          pf, pf, pf, pf, pf, pf);
  fprintf(out,
          "/* Any compiled function by index (find_func), with the values of its\n"
          " * dims and dense buffers; and the model's descriptor (nnrt_model.h). */\n"
          "int %s_find_func(const %s *m, const char *name);\n"
          "int %s_call(%s *m, int func, const int64_t *dims, const void *const *inputs,\n"
          "        void *const *outputs);\n"
          "const struct nnrt_model_desc *%s_descriptor(void);\n",
          pf, pf, pf, pf, pf);
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

bool aot_header_write(const char *path, const AotHeaderInfo *info, const nnrt_model_desc *d,
                      char *err, size_t errlen) {
  const char *prefix = info->prefix;
  FILE *out = fopen(path, "w");
  if (!out) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  char upper[256];
  size_t n = 0;
  for (; prefix[n] && n + 1 < sizeof upper; n++)
    upper[n] = (char)toupper((unsigned char)prefix[n]);
  upper[n] = 0;
  fprintf(out,
          "/* %s - the C interface of model %s, compiled by nnc %s from %s.\n"
          " * Generated; do not edit.\n"
          " *\n"
          " * Link the object with the nnc runtime:\n"
          " *   cc app.c %s $(pkg-config --cflags --libs nnrt)\n"
          " *\n"
          " * Every function returns NNRT_OK (0) or an NNRT_ERR_* code from nnrt.h\n"
          " * and never prints, exits or aborts; %s_error(m) has the message.\n"
          " * Thread safety: a handle is used by one thread at a time; separate\n"
          " * handles may run concurrently in different threads.\n"
          " *\n"
          " * Compiled for %s, CPU %s; for machines with other CPUs\n"
          " * compile with --cpu generic (or --cpu NAME).\n"
          " *\n"
          " * Compiled functions (B is the batch size):\n",
          base_name(path), d->name, NNC_VERSION, info->model_file, base_name(info->object), prefix,
          info->triple, info->cpu);
  for (int i = 0; i < d->nfuncs; i++)
    put_signature(out, &d->funcs[i]);
  fputs(" *\n", out);
  put_params(out, d);
  fprintf(out,
          " */\n"
          "#ifndef %s_H\n"
          "#define %s_H\n\n"
          "#include <stddef.h>\n"
          "#include <stdint.h>\n\n"
          "#include <nnrt.h>\n\n"
          "#ifdef __cplusplus\n"
          "extern \"C\" {\n"
          "#endif\n\n",
          upper, upper);
  put_constants(out, upper, d, info->baked);
  fprintf(out, "\ntypedef struct %s %s; /* opaque */\nstruct nnrt_model_desc;\n\n", prefix, prefix);
  put_prototypes(out, prefix, d);
  fprintf(out,
          "\n#ifdef __cplusplus\n"
          "}\n"
          "#endif\n\n"
          "#endif /* %s_H */\n",
          upper);
  if (fclose(out)) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return false;
  }
  return true;
}
