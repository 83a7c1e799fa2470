/* copy.kc: out = in. The plainest memory-bound kernel: 8 bytes move per
 * element, the same bytes a device-to-device copy of the buffer moves.
 * copy4 moves the same bytes four floats per work-item. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "work.h"

#define COPY_LOCAL_SIZE 256
#define FLOAT4_LANES 4

typedef struct copy_state {
    kiln_queue *q;
    kiln_kernel *k;
    kiln_buffer *in;
    kiln_buffer *out;
    uint32_t n;     /* work-items: elements, or float4s for copy4 */
} copy_state;

static kiln_status copy_run(void *state, kiln_event **first, kiln_event **last)
{
    copy_state *s = state;
    kiln_range range = { .dims = 1, .global = { s->n }, .local = { COPY_LOCAL_SIZE } };
    kiln_arg args[] = { KILN_ARG_U32(s->n), KILN_ARG_BUFFER(s->in), KILN_ARG_BUFFER(s->out) };
    kiln_status st = kiln_launch(s->q, s->k, &range, args, 3, last);
    *first = *last;
    return st;
}

static bool copy_work(const work_env *env, size_t n, bool vec4, work_result *res)
{
    memset(res, 0, sizeof *res);
    res->name = vec4 ? "copy4" : "copy";
    res->bytes = 2.0 * sizeof(float) * (double)n;
    if (n == 0 || n > UINT32_MAX || (vec4 && n % FLOAT4_LANES != 0))
        return work_fail(res, "size %zu out of range", n);

    work_rng rng;
    work_rng_seed(&rng, env->seed);
    copy_state s = { .q = env->q, .n = (uint32_t)(vec4 ? n / FLOAT4_LANES : n) };
    float *in = malloc(n * sizeof *in);
    float *got = malloc(n * sizeof *got);
    kiln_program *prog = NULL;
    bool ok = in && got;
    if (!ok)
        work_fail(res, "out of host memory");
    for (size_t i = 0; ok && i < n; i++)
        in[i] = work_rng_float(&rng, -1.0f, 1.0f);
    ok = ok && work_build(env, "copy", NULL, res->name, &prog, &s.k, res);
    ok = ok && work_buffer(env, n * sizeof *in, in, &s.in, res);
    ok = ok && work_buffer(env, n * sizeof *got, NULL, &s.out, res);

    kiln_event *first = NULL;
    kiln_event *last = NULL;
    kiln_status st = KILN_OK;
    if (ok && (st = copy_run(&s, &first, &last)) != KILN_OK)
        ok = work_fail_status(res, "launch", st);
    if (last)
        kiln_event_release(last);
    if (ok && (st = kiln_buffer_read(env->q, s.out, 0, got, n * sizeof *got)) != KILN_OK)
        ok = work_fail_status(res, "read", st);
    if (ok && memcmp(got, in, n * sizeof *in) != 0) {
        size_t i = 0;
        while (i < n && got[i] == in[i])
            i++;
        ok = work_fail(res, "kiln: out[%zu] = %.9g, want %.9g", i, got[i], in[i]);
    }
    if (ok) {
        snprintf(res->detail, sizeof res->detail, "out == in bit for bit, all %zu elements", n);
        res->ok = true;
    }
    ok = ok && work_time(env, copy_run, NULL, &s, res);

    kiln_buffer_release(s.in);
    kiln_buffer_release(s.out);
    kiln_kernel_release(s.k);
    kiln_program_release(prog);
    free(in);
    free(got);
    return ok;
}

bool work_copy(const work_env *env, size_t n, work_result *res)
{
    return copy_work(env, n, false, res);
}

bool work_copy4(const work_env *env, size_t n, work_result *res)
{
    return copy_work(env, n, true, res);
}
