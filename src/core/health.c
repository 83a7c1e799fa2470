/* The circuit breaker of health.h, and core_device_usable / core_device_note
 * (device_open.h), which every entry point calls. Health belongs to the
 * hardware: a session's view (dev) acts on dev->base, and records name the
 * view's principal (whose work hit the fault). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/fail.h"
#include "device_open.h"
#include "fault_audit.h"
#include "health.h"

#define HEALTH_NS_PER_S 1000000000ull

static uint64_t health_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * HEALTH_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static _Atomic(health_clock_fn) health_clock = health_monotonic_ns;

void health_set_clock(health_clock_fn clock)
{
    atomic_store(&health_clock, clock ? clock : health_monotonic_ns);
}

void health_breaker_init(core_breaker *b)
{
    pthread_mutex_init(&b->lock, NULL);
    b->next_probe_ns = 0;
    b->interval_ns = HEALTH_PROBE_FIRST_NS;
}

void health_breaker_destroy(core_breaker *b)
{
    pthread_mutex_destroy(&b->lock);
}

static kiln_status health_refuse(const kiln_device *dev, kiln_health now)
{
    return util_fail(KILN_ERR_DEVICE_LOST, "device '%s' (%s:%u) is %s after a fault", dev->info.name,
                     kiln_backend_name(dev->info.backend), dev->info.backend_index,
                     now == KILN_HEALTH_DEGRADED ? "degraded" : "lost");
}

/* The half-open state: one probe when its time has come, else a refusal
 * without touching the adapter. */
kiln_status core_device_usable(kiln_device *dev)
{
    kiln_device *hw = dev->base;
    if (atomic_load(&hw->health) == KILN_HEALTH_HEALTHY)
        return KILN_OK;
    core_breaker *b = &hw->breaker;
    pthread_mutex_lock(&b->lock);
    kiln_health now = (kiln_health)atomic_load(&hw->health);
    if (now == KILN_HEALTH_HEALTHY) { /* another thread's probe readmitted it */
        pthread_mutex_unlock(&b->lock);
        return KILN_OK;
    }
    uint64_t t = atomic_load(&health_clock)();
    if (t < b->next_probe_ns) {
        pthread_mutex_unlock(&b->lock);
        return health_refuse(hw, now);
    }
    if (hw->ops->execution->health(hw->port, &now) != KILN_OK)
        now = KILN_HEALTH_LOST;
    if (now != KILN_HEALTH_HEALTHY) {
        b->interval_ns = b->interval_ns * 2 > HEALTH_PROBE_MAX_NS ? HEALTH_PROBE_MAX_NS
                                                                  : b->interval_ns * 2;
        b->next_probe_ns = t + b->interval_ns;
        atomic_store(&hw->health, (int)now);
        pthread_mutex_unlock(&b->lock);
        return health_refuse(hw, now);
    }
    /* Readmitted only once recorded: nothing runs unrecorded. */
    core_fault_record r = { .action = "device.readmit", .device = dev, .outcome = KILN_OK,
                            .reason = "health probe passed" };
    kiln_status st = fault_audit_record(&r);
    if (st == KILN_OK) {
        b->interval_ns = HEALTH_PROBE_FIRST_NS;
        atomic_store(&hw->health, (int)KILN_HEALTH_HEALTHY);
    }
    pthread_mutex_unlock(&b->lock);
    return st;
}

kiln_status core_device_note(kiln_device *dev, kiln_status st)
{
    if (!core_is_device_fault(st))
        return st;
    kiln_device *hw = dev->base;
    /* The caller must see the adapter's detail (which kernel, which CUDA
     * error), not the probe's: a failing probe would overwrite it. */
    char *fault_detail = strdup(util_last_error());
    kiln_health now = KILN_HEALTH_LOST;
    if (hw->ops->execution->health(hw->port, &now) != KILN_OK || now == KILN_HEALTH_HEALTHY)
        now = KILN_HEALTH_DEGRADED; /* it faulted: not healthy until a probe passes */
    core_breaker *b = &hw->breaker;
    pthread_mutex_lock(&b->lock);
    atomic_store(&hw->health, (int)now);
    b->interval_ns = HEALTH_PROBE_FIRST_NS;
    b->next_probe_ns = atomic_load(&health_clock)() + HEALTH_PROBE_FIRST_NS;
    pthread_mutex_unlock(&b->lock);
    /* The operation already failed: a record that cannot be written leaves
     * the log failed, and the failed log refuses everything after it. */
    core_fault_record r = { .action = "device.fault", .device = dev, .outcome = st,
                            .reason = fault_detail ? fault_detail : "device fault" };
    (void)fault_audit_record(&r);
    if (fault_detail) {
        util_fail_text(st, fault_detail);
        free(fault_detail);
    }
    return st;
}
