/* The CUDA adapter against whatever this machine has. Without a driver or
 * device, open() must say KILN_ERR_BACKEND_UNAVAILABLE with a reason (and
 * the test passes). With one, the device is described from real attributes
 * and streams of every priority, timing events and threads work. Set
 * KILN_TEST_EXPECT_CUDA=1 to make an unavailable backend a failure (the
 * GPU check script does). */
#include <pthread.h>

#include "test-cuda-support.h"

#include "backends/cuda/cuda_api.h"

#define DRIVER_THREADS 4
#define DRIVER_THREAD_ROUNDS 8
#define DRIVER_MAX_BYTES (1u << 20)
/* A launch long enough to time: this many items of affine. */
#define DRIVER_TIMED_ITEMS (1u << 22)
#define DRIVER_LOCAL 256u

static cuda_test_env env;
static int have_cuda;

static int expect_cuda(void)
{
    const char *v = getenv("KILN_TEST_EXPECT_CUDA");
    return v && strcmp(v, "1") == 0;
}

static void an_absent_driver_is_unavailable_with_a_reason(void **state)
{
    char reason[512] = "";
    kiln_status st = cuda_test_open("cuda", &env, reason, sizeof reason);
    if (st == KILN_OK) {
        have_cuda = 1;
        printf("# cuda device 0: %s (%s, %s)\n", env.info.name, env.info.architecture,
               env.info.driver_version);
        return;
    }
    printf("# cuda unavailable: %s\n", reason);
    assert_int_equal(st, KILN_ERR_BACKEND_UNAVAILABLE);
    assert_null(env.backend);
    assert_true(strlen(reason) > 0);
    assert_non_null(strstr(util_last_error(), reason));
    assert_false(expect_cuda());
    /* A second open gives the same answer without retrying the load. */
    char again[512] = "";
    port_backend *b = NULL;
    assert_int_equal(env.ops->open(&b, again, sizeof again), KILN_ERR_BACKEND_UNAVAILABLE);
    assert_string_equal(reason, again);
}

/* NVRTC loads from the places the README names, or the reason lists them
 * with the KILN_CUDA_PATH it used. Needs no GPU: NVRTC is a host library. */
static void nvrtc_loads_or_says_where_it_looked(void **state)
{
    const char *saved = getenv("KILN_CUDA_PATH");
    char *restore = saved ? strdup(saved) : NULL;
    setenv("KILN_CUDA_PATH", "/nonexistent/kiln-cuda-toolkit", 1);
    cuda_nvrtc_api api;
    char reason[1024] = "";
    int loaded = cuda_api_load_nvrtc(&api, reason, sizeof reason);
    if (restore)
        setenv("KILN_CUDA_PATH", restore, 1);
    else
        unsetenv("KILN_CUDA_PATH");
    free(restore);
    if (!loaded) {
        printf("# %s\n", reason);
        assert_non_null(strstr(reason, "NVRTC"));
        assert_non_null(strstr(reason, "KILN_CUDA_PATH=/nonexistent/kiln-cuda-toolkit"));
        return;
    }
    int major = 0, minor = 0;
    assert_int_equal(api.Version(&major, &minor), NVRTC_SUCCESS);
    printf("# NVRTC %d.%d\n", major, minor);
    assert_true(major >= 11);
}

static void the_device_is_described_from_real_attributes(void **state)
{
    if (!have_cuda)
        skip();
    const kiln_device_info *info = &env.info;
    assert_true(strlen(info->name) > 0);
    assert_string_equal(info->vendor, "NVIDIA");
    assert_int_equal(strncmp(info->architecture, "sm_", 3), 0);
    assert_true(strtol(info->architecture + 3, NULL, 10) >= 50);
    assert_int_equal(strncmp(info->driver_version, "CUDA ", 5), 0);
    assert_int_equal(info->kind, KILN_DEVICE_KIND_GPU);
    assert_int_equal(info->backend, KILN_BACKEND_CUDA);
    assert_true(info->memory_bytes > 0);
    assert_true(info->compute_units > 0);
    assert_true(info->max_work_group_size >= 256);
    assert_true(info->shared_memory_bytes >= 16 * 1024);
    assert_int_equal(info->subgroup_size, 32);
    assert_int_equal(info->capabilities, KILN_CAP_DOUBLE | KILN_CAP_FLOAT_ATOMICS |
                                             KILN_CAP_INT64_ATOMICS | KILN_CAP_SUBGROUPS);
    assert_int_equal(info->health, KILN_HEALTH_HEALTHY);
    uint64_t used = 0, total = 0;
    CUDA_TEST_OK(env.ops->memory->usage(env.dev, &used, &total));
    assert_true(total > 0 && total <= info->memory_bytes);
    assert_true(used <= total);
    char identity[256];
    CUDA_TEST_OK(env.ops->compile->cache_identity(env.dev, identity, sizeof identity));
    printf("# cache identity: %s\n", identity);
    assert_int_equal(strncmp(identity, info->architecture, strlen(info->architecture)), 0);
    assert_non_null(strstr(identity, " driver="));
    assert_non_null(strstr(identity, " nvrtc="));
}

static void streams_of_every_priority_run_kernels(void **state)
{
    if (!have_cuda)
        skip();
    cuda_test_seed();
    cuda_test_program p;
    cuda_test_build(&env, cuda_test_affine_source, &p);
    port_function *f = cuda_test_function(&env, &p, "affine");
    const int priorities[] = {KILN_PRIORITY_LOW, KILN_PRIORITY_NORMAL, KILN_PRIORITY_HIGH};
    for (size_t i = 0; i < sizeof priorities / sizeof priorities[0]; i++) {
        port_stream *s = NULL;
        CUDA_TEST_OK(env.ops->execution->stream_create(env.dev, priorities[i], &s));
        size_t groups = 1 + (size_t)rand() % 64;
        cuda_test_run_affine(&env, s, f, groups * DRIVER_LOCAL, DRIVER_LOCAL);
        env.ops->execution->stream_destroy(s);
    }
    cuda_test_release(&env, &p);
}

static void launch_events_time_the_kernel(void **state)
{
    if (!have_cuda)
        skip();
    cuda_test_seed();
    cuda_test_program p;
    cuda_test_build(&env, cuda_test_affine_source, &p);
    port_function *f = cuda_test_function(&env, &p, "affine");
    port_mem *out = NULL;
    CUDA_TEST_OK(env.ops->memory->alloc(env.dev, DRIVER_TIMED_ITEMS * sizeof(uint32_t), &out));
    uint32_t base = (uint32_t)rand();
    port_arg args[2] = {{.mem = out}, {.value = &base, .size = sizeof base}};
    port_launch launch = {.dims = 1,
                          .groups = {DRIVER_TIMED_ITEMS / DRIVER_LOCAL, 1, 1},
                          .local = {DRIVER_LOCAL, 1, 1},
                          .args = args,
                          .nargs = 2};
    port_event *begin = NULL, *end = NULL, *after = NULL;
    CUDA_TEST_OK(env.ops->execution->launch(env.stream, f, &launch, &begin, &end));
    CUDA_TEST_OK(env.ops->execution->event_record(env.stream, &after));
    CUDA_TEST_OK(env.ops->execution->event_wait(after));
    uint64_t kernel_ns = 0, tail_ns = 0;
    CUDA_TEST_OK(env.ops->execution->event_elapsed_ns(begin, end, &kernel_ns));
    CUDA_TEST_OK(env.ops->execution->event_elapsed_ns(begin, after, &tail_ns));
    printf("# %u items: kernel %llu ns\n", DRIVER_TIMED_ITEMS, (unsigned long long)kernel_ns);
    assert_true(kernel_ns > 0);
    assert_true(tail_ns >= kernel_ns);
    uint32_t probe = 0;
    size_t index = (size_t)rand() % DRIVER_TIMED_ITEMS;
    CUDA_TEST_OK(env.ops->memory->read(env.stream, out, index * sizeof probe, &probe,
                                       sizeof probe));
    assert_int_equal(probe, base + (uint32_t)index * 3u);
    env.ops->execution->event_release(begin);
    env.ops->execution->event_release(end);
    env.ops->execution->event_release(after);
    env.ops->memory->free(env.dev, out);
    cuda_test_release(&env, &p);
}

static void *driver_thread_main(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    port_stream *s = NULL;
    if (env.ops->execution->stream_create(env.dev, KILN_PRIORITY_NORMAL, &s) != KILN_OK)
        return "stream_create failed";
    const char *failure = NULL;
    for (int round = 0; round < DRIVER_THREAD_ROUNDS && !failure; round++) {
        size_t bytes = 1 + (size_t)rand_r(&seed) % DRIVER_MAX_BYTES;
        unsigned char *in = malloc(bytes), *out = malloc(bytes);
        port_mem *mem = NULL;
        if (!in || !out || env.ops->memory->alloc(env.dev, bytes, &mem) != KILN_OK)
            failure = "alloc failed";
        for (size_t i = 0; !failure && i < bytes; i++)
            in[i] = (unsigned char)rand_r(&seed);
        if (!failure && (env.ops->memory->write(s, mem, 0, in, bytes) != KILN_OK ||
                         env.ops->memory->read(s, mem, 0, out, bytes) != KILN_OK))
            failure = "write or read failed";
        if (!failure && memcmp(in, out, bytes) != 0)
            failure = "read back different bytes";
        env.ops->memory->free(env.dev, mem);
        free(in);
        free(out);
    }
    env.ops->execution->stream_destroy(s);
    return (void *)failure;
}

static void threads_with_their_own_streams_keep_their_data(void **state)
{
    if (!have_cuda)
        skip();
    cuda_test_seed();
    pthread_t threads[DRIVER_THREADS];
    for (unsigned i = 0; i < DRIVER_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, driver_thread_main,
                                        (void *)(uintptr_t)rand()),
                         0);
    for (unsigned i = 0; i < DRIVER_THREADS; i++) {
        void *failure = NULL;
        pthread_join(threads[i], &failure);
        if (failure)
            fail_msg("thread %u: %s: %s", i, (const char *)failure, util_last_error());
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_absent_driver_is_unavailable_with_a_reason),
        cmocka_unit_test(nvrtc_loads_or_says_where_it_looked),
        cmocka_unit_test(the_device_is_described_from_real_attributes),
        cmocka_unit_test(streams_of_every_priority_run_kernels),
        cmocka_unit_test(launch_events_time_the_kernel),
        cmocka_unit_test(threads_with_their_own_streams_keep_their_data),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (have_cuda)
        cuda_test_close(&env);
    return failed;
}
