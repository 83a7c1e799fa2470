/* Memory hygiene (docs/security.md): in a governed context a new buffer
 * never shows the bytes of the principal that had its memory before, and a
 * buffer that could not be zeroed is not handed out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kiln/kiln.h>

#include "backends/cpu/cpu_internal.h"
#include "core/core_types.h"
#include "test-session-support.h"

/* Sizes the hygiene test reuses: small ones that the allocator hands back
 * from its bins, one that is not a multiple of anything, one large enough
 * to be mapped. */
static const size_t hygiene_sizes[] = { 64, 4096, 65536 + 13, 1 << 20 };
#define HYGIENE_ROUNDS 8
#define OLD_OWNER_BYTE 0xa5

/* The address the CPU adapter's memory has (port_mem of cpu_internal.h). */
static const void *port_address(const kiln_buffer *b)
{
    return b->mem->data;
}

static void a_new_owner_never_reads_the_old_owners_bytes(void **state)
{
    (void)state;
    char rules[1024];
    snprintf(rules, sizeof rules, "%s%s", open_sessions_rule, cpu_for_all_rule);
    write_policy(rules, "");
    kiln_context *ctx = open_context(policy_path, NULL);
    kiln_session *alice = open_session(ctx, "alice", NULL, 0);
    kiln_session *bob = open_session(ctx, "bob", NULL, 0);
    kiln_queue *qa = NULL, *qb = NULL;
    assert_int_equal(kiln_queue_create(view_of(alice), KILN_PRIORITY_NORMAL, &qa), KILN_OK);
    assert_int_equal(kiln_queue_create(view_of(bob), KILN_PRIORITY_NORMAL, &qb), KILN_OK);
    uint8_t *seen = malloc(hygiene_sizes[3]);
    assert_non_null(seen);
    int reused = 0;
    for (size_t s = 0; s < sizeof hygiene_sizes / sizeof hygiene_sizes[0]; s++) {
        size_t bytes = hygiene_sizes[s];
        for (int round = 0; round < HYGIENE_ROUNDS; round++) {
            kiln_buffer *old = NULL, *fresh = NULL;
            assert_int_equal(kiln_buffer_create(view_of(alice), bytes, 0, &old), KILN_OK);
            assert_int_equal(kiln_buffer_fill(qa, old, 0, OLD_OWNER_BYTE, bytes), KILN_OK);
            const void *where = port_address(old);
            kiln_buffer_release(old);
            assert_int_equal(kiln_buffer_create(view_of(bob), bytes, 0, &fresh), KILN_OK);
            reused += port_address(fresh) == where;
            memset(seen, OLD_OWNER_BYTE, bytes);
            assert_int_equal(kiln_buffer_read(qb, fresh, 0, seen, bytes), KILN_OK);
            for (size_t i = 0; i < bytes; i++)
                if (seen[i] != 0)
                    fail_msg("%zu-byte buffer, round %d: byte %zu is 0x%02x", bytes, round, i,
                             seen[i]);
            kiln_buffer_release(fresh);
        }
    }
#if !defined(__SANITIZE_ADDRESS__)
    /* The allocator really handed alice's memory to bob (AddressSanitizer
     * holds freed memory back, so only without it). */
    assert_true(reused > 0);
#endif
    print_message("hygiene: %d of %zu allocations got the previous owner's memory back\n", reused,
                  HYGIENE_ROUNDS * sizeof hygiene_sizes / sizeof hygiene_sizes[0]);
    free(seen);
    kiln_queue_destroy(qa);
    kiln_queue_destroy(qb);
    assert_int_equal(kiln_session_close(alice), KILN_OK);
    assert_int_equal(kiln_session_close(bob), KILN_OK);
    kiln_context_destroy(ctx);
}

/* A buffer that could not be zeroed is not handed out: its memory is freed
 * (the sanitizer build checks for a leak), the error is returned and the
 * allocation is recorded with it; the next allocation zeroes again. */
static void a_failed_zeroing_hands_out_nothing_and_is_recorded(void **state)
{
    (void)state;
    write_policy("  - name: all-for-all\n"
                 "    effect: allow\n"
                 "    principals: [\"*\"]\n"
                 "    devices: [\"*\"]\n"
                 "    actions: [session.open, device.use, buffer.alloc, buffer.copy]\n",
                 "");
    kiln_context *ctx = open_fault_context(policy_path, log_path);
    kiln_session *alice = open_session(ctx, "alice", NULL, 0);
    kiln_buffer *b = NULL;
    test_fault_plan("calls=memory.fill;count=1;status=device");
    assert_int_equal(kiln_buffer_create(view_of(alice), 4096, 0, &b), KILN_ERR_DEVICE);
    assert_null(b);
    assert_non_null(strstr(kiln_last_error(), "could not zero a new buffer of 4096 bytes"));
    kiln_session_info info;
    assert_int_equal(kiln_session_get_info(alice, &info), KILN_OK);
    assert_int_equal(info.live_objects, 0);
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(view_of(alice), KILN_PRIORITY_NORMAL, &q), KILN_OK);
    assert_int_equal(kiln_buffer_create(view_of(alice), 4096, 0, &b), KILN_OK);
    uint8_t bytes[4096];
    memset(bytes, OLD_OWNER_BYTE, sizeof bytes);
    assert_int_equal(kiln_buffer_read(q, b, 0, bytes, sizeof bytes), KILN_OK);
    for (size_t i = 0; i < sizeof bytes; i++)
        assert_int_equal(bytes[i], 0);
    kiln_buffer_release(b);
    kiln_queue_destroy(q);
    assert_int_equal(kiln_session_close(alice), KILN_OK);
    kiln_context_destroy(ctx);
    fault_plan_clear();
    assert_log_verifies();
    assert_int_equal(log_lines_with("\"principal\":\"alice\"", "\"action\":\"buffer.alloc\"",
                                    "\"outcome\":\"KILN_ERR_DEVICE\"", NULL),
                     1);
}

static int setup(void **state)
{
    (void)state;
    return session_test_setup("kiln-hygiene");
}

/* Host buffers (page-locked memory through the adapter) are zeroed as well:
 * alice's pattern never reaches bob, and a live host buffer keeps its
 * session open. */
static void a_new_owner_never_reads_the_old_owners_host_bytes(void **state)
{
    (void)state;
    char rules[1024];
    snprintf(rules, sizeof rules, "%s%s", open_sessions_rule, cpu_for_all_rule);
    write_policy(rules, "");
    kiln_context *ctx = open_context(policy_path, NULL);
    kiln_session *alice = open_session(ctx, "alice", NULL, 0);
    kiln_session *bob = open_session(ctx, "bob", NULL, 0);
    for (size_t s = 0; s < sizeof hygiene_sizes / sizeof hygiene_sizes[0]; s++) {
        size_t bytes = hygiene_sizes[s];
        for (int round = 0; round < HYGIENE_ROUNDS; round++) {
            kiln_host_buffer *old = NULL, *fresh = NULL;
            assert_int_equal(kiln_host_buffer_create(view_of(alice), bytes, &old), KILN_OK);
            memset(kiln_host_buffer_data(old), OLD_OWNER_BYTE, bytes);
            assert_int_equal(kiln_session_close(alice), KILN_ERR_IN_USE);
            kiln_host_buffer_release(old);
            assert_int_equal(kiln_host_buffer_create(view_of(bob), bytes, &fresh), KILN_OK);
            const uint8_t *seen = kiln_host_buffer_data(fresh);
            for (size_t i = 0; i < bytes; i++)
                if (seen[i] != 0)
                    fail_msg("%zu-byte host buffer, round %d: byte %zu is 0x%02x", bytes, round,
                             i, seen[i]);
            kiln_host_buffer_release(fresh);
        }
    }
    assert_int_equal(kiln_session_close(alice), KILN_OK);
    assert_int_equal(kiln_session_close(bob), KILN_OK);
    kiln_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_new_owner_never_reads_the_old_owners_bytes),
        cmocka_unit_test(a_new_owner_never_reads_the_old_owners_host_bytes),
        cmocka_unit_test_setup(a_failed_zeroing_hands_out_nothing_and_is_recorded, fresh_log),
    };
    return cmocka_run_group_tests(tests, setup, test_temp_dir_remove);
}
