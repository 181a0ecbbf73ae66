/* app.c - a C program using the installed runtime (tests/install). Prints
 * results of the RNG, the workspace planner and a GEMM (OpenBLAS), which
 * install.test checks, and exits 0 only if the GEMM is right. */
#include <inttypes.h>
#include <stdio.h>

/* Every public header, each on its own feet. */
#include <nnrt.h>
#include <nnrt_checkpoint.h>
#include <nnrt_data.h>
#include <nnrt_model.h>
#include <nnrt_train.h>

int main(void) {
  nnrt_rng r;
  nnrt_rng_seed(&r, 42);
  uint32_t u0 = nnrt_rng_u32(&r);
  uint32_t u1 = nnrt_rng_u32(&r);
  printf("rng: %" PRIu32 " %" PRIu32 "\n", u0, u1);

  /* Buffers 0 and 2 are never live together: they share offset 0. */
  int64_t sizes[3] = {100, 200, 50}, offsets[3];
  int first[3] = {0, 1, 2}, last[3] = {1, 2, 3};
  int64_t total = nnrt_plan_layout(3, sizes, first, last, offsets);
  printf("plan: %" PRId64 " bytes, offsets %" PRId64 " %" PRId64 " %" PRId64 "\n", total,
         offsets[0], offsets[1], offsets[2]);

  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[4] = {0};
  nnrt_sgemm(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2); /* [2,3] @ [3,2] */
  printf("gemm: %g %g %g %g\n", c[0], c[1], c[2], c[3]);
  printf("model abi: %d\n", (int)NNRT_MODEL_ABI);
  return c[0] == 4 && c[1] == 5 && c[2] == 10 && c[3] == 11 ? 0 : 1;
}
