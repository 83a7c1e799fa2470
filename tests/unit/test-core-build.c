/* kiln_program_build's options and cache paths on the CPU device: a disk
 * entry that passes its checksum but does not load is rebuilt, a context
 * without a cache compiles every time, and malformed options are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kiln/kiln.h>

#include "core/cache.h"
#include "test-temp-dir.h"

/* cache.c's entry layout: magic, format version, reserved, payload size,
 * checksum (BLAKE2b of key then payload), payload. */
typedef struct entry_header {
    char magic[8];
    uint32_t format_version;
    uint32_t reserved;
    uint64_t payload_size;
    unsigned char checksum[CORE_CACHE_KEY_BYTES];
} entry_header;

#define GARBAGE_BYTES 512

static int make_cache_dir(void **state)
{
    (void)state;
    return test_temp_dir_make("kiln-build-test");
}

/* Builds source on the CPU of a fresh context with the given flags and
 * checks the result runs: o[i] = i * factor. */
static kiln_build_origin build_and_run(const char *source, uint32_t factor, uint32_t flags)
{
    kiln_context_options opts = { .size = sizeof opts, .flags = flags, .cache_dir = test_temp_dir,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    kiln_context *ctx = NULL;
    kiln_device *cpu = NULL;
    kiln_queue *q = NULL;
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    kiln_buffer *o = NULL;
    enum { N = 100 };
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "cpu", &cpu), KILN_OK);
    assert_int_equal(kiln_queue_create(cpu, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    kiln_build_options bo = { .size = sizeof bo, .source_name = "fill.kc" };
    assert_int_equal(kiln_program_build(cpu, source, &bo, &prog), KILN_OK);
    kiln_build_origin origin = kiln_program_origin(prog);
    assert_int_equal(kiln_kernel_get(prog, "fill", &k), KILN_OK);
    assert_int_equal(kiln_buffer_create(cpu, N * sizeof(uint32_t), 0, &o), KILN_OK);
    kiln_range r = { .dims = 1, .global = { N } };
    kiln_arg args[] = { KILN_ARG_BUFFER(o) };
    assert_int_equal(kiln_launch(q, k, &r, args, 1, NULL), KILN_OK);
    uint32_t got[N];
    assert_int_equal(kiln_buffer_read(q, o, 0, got, sizeof got), KILN_OK);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(got[i], i * factor);
    kiln_buffer_release(o);
    kiln_kernel_release(k);
    kiln_program_release(prog);
    kiln_queue_destroy(q);
    kiln_context_destroy(ctx);
    return origin;
}

static void fill_source(char *buf, size_t n, uint32_t factor)
{
    snprintf(buf, n, "kernel void fill(global uint *o) { o[global_id(0)] = global_id(0) * %uu; }\n",
             factor);
}

/* The path of the one entry in test_temp_dir. */
static void only_entry(char *path, size_t n)
{
    DIR *d = opendir(test_temp_dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".bin")) {
            int w = snprintf(path, n, "%s/%s", test_temp_dir, e->d_name);
            assert_true(w > 0 && (size_t)w < n);
            found++;
        }
    closedir(d);
    assert_int_equal(found, 1);
}

/* Rewrites the entry with random bytes as payload and a checksum that
 * matches them, as a cache written by a broken compiler would be. */
static void replace_payload_validly(const char *path)
{
    const char *name = strrchr(path, '/') + 1;
    unsigned char key[CORE_CACHE_KEY_BYTES];
    assert_int_equal(sodium_hex2bin(key, sizeof key, name, 2 * CORE_CACHE_KEY_BYTES, NULL, NULL,
                                    NULL),
                     0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    entry_header h;
    assert_int_equal(fread(&h, sizeof h, 1, f), 1);
    fclose(f);
    unsigned char garbage[GARBAGE_BYTES];
    randombytes_buf(garbage, sizeof garbage);
    h.payload_size = sizeof garbage;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, CORE_CACHE_KEY_BYTES);
    crypto_generichash_update(&st, key, sizeof key);
    crypto_generichash_update(&st, garbage, sizeof garbage);
    crypto_generichash_final(&st, h.checksum, CORE_CACHE_KEY_BYTES);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(&h, sizeof h, 1, f), 1);
    assert_int_equal(fwrite(garbage, sizeof garbage, 1, f), 1);
    assert_int_equal(fclose(f), 0);
}

static void entry_that_does_not_load_is_rebuilt(void **state)
{
    (void)state;
    uint32_t factor = 2 + (uint32_t)rand() % 1000;
    char source[160];
    fill_source(source, sizeof source, factor);
    assert_int_equal(build_and_run(source, factor, 0), KILN_BUILD_COMPILED);
    assert_int_equal(build_and_run(source, factor, 0), KILN_BUILD_DISK_CACHE);
    char path[256];
    only_entry(path, sizeof path);
    replace_payload_validly(path);
    assert_int_equal(build_and_run(source, factor, 0), KILN_BUILD_COMPILED);
    /* ... and the rebuilt binary replaced the bad entry. */
    assert_int_equal(build_and_run(source, factor, 0), KILN_BUILD_DISK_CACHE);
}

static void no_cache_compiles_every_time(void **state)
{
    (void)state;
    uint32_t factor = 2 + (uint32_t)rand() % 1000;
    char source[160];
    fill_source(source, sizeof source, factor);
    kiln_context_options opts = { .size = sizeof opts, .flags = KILN_CONTEXT_NO_CACHE,
                                  .cache_dir = test_temp_dir,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    kiln_context *ctx = NULL;
    kiln_device *cpu = NULL;
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "cpu", &cpu), KILN_OK);
    for (int i = 0; i < 2; i++) {
        kiln_program *prog = NULL;
        assert_int_equal(kiln_program_build(cpu, source, NULL, &prog), KILN_OK);
        assert_int_equal(kiln_program_origin(prog), KILN_BUILD_COMPILED);
        kiln_program_release(prog);
    }
    kiln_context_destroy(ctx);
    DIR *d = opendir(test_temp_dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        assert_null(strstr(e->d_name, ".bin")); /* nothing went to disk */
    closedir(d);
    assert_int_equal(build_and_run(source, factor, KILN_CONTEXT_NO_CACHE), KILN_BUILD_COMPILED);
}

static void malformed_build_requests_are_refused(void **state)
{
    (void)state;
    kiln_context_options opts = { .size = sizeof opts, .flags = KILN_CONTEXT_NO_DISK_CACHE,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    kiln_context *ctx = NULL;
    kiln_device *cpu = NULL;
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "cpu", &cpu), KILN_OK);
    kiln_program *prog = (kiln_program *)cpu; /* overwritten with NULL on failure */
    char source[160];
    fill_source(source, sizeof source, 3);
    kiln_build_options old = { .size = sizeof old - 8 };
    assert_int_equal(kiln_program_build(cpu, source, &old, &prog), KILN_ERR_INVALID_ARG);
    assert_null(prog);
    char expected[96];
    snprintf(expected, sizeof expected,
             "kiln_build_options.size is %zu, expected %zu (set it to sizeof)", sizeof old - 8,
             sizeof old);
    assert_string_equal(kiln_last_error(), expected);
    assert_int_equal(kiln_program_build(cpu, NULL, NULL, &prog), KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "kernel source is NULL");
    assert_int_equal(kiln_program_build(cpu, source, NULL, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_program_build(NULL, source, NULL, &prog), KILN_ERR_NULL_HANDLE);
    /* Defines change the program: the same source builds twice. */
    const char *defined = "kernel void fill(global uint *o) { o[global_id(0)] = V; }\n";
    kiln_build_options one = { .size = sizeof one, .defines = "-DV=1u" };
    kiln_build_options two = { .size = sizeof two, .defines = "-DV=2u" };
    kiln_program *p1 = NULL, *p2 = NULL, *p3 = NULL;
    assert_int_equal(kiln_program_build(cpu, defined, &one, &p1), KILN_OK);
    assert_int_equal(kiln_program_build(cpu, defined, &two, &p2), KILN_OK);
    assert_int_equal(kiln_program_origin(p2), KILN_BUILD_COMPILED);
    assert_int_equal(kiln_program_build(cpu, defined, &one, &p3), KILN_OK);
    assert_int_equal(kiln_program_origin(p3), KILN_BUILD_MEMORY_CACHE);
    kiln_program_release(p1);
    kiln_program_release(p2);
    kiln_program_release(p3);
    kiln_context_destroy(ctx);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(entry_that_does_not_load_is_rebuilt, make_cache_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(no_cache_compiles_every_time, make_cache_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test(malformed_build_requests_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
