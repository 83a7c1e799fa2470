/* Choosing devices and configuring a context: selectors (good and bad),
 * kiln_device_default's preference order and health, a degraded device that
 * recovers, KILN_BACKENDS parsing, and where the kernel cache goes
 * ($KILN_CACHE_DIR, $XDG_CACHE_HOME/kiln, ~/.cache/kiln, or nowhere). */
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

#include "core/core_types.h"

static kiln_context *open_cpu_only(void)
{
    kiln_context_options opts = { .size = sizeof opts, .flags = KILN_CONTEXT_NO_DISK_CACHE,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    kiln_context *ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    return ctx;
}

static void selectors_are_parsed_strictly(void **state)
{
    (void)state;
    kiln_context *ctx = open_cpu_only();
    kiln_device *dev = NULL, *cpu = NULL;
    assert_int_equal(kiln_device_find(ctx, "cpu", &cpu), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "0", &dev), KILN_OK);
    assert_ptr_equal(dev, cpu);
    assert_int_equal(kiln_device_find(ctx, "1", &dev), KILN_ERR_INVALID_DEVICE);
    assert_string_equal(kiln_last_error(), "device index 1 out of range (1 devices)");
    assert_int_equal(kiln_device_find(ctx, "", &dev), KILN_ERR_INVALID_ARG);
    assert_string_equal(kiln_last_error(), "empty device selector");
    assert_int_equal(kiln_device_find(ctx, NULL, &dev), KILN_ERR_INVALID_ARG);
    assert_int_equal(kiln_device_find(ctx, "cpu:", &dev), KILN_ERR_INVALID_DEVICE);
    assert_string_equal(kiln_last_error(), "bad device number in selector 'cpu:'");
    assert_int_equal(kiln_device_find(ctx, "cpu:0x", &dev), KILN_ERR_INVALID_DEVICE);
    /* Digits only after the colon; an index that does not fit is no device. */
    static const char *signed_numbers[] = { "cpu:-0", "cpu:+0", "cpu: 0" };
    for (size_t i = 0; i < sizeof signed_numbers / sizeof signed_numbers[0]; i++)
        assert_int_equal(kiln_device_find(ctx, signed_numbers[i], &dev), KILN_ERR_INVALID_DEVICE);
    assert_int_equal(kiln_device_find(ctx, "4294967296", &dev), KILN_ERR_INVALID_DEVICE);
    assert_string_equal(kiln_last_error(), "device index 4294967296 out of range (1 devices)");
    assert_int_equal(kiln_device_find(ctx, "0cpu", &dev), KILN_ERR_INVALID_DEVICE);
    assert_non_null(strstr(kiln_last_error(), "unknown device selector '0cpu'"));
    assert_int_equal(kiln_device_find(ctx, "opencl:0", &dev), KILN_ERR_NOT_FOUND);
    assert_string_equal(kiln_last_error(), "no device 'opencl:0' in this context");
    assert_int_equal(kiln_device_find(ctx, "cpu", NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_device_find(NULL, "cpu", &dev), KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "context is NULL");
    assert_string_equal(kiln_backend_name((kiln_backend)42), "unknown");
    assert_string_equal(kiln_backend_name(KILN_BACKEND_FAULT), "fault");
    kiln_context_destroy(ctx);
    /* A context whose magic says released is refused by the counting calls
     * too (forged: a really destroyed one is freed memory). */
    struct kiln_context dead = { .magic = CORE_MAGIC_RELEASED, .device_count = 1 };
    assert_int_equal(kiln_device_count(&dead), 0);
    assert_int_equal(kiln_backend_count(&dead), 0);
    assert_string_equal(kiln_last_error(),
                        "context is not a live context handle (released or forged)");
}

/* A context of made-up devices, one per backend kind, to check the order
 * kiln_device_default prefers (no machine here has all of them). */
enum { FAKE_DEVICES = 6 };

typedef struct fake_context {
    struct kiln_context ctx;
    struct kiln_device devs[FAKE_DEVICES];
    struct kiln_device *list[FAKE_DEVICES];
} fake_context;

static void fake_device(fake_context *f, uint32_t i, kiln_backend backend, kiln_device_kind kind)
{
    struct kiln_device *d = &f->devs[i];
    d->magic = CORE_MAGIC_DEVICE;
    d->ctx = &f->ctx;
    d->info.backend = backend;
    d->info.kind = kind;
    d->info.backend_index = 0;
    snprintf(d->info.name, sizeof d->info.name, "fake %u", i);
    atomic_store(&d->health, KILN_HEALTH_HEALTHY);
    f->list[i] = d;
}

static void default_prefers_cuda_metal_gpu_cpu_then_pocl(void **state)
{
    (void)state;
    fake_context *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ctx.magic = CORE_MAGIC_CONTEXT;
    f->ctx.devices = f->list;
    /* Added worst first, so each addition must take over. */
    fake_device(f, 0, (kiln_backend)9, KILN_DEVICE_KIND_OTHER);
    fake_device(f, 1, KILN_BACKEND_FAULT, KILN_DEVICE_KIND_CPU);
    fake_device(f, 2, KILN_BACKEND_OPENCL, KILN_DEVICE_KIND_CPU);
    fake_device(f, 3, KILN_BACKEND_CPU, KILN_DEVICE_KIND_CPU);
    fake_device(f, 4, KILN_BACKEND_METAL, KILN_DEVICE_KIND_GPU);
    fake_device(f, 5, KILN_BACKEND_CUDA, KILN_DEVICE_KIND_GPU);
    kiln_device *best = NULL;
    for (uint32_t n = 1; n <= FAKE_DEVICES; n++) {
        f->ctx.device_count = n;
        assert_int_equal(kiln_device_default(&f->ctx, &best), KILN_OK);
        assert_ptr_equal(best, f->list[n - 1]);
    }
    /* An OpenCL GPU beats the CPU backend but not Metal. */
    f->devs[2].info.kind = KILN_DEVICE_KIND_GPU;
    f->ctx.device_count = 4;
    assert_int_equal(kiln_device_default(&f->ctx, &best), KILN_OK);
    assert_ptr_equal(best, f->list[2]);
    /* Unhealthy devices are passed over; none healthy is an error. */
    f->ctx.device_count = FAKE_DEVICES;
    atomic_store(&f->devs[5].health, KILN_HEALTH_LOST);
    atomic_store(&f->devs[4].health, KILN_HEALTH_DEGRADED);
    assert_int_equal(kiln_device_default(&f->ctx, &best), KILN_OK);
    assert_ptr_equal(best, f->list[2]);
    for (int i = 0; i < FAKE_DEVICES; i++)
        atomic_store(&f->devs[i].health, KILN_HEALTH_LOST);
    best = NULL;
    assert_int_equal(kiln_device_default(&f->ctx, &best), KILN_ERR_NOT_FOUND);
    assert_null(best);
    assert_string_equal(kiln_last_error(), "no healthy device in this context");
    /* Selectors reach every backend's devices by name. */
    assert_int_equal(kiln_device_find(&f->ctx, "metal:0", &best), KILN_OK);
    assert_ptr_equal(best, f->list[4]);
    assert_int_equal(kiln_device_find(&f->ctx, "fault", &best), KILN_OK);
    assert_ptr_equal(best, f->list[1]);
    free(f);
}

/* A device marked degraded is probed again on its next use; the CPU's
 * probe reports it healthy, so work goes on. */
static void degraded_device_recovers_through_its_probe(void **state)
{
    (void)state;
    kiln_context *ctx = open_cpu_only();
    kiln_device *cpu = NULL;
    assert_int_equal(kiln_device_find(ctx, "cpu", &cpu), KILN_OK);
    atomic_store(&cpu->health, KILN_HEALTH_DEGRADED);
    kiln_device_info info;
    assert_int_equal(kiln_device_get_info(cpu, &info), KILN_OK);
    assert_int_equal(info.health, KILN_HEALTH_DEGRADED);
    kiln_device *dev = NULL;
    assert_int_equal(kiln_device_default(ctx, &dev), KILN_ERR_NOT_FOUND);
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(cpu, KILN_PRIORITY_LOW, &q), KILN_OK);
    assert_int_equal(kiln_device_get_info(cpu, &info), KILN_OK);
    assert_int_equal(info.health, KILN_HEALTH_HEALTHY);
    assert_int_equal(kiln_device_default(ctx, &dev), KILN_OK);
    assert_ptr_equal(dev, cpu);
    kiln_queue_destroy(q);
    kiln_context_destroy(ctx);
}

static void backends_list_is_parsed(void **state)
{
    (void)state;
    kiln_context *ctx = NULL;
    unsetenv("KILN_BACKENDS");
    setenv("KILN_BACKENDS", " ,cpu,, cpu ,", 1);
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_OK);
    assert_int_equal(kiln_backend_count(ctx), 1);
    kiln_backend_info info;
    assert_int_equal(kiln_backend_get_info(ctx, 0, &info), KILN_OK);
    assert_int_equal(info.backend, KILN_BACKEND_CPU);
    assert_int_equal(info.device_count, 1);
    kiln_context_destroy(ctx);
    /* A name longer than any backend's, and an unknown short one. */
    setenv("KILN_BACKENDS", "cpu,averyveryverylongbackendnamethatisnotreal", 1);
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_ERR_INVALID_ARG);
    assert_null(ctx);
    assert_string_equal(kiln_last_error(), "KILN_BACKENDS names an unknown backend "
                                           "'averyveryverylongbackendnamethatisnotreal'");
    setenv("KILN_BACKENDS", "gpu cpu", 1);
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_ERR_INVALID_ARG);
    assert_string_equal(kiln_last_error(), "KILN_BACKENDS names an unknown backend 'gpu'");
    /* The option wins over the variable. */
    kiln_context_options opts = { .size = sizeof opts,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    assert_int_equal(kiln_backend_count(ctx), 1);
    kiln_context_destroy(ctx);
    unsetenv("KILN_BACKENDS");
}

/* Counts the cache entries (*.bin) directly in dir; -1 if dir is absent. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".bin") != NULL;
    closedir(d);
    return n;
}

/* Builds a source no earlier run has cached in a fresh context (CPU only,
 * cache directory from the environment) and returns where it came from. */
static kiln_build_origin build_fresh(const char *source)
{
    kiln_context_options opts = { .size = sizeof opts,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    kiln_context *ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    kiln_device *cpu = NULL;
    assert_int_equal(kiln_device_find(ctx, "cpu", &cpu), KILN_OK);
    kiln_program *prog = NULL;
    assert_int_equal(kiln_program_build(cpu, source, NULL, &prog), KILN_OK);
    kiln_build_origin origin = kiln_program_origin(prog);
    kiln_program_release(prog);
    kiln_context_destroy(ctx);
    return origin;
}

static void cache_directory_follows_the_environment(void **state)
{
    (void)state;
    char root[64] = "/tmp/kiln-selection-XXXXXX";
    assert_non_null(mkdtemp(root));
    char *saved_cache = getenv("KILN_CACHE_DIR") ? strdup(getenv("KILN_CACHE_DIR")) : NULL;
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char *saved_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    char source[128], xdg_dir[128], home_dir[128];
    snprintf(source, sizeof source, "kernel void k(global uint *o) { o[0] = %uu; }\n",
             (unsigned)rand());
    snprintf(xdg_dir, sizeof xdg_dir, "%s/xdg/kiln", root);
    snprintf(home_dir, sizeof home_dir, "%s/home/.cache/kiln", root);

    unsetenv("KILN_CACHE_DIR");
    char value[96];
    snprintf(value, sizeof value, "%s/xdg", root);
    setenv("XDG_CACHE_HOME", value, 1);
    snprintf(value, sizeof value, "%s/home", root);
    setenv("HOME", value, 1);
    assert_int_equal(build_fresh(source), KILN_BUILD_COMPILED);
    assert_int_equal(count_entries(xdg_dir), 1);
    assert_int_equal(build_fresh(source), KILN_BUILD_DISK_CACHE);
    assert_int_equal(count_entries(home_dir), -1);

    setenv("XDG_CACHE_HOME", "", 1); /* empty counts as unset */
    assert_int_equal(build_fresh(source), KILN_BUILD_COMPILED);
    assert_int_equal(count_entries(home_dir), 1);
    assert_int_equal(build_fresh(source), KILN_BUILD_DISK_CACHE);

    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    /* No directory at all: memory only, so a new context compiles again. */
    assert_int_equal(build_fresh(source), KILN_BUILD_COMPILED);
    assert_int_equal(build_fresh(source), KILN_BUILD_COMPILED);

    if (saved_cache)
        setenv("KILN_CACHE_DIR", saved_cache, 1);
    if (saved_home)
        setenv("HOME", saved_home, 1);
    if (saved_xdg)
        setenv("XDG_CACHE_HOME", saved_xdg, 1);
    free(saved_cache);
    free(saved_home);
    free(saved_xdg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selectors_are_parsed_strictly),
        cmocka_unit_test(default_prefers_cuda_metal_gpu_cpu_then_pocl),
        cmocka_unit_test(degraded_device_recovers_through_its_probe),
        cmocka_unit_test(backends_list_is_parsed),
        cmocka_unit_test(cache_directory_follows_the_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
