#include <omp.h>

#include "baselines.h"

void baseline_set_threads(int threads)
{
    if (threads > 0)
        omp_set_num_threads(threads);
}

int baseline_threads(void)
{
    return omp_get_max_threads();
}
