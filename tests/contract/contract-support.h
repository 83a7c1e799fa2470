/* What every port contract test shares: finding the adapter named on the
 * command line (exit 77 = skipped when it is absent, unavailable or has no
 * device), opening device 0, and building a Kiln C snippet for it through
 * the front end (lang_translate) and the adapter's compile port. Tests use
 * only the ops, never an adapter's internals. */
#ifndef KILN_TEST_CONTRACT_SUPPORT_H
#define KILN_TEST_CONTRACT_SUPPORT_H

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

#define CONTRACT_SKIP 77

#define CONTRACT_OK(expr)                                                                \
    do {                                                                                 \
        kiln_status contract_status_ = (expr);                                           \
        if (contract_status_ != KILN_OK)                                                 \
            fail_msg("%s returned %d: %s", #expr, (int)contract_status_, util_last_error()); \
    } while (0)

typedef struct contract_env {
    const port_backend_ops *ops;
    port_backend *backend;
    port_device *dev;
    kiln_device_info info;
    port_stream *stream;
} contract_env;

/* The one adapter under test, shared by the test functions of a file. */
static contract_env contract;

/* Opens the adapter named by argv[1]; exits 77 when there is nothing to
 * test, 1 when the adapter is there but misbehaves. */
static inline void contract_open_or_skip(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s BACKEND\n", argv[0]);
        exit(1);
    }
    contract.ops = registry_find(argv[1]);
    if (!contract.ops) {
        printf("# backend '%s' is not built in: skipped\n", argv[1]);
        exit(CONTRACT_SKIP);
    }
    char reason[512] = "";
    kiln_status st = contract.ops->open(&contract.backend, reason, sizeof reason);
    if (st == KILN_ERR_BACKEND_UNAVAILABLE) {
        printf("# backend '%s' is unavailable (%s): skipped\n", argv[1], reason);
        exit(CONTRACT_SKIP);
    }
    if (st != KILN_OK) {
        fprintf(stderr, "open %s: %d %s\n", argv[1], (int)st, util_last_error());
        exit(1);
    }
    if (contract.ops->device_count(contract.backend) == 0) {
        printf("# backend '%s' has no device: skipped\n", argv[1]);
        contract.ops->close(contract.backend);
        exit(CONTRACT_SKIP);
    }
    if (contract.ops->device_open(contract.backend, 0, &contract.dev) != KILN_OK ||
        contract.ops->device_info(contract.dev, &contract.info) != KILN_OK ||
        contract.ops->execution->stream_create(contract.dev, 0, &contract.stream) != KILN_OK) {
        fprintf(stderr, "%s device 0: %s\n", argv[1], util_last_error());
        exit(1);
    }
    printf("# %s device 0: %s\n", argv[1], contract.info.name);
}

static inline void contract_close(void)
{
    contract.ops->execution->stream_destroy(contract.stream);
    contract.ops->device_close(contract.dev);
    contract.ops->close(contract.backend);
}

/* A seed from the clock, printed so that a failure can be replayed with
 * KILN_TEST_SEED. */
static inline void contract_seed(void)
{
    const char *fixed = getenv("KILN_TEST_SEED");
    unsigned seed = fixed ? (unsigned)strtoul(fixed, NULL, 10)
                          : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    printf("# seed %u (set KILN_TEST_SEED to replay)\n", seed);
    srand(seed);
}

static inline size_t contract_random_below(size_t n)
{
    return n ? ((size_t)rand() * ((size_t)RAND_MAX + 1) + (size_t)rand()) % n : 0;
}

/* A translated and compiled snippet. */
typedef struct contract_program {
    lang_unit *unit;
    port_module *module;
} contract_program;

/* Translates a Kiln C snippet for the adapter's dialect and compiles it. */
static inline void contract_build(const char *kc_source, contract_program *out)
{
    const uint32_t caps = contract.info.capabilities;
    lang_request req = {
        .source = kc_source,
        .source_length = strlen(kc_source),
        .source_name = "contract.kc",
        .dialect = contract.ops->dialect,
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
                             .source_name = "contract.kc"};
    port_log log = {0};
    st = contract.ops->compile->compile(contract.dev, &in, &out->module, &log);
    if (st != KILN_OK)
        fail_msg("compile: %d\n%s\n%s", (int)st, log.text ? log.text : "", util_last_error());
    util_log_free(&log);
}

/* The adapter's function for kernel name of p. */
static inline port_function *contract_function(const contract_program *p, const char *name)
{
    const lang_kernel *k = lang_unit_find_kernel(p->unit, name);
    if (!k)
        fail_msg("the unit has no kernel '%s'", name);
    port_function *f = NULL;
    CONTRACT_OK(contract.ops->compile->get_function(p->module, k->entry_symbol, &f));
    assert_non_null(f);
    return f;
}

static inline void contract_release(contract_program *p)
{
    contract.ops->compile->module_release(p->module);
    lang_unit_free(p->unit);
}

/* Writes for every work-item a value mixing its 3-D global id with a salt,
 * at its row-major index over the global size. */
static const char contract_ids_source[] =
    "kernel void ids(global uint *out, uint salt)\n"
    "{\n"
    "    uint x = global_id(0);\n"
    "    uint y = global_id(1);\n"
    "    uint z = global_id(2);\n"
    "    uint flat = x + global_size(0) * (y + global_size(1) * z);\n"
    "    out[flat] = (x + y * 4099 + z * 1048583) ^ salt;\n"
    "}\n";

static inline unsigned contract_expected_id(unsigned x, unsigned y, unsigned z, unsigned salt)
{
    return (x + y * 4099u + z * 1048583u) ^ salt;
}

/* Launches ids over groups x local in dims dimensions on stream and checks
 * every item on the host. */
static inline void contract_check_ids(port_function *f, port_stream *stream, unsigned dims,
                                      const size_t groups[3], const size_t local[3])
{
    const port_backend_ops *ops = contract.ops;
    port_launch launch = {.dims = dims};
    size_t global[3] = {1, 1, 1}, items = 1;
    for (unsigned d = 0; d < 3; d++) {
        launch.groups[d] = d < dims ? groups[d] : 1;
        launch.local[d] = d < dims ? local[d] : 1;
        global[d] = launch.groups[d] * launch.local[d];
        items *= global[d];
    }
    port_mem *out = NULL;
    CONTRACT_OK(ops->memory->alloc(contract.dev, items * sizeof(unsigned), &out));
    CONTRACT_OK(ops->memory->fill(stream, out, 0, 0xa5, items * sizeof(unsigned)));
    unsigned salt = (unsigned)rand();
    port_arg args[2] = {{.mem = out}, {.value = &salt, .size = sizeof salt}};
    launch.args = args;
    launch.nargs = 2;
    CONTRACT_OK(ops->execution->launch(stream, f, &launch, NULL, NULL));
    CONTRACT_OK(ops->execution->synchronize(stream));
    unsigned *got = malloc(items * sizeof *got);
    assert_non_null(got);
    CONTRACT_OK(ops->memory->read(stream, out, 0, got, items * sizeof *got));
    for (size_t z = 0; z < global[2]; z++)
        for (size_t y = 0; y < global[1]; y++)
            for (size_t x = 0; x < global[0]; x++) {
                size_t flat = x + global[0] * (y + global[1] * z);
                unsigned want = contract_expected_id((unsigned)x, (unsigned)y, (unsigned)z, salt);
                if (got[flat] != want)
                    fail_msg("%u-D item (%zu,%zu,%zu): got %u, want %u", dims, x, y, z,
                             got[flat], want);
            }
    free(got);
    ops->memory->free(contract.dev, out);
}

#endif
