/* The public API's contract on the CPU device: handles, sizes, ranges,
 * status names, devices. Kernel-level behaviour is in tests/conformance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <kiln/kiln.h>

#include "test-core-support.h"

/* Every backend kiln finds, the CPU's device used. */
static int open_cpu(void **state)
{
    return core_test_open_cpu(state, NULL);
}

static void status_names_are_the_enum_names(void **state)
{
    (void)state;
    assert_string_equal(kiln_status_name(KILN_OK), "KILN_OK");
    assert_string_equal(kiln_status_name(KILN_ERR_COMPILE), "KILN_ERR_COMPILE");
    assert_string_equal(kiln_status_name(KILN_ERR_OUT_OF_RANGE), "KILN_ERR_OUT_OF_RANGE");
    assert_string_equal(kiln_status_name((kiln_status)-12345), "KILN_ERR_UNKNOWN");
    assert_non_null(kiln_status_message(KILN_ERR_QUOTA));
    assert_string_equal(kiln_version(), "0.1.0");
}

static void destroy_functions_accept_null(void **state)
{
    (void)state;
    kiln_context_destroy(NULL);
    kiln_queue_destroy(NULL);
    kiln_buffer_release(NULL);
    kiln_program_release(NULL);
    kiln_kernel_release(NULL);
    kiln_event_release(NULL);
}

static void context_rejects_wrong_options_size(void **state)
{
    (void)state;
    kiln_context *ctx = NULL;
    kiln_context_options opts = { .size = 3 };
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_ERR_INVALID_ARG);
    assert_null(ctx);
    assert_non_null(strstr(kiln_last_error(), "size"));
    assert_int_equal(kiln_context_create(NULL, NULL), KILN_ERR_NULL_HANDLE);
}

static void cpu_device_is_listed_and_described(void **state)
{
    core_test_fixture *f = *state;
    assert_true(kiln_device_count(f->ctx) >= 1);
    kiln_device_info info;
    assert_int_equal(kiln_device_get_info(f->cpu, &info), KILN_OK);
    assert_int_equal(info.backend, KILN_BACKEND_CPU);
    assert_int_equal(info.kind, KILN_DEVICE_KIND_CPU);
    assert_true(info.memory_bytes > 0);
    assert_true(info.compute_units >= 1);
    assert_true(info.max_work_group_size >= 1);
    assert_int_equal(info.subgroup_size, 1);
    assert_int_equal(info.health, KILN_HEALTH_HEALTHY);
    assert_true(strlen(info.name) > 0);
    kiln_device *dev = NULL;
    assert_int_equal(kiln_device_find(f->ctx, "cpu:0", &dev), KILN_OK);
    assert_ptr_equal(dev, f->cpu);
    assert_int_equal(kiln_device_find(f->ctx, "cpu:7", &dev), KILN_ERR_NOT_FOUND);
    assert_int_equal(kiln_device_find(f->ctx, "tpu:0", &dev), KILN_ERR_INVALID_DEVICE);
    assert_int_equal(kiln_device_find(f->ctx, "cpu:x", &dev), KILN_ERR_INVALID_DEVICE);
    assert_int_equal(kiln_device_get(f->ctx, 1000, &dev), KILN_ERR_INVALID_DEVICE);
}

static void every_backend_is_reported_with_its_outcome(void **state)
{
    core_test_fixture *f = *state;
    uint32_t n = kiln_backend_count(f->ctx);
    assert_true(n >= 1);
    int cpu_seen = 0;
    for (uint32_t i = 0; i < n; i++) {
        kiln_backend_info info;
        assert_int_equal(kiln_backend_get_info(f->ctx, i, &info), KILN_OK);
        if (info.status == KILN_OK) {
            assert_string_equal(info.reason, "");
        } else {
            assert_true(strlen(info.reason) > 0);
            assert_int_equal(info.device_count, 0);
        }
        if (info.backend == KILN_BACKEND_CPU) {
            cpu_seen = 1;
            assert_int_equal(info.status, KILN_OK);
            assert_int_equal(info.device_count, 1);
        }
    }
    assert_true(cpu_seen);
    kiln_backend_info info;
    assert_int_equal(kiln_backend_get_info(f->ctx, n, &info), KILN_ERR_INVALID_ARG);
}

static void context_opens_only_the_backends_asked_for(void **state)
{
    (void)state;
    kiln_context *ctx = NULL;
    kiln_context_options opts = { .size = sizeof opts,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    assert_int_equal(kiln_backend_count(ctx), 1);
    assert_int_equal(kiln_device_count(ctx), 1);
    kiln_context_destroy(ctx);
    setenv("KILN_BACKENDS", "cpu", 1);
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_OK);
    assert_int_equal(kiln_backend_count(ctx), 1);
    kiln_context_destroy(ctx);
    setenv("KILN_BACKENDS", "cpu,warp-drive", 1);
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "warp-drive"));
    unsetenv("KILN_BACKENDS");
}

static void kiln_device_env_overrides_default(void **state)
{
    core_test_fixture *f = *state;
    kiln_device *dev = NULL;
    setenv("KILN_DEVICE", "cpu", 1);
    assert_int_equal(kiln_device_default(f->ctx, &dev), KILN_OK);
    assert_ptr_equal(dev, f->cpu);
    setenv("KILN_DEVICE", "nonsense:3", 1);
    assert_int_equal(kiln_device_default(f->ctx, &dev), KILN_ERR_INVALID_DEVICE);
    assert_non_null(strstr(kiln_last_error(), "KILN_DEVICE"));
    unsetenv("KILN_DEVICE");
    assert_int_equal(kiln_device_default(f->ctx, &dev), KILN_OK);
}

static void buffer_sizes_are_checked(void **state)
{
    core_test_fixture *f = *state;
    kiln_buffer *b = NULL;
    assert_int_equal(kiln_buffer_create(f->cpu, 0, 0, &b), KILN_ERR_INVALID_SIZE);
    assert_null(b);
    assert_int_equal(kiln_buffer_create(f->cpu, SIZE_MAX, 0, &b), KILN_ERR_INVALID_SIZE);
    assert_int_equal(kiln_buffer_create(f->cpu, 64, 0x80, &b), KILN_ERR_INVALID_ARG);
    assert_int_equal(kiln_buffer_create(NULL, 64, 0, &b), KILN_ERR_NULL_HANDLE);
}

static void buffer_round_trip_and_bounds(void **state)
{
    core_test_fixture *f = *state;
    enum { N = 4099 };
    unsigned char src[N], dst[N];
    for (int i = 0; i < N; i++)
        src[i] = (unsigned char)rand();
    kiln_buffer *a = NULL, *b = NULL;
    assert_int_equal(kiln_buffer_create(f->cpu, N, 0, &a), KILN_OK);
    assert_int_equal(kiln_buffer_create(f->cpu, N, 0, &b), KILN_OK);
    assert_int_equal(kiln_buffer_size(a), N);
    assert_int_equal(kiln_buffer_write(f->q, a, 0, src, N), KILN_OK);
    assert_int_equal(kiln_buffer_copy(f->q, b, 3, a, 0, N - 3), KILN_OK);
    assert_int_equal(kiln_buffer_fill(f->q, b, 0, 0xab, 3), KILN_OK);
    assert_int_equal(kiln_buffer_read(f->q, b, 0, dst, N), KILN_OK);
    assert_int_equal(dst[0], 0xab);
    assert_int_equal(dst[2], 0xab);
    assert_memory_equal(dst + 3, src, N - 3);
    /* Past the end, and offsets that would overflow, are refused. */
    assert_int_equal(kiln_buffer_write(f->q, a, 1, src, N), KILN_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(kiln_last_error(), "past the end"));
    assert_int_equal(kiln_buffer_read(f->q, a, SIZE_MAX, dst, 2), KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(kiln_buffer_copy(f->q, b, 0, a, 10, N), KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(kiln_buffer_fill(f->q, b, N, 0, 1), KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(kiln_buffer_read(f->q, a, 0, NULL, 4), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_buffer_write(f->q, a, 0, NULL, 4), KILN_ERR_NULL_HANDLE);
    kiln_buffer_release(a);
    kiln_buffer_release(b);
}

static void released_handles_are_refused(void **state)
{
    core_test_fixture *f = *state;
    kiln_buffer *b = NULL;
    assert_int_equal(kiln_buffer_create(f->cpu, 16, 0, &b), KILN_OK);
    kiln_buffer_release(b);
    /* Forged handle: a block of memory that is not a kiln buffer. */
    uint32_t forged[16] = { 0x12345678u };
    unsigned char byte;
    assert_int_equal(kiln_buffer_read(f->q, (kiln_buffer *)forged, 0, &byte, 1),
                     KILN_ERR_INVALID_HANDLE);
    assert_int_equal(kiln_queue_finish((kiln_queue *)forged), KILN_ERR_INVALID_HANDLE);
    assert_int_equal(kiln_queue_finish(NULL), KILN_ERR_NULL_HANDLE);
}

static void queue_rejects_unknown_priority(void **state)
{
    core_test_fixture *f = *state;
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(f->cpu, (kiln_priority)9, &q), KILN_ERR_INVALID_ARG);
    assert_null(q);
    assert_int_equal(kiln_queue_create(f->cpu, KILN_PRIORITY_HIGH, &q), KILN_OK);
    assert_int_equal(kiln_queue_finish(q), KILN_OK);
    kiln_queue_destroy(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_names_are_the_enum_names),
        cmocka_unit_test(destroy_functions_accept_null),
        cmocka_unit_test(context_rejects_wrong_options_size),
        cmocka_unit_test(context_opens_only_the_backends_asked_for),
        cmocka_unit_test_setup_teardown(cpu_device_is_listed_and_described, open_cpu, core_test_close_cpu),
        cmocka_unit_test_setup_teardown(kiln_device_env_overrides_default, open_cpu, core_test_close_cpu),
        cmocka_unit_test_setup_teardown(every_backend_is_reported_with_its_outcome, open_cpu,
                                        core_test_close_cpu),
        cmocka_unit_test_setup_teardown(buffer_sizes_are_checked, open_cpu, core_test_close_cpu),
        cmocka_unit_test_setup_teardown(buffer_round_trip_and_bounds, open_cpu, core_test_close_cpu),
        cmocka_unit_test_setup_teardown(released_handles_are_refused, open_cpu, core_test_close_cpu),
        cmocka_unit_test_setup_teardown(queue_rejects_unknown_priority, open_cpu, core_test_close_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
