/* The verifier's rules one by one, on records forged with the writer's own
 * encoder (so that each line is well-formed and only the rule under test is
 * broken): where log.open may stand and what it must say, segment links,
 * checkpoint keys and signatures, versions, what may follow a closing or
 * rotation checkpoint, empty and torn segments, unreadable files, and the
 * writer's own refusals (a damaged rotated segment, a log that is not a
 * file, the background flush). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "govern/audit_log_impl.h"
#include "util/fail.h"

/* A log under construction: the chain state and the text so far. */
typedef struct forge {
    audit_head head;
    uint64_t checkpoint_base; /* seq of the last checkpoint + 1 */
    char text[1 << 16];
    size_t length;
} forge;

static void forge_line(forge *f, void (*encode)(audit_json *, const audit_head *, const void *),
                       const void *arg)
{
    audit_json j;
    audit_json_begin(&j, f->text + f->length, sizeof f->text - f->length - 1);
    encode(&j, &f->head, arg);
    audit_sha256(j.data, j.length, f->head.prev);
    f->text[f->length + j.length] = '\n';
    f->length += j.length + 1;
    f->head.seq++;
}

static void encode_open(audit_json *j, const audit_head *h, const void *arg)
{
    audit_encode_open(j, h, arg);
}

static void encode_event(audit_json *j, const audit_head *h, const void *arg)
{
    audit_encode_event(j, h, 1764170000000000000ull, 1, arg);
}

static void encode_checkpoint(audit_json *j, const audit_head *h, const void *arg)
{
    audit_encode_checkpoint(j, h, arg);
}

static void put_open(forge *f, uint64_t segment, const char *after, const char *key)
{
    audit_open_fields o = { 1764170000000000000ull, 1, segment, after, 0, NULL, key, 42 };
    forge_line(f, encode_open, &o);
}

static void put_event(forge *f)
{
    static const audit_event e = { "p", "kernel.launch", 0, 0, "k", true, "r", "why", KILN_OK,
                                   "cpu:0", NULL };
    forge_line(f, encode_event, &e);
}

static void put_checkpoint(forge *f, const char *close, const audit_secret_key *key)
{
    uint8_t sig[AUDIT_SIGNATURE_BYTES];
    audit_checkpoint_fields c = { f->head.seq - f->checkpoint_base, close,
                                  key ? key->pub.id : AUDIT_UNSIGNED_KEY, NULL };
    if (key) {
        char message[AUDIT_SIGNED_MAX];
        size_t n = audit_signed_message(f->head.seq, f->head.prev, c.count, close, message);
        crypto_sign_detached(sig, NULL, (const unsigned char *)message, n, key->bytes);
        c.signature = sig;
    }
    forge_line(f, encode_checkpoint, &c);
    f->checkpoint_base = f->head.seq;
}

static void forge_fresh(forge *f)
{
    memset(f, 0, sizeof *f);
    put_open(f, 0, AUDIT_AFTER_FRESH, AUDIT_UNSIGNED_KEY);
    put_event(f);
}

static audit_verify_result verify_text(const forge *f, const audit_public_key *key)
{
    audit_verify_result r;
    assert_int_equal(audit_verify_buffer(f->text, f->length, "forged", key, key ? 1 : 0, &r),
                     KILN_OK);
    return r;
}

static void expect(const forge *f, const audit_public_key *key, audit_verdict verdict,
                   const char *words)
{
    audit_verify_result r = verify_text(f, key);
    if (r.verdict != verdict || !strstr(r.message, words))
        fail_msg("expected %s \"%s\", got %s: %s", audit_verdict_name(verdict), words,
                 audit_verdict_name(r.verdict), r.message);
}

static forge fx;

static void verdicts_have_names(void **state)
{
    (void)state;
    static const char *const names[] = { "OK", "TORN", "UNCLOSED", "BAD_RECORD", "HASH_MISMATCH",
                                         "SEQ_GAP", "SEQ_ORDER", "BAD_SIGNATURE", "BAD_LINK", "IO" };
    for (int v = AUDIT_VERIFY_OK; v <= AUDIT_VERIFY_IO; v++)
        assert_string_equal(audit_verdict_name((audit_verdict)v), names[v]);
    assert_string_equal(audit_verdict_name((audit_verdict)99), "UNKNOWN");
}

static void a_chain_must_start_fresh_at_segment_zero(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    fx.head.seq = 5;
    put_open(&fx, 0, AUDIT_AFTER_FRESH, AUDIT_UNSIGNED_KEY);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_LINK, "fresh chain");
    memset(&fx, 0, sizeof fx);
    put_open(&fx, 3, AUDIT_AFTER_FRESH, AUDIT_UNSIGNED_KEY);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_LINK, "does not start after a rotation");
    memset(&fx, 0, sizeof fx);
    put_event(&fx);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_RECORD, "does not start with a log.open");
}

static void a_later_segment_alone_verifies_from_its_link(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    fx.head.seq = 100;
    fx.checkpoint_base = 100;
    randombytes_buf(fx.head.prev, sizeof fx.head.prev);
    put_open(&fx, 4, AUDIT_AFTER_ROTATE, AUDIT_UNSIGNED_KEY);
    put_event(&fx);
    put_checkpoint(&fx, AUDIT_CLOSE_CLOSE, NULL);
    audit_verify_result r = verify_text(&fx, NULL);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_int_equal(r.records, 3);
}

static void reopen_records_must_match_what_came_before(void **state)
{
    (void)state;
    forge_fresh(&fx);
    put_open(&fx, 1, AUDIT_AFTER_CRASH, AUDIT_UNSIGNED_KEY);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_RECORD, "names another segment");
    forge_fresh(&fx);
    put_open(&fx, 0, AUDIT_AFTER_CLOSE, AUDIT_UNSIGNED_KEY);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_RECORD, "does not match the record before");
    forge_fresh(&fx);
    put_checkpoint(&fx, AUDIT_CLOSE_CLOSE, NULL);
    put_event(&fx);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_RECORD, "not a log.open");
    forge_fresh(&fx);
    put_checkpoint(&fx, AUDIT_CLOSE_ROTATE, NULL);
    put_open(&fx, 0, AUDIT_AFTER_CLOSE, AUDIT_UNSIGNED_KEY);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_RECORD, "after the segment's rotation checkpoint");
    forge_fresh(&fx);
    put_open(&fx, 0, AUDIT_AFTER_CRASH, "0123456789abcdef0123456789");
    expect(&fx, NULL, AUDIT_VERIFY_BAD_RECORD, "key id too long");
}

static void checkpoint_keys_and_signatures_are_checked(void **state)
{
    (void)state;
    audit_secret_key key, other;
    audit_key_generate(&key);
    audit_key_generate(&other);
    /* Signed by a key other than the one its log.open names. */
    forge_fresh(&fx);
    put_checkpoint(&fx, AUDIT_CLOSE_CLOSE, &key);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_SIGNATURE, "differs from the key of its log.open");
    /* The right key id, a signature by another key. */
    memset(&fx, 0, sizeof fx);
    put_open(&fx, 0, AUDIT_AFTER_FRESH, key.pub.id);
    put_event(&fx);
    audit_secret_key forged = other;
    memcpy(forged.pub.id, key.pub.id, sizeof forged.pub.id);
    put_checkpoint(&fx, AUDIT_CLOSE_CLOSE, &forged);
    expect(&fx, &key.pub, AUDIT_VERIFY_BAD_SIGNATURE, "does not verify with key");
    /* Checked only with a key: without, the chain alone is fine. */
    expect(&fx, NULL, AUDIT_VERIFY_OK, "");
    /* A wrong count. */
    memset(&fx, 0, sizeof fx);
    put_open(&fx, 0, AUDIT_AFTER_FRESH, AUDIT_UNSIGNED_KEY);
    fx.checkpoint_base = 1;
    put_checkpoint(&fx, AUDIT_CLOSE_CLOSE, NULL);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_SIGNATURE, "checkpoint counts 0 records");
}

static void unknown_versions_and_close_kinds_are_refused(void **state)
{
    (void)state;
    forge_fresh(&fx);
    const char *v2 = strstr(fx.text, "{\"v\":1");
    ((char *)v2)[5] = '2';
    expect(&fx, NULL, AUDIT_VERIFY_BAD_RECORD, "format version 2");
    forge_fresh(&fx);
    put_checkpoint(&fx, "later", NULL);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_RECORD, "none/close/rotate");
    /* key "none" with a signature. */
    forge_fresh(&fx);
    uint8_t sig[AUDIT_SIGNATURE_BYTES] = { 1 };
    audit_checkpoint_fields c = { 2, AUDIT_CLOSE_CLOSE, AUDIT_UNSIGNED_KEY, sig };
    forge_line(&fx, encode_checkpoint, &c);
    expect(&fx, NULL, AUDIT_VERIFY_BAD_SIGNATURE, "key and signature disagree");
}

static void segments_must_link_in_order(void **state)
{
    (void)state;
    static forge second;
    forge_fresh(&fx);
    put_checkpoint(&fx, AUDIT_CLOSE_NONE, NULL);
    second = fx;
    second.length = 0;
    put_open(&second, 1, AUDIT_AFTER_ROTATE, AUDIT_UNSIGNED_KEY);
    put_checkpoint(&second, AUDIT_CLOSE_CLOSE, NULL);
    char a[64], b[64];
    snprintf(a, sizeof a, "/tmp/kiln-verify-%d.0", (int)getpid());
    snprintf(b, sizeof b, "/tmp/kiln-verify-%d", (int)getpid());
    FILE *f = fopen(a, "wb");
    fwrite(fx.text, 1, fx.length, f);
    fclose(f);
    f = fopen(b, "wb");
    fwrite(second.text, 1, second.length, f);
    fclose(f);
    const char *paths[] = { a, b };
    audit_verify_result r;
    assert_int_equal(audit_verify_files(paths, 2, NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_LINK);
    assert_non_null(strstr(r.message, "does not end with a rotation checkpoint"));
    assert_string_equal(r.file, a);

    /* An empty segment in the middle, and a torn one. */
    f = fopen(a, "wb");
    fclose(f);
    assert_int_equal(audit_verify_files(paths, 2, NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_LINK);
    assert_non_null(strstr(r.message, "has no records"));
    f = fopen(a, "wb");
    fwrite(fx.text, 1, fx.length, f);
    fputs("{\"v\":1", f);
    fclose(f);
    assert_int_equal(audit_verify_files(paths, 2, NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_LINK);
    assert_non_null(strstr(r.message, "another follows"));

    /* A line longer than any record. */
    f = fopen(b, "wb");
    for (int i = 0; i < AUDIT_LINE_MAX + 10; i++)
        fputc('x', f);
    fclose(f);
    assert_int_equal(audit_verify_files(paths + 1, 1, NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_RECORD);
    unlink(a);
    unlink(b);
    /* Unreadable. */
    assert_int_equal(audit_verify_files(paths, 1, NULL, 0, &r), KILN_ERR_AUDIT);
    assert_int_equal(r.verdict, AUDIT_VERIFY_IO);
    assert_non_null(strstr(r.message, "ENOENT"));
    char **list;
    size_t count;
    assert_int_equal(audit_segments(b, &list, &count), KILN_ERR_AUDIT);
    assert_non_null(strstr(util_last_error(), "no audit log"));
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    audit_verify_result r;
    assert_int_equal(audit_verify_files(NULL, 1, NULL, 0, &r), KILN_ERR_NULL_HANDLE);
    const char *one = "x";
    assert_int_equal(audit_verify_files(&one, 0, NULL, 0, &r), KILN_ERR_INVALID_ARG);
    assert_int_equal(audit_verify_buffer(NULL, 3, "x", NULL, 0, &r), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_segments(NULL, NULL, NULL), KILN_ERR_NULL_HANDLE);
    audit_log *log = NULL;
    assert_int_equal(audit_log_open(NULL, &log), KILN_ERR_NULL_HANDLE);
    audit_options o = { .path = "" };
    assert_int_equal(audit_log_open(&o, &log), KILN_ERR_INVALID_ARG);
    assert_int_equal(audit_log_append(NULL, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_log_checkpoint(NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_log_sync(NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_log_rotate(NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_log_tick(NULL, 0), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_log_close(NULL), KILN_OK);
    assert_int_equal(audit_key_generate(NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_key_save(NULL, "x"), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_key_load_secret(NULL, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_key_load_public(NULL, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_key_from_seed(NULL, NULL), KILN_ERR_NULL_HANDLE);
    audit_key_wipe(NULL);
}

static void the_writer_refuses_a_rotated_segment_that_does_not_end_in_rotation(void **state)
{
    (void)state;
    char base[64], rotated[80];
    snprintf(base, sizeof base, "/tmp/kiln-writer-%d", (int)getpid());
    snprintf(rotated, sizeof rotated, "%s.0", base);
    forge_fresh(&fx);
    put_checkpoint(&fx, AUDIT_CLOSE_CLOSE, NULL);
    FILE *f = fopen(rotated, "wb");
    fwrite(fx.text, 1, fx.length, f);
    fclose(f);
    audit_options o = { .path = base, .manual_ticks = true };
    audit_log *log = NULL;
    assert_int_equal(audit_log_open(&o, &log), KILN_ERR_AUDIT);
    if (!strstr(util_last_error(), "does not end with a rotation checkpoint"))
        fail_msg("%s", util_last_error());
    /* Damaged: refused with the verdict. */
    fx.text[10] ^= 1;
    f = fopen(rotated, "wb");
    fwrite(fx.text, 1, fx.length, f);
    fclose(f);
    assert_int_equal(audit_log_open(&o, &log), KILN_ERR_AUDIT);
    assert_non_null(strstr(util_last_error(), "does not verify"));
    unlink(rotated);

    /* A rotation never overwrites: PATH.0 taken by something else. */
    assert_int_equal(audit_log_open(&o, &log), KILN_OK);
    f = fopen(rotated, "wb");
    fclose(f);
    assert_int_equal(audit_log_rotate(log), KILN_ERR_AUDIT);
    assert_non_null(strstr(util_last_error(), "exists"));
    assert_true(audit_log_failed(log));
    assert_int_equal(audit_log_checkpoint(log), KILN_ERR_AUDIT);
    assert_int_equal(audit_log_sync(log), KILN_ERR_AUDIT);
    assert_int_equal(audit_log_close(log), KILN_ERR_AUDIT);
    unlink(rotated);
    unlink(base);
}

static void the_background_tick_writes_buffered_records(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/kiln-tick-%d", (int)getpid());
    audit_options o = { .path = path, .flush_interval_ms = 5 };
    audit_log *log = NULL;
    assert_int_equal(audit_log_open(&o, &log), KILN_OK);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    static const audit_event e = { "tick", "buffer.copy", 1, 64, NULL, true, "r", "why", KILN_OK,
                                   "cpu:1", NULL };
    assert_int_equal(audit_log_append(log, &e), KILN_OK);
    assert_int_equal(audit_log_checkpoint(log), KILN_OK);
    /* Within a few intervals the record is in the file without a sync. */
    for (int i = 0; i < 200; i++) {
        usleep(5000);
        assert_int_equal(stat(path, &after), 0);
        if (after.st_size > before.st_size)
            break;
    }
    assert_true(after.st_size > before.st_size);
    assert_int_equal(audit_log_close(log), KILN_OK);
    audit_verify_result r;
    const char *p = path;
    assert_int_equal(audit_verify_files(&p, 1, NULL, 0, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_int_equal(r.checkpoints, 2);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verdicts_have_names),
        cmocka_unit_test(a_chain_must_start_fresh_at_segment_zero),
        cmocka_unit_test(a_later_segment_alone_verifies_from_its_link),
        cmocka_unit_test(reopen_records_must_match_what_came_before),
        cmocka_unit_test(checkpoint_keys_and_signatures_are_checked),
        cmocka_unit_test(unknown_versions_and_close_kinds_are_refused),
        cmocka_unit_test(segments_must_link_in_order),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(the_writer_refuses_a_rotated_segment_that_does_not_end_in_rotation),
        cmocka_unit_test(the_background_tick_writes_buffered_records),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
