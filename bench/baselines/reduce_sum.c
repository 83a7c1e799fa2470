#include "baselines.h"

/* Elements summed in one vectorized inner loop before they are added into
 * the thread's share of the total, and such chunks per scheduling chunk. */
#define REDUCE_CHUNK 4096u
#define REDUCE_CHUNKS_PER_GRAB 16

float baseline_reduce_sum(size_t n, const float *x)
{
    /* Chunks rather than one `parallel for simd reduction` loop: clang
     * cannot vectorize that combined construct, gcc and clang both
     * vectorize this form. */
    const size_t chunks = (n + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
    float sum = 0.0f;
#pragma omp parallel for schedule(dynamic, REDUCE_CHUNKS_PER_GRAB) reduction(+ : sum)
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
