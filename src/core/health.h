/* Device health as a circuit breaker (docs/security.md, "Graceful
 * degradation"). A base device is healthy, degraded or lost. A fault noted by
 * core_device_note opens the breaker: the device takes no new work. While
 * open, at most one health probe runs per interval (half-open), the interval
 * doubling from HEALTH_PROBE_FIRST_NS to HEALTH_PROBE_MAX_NS while probes keep
 * failing, so a dead device is not probed on every call. A passing probe
 * closes it (the device is readmitted, recorded as "device.readmit"). */
#ifndef KILN_CORE_HEALTH_H
#define KILN_CORE_HEALTH_H

#include <pthread.h>
#include <stdint.h>

/* The breaker's state beside the device's atomic health. Guarded by lock. */
typedef struct core_breaker {
    pthread_mutex_t lock;
    uint64_t next_probe_ns; /* no probe before this (health_clock time) */
    uint64_t interval_ns;   /* the wait now running; doubled by a failing probe */
} core_breaker;

/* The first wait after a fault: long enough that a burst of calls right
 * after a fault (every queued operation of a failing batch) costs one probe,
 * short enough that a transient fault (a recovered context) is invisible. */
#define HEALTH_PROBE_FIRST_NS 10000000ull /* 10 ms */
/* The longest wait: a device that stays dead is probed once a second, which
 * costs nothing measurable and readmits it within a second of recovering. */
#define HEALTH_PROBE_MAX_NS 1000000000ull /* 1 s */

/* Monotonic nanoseconds. Tests replace it to drive the rate limit. */
typedef uint64_t (*health_clock_fn)(void);

/* Installs the clock the breakers read (NULL: CLOCK_MONOTONIC again).
 * Process-wide; for tests. */
void health_set_clock(health_clock_fn clock);

void health_breaker_init(core_breaker *b);
void health_breaker_destroy(core_breaker *b);

#endif
