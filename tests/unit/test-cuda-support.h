/* What the CUDA adapter's tests share: opening an adapter's device 0 and a
 * stream, building Kiln C for it through the front end, random data. */
#ifndef KILN_TEST_CUDA_SUPPORT_H
#define KILN_TEST_CUDA_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/registry.h"
#include "lang/lang.h"
#include "util/fail.h"
#include "util/log_buffer.h"

#define CUDA_TEST_SKIP 77

#define CUDA_TEST_OK(expr)                                                                  \
    do {                                                                                    \
        kiln_status cuda_test_status_ = (expr);                                             \
        if (cuda_test_status_ != KILN_OK)                                                   \
            fail_msg("%s returned %d: %s", #expr, (int)cuda_test_status_, util_last_error()); \
    } while (0)

typedef struct cuda_test_env {
    const port_backend_ops *ops;
    port_backend *backend;
    port_device *dev;
    kiln_device_info info;
    port_stream *stream;
} cuda_test_env;

/* Opens device 0 of the adapter named name; KILN_OK, or the status of
 * open (reason filled) when the adapter is unavailable. */
static inline kiln_status cuda_test_open(const char *name, cuda_test_env *env, char *reason,
                                         size_t reason_size)
{
    memset(env, 0, sizeof *env);
    env->ops = registry_find(name);
    assert_non_null(env->ops);
    kiln_status st = env->ops->open(&env->backend, reason, reason_size);
    if (st != KILN_OK)
        return st;
    assert_true(env->ops->device_count(env->backend) > 0);
    CUDA_TEST_OK(env->ops->device_open(env->backend, 0, &env->dev));
    CUDA_TEST_OK(env->ops->device_info(env->dev, &env->info));
    CUDA_TEST_OK(env->ops->execution->stream_create(env->dev, KILN_PRIORITY_NORMAL,
                                                     &env->stream));
    return KILN_OK;
}

static inline void cuda_test_close(cuda_test_env *env)
{
    if (env->stream)
        env->ops->execution->stream_destroy(env->stream);
    if (env->dev)
        env->ops->device_close(env->dev);
    if (env->backend)
        env->ops->close(env->backend);
    memset(env, 0, sizeof *env);
}

static inline void cuda_test_seed(void)
{
    const char *fixed = getenv("KILN_TEST_SEED");
    unsigned seed = fixed ? (unsigned)strtoul(fixed, NULL, 10)
                          : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    printf("# seed %u (set KILN_TEST_SEED to replay)\n", seed);
    srand(seed);
}

/* A translated and compiled Kiln C program. */
typedef struct cuda_test_program {
    lang_unit *unit;
    port_module *module;
} cuda_test_program;

static inline void cuda_test_build(const cuda_test_env *env, const char *kc_source,
                                   cuda_test_program *out)
{
    const uint32_t caps = env->info.capabilities;
    lang_request req = {
        .source = kc_source,
        .source_length = strlen(kc_source),
        .source_name = "cuda-test.kc",
        .dialect = env->ops->dialect,
        .caps = {.has_double = !!(caps & KILN_CAP_DOUBLE),
                 .has_float_atomics = !!(caps & KILN_CAP_FLOAT_ATOMICS),
                 .has_int64_atomics = !!(caps & KILN_CAP_INT64_ATOMICS),
                 .has_subgroups = !!(caps & KILN_CAP_SUBGROUPS)},
    };
    char *diagnostics = NULL;
    kiln_status st = lang_translate(&req, &out->unit, &diagnostics);
    if (st != KILN_OK)
        fail_msg("translate: %d\n%s", (int)st, diagnostics ? diagnostics : util_last_error());
    free(diagnostics);
    port_compile_input in = {.source = lang_unit_source(out->unit),
                             .source_length = lang_unit_source_length(out->unit),
                             .source_name = "cuda-test.kc"};
    port_log log = {0};
    st = env->ops->compile->compile(env->dev, &in, &out->module, &log);
    if (st != KILN_OK)
        fail_msg("compile: %d\n%s\n%s", (int)st, log.text ? log.text : "", util_last_error());
    util_log_free(&log);
}

static inline port_function *cuda_test_function(const cuda_test_env *env,
                                                const cuda_test_program *p, const char *name)
{
    const lang_kernel *k = lang_unit_find_kernel(p->unit, name);
    assert_non_null(k);
    port_function *f = NULL;
    CUDA_TEST_OK(env->ops->compile->get_function(p->module, k->entry_symbol, &f));
    return f;
}

static inline void cuda_test_release(const cuda_test_env *env, cuda_test_program *p)
{
    env->ops->compile->module_release(p->module);
    lang_unit_free(p->unit);
}

/* out[i] = base + i * 3 for every work-item. */
static const char cuda_test_affine_source[] =
    "kernel void affine(global uint *out, uint base)\n"
    "{\n"
    "    uint i = global_id(0);\n"
    "    out[i] = base + i * 3u;\n"
    "}\n";

/* Runs affine over items (a multiple of local) on env's device and checks
 * every value on the host. */
static inline void cuda_test_run_affine(const cuda_test_env *env, port_stream *stream,
                                        port_function *f, size_t items, size_t local)
{
    port_mem *out = NULL;
    CUDA_TEST_OK(env->ops->memory->alloc(env->dev, items * sizeof(uint32_t), &out));
    uint32_t base = (uint32_t)rand();
    port_arg args[2] = {{.mem = out}, {.value = &base, .size = sizeof base}};
    port_launch launch = {.dims = 1, .groups = {items / local, 1, 1}, .local = {local, 1, 1},
                          .args = args, .nargs = 2};
    CUDA_TEST_OK(env->ops->execution->launch(stream, f, &launch, NULL, NULL));
    CUDA_TEST_OK(env->ops->execution->synchronize(stream));
    uint32_t *got = malloc(items * sizeof *got);
    assert_non_null(got);
    CUDA_TEST_OK(env->ops->memory->read(stream, out, 0, got, items * sizeof *got));
    for (size_t i = 0; i < items; i++)
        if (got[i] != base + (uint32_t)i * 3u)
            fail_msg("item %zu: got %u, expected %u", i, got[i], base + (uint32_t)i * 3u);
    free(got);
    env->ops->memory->free(env->dev, out);
}

#endif
