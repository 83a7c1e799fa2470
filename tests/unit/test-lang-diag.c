/* Every error kind of the front end: status KILN_ERR_COMPILE, the position
 * "bad.kc:line:col: error:", the rule named, the source line and a caret. */
#include "lang/harness.h"

static const lang_caps no_caps = {0, 0, 0, 0};

static void expect_diag_caps(const char *src, lang_caps caps, const char *where, const char *text)
{
    char *diag = harness_translate_error(src, caps);
    if (!strstr(diag, where) || !strstr(diag, text)) {
        fprintf(stderr, "diagnostics:\n%s\nexpected '%s' and '%s'\n", diag, where, text);
        free(diag);
        fail_msg("diagnostic mismatch");
    }
    assert_non_null(strstr(diag, "^\n"));
    free(diag);
}

static void expect_diag(const char *src, const char *where, const char *text)
{
    expect_diag_caps(src, harness_all_caps, where, text);
}

static void syntax_error_points_at_the_token(void **state)
{
    (void)state;
    expect_diag("kernel void k(global int *p)\n{\n    p[0] = 1\n}\n", "bad.kc:4:1: error:",
                "expected ';'");
    expect_diag("kernel void k(global int *p) { p[0] = (1 + ; }", "bad.kc:1:44: error:",
                "expected an expression");
    expect_diag("kernel void k(global int *p) { p[0] = 1; }\n@", "bad.kc:2:1: error:",
                "unexpected character '@'");
}

static void caret_line_follows_the_source_line(void **state)
{
    (void)state;
    char *diag = harness_translate_error("kernel void k(global int *p)\n{\n\tp[0] = q;\n}\n", harness_all_caps);
    assert_non_null(strstr(diag, "bad.kc:3:9: error: use of undeclared identifier 'q'\n"
                                 "\tp[0] = q;\n\t       ^\n"));
    free(diag);
}

static void undeclared_names(void **state)
{
    (void)state;
    expect_diag("kernel void k(global int *p) { p[0] = missing; }", "bad.kc:1:39:",
                "undeclared identifier 'missing'");
    expect_diag("kernel void k(global int *p) { p[0] = nothere(1); }", "bad.kc:1:39:",
                "undeclared function 'nothere'");
    expect_diag("kernel void k(global struct nope *p) { }", "bad.kc:1:35:", "incomplete type");
}

static void type_mismatches(void **state)
{
    (void)state;
    expect_diag("struct s { int a; };\nkernel void k(global int *p) { struct s v; p[0] = v; }",
                "bad.kc:2:51:", "cannot convert 'struct s' to 'int'");
    expect_diag("kernel void k(global float *p) { float4 v = make_float4(1.0f, 2.0f, 3.0f, 4.0f);"
                " int2 w = make_int2(1, 2); v = v + w; }", "error:", "type mismatch");
    expect_diag("kernel void k(global float *p) { p[0] = p; }", "bad.kc:1:41:",
                "cannot convert 'global float *' to 'float'");
    expect_diag("int f(int a) { return a; }\nkernel void k(global int *p) { p[0] = f(1, 2); }",
                "bad.kc:2:39:", "'f' takes 1 argument(s), 2 given");
}

static void address_space_rules(void **state)
{
    (void)state;
    expect_diag("kernel void k(global const float *p) { p[0] = 1.0f; }", "bad.kc:1:41:",
                "read-only global const data (rule: address spaces)");
    expect_diag("void f(global float *g) { g[0] = 1.0f; }\n"
                "kernel void k(global float *p) { shared float s[4]; f(s); }",
                "bad.kc:2:55:", "cannot use a shared pointer ('shared float *') where a global "
                                "pointer ('global float *') is expected (rule: address spaces)");
    expect_diag("kernel void k(global const int *p) { atomic_add(&p[0], 1); }", "bad.kc:1:49:",
                "cannot modify read-only data");
    expect_diag("constant int t[2] = {1, 2};\nkernel void k(global int *p) { t[0] = 3; }",
                "bad.kc:2:33:", "constant memory is read-only");
}

static void recursion_is_rejected_direct_and_indirect(void **state)
{
    (void)state;
    expect_diag("int f(int n) { return n ? f(n - 1) : 0; }\nkernel void k(global int *p) { p[0] = f(3); }",
                "bad.kc:1:5:", "recursion is not allowed: 'f' calls 'f' (rule: no recursion)");
    expect_diag("int b(int n);\nint a(int n) { return b(n); }\nint b(int n) { return a(n); }\n"
                "kernel void k(global int *p) { p[0] = a(3); }",
                "bad.kc:2:5:", "recursion is not allowed: 'a' calls 'b' calls 'a' (rule: no recursion)");
}

static void forbidden_constructs_name_their_rule(void **state)
{
    (void)state;
    expect_diag("kernel void k(global int *p) { int (*fp)(int); }", "bad.kc:1:36:",
                "function pointers are not allowed");
    expect_diag("int f(int a) { return a; }\nkernel void k(global int *p) { p[0] = f + 1; }",
                "bad.kc:2:39:", "(rule: no function pointers)");
    expect_diag("kernel void k(global int *p) { p[0] = malloc(4); }", "bad.kc:1:39:",
                "dynamic allocation is not allowed: 'malloc' (rule: no dynamic allocation)");
    expect_diag("static int counter = 0;\nkernel void k(global int *p) { p[0] = counter; }",
                "bad.kc:1:12:", "mutable file-scope variable 'counter' is not allowed (rule: no "
                                "'static' mutable globals)");
    expect_diag("int counter;\nkernel void k(global int *p) { p[0] = 1; }", "bad.kc:1:5:",
                "(rule: no mutable globals)");
    expect_diag("kernel void k(global int *p, int n) { int a[n]; p[0] = a[0]; }", "bad.kc:1:45:",
                "variable-length arrays are not allowed");
    expect_diag("kernel void k(global int *p) { goto end; end: p[0] = 1; }", "bad.kc:1:32:",
                "goto is not allowed (rule: no goto)");
    expect_diag("kernel void k(global int *p) { static int c = 0; p[0] = c; }", "bad.kc:1:32:",
                "(rule: no mutable static variables)");
}

static void capabilities_are_named(void **state)
{
    (void)state;
    expect_diag_caps("kernel void k(global double *p) { p[0] = 1.0; }", no_caps, "bad.kc:1:30:",
                     "'double' needs the device capability 'double' (caps.has_double)");
    expect_diag_caps("kernel void k(global float *p) { atomic_add(p, 1.0f); }", no_caps,
                     "bad.kc:1:34:", "capability 'float atomics' (caps.has_float_atomics)");
    expect_diag_caps("kernel void k(global long *p) { atomic_add(p, 1l); }", no_caps,
                     "bad.kc:1:33:", "capability '64-bit atomics' (caps.has_int64_atomics)");
    expect_diag_caps("kernel void k(global float *p) { p[0] = 2.0 * p[1]; }", no_caps,
                     "bad.kc:1:41:", "use float (e.g. the 'f' suffix: 1.0f)");
}

static void barrier_rules(void **state)
{
    (void)state;
    expect_diag("void h(void) { barrier(); }\nkernel void k(global int *p) { h(); }", "bad.kc:1:16:",
                "barrier() is allowed only in a kernel's body, not in helper function 'h' (rule: "
                "barrier placement)");
    expect_diag("kernel void k(global int *p) { switch (p[0]) { case 0: barrier(); } }",
                "bad.kc:1:56:", "barrier() inside a switch is not allowed");
    expect_diag("kernel void k(global int *p) {\n float big[100000];\n big[p[0]] = 1.0f;\n barrier();\n"
                " p[1] = (int)big[p[2]];\n}", "bad.kc:1:13:",
                "kernel 'k' needs 409601024 bytes of shared memory and per-work-item copies on the CPU");
    expect_diag("kernel void k(global int *p) { for (int i = 0; i < 4; i++) { if (p[i]) break; "
                "barrier(); } }", "bad.kc:1:72:",
                "'break' out of a loop that contains barrier() is not supported (rule: barrier "
                "placement)");
}

static void preprocessor_errors(void **state)
{
    (void)state;
    expect_diag("#include <stdio.h>\nkernel void k(global int *p) { }", "bad.kc:1:2:",
                "#include is not supported");
    expect_diag("#if 1\nkernel void k(global int *p) { }\n", "bad.kc:1:1:", "unterminated #if");
    expect_diag("#if 1 / 0\n#endif\n", "bad.kc:1:7:", "division by zero");
    expect_diag("#define F(a, b) a\nint x = F(1);", "bad.kc:2:10:",
                "macro 'F' takes 2 argument(s), 1 given");
    /* Exponential expansion ends in an error, not a hang. */
    expect_diag("#define A0 x x\n#define A1 A0 A0\n#define A2 A1 A1\n#define A3 A2 A2\n"
                "#define A4 A3 A3\n#define A5 A4 A4\n#define A6 A5 A5\n#define A7 A6 A6\n"
                "#define A8 A7 A7\n#define A9 A8 A8\n#define B0 A9 A9 A9 A9 A9 A9 A9 A9\n"
                "#define B1 B0 B0 B0 B0 B0 B0 B0 B0\n#define B2 B1 B1 B1 B1 B1 B1 B1 B1\n"
                "#define B3 B2 B2 B2 B2 B2 B2 B2 B2\nB3\n", "error:", "macro expansion too large");
    /* A self-referencing macro stops expanding (hide set) and is an
     * undeclared name afterwards. */
    expect_diag("#define X X + 1\nkernel void k(global int *p) { p[0] = X; }", "bad.kc:2:39:",
                "undeclared identifier 'X'");
}

static void deep_nesting_is_an_error_not_a_crash(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *src = malloc(depth * 2 + 200);
    strcpy(src, "kernel void k(global int *p) { p[0] = ");
    size_t n = strlen(src);
    for (size_t i = 0; i < depth; i++)
        src[n++] = '(';
    src[n++] = '1';
    for (size_t i = 0; i < depth; i++)
        src[n++] = ')';
    strcpy(src + n, "; }");
    char *diag = harness_translate_error(src, harness_all_caps);
    assert_non_null(strstr(diag, "nesting too deep"));
    free(diag);
    n = strlen("kernel void k(global int *p) { p[0] = ");
    for (size_t i = 0; i < depth; i++) {
        src[n + 2 * i] = '1';
        src[n + 2 * i + 1] = '+';
    }
    strcpy(src + n + 2 * depth, "1; }");
    diag = harness_translate_error(src, harness_all_caps);
    assert_non_null(strstr(diag, "nesting too deep"));
    free(diag);
    free(src);
}

/* Inputs built to make a naive front end quadratic finish in well under a
 * second each: macro chains, huge structs, many typedefs and temporaries. */
static void pathological_inputs_stay_fast(void **state)
{
    (void)state;
    enum { N = 20000 };
    size_t cap = (size_t)N * 64 + 256;
    char *src = malloc(cap);
    clock_t start = clock();
    size_t n = 0;
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(src + n, cap - n, "#define M%d M%d\n", i, i + 1);
    snprintf(src + n, cap - n, "kernel void k(global int *p) { p[0] = M0; }\n");
    char *diag = harness_translate_error(src, harness_all_caps);
    assert_non_null(strstr(diag, "macro expansion nested too deeply"));
    free(diag);
    n = (size_t)snprintf(src, cap, "struct big {");
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(src + n, cap - n, " int m%d;", i);
    snprintf(src + n, cap - n, " };\n");
    diag = harness_translate_error(src, harness_all_caps);
    assert_non_null(strstr(diag, "at most 1024 members"));
    free(diag);
    n = 0;
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(src + n, cap - n, "typedef int t%d;\n", i);
    n += (size_t)snprintf(src + n, cap - n, "kernel void k(global int *p) {\n");
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(src + n, cap - n, " t%d v%d = (t%d)local_id(0); barrier(); p[%d] = v%d;\n",
                              N - 1 - i, i, i, i, i);
    snprintf(src + n, cap - n, "}\n");
    lang_unit *u = harness_translate(src, PORT_DIALECT_C, NULL, harness_all_caps);
    lang_unit_free(u);
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    fprintf(stderr, "pathological inputs: %.2f s\n", seconds);
    assert_true(seconds < 20.0);
    free(src);
}

static void several_errors_are_reported_and_capped(void **state)
{
    (void)state;
    char *diag = harness_translate_error(
        "kernel void a(global int *p) { p[0] = x; }\nkernel void b(global int *p) { p[0] = y; }\n",
        harness_all_caps);
    assert_non_null(strstr(diag, "bad.kc:1:39:"));
    assert_non_null(strstr(diag, "bad.kc:2:39:"));
    free(diag);
    char src[4096] = "kernel void k(global int *p) {\n";
    for (int i = 0; i < 40; i++)
        strcat(src, " p[0] = nope;\n");
    strcat(src, "}\n");
    diag = harness_translate_error(src, harness_all_caps);
    assert_non_null(strstr(diag, "too many errors"));
    int count = 0;
    for (const char *s = diag; (s = strstr(s, ": error:")) != NULL; s++)
        count++;
    assert_true(count <= 21);
    free(diag);
}

static void random_bytes_never_crash(void **state)
{
    (void)state;
    char *base = harness_read_corpus("everything.kc");
    size_t len = strlen(base);
    for (int round = 0; round < 300; round++) {
        char *mutated = malloc(len + 1);
        memcpy(mutated, base, len + 1);
        for (int m = 0; m < 1 + rand() % 8; m++) {
            size_t at = (size_t)rand() % len;
            mutated[at] = (char)(rand() % 128);
        }
        lang_request req = {mutated, len, "fuzz.kc", "-DX=1", (port_dialect)(1 + rand() % 3),
                            {rand() % 2, rand() % 2, rand() % 2, rand() % 2}};
        lang_unit *u = NULL;
        char *diag = NULL;
        kiln_status s = lang_translate(&req, &u, &diag);
        assert_true(s == KILN_OK || s == KILN_ERR_COMPILE);
        assert_true((s == KILN_OK) == (u != NULL));
        lang_unit_free(u);
        free(diag);
        free(mutated);
    }
    free(base);
}

int main(void)
{
    harness_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syntax_error_points_at_the_token),
        cmocka_unit_test(caret_line_follows_the_source_line),
        cmocka_unit_test(undeclared_names),
        cmocka_unit_test(type_mismatches),
        cmocka_unit_test(address_space_rules),
        cmocka_unit_test(recursion_is_rejected_direct_and_indirect),
        cmocka_unit_test(forbidden_constructs_name_their_rule),
        cmocka_unit_test(capabilities_are_named),
        cmocka_unit_test(barrier_rules),
        cmocka_unit_test(preprocessor_errors),
        cmocka_unit_test(deep_nesting_is_an_error_not_a_crash),
        cmocka_unit_test(pathological_inputs_stay_fast),
        cmocka_unit_test(several_errors_are_reported_and_capped),
        cmocka_unit_test(random_bytes_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
