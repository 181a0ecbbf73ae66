/* nnrt_data.h - data sets for training: loaders, splits, normalisation,
 * epoch order and batches.
 *
 * A data set is n samples held in memory as two dense arrays, x [n, x_dims]
 * and y [n, y_dims]. Loaders convert files to that form and check them on
 * the way; every error message starts with the file's path (and, for CSV,
 * "path:line:col:") and says what was expected. Nothing here prints.
 *
 * Shuffling is a pure function of (seed, epoch), so a run resumed at any
 * epoch sees the same order as one that never stopped.
 */
#ifndef NNRT_DATA_H
#define NNRT_DATA_H

#include <stdbool.h>

#include "nnrt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnrt_dataset {
  int64_t n; /* samples */
  nnrt_dtype x_dtype, y_dtype;
  int x_rank, y_rank;            /* per-sample rank: x {64}, y {} for a class */
  int64_t x_dims[NNRT_MAX_RANK]; /* per-sample shape of x */
  int64_t y_dims[NNRT_MAX_RANK]; /* per-sample shape of y */
  int64_t x_size, y_size;        /* elements per sample (products of the dims) */
  void *x, *y;                   /* [n, x_dims...], [n, y_dims...]; malloc'd, owned */
  char *vocab;                   /* text: the distinct bytes, sorted; token i is vocab[i] */
  int vocab_size;                /* text: number of tokens; else 0 */
} nnrt_dataset;

/* Frees x, y and vocab and zeroes d. Safe on a zeroed data set and on NULL.
 *
 * Every loader below zeroes *out first and fills it only on success, so an
 * *out from a failed call needs no freeing (and freeing it is harmless). A
 * loaded data set always has n >= 1: a file without samples is an error.
 * NULL pointers (other than err) are NNRT_ERR_ARG. Float features and
 * labels must be finite: NaN and infinities are refused with the index or
 * line:col of the first one. */
void nnrt_dataset_free(nnrt_dataset *d);

/* What the model expects of y, used to convert and check labels. */
typedef struct nnrt_label_spec {
  nnrt_dtype dtype;    /* NNRT_I32: class indices; NNRT_F32: numeric targets */
  int64_t num_classes; /* I32: labels must lie in [0, num_classes); 0 = unchecked */
} nnrt_label_spec;

/* ---- CSV -----------------------------------------------------------------
 * Numbers separated by commas, one sample per line; blank lines (also a
 * final one, and lines of only spaces and tabs) are skipped; "\r\n" and a
 * UTF-8 byte order mark are accepted; spaces and tabs around a field are
 * ignored. A number is decimal, [+-]? digits [. digits] [e [+-] digits],
 * whatever the current locale's decimal point (no hex, inf or nan). The first data
 * row fixes the number of fields; columns that are neither the label nor a
 * feature are not parsed (a column of names may stay in the file). Errors
 * carry "path:line:col:" (1-based; line counts every line of the file, col
 * is the byte where the offending field's text starts): ragged rows, fields
 * that are not numbers, a label that is not an integer (for I32, "3.0" is
 * fine) or is out of range. A label or feature column outside the rows is
 * NNRT_ERR_ARG, a file without data rows "path: no data rows". */
typedef struct nnrt_csv_options {
  bool has_label;      /* false: every selected column is a feature, y is empty */
  int label;           /* label column; negative counts from the end (-1 = last) */
  bool header;         /* skip the first non-blank line */
  const int *features; /* feature columns in this order (negative from the end);
                          NULL = all but the label */
  int nfeatures;
  double scale; /* multiply every feature by this; 0 means 1 */
  nnrt_label_spec y;
} nnrt_csv_options;

/* x is f32 [n, nfeatures]; y is [n] (y_rank 0, y_size 1) of o->y.dtype.
 * Without a label y is NULL with y_rank 1, y_dims {0} and y_size 0. */
int nnrt_load_csv(const char *path, const nnrt_csv_options *o, nnrt_dataset *out, char *err,
                  size_t errlen);

/* ---- IDX (MNIST) -----------------------------------------------------------
 * Big-endian magic 0x0000TTRR (TT: 08 u8, 09 i8, 0B i16, 0C i32, 0D f32,
 * 0E f64; RR: rank 1..NNRT_MAX_RANK), RR big-endian u32 dims, then the data.
 * Images become f32 [n, dims[1:]...] times scale (0 = 1); labels must be
 * rank 1 with the same n and become y [n] of y.dtype. Truncated files,
 * bytes after the data, wrong magic, a count mismatch and labels out of
 * range are errors naming the file. Nothing is allocated for what a header
 * claims before it is checked against the file's size. Either file may be
 * gzip-compressed (found by gzip's magic 1F 8B, not by the name; several
 * members are one file): it is inflated first, into memory that grows
 * only with what inflates, up to one byte past the header's promise;
 * truncated or corrupt streams (CRC-32 and length are checked) and bytes
 * after the stream that are not another member are errors. */
int nnrt_load_idx(const char *images, const char *labels, double scale, const nnrt_label_spec *y,
                  nnrt_dataset *out, char *err, size_t errlen);

/* ---- .npy pair ---------------------------------------------------------
 * x.npy [n, ...] (f32, f64 converted to f32, or i32 kept as i32; bool is
 * refused) and y.npy [n, ...] (any dtype nnrt_npy_read reads) converted to
 * y.dtype (I32 needs integral values that fit, in [0, num_classes) when
 * that is set). Both need rank >= 1 and the first dims must agree; the
 * per-sample shapes are dims[1:]. nnrt_npy_read's messages come through. */
int nnrt_load_npy_pair(const char *x, const char *y, const nnrt_label_spec *ys, nnrt_dataset *out,
                       char *err, size_t errlen);

/* ---- .npz archive --------------------------------------------------------
 * The arrays xkey and ykey of one archive (np.savez(path, x=..., y=...)
 * names them "x" and "y"), read with nnrt_npz_read and then taken as
 * nnrt_load_npy_pair takes its two files; messages about an array name it
 * as "path: KEY.npy". */
int nnrt_load_npz(const char *path, const char *xkey, const char *ykey, const nnrt_label_spec *ys,
                  nnrt_dataset *out, char *err, size_t errlen);

/* ---- text as characters ------------------------------------------------
 * The file's bytes become tokens: the distinct bytes of the whole file
 * sorted, token i = vocab[i] (vocab has vocab_size bytes and a '\0' after
 * them). Samples are consecutive non-overlapping windows of seq + 1 tokens,
 * window k starting at byte k * (seq + 1): x = window[0:seq],
 * y = window[1:seq+1], both i32 [n, seq]; the bytes after the last whole
 * window are in no sample. seq < 1 is NNRT_ERR_ARG; a file shorter than
 * seq + 1 bytes is an error. */
int nnrt_load_text(const char *path, int64_t seq, nnrt_dataset *out, char *err, size_t errlen);

/* ---- the Mackey-Glass series (generated, no file) ----------------------
 * dx/dt = 0.2 x(t - tau) / (1 + x(t - tau)^10) - 0.1 x(t), x(t) = 1.2 for
 * t <= 0, by Runge-Kutta 4 with dt = 0.1 (data_mackey.c says how the
 * delayed half steps are taken); out[k] = x(NNRT_MG_WASHOUT + k) for
 * k < n, the transient before that dropped. tau in [1, 100000]. */
enum { NNRT_MG_WASHOUT = 1000 };
int nnrt_mackey_glass_series(int64_t n, int64_t tau, double *out, char *err, size_t errlen);
/* n values of that series as windows: sample k is x = s[k seq, (k + 1) seq)
 * and y = the same positions `horizon` steps later, both f32 [seq, 1];
 * (n - horizon) / seq samples, in the series' order. Needs seq, horizon
 * >= 1 and seq + horizon <= n <= 2^31. */
int nnrt_load_mackey_glass(int64_t n, int64_t tau, int64_t seq, int64_t horizon, nnrt_dataset *out,
                           char *err, size_t errlen);

/* ---- splits and normalisation ------------------------------------------- */

/* Moves the samples of *all into *train and *val: a permutation drawn from
 * seed (perm = nnrt_epoch_order(n, seed, -1, true)) puts round(n * fraction)
 * samples (at least 1 when fraction > 0), perm[n - nval..n), in val and
 * perm[0..n - nval) in train, each in perm order. fraction 0: everything
 * goes to train as it is (same order, same buffers) and val is left empty
 * (n = 0, x = y = NULL, shapes as *all). Both get *all's shapes and a copy
 * of its vocabulary. train may be all itself. Leaves *all empty (freed) on
 * success; on error (fraction outside [0, 1), an empty *all, a split that
 * would leave train empty, out of memory) *all, *train and *val are
 * untouched. Messages start with "dataset split: ". */
int nnrt_dataset_split(nnrt_dataset *all, double fraction, uint64_t seed, nnrt_dataset *train,
                       nnrt_dataset *val, char *err, size_t errlen);
/* The same split by position: the last round(n * fraction) samples (at
 * least 1 when fraction > 0), in file order, are val, the others train.
 * For sequences cut from one text (nnrt_load_text), where a shuffled split
 * would validate on windows next to training ones. */
int nnrt_dataset_split_tail(nnrt_dataset *all, double fraction, nnrt_dataset *train,
                            nnrt_dataset *val, char *err, size_t errlen);

/* Per-feature mean and standard deviation of f32 x over the n samples
 * (x_size values each; population std, accumulated in double). For x that
 * is not f32, or n = 0, writes mean 0 and std 1 (normalising is then the
 * identity). */
void nnrt_dataset_stats(const nnrt_dataset *d, float *mean, float *std);
/* x = (x - mean) / std per feature, where a std below 1e-7 (or NaN) counts
 * as 1. Does nothing unless x is f32. */
void nnrt_dataset_normalize(nnrt_dataset *d, const float *mean, const float *std);

/* ---- epochs and batches ------------------------------------------------- */

/* perm[0..n) = the sample order of `epoch`: 0..n-1 when !shuffle, else a
 * Fisher-Yates shuffle drawn from Philox keyed by (seed, epoch), exactly:
 *   nnrt_rng_seed(&r, seed ^ 0x9E3779B97F4A7C15 * ((uint64_t)epoch + 2));
 *   perm[i] = i; for i = n-1 down to 1: swap perm[i], perm[nnrt_rng_below(&r, i + 1)]
 * (mod 2^64 arithmetic). nnrt_dataset_split uses epoch -1. */
void nnrt_epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle, int64_t *perm);

/* The order of truncated backpropagation through time: the first
 * (n / batch) * batch samples, in their order, cut into `batch` streams of
 * n / batch consecutive samples; batch k holds sample k of every stream, so
 * row s of each batch continues row s of the batch before it. Writes
 * (n / batch) * batch indices; the rest of the samples are not read. */
void nnrt_stream_order(int64_t n, int64_t batch, int64_t *perm);

/* Copies samples idx[0..count) (each in [0, n)) into x ([count, x_dims])
 * and y ([count, y_dims]), in the data set's dtypes. x or y may be NULL to
 * skip it. */
void nnrt_dataset_gather(const nnrt_dataset *d, const int64_t *idx, int64_t count, void *x,
                         void *y);

/* ---- augmentation -------------------------------------------------------
 * Random transforms of training images, drawn per sample from (seed, epoch,
 * the sample's index in the data set), so an epoch's augmented batches
 * depend neither on the batch size nor on where a run was resumed, and
 * differ from epoch to epoch. A sample is an image [H, W] or [C, H, W]
 * (any leading dims count as channels: the last two are H and W). In this
 * order, each when enabled:
 *
 *   crop  > 0: pad `crop` pixels of fill on every side and cut the H x W
 *              window at a random offset (oy, ox) in [0, 2 crop]^2, which
 *              moves the image by (crop - oy, crop - ox)
 *   shift > 0: move the image by (dy, dx) in [-shift, shift]^2, the pixels
 *              moved in being fill
 *   hflip > 0: mirror left-right with probability hflip
 *
 * The draws are exactly: with key {seed low, seed high} and counter
 * {index low, index high, epoch low, 2 * (epoch high) + block}, Philox
 * blocks 0 and 1 (nnrt_philox4x32) give words w0..w7; an integer in
 * [0, n) is (w * n) >> 32 for the next unused word, taken in the order
 * oy (w0), ox (w1), dy (w2), dx (w3), and the flip happens when
 * w4 < hflip * 2^32 (hflip 1: always). fill: the value of a blank (0)
 * pixel per feature, [C * H * W] (the data's transform of a raw 0, when
 * the data were standardised), or NULL for 0. */
typedef struct nnrt_augment {
  int64_t crop;      /* random_crop: padding on each side; 0 = off */
  int64_t shift;     /* most pixels moved each way; 0 = off */
  double hflip;      /* probability of a mirror image, in [0, 1]; 0 = off */
  const float *fill; /* per feature, or NULL: 0 */
} nnrt_augment;

/* Whether a does anything (NULL: no). */
bool nnrt_augment_enabled(const nnrt_augment *a);

/* Checks that a's settings are sane and that d's samples are f32 images of
 * rank 2 or more; errors say which setting ("random_crop", "shift",
 * "hflip") needs what, and give the samples' shape. */
int nnrt_augment_check(const nnrt_augment *a, const nnrt_dataset *d, char *err, size_t errlen);

/* Transforms batch x ([count, sample shape of d], f32, as
 * nnrt_dataset_gather wrote samples idx[0..count) of d) in place. d must
 * have passed nnrt_augment_check. NNRT_ERR_NOMEM when a sample's scratch
 * copy cannot be allocated. */
int nnrt_augment_batch(const nnrt_augment *a, const nnrt_dataset *d, uint64_t seed, int64_t epoch,
                       const int64_t *idx, int64_t count, float *x, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
