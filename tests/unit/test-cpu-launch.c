/* The CPU adapter's execution port on hand-written ABI C: index ranges of
 * 1 to 3 dimensions over many groups, float work on random data, kernels
 * that need a big stack launched from a small one, concurrent launches,
 * events, refused ranges. */
#include "test-cpu-support.h"

#include <math.h>
#include <pthread.h>

#define LAUNCH_SHAPES 12
#define LAUNCH_MAX_GROUPS 40

static const char launch_kernels[] =
    "#include <stddef.h>\n"
    "void kiln_entry_saxpy(const kiln_cpu_group *g, void *const *args)\n"
    "{\n"
    "    float *y = *(float *const *)args[0];\n"
    "    const float *x = *(float *const *)args[1];\n"
    "    float a = *(const float *)args[2];\n"
    "    unsigned n = *(const unsigned *)args[3];\n"
    "    for (unsigned l = 0; l < g->local_size[0]; l++) {\n"
    "        unsigned i = g->group_id[0] * g->local_size[0] + l;\n"
    "        if (i < n) y[i] = a * x[i] + y[i];\n"
    "    }\n"
    "}\n"
    /* Uses 512 KiB of stack per group, as shared memory would. */
    "void kiln_entry_big_stack(const kiln_cpu_group *g, void *const *args)\n"
    "{\n"
    "    unsigned *out = *(unsigned *const *)args[0];\n"
    "    volatile unsigned scratch[128 * 1024];\n"
    "    for (unsigned i = 0; i < 128 * 1024; i++) scratch[i] = i ^ g->group_id[0];\n"
    "    unsigned sum = 0;\n"
    "    for (unsigned i = 0; i < 128 * 1024; i++) sum += scratch[i];\n"
    "    out[g->group_id[0]] = sum;\n"
    "}\n"
    /* 40 by-value arguments: more than the adapter keeps on its stack. */
    "void kiln_entry_many_args(const kiln_cpu_group *g, void *const *args)\n"
    "{\n"
    "    long *out = *(long *const *)args[0];\n"
    "    long sum = 0;\n"
    "    for (int i = 1; i < 40; i++) sum += (long)(i * 1000) * *(const int *)args[i];\n"
    "    if (g->group_id[0] == 0) out[0] = sum;\n"
    "}\n";

static port_module *launch_module(const cpu_test_env *env)
{
    size_t size = sizeof launch_kernels + sizeof cpu_test_ids_kernel;
    char *body = malloc(size);
    snprintf(body, size, "%s%s", cpu_test_ids_kernel, launch_kernels);
    port_module *m = NULL;
    port_log log = {0};
    kiln_status st = cpu_test_compile(env, body, &m, &log);
    if (st != KILN_OK)
        fail_msg("compile: %s", log.text ? log.text : util_last_error());
    util_log_free(&log);
    free(body);
    return m;
}

static size_t random_in(size_t lo, size_t hi)
{
    return lo + (size_t)rand() % (hi - lo + 1);
}

/* Launches kiln_entry_ids over a random shape of dims dimensions and checks
 * every work-item's value on the host. */
static void launch_ids_once(const cpu_test_env *env, port_stream *stream, port_function *f,
                            unsigned dims)
{
    port_launch launch = {.dims = dims};
    size_t global[3] = {1, 1, 1}, items = 1;
    for (unsigned d = 0; d < 3; d++) {
        launch.groups[d] = d < dims ? random_in(1, dims == 1 ? 4 * LAUNCH_MAX_GROUPS
                                                                : LAUNCH_MAX_GROUPS / dims)
                                    : 1;
        launch.local[d] = d < dims ? random_in(1, dims == 3 ? 4 : 16) : 1;
        global[d] = launch.groups[d] * launch.local[d];
        items *= global[d];
    }
    port_mem *out = NULL;
    CPU_TEST_ASSERT_OK(env->ops->memory->alloc(env->dev, items * sizeof(unsigned), &out));
    CPU_TEST_ASSERT_OK(env->ops->memory->fill(stream, out, 0, 0xff, items * sizeof(unsigned)));
    unsigned salt = (unsigned)rand();
    port_arg args[2] = {{.mem = out}, {.value = &salt, .size = sizeof salt}};
    launch.args = args;
    launch.nargs = 2;
    CPU_TEST_ASSERT_OK(env->ops->execution->launch(stream, f, &launch, NULL, NULL));
    CPU_TEST_ASSERT_OK(env->ops->execution->synchronize(stream));
    unsigned *got = malloc(items * sizeof *got);
    CPU_TEST_ASSERT_OK(env->ops->memory->read(stream, out, 0, got, items * sizeof *got));
    for (size_t z = 0; z < global[2]; z++)
        for (size_t y = 0; y < global[1]; y++)
            for (size_t x = 0; x < global[0]; x++) {
                size_t flat = x + global[0] * (y + global[1] * z);
                unsigned want = cpu_test_expected_id((unsigned)x, (unsigned)y, (unsigned)z, salt);
                if (got[flat] != want)
                    fail_msg("%u-D item (%zu,%zu,%zu): got %u, want %u", dims, x, y, z,
                             got[flat], want);
            }
    free(got);
    env->ops->memory->free(env->dev, out);
}

static void cpu_launch_writes_every_global_id_in_1_2_and_3_dimensions(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *m = launch_module(&env);
    port_function *f = cpu_test_function(&env, m, "kiln_entry_ids");
    for (unsigned dims = 1; dims <= 3; dims++)
        for (int round = 0; round < LAUNCH_SHAPES; round++)
            launch_ids_once(&env, env.stream, f, dims);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

static void cpu_launch_with_one_thread_runs_in_the_caller_and_agrees(void **state)
{
    setenv("KILN_CPU_THREADS", "1", 1);
    cpu_test_env env;
    cpu_test_open(&env);
    unsetenv("KILN_CPU_THREADS");
    cpu_test_seed();
    port_module *m = launch_module(&env);
    port_function *f = cpu_test_function(&env, m, "kiln_entry_ids");
    for (unsigned dims = 1; dims <= 3; dims++)
        launch_ids_once(&env, env.stream, f, dims);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

static void cpu_saxpy_on_random_floats_matches_the_host(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *m = launch_module(&env);
    port_function *f = cpu_test_function(&env, m, "kiln_entry_saxpy");
    unsigned n = (unsigned)random_in(1000, 100000);
    size_t local = 64, groups = (n + local - 1) / local;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *got = malloc(n * sizeof *got);
    float a = (float)rand() / (float)RAND_MAX * 4.0f - 2.0f;
    for (unsigned i = 0; i < n; i++) {
        x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
        y[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    }
    port_mem *dx = NULL, *dy = NULL;
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, n * sizeof *x, &dx));
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, n * sizeof *y, &dy));
    CPU_TEST_ASSERT_OK(env.ops->memory->write(env.stream, dx, 0, x, n * sizeof *x));
    CPU_TEST_ASSERT_OK(env.ops->memory->write(env.stream, dy, 0, y, n * sizeof *y));
    port_arg args[4] = {{.mem = dy}, {.mem = dx}, {.value = &a, .size = sizeof a},
                        {.value = &n, .size = sizeof n}};
    port_launch launch = {.dims = 1, .groups = {groups}, .local = {local}, .args = args,
                          .nargs = 4};
    CPU_TEST_ASSERT_OK(env.ops->execution->launch(env.stream, f, &launch, NULL, NULL));
    CPU_TEST_ASSERT_OK(env.ops->memory->read(env.stream, dy, 0, got, n * sizeof *got));
    for (unsigned i = 0; i < n; i++)
        assert_true(fabsf(got[i] - (a * x[i] + y[i])) <= 1e-6f);
    env.ops->memory->free(env.dev, dx);
    env.ops->memory->free(env.dev, dy);
    free(x);
    free(y);
    free(got);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

typedef struct big_stack_run {
    cpu_test_env *env;
    port_function *f;
    unsigned groups;
    unsigned *result;
    kiln_status status;
} big_stack_run;

static void *launch_big_stack(void *arg)
{
    big_stack_run *r = arg;
    const cpu_test_env *env = r->env;
    port_mem *out = NULL;
    r->status = env->ops->memory->alloc(env->dev, r->groups * sizeof(unsigned), &out);
    if (r->status != KILN_OK)
        return NULL;
    port_arg args[1] = {{.mem = out}};
    port_launch launch = {.dims = 1, .groups = {r->groups}, .local = {1}, .args = args,
                          .nargs = 1};
    r->status = env->ops->execution->launch(env->stream, r->f, &launch, NULL, NULL);
    if (r->status == KILN_OK)
        r->status = env->ops->memory->read(env->stream, out, 0, r->result,
                                           r->groups * sizeof(unsigned));
    env->ops->memory->free(env->dev, out);
    return NULL;
}

static unsigned big_stack_expected(unsigned group)
{
    unsigned sum = 0;
    for (unsigned i = 0; i < 128 * 1024; i++)
        sum += i ^ group;
    return sum;
}

static void cpu_kernel_needing_a_big_stack_runs_when_launched_from_a_small_one(void **state)
{
    enum { SMALL_STACK = 128 * 1024 };
    for (int single = 0; single <= 1; single++) {
        if (single)
            setenv("KILN_CPU_THREADS", "1", 1);
        cpu_test_env env;
        cpu_test_open(&env);
        unsetenv("KILN_CPU_THREADS");
        port_module *m = launch_module(&env);
        unsigned result[1 + 7] = {0};
        for (unsigned groups = 1; groups <= 7; groups += 6) {
            big_stack_run run = {.env = &env, .groups = groups, .result = result,
                                 .f = cpu_test_function(&env, m, "kiln_entry_big_stack")};
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setstacksize(&attr, SMALL_STACK);
            pthread_t thread;
            assert_int_equal(pthread_create(&thread, &attr, launch_big_stack, &run), 0);
            pthread_join(thread, NULL);
            pthread_attr_destroy(&attr);
            CPU_TEST_ASSERT_OK(run.status);
            for (unsigned g = 0; g < groups; g++)
                assert_int_equal(result[g], big_stack_expected(g));
        }
        env.ops->compile->module_release(m);
        cpu_test_close(&env);
    }
}

typedef struct concurrent_launcher {
    cpu_test_env *env;
    port_function *f;
    unsigned seed;
} concurrent_launcher;

static void *launch_from_thread(void *arg)
{
    concurrent_launcher *c = arg;
    port_stream *stream = NULL;
    CPU_TEST_ASSERT_OK(c->env->ops->execution->stream_create(c->env->dev, 1, &stream));
    srand(c->seed);
    for (int round = 0; round < LAUNCH_SHAPES; round++)
        launch_ids_once(c->env, stream, c->f, 1 + (unsigned)round % 3);
    c->env->ops->execution->stream_destroy(stream);
    return NULL;
}

static void cpu_launches_from_several_threads_each_get_their_results(void **state)
{
    enum { THREADS = 4 };
    cpu_test_env env;
    cpu_test_open(&env);
    unsigned seed = cpu_test_seed();
    port_module *m = launch_module(&env);
    concurrent_launcher c[THREADS];
    pthread_t ids[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (concurrent_launcher){&env, cpu_test_function(&env, m, "kiln_entry_ids"),
                                    seed + (unsigned)i};
        assert_int_equal(pthread_create(&ids[i], NULL, launch_from_thread, &c[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(ids[i], NULL);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

static void cpu_launch_with_forty_value_arguments_passes_them_all(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *m = launch_module(&env);
    port_function *f = cpu_test_function(&env, m, "kiln_entry_many_args");
    int values[40];
    port_arg args[40];
    port_mem *out = NULL;
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, sizeof(long), &out));
    args[0] = (port_arg){.mem = out};
    long want = 0;
    for (int i = 1; i < 40; i++) {
        values[i] = rand() % 1000;
        args[i] = (port_arg){.value = &values[i], .size = sizeof(int)};
        want += (long)(i * 1000) * values[i];
    }
    port_launch launch = {.dims = 1, .groups = {3}, .local = {1}, .args = args, .nargs = 40};
    CPU_TEST_ASSERT_OK(env.ops->execution->launch(env.stream, f, &launch, NULL, NULL));
    long got = 0;
    CPU_TEST_ASSERT_OK(env.ops->memory->read(env.stream, out, 0, &got, sizeof got));
    assert_true(got == want);
    env.ops->memory->free(env.dev, out);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

static void cpu_launch_events_bracket_the_kernel_in_order(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_module *m = launch_module(&env);
    port_function *f = cpu_test_function(&env, m, "kiln_entry_big_stack");
    const port_execution *x = env.ops->execution;
    port_mem *out = NULL;
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, 16 * sizeof(unsigned), &out));
    port_arg args[1] = {{.mem = out}};
    port_launch launch = {.dims = 1, .groups = {16}, .local = {1}, .args = args, .nargs = 1};
    port_event *before = NULL, *begin = NULL, *end = NULL, *after = NULL;
    CPU_TEST_ASSERT_OK(x->event_record(env.stream, &before));
    CPU_TEST_ASSERT_OK(x->launch(env.stream, f, &launch, &begin, &end));
    CPU_TEST_ASSERT_OK(x->event_record(env.stream, &after));
    CPU_TEST_ASSERT_OK(x->event_wait(end));
    uint64_t kernel_ns = 0, lead_ns = 0, tail_ns = 0, total_ns = 0;
    CPU_TEST_ASSERT_OK(x->event_elapsed_ns(begin, end, &kernel_ns));
    CPU_TEST_ASSERT_OK(x->event_elapsed_ns(before, begin, &lead_ns));
    CPU_TEST_ASSERT_OK(x->event_elapsed_ns(end, after, &tail_ns));
    CPU_TEST_ASSERT_OK(x->event_elapsed_ns(before, after, &total_ns));
    /* 16 groups each touching 512 KiB twice take well over a microsecond. */
    assert_true(kernel_ns > 1000);
    assert_true(total_ns == lead_ns + kernel_ns + tail_ns);
    uint64_t ignored;
    assert_int_equal(x->event_elapsed_ns(after, before, &ignored), KILN_ERR_INVALID_ARG);
    unsigned got[16];
    CPU_TEST_ASSERT_OK(env.ops->memory->read(env.stream, out, 0, got, sizeof got));
    for (unsigned g = 0; g < 16; g++)
        assert_int_equal(got[g], big_stack_expected(g));
    x->event_release(before);
    x->event_release(begin);
    x->event_release(end);
    x->event_release(after);
    env.ops->memory->free(env.dev, out);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

static void cpu_launch_refuses_ranges_it_cannot_run(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_module *m = launch_module(&env);
    port_function *f = cpu_test_function(&env, m, "kiln_entry_ids");
    port_mem *out = NULL;
    CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, 64, &out));
    unsigned salt = 1;
    port_arg args[2] = {{.mem = out}, {.value = &salt, .size = sizeof salt}};
    const port_execution *x = env.ops->execution;
    port_launch too_big = {.dims = 2, .groups = {1, 1}, .local = {64, 32}, .args = args,
                           .nargs = 2};
    assert_int_equal(x->launch(env.stream, f, &too_big, NULL, NULL), KILN_ERR_INVALID_RANGE);
    port_launch no_dims = {.dims = 0, .groups = {1}, .local = {1}, .args = args, .nargs = 2};
    assert_int_equal(x->launch(env.stream, f, &no_dims, NULL, NULL), KILN_ERR_INVALID_RANGE);
    port_launch overflow = {.dims = 1, .groups = {(size_t)1 << 31}, .local = {4},
                            .args = args, .nargs = 2};
    assert_int_equal(x->launch(env.stream, f, &overflow, NULL, NULL), KILN_ERR_INVALID_RANGE);
    port_arg hollow[2] = {{.mem = out}, {0}};
    port_launch bad_arg = {.dims = 1, .groups = {1}, .local = {1}, .args = hollow, .nargs = 2};
    assert_int_equal(x->launch(env.stream, f, &bad_arg, NULL, NULL), KILN_ERR_INVALID_ARG);
    env.ops->memory->free(env.dev, out);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_launch_writes_every_global_id_in_1_2_and_3_dimensions),
        cmocka_unit_test(cpu_launch_with_one_thread_runs_in_the_caller_and_agrees),
        cmocka_unit_test(cpu_saxpy_on_random_floats_matches_the_host),
        cmocka_unit_test(cpu_kernel_needing_a_big_stack_runs_when_launched_from_a_small_one),
        cmocka_unit_test(cpu_launches_from_several_threads_each_get_their_results),
        cmocka_unit_test(cpu_launch_with_forty_value_arguments_passes_them_all),
        cmocka_unit_test(cpu_launch_events_bracket_the_kernel_in_order),
        cmocka_unit_test(cpu_launch_refuses_ranges_it_cannot_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
