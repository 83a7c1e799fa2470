/* kiln demo: build, run and verify the example kernels on one device. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "work.h"

/* Sizes that run in well under a second on a laptop CPU yet are large
 * enough for the timings to mean something. */
#define DEMO_SAXPY_N (1u << 22)
#define DEMO_REDUCE_N (1u << 22)
#define DEMO_MATMUL_N 256u
#define DEMO_HISTOGRAM_N (1u << 22)
#define DEMO_WARMUP 1
#define DEMO_REPS 7
#define NS_PER_MS 1e6

static void print_help(void)
{
    printf("usage: kiln demo [--device D] [--json] [--seed N] [--policy FILE]\n"
           "                 [--audit-log LOG] [--audit-key KEY]\n\n"
           "Builds and runs the example kernels (saxpy, sum reduction, tiled matrix\n"
           "multiply with shared memory, histogram with atomics) on one device, checks\n"
           "each against a host reference on fresh random inputs, and prints ok/FAIL,\n"
           "the median device time of %d runs after %d warm-up runs, and the\n"
           "effective GB/s or GFLOP/s. Exits 1 if any check fails.\n\n"
           "  -d, --device D  device selector: cpu, cuda:0, opencl:1 or an index\n"
           "                  from 'kiln devices' (default: the best device)\n"
           "  --json          print the results as JSON\n"
           "  --seed N        seed of the random inputs (default: from the clock)\n"
           "  --policy FILE, --audit-log LOG, --audit-key KEY\n"
           "                  run under governance (docs/security.md); the same as\n"
           "                  KILN_POLICY, KILN_AUDIT_LOG, KILN_AUDIT_KEY; work the policy\n"
           "                  refuses fails, naming the rule (exit 3 if it refuses the device)\n",
           DEMO_REPS, DEMO_WARMUP);
}

static bool run_workload(const work_env *env, unsigned index, work_result *res)
{
    switch (index) {
    case 0: return work_saxpy(env, DEMO_SAXPY_N, res);
    case 1: return work_reduce_sum(env, DEMO_REDUCE_N, res);
    case 2: return work_matmul(env, DEMO_MATMUL_N, res);
    case 3: return work_histogram(env, DEMO_HISTOGRAM_N, res);
    }
    return false;
}
#define DEMO_WORKLOADS 4

static cJSON *result_json(const work_result *res)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "name", res->name);
    cJSON_AddBoolToObject(obj, "ok", res->ok);
    cJSON_AddStringToObject(obj, "check", res->detail);
    if (res->ok) {
        cJSON_AddNumberToObject(obj, "time_ns", res->kiln_ns);
        cJSON_AddNumberToObject(obj, "wall_ns", res->kiln_wall_ns);
        cJSON_AddNumberToObject(obj, "rate", work_rate(res, res->kiln_ns));
        cJSON_AddStringToObject(obj, "rate_unit", work_rate_unit(res));
    }
    return obj;
}

int cmd_demo(int argc, char **argv)
{
    static const struct option options[] = {
        { "device", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "seed", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        CLI_GOVERNANCE_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *selector = NULL;
    bool json = false;
    uint64_t seed = (uint64_t)time(NULL);
    int opt;
    while ((opt = getopt_long(argc, argv, "d:h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': selector = optarg; break;
        case 'j': json = true; break;
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 'h': print_help(); return CLI_EXIT_OK;
        default:
            if (!cli_governance_option(opt, optarg))
                return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kiln demo: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }

    kiln_context *ctx = NULL;
    work_env env = { .seed = seed, .warmup = DEMO_WARMUP, .reps = DEMO_REPS };
    if (!cli_open_device(selector, &ctx, &env.dev))
        return CLI_EXIT_FAILURE;
    kiln_device_info info;
    kiln_status st = kiln_device_get_info(env.dev, &info);
    if (st == KILN_OK)
        st = kiln_queue_create(env.dev, KILN_PRIORITY_NORMAL, &env.q);
    if (st != KILN_OK) {
        cli_report_status("cannot use the device", st);
        kiln_context_destroy(ctx);
        return cli_exit_for(st);
    }

    cJSON *root = cJSON_CreateObject();
    cJSON *device = cJSON_AddObjectToObject(root, "device");
    cJSON_AddStringToObject(device, "backend", kiln_backend_name(info.backend));
    cJSON_AddStringToObject(device, "name", info.name);
    cJSON_AddNumberToObject(root, "seed", (double)seed);
    cJSON *list = cJSON_AddArrayToObject(root, "kernels");
    if (!json) {
        printf("device: %s (%s), seed %" PRIu64 "\n", info.name, kiln_backend_name(info.backend),
               seed);
        printf("%-14s %-5s %12s %15s  %s\n", "kernel", "check", "median ms", "rate",
               "tolerance");
    }
    int rc = CLI_EXIT_OK;
    for (unsigned i = 0; i < DEMO_WORKLOADS; i++) {
        work_result res;
        env.seed = seed + i; /* each workload its own inputs */
        run_workload(&env, i, &res);
        if (!res.ok)
            rc = CLI_EXIT_FAILURE;
        if (json) {
            cJSON_AddItemToArray(list, result_json(&res));
        } else if (res.ok) {
            printf("%-14s %-5s %12.3f %7.2f %-7s  %s\n", res.name, "ok",
                   res.kiln_ns / NS_PER_MS, work_rate(&res, res.kiln_ns), work_rate_unit(&res),
                   res.detail);
        } else {
            printf("%-14s %-5s\n", res.name, "FAIL");
        }
        if (!res.ok)
            fprintf(stderr, "kiln demo: %s: %s\n", res.name, res.detail);
    }
    if (json) {
        char *text = cJSON_Print(root);
        if (text)
            printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(root);
    kiln_queue_destroy(env.q);
    kiln_context_destroy(ctx);
    return rc;
}
