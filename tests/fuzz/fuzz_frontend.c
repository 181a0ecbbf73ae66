/* fuzz_frontend.c - libFuzzer target for the front end.
 *
 * Feeds each input, as the text of a .nn file, through frontend_check_buffer():
 * lexer, parser, semantic analysis and shape inference. Any crash, hang,
 * leak or sanitizer report is a bug: bad input must only ever produce
 * diagnostics. Diagnostics go to /dev/null, opened once.
 *
 * Built only with -DNNC_FUZZ=ON (clang-19); see tests/fuzz/README.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *devnull;
  if (!devnull) {
    devnull = fopen("/dev/null", "w");
    if (!devnull) {
      perror("fuzz_frontend: /dev/null");
      abort();
    }
  }
  (void)frontend_check_buffer("fuzz.nn", (const char *)data, size, devnull);
  return 0;
}
