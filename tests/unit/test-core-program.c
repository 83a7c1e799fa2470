/* Building programs through the public API on the CPU device: diagnostics,
 * the kernel cache's three origins, corrupt and unwritable caches, a missing
 * compiler, and argument checking at launch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kiln/kiln.h>

#include "test-temp-dir.h"

static const char *saxpy_source =
    "kernel void saxpy(uint n, float a, global const float *x, global float *y) {\n"
    "    uint i = global_id(0);\n"
    "    if (i < n) y[i] = a * x[i] + y[i];\n"
    "}\n";

static int warnings;

static void count_warnings(kiln_log_level level, const char *message, void *user)
{
    (void)message;
    (void)user;
    if (level == KILN_LOG_WARNING)
        warnings++;
}

static kiln_context *open_context(const char *dir)
{
    kiln_context_options opts = { .size = sizeof opts, .cache_dir = dir, .log = count_warnings };
    kiln_context *ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    return ctx;
}

static kiln_device *cpu_of(kiln_context *ctx)
{
    kiln_device *dev = NULL;
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    return dev;
}

static int make_cache_dir(void **state)
{
    (void)state;
    return test_temp_dir_make("kiln-program-test");
}

static kiln_build_origin build_origin(kiln_device *dev, const char *source)
{
    kiln_program *prog = NULL;
    assert_int_equal(kiln_program_build(dev, source, NULL, &prog), KILN_OK);
    kiln_build_origin origin = kiln_program_origin(prog);
    kiln_program_release(prog);
    return origin;
}

/* A source no earlier run can have cached: a fresh random constant in it. */
static void unique_source(char *buf, size_t n)
{
    snprintf(buf, n, "kernel void k(global uint *o) { o[global_id(0)] = %uu; }\n",
             (unsigned)rand());
}

static void cache_origins_compiled_memory_disk(void **state)
{
    (void)state;
    char source[256];
    unique_source(source, sizeof source);
    kiln_context *ctx = open_context(test_temp_dir);
    assert_int_equal(build_origin(cpu_of(ctx), source), KILN_BUILD_COMPILED);
    assert_int_equal(build_origin(cpu_of(ctx), source), KILN_BUILD_MEMORY_CACHE);
    kiln_context_destroy(ctx);
    ctx = open_context(test_temp_dir);
    assert_int_equal(build_origin(cpu_of(ctx), source), KILN_BUILD_DISK_CACHE);
    kiln_context_destroy(ctx);
}

static void corrupt_disk_entry_is_rebuilt(void **state)
{
    (void)state;
    char source[256];
    unique_source(source, sizeof source);
    kiln_context *ctx = open_context(test_temp_dir);
    assert_int_equal(build_origin(cpu_of(ctx), source), KILN_BUILD_COMPILED);
    kiln_context_destroy(ctx);
    /* Overwrite the middle of every entry with garbage. */
    DIR *d = opendir(test_temp_dir);
    assert_non_null(d);
    struct dirent *e;
    int corrupted = 0;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".bin"))
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", test_temp_dir, e->d_name);
        FILE *f = fopen(path, "r+b");
        assert_non_null(f);
        fseek(f, 200, SEEK_SET);
        fwrite("garbage!garbage!", 1, 16, f);
        fclose(f);
        corrupted++;
    }
    closedir(d);
    assert_true(corrupted >= 1);
    ctx = open_context(test_temp_dir);
    assert_int_equal(build_origin(cpu_of(ctx), source), KILN_BUILD_COMPILED);
    kiln_context_destroy(ctx);
}

static void unwritable_cache_dir_warns_once_and_still_builds(void **state)
{
    (void)state;
    char file[300], dir[320];
    snprintf(file, sizeof file, "%s/not-a-dir", test_temp_dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/cache", file);
    warnings = 0;
    kiln_context *ctx = open_context(dir);
    assert_int_equal(warnings, 1);
    char source[256];
    unique_source(source, sizeof source);
    assert_int_equal(build_origin(cpu_of(ctx), source), KILN_BUILD_COMPILED);
    assert_int_equal(build_origin(cpu_of(ctx), source), KILN_BUILD_MEMORY_CACHE);
    assert_int_equal(warnings, 1);
    kiln_context_destroy(ctx);
}

static void syntax_error_names_line_and_column(void **state)
{
    (void)state;
    kiln_context *ctx = open_context(test_temp_dir);
    kiln_build_options opts = { .size = sizeof opts, .source_name = "broken.kc" };
    kiln_program *prog = NULL;
    const char *bad = "kernel void k(global float *y) {\n    y[0] = 1.0f +;\n}\n";
    assert_int_equal(kiln_program_build(cpu_of(ctx), bad, &opts, &prog), KILN_ERR_COMPILE);
    assert_null(prog);
    assert_non_null(strstr(kiln_last_error(), "broken.kc:2:"));
    assert_non_null(strstr(kiln_last_error(), "error:"));
    assert_non_null(strstr(kiln_last_error(), "^"));
    kiln_context_destroy(ctx);
}

static void missing_compiler_names_kiln_cc(void **state)
{
    (void)state;
    char source[256];
    unique_source(source, sizeof source);
    kiln_context_options opts = { .size = sizeof opts, .flags = KILN_CONTEXT_NO_CACHE };
    kiln_context *nocache = NULL;
    assert_int_equal(kiln_context_create(&nocache, &opts), KILN_OK);
    setenv("KILN_CC", "/nonexistent/kiln-test-cc", 1);
    kiln_program *prog = NULL;
    assert_int_equal(kiln_program_build(cpu_of(nocache), source, NULL, &prog), KILN_ERR_NO_COMPILER);
    assert_non_null(strstr(kiln_last_error(), "KILN_CC"));
    unsetenv("KILN_CC");
    kiln_context_destroy(nocache);
}

static void launch_checks_arguments_against_the_signature(void **state)
{
    (void)state;
    kiln_context *ctx = open_context(test_temp_dir);
    kiln_device *dev = cpu_of(ctx);
    kiln_queue *q = NULL;
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    kiln_buffer *x = NULL, *y = NULL;
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    assert_int_equal(kiln_program_build(dev, saxpy_source, NULL, &prog), KILN_OK);
    assert_int_equal(kiln_kernel_get(prog, "saxpy", &k), KILN_OK);
    assert_int_equal(kiln_kernel_get(prog, "nope", &(kiln_kernel *){ NULL }), KILN_ERR_NOT_FOUND);
    kiln_program_release(prog); /* the kernel keeps what it needs */
    assert_int_equal(kiln_buffer_create(dev, 64 * sizeof(float), 0, &x), KILN_OK);
    assert_int_equal(kiln_buffer_create(dev, 64 * sizeof(float), 0, &y), KILN_OK);
    kiln_range r = { .dims = 1, .global = { 64 } };
    kiln_arg wrong_type[] = { KILN_ARG_U32(64), KILN_ARG_U32(2), KILN_ARG_BUFFER(x),
                              KILN_ARG_BUFFER(y) };
    assert_int_equal(kiln_launch(q, k, &r, wrong_type, 4, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "'a'"));
    assert_non_null(strstr(kiln_last_error(), "float"));
    assert_non_null(strstr(kiln_last_error(), "uint"));
    assert_int_equal(kiln_launch(q, k, &r, wrong_type, 3, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "takes 4 arguments, got 3"));
    kiln_arg scalar_for_buffer[] = { KILN_ARG_U32(64), KILN_ARG_F32(2), KILN_ARG_F32(1),
                                     KILN_ARG_BUFFER(y) };
    assert_int_equal(kiln_launch(q, k, &r, scalar_for_buffer, 4, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "'x'"));
    kiln_arg good[] = { KILN_ARG_U32(64), KILN_ARG_F32(2), KILN_ARG_BUFFER(x), KILN_ARG_BUFFER(y) };
    kiln_range zero = { .dims = 1, .global = { 0 } };
    assert_int_equal(kiln_launch(q, k, &zero, good, 4, NULL), KILN_ERR_INVALID_RANGE);
    kiln_range too_big = { .dims = 1, .global = { 64 }, .local = { 1u << 20 } };
    assert_int_equal(kiln_launch(q, k, &too_big, good, 4, NULL), KILN_ERR_INVALID_RANGE);
    kiln_event *ev = NULL;
    assert_int_equal(kiln_launch(q, k, &r, good, 4, &ev), KILN_OK);
    assert_int_equal(kiln_event_wait(ev), KILN_OK);
    uint64_t ns = 0;
    assert_int_equal(kiln_event_elapsed_ns(ev, ev, &ns), KILN_OK);
    kiln_event_release(ev);
    kiln_buffer_release(x);
    kiln_buffer_release(y);
    kiln_kernel_release(k);
    kiln_queue_destroy(q);
    kiln_context_destroy(ctx);
}

static void oversized_work_group_memory_is_refused_at_build(void **state)
{
    (void)state;
    kiln_context *ctx = open_context(test_temp_dir);
    kiln_program *prog = NULL;
    /* 1024 floats live across the barrier in each of up to 1024 items: 4 MiB. */
    const char *private_across_barrier =
        "kernel void big(global float *o) {\n"
        "    float p[1024];\n"
        "    for (int i = 0; i < 1024; i++) p[i] = (float)i;\n"
        "    barrier();\n"
        "    o[global_id(0)] = p[local_id(0)];\n"
        "}\n";
    assert_int_equal(kiln_program_build(cpu_of(ctx), private_across_barrier, NULL, &prog),
                     KILN_ERR_UNSUPPORTED);
    assert_non_null(strstr(kiln_last_error(), "'big'"));
    assert_null(prog);
    const char *huge_shared =
        "kernel void wide(global float *o) {\n"
        "    shared float s[1000000];\n"
        "    s[local_id(0)] = 1.0f;\n"
        "    barrier();\n"
        "    o[global_id(0)] = s[0];\n"
        "}\n";
    assert_int_equal(kiln_program_build(cpu_of(ctx), huge_shared, NULL, &prog), KILN_ERR_UNSUPPORTED);
    assert_non_null(strstr(kiln_last_error(), "shared memory"));
    kiln_context_destroy(ctx);
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cache_origins_compiled_memory_disk, make_cache_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(corrupt_disk_entry_is_rebuilt, make_cache_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(unwritable_cache_dir_warns_once_and_still_builds,
                                        make_cache_dir, test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(syntax_error_names_line_and_column, make_cache_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(missing_compiler_names_kiln_cc, make_cache_dir,
                                        test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(launch_checks_arguments_against_the_signature,
                                        make_cache_dir, test_temp_dir_remove),
        cmocka_unit_test_setup_teardown(oversized_work_group_memory_is_refused_at_build,
                                        make_cache_dir, test_temp_dir_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
