/* Kiln C translated to C, compiled with the system compiler and run through
 * the CPU kernel ABI, checked against host references on fresh random
 * inputs (the seed is printed). */
#include "lang/harness.h"

#include <math.h>

typedef struct compiled {
    lang_unit *unit;
    harness_module module;
} compiled;

static compiled compile_c(const char *src, const char *defines)
{
    compiled c;
    c.unit = harness_translate(src, PORT_DIALECT_C, defines, harness_all_caps);
    harness_build(c.unit, &c.module);
    return c;
}

static void release(compiled *c)
{
    harness_close(&c->module);
    lang_unit_free(c->unit);
}

static void saxpy_matches_host(void **state)
{
    (void)state;
    compiled c = compile_c("kernel void saxpy(uint n, float a, global const float *x, global float *y)\n"
                           "{\n    uint i = global_id(0);\n    if (i < n)\n        y[i] = a * x[i] + y[i];\n}\n",
                           NULL);
    unsigned n = 1000 + (unsigned)(rand() % 3000);
    float a = harness_randf();
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *ref = malloc(n * sizeof *ref);
    for (unsigned i = 0; i < n; i++) {
        x[i] = harness_randf();
        y[i] = ref[i] = harness_randf();
        ref[i] = a * x[i] + ref[i];
    }
    void *px = x, *py = y;
    void *args[] = {&n, &a, &px, &py};
    unsigned global[3] = {n}, local[3] = {64};
    harness_run(&c.module, c.unit, "saxpy", 1, global, local, args);
    for (unsigned i = 0; i < n; i++)
        assert_true(harness_close_enough(y[i], ref[i], 1e-5));
    free(x), free(y), free(ref);
    release(&c);
}

static void kernel_2d_with_partial_groups(void **state)
{
    (void)state;
    compiled c = compile_c(
        "kernel void transpose(uint w, uint h, global const int *in, global int *out)\n"
        "{\n    uint x = global_id(0), y = global_id(1);\n"
        "    if (x >= w || y >= h) return;\n    out[x * h + y] = in[y * w + x] * 2 + (int)local_id(1);\n}\n",
        NULL);
    unsigned w = 17 + (unsigned)(rand() % 40), h = 9 + (unsigned)(rand() % 40);
    int *in = malloc(w * h * sizeof *in), *out = calloc(w * h, sizeof *out);
    for (unsigned i = 0; i < w * h; i++)
        in[i] = rand() % 1000;
    void *pi = in, *po = out;
    void *args[] = {&w, &h, &pi, &po};
    unsigned global[3] = {w, h}, local[3] = {8, 4};
    harness_run(&c.module, c.unit, "transpose", 2, global, local, args);
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++)
            assert_int_equal(out[x * h + y], in[y * w + x] * 2 + (int)(y % 4));
    free(in), free(out);
    release(&c);
}

static const char *const sgemm_src =
    "kernel void sgemm(uint n, global const float *A, global const float *B, global float *C)\n"
    "{\n"
    "    shared float As[TS][TS];\n"
    "    shared float Bs[TS][TS];\n"
    "    uint tx = local_id(0), ty = local_id(1);\n"
    "    uint row = global_id(1), col = global_id(0);\n"
    "    float acc = 0.0f;\n"
    "    for (uint t = 0; t < n / TS; t++) {\n"
    "        As[ty][tx] = A[row * n + t * TS + tx];\n"
    "        Bs[ty][tx] = B[(t * TS + ty) * n + col];\n"
    "        barrier();\n"
    "        for (uint k = 0; k < TS; k++)\n"
    "            acc += As[ty][k] * Bs[k][tx];\n"
    "        barrier();\n"
    "    }\n"
    "    C[row * n + col] = acc;\n"
    "}\n";

static void tiled_sgemm_with_barriers(void **state)
{
    (void)state;
    compiled c = compile_c(sgemm_src, "-DTS=8");
    unsigned n = 8 * (unsigned)(4 + rand() % 5);
    float *A = malloc(n * n * sizeof *A), *B = malloc(n * n * sizeof *B);
    float *C = calloc(n * n, sizeof *C);
    for (unsigned i = 0; i < n * n; i++)
        A[i] = harness_randf(), B[i] = harness_randf();
    void *pa = A, *pb = B, *pc = C;
    void *args[] = {&n, &pa, &pb, &pc};
    unsigned global[3] = {n, n}, local[3] = {8, 8};
    harness_run(&c.module, c.unit, "sgemm", 2, global, local, args);
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < n; j++) {
            double ref = 0;
            for (unsigned k = 0; k < n; k++)
                ref += (double)A[i * n + k] * B[k * n + j];
            assert_true(harness_close_enough(C[i * n + j], ref, 1e-4));
        }
    const lang_kernel *k = lang_unit_find_kernel(c.unit, "sgemm");
    assert_true(k->uses_barrier);
    assert_int_equal(k->shared_bytes, 2 * 8 * 8 * sizeof(float));
    size_t frame = lang_unit_cpu_frame_bytes(c.unit, 0);
    assert_true(frame >= k->shared_bytes + LANG_CPU_MAX_GROUP_ITEMS * sizeof(float));
    assert_true(frame < 64 * 1024);
    free(A), free(B), free(C);
    release(&c);
}

static void reduction_with_barrier_loop(void **state)
{
    (void)state;
    compiled c = compile_c(
        "kernel void reduce(global const float *in, global float *out, uint n)\n"
        "{\n    shared float part[128];\n    uint lid = local_id(0);\n    uint i = global_id(0);\n"
        "    part[lid] = i < n ? in[i] : 0.0f;\n    barrier();\n"
        "    for (uint s = local_size(0) / 2; s > 0; s >>= 1) {\n"
        "        if (lid < s)\n            part[lid] += part[lid + s];\n        barrier();\n    }\n"
        "    if (lid == 0)\n        out[group_id(0)] = part[0];\n}\n",
        NULL);
    unsigned n = 500 + (unsigned)(rand() % 2000), groups = (n + 127) / 128;
    float *in = malloc(n * sizeof *in), *out = calloc(groups, sizeof *out);
    for (unsigned i = 0; i < n; i++)
        in[i] = harness_randf();
    void *pi = in, *po = out;
    void *args[] = {&pi, &po, &n};
    unsigned global[3] = {n}, local[3] = {128};
    harness_run(&c.module, c.unit, "reduce", 1, global, local, args);
    for (unsigned g = 0; g < groups; g++) {
        double ref = 0;
        for (unsigned i = g * 128; i < n && i < (g + 1) * 128; i++)
            ref += in[i];
        assert_true(harness_close_enough(out[g], ref, 1e-4));
    }
    free(in), free(out);
    release(&c);
}

static void histogram_with_atomics(void **state)
{
    (void)state;
    compiled c = compile_c(
        "#define BINS 16\n"
        "kernel void hist(global const uint *data, uint n, global uint *bins)\n"
        "{\n    shared uint local_bins[BINS];\n    uint lid = local_id(0);\n"
        "    if (lid < BINS) local_bins[lid] = 0;\n    barrier();\n"
        "    uint i = global_id(0);\n    if (i < n) atomic_add(&local_bins[data[i] % BINS], 1u);\n"
        "    barrier();\n    if (lid < BINS) atomic_add(&bins[lid], local_bins[lid]);\n}\n"
        "kernel void direct(global const uint *data, uint n, global int *bins)\n"
        "{\n    uint i = global_id(0);\n    if (i < n) atomic_add(bins + data[i] % BINS, 1);\n}\n",
        NULL);
    unsigned n = 1000 + (unsigned)(rand() % 5000);
    unsigned *data = malloc(n * sizeof *data), bins[16] = {0}, ref[16] = {0};
    int direct[16] = {0};
    for (unsigned i = 0; i < n; i++) {
        data[i] = (unsigned)rand();
        ref[data[i] % 16]++;
    }
    void *pd = data, *pb = bins, *pdirect = direct;
    void *args[] = {&pd, &n, &pb};
    void *args2[] = {&pd, &n, &pdirect};
    unsigned global[3] = {n}, local[3] = {64};
    harness_run(&c.module, c.unit, "hist", 1, global, local, args);
    harness_run(&c.module, c.unit, "direct", 1, global, local, args2);
    for (int b = 0; b < 16; b++) {
        assert_int_equal(bins[b], ref[b]);
        assert_int_equal(direct[b], (int)ref[b]);
    }
    free(data);
    release(&c);
}

static void every_atomic_returns_old_value(void **state)
{
    (void)state;
    compiled c = compile_c(
        "kernel void atomics(global int *i, global uint *u, global long *l, global ulong *ul,\n"
        "                    global float *f, global double *d, global long *old)\n"
        "{\n    if (global_id(0) != 0) return;\n"
        "    old[0] = atomic_add(&i[0], 5); old[1] = atomic_sub(&i[1], 3);\n"
        "    old[2] = atomic_min(&i[2], -7); old[3] = atomic_max(&i[3], 9);\n"
        "    old[4] = atomic_and(&u[0], 0xF0u); old[5] = atomic_or(&u[1], 0x0Fu);\n"
        "    old[6] = atomic_xor(&u[2], 0xFFu); old[7] = atomic_xchg(&u[3], 42u);\n"
        "    old[8] = atomic_cas(&i[4], 11, 12); old[9] = atomic_cas(&i[5], 99, 12);\n"
        "    old[10] = atomic_add(&l[0], 5000000000l); old[11] = atomic_min(&l[1], -5000000000l);\n"
        "    old[12] = (long)atomic_max(&ul[0], 7000000000ul); old[13] = (long)atomic_xchg(&ul[1], 3ul);\n"
        "    old[14] = (long)atomic_add(&f[0], 1.5f); old[15] = (long)atomic_xchg(&f[1], 2.5f);\n"
        "    old[16] = (long)atomic_add(&d[0], 0.25); old[17] = atomic_cas(&l[2], 1l, 2l);\n}\n",
        NULL);
    int i[6] = {10, 10, 10, 10, 11, 11};
    unsigned u[4] = {0xFF, 0xF0, 0x0F, 7};
    long long l[3] = {1, 2, 1};
    unsigned long long ul[2] = {8, 9};
    float f[2] = {2.0f, 4.0f};
    double d[1] = {0.5};
    long long old[18] = {0};
    void *p[] = {i, u, l, ul, f, d, old};
    void *args[] = {&p[0], &p[1], &p[2], &p[3], &p[4], &p[5], &p[6]};
    unsigned global[3] = {4}, local[3] = {4};
    harness_run(&c.module, c.unit, "atomics", 1, global, local, args);
    long long expect_old[18] = {10, 10, 10, 10, 0xFF, 0xF0, 0x0F, 7, 11, 11, 1, 2, 8, 9, 2, 4, 0, 1};
    for (int k = 0; k < 18; k++)
        if (k != 16)
            assert_int_equal(old[k], expect_old[k]);
    assert_int_equal(i[0], 15);
    assert_int_equal(i[1], 7);
    assert_int_equal(i[2], -7);
    assert_int_equal(i[3], 10);
    assert_int_equal(i[4], 12);
    assert_int_equal(i[5], 11);
    assert_int_equal(u[0], 0xF0);
    assert_int_equal(u[1], 0xFF);
    assert_int_equal(u[2], 0xF0);
    assert_int_equal(u[3], 42);
    assert_true(l[0] == 5000000001LL && l[1] == -5000000000LL && l[2] == 2);
    assert_true(ul[0] == 8 ? 0 : ul[0] == 7000000000ULL);
    assert_true(ul[1] == 3);
    assert_true(f[0] == 3.5f && f[1] == 2.5f && d[0] == 0.75);
    release(&c);
}

struct particle {
    float pos[2];
    int id;
    double mass;
};

static void structs_by_value_and_in_buffers(void **state)
{
    (void)state;
    compiled c = compile_c(
        "struct particle { float pos[2]; int id; double mass; };\n"
        "typedef struct { float scale; uint offset; } params;\n"
        "kernel void move(global struct particle *ps, uint n, params p)\n"
        "{\n    uint i = global_id(0);\n    if (i >= n) return;\n"
        "    struct particle q = ps[i];\n    q.pos[0] = q.pos[0] * p.scale;\n"
        "    q.pos[1] += (float)p.offset;\n    q.id = q.id + (int)p.offset;\n    q.mass *= 2.0;\n"
        "    ps[i] = q;\n}\n",
        NULL);
    const lang_kernel *k = lang_unit_find_kernel(c.unit, "move");
    assert_int_equal(k->params[0].param_class, LANG_PARAM_BUFFER);
    assert_int_equal(k->params[2].param_class, LANG_PARAM_BYTES);
    assert_int_equal(k->params[2].size, 8);
    unsigned n = 100 + (unsigned)(rand() % 100);
    struct particle *ps = malloc(n * sizeof *ps), *ref = malloc(n * sizeof *ref);
    struct { float scale; unsigned offset; } prm = {harness_randf(), (unsigned)(rand() % 100)};
    for (unsigned i = 0; i < n; i++) {
        ps[i] = (struct particle){{harness_randf(), harness_randf()}, rand() % 1000, harness_randf()};
        ref[i] = ps[i];
        ref[i].pos[0] *= prm.scale;
        ref[i].pos[1] += (float)prm.offset;
        ref[i].id += (int)prm.offset;
        ref[i].mass *= 2.0;
    }
    void *pp = ps;
    void *args[] = {&pp, &n, &prm};
    unsigned global[3] = {n}, local[3] = {32};
    harness_run(&c.module, c.unit, "move", 1, global, local, args);
    assert_memory_equal(ps, ref, n * sizeof *ps);
    free(ps), free(ref);
    release(&c);
}

static void vectors_and_geometry(void **state)
{
    (void)state;
    compiled c = compile_c(
        "kernel void vec(global const float4 *a, global float3 *b, global float *lens, float4 k, uint n)\n"
        "{\n    uint i = global_id(0);\n    if (i >= n) return;\n"
        "    float4 v = a[i] * 2.0f + k - make_float4(1.0f, 2.0f, 3.0f, 4.0f);\n"
        "    v /= 2.0f;\n    v = -v;\n"
        "    float3 w = normalize(make_float3(v.x, v.y, v.z));\n    b[i] = w;\n"
        "    lens[i] = length(v) + dot(v, k);\n"
        "    int2 q = make_int2(1, 2) * 3;\n    lens[i] += (float)(q.x + q.y);\n}\n",
        NULL);
    const lang_kernel *k = lang_unit_find_kernel(c.unit, "vec");
    assert_int_equal(k->params[3].param_class, LANG_PARAM_BYTES);
    assert_int_equal(k->params[3].size, 16);
    unsigned n = 50 + (unsigned)(rand() % 50);
    float *a = malloc(n * 4 * sizeof *a), *b = calloc(n * 4, sizeof *b), *lens = calloc(n, sizeof *lens);
    float kv[4] = {harness_randf(), harness_randf(), harness_randf(), harness_randf()};
    for (unsigned i = 0; i < n * 4; i++)
        a[i] = harness_randf();
    void *pa = a, *pb = b, *pl = lens;
    void *args[] = {&pa, &pb, &pl, kv, &n};
    unsigned global[3] = {n}, local[3] = {16};
    harness_run(&c.module, c.unit, "vec", 1, global, local, args);
    const float base[4] = {1, 2, 3, 4};
    for (unsigned i = 0; i < n; i++) {
        float v[4], len = 0, dot = 0, w3 = 0;
        for (int j = 0; j < 4; j++) {
            v[j] = -((a[i * 4 + j] * 2.0f + kv[j] - base[j]) / 2.0f);
            len += v[j] * v[j];
            dot += v[j] * kv[j];
        }
        for (int j = 0; j < 3; j++)
            w3 += v[j] * v[j];
        for (int j = 0; j < 3; j++)
            assert_true(harness_close_enough(b[i * 4 + j], v[j] / sqrtf(w3), 1e-4));
        assert_true(harness_close_enough(lens[i], sqrtf(len) + dot + 9.0f, 1e-4));
    }
    free(a), free(b), free(lens);
    release(&c);
}

static void math_matches_libm(void **state)
{
    (void)state;
    compiled c = compile_c(
        "kernel void m(global const float *x, global float *y, global double *z, uint n)\n"
        "{\n    uint i = global_id(0);\n    if (i >= n) return;\n    float v = x[i];\n"
        "    float a = fabs(v) + 0.5f;\n"
        "    y[i * 8 + 0] = sqrt(a) + rsqrt(a);\n    y[i * 8 + 1] = exp(v) + exp2(v);\n"
        "    y[i * 8 + 2] = log(a) + log2(a) + pow(a, 1.5f);\n    y[i * 8 + 3] = sin(v) + cos(v) + tan(v) + tanh(v);\n"
        "    y[i * 8 + 4] = floor(v * 10.0f) + ceil(v * 10.0f);\n    y[i * 8 + 5] = fmin(v, 0.25f) + fmax(v, -0.25f) + fma(v, v, 1.0f);\n"
        "    y[i * 8 + 6] = (float)(min((int)(v * 100.0f), 7) + max(3, 9)) + clamp(v, -0.5f, 0.5f);\n"
        "    y[i * 8 + 7] = (float)clamp((int)(v * 50.0f), -10, 10);\n"
        "    z[i] = sqrt((double)a) + exp((double)v);\n}\n",
        NULL);
    unsigned n = 64;
    float *x = malloc(n * sizeof *x), *y = calloc(n * 8, sizeof *y);
    double *z = calloc(n, sizeof *z);
    for (unsigned i = 0; i < n; i++)
        x[i] = harness_randf();
    void *px = x, *py = y, *pz = z;
    void *args[] = {&px, &py, &pz, &n};
    unsigned global[3] = {n}, local[3] = {8};
    harness_run(&c.module, c.unit, "m", 1, global, local, args);
    for (unsigned i = 0; i < n; i++) {
        float v = x[i], a = fabsf(v) + 0.5f;
        int mi = (int)(v * 100.0f) < 7 ? (int)(v * 100.0f) : 7;
        int ci = (int)(v * 50.0f);
        ci = ci < -10 ? -10 : ci > 10 ? 10 : ci;
        float ref[8] = {sqrtf(a) + 1.0f / sqrtf(a), expf(v) + exp2f(v),
                        logf(a) + log2f(a) + powf(a, 1.5f), sinf(v) + cosf(v) + tanf(v) + tanhf(v),
                        floorf(v * 10.0f) + ceilf(v * 10.0f),
                        fminf(v, 0.25f) + fmaxf(v, -0.25f) + fmaf(v, v, 1.0f),
                        (float)(mi + 9) + (v < -0.5f ? -0.5f : v > 0.5f ? 0.5f : v), (float)ci};
        for (int j = 0; j < 8; j++)
            assert_true(harness_close_enough(y[i * 8 + j], ref[j], 1e-4));
        assert_true(harness_close_enough(z[i], sqrt((double)a) + exp((double)v), 1e-12));
    }
    free(x), free(y), free(z);
    release(&c);
}

static void bit_casts_and_constant_tables(void **state)
{
    (void)state;
    compiled c = compile_c(
        "constant float weights[4] = {0.5f, 0.25f, 0.125f, 0.0625f};\n"
        "constant int offsets[] = {3, -1, 4, -1, 5};\n"
        "kernel void bits(global const float *x, global uint *u, global float *w, global long *l)\n"
        "{\n    uint i = global_id(0);\n    u[i] = as_uint(x[i]);\n"
        "    w[i] = as_float(as_int(x[i]) ^ (int)0x80000000) * weights[i % 4] + (float)offsets[i % 5];\n"
        "    l[i] = as_long(as_double(as_ulong((double)x[i])));\n}\n",
        NULL);
    unsigned n = 40;
    float *x = malloc(n * sizeof *x), *w = calloc(n, sizeof *w);
    unsigned *u = calloc(n, sizeof *u);
    long long *l = calloc(n, sizeof *l);
    for (unsigned i = 0; i < n; i++)
        x[i] = harness_randf() * 1000.0f;
    void *px = x, *pu = u, *pw = w, *pl = l;
    void *args[] = {&px, &pu, &pw, &pl};
    unsigned global[3] = {n}, local[3] = {8};
    harness_run(&c.module, c.unit, "bits", 1, global, local, args);
    const float weights[4] = {0.5f, 0.25f, 0.125f, 0.0625f};
    const int offsets[5] = {3, -1, 4, -1, 5};
    for (unsigned i = 0; i < n; i++) {
        unsigned bits;
        memcpy(&bits, &x[i], 4);
        assert_int_equal(u[i], bits);
        assert_true(harness_close_enough(w[i], -x[i] * weights[i % 4] + (float)offsets[i % 5], 1e-5));
        double dx = x[i];
        long long lb;
        memcpy(&lb, &dx, 8);
        assert_true(l[i] == lb);
    }
    free(x), free(w), free(u), free(l);
    release(&c);
}

static void helpers_and_defines(void **state)
{
    (void)state;
    compiled c = compile_c(
        "#if SCALE > 2 && defined(USE_HELPER)\n"
        "#define APPLY(v) scaled(v)\n"
        "#else\n"
        "#define APPLY(v) (v)\n"
        "#endif\n"
        "#define SQUARE(x) ((x) * (x))\n"
        "float scaled(float v) { return v * SCALE + (float)global_id(0); }\n"
        "void store(global float *out, uint i, float v) { out[i] = v; }\n"
        "int twice(int v);\n"
        "kernel void run(global const float *in, global float *out, uint n)\n"
        "{\n    uint i = global_id(0);\n    if (i < n) store(out, i, APPLY(SQUARE(in[i])) + (float)twice(1));\n}\n"
        "int twice(int v) { return v * 2; }\n",
        "-DSCALE=3 -DUSE_HELPER");
    unsigned n = 33;
    float *in = malloc(n * sizeof *in), *out = calloc(n, sizeof *out);
    for (unsigned i = 0; i < n; i++)
        in[i] = harness_randf();
    void *pi = in, *po = out;
    void *args[] = {&pi, &po, &n};
    unsigned global[3] = {n}, local[3] = {8};
    harness_run(&c.module, c.unit, "run", 1, global, local, args);
    for (unsigned i = 0; i < n; i++)
        assert_true(harness_close_enough(out[i], in[i] * in[i] * 3 + (float)i + 2.0f, 1e-5));
    free(in), free(out);
    release(&c);
}

static void early_return_before_barrier_and_subgroups(void **state)
{
    (void)state;
    compiled c = compile_c(
        "kernel void k(global int *out, uint n)\n"
        "{\n    shared int s[64];\n    uint l = local_id(0);\n    s[l] = (int)l;\n    barrier();\n"
        "    if (global_id(0) >= n) return;\n"
        "    int v = s[(l + 1) % local_size(0)] + (int)subgroup_size() + (int)subgroup_local_id();\n"
        "    v = subgroup_reduce_add(v) + subgroup_shuffle(v, 0) - subgroup_broadcast(v, 3);\n"
        "    out[global_id(0)] = v;\n}\n",
        NULL);
    unsigned n = 100;
    int *out = malloc(128 * sizeof *out);
    for (int i = 0; i < 128; i++)
        out[i] = -12345;
    void *po = out;
    void *args[] = {&po, &n};
    unsigned global[3] = {n}, local[3] = {64};
    harness_run(&c.module, c.unit, "k", 1, global, local, args);
    for (unsigned i = 0; i < 128; i++)
        assert_int_equal(out[i], i < n ? (int)((i % 64 + 1) % 64) + 1 : -12345);
    free(out);
    release(&c);
}

static void switch_loops_and_uniform_barrier_if(void **state)
{
    (void)state;
    compiled c = compile_c(
        "kernel void k(global int *out, int mode)\n"
        "{\n    shared int s[32];\n    uint l = local_id(0);\n    int acc = 0;\n"
        "    for (int r = 0; r < 3; r++) {\n        s[l] = (int)l * r;\n        barrier();\n"
        "        if (mode > 0) {\n            acc += s[31 - l];\n            barrier();\n        } else {\n"
        "            acc -= s[l];\n        }\n    }\n"
        "    int j = 0;\n    do { j++; } while (j < 4);\n"
        "    switch (mode) { case 1: acc += 100; break; case 2: acc += 200; break; default: acc += j; }\n"
        "    while (acc > 1000) acc /= 2;\n"
        "    out[global_id(0)] = acc;\n}\n",
        NULL);
    for (int mode = 0; mode < 3; mode++) {
        int out[64];
        void *po = out;
        void *args[] = {&po, &mode};
        unsigned global[3] = {64}, local[3] = {32};
        harness_run(&c.module, c.unit, "k", 1, global, local, args);
        for (int i = 0; i < 64; i++) {
            int l = i % 32, acc = 0;
            for (int r = 0; r < 3; r++)
                acc += mode > 0 ? (31 - l) * r : -(l * r);
            acc += mode == 1 ? 100 : mode == 2 ? 200 : 4;
            while (acc > 1000)
                acc /= 2;
            assert_int_equal(out[i], acc);
        }
    }
    release(&c);
}

static void values_crossing_barriers_in_3d_groups(void **state)
{
    (void)state;
    compiled c = compile_c(
        "uint flat_id(void) { return (local_id(2) * local_size(1) + local_id(1)) * local_size(0) + local_id(0); }\n"
        "kernel void k(global int *out, int scale)\n"
        "{\n    shared int s[64];\n    int priv[3];\n    uint me = flat_id();\n"
        "    for (int j = 0; j < 3; j++) priv[j] = (int)me * (j + 1);\n"
        "    scale = scale + 1;\n    s[me] = priv[2];\n    barrier();\n"
        "    int sum = 0;\n    for (uint k = 0; k < local_size(0); k++) sum += s[(me + k) % 64];\n"
        "    for (uint t = 0; t < me % 3; t++) sum += 1;\n"
        "    barrier();\n"
        "    uint g = (global_id(2) * global_size(1) + global_id(1)) * global_size(0) + global_id(0);\n"
        "    out[g] = sum * scale + priv[0] + (int)num_groups(2);\n}\n",
        NULL);
    int scale = 1 + rand() % 5;
    int out[2 * 64];
    void *po = out;
    void *args[] = {&po, &scale};
    unsigned global[3] = {4, 4, 8}, local[3] = {4, 4, 4};
    harness_run(&c.module, c.unit, "k", 3, global, local, args);
    for (unsigned z = 0; z < 8; z++)
        for (unsigned y = 0; y < 4; y++)
            for (unsigned x = 0; x < 4; x++) {
                unsigned me = ((z % 4) * 4 + y) * 4 + x, g = (z * 4 + y) * 4 + x;
                int sum = 0;
                for (unsigned k = 0; k < 4; k++)
                    sum += (int)((me + k) % 64) * 3;
                sum += (int)(me % 3);
                assert_int_equal(out[g], sum * (scale + 1) + (int)me + 2);
            }
    release(&c);
}

static void integer_division_by_zero_does_not_trap(void **state)
{
    (void)state;
    compiled c = compile_c(
        "kernel void k(global const int *a, global const int *b, global int *q, global uint *u)\n"
        "{\n    uint i = global_id(0);\n    q[i * 2] = a[i] / b[i];\n    q[i * 2 + 1] = a[i] % b[i];\n"
        "    uint x = (uint)a[i];\n    x /= (uint)b[i];\n    u[i] = x;\n}\n",
        NULL);
    int a[4] = {7, -2147483647 - 1, 9, -9}, b[4] = {0, -1, 4, 2}, q[8];
    unsigned u[4];
    void *pa = a, *pb = b, *pq = q, *pu = u;
    void *args[] = {&pa, &pb, &pq, &pu};
    unsigned global[3] = {4}, local[3] = {4};
    harness_run(&c.module, c.unit, "k", 1, global, local, args);
    assert_int_equal(q[0], 0);
    assert_int_equal(q[1], 0);
    assert_int_equal(q[2], -2147483647 - 1);
    assert_int_equal(q[3], 0);
    assert_int_equal(q[4], 2);
    assert_int_equal(q[5], 1);
    assert_int_equal(q[6], -4);
    assert_int_equal(q[7], -1);
    assert_int_equal(u[0], 0);
    assert_int_equal(u[2], 2);
    release(&c);
}

int main(void)
{
    harness_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(saxpy_matches_host),
        cmocka_unit_test(kernel_2d_with_partial_groups),
        cmocka_unit_test(tiled_sgemm_with_barriers),
        cmocka_unit_test(reduction_with_barrier_loop),
        cmocka_unit_test(histogram_with_atomics),
        cmocka_unit_test(every_atomic_returns_old_value),
        cmocka_unit_test(structs_by_value_and_in_buffers),
        cmocka_unit_test(vectors_and_geometry),
        cmocka_unit_test(math_matches_libm),
        cmocka_unit_test(bit_casts_and_constant_tables),
        cmocka_unit_test(helpers_and_defines),
        cmocka_unit_test(early_return_before_barrier_and_subgroups),
        cmocka_unit_test(switch_loops_and_uniform_barrier_if),
        cmocka_unit_test(values_crossing_barriers_in_3d_groups),
        cmocka_unit_test(integer_division_by_zero_does_not_trap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
