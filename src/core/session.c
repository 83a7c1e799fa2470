/* Sessions: opening one for a principal, its device views, closing it once
 * nothing made through it is live (session.h). */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "core_log.h"
#include "handles.h"

/* Closed sessions kept (their memory, not their use) before being freed, so
 * that a handle of a recently closed session reads as released and is
 * refused, rather than pointing at freed memory. Beyond that, as with any
 * released handle, using it is undefined. 64 sessions of a context with a
 * few devices are a few hundred KiB. */
#define SESSION_CLOSED_KEPT 64

typedef struct core_session_registry {
    pthread_mutex_t lock;
    kiln_session *open; /* list through prev/next */
    uint64_t last_id;
    kiln_session *closed[SESSION_CLOSED_KEPT]; /* ring of retired sessions */
    uint32_t closed_next;
} core_session_registry;

kiln_status session_registry_create(kiln_context *ctx)
{
    core_session_registry *r = calloc(1, sizeof *r);
    if (!r)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for the session registry");
    pthread_mutex_init(&r->lock, NULL);
    ctx->sessions = r;
    return KILN_OK;
}

/* Drops what the views hold; the memory stays until freed. */
static void session_views_release(kiln_session *s)
{
    for (uint32_t i = 0; i < s->view_count; i++) {
        kiln_device *view = &s->views[i];
        view->magic = CORE_MAGIC_RELEASED;
        policy_release(view->policy.current);
        view->policy.current = NULL;
        pthread_mutex_destroy(&view->policy.lock);
    }
}

static void session_unlink(core_session_registry *r, kiln_session *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        r->open = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

void session_registry_destroy(kiln_context *ctx)
{
    core_session_registry *r = ctx->sessions;
    if (!r)
        return;
    kiln_session *next = r->open;
    r->open = NULL;
    while (next) {
        kiln_session *s = next;
        next = s->next;
        if (ctx->gov && governance_session_close(ctx->gov, s, "closed with the context") != KILN_OK)
            core_log(ctx, KILN_LOG_ERROR, "the close of session %llu was not recorded: %s",
                     (unsigned long long)s->id, util_last_error());
        session_views_release(s);
        free(s);
    }
    for (uint32_t i = 0; i < SESSION_CLOSED_KEPT; i++)
        free(r->closed[i]);
    pthread_mutex_destroy(&r->lock);
    free(r);
    ctx->sessions = NULL;
}

static kiln_status session_check_options(const kiln_session_options *opts)
{
    if (!opts)
        return util_fail(KILN_ERR_NULL_HANDLE, "session options are NULL");
    CORE_CHECK_SIZE(opts, "kiln_session_options");
    if (!opts->principal)
        return util_fail(KILN_ERR_INVALID_ARG, "a session needs a principal (it is NULL)");
    if (govern_name_check(opts->principal) != KILN_OK)
        return util_fail(KILN_ERR_INVALID_ARG, "session principal: %s", util_last_error());
    if (opts->role_count > GOVERN_ROLES_MAX)
        return util_fail(KILN_ERR_INVALID_ARG, "a session has at most %d roles, %u given",
                         GOVERN_ROLES_MAX, opts->role_count);
    if (opts->role_count && !opts->roles)
        return util_fail(KILN_ERR_NULL_HANDLE, "role_count is %u but roles is NULL",
                         opts->role_count);
    for (uint32_t i = 0; i < opts->role_count; i++) {
        if (!opts->roles[i])
            return util_fail(KILN_ERR_NULL_HANDLE, "session role %u is NULL", i);
        if (govern_name_check(opts->roles[i]) != KILN_OK)
            return util_fail(KILN_ERR_INVALID_ARG, "session role %u: %s", i, util_last_error());
    }
    return KILN_OK;
}

/* The view of base for s: the same hardware and description, its own
 * policy binding (a binding serves one principal). */
static void session_view_init(kiln_session *s, kiln_device *view, kiln_device *base)
{
    view->ctx = base->ctx;
    view->base = base;
    view->ops = base->ops;
    view->port = base->port;
    view->info = base->info;
    view->caps = base->caps;
    memcpy(view->cache_identity, base->cache_identity, sizeof view->cache_identity);
    atomic_init(&view->health, KILN_HEALTH_HEALTHY); /* unused: base's counts */
    view->index = base->index;
    pthread_mutex_init(&view->policy.lock, NULL);
    view->session = s;
    view->magic = CORE_MAGIC_DEVICE;
}

static kiln_session *session_make(kiln_context *ctx, const kiln_session_options *opts)
{
    kiln_session *s = calloc(1, sizeof *s + ctx->device_count * sizeof s->views[0]);
    if (!s)
        return NULL;
    s->ctx = ctx;
    snprintf(s->name, sizeof s->name, "%s", opts->principal);
    s->principal.name = s->name;
    for (uint32_t i = 0; i < opts->role_count; i++) {
        snprintf(s->roles[i], sizeof s->roles[i], "%s", opts->roles[i]);
        s->principal.roles[i] = s->roles[i];
    }
    s->principal.role_count = opts->role_count;
    atomic_init(&s->live, 0);
    s->view_count = ctx->device_count;
    for (uint32_t i = 0; i < ctx->device_count; i++)
        session_view_init(s, &s->views[i], ctx->devices[i]);
    return s;
}

KILN_API kiln_status kiln_session_open(kiln_context *ctx, const kiln_session_options *opts,
                                       kiln_session **out)
{
    CORE_CHECK(ctx, CORE_MAGIC_CONTEXT, "context");
    CORE_CHECK_OUT(out, "out");
    *out = NULL;
    kiln_status st = session_check_options(opts);
    if (st != KILN_OK)
        return st;
    kiln_session *s = session_make(ctx, opts);
    if (!s)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a session");
    core_session_registry *r = ctx->sessions;
    pthread_mutex_lock(&r->lock);
    s->id = ++r->last_id;
    pthread_mutex_unlock(&r->lock);
    if (ctx->gov && (st = governance_session_open(ctx->gov, s)) != KILN_OK) {
        session_views_release(s);
        free(s);
        return st;
    }
    pthread_mutex_lock(&r->lock);
    s->next = r->open;
    if (r->open)
        r->open->prev = s;
    r->open = s;
    s->magic = CORE_MAGIC_SESSION;
    pthread_mutex_unlock(&r->lock);
    util_clear_error();
    *out = s;
    return KILN_OK;
}

KILN_API kiln_status kiln_session_device(kiln_session *s, uint32_t index, kiln_device **out)
{
    CORE_CHECK(s, CORE_MAGIC_SESSION, "session");
    CORE_CHECK_OUT(out, "out");
    if (index >= s->view_count)
        return util_fail(KILN_ERR_INVALID_DEVICE, "device index %u out of range (%u devices)",
                         index, s->view_count);
    *out = &s->views[index];
    return KILN_OK;
}

KILN_API kiln_status kiln_session_get_info(const kiln_session *s, kiln_session_info *out)
{
    CORE_CHECK(s, CORE_MAGIC_SESSION, "session");
    CORE_CHECK_OUT(out, "out");
    memset(out, 0, sizeof *out);
    out->principal = s->name;
    out->role_count = s->principal.role_count;
    out->id = s->id;
    out->live_objects = atomic_load(&((kiln_session *)s)->live);
    return KILN_OK;
}

/* Keeps s's memory among the recently closed, freeing the oldest. */
static void session_retire(core_session_registry *r, kiln_session *s)
{
    pthread_mutex_lock(&r->lock);
    kiln_session *oldest = r->closed[r->closed_next];
    r->closed[r->closed_next] = s;
    r->closed_next = (r->closed_next + 1) % SESSION_CLOSED_KEPT;
    pthread_mutex_unlock(&r->lock);
    free(oldest);
}

KILN_API kiln_status kiln_session_close(kiln_session *s)
{
    if (!s)
        return KILN_OK;
    CORE_CHECK(s, CORE_MAGIC_SESSION, "session");
    core_session_registry *r = s->ctx->sessions;
    pthread_mutex_lock(&r->lock);
    /* Checked again under the lock: two threads closing it race here. */
    if (s->magic != CORE_MAGIC_SESSION) {
        pthread_mutex_unlock(&r->lock);
        return util_fail(KILN_ERR_INVALID_HANDLE, "session is not a live session handle "
                         "(released or forged)");
    }
    uint64_t live = atomic_load(&s->live);
    if (live) {
        pthread_mutex_unlock(&r->lock);
        return util_fail(KILN_ERR_IN_USE,
                         "session %llu of '%.200s' still has %llu live objects (queues, buffers, "
                         "programs, kernels made through its devices): release them, then close",
                         (unsigned long long)s->id, s->name, (unsigned long long)live);
    }
    session_unlink(r, s);
    s->magic = CORE_MAGIC_RELEASED;
    pthread_mutex_unlock(&r->lock);
    kiln_status st = KILN_OK;
    if (s->ctx->gov)
        st = governance_session_close(s->ctx->gov, s, "closed");
    session_views_release(s);
    session_retire(r, s);
    if (st == KILN_OK)
        util_clear_error();
    return st;
}
