/* The verifier: walks the records of one or more segments in order and
 * checks, for each line, its form (audit_parse.c), its sequence number, its
 * "prev" against the SHA-256 of the line before, where log.open records may
 * stand, and each checkpoint's count and signature. The first failure is the
 * verdict; its message names the line and what is wrong.
 *
 * The writer uses the same walk to check a log before appending to it
 * (audit_log.c), which is why the chain state is kept in a struct. */
#include "audit_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "util/fail.h"

/* Bytes read at a time; a line is at most AUDIT_LINE_MAX. */
#define VERIFY_CHUNK (1u << 20)

const char *audit_verdict_name(audit_verdict verdict)
{
    switch (verdict) {
    case AUDIT_VERIFY_OK:
        return "OK";
    case AUDIT_VERIFY_TORN:
        return "TORN";
    case AUDIT_VERIFY_UNCLOSED:
        return "UNCLOSED";
    case AUDIT_VERIFY_BAD_RECORD:
        return "BAD_RECORD";
    case AUDIT_VERIFY_HASH_MISMATCH:
        return "HASH_MISMATCH";
    case AUDIT_VERIFY_SEQ_GAP:
        return "SEQ_GAP";
    case AUDIT_VERIFY_SEQ_ORDER:
        return "SEQ_ORDER";
    case AUDIT_VERIFY_BAD_SIGNATURE:
        return "BAD_SIGNATURE";
    case AUDIT_VERIFY_BAD_LINK:
        return "BAD_LINK";
    case AUDIT_VERIFY_IO:
        return "IO";
    }
    return "UNKNOWN";
}

void audit_chain_init(audit_chain *c, const audit_public_key *keys, size_t key_count,
                      audit_verify_result *result)
{
    memset(c, 0, offsetof(audit_chain, parsed));
    c->keys = keys;
    c->key_count = key_count;
    c->result = result;
    memset(result, 0, sizeof *result);
    result->file = "";
}

void audit_chain_segment(audit_chain *c, const char *name)
{
    c->segment_started = false;
    c->line = 0;
    c->valid_bytes = 0;
    c->result->file = name;
    c->result->segments++;
}

static bool stop(audit_chain *c, audit_verdict verdict, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool stop(audit_chain *c, audit_verdict verdict, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->result->message, sizeof c->result->message, fmt, ap);
    va_end(ap);
    c->result->verdict = verdict;
    c->result->line = c->line;
    c->failed = true;
    return false;
}

static uint64_t field_u64(const audit_parsed *p, const char *key)
{
    const audit_field *f = audit_parsed_get(p, key);
    return f ? f->magnitude : 0;
}

static bool check_seq_and_prev(audit_chain *c, uint64_t seq, const uint8_t *prev)
{
    if (seq > c->next_seq)
        return stop(c, AUDIT_VERIFY_SEQ_GAP,
                    "seq %llu where %llu was due: %llu record(s) missing (deleted) or moved",
                    (unsigned long long)seq, (unsigned long long)c->next_seq,
                    (unsigned long long)(seq - c->next_seq));
    if (seq < c->next_seq)
        return stop(c, AUDIT_VERIFY_SEQ_ORDER,
                    "seq %llu after seq %llu: records reordered, duplicated or inserted",
                    (unsigned long long)seq, (unsigned long long)(c->next_seq - 1));
    if (memcmp(prev, c->prev, AUDIT_HASH_BYTES) != 0)
        return stop(c, AUDIT_VERIFY_HASH_MISMATCH,
                    "prev is not the SHA-256 of the line before: that line was edited, or this "
                    "one inserted");
    return true;
}

/* The first record of a segment: a log.open that links to what came before
 * (or starts the chain). */
static bool check_segment_start(audit_chain *c, uint64_t seq, const uint8_t *prev,
                                const audit_parsed *p, const char *type)
{
    if (strcmp(type, AUDIT_TYPE_OPEN) != 0)
        return stop(c, AUDIT_VERIFY_BAD_RECORD,
                    "the segment does not start with a log.open record (its first records "
                    "were deleted?)");
    uint64_t segment = field_u64(p, "segment");
    const audit_field *after = audit_parsed_get(p, "after");
    if (!c->started) {
        static const uint8_t zero[AUDIT_HASH_BYTES] = { 0 };
        if (segment == 0 && (seq != 0 || memcmp(prev, zero, sizeof zero) != 0 ||
                             !audit_field_is(after, AUDIT_AFTER_FRESH)))
            return stop(c, AUDIT_VERIFY_BAD_LINK,
                        "segment 0 must start a fresh chain (seq 0, prev of zeros)");
        if (segment > 0 && !audit_field_is(after, AUDIT_AFTER_ROTATE))
            return stop(c, AUDIT_VERIFY_BAD_LINK,
                        "segment %llu does not start after a rotation",
                        (unsigned long long)segment);
        c->next_seq = seq;
        memcpy(c->prev, prev, AUDIT_HASH_BYTES);
        c->last_checkpoint_seq_plus1 = seq;
        c->segment = segment;
        return true;
    }
    if (strcmp(c->close, AUDIT_CLOSE_ROTATE) != 0)
        return stop(c, AUDIT_VERIFY_BAD_LINK,
                    "the segment before does not end with a rotation checkpoint");
    if (segment != c->segment + 1 || !audit_field_is(after, AUDIT_AFTER_ROTATE))
        return stop(c, AUDIT_VERIFY_BAD_LINK,
                    "segment %llu follows segment %llu: segments missing or out of order",
                    (unsigned long long)segment, (unsigned long long)c->segment);
    if (!check_seq_and_prev(c, seq, prev)) {
        c->result->verdict = AUDIT_VERIFY_BAD_LINK;
        return false;
    }
    c->segment = segment;
    return true;
}

/* A log.open inside a segment: the writer reopened the log. */
static bool check_reopen(audit_chain *c, const audit_parsed *p)
{
    const audit_field *after = audit_parsed_get(p, "after");
    bool closed = strcmp(c->close, AUDIT_CLOSE_CLOSE) == 0;
    if (field_u64(p, "segment") != c->segment)
        return stop(c, AUDIT_VERIFY_BAD_RECORD, "log.open names another segment");
    /* A torn line may follow either: it is cut off before the log.open. */
    bool torn = audit_field_is(after, AUDIT_AFTER_TORN);
    if (!torn && (closed ? !audit_field_is(after, AUDIT_AFTER_CLOSE)
                         : !audit_field_is(after, AUDIT_AFTER_CRASH)))
        return stop(c, AUDIT_VERIFY_BAD_RECORD,
                    "log.open says after \"%.*s\", which does not match the record before",
                    (int)(after ? after->text_length : 0), after ? after->text : "");
    if (!closed || torn)
        c->result->unclean_reopens++;
    return true;
}

static const audit_public_key *find_key(const audit_chain *c, const audit_field *key)
{
    for (size_t i = 0; i < c->key_count; i++)
        if (audit_field_is(key, c->keys[i].id))
            return &c->keys[i];
    return NULL;
}

static bool check_checkpoint(audit_chain *c, uint64_t seq, const audit_parsed *p)
{
    uint64_t count = field_u64(p, "count");
    uint64_t expected = seq - c->last_checkpoint_seq_plus1;
    const audit_field *close = audit_parsed_get(p, "close");
    const audit_field *key = audit_parsed_get(p, "key");
    const audit_field *sig = audit_parsed_get(p, "sig");
    if (count != expected)
        return stop(c, AUDIT_VERIFY_BAD_SIGNATURE,
                    "checkpoint counts %llu records since the last one, the log has %llu",
                    (unsigned long long)count, (unsigned long long)expected);
    if (!audit_field_is(close, AUDIT_CLOSE_NONE) && !audit_field_is(close, AUDIT_CLOSE_CLOSE) &&
        !audit_field_is(close, AUDIT_CLOSE_ROTATE))
        return stop(c, AUDIT_VERIFY_BAD_RECORD, "checkpoint \"close\" is not none/close/rotate");
    if (!audit_field_is(key, c->key_id))
        return stop(c, AUDIT_VERIFY_BAD_SIGNATURE,
                    "checkpoint key \"%.*s\" differs from the key of its log.open (\"%s\")",
                    (int)(key->text_length > 20 ? 20 : key->text_length), key->text,
                    c->key_id);
    bool unsigned_cp = audit_field_is(key, AUDIT_UNSIGNED_KEY);
    if (unsigned_cp != (sig->text_length == 0))
        return stop(c, AUDIT_VERIFY_BAD_SIGNATURE, "checkpoint key and signature disagree");
    if (unsigned_cp) {
        if (c->key_count && !c->lenient_keys)
            return stop(c, AUDIT_VERIFY_BAD_SIGNATURE,
                        "unsigned checkpoint, but a key was given: signatures were removed");
    } else {
        c->result->is_signed = true;
        const audit_public_key *pub = find_key(c, key);
        if (!pub && c->key_count && !c->lenient_keys)
            return stop(c, AUDIT_VERIFY_BAD_SIGNATURE,
                        "checkpoint signed by key %s, which is not among the keys given",
                        c->key_id);
        if (pub) {
            uint8_t signature[AUDIT_SIGNATURE_BYTES];
            char message[AUDIT_SIGNED_MAX];
            char close_text[8] = "";
            memcpy(close_text, close->text, close->text_length);
            size_t n = audit_signed_message(seq, c->prev, count, close_text, message);
            if (!audit_unhex(sig->text, sig->text_length, signature, sizeof signature) ||
                crypto_sign_verify_detached(signature, (const unsigned char *)message, n,
                                            pub->bytes) != 0)
                return stop(c, AUDIT_VERIFY_BAD_SIGNATURE,
                            "checkpoint signature does not verify with key %s: the records it "
                            "covers or the checkpoint were changed",
                            pub->id);
            c->result->signatures++;
        }
    }
    memcpy(c->close, close->text, close->text_length);
    c->close[close->text_length] = '\0';
    c->last_checkpoint_seq_plus1 = seq + 1;
    c->result->checkpoints++;
    return true;
}

bool audit_chain_line(audit_chain *c, const char *line, size_t length)
{
    if (c->failed)
        return false;
    c->line++;
    char why[160];
    audit_parsed *p = &c->parsed;
    const char *type = NULL;
    audit_parse_status ps = audit_parse_line(line, length, p, why, sizeof why);
    if (ps != AUDIT_PARSE_OK || !audit_schema_check(p, &type, why, sizeof why))
        return stop(c, AUDIT_VERIFY_BAD_RECORD, "not a valid record: %s", why);
    if (field_u64(p, "v") != AUDIT_FORMAT_VERSION)
        return stop(c, AUDIT_VERIFY_BAD_RECORD, "format version %llu is not %d",
                    (unsigned long long)field_u64(p, "v"), AUDIT_FORMAT_VERSION);
    uint64_t seq = field_u64(p, "seq");
    c->result->seq = seq;
    uint8_t prev[AUDIT_HASH_BYTES];
    const audit_field *prev_field = audit_parsed_get(p, "prev");
    audit_unhex(prev_field->text, prev_field->text_length, prev, sizeof prev);

    if (!c->segment_started) {
        if (!check_segment_start(c, seq, prev, p, type))
            return false;
    } else {
        if (!check_seq_and_prev(c, seq, prev))
            return false;
        if (strcmp(c->close, AUDIT_CLOSE_ROTATE) == 0)
            return stop(c, AUDIT_VERIFY_BAD_RECORD,
                        "a record after the segment's rotation checkpoint (inserted)");
        if (strcmp(c->close, AUDIT_CLOSE_CLOSE) == 0 && strcmp(type, AUDIT_TYPE_OPEN) != 0)
            return stop(c, AUDIT_VERIFY_BAD_RECORD,
                        "a record after the closing checkpoint that is not a log.open");
        if (strcmp(type, AUDIT_TYPE_OPEN) == 0 && !check_reopen(c, p))
            return false;
    }
    c->close[0] = '\0';
    if (strcmp(type, AUDIT_TYPE_OPEN) == 0) {
        const audit_field *key = audit_parsed_get(p, "key");
        if (key->text_length >= sizeof c->key_id)
            return stop(c, AUDIT_VERIFY_BAD_RECORD, "log.open key id too long");
        memcpy(c->key_id, key->text, key->text_length);
        c->key_id[key->text_length] = '\0';
    } else if (strcmp(type, AUDIT_TYPE_CHECKPOINT) == 0 && !check_checkpoint(c, seq, p))
        return false;

    audit_sha256(line, length, c->prev);
    c->next_seq = seq + 1;
    c->started = c->segment_started = true;
    c->valid_bytes += length + 1;
    c->result->records++;
    return true;
}

void audit_chain_segment_end(audit_chain *c, const char *tail, size_t length, bool last)
{
    if (c->failed)
        return;
    if (length > 0) {
        c->line++;
        char why[160];
        audit_parse_status ps = audit_parse_line(tail, length, &c->parsed, why, sizeof why);
        if (ps == AUDIT_PARSE_BAD)
            stop(c, AUDIT_VERIFY_BAD_RECORD, "last line (no newline) is not a record: %s", why);
        else if (!last)
            stop(c, AUDIT_VERIFY_BAD_LINK,
                 "torn last line (%zu bytes) in a segment that another follows", length);
        else
            stop(c, AUDIT_VERIFY_TORN,
                 "the last line (%zu bytes, no newline) is a torn write: the writer crashed "
                 "while writing it; the %llu records before it verify",
                 length, (unsigned long long)c->result->records);
        return;
    }
    if (!c->segment_started) {
        c->line = 0;
        stop(c, last ? AUDIT_VERIFY_UNCLOSED : AUDIT_VERIFY_BAD_LINK,
             "the segment has no records (truncated to nothing, or its writer crashed before "
             "the first)");
        return;
    }
    if (!last && strcmp(c->close, AUDIT_CLOSE_ROTATE) != 0)
        stop(c, AUDIT_VERIFY_BAD_LINK,
             "the segment does not end with a rotation checkpoint, yet another follows");
    else if (last && strcmp(c->close, AUDIT_CLOSE_CLOSE) != 0)
        stop(c, AUDIT_VERIFY_UNCLOSED,
             strcmp(c->close, AUDIT_CLOSE_ROTATE) == 0
                 ? "the segment ends with a rotation checkpoint, but the segment after it was "
                   "not given (deleted?)"
                 : "no closing checkpoint after the last record (seq %llu): the log was "
                   "truncated, or its writer is still running or crashed",
             (unsigned long long)(c->next_seq - 1));
}

static kiln_status io_failure(audit_chain *c, const char *path, const char *what, int e)
{
    char text[96];
    stop(c, AUDIT_VERIFY_IO, "cannot %s %s: %s", what, path,
         audit_errno_text(e, text, sizeof text));
    return util_fail(KILN_ERR_AUDIT, "%s", c->result->message);
}

kiln_status audit_chain_file(audit_chain *c, const char *path, bool last)
{
    audit_chain_segment(c, path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return io_failure(c, path, "open", errno);
    char *buf = malloc(VERIFY_CHUNK + AUDIT_LINE_MAX + 1);
    if (!buf) {
        (void)fclose(f);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit verify: out of memory");
    }
    size_t have = 0;
    kiln_status st = KILN_OK;
    for (;;) {
        size_t got = fread(buf + have, 1, VERIFY_CHUNK, f);
        if (got == 0 && ferror(f)) {
            st = io_failure(c, path, "read", errno);
            break;
        }
        have += got;
        size_t start = 0;
        for (char *nl; !c->failed && (nl = memchr(buf + start, '\n', have - start));) {
            audit_chain_line(c, buf + start, (size_t)(nl - (buf + start)));
            start = (size_t)(nl - buf) + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (c->failed)
            break;
        if (got == 0) {
            audit_chain_segment_end(c, buf, have, last);
            break;
        }
        if (have > (size_t)AUDIT_LINE_MAX) {
            c->line++;
            stop(c, AUDIT_VERIFY_BAD_RECORD, "a line longer than any record (%d bytes)",
                 AUDIT_LINE_MAX);
            break;
        }
    }
    free(buf);
    (void)fclose(f);
    return st;
}

kiln_status audit_verify_files(const char *const *paths, size_t count,
                               const audit_public_key *keys, size_t key_count,
                               audit_verify_result *out)
{
    if (!out || (!paths && count))
        return util_fail(KILN_ERR_NULL_HANDLE, "audit verify: paths or result is NULL");
    if (count == 0)
        return util_fail(KILN_ERR_INVALID_ARG, "audit verify: no segment given");
    if (sodium_init() < 0)
        return util_fail(KILN_ERR_INTERNAL, "libsodium failed to initialise");
    audit_chain *c = malloc(sizeof *c);
    if (!c)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit verify: out of memory");
    audit_chain_init(c, keys, key_count, out);
    kiln_status st = KILN_OK;
    for (size_t i = 0; i < count && st == KILN_OK && !c->failed; i++)
        st = audit_chain_file(c, paths[i], i + 1 == count);
    free(c);
    return st;
}

kiln_status audit_verify_buffer(const char *data, size_t length, const char *name,
                                const audit_public_key *keys, size_t key_count,
                                audit_verify_result *out)
{
    if (!out || (!data && length))
        return util_fail(KILN_ERR_NULL_HANDLE, "audit verify: data or result is NULL");
    if (sodium_init() < 0)
        return util_fail(KILN_ERR_INTERNAL, "libsodium failed to initialise");
    audit_chain *c = malloc(sizeof *c);
    if (!c)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit verify: out of memory");
    audit_chain_init(c, keys, key_count, out);
    audit_chain_segment(c, name ? name : "");
    size_t start = 0;
    /* data may be NULL when length is 0: memchr must not see it then. */
    for (const char *nl; !c->failed && start < length &&
                         (nl = memchr(data + start, '\n', length - start));) {
        audit_chain_line(c, data + start, (size_t)(nl - (data + start)));
        start = (size_t)(nl - data) + 1;
    }
    audit_chain_segment_end(c, data ? data + start : "", length - start, true);
    free(c);
    return KILN_OK;
}

/* ---- segments of a log ---- */

typedef struct numbered {
    unsigned long long number;
    char *path;
} numbered;

static int by_number(const void *a, const void *b)
{
    const numbered *x = a, *y = b;
    return x->number < y->number ? -1 : x->number > y->number;
}

/* If name is base + "." + digits, its number. */
static bool segment_number(const char *name, const char *base, unsigned long long *number)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0 || name[n] != '.' || !name[n + 1])
        return false;
    char *end;
    errno = 0;
    *number = strtoull(name + n + 1, &end, 10);
    return *end == '\0' && errno == 0 && name[n + 1] >= '0' && name[n + 1] <= '9';
}

kiln_status audit_segments(const char *path, char ***paths, size_t *count)
{
    if (!path || !paths || !count)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit segments: NULL argument");
    *paths = NULL;
    *count = 0;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dir_length = slash ? (size_t)(slash - path) + 1 : 0;
    char *dir = strndup(slash ? path : "./", slash ? dir_length : 2);
    numbered *found = NULL;
    size_t n = 0, cap = 0, bytes = 0;
    kiln_status st = KILN_OK;
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        char text[96];
        st = dir ? util_fail(KILN_ERR_AUDIT, "cannot list %s: %s", dir,
                             audit_errno_text(errno, text, sizeof text))
                 : util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit segments: out of memory");
        free(dir);
        return st;
    }
    for (struct dirent *e; st == KILN_OK && (e = readdir(d));) {
        unsigned long long number;
        if (!segment_number(e->d_name, base, &number))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            numbered *grown = realloc(found, cap * sizeof *found);
            if (!grown) {
                st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit segments: out of memory");
                break;
            }
            found = grown;
        }
        found[n].number = number;
        if (asprintf(&found[n].path, "%.*s%s", (int)dir_length, path, e->d_name) < 0) {
            st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit segments: out of memory");
            break;
        }
        bytes += strlen(found[n++].path) + 1;
    }
    (void)closedir(d);
    free(dir);
    bool live = access(path, F_OK) == 0;
    if (st == KILN_OK && n == 0 && !live)
        st = util_fail(KILN_ERR_AUDIT, "no audit log at %s (nor rotated segments %s.N)", path,
                       path);
    if (st == KILN_OK) {
        if (n > 1)
            qsort(found, n, sizeof *found, by_number);
        size_t total = n + live;
        bytes += live ? strlen(path) + 1 : 0;
        char **list = malloc(total * sizeof *list + bytes);
        if (!list)
            st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit segments: out of memory");
        else {
            char *text = (char *)(list + total);
            for (size_t i = 0; i < total; i++) {
                const char *s = i < n ? found[i].path : path;
                size_t size = strlen(s) + 1; /* counted into bytes above */
                list[i] = memcpy(text, s, size);
                text += size;
            }
            *paths = list;
            *count = total;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(found[i].path);
    free(found);
    return st;
}
