/* aot_header.h - writing the C header of a model's object (`nnc -c`). */
#ifndef NNC_AOT_HEADER_H
#define NNC_AOT_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "nnrt_model.h"

/* Writes the header of d's object `object`, whose symbols start with
 * prefix; model_file is named in its comment. False with a message on
 * failure. */
bool aot_write_header(const char *path, const char *object, const char *prefix,
                      const char *model_file, const nnrt_model_desc *d, bool baked, char *err,
                      size_t errlen);

#endif
