/* SHA-256 of audit lines, and the hex and errno text helpers the audit
 * files share.
 *
 * Every record is hashed once when written and once when verified. The hash
 * is libsodium's (the project takes its hashing and signatures from there,
 * not from code of its own); launches are summarised by default, so this
 * cost is per recorded event, not per launch. */
#include "audit_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void audit_sha256(const void *data, size_t length, uint8_t out[AUDIT_HASH_BYTES])
{
    crypto_hash_sha256(out, data, length);
}

/* The two digits of every byte: two hashes a record make this worth it. */
static char hex_pairs[256][2];
static pthread_once_t hex_once = PTHREAD_ONCE_INIT;

static void fill_hex_pairs(void)
{
    static const char digits[] = "0123456789abcdef";
    for (int b = 0; b < 256; b++) {
        hex_pairs[b][0] = digits[b >> 4];
        hex_pairs[b][1] = digits[b & 0xF];
    }
}

void audit_hex(const uint8_t *bytes, size_t n, char *out)
{
    pthread_once(&hex_once, fill_hex_pairs);
    for (size_t i = 0; i < n; i++)
        memcpy(out + 2 * i, hex_pairs[bytes[i]], 2);
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool audit_unhex(const char *text, size_t length, uint8_t *out, size_t n)
{
    if (length != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

const char *audit_errno_text(int e, char *buf, size_t size)
{
    /* The names an operator acts on; others are given by number. */
    static const struct {
        int code;
        const char *name;
    } names[] = { { ENOSPC, "ENOSPC" }, { EROFS, "EROFS" },   { EACCES, "EACCES" },
                  { EPERM, "EPERM" },   { EDQUOT, "EDQUOT" }, { EIO, "EIO" },
                  { EFBIG, "EFBIG" },   { ENOENT, "ENOENT" }, { EISDIR, "EISDIR" },
                  { ENOTDIR, "ENOTDIR" }, { EEXIST, "EEXIST" }, { EBADF, "EBADF" } };
    const char *name = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == e)
            name = names[i].name;
    char text[128];
    const char *msg = strerror_r(e, text, sizeof text);
    if (name)
        snprintf(buf, size, "%s (%s)", name, msg);
    else
        snprintf(buf, size, "errno %d (%s)", e, msg);
    return buf;
}
