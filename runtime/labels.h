/* labels.h - checking and converting labels for the loaders (internal).
 * The messages are the same whichever file format the labels came from. */
#ifndef NNRT_LABELS_H
#define NNRT_LABELS_H

#include "fileio.h"
#include "nnrt_data.h"

/* NNRT_ERR_ARG unless ys asks for i32 or f32 labels with a usable class
 * count. */
int nnrt_check_label_spec(const nnrt_file_ctx *c, const nnrt_label_spec *ys);

/* Stores label v (the one at index i, for messages) as y[i] of ys->dtype:
 * NNRT_ERR_FORMAT when it is not finite, does not fit, is not an integer
 * for i32, or lies outside ys->num_classes. */
int nnrt_store_label(const nnrt_file_ctx *c, const nnrt_label_spec *ys, double v, int64_t i,
                     void *y);

#endif
