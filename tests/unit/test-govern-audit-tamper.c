/* Every tamper is caught: on a log of about 1000 records written by the
 * real writer, each of edit (one byte), delete, insert, reorder and
 * truncate is applied at random positions many times, and the verifier must
 * never answer OK (nor TORN, which is kept for a crash while writing). A
 * cut inside the last line must be reported as TORN, never as tampering.
 * Runs on an unsigned log (verified without a key) and on a signed one
 * (verified with its public key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "govern/audit_internal.h"
#include "util/fail.h"

#define RECORDS 1000
#define ROUNDS 60

typedef struct log_text {
    char *data;
    size_t length;
    size_t *starts; /* offset of each line */
    size_t lines;
} log_text;

typedef struct fixture {
    log_text log;
    audit_secret_key key;
    bool use_key;
} fixture;

static void write_log(const char *path, const audit_secret_key *key)
{
    audit_options o = { .path = path, .key = key, .checkpoint_every = 50, .manual_ticks = true };
    audit_log *log = NULL;
    assert_int_equal(audit_log_open(&o, &log), KILN_OK);
    audit_slot *slot;
    assert_int_equal(audit_summary_slot(log, "svc\xff\x01", "k\"ernel", 1, &slot), KILN_OK);
    for (int i = 0; i < RECORDS - RECORDS / 50 - 2; i++) {
        char principal[32];
        snprintf(principal, sizeof principal, "user-%u", randombytes_uniform(100));
        audit_event e = { principal, i % 2 ? "kernel.launch" : "buffer.alloc",
                          (int64_t)randombytes_uniform(4) - 1, randombytes_random(), "saxpy",
                          i % 7 != 0, "r", "why", i % 7 ? KILN_OK : KILN_ERR_DENIED, "cpu:0", NULL };
        assert_int_equal(audit_log_append(log, &e), KILN_OK);
        if (i % 97 == 0) {
            audit_summary_count(log, slot, KILN_OK);
            assert_int_equal(audit_log_tick(log, UINT64_MAX / 2 + (uint64_t)i * 2000000000ull),
                             KILN_OK);
        }
    }
    assert_int_equal(audit_log_close(log), KILN_OK);
}

static void load(const char *path, log_text *t)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    t->length = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    t->data = malloc(t->length);
    assert_int_equal(fread(t->data, 1, t->length, f), t->length);
    fclose(f);
    t->lines = 0;
    for (size_t i = 0; i < t->length; i++)
        t->lines += t->data[i] == '\n';
    t->starts = malloc((t->lines + 1) * sizeof *t->starts);
    size_t line = 0;
    t->starts[0] = 0;
    for (size_t i = 0; i < t->length; i++)
        if (t->data[i] == '\n')
            t->starts[++line] = i + 1;
}

static int setup(void **state, bool signed_log)
{
    fixture *fx = calloc(1, sizeof *fx);
    char path[] = "/tmp/kiln-tamper-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(path);
    fx->use_key = signed_log;
    if (signed_log)
        audit_key_generate(&fx->key);
    write_log(path, signed_log ? &fx->key : NULL);
    load(path, &fx->log);
    unlink(path);
    *state = fx;
    return 0;
}

static int setup_unsigned(void **state)
{
    return setup(state, false);
}

static int setup_signed(void **state)
{
    return setup(state, true);
}

static int teardown(void **state)
{
    fixture *fx = *state;
    free(fx->log.data);
    free(fx->log.starts);
    free(fx);
    return 0;
}

static audit_verify_result verify(const fixture *fx, const char *data, size_t length)
{
    audit_verify_result r;
    assert_int_equal(audit_verify_buffer(data, length, "tampered", fx->use_key ? &fx->key.pub : NULL,
                                         fx->use_key, &r),
                     KILN_OK);
    return r;
}

static void assert_caught(const fixture *fx, const char *data, size_t length, const char *what)
{
    audit_verify_result r = verify(fx, data, length);
    if (r.verdict == AUDIT_VERIFY_OK || r.verdict == AUDIT_VERIFY_TORN)
        fail_msg("%s not caught: %s %s", what, audit_verdict_name(r.verdict), r.message);
}

static size_t line_length(const log_text *t, size_t i)
{
    return t->starts[i + 1] - t->starts[i];
}

/* Builds the log with the lines in order[] (indexes into t), count of them. */
static size_t assemble(const log_text *t, const size_t *order, size_t count, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        memcpy(out + n, t->data + t->starts[order[i]], line_length(t, order[i]));
        n += line_length(t, order[i]);
    }
    return n;
}

static void the_untouched_log_verifies(void **state)
{
    fixture *fx = *state;
    assert_true(fx->log.lines >= RECORDS - 30 && fx->log.lines <= RECORDS + 30);
    audit_verify_result r = verify(fx, fx->log.data, fx->log.length);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_int_equal(r.records, fx->log.lines);
    if (fx->use_key)
        assert_true(r.signatures >= RECORDS / 50);
}

static void every_one_byte_edit_is_caught(void **state)
{
    fixture *fx = *state;
    char *copy = malloc(fx->log.length);
    for (int round = 0; round < 4 * ROUNDS; round++) {
        memcpy(copy, fx->log.data, fx->log.length);
        /* Half the rounds edit the last two lines, which no later "prev" covers. */
        size_t tail = fx->log.starts[fx->log.lines - 2];
        size_t at = round % 2 ? tail + randombytes_uniform((uint32_t)(fx->log.length - tail))
                              : randombytes_uniform((uint32_t)fx->log.length);
        copy[at] = (char)(copy[at] ^ (1 + randombytes_uniform(255)));
        char what[64];
        snprintf(what, sizeof what, "edit at byte %zu", at);
        assert_caught(fx, copy, fx->log.length, what);
    }
    free(copy);
}

static void every_deleted_record_is_caught(void **state)
{
    fixture *fx = *state;
    size_t *order = malloc(fx->log.lines * sizeof *order);
    char *copy = malloc(fx->log.length);
    for (int round = 0; round < ROUNDS; round++) {
        size_t gone = round == 0 ? 0 : round == 1 ? fx->log.lines - 1
                                                  : randombytes_uniform((uint32_t)fx->log.lines);
        size_t count = 0;
        for (size_t i = 0; i < fx->log.lines; i++)
            if (i != gone)
                order[count++] = i;
        char what[64];
        snprintf(what, sizeof what, "deletion of line %zu", gone + 1);
        assert_caught(fx, copy, assemble(&fx->log, order, count, copy), what);
    }
    free(order);
    free(copy);
}

static void every_inserted_record_is_caught(void **state)
{
    fixture *fx = *state;
    size_t *order = malloc((fx->log.lines + 1) * sizeof *order);
    char *copy = malloc(2 * fx->log.length);
    for (int round = 0; round < ROUNDS; round++) {
        size_t source = randombytes_uniform((uint32_t)fx->log.lines);
        /* Right after itself (a duplicate) every few rounds, else anywhere. */
        size_t at = round % 4 == 0 ? source + 1 : randombytes_uniform((uint32_t)fx->log.lines + 1);
        size_t count = 0;
        for (size_t i = 0; i <= fx->log.lines; i++) {
            if (i == at)
                order[count++] = source;
            if (i < fx->log.lines)
                order[count++] = i;
        }
        char what[64];
        snprintf(what, sizeof what, "copy of line %zu inserted before line %zu", source + 1, at + 1);
        assert_caught(fx, copy, assemble(&fx->log, order, count, copy), what);
    }
    free(order);
    free(copy);
}

static void every_reordering_is_caught(void **state)
{
    fixture *fx = *state;
    size_t *order = malloc(fx->log.lines * sizeof *order);
    char *copy = malloc(fx->log.length);
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < fx->log.lines; i++)
            order[i] = i;
        size_t a = randombytes_uniform((uint32_t)fx->log.lines), b;
        /* Neighbours every few rounds, else any two lines. */
        if (round % 3 == 0)
            b = a + 1 < fx->log.lines ? a + 1 : a - 1;
        else
            do
                b = randombytes_uniform((uint32_t)fx->log.lines);
            while (b == a);
        order[a] = b;
        order[b] = a;
        char what[64];
        snprintf(what, sizeof what, "lines %zu and %zu swapped", a + 1, b + 1);
        assert_caught(fx, copy, assemble(&fx->log, order, fx->log.lines, copy), what);
    }
    free(order);
    free(copy);
}

static void every_truncation_at_a_line_end_is_caught(void **state)
{
    fixture *fx = *state;
    for (int round = 0; round < ROUNDS; round++) {
        size_t keep = round == 0 ? fx->log.lines - 1 : randombytes_uniform((uint32_t)fx->log.lines);
        audit_verify_result r = verify(fx, fx->log.data, fx->log.starts[keep]);
        if (r.verdict != AUDIT_VERIFY_UNCLOSED)
            fail_msg("truncation to %zu lines: %s %s", keep, audit_verdict_name(r.verdict),
                     r.message);
        assert_int_equal(r.records, keep);
    }
}

static void a_cut_inside_the_last_line_is_torn_not_tampering(void **state)
{
    fixture *fx = *state;
    for (int round = 0; round < ROUNDS; round++) {
        size_t line = round == 0 ? fx->log.lines - 1 : randombytes_uniform((uint32_t)fx->log.lines);
        size_t cut = fx->log.starts[line] + 1 + randombytes_uniform((uint32_t)line_length(&fx->log, line) - 1);
        audit_verify_result r = verify(fx, fx->log.data, cut);
        if (r.verdict != AUDIT_VERIFY_TORN)
            fail_msg("cut at byte %zu (line %zu): %s %s", cut, line + 1,
                     audit_verdict_name(r.verdict), r.message);
        assert_int_equal(r.records, line);
    }
}

#define TAMPER_TESTS(setup_fn)                                                              \
    cmocka_unit_test_setup_teardown(the_untouched_log_verifies, setup_fn, teardown),        \
    cmocka_unit_test_setup_teardown(every_one_byte_edit_is_caught, setup_fn, teardown),     \
    cmocka_unit_test_setup_teardown(every_deleted_record_is_caught, setup_fn, teardown),    \
    cmocka_unit_test_setup_teardown(every_inserted_record_is_caught, setup_fn, teardown),   \
    cmocka_unit_test_setup_teardown(every_reordering_is_caught, setup_fn, teardown),        \
    cmocka_unit_test_setup_teardown(every_truncation_at_a_line_end_is_caught, setup_fn,     \
                                    teardown),                                              \
    cmocka_unit_test_setup_teardown(a_cut_inside_the_last_line_is_torn_not_tampering,       \
                                    setup_fn, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = { TAMPER_TESTS(setup_unsigned), TAMPER_TESTS(setup_signed) };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
