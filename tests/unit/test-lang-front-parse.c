/* Parse errors of declarations, declarators, expressions and statements
 * (src/lang/parser*.c): each names its position and what is wrong, and the
 * parser recovers to report later errors. Accepted corner cases translate
 * to the expected text. */
#include "lang/harness.h"

static kiln_status parse_translate(const char *src, lang_unit **unit, char **diag)
{
    lang_request req = {src, strlen(src), "parse.kc", NULL, PORT_DIALECT_OPENCL, harness_all_caps};
    *unit = NULL;
    *diag = NULL;
    return lang_translate(&req, unit, diag);
}

static void expect_error(const char *src, const char *text)
{
    lang_unit *u;
    char *diag;
    kiln_status s = parse_translate(src, &u, &diag);
    if (s != KILN_ERR_COMPILE || !diag || !strstr(diag, text))
        fail_msg("source:\n%s\nstatus %d, diagnostics:\n%s\nexpected '%s'", src, (int)s,
                 diag ? diag : "(none)", text);
    assert_null(u);
    free(diag);
}

/* Translates src, which must succeed; returns the emitted OpenCL C. */
static char *expect_source(const char *src)
{
    lang_unit *u;
    char *diag;
    kiln_status s = parse_translate(src, &u, &diag);
    if (s != KILN_OK)
        fail_msg("source:\n%s\nstatus %d:\n%s", src, (int)s, diag ? diag : "");
    char *out = strdup(lang_unit_source(u));
    assert_non_null(out);
    lang_unit_free(u);
    free(diag);
    return out;
}

#define K "kernel void k(global int *p) "

static void struct_errors(void **state)
{
    (void)state;
    expect_error("struct s { global int a; };", "parse.kc:1:12: error: struct members take no qualifiers but 'const'");
    expect_error("struct s { int *a; };", "parse.kc:1:17: error: pointer members are not supported in structs");
    expect_error("struct s { void v; };", "parse.kc:1:17: error: member 'v' has an incomplete type");
    expect_error("struct t;\nstruct s { struct t x; };", "parse.kc:2:21: error: member 'x' has an incomplete type");
    expect_error("struct s { int a[]; };", "parse.kc:1:16: error: member 'a' has an incomplete type");
    expect_error("struct s { int a; float a; };", "parse.kc:1:25: error: duplicate member 'a'");
    expect_error("struct s { int a[200000000]; int b[200000000]; };", "parse.kc:1:34: error: struct is too large");
    expect_error("struct s { };", "parse.kc:1:1: error: a struct needs at least one member");
    expect_error("struct s { int a; };\nstruct s { int b; };", "parse.kc:2:1: error: redefinition of 'struct s'");
    expect_error("struct { int a; } v;\nstruct 3 x;", "parse.kc:2:1: error: expected a struct name or '{'");
    expect_error("struct s { int a; };\nint struct s x;", "parse.kc:2:5: error: two types in one declaration");
}

static void specifier_errors(void **state)
{
    (void)state;
    expect_error(K "{ global shared int *q = p; }", "parse.kc:1:39: error: conflicting address spaces 'global' and 'shared'");
    expect_error(K "{ unsigned signed int x = 0; }", "parse.kc:1:32: error: invalid combination of type keywords");
    expect_error("extern int x;", "parse.kc:1:1: error: 'extern' is not allowed: a kernel source is one unit");
    expect_error(K "{ float int x = 0; }", "parse.kc:1:32: error: two types in one declaration");
    expect_error(K "{ int float x = 0; }", "parse.kc:1:36: error: two types in one declaration");
    expect_error("typedef int a;\ntypedef float a;", "parse.kc:2:15: error: redefinition of typedef 'a'");
    expect_error("int;", "parse.kc:1:1: error: declaration declares nothing");
    expect_error(K "{ int; }", "parse.kc:1:32: error: declaration declares nothing");
    expect_error(K "{ typedef int t; }", "parse.kc:1:32: error: typedef is allowed at file scope only");
    expect_error(K "{ kernel int x = 0; }", "parse.kc:1:32: error: 'kernel' applies to functions only");
    expect_error("kernel constant int x = 0;", "parse.kc:1:21: error: 'kernel' applies to functions only");
    expect_error(K "{ int f(int a); }", "parse.kc:1:36: error: functions cannot be declared inside a function");
    /* double3 is not a Kiln C type, so it is an unknown name here. */
    expect_error(K "{ double3 v; }", "parse.kc:1:40: error: expected ';' after the expression, found 'v'");
}

static void declarator_errors(void **state)
{
    (void)state;
    expect_error(K "{ int a[0]; }", "parse.kc:1:38: error: array size of 'a' must be between 1 and 1073741824");
    expect_error(K "{ int a[-2]; }", "parse.kc:1:38: error: array size of 'a' must be between 1 and 1073741824");
    expect_error(K "{ int (x) = 1; }", "parse.kc:1:36: error: unexpected '(' in a declarator");
    expect_error("kernel void k(global int **p) { }", "parse.kc:1:28: error: pointers to pointers are not supported");
    expect_error(K "{ int a[1][1][1][1][1][1][1][1][1]; }", "parse.kc:1:36: error: too many array dimensions (limit 8)");
    expect_error(K "{ int a[2][] = {{1}}; }", "parse.kc:1:36: error: only the first array dimension may be omitted");
    expect_error(K "{ global int *a[4]; }", "parse.kc:1:44: error: arrays of pointers are not supported");
    expect_error(K "{ int a[1000][1000][1000]; }", "parse.kc:1:36: error: array 'a' is too large");
    expect_error("void f(global int a) { }", "parse.kc:1:19: error: parameter 'a': an address space qualifies a pointer parameter only");
    expect_error("void f(int a[4]) { }", "parse.kc:1:12: error: parameter 'a': array parameters are not supported");
    expect_error("global int f(void) { return 0; }", "parse.kc:1:12: error: function 'f' cannot have an address space");
    expect_error("int *f(void) { return 0; }", "parse.kc:1:6: error: function 'f' cannot return a pointer");
    expect_error("constant int *cp = 0;", "parse.kc:1:15: error: file-scope pointer 'cp' is not allowed");
    expect_error("constant int c;", "parse.kc:1:14: error: constant 'c' needs an initializer");
    /* const, restrict and volatile after '*' are accepted. */
    char *out = expect_source("kernel void k(global int * const restrict volatile p) { p[0] = 1; }");
    assert_non_null(strstr(out, "p[0] = 1"));
    free(out);
}

static void parameter_limit(void **state)
{
    (void)state;
    enum { PARAMS = 260 };
    char *src = malloc(PARAMS * 16 + 64);
    assert_non_null(src);
    size_t n = (size_t)sprintf(src, "void f(");
    for (int i = 0; i < PARAMS; i++)
        n += (size_t)sprintf(src + n, "%sint a%d", i ? ", " : "", i);
    sprintf(src + n, ") { }");
    expect_error(src, "error: a function has at most 256 parameters");
    free(src);
}

static void expression_errors(void **state)
{
    (void)state;
    expect_error(K "{ p[0] = 'ab'; }", "parse.kc:1:39: error: invalid character literal 'ab'");
    expect_error(K "{ p[0] = \"s\"; }", "parse.kc:1:39: error: string literals are not supported");
    expect_error(K "{ p[0] =", "parse.kc:1:38: error: expected an expression at end of input\n"
                               K "{ p[0] =\n" "                                     ^\n");
    /* At the end of a last line that ends in '\n' there is no line to show. */
    lang_unit *u;
    char *diag;
    assert_int_equal(parse_translate(K "{ p[0] =\n", &u, &diag), KILN_ERR_COMPILE);
    assert_string_equal(diag, "parse.kc:2:1: error: expected an expression at end of input\n");
    free(diag);
    expect_error(K "{ int2 v = make_int2(1, 2); p[0] = v. 1; }", "parse.kc:1:68: error: expected a member name after '.'");
    expect_error(K "{ int2 v = (int2){1, 2}; p[0] = v.x; }", "parse.kc:1:47: error: compound literals are not supported");
    expect_error(K "{ float f = 0x1p3f; }", "parse.kc:1:42: error: invalid floating literal '0x1p3f'");
    expect_error(K "{ float f = 1e+f; }", "parse.kc:1:42: error: invalid floating literal '1e+f'");
    expect_error(K "{ float f = 1.5ex; }", "parse.kc:1:42: error: invalid floating literal '1.5ex'");
    expect_error(K "{ p[0] = 099; }", "parse.kc:1:39: error: invalid integer literal '099'");
}

static void statement_errors(void **state)
{
    (void)state;
    expect_error(K "{ else p[0] = 1; }", "parse.kc:1:32: error: 'else' without a matching 'if'");
    expect_error(K "{ do p[0] = 1; until (1); }", "parse.kc:1:45: error: expected 'while' after the do body");
    expect_error(K "{ p[0] = 1;", "parse.kc:1:30: error: unterminated block: missing '}'");
    expect_error("@ " K "{ }", "parse.kc:1:1: error: unexpected character '@'");
    expect_error(K "{ p[0] = 1; $ }", "parse.kc:1:42: error: unexpected character '$'");
    /* After an error the parser skips to the next declaration. */
    lang_unit *u;
    char *diag;
    assert_int_equal(parse_translate("int x y;\n}\nstruct s { int a; } };\n" K "{ p[0] = ; }", &u, &diag),
                     KILN_ERR_COMPILE);
    assert_non_null(strstr(diag, "parse.kc:1:7: error: expected ';' after a file-scope declaration"));
    assert_non_null(strstr(diag, "parse.kc:2:1: error: expected a type"));
    assert_non_null(strstr(diag, "parse.kc:4:39: error: expected an expression"));
    free(diag);
}

/* Constructs that parse and translate: the emitted text shows how. */
static void accepted_corner_cases(void **state)
{
    (void)state;
    char *out = expect_source(";\nint f(int a, int b, int c, int d, int e) { return a + b + c + d + e; }\n"
                              "int g() { return 7; }\n"
                              "constant int c0 = 0, c1 = 1, c2 = 2, c3 = 3, c4 = 4, c5 = 5, c6 = 6, "
                              "c7 = 7, c8 = 8;\n"
                              "typedef int t1, t2;\n"
                              "kernel void k(global int *p) {\n"
                              "  int a = 1, b = 2, c = 3, d = 4, e = 5;\n"
                              "  bool yes = true, no = false;\n"
                              "  signed char sc = (signed char)1; unsigned short us = 2;\n"
                              "  t1 x = (t2)sizeof p[0];\n"
                              "  char half2 = 'z';\n"
                              "  for (int i = 0; i < 1; i++) {}\n"
                              "  if (yes) {} else ;\n"
                              "  if (no) ; else { {} }\n"
                              "  float fe = 1.5e+3f, fg = 2E-2f;\n"
                              "  p[0] = f(a, b, c, d, e) + g() + c8 + x + (yes && !no) + sc + us + half2;\n"
                              "}\n");
    assert_non_null(strstr(out, "f(a, b, c, d, e)"));
    /* half2 is an OpenCL vector type name: the user's variable is renamed. */
    assert_non_null(strstr(out, "kiln_u_half2"));
    assert_non_null(strstr(out, "1.5e+3f"));
    assert_non_null(strstr(out, "2E-2f"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(struct_errors),
        cmocka_unit_test(specifier_errors),
        cmocka_unit_test(declarator_errors),
        cmocka_unit_test(parameter_limit),
        cmocka_unit_test(expression_errors),
        cmocka_unit_test(statement_errors),
        cmocka_unit_test(accepted_corner_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
