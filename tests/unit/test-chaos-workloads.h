/* The chaos suite's workloads (test-chaos.c): each runs real work through
 * a governed context on the fault device while a random plan fails port
 * calls, passes every operation through chaos_op, checks every result that
 * came back against a host reference, and releases everything it made.
 * They never assert (some run on several threads): a broken promise is
 * recorded in the run and the schedule fails with it. */
#ifndef KILN_TEST_CHAOS_WORKLOADS_H
#define KILN_TEST_CHAOS_WORKLOADS_H

#include <math.h>

#include "test-chaos-support.h"

/* Largest vector of the vector jobs: two of them fit CHAOS_QUOTA_BYTES
 * with room for every thread of the threaded workload. */
#define CHAOS_VECTOR_MAX 2048u
#define CHAOS_JOBS_MAX 4u
#define CHAOS_THREADS 3u
#define CHAOS_SESSIONS 2u
/* Steps of the many-buffers workload, and its largest buffer: about
 * CHAOS_QUOTA_BYTES / CHAOS_QUOTA_BUFFERS on average, so either of its two
 * limits may be the one that refuses. */
#define CHAOS_BUFFER_STEPS 60u
#define CHAOS_SMALL_BUFFER_MAX (12u * 1024u)
/* Kernels of the build workload: a handful, so the disk cache holds them
 * all after the first schedules and later builds load or recompile. */
#define CHAOS_VARIANTS 4u
/* Float results: the CPU compiler may contract a*x+y into an FMA. */
#define CHAOS_RELATIVE_ERROR 1e-5f

static const char chaos_saxpy_source[] =
    "kernel void saxpy(uint n, float a, global const float *x, global float *y)\n"
    "{\n"
    "    uint i = global_id(0);\n"
    "    if (i < n)\n"
    "        y[i] = a * x[i] + y[i];\n"
    "}\n";

/* OFFSET comes from the build's defines, so each variant is its own module. */
static const char chaos_affine_source[] = "kernel void affine(global float *x, float a, uint n)\n"
                                          "{\n"
                                          "    uint i = global_id(0);\n"
                                          "    if (i < n)\n"
                                          "        x[i] = x[i] * a + OFFSET;\n"
                                          "}\n";

static inline int chaos_close_enough(float got, float want)
{
    return fabsf(got - want) <= CHAOS_RELATIVE_ERROR * fmaxf(1.0f, fabsf(want));
}

static inline float chaos_float(chaos_rng *r)
{
    /* Small integers over 8: exact in float, so only rounding of a*x+y
     * can differ between host and device. */
    return (float)((int)chaos_below(r, 2001) - 1000) / 8.0f;
}

/* A buffer of bytes on the run's device, through chaos_op. */
static inline int chaos_alloc(chaos_run *run, size_t bytes, kiln_buffer **out, const char *what)
{
    return chaos_op(run, CHAOS_ALLOC, kiln_buffer_create(run->dev, bytes, 0, out), what);
}

/* Host-to-device and device-to-host copies of bytes at offset 0. */
static inline int chaos_write(chaos_run *run, kiln_queue *q, kiln_buffer *b, const void *src,
                              size_t bytes, const char *what)
{
    return chaos_queue_op(run, CHAOS_COPY, kiln_buffer_write(q, b, 0, src, bytes), what);
}

static inline int chaos_read(chaos_run *run, kiln_queue *q, kiln_buffer *b, void *dst,
                             size_t bytes, const char *what)
{
    return chaos_queue_op(run, CHAOS_COPY, kiln_buffer_read(q, b, 0, dst, bytes), what);
}

/* A queue of normal priority on the run's device, through chaos_op. */
static inline int chaos_queue(chaos_run *run, kiln_queue **out, const char *what)
{
    return chaos_op(run, CHAOS_OTHER, kiln_queue_create(run->dev, KILN_PRIORITY_NORMAL, out), what);
}

/* Builds src with defines and gets its kernel; NULLs on a failure. */
static inline int chaos_build(chaos_run *run, const char *src, const char *defines,
                              const char *kernel, kiln_program **prog, kiln_kernel **k)
{
    kiln_build_options o = {.size = sizeof o, .defines = defines, .source_name = "chaos.kc"};
    *prog = NULL;
    *k = NULL;
    kiln_status st = kiln_program_build(run->dev, src, &o, prog);
    if (!chaos_op(run, CHAOS_OTHER, st, "kiln_program_build"))
        return 0;
    if (chaos_op(run, CHAOS_OTHER, kiln_kernel_get(*prog, kernel, k), "kiln_kernel_get"))
        return 1;
    kiln_program_release(*prog);
    *prog = NULL;
    return 0;
}

/* Launches with or without an event; with one, waits for it. */
static inline int chaos_launch(chaos_run *run, chaos_rng *r, kiln_queue *q, kiln_kernel *k,
                               size_t n, const kiln_arg *args, uint32_t nargs)
{
    kiln_range range = {.dims = 1, .global = {n}};
    kiln_event *ev = NULL;
    int with_event = (int)chaos_below(r, 2);
    kiln_status st = kiln_launch(q, k, &range, args, nargs, with_event ? &ev : NULL);
    if (!chaos_queue_op(run, CHAOS_LAUNCH, st, "kiln_launch"))
        return 0;
    int ok = !ev || chaos_queue_op(run, CHAOS_OTHER, kiln_event_wait(ev), "kiln_event_wait");
    kiln_event_release(ev);
    return ok;
}

/* One saxpy on fresh random vectors: alloc, write, launch, read, compare. */
static inline void chaos_vector_job(chaos_run *run, chaos_rng *r, kiln_queue *q, kiln_kernel *k)
{
    size_t n = 1 + chaos_below(r, CHAOS_VECTOR_MAX);
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *out = malloc(n * sizeof *out);
    kiln_buffer *bx = NULL, *by = NULL;
    float a = chaos_float(r);
    for (size_t i = 0; x && y && i < n; i++) {
        x[i] = chaos_float(r);
        y[i] = chaos_float(r);
    }
    int ok = x && y && out;
    if (!ok)
        chaos_violation(run, "test: no host memory for %zu floats", n);
    ok = ok && chaos_alloc(run, n * sizeof *x, &bx, "create x") &&
         chaos_alloc(run, n * sizeof *y, &by, "create y") &&
         chaos_write(run, q, bx, x, n * sizeof *x, "write x") &&
         chaos_write(run, q, by, y, n * sizeof *y, "write y");
    if (ok) {
        kiln_arg args[] = {KILN_ARG_U32((uint32_t)n), KILN_ARG_F32(a), KILN_ARG_BUFFER(bx),
                           KILN_ARG_BUFFER(by)};
        ok = chaos_launch(run, r, q, k, n, args, 4) &&
             chaos_read(run, q, by, out, n * sizeof *out, "read y");
    }
    for (size_t i = 0; ok && i < n; i++)
        if (!chaos_close_enough(out[i], a * x[i] + y[i])) {
            chaos_violation(run, "saxpy of %zu items: y[%zu] = %g, want %g", n, i,
                            (double)out[i], (double)(a * x[i] + y[i]));
            ok = 0;
        }
    kiln_buffer_release(bx);
    kiln_buffer_release(by);
    free(x);
    free(y);
    free(out);
}

/* A queue, the saxpy kernel and jobs vector jobs on them. */
static inline void chaos_vector_jobs(chaos_run *run, chaos_rng *r, unsigned jobs)
{
    kiln_queue *q = NULL;
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    if (chaos_queue(run, &q, "kiln_queue_create") &&
        chaos_build(run, chaos_saxpy_source, NULL, "saxpy", &prog, &k)) {
        /* Half the time the jobs are timed between two markers. */
        kiln_event *start = NULL, *stop = NULL;
        if (chaos_below(r, 2))
            chaos_op(run, CHAOS_OTHER, kiln_queue_marker(q, &start), "kiln_queue_marker");
        for (unsigned j = 0; j < jobs; j++)
            chaos_vector_job(run, r, q, k);
        uint64_t ns = 0;
        if (start && chaos_op(run, CHAOS_OTHER, kiln_queue_marker(q, &stop), "kiln_queue_marker") &&
            chaos_op(run, CHAOS_OTHER, kiln_event_wait(stop), "kiln_event_wait"))
            chaos_op(run, CHAOS_OTHER, kiln_event_elapsed_ns(start, stop, &ns),
                     "kiln_event_elapsed_ns");
        kiln_event_release(start);
        kiln_event_release(stop);
        chaos_op(run, CHAOS_OTHER, kiln_queue_finish(q), "kiln_queue_finish");
    }
    kiln_kernel_release(k);
    kiln_program_release(prog);
    kiln_queue_destroy(q);
}

/* (a) alloc / write / launch / read / release of a vector kernel. */
static void chaos_workload_vector(chaos_run *run, chaos_rng *r)
{
    chaos_vector_jobs(run, r, 1 + chaos_below(r, CHAOS_JOBS_MAX));
}

/* ---- (b) many small buffers under the memory and buffer quotas ---------- */

typedef struct chaos_live {
    kiln_buffer *buffer[CHAOS_QUOTA_BUFFERS + 1];
    size_t bytes[CHAOS_QUOTA_BUFFERS + 1];
    size_t count;
    uint64_t total;
} chaos_live;

/* The quota table holds exactly what the live buffers hold. */
static inline void chaos_check_held(chaos_run *run, const char *principal, const chaos_live *live)
{
    quota_usage u;
    chaos_quota_usage(run->ctx, principal, &u);
    if (u.live_buffers != live->count || u.device_memory_bytes != live->total)
        chaos_violation(run, "quota holds %" PRIu64 " buffers / %" PRIu64 " bytes, the live "
                        "buffers %zu / %" PRIu64, u.live_buffers, u.device_memory_bytes,
                        live->count, live->total);
}

static inline void chaos_small_alloc(chaos_run *run, chaos_rng *r, chaos_live *live)
{
    size_t bytes = 1 + chaos_below(r, CHAOS_SMALL_BUFFER_MAX);
    int fits = live->count < CHAOS_QUOTA_BUFFERS && live->total + bytes <= CHAOS_QUOTA_BYTES;
    kiln_buffer *b = NULL;
    kiln_status st = kiln_buffer_create(run->dev, bytes, 0, &b);
    if (st == KILN_ERR_QUOTA && fits)
        chaos_violation(run, "%zu bytes refused by the quota with %zu buffers / %" PRIu64
                        " bytes live: '%s'", bytes, live->count, live->total, kiln_last_error());
    if (st == KILN_OK && !fits)
        chaos_violation(run, "%zu bytes admitted past the quota with %zu buffers / %" PRIu64
                        " bytes live", bytes, live->count, live->total);
    if (!chaos_op(run, CHAOS_ALLOC, st, "kiln_buffer_create (small)") || !b)
        return;
    live->buffer[live->count] = b;
    live->bytes[live->count++] = bytes;
    live->total += bytes;
}

static inline void chaos_small_release(chaos_rng *r, chaos_live *live)
{
    size_t i = chaos_below(r, (uint32_t)live->count);
    kiln_buffer_release(live->buffer[i]);
    live->total -= live->bytes[i];
    live->count--;
    live->buffer[i] = live->buffer[live->count];
    live->bytes[i] = live->bytes[live->count];
}

/* What a round trip does after writing a random pattern to a live buffer,
 * before reading back what should then be there. */
enum chaos_roundtrip {
    CHAOS_ROUNDTRIP_PLAIN, /* read the same buffer */
    CHAOS_ROUNDTRIP_COPY,  /* copy into another live buffer, read that */
    CHAOS_ROUNDTRIP_FILL,  /* fill a range with one byte, read the buffer */
    CHAOS_ROUNDTRIPS
};

/* Writes a random pattern, moves it as kind says, reads it back: the bytes
 * read are the host's model of the buffer, or the operation failed. */
static inline void chaos_small_roundtrip(chaos_run *run, chaos_rng *r, kiln_queue *q,
                                         const chaos_live *live)
{
    size_t i = chaos_below(r, (uint32_t)live->count), j = chaos_below(r, (uint32_t)live->count);
    size_t n = live->bytes[i];
    unsigned kind = chaos_below(r, CHAOS_ROUNDTRIPS);
    kiln_buffer *src = live->buffer[i], *back = src;
    /* Half the time the pattern is staged in the device's pinned memory. */
    kiln_host_buffer *staging = NULL;
    if (chaos_below(r, 2) &&
        !chaos_op(run, CHAOS_OTHER, kiln_host_buffer_create(run->dev, n, &staging),
                  "kiln_host_buffer_create"))
        return;
    unsigned char *in = staging ? kiln_host_buffer_data(staging) : malloc(n), *out = malloc(n);
    if (!in || !out) {
        chaos_violation(run, "test: no host memory for %zu bytes", n);
        if (!staging)
            free(in);
        kiln_host_buffer_release(staging);
        free(out);
        return;
    }
    for (size_t b = 0; b < n; b++)
        in[b] = (unsigned char)chaos_next(r);
    int ok = chaos_write(run, q, src, in, n, "write (small)");
    if (ok && kind == CHAOS_ROUNDTRIP_COPY) {
        n = n < live->bytes[j] ? n : live->bytes[j];
        back = live->buffer[j];
        ok = chaos_queue_op(run, CHAOS_COPY, kiln_buffer_copy(q, back, 0, src, 0, n),
                            "copy (small)");
    } else if (ok && kind == CHAOS_ROUNDTRIP_FILL) {
        size_t from = chaos_below(r, (uint32_t)n), length = n - from;
        unsigned char byte = (unsigned char)chaos_next(r);
        ok = chaos_queue_op(run, CHAOS_COPY, kiln_buffer_fill(q, src, from, byte, length),
                      "fill (small)");
        memset(in + from, byte, length);
    }
    if (ok && chaos_read(run, q, back, out, n, "read (small)") &&
        memcmp(in, out, n) != 0)
        chaos_violation(run, "a %zu-byte buffer read back other bytes than written (%s)", n,
                        kind == CHAOS_ROUNDTRIP_COPY ? "copy"
                        : kind == CHAOS_ROUNDTRIP_FILL ? "fill" : "plain");
    if (!staging)
        free(in);
    kiln_host_buffer_release(staging);
    free(out);
}

static void chaos_workload_buffers(chaos_run *run, chaos_rng *r)
{
    kiln_governance_info info;
    kiln_queue *q = NULL;
    chaos_live live = {.count = 0};
    run->quota_may_refuse = 1;
    if (kiln_context_get_governance(run->ctx, &info) != KILN_OK ||
        !chaos_queue(run, &q, "kiln_queue_create"))
        return;
    for (unsigned step = 0; step < CHAOS_BUFFER_STEPS; step++) {
        unsigned choice = chaos_below(r, 4);
        if (live.count == 0 || choice < 2)
            chaos_small_alloc(run, r, &live);
        else if (choice == 2)
            chaos_small_release(r, &live);
        else
            chaos_small_roundtrip(run, r, q, &live);
        chaos_check_held(run, info.principal, &live);
    }
    while (live.count)
        chaos_small_release(r, &live);
    chaos_check_held(run, info.principal, &live);
    kiln_queue_destroy(q);
}

/* ---- (c) program builds and launches ------------------------------------- */

static inline void chaos_affine_job(chaos_run *run, chaos_rng *r, kiln_queue *q)
{
    unsigned variant = chaos_below(r, CHAOS_VARIANTS);
    char defines[64];
    float offset = (float)variant + 0.5f;
    snprintf(defines, sizeof defines, "-DOFFSET=%u.5f", variant);
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    if (!chaos_build(run, chaos_affine_source, defines, "affine", &prog, &k))
        return;
    size_t n = 1 + chaos_below(r, CHAOS_VECTOR_MAX);
    float *x = malloc(n * sizeof *x), *out = malloc(n * sizeof *out);
    float a = chaos_float(r);
    kiln_buffer *b = NULL;
    int ok = x && out;
    if (!ok)
        chaos_violation(run, "test: no host memory for %zu floats", n);
    for (size_t i = 0; ok && i < n; i++)
        x[i] = chaos_float(r);
    ok = ok && chaos_alloc(run, n * sizeof *x, &b, "create x") &&
         chaos_write(run, q, b, x, n * sizeof *x, "write x");
    if (ok) {
        kiln_arg args[] = {KILN_ARG_BUFFER(b), KILN_ARG_F32(a), KILN_ARG_U32((uint32_t)n)};
        ok = chaos_launch(run, r, q, k, n, args, 3) &&
             chaos_read(run, q, b, out, n * sizeof *out, "read x");
    }
    for (size_t i = 0; ok && i < n; i++)
        if (!chaos_close_enough(out[i], x[i] * a + offset)) {
            chaos_violation(run, "affine variant %u: x[%zu] = %g, want %g", variant, i,
                            (double)out[i], (double)(x[i] * a + offset));
            ok = 0;
        }
    kiln_buffer_release(b);
    kiln_kernel_release(k);
    kiln_program_release(prog);
    free(x);
    free(out);
}

static void chaos_workload_builds(chaos_run *run, chaos_rng *r)
{
    kiln_queue *q = NULL;
    if (!chaos_queue(run, &q, "kiln_queue_create"))
        return;
    unsigned jobs = 1 + chaos_below(r, CHAOS_JOBS_MAX);
    for (unsigned j = 0; j < jobs; j++)
        chaos_affine_job(run, r, q);
    kiln_queue_destroy(q);
}

/* ---- (d) several threads, each with its own queue ------------------------ */

typedef struct chaos_thread {
    chaos_run *run;
    kiln_kernel *kernel;
    chaos_rng rng;
} chaos_thread;

static void *chaos_thread_main(void *arg)
{
    chaos_thread *t = arg;
    kiln_queue *q = NULL;
    if (chaos_queue(t->run, &q, "kiln_queue_create (thread)")) {
        unsigned jobs = 1 + chaos_below(&t->rng, CHAOS_JOBS_MAX);
        for (unsigned j = 0; j < jobs; j++)
            chaos_vector_job(t->run, &t->rng, q, t->kernel);
        chaos_op(t->run, CHAOS_OTHER, kiln_queue_finish(q), "kiln_queue_finish (thread)");
    }
    kiln_queue_destroy(q);
    return NULL;
}

static void chaos_workload_threads(chaos_run *run, chaos_rng *r)
{
    run->quota_may_refuse = 1; /* CHAOS_THREADS launches against CHAOS_QUOTA_LAUNCHES */
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    if (!chaos_build(run, chaos_saxpy_source, NULL, "saxpy", &prog, &k))
        return;
    chaos_thread threads[CHAOS_THREADS];
    pthread_t ids[CHAOS_THREADS];
    unsigned started = 0;
    for (unsigned i = 0; i < CHAOS_THREADS; i++) {
        threads[i] = (chaos_thread){.run = run, .kernel = k, .rng = {chaos_next(r)}};
        if (pthread_create(&ids[i], NULL, chaos_thread_main, &threads[i]) != 0) {
            chaos_violation(run, "test: pthread_create failed");
            break;
        }
        started++;
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    kiln_kernel_release(k);
    kiln_program_release(prog);
}

/* ---- (e) queues that fall back to the CPU ---------------------------------- */

/* A device fault on such a queue is never returned: the queue reruns its
 * journal on the CPU and the job's result must still be right. */
static void chaos_workload_fallback(chaos_run *run, chaos_rng *r)
{
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    run->queues_fall_back = 1;
    if (!chaos_build(run, chaos_saxpy_source, NULL, "saxpy", &prog, &k))
        return;
    unsigned jobs = 1 + chaos_below(r, CHAOS_JOBS_MAX);
    for (unsigned j = 0; j < jobs; j++) {
        kiln_queue_options o = {.size = sizeof o,
                                .priority = KILN_PRIORITY_NORMAL,
                                .flags = KILN_QUEUE_CPU_FALLBACK};
        kiln_queue *q = NULL;
        if (!chaos_op(run, CHAOS_OTHER, kiln_queue_create_with(run->dev, &o, &q),
                      "kiln_queue_create_with"))
            continue;
        run->fallback_queue = q;
        run->fallbacks_seen = 0;
        chaos_vector_job(run, r, q, k);
        kiln_status st = kiln_queue_finish(q);
        if (chaos_queue_op(run, CHAOS_OTHER, st, "kiln_queue_finish (fallback)") == 0 &&
            chaos_is_device_status(st))
            chaos_violation(run, "a fallback queue's finish returned %s ('%s')",
                            kiln_status_name(st), kiln_last_error());
        run->fallbacks += run->fallbacks_seen;
        run->fallback_queue = NULL;
        kiln_queue_destroy(q);
    }
    kiln_kernel_release(k);
    kiln_program_release(prog);
}

/* ---- (f) sessions for other principals ------------------------------------ */

/* Vector jobs through a session's view of the device, for its principal
 * and under its quota; the session closes once they are released. */
static void chaos_session_jobs(chaos_run *run, chaos_rng *r, const char *tenant)
{
    kiln_session_options o = {.size = sizeof o, .principal = tenant};
    kiln_session *s = NULL;
    kiln_device *view = NULL;
    if (!chaos_op(run, CHAOS_OTHER, kiln_session_open(run->ctx, &o, &s), "kiln_session_open"))
        return;
    /* The context has one device, the fault device. */
    if (chaos_op(run, CHAOS_OTHER, kiln_session_device(s, 0, &view), "kiln_session_device")) {
        /* The jobs make everything through run->dev: the view, for now
         * (this workload runs on one thread). */
        kiln_device *own = run->dev;
        run->dev = view;
        chaos_vector_jobs(run, r, 1 + chaos_below(r, CHAOS_JOBS_MAX));
        run->dev = own;
    }
    kiln_session_info info;
    if (kiln_session_get_info(s, &info) != KILN_OK || info.live_objects != 0)
        chaos_violation(run, "session of %s holds %" PRIu64 " objects after its work", tenant,
                        info.live_objects);
    if (kiln_session_close(s) != KILN_OK)
        chaos_violation(run, "session of %s did not close: '%s'", tenant, kiln_last_error());
}

static void chaos_workload_sessions(chaos_run *run, chaos_rng *r)
{
    static const char *const tenants[CHAOS_SESSIONS] = {CHAOS_TENANT_0, CHAOS_TENANT_1};
    for (unsigned i = 0; i < CHAOS_SESSIONS; i++)
        chaos_session_jobs(run, r, tenants[i]);
}

#endif
