/* Opening and closing one device of a backend (used by the context). */
#ifndef KILN_CORE_DEVICE_OPEN_H
#define KILN_CORE_DEVICE_OPEN_H

#include <stdbool.h>

#include "core_types.h"

kiln_status core_device_open(kiln_context *ctx, core_backend *b, uint32_t index, kiln_device **out);
/* dev must be an open device (the context closes only those it opened). */
void core_device_close(kiln_device *dev);

/* KILN_OK if the device may take work; KILN_ERR_DEVICE_LOST otherwise.
 * An unhealthy device is asked again through the adapter's health probe,
 * which is where an adapter recovers a fresh context after a fault. */
kiln_status core_device_usable(kiln_device *dev);

/* Whether st says the device faulted or was lost (as opposed to a refusal,
 * a bad argument or memory running out): what core_device_note marks the
 * device for, and what a CPU-fallback queue falls back on. */
static inline bool core_is_device_fault(kiln_status st)
{
    return st == KILN_ERR_DEVICE_FAULT || st == KILN_ERR_DEVICE_LOST;
}

/* Passes st through; when it says the device faulted or was lost, marks the
 * device with the health the adapter now reports (never silently healthy). */
kiln_status core_device_note(kiln_device *dev, kiln_status st);

#endif
