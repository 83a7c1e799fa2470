/* Compile port contract, run against each adapter:
 * ./contract-compile BACKEND. A translated kernel builds and runs, a
 * native compile error comes back as KILN_ERR_COMPILE with the compiler's
 * log, module bytes load back into a runnable module, the cache identity
 * is stable. */
#include "contract-support.h"

/* Not valid in any dialect: every native compiler must reject it. */
static const char contract_broken_source[] =
    "this is not a kernel in any language ( {\n";

static void translated_kernel_compiles_and_runs(void **state)
{
    contract_seed();
    contract_program p;
    contract_build(contract_ids_source, &p);
    size_t groups[3] = {37, 1, 1}, local[3] = {8, 1, 1};
    contract_check_ids(contract_function(&p, "ids"), contract.stream, 1, groups, local);
    contract_release(&p);
}

/* A per-function work-group limit, where the adapter has one, is within the
 * device's and a launch of exactly that many items runs. */
static void function_group_limit_is_within_the_device_and_runs(void **state)
{
    if (!contract.ops->compile->function_max_group)
        skip();
    contract_seed();
    contract_program p;
    contract_build(contract_ids_source, &p);
    port_function *f = contract_function(&p, "ids");
    uint32_t limit = contract.ops->compile->function_max_group(f);
    printf("# function limit %u, device limit %u\n", limit, contract.info.max_work_group_size);
    assert_true(limit <= contract.info.max_work_group_size);
    if (limit > 0) {
        size_t groups[3] = {3, 1, 1}, local[3] = {limit, 1, 1};
        contract_check_ids(f, contract.stream, 1, groups, local);
    }
    contract_release(&p);
}

static void native_compile_error_returns_compile_status_and_log(void **state)
{
    port_compile_input in = {.source = contract_broken_source,
                             .source_length = strlen(contract_broken_source),
                             .source_name = "broken.kc"};
    port_module *m = NULL;
    port_log log = {0};
    assert_int_equal(contract.ops->compile->compile(contract.dev, &in, &m, &log),
                     KILN_ERR_COMPILE);
    assert_null(m);
    assert_non_null(log.text);
    assert_true(log.length > 0);
    printf("# compiler log starts: %.120s\n", log.text);
    util_log_free(&log);
}

static void module_binary_loads_back_into_a_runnable_function(void **state)
{
    contract_seed();
    contract_program p;
    contract_build(contract_ids_source, &p);
    void *bytes = NULL;
    size_t size = 0;
    CONTRACT_OK(contract.ops->compile->module_binary(p.module, &bytes, &size));
    assert_non_null(bytes);
    assert_true(size > 0);
    /* The compiled module is gone; only the bytes remain, as in the cache. */
    contract.ops->compile->module_release(p.module);
    p.module = NULL;
    CONTRACT_OK(contract.ops->compile->module_load(contract.dev, bytes, size, &p.module));
    free(bytes);
    size_t groups[3] = {5, 6, 1}, local[3] = {4, 2, 1};
    contract_check_ids(contract_function(&p, "ids"), contract.stream, 2, groups, local);
    contract_release(&p);
}

static void missing_entry_point_is_not_found(void **state)
{
    contract_program p;
    contract_build(contract_ids_source, &p);
    port_function *f = NULL;
    assert_int_equal(contract.ops->compile->get_function(p.module, "no_such_kernel_here", &f),
                     KILN_ERR_NOT_FOUND);
    assert_null(f);
    contract_release(&p);
}

static void cache_identity_is_non_empty_and_stable(void **state)
{
    char a[1024] = "", b[1024] = "";
    CONTRACT_OK(contract.ops->compile->cache_identity(contract.dev, a, sizeof a));
    CONTRACT_OK(contract.ops->compile->cache_identity(contract.dev, b, sizeof b));
    assert_true(strlen(a) > 0);
    assert_string_equal(a, b);
    printf("# cache identity: %s\n", a);
}

int main(int argc, char **argv)
{
    contract_open_or_skip(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(translated_kernel_compiles_and_runs),
        cmocka_unit_test(function_group_limit_is_within_the_device_and_runs),
        cmocka_unit_test(native_compile_error_returns_compile_status_and_log),
        cmocka_unit_test(module_binary_loads_back_into_a_runnable_function),
        cmocka_unit_test(missing_entry_point_is_not_found),
        cmocka_unit_test(cache_identity_is_non_empty_and_stable),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    contract_close();
    return failed;
}
