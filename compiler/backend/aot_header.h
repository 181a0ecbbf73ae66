/* aot_header.h - writing the C header of a model's object (`nnc -c`). */
#ifndef NNC_AOT_HEADER_H
#define NNC_AOT_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "nnrt_model.h"

/* Writes the header of d's object. False with a message on failure. */
typedef struct AotHeaderInfo {
  const char *object;       /* the object's path, for the link line */
  const char *prefix;       /* of every symbol */
  const char *model_file;   /* where the model came from */
  const char *triple, *cpu; /* what the code was compiled for */
  bool baked;
} AotHeaderInfo;

bool aot_header_write(const char *path, const AotHeaderInfo *info, const nnrt_model_desc *d,
                      char *err, size_t errlen);

#endif
