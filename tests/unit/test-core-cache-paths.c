/* The disk cache's directory handling: paths too long to use, paths that
 * cannot be created or written, and entries whose write fails half-way
 * (the temporary file is removed, nothing is left to load). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cache.h"
#include "test-temp-dir.h"

/* Longer than cache.c's path buffers (CACHE_PATH_MAX, 4096). */
#define OVERLONG_PATH 5000
/* Directory names of this length nest below PATH_MAX with little room left. */
#define DEEP_COMPONENT 200
/* A limit on file size below a cache entry's header plus payload. */
#define SMALL_FILE_LIMIT 16
#define PAYLOAD_BYTES 4096

static int setup_dir(void **state)
{
    (void)state;
    return test_temp_dir_make("kiln-cache-paths");
}

static int warnings_seen;
static char last_warning[OVERLONG_PATH + 256];

static void keep_warning(void *user, const char *message)
{
    (void)user;
    snprintf(last_warning, sizeof last_warning, "%s", message);
    warnings_seen++;
}

/* Creates the cache for dir and checks it fell back to memory only with one
 * warning naming the directory's start. */
static void expect_memory_only(const char *dir)
{
    warnings_seen = 0;
    core_cache *c = NULL;
    assert_int_equal(cache_create(dir, 1, keep_warning, NULL, &c), KILN_OK);
    assert_non_null(c);
    assert_null(cache_directory(c));
    assert_int_equal(warnings_seen, 1);
    assert_non_null(strstr(last_warning, "is not writable"));
    size_t shown = strlen(dir) < 20 ? strlen(dir) : 20;
    assert_memory_equal(strstr(last_warning, "'") + 1, dir, shown);
    unsigned char key[CORE_CACHE_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    void *got = NULL;
    size_t size = 0;
    assert_int_equal(cache_disk_read(c, key, &got, &size), KILN_ERR_NOT_FOUND);
    cache_destroy(c);
}

static void unusable_directories_give_memory_only(void **state)
{
    (void)state;
    char *overlong = malloc(OVERLONG_PATH + 1);
    assert_non_null(overlong);
    memset(overlong, 'a', OVERLONG_PATH);
    overlong[0] = '/';
    overlong[OVERLONG_PATH] = '\0';
    expect_memory_only(overlong);
    free(overlong);

    /* Two levels below a regular file: the first mkdir already fails. */
    char file[300], below[340];
    snprintf(file, sizeof file, "%s/plain-file", test_temp_dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(below, sizeof below, "%s/sub/deeper", file);
    expect_memory_only(below);

    /* A directory that exists but takes no files, even from root. */
    expect_memory_only("/proc");
}

/* A directory that can be created, but whose probe file name would not fit
 * the path buffer. */
static void directory_too_deep_for_its_entries(void **state)
{
    (void)state;
    char path[4200];
    size_t n = (size_t)snprintf(path, sizeof path, "%s", test_temp_dir);
    char component[DEEP_COMPONENT + 2];
    memset(component + 1, 'd', DEEP_COMPONENT);
    component[0] = '/';
    component[DEEP_COMPONENT + 1] = '\0';
    while (n + DEEP_COMPONENT + 1 < 4080) {
        memcpy(path + n, component, DEEP_COMPONENT + 2);
        n += DEEP_COMPONENT + 1;
    }
    /* Pad so that dir + "/.probe-XXXXXX" passes 4095 characters. */
    size_t pad = 4090 - n;
    path[n++] = '/';
    memset(path + n, 'p', pad - 1);
    n += pad - 1;
    path[n] = '\0';
    assert_int_equal(strlen(path), 4090);
    expect_memory_only(path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0); /* it was created, just not usable */
    assert_true(S_ISDIR(st.st_mode));
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void random_payload(unsigned char *p, size_t n)
{
    randombytes_buf(p, n);
}

static void failed_writes_leave_nothing_behind(void **state)
{
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/entries", test_temp_dir);
    core_cache *c = NULL;
    assert_int_equal(cache_create(dir, 1, keep_warning, NULL, &c), KILN_OK);
    assert_string_equal(cache_directory(c), dir);
    static unsigned char payload[PAYLOAD_BYTES];
    random_payload(payload, sizeof payload);
    unsigned char key[CORE_CACHE_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    void *got = NULL;
    size_t size = 0;

    /* The entry's name is taken by a directory: the rename fails. */
    char hex[CORE_CACHE_KEY_BYTES * 2 + 1], entry[400];
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    snprintf(entry, sizeof entry, "%s/%s.bin", dir, hex);
    assert_int_equal(mkdir(entry, 0700), 0);
    cache_disk_write(c, key, payload, sizeof payload);
    assert_int_equal(count_files(dir), 1); /* only the directory; no temp file */
    assert_int_equal(rmdir(entry), 0);

    /* Files may not grow past a few bytes: the write fails. */
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit small = { .rlim_cur = SMALL_FILE_LIMIT, .rlim_max = old.rlim_max };
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    cache_disk_write(c, key, payload, sizeof payload);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(count_files(dir), 0);
    assert_int_equal(cache_disk_read(c, key, &got, &size), KILN_ERR_NOT_FOUND);

    /* With the limit lifted the same entry round-trips. */
    cache_disk_write(c, key, payload, sizeof payload);
    assert_int_equal(cache_disk_read(c, key, &got, &size), KILN_OK);
    assert_int_equal(size, sizeof payload);
    assert_memory_equal(got, payload, sizeof payload);
    free(got);

    /* The directory vanished after the cache was made: nothing is written. */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    randombytes_buf(key, sizeof key);
    cache_disk_write(c, key, payload, sizeof payload);
    assert_int_equal(cache_disk_read(c, key, &got, &size), KILN_ERR_NOT_FOUND);
    cache_destroy(c);
}

/* A memory-only cache keeps no modules: find misses and insert hands the
 * module straight back. */
static void cache_without_memory_level_keeps_nothing(void **state)
{
    (void)state;
    core_cache *c = NULL;
    assert_int_equal(cache_create(NULL, 0, NULL, NULL, &c), KILN_OK);
    assert_null(cache_directory(c));
    core_module *m = calloc(1, sizeof *m);
    assert_non_null(m);
    randombytes_buf(m->key, sizeof m->key);
    atomic_init(&m->refs, 1);
    assert_ptr_equal(cache_memory_insert(c, m), m);
    assert_int_equal(atomic_load(&m->refs), 1);
    assert_null(cache_memory_find(c, m->key));
    core_module_release(m);
    cache_destroy(c);
    cache_destroy(NULL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unusable_directories_give_memory_only, setup_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(directory_too_deep_for_its_entries, setup_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(failed_writes_leave_nothing_behind, setup_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test(cache_without_memory_level_keeps_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
