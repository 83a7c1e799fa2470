/* Helpers shared by the CPU adapter's unit tests (tests/unit/test-cpu-*.c):
 * opening the adapter through its ops and building hand-written C that
 * follows src/ports/cpu_kernel_abi.h, so the adapter is tested without the
 * front end. Included by test files only (static functions). */
#ifndef KILN_TEST_CPU_SUPPORT_H
#define KILN_TEST_CPU_SUPPORT_H

#include <dirent.h>
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

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_internal.h"
#include "ports/cpu_kernel_abi.h"
#include "util/fail.h"
#include "util/log_buffer.h"

#define CPU_TEST_ASSERT_OK(expr)                                                        \
    do {                                                                                \
        kiln_status cpu_test_status_ = (expr);                                          \
        if (cpu_test_status_ != KILN_OK)                                                \
            fail_msg("%s returned %d: %s", #expr, (int)cpu_test_status_, util_last_error()); \
    } while (0)

typedef struct cpu_test_env {
    const port_backend_ops *ops;
    port_backend *backend;
    port_device *dev;
    port_stream *stream;
} cpu_test_env;

static inline void cpu_test_open(cpu_test_env *env)
{
    char reason[256] = "";
    env->ops = &cpu_backend_ops;
    CPU_TEST_ASSERT_OK(env->ops->open(&env->backend, reason, sizeof reason));
    assert_int_equal(env->ops->device_count(env->backend), 1);
    CPU_TEST_ASSERT_OK(env->ops->device_open(env->backend, 0, &env->dev));
    CPU_TEST_ASSERT_OK(env->ops->execution->stream_create(env->dev, 0, &env->stream));
}

static inline void cpu_test_close(cpu_test_env *env)
{
    env->ops->execution->stream_destroy(env->stream);
    env->ops->device_close(env->dev);
    env->ops->close(env->backend);
}

/* A seed from the clock, printed so that a failure can be replayed with
 * KILN_TEST_SEED. */
static inline unsigned cpu_test_seed(void)
{
    const char *fixed = getenv("KILN_TEST_SEED");
    unsigned seed = fixed ? (unsigned)strtoul(fixed, NULL, 10)
                          : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    printf("# seed %u (set KILN_TEST_SEED to replay)\n", seed);
    srand(seed);
    return seed;
}

/* Compiles the body after the ABI declaration, as the emitter would. */
static inline kiln_status cpu_test_compile(const cpu_test_env *env, const char *body,
                                           port_module **out, port_log *log)
{
    size_t size = strlen(KILN_CPU_ABI_TEXT) + strlen(body) + 1;
    char *source = malloc(size);
    assert_non_null(source);
    snprintf(source, size, "%s%s", KILN_CPU_ABI_TEXT, body);
    port_compile_input in = {.source = source, .source_length = strlen(source),
                             .source_name = "test.kc"};
    kiln_status st = env->ops->compile->compile(env->dev, &in, out, log);
    free(source);
    return st;
}

static inline port_function *cpu_test_function(const cpu_test_env *env, port_module *m,
                                               const char *entry)
{
    port_function *f = NULL;
    CPU_TEST_ASSERT_OK(env->ops->compile->get_function(m, entry, &f));
    assert_non_null(f);
    return f;
}

/* Writes, for every work-item, a value mixing its 3-D global id with a
 * salt: out[flat] = (x * 1 + y * 4099 + z * 1048583) ^ salt, where flat
 * is the row-major index over the global size. */
static const char cpu_test_ids_kernel[] =
    "#include <stddef.h>\n"
    "void kiln_entry_ids(const kiln_cpu_group *g, void *const *args)\n"
    "{\n"
    "    unsigned *out = *(unsigned *const *)args[0];\n"
    "    unsigned salt = *(const unsigned *)args[1];\n"
    "    for (unsigned lz = 0; lz < g->local_size[2]; lz++)\n"
    "    for (unsigned ly = 0; ly < g->local_size[1]; ly++)\n"
    "    for (unsigned lx = 0; lx < g->local_size[0]; lx++) {\n"
    "        unsigned x = g->group_id[0] * g->local_size[0] + lx;\n"
    "        unsigned y = g->group_id[1] * g->local_size[1] + ly;\n"
    "        unsigned z = g->group_id[2] * g->local_size[2] + lz;\n"
    "        size_t flat = x + (size_t)g->global_size[0] * (y + (size_t)g->global_size[1] * z);\n"
    "        out[flat] = (x + y * 4099u + z * 1048583u) ^ salt;\n"
    "    }\n"
    "}\n"
    "void kiln_entry_empty(const kiln_cpu_group *g, void *const *args) { (void)g; (void)args; }\n";

static inline unsigned cpu_test_expected_id(unsigned x, unsigned y, unsigned z, unsigned salt)
{
    return (x + y * 4099u + z * 1048583u) ^ salt;
}

/* Compiles the ids kernel; fails the test if it does not build. */
static inline port_module *cpu_test_compile_ids(const cpu_test_env *env)
{
    port_module *m = NULL;
    port_log log = {0};
    kiln_status st = cpu_test_compile(env, cpu_test_ids_kernel, &m, &log);
    if (st != KILN_OK)
        fail_msg("compile: %s", log.text ? log.text : util_last_error());
    util_log_free(&log);
    return m;
}

/* Runs kiln_entry_ids of m over items work-items (a multiple of 4) with a
 * random salt and checks every one on the host. */
static inline void cpu_test_check_ids(const cpu_test_env *env, port_module *m, unsigned items)
{
    port_function *f = cpu_test_function(env, m, "kiln_entry_ids");
    port_mem *out = NULL;
    CPU_TEST_ASSERT_OK(env->ops->memory->alloc(env->dev, items * sizeof(unsigned), &out));
    unsigned salt = (unsigned)rand();
    port_arg args[2] = {{.mem = out}, {.value = &salt, .size = sizeof salt}};
    port_launch launch = {.dims = 1, .groups = {items / 4}, .local = {4}, .args = args,
                          .nargs = 2};
    CPU_TEST_ASSERT_OK(env->ops->execution->launch(env->stream, f, &launch, NULL, NULL));
    unsigned *got = malloc(items * sizeof *got);
    assert_non_null(got);
    CPU_TEST_ASSERT_OK(env->ops->memory->read(env->stream, out, 0, got, items * sizeof *got));
    for (unsigned i = 0; i < items; i++)
        if (got[i] != cpu_test_expected_id(i, 0, 0, salt))
            fail_msg("item %u: got %u, want %u", i, got[i], cpu_test_expected_id(i, 0, 0, salt));
    free(got);
    env->ops->memory->free(env->dev, out);
}

/* Entries of dir, names starting with '.' aside. */
static inline size_t cpu_test_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The live threads of this process. */
static inline size_t cpu_test_thread_count(void)
{
    return cpu_test_count_entries("/proc/self/task");
}

/* The thread count once it settles at want: a joined thread can linger in
 * /proc for a moment after pthread_join returns (it is reaped just after
 * it wakes the joiner). Gives up after CPU_TEST_THREAD_SETTLE_POLLS polls. */
#define CPU_TEST_THREAD_SETTLE_POLLS 2000
#define CPU_TEST_THREAD_SETTLE_NS 1000000L

static inline size_t cpu_test_settled_thread_count(size_t want)
{
    size_t n = cpu_test_thread_count();
    for (int i = 0; i < CPU_TEST_THREAD_SETTLE_POLLS && n != want; i++) {
        struct timespec pause = {0, CPU_TEST_THREAD_SETTLE_NS};
        nanosleep(&pause, NULL);
        n = cpu_test_thread_count();
    }
    return n;
}

/* The thread count once two looks CPU_TEST_THREAD_SETTLE_NS apart agree:
 * threads an earlier test joined are gone then. */
static inline size_t cpu_test_quiet_thread_count(void)
{
    for (;;) {
        size_t n = cpu_test_thread_count();
        struct timespec pause = {0, CPU_TEST_THREAD_SETTLE_NS};
        nanosleep(&pause, NULL);
        if (cpu_test_thread_count() == n)
            return n;
    }
}

#endif
