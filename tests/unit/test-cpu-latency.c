/* Measures (prints, does not bound) the CPU adapter's fixed costs: an empty
 * launch plus synchronize, and loading a module from cached bytes. The
 * goals are under 20 us and under 5 ms; timings on a shared CI machine are
 * too noisy to assert, so the test asserts only that every call worked. */
#include "test-cpu-support.h"

#define LATENCY_LAUNCHES 10000
#define LATENCY_LOADS 50
#define LATENCY_WARMUP 100

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t median(uint64_t *samples, size_t n)
{
    qsort(samples, n, sizeof *samples, compare_u64);
    return samples[n / 2];
}

/* Median ns of launch + synchronize of the empty kernel over groups groups. */
static uint64_t empty_launch_median(const cpu_test_env *env, port_function *f, size_t groups)
{
    static uint64_t samples[LATENCY_LAUNCHES];
    port_launch launch = {.dims = 1, .groups = {groups}, .local = {1}};
    const port_execution *x = env->ops->execution;
    for (int i = 0; i < LATENCY_WARMUP; i++)
        CPU_TEST_ASSERT_OK(x->launch(env->stream, f, &launch, NULL, NULL));
    for (int i = 0; i < LATENCY_LAUNCHES; i++) {
        uint64_t t0 = now_ns();
        kiln_status st = x->launch(env->stream, f, &launch, NULL, NULL);
        kiln_status sync = x->synchronize(env->stream);
        samples[i] = now_ns() - t0;
        if (st != KILN_OK || sync != KILN_OK)
            fail_msg("launch %d: %d/%d %s", i, (int)st, (int)sync, util_last_error());
    }
    return median(samples, LATENCY_LAUNCHES);
}

static void cpu_empty_launch_and_synchronize_latency_is_measured(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log));
    port_function *f = cpu_test_function(&env, m, "kiln_entry_empty");
    kiln_device_info info;
    CPU_TEST_ASSERT_OK(env.ops->device_info(env.dev, &info));
    uint64_t one = empty_launch_median(&env, f, 1);
    uint64_t many = empty_launch_median(&env, f, 1024);
    printf("# cpu empty launch+synchronize, median of %d: 1 group %.2f us, 1024 groups %.2f us "
           "(%u threads; goal < 20 us)\n",
           LATENCY_LAUNCHES, (double)one / 1000.0, (double)many / 1000.0, info.compute_units);
    env.ops->compile->module_release(m);
    util_log_free(&log);
    cpu_test_close(&env);
}

static void cpu_module_load_time_is_measured(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log));
    void *bytes = NULL;
    size_t size = 0;
    CPU_TEST_ASSERT_OK(env.ops->compile->module_binary(m, &bytes, &size));
    env.ops->compile->module_release(m);

    uint64_t samples[LATENCY_LOADS];
    for (int i = 0; i < LATENCY_LOADS; i++) {
        port_module *loaded = NULL;
        uint64_t t0 = now_ns();
        CPU_TEST_ASSERT_OK(env.ops->compile->module_load(env.dev, bytes, size, &loaded));
        port_function *f = cpu_test_function(&env, loaded, "kiln_entry_ids");
        samples[i] = now_ns() - t0;
        /* The loaded code is real: one item of it runs and writes its id. */
        unsigned salt = (unsigned)rand(), got = 0;
        unsigned *slot = &got;
        void *args[2] = {&slot, &salt};
        kiln_cpu_group group = {.dims = 1, .num_groups = {1, 1, 1}, .local_size = {1, 1, 1},
                                .global_size = {1, 1, 1}};
        f->entry(&group, args);
        assert_int_equal(got, cpu_test_expected_id(0, 0, 0, salt));
        env.ops->compile->module_release(loaded);
    }
    printf("# cpu module_load + get_function of a %zu-byte library, median of %d: %.3f ms "
           "(goal < 5 ms)\n",
           size, LATENCY_LOADS, (double)median(samples, LATENCY_LOADS) / 1e6);
    free(bytes);
    util_log_free(&log);
    cpu_test_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_empty_launch_and_synchronize_latency_is_measured),
        cmocka_unit_test(cpu_module_load_time_is_measured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
