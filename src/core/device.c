/* Devices: description, selection by index, by selector and by preference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "device_open.h"
#include "handles.h"
#include "hygiene.h"

kiln_status core_device_open(kiln_context *ctx, core_backend *b, uint32_t index, kiln_device **out)
{
    kiln_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a device");
    dev->ctx = ctx;
    dev->base = dev;
    dev->ops = b->ops;
    kiln_status st = b->ops->device_open(b->port, index, &dev->port);
    if (st == KILN_OK)
        st = b->ops->device_info(dev->port, &dev->info);
    if (st == KILN_OK)
        st = b->ops->compile->cache_identity(dev->port, dev->cache_identity,
                                             sizeof dev->cache_identity);
    if (st != KILN_OK) {
        if (dev->port)
            b->ops->device_close(dev->port);
        free(dev);
        return st;
    }
    dev->info.backend = b->ops->backend;
    dev->info.backend_index = index;
    uint32_t caps = dev->info.capabilities;
    dev->caps.has_double = (caps & KILN_CAP_DOUBLE) != 0;
    dev->caps.has_float_atomics = (caps & KILN_CAP_FLOAT_ATOMICS) != 0;
    dev->caps.has_int64_atomics = (caps & KILN_CAP_INT64_ATOMICS) != 0;
    dev->caps.has_subgroups = (caps & KILN_CAP_SUBGROUPS) != 0;
    atomic_store(&dev->health, (int)dev->info.health);
    health_breaker_init(&dev->breaker);
    pthread_mutex_init(&dev->policy.lock, NULL);
    pthread_mutex_init(&dev->hygiene_lock, NULL);
    dev->magic = CORE_MAGIC_DEVICE;
    *out = dev;
    return KILN_OK;
}

void core_device_close(kiln_device *dev)
{
    hygiene_close(dev);
    dev->ops->device_close(dev->port);
    policy_release(dev->policy.current);
    pthread_mutex_destroy(&dev->policy.lock);
    health_breaker_destroy(&dev->breaker);
    dev->magic = CORE_MAGIC_RELEASED;
    free(dev);
}

KILN_API const char *kiln_backend_name(kiln_backend backend)
{
    switch (backend) {
    case KILN_BACKEND_CPU: return "cpu";
    case KILN_BACKEND_CUDA: return "cuda";
    case KILN_BACKEND_OPENCL: return "opencl";
    case KILN_BACKEND_METAL: return "metal";
    case KILN_BACKEND_FAULT: return "fault";
    }
    return "unknown";
}

KILN_API uint32_t kiln_backend_count(const kiln_context *ctx)
{
    if (core_check_handle(ctx, CORE_MAGIC_CONTEXT, "context") != KILN_OK)
        return 0;
    return (uint32_t)ctx->backend_count;
}

KILN_API kiln_status kiln_backend_get_info(const kiln_context *ctx, uint32_t index,
                                           kiln_backend_info *out)
{
    CORE_CHECK(ctx, CORE_MAGIC_CONTEXT, "context");
    CORE_CHECK_OUT(out, "out");
    if (index >= ctx->backend_count)
        return util_fail(KILN_ERR_INVALID_ARG, "backend index %u out of range (%zu backends)", index,
                         ctx->backend_count);
    const core_backend *b = &ctx->backends[index];
    memset(out, 0, sizeof *out);
    out->backend = b->ops->backend;
    out->status = b->open_status;
    snprintf(out->reason, sizeof out->reason, "%s", b->port ? "" : b->reason);
    for (uint32_t i = 0; i < ctx->device_count; i++)
        out->device_count += ctx->devices[i]->info.backend == b->ops->backend;
    return KILN_OK;
}

KILN_API uint32_t kiln_device_count(const kiln_context *ctx)
{
    if (core_check_handle(ctx, CORE_MAGIC_CONTEXT, "context") != KILN_OK)
        return 0;
    return ctx->device_count;
}

KILN_API kiln_status kiln_device_get(kiln_context *ctx, uint32_t index, kiln_device **out)
{
    CORE_CHECK(ctx, CORE_MAGIC_CONTEXT, "context");
    CORE_CHECK_OUT(out, "out");
    if (index >= ctx->device_count)
        return util_fail(KILN_ERR_INVALID_DEVICE, "device index %u out of range (%u devices)",
                         index, ctx->device_count);
    *out = ctx->devices[index];
    return KILN_OK;
}

KILN_API kiln_status kiln_device_get_info(const kiln_device *dev, kiln_device_info *out)
{
    CORE_CHECK(dev, CORE_MAGIC_DEVICE, "device");
    CORE_CHECK_OUT(out, "out");
    *out = dev->info;
    out->health = (kiln_health)atomic_load(&dev->base->health);
    return KILN_OK;
}

/* Lower is preferred: CUDA, Metal, an OpenCL GPU or accelerator, kiln's own
 * CPU backend, then an OpenCL CPU device (PoCL), which runs the same kernels
 * on the same cores through another compiler. */
static int device_rank(const kiln_device *dev)
{
    switch (dev->info.backend) {
    case KILN_BACKEND_CUDA: return 0;
    case KILN_BACKEND_METAL: return 1;
    case KILN_BACKEND_OPENCL: return dev->info.kind == KILN_DEVICE_KIND_CPU ? 4 : 2;
    case KILN_BACKEND_CPU: return 3;
    case KILN_BACKEND_FAULT: return 5;
    }
    return 6;
}

static kiln_backend device_backend_named(const char *name, size_t n)
{
    static const kiln_backend all[] = { KILN_BACKEND_CPU, KILN_BACKEND_CUDA, KILN_BACKEND_OPENCL,
                                        KILN_BACKEND_METAL, KILN_BACKEND_FAULT };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *candidate = kiln_backend_name(all[i]);
        if (strlen(candidate) == n && strncmp(candidate, name, n) == 0)
            return all[i];
    }
    return (kiln_backend)0;
}

KILN_API kiln_status kiln_device_find(kiln_context *ctx, const char *selector, kiln_device **out)
{
    CORE_CHECK(ctx, CORE_MAGIC_CONTEXT, "context");
    CORE_CHECK_OUT(out, "out");
    if (!selector || !selector[0])
        return util_fail(KILN_ERR_INVALID_ARG, "empty device selector");
    char *end = NULL;
    unsigned long index = strtoul(selector, &end, 10);
    if (selector[0] >= '0' && selector[0] <= '9' && *end == '\0') {
        /* Not cast down: 4294967296 must not select device 0. */
        if (index > UINT32_MAX)
            return util_fail(KILN_ERR_INVALID_DEVICE, "device index %s out of range (%u devices)",
                             selector, ctx->device_count);
        return kiln_device_get(ctx, (uint32_t)index, out);
    }
    const char *colon = strchr(selector, ':');
    size_t name_len = colon ? (size_t)(colon - selector) : strlen(selector);
    kiln_backend backend = device_backend_named(selector, name_len);
    if (!backend)
        return util_fail(KILN_ERR_INVALID_DEVICE,
                         "unknown device selector '%s' (use cpu, cuda:N, opencl:N, metal:N or an index)",
                         selector);
    unsigned long wanted = 0;
    if (colon) {
        wanted = strtoul(colon + 1, &end, 10);
        /* Digits only: strtoul alone would take " 1", "+1" and "-1". */
        if (colon[1] < '0' || colon[1] > '9' || *end != '\0')
            return util_fail(KILN_ERR_INVALID_DEVICE, "bad device number in selector '%s'", selector);
    }
    for (uint32_t i = 0; i < ctx->device_count; i++) {
        kiln_device *dev = ctx->devices[i];
        if (dev->info.backend == backend && dev->info.backend_index == wanted) {
            *out = dev;
            return KILN_OK;
        }
    }
    return util_fail(KILN_ERR_NOT_FOUND, "no device '%s' in this context", selector);
}

KILN_API kiln_status kiln_device_default(kiln_context *ctx, kiln_device **out)
{
    CORE_CHECK(ctx, CORE_MAGIC_CONTEXT, "context");
    CORE_CHECK_OUT(out, "out");
    const char *env = getenv("KILN_DEVICE");
    if (env && env[0]) {
        kiln_status st = kiln_device_find(ctx, env, out);
        if (st != KILN_OK)
            return util_fail(st, "KILN_DEVICE=%s: %s", env, kiln_last_error());
        return KILN_OK;
    }
    kiln_device *best = NULL;
    for (uint32_t i = 0; i < ctx->device_count; i++) {
        kiln_device *dev = ctx->devices[i];
        if (atomic_load(&dev->health) != KILN_HEALTH_HEALTHY)
            continue;
        if (!best || device_rank(dev) < device_rank(best))
            best = dev;
    }
    if (!best)
        return util_fail(KILN_ERR_NOT_FOUND, "no healthy device in this context");
    *out = best;
    return KILN_OK;
}
