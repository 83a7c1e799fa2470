/* The kernel cache's disk level: round trip, corruption, unwritable dirs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cache.h"
#include "test-temp-dir.h"

static int setup_dir(void **state)
{
    (void)state;
    return test_temp_dir_make("kiln-cache-test");
}

static void random_key(unsigned char key[CORE_CACHE_KEY_BYTES])
{
    randombytes_buf(key, CORE_CACHE_KEY_BYTES);
}

static void entry_path(const unsigned char *key, char *path, size_t n)
{
    char hex[CORE_CACHE_KEY_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, key, CORE_CACHE_KEY_BYTES);
    snprintf(path, n, "%s/%s.bin", test_temp_dir, hex);
}

static void disk_entry_round_trips(void **state)
{
    (void)state;
    core_cache *c = NULL;
    assert_int_equal(cache_create(test_temp_dir, 1, NULL, NULL, &c), KILN_OK);
    assert_non_null(cache_directory(c));
    unsigned char key[CORE_CACHE_KEY_BYTES];
    random_key(key);
    unsigned char payload[5000];
    randombytes_buf(payload, sizeof payload);
    void *got = NULL;
    size_t size = 0;
    assert_int_equal(cache_disk_read(c, key, &got, &size), KILN_ERR_NOT_FOUND);
    cache_disk_write(c, key, payload, sizeof payload);
    assert_int_equal(cache_disk_read(c, key, &got, &size), KILN_OK);
    assert_int_equal(size, sizeof payload);
    assert_memory_equal(got, payload, sizeof payload);
    free(got);
    cache_destroy(c);
}

static void corrupt_entry_is_removed_not_loaded(void **state)
{
    (void)state;
    core_cache *c = NULL;
    assert_int_equal(cache_create(test_temp_dir, 1, NULL, NULL, &c), KILN_OK);
    unsigned char key[CORE_CACHE_KEY_BYTES];
    random_key(key);
    unsigned char payload[1000];
    randombytes_buf(payload, sizeof payload);
    cache_disk_write(c, key, payload, sizeof payload);
    char path[512];
    entry_path(key, path, sizeof path);
    /* Flip one byte in the payload. */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t end = lseek(fd, -1, SEEK_END);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, end), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, end), 1);
    close(fd);
    void *got = NULL;
    size_t size = 0;
    assert_int_equal(cache_disk_read(c, key, &got, &size), KILN_ERR_NOT_FOUND);
    assert_int_not_equal(access(path, F_OK), 0);
    cache_destroy(c);
}

static void truncated_and_renamed_entries_are_rejected(void **state)
{
    (void)state;
    core_cache *c = NULL;
    assert_int_equal(cache_create(test_temp_dir, 1, NULL, NULL, &c), KILN_OK);
    unsigned char key[CORE_CACHE_KEY_BYTES], other[CORE_CACHE_KEY_BYTES];
    random_key(key);
    random_key(other);
    unsigned char payload[300];
    randombytes_buf(payload, sizeof payload);
    cache_disk_write(c, key, payload, sizeof payload);
    char path[512], other_path[512];
    entry_path(key, path, sizeof path);
    entry_path(other, other_path, sizeof other_path);
    /* An entry moved under another key fails its checksum (the key is in it). */
    assert_int_equal(rename(path, other_path), 0);
    void *got = NULL;
    size_t size = 0;
    assert_int_equal(cache_disk_read(c, other, &got, &size), KILN_ERR_NOT_FOUND);
    /* A truncated entry is rejected. */
    cache_disk_write(c, key, payload, sizeof payload);
    assert_int_equal(truncate(path, 40), 0);
    assert_int_equal(cache_disk_read(c, key, &got, &size), KILN_ERR_NOT_FOUND);
    cache_destroy(c);
}

static int warnings_seen;
static void count_warning(void *user, const char *message)
{
    (void)user;
    assert_non_null(strstr(message, "not writable"));
    warnings_seen++;
}

static void unwritable_dir_gives_memory_only_and_one_warning(void **state)
{
    (void)state;
    /* A path below a regular file cannot be created, even by root. */
    char file[300], dir[320];
    snprintf(file, sizeof file, "%s/plain-file", test_temp_dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/sub", file); /* cannot exist: parent is a file */
    warnings_seen = 0;
    core_cache *c = NULL;
    assert_int_equal(cache_create(dir, 1, count_warning, NULL, &c), KILN_OK);
    assert_int_equal(warnings_seen, 1);
    assert_null(cache_directory(c));
    unsigned char key[CORE_CACHE_KEY_BYTES];
    random_key(key);
    cache_disk_write(c, key, "x", 1); /* a no-op, not a crash */
    void *got = NULL;
    size_t size = 0;
    assert_int_equal(cache_disk_read(c, key, &got, &size), KILN_ERR_NOT_FOUND);
    cache_destroy(c);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(disk_entry_round_trips, setup_dir, test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(corrupt_entry_is_removed_not_loaded, setup_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(truncated_and_renamed_entries_are_rejected, setup_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(unwritable_dir_gives_memory_only_and_one_warning, setup_dir,
                                        test_temp_dir_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
