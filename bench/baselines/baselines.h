/* The OpenMP C baselines `kiln bench` measures kiln against: each is the
 * algorithm of the matching example kernel as a competent engineer writes
 * it for the CPU, compiled -O3 -march=native -fopenmp. */
#ifndef KILN_BENCH_BASELINES_H
#define KILN_BENCH_BASELINES_H

#include <stddef.h>
#include <stdint.h>

/* Tile edge of the tiled SGEMM; the same as TILE in matmul_tiled.kc. */
#define BASELINE_SGEMM_TILE 16

/* Every parallel loop is scheduled dynamically in chunks of a few hundred
 * microseconds of work: on a quiet machine that costs nothing measurable
 * against a static schedule, and when other work takes a core for a while,
 * the other threads take over its chunks instead of waiting for it, as the
 * kiln CPU pool's threads do. */

/* Sets the number of OpenMP threads every baseline uses. */
void baseline_set_threads(int threads);

/* The number of threads a parallel region gets now. */
int baseline_threads(void);

/* y = a * x + y. */
void baseline_saxpy(size_t n, float a, const float *x, float *y);

/* The float sum of x[0..n). */
float baseline_reduce_sum(size_t n, const float *x);

/* One Jacobi step of the 5-point stencil; border cells are copied. */
void baseline_stencil5(uint32_t width, uint32_t height, float center, float side,
                       const float *in, float *out);

/* c = a * b for n x n row-major matrices, n a multiple of
 * BASELINE_SGEMM_TILE, blocked the way matmul_tiled.kc blocks it. */
void baseline_sgemm_tiled(uint32_t n, const float *a, const float *b, float *c);

#endif
