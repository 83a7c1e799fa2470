/* The CUDA dialect compiles with nvcc (-arch=sm_90 -c -x cu), which checks
 * it the way NVRTC will: no header is included. Skipped (77) without nvcc. */
#include "lang/harness.h"

static const char *nvcc_path(void)
{
    static const char *const candidates[] = {"/usr/local/cuda/bin/nvcc", "/usr/bin/nvcc"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return system("command -v nvcc >/dev/null 2>&1") == 0 ? "nvcc" : NULL;
}

static void nvcc_compiles(const char *src, const char *defines)
{
    lang_unit *u = harness_translate(src, PORT_DIALECT_CUDA, defines, harness_all_caps);
    char dir[] = "/tmp/kiln-nvcc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], cmd[512];
    snprintf(path, sizeof path, "%s/unit.cu", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(lang_unit_source(u), 1, lang_unit_source_length(u), f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -arch=sm_90 -c -x cu -o %s/unit.o %s > %s/log 2>&1 || "
                              "{ cat %s/log; exit 1; }", nvcc_path(), dir, path, dir, dir);
    int rc = system(cmd);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (rc != 0)
        fprintf(stderr, "%s\n", lang_unit_source(u));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(rc, 0);
    lang_unit_free(u);
}

static void everything_compiles_with_nvcc(void **state)
{
    (void)state;
    char *src = harness_read_corpus("everything.kc");
    nvcc_compiles(src, NULL);
    free(src);
}

static void sgemm_and_reduction_compile_with_nvcc(void **state)
{
    (void)state;
    char *src = harness_read_corpus("sgemm.kc");
    nvcc_compiles(src, "-DTS=16");
    free(src);
}

int main(void)
{
    if (!nvcc_path()) {
        fprintf(stderr, "nvcc not found: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(everything_compiles_with_nvcc),
        cmocka_unit_test(sgemm_and_reduction_compile_with_nvcc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
