/* copy.kc: out[i] = in[i], one thread per element. */
extern "C" __global__ void copy(unsigned int n, const float *__restrict__ in,
                                float *__restrict__ out)
{
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = in[i];
}

/* copy.kc's copy4: four floats per thread through float4. */
extern "C" __global__ void copy4(unsigned int n4, const float4 *__restrict__ in,
                                 float4 *__restrict__ out)
{
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4)
        out[i] = in[i];
}
