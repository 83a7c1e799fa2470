/* The CPU adapter's compile port on hand-written C that follows the kernel
 * ABI: build, errors, missing compiler, binary round trip, cache identity,
 * temp file hygiene. */
#include "test-cpu-support.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/utsname.h>

#define COMPILE_ITEMS 1000

/* Runs kiln_entry_ids of m over COMPILE_ITEMS items in groups of 10 and
 * checks every item on the host. */
static void run_ids_and_check(const cpu_test_env *env, port_module *m)
{
    port_function *f = cpu_test_function(env, m, "kiln_entry_ids");
    port_mem *out = NULL;
    CPU_TEST_ASSERT_OK(env->ops->memory->alloc(env->dev, COMPILE_ITEMS * sizeof(unsigned), &out));
    unsigned salt = (unsigned)rand();
    port_arg args[2] = {{.mem = out}, {.value = &salt, .size = sizeof salt}};
    port_launch launch = {.dims = 1, .groups = {COMPILE_ITEMS / 10}, .local = {10},
                          .args = args, .nargs = 2};
    CPU_TEST_ASSERT_OK(env->ops->execution->launch(env->stream, f, &launch, NULL, NULL));
    CPU_TEST_ASSERT_OK(env->ops->execution->synchronize(env->stream));
    unsigned got[COMPILE_ITEMS];
    CPU_TEST_ASSERT_OK(env->ops->memory->read(env->stream, out, 0, got, sizeof got));
    for (unsigned i = 0; i < COMPILE_ITEMS; i++)
        assert_int_equal(got[i], cpu_test_expected_id(i, 0, 0, salt));
    env->ops->memory->free(env->dev, out);
}

static void cpu_compile_builds_a_kernel_that_runs(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log));
    run_ids_and_check(&env, m);
    env.ops->compile->module_release(m);
    util_log_free(&log);
    cpu_test_close(&env);
}

static void cpu_compile_error_is_reported_with_the_compiler_log(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_module *m = NULL;
    port_log log = {0};
    kiln_status st = cpu_test_compile(
        &env,
        "#line 7 \"broken.kc\"\n"
        "void kiln_entry_bad(const kiln_cpu_group *g, void *const *a) { undeclared_name = 1; }\n",
        &m, &log);
    assert_int_equal(st, KILN_ERR_COMPILE);
    assert_null(m);
    assert_non_null(log.text);
    assert_true(log.length > 0);
    /* #line directives make the compiler point at the .kc file. */
    assert_non_null(strstr(log.text, "broken.kc:7"));
    assert_non_null(strstr(log.text, "undeclared_name"));
    assert_non_null(strstr(util_last_error(), "undeclared_name"));
    util_log_free(&log);
    cpu_test_close(&env);
}

static void cpu_missing_compiler_names_kiln_cc(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    setenv("KILN_CC", "/nonexistent/kiln-test-cc", 1);
    port_module *m = NULL;
    port_log log = {0};
    assert_int_equal(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log),
                     KILN_ERR_NO_COMPILER);
    assert_null(m);
    assert_non_null(strstr(util_last_error(), "KILN_CC"));
    char identity[1024];
    assert_int_equal(env.ops->compile->cache_identity(env.dev, identity, sizeof identity),
                     KILN_ERR_NO_COMPILER);
    unsetenv("KILN_CC");
    util_log_free(&log);
    cpu_test_close(&env);
}

static void cpu_kiln_cc_chooses_the_compiler(void **state)
{
    if (access("/usr/bin/gcc", X_OK) != 0)
        skip();
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    setenv("KILN_CC", "gcc", 1);
    char identity[2048];
    CPU_TEST_ASSERT_OK(env.ops->compile->cache_identity(env.dev, identity, sizeof identity));
    assert_non_null(strstr(identity, "/gcc;"));
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log));
    run_ids_and_check(&env, m);
    env.ops->compile->module_release(m);
    unsetenv("KILN_CC");
    util_log_free(&log);
    cpu_test_close(&env);
}

static void cpu_module_binary_loads_back_into_a_runnable_module(void **state)
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
    assert_true(size > 4);
    assert_memory_equal(bytes, "\177ELF", 4);
    env.ops->compile->module_release(m);

    /* Two modules from the same bytes live side by side. */
    port_module *first = NULL, *second = NULL;
    CPU_TEST_ASSERT_OK(env.ops->compile->module_load(env.dev, bytes, size, &first));
    CPU_TEST_ASSERT_OK(env.ops->compile->module_load(env.dev, bytes, size, &second));
    free(bytes);
    run_ids_and_check(&env, first);
    env.ops->compile->module_release(first);
    run_ids_and_check(&env, second);
    env.ops->compile->module_release(second);
    util_log_free(&log);
    cpu_test_close(&env);
}

static void cpu_module_load_refuses_bytes_that_are_no_library(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    unsigned char junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 31 + 7);
    port_module *m = NULL;
    assert_int_not_equal(env.ops->compile->module_load(env.dev, junk, sizeof junk, &m), KILN_OK);
    assert_null(m);
    cpu_test_close(&env);
}

static void cpu_get_function_of_a_missing_entry_is_not_found(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log));
    port_function *f = NULL;
    assert_int_equal(env.ops->compile->get_function(m, "kiln_entry_nothing", &f),
                     KILN_ERR_NOT_FOUND);
    assert_null(f);
    /* The same entry twice is the same function. */
    assert_ptr_equal(cpu_test_function(&env, m, "kiln_entry_ids"),
                     cpu_test_function(&env, m, "kiln_entry_ids"));
    env.ops->compile->module_release(m);
    util_log_free(&log);
    cpu_test_close(&env);
}

static void cpu_cache_identity_names_compiler_flags_and_cpu(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    char identity[2048];
    CPU_TEST_ASSERT_OK(env.ops->compile->cache_identity(env.dev, identity, sizeof identity));
    kiln_device_info info;
    CPU_TEST_ASSERT_OK(env.ops->device_info(env.dev, &info));
    struct utsname host;
    uname(&host);
    assert_non_null(strstr(identity, "-march=native"));
    assert_non_null(strstr(identity, host.machine));
    assert_non_null(strstr(identity, info.name));
    assert_non_null(strstr(identity, "version="));
    /* Asking again gives the same text (the version is remembered). */
    char again[2048];
    CPU_TEST_ASSERT_OK(env.ops->compile->cache_identity(env.dev, again, sizeof again));
    assert_string_equal(identity, again);
    char tiny[8];
    assert_int_equal(env.ops->compile->cache_identity(env.dev, tiny, sizeof tiny),
                     KILN_ERR_INVALID_SIZE);
    cpu_test_close(&env);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void cpu_compile_and_load_leave_no_temp_files(void **state)
{
    char dir[] = "/tmp/kiln-cpu-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *saved = getenv("TMPDIR");
    char *saved_copy = saved ? strdup(saved) : NULL;
    setenv("TMPDIR", dir, 1);

    cpu_test_env env;
    cpu_test_open(&env);
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log));
    assert_int_equal(count_entries(dir), 0);
    void *bytes;
    size_t size;
    CPU_TEST_ASSERT_OK(env.ops->compile->module_binary(m, &bytes, &size));
    port_module *loaded = NULL;
    CPU_TEST_ASSERT_OK(env.ops->compile->module_load(env.dev, bytes, size, &loaded));
    env.ops->compile->module_release(loaded);
    env.ops->compile->module_release(m);
    free(bytes);
    assert_int_equal(count_entries(dir), 0);
    cpu_test_close(&env);

    if (saved_copy)
        setenv("TMPDIR", saved_copy, 1);
    else
        unsetenv("TMPDIR");
    free(saved_copy);
    rmdir(dir);
    util_log_free(&log);
}

static void cpu_compile_works_in_a_process_that_ignores_sigchld(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
    sigemptyset(&ignore.sa_mask);
    assert_int_equal(sigaction(SIGCHLD, &ignore, &previous), 0);
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log));
    run_ids_and_check(&env, m);
    env.ops->compile->module_release(m);
    m = NULL;
    assert_int_equal(cpu_test_compile(&env, "int broken(void) { return nothing; }\n", &m, &log),
                     KILN_ERR_COMPILE);
    assert_null(m);
    sigaction(SIGCHLD, &previous, NULL);
    util_log_free(&log);
    cpu_test_close(&env);
}

typedef struct compile_thread {
    cpu_test_env *env;
    kiln_status status;
    port_module *module;
} compile_thread;

static void *compile_in_thread(void *arg)
{
    compile_thread *t = arg;
    port_log log = {0};
    t->status = cpu_test_compile(t->env, cpu_test_ids_kernel, &t->module, &log);
    util_log_free(&log);
    return NULL;
}

static void cpu_compiles_from_several_threads_at_once(void **state)
{
    enum { THREADS = 3 };
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    compile_thread t[THREADS];
    pthread_t ids[THREADS];
    for (int i = 0; i < THREADS; i++) {
        t[i] = (compile_thread){.env = &env};
        assert_int_equal(pthread_create(&ids[i], NULL, compile_in_thread, &t[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(ids[i], NULL);
        assert_int_equal(t[i].status, KILN_OK);
    }
    for (int i = 0; i < THREADS; i++) {
        run_ids_and_check(&env, t[i].module);
        env.ops->compile->module_release(t[i].module);
    }
    cpu_test_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_compile_builds_a_kernel_that_runs),
        cmocka_unit_test(cpu_compile_error_is_reported_with_the_compiler_log),
        cmocka_unit_test(cpu_missing_compiler_names_kiln_cc),
        cmocka_unit_test(cpu_kiln_cc_chooses_the_compiler),
        cmocka_unit_test(cpu_module_binary_loads_back_into_a_runnable_module),
        cmocka_unit_test(cpu_module_load_refuses_bytes_that_are_no_library),
        cmocka_unit_test(cpu_get_function_of_a_missing_entry_is_not_found),
        cmocka_unit_test(cpu_cache_identity_names_compiler_flags_and_cpu),
        cmocka_unit_test(cpu_compile_and_load_leave_no_temp_files),
        cmocka_unit_test(cpu_compiles_from_several_threads_at_once),
        cmocka_unit_test(cpu_compile_works_in_a_process_that_ignores_sigchld),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
