/* A fixed pool of worker threads that runs one index range at a time, the
 * calling thread taking part. Indices are handed out dynamically in chunks
 * from an atomic counter, so uneven work balances itself. */
#ifndef KILN_CPU_POOL_H
#define KILN_CPU_POOL_H

#include <stddef.h>

#include <kiln/common.h>

typedef struct cpu_pool cpu_pool;

/* Runs the indices [begin, end) of a job. */
typedef void (*cpu_pool_range_fn)(void *ctx, size_t begin, size_t end);

/* threads: how many threads run a job at most, the caller included (>= 1).
 * stack_bytes: stack of each worker. A caller whose own stack is smaller
 * than min_caller_stack only waits while workers run its job, because the
 * work (kernels with shared memory) may need that much stack. */
kiln_status cpu_pool_create(unsigned threads, size_t stack_bytes, size_t min_caller_stack,
                            cpu_pool **out);
void cpu_pool_destroy(cpu_pool *pool);

/* Runs fn over [0, count) and returns when every index is done. Safe to call
 * from several threads: one job uses the workers at a time; a caller that
 * finds them busy runs its whole job itself (or waits, with a small stack). */
void cpu_pool_run(cpu_pool *pool, size_t count, cpu_pool_range_fn fn, void *ctx);

#endif
