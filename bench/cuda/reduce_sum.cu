/* reduce_sum.kc: one pass of the sum; thread i of block g adds PER_ITEM
 * elements strided by the block size (coalesced, no shared memory), the
 * first pass over float4. */
#define PER_ITEM 32

extern "C" __global__ void reduce_sum(unsigned int n, const float *__restrict__ x,
                                      float *__restrict__ partial)
{
    unsigned int lsize = blockDim.x;
    unsigned int first = blockIdx.x * lsize * PER_ITEM + threadIdx.x;
    float sum = 0.0f;
#pragma unroll
    for (unsigned int k = 0; k < PER_ITEM; k++) {
        unsigned int i = first + k * lsize;
        if (i < n)
            sum += x[i];
    }
    partial[blockIdx.x * blockDim.x + threadIdx.x] = sum;
}

extern "C" __global__ void reduce_sum4(unsigned int n4, const float4 *__restrict__ x,
                                       float *__restrict__ partial)
{
    unsigned int lsize = blockDim.x;
    unsigned int first = blockIdx.x * lsize * (PER_ITEM / 4) + threadIdx.x;
    float4 even = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    float4 odd = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (unsigned int k = 0; k < PER_ITEM / 4; k += 2) {
        unsigned int i = first + k * lsize;
        if (i < n4) {
            float4 v = x[i];
            even.x += v.x; even.y += v.y; even.z += v.z; even.w += v.w;
        }
        if (i + lsize < n4) {
            float4 v = x[i + lsize];
            odd.x += v.x; odd.y += v.y; odd.z += v.z; odd.w += v.w;
        }
    }
    float4 s = make_float4(even.x + odd.x, even.y + odd.y, even.z + odd.z, even.w + odd.w);
    partial[blockIdx.x * blockDim.x + threadIdx.x] = (s.x + s.y) + (s.z + s.w);
}
