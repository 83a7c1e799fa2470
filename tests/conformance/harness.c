/* The conformance harness: device, kernel files, random inputs, reporting. */
#include "conformance.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mismatches printed per case; more would bury the first, most useful one. */
#define CONF_PRINTED_FAILURES 12
#define CONF_PATH_MAX 4096

uint64_t conf_seed_state(uint64_t seed)
{
    /* splitmix64's finalizer: seeds that differ in a few low bits (time and
     * pid) start far apart, and the state is never 0 (xorshift's fixed point). */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z ? z : 1;
}

conf_result conf_env_open(conf_env *env, const char *backend, const char *kernel_dir,
                          uint64_t seed)
{
    memset(env, 0, sizeof *env);
    env->kernel_dir = kernel_dir;
    env->seed = seed;
    env->rng_state = conf_seed_state(seed);

    kiln_status st = kiln_context_create(&env->ctx, NULL);
    if (st != KILN_OK) {
        printf("FAIL: kiln_context_create: %s: %s\n", kiln_status_name(st), kiln_last_error());
        return CONF_FAIL;
    }
    /* "cpu" names the CPU device; the GPU backends are asked for device 0. */
    char selector[64];
    if (strcmp(backend, "cpu") == 0)
        snprintf(selector, sizeof selector, "cpu");
    else
        snprintf(selector, sizeof selector, "%s:0", backend);
    st = kiln_device_find(env->ctx, selector, &env->dev);
    if (st != KILN_OK) {
        printf("SKIP: no %s device (%s: %s)\n", backend, kiln_status_name(st),
               kiln_last_error());
        return CONF_SKIP;
    }
    st = kiln_device_get_info(env->dev, &env->info);
    if (st != KILN_OK) {
        printf("FAIL: kiln_device_get_info: %s: %s\n", kiln_status_name(st), kiln_last_error());
        return CONF_FAIL;
    }
    if (strcmp(kiln_backend_name(env->info.backend), backend) != 0) {
        printf("FAIL: selector \"%s\" gave a device of backend %s\n", selector,
               kiln_backend_name(env->info.backend));
        return CONF_FAIL;
    }
    st = kiln_queue_create(env->dev, KILN_PRIORITY_NORMAL, &env->queue);
    if (st != KILN_OK) {
        printf("FAIL: kiln_queue_create: %s: %s\n", kiln_status_name(st), kiln_last_error());
        return CONF_FAIL;
    }
    printf("device: %s (%s), backend %s, subgroup size %u, max work-group %u, caps 0x%x\n",
           env->info.name, env->info.vendor, backend, env->info.subgroup_size,
           env->info.max_work_group_size, env->info.capabilities);
    return CONF_PASS;
}

void conf_env_release_objects(conf_env *env)
{
    for (size_t i = 0; i < env->kernel_count; i++)
        kiln_kernel_release(env->kernels[i]);
    for (size_t i = 0; i < env->program_count; i++)
        kiln_program_release(env->programs[i]);
    for (size_t i = 0; i < env->buffer_count; i++)
        kiln_buffer_release(env->buffers[i]);
    env->kernel_count = env->program_count = env->buffer_count = 0;
}

void conf_env_close(conf_env *env)
{
    if (env->queue)
        kiln_queue_finish(env->queue);
    conf_env_release_objects(env);
    kiln_queue_destroy(env->queue);
    kiln_context_destroy(env->ctx);
    env->queue = NULL;
    env->ctx = NULL;
}

void *conf_alloc(size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "conformance: out of host memory (%zu bytes)\n", bytes);
        exit(CONF_FAIL);
    }
    return p;
}

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long length = ftell(f);
        if (length >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            text = conf_alloc((size_t)length + 1);
            if (fread(text, 1, (size_t)length, f) != (size_t)length) {
                free(text);
                text = NULL;
            }
        }
    }
    fclose(f);
    return text;
}

/* Builds FILE; *source_missing tells a missing file from a build error. */
static kiln_status build_file(conf_env *env, const char *file, const char *defines,
                              kiln_program **out, bool *source_missing)
{
    char path[CONF_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", env->kernel_dir, file);
    char *source = read_text_file(path);
    *source_missing = source == NULL;
    if (!source)
        return KILN_ERR_IO;
    kiln_build_options opts = { .size = sizeof opts, .defines = defines, .source_name = file };
    kiln_status st = kiln_program_build(env->dev, source, &opts, out);
    free(source);
    return st;
}

kiln_status conf_build_status(conf_env *env, const char *file, const char *defines)
{
    kiln_program *prog = NULL;
    bool missing = false;
    kiln_status st = build_file(env, file, defines, &prog, &missing);
    if (missing)
        conf_fail(env, "cannot read kernel file %s/%s", env->kernel_dir, file);
    kiln_program_release(prog);
    return st;
}

kiln_program *conf_program(conf_env *env, const char *file, const char *defines)
{
    kiln_program *prog = NULL;
    bool missing = false;
    kiln_status st = build_file(env, file, defines, &prog, &missing);
    if (missing) {
        conf_fail(env, "cannot read kernel file %s/%s", env->kernel_dir, file);
        return NULL;
    }
    if (st != KILN_OK) {
        conf_fail(env, "build %s [%s]: %s\n%s", file, defines ? defines : "", kiln_status_name(st),
                  kiln_last_error());
        return NULL;
    }
    if (env->program_count == CONF_MAX_OBJECTS) {
        kiln_program_release(prog);
        conf_fail(env, "harness: too many programs");
        return NULL;
    }
    env->programs[env->program_count++] = prog;
    return prog;
}

kiln_kernel *conf_kernel(conf_env *env, kiln_program *prog, const char *name)
{
    if (!prog)
        return NULL;
    kiln_kernel *k = NULL;
    kiln_status st = kiln_kernel_get(prog, name, &k);
    if (st != KILN_OK) {
        conf_fail(env, "kiln_kernel_get(%s): %s: %s", name, kiln_status_name(st),
                  kiln_last_error());
        return NULL;
    }
    if (env->kernel_count == CONF_MAX_OBJECTS) {
        kiln_kernel_release(k);
        conf_fail(env, "harness: too many kernels");
        return NULL;
    }
    env->kernels[env->kernel_count++] = k;
    return k;
}

kiln_kernel *conf_kernel_from(conf_env *env, const char *file, const char *defines,
                              const char *name)
{
    return conf_kernel(env, conf_program(env, file, defines), name);
}

bool conf_write(conf_env *env, kiln_buffer *buf, const void *src, size_t bytes)
{
    kiln_status st = kiln_buffer_write(env->queue, buf, 0, src, bytes);
    if (st != KILN_OK) {
        conf_fail(env, "kiln_buffer_write(%zu bytes): %s: %s", bytes, kiln_status_name(st),
                  kiln_last_error());
        return false;
    }
    return true;
}

kiln_buffer *conf_buffer(conf_env *env, size_t bytes, const void *init)
{
    kiln_buffer *buf = NULL;
    kiln_status st = kiln_buffer_create(env->dev, bytes, 0, &buf);
    if (st != KILN_OK) {
        conf_fail(env, "kiln_buffer_create(%zu): %s: %s", bytes, kiln_status_name(st),
                  kiln_last_error());
        return NULL;
    }
    if (env->buffer_count == CONF_MAX_OBJECTS) {
        kiln_buffer_release(buf);
        conf_fail(env, "harness: too many buffers");
        return NULL;
    }
    env->buffers[env->buffer_count++] = buf;
    if (init && !conf_write(env, buf, init, bytes))
        return NULL;
    return buf;
}

kiln_buffer *conf_buffer_filled(conf_env *env, size_t bytes, uint8_t fill_byte)
{
    uint8_t *bytes_init = conf_alloc(bytes);
    memset(bytes_init, fill_byte, bytes);
    kiln_buffer *buf = conf_buffer(env, bytes, bytes_init);
    free(bytes_init);
    return buf;
}

bool conf_read(conf_env *env, kiln_buffer *buf, void *dst, size_t bytes)
{
    kiln_status st = kiln_buffer_read(env->queue, buf, 0, dst, bytes);
    if (st != KILN_OK) {
        conf_fail(env, "kiln_buffer_read(%zu bytes): %s: %s", bytes, kiln_status_name(st),
                  kiln_last_error());
        return false;
    }
    return true;
}

bool conf_run(conf_env *env, kiln_kernel *k, const kiln_range *range, const kiln_arg *args,
              uint32_t nargs)
{
    if (!k)
        return false;
    for (uint32_t i = 0; i < nargs; i++) {
        if (args[i].kind == KILN_ARG_KIND_BUFFER && !args[i].value.buffer)
            return false; /* its creation already failed and was reported */
    }
    kiln_status st = kiln_launch(env->queue, k, range, args, nargs, NULL);
    if (st == KILN_OK)
        st = kiln_queue_finish(env->queue);
    if (st != KILN_OK) {
        conf_fail(env, "launch (dims %u, global %zux%zux%zu, local %zux%zux%zu): %s: %s",
                  range->dims, range->global[0], range->global[1], range->global[2],
                  range->local[0], range->local[1], range->local[2], kiln_status_name(st),
                  kiln_last_error());
        return false;
    }
    return true;
}

bool conf_has_cap(const conf_env *env, uint32_t cap)
{
    return (env->info.capabilities & cap) == cap;
}

const char *conf_double_define(const conf_env *env)
{
    return conf_has_cap(env, KILN_CAP_DOUBLE) ? "-DKILN_TEST_DOUBLE=1" : "-DKILN_TEST_DOUBLE=0";
}

/* xorshift64* (Vigna): small, fast, and good enough for test inputs. */
uint64_t conf_rand_u64(conf_env *env)
{
    uint64_t x = env->rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    env->rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

uint32_t conf_rand_u32(conf_env *env)
{
    return (uint32_t)(conf_rand_u64(env) >> 32);
}

uint32_t conf_rand_below(conf_env *env, uint32_t bound)
{
    return (uint32_t)(((conf_rand_u64(env) >> 32) * bound) >> 32);
}

int64_t conf_rand_range(conf_env *env, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    uint64_t r = conf_rand_u64(env);
    return span == 0 ? (int64_t)r : (int64_t)((uint64_t)lo + r % span);
}

double conf_rand_double(conf_env *env, double lo, double hi)
{
    /* 53 random bits give a uniform double in [0, 1). */
    double unit = (double)(conf_rand_u64(env) >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * unit;
}

float conf_rand_float(conf_env *env, float lo, float hi)
{
    float v = (float)conf_rand_double(env, lo, hi);
    return v < lo ? lo : (v > hi ? hi : v);
}

double conf_rand_log_uniform(conf_env *env, double lo, double hi)
{
    return exp(conf_rand_double(env, log(lo), log(hi)));
}

void conf_fail(conf_env *env, const char *fmt, ...)
{
    env->failures++;
    if (env->failures > CONF_PRINTED_FAILURES)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (env->failures == CONF_PRINTED_FAILURES)
        printf("(further failures are counted, not printed)\n");
}

void conf_note(conf_env *env, const char *fmt, ...)
{
    (void)env;
    va_list ap;
    va_start(ap, fmt);
    printf("  ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

void conf_skip_part(conf_env *env, const char *fmt, ...)
{
    env->skipped_parts++;
    va_list ap;
    va_start(ap, fmt);
    printf("  SKIPPED PART: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

conf_result conf_verdict(conf_env *env)
{
    printf("%u values checked, %u failures, %u parts skipped\n", env->checks, env->failures,
           env->skipped_parts);
    if (env->failures > 0)
        return CONF_FAIL;
    if (env->checks == 0) {
        printf("FAIL: the case compared nothing\n");
        return CONF_FAIL;
    }
    return CONF_PASS;
}

bool conf_close(double got, double want, double scale, double rel, double abs_tol)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= rel * fabs(scale) + abs_tol;
}
