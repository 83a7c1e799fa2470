/* integer_semantics.kc: C's integer rules on the device. Unsigned
 * arithmetic wraps; shifts by less than the width; a negative signed value
 * shifted right is arithmetic (what every kiln target and gcc/clang do);
 * division truncates toward zero and a % b has the sign of a; narrowing
 * conversions keep the low bits and narrow types promote to int. */
#include "conformance.h"

#include <stdlib.h>

#define MAX_ITEMS 5000

static size_t random_count(conf_env *env)
{
    return 1 + conf_rand_below(env, MAX_ITEMS);
}

static void check_wrap32(conf_env *env, kiln_program *p, size_t n)
{
    uint32_t *a = conf_alloc(n * 4), *b = conf_alloc(n * 4), *out = conf_alloc(4 * n * 4);
    for (size_t i = 0; i < n; i++) {
        a[i] = conf_rand_u32(env);
        b[i] = conf_rand_u32(env);
    }
    kiln_buffer *ba = conf_buffer(env, n * 4, a), *bb = conf_buffer(env, n * 4, b);
    kiln_buffer *bout = conf_buffer_filled(env, 4 * n * 4, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(ba), KILN_ARG_BUFFER(bb),
                        KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "unsigned_wrap"), &r, args, 4) &&
        conf_read(env, bout, out, 4 * n * 4)) {
        for (size_t i = 0; i < n; i++) {
            uint32_t want[4] = { a[i] + b[i], a[i] - b[i], a[i] * b[i], ~a[i] + 1u };
            for (int j = 0; j < 4; j++)
                CONF_CHECK(env, out[4 * i + (size_t)j] == want[j],
                           "uint op %d on (%u, %u): %u, want %u", j, a[i], b[i],
                           out[4 * i + (size_t)j], want[j]);
        }
    }
    free(a);
    free(b);
    free(out);
}

static void check_wrap64(conf_env *env, kiln_program *p, size_t n)
{
    uint64_t *a = conf_alloc(n * 8), *b = conf_alloc(n * 8), *out = conf_alloc(4 * n * 8);
    for (size_t i = 0; i < n; i++) {
        a[i] = conf_rand_u64(env);
        b[i] = conf_rand_u64(env);
    }
    kiln_buffer *ba = conf_buffer(env, n * 8, a), *bb = conf_buffer(env, n * 8, b);
    kiln_buffer *bout = conf_buffer_filled(env, 4 * n * 8, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 32 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(ba), KILN_ARG_BUFFER(bb),
                        KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "ulong_wrap"), &r, args, 4) &&
        conf_read(env, bout, out, 4 * n * 8)) {
        for (size_t i = 0; i < n; i++) {
            uint64_t want[4] = { a[i] + b[i], a[i] - b[i], a[i] * b[i], ~a[i] + 1u };
            for (int j = 0; j < 4; j++)
                CONF_CHECK(env, out[4 * i + (size_t)j] == want[j],
                           "ulong op %d on (%llu, %llu): %llu, want %llu", j,
                           (unsigned long long)a[i], (unsigned long long)b[i],
                           (unsigned long long)out[4 * i + (size_t)j], (unsigned long long)want[j]);
        }
    }
    free(a);
    free(b);
    free(out);
}

static void check_shifts(conf_env *env, kiln_program *p, size_t n)
{
    uint32_t *u = conf_alloc(n * 4), *count = conf_alloc(n * 4);
    int32_t *s = conf_alloc(n * 4);
    uint64_t *ul = conf_alloc(n * 8), *out = conf_alloc(6 * n * 8);
    int64_t *sl = conf_alloc(n * 8);
    for (size_t i = 0; i < n; i++) {
        u[i] = conf_rand_u32(env);
        s[i] = (int32_t)conf_rand_u32(env);
        ul[i] = conf_rand_u64(env);
        sl[i] = (int64_t)conf_rand_u64(env);
        count[i] = conf_rand_u32(env);
    }
    kiln_buffer *bu = conf_buffer(env, n * 4, u), *bs = conf_buffer(env, n * 4, s);
    kiln_buffer *bul = conf_buffer(env, n * 8, ul), *bsl = conf_buffer(env, n * 8, sl);
    kiln_buffer *bcount = conf_buffer(env, n * 4, count);
    kiln_buffer *bout = conf_buffer_filled(env, 6 * n * 8, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bu), KILN_ARG_BUFFER(bs),
                        KILN_ARG_BUFFER(bul), KILN_ARG_BUFFER(bsl), KILN_ARG_BUFFER(bcount),
                        KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "shifts"), &r, args, 7) &&
        conf_read(env, bout, out, 6 * n * 8)) {
        static const char *ops[] = { "uint <<", "uint >>", "int >>", "ulong <<", "ulong >>",
                                     "long >>" };
        for (size_t i = 0; i < n; i++) {
            uint32_t c32 = count[i] & 31u, c64 = count[i] & 63u;
            uint64_t want[6] = { (uint32_t)(u[i] << c32), u[i] >> c32,
                                 (uint64_t)(int64_t)(s[i] >> c32), ul[i] << c64, ul[i] >> c64,
                                 (uint64_t)(sl[i] >> c64) };
            for (int j = 0; j < 6; j++)
                CONF_CHECK(env, out[6 * i + (size_t)j] == want[j],
                           "%s %u on item %zu: 0x%llx, want 0x%llx", ops[j],
                           j < 3 ? c32 : c64, i, (unsigned long long)out[6 * i + (size_t)j],
                           (unsigned long long)want[j]);
        }
    }
    free(u);
    free(count);
    free(s);
    free(ul);
    free(out);
    free(sl);
}

/* A nonzero divisor of either sign; small ones are common so that the
 * remainder is interesting. */
static int64_t random_divisor(conf_env *env, int64_t limit)
{
    int64_t d = conf_rand_below(env, 4) == 0 ? conf_rand_range(env, 1, limit)
                                             : conf_rand_range(env, 1, 100);
    return conf_rand_u32(env) & 1 ? -d : d;
}

static void check_divmod(conf_env *env, kiln_program *p, size_t n)
{
    int32_t *a = conf_alloc(n * 4), *b = conf_alloc(n * 4);
    int64_t *la = conf_alloc(n * 8), *lb = conf_alloc(n * 8), *out = conf_alloc(4 * n * 8);
    for (size_t i = 0; i < n; i++) {
        /* Never INT_MIN (whose quotient by -1 overflows). */
        a[i] = (int32_t)conf_rand_range(env, -INT32_MAX, INT32_MAX);
        b[i] = (int32_t)random_divisor(env, INT32_MAX);
        la[i] = conf_rand_range(env, -INT64_MAX, INT64_MAX);
        lb[i] = random_divisor(env, INT64_MAX);
    }
    kiln_buffer *ba = conf_buffer(env, n * 4, a), *bb = conf_buffer(env, n * 4, b);
    kiln_buffer *bla = conf_buffer(env, n * 8, la), *blb = conf_buffer(env, n * 8, lb);
    kiln_buffer *bout = conf_buffer_filled(env, 4 * n * 8, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 64 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(ba), KILN_ARG_BUFFER(bb),
                        KILN_ARG_BUFFER(bla), KILN_ARG_BUFFER(blb), KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "signed_divmod"), &r, args, 6) &&
        conf_read(env, bout, out, 4 * n * 8)) {
        for (size_t i = 0; i < n; i++) {
            int64_t want[4] = { a[i] / b[i], a[i] % b[i], la[i] / lb[i], la[i] % lb[i] };
            for (int j = 0; j < 4; j++)
                CONF_CHECK(env, out[4 * i + (size_t)j] == want[j],
                           "%s %s on (%lld, %lld): %lld, want %lld", j < 2 ? "int" : "long",
                           j % 2 ? "%" : "/", (long long)(j < 2 ? a[i] : la[i]),
                           (long long)(j < 2 ? b[i] : lb[i]), (long long)out[4 * i + (size_t)j],
                           (long long)want[j]);
        }
    }
    free(a);
    free(b);
    free(la);
    free(lb);
    free(out);
}

static void check_conversions(conf_env *env, kiln_program *p, size_t n)
{
    int32_t *v = conf_alloc(n * 4), *out = conf_alloc(6 * n * 4);
    for (size_t i = 0; i < n; i++)
        v[i] = (int32_t)conf_rand_u32(env);
    kiln_buffer *bv = conf_buffer(env, n * 4, v);
    kiln_buffer *bout = conf_buffer_filled(env, 6 * n * 4, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bv), KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "conversions"), &r, args, 3) &&
        conf_read(env, bout, out, 6 * n * 4)) {
        static const char *what[] = { "(uchar)", "(char)", "(ushort)", "(short)", "uchar + uchar",
                                      "(uint) / 3" };
        for (size_t i = 0; i < n; i++) {
            uint8_t uc = (uint8_t)v[i];
            int32_t want[6] = { uc, (int8_t)v[i], (uint16_t)v[i], (int16_t)v[i], uc + uc,
                                (int32_t)((uint32_t)v[i] / 3u) };
            for (int j = 0; j < 6; j++)
                CONF_CHECK(env, out[6 * i + (size_t)j] == want[j], "%s of %d: %d, want %d",
                           what[j], v[i], out[6 * i + (size_t)j], want[j]);
        }
    }
    free(v);
    free(out);
}

conf_result conf_case_integer_semantics(conf_env *env)
{
    kiln_program *p = conf_program(env, "integer_semantics.kc", NULL);
    if (!p)
        return conf_verdict(env);
    size_t n = random_count(env);
    check_wrap32(env, p, n);
    check_wrap64(env, p, n);
    check_shifts(env, p, n);
    check_divmod(env, p, n);
    check_conversions(env, p, n);
    return conf_verdict(env);
}
