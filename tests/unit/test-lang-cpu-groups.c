/* How the C emitter runs kernels with barrier() (emit_c_barrier.c,
 * emit_c_index.c): uniform barrier-loop counters, group widths with and
 * without a specialized copy, and buffer indices that wrap 32 bits. The
 * kernels are translated, compiled with the system compiler and run through
 * the CPU kernel ABI against host references on fresh random inputs. */
#include "lang/harness.h"

#include <math.h>

typedef struct compiled {
    lang_unit *unit;
    harness_module module;
} compiled;

/* The CPU backend prefers clang at -O3 -march=native, where the emitter's
 * vectorization hints and 64-bit index paths take effect; the harness
 * builds with cc -O2. Each kernel runs under both where clang exists. */
static const char *const optimized_cmd =
    "clang -w -O3 -march=native -fno-math-errno -fPIC -shared -std=gnu11 -o %s %s -lm";
enum { BUILDS = 2 };

static int have_clang(void)
{
    return system("command -v clang >/dev/null 2>&1") == 0;
}

static void build_optimized(const lang_unit *u, harness_module *m)
{
    snprintf(m->dir, sizeof m->dir, "/tmp/kiln-lang-test-XXXXXX");
    assert_non_null(mkdtemp(m->dir));
    char src[128], so[128], cmd[512];
    snprintf(src, sizeof src, "%s/unit.c", m->dir);
    snprintf(so, sizeof so, "%s/unit.so", m->dir);
    FILE *f = fopen(src, "wb");
    assert_non_null(f);
    fwrite(lang_unit_source(u), 1, lang_unit_source_length(u), f);
    fclose(f);
    snprintf(cmd, sizeof cmd, optimized_cmd, so, src);
    if (system(cmd) != 0)
        fail_msg("clang rejected the emitted unit (kept in %s)", m->dir);
    m->dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(m->dl);
    unlink(so);
    unlink(src);
    rmdir(m->dir);
}

/* build 0: the harness's cc -O2; build 1: clang -O3 -march=native. Returns
 * 0 (nothing built) for build 1 without clang. */
static int compile_c(compiled *c, const char *src, const char *defines, int build)
{
    if (build == 1 && !have_clang())
        return 0;
    c->unit = harness_translate(src, PORT_DIALECT_C, defines, harness_all_caps);
    if (build == 0)
        harness_build(c->unit, &c->module);
    else
        build_optimized(c->unit, &c->module);
    return 1;
}

static void release(compiled *c)
{
    harness_close(&c->module);
    lang_unit_free(c->unit);
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

/* Buffer indices L + local_id(0) / L + global_id(0) run in 64 bits when a
 * row of work-items cannot wrap 32 bits, and exactly otherwise: an offset
 * near 2^32 must wrap to the start of the buffer as uint arithmetic does,
 * for a width with a specialized copy (16) and one without (12). */
static const char *const wrap_src =
    "kernel void wrap(uint off, uint n, global const int *in, global int *out)\n"
    "{\n    shared int s[64];\n"
    "    s[local_id(0)] = off + local_id(0) < n ? in[off + local_id(0)] : -1;\n"
    "    barrier();\n"
    "    uint g = global_id(0);\n"
    "    if (off + g < n)\n"
    "        out[off + global_id(0)] = s[local_size(0) - 1 - local_id(0)] + 3;\n}\n";

static void run_wrap(const compiled *c, unsigned ls, unsigned off)
{
    unsigned n = 4 * ls;
    int *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out), *ref = malloc(n * sizeof *ref);
    for (unsigned i = 0; i < n; i++)
        in[i] = rand() % 100000, out[i] = ref[i] = -7;
    void *pi = in, *po = out;
    void *args[] = {&off, &n, &pi, &po};
    unsigned global[3] = {n}, local[3] = {ls};
    harness_run(&c->module, c->unit, "wrap", 1, global, local, args);
    for (unsigned g = 0; g < n; g++) {
        unsigned src = off + (ls - 1 - g % ls); /* the mirror item's local_id */
        if (off + g < n)
            ref[off + g] = (src < n ? in[src] : -1) + 3;
    }
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(out[i], ref[i]);
    free(in), free(out), free(ref);
}

static void wrapping_row_indices_with_barrier(void **state)
{
    (void)state;
    static const unsigned widths[] = {16, 12};
    for (int build = 0; build < BUILDS; build++) {
        compiled c;
        if (!compile_c(&c, wrap_src, NULL, build))
            continue;
        for (unsigned w = 0; w < 2; w++) {
            unsigned ls = widths[w];
            run_wrap(&c, ls, (unsigned)(rand() % (int)ls));    /* no row wraps */
            run_wrap(&c, ls, 0u - 5u - (unsigned)(rand() % 3)); /* rows wrap */
        }
        release(&c);
    }
}

/* A barrier loop whose counter is uniform keeps one scalar counter, and the
 * tiled multiply is right at a group width without a specialized copy (12)
 * and with one (16). */
static void uniform_barrier_counter_and_widths(void **state)
{
    (void)state;
    static const unsigned tiles[] = {12, 16}; /* a generic width, a specialized one */
    for (unsigned w = 0; w < 2 * BUILDS; w++) {
        unsigned ts = tiles[w % 2];
        char define[32];
        snprintf(define, sizeof define, "-DTS=%u", ts);
        compiled c;
        if (!compile_c(&c, sgemm_src, define, (int)(w / 2)))
            continue;
        const char *text = lang_unit_source(c.unit);
        assert_null(strstr(text, "_t[")); /* t is no per-item array */
        assert_non_null(strstr(text, "kiln_group_sgemm"));
        unsigned n = ts * (unsigned)(2 + rand() % 3);
        float *A = malloc(n * n * sizeof *A), *B = malloc(n * n * sizeof *B);
        float *C = calloc(n * n, sizeof *C);
        for (unsigned i = 0; i < n * n; i++)
            A[i] = harness_randf(), B[i] = harness_randf();
        void *pa = A, *pb = B, *pc = C;
        void *args[] = {&n, &pa, &pb, &pc};
        unsigned global[3] = {n, n}, local[3] = {ts, ts};
        harness_run(&c.module, c.unit, "sgemm", 2, global, local, args);
        for (unsigned i = 0; i < n; i++)
            for (unsigned j = 0; j < n; j++) {
                double ref = 0;
                for (unsigned k = 0; k < n; k++)
                    ref += (double)A[i * n + k] * B[k * n + j];
                assert_true(harness_close_enough(C[i * n + j], ref, 1e-4));
            }
        free(A), free(B), free(C);
        release(&c);
    }
}

/* Atomics on shared memory are plain read-modify-writes on the CPU (a
 * group runs on one thread): final values of every operation, one winner
 * of a compare-and-swap, and exchange handing each value on exactly once. */
static const char *const shared_atomics_src =
    "kernel void sh(global const int *in, global int *out, global int *olds)\n"
    "{\n    shared int v[7];\n    shared uint u;\n    shared float f;\n"
    "    uint lid = local_id(0);\n"
    "    if (lid == 0) {\n"
    "        v[0] = 0; v[1] = 0; v[2] = 1000000; v[3] = -1000000; v[4] = -1; v[5] = 0; v[6] = 0;\n"
    "        u = 0u; f = 0.0f;\n    }\n"
    "    barrier();\n"
    "    int x = in[global_id(0)];\n"
    "    atomic_add(&v[0], x);\n    atomic_sub(&v[1], x);\n    atomic_min(&v[2], x);\n"
    "    atomic_max(&v[3], x);\n    atomic_and(&v[4], x);\n    atomic_or(&v[5], x);\n"
    "    atomic_xor(&v[6], x);\n    atomic_add(&f, (float)x);\n"
    "    olds[global_id(0)] = (int)atomic_cas(&u, 0u, lid + 1u);\n"
    "    barrier();\n"
    "    if (lid == 0) {\n"
    "        for (int i = 0; i < 7; i++) out[i] = v[i];\n"
    "        out[7] = (int)u; out[8] = (int)f;\n    }\n}\n";

static void shared_atomics_are_plain(void **state)
{
    (void)state;
    enum { ITEMS = 16, RESULTS = 9 };
    for (int build = 0; build < BUILDS; build++) {
        compiled c;
        if (!compile_c(&c, shared_atomics_src, NULL, build))
            continue;
        assert_non_null(strstr(lang_unit_source(c.unit), "kiln_shared_atomic_add_int"));
        int in[ITEMS], out[RESULTS], olds[ITEMS];
        int sum = 0, mn = 1000000, mx = -1000000, band = -1, bor = 0, bxor = 0;
        for (int i = 0; i < ITEMS; i++) {
            in[i] = rand() % 2001 - 1000;
            sum += in[i], mn = in[i] < mn ? in[i] : mn, mx = in[i] > mx ? in[i] : mx;
            band &= in[i], bor |= in[i], bxor ^= in[i];
        }
        void *pi = in, *po = out, *pl = olds;
        void *args[] = {&pi, &po, &pl};
        unsigned global[3] = {ITEMS}, local[3] = {ITEMS};
        harness_run(&c.module, c.unit, "sh", 1, global, local, args);
        int expect[7] = {sum, -sum, mn, mx, band, bor, bxor};
        for (int i = 0; i < 7; i++)
            assert_int_equal(out[i], expect[i]);
        assert_int_equal(out[8], sum); /* small integers add exactly in float */
        int winners = 0;
        for (int i = 0; i < ITEMS; i++) {
            if (olds[i] == 0) {
                winners++;
                assert_int_equal(out[7], i + 1);
            } else {
                assert_int_equal(olds[i], out[7]);
            }
        }
        assert_int_equal(winners, 1);
        release(&c);
    }
}

int main(void)
{
    harness_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wrapping_row_indices_with_barrier),
        cmocka_unit_test(uniform_barrier_counter_and_widths),
        cmocka_unit_test(shared_atomics_are_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
