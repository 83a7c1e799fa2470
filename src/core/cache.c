#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/fail.h"

/* Disk entry layout: header, then payload. The checksum covers the payload
 * and the key, so an entry renamed to another key is also caught. */
#define CACHE_MAGIC "KILNCACH"
#define CACHE_FORMAT_VERSION 1u
#define CACHE_PATH_MAX 4096
/* A cached binary larger than this is taken as corrupt (a kernel .so or
 * cubin is far smaller). */
#define CACHE_MAX_PAYLOAD (256u << 20)

typedef struct cache_header {
    char magic[8];
    uint32_t format_version;
    uint32_t reserved;
    uint64_t payload_size;
    unsigned char checksum[CORE_CACHE_KEY_BYTES];
} cache_header;

struct core_cache {
    char *dir; /* NULL = memory only */
    int use_memory;
    pthread_mutex_t lock;
    core_module *modules;
};

static int cache_make_dirs(const char *path)
{
    char tmp[CACHE_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* The directory is usable only if a file can really be created in it. */
static int cache_dir_writable(const char *dir)
{
    char probe[CACHE_PATH_MAX];
    if (cache_make_dirs(dir) != 0)
        return 0;
    if (snprintf(probe, sizeof probe, "%s/.probe-XXXXXX", dir) >= (int)sizeof probe)
        return 0;
    int fd = mkstemp(probe);
    if (fd < 0)
        return 0;
    close(fd);
    unlink(probe);
    return 1;
}

kiln_status cache_create(const char *dir, int use_memory, core_cache_warn_fn warn,
                         void *warn_user, core_cache **out)
{
    core_cache *c = calloc(1, sizeof *c);
    if (!c)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for the kernel cache");
    c->use_memory = use_memory;
    pthread_mutex_init(&c->lock, NULL);
    if (dir && dir[0]) {
        if (cache_dir_writable(dir)) {
            c->dir = strdup(dir);
        } else if (warn) {
            char msg[CACHE_PATH_MAX + 128];
            /* The directory is cut to the path limit so that the reason
             * always fits the message. */
            snprintf(msg, sizeof msg,
                     "kernel cache directory '%.*s' is not writable (%s); caching in memory only",
                     CACHE_PATH_MAX, dir, strerror(errno));
            warn(warn_user, msg);
        }
    }
    *out = c;
    return KILN_OK;
}

void core_module_release(core_module *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    free(m->functions);
    if (m->module && m->ops)
        m->ops->compile->module_release(m->module);
    lang_unit_free(m->unit);
    free(m);
}

void cache_destroy(core_cache *c)
{
    if (!c)
        return;
    core_module *m = c->modules;
    while (m) {
        core_module *next = m->next;
        core_module_release(m);
        m = next;
    }
    pthread_mutex_destroy(&c->lock);
    free(c->dir);
    free(c);
}

const char *cache_directory(const core_cache *c)
{
    return c->dir;
}

core_module *cache_memory_find(core_cache *c, const unsigned char key[CORE_CACHE_KEY_BYTES])
{
    if (!c->use_memory)
        return NULL;
    pthread_mutex_lock(&c->lock);
    core_module *m = c->modules;
    while (m && memcmp(m->key, key, CORE_CACHE_KEY_BYTES) != 0)
        m = m->next;
    if (m)
        atomic_fetch_add(&m->refs, 1);
    pthread_mutex_unlock(&c->lock);
    return m;
}

core_module *cache_memory_insert(core_cache *c, core_module *m)
{
    if (!c->use_memory)
        return m;
    pthread_mutex_lock(&c->lock);
    core_module *existing = c->modules;
    while (existing && memcmp(existing->key, m->key, CORE_CACHE_KEY_BYTES) != 0)
        existing = existing->next;
    if (existing) {
        atomic_fetch_add(&existing->refs, 1);
        pthread_mutex_unlock(&c->lock);
        core_module_release(m);
        return existing;
    }
    atomic_fetch_add(&m->refs, 1);
    m->next = c->modules;
    c->modules = m;
    pthread_mutex_unlock(&c->lock);
    return m;
}

static void cache_entry_path(const core_cache *c, const unsigned char *key, char *path, size_t n)
{
    char hex[CORE_CACHE_KEY_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, key, CORE_CACHE_KEY_BYTES);
    snprintf(path, n, "%s/%s.bin", c->dir, hex);
}

static void cache_checksum(const unsigned char *key, const void *payload, size_t size,
                           unsigned char out[CORE_CACHE_KEY_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, CORE_CACHE_KEY_BYTES);
    crypto_generichash_update(&st, key, CORE_CACHE_KEY_BYTES);
    crypto_generichash_update(&st, payload, size);
    crypto_generichash_final(&st, out, CORE_CACHE_KEY_BYTES);
}

static int cache_read_all(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int cache_write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t put = write(fd, p, n);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return -1;
        p += put;
        n -= (size_t)put;
    }
    return 0;
}

kiln_status cache_disk_read(core_cache *c, const unsigned char key[CORE_CACHE_KEY_BYTES],
                            void **payload, size_t *size)
{
    char path[CACHE_PATH_MAX];
    if (!c->dir)
        return KILN_ERR_NOT_FOUND;
    cache_entry_path(c, key, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return KILN_ERR_NOT_FOUND;
    cache_header h;
    void *data = NULL;
    unsigned char sum[CORE_CACHE_KEY_BYTES];
    /* The checksum covers neither the header nor reserved (written as 0):
     * every header field must be exactly what cache_disk_write writes. */
    int ok = cache_read_all(fd, &h, sizeof h) == 0 && memcmp(h.magic, CACHE_MAGIC, 8) == 0 &&
             h.format_version == CACHE_FORMAT_VERSION && h.reserved == 0 &&
             h.payload_size > 0 && h.payload_size <= CACHE_MAX_PAYLOAD;
    if (ok) {
        data = malloc(h.payload_size);
        ok = data && cache_read_all(fd, data, h.payload_size) == 0;
    }
    if (ok) {
        char extra;
        ok = read(fd, &extra, 1) == 0; /* trailing bytes: not what we wrote */
    }
    if (ok) {
        cache_checksum(key, data, h.payload_size, sum);
        ok = sodium_memcmp(sum, h.checksum, sizeof sum) == 0;
    }
    close(fd);
    if (!ok) {
        free(data);
        unlink(path); /* corrupt: rebuilt by the caller, never loaded */
        return KILN_ERR_NOT_FOUND;
    }
    *payload = data;
    *size = h.payload_size;
    return KILN_OK;
}

void cache_disk_write(core_cache *c, const unsigned char key[CORE_CACHE_KEY_BYTES],
                      const void *payload, size_t size)
{
    char path[CACHE_PATH_MAX], tmp[CACHE_PATH_MAX + 16];
    if (!c->dir || size == 0 || size > CACHE_MAX_PAYLOAD)
        return;
    cache_entry_path(c, key, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return;
    cache_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CACHE_MAGIC, 8);
    h.format_version = CACHE_FORMAT_VERSION;
    h.payload_size = size;
    cache_checksum(key, payload, size, h.checksum);
    int ok = cache_write_all(fd, &h, sizeof h) == 0 && cache_write_all(fd, payload, size) == 0;
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}
