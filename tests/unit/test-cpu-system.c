/* The CPU adapter when the system answers oddly: interrupted and short
 * reads and writes, a /proc/cpuinfo that is missing or unusual, RAM the
 * system does not report, a thread that cannot learn its stack size.
 * Conditions come from test-cpu-interpose.h; each must give the documented
 * status and detail or be absorbed, and kernels must still compute right. */
#include "test-cpu-support.h"
#include "test-cpu-interpose.h"

#if CPU_INTERPOSE_ACTIVE

#include <sys/utsname.h>

#define SYSTEM_ITEMS 512

static void cpu_interrupted_writes_and_reads_are_retried_or_reported(void **state)
{
    cpu_fault_reset();
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *m = cpu_test_compile_ids(&env);
    void *bytes = NULL;
    size_t size = 0;
    CPU_TEST_ASSERT_OK(env.ops->compile->module_binary(m, &bytes, &size));
    env.ops->compile->module_release(m);
    /* A write into the memfd interrupted by a signal is simply retried. */
    atomic_store(&cpu_fault.write_eintr, 1);
    CPU_TEST_ASSERT_OK(env.ops->compile->module_load(env.dev, bytes, size, &m));
    assert_int_equal(cpu_fault_injected(), 1);
    cpu_test_check_ids(&env, m, SYSTEM_ITEMS);
    env.ops->compile->module_release(m);
    free(bytes);
    /* Reading the built library back: interrupted (retried), then the file
     * ends before its size said. */
    atomic_store(&cpu_fault.read_short, 2);
    port_log log = {0};
    m = NULL;
    assert_int_equal(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log), KILN_ERR_IO);
    assert_non_null(strstr(util_last_error(), "cannot read the compiled library"));
    assert_int_equal(cpu_fault_injected(), 3);
    assert_null(m);
    util_log_free(&log);
    cpu_test_close(&env);
}

/* Opens a backend and device with /proc/cpuinfo replaced by text ("" for a
 * file that cannot be opened) and returns the device's description. */
static kiln_device_info describe_with_cpuinfo(const char *text)
{
    char path[] = "/tmp/kiln-cpuinfo-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    cpu_fault.cpuinfo = *text ? path : "";
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_fault.cpuinfo = NULL;
    kiln_device_info info;
    CPU_TEST_ASSERT_OK(env.ops->device_info(env.dev, &info));
    cpu_test_close(&env);
    unlink(path);
    return info;
}

static void cpu_device_description_survives_odd_or_missing_cpuinfo(void **state)
{
    cpu_fault_reset();
    struct utsname host;
    assert_int_equal(uname(&host), 0);
    char fallback[sizeof host.machine + 8];
    snprintf(fallback, sizeof fallback, "%s CPU", host.machine);
    /* A key without a colon, one with an empty value, then the real one
     * with trailing blanks. */
    kiln_device_info info = describe_with_cpuinfo(
        "processor\t: 0\nmodel name\nmodel name\t:   \t\nmodel name\t: Kiln Test CPU 9000  \t\n"
        "vendor_id\t: KilnVendor\n");
    assert_string_equal(info.name, "Kiln Test CPU 9000");
    assert_string_equal(info.vendor, "KilnVendor");
    /* An ARM host names its implementer, not a vendor or model. */
    info = describe_with_cpuinfo("processor\t: 0\nCPU implementer\t: 0x41\n");
    assert_string_equal(info.name, fallback);
    assert_string_equal(info.vendor, "0x41");
    info = describe_with_cpuinfo("processor\t: 0\n");
    assert_string_equal(info.vendor, "unknown");
    info = describe_with_cpuinfo("");
    assert_string_equal(info.name, fallback);
    assert_string_equal(info.vendor, "unknown");
    assert_string_equal(info.architecture, host.machine);
}

static void cpu_unknown_ram_size_leaves_allocations_to_the_system(void **state)
{
    cpu_fault_reset();
    atomic_store(&cpu_fault.phys_pages_unknown, 1);
    cpu_test_env env;
    cpu_test_open(&env);
    atomic_store(&cpu_fault.phys_pages_unknown, 0);
    cpu_test_seed();
    kiln_device_info info;
    CPU_TEST_ASSERT_OK(env.ops->device_info(env.dev, &info));
    assert_true(info.memory_bytes == 0);
    uint64_t used, total;
    CPU_TEST_ASSERT_OK(env.ops->memory->usage(env.dev, &used, &total));
    assert_true(total == 0);
    /* No total to check against: the system itself refuses. */
    port_mem *mem = NULL;
    assert_int_equal(env.ops->memory->alloc(env.dev, SIZE_MAX - 8, &mem), KILN_ERR_OUT_OF_MEMORY);
    assert_non_null(strstr(util_last_error(), "the system refused"));
    assert_null(mem);
    CPU_TEST_ASSERT_OK(env.ops->memory->usage(env.dev, &used, &total));
    assert_true(used == 0);
    port_module *m = cpu_test_compile_ids(&env);
    cpu_test_check_ids(&env, m, SYSTEM_ITEMS);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

typedef struct caller_run {
    cpu_test_env *env;
    port_function *f;
    unsigned long *threads; /* per group: the thread that ran it */
    kiln_status status;
} caller_run;

#define CALLER_GROUPS 16

static const char thread_kernel[] =
    "#include <pthread.h>\n"
    "void kiln_entry_who(const kiln_cpu_group *g, void *const *args)\n"
    "{\n"
    "    unsigned long *out = *(unsigned long *const *)args[0];\n"
    "    out[g->group_id[0]] = (unsigned long)pthread_self();\n"
    "}\n";

static void *launch_who(void *arg)
{
    caller_run *r = arg;
    const cpu_test_env *env = r->env;
    port_mem *out = NULL;
    CPU_TEST_ASSERT_OK(env->ops->memory->alloc(env->dev, CALLER_GROUPS * sizeof(long), &out));
    port_arg args[1] = {{.mem = out}};
    port_launch launch = {.dims = 1, .groups = {CALLER_GROUPS}, .local = {1}, .args = args,
                          .nargs = 1};
    atomic_store(&cpu_fault.stack_query_fails, 1);
    r->status = env->ops->execution->launch(env->stream, r->f, &launch, NULL, NULL);
    CPU_TEST_ASSERT_OK(env->ops->memory->read(env->stream, out, 0, r->threads,
                                              CALLER_GROUPS * sizeof(long)));
    env->ops->memory->free(env->dev, out);
    for (int g = 0; g < CALLER_GROUPS; g++)
        if (r->threads[g] == (unsigned long)pthread_self())
            r->status = KILN_ERR_INTERNAL;
    return NULL;
}

static void cpu_caller_whose_stack_is_unknown_leaves_groups_to_the_workers(void **state)
{
    cpu_fault_reset();
    setenv("KILN_CPU_THREADS", "2", 1);
    cpu_test_env env;
    cpu_test_open(&env);
    unsetenv("KILN_CPU_THREADS");
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, thread_kernel, &m, &log));
    unsigned long threads[CALLER_GROUPS] = {0};
    caller_run run = {.env = &env, .f = cpu_test_function(&env, m, "kiln_entry_who"),
                      .threads = threads};
    /* A fresh thread asks for its stack size once, and is told nothing. */
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, launch_who, &run), 0);
    pthread_join(thread, NULL);
    CPU_TEST_ASSERT_OK(run.status);
    assert_int_equal(cpu_fault_injected(), 1);
    for (int g = 0; g < CALLER_GROUPS; g++)
        assert_true(threads[g] != 0);
    util_log_free(&log);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_interrupted_writes_and_reads_are_retried_or_reported),
        cmocka_unit_test(cpu_device_description_survives_odd_or_missing_cpuinfo),
        cmocka_unit_test(cpu_unknown_ram_size_leaves_allocations_to_the_system),
        cmocka_unit_test(cpu_caller_whose_stack_is_unknown_leaves_groups_to_the_workers),
    };
    return CPU_INTERPOSE_RUN_GROUP(tests);
}

#else

ALLOC_INTERPOSE_SKIPPED_MAIN

#endif
