/* kiln bench: the benchmark of the foundation issue. Every kernel case runs
 * on a kiln device and against a hand-written OpenMP baseline in the same
 * process, checked on fresh random inputs before anything is timed. */
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "baselines.h"
#include "bench.h"
#include "bench_gpu.h"
#include "bench_govern.h"
#include "bench_sched.h"

/* Sizes and goals of the foundation issue. */
#define SAXPY_N (1u << 25)
#define REDUCE_N (1u << 25)
#define STENCIL_EDGE 4096u
#define SGEMM_N 1024u
#define GOAL_STREAM_RATIO 1.1
#define GOAL_SGEMM_RATIO 1.25
/* Runs per kernel case: the median of REPS after WARMUP. SGEMM takes
 * longest, so it gets fewer. */
#define KERNEL_WARMUP 2
#define KERNEL_REPS 21
#define SGEMM_REPS 9
#define MAX_ROWS 16
#define NFTW_OPEN_FDS 16
/* Load average before the run above which the report warns that other work
 * competes for the cores: half a core busy already shows in the figures.
 * (The average after the run includes the run's own threads.) */
#define BUSY_LOAD 0.5

typedef enum bench_suite {
    SUITE_CPU,
    SUITE_GPU,
    SUITE_POCL,
    SUITE_GOVERN,
    SUITE_SCHED
} bench_suite;

typedef struct bench_options {
    bench_suite suite;
    const char *selector; /* NULL: the suite's default device */
    bool json;
    uint64_t seed;
    unsigned reps; /* 0 = the defaults above */
} bench_options;

static void print_help(void)
{
    printf("usage: kiln bench [--suite cpu|gpu|pocl|govern|sched] [--device D] [--json]\n"
           "                  [--reps N] [--seed N]"
           " [--policy FILE] [--audit-log LOG] [--audit-key KEY]\n\n"
           "Runs the benchmark of the foundation issue. Kernel cases (saxpy 2^25,\n"
           "sum 2^25, 5-point stencil 4096^2, tiled SGEMM 1024^2) run on the kiln\n"
           "device and as hand-written OpenMP C (-O3 -march=native) with the same\n"
           "thread count; both are checked against a host reference on fresh random\n"
           "inputs before timing, and a wrong result is a FAIL, never a time. Then\n"
           "compile and cache times, empty-launch latency and the resident memory\n"
           "of a context. Times are medians after warm-up; kernel times come from\n"
           "kiln events. Exits 1 if any case failed (goals missed do not change it).\n\n"
           "  --suite cpu     the CPU suite (default)\n"
           "  --suite gpu     kiln's CUDA backend against the device-to-device copy,\n"
           "                  the same kernels in CUDA C (nvcc cubins), cuBLAS and raw\n"
           "                  launches, then kiln's OpenCL adapter on the same GPU\n"
           "  --suite pocl    kiln's CPU backend against PoCL (the same kernels\n"
           "                  through kiln's OpenCL adapter)\n"
           "  --suite govern  the host time governance adds to a launch (a policy of\n"
           "                  100 rules, the audit log on) against no policy, and the\n"
           "                  durable log's group-commit rate\n"
           "  --suite sched   the priority scheduler of a governed context: high-\n"
           "                  priority launch latency idle and under low-priority\n"
           "                  load, the longest low-priority wait against its bound\n"
           "                  (under its own allow-all policy: --policy does not apply)\n"
           "  -d, --device D  the kiln device (default: cpu; gpu suite: cuda:0;\n"
           "                  sched suite: the best device)\n"
           "  --json          print the results as JSON (not the sched suite: a table)\n"
           "  --reps N        timed runs per kernel case (default %d, SGEMM %d)\n"
           "  --seed N        seed of the random inputs (default: from the clock)\n"
           "  --policy FILE, --audit-log LOG, --audit-key KEY\n"
           "                  run under governance (docs/security.md); the same as\n"
           "                  KILN_POLICY, KILN_AUDIT_LOG, KILN_AUDIT_KEY\n",
           KERNEL_REPS, SGEMM_REPS);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* The 1-minute load average, or -1: other work on the machine makes every
 * figure noisier, so the report states how busy the machine was. */
static double load_average(void)
{
    double load = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1)
            load = -1.0;
        fclose(f);
    }
    return load;
}

static void format_time(char *out, size_t size, double ns)
{
    if (ns >= 1e9)
        snprintf(out, size, "%.3f s", ns / 1e9);
    else if (ns >= 1e6)
        snprintf(out, size, "%.3f ms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(out, size, "%.2f us", ns / 1e3);
    else
        snprintf(out, size, "%.0f ns", ns);
}

static void format_goal(char *out, size_t size, const bench_row *row)
{
    char value[32];
    switch (row->goal_kind) {
    case BENCH_GOAL_RATIO:
        snprintf(out, size, "<= %.2f", row->goal);
        break;
    case BENCH_GOAL_TIME:
        format_time(value, sizeof value, row->goal);
        snprintf(out, size, "< %s", value);
        break;
    case BENCH_GOAL_BYTES:
        snprintf(out, size, "< %.0f MB", row->goal / 1e6);
        break;
    }
}

/* Copies a kernel case's result into its row. */
static void kernel_row(bench_row *row, const char *name, const work_result *res, double goal)
{
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    snprintf(row->detail, sizeof row->detail, "%s", res->detail);
    row->ok = res->ok && res->kiln_ns > 0 && res->baseline_ns > 0;
    row->kiln_ns = res->kiln_ns;
    row->kiln_wall_ns = res->kiln_wall_ns;
    row->baseline_ns = res->baseline_ns;
    row->kiln_rate = work_rate(res, res->kiln_ns);
    row->baseline_rate = work_rate(res, res->baseline_ns);
    row->rate_unit = work_rate_unit(res);
    row->goal_kind = BENCH_GOAL_RATIO;
    row->goal = goal;
    bench_judge(row);
}

/* The kernel cases in table order. */
static const struct {
    const char *name;
    double goal;
} kernel_case_list[] = {
    { "saxpy 2^25", GOAL_STREAM_RATIO },
    { "sum 2^25", GOAL_STREAM_RATIO },
    { "stencil5 4096^2", GOAL_STREAM_RATIO },
    { "sgemm tiled 1024^2", GOAL_SGEMM_RATIO },
};
#define KERNEL_CASES (sizeof kernel_case_list / sizeof kernel_case_list[0])

static void run_kernel_case(unsigned index, work_env *env, const bench_options *opts,
                            work_result *res)
{
    env->reps = opts->reps ? opts->reps : KERNEL_REPS;
    env->seed = opts->seed + index; /* every case its own inputs */
    switch (index) {
    case 0: work_saxpy(env, SAXPY_N, res); break;
    case 1: work_reduce_sum(env, REDUCE_N, res); break;
    case 2: work_stencil(env, STENCIL_EDGE, STENCIL_EDGE, res); break;
    case 3:
        env->reps = opts->reps ? opts->reps : SGEMM_REPS;
        work_matmul(env, SGEMM_N, res);
        break;
    }
}

/* Fills KERNEL_CASES rows; a device that cannot be opened fails them all. */
static unsigned kernel_cases(const bench_options *opts, bench_row *rows, int *threads)
{
    kiln_context *ctx = NULL;
    work_env env = { .warmup = KERNEL_WARMUP, .baseline = true };
    kiln_device_info info;
    kiln_status st = KILN_ERR_INVALID_DEVICE;
    if (cli_open_device(opts->selector, &ctx, &env.dev)) {
        st = kiln_device_get_info(env.dev, &info);
        if (st == KILN_OK)
            st = kiln_queue_create(env.dev, KILN_PRIORITY_NORMAL, &env.q);
        if (st != KILN_OK)
            cli_report_status("cannot use the device", st);
    }
    if (st == KILN_OK) {
        /* The CPU backend runs one thread per compute unit; OpenMP gets as many. */
        *threads = (int)info.compute_units;
        baseline_set_threads(*threads);
    }
    for (unsigned i = 0; i < KERNEL_CASES; i++) {
        work_result res;
        if (st == KILN_OK) {
            run_kernel_case(i, &env, opts, &res);
        } else {
            memset(&res, 0, sizeof res);
            snprintf(res.detail, sizeof res.detail, "device '%s' unavailable", opts->selector);
        }
        kernel_row(&rows[i], kernel_case_list[i].name, &res, kernel_case_list[i].goal);
    }
    kiln_queue_destroy(env.q);
    kiln_context_destroy(ctx);
    return KERNEL_CASES;
}

static void print_table(const bench_row *rows, unsigned count)
{
    printf("%-28s %12s %12s %7s %16s %16s %10s %s\n", "case", "kiln", "baseline", "ratio",
           "kiln rate", "baseline rate", "goal", "met");
    for (unsigned i = 0; i < count; i++) {
        const bench_row *r = &rows[i];
        char kiln[32] = "FAIL", base[32] = "-", ratio[16] = "-", goal[48];
        char kiln_rate[32] = "-", base_rate[32] = "-";
        if (r->ok && r->goal_kind == BENCH_GOAL_BYTES)
            snprintf(kiln, sizeof kiln, "%.2f MB", r->bytes / 1e6);
        else if (r->ok)
            format_time(kiln, sizeof kiln, r->kiln_ns);
        if (r->ok && r->baseline_ns > 0) {
            format_time(base, sizeof base, r->baseline_ns);
            snprintf(ratio, sizeof ratio, "%.2f", r->kiln_ns / r->baseline_ns);
            snprintf(kiln_rate, sizeof kiln_rate, "%.2f %s", r->kiln_rate, r->rate_unit);
            snprintf(base_rate, sizeof base_rate, "%.2f %s", r->baseline_rate, r->rate_unit);
        }
        format_goal(goal, sizeof goal, r);
        printf("%-28s %12s %12s %7s %16s %16s %10s %s\n", r->name, kiln, base, ratio, kiln_rate,
               base_rate, goal, !r->ok ? "FAIL" : r->met ? "yes" : "NO");
    }
    printf("\nchecks:\n");
    for (unsigned i = 0; i < count; i++)
        printf("  %-28s %s\n", rows[i].name, rows[i].detail);
}

static void print_json(const bench_row *rows, unsigned count, const bench_options *opts,
                       int threads, const double load[2])
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "load_average_before", load[0]);
    cJSON_AddNumberToObject(root, "load_average_after", load[1]);
    cJSON_AddStringToObject(root, "suite", "cpu");
    cJSON_AddStringToObject(root, "device", opts->selector);
    cJSON_AddNumberToObject(root, "kiln_threads", threads);
    cJSON_AddNumberToObject(root, "openmp_threads", baseline_threads());
    cJSON_AddNumberToObject(root, "seed", (double)opts->seed);
    cJSON *list = cJSON_AddArrayToObject(root, "cases");
    for (unsigned i = 0; i < count; i++) {
        const bench_row *r = &rows[i];
        cJSON *obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "name", r->name);
        cJSON_AddBoolToObject(obj, "ok", r->ok);
        cJSON_AddStringToObject(obj, "check", r->detail);
        if (r->goal_kind == BENCH_GOAL_BYTES) {
            cJSON_AddNumberToObject(obj, "bytes", r->bytes);
        } else {
            cJSON_AddNumberToObject(obj, "kiln_ns", r->kiln_ns);
        }
        if (r->baseline_ns > 0) {
            cJSON_AddNumberToObject(obj, "kiln_wall_ns", r->kiln_wall_ns);
            cJSON_AddNumberToObject(obj, "baseline_ns", r->baseline_ns);
            cJSON_AddNumberToObject(obj, "ratio", r->kiln_ns / r->baseline_ns);
            cJSON_AddStringToObject(obj, "rate_unit", r->rate_unit);
            cJSON_AddNumberToObject(obj, "kiln_rate", r->kiln_rate);
            cJSON_AddNumberToObject(obj, "baseline_rate", r->baseline_rate);
        }
        static const char *const kinds[] = { "ratio_max", "time_ns_below", "bytes_below" };
        cJSON *goal = cJSON_AddObjectToObject(obj, "goal");
        cJSON_AddStringToObject(goal, "kind", kinds[r->goal_kind]);
        cJSON_AddNumberToObject(goal, "value", r->goal);
        cJSON_AddBoolToObject(obj, "met", r->met);
        cJSON_AddItemToArray(list, obj);
    }
    char *text = cJSON_Print(root);
    if (text)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(root);
}

static bool parse_options(int argc, char **argv, bench_options *opts, int *rc)
{
    static const struct option options[] = {
        { "device", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "suite", required_argument, NULL, 'S' },
        { "reps", required_argument, NULL, 'r' },
        { "seed", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        CLI_GOVERNANCE_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int opt;
    *rc = CLI_EXIT_USAGE;
    while ((opt = getopt_long(argc, argv, "d:h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': opts->selector = optarg; break;
        case 'j': opts->json = true; break;
        case 'r': opts->reps = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': opts->seed = strtoull(optarg, NULL, 0); break;
        case 'S':
            if (strcmp(optarg, "cpu") == 0) {
                opts->suite = SUITE_CPU;
            } else if (strcmp(optarg, "gpu") == 0) {
                opts->suite = SUITE_GPU;
            } else if (strcmp(optarg, "pocl") == 0) {
                opts->suite = SUITE_POCL;
            } else if (strcmp(optarg, "govern") == 0) {
                opts->suite = SUITE_GOVERN;
            } else if (strcmp(optarg, "sched") == 0) {
                opts->suite = SUITE_SCHED;
            } else {
                fprintf(stderr, "kiln bench: unknown suite '%s' (cpu, gpu, pocl, govern, sched)\n",
                        optarg);
                return false;
            }
            break;
        case 'h':
            print_help();
            *rc = CLI_EXIT_OK;
            return false;
        default:
            if (!cli_governance_option(opt, optarg))
                return false;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kiln bench: unexpected argument '%s'\n", argv[optind]);
        return false;
    }
    return true;
}

int cmd_bench(int argc, char **argv)
{
    bench_options opts = { .suite = SUITE_CPU, .seed = (uint64_t)time(NULL) };
    int rc;
    if (!parse_options(argc, argv, &opts, &rc))
        return rc;

    const char *tmp = getenv("TMPDIR");
    char cache_root[512];
    snprintf(cache_root, sizeof cache_root, "%s/kiln-bench-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(cache_root)) {
        perror("kiln bench: cannot create a temporary cache directory");
        return CLI_EXIT_FAILURE;
    }
    if (opts.suite == SUITE_GOVERN) {
        bench_govern_options vopts = { .selector = opts.selector ? opts.selector : "cpu",
                                       .cache_root = cache_root };
        rc = bench_govern_suite(&vopts);
        nftw(cache_root, remove_entry, NFTW_OPEN_FDS, FTW_DEPTH | FTW_PHYS);
        return rc;
    }
    if (opts.suite == SUITE_SCHED) {
        /* It brings its own allow-all policy, and its baseline (a0) must run
         * without one: the governance options and variables do not apply. */
        unsetenv("KILN_POLICY");
        unsetenv("KILN_AUDIT_LOG");
        unsetenv("KILN_AUDIT_KEY");
        bench_sched_options sopts = { .selector = opts.selector, .cache_root = cache_root };
        rc = bench_sched_suite(&sopts);
        nftw(cache_root, remove_entry, NFTW_OPEN_FDS, FTW_DEPTH | FTW_PHYS);
        return rc;
    }
    if (opts.suite != SUITE_CPU) {
        bench_gpu_options gopts = { .selector = opts.selector, .json = opts.json,
                                    .seed = opts.seed, .reps = opts.reps,
                                    .cache_root = cache_root };
        rc = opts.suite == SUITE_GPU ? bench_gpu_suite(&gopts) : bench_pocl_suite(&gopts);
        nftw(cache_root, remove_entry, NFTW_OPEN_FDS, FTW_DEPTH | FTW_PHYS);
        return rc;
    }
    if (!opts.selector)
        opts.selector = "cpu";
    bench_overhead_env oenv = { .selector = opts.selector, .cache_root = cache_root,
                                .seed = opts.seed };
    bench_row rows[MAX_ROWS];
    unsigned count = 0;
    int threads = 0;
    double load[2] = { load_average(), 0.0 };
    /* Memory first: nothing else may have warmed up the library yet. */
    bench_context_memory(&oenv, &rows[count++]);
    count += kernel_cases(&opts, &rows[count], &threads);
    bench_compile(&oenv, &rows[count]);
    count += 3;
    bench_launch(&oenv, &rows[count]);
    count += 4;
    nftw(cache_root, remove_entry, NFTW_OPEN_FDS, FTW_DEPTH | FTW_PHYS);
    load[1] = load_average();

    if (opts.json) {
        print_json(rows, count, &opts, threads, load);
    } else {
        printf("kiln bench --suite cpu: device %s, threads: kiln %d, OpenMP %d, seed %" PRIu64
               ", load average %.2f before, %.2f after\n\n",
               opts.selector, threads, baseline_threads(), opts.seed, load[0], load[1]);
        if (load[0] > BUSY_LOAD)
            printf("warning: other work was running on this machine; with fewer idle cores\n"
                   "than threads every figure below is noisy and the ratios unreliable\n\n");
        print_table(rows, count);
    }
    rc = CLI_EXIT_OK;
    for (unsigned i = 0; i < count; i++)
        if (!rows[i].ok)
            rc = CLI_EXIT_FAILURE;
    return rc;
}
