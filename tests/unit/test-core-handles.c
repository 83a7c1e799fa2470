/* Handles through the public API on the CPU device: events and markers,
 * kernel and program introspection, objects of one device handed to another
 * (two contexts give two distinct CPU devices), released and forged handles,
 * and kiln_translate for every target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kiln/kiln.h>

/* The word release writes over a handle's magic (core_types.h), and room
 * for any handle struct's first fields. */
#define RELEASED_MAGIC 0xdeadbeefu
#define FORGED_WORDS 64

typedef struct side {
    kiln_context *ctx;
    kiln_device *cpu;
    kiln_queue *q;
} side;

typedef struct fixture {
    side a, b;
} fixture;

static int open_side(side *s)
{
    kiln_context_options opts = { .size = sizeof opts,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    return kiln_context_create(&s->ctx, &opts) == KILN_OK &&
                   kiln_device_find(s->ctx, "cpu", &s->cpu) == KILN_OK &&
                   kiln_queue_create(s->cpu, KILN_PRIORITY_NORMAL, &s->q) == KILN_OK
               ? 0
               : -1;
}

static int open_two(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || open_side(&f->a) != 0 || open_side(&f->b) != 0)
        return -1;
    *state = f;
    return 0;
}

static int close_two(void **state)
{
    fixture *f = *state;
    kiln_queue_destroy(f->a.q);
    kiln_queue_destroy(f->b.q);
    kiln_context_destroy(f->a.ctx);
    kiln_context_destroy(f->b.ctx);
    free(f);
    return 0;
}

static const char *pair_source =
    "kernel void scale(uint n, float a, global float *x) {\n"
    "    uint i = global_id(0);\n"
    "    if (i < n) x[i] = a * x[i];\n"
    "}\n"
    "kernel void zero(global float *x) { x[global_id(0)] = 0.0f; }\n";

static kiln_program *build(kiln_device *dev)
{
    kiln_program *prog = NULL;
    assert_int_equal(kiln_program_build(dev, pair_source, NULL, &prog), KILN_OK);
    return prog;
}

static void programs_and_kernels_describe_themselves(void **state)
{
    fixture *f = *state;
    kiln_program *prog = build(f->a.cpu);
    assert_int_equal(kiln_program_kernel_count(prog), 2);
    assert_string_equal(kiln_program_kernel_name(prog, 0), "scale");
    assert_string_equal(kiln_program_kernel_name(prog, 1), "zero");
    assert_null(kiln_program_kernel_name(prog, 2));
    kiln_kernel *k = NULL;
    assert_int_equal(kiln_kernel_get(prog, "scale", &k), KILN_OK);
    assert_int_equal(kiln_kernel_param_count(k), 3);
    const char *name = NULL, *type = NULL;
    assert_int_equal(kiln_kernel_param(k, 1, &name, &type), KILN_OK);
    assert_string_equal(name, "a");
    assert_string_equal(type, "float");
    assert_int_equal(kiln_kernel_param(k, 2, NULL, &type), KILN_OK);
    assert_string_equal(type, "global float *");
    assert_int_equal(kiln_kernel_param(k, 0, &name, NULL), KILN_OK);
    assert_string_equal(name, "n");
    assert_int_equal(kiln_kernel_param(k, 3, &name, &type), KILN_ERR_INVALID_ARG);
    assert_string_equal(kiln_last_error(), "kernel 'scale' has 3 parameters, asked for #3");
    kiln_kernel *none = k;
    assert_int_equal(kiln_kernel_get(prog, NULL, &none), KILN_ERR_NULL_HANDLE);
    assert_null(none);
    assert_string_equal(kiln_last_error(), "kernel name is NULL");
    assert_int_equal(kiln_kernel_get(prog, "scale", NULL), KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "output pointer out is NULL");

    kiln_kernel_release(k);
    kiln_program_release(prog);

    /* Handles whose first word is not their type's (a released handle, whose
     * memory is gone, reads like this at best) read as empty and are
     * refused. Forged on the stack: touching freed memory is undefined. */
    uint32_t forged[FORGED_WORDS] = { RELEASED_MAGIC };
    kiln_program *dead = (kiln_program *)forged;
    assert_int_equal(kiln_program_kernel_count(dead), 0);
    assert_null(kiln_program_kernel_name(dead, 0));
    assert_int_equal(kiln_program_origin(dead), KILN_BUILD_COMPILED);
    assert_string_equal(kiln_last_error(),
                        "program is not a live program handle (released or forged)");
    assert_int_equal(kiln_kernel_get(dead, "scale", &none), KILN_ERR_INVALID_HANDLE);
    kiln_program_release(dead); /* ignored */
    kiln_kernel_release((kiln_kernel *)forged);
    kiln_queue_destroy((kiln_queue *)forged);
    kiln_context_destroy((kiln_context *)forged);
    assert_int_equal(forged[0], RELEASED_MAGIC); /* nothing was written */
    assert_int_equal(kiln_kernel_param_count(NULL), 0);
    assert_string_equal(kiln_last_error(), "kernel is NULL");
    assert_int_equal(kiln_kernel_param_count((kiln_kernel *)forged), 0);
    assert_int_equal(kiln_kernel_param(NULL, 0, &name, &type), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_program_kernel_count(NULL), 0);
    assert_int_equal(kiln_buffer_size((kiln_buffer *)forged), 0);
    assert_string_equal(kiln_last_error(),
                        "buffer is not a live buffer handle (released or forged)");
}

/* A marker before and a launch event after: both wait, time is ordered. */
static void markers_and_launch_events_time_the_work(void **state)
{
    fixture *f = *state;
    kiln_program *prog = build(f->a.cpu);
    kiln_kernel *k = NULL;
    assert_int_equal(kiln_kernel_get(prog, "scale", &k), KILN_OK);
    enum { N = 4096 };
    float *host = malloc(N * sizeof *host), *back = malloc(N * sizeof *back);
    assert_non_null(host);
    assert_non_null(back);
    for (int i = 0; i < N; i++)
        host[i] = (float)(rand() % 1000) - 500.0f;
    float a = (float)(rand() % 64) / 4.0f;
    kiln_buffer *x = NULL;
    assert_int_equal(kiln_buffer_create(f->a.cpu, N * sizeof(float), 0, &x), KILN_OK);
    assert_int_equal(kiln_buffer_write(f->a.q, x, 0, host, N * sizeof(float)), KILN_OK);
    kiln_event *before = NULL, *launch = NULL, *after = NULL;
    assert_int_equal(kiln_queue_marker(f->a.q, &before), KILN_OK);
    kiln_range r = { .dims = 1, .global = { N } };
    kiln_arg args[] = { KILN_ARG_U32(N), KILN_ARG_F32(a), KILN_ARG_BUFFER(x) };
    assert_int_equal(kiln_launch(f->a.q, k, &r, args, 3, &launch), KILN_OK);
    assert_int_equal(kiln_queue_marker(f->a.q, &after), KILN_OK);
    assert_int_equal(kiln_event_wait(after), KILN_OK);
    assert_int_equal(kiln_event_wait(before), KILN_OK);
    uint64_t whole = 0, run = 0, none = 1;
    assert_int_equal(kiln_event_elapsed_ns(before, after, &whole), KILN_OK);
    assert_int_equal(kiln_event_elapsed_ns(launch, launch, &run), KILN_OK);
    assert_true(whole >= run);
    assert_int_equal(kiln_event_elapsed_ns(before, before, &none), KILN_OK);
    assert_int_equal(none, 0); /* a marker is one point */
    assert_int_equal(kiln_buffer_read(f->a.q, x, 0, back, N * sizeof(float)), KILN_OK);
    for (int i = 0; i < N; i++)
        assert_true(back[i] == a * host[i]);

    /* Bad arguments. */
    assert_int_equal(kiln_queue_marker(f->a.q, NULL), KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "output pointer out is NULL");
    assert_int_equal(kiln_queue_marker(NULL, &after), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_event_elapsed_ns(before, after, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_event_elapsed_ns(NULL, after, &run), KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "start event is NULL");
    assert_int_equal(kiln_event_elapsed_ns(before, NULL, &run), KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "end event is NULL");
    kiln_event *other = NULL;
    assert_int_equal(kiln_queue_marker(f->b.q, &other), KILN_OK);
    assert_int_equal(kiln_event_elapsed_ns(before, other, &run), KILN_ERR_INVALID_ARG);
    assert_string_equal(kiln_last_error(), "events of different devices cannot be compared");
    kiln_event_release(other);
    kiln_event_release(before);
    kiln_event_release(after);
    kiln_event_release(launch);
    uint32_t forged[FORGED_WORDS] = { RELEASED_MAGIC };
    assert_int_equal(kiln_event_wait((kiln_event *)forged), KILN_ERR_INVALID_HANDLE);
    assert_string_equal(kiln_last_error(), "event is not a live event handle (released or forged)");
    kiln_event_release((kiln_event *)forged); /* ignored */
    kiln_buffer_release(x);
    kiln_kernel_release(k);
    kiln_program_release(prog);
    free(host);
    free(back);
}

/* Buffers, kernels and queues of one device are refused on another. */
static void objects_stay_on_their_device(void **state)
{
    fixture *f = *state;
    kiln_program *prog = build(f->a.cpu);
    kiln_kernel *k = NULL;
    assert_int_equal(kiln_kernel_get(prog, "zero", &k), KILN_OK);
    kiln_buffer *xa = NULL, *xb = NULL;
    assert_int_equal(kiln_buffer_create(f->a.cpu, 64, 0, &xa), KILN_OK);
    assert_int_equal(kiln_buffer_create(f->b.cpu, 64, 0, &xb), KILN_OK);
    kiln_range r = { .dims = 1, .global = { 16 } };
    kiln_arg foreign[] = { KILN_ARG_BUFFER(xb) };
    assert_int_equal(kiln_launch(f->a.q, k, &r, foreign, 1, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "argument 0 ('x'): buffer belongs to device"));
    kiln_arg own[] = { KILN_ARG_BUFFER(xa) };
    assert_int_equal(kiln_launch(f->b.q, k, &r, own, 1, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "kernel 'zero' belongs to device"));
    unsigned char bytes[64] = { 0 };
    assert_int_equal(kiln_buffer_write(f->a.q, xb, 0, bytes, 64), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "buffer belongs to device"));
    assert_int_equal(kiln_buffer_copy(f->a.q, xa, 0, xb, 0, 64), KILN_ERR_INVALID_ARG);
    /* A launch event with nothing else: the kernel really zeroed xa. */
    for (int i = 0; i < 64; i++)
        bytes[i] = (unsigned char)(1 + rand() % 255);
    assert_int_equal(kiln_buffer_write(f->a.q, xa, 0, bytes, 64), KILN_OK);
    assert_int_equal(kiln_launch(f->a.q, k, &r, own, 1, NULL), KILN_OK);
    assert_int_equal(kiln_buffer_read(f->a.q, xa, 0, bytes, 64), KILN_OK);
    for (int i = 0; i < 64; i++)
        assert_int_equal(bytes[i], 0);
    /* Zero-byte transfers are accepted and do nothing. */
    assert_int_equal(kiln_buffer_copy(f->a.q, xa, 64, xa, 0, 0), KILN_OK);
    assert_int_equal(kiln_buffer_fill(f->a.q, xa, 0, 7, 0), KILN_OK);
    kiln_buffer_release(xa);
    kiln_buffer_release(xb);
    kiln_kernel_release(k);
    kiln_program_release(prog);
}

static const char *translate_source =
    "kernel void add(uint n, global const float *a, global float *b) {\n"
    "    uint i = global_id(0);\n"
    "    if (i < n) b[i] = b[i] + a[i];\n"
    "}\n";

static void translate_emits_each_dialect(void **state)
{
    (void)state;
    static const struct {
        kiln_backend target;
        const char *marker; /* a word only that dialect's output has */
    } targets[] = {
        { KILN_BACKEND_CPU, "kiln_" },
        { KILN_BACKEND_CUDA, "__global__" },
        { KILN_BACKEND_OPENCL, "__kernel" },
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char *text = NULL;
        assert_int_equal(kiln_translate(translate_source, NULL, targets[i].target, &text), KILN_OK);
        assert_non_null(text);
        assert_non_null(strstr(text, targets[i].marker));
        assert_string_equal(kiln_last_error(), "");
        kiln_free(text);
    }
    char *text = (char *)"untouched";
    assert_int_equal(kiln_translate(translate_source, NULL, KILN_BACKEND_METAL, &text),
                     KILN_ERR_NOT_IMPLEMENTED);
    assert_null(text);
    assert_non_null(strstr(kiln_last_error(), "Metal"));
    assert_int_equal(kiln_translate(translate_source, NULL, KILN_BACKEND_FAULT, &text),
                     KILN_ERR_INVALID_ARG);
    assert_string_equal(kiln_last_error(), "backend 5 has no source dialect");
    assert_int_equal(kiln_translate(translate_source, NULL, (kiln_backend)77, &text),
                     KILN_ERR_INVALID_ARG);
    assert_string_equal(kiln_last_error(), "backend 77 has no source dialect");
    assert_int_equal(kiln_translate(NULL, NULL, KILN_BACKEND_CPU, &text), KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "source is NULL");
    assert_int_equal(kiln_translate(translate_source, NULL, KILN_BACKEND_CPU, NULL),
                     KILN_ERR_NULL_HANDLE);
    assert_string_equal(kiln_last_error(), "text is NULL");
    kiln_build_options bad = { .size = 1 };
    assert_int_equal(kiln_translate(translate_source, &bad, KILN_BACKEND_CPU, &text),
                     KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "kiln_build_options.size is 1"));
    kiln_build_options named = { .size = sizeof named, .source_name = "oops.kc",
                                 .defines = "-DBROKEN" };
    assert_int_equal(kiln_translate("#ifdef BROKEN\nkernel void k( {}\n#endif\n", &named,
                                    KILN_BACKEND_OPENCL, &text),
                     KILN_ERR_COMPILE);
    assert_null(text);
    assert_non_null(strstr(kiln_last_error(), "oops.kc:2:"));
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(programs_and_kernels_describe_themselves, open_two,
                                        close_two),
        cmocka_unit_test_setup_teardown(markers_and_launch_events_time_the_work, open_two,
                                        close_two),
        cmocka_unit_test_setup_teardown(objects_stay_on_their_device, open_two, close_two),
        cmocka_unit_test(translate_emits_each_dialect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
