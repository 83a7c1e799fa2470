/* Sessions: work done for a named principal through per-session device
 * views, on the CPU backend. The policy decides for the session's principal
 * and roles, the audit log names it, handles of one session are refused by
 * another, a session with live objects stays open, and the views share the
 * device's health. (Memory hygiene: test-core-hygiene.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <kiln/kiln.h>

#include "test-fault-support.h"
#include "test-session-support.h"

/* A principal name one byte longer than the longest accepted (256). */
#define TOO_LONG_NAME 257
/* One more role than a principal may hold (16). */
#define TOO_MANY_ROLES 17
/* Elements of the buffers the scale kernel works on: not a multiple of the
 * work-group size, so the kernel's bound check runs. */
#define ELEMENTS 1031
#define THREADS 6
#define ROUNDS 12

static const char *scale_source =
    "kernel void scale(uint n, uint factor, global const uint *x, global uint *y) {\n"
    "    uint i = global_id(0);\n"
    "    if (i < n) y[i] = x[i] * factor;\n"
    "}\n";


/* What one principal works with. */
typedef struct workspace {
    kiln_queue *q;
    kiln_buffer *x, *y;
    kiln_program *prog;
    kiln_kernel *k;
} workspace;

static kiln_status workspace_open(kiln_device *dev, workspace *w)
{
    memset(w, 0, sizeof *w);
    kiln_status st = kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &w->q);
    if (st == KILN_OK)
        st = kiln_buffer_create(dev, ELEMENTS * sizeof(uint32_t), 0, &w->x);
    if (st == KILN_OK)
        st = kiln_buffer_create(dev, ELEMENTS * sizeof(uint32_t), 0, &w->y);
    if (st == KILN_OK)
        st = kiln_program_build(dev, scale_source, NULL, &w->prog);
    if (st == KILN_OK)
        st = kiln_kernel_get(w->prog, "scale", &w->k);
    return st;
}

static void workspace_close(workspace *w)
{
    kiln_kernel_release(w->k);
    kiln_program_release(w->prog);
    kiln_buffer_release(w->x);
    kiln_buffer_release(w->y);
    kiln_queue_destroy(w->q);
    memset(w, 0, sizeof *w);
}

/* Scales fresh data and checks it; 1 when every element is right. */
static int workspace_run(workspace *w, unsigned *seed)
{
    uint32_t in[ELEMENTS], out[ELEMENTS];
    uint32_t factor = (uint32_t)rand_r(seed) % 1000u + 1u;
    for (int i = 0; i < ELEMENTS; i++)
        in[i] = (uint32_t)rand_r(seed);
    kiln_range r = { .dims = 1, .global = { ELEMENTS }, .local = { 64 } };
    kiln_arg args[] = { KILN_ARG_U32(ELEMENTS), KILN_ARG_U32(factor), KILN_ARG_BUFFER(w->x),
                        KILN_ARG_BUFFER(w->y) };
    if (kiln_buffer_write(w->q, w->x, 0, in, sizeof in) != KILN_OK ||
        kiln_launch(w->q, w->k, &r, args, 4, NULL) != KILN_OK ||
        kiln_buffer_read(w->q, w->y, 0, out, sizeof out) != KILN_OK)
        return 0;
    for (int i = 0; i < ELEMENTS; i++)
        if (out[i] != in[i] * factor)
            return 0;
    return 1;
}


static int setup(void **state)
{
    (void)state;
    return session_test_setup("kiln-session");
}

static void sessions_work_without_a_policy(void **state)
{
    (void)state;
    kiln_context *ctx = open_context(NULL, NULL);
    kiln_session *s = open_session(ctx, "alice", NULL, 0);
    kiln_session_info info;
    assert_int_equal(kiln_session_get_info(s, &info), KILN_OK);
    assert_string_equal(info.principal, "alice");
    assert_int_equal(info.id, 1);
    assert_int_equal(info.live_objects, 0);
    kiln_device *view = view_of(s), *base = NULL;
    assert_int_equal(kiln_device_get(ctx, 0, &base), KILN_OK);
    assert_ptr_not_equal(view, base);
    kiln_device_info vi, bi;
    assert_int_equal(kiln_device_get_info(view, &vi), KILN_OK);
    assert_int_equal(kiln_device_get_info(base, &bi), KILN_OK);
    assert_string_equal(vi.name, bi.name);
    kiln_device *none = NULL;
    assert_int_equal(kiln_session_device(s, 1, &none), KILN_ERR_INVALID_DEVICE);
    assert_null(none);
    workspace w;
    unsigned seed = 7;
    assert_int_equal(workspace_open(view, &w), KILN_OK);
    assert_true(workspace_run(&w, &seed));
    workspace_close(&w);
    assert_int_equal(kiln_session_close(s), KILN_OK);
    assert_int_equal(kiln_session_close(NULL), KILN_OK);
    kiln_session *second = open_session(ctx, "bob", NULL, 0);
    assert_int_equal(kiln_session_get_info(second, &info), KILN_OK);
    assert_int_equal(info.id, 2);
    /* Left open: the context closes it. */
    kiln_context_destroy(ctx);
}

static void a_session_with_live_objects_stays_open(void **state)
{
    (void)state;
    kiln_context *ctx = open_context(NULL, NULL);
    kiln_session *s = open_session(ctx, "alice", NULL, 0);
    workspace w;
    assert_int_equal(workspace_open(view_of(s), &w), KILN_OK);
    kiln_session_info info;
    assert_int_equal(kiln_session_get_info(s, &info), KILN_OK);
    assert_int_equal(info.live_objects, 5); /* queue, two buffers, program, kernel */
    assert_int_equal(kiln_session_close(s), KILN_ERR_IN_USE);
    assert_string_equal(kiln_status_name(KILN_ERR_IN_USE), "KILN_ERR_IN_USE");
    assert_non_null(strstr(kiln_last_error(), "5 live objects"));
    kiln_buffer_release(w.x);
    kiln_buffer_release(w.y);
    kiln_queue_destroy(w.q);
    assert_int_equal(kiln_session_close(s), KILN_ERR_IN_USE);
    assert_non_null(strstr(kiln_last_error(), "2 live objects"));
    /* Still open and usable. */
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(view_of(s), KILN_PRIORITY_NORMAL, &q), KILN_OK);
    kiln_queue_destroy(q);
    kiln_kernel_release(w.k);
    kiln_program_release(w.prog);
    assert_int_equal(kiln_session_get_info(s, &info), KILN_OK);
    assert_int_equal(info.live_objects, 0);
    assert_int_equal(kiln_session_close(s), KILN_OK);
    kiln_context_destroy(ctx);
}

static void a_closed_session_and_its_views_are_refused(void **state)
{
    (void)state;
    kiln_context *ctx = open_context(NULL, NULL);
    kiln_session *s = open_session(ctx, "alice", NULL, 0);
    kiln_device *view = view_of(s);
    assert_int_equal(kiln_session_close(s), KILN_OK);
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(view, KILN_PRIORITY_NORMAL, &q), KILN_ERR_INVALID_HANDLE);
    assert_null(q);
    kiln_buffer *b = NULL;
    assert_int_equal(kiln_buffer_create(view, 64, 0, &b), KILN_ERR_INVALID_HANDLE);
    assert_string_equal(kiln_last_error(), "device is not a live device handle (released or forged)");
    kiln_device_info info;
    assert_int_equal(kiln_device_get_info(view, &info), KILN_ERR_INVALID_HANDLE);
    kiln_device *again = NULL;
    assert_int_equal(kiln_session_device(s, 0, &again), KILN_ERR_INVALID_HANDLE);
    assert_int_equal(kiln_session_close(s), KILN_ERR_INVALID_HANDLE);
    kiln_session_info si;
    assert_int_equal(kiln_session_get_info(s, &si), KILN_ERR_INVALID_HANDLE);
    kiln_context_destroy(ctx);
}

static void odd_principal_names_and_options_are_refused(void **state)
{
    (void)state;
    kiln_context *ctx = open_context(NULL, NULL);
    kiln_session *s = NULL;
    char too_long[TOO_LONG_NAME + 1];
    memset(too_long, 'a', TOO_LONG_NAME);
    too_long[TOO_LONG_NAME] = '\0';
    const char *bad_names[] = { "", "bob\nroot", "tab\there", "\xff\xfe", "a\x7f", too_long };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        kiln_session_options o = { .size = sizeof o, .principal = bad_names[i] };
        assert_int_equal(kiln_session_open(ctx, &o, &s), KILN_ERR_INVALID_ARG);
        assert_null(s);
        assert_non_null(strstr(kiln_last_error(), "session principal"));
    }
    char longest[TOO_LONG_NAME];
    memset(longest, 'b', TOO_LONG_NAME - 1);
    longest[TOO_LONG_NAME - 1] = '\0';
    s = open_session(ctx, longest, NULL, 0);
    assert_int_equal(kiln_session_close(s), KILN_OK);
    s = NULL;

    kiln_session_options o = { .size = sizeof o, .principal = NULL };
    assert_int_equal(kiln_session_open(ctx, &o, &s), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "needs a principal"));
    assert_int_equal(kiln_session_open(ctx, NULL, &s), KILN_ERR_NULL_HANDLE);
    o.principal = "alice";
    o.size = sizeof o - 1;
    assert_int_equal(kiln_session_open(ctx, &o, &s), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "kiln_session_options.size"));
    o.size = sizeof o;
    const char *roles[TOO_MANY_ROLES];
    for (int i = 0; i < TOO_MANY_ROLES; i++)
        roles[i] = "ml";
    o.roles = roles;
    o.role_count = TOO_MANY_ROLES;
    assert_int_equal(kiln_session_open(ctx, &o, &s), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "at most 16 roles"));
    roles[3] = "ops\r";
    o.role_count = 4;
    assert_int_equal(kiln_session_open(ctx, &o, &s), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "session role 3"));
    roles[2] = NULL;
    assert_int_equal(kiln_session_open(ctx, &o, &s), KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(kiln_last_error(), "session role 2 is NULL"));
    o.roles = NULL;
    assert_int_equal(kiln_session_open(ctx, &o, &s), KILN_ERR_NULL_HANDLE);
    assert_int_equal(kiln_session_open(NULL, &o, &s), KILN_ERR_NULL_HANDLE);
    assert_null(s);
    kiln_context_destroy(ctx);
}

/* Each kind of meeting between handles of two sessions is refused, naming
 * both sessions and their principals; so is one between a session and the
 * context's own device. */
static void handles_of_one_session_are_refused_by_another(void **state)
{
    (void)state;
    kiln_context *ctx = open_context(NULL, NULL);
    kiln_session *alice = open_session(ctx, "alice", NULL, 0);
    kiln_session *bob = open_session(ctx, "bob", NULL, 0);
    workspace a, b;
    assert_int_equal(workspace_open(view_of(alice), &a), KILN_OK);
    assert_int_equal(workspace_open(view_of(bob), &b), KILN_OK);
    kiln_range r = { .dims = 1, .global = { ELEMENTS } };
    uint32_t n = ELEMENTS, factor = 3, host[ELEMENTS] = { 0 };

    kiln_arg foreign_arg[] = { KILN_ARG_U32(n), KILN_ARG_U32(factor), KILN_ARG_BUFFER(a.x),
                               KILN_ARG_BUFFER(b.y) };
    assert_int_equal(kiln_launch(a.q, a.k, &r, foreign_arg, 4, NULL), KILN_ERR_INVALID_HANDLE);
    assert_non_null(strstr(kiln_last_error(), "argument 3 ('y'): buffer belongs to session 2 "
                                              "(principal 'bob'), queue to session 1 "
                                              "(principal 'alice')"));
    kiln_arg own_args[] = { KILN_ARG_U32(n), KILN_ARG_U32(factor), KILN_ARG_BUFFER(a.x),
                            KILN_ARG_BUFFER(a.y) };
    assert_int_equal(kiln_launch(b.q, a.k, &r, own_args, 4, NULL), KILN_ERR_INVALID_HANDLE);
    assert_non_null(strstr(kiln_last_error(), "kernel 'scale' belongs to session 1 "
                                              "(principal 'alice'), queue to session 2"));
    assert_int_equal(kiln_buffer_copy(a.q, a.y, 0, b.x, 0, 64), KILN_ERR_INVALID_HANDLE);
    assert_non_null(strstr(kiln_last_error(), "buffer belongs to session 2 (principal 'bob')"));
    assert_int_equal(kiln_buffer_copy(a.q, b.y, 0, a.x, 0, 64), KILN_ERR_INVALID_HANDLE);
    assert_int_equal(kiln_buffer_write(b.q, a.x, 0, host, sizeof host), KILN_ERR_INVALID_HANDLE);
    assert_int_equal(kiln_buffer_read(b.q, a.y, 0, host, sizeof host), KILN_ERR_INVALID_HANDLE);
    assert_int_equal(kiln_buffer_fill(b.q, a.y, 0, 0, 64), KILN_ERR_INVALID_HANDLE);

    kiln_device *own = NULL;
    kiln_queue *context_q = NULL;
    assert_int_equal(kiln_device_get(ctx, 0, &own), KILN_OK);
    assert_int_equal(kiln_queue_create(own, KILN_PRIORITY_NORMAL, &context_q), KILN_OK);
    assert_int_equal(kiln_buffer_read(context_q, a.y, 0, host, sizeof host),
                     KILN_ERR_INVALID_HANDLE);
    assert_non_null(strstr(kiln_last_error(), "queue to the context's own device (principal '"));
    kiln_queue_destroy(context_q);

    /* Each on its own still works. */
    unsigned seed = 11;
    assert_true(workspace_run(&a, &seed));
    assert_true(workspace_run(&b, &seed));
    workspace_close(&a);
    workspace_close(&b);
    assert_int_equal(kiln_session_close(alice), KILN_OK);
    assert_int_equal(kiln_session_close(bob), KILN_OK);
    kiln_context_destroy(ctx);
}

/* The policy decides for the session's principal and roles, and the log
 * names them: alice computes, bob is denied by the rule that names him, a
 * role given to the session counts like one from the policy. */
static void the_policy_decides_for_the_session_principal(void **state)
{
    (void)state;
    char rules[2048];
    snprintf(rules, sizeof rules,
             "%s"
             "  - name: no-bob\n"
             "    effect: deny\n"
             "    principals: [bob]\n"
             "    devices: [\"*\"]\n"
             "    actions: [device.use, buffer.alloc]\n"
             "  - name: alice-and-analysts\n"
             "    effect: allow\n"
             "    principals: [alice]\n"
             "    roles: [analyst]\n"
             "    devices: [\"backend:cpu\"]\n"
             "    actions: [device.use, program.build, buffer.alloc, buffer.copy, kernel.launch]\n",
             open_sessions_rule);
    write_policy(rules, "");
    kiln_context *ctx = open_context(policy_path, log_path);
    kiln_session *alice = open_session(ctx, "alice", NULL, 0);
    kiln_session *bob = open_session(ctx, "bob", NULL, 0);
    const char *analyst[] = { "analyst" };
    kiln_session *carol = open_session(ctx, "carol", analyst, 1);
    kiln_session *dave = open_session(ctx, "dave", NULL, 0);

    workspace w;
    unsigned seed = 5;
    assert_int_equal(workspace_open(view_of(alice), &w), KILN_OK);
    assert_true(workspace_run(&w, &seed));
    workspace_close(&w);
    assert_int_equal(workspace_open(view_of(carol), &w), KILN_OK);
    assert_true(workspace_run(&w, &seed));
    workspace_close(&w);

    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(view_of(bob), KILN_PRIORITY_NORMAL, &q), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "denied to 'bob'"));
    assert_non_null(strstr(kiln_last_error(), "no-bob"));
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(view_of(bob), 64, 0, &buf), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "no-bob"));
    assert_int_equal(kiln_buffer_create(view_of(dave), 64, 0, &buf), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "default-deny"));
    /* The context's own device acts for the local user, who has no rule. */
    kiln_device *own = NULL;
    assert_int_equal(kiln_device_get(ctx, 0, &own), KILN_OK);
    assert_int_equal(kiln_buffer_create(own, 64, 0, &buf), KILN_ERR_DENIED);
    assert_null(buf);

    assert_int_equal(kiln_session_close(alice), KILN_OK);
    assert_int_equal(kiln_session_close(bob), KILN_OK);
    assert_int_equal(kiln_session_close(carol), KILN_OK);
    assert_int_equal(kiln_session_close(dave), KILN_OK);
    kiln_context_destroy(ctx);
    assert_log_verifies();
    assert_true(log_lines_with("\"principal\":\"alice\"", "\"action\":\"buffer.alloc\"",
                               "\"rule\":\"alice-and-analysts\"", NULL) >= 2);
    assert_true(log_lines_with("\"principal\":\"carol\"", "\"action\":\"program.build\"", NULL) >= 1);
    assert_int_equal(log_lines_with("\"principal\":\"bob\"", "\"rule\":\"no-bob\"",
                                    "\"outcome\":\"KILN_ERR_DENIED\"", NULL),
                     2);
    assert_int_equal(log_lines_with("\"principal\":\"dave\"", "\"rule\":\"default-deny\"", NULL), 1);
}

static void session_open_and_close_are_recorded(void **state)
{
    (void)state;
    char rules[1024];
    snprintf(rules, sizeof rules, "%s%s", open_sessions_rule, cpu_for_all_rule);
    write_policy(rules, "");
    kiln_context *ctx = open_context(policy_path, log_path);
    kiln_session *alice = open_session(ctx, "alice", NULL, 0);
    kiln_session *bob = open_session(ctx, "bob", NULL, 0);
    assert_non_null(bob);
    assert_int_equal(kiln_session_close(alice), KILN_OK);
    kiln_context_destroy(ctx); /* closes bob's */
    assert_log_verifies();
    assert_int_equal(log_lines_with("\"principal\":\"alice\"", "\"action\":\"session.open\"",
                                    "\"rule\":\"open-sessions\"", "opened by the local user",
                                    "\"outcome\":\"KILN_OK\"", NULL),
                     1);
    assert_int_equal(log_lines_with("\"principal\":\"alice\"", "\"action\":\"session.close\"",
                                    "session 1 closed", NULL),
                     1);
    assert_int_equal(log_lines_with("\"principal\":\"bob\"", "\"action\":\"session.open\"", NULL), 1);
    assert_int_equal(log_lines_with("\"principal\":\"bob\"", "\"action\":\"session.close\"",
                                    "session 2 closed with the context", NULL),
                     1);
}

/* Opening a session is the local user's action: without a rule allowing
 * it, or with one denying it, the session is refused and the refusal is
 * recorded naming the principal asked for. */
static void session_open_denied_to_the_local_user_is_refused_and_recorded(void **state)
{
    (void)state;
    write_policy(cpu_for_all_rule, "");
    kiln_context *ctx = open_context(policy_path, log_path);
    kiln_session_options o = { .size = sizeof o, .principal = "alice" };
    kiln_session *s = NULL;
    assert_int_equal(kiln_session_open(ctx, &o, &s), KILN_ERR_DENIED);
    assert_null(s);
    assert_non_null(strstr(kiln_last_error(), "session.open denied to the local user"));
    assert_non_null(strstr(kiln_last_error(), "default-deny"));
    kiln_context_destroy(ctx);
    assert_log_verifies();
    assert_int_equal(log_lines_with("\"principal\":\"alice\"", "\"action\":\"session.open\"",
                                    "\"outcome\":\"KILN_ERR_DENIED\"", NULL),
                     1);

    char rules[1024];
    snprintf(rules, sizeof rules,
             "  - name: no-sessions\n"
             "    effect: deny\n"
             "    principals: [\"*\"]\n"
             "    devices: [\"*\"]\n"
             "    actions: [session.open]\n"
             "%s",
             cpu_for_all_rule);
    write_policy(rules, "");
    ctx = open_context(policy_path, log_path);
    o.principal = "mallory";
    assert_int_equal(kiln_session_open(ctx, &o, &s), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "no-sessions"));
    kiln_context_destroy(ctx);
    assert_log_verifies();
    assert_int_equal(log_lines_with("\"principal\":\"mallory\"", "\"rule\":\"no-sessions\"",
                                    "\"outcome\":\"KILN_ERR_DENIED\"", NULL),
                     1);
}

/* A log that can no longer be written refuses new sessions (nothing opens
 * unrecorded); closing one still closes it and says the record is missing. */
static void a_failed_audit_log_refuses_sessions(void **state)
{
    (void)state;
    char rules[1024];
    snprintf(rules, sizeof rules, "%s%s", open_sessions_rule, cpu_for_all_rule);
    write_policy(rules, "audit:\n  durable: true\n");
    kiln_context *ctx = open_context(policy_path, log_path);
    kiln_session *alice = open_session(ctx, "alice", NULL, 0);
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = 1;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    kiln_session_options o = { .size = sizeof o, .principal = "bob" };
    kiln_session *bob = NULL;
    assert_int_equal(kiln_session_open(ctx, &o, &bob), KILN_ERR_AUDIT);
    assert_null(bob);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(kiln_session_open(ctx, &o, &bob), KILN_ERR_AUDIT);
    assert_int_equal(kiln_session_close(alice), KILN_ERR_AUDIT);
    assert_int_equal(kiln_session_close(alice), KILN_ERR_INVALID_HANDLE); /* it did close */
    kiln_context_destroy(ctx);
}


/* Health is the hardware's: a fault seen through one session's view makes
 * the device unhealthy for every view and for the context, until its probe
 * passes again. */
static void a_fault_through_one_view_is_seen_by_every_view(void **state)
{
    (void)state;
    health_set_clock(leaping_clock); /* every call probes: not the rate limit's test */
    kiln_context *ctx = open_fault_context(NULL, NULL);
    kiln_session *alice = open_session(ctx, "alice", NULL, 0);
    kiln_session *bob = open_session(ctx, "bob", NULL, 0);
    kiln_queue *qa = NULL, *qb = NULL;
    kiln_buffer *b = NULL;
    assert_int_equal(kiln_queue_create(view_of(alice), KILN_PRIORITY_NORMAL, &qa), KILN_OK);
    assert_int_equal(kiln_buffer_create(view_of(alice), 64, 0, &b), KILN_OK);
    test_fault_plan("calls=memory.fill;from=1;status=device_fault");
    assert_int_equal(kiln_buffer_fill(qa, b, 0, 1, 64), KILN_ERR_DEVICE_FAULT);
    kiln_device *own = NULL;
    kiln_device_info info;
    assert_int_equal(kiln_device_get(ctx, 0, &own), KILN_OK);
    assert_int_equal(kiln_device_get_info(own, &info), KILN_OK);
    assert_int_equal(info.health, KILN_HEALTH_DEGRADED);
    assert_int_equal(kiln_device_get_info(view_of(bob), &info), KILN_OK);
    assert_int_equal(info.health, KILN_HEALTH_DEGRADED);
    assert_int_equal(kiln_queue_create(view_of(bob), KILN_PRIORITY_NORMAL, &qb), KILN_ERR_DEVICE_LOST);
    assert_non_null(strstr(kiln_last_error(), "is degraded after a fault"));
    assert_null(qb);
    test_fault_plan("none");
    assert_int_equal(kiln_queue_create(view_of(bob), KILN_PRIORITY_NORMAL, &qb), KILN_OK);
    assert_int_equal(kiln_device_get_info(view_of(alice), &info), KILN_OK);
    assert_int_equal(info.health, KILN_HEALTH_HEALTHY);
    kiln_queue_destroy(qb);
    kiln_buffer_release(b);
    kiln_queue_destroy(qa);
    assert_int_equal(kiln_session_close(alice), KILN_OK);
    assert_int_equal(kiln_session_close(bob), KILN_OK);
    kiln_context_destroy(ctx);
    fault_plan_clear();
    health_set_clock(NULL);
}


/* Threads open sessions, work in them and close them, while others launch
 * on the context's own device and one shares a session between threads. */
typedef struct crowd {
    kiln_context *ctx;
    kiln_device *own;
    int failures;
    int sessions;
    pthread_mutex_t lock;
} crowd;

static void crowd_count(crowd *c, int failures, int sessions)
{
    pthread_mutex_lock(&c->lock);
    c->failures += failures;
    c->sessions += sessions;
    pthread_mutex_unlock(&c->lock);
}

static void *session_worker(void *arg)
{
    crowd *c = arg;
    int failures = 0, sessions = 0;
    unsigned seed = (unsigned)(uintptr_t)&failures;
    for (int round = 0; round < ROUNDS; round++) {
        char name[32];
        snprintf(name, sizeof name, "user-%u", rand_r(&seed) % 1000u);
        kiln_session_options o = { .size = sizeof o, .principal = name };
        kiln_session *s = NULL;
        kiln_device *view = NULL;
        workspace w;
        if (kiln_session_open(c->ctx, &o, &s) != KILN_OK ||
            kiln_session_device(s, 0, &view) != KILN_OK || workspace_open(view, &w) != KILN_OK) {
            print_error("session %s: %s\n", name, kiln_last_error());
            failures++;
            break;
        }
        if (!workspace_run(&w, &seed)) {
            print_error("session %s: %s\n", name, kiln_last_error());
            failures++;
        }
        workspace_close(&w);
        failures += kiln_session_close(s) != KILN_OK;
        sessions++;
    }
    crowd_count(c, failures, sessions);
    return NULL;
}

static void *context_worker(void *arg)
{
    crowd *c = arg;
    int failures = 0;
    unsigned seed = (unsigned)(uintptr_t)&failures;
    workspace w;
    if (workspace_open(c->own, &w) != KILN_OK)
        failures++;
    else
        for (int round = 0; round < ROUNDS; round++)
            failures += !workspace_run(&w, &seed);
    workspace_close(&w);
    crowd_count(c, failures, 0);
    return NULL;
}

static void sessions_open_and_close_while_others_launch(void **state)
{
    (void)state;
    char rules[1024];
    snprintf(rules, sizeof rules, "%s%s", open_sessions_rule, cpu_for_all_rule);
    write_policy(rules, "audit:\n  durable: false\n");
    crowd c = { .ctx = open_context(policy_path, log_path) };
    pthread_mutex_init(&c.lock, NULL);
    assert_int_equal(kiln_device_get(c.ctx, 0, &c.own), KILN_OK);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, i % 3 ? session_worker : context_worker,
                                        &c),
                         0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(c.failures, 0);
    int session_threads = THREADS - (THREADS + 2) / 3;
    assert_int_equal(c.sessions, session_threads * ROUNDS);
    kiln_context_destroy(c.ctx);
    pthread_mutex_destroy(&c.lock);
    assert_log_verifies();
    assert_int_equal(log_lines_with("\"action\":\"session.open\"", "\"rule\":\"open-sessions\"", NULL),
                     c.sessions);
    assert_int_equal(log_lines_with("\"action\":\"session.close\"", "\"reason\":\"session ",
                                    "closed\"", NULL),
                     c.sessions);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sessions_work_without_a_policy),
        cmocka_unit_test(a_session_with_live_objects_stays_open),
        cmocka_unit_test(a_closed_session_and_its_views_are_refused),
        cmocka_unit_test(odd_principal_names_and_options_are_refused),
        cmocka_unit_test(handles_of_one_session_are_refused_by_another),
        cmocka_unit_test_setup(the_policy_decides_for_the_session_principal, fresh_log),
        cmocka_unit_test_setup(session_open_and_close_are_recorded, fresh_log),
        cmocka_unit_test_setup(session_open_denied_to_the_local_user_is_refused_and_recorded,
                               fresh_log),
        cmocka_unit_test_setup(a_failed_audit_log_refuses_sessions, fresh_log),
        cmocka_unit_test(a_fault_through_one_view_is_seen_by_every_view),
        cmocka_unit_test_setup(sessions_open_and_close_while_others_launch, fresh_log),
    };
    return cmocka_run_group_tests(tests, setup, test_temp_dir_remove);
}
