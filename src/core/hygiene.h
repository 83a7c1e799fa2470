/* Memory hygiene (DESIGN.md section 7): in a governed context every new
 * buffer is zeroed before it is handed out, so memory that passes from one
 * principal to another through the adapter's allocator or a driver's pool
 * never shows the old owner's bytes. Ungoverned contexts skip it (one
 * branch): there the process's one user owns all the memory. */
#ifndef KILN_CORE_HYGIENE_H
#define KILN_CORE_HYGIENE_H

#include "core_types.h"

/* Zeroes the bytes of *mem, just allocated on dev, when dev's context is
 * governed, and waits until that is done. The fill runs on a stream of the
 * base device made on first use (serialized by its lock: streams are not
 * thread-safe). On failure the memory is freed, *mem is NULL and the
 * device's health is noted. */
kiln_status hygiene_clear(kiln_device *dev, port_mem **mem, size_t bytes);

/* Destroys the base device's zeroing stream, if it was made. */
void hygiene_close(kiln_device *base);

#endif
