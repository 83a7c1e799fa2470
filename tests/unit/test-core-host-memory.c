/* Host buffers (page-locked host memory) on every device present: their
 * memory is ordinary host memory to the caller and to kiln_buffer_write and
 * kiln_buffer_read, and bad sizes and handles are refused. */
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

/* Largest random host buffer: big enough to span many pages. */
#define HOST_TEST_MAX_BYTES (1u << 20)
/* Round trips per device, each on fresh sizes and bytes. */
#define HOST_TEST_ROUNDS 4

static void seed_random(void)
{
    const char *fixed = getenv("KILN_TEST_SEED");
    unsigned seed = fixed ? (unsigned)strtoul(fixed, NULL, 10)
                          : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    printf("# seed %u (set KILN_TEST_SEED to replay)\n", seed);
    srand(seed);
}

static size_t random_below(size_t n)
{
    return n ? (size_t)rand() % n : 0;
}

static void random_bytes(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)rand();
}

/* Host buffer -> device buffer -> another host buffer, compared. */
static void round_trip(kiln_device *dev, kiln_queue *q)
{
    size_t bytes = 1 + random_below(HOST_TEST_MAX_BYTES);
    kiln_host_buffer *src = NULL, *dst = NULL;
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_host_buffer_create(dev, bytes, &src), KILN_OK);
    assert_int_equal(kiln_host_buffer_create(dev, bytes, &dst), KILN_OK);
    assert_int_equal(kiln_host_buffer_size(src), bytes);
    unsigned char *in = kiln_host_buffer_data(src);
    unsigned char *out = kiln_host_buffer_data(dst);
    assert_non_null(in);
    assert_non_null(out);
    assert_ptr_not_equal(in, out);
    random_bytes(in, bytes);
    memset(out, 0, bytes);
    assert_int_equal(kiln_buffer_create(dev, bytes, 0, &buf), KILN_OK);
    assert_int_equal(kiln_buffer_write(q, buf, 0, in, bytes), KILN_OK);
    assert_int_equal(kiln_buffer_read(q, buf, 0, out, bytes), KILN_OK);
    assert_memory_equal(in, out, bytes);

    /* A part at an odd offset, from the middle of the host buffer. */
    size_t offset = random_below(bytes);
    size_t length = 1 + random_below(bytes - offset);
    random_bytes(in + offset, length);
    assert_int_equal(kiln_buffer_write(q, buf, offset, in + offset, length), KILN_OK);
    assert_int_equal(kiln_buffer_read(q, buf, offset, out + offset, length), KILN_OK);
    assert_memory_equal(in, out, bytes);

    kiln_buffer_release(buf);
    kiln_host_buffer_release(src);
    kiln_host_buffer_release(dst);
}

static void host_buffers_round_trip_on_every_device(void **state)
{
    (void)state;
    seed_random();
    kiln_context *ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_OK);
    uint32_t count = kiln_device_count(ctx);
    assert_true(count >= 1); /* the CPU is always there */
    for (uint32_t i = 0; i < count; i++) {
        kiln_device *dev = NULL;
        kiln_queue *q = NULL;
        kiln_device_info info;
        assert_int_equal(kiln_device_get(ctx, i, &dev), KILN_OK);
        assert_int_equal(kiln_device_get_info(dev, &info), KILN_OK);
        assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
        for (int round = 0; round < HOST_TEST_ROUNDS; round++)
            round_trip(dev, q);
        kiln_queue_destroy(q);
        printf("# host buffers ran on %s:%u (%s)\n", kiln_backend_name(info.backend),
               info.backend_index, info.name);
    }
    kiln_context_destroy(ctx);
}

static void host_buffers_refuse_bad_sizes(void **state)
{
    (void)state;
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_OK);
    uint32_t count = kiln_device_count(ctx);
    for (uint32_t i = 0; i < count; i++) {
        assert_int_equal(kiln_device_get(ctx, i, &dev), KILN_OK);
        kiln_host_buffer *hb = (kiln_host_buffer *)&hb;
        assert_int_equal(kiln_host_buffer_create(dev, 0, &hb), KILN_ERR_INVALID_SIZE);
        assert_null(hb);
        hb = (kiln_host_buffer *)&hb;
        assert_int_equal(kiln_host_buffer_create(dev, SIZE_MAX, &hb), KILN_ERR_INVALID_SIZE);
        assert_null(hb);
        assert_non_null(strstr(kiln_last_error(), "memory"));
    }
    kiln_context_destroy(ctx);
}

static void host_buffers_refuse_null_and_foreign_handles(void **state)
{
    (void)state;
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    kiln_queue *q = NULL;
    kiln_buffer *buf = NULL;
    kiln_host_buffer *hb = NULL;
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    assert_int_equal(kiln_buffer_create(dev, 64, 0, &buf), KILN_OK);

    assert_int_equal(kiln_host_buffer_create(NULL, 64, &hb), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_host_buffer_create(dev, 64, NULL), KILN_ERR_NULL_HANDLE);
    /* A handle of another type is not a device. */
    assert_int_equal(kiln_host_buffer_create((kiln_device *)q, 64, &hb), KILN_ERR_INVALID_HANDLE);
    assert_null(hb);

    assert_null(kiln_host_buffer_data(NULL));
    assert_int_equal(kiln_host_buffer_size(NULL), 0);
    /* A device buffer is not a host buffer: refused, not read. */
    assert_null(kiln_host_buffer_data((const kiln_host_buffer *)buf));
    assert_int_equal(kiln_last_error()[0] != '\0', 1);
    assert_int_equal(kiln_host_buffer_size((const kiln_host_buffer *)buf), 0);
    kiln_host_buffer_release((kiln_host_buffer *)buf); /* ignored: not a host buffer */
    assert_int_equal(kiln_buffer_size(buf), 64);
    kiln_host_buffer_release(NULL);

    kiln_buffer_release(buf);
    kiln_queue_destroy(q);
    kiln_context_destroy(ctx);
}

/* A backend whose memory port has no page-locked allocation (the port
 * allows that) gives KILN_ERR_NOT_IMPLEMENTED naming the device. The CPU
 * device is re-pointed at a copy of its ports without host_alloc. */
static void host_buffers_absent_from_a_backend_are_not_implemented(void **state)
{
    (void)state;
    kiln_context_options opts = { .size = sizeof opts, .flags = KILN_CONTEXT_NO_DISK_CACHE,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    const port_backend_ops *real = dev->ops;
    port_backend_ops ops = *real;
    port_memory memory = *real->memory;
    memory.host_alloc = NULL;
    memory.host_free = NULL;
    ops.memory = &memory;
    dev->ops = &ops;
    kiln_host_buffer *hb = (kiln_host_buffer *)&hb;
    assert_int_equal(kiln_host_buffer_create(dev, 4096, &hb), KILN_ERR_NOT_IMPLEMENTED);
    assert_null(hb);
    char expected[KILN_NAME_MAX + 64];
    snprintf(expected, sizeof expected, "device '%s' has no page-locked host memory",
             dev->info.name);
    assert_string_equal(kiln_last_error(), expected);
    dev->ops = real;
    assert_int_equal(kiln_host_buffer_create(dev, 4096, &hb), KILN_OK);
    assert_int_equal(kiln_host_buffer_size(hb), 4096);
    kiln_host_buffer_release(hb);
    kiln_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_buffers_round_trip_on_every_device),
        cmocka_unit_test(host_buffers_refuse_bad_sizes),
        cmocka_unit_test(host_buffers_refuse_null_and_foreign_handles),
        cmocka_unit_test(host_buffers_absent_from_a_backend_are_not_implemented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
