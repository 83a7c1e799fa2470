/* SHA-256 of audit lines, and the hex and errno text helpers the audit
 * files share.
 *
 * Every record is hashed once when written and once when verified. The hash
 * and the hex are libsodium's (the project takes its hashing, encodings and
 * signatures from there, not from code of its own); launches are summarised
 * by default, so this cost is per recorded event, not per launch. */
#include "audit_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void audit_sha256(const void *data, size_t length, uint8_t out[AUDIT_HASH_BYTES])
{
    crypto_hash_sha256(out, data, length);
}

void audit_hex(const uint8_t *bytes, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, bytes, n);
}

bool audit_unhex(const char *text, size_t length, uint8_t *out, size_t n)
{
    /* Lowercase only (sodium_hex2bin also takes uppercase): a record or key
     * file has exactly one spelling. */
    if (length != 2 * n)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return false;
    return sodium_hex2bin(out, n, text, length, NULL, NULL, NULL) == 0;
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
