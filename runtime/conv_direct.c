/* conv_direct.c - direct f32 convolution with AVX-512 register tiles, for
 * the stride-1 convolutions where im2col + GEMM spends most of its time
 * unrolling images and OpenBLAS runs its small-K GEMMs far from peak.
 *
 * A stride-1 convolution read on a "padded-width grid" needs no unrolling.
 * Copy the image with its padding into xp [Ci, HP, WP] (HP = OH + dil *
 * (KH - 1), WP likewise) and number the outputs q = oh * WP + ow, the last
 * WP - OW of each row being junk. Then tap (kh, kw) of output q reads
 * xp[c][q + dil * (kh * WP + kw)]: each tap is the whole image shifted, so
 *   yq[o][q] = sum over c, kh, kw of w[o][c][kh][kw] * xp[c][q + shift]
 * is a GEMM whose columns are contiguous runs of xp. The microkernel keeps
 * TILE_R output channels x TILE_P vectors of 16 consecutive q in zmm
 * registers, and for each (c, tap) loads TILE_P vectors of xp and
 * broadcasts TILE_R weights: 24 FMAs per 10 loads. The tile stores its
 * vectors straight into the NCHW output: the valid q of a vector are
 * consecutive outputs there (the last of one row is followed by the first
 * of the next), so compressing out the junk lanes and a masked store of
 * the rest drop the junk columns without a copy of the whole output.
 *
 * The data gradient of a stride-1 convolution is the same computation:
 * dx = dy padded by dil * (K - 1) - pad, convolved with the weights flipped
 * and with O and C swapped, which the microkernel reads through strides.
 *
 * Each image's padded copy lies in the caller's scratch, one slot per
 * chunk of images. Images are split over threads; with fewer images than
 * the threads have work for (batch-1 inference), each image gets a slot of
 * its own and its output channels are split instead, in blocks of whole
 * tiles, so the bits do not depend on the split. The functions are
 * compiled for AVX-512F through target attributes and run only where cpuid
 * says the CPU has it. */
#include "conv_direct.h"

#include <string.h>

#include "cpu.h"
#include "pool.h"

/* A stride-1 convolution of ci channels into co on the padded-width grid. */
typedef struct Shift {
  nnrt_conv_way way;
  int64_t src_img, out_img; /* the input and output images (NCHW) */
  int64_t hp, wp, plane;    /* xp's rows, columns, elements per channel */
  int64_t k_h, k_w, dil_h, dil_w;
  int64_t qv;       /* OH * WP rounded up to whole vectors */
  int64_t xp_elems; /* xp with the slack the last vector's taps read */
  int64_t slot;     /* the scratch of one image: its xp */
} Shift;

enum { VEC = 16, TILE_R = 4, TILE_P = 6, FILT_R = 3, FILT_T = 9 };

static int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* Sizes other than the kind-specific ones (channels, pads, weights). */
static void shift_sizes(Shift *g) {
  g->src_img = g->way.ci * g->way.src_h * g->way.src_w;
  g->out_img = g->way.co * g->way.out_h * g->way.out_w;
  g->hp = g->way.out_h + g->dil_h * (g->k_h - 1);
  g->wp = g->way.out_w + g->dil_w * (g->k_w - 1);
  g->plane = g->hp * g->wp;
  g->qv = round_up(g->way.out_h * g->wp, VEC);
  /* the last vector of q reaches VEC - 1 past OH * WP, its last tap
   * dil * (KW - 1) past the plane */
  g->xp_elems = round_up(g->way.ci * g->plane + VEC + g->dil_w * (g->k_w - 1), VEC);
  g->slot = g->xp_elems;
}

/* The shapes the direct path takes: one group, stride 1 and something to
 * compute; pointwise convolutions are a plain GEMM already. */
static bool shape_taken(const nnrt_conv *s) {
  bool pointwise = s->k_h == 1 && s->k_w == 1 && s->pad_h == 0 && s->pad_w == 0;
  return s->groups == 1 && s->stride_h == 1 && s->stride_w == 1 && !pointwise && s->n > 0 &&
         s->c > 0 && s->o > 0 && s->out_h > 0 && s->out_w > 0 && s->in_h > 0 && s->in_w > 0;
}

nnrt_conv_way nnrt_conv_way_forward(const nnrt_conv *s) {
  return (nnrt_conv_way){.n = s->n,
                         .ci = s->c,
                         .co = s->o,
                         .src_h = s->in_h,
                         .src_w = s->in_w,
                         .pad_h = s->pad_h,
                         .pad_w = s->pad_w,
                         .out_h = s->out_h,
                         .out_w = s->out_w,
                         .w_r = s->c * s->k_h * s->k_w,
                         .w_c = s->k_h * s->k_w,
                         .t_base = 0,
                         .t_dir = 1};
}

nnrt_conv_way nnrt_conv_way_backward_data(const nnrt_conv *s) {
  return (nnrt_conv_way){.n = s->n,
                         .ci = s->o,
                         .co = s->c,
                         .src_h = s->out_h,
                         .src_w = s->out_w,
                         .pad_h = s->dil_h * (s->k_h - 1) - s->pad_h,
                         .pad_w = s->dil_w * (s->k_w - 1) - s->pad_w,
                         .out_h = s->in_h,
                         .out_w = s->in_w,
                         .w_r = s->k_h * s->k_w,
                         .w_c = s->c * s->k_h * s->k_w,
                         .t_base = s->k_h * s->k_w - 1,
                         .t_dir = -1};
}

static Shift shift_of(const nnrt_conv *s, nnrt_conv_way way) {
  Shift g = {.way = way, .k_h = s->k_h, .k_w = s->k_w, .dil_h = s->dil_h, .dil_w = s->dil_w};
  shift_sizes(&g);
  return g;
}

static Shift shift_forward(const nnrt_conv *s) { return shift_of(s, nnrt_conv_way_forward(s)); }

static Shift shift_backward_data(const nnrt_conv *s) {
  return shift_of(s, nnrt_conv_way_backward_data(s));
}

/* The filter gradient's geometry: x padded and blocked by 16 channels. */
typedef struct FilterGeom {
  int64_t n, c, o, cp; /* cp: c rounded up to whole blocks of 16 */
  int64_t in_h, in_w, pad_h, pad_w, hp, wp, plane;
  int64_t out_h, out_w, ohw, k_w, dil_h, dil_w, taps;
  int64_t xb_elems, part_elems, slot; /* slot: xb and a partial filter */
} FilterGeom;

static FilterGeom filter_geom(const nnrt_conv *s) {
  FilterGeom f = {.n = s->n,
                  .c = s->c,
                  .o = s->o,
                  .cp = round_up(s->c, VEC),
                  .in_h = s->in_h,
                  .in_w = s->in_w,
                  .pad_h = s->pad_h,
                  .pad_w = s->pad_w,
                  .hp = s->out_h + s->dil_h * (s->k_h - 1),
                  .wp = s->out_w + s->dil_w * (s->k_w - 1),
                  .out_h = s->out_h,
                  .out_w = s->out_w,
                  .ohw = s->out_h * s->out_w,
                  .k_w = s->k_w,
                  .dil_h = s->dil_h,
                  .dil_w = s->dil_w,
                  .taps = s->k_h * s->k_w};
  f.plane = f.hp * f.wp;
  f.xb_elems = f.cp * f.plane;
  f.part_elems = f.o * f.taps * f.cp;
  f.slot = f.xb_elems + f.part_elems;
  return f;
}

void nnrt_conv_pad_planes(const float *src, int64_t planes, int64_t src_h, int64_t src_w,
                          int64_t pad_h, int64_t pad_w, float *dst, int64_t h, int64_t w) {
  int64_t lo = pad_w < 0 ? 0 : pad_w; /* first column of dst from src */
  int64_t skip = pad_w < 0 ? -pad_w : 0;
  int64_t len = src_w - skip;
  if (len > w - lo)
    len = w - lo;
  if (len < 0)
    len = 0;
  for (int64_t c = 0; c < planes; c++)
    for (int64_t i = 0; i < h; i++) {
      float *row = dst + (c * h + i) * w;
      int64_t si = i - pad_h;
      if (si < 0 || si >= src_h || len == 0) {
        memset(row, 0, sizeof(float) * (size_t)w);
        continue;
      }
      memset(row, 0, sizeof(float) * (size_t)lo);
      memcpy(row + lo, src + (c * src_h + si) * src_w + skip, sizeof(float) * (size_t)len);
      memset(row + lo + len, 0, sizeof(float) * (size_t)(w - lo - len));
    }
}

#ifdef NNRT_X86_AVX512

/* Copies image `src` into xp with its padding (zeros) around it, and
 * zeros into the slack past the last plane. */
static void pad_image(const Shift *g, const float *src, float *xp) {
  nnrt_conv_pad_planes(src, g->way.ci, g->way.src_h, g->way.src_w, g->way.pad_h, g->way.pad_w, xp,
                       g->hp, g->wp);
  memset(xp + g->way.ci * g->plane, 0,
         sizeof(float) * (size_t)(g->xp_elems - g->way.ci * g->plane));
}

/* Outputs of the grid before position q that are real outputs (not junk
 * columns, not past the last row): where q's output lies in NCHW. */
static int64_t outputs_before(const Shift *g, int64_t q) {
  int64_t row = q / g->wp, col = q % g->wp;
  if (row >= g->way.out_h)
    return g->way.out_h * g->way.out_w;
  return row * g->way.out_w + (col < g->way.out_w ? col : g->way.out_w);
}

/* For the p vectors from q0: where the first real output of each goes in
 * NCHW, and which of its lanes are real outputs. */
static void vector_stores(const Shift *g, int64_t q0, int p, int64_t *start, uint16_t *lanes) {
  for (int v = 0; v < p; v++) {
    int64_t q = q0 + VEC * v;
    start[v] = outputs_before(g, q);
    unsigned m = 0;
    for (int l = 0; l < VEC; l++)
      if (q + l < g->way.out_h * g->wp && (q + l) % g->wp < g->way.out_w)
        m |= 1u << l;
    lanes[v] = (uint16_t)m;
  }
}

/* Outputs r0 .. r0 + R - 1, q0 .. q0 + 16 P - 1 of the grid, stored into
 * dst, one image in NCHW: R and P are constants in each instance below and
 * the loops over them unrolled, so acc lives in registers (without the
 * pragmas GCC keeps it on the stack and runs at a third of the speed). */
AVX512_INLINE void tile(const Shift *g, const float *xp, const float *w, float *dst, int64_t r0,
                        int64_t q0, const int64_t *start, const uint16_t *lanes, const int R,
                        const int P) {
  __m512 acc[TILE_R][TILE_P];
  const float *wr[TILE_R];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    wr[r] = w + (r0 + r) * g->way.w_r + g->way.t_base;
#pragma GCC unroll 8
    for (int p = 0; p < P; p++)
      acc[r][p] = _mm512_setzero_ps();
  }
  int64_t row_step = g->dil_h * g->wp;
  for (int64_t c = 0; c < g->way.ci; c++) {
    const float *xc = xp + c * g->plane + q0;
    int64_t t = c * g->way.w_c;
    for (int64_t kh = 0; kh < g->k_h; kh++, xc += row_step)
      for (int64_t kw = 0; kw < g->k_w; kw++, t += g->way.t_dir) {
        const float *xs = xc + kw * g->dil_w;
        __m512 xv[TILE_P];
#pragma GCC unroll 8
        for (int p = 0; p < P; p++)
          xv[p] = _mm512_loadu_ps(xs + VEC * p);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
          __m512 b = _mm512_set1_ps(wr[r][t]);
#pragma GCC unroll 8
          for (int p = 0; p < P; p++)
            acc[r][p] = _mm512_fmadd_ps(b, xv[p], acc[r][p]);
        }
      }
  }
  int64_t ohw = g->way.out_h * g->way.out_w;
#pragma GCC unroll 8
  for (int p = 0; p < P; p++) {
    __mmask16 real = lanes[p];
    __mmask16 first = (__mmask16)((1u << __builtin_popcount(real)) - 1);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
      _mm512_mask_storeu_ps(dst + (r0 + r) * ohw + start[p], first,
                            _mm512_maskz_compress_ps(real, acc[r][p]));
  }
}

typedef void (*tile_fn)(const Shift *g, const float *xp, const float *w, float *dst, int64_t r0,
                        int64_t q0, const int64_t *start, const uint16_t *lanes);
#define TILE_FN(R, P)                                                                              \
  static AVX512 void tile_##R##_##P(const Shift *g, const float *xp, const float *w, float *dst,   \
                                    int64_t r0, int64_t q0, const int64_t *start,                  \
                                    const uint16_t *lanes) {                                       \
    tile(g, xp, w, dst, r0, q0, start, lanes, R, P);                                               \
  }
#define TILE_ROW(R)                                                                                \
  TILE_FN(R, 1) TILE_FN(R, 2) TILE_FN(R, 3) TILE_FN(R, 4) TILE_FN(R, 5) TILE_FN(R, 6)
TILE_ROW(1)
TILE_ROW(2)
TILE_ROW(3)
TILE_ROW(4)
#define TILE_ENTRY(R)                                                                              \
  { tile_##R##_1, tile_##R##_2, tile_##R##_3, tile_##R##_4, tile_##R##_5, tile_##R##_6 }
static const tile_fn tiles[TILE_R][TILE_P] = {TILE_ENTRY(1), TILE_ENTRY(2), TILE_ENTRY(3),
                                              TILE_ENTRY(4)};

/* Output channels [r_lo, r_hi) of one image (dst, NCHW) from its padded
 * copy xp; r_lo is a multiple of TILE_R, so every output is computed by the
 * same tile whichever range it falls in (the same bits however the
 * channels are split). */
static void shift_channels(const Shift *g, const float *xp, const float *w, float *dst,
                           int64_t r_lo, int64_t r_hi) {
  int64_t start[TILE_P];
  uint16_t lanes[TILE_P];
  for (int64_t q0 = 0; q0 < g->qv; q0 += VEC * TILE_P) {
    int64_t p = (g->qv - q0) / VEC;
    int pn = p < TILE_P ? (int)p : TILE_P;
    vector_stores(g, q0, pn, start, lanes);
    for (int64_t r0 = r_lo; r0 < r_hi; r0 += TILE_R) {
      int rn = r_hi - r0 < TILE_R ? (int)(r_hi - r0) : TILE_R;
      tiles[rn - 1][pn - 1](g, xp, w, dst, r0, q0, start, lanes);
    }
  }
}

typedef struct ShiftJob {
  const Shift *g;
  const float *src, *w;
  float *dst, *scratch;
  int64_t chunks;
} ShiftJob;

/* Image split: chunk c pads each of its images into slot c and computes
 * all its output channels. */
static void shift_ranges(void *ctx, int64_t lo, int64_t hi) {
  const ShiftJob *j = ctx;
  const Shift *g = j->g;
  for (int64_t c = lo; c < hi; c++) {
    float *xp = j->scratch + c * g->slot;
    int64_t lo_n, hi_n;
    nnrt_conv_images(g->way.n, j->chunks, c, &lo_n, &hi_n);
    for (int64_t n = lo_n; n < hi_n; n++) {
      pad_image(g, j->src + n * g->src_img, xp);
      shift_channels(g, xp, j->w, j->dst + n * g->out_img, 0, g->way.co);
    }
  }
}

static int64_t row_blocks(const Shift *g) { return (g->way.co + TILE_R - 1) / TILE_R; }

/* Channel split (fewer images than threads, batch 1 above all): image n is
 * padded into slot n beforehand, and unit u is block u % row_blocks of
 * TILE_R output channels of image u / row_blocks. */
static void shift_channel_ranges(void *ctx, int64_t lo, int64_t hi) {
  const ShiftJob *j = ctx;
  const Shift *g = j->g;
  int64_t blocks = row_blocks(g);
  for (int64_t u = lo; u < hi;) {
    int64_t n = u / blocks, b_lo = u % blocks;
    int64_t b_hi = b_lo + (hi - u) < blocks ? b_lo + (hi - u) : blocks;
    int64_t r_hi = b_hi * TILE_R < g->way.co ? b_hi * TILE_R : g->way.co;
    shift_channels(g, j->scratch + n * g->slot, j->w, j->dst + n * g->out_img, b_lo * TILE_R, r_hi);
    u += b_hi - b_lo;
  }
}

static void shift_run(const Shift *g, const float *src, const float *w, float *dst,
                      float *scratch) {
  /* about 40 multiply-adds per ns on one core */
  double ns = (double)g->way.n * (double)g->way.co * (double)g->way.ci *
              (double)(g->qv * g->k_h * g->k_w) / 40.0;
  int64_t k = nnrt_pool_chunks(g->way.n, ns);
  k = k < NNRT_CONV_SLOTS ? k : NNRT_CONV_SLOTS;
  int64_t units = g->way.n * row_blocks(g);
  int by_channels = g->way.n <= NNRT_CONV_SLOTS ? nnrt_pool_chunks(units, ns) : 0;
  if (by_channels > k) {
    for (int64_t n = 0; n < g->way.n; n++)
      pad_image(g, src + n * g->src_img, scratch + n * g->slot);
    ShiftJob j = {g, src, w, dst, scratch, by_channels};
    nnrt_pool_run(shift_channel_ranges, &j, units, by_channels);
    return;
  }
  ShiftJob j = {g, src, w, dst, scratch, k};
  nnrt_pool_run(shift_ranges, &j, j.chunks, (int)j.chunks);
}

/* ---- filter gradient ------------------------------------------------
 * dw[o][c][t] = sum over images and outputs (oh, ow) of dy[o][oh][ow] *
 * xp[c][oh * WP + ow + shift(t)], with xp as above but blocked by 16
 * channels, xb[c / 16][position][c % 16] (zeros past C). The microkernel
 * keeps FILT_R output channels x FILT_T taps of one block of 16 input
 * channels in registers and, per output position, broadcasts FILT_R values
 * of dy and loads FILT_T vectors of xb: no horizontal sums, and each
 * output position's contribution goes to 16 channels at once. An image's
 * tile is added into the block's partial filter, laid out [O][KH*KW][CP];
 * the partials are added in block order and transposed to [O][C][KH][KW]
 * at the end (the fixed blocks of conv.c: the same bits on every call). */

/* Copies image x (NCHW) into xb with its padding: each vector of xb is
 * one position of 16 channels, gathered from the 16 channel planes of x
 * (lanes past C are zeros). The gather's offsets are 32-bit:
 * nnrt_conv_direct_takes refuses planes too large for them. */
static AVX512 void pad_blocked(const FilterGeom *f, const float *x, float *xb) {
  int64_t hw = f->in_h * f->in_w;
  __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i offs = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)hw));
  __m512 zero = _mm512_setzero_ps();
  for (int64_t cb = 0; cb < f->cp / VEC; cb++) {
    int64_t lanes = f->c - cb * VEC < VEC ? f->c - cb * VEC : VEC;
    __mmask16 real = nnrt_lanes16(lanes);
    const float *planes = x + cb * VEC * hw;
    float *blk = xb + cb * f->plane * VEC;
    for (int64_t i = 0; i < f->hp; i++) {
      float *row = blk + i * f->wp * VEC;
      int64_t si = i - f->pad_h;
      for (int64_t j = 0; j < f->wp; j++) {
        int64_t sj = j - f->pad_w;
        __m512 v = zero;
        if (si >= 0 && si < f->in_h && sj >= 0 && sj < f->in_w)
          v = _mm512_mask_i32gather_ps(zero, real, offs, planes + si * f->in_w + sj, 4);
        _mm512_storeu_ps(row + j * VEC, v);
      }
    }
  }
}

/* Taps t0 .. t0 + T - 1 of output channels r0 .. r0 + R - 1 and input
 * channel block cb over one image, added into the partial filter (stored
 * there for the first image of its block: no zeroing beforehand). */
AVX512_INLINE void ftile(const FilterGeom *f, const float *xb, const float *dy, float *part,
                         int64_t r0, int64_t t0, int64_t cb, bool first, const int R, const int T) {
  __m512 acc[FILT_R][FILT_T];
  int64_t off[FILT_T];
#pragma GCC unroll 16
  for (int t = 0; t < T; t++) {
    int64_t kh = (t0 + t) / f->k_w, kw = (t0 + t) % f->k_w;
    off[t] = (kh * f->dil_h * f->wp + kw * f->dil_w) * VEC;
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 16
    for (int t = 0; t < T; t++)
      acc[r][t] = _mm512_setzero_ps();
  const float *blk = xb + cb * f->plane * VEC;
  for (int64_t oh = 0; oh < f->out_h; oh++) {
    const float *dyr = dy + r0 * f->ohw + oh * f->out_w;
    const float *xr = blk + oh * f->wp * VEC;
    for (int64_t ow = 0; ow < f->out_w; ow++, xr += VEC) {
      __m512 b[FILT_R];
#pragma GCC unroll 8
      for (int r = 0; r < R; r++)
        b[r] = _mm512_set1_ps(dyr[r * f->ohw + ow]);
#pragma GCC unroll 16
      for (int t = 0; t < T; t++) {
        __m512 xv = _mm512_loadu_ps(xr + off[t]);
        /* one load for the FILT_R FMAs: GCC would fold it into each */
        __asm__("" : "+v"(xv));
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
          acc[r][t] = _mm512_fmadd_ps(b[r], xv, acc[r][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 16
    for (int t = 0; t < T; t++) {
      float *pp = part + ((r0 + r) * f->taps + t0 + t) * f->cp + cb * VEC;
      _mm512_storeu_ps(pp, first ? acc[r][t] : _mm512_add_ps(_mm512_loadu_ps(pp), acc[r][t]));
    }
}

typedef void (*ftile_fn)(const FilterGeom *f, const float *xb, const float *dy, float *part,
                         int64_t r0, int64_t t0, int64_t cb, bool first);
#define FTILE_FN(R, T)                                                                             \
  static AVX512 void ftile_##R##_##T(const FilterGeom *f, const float *xb, const float *dy,        \
                                     float *part, int64_t r0, int64_t t0, int64_t cb,              \
                                     bool first) {                                                 \
    ftile(f, xb, dy, part, r0, t0, cb, first, R, T);                                               \
  }
#define FTILE_ROW(R)                                                                               \
  FTILE_FN(R, 1)                                                                                   \
  FTILE_FN(R, 2)                                                                                   \
  FTILE_FN(R, 3)                                                                                   \
  FTILE_FN(R, 4) FTILE_FN(R, 5) FTILE_FN(R, 6) FTILE_FN(R, 7) FTILE_FN(R, 8) FTILE_FN(R, 9)
FTILE_ROW(1)
FTILE_ROW(2)
FTILE_ROW(3)
#define FTILE_ENTRY(R)                                                                             \
  {                                                                                                \
    ftile_##R##_1, ftile_##R##_2, ftile_##R##_3, ftile_##R##_4, ftile_##R##_5, ftile_##R##_6,      \
        ftile_##R##_7, ftile_##R##_8, ftile_##R##_9                                                \
  }
static const ftile_fn ftiles[FILT_R][FILT_T] = {FTILE_ENTRY(1), FTILE_ENTRY(2), FTILE_ENTRY(3)};

/* One image's contribution to the partial filter `part`, which the
 * block's first image overwrites. */
static void filter_image(const FilterGeom *f, const float *x, const float *dy, float *xb,
                         float *part, bool first) {
  pad_blocked(f, x, xb);
  for (int64_t cb = 0; cb < f->cp / VEC; cb++)
    for (int64_t r0 = 0; r0 < f->o; r0 += FILT_R) {
      int rn = f->o - r0 < FILT_R ? (int)(f->o - r0) : FILT_R;
      for (int64_t t0 = 0; t0 < f->taps; t0 += FILT_T) {
        int tn = f->taps - t0 < FILT_T ? (int)(f->taps - t0) : FILT_T;
        ftiles[rn - 1][tn - 1](f, xb, dy, part, r0, t0, cb, first);
      }
    }
}

typedef struct FilterJob {
  const FilterGeom *f;
  const float *x, *dy;
  float *scratch;
  int64_t blocks;
} FilterJob;

static float *filter_partial(const FilterGeom *f, float *scratch, int64_t b) {
  return scratch + b * f->slot + f->xb_elems;
}

static void filter_ranges(void *ctx, int64_t lo, int64_t hi) {
  const FilterJob *j = ctx;
  const FilterGeom *f = j->f;
  for (int64_t b = lo; b < hi; b++) {
    float *xb = j->scratch + b * f->slot, *part = filter_partial(f, j->scratch, b);
    int64_t lo_n = f->n * b / j->blocks;
    for (int64_t n = lo_n; n < f->n * (b + 1) / j->blocks; n++)
      filter_image(f, j->x + n * f->c * f->in_h * f->in_w, j->dy + n * f->o * f->ohw, xb, part,
                   n == lo_n);
  }
}

static void filter_run(const FilterGeom *f, const float *x, const float *dy, float *dw,
                       float *scratch) {
  FilterJob j = {f, x, dy, scratch, f->n < NNRT_CONV_SLOTS ? f->n : NNRT_CONV_SLOTS};
  double ns = (double)f->n * (double)f->o * (double)f->cp * (double)(f->ohw * f->taps) / 40.0;
  nnrt_pool_run(filter_ranges, &j, j.blocks, nnrt_pool_chunks(j.blocks, ns));
  float *sum = filter_partial(f, scratch, 0);
  for (int64_t b = 1; b < j.blocks; b++) {
    const float *p = filter_partial(f, scratch, b);
    for (int64_t i = 0; i < f->part_elems; i++)
      sum[i] += p[i];
  }
  for (int64_t o = 0; o < f->o; o++)
    for (int64_t c = 0; c < f->c; c++)
      for (int64_t t = 0; t < f->taps; t++)
        dw[(o * f->c + c) * f->taps + t] = sum[(o * f->taps + t) * f->cp + c];
}

#else /* no AVX-512 code for this target */

static void shift_run(const Shift *g, const float *src, const float *w, float *dst,
                      float *scratch) {
  (void)g, (void)src, (void)w, (void)dst, (void)scratch;
}

static void filter_run(const FilterGeom *f, const float *x, const float *dy, float *dw,
                       float *scratch) {
  (void)f, (void)x, (void)dy, (void)dw, (void)scratch;
}

#endif

bool nnrt_conv_direct_takes(const nnrt_conv *s, int which, int64_t scratch_elems) {
  if (!shape_taken(s) || !nnrt_cpu_has_avx512())
    return false;
  int64_t slot;
  if (which == NNRT_CONV_FORWARD)
    slot = shift_forward(s).slot;
  else if (which == NNRT_CONV_BACKWARD_DATA)
    slot = shift_backward_data(s).slot;
  else if (4 * (round_up(s->c, VEC) - s->c) > s->c)
    return false; /* most lanes of the 16-channel blocks would be zeros (the RGB layer) */
  else if (s->in_h * s->in_w > INT32_MAX / VEC)
    return false; /* pad_blocked's 32-bit gather offsets */
  else
    slot = filter_geom(s).slot;
  return NNRT_CONV_SLOTS * slot <= scratch_elems;
}

bool nnrt_conv_direct_forward(const nnrt_conv *s, const float *x, const float *w, float *y,
                              float *scratch, int64_t scratch_elems) {
  if (!nnrt_conv_direct_takes(s, NNRT_CONV_FORWARD, scratch_elems))
    return false;
  Shift g = shift_forward(s);
  shift_run(&g, x, w, y, scratch);
  return true;
}

bool nnrt_conv_direct_backward_data(const nnrt_conv *s, const float *dy, const float *w, float *dx,
                                    float *scratch, int64_t scratch_elems) {
  if (!nnrt_conv_direct_takes(s, NNRT_CONV_BACKWARD_DATA, scratch_elems))
    return false;
  Shift g = shift_backward_data(s);
  shift_run(&g, dy, w, dx, scratch);
  return true;
}

bool nnrt_conv_direct_backward_filter(const nnrt_conv *s, const float *x, const float *dy,
                                      float *dw, float *scratch, int64_t scratch_elems) {
  if (!nnrt_conv_direct_takes(s, NNRT_CONV_BACKWARD_FILTER, scratch_elems))
    return false;
  FilterGeom f = filter_geom(s);
  filter_run(&f, x, dy, dw, scratch);
  return true;
}
