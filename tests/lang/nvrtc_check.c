/* A manual check of the CUDA dialect on a real GPU (not built by CMake; the
 * unit tests need no GPU): translate with lang_translate, compile with NVRTC
 * (no headers), load with the driver API, run, compare with the host. Both
 * libraries are loaded at run time. Build and run from the repository root:
 *   cc -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -o nvrtc_check tests/lang/nvrtc_check.c
 *      src/lang/(every .c file) src/util/fail.c -ldl -lm && ./nvrtc_check
 * Exit status 0 = every check passed, 77 = no CUDA device or library. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lang/lang.h"

typedef unsigned long long devptr;
static struct {
    int (*Init)(unsigned);
    int (*DeviceGet)(int *, int);
    int (*DeviceGetAttribute)(int *, int, int);
    int (*CtxCreate)(void **, unsigned, int);
    int (*ModuleLoadData)(void **, const void *);
    int (*ModuleGetFunction)(void **, void *, const char *);
    int (*MemAlloc)(devptr *, size_t);
    int (*MemcpyHtoD)(devptr, const void *, size_t);
    int (*MemcpyDtoH)(void *, devptr, size_t);
    int (*LaunchKernel)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                        void *, void **, void **);
    int (*CtxSynchronize)(void);
    int (*MemFree)(devptr);
    int (*CreateProgram)(void **, const char *, const char *, int, const char **, const char **);
    int (*CompileProgram)(void *, int, const char **);
    int (*GetProgramLogSize)(void *, size_t *);
    int (*GetProgramLog)(void *, char *);
    int (*GetPTXSize)(void *, size_t *);
    int (*GetPTX)(void *, char *);
    int (*DestroyProgram)(void **);
} cu;

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); failures++; } } while (0)

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    fclose(f);
    return s;
}

static void *build_text(char *src, const char *path, const char *defines, int major, int minor);

static void *build(const char *path, const char *defines, int major, int minor)
{
    return build_text(read_file(path), path, defines, major, minor);
}

static void *build_text(char *src, const char *path, const char *defines, int major, int minor)
{
    lang_request req = {src, strlen(src), path, defines, PORT_DIALECT_CUDA, {1, 1, 1, 1}};
    lang_unit *u;
    char *diag;
    if (lang_translate(&req, &u, &diag) != KILN_OK) {
        printf("translate %s failed:\n%s", path, diag);
        exit(1);
    }
    void *prog;
    cu.CreateProgram(&prog, lang_unit_source(u), path, 0, NULL, NULL);
    char arch[64];
    snprintf(arch, sizeof arch, "--gpu-architecture=compute_%d%d", major, minor);
    const char *opts[] = {arch};
    int rc = cu.CompileProgram(prog, 1, opts);
    size_t log_size;
    cu.GetProgramLogSize(prog, &log_size);
    char *log = calloc(1, log_size + 1);
    cu.GetProgramLog(prog, log);
    if (rc != 0) {
        printf("NVRTC failed for %s:\n%s\n", path, log);
        exit(1);
    }
    printf("NVRTC %s: ok%s%s\n", path, log_size > 1 ? ", log: " : "", log_size > 1 ? log : "");
    size_t ptx_size;
    cu.GetPTXSize(prog, &ptx_size);
    char *ptx = malloc(ptx_size);
    cu.GetPTX(prog, ptx);
    void *module;
    rc = cu.ModuleLoadData(&module, ptx);
    CHECK(rc == 0, "cuModuleLoadData %d", rc);
    cu.DestroyProgram(&prog);
    free(ptx), free(log), free(src);
    lang_unit_free(u);
    return module;
}

static devptr upload(const void *host, size_t bytes)
{
    devptr d;
    cu.MemAlloc(&d, bytes);
    cu.MemcpyHtoD(d, host, bytes);
    return d;
}

int main(void)
{
    void *libcuda = dlopen("libcuda.so.1", RTLD_NOW);
    void *libnvrtc = dlopen("libnvrtc.so", RTLD_NOW);
    if (!libnvrtc)
        libnvrtc = dlopen("/usr/local/cuda/lib64/libnvrtc.so", RTLD_NOW);
    if (!libcuda || !libnvrtc) {
        printf("no libcuda or libnvrtc: skipped\n");
        return 77;
    }
#define SYM(lib, field, name) *(void **)&cu.field = dlsym(lib, name)
    SYM(libcuda, Init, "cuInit"); SYM(libcuda, DeviceGet, "cuDeviceGet");
    SYM(libcuda, DeviceGetAttribute, "cuDeviceGetAttribute"); SYM(libcuda, CtxCreate, "cuCtxCreate_v2");
    SYM(libcuda, ModuleLoadData, "cuModuleLoadData"); SYM(libcuda, ModuleGetFunction, "cuModuleGetFunction");
    SYM(libcuda, MemAlloc, "cuMemAlloc_v2"); SYM(libcuda, MemcpyHtoD, "cuMemcpyHtoD_v2");
    SYM(libcuda, MemcpyDtoH, "cuMemcpyDtoH_v2"); SYM(libcuda, LaunchKernel, "cuLaunchKernel");
    SYM(libcuda, CtxSynchronize, "cuCtxSynchronize"); SYM(libcuda, MemFree, "cuMemFree_v2");
    SYM(libnvrtc, CreateProgram, "nvrtcCreateProgram"); SYM(libnvrtc, CompileProgram, "nvrtcCompileProgram");
    SYM(libnvrtc, GetProgramLogSize, "nvrtcGetProgramLogSize"); SYM(libnvrtc, GetProgramLog, "nvrtcGetProgramLog");
    SYM(libnvrtc, GetPTXSize, "nvrtcGetPTXSize"); SYM(libnvrtc, GetPTX, "nvrtcGetPTX");
    SYM(libnvrtc, DestroyProgram, "nvrtcDestroyProgram");
    int dev, major, minor;
    void *ctx;
    if (cu.Init(0) != 0 || cu.DeviceGet(&dev, 0) != 0) {
        printf("no CUDA device: skipped\n");
        return 77;
    }
    cu.DeviceGetAttribute(&major, 75, dev); /* COMPUTE_CAPABILITY_MAJOR */
    cu.DeviceGetAttribute(&minor, 76, dev);
    cu.CtxCreate(&ctx, 0, dev);
    printf("device compute capability %d.%d\n", major, minor);

    void *everything = build("tests/fuzz/corpus-lang/everything.kc", NULL, major, minor);
    (void)everything;
    void *m = build("tests/fuzz/corpus-lang/sgemm.kc", "-DTS=16", major, minor);

    /* tiled SGEMM */
    unsigned n = 512;
    float *A = malloc(n * n * 4), *B = malloc(n * n * 4), *C = malloc(n * n * 4);
    srand(12345u ^ (unsigned)time(NULL));
    for (unsigned i = 0; i < n * n; i++)
        A[i] = rand() / (float)RAND_MAX - 0.5f, B[i] = rand() / (float)RAND_MAX - 0.5f;
    devptr dA = upload(A, n * n * 4), dB = upload(B, n * n * 4), dC;
    cu.MemAlloc(&dC, n * n * 4);
    void *fn;
    CHECK(cu.ModuleGetFunction(&fn, m, "sgemm") == 0, "no sgemm");
    void *args[] = {&n, &dA, &dB, &dC};
    int rc = cu.LaunchKernel(fn, n / 16, n / 16, 1, 16, 16, 1, 0, NULL, args, NULL);
    CHECK(rc == 0 && cu.CtxSynchronize() == 0, "sgemm launch %d", rc);
    cu.MemcpyDtoH(C, dC, n * n * 4);
    double worst = 0;
    for (unsigned i = 0; i < n; i += 7)
        for (unsigned j = 0; j < n; j++) {
            double ref = 0;
            for (unsigned k = 0; k < n; k++)
                ref += (double)A[i * n + k] * B[k * n + j];
            double e = fabs(C[i * n + j] - ref);
            if (e > worst)
                worst = e;
        }
    CHECK(worst < 1e-3, "sgemm max error %g", worst);
    printf("sgemm %ux%u: max error %g\n", n, n, worst);

    /* histogram: shared atomics, barriers, global float atomic_add */
    unsigned count = 100000, bins[16] = {0}, ref[16] = {0};
    float total = 0, ref_total = 0;
    unsigned *data = malloc(count * 4);
    for (unsigned i = 0; i < count; i++) {
        data[i] = (unsigned)rand();
        ref[data[i] % 16]++;
        ref_total += (float)(data[i] % 4);
    }
    devptr dd = upload(data, count * 4), db = upload(bins, sizeof bins), dt = upload(&total, 4);
    CHECK(cu.ModuleGetFunction(&fn, m, "histogram") == 0, "no histogram");
    void *hargs[] = {&dd, &count, &db, &dt};
    rc = cu.LaunchKernel(fn, (count + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, hargs, NULL);
    CHECK(rc == 0 && cu.CtxSynchronize() == 0, "histogram launch %d", rc);
    cu.MemcpyDtoH(bins, db, sizeof bins);
    cu.MemcpyDtoH(&total, dt, 4);
    for (int i = 0; i < 16; i++)
        CHECK(bins[i] == ref[i], "bin %d: %u != %u", i, bins[i], ref[i]);
    CHECK(fabs(total - ref_total) <= 1e-3 * ref_total, "float atomic total %g != %g", total, ref_total);
    printf("histogram of %u: %s\n", count, failures ? "MISMATCH" : "matches the host");

    /* reduction: barrier in a loop */
    float *in = malloc(count * 4), *out = calloc((count + 255) / 256, 4);
    for (unsigned i = 0; i < count; i++)
        in[i] = rand() / (float)RAND_MAX;
    devptr din = upload(in, count * 4), dout;
    cu.MemAlloc(&dout, (count + 255) / 256 * 4);
    CHECK(cu.ModuleGetFunction(&fn, m, "reduce") == 0, "no reduce");
    void *rargs[] = {&din, &dout, &count};
    rc = cu.LaunchKernel(fn, (count + 255) / 256, 1, 1, 256, 1, 1, 0, NULL, rargs, NULL);
    CHECK(rc == 0 && cu.CtxSynchronize() == 0, "reduce launch %d", rc);
    cu.MemcpyDtoH(out, dout, (count + 255) / 256 * 4);
    for (unsigned g = 0; g < (count + 255) / 256; g++) {
        double r = 0;
        for (unsigned i = g * 256; i < count && i < (g + 1) * 256; i++)
            r += in[i];
        CHECK(fabs(out[g] - r) < 1e-3, "reduce group %u: %g != %g", g, out[g], r);
    }
    printf("reduction: %s\n", failures ? "see failures" : "matches the host");

    /* warps as subgroups, vectors and structs by value */
    char *sg_src = strdup(
        "struct scale { float4 k; int add; };\n"
        "kernel void sg(global float *out, global uint *sizes, global float4 *vec, struct scale s)\n"
        "{\n    uint i = global_id(0);\n    float v = (float)subgroup_local_id();\n"
        "    out[i] = subgroup_reduce_add(v) + subgroup_shuffle(v, 3) * 1000.0f\n"
        "             + subgroup_broadcast(v, 5) * 100000.0f;\n"
        "    sizes[i] = subgroup_size();\n"
        "    vec[i] = make_float4(1.0f, 2.0f, 3.0f, (float)i) * s.k + (float)s.add;\n}\n");
    void *sgm = build_text(sg_src, "subgroups.kc", NULL, major, minor);
    struct { float k[4]; int add; int pad[3]; } scale = {{2, 3, 4, 5}, 7, {0}};
    devptr dso, dsz, dv;
    cu.MemAlloc(&dso, 64 * 4);
    cu.MemAlloc(&dsz, 64 * 4);
    cu.MemAlloc(&dv, 64 * 16);
    CHECK(cu.ModuleGetFunction(&fn, sgm, "sg") == 0, "no sg");
    void *sargs[] = {&dso, &dsz, &dv, &scale};
    rc = cu.LaunchKernel(fn, 1, 1, 1, 64, 1, 1, 0, NULL, sargs, NULL);
    CHECK(rc == 0 && cu.CtxSynchronize() == 0, "sg launch %d", rc);
    float so[64], vv[64][4];
    unsigned sz[64];
    cu.MemcpyDtoH(so, dso, sizeof so);
    cu.MemcpyDtoH(sz, dsz, sizeof sz);
    cu.MemcpyDtoH(vv, dv, sizeof vv);
    for (int i = 0; i < 64; i++) {
        CHECK(sz[i] == 32, "subgroup_size %u", sz[i]);
        CHECK(so[i] == 496.0f + 3000.0f + 500000.0f, "subgroup ops %g", so[i]);
        float ref[4] = {1 * 2 + 7, 2 * 3 + 7, 3 * 4 + 7, (float)i * 5 + 7};
        for (int j = 0; j < 4; j++)
            CHECK(vv[i][j] == ref[j], "vector %d.%d: %g != %g", i, j, vv[i][j], ref[j]);
    }
    printf("subgroups (warp of 32), vectors, struct by value: %s\n", failures ? "see failures" : "match");
    printf("%s (%d failures)\n", failures ? "FAILED" : "ALL PASSED", failures);
    return failures ? 1 : 0;
}
