/* Semantic errors of Kiln C (src/lang/sema*.c): each source must fail with
 * KILN_ERR_COMPILE and a diagnostic at the given line that says what is
 * wrong (and names the rule where one applies), with the source line and
 * a caret. */
#include "lang/harness.h"

typedef struct sema_case {
    const char *src;
    unsigned line;
    const char *text;
} sema_case;

/* The body of a kernel whose first statement is on line 4; struct s,
 * float4 v, int x and int a[2] are in scope on line 3. */
#define PRE "struct s { int a; };\nkernel void k(global int *p, global float *f, int n)\n{\n"
#define LOCALS "    struct s t; float4 v = make_float4(1, 2, 3, 4); int x = 0; int a[2];\n"
#define BODY(stmts) PRE LOCALS stmts "\n}\n"

static void expect_cases(const sema_case *cases, size_t count, lang_caps caps)
{
    size_t failed = 0;
    for (size_t i = 0; i < count; i++) {
        char *diag = harness_translate_error(cases[i].src, caps);
        char where[32];
        snprintf(where, sizeof where, "bad.kc:%u:", cases[i].line);
        if (!strstr(diag, where) || !strstr(diag, cases[i].text) || !strstr(diag, "^\n")) {
            fprintf(stderr, "case %zu, source:\n%s\ndiagnostics:\n%s\nexpected '%s' and '%s'\n\n",
                    i, cases[i].src, diag, where, cases[i].text);
            failed++;
        }
        free(diag);
    }
    if (failed)
        fail_msg("%zu diagnostic mismatch(es)", failed);
}

#define EXPECT(cases) expect_cases(cases, sizeof cases / sizeof cases[0], harness_all_caps)

static void operators_on_wrong_types(void **state)
{
    (void)state;
    static const sema_case cases[] = {
        {BODY("    p[0] = -t;"), 5, "unary '-' needs a number or vector, not 'struct s'"},
        {BODY("    p[0] = !t;"), 5, "'!' needs a scalar, not 'struct s'"},
        {BODY("    p[0] = ~1.5f;"), 5, "'~' needs an integer, not 'float'"},
        {BODY("    p[0] = *x;"), 5, "'*' needs a pointer, not 'int'"},
        {BODY("    global int *q = &1;"), 5, "'&' needs an lvalue"},
        {BODY("    global float *q = &v.x;"), 5, "cannot take the address of a vector component"},
        {BODY("    ++t;"), 5, "increment needs a number or pointer, not 'struct s'"},
        {BODY("    --x; ++1;"), 5, "'++' needs an assignable location (an lvalue)"},
        {BODY("    t++;"), 5, "increment needs a number or pointer"},
        {BODY("    missing--; x--;"), 5, "use of undeclared identifier 'missing'"},
        {BODY("    v = v % v;"), 5, "operator '%' is not supported on vectors (only + - * /)"},
        {BODY("    int4 w = make_int4(1, 2, 3, 4);\n    w = w * 1.5f;"), 6,
         "type mismatch: 'int4' * 'float'"},
        {BODY("    v = v + t;"), 5, "type mismatch: 'float4' + 'struct s'"},
        {BODY("    f[0] = 1.5f << 2;"), 5, "invalid operands to '<<': 'float' and 'int'"},
        {BODY("    p[0] = t - 1;"), 5, "invalid operands to '-': 'struct s' and 'int'"},
        {BODY("    p[0] = t % 2;"), 5, "invalid operands to '%': 'struct s' and 'int'"},
        {BODY("    p[0] = p < 1.5f;"), 5, "invalid operands to '<': 'global int *' and 'float'"},
        {BODY("    p[0] = t && 1;"), 5, "invalid operands to '&&': 'struct s' and 'int'"},
        {BODY("    p[0] = t ? 1 : 2;"), 5, "condition needs a scalar, not 'struct s'"},
        {BODY("    p[0] = n ? p : 1.5f;"), 5, "type mismatch in '?:': 'global int *' and 'float'"},
        {BODY("    p[0] = (n ? missing : 1);"), 5, "use of undeclared identifier 'missing'"},
        {BODY("    p[0] = sizeof(missing);"), 5, "use of undeclared identifier 'missing'"},
        {BODY("    p[0] = (int)missing;"), 5, "use of undeclared identifier 'missing'"},
        {BODY("    p[0] = sqrt;"), 5, "builtin 'sqrt' can only be called"},
        {BODY("    x = sizeof(void);"), 5, "sizeof of an incomplete type"},
    };
    EXPECT(cases);
}

static void assignments_and_lvalues(void **state)
{
    (void)state;
    static const sema_case cases[] = {
        {BODY("    int b[2];\n    a = b;"), 6, "assignment: arrays cannot be assigned as a whole"},
        {BODY("    missing = -missing;"), 5, "use of undeclared identifier 'missing'"},
        {BODY("    const int c = 1;\n    c = 2;"), 6, "assignment: 'c' is const"},
        {BODY("    x += v;"), 5, "type mismatch in compound assignment"},
        {BODY("    x += missing;"), 5, "use of undeclared identifier 'missing'"},
        {BODY("    float4 w[2];\n    w[x++] *= 2.0f;"), 6,
         "vector compound assignment needs a target without side effects"},
        {BODY("    x = 9223372036854775808;"), 5,
         "integer literal is too large for 'long'; add a 'ul' suffix"},
        {BODY("    t = 4294967296;"), 5, "cannot convert 'long' to 'struct s'"},
        {BODY("    t = 5000000000L;"), 5, "cannot convert 'long' to 'struct s'"},
        {BODY("    t = 0xFFFFFFFFFFFFFFFF;"), 5, "cannot convert 'ulong' to 'struct s'"},
        {BODY("    t = 0x80000000;"), 5, "cannot convert 'uint' to 'struct s'"},
        {BODY("    t = 18446744073709551615u;"), 5, "cannot convert 'ulong' to 'struct s'"},
        {BODY("    int y = {{1}};"), 5, "an initializer list is allowed only in a declaration"},
    };
    EXPECT(cases);
}

static void casts_and_pointers(void **state)
{
    (void)state;
    static const sema_case cases[] = {
        {BODY("    global int *q = (shared int *)p;"), 5,
         "a cast cannot change the address space ('global int *' to 'shared int *') "
         "(rule: address spaces)"},
        {BODY("    v = (float4)1.5f;"), 5,
         "invalid cast from 'float' to 'float4' (build vectors with make_...)"},
        {BODY("    t = (struct s)1;"), 5, "invalid cast from 'int' to 'struct s'"},
        {"void g(global float *q) { q[0] = 1.0f; }\n"
         "kernel void k(global int *p) { g(p); }",
         2, "type mismatch in argument 1 ('q') of 'g': cannot convert 'global int *' to "
            "'global float *'"},
        {"void g(global float *q) { q[0] = 1.0f; }\n"
         "kernel void k(global const float *p) { g(p); }",
         2, "argument 1 ('q') of 'g' discards 'const': 'global const float *' points to "
            "read-only data (rule: address spaces)"},
        {BODY("    int *q = &x;"), 5,
         "pointer variable 'q' must point to global or shared memory"},
    };
    EXPECT(cases);
}

static void declarations_and_initializers(void **state)
{
    (void)state;
    static const sema_case cases[] = {
        {BODY("    int kiln_x = 1;"), 5, "identifier 'kiln_x' is reserved: names starting with "
                                          "'kiln_' belong to the translator"},
        {BODY("    int x = 1;"), 5, "redeclaration of 'x'"},
        {BODY("    int b[2] = 5;"), 5, "array 'b' needs an initializer list"},
        {BODY("    int b[2] = {1, 2, 3};"), 5, "too many initializers for 'b' (3 for 2 elements)"},
        {BODY("    struct s u = {1, 2};"), 5, "too many initializers for 'u'"},
        {BODY("    float4 w = {1, 2, 3, 4};"), 5,
         "initialize vector 'w' with make_float4(...), not braces"},
        {BODY("    int y = {1, 2};"), 5, "scalar 'y' takes one initializer"},
        {BODY("    int y = {t};"), 5, "cannot convert 'struct s' to 'int'"},
        {BODY("    struct r u;"), 5, "variable 'u' has an incomplete type 'struct r'"},
        {BODY("    constant int c[1] = {1};"), 5,
         "constant table 'c' must be declared at file scope"},
        {BODY("    global int y;"), 5, "'global' qualifies pointers only; 'y' is not a pointer"},
        {"void g(void) { shared int s[2]; s[0] = 1; }\nkernel void k(global int *p) { g(); }", 1,
         "shared variable 's' must be declared in a kernel, not in helper 'g'"},
        {BODY("    if (n) { shared int s[2]; s[0] = 1; }"), 5,
         "shared variable 's' must be declared in the outermost block of the kernel"},
        {BODY("    shared int s = 1;"), 5, "shared variable 's' cannot have an initializer"},
        {"constant int c = 1;\nconstant int d[2] = {c, 2};\nkernel void k(global int *p) { }",
         2, "the initializer of constant 'd' must be a constant expression"},
        {"constant int c[2][2] = {{1, 2}, {3, sqrt(4)}};\nkernel void k(global int *p) { }", 1,
         "the initializer of constant 'c' must be a constant expression"},
        {"constant float c[1] = {1 + (float)sqrt(4.0f)};\nkernel void k(global int *p) { }", 1,
         "the initializer of constant 'c' must be a constant expression"},
        {"constant int c = 1;\nconstant int d[1] = {*&c};\nkernel void k(global int *p) { }", 2,
         "the initializer of constant 'd' must be a constant expression"},
        {BODY("    void u;"), 5, "variable 'u' has an incomplete type 'void'"},
        {"struct r;\nconstant struct r c = {1};\nkernel void k(global int *p) { }", 2,
         "constant 'c' has an incomplete type"},
        {"struct kiln_s { int a; };\nkernel void k(global int *p) { }", 1,
         "identifier 'kiln_s' is reserved"},
    };
    EXPECT(cases);
}

static void statements(void **state)
{
    (void)state;
    static const sema_case cases[] = {
        {BODY("    if (t) x = 1;"), 5, "if condition needs a scalar, not 'struct s'"},
        {BODY("    break;"), 5, "'break' outside a loop or switch"},
        {BODY("    continue;"), 5, "'continue' outside a loop"},
        {BODY("    return 1;"), 5, "'k' returns void; return takes no value"},
        {"int g(void) { return; }\nkernel void k(global int *p) { p[0] = g(); }", 1,
         "'g' must return a value"},
        {BODY("    switch (1.5f) { default: break; }"), 5, "switch needs an integer, not 'float'"},
        {BODY("    switch (x) { case n: break; }"), 5, "case label must be an integer constant"},
        {BODY("    switch (x) { case 1.5f: break; }"), 5, "case label must be an integer constant"},
        {BODY("    case 1: x = 2;"), 5, "'case' outside a switch"},
        {BODY("    default: x = 2;"), 5, "'default' outside a switch"},
    };
    EXPECT(cases);
}

static void functions_and_kernels(void **state)
{
    (void)state;
    static const sema_case cases[] = {
        {"int g(int a);\nfloat g(int a) { return 1.0f; }\nkernel void k(global int *p) { }", 2,
         "conflicting declarations of 'g'"},
        {"int g(int a);\nint g(float a) { return 1; }\nkernel void k(global int *p) { }", 2,
         "conflicting declarations of 'g'"},
        {"int g(int a) { return a; }\nint g(int a) { return 2; }\nkernel void k(global int *p) { }",
         2, "redefinition of 'g'"},
        {"float sqrt(float a) { return a; }\nkernel void k(global int *p) { }", 1,
         "'sqrt' is a builtin function and cannot be redefined"},
        {"kernel void main(global int *p) { }", 1,
         "kernel name 'main' is reserved in a target language; rename the kernel"},
        {"kernel void k(shared int *p) { }", 1,
         "kernel parameter 'p': a kernel's pointer parameters must be 'global' buffers"},
        {"void g(int *q) { }\nkernel void k(global int *p) { }", 1,
         "pointer parameter 'q' of 'g' must be declared global or shared"},
        {"kernel int k(global int *p) { return 1; }", 1, "kernel 'k' must return void"},
        {"struct r;\nkernel void k(struct r x) { }", 2,
         "parameter 'x' has an incomplete type 'struct r'"},
        {"struct r;\nstruct r g(void) { }\nkernel void k(global int *p) { }", 2,
         "'g' returns an incomplete type"},
        {"int g(int a);\nkernel void k(global int *p) { p[0] = g(1); }", 2,
         "'k' calls 'g', which is declared but never defined"},
        {"kernel void j(global int *p) { }\nkernel void k(global int *p) { j(p); }", 2,
         "kernel 'j' cannot be called from device code"},
        {BODY("    p[0] = malloc(4);"), 5,
         "dynamic allocation is not allowed: 'malloc' (rule: no dynamic allocation)"},
        {BODY("    p[0] = nothere(missing);"), 5, "use of undeclared identifier 'missing'"},
    };
    EXPECT(cases);
}

/* A chain of helpers deeper than the front end follows is refused. The
 * helpers are declared first, so the search starts at the chain's head. */
static void call_chain_depth_is_bounded(void **state)
{
    (void)state;
    enum { DEPTH = 205 };
    size_t cap = DEPTH * 96 + 128;
    char *src = malloc(cap);
    assert_non_null(src);
    size_t used = 0;
    for (int i = 1; i <= DEPTH; i++)
        used += (size_t)snprintf(src + used, cap - used, "int f%d(int a);\n", i);
    for (int i = 0; i < DEPTH; i++)
        used += (size_t)snprintf(src + used, cap - used, "int f%d(int a) { return f%d(a) + 1; }\n",
                                 i, i + 1);
    used += (size_t)snprintf(src + used, cap - used, "int f%d(int a) { return a; }\n", DEPTH);
    snprintf(src + used, cap - used, "kernel void k(global int *p) { p[0] = f0(1); }\n");
    char *diag = harness_translate_error(src, harness_all_caps);
    assert_non_null(strstr(diag, "error: call chain from 'f200' is too deep"));
    free(diag);
    free(src);
}

static void access_and_members(void **state)
{
    (void)state;
    static const sema_case cases[] = {
        {BODY("    p[0] = a[1.5f];"), 5, "array index must be an integer, not 'float'"},
        {BODY("    p[0] = x[0];"), 5, "'int' cannot be indexed"},
        {BODY("    p[0] = x->a;"), 5, "'->' needs a pointer to a struct, not 'int'"},
        {BODY("    f[0] = v.q;"), 5, "'float4' has no component 'q'"},
        {BODY("    f[0] = v.xy;"), 5, "'float4' has no component 'xy' (swizzles are not supported)"},
        {BODY("    f[0] = make_float2(1, 2).z;"), 5, "'float2' has no component 'z'"},
        {BODY("    p[0] = x.a;"), 5, "member access on 'int', which is not a struct"},
        {BODY("    p[0] = t.b;"), 5, "'struct s' has no member named 'b'"},
        {BODY("    p[0] = missing.a;"), 5, "use of undeclared identifier 'missing'"},
    };
    EXPECT(cases);
}

static void builtin_calls(void **state)
{
    (void)state;
    static const sema_case cases[] = {
        {BODY("    p[0] = global_id();"), 5, "'global_id' takes 1 argument(s), 0 given"},
        {BODY("    p[0] = local_id(1.5f);"), 5, "'local_id' needs an integer dimension"},
        {BODY("    p[0] = group_id(3);"), 5, "dimension 3 of 'group_id' is out of range 0..2"},
        {BODY("    p[0] = num_groups(-1);"), 5, "dimension -1 of 'num_groups' is out of range 0..2"},
        {BODY("    barrier(1);"), 5, "'barrier' takes 0 argument(s), 1 given"},
        {"void g(void) { barrier(); }\nkernel void k(global int *p) { g(); }", 1,
         "barrier() is allowed only in a kernel's body, not in helper function 'g' "
         "(rule: barrier placement)"},
        {BODY("    for (x = 0; x < 2; barrier()) p[x] = 1;"), 5,
         "barrier() must be a statement of its own (rule: barrier placement)"},
        {BODY("    switch (x) { case 0: barrier(); break; }"), 5,
         "barrier() inside a switch is not allowed (rule: barrier placement)"},
        {BODY("    atomic_and(&f[0], 1);"), 5, "'atomic_and' is not available on 'float'"},
        {BODY("    atomic_add(&x, 1);"), 5,
         "'atomic_add' needs a pointer to global or shared memory, not 'int *' (rule: address "
         "spaces)"},
        {BODY("    atomic_cas(&p[0], 1);"), 5, "'atomic_cas' takes 3 argument(s), 2 given"},
        {BODY("    p[0] = subgroup_size(1);"), 5, "'subgroup_size' takes 0 argument(s), 1 given"},
        {BODY("    p[0] = subgroup_reduce_add(t);"), 5,
         "'subgroup_reduce_add' takes int, uint, long, ulong, float or double, not 'struct s'"},
        {BODY("    p[0] = subgroup_shuffle(x, 1.5f);"), 5, "'subgroup_shuffle' needs an integer lane"},
        {BODY("    p[0] = subgroup_broadcast(missing, 0);"), 5, "undeclared identifier 'missing'"},
        {BODY("    f[0] = sqrt();"), 5, "'sqrt' takes 1 argument(s), 0 given"},
        {BODY("    f[0] = pow(t, 2);"), 5, "'pow' needs a float or double scalar, not 'struct s'"},
        {BODY("    p[0] = min(t, 1);"), 5, "'min' needs numbers, not 'struct s'"},
        {BODY("    p[0] = clamp(1, 2);"), 5, "'clamp' takes 3 argument(s), 2 given"},
        {BODY("    f[0] = dot(v, make_float2(1, 2));"), 5,
         "'dot' needs float or double vectors of the same type"},
        {BODY("    f[0] = length(1.5f);"), 5, "'length' needs float or double vectors"},
        {BODY("    f[0] = length(missing);"), 5, "use of undeclared identifier 'missing'"},
        {BODY("    p[0] = as_int(1L);"), 5, "'as_int' needs a 4-byte scalar, not 'long'"},
        {BODY("    p[0] = as_uint(true);"), 5, "'as_uint' needs a 4-byte scalar, not 'bool'"},
        {BODY("    p[0] = as_int();"), 5, "'as_int' takes 1 argument(s), 0 given"},
        {BODY("    v = make_float4(1, ~1);"), 5, "'make_float4' takes 4 argument(s), 2 given"},
    };
    EXPECT(cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(operators_on_wrong_types),
        cmocka_unit_test(assignments_and_lvalues),
        cmocka_unit_test(casts_and_pointers),
        cmocka_unit_test(declarations_and_initializers),
        cmocka_unit_test(statements),
        cmocka_unit_test(functions_and_kernels),
        cmocka_unit_test(call_chain_depth_is_bounded),
        cmocka_unit_test(access_and_members),
        cmocka_unit_test(builtin_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
