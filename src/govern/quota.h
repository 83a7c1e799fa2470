/* The quota engine: how much of each resource a principal and its roles may
 * hold at once (device memory, live buffers, concurrent launches) and how
 * much device time they may use per rolling window.
 *
 * Reserve before the work, release after; never check then allocate. A
 * reservation charges every account that applies (the principal's own and
 * one per role that has a quota) under their locks, so it is all or nothing
 * and no counter ever passes its limit, whatever the contention.
 *
 * A table is immutable (its limits and the set of subjects) and
 * reference-counted; usage lives in accounts that a reloaded table shares
 * with the one it replaces. docs/security.md, "Quotas", is the user's side. */
#ifndef KILN_GOVERN_QUOTA_H
#define KILN_GOVERN_QUOTA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "govern/govern_types.h"

/* A limit that is not set. A limit of 0 is set: it forbids any use of the
 * resource (the same convention as POLICY_UNLIMITED). */
#define QUOTA_UNLIMITED UINT64_MAX

/* The resources a quota limits; quota_resource_name gives the text used in
 * refusals and reports. */
typedef enum quota_resource {
    QUOTA_DEVICE_MEMORY_BYTES = 0, /* "device_memory_bytes" */
    QUOTA_LIVE_BUFFERS,            /* "live_buffers" */
    QUOTA_CONCURRENT_LAUNCHES,     /* "concurrent_launches" */
    QUOTA_DEVICE_TIME,             /* "device_time_ns" */
    QUOTA_RESOURCE_COUNT
} quota_resource;

/* The resources held for the length of a reservation (device time is
 * charged after the fact instead). */
#define QUOTA_HELD_COUNT 3

const char *quota_resource_name(quota_resource r);

typedef struct quota_limits {
    uint64_t device_memory_bytes; /* bytes live at once, all devices */
    uint64_t live_buffers;
    uint64_t concurrent_launches;
    uint64_t device_time_ns; /* device time allowed per window_ns */
    uint64_t window_ns;      /* the rolling window; 0 when device_time_ns is unlimited */
} quota_limits;

/* Every limit unset. */
quota_limits quota_limits_unlimited(void);

typedef enum quota_subject_kind {
    QUOTA_SUBJECT_PRINCIPAL = 0,
    QUOTA_SUBJECT_ROLE
} quota_subject_kind;

/* "principal" or "role". */
const char *quota_subject_kind_name(quota_subject_kind kind);

/* One subject's limits, as the policy file gives them. name belongs to the
 * caller; the table copies it. */
typedef struct quota_limit_entry {
    quota_subject_kind kind;
    const char *name;
    quota_limits limits;
} quota_limit_entry;

/* The time source of the device-time windows, injectable for tests. NULL
 * now_ns means CLOCK_MONOTONIC_COARSE (resolution 1 to 4 ms, well under the
 * 1/64 of a window that is the window's own resolution for windows of a
 * second or more). */
typedef struct quota_clock {
    uint64_t (*now_ns)(void *ctx);
    void *ctx;
} quota_clock;

typedef struct quota_table quota_table;

/* Builds a table from entries (count may be 0: nobody is limited). When
 * previous is not NULL, every subject present in both keeps its account, so
 * its current usage (held resources and device time in the window) carries
 * over; a subject whose new limit is below its current use is admitted
 * nothing more of that resource until its use drops under the limit.
 * clock may be NULL (the monotonic clock); with previous set, clock is
 * ignored and previous's clock is kept, since the windows it shares were
 * built on it. Errors: KILN_ERR_INVALID_ARG for a bad name, a subject listed
 * twice or a device-time limit without a window; KILN_ERR_OUT_OF_HOST_MEMORY. */
kiln_status quota_table_create(const quota_limit_entry *entries, uint32_t count,
                               const quota_table *previous, const quota_clock *clock,
                               quota_table **out);
quota_table *quota_table_retain(quota_table *t);
/* Accepts NULL. Accounts still referenced by a newer table or by a
 * reservation outlive it. */
void quota_table_release(quota_table *t);

/* What one piece of work asks to hold. launches > 0 also asks the device
 * time windows to be under their limits. */
typedef struct quota_request {
    uint64_t bytes;
    uint64_t buffers;
    uint64_t launches;
} quota_request;

/* Principal plus up to GOVERN_ROLES_MAX roles: the accounts a reservation
 * charges at most. */
#define QUOTA_ACCOUNTS_MAX (1 + GOVERN_ROLES_MAX)

struct quota_account;

/* Filled by quota_reserve; owned by the caller (on its stack or in its
 * launch record) and released once with quota_release. Do not copy a live
 * reservation: the copy would release the same amounts a second time. A
 * zero-initialized or refused reservation is empty and releasing it does
 * nothing. */
typedef struct quota_reservation {
    atomic_uint state; /* QUOTA_RESERVATION_EMPTY / _HELD / _RELEASED */
    uint32_t account_count;
    struct quota_account *accounts[QUOTA_ACCOUNTS_MAX]; /* each holds a reference */
    quota_request request;
} quota_reservation;

/* Reserves request for principal against every entry that applies to it:
 * its own (a principal entry of its name) and one per role (a role entry of
 * the role's name). All must admit; then all are charged, or none is.
 * Principals and roles without an entry are unlimited. A held resource is
 * admitted when use + requested <= limit; a launch additionally when the
 * device time in each window is below its limit.
 * KILN_ERR_QUOTA names the first quota that refused, e.g.
 *   quota "device_memory_bytes" of role "ml" exceeded: limit 1073741824,
 *   in use 1073000000, requested 4096
 * and leaves out empty. KILN_ERR_NULL_HANDLE / KILN_ERR_INVALID_ARG for a
 * missing argument or more than GOVERN_ROLES_MAX roles. */
kiln_status quota_reserve(quota_table *t, const govern_principal *principal,
                          const quota_request *request, quota_reservation *out);

/* Returns exactly what r holds to the accounts it was charged to (even if
 * the table has been replaced since). True the first time; a second release
 * of the same reservation, or one of an empty reservation, is detected and
 * does nothing (false). */
bool quota_release(quota_reservation *r);

/* Adds ns of device time, measured after a launch completed, to the window
 * of every account that applies to principal in t (unlimited subjects
 * without an entry are not tracked). The limit is checked before a launch,
 * so work admitted under it may finish above it: by at most the durations
 * of the launches admitted while the window was under the limit and not yet
 * charged (with a concurrent_launches limit of N, at most N launches). */
kiln_status quota_charge_time(quota_table *t, const govern_principal *principal, uint64_t ns);

/* Current use and limits of one subject, for reports and tests. */
typedef struct quota_usage {
    quota_limits limits;
    uint64_t device_memory_bytes;
    uint64_t live_buffers;
    uint64_t concurrent_launches;
    uint64_t device_time_ns; /* charged in the current window */
    uint64_t window_ns;      /* the window device_time_ns covers */
} quota_usage;

/* KILN_ERR_NOT_FOUND when t has no entry for that subject. */
kiln_status quota_usage_get(quota_table *t, quota_subject_kind kind, const char *name,
                            quota_usage *out);

/* Number of subjects in t, and the kind and name of the one at index (for
 * `kiln` reports that list every subject); NULL past the end. */
uint32_t quota_subject_count(const quota_table *t);
const char *quota_subject_at(const quota_table *t, uint32_t index, quota_subject_kind *kind);

#endif
