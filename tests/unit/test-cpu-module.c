/* The CPU adapter's module loading when the bytes or the system refuse:
 * no bytes, a cached image cut short, a library whose symbols do not
 * resolve, a file size limit that stops both the memfd and the temp-file
 * fallback, a temp directory that does not exist; entry look-up by no
 * name. Good modules keep working beside the failures. */
#include "test-cpu-support.h"

#include <elf.h>
#include <link.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>

#define MODULE_ITEMS 256

/* A library that builds (shared objects may leave symbols undefined) but
 * cannot be loaded with RTLD_NOW. */
static const char unresolved_kernel[] =
    "extern int kiln_test_symbol_nobody_defines(int);\n"
    "void kiln_entry_calls_nothing(const kiln_cpu_group *g, void *const *args)\n"
    "{\n"
    "    unsigned *out = *(unsigned *const *)args[0];\n"
    "    out[0] = (unsigned)kiln_test_symbol_nobody_defines((int)g->group_id[0]);\n"
    "}\n";

static void cpu_module_load_without_bytes_is_invalid(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_module *m = NULL;
    char byte = 0;
    assert_int_equal(env.ops->compile->module_load(env.dev, NULL, 100, &m), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(util_last_error(), "no module bytes to load"));
    assert_int_equal(env.ops->compile->module_load(env.dev, &byte, 0, &m), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(util_last_error(), "no module bytes to load"));
    assert_null(m);
    cpu_test_close(&env);
}

static void cpu_cached_image_cut_short_is_not_loadable(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *good = cpu_test_compile_ids(&env);
    void *bytes = NULL;
    size_t size = 0;
    CPU_TEST_ASSERT_OK(env.ops->compile->module_binary(good, &bytes, &size));
    /* A cache image cut inside its ELF header, inside its program header
     * table, or inside a loaded segment (where dlopen itself would map past
     * the end and fault). */
    ElfW(Ehdr) header;
    memcpy(&header, bytes, sizeof header);
    size_t table_end = header.e_phoff + header.e_phnum * sizeof(ElfW(Phdr));
    assert_true(table_end < size / 2);
    const size_t cuts[] = {
        16 + (size_t)rand() % 32,
        header.e_phoff + 1 + (size_t)rand() % (table_end - header.e_phoff - 1),
        table_end + (size_t)rand() % (size / 2 - table_end),
    };
    static const char *const why[] = {"not a loadable kernel library",
                                      "program headers pass the end",
                                      "passes the end of its"};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        port_module *m = NULL;
        assert_int_equal(env.ops->compile->module_load(env.dev, bytes, cuts[i], &m),
                         KILN_ERR_INVALID_ARG);
        assert_null(m);
        if (!strstr(util_last_error(), why[i]))
            fail_msg("cut at %zu of %zu bytes: '%s'", cuts[i], size, util_last_error());
    }
    port_module *m = NULL;
    /* One flipped byte in the ELF header's class field. */
    ((unsigned char *)bytes)[4] ^= 0x7f;
    assert_int_equal(env.ops->compile->module_load(env.dev, bytes, size, &m), KILN_ERR_INVALID_ARG);
    assert_null(m);
    free(bytes);
    cpu_test_check_ids(&env, good, MODULE_ITEMS);
    env.ops->compile->module_release(good);
    cpu_test_close(&env);
}

static void cpu_library_with_an_unresolved_symbol_is_not_loadable(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    port_module *m = NULL;
    port_log log = {0};
    assert_int_equal(cpu_test_compile(&env, unresolved_kernel, &m, &log), KILN_ERR_INVALID_ARG);
    assert_null(m);
    assert_non_null(strstr(util_last_error(), "not a loadable kernel library"));
    assert_non_null(strstr(util_last_error(), "kiln_test_symbol_nobody_defines"));
    util_log_free(&log);
    cpu_test_close(&env);
}

static void cpu_get_function_without_a_name_is_a_null_handle(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *m = cpu_test_compile_ids(&env);
    port_function *f = NULL;
    assert_int_equal(env.ops->compile->get_function(m, NULL, &f), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "no entry name"));
    assert_null(f);
    cpu_test_check_ids(&env, m, MODULE_ITEMS);
    env.ops->compile->module_release(m);
    cpu_test_close(&env);
}

/* Loads bytes under a file size limit of limit bytes with TMPDIR=tmpdir;
 * returns the status and copies the detail into detail. */
static kiln_status load_with_file_limit(const cpu_test_env *env, const void *bytes, size_t size,
                                        rlim_t limit, const char *tmpdir, char *detail,
                                        size_t detail_size)
{
    struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
    sigemptyset(&ignore.sa_mask);
    assert_int_equal(sigaction(SIGXFSZ, &ignore, &previous), 0);
    char *saved = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", tmpdir, 1);
    struct rlimit old, cut;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    cut = old;
    cut.rlim_cur = limit;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &cut), 0);
    port_module *m = NULL;
    kiln_status st = env->ops->compile->module_load(env->dev, bytes, size, &m);
    snprintf(detail, detail_size, "%s", util_last_error());
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    sigaction(SIGXFSZ, &previous, NULL);
    assert_null(m);
    return st;
}

static void cpu_module_load_under_a_file_size_limit_is_an_io_error_and_leaves_no_file(
    void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    port_module *good = cpu_test_compile_ids(&env);
    void *bytes = NULL;
    size_t size = 0;
    CPU_TEST_ASSERT_OK(env.ops->compile->module_binary(good, &bytes, &size));
    char dir[] = "/tmp/kiln-cpu-module-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* The memfd refuses the bytes; the temp file it falls back to too. */
    char detail[1024];
    assert_int_equal(load_with_file_limit(&env, bytes, size, 64, dir, detail, sizeof detail),
                     KILN_ERR_IO);
    assert_non_null(strstr(detail, "cannot write"));
    assert_non_null(strstr(detail, dir));
    assert_int_equal(cpu_test_count_entries(dir), 0);
    /* With no temp directory to fall back to, that is what is reported. */
    assert_int_equal(load_with_file_limit(&env, bytes, size, 64, "/nonexistent/kiln-test",
                                          detail, sizeof detail),
                     KILN_ERR_IO);
    assert_non_null(strstr(detail, "cannot create a temp file in /nonexistent/kiln-test"));
    rmdir(dir);
    /* Without the limit the same bytes load and run. */
    port_module *again = NULL;
    CPU_TEST_ASSERT_OK(env.ops->compile->module_load(env.dev, bytes, size, &again));
    free(bytes);
    cpu_test_check_ids(&env, again, MODULE_ITEMS);
    env.ops->compile->module_release(again);
    env.ops->compile->module_release(good);
    cpu_test_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_module_load_without_bytes_is_invalid),
        cmocka_unit_test(cpu_cached_image_cut_short_is_not_loadable),
        cmocka_unit_test(cpu_library_with_an_unresolved_symbol_is_not_loadable),
        cmocka_unit_test(cpu_get_function_without_a_name_is_a_null_handle),
        cmocka_unit_test(cpu_module_load_under_a_file_size_limit_is_an_io_error_and_leaves_no_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
