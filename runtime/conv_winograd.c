/* conv_winograd.c - 3x3 stride-1 f32 convolutions by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016), for the forward pass and the data
 * gradient.
 *
 * The outputs fall into 2x2 tiles; tile (i, j) reads the 4x4 input patch d
 * at rows 2i - pad_h .., columns 2j - pad_w ... In the transformed domain
 * the tile's outputs are
 *   y = A^T [ sum over c of (G g_c G^T) .* (B^T d_c B) ] A
 * so 16 multiplies per channel make 4 outputs where the direct kernel
 * spends 36: each of the 16 elements e of the transform is one GEMM,
 *   M[e] (co x tiles) = U[e] (co x ci) @ V[e] (ci x tiles),
 * with U the transformed weights (once per call) and V the transformed
 * input tiles of one image. The transforms are adds only (and halves in
 * G); 16 tiles of a tile row are transformed at once, one per AVX-512
 * lane, read from a padded copy of the image and written back to the
 * output as whole rows (permutes split and merge their columns).
 * The price is rounding: sums taken in a different order, within a few
 * ulps of the direct kernel for these small transforms (F(4x4, 3x3) would
 * save more multiplies and lose more digits).
 *
 * The data gradient is the forward convolution of dy with the weights
 * flipped and their channels swapped (conv_direct.c's reading of it), so
 * one driver serves both through the strides of Wino. Images are split
 * over threads, each with its slot of the caller's scratch; the GEMMs of a
 * lone image (batch-1 inference) are split over threads by nnrt_sgemm
 * itself, which gives the same bits however it splits. */
#include "conv_winograd.h"

#include <string.h>

#include "conv_direct.h"

#include "cpu.h"
#include "pool.h"

enum { VEC = 16, ELEMS = 16 /* 4 x 4 transformed elements */ };

typedef struct Wino {
  nnrt_conv_way way;              /* 3x3 taps: t = kh * 3 + kw */
  int64_t src_img, out_img;       /* the input and output images (NCHW) */
  int64_t hp, wp, plane;          /* xp: the padded image, every tile's patch inside */
  int64_t th, tw, tiles, tiles_p; /* tile rows and columns; tiles rounded up to VEC */
  int64_t u_elems;                /* U: ELEMS x co x ci, shared by the slots */
  int64_t xp_elems, v_elems;      /* one slot: xp, V (ELEMS x ci x tiles_p), M */
  int64_t slot, slots;            /* slots: as many as the scratch holds, at most SLOTS */
} Wino;

static int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

static void wino_sizes(Wino *g) {
  g->src_img = g->way.ci * g->way.src_h * g->way.src_w;
  g->out_img = g->way.co * g->way.out_h * g->way.out_w;
  g->th = (g->way.out_h + 1) / 2;
  g->tw = (g->way.out_w + 1) / 2;
  g->tiles = g->th * g->tw;
  g->tiles_p = round_up(g->tiles, VEC);
  g->hp = 2 * g->th + 2;
  g->wp = 2 * g->tw + 2;
  g->plane = g->hp * g->wp;
  g->u_elems = round_up(ELEMS * g->way.co * g->way.ci, VEC);
  g->xp_elems = round_up(g->way.ci * g->plane, VEC);
  g->v_elems = ELEMS * g->way.ci * g->tiles_p;
  g->slot = g->xp_elems + g->v_elems + ELEMS * g->way.co * g->tiles_p;
}

/* The shapes F(2x2, 3x3) takes: 3x3, stride 1, no dilation, one group;
 * and where it pays. The transforms cost in proportion to (ci + co) per
 * tile, the products to ci * co, so with few channels the transforms eat
 * what the products save: measured on an AVX-512 Xeon, 16 -> 16 channels
 * ran no faster than the direct kernels, 32 -> 32 1.15-1.3x faster,
 * 64 -> 64 and up 1.5-2x. The weights' transform is paid once per call, so a
 * call must have tiles enough to spread it over: batch-1 8x8 and 16x16
 * layers of 64-128 channels ran no faster, slower at 2 threads (where the
 * direct kernels split output channels and the transforms here are not
 * split). The weights' gather offsets are 32-bit. */
static bool shape_taken(const nnrt_conv *s) {
  int64_t tiles = ((s->out_h + 1) / 2) * ((s->out_w + 1) / 2);
  return s->groups == 1 && s->k_h == 3 && s->k_w == 3 && s->stride_h == 1 && s->stride_w == 1 &&
         s->dil_h == 1 && s->dil_w == 1 && s->n > 0 && s->out_h >= 2 && s->out_w >= 2 &&
         s->in_h > 0 && s->in_w > 0 && s->c * s->o >= 16 * (s->c + s->o) && s->n * tiles >= 256 &&
         s->o * s->c < INT32_MAX / 16;
}

static Wino wino_of(nnrt_conv_way way) {
  Wino g = {.way = way};
  wino_sizes(&g);
  return g;
}

static Wino wino_forward(const nnrt_conv *s) { return wino_of(nnrt_conv_way_forward(s)); }

static Wino wino_backward_data(const nnrt_conv *s) {
  return wino_of(nnrt_conv_way_backward_data(s));
}

/* How many slots fit after U in `scratch_elems`: 0 when not one does. */
static int64_t wino_slots(const Wino *g, int64_t scratch_elems) {
  int64_t room = scratch_elems - g->u_elems;
  int64_t k = room > 0 ? room / g->slot : 0;
  return k < NNRT_CONV_SLOTS ? k : NNRT_CONV_SLOTS;
}

#ifdef NNRT_X86_AVX512

/* U[e][r][c] = (G g G^T)[e] for the 3x3 filter g of (r, c), with
 *   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 * 16 input channels at a time, gathered through the strides of w. */
static AVX512 void transform_weights(const Wino *g, const float *w, float *u) {
  __m512i lane =
      _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                         _mm512_set1_epi32((int)g->way.w_c));
  __m512 half = _mm512_set1_ps(0.5f);
  int64_t rc = g->way.co * g->way.ci;
  for (int64_t r = 0; r < g->way.co; r++)
    for (int64_t c0 = 0; c0 < g->way.ci; c0 += VEC) {
      __mmask16 live = nnrt_lanes16(g->way.ci - c0);
      const float *base = w + r * g->way.w_r + c0 * g->way.w_c + g->way.t_base;
      __m512 k[3][3], gk[4][3];
      for (int t = 0; t < 9; t++)
        k[t / 3][t % 3] =
            _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, lane, base + g->way.t_dir * t, 4);
      for (int j = 0; j < 3; j++) { /* G g: rows of the 4 x 3 */
        __m512 sum = _mm512_add_ps(k[0][j], k[2][j]);
        gk[0][j] = k[0][j];
        gk[1][j] = _mm512_mul_ps(half, _mm512_add_ps(sum, k[1][j]));
        gk[2][j] = _mm512_mul_ps(half, _mm512_sub_ps(sum, k[1][j]));
        gk[3][j] = k[2][j];
      }
      for (int i = 0; i < 4; i++) { /* (G g) G^T */
        __m512 sum = _mm512_add_ps(gk[i][0], gk[i][2]);
        __m512 row[4] = {gk[i][0], _mm512_mul_ps(half, _mm512_add_ps(sum, gk[i][1])),
                         _mm512_mul_ps(half, _mm512_sub_ps(sum, gk[i][1])), gk[i][2]};
        for (int j = 0; j < 4; j++)
          _mm512_mask_storeu_ps(u + (i * 4 + j) * rc + r * g->way.ci + c0, live, row[j]);
      }
    }
}

static void pad_image(const Wino *g, const float *src, float *xp) {
  nnrt_conv_pad_planes(src, g->way.ci, g->way.src_h, g->way.src_w, g->way.pad_h, g->way.pad_w, xp,
                       g->hp, g->wp);
}

/* Tiles are numbered row by row, t = i * tw + j. Images 16 tiles wide or
 * more are transformed 16 columns j of one tile row at a time: the 4 x 4
 * patches of 16 tiles are 34 consecutive floats of each of 4 rows of xp,
 * split into even and odd columns by two permutes, and their transforms
 * are 16 consecutive columns of V; lanes past the row's last tile are
 * masked. Narrower images would leave most lanes idle that way: their
 * tiles are taken 16 at a time across rows, by gathers and scatters
 * (measured: rows 1.1-1.3x faster than gathers at 32x32, gathers 1.2-1.6x
 * faster at 16x16 and 8x8). */

/* d B for one row of 16 patches at xr (the first patch's first column):
 * h[l] = sum over s of d[s] B[s][l], with B^T = [1 0 -1 0; 0 1 1 0;
 * 0 -1 1 0; 0 1 0 -1]. `cols` is how many floats of the row lie at xr. */
AVX512_INLINE void row_times_b(const float *xr, int64_t cols, __m512i even, __m512i odd,
                               __m512 h[4]) {
  __m512 a = _mm512_maskz_loadu_ps(nnrt_lanes16(cols), xr);
  __m512 b = _mm512_maskz_loadu_ps(nnrt_lanes16(cols - VEC), xr + VEC);
  __m512 a2 = _mm512_maskz_loadu_ps(nnrt_lanes16(cols - 2), xr + 2);
  __m512 b2 = _mm512_maskz_loadu_ps(nnrt_lanes16(cols - 2 - VEC), xr + 2 + VEC);
  __m512 d0 = _mm512_permutex2var_ps(a, even, b), d1 = _mm512_permutex2var_ps(a, odd, b);
  __m512 d2 = _mm512_permutex2var_ps(a2, even, b2), d3 = _mm512_permutex2var_ps(a2, odd, b2);
  h[0] = _mm512_sub_ps(d0, d2);
  h[1] = _mm512_add_ps(d1, d2);
  h[2] = _mm512_sub_ps(d2, d1);
  h[3] = _mm512_sub_ps(d1, d3);
}

/* transform_input for images 16 tiles wide or more, one tile row at a
 * time; the columns past the last tile are zeros. */
static AVX512 void input_by_rows(const Wino *g, const float *xp, float *v) {
  int64_t ct = g->way.ci * g->tiles_p;
  __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  for (int64_t c = 0; c < g->way.ci; c++) {
    const float *xc = xp + c * g->plane;
    float *vc = v + c * g->tiles_p;
    for (int64_t i = 0; i < g->th; i++)
      for (int64_t j0 = 0; j0 < g->tw; j0 += VEC) {
        __mmask16 live = nnrt_lanes16(g->tw - j0);
        __m512 t[4][4];
        for (int r = 0; r < 4; r++)
          row_times_b(xc + (2 * i + r) * g->wp + 2 * j0, g->wp - 2 * j0, even, odd, t[r]);
        float *vt = vc + i * g->tw + j0;
        for (int l = 0; l < 4; l++) {
          _mm512_mask_storeu_ps(vt + (0 * 4 + l) * ct, live, _mm512_sub_ps(t[0][l], t[2][l]));
          _mm512_mask_storeu_ps(vt + (1 * 4 + l) * ct, live, _mm512_add_ps(t[1][l], t[2][l]));
          _mm512_mask_storeu_ps(vt + (2 * 4 + l) * ct, live, _mm512_sub_ps(t[2][l], t[1][l]));
          _mm512_mask_storeu_ps(vt + (3 * 4 + l) * ct, live, _mm512_sub_ps(t[1][l], t[3][l]));
        }
      }
    for (int e = 0; e < ELEMS; e++)
      memset(vc + e * ct + g->tiles, 0, sizeof(float) * (size_t)(g->tiles_p - g->tiles));
  }
}

/* transform_output for images 16 tiles wide or more: y = A^T m A for
 * every output channel and tile, with A^T = [1 1 1 0; 0 1 -1 -1], into the
 * image's output (NCHW), the two columns of 16 tiles
 * interleaved by two permutes into 32 consecutive outputs of a row; the
 * second row and column of a tile past an odd edge are dropped. */
static AVX512 void output_by_rows(const Wino *g, const float *m, float *dst) {
  int64_t ot = g->way.co * g->tiles_p, ohw = g->way.out_h * g->way.out_w;
  __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  for (int64_t o = 0; o < g->way.co; o++)
    for (int64_t i = 0; i < g->th; i++)
      for (int64_t j0 = 0; j0 < g->tw; j0 += VEC) {
        __mmask16 live = nnrt_lanes16(g->tw - j0);
        const float *mt = m + o * g->tiles_p + i * g->tw + j0;
        __m512 u[2][4];
        for (int l = 0; l < 4; l++) {
          __m512 m0 = _mm512_maskz_loadu_ps(live, mt + l * ot);
          __m512 m1 = _mm512_maskz_loadu_ps(live, mt + (4 + l) * ot);
          __m512 m2 = _mm512_maskz_loadu_ps(live, mt + (8 + l) * ot);
          __m512 m3 = _mm512_maskz_loadu_ps(live, mt + (12 + l) * ot);
          u[0][l] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
          u[1][l] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
        }
        int64_t col = 2 * j0;
        for (int a = 0; a < 2 && 2 * i + a < g->way.out_h; a++) {
          __m512 y0 = _mm512_add_ps(_mm512_add_ps(u[a][0], u[a][1]), u[a][2]);
          __m512 y1 = _mm512_sub_ps(_mm512_sub_ps(u[a][1], u[a][2]), u[a][3]);
          float *row = dst + o * ohw + (2 * i + a) * g->way.out_w + col;
          _mm512_mask_storeu_ps(row, nnrt_lanes16(g->way.out_w - col),
                                _mm512_permutex2var_ps(y0, lo, y1));
          _mm512_mask_storeu_ps(row + VEC, nnrt_lanes16(g->way.out_w - col - VEC),
                                _mm512_permutex2var_ps(y0, hi, y1));
        }
      }
}

/* Where tiles t0 .. t0 + 15 start in xp (lanes past the last tile read
 * tile 0: their columns of M are never stored), and in the output. */
static AVX512 void tile_offsets(const Wino *g, int64_t t0, __m512i *in, __m512i *out) {
  int32_t a[VEC], b[VEC];
  for (int l = 0; l < VEC; l++) {
    int64_t t = t0 + l < g->tiles ? t0 + l : 0;
    int64_t i = t / g->tw, j = t % g->tw;
    a[l] = (int32_t)(2 * i * g->wp + 2 * j);
    b[l] = (int32_t)(2 * i * g->way.out_w + 2 * j);
  }
  *in = _mm512_loadu_si512(a);
  *out = _mm512_loadu_si512(b);
}

/* transform_input for narrow images: 16 tiles of any rows at a time, their
 * patches gathered. */
static AVX512 void input_by_gathers(const Wino *g, const float *xp, float *v) {
  int64_t ct = g->way.ci * g->tiles_p;
  for (int64_t t0 = 0; t0 < g->tiles_p; t0 += VEC) {
    __m512i at, unused;
    tile_offsets(g, t0, &at, &unused);
    for (int64_t c = 0; c < g->way.ci; c++) {
      const float *xc = xp + c * g->plane;
      __m512 t[4][4];
      for (int r = 0; r < 4; r++) {
        __m512 d[4];
        for (int s = 0; s < 4; s++)
          d[s] = _mm512_i32gather_ps(at, xc + r * g->wp + s, 4);
        t[r][0] = _mm512_sub_ps(d[0], d[2]);
        t[r][1] = _mm512_add_ps(d[1], d[2]);
        t[r][2] = _mm512_sub_ps(d[2], d[1]);
        t[r][3] = _mm512_sub_ps(d[1], d[3]);
      }
      float *vc = v + c * g->tiles_p + t0;
      for (int l = 0; l < 4; l++) {
        _mm512_storeu_ps(vc + (0 * 4 + l) * ct, _mm512_sub_ps(t[0][l], t[2][l]));
        _mm512_storeu_ps(vc + (1 * 4 + l) * ct, _mm512_add_ps(t[1][l], t[2][l]));
        _mm512_storeu_ps(vc + (2 * 4 + l) * ct, _mm512_sub_ps(t[2][l], t[1][l]));
        _mm512_storeu_ps(vc + (3 * 4 + l) * ct, _mm512_sub_ps(t[1][l], t[3][l]));
      }
    }
  }
}

/* transform_output for narrow images: 16 tiles of any rows at a time,
 * their outputs scattered. */
static AVX512 void output_by_scatters(const Wino *g, const float *m, float *dst) {
  int64_t ot = g->way.co * g->tiles_p, ohw = g->way.out_h * g->way.out_w;
  for (int64_t t0 = 0; t0 < g->tiles_p; t0 += VEC) {
    __m512i unused, at;
    tile_offsets(g, t0, &unused, &at);
    __mmask16 live[2][2];
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 2; b++) {
        unsigned k = 0;
        for (int l = 0; l < VEC; l++) {
          int64_t t = t0 + l;
          if (t < g->tiles && 2 * (t / g->tw) + a < g->way.out_h &&
              2 * (t % g->tw) + b < g->way.out_w)
            k |= 1u << l;
        }
        live[a][b] = (__mmask16)k;
      }
    for (int64_t o = 0; o < g->way.co; o++) {
      const float *mo = m + o * g->tiles_p + t0;
      __m512 u[2][4];
      for (int l = 0; l < 4; l++) {
        __m512 m1 = _mm512_loadu_ps(mo + (4 + l) * ot), m2 = _mm512_loadu_ps(mo + (8 + l) * ot);
        u[0][l] = _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(mo + l * ot), m1), m2);
        u[1][l] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), _mm512_loadu_ps(mo + (12 + l) * ot));
      }
      float *yo = dst + o * ohw;
      for (int a = 0; a < 2; a++) {
        __m512 y0 = _mm512_add_ps(_mm512_add_ps(u[a][0], u[a][1]), u[a][2]);
        __m512 y1 = _mm512_sub_ps(_mm512_sub_ps(u[a][1], u[a][2]), u[a][3]);
        float *row = yo + a * g->way.out_w;
        _mm512_mask_i32scatter_ps(row, live[a][0], at, y0, 4);
        _mm512_mask_i32scatter_ps(row + 1, live[a][1], at, y1, 4);
      }
    }
  }
}

/* V[e][c][t] = (B^T d B)[e] for every channel c and tile t of xp. */
static void transform_input(const Wino *g, const float *xp, float *v) {
  if (g->tw >= VEC)
    input_by_rows(g, xp, v);
  else
    input_by_gathers(g, xp, v);
}

/* y = A^T m A for every output channel and tile, into the image's output. */
static void transform_output(const Wino *g, const float *m, float *dst) {
  if (g->tw >= VEC)
    output_by_rows(g, m, dst);
  else
    output_by_scatters(g, m, dst);
}

/* M[e] = U[e] V[e] for elements [lo, hi) of one image. */
static void wino_products(const Wino *g, const float *u, float *slot, int64_t lo, int64_t hi) {
  const float *v = slot + g->xp_elems;
  float *m = slot + g->xp_elems + g->v_elems;
  for (int64_t e = lo; e < hi; e++)
    nnrt_sgemm(0, 0, g->way.co, g->tiles_p, g->way.ci, 1.0f, u + e * g->way.co * g->way.ci,
               g->way.ci, v + e * g->way.ci * g->tiles_p, g->tiles_p, 0.0f,
               m + e * g->way.co * g->tiles_p, g->tiles_p);
}

typedef struct WinoJob {
  const Wino *g;
  const float *u, *src;
  float *dst, *slots;
  int64_t chunks;
} WinoJob;

/* Image split: chunk c works in slot c, one image after another. */
static void wino_ranges(void *ctx, int64_t lo, int64_t hi) {
  const WinoJob *j = ctx;
  const Wino *g = j->g;
  for (int64_t c = lo; c < hi; c++) {
    float *slot = j->slots + c * g->slot;
    int64_t lo_n, hi_n;
    nnrt_conv_images(g->way.n, j->chunks, c, &lo_n, &hi_n);
    for (int64_t n = lo_n; n < hi_n; n++) {
      pad_image(g, j->src + n * g->src_img, slot);
      transform_input(g, slot, slot + g->xp_elems);
      wino_products(g, j->u, slot, 0, ELEMS);
      transform_output(g, slot + g->xp_elems + g->v_elems, j->dst + n * g->out_img);
    }
  }
}

/* Element split (fewer images than threads, batch 1 above all): the
 * products of one image, each whole on one thread, so that the bits do
 * not depend on the split. */
static void wino_element_ranges(void *ctx, int64_t lo, int64_t hi) {
  const WinoJob *j = ctx;
  wino_products(j->g, j->u, j->slots, lo, hi);
}

static void wino_run(const Wino *g, const float *src, const float *w, float *dst, float *scratch) {
  float *u = scratch;
  transform_weights(g, w, u);
  /* the GEMMs' multiply-adds, at about 30 per ns on one core */
  double ns =
      (double)g->way.n * ELEMS * (double)g->way.co * (double)g->way.ci * (double)g->tiles_p / 30.0;
  int64_t k = nnrt_pool_chunks(g->way.n, ns);
  k = k < g->slots ? k : g->slots;
  int by_elements = g->way.n < NNRT_CONV_SLOTS ? nnrt_pool_chunks(g->way.n * ELEMS, ns) : 0;
  WinoJob j = {g, u, src, dst, scratch + g->u_elems, k};
  if (by_elements <= k) {
    nnrt_pool_run(wino_ranges, &j, k, (int)k);
    return;
  }
  for (int64_t n = 0; n < g->way.n; n++) {
    pad_image(g, src + n * g->src_img, j.slots);
    transform_input(g, j.slots, j.slots + g->xp_elems);
    nnrt_pool_run(wino_element_ranges, &j, ELEMS, by_elements < ELEMS ? by_elements : ELEMS);
    transform_output(g, j.slots + g->xp_elems + g->v_elems, dst + n * g->out_img);
  }
}

#else /* no AVX-512 code for this target */

static void wino_run(const Wino *g, const float *src, const float *w, float *dst, float *scratch) {
  (void)g, (void)src, (void)w, (void)dst, (void)scratch;
}

#endif

bool nnrt_conv_winograd_takes(const nnrt_conv *s, int which, int64_t scratch_elems) {
  if (!shape_taken(s) || !nnrt_cpu_has_avx512())
    return false;
  if (which == NNRT_CONV_FORWARD) {
    Wino g = wino_forward(s);
    return wino_slots(&g, scratch_elems) > 0;
  }
  if (which == NNRT_CONV_BACKWARD_DATA) {
    Wino g = wino_backward_data(s);
    return wino_slots(&g, scratch_elems) > 0;
  }
  return false;
}

bool nnrt_conv_winograd_forward(const nnrt_conv *s, const float *x, const float *w, float *y,
                                float *scratch, int64_t scratch_elems) {
  if (!nnrt_conv_winograd_takes(s, NNRT_CONV_FORWARD, scratch_elems))
    return false;
  Wino g = wino_forward(s);
  g.slots = wino_slots(&g, scratch_elems);
  wino_run(&g, x, w, y, scratch);
  return true;
}

bool nnrt_conv_winograd_backward_data(const nnrt_conv *s, const float *dy, const float *w,
                                      float *dx, float *scratch, int64_t scratch_elems) {
  if (!nnrt_conv_winograd_takes(s, NNRT_CONV_BACKWARD_DATA, scratch_elems))
    return false;
  Wino g = wino_backward_data(s);
  g.slots = wino_slots(&g, scratch_elems);
  wino_run(&g, dy, w, dx, scratch);
  return true;
}
