/* helpers.kc, constant_tables.kc, preprocessor.kc, control_flow.kc: the
 * language's functions, tables, preprocessor and statements, each checked
 * against the same computation written in C here. */
#include "conformance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 5000
#define HELPERS_MAX_GROUP 256 /* MAX_GROUP of helpers.kc */

static size_t random_count(conf_env *env)
{
    return 1 + conf_rand_below(env, MAX_ITEMS);
}

static void check_helper_global(conf_env *env, kiln_program *p)
{
    size_t n = random_count(env);
    float a = conf_rand_float(env, -4.0f, 4.0f);
    float *x = conf_alloc(n * sizeof *x), *y = conf_alloc(n * sizeof *y);
    float *out = conf_alloc(2 * n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        x[i] = conf_rand_float(env, -100.0f, 100.0f);
        y[i] = conf_rand_float(env, -100.0f, 100.0f);
    }
    kiln_buffer *bx = conf_buffer(env, n * sizeof *x, x), *by = conf_buffer(env, n * sizeof *y, y);
    kiln_buffer *bout = conf_buffer_filled(env, 2 * n * sizeof *out, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 64 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_F32(a), KILN_ARG_BUFFER(bx), KILN_ARG_BUFFER(by),
                        KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "helper_global"), &r, args, 5) &&
        conf_read(env, bout, out, 2 * n * sizeof *out)) {
        for (size_t i = 0; i < n; i++) {
            double want = (double)a * x[i] + y[i];
            double scale = fabs((double)a * x[i]) + fabs(y[i]);
            CONF_CHECK(env, conf_close(out[2 * i], want, scale, 2 * CONF_FLOAT_EPS, 0) &&
                                out[2 * i + 1] == -out[2 * i],
                       "helper_global item %zu: (%.9g, %.9g), want (%.9g, -same)", i, out[2 * i],
                       out[2 * i + 1], want);
        }
    }
    free(x);
    free(y);
    free(out);
}

static void check_helper_chain(conf_env *env, kiln_program *p)
{
    size_t n = random_count(env);
    int32_t *a = conf_alloc(n * sizeof *a), *out = conf_alloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        a[i] = (int32_t)conf_rand_range(env, -1000000, 1000000);
    kiln_buffer *ba = conf_buffer(env, n * sizeof *a, a);
    kiln_buffer *bout = conf_buffer_filled(env, n * sizeof *out, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_I32(n), KILN_ARG_BUFFER(ba), KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "helper_chain"), &r, args, 3) &&
        conf_read(env, bout, out, n * sizeof *out)) {
        for (size_t i = 0; i < n; i++) {
            size_t left = i == 0 ? 0 : i - 1, right = i + 1 >= n ? n - 1 : i + 1;
            int32_t want = a[left] + a[i] + a[right];
            CONF_CHECK(env, out[i] == want, "helper_chain item %zu: %d, want %d", i, out[i], want);
        }
    }
    free(a);
    free(out);
}

static void check_helper_shared(conf_env *env, kiln_program *p)
{
    size_t local = env->info.max_work_group_size < 96 ? env->info.max_work_group_size : 96;
    size_t n = random_count(env), groups = conf_div_up(n, local);
    uint32_t *in = conf_alloc(n * sizeof *in), *sums = conf_alloc(groups * sizeof *sums);
    for (size_t i = 0; i < n; i++)
        in[i] = conf_rand_u32(env);
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *bsums = conf_buffer_filled(env, groups * sizeof *sums, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { local } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bin), KILN_ARG_BUFFER(bsums) };
    if (conf_run(env, conf_kernel(env, p, "helper_shared"), &r, args, 3) &&
        conf_read(env, bsums, sums, groups * sizeof *sums)) {
        for (size_t g = 0; g < groups; g++) {
            uint32_t want = 0;
            for (size_t i = g * local; i < (g + 1) * local && i < n; i++)
                want += in[i];
            CONF_CHECK(env, sums[g] == want, "helper_shared group %zu: %u, want %u", g, sums[g],
                       want);
        }
    }
    free(in);
    free(sums);
}

conf_result conf_case_helpers(conf_env *env)
{
    kiln_program *p = conf_program(env, "helpers.kc", NULL);
    if (!p)
        return conf_verdict(env);
    check_helper_global(env, p);
    check_helper_chain(env, p);
    check_helper_shared(env, p);
    return conf_verdict(env);
}

/* The CRC table is rebuilt here from the polynomial, so a typo in the
 * kernel's table would be caught rather than copied. */
static uint32_t crc32_reference(uint32_t word)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (int b = 0; b < 4; b++) {
        crc ^= (word >> (8 * b)) & 0xFFu;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (crc & 1u ? 0xEDB88320u : 0u);
    }
    return crc ^ 0xFFFFFFFFu;
}

conf_result conf_case_constant_tables(conf_env *env)
{
    static const float weights[5] = { 0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f };
    static const int32_t primes[8] = { 2, 3, 5, 7, 11, 13, 17, 19 };
    kiln_program *p = conf_program(env, "constant_tables.kc", NULL);
    if (!p)
        return conf_verdict(env);
    size_t n = random_count(env);
    float *in = conf_alloc(n * sizeof *in), *out = conf_alloc(n * sizeof *out);
    uint32_t *words = conf_alloc(n * sizeof *words), *crcs = conf_alloc(n * sizeof *crcs);
    int32_t *products = conf_alloc(n * sizeof *products);
    for (size_t i = 0; i < n; i++) {
        in[i] = conf_rand_float(env, -50.0f, 50.0f);
        words[i] = conf_rand_u32(env);
    }
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *bwords = conf_buffer(env, n * sizeof *words, words);
    kiln_buffer *bout = conf_buffer_filled(env, n * sizeof *out, 0);
    kiln_buffer *bcrcs = conf_buffer_filled(env, n * sizeof *crcs, 0);
    kiln_buffer *bproducts = conf_buffer_filled(env, n * sizeof *products, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 32 } };
    kiln_arg blur_args[] = { KILN_ARG_I32(n), KILN_ARG_BUFFER(bin), KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "blur5"), &r, blur_args, 3) &&
        conf_read(env, bout, out, n * sizeof *out)) {
        for (size_t i = 0; i < n; i++) {
            double want = 0.0, scale = 0.0;
            for (int t = 0; t < 5; t++) {
                long j = (long)i + t - 2;
                j = j < 0 ? 0 : (j >= (long)n ? (long)n - 1 : j);
                want += (double)weights[t] * in[j];
                scale += fabs((double)weights[t] * in[j]);
            }
            CONF_CHECK(env, conf_close(out[i], want, scale, 6 * CONF_FLOAT_EPS, 0),
                       "blur5 item %zu: %.9g, want %.9g", i, out[i], want);
        }
    }
    kiln_arg prime_args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bwords), KILN_ARG_BUFFER(bproducts) };
    if (conf_run(env, conf_kernel(env, p, "prime_lookup"), &r, prime_args, 3) &&
        conf_read(env, bproducts, products, n * sizeof *products)) {
        for (size_t i = 0; i < n; i++) {
            int32_t want = primes[words[i] % 8] * primes[(words[i] / 8) % 8];
            CONF_CHECK(env, products[i] == want, "prime_lookup item %zu: %d, want %d", i,
                       products[i], want);
        }
    }
    kiln_arg crc_args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bwords), KILN_ARG_BUFFER(bcrcs) };
    if (conf_run(env, conf_kernel(env, p, "crc32_words"), &r, crc_args, 3) &&
        conf_read(env, bcrcs, crcs, n * sizeof *crcs)) {
        for (size_t i = 0; i < n; i++)
            CONF_CHECK(env, crcs[i] == crc32_reference(words[i]),
                       "crc32_words item %zu (0x%08x): 0x%08x, want 0x%08x", i, words[i], crcs[i],
                       crc32_reference(words[i]));
    }
    free(in);
    free(out);
    free(words);
    free(crcs);
    free(products);
    return conf_verdict(env);
}

typedef struct preprocessor_config {
    const char *defines;
    int scale;
    int offset;
    int mode;
} preprocessor_config;

static int preprocessor_reference(const preprocessor_config *c, int x)
{
    enum { WIDTH = 8 }; /* WIDTH of preprocessor.kc */
    int sum = 0;
    for (int k = 0; k < WIDTH; k++)
        sum += x + k;
    int v = x * x * c->scale + c->offset + sum;
    return c->mode == 2 ? -v : c->mode == 1 ? v / 2 : v;
}

conf_result conf_case_preprocessor(conf_env *env)
{
    /* USE_OFFSET alone is defined as 1 (as in C compilers' -DNAME). */
    const preprocessor_config configs[] = {
        { "-DSCALE=3", 3, 0, 0 },
        { "-DSCALE=5 -DUSE_OFFSET -DMODE=2", 5, 1, 2 },
        { "-DSCALE=-2 -DUSE_OFFSET=7 -DMODE=1", -2, 7, 1 },
    };
    size_t n = random_count(env);
    int32_t *in = conf_alloc(n * sizeof *in), *out = conf_alloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        in[i] = (int32_t)conf_rand_range(env, -10000, 10000);
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *bout = conf_buffer_filled(env, n * sizeof *out, 0);
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        kiln_kernel *k = conf_kernel_from(env, "preprocessor.kc", configs[c].defines, "configured");
        kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
        kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bin), KILN_ARG_BUFFER(bout) };
        if (!conf_run(env, k, &r, args, 3) || !conf_read(env, bout, out, n * sizeof *out))
            continue;
        for (size_t i = 0; i < n; i++) {
            int32_t want = preprocessor_reference(&configs[c], in[i]);
            CONF_CHECK(env, out[i] == want, "preprocessor [%s] item %zu (x=%d): %d, want %d",
                       configs[c].defines, i, in[i], out[i], want);
        }
    }
    /* Without the required define the source's #error must stop the build,
     * with a diagnostic that carries the message. */
    kiln_status st = conf_build_status(env, "preprocessor.kc", NULL);
    CONF_CHECK(env, st == KILN_ERR_COMPILE, "preprocessor.kc without -DSCALE built: %s",
               kiln_status_name(st));
    if (st == KILN_ERR_COMPILE)
        CONF_CHECK(env, strstr(kiln_last_error(), "SCALE") != NULL,
                   "the #error diagnostic does not carry its message: %s", kiln_last_error());
    free(in);
    free(out);
    return conf_verdict(env);
}

static uint32_t collatz_reference(uint32_t v)
{
    enum { COLLATZ_LIMIT = 1000 }; /* COLLATZ_LIMIT of control_flow.kc */
    uint32_t count = 0;
    while (v != 1u && count < COLLATZ_LIMIT) {
        v = (v & 1u) ? 3u * v + 1u : v / 2u;
        count++;
    }
    return count;
}

static int32_t mixed_flow_reference(int32_t v)
{
    int acc = 0;
    for (int k = 0; k < 16; k++) {
        if (k == v % 7)
            continue;
        if (acc > 1000)
            break;
        switch ((v + k) & 3) {
        case 0:
            acc += k;
            break;
        case 1:
            acc -= 1;
            /* fall through */
        case 2:
            acc ^= k;
            break;
        default:
            acc += v & 15;
        }
    }
    int digits = 0;
    int rest = v;
    do {
        digits++;
        rest /= 10;
    } while (rest != 0);
    int nested = 0;
    for (int a = 0; a < 4; a++) {
        for (int b = 0; b < 4; b++) {
            if (b > a)
                break;
            nested += (a * b) % 3 == 0 ? 1 : 2;
        }
    }
    return acc * 1024 + digits * 64 + nested;
}

conf_result conf_case_control_flow(conf_env *env)
{
    kiln_program *p = conf_program(env, "control_flow.kc", NULL);
    if (!p)
        return conf_verdict(env);
    size_t n = random_count(env);
    uint32_t *start = conf_alloc(n * sizeof *start), *steps = conf_alloc(n * sizeof *steps);
    int32_t *in = conf_alloc(n * sizeof *in), *out = conf_alloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        start[i] = 1 + conf_rand_below(env, 1000000);
        in[i] = (int32_t)conf_rand_range(env, -100000000, 100000000);
    }
    kiln_buffer *bstart = conf_buffer(env, n * sizeof *start, start);
    kiln_buffer *bsteps = conf_buffer_filled(env, n * sizeof *steps, 0);
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *bout = conf_buffer_filled(env, n * sizeof *out, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 64 } };
    kiln_arg collatz_args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bstart), KILN_ARG_BUFFER(bsteps) };
    if (conf_run(env, conf_kernel(env, p, "collatz"), &r, collatz_args, 3) &&
        conf_read(env, bsteps, steps, n * sizeof *steps)) {
        for (size_t i = 0; i < n; i++)
            CONF_CHECK(env, steps[i] == collatz_reference(start[i]),
                       "collatz(%u): %u steps, want %u", start[i], steps[i],
                       collatz_reference(start[i]));
    }
    kiln_arg flow_args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bin), KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "mixed_flow"), &r, flow_args, 3) &&
        conf_read(env, bout, out, n * sizeof *out)) {
        for (size_t i = 0; i < n; i++)
            CONF_CHECK(env, out[i] == mixed_flow_reference(in[i]), "mixed_flow(%d): %d, want %d",
                       in[i], out[i], mixed_flow_reference(in[i]));
    }
    free(start);
    free(steps);
    free(in);
    free(out);
    return conf_verdict(env);
}
