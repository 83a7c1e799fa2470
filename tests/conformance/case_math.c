/* math.kc: every math function in float and double, checked in ulps
 * against a long double reference computed from the same inputs.
 *
 * Tolerances are the OpenCL 1.2 full-profile bounds (section 7.4), raised
 * to Metal's precise-mode bound where that is larger (exp, exp2, log, log2:
 * 4 ulp; tan: 6 ulp), so one table holds for every backend; CUDA's
 * documented bounds are within it. An error is measured against the
 * unrounded reference, so a correctly rounded result is within 0.5 ulp and
 * a bound of N ulps allows N + 0.5. Inputs are drawn so that no input or
 * result is subnormal (devices may flush those to zero). */
#include "conformance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNARY_COUNT 13 /* UNARY_COUNT of math.kc */
#define BINARY_COUNT 3
#define MAX_ITEMS 4000
#define ROUNDING_ULPS 0.5
/* The long double reference carries its own error (a long double ulp is
 * 2^-11 of a double ulp); this slack keeps it from failing a correctly
 * rounded result. */
#define REFERENCE_SLACK_ULPS 0.01

typedef struct real_type {
    const char *name;
    size_t size;
    int mantissa_bits;  /* including the implicit bit */
    int min_exponent;   /* frexp exponent of the smallest normal */
} real_type;

static const real_type real_types[] = {
    { "float", sizeof(float), 24, -125 },
    { "double", sizeof(double), 53, -1021 },
};

typedef enum domain_kind { UNIFORM, LOG_UNIFORM } domain_kind;

typedef struct math_function {
    const char *name;
    double ulps;               /* allowed error before rounding */
    domain_kind kind;
    double lo[2], hi[2];       /* input domain for float, double */
} math_function;

/* In the order of unary_math's outputs. */
static const math_function unary_functions[UNARY_COUNT] = {
    { "sqrt", 3, LOG_UNIFORM, { 1e-6, 1e-6 }, { 1e6, 1e6 } },
    { "rsqrt", 2, LOG_UNIFORM, { 1e-6, 1e-6 }, { 1e6, 1e6 } },
    { "exp", 4, UNIFORM, { -80, -700 }, { 80, 700 } },
    { "exp2", 4, UNIFORM, { -120, -1000 }, { 120, 1000 } },
    { "log", 4, LOG_UNIFORM, { 1e-30, 1e-300 }, { 1e30, 1e300 } },
    { "log2", 4, LOG_UNIFORM, { 1e-30, 1e-300 }, { 1e30, 1e300 } },
    { "sin", 4, UNIFORM, { -100, -100 }, { 100, 100 } },
    { "cos", 4, UNIFORM, { -100, -100 }, { 100, 100 } },
    { "tan", 6, UNIFORM, { -100, -100 }, { 100, 100 } },
    { "tanh", 5, UNIFORM, { -10, -10 }, { 10, 10 } },
    { "fabs", 0, UNIFORM, { -1e6, -1e6 }, { 1e6, 1e6 } },
    { "floor", 0, UNIFORM, { -1e4, -1e4 }, { 1e4, 1e4 } },
    { "ceil", 0, UNIFORM, { -1e4, -1e4 }, { 1e4, 1e4 } },
};

static const math_function binary_functions[BINARY_COUNT] = {
    { "pow", 16, LOG_UNIFORM, { 0.1, 0.1 }, { 20, 20 } },
    { "fmin", 0, UNIFORM, { -1e3, -1e3 }, { 1e3, 1e3 } },
    { "fmax", 0, UNIFORM, { -1e3, -1e3 }, { 1e3, 1e3 } },
};
/* pow's exponent: bases in [0.1, 20] with exponents in [-8, 8] stay normal. */
#define POW_EXPONENT_LIMIT 8.0

static long double unary_reference(int f, long double x)
{
    switch (f) {
    case 0: return sqrtl(x);
    case 1: return 1.0L / sqrtl(x);
    case 2: return expl(x);
    case 3: return exp2l(x);
    case 4: return logl(x);
    case 5: return log2l(x);
    case 6: return sinl(x);
    case 7: return cosl(x);
    case 8: return tanl(x);
    case 9: return tanhl(x);
    case 10: return fabsl(x);
    case 11: return floorl(x);
    default: return ceill(x);
    }
}

static long double binary_reference(int f, long double x, long double y)
{
    return f == 0 ? powl(x, y) : f == 1 ? fminl(x, y) : fmaxl(x, y);
}

/* |got - want| in units in the last place of the type at want. */
static double ulp_error(const real_type *t, double got, long double want)
{
    if (isnan(got) || isnan((double)want))
        return isnan(got) && isnan((double)want) ? 0.0 : INFINITY;
    if ((long double)got == want)
        return 0.0;
    int e;
    frexpl(want, &e);
    if (e < t->min_exponent)
        e = t->min_exponent;
    long double ulp = ldexpl(1.0L, e - t->mantissa_bits);
    return (double)(fabsl((long double)got - want) / ulp);
}

static double draw(conf_env *env, const real_type *t, const math_function *f)
{
    int which = t->size == sizeof(double);
    double v = f->kind == LOG_UNIFORM ? conf_rand_log_uniform(env, f->lo[which], f->hi[which])
                                      : conf_rand_double(env, f->lo[which], f->hi[which]);
    return t->size == sizeof(float) ? (double)(float)v : v;
}

static kiln_buffer *reals_buffer(conf_env *env, const real_type *t, const double *v, size_t n)
{
    uint8_t *bytes = conf_alloc(n * t->size);
    for (size_t i = 0; i < n; i++) {
        float f = (float)v[i];
        memcpy(bytes + i * t->size, t->size == sizeof f ? (const void *)&f : (const void *)&v[i],
               t->size);
    }
    kiln_buffer *buf = conf_buffer(env, n * t->size, bytes);
    free(bytes);
    return buf;
}

static double *read_reals(conf_env *env, const real_type *t, kiln_buffer *buf, size_t n)
{
    uint8_t *bytes = conf_alloc(n * t->size);
    double *v = conf_alloc(n * sizeof *v);
    bool ok = conf_read(env, buf, bytes, n * t->size);
    for (size_t i = 0; ok && i < n; i++) {
        float f;
        if (t->size == sizeof f) {
            memcpy(&f, bytes + i * t->size, sizeof f);
            v[i] = f;
        } else {
            memcpy(&v[i], bytes + i * t->size, sizeof v[i]);
        }
    }
    free(bytes);
    if (!ok) {
        free(v);
        return NULL;
    }
    return v;
}

/* Compares results[i * stride + f] for one function; notes the worst error. */
static void check_function(conf_env *env, const real_type *t, const math_function *f,
                           const double *got, const long double *want, const double *x,
                           const double *y, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = ulp_error(t, got[i], want[i]);
        if (err > worst)
            worst = err;
        CONF_CHECK(env, err <= f->ulps + ROUNDING_ULPS + REFERENCE_SLACK_ULPS,
                   "%s %s(%.17g%s%.17g) = %.17g, want %.17Lg: %.2f ulp > %.1f", t->name, f->name,
                   x[i], y ? ", " : "", y ? y[i] : 0.0, got[i], want[i], err,
                   f->ulps + ROUNDING_ULPS);
    }
    conf_note(env, "%s %-5s worst error %.2f ulp (bound %.1f) over %zu inputs", t->name, f->name,
              worst, f->ulps + ROUNDING_ULPS, n);
}

static void check_unary(conf_env *env, kiln_program *p, const real_type *t, size_t n)
{
    double *x = conf_alloc(n * UNARY_COUNT * sizeof *x);
    for (size_t i = 0; i < n; i++)
        for (int f = 0; f < UNARY_COUNT; f++)
            x[i * UNARY_COUNT + f] = draw(env, t, &unary_functions[f]);
    kiln_buffer *bx = reals_buffer(env, t, x, n * UNARY_COUNT);
    kiln_buffer *bout = conf_buffer_filled(env, n * UNARY_COUNT * t->size, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bx), KILN_ARG_BUFFER(bout) };
    double *out = NULL;
    if (conf_run(env, conf_kernel(env, p, "unary_math"), &r, args, 3))
        out = read_reals(env, t, bout, n * UNARY_COUNT);
    double *got = conf_alloc(n * sizeof *got), *in = conf_alloc(n * sizeof *in);
    long double *want = conf_alloc(n * sizeof *want);
    for (int f = 0; out && f < UNARY_COUNT; f++) {
        for (size_t i = 0; i < n; i++) {
            in[i] = x[i * UNARY_COUNT + f];
            got[i] = out[i * UNARY_COUNT + f];
            want[i] = unary_reference(f, in[i]);
        }
        check_function(env, t, &unary_functions[f], got, want, in, NULL, n);
    }
    free(x);
    free(out);
    free(got);
    free(in);
    free(want);
}

static void check_binary(conf_env *env, kiln_program *p, const real_type *t, size_t n)
{
    size_t count = n * BINARY_COUNT;
    double *x = conf_alloc(count * sizeof *x), *y = conf_alloc(count * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        for (int f = 0; f < BINARY_COUNT; f++) {
            x[i * BINARY_COUNT + f] = draw(env, t, &binary_functions[f]);
            double second = f == 0 ? conf_rand_double(env, -POW_EXPONENT_LIMIT, POW_EXPONENT_LIMIT)
                                   : draw(env, t, &binary_functions[f]);
            y[i * BINARY_COUNT + f] = t->size == sizeof(float) ? (double)(float)second : second;
        }
    }
    kiln_buffer *bx = reals_buffer(env, t, x, count);
    kiln_buffer *by = reals_buffer(env, t, y, count);
    kiln_buffer *bout = conf_buffer_filled(env, count * t->size, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 64 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bx), KILN_ARG_BUFFER(by),
                        KILN_ARG_BUFFER(bout) };
    double *out = NULL;
    if (conf_run(env, conf_kernel(env, p, "binary_math"), &r, args, 4))
        out = read_reals(env, t, bout, count);
    double *got = conf_alloc(n * sizeof *got), *in_x = conf_alloc(n * sizeof *in_x),
           *in_y = conf_alloc(n * sizeof *in_y);
    long double *want = conf_alloc(n * sizeof *want);
    for (int f = 0; out && f < BINARY_COUNT; f++) {
        for (size_t i = 0; i < n; i++) {
            in_x[i] = x[i * BINARY_COUNT + f];
            in_y[i] = y[i * BINARY_COUNT + f];
            got[i] = out[i * BINARY_COUNT + f];
            want[i] = binary_reference(f, in_x[i], in_y[i]);
        }
        check_function(env, t, &binary_functions[f], got, want, in_x, in_y, n);
    }
    free(x);
    free(y);
    free(out);
    free(got);
    free(in_x);
    free(in_y);
    free(want);
}

static void check_fma(conf_env *env, kiln_program *p, const real_type *t, size_t n)
{
    static const math_function fma_function = { "fma", 0, UNIFORM, { -1, -1 }, { 1, 1 } };
    double *abc[3];
    kiln_buffer *bufs[3];
    for (int j = 0; j < 3; j++) {
        abc[j] = conf_alloc(n * sizeof *abc[j]);
        for (size_t i = 0; i < n; i++)
            abc[j][i] = draw(env, t, &fma_function);
        bufs[j] = reals_buffer(env, t, abc[j], n);
    }
    kiln_buffer *bout = conf_buffer_filled(env, n * t->size, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bufs[0]), KILN_ARG_BUFFER(bufs[1]),
                        KILN_ARG_BUFFER(bufs[2]), KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "fused"), &r, args, 5)) {
        double *got = read_reals(env, t, bout, n);
        long double *want = conf_alloc(n * sizeof *want);
        for (size_t i = 0; got && i < n; i++)
            want[i] = fmal(abc[0][i], abc[1][i], abc[2][i]);
        if (got)
            check_function(env, t, &fma_function, got, want, abc[0], abc[1], n);
        free(got);
        free(want);
    }
    for (int j = 0; j < 3; j++)
        free(abc[j]);
}

conf_result conf_case_math(conf_env *env)
{
    for (size_t i = 0; i < 2; i++) {
        const real_type *t = &real_types[i];
        if (t->size == sizeof(double) && !conf_has_cap(env, KILN_CAP_DOUBLE)) {
            conf_skip_part(env, "double math: device lacks KILN_CAP_DOUBLE");
            continue;
        }
        char defines[32];
        snprintf(defines, sizeof defines, "-DT=%s", t->name);
        kiln_program *p = conf_program(env, "math.kc", defines);
        if (!p)
            continue;
        size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
        check_unary(env, p, t, n);
        check_binary(env, p, t, n);
        check_fma(env, p, t, n);
    }
    return conf_verdict(env);
}
