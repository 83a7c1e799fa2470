/* Edges of the CPU adapter's ports: KILN_CPU_THREADS values that are no
 * count, destroy functions given NULL, a backend closed with its device
 * still open, refused launches and copies, host memory, and the pool on
 * its own: random ranges run exactly once, many small launches, and a
 * small-stack caller that must wait while another launch holds the workers. */
#include "test-cpu-support.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "backends/cpu/cpu_host_memory.h"
#include "backends/cpu/cpu_pool.h"

#define EDGE_SMALL_LAUNCHES 400
#define EDGE_POOL_ROUNDS 40
#define EDGE_POOL_MAX_COUNT 5000
/* Below the adapter's minimum caller stack: such a caller never runs groups. */
#define EDGE_SMALL_STACK (256 * 1024)
/* How long the gate kernel is held once the small-stack launch has started. */
#define EDGE_GATE_HOLD_NS 30000000L

static uint32_t compute_units_with(const char *threads)
{
    setenv("KILN_CPU_THREADS", threads, 1);
    cpu_test_env env;
    cpu_test_open(&env);
    unsetenv("KILN_CPU_THREADS");
    kiln_device_info info;
    CPU_TEST_ASSERT_OK(env.ops->device_info(env.dev, &info));
    cpu_test_close(&env);
    return info.compute_units;
}

static void cpu_thread_counts_that_are_no_positive_number_mean_every_core(void **state)
{
    uint32_t cores = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
    /* "-3" once went through strtoul as a count of 2^64 - 3, cut to 4096. */
    static const char *const bad[] = {"abc", "0", "-3", "-0", "4x", "", " ", "2.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (compute_units_with(bad[i]) != cores)
            fail_msg("KILN_CPU_THREADS='%s' gave %u compute units, want %u", bad[i],
                     compute_units_with(bad[i]), cores);
    assert_int_equal(compute_units_with("2"), 2);
    assert_int_equal(compute_units_with("+2"), 2);
}

static void cpu_destroy_functions_accept_null(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    uint64_t used0, used1, total;
    CPU_TEST_ASSERT_OK(env.ops->memory->usage(env.dev, &used0, &total));
    env.ops->close(NULL);
    env.ops->device_close(NULL);
    env.ops->compile->module_release(NULL);
    env.ops->memory->free(env.dev, NULL);
    env.ops->memory->host_free(env.dev, NULL);
    env.ops->execution->event_release(NULL);
    env.ops->execution->stream_destroy(NULL);
    cpu_pool_destroy(NULL);
    /* The device's reference count did not move: one close still frees
     * it, and reopening then builds a new one with its own workers. */
    CPU_TEST_ASSERT_OK(env.ops->memory->usage(env.dev, &used1, &total));
    assert_true(used1 == used0);
    port_device *again = NULL;
    CPU_TEST_ASSERT_OK(env.ops->device_open(env.backend, 0, &again));
    assert_ptr_equal(again, env.dev);
    env.ops->device_close(again);
    cpu_test_close(&env);
}

static void cpu_backend_closed_with_its_device_open_stops_the_workers(void **state)
{
    size_t before = cpu_test_quiet_thread_count();
    setenv("KILN_CPU_THREADS", "3", 1);
    char reason[256] = "";
    port_backend *b = NULL;
    port_device *dev = NULL;
    CPU_TEST_ASSERT_OK(cpu_backend_ops.open(&b, reason, sizeof reason));
    CPU_TEST_ASSERT_OK(cpu_backend_ops.device_open(b, 0, &dev));
    unsetenv("KILN_CPU_THREADS");
    assert_int_equal(cpu_test_settled_thread_count(before + 2), before + 2);
    cpu_backend_ops.close(b); /* no device_close: the caller's leak, freed anyway */
    assert_int_equal(cpu_test_settled_thread_count(before), before);
}

static void cpu_launches_without_what_they_need_are_refused(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log));
    port_function *f = cpu_test_function(&env, m, "kiln_entry_ids");
    const port_execution *x = env.ops->execution;
    port_launch one = {.dims = 1, .groups = {1}, .local = {1}};
    assert_int_equal(x->launch(NULL, f, &one, NULL, NULL), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "launch without stream, function or range"));
    assert_int_equal(x->launch(env.stream, NULL, &one, NULL, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(x->launch(env.stream, f, NULL, NULL, NULL), KILN_ERR_NULL_HANDLE);
    port_launch no_args = {.dims = 1, .groups = {1}, .local = {1}, .nargs = 2};
    assert_int_equal(x->launch(env.stream, f, &no_args, NULL, NULL), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "launch of 2 arguments without them"));
    port_launch empty = {.dims = 2, .groups = {4, 0}, .local = {1, 1}};
    assert_int_equal(x->launch(env.stream, f, &empty, NULL, NULL), KILN_ERR_INVALID_RANGE);
    assert_non_null(strstr(util_last_error(), "dimension 1 of the launch is empty"));
    /* Each dimension fits 32 bits; their product does not fit size_t. */
    port_launch huge = {.dims = 3, .groups = {UINT_MAX, UINT_MAX, UINT_MAX}, .local = {1, 1, 1}};
    assert_int_equal(x->launch(env.stream, f, &huge, NULL, NULL), KILN_ERR_INVALID_RANGE);
    assert_non_null(strstr(util_last_error(), "too many groups"));
    port_event *e = NULL;
    uint64_t ns = 1;
    CPU_TEST_ASSERT_OK(x->event_record(env.stream, &e));
    assert_int_equal(x->event_elapsed_ns(e, NULL, &ns), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "elapsed time needs two events"));
    assert_int_equal(x->event_elapsed_ns(NULL, e, &ns), KILN_ERR_NULL_HANDLE);
    assert_int_equal(x->event_wait(NULL), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "wait on no event"));
    CPU_TEST_ASSERT_OK(x->event_elapsed_ns(e, e, &ns));
    assert_true(ns == 0);
    x->event_release(e);
    util_log_free(&log);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

static void cpu_copies_without_a_buffer_and_empty_allocations_are_refused(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    const port_memory *m = env.ops->memory;
    unsigned char bytes[8] = {0};
    port_mem *mem = NULL;
    CPU_TEST_ASSERT_OK(m->alloc(env.dev, sizeof bytes, &mem));
    assert_int_equal(m->write(env.stream, NULL, 0, bytes, 1), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "write: no buffer"));
    assert_int_equal(m->read(env.stream, NULL, 0, bytes, 1), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "read: no buffer"));
    assert_int_equal(m->fill(env.stream, NULL, 0, 1, 1), KILN_ERR_NULL_HANDLE);
    assert_int_equal(m->copy(env.stream, NULL, 0, mem, 0, 1), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "copy destination: no buffer"));
    assert_int_equal(m->copy(env.stream, mem, 0, NULL, 0, 1), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "copy source: no buffer"));
    port_mem *none = NULL;
    assert_int_equal(m->alloc(env.dev, 0, &none), KILN_ERR_INVALID_SIZE);
    assert_non_null(strstr(util_last_error(), "cannot allocate 0 bytes"));
    assert_null(none);
    m->free(env.dev, mem);
    cpu_test_close(&env);
}

static void cpu_host_memory_is_aligned_usable_and_refuses_what_cannot_be(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    const port_memory *m = env.ops->memory;
    void *ptr = &env;
    port_host_mem *host = NULL;
    assert_int_equal(m->host_alloc(env.dev, 0, &ptr, &host), KILN_ERR_INVALID_SIZE);
    assert_non_null(strstr(util_last_error(), "0 bytes of host memory"));
    assert_null(ptr);
    assert_null(host);
    /* Rounding up to the alignment would wrap around. */
    assert_int_equal(m->host_alloc(env.dev, SIZE_MAX - 8, &ptr, &host),
                     KILN_ERR_OUT_OF_HOST_MEMORY);
    assert_non_null(strstr(util_last_error(), "the system refused"));
    assert_null(host);
    size_t bytes = 1 + (size_t)rand() % 50000;
    CPU_TEST_ASSERT_OK(m->host_alloc(env.dev, bytes, &ptr, &host));
    assert_int_equal((uintptr_t)ptr % CPU_ALLOC_ALIGNMENT, 0);
    unsigned char *p = ptr, *back = malloc(bytes);
    for (size_t i = 0; i < bytes; i++)
        p[i] = (unsigned char)rand();
    port_mem *mem = NULL;
    CPU_TEST_ASSERT_OK(m->alloc(env.dev, bytes, &mem));
    CPU_TEST_ASSERT_OK(m->write(env.stream, mem, 0, p, bytes));
    CPU_TEST_ASSERT_OK(m->read(env.stream, mem, 0, back, bytes));
    assert_memory_equal(back, p, bytes);
    free(back);
    m->free(env.dev, mem);
    m->host_free(env.dev, host);
    cpu_test_close(&env);
}

/* Counts, per index, how often the pool ran it. */
static void count_indices(void *ctx, size_t begin, size_t end)
{
    atomic_uint *hits = ctx;
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add_explicit(&hits[i], 1, memory_order_relaxed);
}

typedef struct pool_caller {
    cpu_pool *pool;
    size_t count;
    atomic_uint *hits;
} pool_caller;

static void *run_pool_job(void *arg)
{
    pool_caller *c = arg;
    cpu_pool_run(c->pool, c->count, count_indices, c->hits);
    return NULL;
}

static void cpu_pool_runs_every_index_exactly_once(void **state)
{
    cpu_test_seed();
    cpu_pool *pool = NULL;
    assert_int_equal(cpu_pool_create(0, CPU_WORKER_STACK_BYTES, 0, &pool), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(util_last_error(), "a pool needs at least one thread"));
    assert_null(pool);
    atomic_uint *hits = malloc(EDGE_POOL_MAX_COUNT * sizeof *hits);
    for (unsigned threads = 1; threads <= 4; threads++) {
        /* Callers need a big stack, so the small-stack thread below waits
         * on the workers, even with a pool of one. */
        CPU_TEST_ASSERT_OK(cpu_pool_create(threads, 64 * 1024, 4 * 1024 * 1024, &pool));
        for (int round = 0; round < EDGE_POOL_ROUNDS; round++) {
            size_t count = (size_t)rand() % EDGE_POOL_MAX_COUNT;
            for (size_t i = 0; i < count; i++)
                atomic_init(&hits[i], 0);
            pool_caller c = {pool, count, hits};
            if (round % 4 == 3) {
                pthread_attr_t attr;
                pthread_attr_init(&attr);
                pthread_attr_setstacksize(&attr, EDGE_SMALL_STACK);
                pthread_t thread;
                assert_int_equal(pthread_create(&thread, &attr, run_pool_job, &c), 0);
                pthread_join(thread, NULL);
                pthread_attr_destroy(&attr);
            } else {
                run_pool_job(&c);
            }
            for (size_t i = 0; i < count; i++)
                if (atomic_load(&hits[i]) != 1)
                    fail_msg("%u threads, %zu indices: index %zu ran %u times", threads, count,
                             i, atomic_load(&hits[i]));
        }
        cpu_pool_destroy(pool);
    }
    free(hits);
}

static void cpu_many_small_launches_each_write_their_ids(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, cpu_test_ids_kernel, &m, &log));
    port_function *f = cpu_test_function(&env, m, "kiln_entry_ids");
    enum { MAX_ITEMS = (8 * 2) * (2 * 2) * (2 * 2) }; /* groups * local, per dimension */
    port_mem *out = NULL;
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, MAX_ITEMS * sizeof(unsigned), &out));
    for (int i = 0; i < EDGE_SMALL_LAUNCHES; i++) {
        unsigned dims = 1 + (unsigned)rand() % 3, salt = (unsigned)rand();
        port_arg args[2] = {{.mem = out}, {.value = &salt, .size = sizeof salt}};
        port_launch launch = {.dims = dims, .args = args, .nargs = 2};
        size_t global[3] = {1, 1, 1};
        for (unsigned d = 0; d < dims; d++) {
            launch.groups[d] = 1 + (size_t)rand() % (d == 0 ? 8 : 2);
            launch.local[d] = 1 + (size_t)rand() % 2;
            global[d] = launch.groups[d] * launch.local[d];
        }
        CPU_TEST_ASSERT_OK(env.ops->execution->launch(env.stream, f, &launch, NULL, NULL));
        unsigned got[MAX_ITEMS];
        size_t items = global[0] * global[1] * global[2];
        CPU_TEST_ASSERT_OK(env.ops->memory->read(env.stream, out, 0, got, items * sizeof *got));
        for (size_t z = 0; z < global[2]; z++)
            for (size_t y = 0; y < global[1]; y++)
                for (size_t x = 0; x < global[0]; x++)
                    assert_int_equal(got[x + global[0] * (y + global[1] * z)],
                                     cpu_test_expected_id((unsigned)x, (unsigned)y, (unsigned)z,
                                                          salt));
    }
    env.ops->memory->free(env.dev, out);
    util_log_free(&log);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

/* Group 0 raises flags[0] and waits until the host raises flags[1]; every
 * group writes 3 * id + 1. */
static const char gate_kernel[] =
    "void kiln_entry_gate(const kiln_cpu_group *g, void *const *args)\n"
    "{\n"
    "    int *flags = *(int *const *)args[0];\n"
    "    unsigned *out = *(unsigned *const *)args[1];\n"
    "    if (g->group_id[0] == 0) {\n"
    "        __atomic_store_n(&flags[0], 1, __ATOMIC_SEQ_CST);\n"
    "        while (!__atomic_load_n(&flags[1], __ATOMIC_SEQ_CST)) {}\n"
    "    }\n"
    "    out[g->group_id[0]] = 3u * g->group_id[0] + 1u;\n"
    "}\n";

enum { GATE_GROUPS = 64, GATED_ITEMS = 96 };

typedef struct gate_launch {
    cpu_test_env *env;
    port_function *f;
    port_arg args[2];
    unsigned groups;
    kiln_status status;
} gate_launch;

static void *run_launch(void *arg)
{
    gate_launch *g = arg;
    port_launch launch = {.dims = 1, .groups = {g->groups}, .local = {1}, .args = g->args,
                          .nargs = 2};
    g->status = g->env->ops->execution->launch(g->env->stream, g->f, &launch, NULL, NULL);
    return NULL;
}

static void cpu_small_stack_launch_waits_while_another_holds_the_workers(void **state)
{
    setenv("KILN_CPU_THREADS", "2", 1);
    cpu_test_env env;
    cpu_test_open(&env);
    unsetenv("KILN_CPU_THREADS");
    cpu_test_seed();
    size_t size = sizeof gate_kernel + sizeof cpu_test_ids_kernel;
    char *body = malloc(size);
    snprintf(body, size, "%s%s", cpu_test_ids_kernel, gate_kernel);
    port_module *m = NULL;
    port_log log = {0};
    CPU_TEST_ASSERT_OK(cpu_test_compile(&env, body, &m, &log));
    free(body);
    port_mem *flags = NULL, *gate_out = NULL, *ids_out = NULL;
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, 2 * sizeof(int), &flags));
    CPU_TEST_ASSERT_OK(env.ops->memory->fill(env.stream, flags, 0, 0, 2 * sizeof(int)));
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, GATE_GROUPS * sizeof(unsigned), &gate_out));
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, GATED_ITEMS * sizeof(unsigned), &ids_out));
    unsigned salt = (unsigned)rand();
    gate_launch gate = {&env, cpu_test_function(&env, m, "kiln_entry_gate"),
                        {{.mem = flags}, {.mem = gate_out}}, GATE_GROUPS, KILN_ERR_INTERNAL};
    gate_launch ids = {&env, cpu_test_function(&env, m, "kiln_entry_ids"),
                       {{.mem = ids_out}, {.value = &salt, .size = sizeof salt}}, GATED_ITEMS,
                       KILN_ERR_INTERNAL};
    pthread_t gate_thread, ids_thread;
    assert_int_equal(pthread_create(&gate_thread, NULL, run_launch, &gate), 0);
    int *host_flags = flags->data;
    while (!__atomic_load_n(&host_flags[0], __ATOMIC_SEQ_CST))
        sched_yield();
    /* The gate launch holds the workers now; a small-stack caller cannot
     * run its groups itself and must wait for them. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, EDGE_SMALL_STACK);
    assert_int_equal(pthread_create(&ids_thread, &attr, run_launch, &ids), 0);
    pthread_attr_destroy(&attr);
    struct timespec hold = {0, EDGE_GATE_HOLD_NS};
    nanosleep(&hold, NULL);
    __atomic_store_n(&host_flags[1], 1, __ATOMIC_SEQ_CST);
    pthread_join(gate_thread, NULL);
    pthread_join(ids_thread, NULL);
    CPU_TEST_ASSERT_OK(gate.status);
    CPU_TEST_ASSERT_OK(ids.status);
    unsigned got[GATED_ITEMS];
    CPU_TEST_ASSERT_OK(env.ops->memory->read(env.stream, gate_out, 0, got,
                                             GATE_GROUPS * sizeof(unsigned)));
    for (unsigned g = 0; g < GATE_GROUPS; g++)
        assert_int_equal(got[g], 3u * g + 1u);
    CPU_TEST_ASSERT_OK(env.ops->memory->read(env.stream, ids_out, 0, got, sizeof got));
    for (unsigned i = 0; i < GATED_ITEMS; i++)
        assert_int_equal(got[i], cpu_test_expected_id(i, 0, 0, salt));
    env.ops->memory->free(env.dev, flags);
    env.ops->memory->free(env.dev, gate_out);
    env.ops->memory->free(env.dev, ids_out);
    util_log_free(&log);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_thread_counts_that_are_no_positive_number_mean_every_core),
        cmocka_unit_test(cpu_destroy_functions_accept_null),
        cmocka_unit_test(cpu_backend_closed_with_its_device_open_stops_the_workers),
        cmocka_unit_test(cpu_launches_without_what_they_need_are_refused),
        cmocka_unit_test(cpu_copies_without_a_buffer_and_empty_allocations_are_refused),
        cmocka_unit_test(cpu_host_memory_is_aligned_usable_and_refuses_what_cannot_be),
        cmocka_unit_test(cpu_pool_runs_every_index_exactly_once),
        cmocka_unit_test(cpu_many_small_launches_each_write_their_ids),
        cmocka_unit_test(cpu_small_stack_launch_waits_while_another_holds_the_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
