/* Every construct of the language translated for each dialect, with the
 * mapping each backend needs, and the kernel descriptions the core uses. */
#include "lang/harness.h"

static void expect_text(const lang_unit *u, const char *needle)
{
    if (!strstr(lang_unit_source(u), needle)) {
        fprintf(stderr, "%s\n---- missing: %s\n", lang_unit_source(u), needle);
        fail_msg("emitted source lacks '%s'", needle);
    }
}

static void everything_translates_for_c(void **state)
{
    (void)state;
    char *src = harness_read_corpus("everything.kc");
    lang_unit *u = harness_translate(src, PORT_DIALECT_C, NULL, harness_all_caps);
    expect_text(u, KILN_CPU_ABI_TEXT);
    expect_text(u, "KILN_EXPORT void kiln_entry_everything(const kiln_cpu_group *kiln_group");
    expect_text(u, "#line 18 \"test.kc\"");
    expect_text(u, "KILN_CPU_MAX_GROUP_ITEMS 1024");
    expect_text(u, "__atomic_fetch_add");
    expect_text(u, "sqrtf(");
    const lang_kernel *k = lang_unit_find_kernel(u, "everything");
    assert_non_null(k);
    assert_string_equal(k->entry_symbol, "kiln_entry_everything");
    assert_true(k->uses_barrier);
    assert_int_equal(k->shared_bytes, 8 * 8 * 4 + 8 * 4);
    assert_int_equal(k->param_count, 21);
    assert_string_equal(k->params[0].type_text, "global const float *");
    assert_int_equal(k->params[0].param_class, LANG_PARAM_BUFFER);
    assert_int_equal(k->params[0].scalar, LANG_SCALAR_FLOAT);
    assert_true(k->params[0].is_const);
    assert_false(k->params[1].is_const);
    assert_int_equal(k->params[8].scalar, LANG_SCALAR_NONE); /* buffer of structs */
    assert_string_equal(k->params[9].type_text, "struct boxed");
    assert_int_equal(k->params[9].param_class, LANG_PARAM_BYTES);
    assert_int_equal(k->params[9].size, 32);
    assert_int_equal(k->params[10].size, 12);
    assert_int_equal(k->params[11].size, 16);
    static const struct {
        lang_scalar scalar;
        size_t size;
    } scalars[] = {{LANG_SCALAR_UINT, 4}, {LANG_SCALAR_BOOL, 1}, {LANG_SCALAR_CHAR, 1},
                   {LANG_SCALAR_UCHAR, 1}, {LANG_SCALAR_SHORT, 2}, {LANG_SCALAR_USHORT, 2},
                   {LANG_SCALAR_LONG, 8}, {LANG_SCALAR_ULONG, 8}, {LANG_SCALAR_DOUBLE, 8}};
    for (unsigned i = 0; i < 9; i++) {
        assert_int_equal(k->params[12 + i].param_class, LANG_PARAM_SCALAR);
        assert_int_equal(k->params[12 + i].scalar, scalars[i].scalar);
        assert_int_equal(k->params[12 + i].size, scalars[i].size);
    }
    lang_unit_free(u);
    free(src);
}

static void everything_translates_for_cuda(void **state)
{
    (void)state;
    char *src = harness_read_corpus("everything.kc");
    lang_unit *u = harness_translate(src, PORT_DIALECT_CUDA, NULL, harness_all_caps);
    expect_text(u, "extern \"C\" __global__ void everything(");
    expect_text(u, "__shared__ float tile[8][8]");
    expect_text(u, "__syncthreads()");
    expect_text(u, "(blockIdx.x * blockDim.x + threadIdx.x)");
    expect_text(u, "atomicAdd(");
    expect_text(u, "__shfl_sync(0xffffffffu, ");
    expect_text(u, "__shfl_xor_sync");
    expect_text(u, "typedef struct kiln_float4 { KILN_ALIGN(16) float x;");
    expect_text(u, "__constant__ const float table[4]");
    assert_null(strstr(lang_unit_source(u), "#include"));
    assert_string_equal(lang_unit_find_kernel(u, "everything")->entry_symbol, "everything");
    lang_unit_free(u);
    free(src);
}

static void everything_translates_for_opencl(void **state)
{
    (void)state;
    char *src = harness_read_corpus("everything.kc");
    lang_unit *u = harness_translate(src, PORT_DIALECT_OPENCL, NULL, harness_all_caps);
    expect_text(u, "#pragma OPENCL EXTENSION cl_khr_fp64 : enable");
    expect_text(u, "#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable");
    expect_text(u, "__kernel void everything(__global const float *in");
    expect_text(u, "uchar kiln_arg13");
    expect_text(u, "__local float tile[8][8]");
    expect_text(u, "barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)");
    expect_text(u, "atom_add(");
    expect_text(u, "atomic_cmpxchg(");
    expect_text(u, "__constant float table[4]");
    expect_text(u, "sub_group_reduce_add(");
    lang_unit_free(u);
    lang_caps no_subgroups = harness_all_caps;
    no_subgroups.has_subgroups = 0;
    u = harness_translate(src, PORT_DIALECT_OPENCL, NULL, no_subgroups);
    assert_null(strstr(lang_unit_source(u), "sub_group"));
    lang_unit_free(u);
    free(src);
}

static void metal_is_reported_unsupported(void **state)
{
    (void)state;
    const char *src = "kernel void k(global int *p) { p[0] = 1; }";
    lang_request req = {src, strlen(src), "m.kc", NULL, PORT_DIALECT_METAL, harness_all_caps};
    lang_unit *u = (lang_unit *)&req;
    char *diag = NULL;
    assert_int_equal(lang_translate(&req, &u, &diag), KILN_ERR_UNSUPPORTED);
    assert_null(u);
    assert_null(diag);
}

static void every_statement_carries_a_line_directive(void **state)
{
    (void)state;
    const char *src = "kernel void k(global int *p)\n{\n    int a = 1;\n\n    p[0] = a;\n}\n";
    port_dialect dialects[] = {PORT_DIALECT_C, PORT_DIALECT_CUDA, PORT_DIALECT_OPENCL};
    for (int i = 0; i < 3; i++) {
        lang_unit *u = harness_translate(src, dialects[i], NULL, harness_all_caps);
        expect_text(u, "#line 1 \"test.kc\"");
        expect_text(u, "#line 3 \"test.kc\"");
        expect_text(u, "#line 5 \"test.kc\"");
        lang_unit_free(u);
    }
}

static void user_names_that_clash_with_targets_are_renamed(void **state)
{
    (void)state;
    const char *src = "float mad(float half) { return half; }\n"
                      "kernel void k(global float *p) { float threadIdx = 2.0f; p[0] = mad(threadIdx); }\n";
    lang_unit *u = harness_translate(src, PORT_DIALECT_OPENCL, NULL, harness_all_caps);
    expect_text(u, "kiln_u_mad(");
    expect_text(u, "kiln_u_half");
    expect_text(u, "kiln_u_threadIdx");
    lang_unit_free(u);
}

static void unit_accessors_handle_null_and_missing(void **state)
{
    (void)state;
    assert_null(lang_unit_source(NULL));
    assert_int_equal(lang_unit_kernel_count(NULL), 0);
    lang_unit *u = harness_translate("kernel void a(global int *p) { p[0] = 1; }", PORT_DIALECT_C,
                                     NULL, harness_all_caps);
    assert_int_equal(lang_unit_kernel_count(u), 1);
    assert_null(lang_unit_find_kernel(u, "b"));
    assert_null(lang_unit_kernel(u, 1));
    assert_int_equal(lang_unit_source_length(u), strlen(lang_unit_source(u)));
    lang_unit_free(u);
    lang_unit_free(NULL);
    lang_unit *out;
    assert_int_equal(lang_translate(NULL, &out, NULL), KILN_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(everything_translates_for_c),
        cmocka_unit_test(everything_translates_for_cuda),
        cmocka_unit_test(everything_translates_for_opencl),
        cmocka_unit_test(metal_is_reported_unsupported),
        cmocka_unit_test(every_statement_carries_a_line_directive),
        cmocka_unit_test(user_names_that_clash_with_targets_are_renamed),
        cmocka_unit_test(unit_accessors_handle_null_and_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
