/* stencil5.kc: one Jacobi step of the 5-point stencil, 2-D grid of blocks,
 * border cells copied. */
extern "C" __global__ void stencil5(unsigned int width, unsigned int height, float center,
                                    float side, const float *__restrict__ in,
                                    float *__restrict__ out)
{
    unsigned int x = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x < width && y < height) {
        unsigned int i = y * width + x;
        float v = in[i];
        if (x > 0 && y > 0 && x < width - 1 && y < height - 1)
            v = center * v + side * (in[i - 1] + in[i + 1] + in[i - width] + in[i + width]);
        out[i] = v;
    }
}
