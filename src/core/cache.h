/* The kernel cache (DESIGN.md section 6). Two levels:
 * - memory: modules already loaded in this context, keyed by what the user
 *   passed (device, source, options), so a hit skips translation entirely;
 * - disk: compiled binaries keyed by a BLAKE2b hash of kiln's version, the
 *   backend, the device's cache identity (architecture, driver, compiler),
 *   the options and the translated source. Each entry carries a checksum; a
 *   corrupt entry is rebuilt, never loaded. Entries are written to a
 *   temporary file and renamed. */
#ifndef KILN_CORE_CACHE_H
#define KILN_CORE_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../lang/lang.h"
#include "../ports/backend_port.h"

#define CORE_CACHE_KEY_BYTES 32

typedef struct core_cache core_cache;

/* A translated and compiled program, shared by every kiln_program built from
 * the same inputs on the same device. */
typedef struct core_module {
    unsigned char key[CORE_CACHE_KEY_BYTES];
    const port_backend_ops *ops;
    port_device *device;
    lang_unit *unit;
    port_module *module;
    port_function **functions; /* one per kernel of unit, looked up once */
    atomic_uint refs;
    struct core_module *next;
} core_module;

typedef void (*core_cache_warn_fn)(void *user, const char *message);

/* dir NULL = memory only. An unwritable dir makes the cache memory only and
 * calls warn once. */
kiln_status cache_create(const char *dir, int use_memory, core_cache_warn_fn warn,
                         void *warn_user, core_cache **out);
void cache_destroy(core_cache *c);

/* The directory in use, or NULL if the cache is memory only. */
const char *cache_directory(const core_cache *c);

/* Looks up a module by memory key; on a hit returns it with a reference taken. */
core_module *cache_memory_find(core_cache *c, const unsigned char key[CORE_CACHE_KEY_BYTES]);

/* Inserts m (taking a reference for the cache). If another thread inserted the
 * same key first, returns that one (with a reference for the caller) and the
 * caller releases its own. */
core_module *cache_memory_insert(core_cache *c, core_module *m);

/* Reads the disk entry for key. KILN_OK with a malloc'd payload, or
 * KILN_ERR_NOT_FOUND when absent or corrupt (a corrupt entry is removed). */
kiln_status cache_disk_read(core_cache *c, const unsigned char key[CORE_CACHE_KEY_BYTES],
                            void **payload, size_t *size);

/* Writes the disk entry atomically. Failure leaves the cache memory-only for
 * that entry and is not an error for the caller. */
void cache_disk_write(core_cache *c, const unsigned char key[CORE_CACHE_KEY_BYTES],
                      const void *payload, size_t size);

void core_module_release(core_module *m);

#endif
