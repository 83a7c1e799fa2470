/* One context used from many threads at once: each thread builds the same
 * program (sharing one cache entry), allocates, launches on its own queue
 * and on a shared queue, and checks its results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kiln/kiln.h>

#define THREADS 8
#define ROUNDS 20
#define ELEMENTS 4099

static const char *scale_source =
    "kernel void scale(uint n, uint factor, global const uint *x, global uint *y) {\n"
    "    uint i = global_id(0);\n"
    "    if (i < n) y[i] = x[i] * factor;\n"
    "}\n";

typedef struct shared_state {
    kiln_device *dev;
    kiln_queue *shared_queue;
    unsigned seed;
    int failures;
    pthread_mutex_t lock;
} shared_state;

static int run_round(shared_state *s, kiln_queue *q, unsigned *seed)
{
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    kiln_buffer *x = NULL, *y = NULL;
    uint32_t in[ELEMENTS], out[ELEMENTS];
    uint32_t factor = (uint32_t)rand_r(seed) % 1000u + 1u;
    for (int i = 0; i < ELEMENTS; i++)
        in[i] = (uint32_t)rand_r(seed);
    int ok = kiln_program_build(s->dev, scale_source, NULL, &prog) == KILN_OK &&
             kiln_kernel_get(prog, "scale", &k) == KILN_OK &&
             kiln_buffer_create(s->dev, sizeof in, 0, &x) == KILN_OK &&
             kiln_buffer_create(s->dev, sizeof out, 0, &y) == KILN_OK &&
             kiln_buffer_write(q, x, 0, in, sizeof in) == KILN_OK;
    if (ok) {
        kiln_range r = { .dims = 1, .global = { ELEMENTS }, .local = { 64 } };
        kiln_arg args[] = { KILN_ARG_U32(ELEMENTS), KILN_ARG_U32(factor), KILN_ARG_BUFFER(x),
                            KILN_ARG_BUFFER(y) };
        ok = kiln_launch(q, k, &r, args, 4, NULL) == KILN_OK &&
             kiln_buffer_read(q, y, 0, out, sizeof out) == KILN_OK;
    }
    for (int i = 0; ok && i < ELEMENTS; i++)
        ok = out[i] == in[i] * factor;
    kiln_buffer_release(x);
    kiln_buffer_release(y);
    kiln_kernel_release(k);
    kiln_program_release(prog);
    return ok;
}

static void *worker(void *arg)
{
    shared_state *s = arg;
    pthread_mutex_lock(&s->lock);
    unsigned seed = s->seed++;
    pthread_mutex_unlock(&s->lock);
    kiln_queue *own = NULL;
    int failures = 0;
    if (kiln_queue_create(s->dev, KILN_PRIORITY_NORMAL, &own) != KILN_OK)
        failures++;
    for (int round = 0; own && round < ROUNDS; round++)
        failures += !run_round(s, round % 2 ? own : s->shared_queue, &seed);
    kiln_queue_destroy(own);
    pthread_mutex_lock(&s->lock);
    s->failures += failures;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void many_threads_share_one_context(void **state)
{
    (void)state;
    kiln_context *ctx = NULL;
    shared_state s = { .seed = (unsigned)time(NULL) };
    pthread_mutex_init(&s.lock, NULL);
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "cpu", &s.dev), KILN_OK);
    assert_int_equal(kiln_queue_create(s.dev, KILN_PRIORITY_NORMAL, &s.shared_queue), KILN_OK);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, worker, &s), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(s.failures, 0);
    kiln_queue_destroy(s.shared_queue);
    kiln_context_destroy(ctx);
    pthread_mutex_destroy(&s.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_threads_share_one_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
