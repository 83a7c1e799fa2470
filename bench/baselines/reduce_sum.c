#include "baselines.h"

/* Elements each thread sums in one vectorized inner loop before adding
 * into its share of the total. */
#define REDUCE_CHUNK 4096u

float baseline_reduce_sum(size_t n, const float *x)
{
    /* Chunks rather than one `parallel for simd reduction` loop: clang
     * cannot vectorize that combined construct, gcc and clang both
     * vectorize this form. */
    const size_t chunks = (n + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
    float sum = 0.0f;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t c = 0; c < chunks; c++) {
        const size_t begin = c * REDUCE_CHUNK;
        const size_t end = begin + REDUCE_CHUNK < n ? begin + REDUCE_CHUNK : n;
        float part = 0.0f;
#pragma omp simd reduction(+ : part)
        for (size_t i = begin; i < end; i++)
            part += x[i];
        sum += part;
    }
    return sum;
}
