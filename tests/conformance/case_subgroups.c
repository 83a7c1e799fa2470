/* subgroups.kc: subgroup_size, subgroup_local_id, subgroup_shuffle,
 * subgroup_reduce_add (int and float) and subgroup_broadcast, checked
 * against a reference built from the subgroup size the kernel reports and
 * from the membership it reports (lane 0's local id), so any subgroup size
 * and any mapping of items onto subgroups is accepted if consistent. */
#include "conformance.h"

#include <math.h>
#include <stdlib.h>

#define RECORD 6 /* RECORD of subgroups.kc */
enum { R_SIZE, R_LANE, R_LEADER, R_FROM_NEXT, R_SUM, R_LAST };
#define MAX_GROUPS 200
#define VALUE_MAGNITUDE (1 << 20)
#define PREFERRED_GROUP 128

typedef struct subgroup_run {
    size_t local;
    size_t n;
    const int32_t *vals;
    const float *fvals;
    const int32_t *out;
    const float *fsum;
} subgroup_run;

/* Checks the items of one subgroup, given by local index per lane. */
static void check_members(conf_env *env, const subgroup_run *run, size_t base,
                          const long *member, uint32_t size)
{
    int32_t sum = 0;
    double fsum = 0.0, magnitude = 0.0;
    for (uint32_t lane = 0; lane < size; lane++) {
        size_t i = base + (size_t)member[lane];
        sum += run->vals[i];
        fsum += run->fvals[i];
        magnitude += fabs(run->fvals[i]);
    }
    for (uint32_t lane = 0; lane < size; lane++) {
        size_t i = base + (size_t)member[lane];
        const int32_t *rec = run->out + RECORD * i;
        int32_t next = run->vals[base + (size_t)member[(lane + 1) % size]];
        int32_t last = run->vals[base + (size_t)member[size - 1]];
        CONF_CHECK(env, rec[R_FROM_NEXT] == next, "item %zu lane %u: subgroup_shuffle = %d, want %d",
                   i, lane, rec[R_FROM_NEXT], next);
        CONF_CHECK(env, rec[R_SUM] == sum, "item %zu: subgroup_reduce_add(int) = %d, want %d", i,
                   rec[R_SUM], sum);
        CONF_CHECK(env, rec[R_LAST] == last, "item %zu: subgroup_broadcast(v, size-1) = %d, want %d",
                   i, rec[R_LAST], last);
        CONF_CHECK(env, conf_close(run->fsum[i], fsum, magnitude, size * CONF_FLOAT_EPS, 0.0),
                   "item %zu: subgroup_reduce_add(float) = %.9g, want %.9g", i, run->fsum[i], fsum);
    }
}

static void check_group(conf_env *env, const subgroup_run *run, size_t group, uint32_t size)
{
    size_t base = group * run->local;
    /* member[leader * size + lane] = local index of that item, or -1. */
    long *member = conf_alloc(run->local * size * sizeof *member);
    for (size_t j = 0; j < run->local * size; j++)
        member[j] = -1;
    for (size_t j = 0; j < run->local; j++) {
        const int32_t *rec = run->out + RECORD * (base + j);
        uint32_t lane = (uint32_t)rec[R_LANE];
        uint32_t leader = (uint32_t)rec[R_LEADER];
        if (!CONF_CHECK(env, lane < size && leader < run->local && member[leader * size + lane] < 0,
                        "group %zu item %zu: lane %u of subgroup led by %u is impossible or taken",
                        group, j, lane, leader))
            goto done;
        member[leader * size + lane] = (long)j;
    }
    for (size_t leader = 0; leader < run->local; leader++) {
        long *lanes = member + leader * size;
        bool used = false;
        for (uint32_t lane = 0; lane < size; lane++)
            used |= lanes[lane] >= 0;
        if (!used)
            continue;
        bool full = true;
        for (uint32_t lane = 0; lane < size; lane++)
            full &= lanes[lane] >= 0;
        if (!CONF_CHECK(env, full && (size_t)lanes[0] == leader,
                        "group %zu: subgroup led by local id %zu is not %u items with lane 0 at %zu",
                        group, leader, size, leader))
            continue;
        check_members(env, run, base, lanes, size);
    }
done:
    free(member);
}

conf_result conf_case_subgroups(conf_env *env)
{
    kiln_kernel *k = conf_kernel_from(env, "subgroups.kc", NULL, "subgroup_ops");
    if (!k)
        return conf_verdict(env);
    size_t local = env->info.max_work_group_size < PREFERRED_GROUP ? env->info.max_work_group_size
                                                                    : PREFERRED_GROUP;
    size_t n = local * (1 + conf_rand_below(env, MAX_GROUPS));
    int32_t *vals = conf_alloc(n * sizeof *vals);
    float *fvals = conf_alloc(n * sizeof *fvals);
    int32_t *out = conf_alloc(RECORD * n * sizeof *out);
    float *fsum = conf_alloc(n * sizeof *fsum);
    for (size_t i = 0; i < n; i++) {
        vals[i] = (int32_t)conf_rand_range(env, -VALUE_MAGNITUDE, VALUE_MAGNITUDE);
        fvals[i] = conf_rand_float(env, -1.0f, 1.0f);
    }
    kiln_buffer *bvals = conf_buffer(env, n * sizeof *vals, vals);
    kiln_buffer *bfvals = conf_buffer(env, n * sizeof *fvals, fvals);
    kiln_buffer *bout = conf_buffer_filled(env, RECORD * n * sizeof *out, 0xFF);
    kiln_buffer *bfsum = conf_buffer_filled(env, n * sizeof *fsum, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { local } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bvals), KILN_ARG_BUFFER(bfvals),
                        KILN_ARG_BUFFER(bout), KILN_ARG_BUFFER(bfsum) };
    if (conf_run(env, k, &r, args, 5) && conf_read(env, bout, out, RECORD * n * sizeof *out) &&
        conf_read(env, bfsum, fsum, n * sizeof *fsum)) {
        uint32_t size = (uint32_t)out[R_SIZE];
        conf_note(env, "subgroup size reported by the kernel: %u (device info: %u); %zu items, "
                  "local %zu", size, env->info.subgroup_size, n, local);
        bool same = true;
        for (size_t i = 0; i < n; i++)
            same &= (uint32_t)out[RECORD * i + R_SIZE] == size;
        if (CONF_CHECK(env, same, "items report different subgroup sizes") &&
            CONF_CHECK(env, size >= 1 && local % size == 0,
                       "subgroup size %u does not divide the work-group size %zu", size, local)) {
            subgroup_run run = { local, n, vals, fvals, out, fsum };
            for (size_t g = 0; g < n / local; g++)
                check_group(env, &run, g, size);
        }
    }
    free(vals);
    free(fvals);
    free(out);
    free(fsum);
    return conf_verdict(env);
}
