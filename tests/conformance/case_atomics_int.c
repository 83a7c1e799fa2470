/* atomics_int.kc: every integer atomic on int, uint, long and ulong, on
 * global and shared memory, with the returned old values checked wherever
 * their set is deterministic. Host values are kept as uint64_t reduced to
 * the type's width, so one reference serves all four types. */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOLD_SLOTS 7
#define SHARED_SLOTS 9 /* SHARED_SLOTS of atomics_int.kc */
/* Slots 0..6 of shared_ops hold folds (add, sub, min, max, and, or, xor);
 * 7 and 8 the xchg and cas slots, checked through their old values. */
#define SHARED_FOLD_SLOTS 7
/* Signed sums stay far from overflow (undefined in C): n items of at most
 * this magnitude. */
#define SMALL_INT_MAGNITUDE (1 << 16)
#define SMALL_LONG_MAGNITUDE (1LL << 40)
#define MAX_ITEMS 20000
#define MAX_CAS_ITEMS 5000

typedef struct int_type {
    const char *name;
    size_t size;
    bool is_signed;
} int_type;

static const int_type int_types[] = {
    { "int", 4, true }, { "uint", 4, false }, { "long", 8, true }, { "ulong", 8, false },
};

static uint64_t wrap(const int_type *t, uint64_t v)
{
    return t->size == 8 ? v : (v & 0xFFFFFFFFu);
}

static int64_t as_signed(const int_type *t, uint64_t v)
{
    return t->size == 8 ? (int64_t)v : (int64_t)(int32_t)(uint32_t)v;
}

/* Negative when a < b in the type's order. */
static int compare(const int_type *t, uint64_t a, uint64_t b)
{
    if (t->is_signed) {
        int64_t sa = as_signed(t, a), sb = as_signed(t, b);
        return sa < sb ? -1 : sa > sb;
    }
    return a < b ? -1 : a > b;
}

static uint64_t type_min(const int_type *t)
{
    return t->is_signed ? wrap(t, t->size == 8 ? (uint64_t)INT64_MIN : (uint64_t)INT32_MIN) : 0;
}

static uint64_t type_max(const int_type *t)
{
    if (t->is_signed)
        return t->size == 8 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
    return wrap(t, UINT64_MAX);
}

/* A random value: small for signed types (their sums must not overflow),
 * any bit pattern for unsigned ones. */
static uint64_t random_value(conf_env *env, const int_type *t)
{
    if (!t->is_signed)
        return wrap(t, conf_rand_u64(env));
    int64_t m = t->size == 8 ? SMALL_LONG_MAGNITUDE : SMALL_INT_MAGNITUDE;
    return wrap(t, (uint64_t)conf_rand_range(env, -m, m));
}

static kiln_arg value_arg(const int_type *t, uint64_t v)
{
    if (t->size == 8)
        return t->is_signed ? KILN_ARG_I64((int64_t)v) : KILN_ARG_U64(v);
    return t->is_signed ? KILN_ARG_I32((int32_t)(uint32_t)v) : KILN_ARG_U32((uint32_t)v);
}

static void *pack(const int_type *t, const uint64_t *v, size_t n)
{
    uint8_t *bytes = conf_alloc(n * t->size);
    for (size_t i = 0; i < n; i++) {
        if (t->size == 8) {
            memcpy(bytes + i * 8, &v[i], 8);
        } else {
            uint32_t narrow = (uint32_t)v[i];
            memcpy(bytes + i * 4, &narrow, 4);
        }
    }
    return bytes;
}

static kiln_buffer *values_buffer(conf_env *env, const int_type *t, const uint64_t *v, size_t n)
{
    void *bytes = pack(t, v, n);
    kiln_buffer *buf = conf_buffer(env, n * t->size, bytes);
    free(bytes);
    return buf;
}

/* Reads n values back; NULL after a reported failure. */
static uint64_t *read_values(conf_env *env, const int_type *t, kiln_buffer *buf, size_t n)
{
    uint8_t *bytes = conf_alloc(n * t->size);
    uint64_t *v = conf_alloc(n * sizeof *v);
    bool ok = conf_read(env, buf, bytes, n * t->size);
    for (size_t i = 0; ok && i < n; i++) {
        if (t->size == 8) {
            memcpy(&v[i], bytes + i * 8, 8);
        } else {
            uint32_t narrow;
            memcpy(&narrow, bytes + i * 4, 4);
            v[i] = narrow;
        }
    }
    free(bytes);
    if (!ok) {
        free(v);
        return NULL;
    }
    return v;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Checks that the sorted v[0..n) are first, first+step, ... */
static void check_progression(conf_env *env, const char *what, uint64_t *v, size_t n,
                              const int_type *t, uint64_t first, uint64_t step)
{
    qsort(v, n, sizeof *v, compare_u64);
    for (size_t j = 0; j < n; j++) {
        uint64_t want = wrap(t, first + j * step);
        if (!CONF_CHECK(env, v[j] == want, "%s %s: sorted old value %zu is %llu, want %llu",
                        t->name, what, j, (unsigned long long)v[j], (unsigned long long)want))
            return;
    }
}

static bool launch_1d(conf_env *env, kiln_kernel *k, size_t n, size_t local, const kiln_arg *args,
                      uint32_t nargs)
{
    kiln_range r = { .dims = 1, .global = { n }, .local = { local } };
    return conf_run(env, k, &r, args, nargs);
}

static void check_add_sub(conf_env *env, kiln_program *p, const int_type *t, bool add)
{
    size_t n = 1000 + conf_rand_below(env, MAX_ITEMS);
    /* On 64-bit types the step reaches the upper half of the word. */
    uint64_t step = t->size == 8 ? 0x100000001ULL : 3;
    uint64_t start = add ? 0 : wrap(t, n * step);
    kiln_buffer *counter = values_buffer(env, t, &start, 1);
    kiln_buffer *old = conf_buffer_filled(env, n * t->size, 0);
    kiln_arg args[] = { KILN_ARG_U32(n), value_arg(t, step), KILN_ARG_BUFFER(counter),
                        KILN_ARG_BUFFER(old) };
    const char *name = add ? "add_count" : "sub_count";
    if (!launch_1d(env, conf_kernel(env, p, name), n, add ? 0 : 64, args, 4))
        return;
    uint64_t *final = read_values(env, t, counter, 1);
    uint64_t *olds = read_values(env, t, old, n);
    if (final && olds) {
        uint64_t want = add ? wrap(t, n * step) : 0;
        CONF_CHECK(env, final[0] == want, "%s %s: final %llu, want %llu", t->name, name,
                   (unsigned long long)final[0], (unsigned long long)want);
        check_progression(env, name, olds, n, t, add ? 0 : step, step);
    }
    free(final);
    free(olds);
}

/* Each old value of atomic_min/max is the initial value or one of vals,
 * and never beyond the final value. */
static void check_minmax_olds(conf_env *env, const int_type *t, const uint64_t *olds, size_t n,
                              const uint64_t *sorted_vals, uint64_t init, uint64_t final,
                              int offset, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t o = olds[2 * i + (size_t)offset];
        bool known = o == init || bsearch(&o, sorted_vals, n, sizeof o, compare_u64) != NULL;
        int order = compare(t, o, final);
        bool beyond = offset == 0 ? order < 0 : order > 0;
        if (!CONF_CHECK(env, known && !beyond, "%s %s item %zu: old value %llu impossible",
                        t->name, what, i, (unsigned long long)o))
            return;
    }
}

static void check_fold(conf_env *env, kiln_program *p, const int_type *t)
{
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    uint64_t *vals = conf_alloc(n * sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = random_value(env, t);
    uint64_t init[FOLD_SLOTS] = { type_max(t), type_min(t), wrap(t, UINT64_MAX), 0,
                                  wrap(t, conf_rand_u64(env)), random_value(env, t),
                                  random_value(env, t) };
    uint64_t want[FOLD_SLOTS];
    memcpy(want, init, sizeof want);
    for (size_t i = 0; i < n; i++) {
        if (compare(t, vals[i], want[0]) < 0)
            want[0] = vals[i];
        if (compare(t, vals[i], want[1]) > 0)
            want[1] = vals[i];
        want[2] &= vals[i];
        want[3] |= vals[i];
        want[4] ^= vals[i];
        want[5] = wrap(t, want[5] + vals[i]);
        want[6] = wrap(t, want[6] - vals[i]);
    }
    kiln_buffer *bvals = values_buffer(env, t, vals, n);
    kiln_buffer *acc = values_buffer(env, t, init, FOLD_SLOTS);
    kiln_buffer *old = conf_buffer_filled(env, 2 * n * t->size, 0);
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bvals), KILN_ARG_BUFFER(acc),
                        KILN_ARG_BUFFER(old) };
    uint64_t *got = NULL, *olds = NULL;
    if (launch_1d(env, conf_kernel(env, p, "fold"), n, 128, args, 4)) {
        got = read_values(env, t, acc, FOLD_SLOTS);
        olds = read_values(env, t, old, 2 * n);
    }
    if (got && olds) {
        static const char *ops[] = { "min", "max", "and", "or", "xor", "add", "sub" };
        for (int s = 0; s < FOLD_SLOTS; s++)
            CONF_CHECK(env, got[s] == want[s], "%s global atomic_%s of %zu values: %llu, want %llu",
                       t->name, ops[s], n, (unsigned long long)got[s],
                       (unsigned long long)want[s]);
        qsort(vals, n, sizeof *vals, compare_u64);
        check_minmax_olds(env, t, olds, n, vals, init[0], want[0], 0, "atomic_min");
        check_minmax_olds(env, t, olds, n, vals, init[1], want[1], 1, "atomic_max");
    }
    free(vals);
    free(got);
    free(olds);
}

static void check_xchg_and_cas(conf_env *env, kiln_program *p, const int_type *t)
{
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    uint64_t zero = 0;
    kiln_buffer *slot = values_buffer(env, t, &zero, 1);
    kiln_buffer *old = conf_buffer_filled(env, (n + 1) * t->size, 0);
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(slot), KILN_ARG_BUFFER(old) };
    if (launch_1d(env, conf_kernel(env, p, "xchg_chain"), n, 64, args, 3)) {
        uint64_t *final = read_values(env, t, slot, 1);
        uint64_t *olds = read_values(env, t, old, n + 1);
        if (final && olds) {
            olds[n] = final[0];
            check_progression(env, "atomic_xchg olds and final", olds, n + 1, t, 0, 1);
        }
        free(final);
        free(olds);
    }

    kiln_buffer *cas_slot = values_buffer(env, t, &zero, 1);
    kiln_arg cas_args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(cas_slot), KILN_ARG_BUFFER(old) };
    if (launch_1d(env, conf_kernel(env, p, "cas_once"), n, 0, cas_args, 3)) {
        uint64_t *final = read_values(env, t, cas_slot, 1);
        uint64_t *olds = read_values(env, t, old, n);
        if (final && olds) {
            size_t winners = 0;
            for (size_t i = 0; i < n; i++) {
                if (olds[i] == 0) {
                    winners++;
                    CONF_CHECK(env, final[0] == i + 1, "%s atomic_cas: item %zu won but slot is %llu",
                               t->name, i, (unsigned long long)final[0]);
                } else {
                    CONF_CHECK(env, olds[i] == final[0], "%s atomic_cas item %zu saw %llu, not the winner %llu",
                               t->name, i, (unsigned long long)olds[i], (unsigned long long)final[0]);
                }
            }
            CONF_CHECK(env, winners == 1, "%s atomic_cas: %zu items won, want 1", t->name, winners);
        }
        free(final);
        free(olds);
    }
}

static void check_cas_increment(conf_env *env, kiln_program *p, const int_type *t)
{
    size_t n = 1 + conf_rand_below(env, MAX_CAS_ITEMS);
    uint64_t zero = 0;
    kiln_buffer *counter = values_buffer(env, t, &zero, 1);
    kiln_buffer *ticket = conf_buffer_filled(env, n * t->size, 0);
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(counter), KILN_ARG_BUFFER(ticket) };
    if (!launch_1d(env, conf_kernel(env, p, "cas_increment"), n, 32, args, 3))
        return;
    uint64_t *final = read_values(env, t, counter, 1);
    uint64_t *tickets = read_values(env, t, ticket, n);
    if (final && tickets) {
        CONF_CHECK(env, final[0] == n, "%s atomic_cas increment: final %llu, want %zu", t->name,
                   (unsigned long long)final[0], n);
        check_progression(env, "atomic_cas increment tickets", tickets, n, t, 0, 1);
    }
    free(final);
    free(tickets);
}

static void check_shared_group(conf_env *env, const int_type *t, const uint64_t *vals,
                               const uint64_t *init, const uint64_t *got, uint64_t *olds,
                               size_t first, size_t count, size_t group)
{
    uint64_t want[SHARED_SLOTS];
    memcpy(want, init, sizeof want);
    for (size_t i = first; i < first + count; i++) {
        want[1] = wrap(t, want[1] - vals[i]);
        if (compare(t, vals[i], want[2]) < 0)
            want[2] = vals[i];
        if (compare(t, vals[i], want[3]) > 0)
            want[3] = vals[i];
        want[4] &= vals[i];
        want[5] |= vals[i];
        want[6] ^= vals[i];
    }
    want[0] = count;
    static const char *ops[] = { "add", "sub", "min", "max", "and", "or", "xor" };
    for (int s = 0; s < SHARED_FOLD_SLOTS; s++)
        CONF_CHECK(env, got[s] == want[s], "%s shared atomic_%s group %zu: %llu, want %llu",
                   t->name, ops[s], group, (unsigned long long)got[s],
                   (unsigned long long)want[s]);

    uint64_t *column = conf_alloc((count + 1) * sizeof *column);
    for (size_t j = 0; j < count; j++)
        column[j] = olds[3 * (first + j)];
    check_progression(env, "shared atomic_add olds", column, count, t, 0, 1);
    for (size_t j = 0; j < count; j++)
        column[j] = olds[3 * (first + j) + 1];
    column[count] = got[7];
    check_progression(env, "shared atomic_xchg olds and final", column, count + 1, t, 0, 1);
    size_t winners = 0;
    for (size_t j = 0; j < count; j++) {
        uint64_t o = olds[3 * (first + j) + 2];
        winners += o == 0 && got[8] == j + 1;
        CONF_CHECK(env, o == 0 || o == got[8], "%s shared atomic_cas group %zu item %zu saw %llu",
                   t->name, group, j, (unsigned long long)o);
    }
    CONF_CHECK(env, winners == 1, "%s shared atomic_cas group %zu: %zu winners", t->name, group,
               winners);
    free(column);
}

static void check_shared_ops(conf_env *env, kiln_program *p, const int_type *t, size_t local)
{
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    size_t groups = conf_div_up(n, local);
    uint64_t *vals = conf_alloc(n * sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = random_value(env, t);
    uint64_t init[SHARED_SLOTS] = { 0, random_value(env, t), type_max(t), type_min(t),
                                    wrap(t, UINT64_MAX), 0, wrap(t, conf_rand_u64(env)), 0, 0 };
    kiln_buffer *bvals = values_buffer(env, t, vals, n);
    kiln_buffer *binit = values_buffer(env, t, init, SHARED_SLOTS);
    kiln_buffer *bacc = conf_buffer_filled(env, groups * SHARED_SLOTS * t->size, 0);
    kiln_buffer *bold = conf_buffer_filled(env, 3 * n * t->size, 0);
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bvals), KILN_ARG_BUFFER(binit),
                        KILN_ARG_BUFFER(bacc), KILN_ARG_BUFFER(bold) };
    uint64_t *got = NULL, *olds = NULL;
    if (launch_1d(env, conf_kernel(env, p, "shared_ops"), n, local, args, 5)) {
        got = read_values(env, t, bacc, groups * SHARED_SLOTS);
        olds = read_values(env, t, bold, 3 * n);
    }
    for (size_t g = 0; got && olds && g < groups; g++) {
        size_t first = g * local;
        size_t count = n - first < local ? n - first : local;
        check_shared_group(env, t, vals, init, got + g * SHARED_SLOTS, olds, first, count, g);
    }
    free(vals);
    free(got);
    free(olds);
}

conf_result conf_case_atomics_int(conf_env *env)
{
    size_t local = env->info.max_work_group_size < 128 ? env->info.max_work_group_size : 128;
    for (size_t i = 0; i < sizeof int_types / sizeof int_types[0]; i++) {
        const int_type *t = &int_types[i];
        if (t->size == 8 && !conf_has_cap(env, KILN_CAP_INT64_ATOMICS)) {
            conf_skip_part(env, "%s atomics: device lacks KILN_CAP_INT64_ATOMICS", t->name);
            continue;
        }
        char defines[64];
        snprintf(defines, sizeof defines, "-DT=%s", t->name);
        kiln_program *p = conf_program(env, "atomics_int.kc", defines);
        if (!p)
            continue;
        unsigned before = env->checks;
        check_add_sub(env, p, t, true);
        check_add_sub(env, p, t, false);
        check_fold(env, p, t);
        check_xchg_and_cas(env, p, t);
        check_cas_increment(env, p, t);
        check_shared_ops(env, p, t, local);
        conf_note(env, "%s: %u values checked", t->name, env->checks - before);
    }
    return conf_verdict(env);
}
