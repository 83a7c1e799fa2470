/* libFuzzer target for the kernel cache's disk-entry decoder
 * (cache_disk_read in src/core/cache.c). Each input becomes an entry file
 * in a private cache directory and is read back. What must hold:
 * - a read that succeeds returns exactly what cache_disk_write would have
 *   stored: writing the returned payload under the same key gives a file
 *   bit-identical to the input (so no corrupt entry is ever loaded);
 * - a read that fails removes the entry (it is rebuilt, never loaded).
 * A checksum cannot be forged by mutation, so the first byte picks a mode:
 * the rest of the input is the file as is, or the harness first writes the
 * right checksum into its header (for the key, or for another key: an entry
 * renamed to a key it was not made for must still be refused), so that the
 * fuzzer explores the header checks behind the checksum too. */
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The on-disk header of cache.c: magic[8], format version and reserved
 * (uint32 each), payload size (uint64), then the checksum. fuzz_setup
 * checks this layout against a real entry before any input runs. */
#define ENTRY_SIZE_OFFSET 16u
#define ENTRY_CHECKSUM_OFFSET 24u
#define ENTRY_HEADER_BYTES (ENTRY_CHECKSUM_OFFSET + CORE_CACHE_KEY_BYTES)

enum fuzz_mode { MODE_RAW, MODE_CHECKSUM_FIXED, MODE_CHECKSUM_OTHER_KEY, MODE_COUNT };

static core_cache *reader;  /* the cache under test */
static core_cache *writer;  /* a second directory for re-encoding */
static char reader_dir[PATH_MAX], writer_dir[PATH_MAX];
static const unsigned char key[CORE_CACHE_KEY_BYTES] = {0x6b, 0x69, 0x6c, 0x6e, 1, 2, 3};
static const unsigned char other_key[CORE_CACHE_KEY_BYTES] = {0x6b, 0x69, 0x6c, 0x6e, 9, 9, 9};

static void entry_path(const char *dir, char *path, size_t n)
{
    char hex[CORE_CACHE_KEY_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    snprintf(path, n, "%s/%s.bin", dir, hex);
}

static void checksum(const unsigned char *for_key, const uint8_t *payload, size_t size,
                     unsigned char out[CORE_CACHE_KEY_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, CORE_CACHE_KEY_BYTES);
    crypto_generichash_update(&st, for_key, CORE_CACHE_KEY_BYTES);
    crypto_generichash_update(&st, payload, size);
    crypto_generichash_final(&st, out, CORE_CACHE_KEY_BYTES);
}

/* The whole file at path, malloc'd, or NULL when there is none. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *bytes = NULL;
    size_t used = 0, capacity = 0;
    for (;;) {
        if (used == capacity) {
            capacity = capacity ? capacity * 2 : 4096;
            uint8_t *bigger = realloc(bytes, capacity);
            if (!bigger)
                abort();
            bytes = bigger;
        }
        size_t got = fread(bytes + used, 1, capacity - used, f);
        used += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *size = used;
    return bytes;
}

static void write_file(const char *path, const uint8_t *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, size, f) != size || fclose(f) != 0)
        abort();
}

static char *make_temp_dir(char *buf, size_t n, const char *what)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, n, "%s/kiln-fuzz-%s-XXXXXX", tmp && tmp[0] ? tmp : "/tmp", what);
    if (!mkdtemp(buf))
        abort();
    return buf;
}

static void remove_dir(const char *dir)
{
    char path[PATH_MAX];
    entry_path(dir, path, sizeof path);
    unlink(path);
    rmdir(dir);
}

static void fuzz_teardown(void)
{
    cache_destroy(reader);
    cache_destroy(writer);
    remove_dir(reader_dir);
    remove_dir(writer_dir);
}

/* Opens both caches and proves the layout above on an entry cache.c wrote. */
static void fuzz_setup(void)
{
    if (sodium_init() < 0)
        abort();
    if (cache_create(make_temp_dir(reader_dir, sizeof reader_dir, "cache"), 0, NULL, NULL,
                     &reader) != KILN_OK ||
        cache_create(make_temp_dir(writer_dir, sizeof writer_dir, "cache-ref"), 0, NULL, NULL,
                     &writer) != KILN_OK ||
        !cache_directory(reader) || !cache_directory(writer))
        abort();
    atexit(fuzz_teardown);
    static const uint8_t probe[] = "a kernel library";
    char path[PATH_MAX];
    size_t size = 0;
    cache_disk_write(writer, key, probe, sizeof probe);
    entry_path(writer_dir, path, sizeof path);
    uint8_t *bytes = read_file(path, &size);
    unsigned char sum[CORE_CACHE_KEY_BYTES];
    checksum(key, probe, sizeof probe, sum);
    uint64_t recorded;
    if (!bytes || size != ENTRY_HEADER_BYTES + sizeof probe)
        abort();
    memcpy(&recorded, bytes + ENTRY_SIZE_OFFSET, sizeof recorded);
    if (recorded != sizeof probe || memcmp(bytes + ENTRY_CHECKSUM_OFFSET, sum, sizeof sum) != 0)
        abort();
    free(bytes);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!reader)
        fuzz_setup();
    if (size == 0)
        return 0;
    enum fuzz_mode mode = (enum fuzz_mode)(data[0] % MODE_COUNT);
    size_t n = size - 1;
    uint8_t *entry = malloc(n ? n : 1);
    if (!entry)
        abort();
    memcpy(entry, data + 1, n);
    if (mode != MODE_RAW && n >= ENTRY_HEADER_BYTES)
        checksum(mode == MODE_CHECKSUM_FIXED ? key : other_key, entry + ENTRY_HEADER_BYTES,
                 n - ENTRY_HEADER_BYTES, entry + ENTRY_CHECKSUM_OFFSET);

    char path[PATH_MAX], ref_path[PATH_MAX];
    entry_path(reader_dir, path, sizeof path);
    entry_path(writer_dir, ref_path, sizeof ref_path);
    write_file(path, entry, n);
    void *payload = NULL;
    size_t payload_size = 0;
    kiln_status st = cache_disk_read(reader, key, &payload, &payload_size);
    if (st == KILN_OK) {
        if (!payload || payload_size == 0)
            abort();
        cache_disk_write(writer, key, payload, payload_size);
        size_t ref_size = 0;
        uint8_t *ref = read_file(ref_path, &ref_size);
        if (!ref || ref_size != n || memcmp(ref, entry, n) != 0)
            abort(); /* accepted bytes that are not what the cache writes */
        free(ref);
        unlink(ref_path);
        unlink(path);
        free(payload);
    } else {
        if (st != KILN_ERR_NOT_FOUND || payload)
            abort();
        if (access(path, F_OK) == 0)
            abort(); /* a refused entry must be removed */
    }
    free(entry);
    return 0;
}
