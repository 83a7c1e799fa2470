/* Contexts: open every adapter the registry lists, enumerate their devices,
 * set up the kernel cache. */
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "core_log.h"
#include "core_types.h"
#include "device_open.h"
#include "handles.h"
#include "launch_sched.h"
#include "registry.h"
#include "session.h"

#define CONTEXT_PATH_MAX 4096
/* kiln_context_options as 0.1.0 had it: up to and with `backends`. */
#define CONTEXT_OPTIONS_SIZE_V0 (offsetof(kiln_context_options, policy))
/* Longer than any backend's name ("opencl"); a longer word is unknown. */
#define CONTEXT_BACKEND_NAME_MAX 32

static void context_cache_warn(void *user, const char *message)
{
    core_log(user, KILN_LOG_WARNING, "%s", message);
}

/* $KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln. */
static void context_cache_dir(const kiln_context_options *opts, char *dir, size_t n)
{
    const char *env;
    dir[0] = '\0';
    if (opts && opts->cache_dir)
        snprintf(dir, n, "%s", opts->cache_dir);
    else if ((env = getenv("KILN_CACHE_DIR")) && env[0])
        snprintf(dir, n, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && env[0])
        snprintf(dir, n, "%s/kiln", env);
    else if ((env = getenv("HOME")) && env[0])
        snprintf(dir, n, "%s/.cache/kiln", env);
}

/* The backends named in a "cpu,opencl" list, as KILN_BACKEND_BIT mask;
 * unknown names are an error naming them. */
static kiln_status context_parse_backends(const char *list, uint32_t *mask)
{
    *mask = 0;
    const char *p = list + strspn(list, ", ");
    while (*p) {
        char name[CONTEXT_BACKEND_NAME_MAX];
        size_t n = strcspn(p, ", ");
        const port_backend_ops *ops = NULL;
        if (n < sizeof name) {
            memcpy(name, p, n);
            name[n] = '\0';
            ops = registry_find(name);
        }
        if (!ops)
            return util_fail(KILN_ERR_INVALID_ARG, "KILN_BACKENDS names an unknown backend '%.*s'",
                             (int)n, p);
        *mask |= KILN_BACKEND_BIT(ops->backend);
        p += n;
        p += strspn(p, ", ");
    }
    return KILN_OK;
}

/* A backend that is absent is recorded and skipped; running out of host
 * memory is not absence (the CPU backend must always be there), so it fails
 * the whole context. */
static kiln_status context_open_backends(kiln_context *ctx, uint32_t wanted)
{
    size_t count;
    const port_backend_ops *const *all = registry_all(&count);
    for (size_t i = 0; i < count && ctx->backend_count < CORE_MAX_BACKENDS; i++) {
        if (wanted && !(wanted & KILN_BACKEND_BIT(all[i]->backend)))
            continue;
        core_backend *b = &ctx->backends[ctx->backend_count++];
        b->ops = all[i];
        b->open_status = all[i]->open(&b->port, b->reason, sizeof b->reason);
        if (b->open_status == KILN_ERR_OUT_OF_HOST_MEMORY) {
            b->port = NULL;
            return util_fail(b->open_status, "backend %s: %s", all[i]->name, b->reason);
        }
        if (b->open_status != KILN_OK) {
            b->port = NULL;
            core_log(ctx, KILN_LOG_INFO, "backend %s unavailable: %s", all[i]->name, b->reason);
        }
    }
    return KILN_OK;
}

static kiln_status context_open_devices(kiln_context *ctx)
{
    uint32_t total = 0;
    for (size_t i = 0; i < ctx->backend_count; i++)
        if (ctx->backends[i].port)
            total += ctx->backends[i].ops->device_count(ctx->backends[i].port);
    ctx->devices = calloc(total ? total : 1, sizeof *ctx->devices);
    if (!ctx->devices)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for %u devices", total);
    for (size_t i = 0; i < ctx->backend_count; i++) {
        core_backend *b = &ctx->backends[i];
        if (!b->port)
            continue;
        uint32_t n = b->ops->device_count(b->port);
        for (uint32_t d = 0; d < n; d++) {
            kiln_device *dev = NULL;
            kiln_status st = core_device_open(ctx, b, d, &dev);
            if (st == KILN_OK) {
                dev->index = ctx->device_count;
                ctx->devices[ctx->device_count++] = dev;
            }
            else if (st == KILN_ERR_OUT_OF_HOST_MEMORY)
                return st; /* not a broken device: fail the context (detail kept) */
            else
                core_log(ctx, KILN_LOG_WARNING, "%s device %u failed to open: %s",
                         b->ops->name, d, util_last_error());
        }
    }
    return KILN_OK;
}

/* Governance from the options, else the environment; off without a policy. */
static kiln_status context_open_governance(kiln_context *ctx, const kiln_context_options *opts)
{
    bool has_fields = opts && opts->size == sizeof *opts;
    core_governance_config c = {
        .policy = has_fields && opts->policy ? opts->policy : getenv("KILN_POLICY"),
        .audit_log = has_fields && opts->audit_log ? opts->audit_log : getenv("KILN_AUDIT_LOG"),
        .audit_key = has_fields && opts->audit_key ? opts->audit_key : getenv("KILN_AUDIT_KEY"),
    };
    return governance_open(&c, &ctx->gov);
}

KILN_API kiln_status kiln_context_create(kiln_context **out, const kiln_context_options *opts)
{
    CORE_CHECK_OUT(out, "out");
    *out = NULL;
    if (opts && opts->size != sizeof *opts && opts->size != CONTEXT_OPTIONS_SIZE_V0)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "kiln_context_options.size is %u, expected %zu (set it to sizeof)",
                         opts->size, sizeof *opts);
    uint32_t wanted = opts ? opts->backends : 0;
    const char *env = getenv("KILN_BACKENDS");
    if (!wanted && env && env[0]) {
        kiln_status parsed = context_parse_backends(env, &wanted);
        if (parsed != KILN_OK)
            return parsed;
    }
    if (sodium_init() < 0)
        return util_fail(KILN_ERR_INTERNAL, "libsodium failed to initialise");
    kiln_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a context");
    ctx->magic = CORE_MAGIC_CONTEXT;
    if (opts) {
        ctx->flags = opts->flags;
        ctx->log = opts->log;
        ctx->log_user = opts->log_user;
    }
    char dir[CONTEXT_PATH_MAX];
    context_cache_dir(opts, dir, sizeof dir);
    int use_memory = !(ctx->flags & KILN_CONTEXT_NO_CACHE);
    int use_disk = use_memory && !(ctx->flags & KILN_CONTEXT_NO_DISK_CACHE);
    kiln_status st = cache_create(use_disk ? dir : NULL, use_memory, context_cache_warn, ctx,
                                  &ctx->cache);
    if (st == KILN_OK)
        st = session_registry_create(ctx);
    if (st == KILN_OK)
        st = context_open_governance(ctx, opts);
    if (st == KILN_OK)
        st = context_open_backends(ctx, wanted);
    if (st == KILN_OK)
        st = context_open_devices(ctx);
    if (st != KILN_OK) {
        kiln_context_destroy(ctx);
        return st;
    }
    util_clear_error();
    *out = ctx;
    return KILN_OK;
}

KILN_API void kiln_context_destroy(kiln_context *ctx)
{
    if (!ctx || ctx->magic != CORE_MAGIC_CONTEXT)
        return;
    /* Schedulers first: their completions charge quotas and release
     * reservations, which governance owns, for principals of session views
     * that closing the sessions frees. */
    for (uint32_t i = 0; i < ctx->device_count; i++)
        launch_sched_device_close(ctx->devices[i]);
    session_registry_destroy(ctx); /* records the close of those still open */
    /* The log closes last of what records: after it nothing may run. */
    kiln_status closed = governance_close(ctx->gov);
    if (closed != KILN_OK)
        core_log(ctx, KILN_LOG_ERROR, "the audit log did not close cleanly: %s", util_last_error());
    /* Modules belong to devices: drop them before the devices close. */
    cache_destroy(ctx->cache);
    for (uint32_t i = 0; i < ctx->device_count; i++)
        core_device_close(ctx->devices[i]);
    free(ctx->devices);
    for (size_t i = 0; i < ctx->backend_count; i++)
        if (ctx->backends[i].port)
            ctx->backends[i].ops->close(ctx->backends[i].port);
    ctx->magic = CORE_MAGIC_RELEASED;
    free(ctx);
}

KILN_API kiln_status kiln_context_policy_reload(kiln_context *ctx, const char *path)
{
    CORE_CHECK(ctx, CORE_MAGIC_CONTEXT, "context");
    if (!ctx->gov)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "the context has no policy to reload (governance is off)");
    kiln_status st = governance_reload(ctx->gov, path);
    if (st == KILN_OK)
        util_clear_error();
    return st;
}

KILN_API kiln_status kiln_context_get_governance(kiln_context *ctx, kiln_governance_info *out)
{
    CORE_CHECK(ctx, CORE_MAGIC_CONTEXT, "context");
    CORE_CHECK_OUT(out, "out");
    memset(out, 0, sizeof *out);
    out->policy = "";
    out->audit_log = "";
    core_governance *g = ctx->gov;
    if (!g) {
        out->principal = governance_local_user_name();
        util_clear_error();
        return KILN_OK;
    }
    out->enabled = 1;
    out->principal = g->principal_name;
    out->policy = g->policy_path;
    out->audit_log = g->audit ? g->audit_path : "";
    policy *p = policy_holder_acquire(g->policies);
    if (p)
        sodium_bin2hex(out->policy_sha256, sizeof out->policy_sha256, policy_hash(p),
                       POLICY_HASH_BYTES);
    policy_release(p);
    util_clear_error();
    return KILN_OK;
}
