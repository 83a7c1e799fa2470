/* matmul_tiled.kc: C = A * B, n x n row-major, one TILE x TILE block per
 * TILE x TILE block of C, tiles of A and B through shared memory. */
#define TILE 16

extern "C" __global__ void matmul_tiled(unsigned int n, const float *__restrict__ a,
                                        const float *__restrict__ b, float *__restrict__ c)
{
    __shared__ float a_tile[TILE][TILE];
    __shared__ float b_tile[TILE][TILE];
    unsigned int tx = threadIdx.x, ty = threadIdx.y;
    unsigned int row = blockIdx.y * TILE + ty;
    unsigned int col = blockIdx.x * TILE + tx;
    float sum = 0.0f;
    for (unsigned int t = 0; t < n; t += TILE) {
        a_tile[ty][tx] = a[row * n + t + tx];
        b_tile[ty][tx] = b[(t + ty) * n + col];
        __syncthreads();
#pragma unroll
        for (unsigned int k = 0; k < TILE; k++)
            sum += a_tile[ty][k] * b_tile[k][tx];
        __syncthreads();
    }
    c[row * n + col] = sum;
}
