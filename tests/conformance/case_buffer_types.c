/* buffer_types.kc: every scalar type as a buffer element and as a
 * parameter, built once per type with -DT=TYPE. The kernel computes
 * (T)(in[i] + k); so does the host, with the C type of the same size, so
 * narrowing of char and short and wraparound of unsigned types must match
 * C. Signed int and long inputs are kept small enough not to overflow. */
#include "conformance.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 5000

/* One check function per type, all of the same shape. GEN draws one value;
 * ARG makes the kiln_arg for k; SHOW converts for printing. */
#define DEFINE_ELEMENT_CHECK(NAME, CTYPE, ARG, GEN, SHOW_TYPE, SHOW_FMT)                       \
    static void check_##NAME(conf_env *env)                                                   \
    {                                                                                         \
        kiln_kernel *kern = conf_kernel_from(env, "buffer_types.kc", "-DT=" #NAME,            \
                                             "add_elements");                                  \
        if (!kern)                                                                            \
            return;                                                                           \
        size_t n = 1 + conf_rand_below(env, MAX_ITEMS);                                       \
        CTYPE k = (CTYPE)(GEN);                                                               \
        CTYPE *in = conf_alloc(n * sizeof *in), *out = conf_alloc(n * sizeof *out);           \
        for (size_t i = 0; i < n; i++)                                                        \
            in[i] = (CTYPE)(GEN);                                                             \
        kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);                              \
        kiln_buffer *bout = conf_buffer_filled(env, n * sizeof *out, 0);                      \
        kiln_range r = { .dims = 1, .global = { n }, .local = { 64 } };                       \
        kiln_arg args[] = { KILN_ARG_U32(n), ARG(k), KILN_ARG_BUFFER(bin),                    \
                            KILN_ARG_BUFFER(bout) };                                          \
        if (conf_run(env, kern, &r, args, 4) && conf_read(env, bout, out, n * sizeof *out)) { \
            for (size_t i = 0; i < n; i++) {                                                  \
                CTYPE want = (CTYPE)(in[i] + k);                                              \
                CONF_CHECK(env, memcmp(&out[i], &want, sizeof want) == 0,                     \
                           #NAME " item %zu: " SHOW_FMT " + " SHOW_FMT " = " SHOW_FMT         \
                                 ", want " SHOW_FMT,                                          \
                           i, (SHOW_TYPE)in[i], (SHOW_TYPE)k, (SHOW_TYPE)out[i],              \
                           (SHOW_TYPE)want);                                                  \
            }                                                                                 \
        }                                                                                     \
        free(in);                                                                             \
        free(out);                                                                            \
    }

/* Signed values within +-2^(bits-3): sums stay in range. */
#define INT_LIMIT (1LL << 29)
#define LONG_LIMIT (1LL << 61)

DEFINE_ELEMENT_CHECK(bool, bool, KILN_ARG_BOOL, conf_rand_u32(env) & 1u, int, "%d")
DEFINE_ELEMENT_CHECK(char, int8_t, KILN_ARG_I8, conf_rand_u32(env), int, "%d")
DEFINE_ELEMENT_CHECK(uchar, uint8_t, KILN_ARG_U8, conf_rand_u32(env), int, "%d")
DEFINE_ELEMENT_CHECK(short, int16_t, KILN_ARG_I16, conf_rand_u32(env), int, "%d")
DEFINE_ELEMENT_CHECK(ushort, uint16_t, KILN_ARG_U16, conf_rand_u32(env), int, "%d")
DEFINE_ELEMENT_CHECK(int, int32_t, KILN_ARG_I32, conf_rand_range(env, -INT_LIMIT, INT_LIMIT),
                     long long, "%lld")
DEFINE_ELEMENT_CHECK(uint, uint32_t, KILN_ARG_U32, conf_rand_u32(env), long long, "%lld")
DEFINE_ELEMENT_CHECK(long, int64_t, KILN_ARG_I64, conf_rand_range(env, -LONG_LIMIT, LONG_LIMIT),
                     long long, "%lld")
DEFINE_ELEMENT_CHECK(ulong, uint64_t, KILN_ARG_U64, conf_rand_u64(env), unsigned long long,
                     "%llu")
DEFINE_ELEMENT_CHECK(float, float, KILN_ARG_F32, conf_rand_float(env, -1e6f, 1e6f), double,
                     "%.9g")
DEFINE_ELEMENT_CHECK(double, double, KILN_ARG_F64, conf_rand_double(env, -1e12, 1e12), double,
                     "%.17g")

conf_result conf_case_buffer_types(conf_env *env)
{
    check_bool(env);
    check_char(env);
    check_uchar(env);
    check_short(env);
    check_ushort(env);
    check_int(env);
    check_uint(env);
    check_long(env);
    check_ulong(env);
    check_float(env);
    if (conf_has_cap(env, KILN_CAP_DOUBLE))
        check_double(env);
    else
        conf_skip_part(env, "double elements: device lacks KILN_CAP_DOUBLE");
    return conf_verdict(env);
}
