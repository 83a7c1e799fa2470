/* Audit log and verifier edges: segments of two different logs spliced
 * together, a closed segment followed by another, a last line that is no
 * record, a segment that cannot be read, a log path that cannot be
 * examined; and the scheduler's argument checks. A verifier that could
 * read everything returns KILN_OK and tells what it found in the verdict,
 * message, file and line; the other refusals by status and detail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "govern/audit.h"
#include "govern/sched.h"
#include "util/fail.h"
#include "test-temp-dir.h"

/* Room for the temp dir, a name and a ".N" segment suffix. */
#define PATH_TEXT (TEST_TEMP_DIR_MAX + 64)

static void temp_path(char out[PATH_TEXT], const char *name)
{
    snprintf(out, PATH_TEXT, "%s/%s", test_temp_dir, name);
}

/* A log at path with a random number of events, rotated once: segment 0
 * at PATH.0, the closed segment 1 at PATH. */
static void make_rotated_log(const char *path)
{
    audit_options o = { .path = path, .manual_ticks = true, .rotate_bytes = UINT64_MAX };
    audit_log *log = NULL;
    assert_int_equal(audit_log_open(&o, &log), KILN_OK);
    uint32_t events = 1 + randombytes_uniform(5);
    for (uint32_t i = 0; i < events; i++) {
        audit_event e = { .principal = "alice", .action = "kernel.launch", .device = 0,
                          .allowed = true, .rule = "r1", .reason = "allowed",
                          .outcome = KILN_OK, .ran_on = "cpu:0" };
        assert_int_equal(audit_log_append(log, &e), KILN_OK);
    }
    assert_int_equal(audit_log_rotate(log), KILN_OK);
    assert_int_equal(audit_log_segment(log), 1);
    assert_int_equal(audit_log_close(log), KILN_OK);
}

static void test_spliced_segments(void **state)
{
    (void)state;
    char a[PATH_TEXT], b[PATH_TEXT], a0[PATH_TEXT + 8];
    temp_path(a, "a.log");
    temp_path(b, "b.log");
    make_rotated_log(a);
    make_rotated_log(b);
    snprintf(a0, sizeof a0, "%s.0", a);

    audit_verify_result r;
    const char *whole[] = { a0, a };
    assert_int_equal(audit_verify_files(whole, 2, NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_int_equal(r.segments, 2);

    /* Segment 1 of another log after segment 0 of this one: the chain breaks. */
    const char *spliced[] = { a0, b };
    assert_int_equal(audit_verify_files(spliced, 2, NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_LINK);
    assert_string_equal(r.file, b);
    assert_int_equal(r.line, 1);

    /* A closed (not rotated) segment followed by another. */
    const char *after_close[] = { a, b };
    assert_int_equal(audit_verify_files(after_close, 2, NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_LINK);
    assert_string_equal(r.file, a);
    assert_non_null(strstr(r.message, "does not end with a rotation checkpoint, yet another"));
}

static void test_unreadable(void **state)
{
    (void)state;
    audit_verify_result r;
    /* A directory opens but cannot be read. */
    const char *dir[] = { test_temp_dir };
    assert_int_equal(audit_verify_files(dir, 1, NULL, 0, &r), KILN_ERR_AUDIT);
    assert_int_equal(r.verdict, AUDIT_VERIFY_IO);
    assert_non_null(strstr(util_last_error(), "cannot read"));
    assert_non_null(strstr(util_last_error(), test_temp_dir));

    /* A log whose path runs through a regular file cannot be examined. */
    char file[PATH_TEXT], path[PATH_TEXT + 8];
    temp_path(file, "plain");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/log", file);
    audit_options o = { .path = path, .manual_ticks = true };
    audit_log *log = (audit_log *)&log;
    assert_int_equal(audit_log_open(&o, &log), KILN_ERR_AUDIT);
    assert_null(log);
    assert_non_null(strstr(util_last_error(), "audit log: cannot examine"));
    assert_non_null(strstr(util_last_error(), "plain/log"));

    assert_int_equal(audit_log_open(&o, NULL), KILN_ERR_NULL_HANDLE);
    assert_string_equal(util_last_error(), "audit open: out is NULL");
}

static void test_bad_last_line(void **state)
{
    (void)state;
    /* Random letters, no newline: not a record. */
    char junk[33];
    for (size_t i = 0; i + 1 < sizeof junk; i++)
        junk[i] = (char)('a' + randombytes_uniform(26));
    junk[sizeof junk - 1] = '\0';
    audit_verify_result r;
    assert_int_equal(audit_verify_buffer(junk, strlen(junk), "junk", NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_RECORD);
    assert_int_equal(r.line, 1);
    assert_string_equal(r.file, "junk");
    assert_non_null(strstr(r.message, "last line (no newline) is not a record"));
}

/* The whole of a file, NUL-terminated; the caller frees it. */
static char *read_all(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    text[n] = '\0';
    *length = (size_t)n;
    return text;
}

typedef struct field_edit {
    const char *from, *to; /* text of one field in an event record, and its replacement */
    const char *message;   /* a part of the verifier's message */
} field_edit;

/* One field of an event record edited to the wrong kind or name: the
 * verifier names the record, the field and what it should be. */
static void test_schema_edits(void **state)
{
    (void)state;
    static const field_edit edits[] = {
        { "\"principal\":\"alice\"", "\"principal\":7", "\"principal\" is not text" },
        { "\"device\":0", "\"device\":\"x\"", "\"device\" is not an integer" },
        { "\"policy\":\"\"", "\"policy\":\"zz\"", "\"policy\" is not 64 hex digits or \"\"" },
        { "\"principal\":\"alice\"", "\"principak\":\"alice\"",
          "is \"principak\", expected \"principal\"" },
    };
    char path[PATH_TEXT];
    temp_path(path, "edit.log");
    audit_options o = { .path = path, .manual_ticks = true, .rotate_bytes = UINT64_MAX };
    audit_log *log = NULL;
    assert_int_equal(audit_log_open(&o, &log), KILN_OK);
    audit_event e = { .principal = "alice", .action = "kernel.launch", .device = 0,
                      .allowed = true, .rule = "r1", .reason = "allowed", .outcome = KILN_OK,
                      .ran_on = "cpu:0" };
    assert_int_equal(audit_log_append(log, &e), KILN_OK);
    assert_int_equal(audit_log_close(log), KILN_OK);
    size_t length;
    char *text = read_all(path, &length);
    audit_verify_result r;
    assert_int_equal(audit_verify_buffer(text, length, "edit.log", NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const char *at = strstr(text, edits[i].from);
        if (!at)
            fail_msg("edit %zu: '%s' not in the log", i, edits[i].from);
        size_t head = (size_t)(at - text), from = strlen(edits[i].from), to = strlen(edits[i].to);
        char *edited = malloc(length - from + to + 1);
        assert_non_null(edited);
        memcpy(edited, text, head);
        memcpy(edited + head, edits[i].to, to);
        memcpy(edited + head + to, at + from, length - head - from + 1);
        size_t edited_length = length - from + to;
        /* The line the edit is on, counted from 1. */
        uint64_t line = 1;
        for (size_t k = 0; k < head; k++)
            line += text[k] == '\n';
        assert_int_equal(audit_verify_buffer(edited, edited_length, "edit.log", NULL, 0, &r),
                         KILN_OK);
        if (r.verdict != AUDIT_VERIFY_BAD_RECORD || r.line != line ||
            !strstr(r.message, edits[i].message))
            fail_msg("edit %zu: verdict %s, line %llu, message '%s'", i,
                     audit_verdict_name(r.verdict), (unsigned long long)r.line, r.message);
        free(edited);
    }
    free(text);
}

static void test_sched_arguments(void **state)
{
    (void)state;
    sched *s = NULL;
    assert_int_equal(sched_create(NULL, &s), KILN_OK);
    sched_principal_stats stats;
    assert_int_equal(sched_principal_stats_get(NULL, "alice", &stats), KILN_ERR_NULL_HANDLE);
    assert_string_equal(util_last_error(), "sched_principal_stats_get: an argument is NULL");
    assert_int_equal(sched_principal_stats_get(s, NULL, &stats), KILN_ERR_NULL_HANDLE);
    assert_int_equal(sched_principal_stats_get(s, "alice", NULL), KILN_ERR_NULL_HANDLE);
    sched_destroy(s);
}

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : test_temp_dir_make("kiln-govcov-audit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spliced_segments),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_bad_last_line),
        cmocka_unit_test(test_schema_edits),
        cmocka_unit_test(test_sched_arguments),
    };
    return cmocka_run_group_tests(tests, setup, test_temp_dir_remove);
}
