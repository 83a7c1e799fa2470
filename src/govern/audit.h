/* The audit engine: an append-only, tamper-evident log of what principals
 * did (JSON Lines, one record a line, each carrying the SHA-256 of the line
 * before it), with Ed25519-signed checkpoints, per-second launch summaries,
 * durable group commit, rotation that keeps the chain, and a verifier that
 * names the first bad record. The record format is documented in
 * docs/security.md, "Audit log".
 *
 * Fail closed: once a write or sync fails, the log is failed and every
 * later append returns KILN_ERR_AUDIT until it is reopened; the caller
 * refuses the operation it was about to record. */
#ifndef KILN_GOVERN_AUDIT_H
#define KILN_GOVERN_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kiln/common.h>

#include "policy.h"

/* ---- keys (audit_key.c) ---- */

/* Ed25519 (libsodium crypto_sign) key sizes, and the bytes of the key id:
 * the first bytes of SHA-256(public key), written as hex. */
#define AUDIT_PUBLIC_KEY_BYTES 32
#define AUDIT_SEED_BYTES 32
#define AUDIT_SECRET_KEY_BYTES 64
#define AUDIT_SIGNATURE_BYTES 64
#define AUDIT_KEY_ID_BYTES 8
#define AUDIT_KEY_ID_TEXT (2 * AUDIT_KEY_ID_BYTES + 1)

typedef struct audit_public_key {
    uint8_t bytes[AUDIT_PUBLIC_KEY_BYTES];
    char id[AUDIT_KEY_ID_TEXT]; /* 16 lowercase hex digits */
} audit_public_key;

typedef struct audit_secret_key {
    uint8_t bytes[AUDIT_SECRET_KEY_BYTES]; /* libsodium's seed || public key form */
    audit_public_key pub;
} audit_secret_key;

/* A fresh key pair in memory. */
kiln_status audit_key_generate(audit_secret_key *out);
/* The key pair that seed (AUDIT_SEED_BYTES) determines (tests, fuzzing). */
kiln_status audit_key_from_seed(const uint8_t *seed, audit_secret_key *out);

/* Writes PREFIX.key (the seed as 64 hex digits and a newline, mode 0600)
 * and PREFIX.pub (the public key as 64 hex digits and a newline). Neither
 * file may exist already: a key is never overwritten. */
kiln_status audit_key_save(const audit_secret_key *key, const char *prefix);

/* Reads a secret key file. Refused (KILN_ERR_AUDIT) if it is not a regular
 * file or if its mode grants anything to group or others. */
kiln_status audit_key_load_secret(const char *path, audit_secret_key *out);
kiln_status audit_key_load_public(const char *path, audit_public_key *out);

/* Overwrites the secret bytes (sodium_memzero). */
void audit_key_wipe(audit_secret_key *key);

/* ---- the writer (audit_log.c) ---- */

/* Defaults of audit_options fields left 0. */
#define AUDIT_ROTATE_BYTES_DEFAULT (64ull << 20)  /* a segment is re-verified at open */
#define AUDIT_FLUSH_INTERVAL_MS_DEFAULT 100u      /* non-durable: most a record waits */
#define AUDIT_SUMMARY_INTERVAL_MS 1000u           /* launch summaries: one per second */

typedef struct audit_options {
    const char *path;              /* the live segment; rotated ones are PATH.0, PATH.1, ... */
    const audit_secret_key *key;   /* signs checkpoints; NULL: unsigned (hash chain only) */
    uint32_t checkpoint_every;     /* records between checkpoints; 0: 1000 */
    bool durable;                  /* append returns once the record is on disk */
    uint64_t rotate_bytes;         /* segment size that starts a new one; 0: default,
                                      UINT64_MAX: never */
    uint32_t flush_interval_ms;    /* 0: default */
    bool manual_ticks;             /* no background thread: the caller calls audit_log_tick */
} audit_options;

/* Takes checkpoint_every and durable from a policy's audit section. */
void audit_options_from_policy(audit_options *options, const policy_audit *settings);

/* How an event of one kind is recorded under a policy's audit settings. A
 * denied operation is recorded one by one whenever POLICY_AUDIT_DENY is set,
 * whatever its own kind's setting. */
typedef enum audit_mode {
    AUDIT_MODE_NONE = 0,
    AUDIT_MODE_RECORD,  /* audit_log_append before acknowledging */
    AUDIT_MODE_SUMMARY  /* audit_summary_count */
} audit_mode;
audit_mode audit_mode_for(const policy_audit *settings, policy_audit_event kind, bool denied);

typedef struct audit_log audit_log;

/* Opens (or creates) the log at options->path. An existing live segment is
 * verified first: a torn last line (crash while writing) is cut off and
 * recorded; any other damage refuses the open with KILN_ERR_AUDIT and why.
 * Writes a "log.open" record. */
kiln_status audit_log_open(const audit_options *options, audit_log **out);

/* One operation, as the launch path knows it. Strings may hold any bytes
 * (odd ones are escaped, see the format); NULL is written as "". */
typedef struct audit_event {
    const char *principal;
    const char *action;        /* govern_action_name() text, "admin.reload", "session.close" */
    int64_t device;            /* index in the context, or -1 for none */
    uint64_t bytes;            /* bytes allocated or copied; 0 when none */
    const char *kernel;        /* kernel name, or NULL */
    bool allowed;              /* the policy's decision */
    const char *rule;          /* the deciding rule */
    const char *reason;        /* why, as the policy said */
    kiln_status outcome;       /* what the operation returned (KILN_ERR_DENIED for a deny) */
    const char *ran_on;        /* where the work ran ("cuda:0"; a fallback names its device) */
    const uint8_t *policy_hash; /* POLICY_HASH_BYTES, or NULL when no policy */
} audit_event;

/* Appends one "event" record. Non-durable: the record is in the log's
 * buffer, written within flush_interval_ms (or sooner when 64 KiB are
 * waiting). Durable: it returns once the record is on disk (group commit).
 * KILN_ERR_AUDIT if the log is failed or the write fails. */
kiln_status audit_log_append(audit_log *log, const audit_event *event);

/* Writes a checkpoint now (signed when the log has a key). */
kiln_status audit_log_checkpoint(audit_log *log);
/* Writes what is buffered and fdatasyncs it. */
kiln_status audit_log_sync(audit_log *log);
/* Starts a new segment now (what reaching rotate_bytes does). */
kiln_status audit_log_rotate(audit_log *log);

/* The periodic work: writes due launch summaries (now_ns: CLOCK_MONOTONIC;
 * 0 means now) and the buffer. The background thread calls it every
 * flush_interval_ms; with manual_ticks the caller does. */
kiln_status audit_log_tick(audit_log *log, uint64_t now_ns);

/* Writes the due summaries, a closing checkpoint, syncs and frees the log.
 * The status says whether all of that reached the disk; log is freed
 * either way. NULL is accepted. */
kiln_status audit_log_close(audit_log *log);

/* Whether a write or sync has failed (one atomic load). */
bool audit_log_failed(const audit_log *log);
/* The next record's sequence number, and the live segment's number. */
uint64_t audit_log_next_seq(audit_log *log);
uint64_t audit_log_segment(audit_log *log);

/* ---- launch summaries (audit_summary.c) ---- */

/* Launches are counted per (principal, kernel, device) and written as one
 * "summary" record per second for each triple that had launches. A slot is
 * the counter of one triple: look it up once (string work under a mutex),
 * then count each launch with atomics only. Slots live as long as the log. */
typedef struct audit_slot audit_slot;

#define AUDIT_SLOTS_MAX 65536u

/* The slot of (principal, kernel, device), created on first use.
 * KILN_ERR_AUDIT when AUDIT_SLOTS_MAX triples exist already or the log is
 * failed. */
kiln_status audit_summary_slot(audit_log *log, const char *principal, const char *kernel,
                               int64_t device, audit_slot **out);

/* Counts one launch with its outcome (KILN_OK, KILN_ERR_DENIED, or a
 * failure). KILN_ERR_AUDIT if the log is failed: refuse the launch. */
kiln_status audit_summary_count(audit_log *log, audit_slot *slot, kiln_status outcome);

/* ---- the verifier (audit_verify.c) ---- */

typedef enum audit_verdict {
    AUDIT_VERIFY_OK = 0,        /* every record verifies and the log is closed */
    AUDIT_VERIFY_TORN,          /* records verify; the last line is a torn write (crash) */
    AUDIT_VERIFY_UNCLOSED,      /* records verify; no closing checkpoint after the last one:
                                   truncated, or the writer is still running or crashed */
    AUDIT_VERIFY_BAD_RECORD,    /* a line is not a well-formed record (edited or inserted) */
    AUDIT_VERIFY_HASH_MISMATCH, /* "prev" differs from the line before: that line was edited,
                                   or this one inserted */
    AUDIT_VERIFY_SEQ_GAP,       /* a sequence number skipped: records deleted or moved */
    AUDIT_VERIFY_SEQ_ORDER,     /* a sequence number went back: reordered or inserted */
    AUDIT_VERIFY_BAD_SIGNATURE, /* a checkpoint's signature, key or count is wrong */
    AUDIT_VERIFY_BAD_LINK,      /* segments do not link (missing, out of order) */
    AUDIT_VERIFY_IO             /* a file could not be read */
} audit_verdict;

/* "OK", "TORN", "UNCLOSED", "BAD_RECORD", ... */
const char *audit_verdict_name(audit_verdict verdict);

#define AUDIT_VERIFY_MESSAGE_MAX 512

typedef struct audit_verify_result {
    audit_verdict verdict;
    uint64_t records;          /* records that verified */
    uint64_t segments;         /* segments read */
    uint64_t checkpoints;      /* checkpoints whose fields verified */
    uint64_t signatures;       /* checkpoint signatures verified with a given key */
    bool is_signed;            /* the log's checkpoints carry signatures */
    uint64_t unclean_reopens;  /* log.open records after a crash or a torn write */
    const char *file;          /* where the verdict was reached (a path given, or "") */
    uint64_t line;             /* its line (from 1), 0 when none */
    uint64_t seq;              /* the sequence number there, when known */
    char message[AUDIT_VERIFY_MESSAGE_MAX];
} audit_verify_result;

/* Verifies segments in order (oldest first). keys may be empty: then
 * signatures are not checked (result.signatures stays 0). With keys, every
 * checkpoint must be signed by one of them. KILN_OK when it could read
 * everything; the verdict says what it found. */
kiln_status audit_verify_files(const char *const *paths, size_t count,
                               const audit_public_key *keys, size_t key_count,
                               audit_verify_result *out);

/* The same over one segment held in memory (named name). */
kiln_status audit_verify_buffer(const char *data, size_t length, const char *name,
                                const audit_public_key *keys, size_t key_count,
                                audit_verify_result *out);

/* The segments of the log at path, oldest first: PATH.0, PATH.1, ... (those
 * that exist, by number) and PATH itself when it exists. *paths is one
 * allocation (free it). KILN_ERR_AUDIT if none exists. */
kiln_status audit_segments(const char *path, char ***paths, size_t *count);

#endif
