/* Checkpoint keys: Ed25519 through libsodium, kept in two small text files.
 *   PREFIX.key  the 32-byte seed as 64 lowercase hex digits and a newline;
 *               mode 0600, and refused on load if group or others may read it
 *   PREFIX.pub  the 32-byte public key, the same way
 * The key id written into the log is the first AUDIT_KEY_ID_BYTES bytes of
 * SHA-256(public key) in hex. */
#include "audit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/fail.h"

/* 64 hex digits and a newline. */
#define KEY_FILE_TEXT (2 * AUDIT_SEED_BYTES + 1)
/* Group and other permission bits: a secret key file must have none. */
#define KEY_FILE_FOREIGN_BITS 077
#define KEY_FILE_MODE 0600
#define PUB_FILE_MODE 0644

static void set_id(audit_public_key *pub)
{
    uint8_t hash[AUDIT_HASH_BYTES];
    audit_sha256(pub->bytes, sizeof pub->bytes, hash);
    audit_hex(hash, AUDIT_KEY_ID_BYTES, pub->id);
}

kiln_status audit_key_from_seed(const uint8_t *seed, audit_secret_key *out)
{
    if (!seed || !out)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit key: NULL argument");
    if (sodium_init() < 0)
        return util_fail(KILN_ERR_INTERNAL, "libsodium failed to initialise");
    crypto_sign_seed_keypair(out->pub.bytes, out->bytes, seed);
    set_id(&out->pub);
    return KILN_OK;
}

kiln_status audit_key_generate(audit_secret_key *out)
{
    if (!out)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit key: NULL argument");
    if (sodium_init() < 0)
        return util_fail(KILN_ERR_INTERNAL, "libsodium failed to initialise");
    uint8_t seed[AUDIT_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    kiln_status st = audit_key_from_seed(seed, out);
    sodium_memzero(seed, sizeof seed);
    return st;
}

void audit_key_wipe(audit_secret_key *key)
{
    if (key)
        sodium_memzero(key, sizeof *key);
}

static kiln_status write_new_file(const char *path, int mode, const char *text, size_t n)
{
    char why[96];
    /* O_EXCL: never replace a key, and never follow a planted link. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return util_fail(KILN_ERR_AUDIT, "cannot create %s: %s", path,
                         audit_errno_text(errno, why, sizeof why));
    /* The umask may only narrow the mode; fchmod makes it exact. */
    bool ok = fchmod(fd, (mode_t)mode) == 0 && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        (void)unlink(path);
        return util_fail(KILN_ERR_AUDIT, "cannot write %s: %s", path,
                         audit_errno_text(e, why, sizeof why));
    }
    return KILN_OK;
}

kiln_status audit_key_save(const audit_secret_key *key, const char *prefix)
{
    if (!key || !prefix)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit key: NULL argument");
    char *secret_path = NULL, *public_path = NULL;
    if (asprintf(&secret_path, "%s.key", prefix) < 0)
        secret_path = NULL;
    if (asprintf(&public_path, "%s.pub", prefix) < 0)
        public_path = NULL;
    kiln_status st = KILN_OK;
    char text[KEY_FILE_TEXT + 1];
    if (!secret_path || !public_path)
        st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit key: out of memory");
    else if (access(public_path, F_OK) == 0)
        st = util_fail(KILN_ERR_AUDIT, "%s exists; a key is never overwritten", public_path);
    if (st == KILN_OK) {
        /* libsodium's secret key is seed || public key: the seed is its first half. */
        audit_hex(key->bytes, AUDIT_SEED_BYTES, text);
        text[KEY_FILE_TEXT - 1] = '\n';
        st = write_new_file(secret_path, KEY_FILE_MODE, text, KEY_FILE_TEXT);
        sodium_memzero(text, sizeof text);
    }
    if (st == KILN_OK) {
        audit_hex(key->pub.bytes, AUDIT_PUBLIC_KEY_BYTES, text);
        text[KEY_FILE_TEXT - 1] = '\n';
        st = write_new_file(public_path, PUB_FILE_MODE, text, KEY_FILE_TEXT);
        if (st != KILN_OK)
            (void)unlink(secret_path);
    }
    free(secret_path);
    free(public_path);
    return st;
}

/* Reads a key file: 64 hex digits and an optional newline, into out. */
static kiln_status read_key_file(const char *path, bool secret, uint8_t out[AUDIT_SEED_BYTES])
{
    char why[96];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return util_fail(KILN_ERR_AUDIT, "cannot open key file %s: %s", path,
                         audit_errno_text(errno, why, sizeof why));
    struct stat sb;
    kiln_status st = KILN_OK;
    char text[KEY_FILE_TEXT + 1];
    ssize_t n = 0;
    if (fstat(fd, &sb) != 0)
        st = util_fail(KILN_ERR_AUDIT, "cannot stat key file %s: %s", path,
                       audit_errno_text(errno, why, sizeof why));
    else if (!S_ISREG(sb.st_mode))
        st = util_fail(KILN_ERR_AUDIT, "key file %s is not a regular file", path);
    else if (secret && (sb.st_mode & KEY_FILE_FOREIGN_BITS))
        st = util_fail(KILN_ERR_AUDIT,
                       "secret key file %s has mode %04o: group or others may use it; "
                       "chmod 600 it",
                       path, (unsigned)(sb.st_mode & 07777));
    else if ((n = read(fd, text, sizeof text)) < 0)
        st = util_fail(KILN_ERR_AUDIT, "cannot read key file %s: %s", path,
                       audit_errno_text(errno, why, sizeof why));
    (void)close(fd);
    if (st == KILN_OK) {
        size_t length = (size_t)n;
        if (length == KEY_FILE_TEXT && text[length - 1] == '\n')
            length--;
        if (!audit_unhex(text, length, out, AUDIT_SEED_BYTES))
            st = util_fail(KILN_ERR_AUDIT,
                           "key file %s is not 64 lowercase hex digits and a newline", path);
    }
    sodium_memzero(text, sizeof text);
    return st;
}

kiln_status audit_key_load_secret(const char *path, audit_secret_key *out)
{
    if (!path || !out)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit key: NULL argument");
    uint8_t seed[AUDIT_SEED_BYTES];
    kiln_status st = read_key_file(path, true, seed);
    if (st == KILN_OK)
        st = audit_key_from_seed(seed, out);
    sodium_memzero(seed, sizeof seed);
    return st;
}

kiln_status audit_key_load_public(const char *path, audit_public_key *out)
{
    if (!path || !out)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit key: NULL argument");
    kiln_status st = read_key_file(path, false, out->bytes);
    if (st == KILN_OK)
        set_id(out);
    return st;
}
