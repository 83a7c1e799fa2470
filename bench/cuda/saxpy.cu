/* saxpy.kc: y = a * x + y, one thread per element. */
extern "C" __global__ void saxpy(unsigned int n, float a, const float *__restrict__ x,
                                 float *__restrict__ y)
{
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = a * x[i] + y[i];
}
