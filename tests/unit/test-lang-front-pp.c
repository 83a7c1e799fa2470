/* The preprocessor's directives and macros (src/lang/preprocess.c): what
 * expansions produce, checked through #if on the expanded text, and the
 * diagnostic (position and message) of every malformed directive, macro
 * and -D option. */
#include "lang/harness.h"

static kiln_status pp_translate(const char *src, const char *defines, lang_unit **unit, char **diag)
{
    lang_request req = {src, strlen(src), "pp.kc", defines, PORT_DIALECT_OPENCL, harness_all_caps};
    *unit = NULL;
    *diag = NULL;
    return lang_translate(&req, unit, diag);
}

/* Translates `prelude` then "#if cond": 1 if the first branch was kept. */
static int pp_holds(const char *prelude, const char *defines, const char *cond)
{
    static const char form[] = "%s\n#if %s\nkernel void taken(global int *p) { p[0] = 1; }\n"
                               "#else\nkernel void skipped(global int *p) { p[0] = 0; }\n#endif\n";
    size_t size = strlen(prelude) + strlen(cond) + sizeof form;
    char *src = malloc(size);
    assert_non_null(src);
    snprintf(src, size, form, prelude, cond);
    lang_unit *u;
    char *diag;
    kiln_status s = pp_translate(src, defines, &u, &diag);
    if (s != KILN_OK)
        fail_msg("%s\nstatus %d:\n%s", src, (int)s, diag ? diag : "");
    int taken = lang_unit_find_kernel(u, "taken") != NULL;
    assert_true(taken != (lang_unit_find_kernel(u, "skipped") != NULL));
    lang_unit_free(u);
    free(diag);
    free(src);
    return taken;
}

/* The translation fails with a diagnostic containing each of `texts`. */
static void expect_error_defs(const char *src, const char *defines, const char *text)
{
    lang_unit *u;
    char *diag;
    kiln_status s = pp_translate(src, defines, &u, &diag);
    if (s != KILN_ERR_COMPILE || !diag || !strstr(diag, text))
        fail_msg("source:\n%s\n(defines %s) status %d, diagnostics:\n%s\nexpected '%s'", src,
                 defines ? defines : "none", (int)s, diag ? diag : "(none)", text);
    assert_null(u);
    free(diag);
}

static void expect_error(const char *src, const char *text)
{
    expect_error_defs(src, NULL, text);
}

static void function_like_macros_expand(void **state)
{
    (void)state;
    const char *macros = "#define ADD5(a, b, c, d, e) a + b + c + d + e\n"
                         "#define FIRST(x, y) x\n#define NONE() 40 + 2\n#define ID(x) x\n"
                         "#define F(x) x * 2\n#define ONE 1";
    int a = rand() % 1000, b = rand() % 1000, c = rand() % 1000;
    char cond[256];
    snprintf(cond, sizeof cond, "ADD5(%d, %d, %d, 1, 2) == %d", a, b, c, a + b + c + 3);
    assert_true(pp_holds(macros, NULL, cond));
    /* Parentheses protect commas inside an argument. */
    assert_true(pp_holds(macros, NULL, "FIRST(ADD5(1, 2, 3, 4, 5), 3) == 15"));
    assert_true(pp_holds(macros, NULL, "NONE() == 42"));
    assert_true(pp_holds(macros, NULL, "ID(ID(ONE)) == 1"));
    /* A function-like macro name without '(' is not an invocation. */
    assert_true(pp_holds(macros, NULL, "F + 1 == 1"));
    assert_true(pp_holds(macros, NULL, "F(3) == 6"));
}

static void token_pasting(void **state)
{
    (void)state;
    const char *macros = "#define CAT(a, b) a##b\n#define ONE 1\n#define ONE2 7\n"
                         "#define TEN(a) a ## 0\n#define OBJ 4 ## 2\n#define CAT3(a, b, c) a ## b ## c";
    assert_true(pp_holds(macros, NULL, "CAT(1, 2) == 12"));
    /* Operands of ## are not expanded first: CAT(ONE, 2) is ONE2, not 12. */
    assert_true(pp_holds(macros, NULL, "CAT(ONE, 2) == 7"));
    assert_true(pp_holds(macros, NULL, "TEN(5) == 50"));
    assert_true(pp_holds(macros, NULL, "OBJ == 42"));
    assert_true(pp_holds(macros, NULL, "CAT3(1, 2, 3) == 123"));
    /* An argument of several tokens pastes its first one only. */
    assert_true(pp_holds(macros, NULL, "CAT(1, 2 + 3) == 15"));
    /* An empty right operand leaves the left one alone. */
    assert_true(pp_holds(macros, NULL, "CAT(9, ) == 9"));
    expect_error("#define CAT(a, b) a##b\n#if CAT(+, /)\n#endif\n",
                 "pp.kc:2:5: error: '##' of '+' and '/' does not form one token");
    expect_error("#define L ## x\n#if L\n#endif\n",
                 "pp.kc:1:11: error: '##' needs an operand on each side");
    expect_error("#define R x ##\n#if R\n#endif\n",
                 "pp.kc:1:13: error: '##' needs an operand on each side");
}

static void define_undef_and_conditionals(void **state)
{
    (void)state;
    assert_false(pp_holds("#define X 1\n#undef X", NULL, "defined(X)"));
    assert_false(pp_holds("#undef NEVER_DEFINED", NULL, "defined NEVER_DEFINED"));
    assert_true(pp_holds("#define X 1\n#define X 2", NULL, "X == 2"));
    /* Directives inside an excluded branch are skipped, nested ones too. */
    assert_true(pp_holds("#if 0\n#if 1\n#define X 1\n#endif\n#else\n#define X 2\n#endif", NULL, "X == 2"));
    assert_true(pp_holds("#if 0\n#elif 0\n#define X 1\n#elif 1\n#define X 3\n#elif 1\n#define X 4\n#endif",
                         NULL, "X == 3"));
    assert_true(pp_holds("#ifndef Y\n#define Y 5\n#endif\n#ifdef Y\n#define Z Y\n#endif", NULL, "Z == 5"));
    /* The null directive, #pragma and #line are accepted and change nothing. */
    assert_true(pp_holds("#\n#pragma unroll\n#line 7\n#define W 1", NULL, "W"));
    /* Line comments and backslash-newline (LF and CR LF) inside directives. */
    assert_true(pp_holds("#define V 1 + \\\n 2 // three\n#define U 4 \\\r\n + 1 /* five */", NULL,
                         "V == 3 && U == 5"));
}

static void defines_option(void **state)
{
    (void)state;
    int v = rand() % 100000;
    char defs[128], cond[64];
    snprintf(defs, sizeof defs, "  -DA=%d\t-DB -DC=A+1\n", v);
    snprintf(cond, sizeof cond, "A == %d && B == 1 && C == %d", v, v + 1);
    assert_true(pp_holds("", defs, cond));
    expect_error_defs("", "-DGOOD=1 X=1", "pp.kc: error: invalid define option 'X=1' (expected -DNAME=value)\n");
    expect_error_defs("", "-D", "pp.kc: error: invalid define option '-D' (expected -DNAME=value)\n");
    expect_error_defs("", "-D1X=2", "pp.kc: error: invalid macro name in define option '-D1X=2'\n");
    expect_error_defs("", "-DA+B", "pp.kc: error: invalid macro name in define option '-DA+B'\n");
    /* A -D value is lexed with no source position. */
    expect_error_defs("", "-DX=/*", "pp.kc: error: unterminated comment\n");
}

static void malformed_directives(void **state)
{
    (void)state;
    expect_error("#define\n", "pp.kc:1:2: error: #define needs a macro name\n#define\n ^\n");
    expect_error("#define 3 x\n", "pp.kc:1:9: error: #define needs a macro name");
    expect_error("#define F(...) x\n", "pp.kc:1:11: error: variadic macros are not supported");
    expect_error("#define F(1) x\n", "pp.kc:1:11: error: expected a macro parameter name");
    expect_error("#define F(a b) x\n", "pp.kc:1:13: error: expected ',' or ')' in macro parameters");
    expect_error("#define F(a) #a\n", "pp.kc:1:14: error: '#' stringizing is not supported");
    expect_error("#undef\n", "pp.kc:1:2: error: #undef needs a macro name");
    expect_error("#ifdef\n#endif\n", "pp.kc:1:2: error: #ifdef needs a macro name");
    expect_error("#ifndef 1\n#endif\n", "pp.kc:1:2: error: #ifndef needs a macro name");
    expect_error("#else\n", "pp.kc:1:2: error: #else without a matching #if");
    expect_error("#if 1\n#else\n#else\n#endif\n", "pp.kc:3:2: error: #else without a matching #if");
    expect_error("#if 1\n#else\n#elif 1\n#endif\n", "pp.kc:3:2: error: #elif without a matching #if");
    expect_error("#endif\n", "pp.kc:1:2: error: #endif without a matching #if");
    expect_error("#error stop here\n", "pp.kc:1:2: error: #error directive");
    expect_error("#warning hm\n", "pp.kc:1:2: error: unknown preprocessing directive '#warning'");
    expect_error("#1\n", "pp.kc:1:2: error: invalid preprocessing directive");
    expect_error("#if defined(\n#endif\n", "pp.kc:1:13: error: 'defined' needs a macro name");
    expect_error("#if defined(X\n#endif\n", "pp.kc:1:14: error: expected ')' after 'defined(NAME'");
    expect_error("#define F(a) a\nint x = F(1;\n", "pp.kc:2:10: error: unterminated invocation of macro 'F'");
    expect_error("#define G() 1\nint x = G(2);\n", "pp.kc:2:10: error: macro 'G' takes 0 argument(s), 1 given");
    expect_error("#ifdef X\n", "pp.kc:1:1: error: unterminated #if");
}

static void macro_limits(void **state)
{
    (void)state;
    enum { PARAMS = 300, NESTED = 80 };
    char *src = malloc(PARAMS * 8 + NESTED * 4 + 64);
    assert_non_null(src);
    size_t n = (size_t)sprintf(src, "#define M(");
    for (int i = 0; i < PARAMS; i++)
        n += (size_t)sprintf(src + n, "%sp%d", i ? "," : "", i);
    sprintf(src + n, ") 0\n");
    /* p256 is the 257th name: the error points at it. */
    expect_error(src, "error: a macro has at most 256 parameters");
    assert_non_null(strstr(src, ",p256,"));
    n = (size_t)sprintf(src, "#define F(x) x\n#if ");
    for (int i = 0; i < NESTED; i++)
        n += (size_t)sprintf(src + n, "F(");
    n += (size_t)sprintf(src + n, "1");
    for (int i = 0; i < NESTED; i++)
        n += (size_t)sprintf(src + n, ")");
    sprintf(src + n, "\n#endif\n");
    expect_error(src, "error: macro expansion nested too deeply");
    free(src);
}

int main(void)
{
    harness_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(function_like_macros_expand),
        cmocka_unit_test(token_pasting),
        cmocka_unit_test(define_undef_and_conditionals),
        cmocka_unit_test(defines_option),
        cmocka_unit_test(malformed_directives),
        cmocka_unit_test(macro_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
