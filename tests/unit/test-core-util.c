/* src/util: the thread-local error detail (short, long, truncated, cleared)
 * and the growing compiler-log buffer (appends, formatted lines cut at their
 * line limit, NULL and empty input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/fail.h"
#include "util/log_buffer.h"

/* fail.c keeps details shorter than this inline; util_fail formats into a
 * buffer of the same size. log_buffer.c formats one line into LINE bytes. */
#define FAIL_INLINE 1024
#define LOG_LINE 1024
#define LONG_TEXT 5000

static void random_text(char *buf, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        buf[i] = (char)('a' + rand() % 26);
    buf[n - 1] = '\0';
}

static void long_details_are_kept_whole_and_cleared(void **state)
{
    (void)state;
    static char text[LONG_TEXT];
    random_text(text, sizeof text);
    assert_int_equal(util_fail_text(KILN_ERR_COMPILE, text), KILN_ERR_COMPILE);
    assert_string_equal(util_last_error(), text);
    /* A short detail after a long one replaces it. */
    assert_int_equal(util_fail(KILN_ERR_IO, "short %d", 42), KILN_ERR_IO);
    assert_string_equal(util_last_error(), "short 42");
    assert_int_equal(util_fail_text(KILN_ERR_COMPILE, text), KILN_ERR_COMPILE);
    util_clear_error();
    assert_string_equal(util_last_error(), "");
    assert_int_equal(util_fail_text(KILN_ERR_INTERNAL, NULL), KILN_ERR_INTERNAL);
    assert_string_equal(util_last_error(), "");
    /* Formatted details stop at the inline size. */
    assert_int_equal(util_fail(KILN_ERR_INVALID_ARG, "%s", text), KILN_ERR_INVALID_ARG);
    assert_int_equal(strlen(util_last_error()), FAIL_INLINE - 1);
    assert_memory_equal(util_last_error(), text, FAIL_INLINE - 1);
    util_clear_error();
    assert_string_equal(util_last_error(), "");
}

static void log_grows_and_cuts_long_lines(void **state)
{
    (void)state;
    port_log log = { 0 };
    static char expected[LONG_TEXT * 2];
    size_t n = 0;
    /* Random-length pieces across several doublings of the capacity. */
    while (n < LONG_TEXT) {
        char piece[100];
        size_t len = 1 + (size_t)rand() % (sizeof piece - 1);
        random_text(piece, len + 1);
        util_log_append(&log, piece, len);
        memcpy(expected + n, piece, len);
        n += len;
        expected[n] = '\0';
        assert_int_equal(log.length, n);
        assert_true(log.capacity > n);
        assert_string_equal(log.text, expected);
    }
    util_log_append(&log, "ignored", 0);
    util_log_append(&log, NULL, 3);
    util_log_append(NULL, "x", 1);
    assert_int_equal(log.length, n);
    util_log_appendf(&log, "[%d:%s]", 7, "ok");
    assert_string_equal(log.text + n, "[7:ok]");
    n += strlen("[7:ok]");
    /* A formatted line longer than the line buffer keeps its first part. */
    static char line[LONG_TEXT];
    random_text(line, sizeof line);
    util_log_appendf(&log, "%s", line);
    assert_int_equal(log.length, n + LOG_LINE - 1);
    assert_memory_equal(log.text + n, line, LOG_LINE - 1);
    util_log_appendf(&log, "%s", ""); /* nothing to add */
    assert_int_equal(log.length, n + LOG_LINE - 1);
    util_log_free(&log);
    assert_null(log.text);
    assert_int_equal(log.length, 0);
    assert_int_equal(log.capacity, 0);
    util_log_free(NULL);
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_details_are_kept_whole_and_cleared),
        cmocka_unit_test(log_grows_and_cuts_long_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
