/* The stages every allocation, copy, build and launch passes through
 * (DESIGN.md section 3): authorize -> reserve -> schedule -> execute ->
 * record -> release. Governance (src/govern) is not configured in this
 * version, so for the local user authorize allows, reserve and release hold
 * nothing, schedule is the queue's own order and record keeps nothing; the
 * calls sit on the path now so that governance fills them in place. */
#ifndef KILN_CORE_PIPELINE_H
#define KILN_CORE_PIPELINE_H

#include "core_types.h"

typedef enum core_action {
    CORE_ACTION_DEVICE_USE = 1,
    CORE_ACTION_PROGRAM_BUILD,
    CORE_ACTION_BUFFER_ALLOC,
    CORE_ACTION_BUFFER_COPY,
    CORE_ACTION_KERNEL_LAUNCH
} core_action;

typedef struct core_request {
    core_action action;
    kiln_device *device;
    uint64_t bytes;          /* allocation or copy size */
    const char *kernel_name; /* launches and builds */
} core_request;

/* What reserve took, handed back to release. */
typedef struct core_reservation {
    uint64_t bytes;
    uint32_t launches;
} core_reservation;

static inline kiln_status pipeline_authorize(const core_request *req)
{
    (void)req;
    return KILN_OK;
}

static inline kiln_status pipeline_reserve(const core_request *req, core_reservation *res)
{
    (void)req;
    res->bytes = 0;
    res->launches = 0;
    return KILN_OK;
}

static inline void pipeline_record(const core_request *req, kiln_status outcome)
{
    (void)req;
    (void)outcome;
}

static inline void pipeline_release(const core_request *req, core_reservation *res)
{
    (void)req;
    (void)res;
}

#endif
