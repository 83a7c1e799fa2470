#include "baselines.h"

enum { TILE = BASELINE_SGEMM_TILE };

/* Adds the product of one TILE x TILE tile of a and one of b into acc. The
 * tiles are copied first, as the kernel copies them into shared memory, so
 * the inner loop runs over contiguous rows the compiler vectorizes. */
static void multiply_tile(uint32_t n, const float *a, const float *b, uint32_t row0,
                          uint32_t col0, uint32_t t, float acc[TILE][TILE])
{
    float a_tile[TILE][TILE];
    float b_tile[TILE][TILE];
    for (uint32_t i = 0; i < TILE; i++) {
#pragma omp simd
        for (uint32_t j = 0; j < TILE; j++) {
            a_tile[i][j] = a[(size_t)(row0 + i) * n + t + j];
            b_tile[i][j] = b[(size_t)(t + i) * n + col0 + j];
        }
    }
    for (uint32_t i = 0; i < TILE; i++) {
        for (uint32_t k = 0; k < TILE; k++) {
            const float aik = a_tile[i][k];
#pragma omp simd
            for (uint32_t j = 0; j < TILE; j++)
                acc[i][j] += aik * b_tile[k][j];
        }
    }
}

void baseline_sgemm_tiled(uint32_t n, const float *a, const float *b, float *c)
{
    const uint32_t tiles = n / TILE;
#pragma omp parallel for schedule(dynamic)
    for (uint32_t block = 0; block < tiles * tiles; block++) {
        const uint32_t row0 = block / tiles * TILE;
        const uint32_t col0 = block % tiles * TILE;
        float acc[TILE][TILE] = { { 0.0f } };
        for (uint32_t t = 0; t < n; t += TILE)
            multiply_tile(n, a, b, row0, col0, t, acc);
        for (uint32_t i = 0; i < TILE; i++)
            for (uint32_t j = 0; j < TILE; j++)
                c[(size_t)(row0 + i) * n + col0 + j] = acc[i][j];
    }
}
