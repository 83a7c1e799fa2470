/* minmax.kc: min, max and clamp on int, uint, long, ulong, float and
 * double, checked exactly (each result is one of the inputs). */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 5000

typedef enum value_kind { SIGNED, UNSIGNED, REAL } value_kind;

typedef struct minmax_type {
    const char *name;
    size_t size;
    value_kind kind;
} minmax_type;

static const minmax_type minmax_types[] = {
    { "int", 4, SIGNED },   { "uint", 4, UNSIGNED }, { "long", 8, SIGNED },
    { "ulong", 8, UNSIGNED }, { "float", 4, REAL },  { "double", 8, REAL },
};

/* A value held as the widest of its kind. */
typedef union wide_value {
    int64_t i;
    uint64_t u;
    double d;
} wide_value;

static wide_value random_wide(conf_env *env, const minmax_type *t)
{
    wide_value v;
    uint64_t bits = conf_rand_u64(env);
    if (t->kind == REAL) {
        v.d = conf_rand_double(env, -1e6, 1e6);
        if (t->size == 4)
            v.d = (float)v.d;
    } else if (t->kind == SIGNED) {
        v.i = t->size == 8 ? (int64_t)bits : (int64_t)(int32_t)(uint32_t)bits;
    } else {
        v.u = t->size == 8 ? bits : (uint32_t)bits;
    }
    return v;
}

static int compare_wide(const minmax_type *t, wide_value a, wide_value b)
{
    if (t->kind == REAL)
        return a.d < b.d ? -1 : a.d > b.d;
    if (t->kind == SIGNED)
        return a.i < b.i ? -1 : a.i > b.i;
    return a.u < b.u ? -1 : a.u > b.u;
}

static void store_wide(const minmax_type *t, wide_value v, uint8_t *dst)
{
    if (t->kind == REAL && t->size == 4) {
        float f = (float)v.d;
        memcpy(dst, &f, 4);
    } else if (t->size == 4) {
        uint32_t narrow = (uint32_t)v.u;
        memcpy(dst, &narrow, 4);
    } else {
        memcpy(dst, &v, 8);
    }
}

static wide_value load_wide(const minmax_type *t, const uint8_t *src)
{
    wide_value v;
    if (t->kind == REAL && t->size == 4) {
        float f;
        memcpy(&f, src, 4);
        v.d = f;
    } else if (t->size == 4) {
        uint32_t narrow;
        memcpy(&narrow, src, 4);
        if (t->kind == SIGNED)
            v.i = (int32_t)narrow;
        else
            v.u = narrow;
    } else {
        memcpy(&v, src, 8);
    }
    return v;
}

static void format_wide(const minmax_type *t, wide_value v, char *text, size_t size)
{
    if (t->kind == REAL)
        snprintf(text, size, "%.17g", v.d);
    else if (t->kind == SIGNED)
        snprintf(text, size, "%lld", (long long)v.i);
    else
        snprintf(text, size, "%llu", (unsigned long long)v.u);
}

static void check_type(conf_env *env, const minmax_type *t)
{
    char defines[32];
    snprintf(defines, sizeof defines, "-DT=%s", t->name);
    kiln_kernel *k = conf_kernel_from(env, "minmax.kc", defines, "min_max_clamp");
    if (!k)
        return;
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    uint8_t *in[4];
    for (int j = 0; j < 4; j++)
        in[j] = conf_alloc(n * t->size);
    for (size_t i = 0; i < n; i++) {
        wide_value a = random_wide(env, t), b = random_wide(env, t);
        wide_value lo = random_wide(env, t), hi = random_wide(env, t);
        if (compare_wide(t, lo, hi) > 0) {
            wide_value swap = lo;
            lo = hi;
            hi = swap;
        }
        store_wide(t, a, in[0] + i * t->size);
        store_wide(t, b, in[1] + i * t->size);
        store_wide(t, lo, in[2] + i * t->size);
        store_wide(t, hi, in[3] + i * t->size);
    }
    kiln_buffer *bufs[4];
    for (int j = 0; j < 4; j++)
        bufs[j] = conf_buffer(env, n * t->size, in[j]);
    kiln_buffer *bout = conf_buffer_filled(env, 3 * n * t->size, 0);
    uint8_t *out = conf_alloc(3 * n * t->size);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 32 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bufs[0]), KILN_ARG_BUFFER(bufs[1]),
                        KILN_ARG_BUFFER(bufs[2]), KILN_ARG_BUFFER(bufs[3]),
                        KILN_ARG_BUFFER(bout) };
    if (conf_run(env, k, &r, args, 6) && conf_read(env, bout, out, 3 * n * t->size)) {
        static const char *names[] = { "min", "max", "clamp" };
        for (size_t i = 0; i < n; i++) {
            wide_value a = load_wide(t, in[0] + i * t->size), b = load_wide(t, in[1] + i * t->size);
            wide_value lo = load_wide(t, in[2] + i * t->size), hi = load_wide(t, in[3] + i * t->size);
            wide_value clamped = compare_wide(t, a, lo) < 0 ? lo : compare_wide(t, a, hi) > 0 ? hi : a;
            wide_value want[3] = { compare_wide(t, a, b) <= 0 ? a : b,
                                   compare_wide(t, a, b) >= 0 ? a : b, clamped };
            for (int f = 0; f < 3; f++) {
                wide_value got = load_wide(t, out + (3 * i + (size_t)f) * t->size);
                char got_text[32], want_text[32];
                format_wide(t, got, got_text, sizeof got_text);
                format_wide(t, want[f], want_text, sizeof want_text);
                CONF_CHECK(env, compare_wide(t, got, want[f]) == 0, "%s %s item %zu: %s, want %s",
                           t->name, names[f], i, got_text, want_text);
            }
        }
    }
    for (int j = 0; j < 4; j++)
        free(in[j]);
    free(out);
}

conf_result conf_case_minmax(conf_env *env)
{
    for (size_t i = 0; i < sizeof minmax_types / sizeof minmax_types[0]; i++) {
        const minmax_type *t = &minmax_types[i];
        if (t->kind == REAL && t->size == 8 && !conf_has_cap(env, KILN_CAP_DOUBLE)) {
            conf_skip_part(env, "double min/max/clamp: device lacks KILN_CAP_DOUBLE");
            continue;
        }
        check_type(env, t);
    }
    return conf_verdict(env);
}
