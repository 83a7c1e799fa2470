/* The CPU adapter's backend port: one device, described from the host. */
#include "test-cpu-support.h"

#include <sys/utsname.h>

static void cpu_backend_has_one_device_with_host_facts(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    kiln_device_info info;
    CPU_TEST_ASSERT_OK(env.ops->device_info(env.dev, &info));

    struct utsname host;
    assert_int_equal(uname(&host), 0);
    assert_string_equal(info.architecture, host.machine);
    assert_true(strlen(info.name) > 0);
    assert_true(strlen(info.vendor) > 0);
    assert_int_equal(info.backend, KILN_BACKEND_CPU);
    assert_int_equal(info.backend_index, 0);
    uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    assert_true(info.memory_bytes == ram);
    assert_int_equal(info.max_work_group_size, 1024);
    assert_int_equal(info.subgroup_size, 1);
    assert_true(info.shared_memory_bytes >= 32 * 1024);
    assert_int_equal(info.capabilities,
                     KILN_CAP_DOUBLE | KILN_CAP_FLOAT_ATOMICS | KILN_CAP_INT64_ATOMICS);
    assert_int_equal(info.health, KILN_HEALTH_HEALTHY);
    assert_int_equal(env.ops->dialect, PORT_DIALECT_C);
    assert_string_equal(env.ops->name, "cpu");

    kiln_health health = KILN_HEALTH_LOST;
    CPU_TEST_ASSERT_OK(env.ops->execution->health(env.dev, &health));
    assert_int_equal(health, KILN_HEALTH_HEALTHY);
    cpu_test_close(&env);
}

static void cpu_compute_units_follow_kiln_cpu_threads(void **state)
{
    cpu_test_env env;
    setenv("KILN_CPU_THREADS", "3", 1);
    cpu_test_open(&env);
    kiln_device_info info;
    CPU_TEST_ASSERT_OK(env.ops->device_info(env.dev, &info));
    assert_int_equal(info.compute_units, 3);
    cpu_test_close(&env);

    unsetenv("KILN_CPU_THREADS");
    cpu_test_open(&env);
    CPU_TEST_ASSERT_OK(env.ops->device_info(env.dev, &info));
    assert_int_equal(info.compute_units, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
    cpu_test_close(&env);
}

static void cpu_device_index_past_the_one_device_is_refused(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_device *other = NULL;
    assert_int_equal(env.ops->device_open(env.backend, 1, &other), KILN_ERR_INVALID_DEVICE);
    assert_null(other);
    assert_true(strlen(util_last_error()) > 0);
    cpu_test_close(&env);
}

static void cpu_device_opened_twice_is_shared_until_both_close(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_device *again = NULL;
    CPU_TEST_ASSERT_OK(env.ops->device_open(env.backend, 0, &again));
    assert_ptr_equal(again, env.dev);
    env.ops->device_close(again);
    /* Still usable after one close. */
    port_mem *mem = NULL;
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, 64, &mem));
    env.ops->memory->free(env.dev, mem);
    cpu_test_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_backend_has_one_device_with_host_facts),
        cmocka_unit_test(cpu_compute_units_follow_kiln_cpu_threads),
        cmocka_unit_test(cpu_device_index_past_the_one_device_is_refused),
        cmocka_unit_test(cpu_device_opened_twice_is_shared_until_both_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
