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

/* A stride-1 convolution one way round, as the direct and Winograd
 * kernels compute it: ci channels of src_h x src_w images in, co channels
 * of out_h x out_w images out, source row and column 0 at (pad_h, pad_w)
 * of the padded image (negative: cropped). The weight of output channel
 * r, input channel c and tap t (kh * KW + kw) is
 * w[r * w_r + c * w_c + t_base + t_dir * t]. */
typedef struct nnrt_conv_way {
  int64_t n, ci, co, src_h, src_w, pad_h, pad_w, out_h, out_w;
  int64_t w_r, w_c, t_base, t_dir;
} nnrt_conv_way;

/* The forward pass of s; and its data gradient, dx = dy convolved with
 * the weights flipped and their channels swapped: output channel r of that
 * convolution is input channel r of the forward one, and the padding
 * becomes dil * (k - 1) - pad. */
nnrt_conv_way nnrt_conv_way_forward(const nnrt_conv *s);
nnrt_conv_way nnrt_conv_way_backward_data(const nnrt_conv *s);

/* Images [*lo, *hi) of block b of n images in `blocks` (conv.c): contiguous,
 * sizes differing by at most one, the same split for every kernel. */
void nnrt_conv_images(int64_t n, int64_t blocks, int64_t b, int64_t *lo, int64_t *hi);

/* Copies `planes` planes [src_h, src_w] into [h, w] planes at dst, source
 * row and column 0 at (pad_h, pad_w) (negative: cropped), zeros around:
 * the padded copies the direct and Winograd kernels read. */
void nnrt_conv_pad_planes(const float *src, int64_t planes, int64_t src_h, int64_t src_w,
                          int64_t pad_h, int64_t pad_w, float *dst, int64_t h, int64_t w);

#endif
