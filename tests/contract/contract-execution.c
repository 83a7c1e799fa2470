/* Execution port contract, run against each adapter:
 * ./contract-execution BACKEND. Streams of every priority, events in
 * order, launches over many groups in 1, 2 and 3 dimensions checked item
 * by item on the host, health. */
#include "contract-support.h"

#define EXECUTION_SHAPES 8
#define EXECUTION_MAX_GROUPS 64

static contract_program ids_program;

static int build_ids(void **state)
{
    contract_build(contract_ids_source, &ids_program);
    return 0;
}

static int release_ids(void **state)
{
    contract_release(&ids_program);
    return 0;
}

static size_t random_in(size_t lo, size_t hi)
{
    return lo + contract_random_below(hi - lo + 1);
}

/* A random shape of dims dimensions whose work-group fits the device. */
static void random_shape(unsigned dims, size_t groups[3], size_t local[3])
{
    size_t max_local = contract.info.max_work_group_size;
    size_t per_dim = dims == 1 ? 64 : dims == 2 ? 8 : 4;
    for (unsigned d = 0; d < 3; d++) {
        groups[d] = d < dims ? random_in(1, EXECUTION_MAX_GROUPS / (dims * dims) + 1) : 1;
        local[d] = d < dims ? random_in(1, per_dim < max_local ? per_dim : 1) : 1;
    }
}

static void launch_writes_every_global_id_in_1_2_and_3_dimensions(void **state)
{
    contract_seed();
    port_function *f = contract_function(&ids_program, "ids");
    for (unsigned dims = 1; dims <= 3; dims++)
        for (int round = 0; round < EXECUTION_SHAPES; round++) {
            size_t groups[3], local[3];
            random_shape(dims, groups, local);
            contract_check_ids(f, contract.stream, dims, groups, local);
        }
}

static void launch_of_many_small_groups_runs_each_once(void **state)
{
    contract_seed();
    port_function *f = contract_function(&ids_program, "ids");
    size_t groups[3] = {random_in(5000, 20000), 1, 1}, local[3] = {1, 1, 1};
    contract_check_ids(f, contract.stream, 1, groups, local);
}

static void streams_of_every_priority_run_launches(void **state)
{
    contract_seed();
    const int priorities[] = {KILN_PRIORITY_LOW, KILN_PRIORITY_NORMAL, KILN_PRIORITY_HIGH};
    port_function *f = contract_function(&ids_program, "ids");
    for (size_t i = 0; i < sizeof priorities / sizeof priorities[0]; i++) {
        port_stream *s = NULL;
        CONTRACT_OK(contract.ops->execution->stream_create(contract.dev, priorities[i], &s));
        size_t groups[3], local[3];
        random_shape(2, groups, local);
        contract_check_ids(f, s, 2, groups, local);
        contract.ops->execution->stream_destroy(s);
    }
}

static void events_are_ordered_and_elapsed_time_adds_up(void **state)
{
    const port_execution *x = contract.ops->execution;
    port_function *f = contract_function(&ids_program, "ids");
    port_mem *out = NULL;
    const size_t items = 1u << 16;
    CONTRACT_OK(contract.ops->memory->alloc(contract.dev, items * sizeof(unsigned), &out));
    unsigned salt = 3;
    port_arg args[2] = {{.mem = out}, {.value = &salt, .size = sizeof salt}};
    port_launch launch = {.dims = 1, .groups = {items / 64}, .local = {64}, .args = args,
                          .nargs = 2};
    port_event *first = NULL, *begin = NULL, *end = NULL, *last = NULL;
    CONTRACT_OK(x->event_record(contract.stream, &first));
    CONTRACT_OK(x->launch(contract.stream, f, &launch, &begin, &end));
    CONTRACT_OK(x->event_record(contract.stream, &last));
    CONTRACT_OK(x->event_wait(last));
    uint64_t lead = 0, kernel = 0, tail = 0, whole = 0;
    CONTRACT_OK(x->event_elapsed_ns(first, begin, &lead));
    CONTRACT_OK(x->event_elapsed_ns(begin, end, &kernel));
    CONTRACT_OK(x->event_elapsed_ns(end, last, &tail));
    CONTRACT_OK(x->event_elapsed_ns(first, last, &whole));
    printf("# first->begin %llu ns, kernel %llu ns, end->last %llu ns, whole %llu ns\n",
           (unsigned long long)lead, (unsigned long long)kernel, (unsigned long long)tail,
           (unsigned long long)whole);
    /* Monotonic: the whole span holds each of its parts. */
    assert_true(whole >= kernel);
    assert_true(whole >= lead);
    assert_true(whole >= tail);
    unsigned check[4];
    CONTRACT_OK(contract.ops->memory->read(contract.stream, out, 0, check, sizeof check));
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(check[i], contract_expected_id(i, 0, 0, salt));
    x->event_release(first);
    x->event_release(begin);
    x->event_release(end);
    x->event_release(last);
    contract.ops->memory->free(contract.dev, out);
}

/* Each group reverses its slice through shared memory: items read what
 * others wrote before the barrier. */
static const char reverse_source[] =
    "#define TILE 64\n"
    "kernel void reverse_in_group(global const uint *in, global uint *out)\n"
    "{\n"
    "    shared uint tile[TILE];\n"
    "    uint l = local_id(0);\n"
    "    tile[l] = in[global_id(0)];\n"
    "    barrier();\n"
    "    out[global_id(0)] = tile[local_size(0) - 1 - l];\n"
    "}\n";
#define REVERSE_TILE 64

static void barrier_kernel_sees_what_its_group_wrote_to_shared_memory(void **state)
{
    contract_seed();
    contract_program p;
    contract_build(reverse_source, &p);
    port_function *f = contract_function(&p, "reverse_in_group");
    size_t groups = random_in(1, EXECUTION_MAX_GROUPS), items = groups * REVERSE_TILE;
    unsigned *in = malloc(items * sizeof *in), *got = malloc(items * sizeof *got);
    assert_true(in && got);
    for (size_t i = 0; i < items; i++)
        in[i] = (unsigned)rand();
    const port_memory *m = contract.ops->memory;
    port_mem *din = NULL, *dout = NULL;
    CONTRACT_OK(m->alloc(contract.dev, items * sizeof *in, &din));
    CONTRACT_OK(m->alloc(contract.dev, items * sizeof *in, &dout));
    CONTRACT_OK(m->write(contract.stream, din, 0, in, items * sizeof *in));
    port_arg args[2] = {{.mem = din}, {.mem = dout}};
    port_launch launch = {.dims = 1, .groups = {groups}, .local = {REVERSE_TILE}, .args = args,
                          .nargs = 2};
    CONTRACT_OK(contract.ops->execution->launch(contract.stream, f, &launch, NULL, NULL));
    CONTRACT_OK(m->read(contract.stream, dout, 0, got, items * sizeof *got));
    for (size_t g = 0; g < groups; g++)
        for (size_t l = 0; l < REVERSE_TILE; l++)
            assert_int_equal(got[g * REVERSE_TILE + l],
                             in[g * REVERSE_TILE + REVERSE_TILE - 1 - l]);
    m->free(contract.dev, din);
    m->free(contract.dev, dout);
    free(in);
    free(got);
    contract_release(&p);
}

static void a_healthy_device_says_so(void **state)
{
    kiln_health health = KILN_HEALTH_LOST;
    CONTRACT_OK(contract.ops->execution->health(contract.dev, &health));
    assert_int_equal(health, KILN_HEALTH_HEALTHY);
}

int main(int argc, char **argv)
{
    contract_open_or_skip(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(launch_writes_every_global_id_in_1_2_and_3_dimensions),
        cmocka_unit_test(launch_of_many_small_groups_runs_each_once),
        cmocka_unit_test(streams_of_every_priority_run_launches),
        cmocka_unit_test(events_are_ordered_and_elapsed_time_adds_up),
        cmocka_unit_test(barrier_kernel_sees_what_its_group_wrote_to_shared_memory),
        cmocka_unit_test(a_healthy_device_says_so),
    };
    int failed = cmocka_run_group_tests(tests, build_ids, release_ids);
    contract_close();
    return failed;
}
