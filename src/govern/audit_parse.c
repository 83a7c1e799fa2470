/* Reading one audit line back: a strict parser for the only JSON the writer
 * produces (one flat object of string and integer values, no whitespace),
 * followed by the canonical-form check. Being strict is the point: a record
 * has one valid spelling, so no byte of it can change without the verifier
 * noticing, even in the last record, which no later "prev" covers.
 *
 * The parser also tells a line that ends too early (a torn write: the
 * writer crashed) from one that is wrong before its end (tampering). */
#include "audit_internal.h"

#include <stdio.h>
#include <string.h>

typedef struct parser {
    const char *s;
    size_t n, pos;
    audit_parsed *out;
    size_t scratch_used;
    bool truncated; /* the input ended where more was expected */
    char *why;
    size_t why_size;
} parser;

#define UTF16_HIGH_FIRST 0xD800u
#define UTF16_LOW_FIRST 0xDC00u
#define UTF16_LOW_LAST 0xDFFFu
#define UTF16_BYTE_ESCAPE_FIRST 0xDC80u
#define UTF16_BYTE_ESCAPE_LAST 0xDCFFu
#define HEX_DIGITS_IN_ESCAPE 4
/* Digits of UINT64_MAX: a longer integer overflows. */
#define UINT64_DIGITS 20

static bool bad(parser *p, const char *what)
{
    snprintf(p->why, p->why_size, "%s at byte %zu", what, p->pos + 1);
    return false;
}

static bool at_end(parser *p)
{
    if (p->pos < p->n)
        return false;
    p->truncated = true;
    snprintf(p->why, p->why_size, "the line ends inside the record");
    return true;
}

static bool expect(parser *p, char c, const char *what)
{
    if (at_end(p))
        return false;
    if (p->s[p->pos] != c)
        return bad(p, what);
    p->pos++;
    return true;
}

static void scratch_put(parser *p, const void *bytes, size_t n)
{
    /* Decoding never makes text longer than its source, so this fits. */
    memcpy(p->out->scratch + p->scratch_used, bytes, n);
    p->scratch_used += n;
}

static size_t utf8_encode(unsigned cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool read_u_escape(parser *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < HEX_DIGITS_IN_ESCAPE; i++) {
        if (at_end(p))
            return false;
        char c = p->s[p->pos];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return bad(p, "bad \\u escape");
        v = v << 4 | (unsigned)d;
        p->pos++;
    }
    *out = v;
    return true;
}

static bool decode_u(parser *p)
{
    unsigned cp;
    if (!read_u_escape(p, &cp))
        return false;
    if (cp >= UTF16_BYTE_ESCAPE_FIRST && cp <= UTF16_BYTE_ESCAPE_LAST) {
        char byte = (char)(cp & 0xFF); /* a byte that is not UTF-8 */
        scratch_put(p, &byte, 1);
        return true;
    }
    if (cp >= UTF16_LOW_FIRST && cp <= UTF16_LOW_LAST)
        return bad(p, "lone low surrogate");
    if (cp >= UTF16_HIGH_FIRST && cp < UTF16_LOW_FIRST) {
        unsigned low;
        if (!expect(p, '\\', "high surrogate without its low half") ||
            !expect(p, 'u', "high surrogate without its low half") || !read_u_escape(p, &low))
            return false;
        if (low < UTF16_LOW_FIRST || low > UTF16_LOW_LAST)
            return bad(p, "high surrogate without its low half");
        cp = 0x10000 + ((cp - UTF16_HIGH_FIRST) << 10) + (low - UTF16_LOW_FIRST);
    }
    char utf8[4];
    size_t n = utf8_encode(cp, utf8);
    scratch_put(p, utf8, n);
    return true;
}

/* A string after its opening quote; its decoded bytes go to the scratch. */
static bool parse_string(parser *p, const char **text, size_t *length)
{
    *text = p->out->scratch + p->scratch_used;
    size_t start = p->scratch_used;
    for (;;) {
        if (at_end(p))
            return false;
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20)
            return bad(p, "control byte in a string");
        if (c != '\\') {
            scratch_put(p, &c, 1);
            p->pos++;
            continue;
        }
        p->pos++;
        if (at_end(p))
            return false;
        char e = p->s[p->pos++];
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(from, e) : NULL;
        if (hit)
            scratch_put(p, &to[hit - from], 1);
        else if (e == 'u') {
            if (!decode_u(p))
                return false;
        } else {
            p->pos--;
            return bad(p, "unknown escape");
        }
    }
    *length = p->scratch_used - start;
    return true;
}

static bool parse_key(parser *p, audit_field *f)
{
    if (!expect(p, '"', "expected a quoted key"))
        return false;
    char *key = p->out->scratch + p->scratch_used;
    size_t start = p->pos;
    for (;;) {
        if (at_end(p))
            return false;
        char c = p->s[p->pos];
        if (c == '"')
            break;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return bad(p, "a key may hold only a-z, 0-9 and _");
        p->pos++;
    }
    f->key_length = p->pos - start;
    scratch_put(p, p->s + start, f->key_length);
    scratch_put(p, "", 1);
    f->key = key;
    p->pos++;
    return expect(p, ':', "expected ':' after a key");
}

static bool parse_integer(parser *p, audit_field *f)
{
    f->kind = AUDIT_VALUE_INT;
    f->negative = p->s[p->pos] == '-';
    if (f->negative)
        p->pos++;
    uint64_t v = 0;
    size_t digits = 0;
    while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        unsigned d = (unsigned)(p->s[p->pos] - '0');
        if (++digits > UINT64_DIGITS || v > (UINT64_MAX - d) / 10)
            return bad(p, "integer out of range");
        v = v * 10 + d;
        p->pos++;
    }
    if (digits == 0)
        return at_end(p) ? false : bad(p, "expected a digit");
    if (f->negative && (v == 0 || v > (uint64_t)INT64_MAX + 1))
        return bad(p, "negative integer out of range");
    f->magnitude = v;
    return true;
}

static bool parse_object(parser *p)
{
    if (!expect(p, '{', "a record starts with '{'"))
        return false;
    for (;;) {
        if (p->out->count == AUDIT_FIELDS_MAX)
            return bad(p, "too many fields");
        audit_field *f = &p->out->fields[p->out->count];
        memset(f, 0, sizeof *f);
        if (!parse_key(p, f) || at_end(p))
            return false;
        char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            f->kind = AUDIT_VALUE_TEXT;
            if (!parse_string(p, &f->text, &f->text_length))
                return false;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if (!parse_integer(p, f))
                return false;
        } else
            return bad(p, "a value is a string or an integer");
        p->out->count++;
        if (at_end(p))
            return false;
        c = p->s[p->pos++];
        if (c == '}')
            break;
        if (c != ',') {
            p->pos--;
            return bad(p, "expected ',' or '}'");
        }
    }
    if (p->pos != p->n)
        return bad(p, "bytes after the record");
    return true;
}

static bool canonical(parser *p)
{
    audit_parsed *out = p->out;
    audit_json j;
    audit_json_begin(&j, out->reencoded, sizeof out->reencoded);
    for (size_t i = 0; i < out->count; i++) {
        const audit_field *f = &out->fields[i];
        if (f->kind == AUDIT_VALUE_TEXT)
            audit_json_text(&j, f->key, f->text, f->text_length, false);
        else if (!f->negative)
            audit_json_u64(&j, f->key, f->magnitude);
        else
            audit_json_i64(&j, f->key,
                           f->magnitude > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)f->magnitude);
    }
    audit_json_end(&j);
    if (j.length == p->n && memcmp(j.data, p->s, p->n) == 0)
        return true;
    size_t at = 0;
    while (at < j.length && at < p->n && j.data[at] == p->s[at])
        at++;
    snprintf(p->why, p->why_size,
             "not in the writer's exact form (differs at byte %zu: escaping or number spelling)",
             at + 1);
    return false;
}

audit_parse_status audit_parse_line(const char *line, size_t length, audit_parsed *out,
                                    char *why, size_t why_size)
{
    parser p = { line, length, 0, out, 0, false, why, why_size };
    out->count = 0;
    if (length > (size_t)AUDIT_LINE_MAX) {
        snprintf(why, why_size, "line of %zu bytes, longer than any record (%d)", length,
                 AUDIT_LINE_MAX);
        return AUDIT_PARSE_BAD;
    }
    if (!parse_object(&p))
        return p.truncated ? AUDIT_PARSE_TRUNCATED : AUDIT_PARSE_BAD;
    return canonical(&p) ? AUDIT_PARSE_OK : AUDIT_PARSE_BAD;
}

const audit_field *audit_parsed_get(const audit_parsed *p, const char *key)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->fields[i].key, key) == 0)
            return &p->fields[i];
    return NULL;
}

bool audit_field_is(const audit_field *f, const char *s)
{
    size_t n = strlen(s);
    return f && f->kind == AUDIT_VALUE_TEXT && f->text_length == n && memcmp(f->text, s, n) == 0;
}
