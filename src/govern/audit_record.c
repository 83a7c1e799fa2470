/* Audit records as JSON lines: the encoder (escaping of any bytes, integers,
 * wall time), the four record types in their fixed field order, and the
 * schemas the verifier checks records against. The writer and the verifier
 * share this one encoder: the verifier re-encodes what it parsed and
 * demands the same bytes, so a record has exactly one valid spelling. */
#include "audit_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_SECOND 1000000000ull
/* Characters of "2026-11-26T16:47:51" (the cached part of a wall time). */
#define WALL_SECONDS_TEXT 19
#define WALL_FRACTION_DIGITS 9
/* Longest decimal form of a 64-bit integer with its sign. */
#define INT_TEXT_MAX 21

static void put(audit_json *j, const char *s, size_t n)
{
    if (j->length + n >= j->capacity) {
        /* Only a non-canonical line fed back by the verifier can get here;
         * the short result then fails its byte comparison. */
        j->length = j->capacity;
        return;
    }
    memcpy(j->data + j->length, s, n);
    j->length += n;
}

static void put_char(audit_json *j, char c)
{
    if (j->length + 1 >= j->capacity) {
        j->length = j->capacity;
        return;
    }
    j->data[j->length++] = c;
}

void audit_json_begin(audit_json *j, char *buffer, size_t capacity)
{
    j->data = buffer;
    j->length = 0;
    j->capacity = capacity;
    j->first = true;
    put_char(j, '{');
}

void audit_json_end(audit_json *j)
{
    put_char(j, '}');
}

/* Keys are ours (short, no escapes): written in one piece, they are a
 * good part of a record's encoding time. */
#define KEY_FRAME_BYTES 4 /* , " " : */

static void put_key(audit_json *j, const char *key)
{
    size_t n = strlen(key);
    if (j->length + n + KEY_FRAME_BYTES >= j->capacity) {
        j->length = j->capacity;
        return;
    }
    char *d = j->data + j->length;
    if (!j->first)
        *d++ = ',';
    j->first = false;
    *d++ = '"';
    for (size_t i = 0; i < n; i++)
        d[i] = key[i];
    d += n;
    *d++ = '"';
    *d++ = ':';
    j->length = (size_t)(d - j->data);
}

static void put_escape_u(audit_json *j, unsigned code)
{
    static const char digits[] = "0123456789abcdef";
    char e[6] = { '\\', 'u', digits[(code >> 12) & 0xF], digits[(code >> 8) & 0xF],
                  digits[(code >> 4) & 0xF], digits[code & 0xF] };
    put(j, e, sizeof e);
}

/* The lone low surrogates U+DC80..U+DCFF stand for the bytes 0x80..0xFF
 * that are not valid UTF-8 (Python's "surrogateescape"). */
#define AUDIT_BYTE_ESCAPE_BASE 0xDC00u
#define UNICODE_C1_END 0x9Fu
#define UNICODE_LINE_SEPARATOR 0x2028u
#define UNICODE_PARAGRAPH_SEPARATOR 0x2029u
#define ASCII_DEL 0x7Fu

void audit_json_text(audit_json *j, const char *key, const char *text, size_t length, bool limit)
{
    put_key(j, key);
    put_char(j, '"');
    if (limit && length > AUDIT_TEXT_MAX)
        length = AUDIT_TEXT_MAX;
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < length;) {
        /* The common case first: a run of printable ASCII, copied at once. */
        size_t start = i;
        while (i < length && p[i] >= 0x20 && p[i] < ASCII_DEL && p[i] != '"' && p[i] != '\\')
            i++;
        put(j, (const char *)p + start, i - start);
        if (i == length)
            break;
        unsigned c = p[i];
        const char *shortcut = NULL;
        unsigned escape = UINT32_MAX;
        size_t step = 1;
        if (c == '"')
            shortcut = "\\\"";
        else if (c == '\\')
            shortcut = "\\\\";
        else if (c == '\n')
            shortcut = "\\n";
        else if (c == '\r')
            shortcut = "\\r";
        else if (c == '\t')
            shortcut = "\\t";
        else if (c == '\b')
            shortcut = "\\b";
        else if (c == '\f')
            shortcut = "\\f";
        else if (c < 0x20 || c == ASCII_DEL)
            escape = c;
        else {
            uint32_t cp = 0;
            step = govern_utf8_sequence(p + i, length - i, &cp);
            if (step == 0) {
                step = 1;
                escape = AUDIT_BYTE_ESCAPE_BASE | c;
            } else if (cp <= UNICODE_C1_END || cp == UNICODE_LINE_SEPARATOR ||
                       cp == UNICODE_PARAGRAPH_SEPARATOR)
                escape = cp;
        }
        if (shortcut)
            put(j, shortcut, 2);
        else if (escape != UINT32_MAX)
            put_escape_u(j, escape);
        else
            put(j, (const char *)p + i, step); /* valid UTF-8, written as is */
        i += step;
    }
    put_char(j, '"');
}

void audit_json_string(audit_json *j, const char *key, const char *text)
{
    if (!text)
        text = "";
    audit_json_text(j, key, text, strlen(text), true);
}

static size_t format_u64(uint64_t v, char *out)
{
    char tmp[INT_TEXT_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

void audit_json_u64(audit_json *j, const char *key, uint64_t value)
{
    char text[INT_TEXT_MAX];
    put_key(j, key);
    size_t n = format_u64(value, text);
    put(j, text, n);
}

void audit_json_i64(audit_json *j, const char *key, int64_t value)
{
    char text[INT_TEXT_MAX];
    put_key(j, key);
    /* -(value + 1) + 1 avoids overflowing on INT64_MIN. */
    uint64_t magnitude = value < 0 ? (uint64_t)(-(value + 1)) + 1 : (uint64_t)value;
    size_t n = format_u64(magnitude, text);
    if (value < 0)
        put_char(j, '-');
    put(j, text, n);
}

void audit_format_wall(uint64_t realtime_ns, char out[AUDIT_WALL_TEXT])
{
    /* gmtime_r and strftime cost more than the rest of a record; the
     * seconds part is formatted once per second per thread. */
    static _Thread_local time_t cached_second = -1;
    static _Thread_local char cached[WALL_SECONDS_TEXT + 1];
    time_t second = (time_t)(realtime_ns / NS_PER_SECOND);
    if (second != cached_second) {
        struct tm tm;
        gmtime_r(&second, &tm);
        if (strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm) != WALL_SECONDS_TEXT)
            memcpy(cached, "0000-00-00T00:00:00", sizeof cached);
        cached_second = second;
    }
    memcpy(out, cached, WALL_SECONDS_TEXT);
    uint64_t fraction = realtime_ns % NS_PER_SECOND;
    out[WALL_SECONDS_TEXT] = '.';
    for (int i = WALL_FRACTION_DIGITS; i >= 1; i--) {
        out[WALL_SECONDS_TEXT + i] = (char)('0' + fraction % 10);
        fraction /= 10;
    }
    out[WALL_SECONDS_TEXT + WALL_FRACTION_DIGITS + 1] = 'Z';
    out[WALL_SECONDS_TEXT + WALL_FRACTION_DIGITS + 2] = '\0';
}

static void put_head(audit_json *j, const audit_head *h, const char *type)
{
    char prev[AUDIT_HASH_HEX + 1];
    audit_hex(h->prev, AUDIT_HASH_BYTES, prev);
    audit_json_u64(j, "v", AUDIT_FORMAT_VERSION);
    audit_json_u64(j, "seq", h->seq);
    audit_json_text(j, "prev", prev, AUDIT_HASH_HEX, false);
    audit_json_string(j, "type", type);
}

static void put_times(audit_json *j, uint64_t wall_ns, uint64_t mono_ns)
{
    char wall[AUDIT_WALL_TEXT];
    audit_format_wall(wall_ns, wall);
    audit_json_text(j, "wall", wall, AUDIT_WALL_TEXT - 1, false);
    audit_json_u64(j, "mono_ns", mono_ns);
}

static void put_hash_or_empty(audit_json *j, const char *key, const uint8_t *hash)
{
    char hex[AUDIT_HASH_HEX + 1] = "";
    if (hash)
        audit_hex(hash, AUDIT_HASH_BYTES, hex);
    audit_json_text(j, key, hex, strlen(hex), false);
}

void audit_encode_open(audit_json *j, const audit_head *h, const audit_open_fields *f)
{
    put_head(j, h, AUDIT_TYPE_OPEN);
    put_times(j, f->wall_ns, f->mono_ns);
    audit_json_u64(j, "segment", f->segment);
    audit_json_string(j, "after", f->after);
    audit_json_u64(j, "torn_bytes", f->torn_bytes);
    put_hash_or_empty(j, "torn_sha256", f->torn_bytes ? f->torn_hash : NULL);
    audit_json_string(j, "key", f->key_id);
    audit_json_string(j, "writer", "kiln " KILN_AUDIT_WRITER_VERSION);
    audit_json_u64(j, "pid", f->pid);
    audit_json_end(j);
}

void audit_encode_event(audit_json *j, const audit_head *h, uint64_t wall_ns, uint64_t mono_ns,
                        const audit_event *e)
{
    put_head(j, h, AUDIT_TYPE_EVENT);
    put_times(j, wall_ns, mono_ns);
    audit_json_string(j, "principal", e->principal);
    audit_json_string(j, "action", e->action);
    audit_json_i64(j, "device", e->device);
    audit_json_u64(j, "bytes", e->bytes);
    audit_json_string(j, "kernel", e->kernel);
    audit_json_string(j, "decision", e->allowed ? "allow" : "deny");
    audit_json_string(j, "rule", e->rule);
    audit_json_string(j, "reason", e->reason);
    audit_json_string(j, "outcome", kiln_status_name(e->outcome));
    audit_json_string(j, "ran_on", e->ran_on);
    put_hash_or_empty(j, "policy", e->policy_hash);
    audit_json_end(j);
}

void audit_encode_summary(audit_json *j, const audit_head *h, const audit_summary_fields *f)
{
    put_head(j, h, AUDIT_TYPE_SUMMARY);
    put_times(j, f->wall_ns, f->mono_ns);
    audit_json_string(j, "principal", f->principal);
    audit_json_string(j, "action", "kernel.launch");
    audit_json_string(j, "kernel", f->kernel);
    audit_json_i64(j, "device", f->device);
    audit_json_u64(j, "window_ms", f->window_ms);
    audit_json_u64(j, "ok", f->ok);
    audit_json_u64(j, "denied", f->denied);
    audit_json_u64(j, "failed", f->failed);
    audit_json_end(j);
}

void audit_encode_checkpoint(audit_json *j, const audit_head *h, const audit_checkpoint_fields *f)
{
    char sig[AUDIT_SIGNATURE_HEX + 1] = "";
    if (f->signature)
        audit_hex(f->signature, AUDIT_SIGNATURE_BYTES, sig);
    put_head(j, h, AUDIT_TYPE_CHECKPOINT);
    audit_json_u64(j, "count", f->count);
    audit_json_string(j, "close", f->close);
    audit_json_string(j, "key", f->key_id);
    audit_json_text(j, "sig", sig, strlen(sig), false);
    audit_json_end(j);
}

size_t audit_signed_message(uint64_t seq, const uint8_t prev[AUDIT_HASH_BYTES], uint64_t count,
                            const char *close, char out[AUDIT_SIGNED_MAX])
{
    char hex[AUDIT_HASH_HEX + 1];
    audit_hex(prev, AUDIT_HASH_BYTES, hex);
    int n = snprintf(out, AUDIT_SIGNED_MAX,
                     "kiln-audit-checkpoint v%d seq=%llu prev=%s count=%llu close=%s",
                     AUDIT_FORMAT_VERSION, (unsigned long long)seq, hex,
                     (unsigned long long)count, close);
    return n < 0 ? 0 : (size_t)n < AUDIT_SIGNED_MAX ? (size_t)n : AUDIT_SIGNED_MAX - 1;
}

/* ---- schemas ---- */

typedef enum field_kind {
    FIELD_TEXT,          /* any text */
    FIELD_UINT,          /* integer >= 0 */
    FIELD_INT,           /* any integer */
    FIELD_HASH,          /* 64 lowercase hex digits */
    FIELD_HASH_OR_EMPTY, /* the same, or "" */
    FIELD_SIG_OR_EMPTY,  /* 128 lowercase hex digits, or "" */
    FIELD_WALL           /* a wall time as audit_format_wall writes it */
} field_kind;

typedef struct field_spec {
    const char *key;
    field_kind kind;
} field_spec;

#define HEAD_FIELDS { "v", FIELD_UINT }, { "seq", FIELD_UINT }, { "prev", FIELD_HASH }, \
                    { "type", FIELD_TEXT }
#define TIME_FIELDS { "wall", FIELD_WALL }, { "mono_ns", FIELD_UINT }

static const field_spec open_schema[] = { HEAD_FIELDS, TIME_FIELDS,
                                          { "segment", FIELD_UINT },
                                          { "after", FIELD_TEXT },
                                          { "torn_bytes", FIELD_UINT },
                                          { "torn_sha256", FIELD_HASH_OR_EMPTY },
                                          { "key", FIELD_TEXT },
                                          { "writer", FIELD_TEXT },
                                          { "pid", FIELD_UINT } };
static const field_spec event_schema[] = { HEAD_FIELDS, TIME_FIELDS,
                                           { "principal", FIELD_TEXT },
                                           { "action", FIELD_TEXT },
                                           { "device", FIELD_INT },
                                           { "bytes", FIELD_UINT },
                                           { "kernel", FIELD_TEXT },
                                           { "decision", FIELD_TEXT },
                                           { "rule", FIELD_TEXT },
                                           { "reason", FIELD_TEXT },
                                           { "outcome", FIELD_TEXT },
                                           { "ran_on", FIELD_TEXT },
                                           { "policy", FIELD_HASH_OR_EMPTY } };
static const field_spec summary_schema[] = { HEAD_FIELDS, TIME_FIELDS,
                                             { "principal", FIELD_TEXT },
                                             { "action", FIELD_TEXT },
                                             { "kernel", FIELD_TEXT },
                                             { "device", FIELD_INT },
                                             { "window_ms", FIELD_UINT },
                                             { "ok", FIELD_UINT },
                                             { "denied", FIELD_UINT },
                                             { "failed", FIELD_UINT } };
static const field_spec checkpoint_schema[] = { HEAD_FIELDS,
                                                { "count", FIELD_UINT },
                                                { "close", FIELD_TEXT },
                                                { "key", FIELD_TEXT },
                                                { "sig", FIELD_SIG_OR_EMPTY } };

static const struct {
    const char *type;
    const field_spec *fields;
    size_t count;
} schemas[] = {
    { AUDIT_TYPE_OPEN, open_schema, sizeof open_schema / sizeof open_schema[0] },
    { AUDIT_TYPE_EVENT, event_schema, sizeof event_schema / sizeof event_schema[0] },
    { AUDIT_TYPE_SUMMARY, summary_schema, sizeof summary_schema / sizeof summary_schema[0] },
    { AUDIT_TYPE_CHECKPOINT, checkpoint_schema,
      sizeof checkpoint_schema / sizeof checkpoint_schema[0] },
};

static bool is_hex(const audit_field *f, size_t digits)
{
    uint8_t scratch[AUDIT_SIGNATURE_BYTES];
    return f->text_length == digits && digits / 2 <= sizeof scratch &&
           audit_unhex(f->text, f->text_length, scratch, digits / 2);
}

static bool is_wall(const audit_field *f)
{
    /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ": digits everywhere but the marks. */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
    if (f->text_length != sizeof shape - 1)
        return false;
    for (size_t i = 0; i < f->text_length; i++) {
        char c = f->text[i];
        if (shape[i] == 'd' ? (c < '0' || c > '9') : c != shape[i])
            return false;
    }
    return true;
}

static bool field_matches(const audit_field *f, field_kind kind)
{
    switch (kind) {
    case FIELD_TEXT:
        return f->kind == AUDIT_VALUE_TEXT;
    case FIELD_UINT:
        return f->kind == AUDIT_VALUE_INT && !f->negative;
    case FIELD_INT:
        return f->kind == AUDIT_VALUE_INT && f->magnitude <= (uint64_t)INT64_MAX + f->negative;
    case FIELD_HASH:
        return f->kind == AUDIT_VALUE_TEXT && is_hex(f, AUDIT_HASH_HEX);
    case FIELD_HASH_OR_EMPTY:
        return f->kind == AUDIT_VALUE_TEXT && (f->text_length == 0 || is_hex(f, AUDIT_HASH_HEX));
    case FIELD_SIG_OR_EMPTY:
        return f->kind == AUDIT_VALUE_TEXT &&
               (f->text_length == 0 || is_hex(f, AUDIT_SIGNATURE_HEX));
    case FIELD_WALL:
        return f->kind == AUDIT_VALUE_TEXT && is_wall(f);
    }
    return false;
}

static const char *kind_name(field_kind kind)
{
    switch (kind) {
    case FIELD_TEXT:
        return "text";
    case FIELD_UINT:
        return "an integer >= 0";
    case FIELD_INT:
        return "an integer";
    case FIELD_HASH:
        return "64 hex digits";
    case FIELD_HASH_OR_EMPTY:
        return "64 hex digits or \"\"";
    case FIELD_SIG_OR_EMPTY:
        return "128 hex digits or \"\"";
    case FIELD_WALL:
        return "a UTC time";
    }
    return "?";
}

bool audit_schema_check(const audit_parsed *p, const char **type, char *why, size_t why_size)
{
    const audit_field *t = audit_parsed_get(p, "type");
    if (!t || t->kind != AUDIT_VALUE_TEXT) {
        snprintf(why, why_size, "no \"type\" text field");
        return false;
    }
    for (size_t s = 0; s < sizeof schemas / sizeof schemas[0]; s++) {
        if (!audit_field_is(t, schemas[s].type))
            continue;
        *type = schemas[s].type;
        for (size_t i = 0; i < schemas[s].count && i < p->count; i++) {
            const field_spec *spec = &schemas[s].fields[i];
            const audit_field *f = &p->fields[i];
            if (f->key_length != strlen(spec->key) || memcmp(f->key, spec->key, f->key_length) != 0) {
                snprintf(why, why_size, "%s record: field %zu is \"%.*s\", expected \"%s\"",
                         schemas[s].type, i + 1, (int)(f->key_length > 40 ? 40 : f->key_length),
                         f->key, spec->key);
                return false;
            }
            if (!field_matches(f, spec->kind)) {
                snprintf(why, why_size, "%s record: \"%s\" is not %s", schemas[s].type,
                         spec->key, kind_name(spec->kind));
                return false;
            }
        }
        if (p->count != schemas[s].count) {
            snprintf(why, why_size, "%s record: %zu fields, expected %zu", schemas[s].type,
                     p->count, schemas[s].count);
            return false;
        }
        return true;
    }
    snprintf(why, why_size, "unknown record type");
    return false;
}
