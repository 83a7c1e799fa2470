/* libFuzzer target for the audit log verifier (src/govern/audit_verify.c,
 * audit_parse.c). Each input is one log segment; the first byte chooses
 * whether it is verified with the public key of a fixed seed (the seed
 * corpus is signed with it, so mutations reach the signature checks).
 * What must hold:
 * - audit_verify_buffer returns KILN_OK with a known verdict, a
 *   NUL-terminated message, and no more records than complete lines;
 * - the verdict is a function of the bytes: verifying again agrees;
 * - an input that verifies OK ends with a newline, and with a key every
 *   checkpoint's signature was checked; cut before its last line it is
 *   UNCLOSED (a truncation is always caught), and cut inside its last line
 *   it is TORN (a crash while writing, not tampering). */
#include <stdlib.h>
#include <string.h>

#include "govern/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seed of the key the corpus logs are signed with (0x42 repeated). */
#define FUZZ_AUDIT_SEED_BYTE 0x42

static audit_verify_result run(const char *text, size_t length, const audit_public_key *key)
{
    audit_verify_result r;
    if (audit_verify_buffer(text, length, "fuzz", key, key ? 1 : 0, &r) != KILN_OK)
        abort();
    if (r.verdict > AUDIT_VERIFY_IO || !memchr(r.message, '\0', sizeof r.message))
        abort();
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static audit_secret_key secret;
    static int have_key;
    if (!have_key) {
        uint8_t seed[AUDIT_SEED_BYTES];
        memset(seed, FUZZ_AUDIT_SEED_BYTE, sizeof seed);
        if (audit_key_from_seed(seed, &secret) != KILN_OK)
            abort();
        have_key = 1;
    }
    if (size == 0)
        return 0;
    const audit_public_key *key = data[0] & 1 ? &secret.pub : NULL;
    const char *text = (const char *)data + 1;
    size_t length = size - 1;

    audit_verify_result r = run(text, length, key);
    size_t lines = 0, last_start = 0;
    for (size_t i = 0; i < length; i++)
        if (text[i] == '\n') {
            lines++;
            if (i + 1 < length)
                last_start = i + 1;
        }
    if (r.records > lines)
        abort();
    audit_verify_result again = run(text, length, key);
    if (again.verdict != r.verdict || again.records != r.records)
        abort();
    if (r.verdict != AUDIT_VERIFY_OK)
        return 0;
    if (length == 0 || text[length - 1] != '\n' || (key && r.signatures != r.checkpoints))
        abort();
    if (run(text, last_start, key).verdict != AUDIT_VERIFY_UNCLOSED)
        abort();
    size_t last_length = length - last_start;
    if (last_length > 1) {
        size_t cut = last_start + 1 + (size_t)data[0] % (last_length - 1);
        if (run(text, cut, key).verdict != AUDIT_VERIFY_TORN)
            abort();
    }
    return 0;
}
