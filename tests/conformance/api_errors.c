/* conformance-api-errors BACKEND: misuse of the public API returns the
 * documented status, with detail in kiln_last_error(), and never crashes:
 * wrong launch arguments, accesses past a buffer's end, zero sizes, NULL
 * handles, unknown names, bad ranges and source errors. */
#include <kiln/kiln.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define PROBE_BYTES 64
#define SKIP_EXIT_CODE 77

static const char probe_source[] =
    "kernel void probe(uint count_param, float scale_param, global float *out_param)\n"
    "{\n"
    "    uint i = global_id(0);\n"
    "    if (i < count_param)\n"
    "        out_param[i] = scale_param * (float)i;\n"
    "}\n";

typedef struct api_fixture {
    kiln_context *ctx;
    kiln_device *dev;
    kiln_queue *queue;
    kiln_program *prog;
    kiln_kernel *kernel;
    kiln_buffer *buffer; /* PROBE_BYTES bytes */
} api_fixture;

static const char *selected_backend;

static int open_fixture(void **state)
{
    api_fixture *f = calloc(1, sizeof *f);
    if (!f || kiln_context_create(&f->ctx, NULL) != KILN_OK)
        return -1;
    char selector[64];
    snprintf(selector, sizeof selector, strcmp(selected_backend, "cpu") == 0 ? "%s" : "%s:0",
             selected_backend);
    kiln_build_options opts = { .size = sizeof opts, .source_name = "probe.kc" };
    if (kiln_device_find(f->ctx, selector, &f->dev) != KILN_OK ||
        kiln_queue_create(f->dev, KILN_PRIORITY_NORMAL, &f->queue) != KILN_OK ||
        kiln_program_build(f->dev, probe_source, &opts, &f->prog) != KILN_OK ||
        kiln_kernel_get(f->prog, "probe", &f->kernel) != KILN_OK ||
        kiln_buffer_create(f->dev, PROBE_BYTES, 0, &f->buffer) != KILN_OK) {
        fprintf(stderr, "fixture: %s\n", kiln_last_error());
        return -1;
    }
    *state = f;
    return 0;
}

static int close_fixture(void **state)
{
    api_fixture *f = *state;
    if (!f)
        return 0;
    kiln_buffer_release(f->buffer);
    kiln_kernel_release(f->kernel);
    kiln_program_release(f->prog);
    kiln_queue_destroy(f->queue);
    kiln_context_destroy(f->ctx);
    free(f);
    return 0;
}

static kiln_range probe_range(void)
{
    return (kiln_range){ .dims = 1, .global = { PROBE_BYTES / sizeof(float) }, .local = { 0 } };
}

static void assert_last_error_mentions(const char *word)
{
    const char *detail = kiln_last_error();
    if (!strstr(detail, word))
        fail_msg("kiln_last_error() \"%s\" does not mention \"%s\"", detail, word);
}

static void launch_accepts_matching_arguments(void **state)
{
    api_fixture *f = *state;
    uint32_t count = PROBE_BYTES / sizeof(float);
    float scale = (float)(rand() % 1000) / 8.0f + 1.0f;
    kiln_range r = probe_range();
    kiln_arg args[] = { KILN_ARG_U32(count), KILN_ARG_F32(scale), KILN_ARG_BUFFER(f->buffer) };
    assert_int_equal(kiln_launch(f->queue, f->kernel, &r, args, 3, NULL), KILN_OK);
    float out[PROBE_BYTES / sizeof(float)];
    assert_int_equal(kiln_buffer_read(f->queue, f->buffer, 0, out, sizeof out), KILN_OK);
    for (uint32_t i = 0; i < count; i++)
        assert_true(out[i] == scale * (float)i);
}

static void launch_rejects_wrong_argument_count(void **state)
{
    api_fixture *f = *state;
    kiln_range r = probe_range();
    kiln_arg args[] = { KILN_ARG_U32(1), KILN_ARG_F32(1.0f), KILN_ARG_BUFFER(f->buffer),
                        KILN_ARG_U32(7) };
    assert_int_equal(kiln_launch(f->queue, f->kernel, &r, args, 2, NULL), KILN_ERR_INVALID_ARG);
    assert_true(kiln_last_error()[0] != '\0');
    assert_int_equal(kiln_launch(f->queue, f->kernel, &r, args, 4, NULL), KILN_ERR_INVALID_ARG);
    assert_true(kiln_last_error()[0] != '\0');
}

static void launch_rejects_float_for_uint_param(void **state)
{
    api_fixture *f = *state;
    kiln_range r = probe_range();
    kiln_arg args[] = { KILN_ARG_F32(3.0f), KILN_ARG_F32(1.0f), KILN_ARG_BUFFER(f->buffer) };
    assert_int_equal(kiln_launch(f->queue, f->kernel, &r, args, 3, NULL), KILN_ERR_INVALID_ARG);
    assert_last_error_mentions("count_param");
    assert_last_error_mentions("uint");
    assert_last_error_mentions("float");
}

static void launch_rejects_wider_integer_for_uint_param(void **state)
{
    api_fixture *f = *state;
    kiln_range r = probe_range();
    kiln_arg args[] = { KILN_ARG_U64(3), KILN_ARG_F32(1.0f), KILN_ARG_BUFFER(f->buffer) };
    assert_int_equal(kiln_launch(f->queue, f->kernel, &r, args, 3, NULL), KILN_ERR_INVALID_ARG);
    assert_last_error_mentions("count_param");
    assert_last_error_mentions("uint");
}

static void launch_rejects_scalar_for_buffer_param(void **state)
{
    api_fixture *f = *state;
    kiln_range r = probe_range();
    kiln_arg args[] = { KILN_ARG_U32(1), KILN_ARG_F32(1.0f), KILN_ARG_U64(0x1000) };
    assert_int_equal(kiln_launch(f->queue, f->kernel, &r, args, 3, NULL), KILN_ERR_INVALID_ARG);
    assert_last_error_mentions("out_param");
}

static void launch_rejects_buffer_for_scalar_param(void **state)
{
    api_fixture *f = *state;
    kiln_range r = probe_range();
    kiln_arg args[] = { KILN_ARG_U32(1), KILN_ARG_BUFFER(f->buffer), KILN_ARG_BUFFER(f->buffer) };
    assert_int_equal(kiln_launch(f->queue, f->kernel, &r, args, 3, NULL), KILN_ERR_INVALID_ARG);
    assert_last_error_mentions("scale_param");
    assert_last_error_mentions("float");
}

static void launch_rejects_bad_dimensions(void **state)
{
    api_fixture *f = *state;
    kiln_arg args[] = { KILN_ARG_U32(1), KILN_ARG_F32(1.0f), KILN_ARG_BUFFER(f->buffer) };
    kiln_range none = { .dims = 0, .global = { 1 } };
    kiln_range four = { .dims = 4, .global = { 1, 1, 1 } };
    assert_int_equal(kiln_launch(f->queue, f->kernel, &none, args, 3, NULL), KILN_ERR_INVALID_RANGE);
    assert_int_equal(kiln_launch(f->queue, f->kernel, &four, args, 3, NULL), KILN_ERR_INVALID_RANGE);
}

static void buffer_access_past_end_is_out_of_range(void **state)
{
    api_fixture *f = *state;
    uint8_t host[PROBE_BYTES + 1] = { 0 };
    assert_int_equal(kiln_buffer_read(f->queue, f->buffer, 0, host, PROBE_BYTES + 1),
                     KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(kiln_buffer_read(f->queue, f->buffer, PROBE_BYTES, host, 1),
                     KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(kiln_buffer_write(f->queue, f->buffer, 1, host, PROBE_BYTES),
                     KILN_ERR_OUT_OF_RANGE);
    /* offset + bytes wraps around: must not pass the check. */
    assert_int_equal(kiln_buffer_write(f->queue, f->buffer, SIZE_MAX, host, 2),
                     KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(kiln_buffer_read(f->queue, f->buffer, 8, host, SIZE_MAX - 4),
                     KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(kiln_buffer_fill(f->queue, f->buffer, PROBE_BYTES - 1, 0, 2),
                     KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(kiln_buffer_copy(f->queue, f->buffer, 0, f->buffer, 1, PROBE_BYTES),
                     KILN_ERR_OUT_OF_RANGE);
    /* The exact fit still works. */
    assert_int_equal(kiln_buffer_read(f->queue, f->buffer, 0, host, PROBE_BYTES), KILN_OK);
    assert_int_equal(kiln_buffer_read(f->queue, f->buffer, PROBE_BYTES - 1, host, 1), KILN_OK);
}

static void zero_size_buffer_is_invalid_size(void **state)
{
    api_fixture *f = *state;
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(f->dev, 0, 0, &buf), KILN_ERR_INVALID_SIZE);
    assert_null(buf);
    assert_int_equal(kiln_buffer_create(f->dev, SIZE_MAX, 0, &buf), KILN_ERR_INVALID_SIZE);
    assert_null(buf);
}

static void null_handles_are_refused(void **state)
{
    api_fixture *f = *state;
    uint8_t host[4] = { 0 };
    kiln_buffer *buf = NULL;
    kiln_queue *q = NULL;
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    kiln_device_info info;
    kiln_range r = probe_range();
    kiln_arg args[] = { KILN_ARG_U32(1), KILN_ARG_F32(1.0f), KILN_ARG_BUFFER(f->buffer) };
    assert_int_equal(kiln_context_create(NULL, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_device_get_info(NULL, &info), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_device_get_info(f->dev, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_queue_create(NULL, KILN_PRIORITY_NORMAL, &q), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_queue_finish(NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_buffer_create(NULL, 4, 0, &buf), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_buffer_create(f->dev, 4, 0, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_buffer_write(NULL, f->buffer, 0, host, 4), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_buffer_write(f->queue, NULL, 0, host, 4), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_buffer_write(f->queue, f->buffer, 0, NULL, 4), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_buffer_read(f->queue, NULL, 0, host, 4), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_buffer_read(f->queue, f->buffer, 0, NULL, 4), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_program_build(NULL, probe_source, NULL, &prog), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_program_build(f->dev, NULL, NULL, &prog), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_kernel_get(NULL, "probe", &k), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_kernel_get(f->prog, NULL, &k), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_launch(NULL, f->kernel, &r, args, 3, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_launch(f->queue, NULL, &r, args, 3, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_launch(f->queue, f->kernel, NULL, args, 3, NULL), KILN_ERR_NULL_HANDLE);
    kiln_arg null_buffer[] = { KILN_ARG_U32(1), KILN_ARG_F32(1.0f), KILN_ARG_BUFFER(NULL) };
    kiln_status st = kiln_launch(f->queue, f->kernel, &r, null_buffer, 3, NULL);
    assert_true(st == KILN_ERR_NULL_HANDLE || st == KILN_ERR_INVALID_ARG);
    assert_int_equal(kiln_event_wait(NULL), KILN_ERR_NULL_HANDLE);
    assert_true(kiln_last_error()[0] != '\0');
    /* Destroy and release accept NULL. */
    kiln_buffer_release(NULL);
    kiln_kernel_release(NULL);
    kiln_program_release(NULL);
    kiln_event_release(NULL);
    kiln_queue_destroy(NULL);
    kiln_context_destroy(NULL);
}

static void unknown_kernel_is_not_found(void **state)
{
    api_fixture *f = *state;
    kiln_kernel *k = NULL;
    assert_int_equal(kiln_kernel_get(f->prog, "no_such_kernel", &k), KILN_ERR_NOT_FOUND);
    assert_null(k);
    assert_last_error_mentions("no_such_kernel");
}

static void source_error_names_file_and_line(void **state)
{
    api_fixture *f = *state;
    static const char broken[] = "kernel void broken(global float *y)\n"
                                 "{\n"
                                 "    y[0] = undeclared_name;\n"
                                 "}\n";
    kiln_build_options opts = { .size = sizeof opts, .source_name = "broken.kc" };
    kiln_program *prog = NULL;
    assert_int_equal(kiln_program_build(f->dev, broken, &opts, &prog), KILN_ERR_COMPILE);
    assert_null(prog);
    assert_last_error_mentions("broken.kc:3:");
    assert_last_error_mentions("undeclared_name");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: conformance-api-errors BACKEND\n");
        return 2;
    }
    selected_backend = argv[1];
    srand((unsigned)time(NULL));
    /* An absent backend is a skip, told apart from a broken fixture here. */
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    char selector[64];
    snprintf(selector, sizeof selector, strcmp(argv[1], "cpu") == 0 ? "%s" : "%s:0", argv[1]);
    if (kiln_context_create(&ctx, NULL) != KILN_OK) {
        fprintf(stderr, "kiln_context_create: %s\n", kiln_last_error());
        return 1;
    }
    kiln_status found = kiln_device_find(ctx, selector, &dev);
    kiln_context_destroy(ctx);
    if (found != KILN_OK) {
        printf("SKIP: no %s device\n", argv[1]);
        return SKIP_EXIT_CODE;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(launch_accepts_matching_arguments),
        cmocka_unit_test(launch_rejects_wrong_argument_count),
        cmocka_unit_test(launch_rejects_float_for_uint_param),
        cmocka_unit_test(launch_rejects_wider_integer_for_uint_param),
        cmocka_unit_test(launch_rejects_scalar_for_buffer_param),
        cmocka_unit_test(launch_rejects_buffer_for_scalar_param),
        cmocka_unit_test(launch_rejects_bad_dimensions),
        cmocka_unit_test(buffer_access_past_end_is_out_of_range),
        cmocka_unit_test(zero_size_buffer_is_invalid_size),
        cmocka_unit_test(null_handles_are_refused),
        cmocka_unit_test(unknown_kernel_is_not_found),
        cmocka_unit_test(source_error_names_file_and_line),
    };
    return cmocka_run_group_tests(tests, open_fixture, close_fixture);
}
