/* conv_winograd.h - 3x3 stride-1 f32 convolutions by Winograd's
 * F(2x2, 3x3) on AVX-512 (conv_winograd.c), tried by conv.c before the
 * direct kernels. Internal: not installed.
 *
 * Each function returns false, having touched nothing, when it does not
 * take the convolution: the CPU lacks AVX-512F, the shape is not a 3x3
 * stride-1 undilated ungrouped one with at least 16 channels in and out,
 * or one image's work does not fit in `scratch_elems`. Which path runs
 * depends on the shape and the CPU alone, never on the thread count. */
#ifndef NNRT_CONV_WINOGRAD_H
#define NNRT_CONV_WINOGRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "nnrt.h"

/* Whether F(2x2, 3x3) takes convolution s for `which` (NNRT_CONV_*). */
bool nnrt_conv_winograd_takes(const nnrt_conv *s, int which, int64_t scratch_elems);
bool nnrt_conv_winograd_forward(const nnrt_conv *s, const float *x, const float *w, float *y,
                                float *scratch, int64_t scratch_elems);
bool nnrt_conv_winograd_backward_data(const nnrt_conv *s, const float *dy, const float *w,
                                      float *dx, float *scratch, int64_t scratch_elems);

#endif
