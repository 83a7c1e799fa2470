/* Less common constructs through the emitters: run on the CPU (C dialect,
 * built with the system compiler) and on OpenCL (PoCL here; skipped where
 * there is no platform) against host references on random inputs; the
 * CUDA text, which cannot run here, is checked for the constructs that
 * differ per dialect. Also the argument checks of lang_translate itself. */
#include "lang/harness.h"

#include "lang/ast.h"
#include "util/fail.h"

enum { LS = 16, MISC_OUT = 12 };

/* A kernel argument: a buffer (copied to the device and back) or a value. */
typedef struct karg {
    void *ptr;
    size_t size;
    int is_buffer;
} karg;
#define BUF(p, bytes) {(p), (bytes), 1}
#define VAL(v) {&(v), sizeof(v), 0}

static int run_c(const char *src, const char *name, unsigned n, const karg *args, unsigned count)
{
    lang_unit *u = harness_translate(src, PORT_DIALECT_C, NULL, harness_all_caps);
    harness_module m;
    harness_build(u, &m);
    void *ptrs[8];
    void *values[8];
    assert_true(count <= 8);
    for (unsigned i = 0; i < count; i++) {
        ptrs[i] = args[i].ptr;
        values[i] = args[i].is_buffer ? (void *)&ptrs[i] : args[i].ptr;
    }
    unsigned global[3] = {n}, local[3] = {LS};
    harness_run(&m, u, name, 1, global, local, values);
    harness_close(&m);
    lang_unit_free(u);
    return 1;
}

#if __has_include(<CL/cl.h>)
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

/* The few OpenCL entry points the runs need, loaded at run time. */
typedef struct cl_api {
    void *dl;
    cl_int (*GetPlatformIDs)(cl_uint, cl_platform_id *, cl_uint *);
    cl_int (*GetDeviceIDs)(cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *);
    cl_int (*GetDeviceInfo)(cl_device_id, cl_device_info, size_t, void *, size_t *);
    cl_context (*CreateContext)(const cl_context_properties *, cl_uint, const cl_device_id *,
                                void *, void *, cl_int *);
    cl_command_queue (*CreateCommandQueue)(cl_context, cl_device_id, cl_bitfield, cl_int *);
    cl_program (*CreateProgramWithSource)(cl_context, cl_uint, const char **, const size_t *,
                                          cl_int *);
    cl_int (*BuildProgram)(cl_program, cl_uint, const cl_device_id *, const char *, void *, void *);
    cl_int (*GetProgramBuildInfo)(cl_program, cl_device_id, cl_program_build_info, size_t, void *,
                                  size_t *);
    cl_kernel (*CreateKernel)(cl_program, const char *, cl_int *);
    cl_mem (*CreateBuffer)(cl_context, cl_mem_flags, size_t, void *, cl_int *);
    cl_int (*SetKernelArg)(cl_kernel, cl_uint, size_t, const void *);
    cl_int (*EnqueueNDRangeKernel)(cl_command_queue, cl_kernel, cl_uint, const size_t *,
                                   const size_t *, const size_t *, cl_uint, const void *, void *);
    cl_int (*EnqueueReadBuffer)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint,
                                const void *, void *);
    cl_int (*ReleaseMemObject)(cl_mem);
    cl_int (*ReleaseKernel)(cl_kernel);
    cl_int (*ReleaseProgram)(cl_program);
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    lang_caps caps;
    int tried, ok;
} cl_api;

static cl_api cl;

#define CL_LOAD(name) (*(void **)&cl.name = dlsym(cl.dl, "cl" #name)) != NULL

static int cl_open(void)
{
    if (cl.tried)
        return cl.ok;
    cl.tried = 1;
    cl.dl = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!cl.dl || !(CL_LOAD(GetPlatformIDs) && CL_LOAD(GetDeviceIDs) && CL_LOAD(GetDeviceInfo) &&
                    CL_LOAD(CreateContext) && CL_LOAD(CreateCommandQueue) &&
                    CL_LOAD(CreateProgramWithSource) && CL_LOAD(BuildProgram) &&
                    CL_LOAD(GetProgramBuildInfo) && CL_LOAD(CreateKernel) &&
                    CL_LOAD(CreateBuffer) && CL_LOAD(SetKernelArg) &&
                    CL_LOAD(EnqueueNDRangeKernel) && CL_LOAD(EnqueueReadBuffer) &&
                    CL_LOAD(ReleaseMemObject) && CL_LOAD(ReleaseKernel) && CL_LOAD(ReleaseProgram)))
        return 0;
    cl_platform_id platform;
    cl_uint found = 0;
    cl_int err;
    if (cl.GetPlatformIDs(1, &platform, &found) != CL_SUCCESS || !found ||
        cl.GetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &cl.device, &found) != CL_SUCCESS || !found)
        return 0;
    cl.context = cl.CreateContext(NULL, 1, &cl.device, NULL, NULL, &err);
    if (!cl.context)
        return 0;
    cl.queue = cl.CreateCommandQueue(cl.context, cl.device, 0, &err);
    char ext[8192] = "";
    cl.GetDeviceInfo(cl.device, CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext, NULL);
    cl.caps.has_double = strstr(ext, "cl_khr_fp64") != NULL;
    cl.caps.has_float_atomics = 1; /* emulated with atomic_cmpxchg */
    cl.ok = cl.queue != NULL;
    return cl.ok;
}

/* Builds with the OpenCL C compiler and runs n items in groups of LS;
 * returns 0 (the caller skips) where there is no OpenCL device. */
static int run_cl(const char *src, const char *name, unsigned n, const karg *args, unsigned count)
{
    if (!cl_open()) {
        fprintf(stderr, "no OpenCL platform: the OpenCL run is skipped\n");
        return 0;
    }
    lang_unit *u = harness_translate(src, PORT_DIALECT_OPENCL, NULL, cl.caps);
    const char *text = lang_unit_source(u);
    size_t len = lang_unit_source_length(u);
    cl_int err;
    cl_program p = cl.CreateProgramWithSource(cl.context, 1, &text, &len, &err);
    assert_non_null(p);
    if (cl.BuildProgram(p, 1, &cl.device, "", NULL, NULL) != CL_SUCCESS) {
        char log[16384] = "";
        cl.GetProgramBuildInfo(p, cl.device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        fprintf(stderr, "%s\n---- build log:\n%s\n", text, log);
        fail_msg("clBuildProgram failed");
    }
    lang_unit_free(u);
    cl_kernel k = cl.CreateKernel(p, name, &err);
    assert_non_null(k);
    cl_mem mems[8] = {NULL};
    assert_true(count <= 8);
    for (unsigned i = 0; i < count; i++) {
        if (args[i].is_buffer) {
            mems[i] = cl.CreateBuffer(cl.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                      args[i].size, args[i].ptr, &err);
            assert_non_null(mems[i]);
            assert_int_equal(cl.SetKernelArg(k, i, sizeof mems[i], &mems[i]), CL_SUCCESS);
        } else {
            assert_int_equal(cl.SetKernelArg(k, i, args[i].size, args[i].ptr), CL_SUCCESS);
        }
    }
    size_t local = LS, global = (n + LS - 1) / LS * LS;
    assert_int_equal(cl.EnqueueNDRangeKernel(cl.queue, k, 1, NULL, &global, &local, 0, NULL, NULL),
                     CL_SUCCESS);
    for (unsigned i = 0; i < count; i++)
        if (mems[i]) {
            assert_int_equal(cl.EnqueueReadBuffer(cl.queue, mems[i], CL_TRUE, 0, args[i].size,
                                                  args[i].ptr, 0, NULL, NULL), CL_SUCCESS);
            cl.ReleaseMemObject(mems[i]);
        }
    cl.ReleaseKernel(k);
    cl.ReleaseProgram(p);
    return 1;
}
#else
static int run_cl(const char *src, const char *name, unsigned n, const karg *args, unsigned count)
{
    (void)src, (void)name, (void)n, (void)args, (void)count;
    fprintf(stderr, "OpenCL headers not available at build time: the OpenCL run is skipped\n");
    return 0;
}
#endif

static int run_kernel(port_dialect dialect, const char *src, const char *name, unsigned n,
                      const karg *args, unsigned count)
{
    return dialect == PORT_DIALECT_C ? run_c(src, name, n, args, count)
                                     : run_cl(src, name, n, args, count);
}

static const char *const misc_src =
    "struct pair { int a; float b; };\n"
    "struct fwd;\n"
    "int later(int a);\n"
    "int seven(void) { return 7; }\n"
    "int twice(int a) { return 2 * a; }\n"
    "int twice(int a);\n"
    "double half(double x) { return x / 2.0; }\n"
    "kernel void misc(global int *out, global const int *in, global struct pair *ps,\n"
    "                 global float4 *vs, int d, int n)\n"
    "{\n"
    "    uint i = global_id(0);\n"
    "    if (i >= (uint)n) return;\n"
    "    ;\n"
    "    int x = in[i];\n"
    "    bool t = true, fl = false;\n"
    "    global const int *q = in + i;\n"
    "    global const int *r = 1 + q;\n"
    "    long diff = r - q;\n"
    "    int cmp = (q < r) + (q == r) + (r >= q);\n"
    "    global const int *pick = d > 1 ? q : in;\n"
    "    (void)cmp;\n"
    "    int y = *q + *pick - in[0] * (d > 1 ? 0 : 1);\n"
    "    ++x; --x; ++y;\n"
    "    struct { int q; } an;\n"
    "    an.q = x;\n"
    "    global struct pair *pp = ps + i;\n"
    "    pp->a = an.q + 1;\n"
    "    pp->b = (float)half((double)x);\n"
    "    float4 v = vs[i];\n"
    "    v -= make_float4(1.0f, 1.0f, 1.0f, 1.0f);\n"
    "    v *= 2.0f;\n"
    "    v /= make_float4(2.0f, 4.0f, 8.0f, 16.0f);\n"
    "    vs[i] = v;\n"
    "    global int *o = out + i * 12u;\n"
    "    o[0] = later(x) + twice(x) + seven() + twice(seven()) + later(1);\n"
    "    o[1] = (int)diff + cmp * 10 + y * 100;\n"
    "    o[2] = (int)global_id(d);\n"
    "    o[3] = (int)local_id(d);\n"
    "    o[4] = (int)group_id(d);\n"
    "    o[5] = (int)local_size(d);\n"
    "    o[6] = (int)num_groups(d);\n"
    "    o[7] = (int)global_size(d);\n"
    "    if (t)\n        o[8] = 1;\n    else\n        o[8] = 2;\n"
    "    if (fl)\n        o[9] = 1;\n    else\n        o[9] = 2;\n"
    "    o[10] = (int)sizeof(struct pair) + (t && !fl);\n"
    "    o[11] = (x % 7 == 3 ? 1 : 0) + (~x << 2);\n"
    "}\n"
    "int later(int a) { return a + 1000; }\n";

typedef struct pair {
    int a;
    float b;
} pair;

static void misc_check(unsigned n, unsigned groups, int d, const int *in, const int *out,
                       const pair *ps, const float *vs, const float *v0)
{
    static const float div[4] = {2.0f, 4.0f, 8.0f, 16.0f};
    for (unsigned i = 0; i < n; i++) {
        int x = in[i];
        const int *o = out + i * MISC_OUT;
        int y = in[i] + (d > 1 ? in[i] : in[0]) - in[0] * (d > 1 ? 0 : 1) + 1;
        assert_int_equal(o[0], (x + 1000) + 2 * x + 7 + 14 + 1001);
        assert_int_equal(o[1], 1 + 2 * 10 + y * 100);
        /* A 1-D launch: dimension 0 is the launch's, 1 and 2 are one item
         * wide, and 3 reads 0 for ids and 1 for sizes. */
        int ids[3] = {(int)i, (int)(i % LS), (int)(i / LS)};
        int sizes[3] = {LS, (int)groups, (int)groups * LS};
        for (int k = 0; k < 3; k++) {
            assert_int_equal(o[2 + k], d == 0 ? ids[k] : 0);
            assert_int_equal(o[5 + k], d == 0 ? sizes[k] : 1);
        }
        assert_int_equal(o[8], 1);
        assert_int_equal(o[9], 2);
        assert_int_equal(o[10], (int)sizeof *ps + 1);
        assert_int_equal(o[11], (x % 7 == 3) + (int)((unsigned)~x << 2));
        assert_int_equal(ps[i].a, x + 1);
        assert_true(ps[i].b == (float)(x / 2.0));
        for (int c = 0; c < 4; c++)
            assert_true(harness_close_enough(vs[i * 4 + c], (v0[i * 4 + c] - 1.0f) * 2.0f / div[c],
                                             1e-6));
    }
    for (unsigned i = n; i < groups * LS; i++)
        assert_int_equal(out[i * MISC_OUT], 0);
}

/* d is the run-time dimension of the index queries; 3 is past the last. */
static void misc_on(port_dialect dialect, int d)
{
    unsigned groups = 2 + (unsigned)(rand() % 4), n = groups * LS - (unsigned)(rand() % LS);
    int count = (int)n;
    size_t items = groups * LS;
    int *in = malloc(items * sizeof *in), *out = calloc(items * MISC_OUT, sizeof *out);
    pair *ps = calloc(items, sizeof *ps);
    float *vs = malloc(items * 4 * sizeof *vs), *v0 = malloc(items * 4 * sizeof *v0);
    for (size_t i = 0; i < items; i++) {
        in[i] = rand() % 2001 - 1000;
        for (int c = 0; c < 4; c++)
            vs[i * 4 + c] = v0[i * 4 + c] = harness_randf() * 100.0f;
    }
    karg args[] = {BUF(out, items * MISC_OUT * sizeof *out), BUF(in, items * sizeof *in),
                   BUF(ps, items * sizeof *ps), BUF(vs, items * 4 * sizeof *vs), VAL(d), VAL(count)};
    if (run_kernel(dialect, misc_src, "misc", n, args, 6))
        misc_check(n, groups, d, in, out, ps, vs, v0);
    free(in), free(out), free(ps), free(vs), free(v0);
}

static void misc_constructs_match_host(void **state)
{
    (void)state;
    misc_on(PORT_DIALECT_C, rand() % 3);
    misc_on(PORT_DIALECT_C, 3);
}

/* A kernel with barriers: per-item copies of variables (an array with an
 * initializer list among them), loops with and without barriers whose
 * counters are or are not uniform, a do-while and a switch inside a loop
 * with a barrier, and row indices L + local_id(0) of several shapes. */
static const char *const barrier_src =
    "kernel void bar(global int *out, global const int *in, uint n)\n"
    "{\n"
    "    shared int s[16];\n"
    "    shared int only[2];\n"
    "    int arr[3] = {1, 2, 3};\n"
    "    uint lx = local_id(0);\n"
    "    uint g = global_id(0);\n"
    "    int neg = -(int)lx;\n"
    "    int fromin = in[g % n];\n"
    "    uint base = group_id(0) * 16u;\n"
    "    int dv = *(in + g);\n"
    "    s[lx] = in[group_id(0) * 16u + local_id(0)];\n"
    "    barrier();\n"
    "    ;\n"
    "    barrier();\n"
    "    s[lx] += max(in[((group_id(0) * 16u + (uint)sizeof(char) - 1u) * local_size(0) / "
    "local_size(0)) + local_id(0)], -100000);\n"
    "    barrier();\n"
    "    {\n"
    "        s[lx] += in[local_id(0) + (uint)(+(int)(group_id(0) * 16u))];\n"
    "    }\n"
    "    s[lx] += in[((uint)in[0] * 0u + group_id(0) * 16u) + local_id(0)] - in[g];\n"
    "    s[lx] += in[((uint)(*in) * 0u + group_id(0) * 16u) + local_id(0)] - in[g];\n"
    "    s[lx] += in[(uint)min((int)group_id(0), 100000) * 16u + local_id(0)] - in[base + lx];\n"
    "    barrier();\n"
    "    int w = in[(group_id(0) * 16u + local_id(1)) + local_id(0)];\n"
    "    for (uint k = 0; k < 2u; k++) {\n"
    "        s[lx] += 1;\n"
    "        barrier();\n"
    "    }\n"
    "    int sum = 0;\n"
    "    for (int k = 0; k < 4; k++) {\n"
    "        int t2 = k * 2;\n"
    "        { sum += t2 + s[(lx + (uint)k) % 16u]; }\n"
    "    }\n"
    "    barrier();\n"
    "    for (int k = 0; k < 3; k++) {\n"
    "        for (int j = 0; j < 2; j++) sum += j;\n"
    "    }\n"
    "    for (int k = 0; k < 3; k++) { sum += k; k += 0; }\n"
    "    for (int k = 0; k < 2; k++) { int z = k++; sum += z; }\n"
    "    for (int k = -2; k < 0; k++) sum += 1;\n"
    "    for (int k = in[0]; k < in[0] + 2; k++) sum += 1;\n"
    "    for (int k = *in; k < *in + 2; k++) sum += 1;\n"
    "    for (int k = 0; k < 2; k++) { s[lx] += 1; k += 0; barrier(); }\n"
    "    for (int k = 0; k < 2; k++) { int z = k++; sum += z; barrier(); k--; }\n"
    "    for (int k = 0; k < 2; k++) sum += max(k++, 0);\n"
    "    uint kk;\n"
    "    for (kk = 0; kk < 2u; kk++) {\n"
    "        s[lx] += 1;\n"
    "        barrier();\n"
    "    }\n"
    "    int it = 0;\n"
    "    do {\n"
    "        s[lx] += 1;\n"
    "        barrier();\n"
    "        it++;\n"
    "    } while (it < 2);\n"
    "    only[0] = 0;\n"
    "    barrier();\n"
    "    if (lx == 0u) atomic_xchg(&only[0], 5);\n"
    "    barrier();\n"
    "    sum += only[0];\n"
    "    for (int k = 0; k < 2; k++) {\n"
    "        switch (k) { case 0: sum += 1; break; default: sum += 2; break; }\n"
    "        barrier();\n"
    "    }\n"
    "    out[g] = sum + arr[0] + arr[2] + neg + fromin + w + dv + s[(lx + 1u) % 16u];\n"
    "}\n"
    "kernel void many(global int *out, global const int *in)\n"
    "{\n"
    "    shared int a0[1]; shared int a1[1]; shared int a2[1]; shared int a3[1];\n"
    "    shared int a4[1]; shared int a5[1]; shared int a6[1]; shared int a7[1];\n"
    "    shared int a8[1];\n"
    "    a0[0] = in[0]; a1[0] = in[1]; a2[0] = in[2]; a3[0] = in[3]; a4[0] = in[4];\n"
    "    a5[0] = in[5]; a6[0] = in[6]; a7[0] = in[7]; a8[0] = in[8];\n"
    "    barrier();\n"
    "    out[global_id(0)] = a0[0] + a1[0] + a2[0] + a3[0] + a4[0] + a5[0] + a6[0] + a7[0] + "
    "a8[0];\n"
    "}\n";

static void bar_on(port_dialect dialect)
{
    unsigned groups = 2 + (unsigned)(rand() % 4), n = groups * LS;
    int *in = malloc(n * sizeof *in), *out = calloc(n, sizeof *out);
    for (unsigned i = 0; i < n; i++)
        in[i] = rand() % 2001 - 1000;
    karg args[] = {BUF(out, n * sizeof *out), BUF(in, n * sizeof *in), VAL(n)};
    if (!run_kernel(dialect, barrier_src, "bar", n, args, 3)) {
        free(in), free(out);
        return;
    }
    for (unsigned g = 0; g < n; g++) {
        unsigned lx = g % LS, base = g - lx;
        /* s after the first uniform loop: three reads of in[] plus 2. */
        int sum = 0;
        for (unsigned k = 0; k < 4; k++)
            sum += (int)(2 * k) + 3 * in[base + (lx + k) % LS] + 2;
        sum += 3 + 3 + 0 + 2 + 2 + 2 + 0 + 1 + 5 + 3;
        int s_final = 3 * in[base + (lx + 1) % LS] + 2 + 2 + 4;
        int want = sum + 1 + 3 - (int)lx + in[g] + in[g] + in[g] + s_final;
        if (out[g] != want)
            fprintf(stderr, "item %u: %d, want %d\n", g, out[g], want);
        assert_int_equal(out[g], want);
    }
    /* Nine shared arrays in one kernel, each holding one input. */
    memset(out, 0, n * sizeof *out);
    assert_true(run_kernel(dialect, barrier_src, "many", n, args, 2));
    int nine = 0;
    for (int i = 0; i < 9; i++)
        nine += in[i];
    for (unsigned g = 0; g < n; g++)
        assert_int_equal(out[g], nine);
    free(in), free(out);
}

static void barrier_kernel_matches_host(void **state)
{
    (void)state;
    bar_on(PORT_DIALECT_C);
}

static void both_kernels_match_host_on_opencl(void **state)
{
    (void)state;
    misc_on(PORT_DIALECT_OPENCL, rand() % 3);
    /* Sizes past the last dimension are 1 here as on the CPU (PoCL's own
     * get_local_size(3) is 0). */
    misc_on(PORT_DIALECT_OPENCL, 3);
    bar_on(PORT_DIALECT_OPENCL);
}

static void expect_text(const lang_unit *u, const char *needle)
{
    if (!strstr(lang_unit_source(u), needle)) {
        fprintf(stderr, "%s\n---- lacks: %s\n", lang_unit_source(u), needle);
        fail_msg("emitted text mismatch");
    }
}

/* The GPU dialects of the same constructs: index queries with a run-time
 * dimension, kernels without parameters, atomics on a shared array, a
 * 64-bit float exchange, and #line names that need escaping. */
static void gpu_dialects_spell_the_constructs(void **state)
{
    (void)state;
    static const char *const src =
        "kernel void none() { }\n"
        "kernel void q(global uint *o, global double *dp, global long *lp, int d)\n"
        "{\n"
        "    shared int s[4];\n"
        "    s[0] = 0;\n"
        "    barrier();\n"
        "    atomic_add(s, 1);\n"
        "    o[0] = global_id(d) + local_id(d) + group_id(d) + local_size(d);\n"
        "    dp[0] = atomic_xchg(&dp[1], 2.0);\n"
        "    lp[0] = atomic_sub(&lp[1], 1L) + as_int(1.5f);\n"
        "    o[1] = global_size(0) + global_size(d) + num_groups(d);\n"
        "}\n";
    port_dialect dialects[] = {PORT_DIALECT_OPENCL, PORT_DIALECT_CUDA};
    for (int i = 0; i < 2; i++) {
        lang_request req = {src, strlen(src), "dir\\x\"y.kc", NULL, dialects[i], harness_all_caps};
        lang_unit *u = NULL;
        char *diag = NULL;
        assert_int_equal(lang_translate(&req, &u, &diag), KILN_OK);
        assert_non_null(u);
        expect_text(u, "\"dir\\\\x\\\"y.kc\"");
        assert_int_equal(lang_unit_kernel_count(u), 2);
        assert_int_equal(lang_unit_kernel(u, 0)->param_count, 0);
        if (dialects[i] == PORT_DIALECT_OPENCL) {
            expect_text(u, "__kernel void none(void)");
            expect_text(u, "atomic_add(");
            expect_text(u, "kiln_get_global_id((uint)(");
            expect_text(u, "return d < 3u ? (uint)get_local_size(d) : 1u;");
            expect_text(u, "return d < 3u ? (uint)(get_num_groups(d) * get_local_size(d)) : 1u;");
            expect_text(u, "((uint)(get_num_groups(0) * get_local_size(0)))");
        } else {
            expect_text(u, "extern \"C\" __global__ void none(void)");
            expect_text(u, "__longlong_as_double((long long)atomicExch(");
            expect_text(u, "atomicAdd((unsigned long long *)p, 0ull - (unsigned long long)v)");
            expect_text(u, "(gridDim.x * blockDim.x)");
        }
        lang_unit_free(u);
        free(diag);
    }
}

/* The C dialect compiles and runs a unit whose #line name needs escaping. */
static void c_unit_with_escaped_name_runs(void **state)
{
    (void)state;
    static const char *const src = "kernel void k(global int *o, int v) { o[global_id(0)] = v; }\n";
    lang_request req = {src, strlen(src), "a\\b\"c.kc", NULL, PORT_DIALECT_C, harness_all_caps};
    lang_unit *u = NULL;
    char *diag = NULL;
    assert_int_equal(lang_translate(&req, &u, &diag), KILN_OK);
    expect_text(u, "\"a\\\\b\\\"c.kc\"");
    harness_module m;
    harness_build(u, &m);
    int o[4] = {0, 0, 0, 0}, v = rand();
    void *po = o;
    void *args[] = {&po, &v};
    unsigned global[3] = {4}, local[3] = {2};
    harness_run(&m, u, "k", 1, global, local, args);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o[i], v);
    harness_close(&m);
    lang_unit_free(u);
    free(diag);
}

static void translate_checks_its_request(void **state)
{
    (void)state;
    lang_unit *u = (lang_unit *)&u; /* must be reset to NULL */
    lang_request req = {NULL, 5, "x.kc", NULL, PORT_DIALECT_C, harness_all_caps};
    assert_int_equal(lang_translate(&req, &u, NULL), KILN_ERR_INVALID_ARG);
    assert_null(u);
    assert_non_null(strstr(util_last_error(), "source is NULL"));
    req.source = "kernel void k() { }";
    req.source_length = strlen(req.source);
    req.dialect = (port_dialect)99;
    assert_int_equal(lang_translate(&req, &u, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(util_last_error(), "unknown dialect 99"));
    req.dialect = PORT_DIALECT_C;
    size_t big = (size_t)LANG_MAX_SOURCE_BYTES + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, ' ', big);
    req.source = text;
    req.source_length = big;
    char *diag = NULL;
    assert_int_equal(lang_translate(&req, &u, &diag), KILN_ERR_COMPILE);
    assert_null(u);
    assert_non_null(diag);
    assert_non_null(strstr(diag, "x.kc: error: source is too large"));
    free(diag);
    free(text);
    assert_null(lang_unit_find_kernel(NULL, "k"));
    assert_null(lang_unit_kernel(NULL, 0));
}

int main(void)
{
    harness_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(misc_constructs_match_host),
        cmocka_unit_test(barrier_kernel_matches_host),
        cmocka_unit_test(both_kernels_match_host_on_opencl),
        cmocka_unit_test(gpu_dialects_spell_the_constructs),
        cmocka_unit_test(c_unit_with_escaped_name_runs),
        cmocka_unit_test(translate_checks_its_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
