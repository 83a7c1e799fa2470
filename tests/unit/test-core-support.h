/* Helpers shared by the core's public-API tests (test-core-api.c,
 * test-core-launch.c): a context with its CPU device and a queue, made
 * before each test and destroyed after it. Included by test files only
 * (static functions). */
#ifndef KILN_TEST_CORE_SUPPORT_H
#define KILN_TEST_CORE_SUPPORT_H

#include <stdlib.h>

#include <kiln/kiln.h>

typedef struct core_test_fixture {
    kiln_context *ctx;
    kiln_device *cpu;
    kiln_queue *q;
} core_test_fixture;

/* Opens a context with opts (NULL: the defaults), finds its CPU and makes
 * a queue on it into *state; a cmocka setup's result. */
static inline int core_test_open_cpu(void **state, const kiln_context_options *opts)
{
    core_test_fixture *f = calloc(1, sizeof *f);
    if (!f || kiln_context_create(&f->ctx, opts) != KILN_OK ||
        kiln_device_find(f->ctx, "cpu", &f->cpu) != KILN_OK ||
        kiln_queue_create(f->cpu, KILN_PRIORITY_NORMAL, &f->q) != KILN_OK)
        return -1;
    *state = f;
    return 0;
}

/* Builds source on dev and returns its kernel name (the program released:
 * the kernel keeps what it needs). Uses cmocka's asserts: include this
 * header after <cmocka.h>. */
static inline kiln_kernel *core_test_build_kernel(kiln_device *dev, const char *source,
                                                  const char *name)
{
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    assert_int_equal(kiln_program_build(dev, source, NULL, &prog), KILN_OK);
    assert_int_equal(kiln_kernel_get(prog, name, &k), KILN_OK);
    kiln_program_release(prog);
    return k;
}

/* The teardown matching core_test_open_cpu. */
static inline int core_test_close_cpu(void **state)
{
    core_test_fixture *f = *state;
    kiln_queue_destroy(f->q);
    kiln_context_destroy(f->ctx);
    free(f);
    return 0;
}

#endif
