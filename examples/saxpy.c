/* The smallest complete kiln program: build saxpy from a source string, run
 * it on the default device, check the result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <kiln/kiln.h>

#define N 100000u
/* y lies in [0, 3): a few units in the last place, FMA or not. */
#define TOLERANCE 1e-6f

static const char *source =
    "kernel void saxpy(uint n, float a, global const float *x, global float *y) {\n"
    "    uint i = global_id(0);\n"
    "    if (i < n) y[i] = a * x[i] + y[i];\n"
    "}\n";

static int fail(const char *what, kiln_status st)
{
    fprintf(stderr, "saxpy: %s: %s\n%s\n", what, kiln_status_name(st), kiln_last_error());
    return 1;
}

/* Returns from main with a message when a kiln call fails. */
#define CHECK(call, what)                                         \
    do {                                                          \
        kiln_status st_ = (call);                                 \
        if (st_ != KILN_OK)                                       \
            return fail(what, st_);                               \
    } while (0)

int main(void)
{
    static float x[N], y[N], out[N];
    for (unsigned i = 0; i < N; i++) {
        x[i] = (float)rand() / (float)RAND_MAX;
        y[i] = (float)rand() / (float)RAND_MAX;
    }
    kiln_context *ctx; kiln_device *dev; kiln_queue *q; kiln_program *prog; kiln_kernel *k;
    kiln_buffer *bx, *by;
    CHECK(kiln_context_create(&ctx, NULL), "context");
    CHECK(kiln_device_default(ctx, &dev), "device");
    CHECK(kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q), "queue");
    CHECK(kiln_program_build(dev, source, NULL, &prog), "build");
    CHECK(kiln_kernel_get(prog, "saxpy", &k), "kernel");
    CHECK(kiln_buffer_create(dev, sizeof x, KILN_BUFFER_READ_ONLY, &bx), "buffer x");
    CHECK(kiln_buffer_create(dev, sizeof y, KILN_BUFFER_READ_WRITE, &by), "buffer y");
    CHECK(kiln_buffer_write(q, bx, 0, x, sizeof x), "write x");
    CHECK(kiln_buffer_write(q, by, 0, y, sizeof y), "write y");
    kiln_range range = { .dims = 1, .global = { N }, .local = { 256 } };
    kiln_arg args[] = { KILN_ARG_U32(N), KILN_ARG_F32(2.0f), KILN_ARG_BUFFER(bx),
                        KILN_ARG_BUFFER(by) };
    CHECK(kiln_launch(q, k, &range, args, 4, NULL), "launch");
    CHECK(kiln_buffer_read(q, by, 0, out, sizeof out), "read");
    for (unsigned i = 0; i < N; i++) {
        float want = 2.0f * x[i] + y[i];
        if (fabsf(out[i] - want) > TOLERANCE) {
            fprintf(stderr, "saxpy: y[%u] = %g, want %g\n", i, out[i], want);
            return 1;
        }
    }
    kiln_buffer_release(bx); kiln_buffer_release(by); kiln_kernel_release(k);
    kiln_program_release(prog); kiln_queue_destroy(q); kiln_context_destroy(ctx);
    printf("saxpy: ok\n");
    return 0;
}
