/* The conformance harness: one device of the backend under test, the
 * kernel files of tests/kernels, a seeded random source, and failure
 * reporting. Each case (one per kernel file) builds its kernels, runs them
 * on fresh random inputs and compares with a host reference computed here.
 * Only the public API (include/kiln) is used. */
#ifndef KILN_CONFORMANCE_H
#define KILN_CONFORMANCE_H

#include <kiln/kiln.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Process exit codes understood by CTest (77 = SKIP_RETURN_CODE). */
typedef enum conf_result {
    CONF_PASS = 0,
    CONF_FAIL = 1,
    CONF_SKIP = 77
} conf_result;

/* Objects a case creates are released when the case ends, so that a case
 * can return early on a failure without a cleanup ladder. */
#define CONF_MAX_OBJECTS 512

typedef struct conf_env {
    kiln_context *ctx;
    kiln_device *dev;
    kiln_device_info info;
    kiln_queue *queue;
    const char *kernel_dir;
    uint64_t seed;
    uint64_t rng_state;
    unsigned failures;       /* mismatches and errors seen by the current case */
    unsigned checks;         /* values compared by the current case */
    unsigned skipped_parts;  /* sub-cases skipped for a missing capability */
    kiln_buffer *buffers[CONF_MAX_OBJECTS];
    size_t buffer_count;
    kiln_program *programs[CONF_MAX_OBJECTS];
    size_t program_count;
    kiln_kernel *kernels[CONF_MAX_OBJECTS];
    size_t kernel_count;
} conf_env;

typedef conf_result (*conf_case_fn)(conf_env *env);

typedef struct conf_case {
    const char *name; /* the kernel file's base name: tests/kernels/NAME.kc */
    conf_case_fn run;
} conf_case;

/* Opens the device of the backend ("cpu", "opencl", ...). CONF_SKIP when the
 * context has no device of that backend. */
conf_result conf_env_open(conf_env *env, const char *backend, const char *kernel_dir,
                          uint64_t seed);
void conf_env_release_objects(conf_env *env);
void conf_env_close(conf_env *env);

/* Builds tests/kernels/FILE with the build defines (may be NULL). NULL after
 * reporting a failure. */
kiln_program *conf_program(conf_env *env, const char *file, const char *defines);
kiln_kernel *conf_kernel(conf_env *env, kiln_program *prog, const char *name);
/* Builds a kernel file expecting it may fail: the status, nothing recorded
 * (the program, if any, is released). */
kiln_status conf_build_status(conf_env *env, const char *file, const char *defines);
/* Both in one: NULL after reporting a failure. */
kiln_kernel *conf_kernel_from(conf_env *env, const char *file, const char *defines,
                              const char *name);

/* A device buffer of bytes, filled from init when init is not NULL. */
kiln_buffer *conf_buffer(conf_env *env, size_t bytes, const void *init);
/* A device buffer of bytes, every byte set to fill_byte. */
kiln_buffer *conf_buffer_filled(conf_env *env, size_t bytes, uint8_t fill_byte);
bool conf_read(conf_env *env, kiln_buffer *buf, void *dst, size_t bytes);
bool conf_write(conf_env *env, kiln_buffer *buf, const void *src, size_t bytes);
/* Launches and waits; false after reporting a failure. */
bool conf_run(conf_env *env, kiln_kernel *k, const kiln_range *range, const kiln_arg *args,
              uint32_t nargs);

/* Host memory that the case frees itself; aborts the process on exhaustion
 * (a test driver, not the library). */
void *conf_alloc(size_t bytes);

bool conf_has_cap(const conf_env *env, uint32_t cap);
/* Build define telling kernels whether double may be used. */
const char *conf_double_define(const conf_env *env);

/* The generator state a seed starts from. */
uint64_t conf_seed_state(uint64_t seed);
/* Random numbers from the printed seed. */
uint64_t conf_rand_u64(conf_env *env);
uint32_t conf_rand_u32(conf_env *env);
/* Uniform in [0, bound); bound > 0. */
uint32_t conf_rand_below(conf_env *env, uint32_t bound);
/* Uniform in [lo, hi]. */
int64_t conf_rand_range(conf_env *env, int64_t lo, int64_t hi);
double conf_rand_double(conf_env *env, double lo, double hi);
float conf_rand_float(conf_env *env, float lo, float hi);
/* Log-uniform in [lo, hi], lo > 0: covers several binades evenly. */
double conf_rand_log_uniform(conf_env *env, double lo, double hi);

/* Records a failure; the first few are printed, the rest only counted. */
void conf_fail(conf_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a note (what ran, which sizes). */
void conf_note(conf_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records that a sub-case was skipped and why (it shows in the test output). */
void conf_skip_part(conf_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* PASS when nothing failed, else FAIL; prints the summary line. */
conf_result conf_verdict(conf_env *env);

/* Compares and records one value; returns whether it matched. */
#define CONF_CHECK(env, cond, ...) \
    ((env)->checks++, (cond) ? true : (conf_fail((env), __VA_ARGS__), false))

/* |got - want| within rel * scale + abs; scale is the magnitude of the
 * terms that produced want (so cancellation does not make it too strict). */
bool conf_close(double got, double want, double scale, double rel, double abs_tol);

/* Single precision unit roundoff 2^-24 and double 2^-53, the yardsticks
 * for tolerances on float arithmetic that may be contracted to fma. */
#define CONF_FLOAT_EPS 5.9604644775390625e-08
#define CONF_DOUBLE_EPS 1.1102230246251565e-16

/* Ceiling division for grid sizes. */
static inline size_t conf_div_up(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* The cases, one per kernel file, each in a case_*.c file. */
conf_result conf_case_index(conf_env *env);
conf_result conf_case_shared_1d(conf_env *env);
conf_result conf_case_shared_2d(conf_env *env);
conf_result conf_case_atomics_int(conf_env *env);
conf_result conf_case_atomics_float(conf_env *env);
conf_result conf_case_subgroups(conf_env *env);
conf_result conf_case_math(conf_env *env);
conf_result conf_case_minmax(conf_env *env);
conf_result conf_case_helpers(conf_env *env);
conf_result conf_case_structs(conf_env *env);
conf_result conf_case_scalar_params(conf_env *env);
conf_result conf_case_buffer_types(conf_env *env);
conf_result conf_case_vectors(conf_env *env);
conf_result conf_case_bitcast(conf_env *env);
conf_result conf_case_constant_tables(conf_env *env);
conf_result conf_case_preprocessor(conf_env *env);
conf_result conf_case_control_flow(conf_env *env);
conf_result conf_case_integer_semantics(conf_env *env);

#endif
