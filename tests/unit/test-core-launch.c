/* kiln_launch on the CPU device: every argument kind checked against the
 * signature (with the detail naming both types), by-value doubles and
 * vectors, more arguments than fit the stack, the work-group kiln picks when
 * the device's limit is small, and the range checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kiln/kiln.h>

#include "core/core_types.h"
#include "test-core-support.h"

/* More parameters than launch.c converts on the stack (LAUNCH_STACK_ARGS). */
#define MANY_PARAMS 40
/* A work-group limit below every default kiln picks (256 items). */
#define SMALL_GROUP_LIMIT 6u

/* A CPU-only context. */
static int open_cpu(void **state)
{
    kiln_context_options opts = { .size = sizeof opts,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    return core_test_open_cpu(state, &opts);
}


static const char *by_value_source =
    "kernel void by_value(double d, float4 v, global double *o) {\n"
    "    if (global_id(0) != 0u) return;\n"
    "    o[0] = d;\n"
    "    o[1] = (double)v.x; o[2] = (double)v.y; o[3] = (double)v.z; o[4] = (double)v.w;\n"
    "}\n";

static void doubles_and_vectors_pass_by_value(void **state)
{
    core_test_fixture *f = *state;
    kiln_kernel *k = core_test_build_kernel(f->cpu, by_value_source, "by_value");
    kiln_buffer *o = NULL;
    assert_int_equal(kiln_buffer_create(f->cpu, 5 * sizeof(double), 0, &o), KILN_OK);
    double d = (double)rand() / 7.0;
    float v[4];
    for (int i = 0; i < 4; i++)
        v[i] = (float)(rand() % 100000) / 8.0f;
    kiln_range r = { .dims = 1, .global = { 1 } };
    kiln_arg args[] = { KILN_ARG_F64(d), KILN_ARG_BYTES(v, sizeof v), KILN_ARG_BUFFER(o) };
    assert_int_equal(kiln_launch(f->q, k, &r, args, 3, NULL), KILN_OK);
    double got[5];
    assert_int_equal(kiln_buffer_read(f->q, o, 0, got, sizeof got), KILN_OK);
    assert_true(got[0] == d);
    for (int i = 0; i < 4; i++)
        assert_true(got[1 + i] == (double)v[i]);

    /* A by-value struct of the wrong size, or with no pointer, is refused. */
    kiln_arg short_bytes[] = { KILN_ARG_F64(d), KILN_ARG_BYTES(v, 12), KILN_ARG_BUFFER(o) };
    assert_int_equal(kiln_launch(f->q, k, &r, short_bytes, 3, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "is 16 bytes, argument is 12 bytes"));
    kiln_arg null_bytes[] = { KILN_ARG_F64(d), KILN_ARG_BYTES(NULL, 16), KILN_ARG_BUFFER(o) };
    assert_int_equal(kiln_launch(f->q, k, &r, null_bytes, 3, NULL), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(kiln_last_error(), "KILN_ARG_BYTES pointer is NULL"));
    kiln_arg scalar_for_vector[] = { KILN_ARG_F64(d), KILN_ARG_F32(1), KILN_ARG_BUFFER(o) };
    assert_int_equal(kiln_launch(f->q, k, &r, scalar_for_vector, 3, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "argument is float (KILN_ARG_F32)"));
    /* nargs without an array. */
    assert_int_equal(kiln_launch(f->q, k, &r, NULL, 3, NULL), KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "argument array is NULL");
    /* Buffers: NULL, and one whose magic says released (forged on the
     * stack: a really released one is freed memory). */
    uint32_t forged[16] = { CORE_MAGIC_RELEASED };
    kiln_buffer *dead = (kiln_buffer *)forged;
    kiln_arg null_buffer[] = { KILN_ARG_F64(d), KILN_ARG_BYTES(v, sizeof v),
                               KILN_ARG_BUFFER(NULL) };
    assert_int_equal(kiln_launch(f->q, k, &r, null_buffer, 3, NULL), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(kiln_last_error(), "argument 2 ('o'): buffer is NULL"));
    kiln_arg dead_buffer[] = { KILN_ARG_F64(d), KILN_ARG_BYTES(v, sizeof v),
                               KILN_ARG_BUFFER(dead) };
    assert_int_equal(kiln_launch(f->q, k, &r, dead_buffer, 3, NULL), KILN_ERR_INVALID_HANDLE);
    assert_non_null(strstr(kiln_last_error(), "not a live buffer"));
    kiln_buffer_release(o);
    kiln_kernel_release(k);
}

/* Each argument kind passed where a float is declared: the detail names it. */
static void every_wrong_kind_is_named(void **state)
{
    core_test_fixture *f = *state;
    kiln_kernel *k = core_test_build_kernel(
        f->cpu, "kernel void one(float x, global float *o) { o[global_id(0)] = x; }\n", "one");
    kiln_buffer *o = NULL;
    assert_int_equal(kiln_buffer_create(f->cpu, 16, 0, &o), KILN_OK);
    static const struct {
        kiln_arg arg;
        const char *text;
    } wrong[] = {
        { KILN_ARG_BUFFER(NULL), "a buffer (KILN_ARG_BUFFER)" },
        { KILN_ARG_BOOL(1), "bool (KILN_ARG_BOOL)" },
        { KILN_ARG_I8(1), "char (KILN_ARG_I8)" },
        { KILN_ARG_U8(1), "uchar (KILN_ARG_U8)" },
        { KILN_ARG_I16(1), "short (KILN_ARG_I16)" },
        { KILN_ARG_U16(1), "ushort (KILN_ARG_U16)" },
        { KILN_ARG_I32(1), "int (KILN_ARG_I32)" },
        { KILN_ARG_U32(1), "uint (KILN_ARG_U32)" },
        { KILN_ARG_I64(1), "long (KILN_ARG_I64)" },
        { KILN_ARG_U64(1), "ulong (KILN_ARG_U64)" },
        { KILN_ARG_F64(1), "double (KILN_ARG_F64)" },
        { KILN_ARG_BYTES(NULL, 4), "bytes (KILN_ARG_BYTES)" },
        { { .kind = (kiln_arg_kind)99 }, "an unknown argument kind" },
    };
    kiln_range r = { .dims = 1, .global = { 4 } };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        kiln_arg args[] = { wrong[i].arg, KILN_ARG_BUFFER(o) };
        assert_int_equal(kiln_launch(f->q, k, &r, args, 2, NULL), KILN_ERR_INVALID_ARG);
        char expected[128];
        snprintf(expected, sizeof expected, "parameter type is float, argument is %s",
                 wrong[i].text);
        assert_non_null(strstr(kiln_last_error(), expected));
    }
    /* And a scalar where the buffer is declared. */
    kiln_arg swapped[] = { KILN_ARG_F32(1), KILN_ARG_F32(2) };
    assert_int_equal(kiln_launch(f->q, k, &r, swapped, 2, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "argument 1 ('o')"));
    kiln_buffer_release(o);
    kiln_kernel_release(k);
}

/* MANY_PARAMS uint parameters summed into o[0]. */
static void many_arguments_go_through_the_heap(void **state)
{
    core_test_fixture *f = *state;
    char source[4096];
    size_t n = (size_t)snprintf(source, sizeof source, "kernel void many(global uint *o");
    for (int i = 0; i < MANY_PARAMS; i++)
        n += (size_t)snprintf(source + n, sizeof source - n, ", uint p%d", i);
    n += (size_t)snprintf(source + n, sizeof source - n, ") {\n    uint s = 0u;\n");
    for (int i = 0; i < MANY_PARAMS; i++)
        n += (size_t)snprintf(source + n, sizeof source - n, "    s = s * 3u + p%d;\n", i);
    snprintf(source + n, sizeof source - n, "    if (global_id(0) == 0u) o[0] = s;\n}\n");
    kiln_kernel *k = core_test_build_kernel(f->cpu, source, "many");
    assert_int_equal(kiln_kernel_param_count(k), MANY_PARAMS + 1);
    kiln_buffer *o = NULL;
    assert_int_equal(kiln_buffer_create(f->cpu, sizeof(uint32_t), 0, &o), KILN_OK);
    kiln_arg args[MANY_PARAMS + 1];
    args[0] = KILN_ARG_BUFFER(o);
    uint32_t expected = 0;
    for (int i = 0; i < MANY_PARAMS; i++) {
        uint32_t v = (uint32_t)rand();
        args[1 + i] = KILN_ARG_U32(v);
        expected = expected * 3u + v;
    }
    kiln_range r = { .dims = 1, .global = { 1 } };
    assert_int_equal(kiln_launch(f->q, k, &r, args, MANY_PARAMS + 1, NULL), KILN_OK);
    uint32_t got = 0;
    assert_int_equal(kiln_buffer_read(f->q, o, 0, &got, sizeof got), KILN_OK);
    assert_int_equal(got, expected);
    /* The heap copy is freed on the error path too. */
    args[7] = KILN_ARG_I32(1);
    assert_int_equal(kiln_launch(f->q, k, &r, args, MANY_PARAMS + 1, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "argument 7 ('p6')"));
    kiln_buffer_release(o);
    kiln_kernel_release(k);
}

static const char *coords_source =
    "kernel void coords(uint w, uint h, uint d, global uint *o) {\n"
    "    uint x = global_id(0); uint y = global_id(1); uint z = global_id(2);\n"
    "    if (x < w && y < h && z < d) o[(z * h + y) * w + x] = x + 100u * y + 10000u * z + 1u;\n"
    "}\n";

/* With a device limit below kiln's defaults, the chosen group is halved
 * until it fits, and every item still runs exactly once. */
static void chosen_groups_fit_a_small_device_limit(void **state)
{
    core_test_fixture *f = *state;
    f->cpu->info.max_work_group_size = SMALL_GROUP_LIMIT; /* a device with a tiny limit */
    kiln_kernel *k = core_test_build_kernel(f->cpu, coords_source, "coords");
    for (uint32_t dims = 1; dims <= 3; dims++) {
        uint32_t w = 5 + (uint32_t)rand() % 40, h = dims > 1 ? 3 + (uint32_t)rand() % 20 : 1;
        uint32_t d = dims > 2 ? 2 + (uint32_t)rand() % 6 : 1;
        size_t count = (size_t)w * h * d;
        kiln_buffer *o = NULL;
        assert_int_equal(kiln_buffer_create(f->cpu, count * sizeof(uint32_t), 0, &o), KILN_OK);
        assert_int_equal(kiln_buffer_fill(f->q, o, 0, 0, count * sizeof(uint32_t)), KILN_OK);
        kiln_range r = { .dims = dims, .global = { w, h, d } };
        kiln_arg args[] = { KILN_ARG_U32(w), KILN_ARG_U32(h), KILN_ARG_U32(d), KILN_ARG_BUFFER(o) };
        assert_int_equal(kiln_launch(f->q, k, &r, args, 4, NULL), KILN_OK);
        uint32_t *got = malloc(count * sizeof *got);
        assert_non_null(got);
        assert_int_equal(kiln_buffer_read(f->q, o, 0, got, count * sizeof *got), KILN_OK);
        for (uint32_t z = 0; z < d; z++)
            for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++)
                    assert_int_equal(got[(z * h + y) * w + x], x + 100u * y + 10000u * z + 1u);
        free(got);
        kiln_buffer_release(o);
    }
    /* An explicit group over the limit names both limits. */
    kiln_range big = { .dims = 2, .global = { 8, 8 }, .local = { 4, 2 } };
    kiln_arg args[] = { KILN_ARG_U32(1), KILN_ARG_U32(1), KILN_ARG_U32(1), KILN_ARG_BUFFER(NULL) };
    assert_int_equal(kiln_launch(f->q, k, &big, args, 4, NULL), KILN_ERR_INVALID_RANGE);
    assert_non_null(strstr(kiln_last_error(), "4 x 2 x 1 items exceeds the limit of 6"));
    kiln_kernel_release(k);
}

static void ranges_are_checked(void **state)
{
    core_test_fixture *f = *state;
    kiln_kernel *k = core_test_build_kernel(f->cpu, coords_source, "coords");
    kiln_buffer *o = NULL;
    assert_int_equal(kiln_buffer_create(f->cpu, 16, 0, &o), KILN_OK);
    kiln_arg args[] = { KILN_ARG_U32(0), KILN_ARG_U32(0), KILN_ARG_U32(0), KILN_ARG_BUFFER(o) };
    kiln_range no_dims = { .dims = 0, .global = { 1 } };
    assert_int_equal(kiln_launch(f->q, k, &no_dims, args, 4, NULL), KILN_ERR_INVALID_RANGE);
    assert_non_null(strstr(kiln_last_error(), "0 dimensions"));
    kiln_range four = { .dims = 4, .global = { 1, 1, 1 } };
    assert_int_equal(kiln_launch(f->q, k, &four, args, 4, NULL), KILN_ERR_INVALID_RANGE);
    kiln_range half_local = { .dims = 2, .global = { 4, 4 }, .local = { 2, 0 } };
    assert_int_equal(kiln_launch(f->q, k, &half_local, args, 4, NULL), KILN_ERR_INVALID_RANGE);
    assert_non_null(strstr(kiln_last_error(), "local size of dimension 1 is zero"));
    kiln_range huge = { .dims = 1, .global = { (size_t)1 << 32 } };
    assert_int_equal(kiln_launch(f->q, k, &huge, args, 4, NULL), KILN_ERR_INVALID_RANGE);
    assert_non_null(strstr(kiln_last_error(), "exceeds the limit of 4294967295 items"));
    assert_int_equal(kiln_launch(f->q, k, NULL, args, 4, NULL), KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "range is NULL");
    kiln_buffer_release(o);
    kiln_kernel_release(k);
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(doubles_and_vectors_pass_by_value, open_cpu, core_test_close_cpu),
        cmocka_unit_test_setup_teardown(every_wrong_kind_is_named, open_cpu, core_test_close_cpu),
        cmocka_unit_test_setup_teardown(many_arguments_go_through_the_heap, open_cpu, core_test_close_cpu),
        cmocka_unit_test_setup_teardown(chosen_groups_fit_a_small_device_limit, open_cpu,
                                        core_test_close_cpu),
        cmocka_unit_test_setup_teardown(ranges_are_checked, open_cpu, core_test_close_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
