/* shared_1d.kc and shared_2d.kc: work-group memory and barrier(). */
#include "conformance.h"

#include <stdlib.h>

/* MAX_GROUP of shared_1d.kc. */
#define SHARED_1D_MAX_GROUP 256
/* TILE of shared_2d.kc (its default). */
#define SHARED_2D_TILE 16
/* Matrix entries are small integers, so every product and sum of the
 * tiled product is exact in float and the check can be exact. */
#define MATMUL_ENTRY_LIMIT 8

static size_t fit_group(const conf_env *env, size_t wanted)
{
    return wanted <= env->info.max_work_group_size ? wanted : env->info.max_work_group_size;
}

static uint32_t *random_u32s(conf_env *env, size_t n)
{
    uint32_t *v = conf_alloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = conf_rand_u32(env);
    return v;
}

static void check_group_sum(conf_env *env, kiln_kernel *k, size_t local)
{
    uint32_t n = 1000 + conf_rand_below(env, 50000);
    size_t groups = conf_div_up(n, local);
    uint32_t *in = random_u32s(env, n);
    uint32_t *sums = conf_alloc(groups * sizeof *sums);
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *bsums = conf_buffer_filled(env, groups * sizeof *sums, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { local } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bin), KILN_ARG_BUFFER(bsums) };
    if (conf_run(env, k, &r, args, 3) && conf_read(env, bsums, sums, groups * sizeof *sums)) {
        for (size_t g = 0; g < groups; g++) {
            uint32_t want = 0; /* unsigned: the sum wraps, on both sides */
            for (size_t i = g * local; i < (g + 1) * local && i < n; i++)
                want += in[i];
            CONF_CHECK(env, sums[g] == want, "group_sum n=%u local=%zu group %zu: %u, want %u", n,
                       local, g, sums[g], want);
        }
    }
    free(in);
    free(sums);
}

static void check_group_scan(conf_env *env, kiln_kernel *k, size_t local)
{
    uint32_t n = 1 + conf_rand_below(env, 40000);
    uint32_t *in = random_u32s(env, n);
    uint32_t *out = conf_alloc(n * sizeof *out);
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *bout = conf_buffer_filled(env, n * sizeof *out, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { local } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bin), KILN_ARG_BUFFER(bout) };
    if (conf_run(env, k, &r, args, 3) && conf_read(env, bout, out, n * sizeof *out)) {
        uint32_t running = 0;
        for (size_t i = 0; i < n; i++) {
            running = i % local == 0 ? in[i] : running + in[i];
            CONF_CHECK(env, out[i] == running, "group_scan n=%u local=%zu item %zu: %u, want %u",
                       n, local, i, out[i], running);
        }
    }
    free(in);
    free(out);
}

static void check_group_reverse(conf_env *env, kiln_kernel *k, size_t local)
{
    uint32_t n = 1 + conf_rand_below(env, 30000);
    int32_t *in = conf_alloc(n * sizeof *in);
    int32_t *out = conf_alloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        in[i] = (int32_t)conf_rand_range(env, 0, INT32_MAX);
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *bout = conf_buffer_filled(env, n * sizeof *out, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { local } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bin), KILN_ARG_BUFFER(bout) };
    if (conf_run(env, k, &r, args, 3) && conf_read(env, bout, out, n * sizeof *out)) {
        for (size_t i = 0; i < n; i++) {
            size_t src = (i / local) * local + (local - 1 - i % local);
            int32_t want = src < n ? in[src] : -1;
            CONF_CHECK(env, out[i] == want, "group_reverse n=%u local=%zu item %zu: %d, want %d",
                       n, local, i, out[i], want);
        }
    }
    free(in);
    free(out);
}

static void check_chunked_total(conf_env *env, kiln_kernel *k, size_t local)
{
    uint32_t n = 1 + conf_rand_below(env, 10000);
    uint32_t *in = random_u32s(env, n);
    uint32_t total = 0, want = 0;
    for (size_t i = 0; i < n; i++)
        want += in[i];
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *btotal = conf_buffer_filled(env, sizeof total, 0);
    kiln_range r = { .dims = 1, .global = { local }, .local = { local } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bin), KILN_ARG_BUFFER(btotal) };
    if (conf_run(env, k, &r, args, 3) && conf_read(env, btotal, &total, sizeof total))
        CONF_CHECK(env, total == want, "chunked_total n=%u local=%zu: %u, want %u", n, local,
                   total, want);
    free(in);
}

conf_result conf_case_shared_1d(conf_env *env)
{
    kiln_program *p = conf_program(env, "shared_1d.kc", NULL);
    kiln_kernel *sum = conf_kernel(env, p, "group_sum");
    kiln_kernel *scan = conf_kernel(env, p, "group_scan");
    kiln_kernel *reverse = conf_kernel(env, p, "group_reverse");
    kiln_kernel *chunked = conf_kernel(env, p, "chunked_total");
    if (!sum || !scan || !reverse || !chunked)
        return conf_verdict(env);
    static const size_t pow2_locals[] = { 2, 64, SHARED_1D_MAX_GROUP };
    static const size_t any_locals[] = { 1, 37, 128, SHARED_1D_MAX_GROUP };
    for (size_t i = 0; i < sizeof pow2_locals / sizeof pow2_locals[0]; i++)
        check_group_sum(env, sum, fit_group(env, pow2_locals[i]));
    for (size_t i = 0; i < sizeof any_locals / sizeof any_locals[0]; i++) {
        check_group_scan(env, scan, fit_group(env, any_locals[i]));
        check_group_reverse(env, reverse, fit_group(env, any_locals[i]));
        check_chunked_total(env, chunked, fit_group(env, any_locals[i]));
    }
    return conf_verdict(env);
}

static void check_matmul(conf_env *env, kiln_kernel *k, uint32_t m, uint32_t n, uint32_t kk)
{
    float *a = conf_alloc((size_t)m * kk * sizeof *a);
    float *b = conf_alloc((size_t)kk * n * sizeof *b);
    float *c = conf_alloc((size_t)m * n * sizeof *c);
    for (size_t i = 0; i < (size_t)m * kk; i++)
        a[i] = (float)conf_rand_range(env, -MATMUL_ENTRY_LIMIT, MATMUL_ENTRY_LIMIT);
    for (size_t i = 0; i < (size_t)kk * n; i++)
        b[i] = (float)conf_rand_range(env, -MATMUL_ENTRY_LIMIT, MATMUL_ENTRY_LIMIT);
    kiln_buffer *ba = conf_buffer(env, (size_t)m * kk * sizeof *a, a);
    kiln_buffer *bb = conf_buffer(env, (size_t)kk * n * sizeof *b, b);
    kiln_buffer *bc = conf_buffer_filled(env, (size_t)m * n * sizeof *c, 0);
    kiln_range r = { .dims = 2, .global = { n, m }, .local = { SHARED_2D_TILE, SHARED_2D_TILE } };
    kiln_arg args[] = { KILN_ARG_U32(m), KILN_ARG_U32(n), KILN_ARG_U32(kk),
                        KILN_ARG_BUFFER(ba), KILN_ARG_BUFFER(bb), KILN_ARG_BUFFER(bc) };
    if (conf_run(env, k, &r, args, 6) && conf_read(env, bc, c, (size_t)m * n * sizeof *c)) {
        for (uint32_t row = 0; row < m; row++) {
            for (uint32_t col = 0; col < n; col++) {
                float want = 0.0f;
                for (uint32_t j = 0; j < kk; j++)
                    want += a[row * kk + j] * b[j * n + col];
                float got = c[row * n + col];
                CONF_CHECK(env, got == want, "matmul %ux%ux%u c[%u][%u] = %g, want %g", m, n, kk,
                           row, col, got, want);
            }
        }
    }
    free(a);
    free(b);
    free(c);
}

static void check_transpose(conf_env *env, kiln_kernel *k, uint32_t w, uint32_t h)
{
    size_t count = (size_t)w * h;
    int32_t *in = conf_alloc(count * sizeof *in);
    int32_t *out = conf_alloc(count * sizeof *out);
    for (size_t i = 0; i < count; i++)
        in[i] = (int32_t)conf_rand_u32(env);
    kiln_buffer *bin = conf_buffer(env, count * sizeof *in, in);
    kiln_buffer *bout = conf_buffer_filled(env, count * sizeof *out, 0);
    kiln_range r = { .dims = 2, .global = { w, h }, .local = { SHARED_2D_TILE, SHARED_2D_TILE } };
    kiln_arg args[] = { KILN_ARG_U32(w), KILN_ARG_U32(h), KILN_ARG_BUFFER(bin),
                        KILN_ARG_BUFFER(bout) };
    if (conf_run(env, k, &r, args, 4) && conf_read(env, bout, out, count * sizeof *out)) {
        for (uint32_t y = 0; y < h; y++) {
            for (uint32_t x = 0; x < w; x++) {
                CONF_CHECK(env, out[x * h + y] == in[y * w + x],
                           "transpose %ux%u: out[%u][%u] = %d, want %d", w, h, x, y,
                           out[x * h + y], in[y * w + x]);
            }
        }
    }
    free(in);
    free(out);
}

conf_result conf_case_shared_2d(conf_env *env)
{
    if (env->info.max_work_group_size < SHARED_2D_TILE * SHARED_2D_TILE) {
        conf_skip_part(env, "device takes at most %u items per group; the tiles need %d",
                       env->info.max_work_group_size, SHARED_2D_TILE * SHARED_2D_TILE);
        return conf_verdict(env);
    }
    kiln_program *p = conf_program(env, "shared_2d.kc", NULL);
    kiln_kernel *matmul = conf_kernel(env, p, "matmul");
    kiln_kernel *transpose = conf_kernel(env, p, "transpose");
    if (!matmul || !transpose)
        return conf_verdict(env);
    /* A multiple of the tile, then sizes that are not. */
    check_matmul(env, matmul, 32, 48, 64);
    check_matmul(env, matmul, 1 + conf_rand_below(env, 90), 1 + conf_rand_below(env, 90),
                 1 + conf_rand_below(env, 90));
    check_transpose(env, transpose, 64, 32);
    check_transpose(env, transpose, 1 + conf_rand_below(env, 300), 1 + conf_rand_below(env, 300));
    return conf_verdict(env);
}
