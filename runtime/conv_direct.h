/* conv_direct.h - the direct f32 convolution on AVX-512 (conv_direct.c),
 * tried by conv.c before im2col + GEMM. Internal: not installed.
 *
 * Each function returns false, having touched nothing, when it does not
 * take the convolution: the CPU lacks AVX-512F, the shape is one it does
 * not handle (groups, strides, pointwise) or what it needs does not fit in
 * `scratch_elems`, the scratch nnrt_conv_scratch grants the call. Which
 * path runs depends on the shape and the CPU alone, never on the thread
 * count. */
#ifndef NNRT_CONV_DIRECT_H
#define NNRT_CONV_DIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include "nnrt.h"

/* Whether the direct path takes convolution s for `which` (NNRT_CONV_*). */
bool nnrt_conv_direct_takes(const nnrt_conv *s, int which, int64_t scratch_elems);
bool nnrt_conv_direct_forward(const nnrt_conv *s, const float *x, const float *w, float *y,
                              float *scratch, int64_t scratch_elems);
bool nnrt_conv_direct_backward_data(const nnrt_conv *s, const float *dy, const float *w, float *dx,
                                    float *scratch, int64_t scratch_elems);
bool nnrt_conv_direct_backward_filter(const nnrt_conv *s, const float *x, const float *dy,
                                      float *dw, float *scratch, int64_t scratch_elems);

#endif
