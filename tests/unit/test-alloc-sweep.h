/* The allocation-failure sweep of test-core-alloc-failures*.c: a run of an
 * API sequence with the k-th counted allocation failing, for k = 1, 2, ...
 * until a run makes fewer than k, each checked to have either succeeded
 * with correct results or stopped cleanly (an out-of-memory status with a
 * detail) and to have freed every block it allocated. Included by test
 * files only, after <cmocka.h> and test-alloc-interpose.h (active). */
#ifndef KILN_TEST_ALLOC_SWEEP_H
#define KILN_TEST_ALLOC_SWEEP_H

#include <stdio.h>

#include <kiln/kiln.h>

/* No sequence makes this many allocations; reaching it is a test bug. */
#define ALLOC_SWEEP_MAX_K 200000

/* What one run did: its first failure (or KILN_OK) and whether its
 * results were right. */
typedef struct alloc_outcome {
    kiln_status status;
    const char *step;
    char detail[256];
    int results_ok;
} alloc_outcome;

/* Records the first failure of a run with its detail; 1 when st failed. */
static inline int alloc_step_failed(alloc_outcome *o, const char *step, kiln_status st)
{
    if (st == KILN_OK)
        return 0;
    o->status = st;
    o->step = step;
    snprintf(o->detail, sizeof o->detail, "%s", kiln_last_error());
    return 1;
}

typedef struct alloc_sweep_plan {
    /* One whole run; it fills in o (zeroed before). */
    void (*run)(void *user, alloc_outcome *o);
    void *user;
    /* Unarmed before each run (may be NULL). */
    void (*prepare)(void *user);
    /* Whether a status other than the out-of-memory ones is a clean stop
     * (may be NULL: none is). */
    int (*also_clean)(const alloc_outcome *o);
} alloc_sweep_plan;

typedef struct alloc_sweep_result {
    long swept; /* allocations tried */
    int out_of_host, out_of_device, failures;
} alloc_sweep_result;

static inline alloc_sweep_result alloc_sweep(const alloc_sweep_plan *p)
{
    alloc_sweep_result r = { 0 };
    alloc_outcome o;
    long k;
    for (k = 1; k < ALLOC_SWEEP_MAX_K; k++) {
        if (p->prepare)
            p->prepare(p->user);
        memset(&o, 0, sizeof o);
        atomic_store(&alloc_injected, 0);
        alloc_track(1);
        alloc_fail_arm(k);
        p->run(p->user, &o);
        alloc_fail_disarm();
        size_t leaked = alloc_track_live();
        int overflow = alloc_track_overflowed();
        alloc_track(0);
        int hit = atomic_load(&alloc_injected);
        int out_of_memory = o.status == KILN_ERR_OUT_OF_HOST_MEMORY ||
                            o.status == KILN_ERR_OUT_OF_MEMORY;
        if (o.status == KILN_OK) {
            if (!o.results_ok) {
                print_error("k=%ld: succeeded with wrong results\n", k);
                r.failures++;
            }
        } else if ((!out_of_memory && !(p->also_clean && p->also_clean(&o))) ||
                   o.detail[0] == '\0') {
            print_error("k=%ld: %s failed with %s, detail '%s'\n", k, o.step,
                        kiln_status_name(o.status), o.detail);
            r.failures++;
        } else {
            r.out_of_host += o.status == KILN_ERR_OUT_OF_HOST_MEMORY;
            r.out_of_device += o.status == KILN_ERR_OUT_OF_MEMORY;
        }
        if (leaked || overflow) {
            print_error("k=%ld (%s): %zu blocks allocated during the run were not freed\n", k,
                        o.status == KILN_OK ? "success" : o.step, leaked);
            r.failures++;
        }
        if (!hit)
            break; /* the run made fewer than k allocations: every one was tried */
    }
    r.swept = k - 1;
    print_message("%ld allocations swept: %d out of host memory, %d out of device memory, "
                  "the rest recovered or stopped cleanly\n",
                  r.swept, r.out_of_host, r.out_of_device);
    assert_true(k < ALLOC_SWEEP_MAX_K);
    assert_true(k > 1);
    assert_int_equal(r.failures, 0);
    return r;
}

#endif
