/* Integer constant folding (src/lang/sema_const.c). Array sizes fold at
 * parse time on untyped trees in 64-bit arithmetic: a kernel reports the
 * sizeof of arrays sized by expressions over random -D values, checked
 * against the same expressions on the host. Typed folds wrap to their
 * type: the out-of-bounds index diagnostic prints the folded value. */
#include "lang/harness.h"

/* Parse-time folds, one char array per expression; A in 20..99, B in 1..19. */
#define FOLD_EXPRS(X)                                                     \
    X(A + B) X(A - B) X(A * B) X(A / B) X(A % B + 1) X(A << 3)            \
    X((A * 4) >> 1) X((A & B) + 1) X(A | B) X((A ^ B) + 1)                \
    X((A < B) + 1) X((A > B) + 1) X((A <= B) + 1) X((A >= B) + 1)         \
    X((A == B) + (A != B) + 1) X((A && B) + (0 || B) + (0 && A) + 1)      \
    X(-(-A)) X(+A + ~(-B) + 1) X(!B + !0 + 1) X(A > B ? A : B)            \
    X(A < B ? A : B) X(-A / B + 200) X(-A % B + 200) X((-A >> 1) + 200)   \
    X((A << 64) + 1) X((A >> 70) + 1) X(sizeof(int) * A)                  \
    X(sizeof(float4) + A)

/* The casts wrap at parse time as well (the cast names its type). */
#define CAST_EXPRS(X)                                                     \
    X((char)(A + 256)) X((uchar)(A - 256)) X((short)(A + 65536))          \
    X((ushort)(A - 65536)) X((int)(A + 4294967296L))                      \
    X((uint)(A - 4294967296L)) X((bool)A + 1) X((long)A + (ulong)B)

#define FOLD_COUNT_ONE(e) +1
enum { FOLD_COUNT = 0 FOLD_EXPRS(FOLD_COUNT_ONE) CAST_EXPRS(FOLD_COUNT_ONE) };

static void host_values(int64_t A, int64_t B, int64_t *out)
{
    int64_t v[] = {
        A + B, A - B, A * B, A / B, A % B + 1, A << 3, (A * 4) >> 1, (A & B) + 1, A | B,
        (A ^ B) + 1, (A < B) + 1, (A > B) + 1, (A <= B) + 1, (A >= B) + 1,
        (A == B) + (A != B) + 1, (A && B) + (0 || B) + (0 && A) + 1, A, A + B, 2,
        A > B ? A : B, A < B ? A : B, -A / B + 200, -A % B + 200, (-A >> 1) + 200, 1, 1, 4 * A,
        16 + A,
        /* casts */
        A, A, A, A, A, A, 2, A + B,
    };
    assert_int_equal(sizeof v / sizeof v[0], FOLD_COUNT);
    memcpy(out, v, sizeof v);
}

static void array_sizes_fold_like_the_host(void **state)
{
    (void)state;
    /* Each array's sizeof goes to out[k], in declaration order. */
    char src[8192];
    size_t used = (size_t)snprintf(src, sizeof src, "kernel void k(global ulong *out)\n{\n");
    const char *exprs[] = {
#define FOLD_TEXT(e) #e,
        FOLD_EXPRS(FOLD_TEXT) CAST_EXPRS(FOLD_TEXT)
    };
    for (unsigned i = 0; i < FOLD_COUNT; i++)
        used += (size_t)snprintf(src + used, sizeof src - used, "    char a%u[%s];\n", i, exprs[i]);
    for (unsigned i = 0; i < FOLD_COUNT; i++)
        used += (size_t)snprintf(src + used, sizeof src - used, "    out[%u] = sizeof(a%u);\n", i, i);
    snprintf(src + used, sizeof src - used, "}\n");

    int64_t A = 20 + rand() % 80, B = 1 + rand() % 19;
    char defines[64];
    snprintf(defines, sizeof defines, "-DA=%lld -DB=%lld", (long long)A, (long long)B);
    lang_unit *u = harness_translate(src, PORT_DIALECT_C, defines, harness_all_caps);
    harness_module m;
    harness_build(u, &m);
    uint64_t out[FOLD_COUNT];
    memset(out, 0, sizeof out);
    void *po = out;
    void *args[] = {&po};
    unsigned global[3] = {1}, local[3] = {1};
    harness_run(&m, u, "k", 1, global, local, args);
    int64_t want[FOLD_COUNT];
    host_values(A, B, want);
    for (unsigned i = 0; i < FOLD_COUNT; i++) {
        if ((int64_t)out[i] != want[i])
            fprintf(stderr, "a%u[%s]: %llu, want %lld\n", i, exprs[i], (unsigned long long)out[i],
                    (long long)want[i]);
        assert_int_equal((int64_t)out[i], want[i]);
    }
    harness_close(&m);
    lang_unit_free(u);
}

/* INT64_MIN / -1 folds without trapping: the quotient wraps, the
 * remainder is 0. */
static void int64_min_over_minus_one_folds(void **state)
{
    (void)state;
    lang_unit *u = harness_translate(
        "kernel void k(global ulong *out)\n{\n"
        "    char q[((-9223372036854775807L - 1) / -1 == (-9223372036854775807L - 1)) + 1];\n"
        "    char r[(-9223372036854775807L - 1) % -1 + 3];\n"
        "    out[0] = sizeof(q);\n    out[1] = sizeof(r);\n}\n",
        PORT_DIALECT_C, NULL, harness_all_caps);
    harness_module m;
    harness_build(u, &m);
    uint64_t out[2] = {0, 0};
    void *po = out;
    void *args[] = {&po};
    unsigned global[3] = {1}, local[3] = {1};
    harness_run(&m, u, "k", 1, global, local, args);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 3);
    harness_close(&m);
    lang_unit_free(u);
}

static void expect_in_diag(const char *src, const char *text)
{
    char *diag = harness_translate_error(src, harness_all_caps);
    if (!strstr(diag, "bad.kc:5:") || !strstr(diag, text)) {
        fprintf(stderr, "source:\n%s\ndiagnostics:\n%s\nexpected '%s'\n", src, diag, text);
        free(diag);
        fail_msg("diagnostic mismatch");
    }
    free(diag);
}

/* What does not fold is a variable-length array. */
static void non_constant_sizes_are_rejected(void **state)
{
    (void)state;
    static const char *const sizes[] = {
        "A / 0", "A % 0", "n", "(float)A", "n ? 1 : 2", "1 ? n : 2", "1 ? 2 : n", "n + 1",
        "1 + n", "++A", "-n", "sizeof(void)",
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *size = sizes[i];
        char src[256];
        snprintf(src, sizeof src,
                 "#define A 5\nkernel void k(global int *p, int n)\n{\n    int a[%s];\n"
                 "    p[0] = a[0];\n}\n", size);
        char where[64];
        snprintf(where, sizeof where, "bad.kc:4:");
        char *diag = harness_translate_error(src, harness_all_caps);
        if (!strstr(diag, where) || !strstr(diag, "variable-length arrays are not allowed: the "
                                                  "size of 'a' is not a compile-time constant")) {
            fprintf(stderr, "size %s:\n%s\n", size, diag);
            free(diag);
            fail_msg("diagnostic mismatch");
        }
        free(diag);
    }
}

/* Typed folds in sema wrap to the expression's type; the bounds check of
 * a constant index prints the folded value. */
static void typed_folds_wrap_to_their_type(void **state)
{
    (void)state;
    static const struct {
        const char *index;
        const char *value;
    } cases[] = {
        {"(char)200", "-56"},
        {"(uchar)300", "44"},
        {"(short)70000", "4464"},
        {"(ushort)70001", "4465"},
        {"(int)4294967295u", "-1"},
        {"(uint)-1", "4294967295"},
        {"(bool)7 + 1", "2"},
        {"0u - 1u", "4294967295"},
        {"(0u - 1u) / 2u", "2147483647"},
        {"(0u - 1u) % 10u", "5"},
        {"(0u - 1u) >> 4", "268435455"},
        {"(1u < 0u - 1u) + 4", "5"},
        {"(1u > 0u - 1u) - 1", "-1"},
        {"(1u <= 0u - 1u) + 6", "7"},
        {"(1u >= 0u - 1u) + 8", "8"},
        {"(-8 >> 1)", "-4"},
        {"-7 / 2", "-3"},
        {"-7 % 2", "-1"},
        {"(5 > 3) + (5 <= 3) + (5 >= 3) + (5 < 3) + 10", "12"},
        {"1 && 2", "1"},
        {"(0 || 0) - 1", "-1"},
        {"(3 == 3) + (3 != 3) + 4", "5"},
        {"(6 & 3) | 8 ^ 1", "11"},
        {"2147483647 + 1", "-2147483648"},
        {"(long)1 << 40", "1099511627776"},
        {"((long)1 << 64) - 1", "-1"}, /* a shift by >= 64 folds to 0 */
        {"sizeof(t) + 3", "7"},
        {"sizeof(int) * 2", "8"},
        {"(-9223372036854775807L - 1) / -1", "-9223372036854775808"},
        {"(-9223372036854775807L - 1) % -1 + 1", "1"},
        {"(long)-5 * 3", "-15"},
        {"(long)(ushort)-1 - 7", "65528"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char src[512], text[128];
        const char *index = cases[i].index, *value = cases[i].value;
        snprintf(src, sizeof src,
                 "kernel void k(global long *p)\n{\n    int t[1];\n    t[0] = 1;\n"
                 "    p[0] = t[%s];\n}\n", index);
        snprintf(text, sizeof text, "error: index %s is out of bounds for an array of 1\n"
                 "    p[0] = t[%s];\n", value, index);
        expect_in_diag(src, text);
    }
}

int main(void)
{
    harness_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(array_sizes_fold_like_the_host),
        cmocka_unit_test(int64_min_over_minus_one_folds),
        cmocka_unit_test(non_constant_sizes_are_rejected),
        cmocka_unit_test(typed_folds_wrap_to_their_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
