/* Shared by the tests/unit/test-lang-*.c files: translate Kiln C, and for
 * the C dialect build the unit with the system compiler, dlopen it and run
 * kernels through the CPU ABI (src/ports/cpu_kernel_abi.h) one work-group
 * at a time, the way the CPU backend does. */
#ifndef KILN_TESTS_LANG_HARNESS_H
#define KILN_TESTS_LANG_HARNESS_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lang/lang.h"
#include "ports/cpu_kernel_abi.h"

static const lang_caps harness_all_caps = {1, 1, 1, 1};

static inline lang_unit *harness_translate(const char *src, port_dialect dialect, const char *defines,
                                    lang_caps caps)
{
    lang_request req = {src, strlen(src), "test.kc", defines, dialect, caps};
    lang_unit *u = NULL;
    char *diag = NULL;
    kiln_status s = lang_translate(&req, &u, &diag);
    if (s != KILN_OK) {
        fprintf(stderr, "translation failed (%d):\n%s\n", (int)s, diag ? diag : "");
        free(diag);
        fail_msg("translation failed");
    }
    assert_non_null(u);
    free(diag);
    return u;
}

/* Translates source that must fail; returns the diagnostics (caller frees). */
static inline char *harness_translate_error(const char *src, lang_caps caps)
{
    lang_request req = {src, strlen(src), "bad.kc", NULL, PORT_DIALECT_C, caps};
    lang_unit *u = NULL;
    char *diag = NULL;
    kiln_status s = lang_translate(&req, &u, &diag);
    if (s != KILN_ERR_COMPILE)
        fprintf(stderr, "expected a compile error for:\n%s\n", src);
    assert_int_equal(s, KILN_ERR_COMPILE);
    assert_null(u);
    assert_non_null(diag);
    return diag;
}

typedef struct harness_module {
    void *dl;
    char dir[64];
} harness_module;

static inline void harness_build(const lang_unit *u, harness_module *m)
{
    snprintf(m->dir, sizeof m->dir, "/tmp/kiln-lang-test-XXXXXX");
    assert_non_null(mkdtemp(m->dir));
    char src[128], so[128], cmd[512];
    snprintf(src, sizeof src, "%s/unit.c", m->dir);
    snprintf(so, sizeof so, "%s/unit.so", m->dir);
    FILE *f = fopen(src, "wb");
    assert_non_null(f);
    fwrite(lang_unit_source(u), 1, lang_unit_source_length(u), f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -O2 -fPIC -shared -std=gnu11 -o %s %s -lm", so, src);
    if (system(cmd) != 0) {
        fprintf(stderr, "%s\n", lang_unit_source(u));
        fail_msg("the C compiler rejected the emitted unit (kept in %s)", m->dir);
    }
    m->dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(m->dl);
    unlink(so);
    unlink(src);
    rmdir(m->dir);
}

static inline void harness_close(harness_module *m)
{
    if (m->dl)
        dlclose(m->dl);
    m->dl = NULL;
}

/* Runs every group of an NDRange; global sizes are rounded up to whole
 * groups, as the language defines. */
static inline void harness_run(const harness_module *m, const lang_unit *u, const char *kernel,
                        unsigned dims, const unsigned global[3], const unsigned local[3],
                        void *const *args)
{
    const lang_kernel *k = lang_unit_find_kernel(u, kernel);
    assert_non_null(k);
    kiln_cpu_entry_fn fn = (kiln_cpu_entry_fn)dlsym(m->dl, k->entry_symbol);
    assert_non_null(fn);
    kiln_cpu_group g;
    memset(&g, 0, sizeof g);
    g.dims = dims;
    for (unsigned d = 0; d < 3; d++) {
        unsigned gl = d < dims ? global[d] : 1, lo = d < dims ? local[d] : 1;
        g.local_size[d] = lo;
        g.num_groups[d] = (gl + lo - 1) / lo;
        g.global_size[d] = g.num_groups[d] * lo;
    }
    for (unsigned z = 0; z < g.num_groups[2]; z++)
        for (unsigned y = 0; y < g.num_groups[1]; y++)
            for (unsigned x = 0; x < g.num_groups[0]; x++) {
                g.group_id[0] = x;
                g.group_id[1] = y;
                g.group_id[2] = z;
                fn(&g, args);
            }
}

static inline float harness_randf(void)
{
    return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
}

static inline int harness_close_enough(double a, double b, double tol)
{
    double d = a > b ? a - b : b - a;
    double m = (a > 0 ? a : -a) > (b > 0 ? b : -b) ? (a > 0 ? a : -a) : (b > 0 ? b : -b);
    return d <= tol * (m > 1.0 ? m : 1.0);
}

static inline void harness_seed(void)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    fprintf(stderr, "random seed %u\n", seed);
    srand(seed);
}

/* Reads tests/fuzz/corpus-lang/NAME from the source tree (KILN_SOURCE_DIR
 * under CTest, else relative to this header). Caller frees. */
static inline char *harness_read_corpus(const char *name)
{
    char path[1024];
    const char *root = getenv("KILN_SOURCE_DIR");
    if (root)
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus-lang/%s", root, name);
    else
        snprintf(path, sizeof path, "%.*s/../fuzz/corpus-lang/%s",
                 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return text;
}

#endif
