/* The CUDA adapter when things go wrong, on a real GPU (exit 77 without
 * one): NVRTC errors name the .kc line, an allocation beyond the device is
 * KILN_ERR_OUT_OF_MEMORY and leaks nothing, and a kernel that writes
 * through a wild index faults: KILN_ERR_DEVICE_FAULT, the device reports
 * itself lost, the CPU device keeps working, and after recovery the old
 * objects are refused while new ones work (or the device stays lost). The
 * fault test runs last: it poisons the context for the whole process. */
#include "test-cuda-support.h"

#include "backends/cpu/cpu_internal.h"

/* Other work on the GPU may move its usage figure by this much meanwhile. */
#define FAULTS_USAGE_SLACK_BYTES (64u << 20)
#define FAULTS_ITEMS 4096u
#define FAULTS_LOCAL 128u
/* An element index whose address lies terabytes past any allocation. */
#define FAULTS_WILD_INDEX (1ull << 42)

static cuda_test_env env;

/* Raw CUDA with a #line directive, as the front end emits it: the
 * undefined name is on line 7 of the .kc file. */
static const char faults_bad_cuda[] =
    "#line 7 \"mine.kc\"\n"
    "extern \"C\" __global__ void k(unsigned *out) { out[0] = not_declared_anywhere; }\n";

static void nvrtc_errors_name_the_kc_line(void **state)
{
    port_compile_input in = {.source = faults_bad_cuda,
                             .source_length = strlen(faults_bad_cuda),
                             .source_name = "mine.kc"};
    port_module *m = NULL;
    port_log log = {0};
    assert_int_equal(env.ops->compile->compile(env.dev, &in, &m, &log), KILN_ERR_COMPILE);
    assert_null(m);
    assert_non_null(log.text);
    printf("# NVRTC log: %s\n", log.text);
    assert_non_null(strstr(log.text, "mine.kc(7)"));
    assert_non_null(strstr(log.text, "not_declared_anywhere"));
    util_log_free(&log);
}

static void allocations_beyond_the_device_are_out_of_memory_and_leak_nothing(void **state)
{
    uint64_t before = 0, total = 0, after = 0;
    CUDA_TEST_OK(env.ops->memory->usage(env.dev, &before, &total));
    /* More than is free but less than the whole card, so the driver itself
     * refuses it; then more than the card has at all. */
    const size_t too_big[] = {(size_t)(total - before) + (size_t)before / 2 + 1,
                              (size_t)total + 1, (size_t)total * 2};
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
        port_mem *mem = NULL;
        assert_int_equal(env.ops->memory->alloc(env.dev, too_big[i], &mem),
                         KILN_ERR_OUT_OF_MEMORY);
        assert_null(mem);
        printf("# %zu bytes: %s\n", too_big[i], util_last_error());
    }
    CUDA_TEST_OK(env.ops->memory->usage(env.dev, &after, &total));
    printf("# usage before %llu after %llu of %llu\n", (unsigned long long)before,
           (unsigned long long)after, (unsigned long long)total);
    assert_true(after <= before + FAULTS_USAGE_SLACK_BYTES);
    /* The device still allocates and runs after refusing. */
    cuda_test_program p;
    cuda_test_build(&env, cuda_test_affine_source, &p);
    cuda_test_run_affine(&env, env.stream, cuda_test_function(&env, &p, "affine"), FAULTS_ITEMS,
                         FAULTS_LOCAL);
    cuda_test_release(&env, &p);
}

static const char faults_wild_source[] =
    "kernel void wild(global uint *out, ulong index)\n"
    "{\n"
    "    out[index + global_id(0)] = 7u;\n"
    "}\n";

/* The CPU device keeps working while the GPU is down: it runs a kernel,
 * or, where this machine has no C compiler for it, moves random bytes. */
static void faults_cpu_still_works(void)
{
    cuda_test_env cpu;
    char reason[256] = "";
    CUDA_TEST_OK(cuda_test_open("cpu", &cpu, reason, sizeof reason));
    char compiler[4096];
    if (cpu_toolchain_find(compiler, sizeof compiler) == KILN_OK) {
        cuda_test_program p;
        cuda_test_build(&cpu, cuda_test_affine_source, &p);
        cuda_test_run_affine(&cpu, cpu.stream, cuda_test_function(&cpu, &p, "affine"),
                             FAULTS_ITEMS, FAULTS_LOCAL);
        cuda_test_release(&cpu, &p);
    } else {
        printf("# no C compiler for the CPU backend: checking its memory only\n");
        unsigned char in[FAULTS_ITEMS], out[FAULTS_ITEMS];
        for (size_t i = 0; i < sizeof in; i++)
            in[i] = (unsigned char)rand();
        port_mem *mem = NULL;
        CUDA_TEST_OK(cpu.ops->memory->alloc(cpu.dev, sizeof in, &mem));
        CUDA_TEST_OK(cpu.ops->memory->write(cpu.stream, mem, 0, in, sizeof in));
        CUDA_TEST_OK(cpu.ops->memory->read(cpu.stream, mem, 0, out, sizeof out));
        assert_memory_equal(in, out, sizeof in);
        cpu.ops->memory->free(cpu.dev, mem);
    }
    cuda_test_close(&cpu);
}

/* Everything made before the reset is refused without touching the driver;
 * new objects work. */
static void faults_after_recovery(port_mem *old_mem, cuda_test_program *old_program,
                                  port_function *old_wild)
{
    uint32_t word = 0;
    assert_int_equal(env.ops->memory->read(env.stream, old_mem, 0, &word, sizeof word),
                     KILN_ERR_DEVICE_LOST);
    assert_int_equal(env.ops->execution->synchronize(env.stream), KILN_ERR_DEVICE_LOST);
    port_function *f = NULL;
    assert_int_equal(env.ops->compile->get_function(old_program->module, "affine", &f),
                     KILN_ERR_DEVICE_LOST);
    port_stream *fresh = NULL;
    CUDA_TEST_OK(env.ops->execution->stream_create(env.dev, KILN_PRIORITY_NORMAL, &fresh));
    uint64_t index = 0;
    port_arg args[2] = {{.mem = old_mem}, {.value = &index, .size = sizeof index}};
    port_launch launch = {.dims = 1, .groups = {1, 1, 1}, .local = {1, 1, 1}, .args = args,
                          .nargs = 2};
    assert_int_equal(env.ops->execution->launch(fresh, old_wild, &launch, NULL, NULL),
                     KILN_ERR_DEVICE_LOST);
    cuda_test_program p;
    cuda_test_build(&env, cuda_test_affine_source, &p);
    cuda_test_run_affine(&env, fresh, cuda_test_function(&env, &p, "affine"), FAULTS_ITEMS,
                         FAULTS_LOCAL);
    cuda_test_release(&env, &p);
    env.ops->execution->stream_destroy(fresh);
}

static void a_wild_write_faults_and_the_device_recovers_or_reports_lost(void **state)
{
    cuda_test_seed();
    cuda_test_program p;
    cuda_test_build(&env, faults_wild_source, &p);
    port_function *wild = cuda_test_function(&env, &p, "wild");
    port_mem *mem = NULL;
    CUDA_TEST_OK(env.ops->memory->alloc(env.dev, FAULTS_ITEMS * sizeof(uint32_t), &mem));
    uint64_t index = FAULTS_WILD_INDEX + (uint64_t)(rand() % 1024);
    port_arg args[2] = {{.mem = mem}, {.value = &index, .size = sizeof index}};
    port_launch launch = {.dims = 1, .groups = {FAULTS_ITEMS / FAULTS_LOCAL, 1, 1},
                          .local = {FAULTS_LOCAL, 1, 1}, .args = args, .nargs = 2};
    kiln_status st = env.ops->execution->launch(env.stream, wild, &launch, NULL, NULL);
    if (st == KILN_OK)
        st = env.ops->execution->synchronize(env.stream);
    printf("# fault: %s\n", util_last_error());
    assert_int_equal(st, KILN_ERR_DEVICE_FAULT);
    assert_non_null(strstr(util_last_error(), "CUDA_ERROR_"));

    kiln_device_info info;
    CUDA_TEST_OK(env.ops->device_info(env.dev, &info));
    assert_int_equal(info.health, KILN_HEALTH_LOST);
    port_mem *refused = NULL;
    assert_int_equal(env.ops->memory->alloc(env.dev, sizeof(uint32_t), &refused),
                     KILN_ERR_DEVICE_LOST);
    assert_null(refused);

    faults_cpu_still_works();

    kiln_health health = KILN_HEALTH_HEALTHY;
    CUDA_TEST_OK(env.ops->execution->health(env.dev, &health));
    printf("# health after the fault: %s (%s)\n",
           health == KILN_HEALTH_HEALTHY ? "healthy (recovered)" : "lost", util_last_error());
    if (health == KILN_HEALTH_HEALTHY) {
        faults_after_recovery(mem, &p, wild);
    } else {
        assert_int_equal(health, KILN_HEALTH_LOST);
        port_stream *s = NULL;
        assert_int_equal(env.ops->execution->stream_create(env.dev, KILN_PRIORITY_NORMAL, &s),
                         KILN_ERR_DEVICE_LOST);
    }
    /* Releasing objects of the old context is safe either way. */
    env.ops->memory->free(env.dev, mem);
    cuda_test_release(&env, &p);
}

int main(void)
{
    char reason[512] = "";
    if (cuda_test_open("cuda", &env, reason, sizeof reason) != KILN_OK) {
        printf("# cuda unavailable (%s): skipped\n", reason);
        return CUDA_TEST_SKIP;
    }
    printf("# cuda device 0: %s (%s)\n", env.info.name, env.info.architecture);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nvrtc_errors_name_the_kc_line),
        cmocka_unit_test(allocations_beyond_the_device_are_out_of_memory_and_leak_nothing),
        cmocka_unit_test(a_wild_write_faults_and_the_device_recovers_or_reports_lost),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    cuda_test_close(&env);
    return failed;
}
