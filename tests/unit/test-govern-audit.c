/* The audit engine: hashing, record encoding, keys, the writer's life cycle
 * (open, append, checkpoint, close, reopen after a clean close, a crash and
 * a torn write), rotation, summaries, and verification of all of it.
 * Tampering is in test-govern-audit-tamper.c, write errors and speed in
 * test-govern-audit-io.c. */
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
#include "test-temp-dir.h"

static int make_dir(void **state)
{
    (void)state;
    return test_temp_dir_make("kiln-audit");
}

static char *path_in(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", test_temp_dir, name);
    return p;
}

static char *read_all(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    data[n] = '\0';
    *length = (size_t)n;
    return data;
}

static void write_all_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static audit_log *open_log(const char *path, const audit_secret_key *key)
{
    audit_options o = { .path = path, .key = key, .checkpoint_every = 10, .manual_ticks = true };
    audit_log *log = NULL;
    kiln_status st = audit_log_open(&o, &log);
    if (st != KILN_OK)
        fail_msg("open %s: %s", path, util_last_error());
    return log;
}

static void append_events(audit_log *log, int n, const char *principal)
{
    uint8_t policy_hash[POLICY_HASH_BYTES];
    randombytes_buf(policy_hash, sizeof policy_hash);
    for (int i = 0; i < n; i++) {
        audit_event e = { principal, "buffer.alloc", i % 3, (uint64_t)i * 4096, NULL, i % 5 != 0,
                          i % 5 ? "ml-on-gpus" : "default-deny", "rule matches", 
                          i % 5 ? KILN_OK : KILN_ERR_DENIED, "cpu:0", policy_hash };
        assert_int_equal(audit_log_append(log, &e), KILN_OK);
    }
}

static audit_verify_result verify_path(const char *path, const audit_public_key *key)
{
    audit_verify_result r;
    char **paths = NULL;
    size_t count = 0;
    assert_int_equal(audit_segments(path, &paths, &count), KILN_OK);
    assert_int_equal(audit_verify_files((const char *const *)paths, count, key, key ? 1 : 0, &r),
                     KILN_OK);
    free(paths);
    return r;
}

/* ---- hashing and encoding ---- */

/* The hex form the records carry, on the published SHA-256 vector for "abc". */
static void hashes_are_written_as_lowercase_hex(void **state)
{
    (void)state;
    uint8_t a[32];
    audit_sha256("abc", 3, a);
    char hex[65];
    audit_hex(a, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void odd_bytes_are_escaped_and_read_back_exactly(void **state)
{
    (void)state;
    static audit_parsed parsed;
    char line[AUDIT_LINE_MAX], why[160];
    for (int round = 0; round < 2000; round++) {
        unsigned char text[64];
        size_t n = randombytes_uniform(sizeof text);
        randombytes_buf(text, n);
        for (size_t i = 0; i < n; i++)
            if (text[i] == 0) /* C strings end there */
                text[i] = 1;
        audit_json j;
        audit_json_begin(&j, line, sizeof line);
        audit_json_text(&j, "principal", (const char *)text, n, true);
        audit_json_end(&j);
        /* No raw control or non-UTF-8 byte reaches the line. */
        for (size_t i = 0; i < j.length; i++)
            assert_true((unsigned char)line[i] >= 0x20);
        assert_int_equal(audit_parse_line(line, j.length, &parsed, why, sizeof why), AUDIT_PARSE_OK);
        assert_int_equal(parsed.count, 1);
        assert_int_equal(parsed.fields[0].text_length, n);
        assert_memory_equal(parsed.fields[0].text, text, n);
    }
    audit_json j;
    audit_json_begin(&j, line, sizeof line);
    audit_json_string(&j, "k", "a\"b\\c\n\x7f\xff\xc3\xa9\xe2\x80\xa8");
    audit_json_end(&j);
    line[j.length] = '\0';
    assert_string_equal(line, "{\"k\":\"a\\\"b\\\\c\\n\\u007f\\udcff\xc3\xa9\\u2028\"}");
}

static void non_canonical_spellings_are_rejected(void **state)
{
    (void)state;
    static audit_parsed parsed;
    char why[160];
    static const char *const bad[] = {
        "{\"a\":\"\\u0041\"}", "{\"a\":01}", "{\"a\":-0}", "{\"a\": 1}", "{\"a\":\"\\/\"}",
        "{\"a\":1}x", "{\"a\":true}", "{\"A\":1}", "{\"a\":\"\xff\"}", "{\"a\":\"\\udc41\"}",
        "{\"a\":99999999999999999999999}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(audit_parse_line(bad[i], strlen(bad[i]), &parsed, why, sizeof why),
                         AUDIT_PARSE_BAD);
    static const char *const torn[] = { "{\"a\":\"xy", "{\"a\":12", "{\"a\"", "{" };
    for (size_t i = 0; i < sizeof torn / sizeof torn[0]; i++)
        assert_int_equal(audit_parse_line(torn[i], strlen(torn[i]), &parsed, why, sizeof why),
                         AUDIT_PARSE_TRUNCATED);
    const char *pair = "{\"b\":\"\\ud83d\\ude00\"}";
    assert_int_equal(audit_parse_line(pair, strlen(pair), &parsed, why, sizeof why),
                     AUDIT_PARSE_BAD);
    const char *good = "{\"a\":-12,\"b\":\"\xf0\x9f\x98\x80\"}";
    assert_int_equal(audit_parse_line(good, strlen(good), &parsed, why, sizeof why),
                     AUDIT_PARSE_OK);
    assert_true(parsed.fields[0].negative && parsed.fields[0].magnitude == 12);
    assert_int_equal(parsed.fields[1].text_length, 4);
}


static void records_that_break_their_schema_are_named(void **state)
{
    (void)state;
    static audit_parsed parsed;
    char why[160], zeros[65];
    memset(zeros, '0', 64);
    zeros[64] = '\0';
    const char *type = NULL;
    static const struct {
        const char *line, *words;
    } cases[] = {
        { "{\"type\":\"checkpoint\"}", "field 1 is \"type\", expected \"v\"" },
        { "{\"v\":1,\"seq\":0,\"prev\":\"zz\",\"type\":\"event\"}", "\"prev\" is not 64 hex" },
        { "{\"v\":1,\"seq\":-1,\"prev\":\"zz\",\"type\":\"summary\"}", "\"seq\" is not an integer >= 0" },
        { "{\"v\":1,\"type\":7}", "no \"type\" text field" },
        { "{\"v\":1,\"type\":\"launch\"}", "unknown record type" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(audit_parse_line(cases[i].line, strlen(cases[i].line), &parsed, why,
                                          sizeof why),
                         AUDIT_PARSE_OK);
        assert_false(audit_schema_check(&parsed, &type, why, sizeof why));
        if (!strstr(why, cases[i].words))
            fail_msg("%s: %s", cases[i].line, why);
    }
    char line[256];
    snprintf(line, sizeof line, "{\"v\":1,\"seq\":0,\"prev\":\"%s\",\"type\":\"checkpoint\"}", zeros);
    assert_int_equal(audit_parse_line(line, strlen(line), &parsed, why, sizeof why), AUDIT_PARSE_OK);
    assert_false(audit_schema_check(&parsed, &type, why, sizeof why));
    assert_non_null(strstr(why, "4 fields, expected 8"));

    static const struct {
        const char *line, *words;
    } bad[] = {
        { "{\"a\":\"\\uZZZZ\"}", "bad \\u escape" },
        { "{\"a\":\"\\ud83dx\"}", "without its low half" },
        { "{\"a\":\"\\ud83d\\u0041\"}", "without its low half" },
        { "{\"a\":\"\\udc10\"}", "lone low surrogate" },
        { "{\"a\":\"\\q\"}", "unknown escape" },
        { "{\"a\":-x}", "expected a digit" },
        { "{\"a\":\"\\u0800\"}", "exact form" },
        { "{\"a\":\"x\ty\"}", "control byte" },
        { "[1]", "starts with '{'" },
        { "{\"a\"=1}", "expected ':'" },
        { "{\"a\":1;}", "expected ',' or '}'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(audit_parse_line(bad[i].line, strlen(bad[i].line), &parsed, why, sizeof why),
                         AUDIT_PARSE_BAD);
        if (!strstr(why, bad[i].words))
            fail_msg("%s: %s", bad[i].line, why);
    }
    /* More fields than any record has. */
    char many[512] = "{";
    for (int i = 0; i <= AUDIT_FIELDS_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"f%d\":%d", i ? "," : "", i, i);
    strcat(many, "}");
    assert_int_equal(audit_parse_line(many, strlen(many), &parsed, why, sizeof why), AUDIT_PARSE_BAD);
    assert_non_null(strstr(why, "too many fields"));
}

static void long_text_is_cut_at_the_limit(void **state)
{
    (void)state;
    static audit_parsed parsed;
    static char text[3 * AUDIT_TEXT_MAX], line[AUDIT_LINE_MAX];
    char why[160];
    memset(text, 'a', sizeof text - 1);
    audit_json j;
    audit_json_begin(&j, line, sizeof line);
    audit_json_string(&j, "kernel", text);
    audit_json_end(&j);
    assert_int_equal(audit_parse_line(line, j.length, &parsed, why, sizeof why), AUDIT_PARSE_OK);
    assert_int_equal(parsed.fields[0].text_length, AUDIT_TEXT_MAX);
    /* Too small a buffer: the encoder stops at its end, never past it. */
    char tiny[8];
    audit_json_begin(&j, tiny, sizeof tiny);
    audit_json_string(&j, "kernel", "saxpy");
    audit_json_u64(&j, "n", 1);
    audit_json_end(&j);
    assert_int_equal(j.length, sizeof tiny);
}

static void the_summary_table_is_bounded(void **state)
{
    (void)state;
    audit_log *log = open_log(path_in("bounded.log"), NULL);
    audit_slot *slot = NULL;
    char kernel[32];
    for (uint32_t i = 0; i < AUDIT_SLOTS_MAX; i++) {
        snprintf(kernel, sizeof kernel, "k%u", i);
        assert_int_equal(audit_summary_slot(log, "p", kernel, 0, &slot), KILN_OK);
    }
    assert_int_equal(audit_summary_slot(log, "p", "one-more", 0, &slot), KILN_ERR_AUDIT);
    assert_non_null(strstr(util_last_error(), "summary table full"));
    assert_null(slot);
    assert_int_equal(audit_summary_slot(log, "p", "k7", 0, &slot), KILN_OK);
    assert_int_equal(audit_summary_slot(NULL, "p", "k7", 0, &slot), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_log_close(log), KILN_OK);
}

/* ---- keys ---- */

static void keys_round_trip_and_loose_secret_files_are_refused(void **state)
{
    (void)state;
    audit_secret_key key, loaded;
    audit_public_key pub;
    assert_int_equal(audit_key_generate(&key), KILN_OK);
    const char *prefix = path_in("k1");
    assert_int_equal(audit_key_save(&key, prefix), KILN_OK);
    struct stat sb;
    assert_int_equal(stat(path_in("k1.key"), &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(audit_key_load_secret(path_in("k1.key"), &loaded), KILN_OK);
    assert_memory_equal(loaded.bytes, key.bytes, sizeof key.bytes);
    assert_int_equal(audit_key_load_public(path_in("k1.pub"), &pub), KILN_OK);
    assert_memory_equal(pub.bytes, key.pub.bytes, sizeof pub.bytes);
    assert_string_equal(pub.id, key.pub.id);
    assert_int_equal(strlen(pub.id), 16);

    /* Never overwritten. */
    assert_int_equal(audit_key_save(&key, prefix), KILN_ERR_AUDIT);
    assert_non_null(strstr(util_last_error(), "never overwritten"));
    /* Readable by others: refused, naming the mode. */
    assert_int_equal(chmod(path_in("k1.key"), 0640), 0);
    assert_int_equal(audit_key_load_secret(path_in("k1.key"), &loaded), KILN_ERR_AUDIT);
    assert_non_null(strstr(util_last_error(), "0640"));
    /* Not hex. */
    write_all_file(path_in("bad.pub"), "xyz\n", 4);
    assert_int_equal(audit_key_load_public(path_in("bad.pub"), &pub), KILN_ERR_AUDIT);
    assert_non_null(strstr(util_last_error(), "64 lowercase hex digits"));
    assert_int_equal(audit_key_load_public(test_temp_dir, &pub), KILN_ERR_AUDIT);
    assert_non_null(strstr(util_last_error(), "not a regular file"));
    assert_int_equal(audit_key_load_public(path_in("missing.pub"), &pub), KILN_ERR_AUDIT);
    assert_non_null(strstr(util_last_error(), "ENOENT"));
    audit_key_wipe(&key);
    audit_key_wipe(&loaded);
}

/* ---- the writer and the verifier ---- */

static void a_closed_signed_log_verifies_with_its_key_only(void **state)
{
    (void)state;
    audit_secret_key key, other;
    audit_key_generate(&key);
    audit_key_generate(&other);
    const char *path = path_in("signed.log");
    audit_log *log = open_log(path, &key);
    int n = 25 + (int)randombytes_uniform(50);
    append_events(log, n, "alice");
    assert_int_equal(audit_log_close(log), KILN_OK);

    audit_verify_result r = verify_path(path, &key.pub);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    size_t length;
    char *text = read_all(path, &length);
    uint64_t lines = 0, events = 0;
    for (char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    for (char *p = text; (p = strstr(p, "\"type\":\"event\"")); p++)
        events++;
    free(text);
    assert_int_equal(r.records, lines);
    assert_int_equal(events, (uint64_t)n);
    assert_true(r.is_signed);
    assert_int_equal(r.signatures, r.checkpoints);
    assert_true(r.checkpoints >= 2);

    /* Without a key: the chain is checked, signatures are not. */
    r = verify_path(path, NULL);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_int_equal(r.signatures, 0);
    /* Another key: refused. */
    r = verify_path(path, &other.pub);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_SIGNATURE);
    assert_non_null(strstr(r.message, "not among the keys given"));
}

static void an_unsigned_log_is_refused_when_a_key_is_expected(void **state)
{
    (void)state;
    audit_secret_key key;
    audit_key_generate(&key);
    const char *path = path_in("unsigned.log");
    audit_log *log = open_log(path, NULL);
    append_events(log, 12, "bob");
    assert_int_equal(audit_log_close(log), KILN_OK);
    audit_verify_result r = verify_path(path, NULL);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_false(r.is_signed);
    r = verify_path(path, &key.pub);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_SIGNATURE);
    assert_non_null(strstr(r.message, "signatures were removed"));
}

static void reopen_after_close_and_after_crash_continue_the_chain(void **state)
{
    (void)state;
    audit_secret_key key;
    audit_key_generate(&key);
    const char *path = path_in("reopen.log");
    audit_log *log = open_log(path, &key);
    append_events(log, 7, "carol");
    assert_int_equal(audit_log_close(log), KILN_OK);
    log = open_log(path, &key);
    append_events(log, 3, "carol");
    /* A crash: the buffered records reach the file, no closing checkpoint. */
    assert_int_equal(audit_log_sync(log), KILN_OK);
    uint64_t seq = audit_log_next_seq(log);
    audit_verify_result r = verify_path(path, &key.pub);
    assert_int_equal(r.verdict, AUDIT_VERIFY_UNCLOSED);
    assert_non_null(strstr(r.message, "writer is still running or crashed"));
    assert_int_equal(r.records, seq);

    /* The next writer finds it (this one is abandoned without a close). */
    audit_log *again = open_log(path, &key);
    append_events(again, 2, "carol");
    assert_int_equal(audit_log_close(again), KILN_OK);
    r = verify_path(path, &key.pub);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_int_equal(r.unclean_reopens, 1);
    size_t length;
    char *text = read_all(path, &length);
    assert_non_null(strstr(text, "\"after\":\"close\""));
    assert_non_null(strstr(text, "\"after\":\"crash\""));
    free(text);
    /* The abandoned writer's handle: its memory only (its records are in). */
    audit_log_free(log);
}

static void a_torn_last_line_is_reported_then_cut_and_recorded(void **state)
{
    (void)state;
    const char *path = path_in("torn.log");
    audit_log *log = open_log(path, NULL);
    append_events(log, 15, "dave");
    assert_int_equal(audit_log_close(log), KILN_OK);
    size_t length;
    char *text = read_all(path, &length);
    /* A crash while writing the next record: part of a line, no newline. */
    const char *partial = "{\"v\":1,\"seq\":99,\"prev\":\"00";
    size_t cut = strlen(partial) - randombytes_uniform(10);
    FILE *f = fopen(path, "ab");
    fwrite(partial, 1, cut, f);
    fclose(f);
    audit_verify_result r = verify_path(path, NULL);
    if (r.verdict != AUDIT_VERIFY_TORN)
        fail_msg("%s: %s", audit_verdict_name(r.verdict), r.message);
    assert_non_null(strstr(r.message, "torn write"));

    log = open_log(path, NULL);
    assert_int_equal(audit_log_close(log), KILN_OK);
    r = verify_path(path, NULL);
    if (r.verdict != AUDIT_VERIFY_OK)
        fail_msg("%s line %llu: %s", audit_verdict_name(r.verdict), (unsigned long long)r.line,
                 r.message);
    assert_int_equal(r.unclean_reopens, 1);
    char *after = read_all(path, &length);
    uint8_t hash[32];
    char hex[65], expect[128];
    audit_sha256(partial, cut, hash);
    audit_hex(hash, 32, hex);
    snprintf(expect, sizeof expect, "\"after\":\"torn\",\"torn_bytes\":%zu,\"torn_sha256\":\"%s\"",
             cut, hex);
    assert_non_null(strstr(after, expect));
    free(text);
    free(after);
}

static void a_damaged_log_is_not_appended_to(void **state)
{
    (void)state;
    const char *path = path_in("damaged.log");
    audit_log *log = open_log(path, NULL);
    append_events(log, 5, "erin");
    assert_int_equal(audit_log_close(log), KILN_OK);
    size_t length;
    char *text = read_all(path, &length);
    char *hit = strstr(text, "erin");
    hit[0] = 'E';
    write_all_file(path, text, length);
    audit_options o = { .path = path, .manual_ticks = true };
    audit_log *refused = NULL;
    assert_int_equal(audit_log_open(&o, &refused), KILN_ERR_AUDIT);
    assert_null(refused);
    assert_non_null(strstr(util_last_error(), "does not verify (HASH_MISMATCH at line 3"));
    free(text);
}

static void rotation_keeps_the_chain_and_a_missing_segment_is_caught(void **state)
{
    (void)state;
    audit_secret_key key;
    audit_key_generate(&key);
    const char *path = path_in("rot.log");
    audit_options o = { .path = path, .key = &key, .checkpoint_every = 7, .rotate_bytes = 4096,
                        .manual_ticks = true };
    audit_log *log = NULL;
    assert_int_equal(audit_log_open(&o, &log), KILN_OK);
    append_events(log, 60, "frank");
    uint64_t segments = audit_log_segment(log) + 1;
    assert_true(segments >= 3);
    assert_int_equal(audit_log_close(log), KILN_OK);
    /* Reopen after the rotations: continues in the live segment. */
    assert_int_equal(audit_log_open(&o, &log), KILN_OK);
    assert_int_equal(audit_log_segment(log), segments - 1);
    assert_int_equal(audit_log_close(log), KILN_OK);

    audit_verify_result r = verify_path(path, &key.pub);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_int_equal(r.segments, segments);

    char **paths;
    size_t count;
    assert_int_equal(audit_segments(path, &paths, &count), KILN_OK);
    assert_int_equal(count, segments);
    /* Skip the middle segment: the link breaks. */
    const char *skipped[] = { paths[0], paths[2] };
    assert_int_equal(audit_verify_files(skipped, 2, &key.pub, 1, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_LINK);
    /* Out of order. */
    const char *swapped[] = { paths[1], paths[0] };
    assert_int_equal(audit_verify_files(swapped, 2, &key.pub, 1, &r), KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_BAD_LINK);
    /* The rotated segments alone: the chain goes on somewhere not given. */
    assert_int_equal(audit_verify_files((const char *const *)paths, count - 1, &key.pub, 1, &r),
                     KILN_OK);
    assert_int_equal(r.verdict, AUDIT_VERIFY_UNCLOSED);
    assert_non_null(strstr(r.message, "rotation checkpoint"));
    free(paths);
}

static void a_crash_during_rotation_is_finished_at_open(void **state)
{
    (void)state;
    const char *path = path_in("midrot.log");
    audit_log *log = open_log(path, NULL);
    append_events(log, 4, "gina");
    /* The state a crash after the rotation checkpoint, before the rename,
     * leaves: the live file ends with a rotate checkpoint. */
    assert_int_equal(audit_log_rotate(log), KILN_OK);
    uint64_t seq = audit_log_next_seq(log);
    assert_int_equal(audit_log_close(log), KILN_OK);
    /* Undo the rename and drop the new segment: PATH.0 back to PATH. */
    char *rotated = path_in("midrot.log.0");
    assert_int_equal(rename(rotated, path), 0);
    log = open_log(path, NULL);
    assert_int_equal(audit_log_segment(log), 1);
    assert_int_equal(audit_log_next_seq(log), seq);
    assert_int_equal(audit_log_close(log), KILN_OK);
    audit_verify_result r = verify_path(path, NULL);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_int_equal(r.segments, 2);
}

static void launch_summaries_are_written_per_second_per_triple(void **state)
{
    (void)state;
    const char *path = path_in("summary.log");
    audit_log *log = open_log(path, NULL);
    audit_slot *a, *b, *again;
    assert_int_equal(audit_summary_slot(log, "alice", "saxpy", 0, &a), KILN_OK);
    assert_int_equal(audit_summary_slot(log, "bob", "saxpy", 0, &b), KILN_OK);
    assert_int_equal(audit_summary_slot(log, "alice", "saxpy", 0, &again), KILN_OK);
    assert_ptr_equal(a, again);
    uint32_t ok = 1 + randombytes_uniform(500), denied = randombytes_uniform(20);
    for (uint32_t i = 0; i < ok; i++)
        assert_int_equal(audit_summary_count(log, a, KILN_OK), KILN_OK);
    for (uint32_t i = 0; i < denied; i++)
        assert_int_equal(audit_summary_count(log, a, KILN_ERR_DENIED), KILN_OK);
    assert_int_equal(audit_summary_count(log, b, KILN_ERR_DEVICE_FAULT), KILN_OK);
    uint64_t before = audit_log_next_seq(log);
    /* Less than a second later: nothing yet. */
    assert_int_equal(audit_log_tick(log, govern_clock_ns(CLOCK_MONOTONIC) + 1000), KILN_OK);
    assert_int_equal(audit_log_next_seq(log), before);
    assert_int_equal(audit_log_tick(log, govern_clock_ns(CLOCK_MONOTONIC) + 1500000000ull), KILN_OK);
    assert_int_equal(audit_log_next_seq(log), before + 2);
    assert_int_equal(audit_log_close(log), KILN_OK);
    size_t length;
    char *text = read_all(path, &length);
    char expect[160];
    snprintf(expect, sizeof expect,
             "\"principal\":\"alice\",\"action\":\"kernel.launch\",\"kernel\":\"saxpy\","
             "\"device\":0,\"window_ms\":");
    assert_non_null(strstr(text, expect));
    snprintf(expect, sizeof expect, "\"ok\":%u,\"denied\":%u,\"failed\":0}", ok, denied);
    assert_non_null(strstr(text, expect));
    assert_non_null(strstr(text, "\"ok\":0,\"denied\":0,\"failed\":1}"));
    free(text);
    assert_int_equal(verify_path(path, NULL).verdict, AUDIT_VERIFY_OK);
}

static void policy_settings_pick_record_or_summary(void **state)
{
    (void)state;
    policy_audit s = { 5, true, POLICY_AUDIT_PER_RECORD_DEFAULT, POLICY_AUDIT_SUMMARIZE_DEFAULT };
    assert_int_equal(audit_mode_for(&s, POLICY_AUDIT_LAUNCH, false), AUDIT_MODE_SUMMARY);
    assert_int_equal(audit_mode_for(&s, POLICY_AUDIT_LAUNCH, true), AUDIT_MODE_RECORD);
    assert_int_equal(audit_mode_for(&s, POLICY_AUDIT_ALLOC, false), AUDIT_MODE_RECORD);
    assert_int_equal(audit_mode_for(&s, POLICY_AUDIT_COPY, false), AUDIT_MODE_NONE);
    s.per_record = 0;
    assert_int_equal(audit_mode_for(&s, POLICY_AUDIT_LAUNCH, true), AUDIT_MODE_SUMMARY);
    audit_options o = { 0 };
    audit_options_from_policy(&o, &s);
    assert_int_equal(o.checkpoint_every, 5);
    assert_true(o.durable);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hashes_are_written_as_lowercase_hex),
        cmocka_unit_test(odd_bytes_are_escaped_and_read_back_exactly),
        cmocka_unit_test(non_canonical_spellings_are_rejected),
        cmocka_unit_test(records_that_break_their_schema_are_named),
        cmocka_unit_test(long_text_is_cut_at_the_limit),
        cmocka_unit_test(the_summary_table_is_bounded),
        cmocka_unit_test(keys_round_trip_and_loose_secret_files_are_refused),
        cmocka_unit_test(a_closed_signed_log_verifies_with_its_key_only),
        cmocka_unit_test(an_unsigned_log_is_refused_when_a_key_is_expected),
        cmocka_unit_test(reopen_after_close_and_after_crash_continue_the_chain),
        cmocka_unit_test(a_torn_last_line_is_reported_then_cut_and_recorded),
        cmocka_unit_test(a_damaged_log_is_not_appended_to),
        cmocka_unit_test(rotation_keeps_the_chain_and_a_missing_segment_is_caught),
        cmocka_unit_test(a_crash_during_rotation_is_finished_at_open),
        cmocka_unit_test(launch_summaries_are_written_per_second_per_triple),
        cmocka_unit_test(policy_settings_pick_record_or_summary),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, make_dir, test_temp_dir_remove);
}
