#include "baselines.h"

/* Elements per scheduling chunk: 768 KiB of traffic. */
#define SAXPY_CHUNK 65536

void baseline_saxpy(size_t n, float a, const float *x, float *y)
{
#pragma omp parallel for simd schedule(dynamic, SAXPY_CHUNK)
    for (size_t i = 0; i < n; i++)
        y[i] = a * x[i] + y[i];
}
