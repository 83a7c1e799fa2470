/* What memory hygiene costs: a governed context zeroes every new buffer
 * (docs/security.md, "Memory hygiene"). For each size it times, in one run,
 * kiln_buffer_create + kiln_buffer_release without a policy (no zeroing) and
 * with one (zeroing, plus the policy decision and the quota), the plain
 * allocation followed by one fill of the new buffer, and a kiln_buffer_fill
 * of a buffer already written (the work zeroing adds).
 *
 *   zeroing_cost DEVICE POLICY_FILE [REPS]
 *
 * DEVICE is a selector ("cpu", "cuda:0"); POLICY_FILE must allow
 * device.use, buffer.alloc and buffer.copy on it. Prints the median of REPS
 * (default 31) of each, in microseconds. Built by hand (not a test):
 *   cc -O2 tests/perf/zeroing_cost.c -Iinclude -Lbuild/src -lkiln -o zeroing_cost */
#include <kiln/kiln.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_REPS 31
#define MAX_REPS 1001
#define NS_PER_S 1e9
#define NS_PER_US 1e3

static const size_t sizes[] = { 4096, 65536, 1u << 20, 16u << 20, 256u << 20 };

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * NS_PER_S + (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return v[n / 2];
}

static int fail(const char *what, kiln_status st)
{
    fprintf(stderr, "zeroing_cost: %s: %s (%s)\n", what, kiln_status_name(st), kiln_last_error());
    return -1;
}

static kiln_status open_device(const char *selector, const char *policy, kiln_context **ctx,
                               kiln_device **dev)
{
    kiln_context_options o = { .size = sizeof o, .policy = policy };
    kiln_status st = kiln_context_create(ctx, &o);
    if (st == KILN_OK)
        st = kiln_device_find(*ctx, selector, dev);
    return st;
}

/* Median ns of create + release of bytes on dev; < 0 on failure. */
static double time_alloc(kiln_device *dev, size_t bytes, int reps)
{
    double t[MAX_REPS];
    for (int r = 0; r < reps; r++) {
        kiln_buffer *b = NULL;
        double start = now_ns();
        kiln_status st = kiln_buffer_create(dev, bytes, 0, &b);
        kiln_buffer_release(b);
        t[r] = now_ns() - start;
        if (st != KILN_OK)
            return fail("kiln_buffer_create", st);
    }
    return median(t, reps);
}

/* Median ns of create + one fill of the new buffer + release without a
 * policy: what a program pays to write a fresh buffer once (on the CPU,
 * the first touch of freshly mapped pages costs a page fault each, whoever
 * touches them: zeroing moves that cost into the allocation). */
static double time_alloc_fill(kiln_device *dev, size_t bytes, int reps)
{
    kiln_queue *q = NULL;
    kiln_status st = kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q);
    double t[MAX_REPS];
    for (int r = 0; st == KILN_OK && r < reps; r++) {
        kiln_buffer *b = NULL;
        double start = now_ns();
        st = kiln_buffer_create(dev, bytes, 0, &b);
        if (st == KILN_OK)
            st = kiln_buffer_fill(q, b, 0, 0, bytes);
        if (st == KILN_OK)
            st = kiln_queue_finish(q);
        kiln_buffer_release(b);
        t[r] = now_ns() - start;
    }
    kiln_queue_destroy(q);
    return st == KILN_OK ? median(t, reps) : fail("kiln_buffer_fill", st);
}

/* Median ns of one fill of the whole buffer, waited for. */
static double time_fill(kiln_device *dev, size_t bytes, int reps)
{
    kiln_queue *q = NULL;
    kiln_buffer *b = NULL;
    kiln_status st = kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q);
    if (st == KILN_OK)
        st = kiln_buffer_create(dev, bytes, 0, &b);
    double t[MAX_REPS];
    for (int r = 0; st == KILN_OK && r < reps; r++) {
        double start = now_ns();
        st = kiln_buffer_fill(q, b, 0, 0, bytes);
        if (st == KILN_OK)
            st = kiln_queue_finish(q);
        t[r] = now_ns() - start;
    }
    kiln_buffer_release(b);
    kiln_queue_destroy(q);
    return st == KILN_OK ? median(t, reps) : fail("kiln_buffer_fill", st);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: zeroing_cost DEVICE POLICY_FILE [REPS]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : DEFAULT_REPS;
    if (reps < 1 || reps > MAX_REPS)
        reps = DEFAULT_REPS;
    kiln_context *plain = NULL, *governed = NULL;
    kiln_device *plain_dev = NULL, *governed_dev = NULL;
    kiln_status st = open_device(argv[1], NULL, &plain, &plain_dev);
    if (st != KILN_OK)
        return fail("context without a policy", st), 1;
    if ((st = open_device(argv[1], argv[2], &governed, &governed_dev)) != KILN_OK)
        return fail("governed context", st), 1;
    kiln_device_info info;
    kiln_device_get_info(plain_dev, &info);
    printf("device %s (%s), median of %d\n", info.name, argv[1], reps);
    printf("%12s %15s %16s %17s %14s %10s\n", "bytes", "alloc plain us", "alloc zeroed us",
           "plain + 1 fill us", "fill alone us", "fill GB/s");
    int rc = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (sizes[i] > info.memory_bytes / 4)
            continue;
        double plain_ns = time_alloc(plain_dev, sizes[i], reps);
        double zeroed_ns = time_alloc(governed_dev, sizes[i], reps);
        double first_ns = time_alloc_fill(plain_dev, sizes[i], reps);
        double fill_ns = time_fill(plain_dev, sizes[i], reps);
        if (plain_ns < 0 || zeroed_ns < 0 || first_ns < 0 || fill_ns < 0) {
            rc = 1;
            break;
        }
        printf("%12zu %15.1f %16.1f %17.1f %14.1f %10.1f\n", sizes[i], plain_ns / NS_PER_US,
               zeroed_ns / NS_PER_US, first_ns / NS_PER_US, fill_ns / NS_PER_US,
               (double)sizes[i] / fill_ns);
    }
    kiln_context_destroy(governed);
    kiln_context_destroy(plain);
    return rc;
}
