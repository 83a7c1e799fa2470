/* What the audit_*.c files share: hashing, the JSON line encoder, the record
 * schemas and the chain state that both the verifier and the writer (which
 * verifies an existing log before appending to it) walk. Nothing outside
 * src/govern/audit_* includes this. */
#ifndef KILN_GOVERN_AUDIT_INTERNAL_H
#define KILN_GOVERN_AUDIT_INTERNAL_H

#include "audit.h"

/* The "v" of every record; a verifier refuses versions it does not know. */
#define AUDIT_FORMAT_VERSION 1
#define AUDIT_HASH_BYTES 32
#define AUDIT_HASH_HEX ((size_t)2 * AUDIT_HASH_BYTES)
#define AUDIT_SIGNATURE_HEX ((size_t)2 * AUDIT_SIGNATURE_BYTES)
/* Longest text field kept, in input bytes; longer ones are cut there. With
 * the worst escaping (6 bytes a byte) and the record's fixed fields, a line
 * stays under AUDIT_LINE_MAX. */
#define AUDIT_TEXT_MAX 1024
/* An int, as messages print it with %d and tests count to it with an int;
 * sites that compare or pass it as a size cast it to size_t. */
#define AUDIT_LINE_MAX (64 * 1024)
/* "MAJOR.MINOR.PATCH" of the writer, for the log.open record. */
#define AUDIT_STRINGIFY_(x) #x
#define AUDIT_STRINGIFY(x) AUDIT_STRINGIFY_(x)
#define KILN_AUDIT_WRITER_VERSION                                                           \
    AUDIT_STRINGIFY(KILN_VERSION_MAJOR) "." AUDIT_STRINGIFY(KILN_VERSION_MINOR) "."          \
        AUDIT_STRINGIFY(KILN_VERSION_PATCH)
/* Most fields in one record (the event record has 17). */
#define AUDIT_FIELDS_MAX 24

/* SHA-256 (libsodium). */
void audit_sha256(const void *data, size_t length, uint8_t out[AUDIT_HASH_BYTES]);
/* Lowercase hex of n bytes into out (2n characters and a NUL). */
void audit_hex(const uint8_t *bytes, size_t n, char *out);
/* Parses exactly 2n lowercase hex digits; false otherwise. */
bool audit_unhex(const char *text, size_t length, uint8_t *out, size_t n);

/* "ENOSPC (No space left on device)" for errno e, in buf. */
const char *audit_errno_text(int e, char *buf, size_t size);

/* ---- encoding (audit_record.c) ---- */

/* A line under construction in a caller's buffer. The encoder never writes
 * past capacity: with AUDIT_LINE_MAX bytes every record fits. */
typedef struct audit_json {
    char *data;
    size_t length;
    size_t capacity;
    bool first; /* no field written yet */
} audit_json;

void audit_json_begin(audit_json *j, char *buffer, size_t capacity);
/* Text of any bytes: valid UTF-8 is written as is except '"', '\\', control
 * characters (C0, DEL, C1), U+2028 and U+2029, which are escaped; a byte
 * that is not part of valid UTF-8 is written as the lone surrogate
 * \udcXX (the "surrogateescape" convention), so the bytes can be recovered
 * exactly. Cut at AUDIT_TEXT_MAX bytes when limit is set. */
void audit_json_text(audit_json *j, const char *key, const char *text, size_t length, bool limit);
void audit_json_string(audit_json *j, const char *key, const char *text); /* NULL: "" */
void audit_json_u64(audit_json *j, const char *key, uint64_t value);
void audit_json_i64(audit_json *j, const char *key, int64_t value);
void audit_json_end(audit_json *j);

/* "2026-11-26T16:47:51.123456789Z" from CLOCK_REALTIME nanoseconds. */
#define AUDIT_WALL_TEXT 31
void audit_format_wall(uint64_t realtime_ns, char out[AUDIT_WALL_TEXT]);

/* The record types. */
#define AUDIT_TYPE_OPEN "log.open"
#define AUDIT_TYPE_EVENT "event"
#define AUDIT_TYPE_SUMMARY "summary"
#define AUDIT_TYPE_CHECKPOINT "checkpoint"

/* Why a log.open record starts a run of records. */
#define AUDIT_AFTER_FRESH "fresh"   /* a new chain */
#define AUDIT_AFTER_ROTATE "rotate" /* first record of a segment after a rotation */
#define AUDIT_AFTER_CLOSE "close"   /* reopened after a clean close */
#define AUDIT_AFTER_CRASH "crash"   /* reopened; the last writer did not close */
#define AUDIT_AFTER_TORN "torn"     /* reopened; a torn last line was cut off */

/* A checkpoint's "close" field. */
#define AUDIT_CLOSE_NONE "none"
#define AUDIT_CLOSE_CLOSE "close"
#define AUDIT_CLOSE_ROTATE "rotate"
#define AUDIT_UNSIGNED_KEY "none"

/* The fields every record starts with. */
typedef struct audit_head {
    uint64_t seq;
    uint8_t prev[AUDIT_HASH_BYTES];
} audit_head;

typedef struct audit_open_fields {
    uint64_t wall_ns, mono_ns, segment;
    const char *after;
    uint64_t torn_bytes;
    const uint8_t *torn_hash; /* NULL when torn_bytes is 0 */
    const char *key_id;       /* AUDIT_UNSIGNED_KEY when unsigned */
    uint64_t pid;
} audit_open_fields;

typedef struct audit_summary_fields {
    uint64_t wall_ns, mono_ns;
    const char *principal, *kernel;
    int64_t device;
    uint64_t window_ms, ok, denied, failed;
} audit_summary_fields;

typedef struct audit_checkpoint_fields {
    uint64_t count;       /* records since the previous checkpoint */
    const char *close;    /* AUDIT_CLOSE_* */
    const char *key_id;   /* AUDIT_UNSIGNED_KEY when unsigned */
    const uint8_t *signature; /* AUDIT_SIGNATURE_BYTES, NULL when unsigned */
} audit_checkpoint_fields;

void audit_encode_open(audit_json *j, const audit_head *h, const audit_open_fields *f);
void audit_encode_event(audit_json *j, const audit_head *h, uint64_t wall_ns, uint64_t mono_ns,
                        const audit_event *e);
void audit_encode_summary(audit_json *j, const audit_head *h, const audit_summary_fields *f);
void audit_encode_checkpoint(audit_json *j, const audit_head *h, const audit_checkpoint_fields *f);

/* The message a checkpoint's signature covers:
 * "kiln-audit-checkpoint v1 seq=S prev=HEX count=N close=C". Returns its
 * length (at most AUDIT_SIGNED_MAX). */
#define AUDIT_SIGNED_MAX 192
size_t audit_signed_message(uint64_t seq, const uint8_t prev[AUDIT_HASH_BYTES], uint64_t count,
                            const char *close, char out[AUDIT_SIGNED_MAX]);

/* ---- parsing (audit_parse.c) ---- */

typedef enum audit_value_kind { AUDIT_VALUE_TEXT, AUDIT_VALUE_INT } audit_value_kind;

typedef struct audit_field {
    const char *key; /* NUL-terminated, in the parser's scratch */
    size_t key_length;
    audit_value_kind kind;
    bool negative;   /* AUDIT_VALUE_INT: value is -magnitude */
    uint64_t magnitude;
    const char *text; /* AUDIT_VALUE_TEXT: decoded bytes in the parser's scratch */
    size_t text_length;
} audit_field;

typedef struct audit_parsed {
    audit_field fields[AUDIT_FIELDS_MAX];
    size_t count;
    char scratch[AUDIT_LINE_MAX + AUDIT_FIELDS_MAX]; /* decoded keys and text values */
    char reencoded[AUDIT_LINE_MAX + 1];               /* the canonical form, to compare */
} audit_parsed;

typedef enum audit_parse_status {
    AUDIT_PARSE_OK,
    AUDIT_PARSE_TRUNCATED, /* the input ended inside the record (a torn write) */
    AUDIT_PARSE_BAD        /* not a record; why in the message */
} audit_parse_status;

/* Parses one line (without its newline): a flat JSON object whose values
 * are strings or integers, then checks that it is in the writer's exact
 * form (re-encoding it must give the same bytes). */
audit_parse_status audit_parse_line(const char *line, size_t length, audit_parsed *out,
                                    char *why, size_t why_size);

/* The field named key, or NULL. */
const audit_field *audit_parsed_get(const audit_parsed *p, const char *key);
/* Whether a text field equals s. */
bool audit_field_is(const audit_field *f, const char *s);

/* The schema of a record type: its keys in order and their kinds. NULL for
 * an unknown type; why says what is wrong when the record does not match. */
bool audit_schema_check(const audit_parsed *p, const char **type, char *why, size_t why_size);

/* ---- the chain, walked line by line (audit_verify.c) ---- */

typedef struct audit_chain {
    const audit_public_key *keys;
    size_t key_count;
    bool lenient_keys;      /* writer reopening: check only signatures by a key given */
    audit_verify_result *result;

    bool started;           /* a record was accepted */
    bool segment_started;   /* a record of the current segment was accepted */
    uint64_t next_seq;
    uint8_t prev[AUDIT_HASH_BYTES];
    uint64_t last_checkpoint_seq_plus1; /* seq of the last checkpoint + 1 (count base) */
    uint64_t segment;
    char close[8];          /* close field of the last record if it was a checkpoint, else "" */
    char key_id[AUDIT_KEY_ID_TEXT + 4]; /* of the current run (last log.open) */
    uint64_t line;          /* lines of the current segment seen */
    uint64_t valid_bytes;   /* bytes of the current segment up to the last good line */
    bool failed;
    audit_parsed parsed;
} audit_chain;

void audit_chain_init(audit_chain *c, const audit_public_key *keys, size_t key_count,
                      audit_verify_result *result);
/* Starts a segment named name (a path, or a buffer's name). */
void audit_chain_segment(audit_chain *c, const char *name);
/* One complete line (without its newline). False once the chain failed. */
bool audit_chain_line(audit_chain *c, const char *line, size_t length);
/* The segment's bytes after its last newline (length may be 0), and
 * whether another segment follows. */
void audit_chain_segment_end(audit_chain *c, const char *tail, size_t length, bool last);

/* Feeds a whole segment file through the chain. KILN_ERR_AUDIT if it cannot
 * be read (the result says why). */
kiln_status audit_chain_file(audit_chain *c, const char *path, bool last);

/* ---- summaries, owned by the log (audit_summary.c) ---- */

typedef struct audit_summary audit_summary;

kiln_status audit_summary_create(audit_summary **out);
void audit_summary_destroy(audit_summary *s);
kiln_status audit_summary_lookup(audit_summary *s, const char *principal, const char *kernel,
                                 int64_t device, audit_slot **out);
void audit_summary_add(audit_slot *slot, kiln_status outcome);

/* Called for each slot with launches since the last drain. */
typedef kiln_status (*audit_summary_emit_fn)(void *arg, const audit_summary_fields *fields);
/* Takes every slot's counts (atomically exchanged for 0) and emits the
 * non-empty ones; stops at the first emit failure. */
kiln_status audit_summary_drain(audit_summary *s, uint64_t window_ms, audit_summary_emit_fn emit,
                                void *arg);

#endif
