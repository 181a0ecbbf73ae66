/* test_verify.c - the IR verifier on IR broken on purpose.
 *
 *   test_verify KIND MODEL.nn
 *
 * Lowers the model's forward function (input x, then matmul, add, relu),
 * breaks it as KIND says and runs the verifier, printing every failure
 * (verify.test checks them):
 *   ok      nothing broken: prints "verified"
 *   type    the matmul claims a type its shape rule does not give
 *   arity   the add lost an operand
 *   order   the add comes before the matmul it reads
 *   scope   the matmul moves into a nested block (a loop body) whose end
 *           closes its scope, and the add still reads it
 *   fatal   as type, verified as the pipeline does: an internal error that
 *           names the stage ("autodiff" here) and exits with status 70
 *   payload a broadcast of x whose attributes lack their target shape
 *   misread the add's attributes read as a reduction's (IR_ATTR): an
 *           internal error, not a silent read of the union
 *   misemit an add emitted with attributes (ir_emit): an internal error
 */
#include <stdio.h>
#include <string.h>

#include "frontend.h"

static IrValue *find(IrFunc *f, OpKind op, int *pos) {
  for (int i = 0; i < f->body->n; i++)
    if (f->body->vals[i]->op == op) {
      *pos = i;
      return f->body->vals[i];
    }
  fprintf(stderr, "test_verify: no %s in %s\n", op_info[op].name, f->name);
  return NULL;
}

static bool break_ir(Arena *a, IrFunc *f, const char *kind) {
  int mm_pos, add_pos;
  IrValue *mm = find(f, OP_MATMUL, &mm_pos), *add = find(f, OP_ADD, &add_pos);
  if (!mm || !add)
    return false;
  if (!strcmp(kind, "type") || !strcmp(kind, "fatal")) {
    mm->type.dims[1] = dim_const(5);
  } else if (!strcmp(kind, "arity")) {
    add->nargs = 1;
  } else if (!strcmp(kind, "order")) {
    f->body->vals[mm_pos] = add;
    f->body->vals[add_pos] = mm;
  } else if (!strcmp(kind, "scope")) {
    /* a relu standing for a loop whose body computes the matmul */
    IrValue *x = mm->args[0];
    IrValue *loop = ir_value_new(a, f, OP_RELU, &x, 1, f->loc);
    loop->type = x->type;
    loop->parent = f->body;
    loop->region = ir_block_new(a, f->body);
    mm->parent = loop->region;
    ir_block_append(a, loop->region, mm);
    f->body->vals[mm_pos] = loop;
  } else if (!strcmp(kind, "payload")) {
    IrValue *x = mm->args[0];
    IrValue *bc = ir_value_new(a, f, OP_BROADCAST, &x, 1, f->loc);
    bc->type = x->type;
    ir_block_append(a, f->body, bc);
  } else if (!strcmp(kind, "misread")) {
    printf("axes: %d\n", IR_ATTR(add, reduce).naxes); /* does not return */
  } else if (!strcmp(kind, "misemit")) {
    Diag d;
    diag_init(&d, a, stderr);
    ShapeCtx sc = {.diag = &d, .arena = a};
    IrAttrs at = {.reduce = {.naxes = 1}};
    ir_emit(a, &sc, f, OP_ADD, add->args, 2, f->loc, &at); /* does not return */
  } else if (strcmp(kind, "ok")) {
    fprintf(stderr, "test_verify: unknown kind '%s'\n", kind);
    return false;
  }
  return true;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(
        stderr,
        "usage: test_verify ok|type|arity|order|scope|fatal|payload|misread|misemit MODEL.nn\n");
    return 2;
  }
  FrontendOptions opt = {.out = stdout, .diag_out = stderr};
  Compilation *c = frontend_compile_file(argv[2], &opt);
  IrModule *m = c->errors ? NULL : frontend_model(c, NULL, stderr);
  IrFunc *f = m ? ir_module_func(m, "forward") : NULL;
  int rc = 1;
  if (f && break_ir(&c->arena, f, argv[1])) {
    if (!strcmp(argv[1], "fatal"))
      ir_verify_module(m, "autodiff", NULL); /* does not return */
    bool ok = ir_verify_module(m, "test", stdout);
    if (ok)
      puts("verified");
    rc = ok ? 0 : 1;
  }
  frontend_free(c);
  return rc;
}
