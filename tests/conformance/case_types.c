/* structs.kc, scalar_params.kc, bitcast.kc: data layout and typed values
 * crossing between host and device unchanged. */
#include "conformance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 5000
#define SCALAR_RUNS 4

/* The host's view of the structs of structs.kc: host layout = C layout. */
typedef struct host_particle {
    float x, y, vx, vy;
    int32_t id;
    uint32_t flags;
} host_particle;

typedef struct host_step_params {
    float dt, gravity;
    uint32_t n;
    int32_t id_offset;
} host_step_params;

typedef struct host_mixed {
    int8_t tag;
    int32_t count;
    int16_t delta;
    float scale;
    int64_t big;
    uint8_t mark;
} host_mixed;

static void check_advance(conf_env *env, kiln_program *p)
{
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    host_step_params params = { conf_rand_float(env, 0.001f, 0.1f), conf_rand_float(env, 1, 20),
                                (uint32_t)n, (int32_t)conf_rand_range(env, -1000, 1000) };
    host_particle *in = conf_alloc(n * sizeof *in), *out = conf_alloc(n * sizeof *out);
    float *energy = conf_alloc(n * sizeof *energy);
    for (size_t i = 0; i < n; i++) {
        in[i] = (host_particle){ conf_rand_float(env, -100, 100), conf_rand_float(env, -100, 100),
                                 conf_rand_float(env, -10, 10), conf_rand_float(env, -10, 10),
                                 (int32_t)conf_rand_range(env, 0, 1 << 20), conf_rand_u32(env) };
    }
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *bout = conf_buffer_filled(env, n * sizeof *out, 0);
    kiln_buffer *benergy = conf_buffer_filled(env, n * sizeof *energy, 0);
    /* Launch more items than particles: the kernel guards with p.n. */
    kiln_range r = { .dims = 1, .global = { n + 100 }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_BYTES(&params, sizeof params), KILN_ARG_BUFFER(bin),
                        KILN_ARG_BUFFER(bout), KILN_ARG_BUFFER(benergy) };
    if (conf_run(env, conf_kernel(env, p, "advance"), &r, args, 4) &&
        conf_read(env, bout, out, n * sizeof *out) &&
        conf_read(env, benergy, energy, n * sizeof *energy)) {
        for (size_t i = 0; i < n; i++) {
            const host_particle *q = &in[i];
            double dv = (double)params.gravity * params.dt;
            double vy = q->vy - dv;
            double x = q->x + (double)q->vx * params.dt, y = q->y + vy * params.dt;
            double e = 0.5 * ((double)q->vx * q->vx + vy * vy);
            double v_scale = fabs(q->vy) + fabs(dv);
            bool ok = conf_close(out[i].vy, vy, v_scale, 2 * CONF_FLOAT_EPS, 0) &&
                      conf_close(out[i].x, x, fabs(q->x) + fabs(q->vx * params.dt), 2 * CONF_FLOAT_EPS, 0) &&
                      conf_close(out[i].y, y, fabs(q->y) + v_scale * params.dt, 4 * CONF_FLOAT_EPS, 0) &&
                      conf_close(energy[i], e, e + fabs(vy) * v_scale, 8 * CONF_FLOAT_EPS, 0) &&
                      out[i].vx == q->vx && out[i].id == q->id + params.id_offset &&
                      out[i].flags == (q->flags | 1u);
            CONF_CHECK(env, ok,
                       "advance particle %zu: got (x %.9g y %.9g vx %.9g vy %.9g id %d flags 0x%x "
                       "energy %.9g), want (%.9g %.9g %.9g %.9g %d 0x%x %.9g)",
                       i, out[i].x, out[i].y, out[i].vx, out[i].vy, out[i].id, out[i].flags,
                       energy[i], x, y, q->vx, vy, q->id + params.id_offset, q->flags | 1u, e);
        }
    }
    free(in);
    free(out);
    free(energy);
}

static host_mixed random_mixed(conf_env *env)
{
    return (host_mixed){ (int8_t)conf_rand_u32(env), (int32_t)conf_rand_range(env, -30000, 30000),
                         (int16_t)conf_rand_u32(env), conf_rand_float(env, -1e3f, 1e3f),
                         conf_rand_range(env, -(1LL << 61), 1LL << 61), (uint8_t)conf_rand_u32(env) };
}

static void check_mixed_layout(conf_env *env, kiln_program *p)
{
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    host_mixed m = random_mixed(env);
    host_mixed *in = conf_alloc(n * sizeof *in), *out = conf_alloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        in[i] = random_mixed(env);
    kiln_buffer *bin = conf_buffer(env, n * sizeof *in, in);
    kiln_buffer *bout = conf_buffer_filled(env, n * sizeof *out, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 64 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BYTES(&m, sizeof m), KILN_ARG_BUFFER(bin),
                        KILN_ARG_BUFFER(bout) };
    if (conf_run(env, conf_kernel(env, p, "mixed_layout"), &r, args, 4) &&
        conf_read(env, bout, out, n * sizeof *out)) {
        for (size_t i = 0; i < n; i++) {
            host_mixed want = { (int8_t)(in[i].tag + m.tag), in[i].count * m.count,
                                (int16_t)(in[i].delta - m.delta), in[i].scale * m.scale,
                                in[i].big + m.big, (uint8_t)(in[i].mark ^ m.mark) };
            const host_mixed *g = &out[i];
            CONF_CHECK(env, g->tag == want.tag && g->count == want.count &&
                                g->delta == want.delta && g->scale == want.scale &&
                                g->big == want.big && g->mark == want.mark,
                       "mixed_layout item %zu: got {%d %d %d %.9g %lld %u}, want {%d %d %d %.9g %lld %u}",
                       i, g->tag, g->count, g->delta, g->scale, (long long)g->big, g->mark,
                       want.tag, want.count, want.delta, want.scale, (long long)want.big,
                       want.mark);
        }
    }
    free(in);
    free(out);
}

conf_result conf_case_structs(conf_env *env)
{
    kiln_program *p = conf_program(env, "structs.kc", NULL);
    if (!p)
        return conf_verdict(env);
    conf_note(env, "host sizes: particle %zu, step_params %zu, mixed %zu bytes",
              sizeof(host_particle), sizeof(host_step_params), sizeof(host_mixed));
    check_advance(env, p);
    check_mixed_layout(env, p);
    return conf_verdict(env);
}

static void check_every_scalar(conf_env *env, kiln_kernel *k, bool b)
{
    int8_t c = (int8_t)conf_rand_u32(env);
    uint8_t uc = (uint8_t)conf_rand_u32(env);
    int16_t s = (int16_t)conf_rand_u32(env);
    uint16_t us = (uint16_t)conf_rand_u32(env);
    int32_t i = (int32_t)conf_rand_u32(env);
    uint32_t u = conf_rand_u32(env);
    int64_t l = (int64_t)conf_rand_u64(env);
    uint64_t ul = conf_rand_u64(env);
    float f = conf_rand_float(env, -1e6f, 1e6f);
    int64_t want[9] = { b, c, uc, s, us, i, u, l, !b };
    int64_t got[9];
    uint64_t got_ul = 0;
    float got_f = 0;
    kiln_buffer *out = conf_buffer_filled(env, sizeof got, 0xEE);
    kiln_buffer *out_ul = conf_buffer_filled(env, sizeof got_ul, 0);
    kiln_buffer *out_f = conf_buffer_filled(env, sizeof got_f, 0);
    kiln_range r = { .dims = 1, .global = { 1 }, .local = { 1 } };
    kiln_arg args[] = { KILN_ARG_BOOL(b), KILN_ARG_I8(c), KILN_ARG_U8(uc), KILN_ARG_I16(s),
                        KILN_ARG_U16(us), KILN_ARG_I32(i), KILN_ARG_U32(u), KILN_ARG_I64(l),
                        KILN_ARG_U64(ul), KILN_ARG_F32(f), KILN_ARG_BUFFER(out),
                        KILN_ARG_BUFFER(out_ul), KILN_ARG_BUFFER(out_f) };
    if (!conf_run(env, k, &r, args, 13) || !conf_read(env, out, got, sizeof got) ||
        !conf_read(env, out_ul, &got_ul, sizeof got_ul) || !conf_read(env, out_f, &got_f, sizeof got_f))
        return;
    static const char *names[] = { "bool", "char", "uchar", "short", "ushort", "int", "uint",
                                   "long", "!bool" };
    for (int j = 0; j < 9; j++)
        CONF_CHECK(env, got[j] == want[j], "%s parameter arrived as %lld, want %lld", names[j],
                   (long long)got[j], (long long)want[j]);
    CONF_CHECK(env, got_ul == ul, "ulong parameter arrived as %llu, want %llu",
               (unsigned long long)got_ul, (unsigned long long)ul);
    CONF_CHECK(env, got_f == f, "float parameter arrived as %.9g, want %.9g", got_f, f);
}

conf_result conf_case_scalar_params(conf_env *env)
{
    kiln_program *p = conf_program(env, "scalar_params.kc", conf_double_define(env));
    kiln_kernel *k = conf_kernel(env, p, "every_scalar");
    if (!k)
        return conf_verdict(env);
    for (int run = 0; run < SCALAR_RUNS; run++)
        check_every_scalar(env, k, run % 2 == 0);
    if (!conf_has_cap(env, KILN_CAP_DOUBLE)) {
        conf_skip_part(env, "double parameter: device lacks KILN_CAP_DOUBLE");
        return conf_verdict(env);
    }
    kiln_kernel *kd = conf_kernel(env, p, "double_scalar");
    for (int run = 0; kd && run < SCALAR_RUNS; run++) {
        double d = conf_rand_double(env, -1e300, 1e300), got = 0;
        kiln_buffer *out = conf_buffer_filled(env, sizeof got, 0);
        kiln_range r = { .dims = 1, .global = { 1 }, .local = { 0 } };
        kiln_arg args[] = { KILN_ARG_F64(d), KILN_ARG_BUFFER(out) };
        if (conf_run(env, kd, &r, args, 2) && conf_read(env, out, &got, sizeof got))
            CONF_CHECK(env, memcmp(&got, &d, sizeof d) == 0,
                       "double parameter arrived as %.17g, want %.17g", got, d);
    }
    return conf_verdict(env);
}

/* Random 32-bit float bits of a normal number: no NaN payloads (which a
 * device may canonicalize) and no subnormals (which it may flush). */
static uint32_t normal_float_bits(conf_env *env)
{
    uint32_t bits = conf_rand_u32(env);
    uint32_t exponent = 1 + conf_rand_below(env, 254);
    return (bits & 0x807FFFFFu) | (exponent << 23);
}

static uint64_t normal_double_bits(conf_env *env)
{
    uint64_t bits = conf_rand_u64(env);
    uint64_t exponent = 1 + conf_rand_below(env, 2046);
    return (bits & 0x800FFFFFFFFFFFFFull) | (exponent << 52);
}

static void check_casts32(conf_env *env, kiln_program *p, size_t n)
{
    uint32_t *bits = conf_alloc(n * 4), *fbits = conf_alloc(n * 4);
    uint32_t *as_f = conf_alloc(n * 4), *as_i = conf_alloc(n * 4), *as_u = conf_alloc(n * 4),
             *f_as_i = conf_alloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        bits[i] = normal_float_bits(env);
        fbits[i] = normal_float_bits(env);
    }
    kiln_buffer *bbits = conf_buffer(env, n * 4, bits), *bfloats = conf_buffer(env, n * 4, fbits);
    kiln_buffer *outs[4];
    for (int j = 0; j < 4; j++)
        outs[j] = conf_buffer_filled(env, n * 4, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bbits), KILN_ARG_BUFFER(bfloats),
                        KILN_ARG_BUFFER(outs[0]), KILN_ARG_BUFFER(outs[1]),
                        KILN_ARG_BUFFER(outs[2]), KILN_ARG_BUFFER(outs[3]) };
    if (conf_run(env, conf_kernel(env, p, "casts32"), &r, args, 7) &&
        conf_read(env, outs[0], as_f, n * 4) && conf_read(env, outs[1], as_i, n * 4) &&
        conf_read(env, outs[2], as_u, n * 4) && conf_read(env, outs[3], f_as_i, n * 4)) {
        for (size_t i = 0; i < n; i++) {
            CONF_CHECK(env, as_f[i] == bits[i] && as_i[i] == bits[i],
                       "as_float/as_int(0x%08x) item %zu: 0x%08x / 0x%08x", bits[i], i, as_f[i],
                       as_i[i]);
            CONF_CHECK(env, as_u[i] == fbits[i] && f_as_i[i] == fbits[i],
                       "as_uint/as_int of float bits 0x%08x item %zu: 0x%08x / 0x%08x", fbits[i],
                       i, as_u[i], f_as_i[i]);
        }
    }
    free(bits);
    free(fbits);
    free(as_f);
    free(as_i);
    free(as_u);
    free(f_as_i);
}

/* The 64-bit casts; with doubles also as_double and as_ulong/as_long of a double. */
static void check_casts64(conf_env *env, kiln_program *p, size_t n, bool doubles)
{
    uint64_t *bits = conf_alloc(n * 8), *other = conf_alloc(n * 8);
    uint64_t *out[3] = { conf_alloc(n * 8), conf_alloc(n * 8), conf_alloc(n * 8) };
    for (size_t i = 0; i < n; i++) {
        bits[i] = doubles ? normal_double_bits(env) : conf_rand_u64(env);
        other[i] = doubles ? normal_double_bits(env) : conf_rand_u64(env);
    }
    int outputs = doubles ? 3 : 2;
    kiln_buffer *bbits = conf_buffer(env, n * 8, bits), *bother = conf_buffer(env, n * 8, other);
    kiln_buffer *bouts[3];
    for (int j = 0; j < outputs; j++)
        bouts[j] = conf_buffer_filled(env, n * 8, 0);
    kiln_range r = { .dims = 1, .global = { n }, .local = { 0 } };
    kiln_arg args[] = { KILN_ARG_U32(n), KILN_ARG_BUFFER(bbits), KILN_ARG_BUFFER(bother),
                        KILN_ARG_BUFFER(bouts[0]), KILN_ARG_BUFFER(bouts[1]),
                        KILN_ARG_BUFFER(doubles ? bouts[2] : bouts[1]) };
    bool ok = conf_run(env, conf_kernel(env, p, doubles ? "casts_double" : "casts64"), &r, args,
                       (uint32_t)(3 + outputs));
    for (int j = 0; ok && j < outputs; j++)
        ok = conf_read(env, bouts[j], out[j], n * 8);
    for (size_t i = 0; ok && i < n; i++) {
        /* casts64: as_long(bits), as_ulong(other); casts_double: as_double(bits),
         * as_ulong(other), as_long(other). */
        CONF_CHECK(env, out[0][i] == bits[i] && out[1][i] == other[i] &&
                            (!doubles || out[2][i] == other[i]),
                   "%s item %zu: bits 0x%016llx / 0x%016llx came back as 0x%016llx / 0x%016llx",
                   doubles ? "casts_double" : "casts64", i, (unsigned long long)bits[i],
                   (unsigned long long)other[i], (unsigned long long)out[0][i],
                   (unsigned long long)out[1][i]);
    }
    free(bits);
    free(other);
    for (int j = 0; j < 3; j++)
        free(out[j]);
}

conf_result conf_case_bitcast(conf_env *env)
{
    kiln_program *p = conf_program(env, "bitcast.kc", conf_double_define(env));
    if (!p)
        return conf_verdict(env);
    size_t n = 1 + conf_rand_below(env, MAX_ITEMS);
    check_casts32(env, p, n);
    check_casts64(env, p, n, false);
    if (conf_has_cap(env, KILN_CAP_DOUBLE))
        check_casts64(env, p, n, true);
    else
        conf_skip_part(env, "as_double: device lacks KILN_CAP_DOUBLE");
    return conf_verdict(env);
}
