/* Front-end plumbing: the token limit of the lexer, long diagnostics (arena
 * text buffers), how types print in diagnostics, and the layout and
 * equality rules of src/lang/types.c, partly through lang_translate and
 * partly directly where no source reaches a rule. */
#include "lang/harness.h"
#include "lang/ast.h"

static kiln_status front_translate(const char *src, const char *name, lang_unit **unit, char **diag)
{
    lang_request req = {src, strlen(src), name, NULL, PORT_DIALECT_OPENCL, harness_all_caps};
    *unit = NULL;
    *diag = NULL;
    return lang_translate(&req, unit, diag);
}

static void expect_error(const char *src, const char *text)
{
    lang_unit *u;
    char *diag;
    kiln_status s = front_translate(src, "types.kc", &u, &diag);
    if (s != KILN_ERR_COMPILE || !diag || !strstr(diag, text))
        fail_msg("source:\n%s\nstatus %d, diagnostics:\n%s\nexpected '%s'", src, (int)s,
                 diag ? diag : "(none)", text);
    assert_null(u);
    free(diag);
}

static void too_many_tokens_is_an_error(void **state)
{
    (void)state;
    size_t n = LANG_MAX_TOKENS + 1;
    char *src = malloc(n + 1);
    assert_non_null(src);
    memset(src, ';', n);
    src[n] = '\0';
    lang_unit *u;
    char *diag;
    assert_int_equal(front_translate(src, "big.kc", &u, &diag), KILN_ERR_COMPILE);
    assert_null(u);
    /* The token past the limit is the last ';' (column n) of line 1. */
    char expect[128];
    snprintf(expect, sizeof expect, "big.kc:1:%zu: error: source has too many tokens (limit %u)\n", n,
             LANG_MAX_TOKENS);
    assert_non_null(strstr(diag, expect));
    free(diag);
    free(src);
}

static void unterminated_comment(void **state)
{
    (void)state;
    expect_error("kernel void k(global int *p) { }\n  /* no end", "types.kc:2:3: error: unterminated comment");
}

/* A diagnostic longer than the formatting buffer of lang_buf_printf is kept
 * whole: here through a source name of 700 characters. */
static void long_diagnostics_are_complete(void **state)
{
    (void)state;
    enum { NAME_LENGTH = 700 };
    char name[NAME_LENGTH + 1];
    for (int i = 0; i < NAME_LENGTH; i++)
        name[i] = (char)('a' + rand() % 26);
    name[NAME_LENGTH] = '\0';
    lang_unit *u;
    char *diag;
    assert_int_equal(front_translate("kernel void k(global int *p) { p[0] = nope; }", name, &u, &diag),
                     KILN_ERR_COMPILE);
    char expect[NAME_LENGTH + 128];
    snprintf(expect, sizeof expect, "%s:1:39: error: use of undeclared identifier 'nope'\n", name);
    assert_int_equal(strncmp(diag, expect, strlen(expect)), 0);
    free(diag);
}

static void types_print_as_written(void **state)
{
    (void)state;
    expect_error("constant float t[2] = {1, 2};\nvoid f(global const float *g) { }\n"
                 "kernel void k(global int *p) { f(t); }",
                 "types.kc:3:34: error: address space mismatch in argument 1 ('g') of 'f': cannot use a "
                 "constant pointer ('constant const float *') where a global pointer");
    expect_error("void f(global const float *g) { }\nkernel void k(global int *p) { float a[2]; f(a); }",
                 "cannot use a private pointer ('float *') where a global pointer ('global const float *')");
    expect_error("kernel void k(global int *p) { int a[3]; float f = a; }",
                 "types.kc:1:52: error: type mismatch in the initializer of 'f': cannot convert 'int *' to 'float'");
}

static void layout_through_the_emitted_source(void **state)
{
    (void)state;
    /* sizeof a pointer is 8 on every target; a struct member that is a
     * struct takes that struct's alignment (size 2 + 1 char = 3 -> 4). */
    const char *src = "struct a { short s; char c; };\nstruct b { char x; struct a y; };\n"
                      "kernel void k(global long *p) { p[0] = sizeof(p); p[1] = sizeof(struct b); }";
    lang_unit *u;
    char *diag;
    assert_int_equal(front_translate(src, "types.kc", &u, &diag), KILN_OK);
    const char *out = lang_unit_source(u);
    assert_non_null(strstr(out, "(8UL)"));
    assert_non_null(strstr(out, "(6UL)"));
    lang_unit_free(u);
    free(diag);
}

/* The rules no source reaches: array and pointer types compared, sized,
 * aligned and printed by types.c itself. */
static void type_rules_directly(void **state)
{
    (void)state;
    lang_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    if (setjmp(ctx.bail))
        fail_msg("the arena bailed out (status %d)", (int)ctx.bail_status);
    uint32_t count = 1 + (uint32_t)(rand() % 1000);
    const lang_type *i32 = lang_type_scalar(LANG_T_INT);
    const lang_type *a = lang_type_array(&ctx, i32, count);
    const lang_type *b = lang_type_array(&ctx, i32, count);
    const lang_type *c = lang_type_array(&ctx, i32, count + 1);
    const lang_type *d = lang_type_array(&ctx, lang_type_scalar(LANG_T_UINT), count);
    assert_true(lang_type_equal(a, b));
    assert_false(lang_type_equal(a, c));
    assert_false(lang_type_equal(a, d));
    assert_int_equal(lang_type_size(a), (size_t)count * 4);
    assert_int_equal(lang_type_align(a), 4);
    const lang_type *pg = lang_type_pointer(&ctx, lang_type_scalar(LANG_T_FLOAT), LANG_SPACE_SHARED, 1);
    assert_int_equal(lang_type_size(pg), 8);
    assert_int_equal(lang_type_align(pg), 8);
    assert_string_equal(lang_type_name(&ctx, pg), "shared const float *");
    char expect[64];
    snprintf(expect, sizeof expect, "uint[%u]", count);
    assert_string_equal(lang_type_name(&ctx, d), expect);
    const lang_type *grid = lang_type_array(&ctx, lang_type_array(&ctx, lang_type_vector(LANG_T_FLOAT, 3), 2), 5);
    /* Dimensions read as declared: float3 g[5][2] is five rows of two. */
    assert_string_equal(lang_type_name(&ctx, grid), "float3[5][2]");
    assert_int_equal(lang_type_size(grid), 2 * 5 * 16);
    assert_int_equal(lang_type_align(grid), 16);
    /* Kiln C has no double3 or int8: the vector table says so. */
    assert_null(lang_type_vector(LANG_T_DOUBLE, 3));
    assert_null(lang_type_vector(LANG_T_INT, 8));
    assert_non_null(lang_type_vector(LANG_T_DOUBLE, 2));
    assert_string_equal(lang_space_name(LANG_SPACE_CONSTANT), "constant");
    assert_string_equal(lang_space_name(LANG_SPACE_PRIVATE), "private");
    lang_buf_free(&ctx.scratch);
    lang_arena_free(&ctx);
}

int main(void)
{
    harness_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(too_many_tokens_is_an_error),
        cmocka_unit_test(unterminated_comment),
        cmocka_unit_test(long_diagnostics_are_complete),
        cmocka_unit_test(types_print_as_written),
        cmocka_unit_test(layout_through_the_emitted_source),
        cmocka_unit_test(type_rules_directly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
