/* atomics_float.kc: atomic_add and atomic_xchg on float (and double where
 * the device has doubles), global and shared. Adding 1.0 and exchanging
 * small integers are exact, so their old values are checked exactly; the
 * sum of random values is checked with a tolerance for the unknown order
 * of the additions: n * eps * sum |v|. */
#include "conformance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 20000

typedef struct float_type {
    const char *name;
    size_t size;
    double eps; /* unit roundoff */
} float_type;

static void *pack(const float_type *t, const double *v, size_t n)
{
    uint8_t *bytes = conf_alloc(n * t->size);
    for (size_t i = 0; i < n; i++) {
        if (t->size == sizeof(double)) {
            memcpy(bytes + i * t->size, &v[i], sizeof(double));
        } else {
            float f = (float)v[i];
            memcpy(bytes + i * t->size, &f, sizeof f);
        }
    }
    return bytes;
}

static double *read_values(conf_env *env, const float_type *t, kiln_buffer *buf, size_t n)
{
    uint8_t *bytes = conf_alloc(n * t->size);
    double *v = conf_alloc(n * sizeof *v);
    bool ok = conf_read(env, buf, bytes, n * t->size);
    for (size_t i = 0; ok && i < n; i++) {
        if (t->size == sizeof(double)) {
            memcpy(&v[i], bytes + i * t->size, sizeof(double));
        } else {
            float f;
            memcpy(&f, bytes + i * t->size, sizeof f);
            v[i] = f;
        }
    }
    free(bytes);
    if (!ok) {
        free(v);
        return NULL;
    }
    return v;
}

static kiln_buffer *values_buffer(conf_env *env, const float_type *t, const double *v, size_t n)
{
    void *bytes = pack(t, v, n);
    kiln_buffer *buf = conf_buffer(env, n * t->size, bytes);
    free(bytes);
    return buf;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The sorted v[0..n) must be first, first+1, ... exactly. */
static void check_counting(conf_env *env, const float_type *t, const char *what, double *v,
                           size_t n, double first)
{
    qsort(v, n, sizeof *v, compare_double);
    for (size_t j = 0; j < n; j++) {
        if (!CONF_CHECK(env, v[j] == first + (double)j, "%s %s: sorted value %zu is %.17g, want %zu",
                        t->name, what, j, v[j], (size_t)first + j))
            return;
    }
}

static void check_global(conf_env *env, kiln_program *p, const float_type *t)
{
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 64 } };
    double zero = 0.0;

    kiln_buffer *counter = values_buffer(env, t, &zero, 1);
    kiln_buffer *old = conf_buffer_filled(env, (n + 1) * t->size, 0);
    kiln_arg add_args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(counter), KILN_ARG_BUFFER(old) };
    if (conf_run(env, conf_kernel(env, p, "add_ones"), &r, add_args, 3)) {
        double *final = read_values(env, t, counter, 1);
        double *olds = read_values(env, t, old, n);
        if (final && olds) {
            CONF_CHECK(env, final[0] == (double)n, "%s atomic_add of 1 by %zu items: %.17g",
                       t->name, n, final[0]);
            check_counting(env, t, "atomic_add olds", olds, n, 0.0);
        }
        free(final);
        free(olds);
    }

    double *vals = conf_alloc(n * sizeof *vals);
    double want = 0.0, magnitude = 0.0;
    for (size_t i = 0; i < n; i++) {
        vals[i] = t->size == sizeof(float) ? (double)conf_rand_float(env, -100.0f, 100.0f)
                                           : conf_rand_double(env, -100.0, 100.0);
        want += vals[i];
        magnitude += fabs(vals[i]);
    }
    kiln_buffer *bvals = values_buffer(env, t, vals, n);
    kiln_buffer *sum = values_buffer(env, t, &zero, 1);
    kiln_arg sum_args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bvals), KILN_ARG_BUFFER(sum) };
    if (conf_run(env, conf_kernel(env, p, "add_values"), &r, sum_args, 3)) {
        double *got = read_values(env, t, sum, 1);
        if (got)
            CONF_CHECK(env, conf_close(got[0], want, magnitude, (double)n * t->eps, 0.0),
                       "%s atomic_add of %zu random values: %.17g, want %.17g", t->name, n,
                       got[0], want);
        free(got);
    }
    free(vals);

    kiln_buffer *slot = values_buffer(env, t, &zero, 1);
    kiln_arg xchg_args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(slot), KILN_ARG_BUFFER(old) };
    if (conf_run(env, conf_kernel(env, p, "xchg_chain"), &r, xchg_args, 3)) {
        double *final = read_values(env, t, slot, 1);
        double *olds = read_values(env, t, old, n + 1);
        if (final && olds) {
            olds[n] = final[0];
            check_counting(env, t, "atomic_xchg olds and final", olds, n + 1, 0.0);
        }
        free(final);
        free(olds);
    }
}

static void check_shared(conf_env *env, kiln_program *p, const float_type *t, size_t local)
{
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    size_t groups = conf_div_up(n, local);
    double *vals = conf_alloc(n * sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = (double)conf_rand_float(env, -10.0f, 10.0f);
    kiln_buffer *bvals = values_buffer(env, t, vals, n);
    kiln_buffer *bout = conf_buffer_filled(env, 3 * groups * t->size, 0);
    kiln_buffer *bold = conf_buffer_filled(env, 2 * n * t->size, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { local } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bvals), KILN_ARG_BUFFER(bout),
                        KILN_ARG_BUFFER(bold) };
    double *out = NULL, *olds = NULL;
    if (conf_run(env, conf_kernel(env, p, "shared_ops"), &r, args, 4)) {
        out = read_values(env, t, bout, 3 * groups);
        olds = read_values(env, t, bold, 2 * n);
    }
    double *column = conf_alloc((local + 1) * sizeof *column);
    for (size_t g = 0; out && olds && g < groups; g++) {
        size_t first = g * local;
        size_t count = n - first < local ? n - first : local;
        double want = 0.0, magnitude = 0.0;
        for (size_t i = first; i < first + count; i++) {
            want += vals[i];
            magnitude += fabs(vals[i]);
        }
        CONF_CHECK(env, out[3 * g] == (double)count, "%s shared atomic_add count group %zu: %.17g, want %zu",
                   t->name, g, out[3 * g], count);
        CONF_CHECK(env, conf_close(out[3 * g + 1], want, magnitude, (double)count * t->eps, 0.0),
                   "%s shared atomic_add sum group %zu: %.17g, want %.17g", t->name, g,
                   out[3 * g + 1], want);
        for (size_t j = 0; j < count; j++)
            column[j] = olds[2 * (first + j)];
        check_counting(env, t, "shared atomic_add olds", column, count, 0.0);
        for (size_t j = 0; j < count; j++)
            column[j] = olds[2 * (first + j) + 1];
        column[count] = out[3 * g + 2];
        check_counting(env, t, "shared atomic_xchg olds and final", column, count + 1, 0.0);
    }
    free(column);
    free(vals);
    free(out);
    free(olds);
}

conf_result conf_case_atomics_float(conf_env *env)
{
    static const float_type types[] = { { "float", sizeof(float), CONF_FLOAT_EPS },
                                        { "double", sizeof(double), CONF_DOUBLE_EPS } };
    if (!conf_has_cap(env, KILN_CAP_FLOAT_ATOMICS)) {
        conf_skip_part(env, "float atomics: device lacks KILN_CAP_FLOAT_ATOMICS");
        printf("SKIP: nothing to check on this device\n");
        return CONF_SKIP;
    }
    size_t local = env->info.max_work_group_size < 128 ? env->info.max_work_group_size : 128;
    for (size_t i = 0; i < 2; i++) {
        const float_type *t = &types[i];
        if (t->size == sizeof(double) && !conf_has_cap(env, KILN_CAP_DOUBLE)) {
            conf_skip_part(env, "double atomics: device lacks KILN_CAP_DOUBLE");
            continue;
        }
        char defines[32];
        snprintf(defines, sizeof defines, "-DT=%s", t->name);
        kiln_program *p = conf_program(env, "atomics_float.kc", defines);
        if (!p)
            continue;
        check_global(env, p, t);
        check_shared(env, p, t, local);
    }
    return conf_verdict(env);
}
