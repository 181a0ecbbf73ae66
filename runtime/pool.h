/* pool.h - the thread pool's split policy, shared by threads.c and gemm.c.
 * Internal: not installed, not part of the public API.
 *
 * Work is split only where each chunk pays for a thread: a chunk must hold
 * at least NNRT_POOL_MIN_CHUNK_NS of estimated work. GEMM estimates its
 * work from its multiply-adds (gemm.c). Compiled loop kernels come through
 * nnrt_parallel_for with a grain the compiler derives from CG_GRAIN_ELEMS
 * (16384 elements per chunk, compiler/backend/cg_internal.h): at roughly 1 ns per
 * element of a fused elementwise kernel, the same threshold. */
#ifndef NNRT_POOL_H
#define NNRT_POOL_H

#include <stdint.h>

#include "nnrt.h"

/* Waking a sleeping worker costs a futex call on each side and a few
 * microseconds of scheduling; a spinning one still costs cache-line
 * transfers. Below this much work per chunk a second thread loses. */
enum { NNRT_POOL_MIN_CHUNK_NS = 20000 };

/* How many chunks `work_ns` of work (divisible into `units` pieces) is worth
 * at the configured thread count: 1 when it is not worth splitting. Depends
 * only on its arguments and the thread count, so a split derived from it is
 * reproducible. */
int nnrt_pool_chunks(int64_t units, double work_ns);

/* Runs fn over [0, n) split into `nchunks` contiguous chunks (the same
 * split whichever thread runs each one); chunks run on the pool, or all on
 * the calling thread when the pool is taken or this is a nested call. */
void nnrt_pool_run(nnrt_range_fn fn, void *ctx, int64_t n, int nchunks);

#endif
