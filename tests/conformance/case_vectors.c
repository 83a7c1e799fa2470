/* vectors.kc: float2/3/4, int2/3/4 and uint2/3/4 in buffers and by value.
 * A 3-vector occupies 16 bytes (the layout of a 4-vector); the host puts a
 * huge sentinel in the unused fourth lane of every 3-vector it sends, so a
 * backend that reads it into a result (dot, length) is caught. Float
 * results allow for fma contraction and the spec's division error. */
#include "conformance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_ITEMS 3000
#define FLOAT3_PAD_SENTINEL 1.0e30f
#define INT3_PAD_SENTINEL 0x7EADBEEF
/* Relative bound for length and normalize: their error is not specified
 * in ulps by OpenCL 1.2, so a loose but meaningful 1e-5. */
#define GEOMETRIC_TOLERANCE 1e-5
#define FLOAT_OUTPUTS 4
#define INT_OUTPUTS 3

/* Lanes per buffer element: 2 for 2-vectors, 4 for 3- and 4-vectors. */
static size_t lane_stride(int width)
{
    return width == 2 ? 2 : 4;
}

static void check_float_item(conf_env *env, int width, const float *a, const float *b,
                             const float *k, const float *out, const float *scalars, size_t i)
{
    double dot = 0.0, dot_scale = 0.0, sumsq = 0.0;
    for (int l = 0; l < width; l++) {
        dot += (double)a[l] * b[l];
        dot_scale += fabs((double)a[l] * b[l]);
        sumsq += (double)a[l] * a[l];
    }
    double len = sqrt(sumsq);
    size_t s = lane_stride(width);
    for (int l = 0; l < width; l++) {
        double r0 = (double)a[l] + (double)b[l] * k[l];
        double r1 = 2.0 * a[l] - b[l] * 0.25 + 1.0;
        double r2 = l == 1 ? b[0] - 1.0 : (double)a[width - 1 - l] / b[l];
        double r3 = a[l] / len;
        const float *o = out + FLOAT_OUTPUTS * s * i;
        CONF_CHECK(env, conf_close(o[l], r0, fabs(a[l]) + fabs(b[l] * k[l]), 2 * CONF_FLOAT_EPS, 0),
                   "float%d item %zu lane %d: a + b * k = %.9g, want %.9g", width, i, l, o[l], r0);
        CONF_CHECK(env, conf_close(o[s + l], r1, fabs(2.0 * a[l]) + fabs(b[l] * 0.25) + 1.0,
                                   3 * CONF_FLOAT_EPS, 0),
                   "float%d item %zu lane %d: 2 * a - b * 0.25 + 1 = %.9g, want %.9g", width, i, l,
                   o[s + l], r1);
        CONF_CHECK(env, conf_close(o[2 * s + l], r2, r2, 6 * CONF_FLOAT_EPS, 0),
                   "float%d item %zu lane %d: make_float%d(reversed) / b with .y set = %.9g, want %.9g",
                   width, i, l, width, o[2 * s + l], r2);
        CONF_CHECK(env, conf_close(o[3 * s + l], r3, 1.0, GEOMETRIC_TOLERANCE, 0),
                   "float%d item %zu lane %d: normalize = %.9g, want %.9g", width, i, l,
                   o[3 * s + l], r3);
    }
    CONF_CHECK(env, conf_close(scalars[2 * i], dot, dot_scale, 2.0 * width * CONF_FLOAT_EPS, 0),
               "float%d item %zu: dot = %.9g, want %.9g", width, i, scalars[2 * i], dot);
    CONF_CHECK(env, conf_close(scalars[2 * i + 1], len, len, GEOMETRIC_TOLERANCE, 0),
               "float%d item %zu: length = %.9g, want %.9g", width, i, scalars[2 * i + 1], len);
}

static void check_float_vectors(conf_env *env, kiln_program *p, int width)
{
    char name[32];
    snprintf(name, sizeof name, "ops_float%d", width);
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    size_t s = lane_stride(width);
    float *a = conf_alloc(n * s * sizeof *a), *b = conf_alloc(n * s * sizeof *b);
    float k[4] = { 0, 0, 0, FLOAT3_PAD_SENTINEL };
    for (int l = 0; l < width; l++)
        k[l] = conf_rand_float(env, -2.0f, 2.0f);
    for (size_t i = 0; i < n * s; i++) {
        int lane = (int)(i % s);
        float magnitude = conf_rand_float(env, 0.5f, 4.0f);
        a[i] = lane < width ? conf_rand_float(env, -10.0f, 10.0f) : FLOAT3_PAD_SENTINEL;
        b[i] = lane < width ? (conf_rand_u32(env) & 1 ? magnitude : -magnitude) : FLOAT3_PAD_SENTINEL;
    }
    size_t out_count = FLOAT_OUTPUTS * n * s;
    kiln_buffer *ba = conf_buffer(env, n * s * sizeof *a, a);
    kiln_buffer *bb = conf_buffer(env, n * s * sizeof *b, b);
    kiln_buffer *bout = conf_buffer_filled(env, out_count * sizeof(float), 0);
    kiln_buffer *bscalars = conf_buffer_filled(env, 2 * n * sizeof(float), 0);
    float *out = conf_alloc(out_count * sizeof *out), *scalars = conf_alloc(2 * n * sizeof *scalars);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 64 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BYTES(k, s * sizeof(float)), KILN_ARG_BUFFER(ba),
                        KILN_ARG_BUFFER(bb), KILN_ARG_BUFFER(bout), KILN_ARG_BUFFER(bscalars) };
    if (conf_run(env, conf_kernel(env, p, name), &r, args, 6) &&
        conf_read(env, bout, out, out_count * sizeof *out) &&
        conf_read(env, bscalars, scalars, 2 * n * sizeof *scalars)) {
        for (size_t i = 0; i < n; i++)
            check_float_item(env, width, a + i * s, b + i * s, k, out, scalars, i);
    }
    free(a);
    free(b);
    free(out);
    free(scalars);
}

/* Expected lanes of the three int outputs, or of the uint ones. */
static void int_reference(int width, bool is_unsigned, const int32_t *a, const int32_t *b,
                          const int32_t *k, int32_t want[INT_OUTPUTS][4])
{
    for (int l = 0; l < width; l++) {
        if (is_unsigned) {
            uint32_t ua = (uint32_t)a[l], ub = (uint32_t)b[l], uk = (uint32_t)k[l];
            want[0][l] = (int32_t)(ua * ub + uk - 7u);
            want[1][l] = (int32_t)(ua / (ub + 1u));
        } else {
            want[0][l] = a[l] + b[l] * k[l] - 3;
            want[1][l] = (2 * a[l]) / b[l];
        }
        want[2][l] = a[width - 1 - l];
    }
    if (is_unsigned)
        want[2][width == 2 ? 1 : 2] = 5;
    else
        want[2][0] = b[1];
}

static void check_int_vectors(conf_env *env, kiln_program *p, int width, bool is_unsigned)
{
    const char *type = is_unsigned ? "uint" : "int";
    char name[32];
    snprintf(name, sizeof name, "ops_%s%d", type, width);
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    size_t s = lane_stride(width);
    int32_t *a = conf_alloc(n * s * sizeof *a), *b = conf_alloc(n * s * sizeof *b);
    int32_t k[4] = { 0, 0, 0, INT3_PAD_SENTINEL };
    for (int l = 0; l < width; l++)
        k[l] = is_unsigned ? (int32_t)conf_rand_u32(env) : (int32_t)conf_rand_range(env, -50, 50);
    for (size_t i = 0; i < n * s; i++) {
        bool pad = (int)(i % s) >= width;
        if (is_unsigned) {
            a[i] = pad ? INT3_PAD_SENTINEL : (int32_t)conf_rand_u32(env);
            b[i] = pad ? INT3_PAD_SENTINEL : (int32_t)(conf_rand_u32(env) >> 1);
        } else {
            a[i] = pad ? INT3_PAD_SENTINEL : (int32_t)conf_rand_range(env, -1000, 1000);
            b[i] = pad ? INT3_PAD_SENTINEL : (int32_t)conf_rand_range(env, 1, 100);
        }
    }
    size_t out_count = INT_OUTPUTS * n * s;
    kiln_buffer *ba = conf_buffer(env, n * s * sizeof *a, a);
    kiln_buffer *bb = conf_buffer(env, n * s * sizeof *b, b);
    kiln_buffer *bout = conf_buffer_filled(env, out_count * sizeof(int32_t), 0);
    int32_t *out = conf_alloc(out_count * sizeof *out);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BYTES(k, s * sizeof(int32_t)),
                        KILN_ARG_BUFFER(ba), KILN_ARG_BUFFER(bb), KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, name), &r, args, 5) &&
        conf_read(env, bout, out, out_count * sizeof *out)) {
        static const char *what[] = { "arithmetic", "division", "make/member" };
        for (size_t i = 0; i < n; i++) {
            int32_t want[INT_OUTPUTS][4];
            int_reference(width, is_unsigned, a + i * s, b + i * s, k, want);
            for (int o = 0; o < INT_OUTPUTS; o++) {
                for (int l = 0; l < width; l++) {
                    int32_t got = out[(INT_OUTPUTS * i + (size_t)o) * s + (size_t)l];
                    CONF_CHECK(env, got == want[o][l], "%s%d item %zu %s lane %d: %d, want %d",
                               type, width, i, what[o], l, got, want[o][l]);
                }
            }
        }
    }
    free(a);
    free(b);
    free(out);
}

conf_result conf_case_vectors(conf_env *env)
{
    kiln_program *p = conf_program(env, "vectors.kc", NULL);
    if (!p)
        return conf_verdict(env);
    for (int width = 2; width <= 4; width++) {
        check_float_vectors(env, p, width);
        check_int_vectors(env, p, width, false);
        check_int_vectors(env, p, width, true);
    }
    return conf_verdict(env);
}
