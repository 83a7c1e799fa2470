/* Checkpoint key files refused for what they are: missing, a link, not a
 * regular file, a secret key others may read, not hex, the wrong length;
 * and a save that would overwrite a key. Each refusal is KILN_ERR_AUDIT
 * with a detail naming the file and the reason. */
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

#include "govern/audit_internal.h"
#include "util/fail.h"
#include "test-temp-dir.h"

#define PATH_TEXT (TEST_TEMP_DIR_MAX + 64)

static void temp_path(char out[PATH_TEXT], const char *name)
{
    snprintf(out, PATH_TEXT, "%s/%s", test_temp_dir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void assert_detail(kiln_status st, const char *part1, const char *part2)
{
    assert_int_equal(st, KILN_ERR_AUDIT);
    const char *detail = util_last_error();
    if (!strstr(detail, part1) || (part2 && !strstr(detail, part2)))
        fail_msg("detail '%s' lacks '%s' / '%s'", detail, part1, part2 ? part2 : "");
}

/* 64 random lowercase hex digits and a newline. */
static void random_hex(char out[66])
{
    uint8_t seed[AUDIT_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    audit_hex(seed, sizeof seed, out);
    out[64] = '\n';
    out[65] = '\0';
}

static void test_null_arguments(void **state)
{
    (void)state;
    audit_secret_key key;
    audit_public_key pub;
    assert_int_equal(audit_key_from_seed(NULL, &key), KILN_ERR_NULL_HANDLE);
    assert_string_equal(util_last_error(), "audit key: NULL argument");
    assert_int_equal(audit_key_generate(NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_key_save(NULL, "x"), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_key_load_secret(NULL, &key), KILN_ERR_NULL_HANDLE);
    assert_int_equal(audit_key_load_public("x", NULL), KILN_ERR_NULL_HANDLE);
    assert_string_equal(util_last_error(), "audit key: NULL argument");
    audit_key_wipe(NULL); /* a no-op, not a crash */
    (void)pub;
}

static void test_bad_files(void **state)
{
    (void)state;
    char path[PATH_TEXT], hex[66];
    audit_secret_key key;
    audit_public_key pub;

    temp_path(path, "missing.key");
    assert_detail(audit_key_load_secret(path, &key), "cannot open key file", "missing.key");

    /* O_NOFOLLOW: a link to a good key is refused. */
    char target[PATH_TEXT];
    temp_path(target, "real.pub");
    random_hex(hex);
    write_file(target, hex, 0644);
    assert_int_equal(audit_key_load_public(target, &pub), KILN_OK);
    temp_path(path, "link.pub");
    assert_int_equal(symlink(target, path), 0);
    assert_detail(audit_key_load_public(path, &pub), "cannot open key file", "link.pub");

    temp_path(path, "dir.pub");
    assert_int_equal(mkdir(path, 0700), 0);
    assert_detail(audit_key_load_public(path, &pub), "is not a regular file", "dir.pub");

    temp_path(path, "open.key");
    random_hex(hex);
    write_file(path, hex, 0640);
    assert_detail(audit_key_load_secret(path, &key), "has mode 0640", "chmod 600");
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(audit_key_load_secret(path, &key), KILN_OK);

    static const char *const bad_texts[] = {
        "",
        "abc\n",
        /* upper case */
        "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n",
        /* one digit short, one too many, not hex */
        "bcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n",
        "0abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n",
        "zzcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n",
    };
    for (size_t i = 0; i < sizeof bad_texts / sizeof bad_texts[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.key", i);
        temp_path(path, name);
        write_file(path, bad_texts[i], 0600);
        assert_detail(audit_key_load_secret(path, &key), "is not 64 lowercase hex digits", name);
    }
    /* Without the newline is accepted. */
    temp_path(path, "nonl.pub");
    random_hex(hex);
    hex[64] = '\0';
    write_file(path, hex, 0644);
    assert_int_equal(audit_key_load_public(path, &pub), KILN_OK);
    audit_key_wipe(&key);
}

static void test_save_refusals(void **state)
{
    (void)state;
    audit_secret_key key, loaded;
    assert_int_equal(audit_key_generate(&key), KILN_OK);
    /* Room for a prefix and its ".key" / ".pub". */
    char prefix[PATH_TEXT], path[PATH_TEXT + 8];
    temp_path(prefix, "saved");
    assert_int_equal(audit_key_save(&key, prefix), KILN_OK);
    snprintf(path, sizeof path, "%s.key", prefix);
    assert_int_equal(audit_key_load_secret(path, &loaded), KILN_OK);
    assert_memory_equal(loaded.pub.bytes, key.pub.bytes, sizeof key.pub.bytes);
    assert_string_equal(loaded.pub.id, key.pub.id);

    /* A second save never overwrites. */
    assert_detail(audit_key_save(&key, prefix), "exists; a key is never overwritten", ".pub");

    /* A secret file alone (public missing) is not replaced either. */
    snprintf(path, sizeof path, "%s.pub", prefix);
    assert_int_equal(unlink(path), 0);
    assert_detail(audit_key_save(&key, prefix), "cannot create", ".key");

    /* A directory that does not exist. */
    temp_path(prefix, "nodir/k");
    assert_detail(audit_key_save(&key, prefix), "cannot create", "nodir/k.key");

    /* A .pub that cannot be created (a dangling link is followed by no
     * one: O_EXCL refuses it) removes the secret file just written. */
    temp_path(prefix, "half");
    snprintf(path, sizeof path, "%s.pub", prefix);
    char secret[PATH_TEXT + 8];
    snprintf(secret, sizeof secret, "%s.key", prefix);
    assert_int_equal(symlink("/nonexistent/target", path), 0);
    assert_detail(audit_key_save(&key, prefix), "cannot create", "half.pub");
    assert_int_equal(access(secret, F_OK), -1);
    audit_key_wipe(&key);
    audit_key_wipe(&loaded);
}

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : test_temp_dir_make("kiln-govcov-key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_save_refusals),
    };
    return cmocka_run_group_tests(tests, setup, test_temp_dir_remove);
}
