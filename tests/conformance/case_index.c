/* index.kc: every index query in 1-, 2- and 3-D ranges, with global sizes
 * that are and are not multiples of the local size, many work-groups, and
 * local = 0 (kiln chooses). */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>

#define QUERIES 18
enum { Q_GLOBAL_ID = 0, Q_LOCAL_ID = 3, Q_GROUP_ID = 6, Q_LOCAL_SIZE = 9, Q_NUM_GROUPS = 12,
       Q_GLOBAL_SIZE = 15 };
/* Written over the output first: a record still holding it was never written. */
#define UNWRITTEN 0xFFFFFFFFu
/* Random ranges added to the fixed ones on every run. */
#define RANDOM_RANGES 6
#define RANDOM_EXTENT_1D 20000
#define RANDOM_EXTENT_3D 24

typedef struct index_config {
    uint32_t dims;
    size_t global[3];
    size_t local[3]; /* all zero: kiln chooses */
} index_config;

static const index_config fixed_configs[] = {
    { 1, { 1, 1, 1 }, { 1, 0, 0 } },
    { 1, { 1000, 1, 1 }, { 64, 0, 0 } },        /* not a multiple */
    { 1, { 100003, 1, 1 }, { 128, 0, 0 } },     /* 782 groups */
    { 1, { 4096, 1, 1 }, { 0, 0, 0 } },         /* kiln chooses */
    { 1, { 777, 1, 1 }, { 0, 0, 0 } },
    { 2, { 37, 29, 1 }, { 8, 4, 0 } },
    { 2, { 256, 64, 1 }, { 16, 16, 0 } },
    { 2, { 100, 7, 1 }, { 0, 0, 0 } },
    { 3, { 9, 10, 11 }, { 4, 2, 2 } },
    { 3, { 33, 5, 17 }, { 0, 0, 0 } },
    { 3, { 16, 16, 8 }, { 4, 4, 4 } },
};

static size_t chosen_local(const uint32_t *first, uint32_t d)
{
    return first[Q_LOCAL_SIZE + d];
}

/* The expected value of query q in dimension d for the item at coord. */
static size_t expected_query(const index_config *c, const size_t *local, uint32_t d, size_t coord,
                             int q)
{
    if (d >= c->dims) {
        size_t unused[] = { 0, 0, 0, 1, 1, 1 };
        return unused[q];
    }
    size_t groups = conf_div_up(c->global[d], local[d]);
    size_t values[] = { coord, coord % local[d], coord / local[d], local[d], groups,
                        groups * local[d] };
    return values[q];
}

static void check_record(conf_env *env, const index_config *c, const size_t *local,
                         const uint32_t *rec, const size_t *coord)
{
    static const char *names[] = { "global_id", "local_id", "group_id", "local_size",
                                   "num_groups", "global_size" };
    for (int q = 0; q < 6; q++) {
        for (uint32_t d = 0; d < 3; d++) {
            size_t want = expected_query(c, local, d, coord[d], q);
            uint32_t got = rec[q * 3 + (int)d];
            CONF_CHECK(env, got == want, "%uD %zux%zux%zu item (%zu,%zu,%zu): %s(%u) = %u, want %zu",
                       c->dims, c->global[0], c->global[1], c->global[2], coord[0], coord[1],
                       coord[2], names[q], d, got, want);
        }
    }
}

static void run_config(conf_env *env, kiln_kernel *k, const index_config *c)
{
    size_t items = c->global[0] * c->global[1] * c->global[2];
    size_t bytes = items * QUERIES * sizeof(uint32_t);
    kiln_buffer *out = conf_buffer_filled(env, bytes, 0xFF);
    kiln_range range = { .dims = c->dims };
    for (uint32_t d = 0; d < c->dims; d++) {
        range.global[d] = c->global[d];
        range.local[d] = c->local[d];
    }
    kiln_arg args[] = { KILN_ARG_U32(c->global[0]), KILN_ARG_U32(c->global[1]),
                        KILN_ARG_U32(c->global[2]), KILN_ARG_BUFFER(out) };
    if (!conf_run(env, k, &range, args, 4))
        return;
    uint32_t *rec = conf_alloc(bytes);
    if (!conf_read(env, out, rec, bytes)) {
        free(rec);
        return;
    }
    /* With local = 0 the first record tells what kiln chose; every other
     * record must agree with it. */
    size_t local[3] = { 1, 1, 1 };
    size_t group_items = 1;
    for (uint32_t d = 0; d < c->dims; d++) {
        local[d] = c->local[d] ? c->local[d] : chosen_local(rec, d);
        group_items *= local[d];
    }
    if (!CONF_CHECK(env, rec[0] != UNWRITTEN && group_items >= 1 &&
                             group_items <= env->info.max_work_group_size,
                    "%uD range: local size %zux%zux%zu is not a valid work-group", c->dims,
                    local[0], local[1], local[2])) {
        free(rec);
        return;
    }
    if (c->local[0] == 0)
        conf_note(env, "%uD %zux%zux%zu, local 0: kiln chose %zux%zux%zu", c->dims, c->global[0],
                  c->global[1], c->global[2], local[0], local[1], local[2]);
    size_t coord[3];
    for (coord[2] = 0; coord[2] < c->global[2]; coord[2]++) {
        for (coord[1] = 0; coord[1] < c->global[1]; coord[1]++) {
            for (coord[0] = 0; coord[0] < c->global[0]; coord[0]++) {
                size_t item = (coord[2] * c->global[1] + coord[1]) * c->global[0] + coord[0];
                check_record(env, c, local, rec + item * QUERIES, coord);
            }
        }
    }
    free(rec);
}

static index_config random_config(conf_env *env)
{
    static const size_t local_choices[] = { 0, 1, 3, 32, 64 };
    index_config c = { .dims = 1 + conf_rand_below(env, 3), .global = { 1, 1, 1 } };
    size_t extent = c.dims == 1 ? RANDOM_EXTENT_1D : RANDOM_EXTENT_3D;
    size_t local = local_choices[conf_rand_below(env, 5)];
    for (uint32_t d = 0; d < c.dims; d++) {
        c.global[d] = 1 + conf_rand_below(env, (uint32_t)extent);
        /* At most 4x4x4 in 2-D and 3-D: every device takes 64 items. */
        c.local[d] = local > 4 && c.dims > 1 ? 4 : local;
    }
    if (local == 0) {
        for (uint32_t d = 0; d < 3; d++)
            c.local[d] = 0;
    }
    return c;
}

conf_result conf_case_index(conf_env *env)
{
    kiln_kernel *k = conf_kernel_from(env, "index.kc", NULL, "index_queries");
    if (!k)
        return conf_verdict(env);
    for (size_t i = 0; i < sizeof fixed_configs / sizeof fixed_configs[0]; i++)
        run_config(env, k, &fixed_configs[i]);
    for (int i = 0; i < RANDOM_RANGES; i++) {
        index_config c = random_config(env);
        conf_note(env, "random %uD range %zux%zux%zu local %zux%zux%zu", c.dims, c.global[0],
                  c.global[1], c.global[2], c.local[0], c.local[1], c.local[2]);
        run_config(env, k, &c);
    }
    return conf_verdict(env);
}
