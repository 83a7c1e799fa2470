/* kiln-conformance BACKEND KERNEL|all [KERNEL_DIR]
 *
 * Runs the conformance case for tests/kernels/KERNEL.kc on the first device
 * of BACKEND (cpu, opencl, cuda, metal). Exit 0 = passed, 1 = failed,
 * 77 = no such device (CTest reports it as skipped). The random seed is
 * printed; KILN_TEST_SEED=N repeats a run. KERNEL_DIR defaults to
 * $KILN_SOURCE_DIR/tests/kernels. */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const conf_case conf_cases[] = {
    { "index", conf_case_index },
    { "shared_1d", conf_case_shared_1d },
    { "shared_2d", conf_case_shared_2d },
    { "atomics_int", conf_case_atomics_int },
    { "atomics_float", conf_case_atomics_float },
    { "subgroups", conf_case_subgroups },
    { "math", conf_case_math },
    { "minmax", conf_case_minmax },
    { "helpers", conf_case_helpers },
    { "structs", conf_case_structs },
    { "scalar_params", conf_case_scalar_params },
    { "buffer_types", conf_case_buffer_types },
    { "vectors", conf_case_vectors },
    { "bitcast", conf_case_bitcast },
    { "constant_tables", conf_case_constant_tables },
    { "preprocessor", conf_case_preprocessor },
    { "control_flow", conf_case_control_flow },
    { "integer_semantics", conf_case_integer_semantics },
};

#define CONF_CASE_COUNT (sizeof conf_cases / sizeof conf_cases[0])
#define CONF_PATH_MAX 4096

static uint64_t choose_seed(void)
{
    const char *text = getenv("KILN_TEST_SEED");
    if (text && *text)
        return strtoull(text, NULL, 0);
    /* Time and pid: parallel CTest runs started in the same second differ. */
    uint64_t seed = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
    return seed ? seed : 1;
}

static const conf_case *find_case(const char *name)
{
    for (size_t i = 0; i < CONF_CASE_COUNT; i++) {
        if (strcmp(conf_cases[i].name, name) == 0)
            return &conf_cases[i];
    }
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: kiln-conformance BACKEND KERNEL|all [KERNEL_DIR]\nkernels:");
    for (size_t i = 0; i < CONF_CASE_COUNT; i++)
        fprintf(stderr, " %s", conf_cases[i].name);
    fprintf(stderr, "\n");
    return 2;
}

static conf_result run_case(conf_env *env, const conf_case *c)
{
    printf("== %s (seed %llu; KILN_TEST_SEED=%llu repeats it)\n", c->name,
           (unsigned long long)env->seed, (unsigned long long)env->seed);
    /* Every case starts from the seed, so one case reruns alone. */
    env->rng_state = conf_seed_state(env->seed);
    env->failures = env->checks = env->skipped_parts = 0;
    conf_result r = c->run(env);
    conf_env_release_objects(env);
    printf("== %s: %s\n", c->name, r == CONF_PASS ? "PASS" : r == CONF_SKIP ? "SKIP" : "FAIL");
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4)
        return usage();
    const char *backend = argv[1];
    const char *kernel = argv[2];
    char default_dir[CONF_PATH_MAX];
    const char *kernel_dir = argc == 4 ? argv[3] : NULL;
    if (!kernel_dir) {
        const char *source_dir = getenv("KILN_SOURCE_DIR");
        snprintf(default_dir, sizeof default_dir, "%s/tests/kernels", source_dir ? source_dir : ".");
        kernel_dir = default_dir;
    }
    const conf_case *single = NULL;
    if (strcmp(kernel, "all") != 0) {
        single = find_case(kernel);
        if (!single) {
            fprintf(stderr, "no host check for kernel file %s.kc\n", kernel);
            return usage();
        }
    }

    setvbuf(stdout, NULL, _IOLBF, 0);
    conf_env env;
    conf_result r = conf_env_open(&env, backend, kernel_dir, choose_seed());
    if (r != CONF_PASS) {
        conf_env_close(&env);
        return (int)r;
    }
    if (single) {
        r = run_case(&env, single);
    } else {
        unsigned failed = 0;
        for (size_t i = 0; i < CONF_CASE_COUNT; i++) {
            if (run_case(&env, &conf_cases[i]) == CONF_FAIL)
                failed++;
        }
        printf("%u of %zu kernels failed\n", failed, CONF_CASE_COUNT);
        r = failed ? CONF_FAIL : CONF_PASS;
    }
    conf_env_close(&env);
    return (int)r;
}
