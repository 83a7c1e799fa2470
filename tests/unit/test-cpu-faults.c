/* The CPU adapter when memory or threads run out: every allocation it
 * makes failing in turn (with and without memfd), worker threads that
 * cannot start. Failures come from test-cpu-interpose.h; each must give its
 * status and detail, leave nothing behind (heap blocks, threads, usage,
 * temp files), and the same call must work once the fault is gone. */
#include "test-cpu-support.h"
#include "test-cpu-interpose.h"

#if CPU_INTERPOSE_ACTIVE

#include <limits.h>
#include <sys/utsname.h>

/* More allocations than any single port call makes: a sweep that reaches
 * this without completing is a failure. */
#define SWEEP_LIMIT 64
#define FAULT_ITEMS 512

/* Whether detail holds one of the texts in wanted (NULL-terminated); marks
 * the one found in seen. */
static int detail_is_one_of(const char *detail, const char *const *wanted, int *seen)
{
    for (int i = 0; wanted[i]; i++)
        if (strstr(detail, wanted[i])) {
            seen[i] = 1;
            return 1;
        }
    return 0;
}

static void assert_all_seen(const char *const *wanted, const int *seen)
{
    for (int i = 0; wanted[i]; i++)
        if (!seen[i])
            fail_msg("no injected failure gave '%s'", wanted[i]);
}

static void cpu_open_and_device_open_fail_cleanly_at_every_allocation(void **state)
{
    cpu_fault_reset();
    char reason[256] = "";
    port_backend *b = NULL;
    alloc_fail_arm(1);
    assert_int_equal(cpu_backend_ops.open(&b, reason, sizeof reason),
                     KILN_ERR_OUT_OF_HOST_MEMORY);
    assert_non_null(strstr(util_last_error(), "cpu: no memory for the backend"));
    assert_string_equal(reason, "no host memory for the CPU backend");
    CPU_TEST_ASSERT_OK(cpu_backend_ops.open(&b, reason, sizeof reason));

    static const char *const wanted[] = {"no memory for the device",
                                         "no memory for the thread pool", NULL};
    int seen[2] = {0};
    setenv("KILN_CPU_THREADS", "3", 1);
    size_t threads_before = cpu_test_quiet_thread_count();
    for (int k = 1;; k++) {
        assert_true(k < SWEEP_LIMIT);
        int injected = cpu_fault_injected();
        alloc_track(1);
        alloc_fail_arm(k);
        port_device *dev = NULL;
        kiln_status st = cpu_backend_ops.device_open(b, 0, &dev);
        alloc_fail_disarm();
        size_t leaked = alloc_track_live();
        alloc_track(0);
        if (cpu_fault_injected() == injected) {
            CPU_TEST_ASSERT_OK(st);
            kiln_device_info info;
            CPU_TEST_ASSERT_OK(cpu_backend_ops.device_info(dev, &info));
            assert_int_equal(info.compute_units, 3);
            assert_int_equal(cpu_test_settled_thread_count(threads_before + 2), threads_before + 2);
            cpu_backend_ops.device_close(dev);
            break;
        }
        assert_int_equal(st, KILN_ERR_OUT_OF_HOST_MEMORY);
        if (!detail_is_one_of(util_last_error(), wanted, seen))
            fail_msg("allocation %d: unexpected detail '%s'", k, util_last_error());
        assert_int_equal(leaked, 0);
        assert_int_equal(cpu_test_settled_thread_count(threads_before), threads_before);
    }
    unsetenv("KILN_CPU_THREADS");
    assert_all_seen(wanted, seen);
    assert_int_equal(cpu_test_settled_thread_count(threads_before), threads_before);
    cpu_backend_ops.close(b);
}

static void cpu_worker_threads_that_cannot_start_fail_device_open(void **state)
{
    cpu_fault_reset();
    setenv("KILN_CPU_THREADS", "4", 1);
    char reason[256] = "";
    port_backend *b = NULL;
    CPU_TEST_ASSERT_OK(cpu_backend_ops.open(&b, reason, sizeof reason));
    size_t threads_before = cpu_test_quiet_thread_count();
    port_device *dev = NULL;
    /* The second of three workers does not start: the first is stopped. */
    atomic_store(&cpu_fault.thread_countdown, 2);
    assert_int_equal(cpu_backend_ops.device_open(b, 0, &dev), KILN_ERR_OUT_OF_HOST_MEMORY);
    assert_non_null(strstr(util_last_error(), "started only 1 of 3 worker threads"));
    assert_int_equal(cpu_test_settled_thread_count(threads_before), threads_before);
    atomic_store(&cpu_fault.attr_init_fails, 1);
    assert_int_equal(cpu_backend_ops.device_open(b, 0, &dev), KILN_ERR_OUT_OF_HOST_MEMORY);
    assert_non_null(strstr(util_last_error(), "cannot set up worker threads"));
    assert_int_equal(cpu_test_settled_thread_count(threads_before), threads_before);
    /* With the faults gone the device opens with its three workers. */
    CPU_TEST_ASSERT_OK(cpu_backend_ops.device_open(b, 0, &dev));
    assert_int_equal(cpu_test_settled_thread_count(threads_before + 3), threads_before + 3);
    cpu_backend_ops.device_close(dev);
    cpu_backend_ops.close(b);
    unsetenv("KILN_CPU_THREADS");
}

/* Runs op under a sweep of allocation failures: for k = 1, 2, ... the
 * k-th allocation fails, until op completes with none injected. Every
 * failure must be status with a detail from wanted, and all of wanted must
 * appear. */
typedef kiln_status (*sweep_op)(cpu_test_env *env, void *ctx);

static void sweep(cpu_test_env *env, sweep_op op, void *ctx, kiln_status status,
                  const char *const *wanted)
{
    int seen[8] = {0};
    for (int k = 1;; k++) {
        assert_true(k < SWEEP_LIMIT);
        int injected = cpu_fault_injected();
        alloc_track(1);
        alloc_fail_arm(k);
        kiln_status st = op(env, ctx);
        alloc_fail_disarm();
        size_t leaked = alloc_track_live();
        alloc_track(0);
        if (cpu_fault_injected() == injected) {
            CPU_TEST_ASSERT_OK(st);
            break;
        }
        if (st != status || !detail_is_one_of(util_last_error(), wanted, seen))
            fail_msg("allocation %d: status %d (want %d), detail '%s'", k, (int)st, (int)status,
                     util_last_error());
        if (leaked)
            fail_msg("allocation %d ('%s'): %zu blocks left allocated", k, util_last_error(),
                     leaked);
    }
    assert_all_seen(wanted, seen);
}

typedef struct exec_ctx {
    port_function *f;
    port_mem *out;
    unsigned salt;
    port_stream *stream;
    port_event *event;
} exec_ctx;

static kiln_status launch_with_events(cpu_test_env *env, void *p)
{
    exec_ctx *c = p;
    c->salt = (unsigned)rand();
    port_arg args[2] = {{.mem = c->out}, {.value = &c->salt, .size = sizeof c->salt}};
    port_launch launch = {.dims = 1, .groups = {FAULT_ITEMS / 8}, .local = {8}, .args = args,
                          .nargs = 2};
    port_event *begin = NULL, *end = NULL;
    kiln_status st = env->ops->execution->launch(env->stream, c->f, &launch, &begin, &end);
    if (st == KILN_OK) {
        uint64_t ns;
        CPU_TEST_ASSERT_OK(env->ops->execution->event_elapsed_ns(begin, end, &ns));
        env->ops->execution->event_release(begin);
        env->ops->execution->event_release(end);
    }
    return st;
}

/* A launch of more arguments than the adapter keeps on its stack. */
#define MANY_ARGS 40

static kiln_status launch_many_args(cpu_test_env *env, void *p)
{
    exec_ctx *c = p;
    port_arg args[MANY_ARGS];
    args[0] = (port_arg){.mem = c->out};
    for (int i = 1; i < MANY_ARGS; i++)
        args[i] = (port_arg){.value = &c->salt, .size = sizeof c->salt};
    port_launch launch = {.dims = 1, .groups = {FAULT_ITEMS / 8}, .local = {8}, .args = args,
                          .nargs = MANY_ARGS};
    return env->ops->execution->launch(env->stream, c->f, &launch, NULL, NULL);
}

static kiln_status make_stream(cpu_test_env *env, void *p)
{
    exec_ctx *c = p;
    return env->ops->execution->stream_create(env->dev, 0, &c->stream);
}

static kiln_status record_event(cpu_test_env *env, void *p)
{
    exec_ctx *c = p;
    return env->ops->execution->event_record(env->stream, &c->event);
}

static void check_out(const cpu_test_env *env, exec_ctx *c)
{
    unsigned got[FAULT_ITEMS];
    CPU_TEST_ASSERT_OK(env->ops->memory->read(env->stream, c->out, 0, got, sizeof got));
    for (unsigned i = 0; i < FAULT_ITEMS; i++)
        assert_int_equal(got[i], cpu_test_expected_id(i, 0, 0, c->salt));
}

static void cpu_execution_fails_cleanly_at_every_allocation(void **state)
{
    cpu_fault_reset();
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *m = cpu_test_compile_ids(&env);
    exec_ctx c = {.f = cpu_test_function(&env, m, "kiln_entry_ids")};
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, FAULT_ITEMS * sizeof(unsigned), &c.out));
    static const char *const event[] = {"cpu: no memory for an event", NULL};
    static const char *const argv[] = {"cpu: no memory for 40 arguments", NULL};
    static const char *const stream[] = {"cpu: no memory for a stream", NULL};
    sweep(&env, launch_with_events, &c, KILN_ERR_OUT_OF_HOST_MEMORY, event);
    check_out(&env, &c);
    sweep(&env, launch_many_args, &c, KILN_ERR_OUT_OF_HOST_MEMORY, argv);
    check_out(&env, &c);
    sweep(&env, make_stream, &c, KILN_ERR_OUT_OF_HOST_MEMORY, stream);
    env.ops->execution->stream_destroy(c.stream);
    sweep(&env, record_event, &c, KILN_ERR_OUT_OF_HOST_MEMORY, event);
    env.ops->execution->event_release(c.event);
    env.ops->memory->free(env.dev, c.out);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

typedef struct memory_ctx {
    size_t bytes;
    port_mem *mem;
    void *host;
    port_host_mem *host_mem;
} memory_ctx;

static kiln_status alloc_device(cpu_test_env *env, void *p)
{
    memory_ctx *c = p;
    return env->ops->memory->alloc(env->dev, c->bytes, &c->mem);
}

static kiln_status alloc_host(cpu_test_env *env, void *p)
{
    memory_ctx *c = p;
    return env->ops->memory->host_alloc(env->dev, c->bytes, &c->host, &c->host_mem);
}

static void cpu_memory_fails_cleanly_at_every_allocation(void **state)
{
    cpu_fault_reset();
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    memory_ctx c = {.bytes = 1 + (size_t)rand() % 100000};
    uint64_t used0, used1, total;
    CPU_TEST_ASSERT_OK(env.ops->memory->usage(env.dev, &used0, &total));
    char refused[128], host_refused[128];
    snprintf(refused, sizeof refused, "cpu: the system refused %zu bytes", c.bytes);
    snprintf(host_refused, sizeof host_refused, "the system refused %zu bytes of host memory",
             c.bytes);
    const char *const device[] = {refused, NULL};
    const char *const host[] = {host_refused, NULL};
    sweep(&env, alloc_device, &c, KILN_ERR_OUT_OF_MEMORY, device);
    CPU_TEST_ASSERT_OK(env.ops->memory->usage(env.dev, &used1, &total));
    assert_true(used1 == used0 + c.bytes); /* failures gave their reservation back */
    sweep(&env, alloc_host, &c, KILN_ERR_OUT_OF_HOST_MEMORY, host);
    /* Both buffers work: host bytes in, device, and back out. */
    unsigned char *back = malloc(c.bytes);
    for (size_t i = 0; i < c.bytes; i++)
        ((unsigned char *)c.host)[i] = (unsigned char)rand();
    CPU_TEST_ASSERT_OK(env.ops->memory->write(env.stream, c.mem, 0, c.host, c.bytes));
    CPU_TEST_ASSERT_OK(env.ops->memory->read(env.stream, c.mem, 0, back, c.bytes));
    assert_memory_equal(back, c.host, c.bytes);
    free(back);
    env.ops->memory->host_free(env.dev, c.host_mem);
    env.ops->memory->free(env.dev, c.mem);
    CPU_TEST_ASSERT_OK(env.ops->memory->usage(env.dev, &used1, &total));
    assert_true(used1 == used0);
    cpu_test_close(&env);
}

typedef struct module_ctx {
    void *bytes;
    size_t size;
    port_module *module;
    port_function *function;
    void *copy;
    size_t copy_size;
} module_ctx;

static kiln_status load_module(cpu_test_env *env, void *p)
{
    module_ctx *c = p;
    return env->ops->compile->module_load(env->dev, c->bytes, c->size, &c->module);
}

static kiln_status module_bytes(cpu_test_env *env, void *p)
{
    module_ctx *c = p;
    return env->ops->compile->module_binary(c->module, &c->copy, &c->copy_size);
}

static kiln_status find_function(cpu_test_env *env, void *p)
{
    module_ctx *c = p;
    return env->ops->compile->get_function(c->module, "kiln_entry_empty", &c->function);
}

/* The emitted unit of the ids kernel, built before any fault is armed: the
 * test's own allocations would count too. */
static char ids_source[sizeof KILN_CPU_ABI_TEXT + sizeof cpu_test_ids_kernel];

static kiln_status compile_module(cpu_test_env *env, void *p)
{
    module_ctx *c = p;
    snprintf(ids_source, sizeof ids_source, "%s%s", KILN_CPU_ABI_TEXT, cpu_test_ids_kernel);
    port_compile_input in = {.source = ids_source, .source_length = strlen(ids_source),
                             .source_name = "ids.kc"};
    port_log log = {0};
    kiln_status st = env->ops->compile->compile(env->dev, &in, &c->module, &log);
    util_log_free(&log);
    return st;
}

static void cpu_modules_fail_cleanly_at_every_allocation(void **state)
{
    cpu_fault_reset();
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    module_ctx c = {0};
    static const char *const built[] = {"cannot read the compiled library",
                                        "no memory for a module", NULL};
    sweep(&env, compile_module, &c, KILN_ERR_OUT_OF_HOST_MEMORY, built);
    CPU_TEST_ASSERT_OK(env.ops->compile->module_binary(c.module, &c.bytes, &c.size));
    env.ops->compile->module_release(c.module);

    char copy_refused[128];
    snprintf(copy_refused, sizeof copy_refused, "no memory for %zu module bytes", c.size);
    const char *const loaded[] = {copy_refused, "no memory for a module", NULL};
    sweep(&env, load_module, &c, KILN_ERR_OUT_OF_HOST_MEMORY, loaded);
    const char *const copied[] = {copy_refused, NULL};
    sweep(&env, module_bytes, &c, KILN_ERR_OUT_OF_HOST_MEMORY, copied);
    assert_true(c.copy_size == c.size);
    assert_memory_equal(c.copy, c.bytes, c.size);
    free(c.copy);
    static const char *const found[] = {"no memory for a function", NULL};
    sweep(&env, find_function, &c, KILN_ERR_OUT_OF_HOST_MEMORY, found);
    cpu_test_check_ids(&env, c.module, FAULT_ITEMS);
    env.ops->compile->module_release(c.module);

    /* Without memfd the module lives in a temp file, whose path is
     * allocated too, and which goes away with the module. */
    char dir[] = "/tmp/kiln-cpu-faults-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *saved = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", dir, 1);
    atomic_store(&cpu_fault.memfd_fails, 1);
    const char *const path[] = {copy_refused, "no memory for a module", "no memory for a path",
                                NULL};
    sweep(&env, load_module, &c, KILN_ERR_OUT_OF_HOST_MEMORY, path);
    assert_int_equal(cpu_test_count_entries(dir), 1);
    cpu_test_check_ids(&env, c.module, FAULT_ITEMS);
    env.ops->compile->module_release(c.module);
    assert_int_equal(cpu_test_count_entries(dir), 0);
    atomic_store(&cpu_fault.memfd_fails, 0);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    rmdir(dir);
    free(c.bytes);
    cpu_test_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_open_and_device_open_fail_cleanly_at_every_allocation),
        cmocka_unit_test(cpu_worker_threads_that_cannot_start_fail_device_open),
        cmocka_unit_test(cpu_execution_fails_cleanly_at_every_allocation),
        cmocka_unit_test(cpu_memory_fails_cleanly_at_every_allocation),
        cmocka_unit_test(cpu_modules_fail_cleanly_at_every_allocation),
    };
    return CPU_INTERPOSE_RUN_GROUP(tests);
}

#else

ALLOC_INTERPOSE_SKIPPED_MAIN

#endif
