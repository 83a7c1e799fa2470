/* histogram.kc: per-block counts in shared memory, then one global atomic
 * per bin and block. */
#define MAX_BINS 64

extern "C" __global__ void histogram(unsigned int n, const unsigned int *__restrict__ values,
                                     unsigned int limit, unsigned int nbins,
                                     unsigned int *__restrict__ bins)
{
    __shared__ unsigned int counts[MAX_BINS];
    for (unsigned int b = threadIdx.x; b < nbins; b += blockDim.x)
        counts[b] = 0u;
    __syncthreads();
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        unsigned int v = min(values[i], limit - 1u);
        atomicAdd(&counts[(unsigned int)(((unsigned long long)v * nbins) / limit)], 1u);
    }
    __syncthreads();
    for (unsigned int b = threadIdx.x; b < nbins; b += blockDim.x)
        if (counts[b] != 0u)
            atomicAdd(&bins[b], counts[b]);
}
