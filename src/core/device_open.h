/* Opening and closing one device of a backend (used by the context). */
#ifndef KILN_CORE_DEVICE_OPEN_H
#define KILN_CORE_DEVICE_OPEN_H

#include "core_types.h"

kiln_status core_device_open(kiln_context *ctx, core_backend *b, uint32_t index, kiln_device **out);
void core_device_close(kiln_device *dev);

/* KILN_OK if the device may take work; KILN_ERR_DEVICE_LOST otherwise. */
kiln_status core_device_usable(kiln_device *dev);

#endif
