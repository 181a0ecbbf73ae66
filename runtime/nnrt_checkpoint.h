/* nnrt_checkpoint.h - checkpoints in the safetensors format.
 *
 * A file is an 8-byte little-endian header length N, N bytes of JSON (an
 * object: tensor name -> {"dtype", "shape", "data_offsets": [begin, end]},
 * plus an optional "__metadata__" object of string -> string), then the
 * data. nnc writes F32, F64, I32 and BOOL tensors, row-major, little-endian.
 *
 * Writing goes to a temporary file in the same directory, which is flushed,
 * synced and renamed over the target, so a crash or a full disk never leaves
 * a half-written checkpoint and never harms the file that was there. The
 * target must be a regular file or not exist (a FIFO or device is refused).
 * A process killed during a save leaves its temporary file; the next run
 * removes it (nnrt_safetensors_remove_stale).
 *
 * Opening checks the whole structure before anything is read: the header
 * length against the file size, the JSON, every entry's dtype and shape,
 * offsets inside the data area, sizes matching shapes, no overlaps and no
 * unindexed bytes; names without control characters (an escaped NUL would
 * cut a name short). Only regular files are read. Every error message
 * starts with the file's path and names the tensor concerned. Nothing here
 * prints.
 */
#ifndef NNRT_CHECKPOINT_H
#define NNRT_CHECKPOINT_H

#include "nnrt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnrt_named_tensor {
  const char *name;
  nnrt_tensor t; /* t.data is the caller's */
} nnrt_named_tensor;

typedef struct nnrt_kv {
  const char *key, *value;
} nnrt_kv;

/* Writes the tensors (in this order) and the metadata to path atomically. */
int nnrt_safetensors_save(const char *path, const nnrt_named_tensor *ts, int n, const nnrt_kv *meta,
                          int nmeta, char *err, size_t errlen);

/* Whether a save to path could create its temporary file beside it (and
 * path is not a directory), so a long run can refuse a bad path before it
 * starts rather than at its first checkpoint. Leaves nothing behind. */
int nnrt_safetensors_check_writable(const char *path, char *err, size_t errlen);

/* Removes what killed saves to path left behind: the files of path's
 * directory named exactly <name of path>.tmp.<pid>, regular files only,
 * whose process is gone (kill(pid, 0) says ESRCH). A save in progress, by
 * this process or a live one, keeps its file. Returns how many it removed,
 * or -1 when the directory cannot be read. A run calls it before it
 * starts (nnrt_train). */
int nnrt_safetensors_remove_stale(const char *path);

/* An opened and validated file. */
typedef struct nnrt_safetensors nnrt_safetensors;

int nnrt_safetensors_open(const char *path, nnrt_safetensors **out, char *err, size_t errlen);
void nnrt_safetensors_close(nnrt_safetensors *f); /* NULL is fine */

int nnrt_safetensors_count(const nnrt_safetensors *f);
const char *nnrt_safetensors_name(const nnrt_safetensors *f, int i); /* in file order */
/* The metadata value for key, or NULL. */
const char *nnrt_safetensors_meta(const nnrt_safetensors *f, const char *key);

/* Copies tensor `name` into want->data after checking that the file has it
 * with want's dtype and shape. Errors: NNRT_ERR_SHAPE naming the tensor and
 * both shapes/dtypes, NNRT_ERR_FORMAT when the tensor is missing. */
int nnrt_safetensors_read(const nnrt_safetensors *f, const char *name, const nnrt_tensor *want,
                          char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
