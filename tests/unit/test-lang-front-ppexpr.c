/* #if arithmetic of the preprocessor (src/lang/preprocess_expr.c): which
 * branch is kept for a table of expressions the C compiler evaluates too,
 * for random expressions checked against host C arithmetic on int64_t /
 * uint64_t, and the diagnostics of malformed #if expressions. */
#include "lang/harness.h"

#include <inttypes.h>

/* Translates src (named "pp.kc"); returns the status, *unit or *diag. */
static kiln_status pp_translate(const char *src, lang_unit **unit, char **diag)
{
    lang_request req = {src, strlen(src), "pp.kc", NULL, PORT_DIALECT_OPENCL, harness_all_caps};
    *unit = NULL;
    *diag = NULL;
    return lang_translate(&req, unit, diag);
}

/* 1 if "#if expr" keeps its first branch, 0 if it keeps the #else branch. */
static int pp_branch(const char *expr)
{
    static const char form[] = "#if %s\nkernel void taken(global int *p) { p[0] = 1; }\n"
                               "#else\nkernel void skipped(global int *p) { p[0] = 0; }\n#endif\n";
    size_t size = strlen(expr) + sizeof form;
    char *src = malloc(size);
    assert_non_null(src);
    snprintf(src, size, form, expr);
    lang_unit *u;
    char *diag;
    kiln_status s = pp_translate(src, &u, &diag);
    if (s != KILN_OK)
        fail_msg("#if %s: status %d\n%s", expr, (int)s, diag ? diag : "");
    int taken = lang_unit_find_kernel(u, "taken") != NULL;
    int skipped = lang_unit_find_kernel(u, "skipped") != NULL;
    assert_int_equal(lang_unit_kernel_count(u), 1);
    assert_true(taken != skipped);
    lang_unit_free(u);
    free(diag);
    free(src);
    return taken;
}

/* The same text as a C constant expression and as an #if expression. Every
 * literal is long long or unsigned long long, the types #if computes in
 * (intmax_t / uintmax_t on every host kiln supports). */
#define PP_CASE(e) {#e, (e) ? 1 : 0}

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wparentheses"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wint-in-bool-context"
#pragma GCC diagnostic ignored "-Wlogical-not-parentheses"
#endif
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wtautological-constant-compare"
#endif
static const struct {
    const char *text;
    int value;
} pp_table[] = {
    PP_CASE(1LL + 2LL * 3LL == 7LL), PP_CASE((1LL + 2LL) * 3LL == 9LL),
    PP_CASE(10LL - 4LL - 3LL == 3LL), PP_CASE(7LL / 2LL == 3LL), PP_CASE(-7LL / 2LL == -3LL),
    PP_CASE(-7LL % 3LL == -1LL), PP_CASE(7LL % -3LL), PP_CASE(100LL / 10LL / 5LL),
    PP_CASE(-1LL < 0LL), PP_CASE(-1LL < 0ULL), PP_CASE(-1LL > 0ULL), PP_CASE(-1LL >= 1ULL),
    PP_CASE(-2LL <= -2LL), PP_CASE(3ULL >= 2LL), PP_CASE(1LL != 1ULL), PP_CASE(2LL <= 1LL),
    PP_CASE(0xFFFFFFFFFFFFFFFF == -1LL), PP_CASE(0x8000000000000000 > 0LL),
    PP_CASE(0x7FFFFFFFFFFFFFFF > 0LL), PP_CASE(-1LL >> 1LL == -1LL), PP_CASE(-8LL >> 2LL == -2LL),
    PP_CASE(0xF0ULL >> 4LL == 0xFULL), PP_CASE(1LL << 62LL > 0LL), PP_CASE(1ULL << 63LL > 0LL),
    PP_CASE(-1LL >> 63LL), PP_CASE(-1ULL >> 63LL == 1LL), PP_CASE(1LL << 2LL + 1LL == 8LL),
    PP_CASE(~0LL == -1LL), PP_CASE(~0ULL > 0LL), PP_CASE(-0ULL == 0LL), PP_CASE(~5LL < 0LL),
    PP_CASE(-1ULL == 0xFFFFFFFFFFFFFFFFULL), PP_CASE(!0LL), PP_CASE(!5LL), PP_CASE(!!5LL == 1LL),
    PP_CASE(+3LL == 3LL), PP_CASE(- -3LL == 3LL), PP_CASE(!-1ULL < 1LL),
    PP_CASE((1LL ? -1LL : 0ULL) > 0LL), PP_CASE((0LL ? 1ULL : -1LL) > 0LL),
    PP_CASE((1LL ? -1LL : 0LL) > 0LL), PP_CASE(1LL ? 2LL : 3LL), PP_CASE(0LL ? 2LL : 0LL),
    PP_CASE(0LL ? 1LL : 1LL ? 0LL : 1LL), PP_CASE(1LL ? 0LL ? 1LL : 0LL : 1LL),
    PP_CASE(1LL || 0LL && 0LL), PP_CASE((1LL || 0LL) && 0LL), PP_CASE(0LL || 0LL),
    PP_CASE(2LL && 3LL), PP_CASE(6LL & 3LL ^ 1LL | 8LL), PP_CASE(6LL & (3LL ^ 1LL | 8LL)),
    PP_CASE((6LL & 3LL ^ 7LL) == 5LL), PP_CASE(1LL | 2LL == 2LL), PP_CASE(4LL & 2LL < 3LL),
    PP_CASE(5LL > 3LL > 0LL), PP_CASE(1LL + 1LL == 2LL == 1LL), PP_CASE(-1ULL / 2ULL == 0x7FFFFFFFFFFFFFFFULL),
    PP_CASE(-7LL / 2ULL > 0LL), PP_CASE(-7LL % 2ULL == 1ULL), PP_CASE(-7LL % 2LL == -1LL),
    PP_CASE(010LL == 8LL), PP_CASE(0 == 0LL), PP_CASE(0x1fULL == 31LL), PP_CASE(0XAbLL == 171LL),
    PP_CASE(07777LL == 4095LL), PP_CASE(5u == 5LL), PP_CASE(5lu == 5LL), PP_CASE(5LLU == 5LL),
    PP_CASE(5ul - 6LL > 0LL), PP_CASE(5L - 6LL > 0LL), PP_CASE(5Ull - 6LL > 0LL),
    PP_CASE('a' == 97LL), PP_CASE('\n' == 10LL), PP_CASE('\t' == 9LL), PP_CASE('\r' == 13LL),
    PP_CASE('\0' == 0LL), PP_CASE('\\' == 92LL), PP_CASE('\'' == 39LL), PP_CASE('"' == 34LL), PP_CASE('\"' == 34LL),
    PP_CASE('z' - 'a' == 25LL), PP_CASE(1000000LL * 1000000LL == 1000000000000LL),
    PP_CASE(9223372036854775807LL + 0LL > 0LL), PP_CASE(18446744073709551615ULL == -1LL),
};
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static void table_matches_the_c_compiler(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pp_table / sizeof pp_table[0]; i++) {
        int got = pp_branch(pp_table[i].text);
        if (got != pp_table[i].value)
            fail_msg("#if %s: kept branch %d, C says %d", pp_table[i].text, got, pp_table[i].value);
    }
}

/* Operands the C standard never evaluates may divide by zero (C11 6.5.13,
 * 6.5.14, 6.5.15): gcc and clang accept these #if lines. */
static void unevaluated_operands_may_divide_by_zero(void **state)
{
    (void)state;
    assert_int_equal(pp_branch("0 && 1 / 0"), 0);
    assert_int_equal(pp_branch("1 || 1 % 0"), 1);
    assert_int_equal(pp_branch("0 ? 1 / 0 : 2"), 1);
    assert_int_equal(pp_branch("1 ? 3 : 5 % 0"), 1);
    assert_int_equal(pp_branch("0 && (1 || 1 / 0)"), 0);
    assert_int_equal(pp_branch("1 && 0 ? 1 / 0 : 1 || 7 % 0"), 1);
}

/* No #if input has undefined behaviour: INT64_MIN / -1 wraps as two's
 * complement, shifts by 64 or more give 0 (or the sign). */
static void edge_arithmetic_is_defined(void **state)
{
    (void)state;
    assert_int_equal(pp_branch("(-9223372036854775807 - 1) / -1 < 0"), 1);
    assert_int_equal(pp_branch("(-9223372036854775807 - 1) % -1 == 0"), 1);
    assert_int_equal(pp_branch("(1 << 64) == 0 && (1u << 100) == 0"), 1);
    assert_int_equal(pp_branch("(-1 >> 64) == -1 && (-1u >> 64) == 0 && (4 >> 1) == 2"), 1);
    assert_int_equal(pp_branch("9223372036854775808 > 0"), 1); /* too big for a signed value */
}

static void identifiers_and_defined(void **state)
{
    (void)state;
    assert_int_equal(pp_branch("UNDEFINED_NAME"), 0);
    assert_int_equal(pp_branch("UNDEFINED_NAME == 0"), 1);
    assert_int_equal(pp_branch("true"), 1);
    assert_int_equal(pp_branch("false"), 0);
    assert_int_equal(pp_branch("defined(UNDEFINED_NAME) || !defined UNDEFINED_NAME"), 1);
}

/* --- random expressions against host C arithmetic ------------------------ */

typedef struct ref_value {
    uint64_t v;
    int uns;
    int ub; /* evaluating it (where evaluated) is undefined in C */
} ref_value;

typedef struct gen {
    char *text;
    size_t length, capacity;
} gen;

static void gen_printf(gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g->text + g->length, g->capacity - g->length, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < g->capacity - g->length);
    g->length += (size_t)n;
}

static uint64_t rand64(void)
{
    return ((uint64_t)(unsigned)rand() << 42) ^ ((uint64_t)(unsigned)rand() << 21) ^ (unsigned)rand();
}

static ref_value gen_literal(gen *g)
{
    static const char *const chars[] = {"'a'", "'Z'", "'0'", "'\\n'", "'\\t'", "'\\0'", "'\\\\'"};
    static const uint64_t char_values[] = {'a', 'Z', '0', '\n', '\t', 0, '\\'};
    static const char *const suffixes[] = {"", "", "", "u", "U", "l", "L", "ll", "LL", "ul", "LLU", "lu"};
    ref_value r = {0, 0, 0};
    int pick = rand() % 10;
    if (pick == 0) {
        int c = rand() % (int)(sizeof chars / sizeof chars[0]);
        gen_printf(g, "%s", chars[c]);
        r.v = char_values[c];
        return r;
    }
    r.v = pick < 6 ? (uint64_t)(rand() % 20) : pick < 8 ? (uint64_t)(unsigned)rand() : rand64();
    const char *suffix = suffixes[rand() % (int)(sizeof suffixes / sizeof suffixes[0])];
    int base = rand() % 3;
    if (base == 0 && r.v > (uint64_t)INT64_MAX && !strchr(suffix, 'u') && !strchr(suffix, 'U'))
        suffix = "u"; /* a decimal literal has no unsigned type without the suffix */
    if (base == 0)
        gen_printf(g, "%" PRIu64 "%s", r.v, suffix);
    else if (base == 1)
        gen_printf(g, "0x%" PRIx64 "%s", r.v, suffix);
    else
        gen_printf(g, "0%" PRIo64 "%s", r.v, suffix);
    r.uns = strchr(suffix, 'u') || strchr(suffix, 'U') || r.v > (uint64_t)INT64_MAX;
    return r;
}

static ref_value host_binary(int op, ref_value a, ref_value b)
{
    int uns = a.uns || b.uns;
    int64_t x = (int64_t)a.v, y = (int64_t)b.v, s = 0;
    ref_value r = {0, uns, 0};
    switch (op) {
    case '+': case '-': case '*':
        if (uns) {
            r.v = op == '+' ? a.v + b.v : op == '-' ? a.v - b.v : a.v * b.v;
        } else {
            r.ub = op == '+' ? __builtin_add_overflow(x, y, &s)
                   : op == '-' ? __builtin_sub_overflow(x, y, &s) : __builtin_mul_overflow(x, y, &s);
            r.v = (uint64_t)s;
        }
        break;
    case '/': case '%':
        if (b.v == 0 || (!uns && x == INT64_MIN && y == -1))
            r.ub = 1;
        else if (uns)
            r.v = op == '/' ? a.v / b.v : a.v % b.v;
        else
            r.v = (uint64_t)(op == '/' ? x / y : x % y);
        break;
    case 'L': case 'R': /* << and >>: the type of the left operand */
        r.uns = a.uns;
        if ((!b.uns && y < 0) || b.v >= 64 || (op == 'L' && !a.uns && (x < 0 || x > (INT64_MAX >> b.v))))
            r.ub = 1;
        else if (op == 'L')
            r.v = a.v << b.v;
        else
            r.v = a.uns ? a.v >> b.v : (uint64_t)(x >> b.v);
        break;
    case '<': r = (ref_value){uns ? a.v < b.v : x < y, 0, 0}; break;
    case '>': r = (ref_value){uns ? a.v > b.v : x > y, 0, 0}; break;
    case 'l': r = (ref_value){uns ? a.v <= b.v : x <= y, 0, 0}; break;
    case 'g': r = (ref_value){uns ? a.v >= b.v : x >= y, 0, 0}; break;
    case '=': r = (ref_value){a.v == b.v, 0, 0}; break;
    case '!': r = (ref_value){a.v != b.v, 0, 0}; break;
    case '&': r.v = a.v & b.v; break;
    case '^': r.v = a.v ^ b.v; break;
    case '|': r.v = a.v | b.v; break;
    default: fail_msg("bad operator %c", op);
    }
    return r;
}

static ref_value gen_expr(gen *g, int depth);

/* One random subexpression in parentheses; `live` is 0 inside an operand C
 * does not evaluate, where undefined operations do not count. */
static ref_value gen_operand(gen *g, int depth, int live)
{
    gen_printf(g, "(");
    ref_value r = gen_expr(g, depth);
    gen_printf(g, ")");
    if (!live)
        r.ub = 0;
    return r;
}

static ref_value gen_expr(gen *g, int depth)
{
    static const struct { const char *text; int op; } ops[] = {
        {"+", '+'}, {"-", '-'}, {"*", '*'}, {"/", '/'}, {"%", '%'}, {"<<", 'L'}, {">>", 'R'},
        {"<", '<'}, {">", '>'}, {"<=", 'l'}, {">=", 'g'}, {"==", '='}, {"!=", '!'},
        {"&", '&'}, {"^", '^'}, {"|", '|'}, {"&&", 'A'}, {"||", 'O'}};
    int pick = depth <= 0 ? 0 : rand() % 8;
    if (pick <= 1)
        return gen_literal(g);
    if (pick == 2) {
        static const char unary[] = "-~!+";
        char op = unary[rand() % 4];
        gen_printf(g, "%c", op);
        ref_value a = gen_operand(g, depth - 1, 1);
        if (op == '-') {
            a.ub |= !a.uns && (int64_t)a.v == INT64_MIN;
            a.v = a.ub ? 0 : a.uns ? 0 - a.v : (uint64_t)(-(int64_t)a.v);
        } else if (op == '~') {
            a.v = ~a.v;
        } else if (op == '!') {
            a = (ref_value){a.v == 0, 0, a.ub};
        }
        return a;
    }
    if (pick == 3) {
        ref_value c = gen_operand(g, depth - 1, 1);
        gen_printf(g, " ? ");
        ref_value a = gen_operand(g, depth - 1, c.v != 0);
        gen_printf(g, " : ");
        ref_value b = gen_operand(g, depth - 1, c.v == 0);
        ref_value r = c.v ? a : b;
        r.uns = a.uns || b.uns;
        r.ub |= c.ub;
        return r;
    }
    int o = rand() % (int)(sizeof ops / sizeof ops[0]);
    ref_value a = gen_operand(g, depth - 1, 1);
    gen_printf(g, " %s ", ops[o].text);
    if (ops[o].op == 'A' || ops[o].op == 'O') {
        int rhs_live = ops[o].op == 'A' ? a.v != 0 : a.v == 0;
        ref_value b = gen_operand(g, depth - 1, rhs_live);
        int v = ops[o].op == 'A' ? a.v && b.v : a.v || b.v;
        if (!rhs_live)
            v = ops[o].op == 'O';
        return (ref_value){(uint64_t)v, 0, a.ub || b.ub};
    }
    ref_value b = gen_operand(g, depth - 1, 1);
    ref_value r = host_binary(ops[o].op, a, b);
    r.ub |= a.ub || b.ub;
    if (r.ub)
        r.v = 0;
    return r;
}

static void random_expressions_match_host_arithmetic(void **state)
{
    (void)state;
    enum { EXPRESSIONS = 2000, MAX_DEPTH = 5, TEXT_BYTES = 65536 };
    char *text = malloc(TEXT_BYTES);
    char *check = malloc(TEXT_BYTES * 3);
    assert_non_null(text);
    assert_non_null(check);
    int done = 0, undefined = 0;
    while (done < EXPRESSIONS) {
        gen g = {text, 0, TEXT_BYTES};
        ref_value r = gen_expr(&g, 1 + rand() % MAX_DEPTH);
        if (r.ub) {
            undefined++;
            continue;
        }
        /* The exact 64-bit value, and the type: E * 0 - 1 is negative only
         * when E is signed. */
        snprintf(check, TEXT_BYTES * 3, "((%s) == 0x%" PRIx64 "u) && ((((%s) * 0 - 1) < 0) == %d)",
                 text, r.v, text, !r.uns);
        if (!pp_branch(check)) {
            int value_ok = pp_branch(text) == (r.v != 0);
            fail_msg("#if %s\nexpected value 0x%" PRIx64 " (%s); truth %s", text, r.v,
                     r.uns ? "unsigned" : "signed", value_ok ? "right" : "wrong");
        }
        done++;
    }
    fprintf(stderr, "%d random #if expressions checked (%d undefined in C skipped)\n", done, undefined);
    free(check);
    free(text);
}

/* --- diagnostics ---------------------------------------------------------- */

static void expect_error(const char *src, const char *text)
{
    lang_unit *u;
    char *diag;
    kiln_status s = pp_translate(src, &u, &diag);
    if (s != KILN_ERR_COMPILE || !diag || !strstr(diag, text))
        fail_msg("source:\n%s\nstatus %d, diagnostics:\n%s\nexpected '%s'", src, (int)s,
                 diag ? diag : "(none)", text);
    assert_null(u);
    free(diag);
}

static void malformed_expressions_are_diagnosed(void **state)
{
    (void)state;
    expect_error("#if\n#endif\n", "pp.kc:1:2: error: #if with no expression\n#if\n ^\n");
    expect_error("#if 0\n#elif\n#endif\n", "pp.kc:2:2: error: #if with no expression");
    expect_error("#if (1\n#endif\n", "pp.kc:1:7: error: in #if: expected ')'");
    expect_error("#if 1 ? 2\n#endif\n", "pp.kc:1:10: error: in #if: expected ':'");
    expect_error("#if 1 2\n#endif\n", "pp.kc:1:7: error: in #if: unexpected token after the expression");
    expect_error("#if 1 +\n#endif\n", "pp.kc:1:8: error: in #if: expected an integer constant expression");
    expect_error("#if 1.5\n#endif\n", "pp.kc:1:5: error: in #if: expected an integer constant expression");
    expect_error("#if 08\n#endif\n", "pp.kc:1:5: error: in #if: invalid integer literal");
    expect_error("#if 0x\n#endif\n", "pp.kc:1:5: error: in #if: invalid integer literal");
    expect_error("#if 1uu\n#endif\n", "pp.kc:1:5: error: in #if: invalid integer literal");
    expect_error("#if 0x10000000000000000\n#endif\n", "pp.kc:1:5: error: in #if: invalid integer literal");
    expect_error("#if 99999999999999999999\n#endif\n", "pp.kc:1:5: error: in #if: invalid integer literal");
    expect_error("#if 'ab'\n#endif\n", "pp.kc:1:5: error: in #if: invalid character literal");
    expect_error("#if '\\q'\n#endif\n", "pp.kc:1:5: error: in #if: invalid character literal");
    expect_error("#if '\\n\n#endif\n", "pp.kc:1:5: error: in #if: invalid character literal");
    expect_error("#if '\\nn'\n#endif\n", "pp.kc:1:5: error: in #if: invalid character literal");
    expect_error("#if 2 % 0\n#endif\n", "pp.kc:1:7: error: in #if: division by zero");
    /* Only the first error of one expression is reported. */
    lang_unit *u;
    char *diag;
    assert_int_equal(pp_translate("#if (1 / 0) + (08)\n#endif\n", &u, &diag), KILN_ERR_COMPILE);
    assert_non_null(strstr(diag, "division by zero"));
    assert_null(strstr(diag, "invalid integer literal"));
    free(diag);
}

static void deep_expressions_are_bounded(void **state)
{
    (void)state;
    enum { DEPTH = 300 };
    char src[DEPTH * 4 + 64];
    /* Parentheses nest eval_cond, prefix operators nest eval_primary, and a
     * chain of ?: nests the conditional itself: each ends in one error. */
    static const char *const opens[] = {"(", "- ", "1 ? "};
    for (size_t k = 0; k < sizeof opens / sizeof opens[0]; k++) {
        size_t n = (size_t)snprintf(src, sizeof src, "#if ");
        for (int i = 0; i < DEPTH; i++)
            n += (size_t)snprintf(src + n, sizeof src - n, "%s", opens[k]);
        snprintf(src + n, sizeof src - n, "1\n#endif\n");
        expect_error(src, "error: in #if: nesting too deep");
    }
}

int main(void)
{
    harness_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_matches_the_c_compiler),
        cmocka_unit_test(unevaluated_operands_may_divide_by_zero),
        cmocka_unit_test(edge_arithmetic_is_defined),
        cmocka_unit_test(identifiers_and_defined),
        cmocka_unit_test(random_expressions_match_host_arithmetic),
        cmocka_unit_test(malformed_expressions_are_diagnosed),
        cmocka_unit_test(deep_expressions_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
