/* Opening an audit log, recovering an existing one, and rotation.
 *
 * Segments: the live segment is always PATH. A rotation ends it with a
 * checkpoint whose close is "rotate", syncs it, renames it to PATH.N (N its
 * segment number) and starts a new PATH whose log.open record carries
 * segment N+1, the next seq and, as "prev", the hash of that checkpoint.
 *
 * Open: an existing PATH is verified in full (with the writer's key, if it
 * has one) before anything is appended. Clean end: a log.open "close"
 * continues it. No closing checkpoint: "crash". A torn last line: it is cut
 * off and log.open "torn" records its length and SHA-256. A rotation that
 * did not finish (PATH ends with a rotate checkpoint) is finished. Anything
 * else refuses the open. With no PATH, the highest PATH.N (if any) is the
 * segment to link to; else a fresh chain starts. */
#include "audit_log_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/fail.h"

#define LOG_FILE_MODE 0600

typedef struct recovery {
    const char *after;
    uint64_t keep_bytes;  /* the file's length after cutting a torn line */
    uint64_t torn_bytes;
    uint8_t torn_hash[AUDIT_HASH_BYTES];
} recovery;

static kiln_status io_fail(const char *what, const char *path, int e)
{
    char text[96];
    return util_fail(KILN_ERR_AUDIT, "audit log: cannot %s %s: %s", what, path,
                     audit_errno_text(e, text, sizeof text));
}

/* Makes a created or renamed name in path's directory durable. */
static int sync_directory(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    if (!dir)
        return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = fd < 0 || fsync(fd) != 0 ? errno : 0;
    if (fd >= 0)
        (void)close(fd);
    free(dir);
    return e;
}

static void adopt(audit_log *log, const audit_chain *c)
{
    log->next_seq = c->next_seq;
    memcpy(log->prev, c->prev, AUDIT_HASH_BYTES);
    log->last_checkpoint_seq_plus1 = c->last_checkpoint_seq_plus1;
    log->segment = c->segment;
}

static kiln_status verify_existing(audit_log *log, audit_chain *c, const char *path,
                                   audit_verify_result *result)
{
    audit_chain_init(c, log->has_key ? &log->key.pub : NULL, log->has_key, result);
    c->lenient_keys = true;
    return audit_chain_file(c, path, true);
}

static kiln_status refuse_existing(const char *path, const audit_verify_result *r)
{
    return util_fail(KILN_ERR_AUDIT,
                     "existing audit log %s does not verify (%s at line %llu: %s); not "
                     "appending to it",
                     path, audit_verdict_name(r->verdict), (unsigned long long)r->line,
                     r->message);
}

/* No live segment: link to the newest rotated one, or start a chain. */
static kiln_status link_rotated(audit_log *log, audit_chain *c, recovery *r)
{
    char **paths = NULL;
    size_t count = 0;
    r->after = AUDIT_AFTER_FRESH;
    if (audit_segments(log->path, &paths, &count) != KILN_OK)
        return KILN_OK; /* nothing there: a fresh chain */
    const char *newest = count && strcmp(paths[count - 1], log->path) != 0 ? paths[count - 1]
                         : count > 1 ? paths[count - 2]
                                     : NULL;
    kiln_status st = KILN_OK;
    if (newest) {
        audit_verify_result result;
        st = verify_existing(log, c, newest, &result);
        if (st == KILN_OK && (result.verdict != AUDIT_VERIFY_UNCLOSED ||
                              strcmp(c->close, AUDIT_CLOSE_ROTATE) != 0))
            st = result.verdict == AUDIT_VERIFY_UNCLOSED || result.verdict == AUDIT_VERIFY_OK
                     ? util_fail(KILN_ERR_AUDIT,
                                 "rotated segment %s does not end with a rotation checkpoint; "
                                 "not starting a segment after it",
                                 newest)
                     : refuse_existing(newest, &result);
        if (st == KILN_OK) {
            adopt(log, c);
            log->segment++;
            r->after = AUDIT_AFTER_ROTATE;
        }
    }
    free(paths);
    return st;
}

static kiln_status hash_torn(const char *path, recovery *r)
{
    char *buf = malloc(r->torn_bytes);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    kiln_status st = KILN_OK;
    if (!buf)
        st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit log: out of memory");
    else if (fd < 0 ||
             pread(fd, buf, r->torn_bytes, (off_t)r->keep_bytes) != (ssize_t)r->torn_bytes)
        st = io_fail("read the torn end of", path, fd < 0 ? errno : EIO);
    else
        audit_sha256(buf, r->torn_bytes, r->torn_hash);
    if (fd >= 0)
        (void)close(fd);
    free(buf);
    return st;
}

static kiln_status finish_rotation(audit_log *log, uint64_t segment)
{
    char *to = NULL;
    if (asprintf(&to, "%s.%llu", log->path, (unsigned long long)segment) < 0)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit log: out of memory");
    kiln_status st = KILN_OK;
    int e = 0;
    if (access(to, F_OK) == 0)
        st = util_fail(KILN_ERR_AUDIT, "audit log: cannot rotate %s: %s exists", log->path, to);
    else if (rename(log->path, to) != 0 || (e = sync_directory(log->path)) != 0)
        st = io_fail("rename to", to, e ? e : errno);
    free(to);
    return st;
}

static kiln_status recover(audit_log *log, recovery *r)
{
    struct stat sb;
    if (lstat(log->path, &sb) != 0) {
        if (errno != ENOENT)
            return io_fail("examine", log->path, errno);
    } else if (!S_ISREG(sb.st_mode))
        return util_fail(KILN_ERR_AUDIT, "audit log %s is not a regular file", log->path);
    audit_chain *c = malloc(sizeof *c);
    if (!c)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit log: out of memory");
    kiln_status st = KILN_OK;
    audit_verify_result result;
    if (access(log->path, F_OK) != 0 || sb.st_size == 0) {
        st = link_rotated(log, c, r);
    } else if ((st = verify_existing(log, c, log->path, &result)) == KILN_OK) {
        r->keep_bytes = (uint64_t)sb.st_size;
        if (result.verdict == AUDIT_VERIFY_OK) {
            r->after = AUDIT_AFTER_CLOSE;
            adopt(log, c);
        } else if (result.verdict == AUDIT_VERIFY_TORN) {
            r->after = AUDIT_AFTER_TORN;
            r->keep_bytes = c->valid_bytes;
            r->torn_bytes = (uint64_t)sb.st_size - c->valid_bytes;
            adopt(log, c);
            st = hash_torn(log->path, r);
        } else if (result.verdict == AUDIT_VERIFY_UNCLOSED &&
                   strcmp(c->close, AUDIT_CLOSE_ROTATE) == 0) {
            st = finish_rotation(log, c->segment);
            if (st == KILN_OK)
                st = link_rotated(log, c, r);
        } else if (result.verdict == AUDIT_VERIFY_UNCLOSED) {
            r->after = AUDIT_AFTER_CRASH;
            adopt(log, c);
        } else
            st = refuse_existing(log->path, &result);
    }
    free(c);
    return st;
}

typedef struct open_arg {
    audit_open_fields fields;
} open_arg;

static void encode_open(audit_json *j, const audit_head *h, const void *arg)
{
    audit_encode_open(j, h, &((const open_arg *)arg)->fields);
}

static kiln_status put_open(audit_log *log, const recovery *r)
{
    open_arg a = { { govern_clock_ns(CLOCK_REALTIME), govern_clock_ns(CLOCK_MONOTONIC),
                     log->segment, r->after, r->torn_bytes, r->torn_hash,
                     log->has_key ? log->key.pub.id : AUDIT_UNSIGNED_KEY, (uint64_t)getpid() } };
    return audit_log_put(log, encode_open, &a);
}

/* Opens path for appending; creating it makes its directory entry durable. */
static kiln_status open_segment(audit_log *log, uint64_t keep_bytes, bool cut)
{
    bool existed = access(log->path, F_OK) == 0;
    int fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, LOG_FILE_MODE);
    if (fd < 0)
        return io_fail("open", log->path, errno);
    int e = 0;
    const char *what = NULL;
    if (cut && (ftruncate(fd, (off_t)keep_bytes) != 0 || fdatasync(fd) != 0)) {
        e = errno;
        what = "cut the torn end of";
    } else if (!existed && (e = sync_directory(log->path)) != 0)
        what = "sync the directory of";
    if (what) {
        (void)close(fd);
        return io_fail(what, log->path, e);
    }
    log->fd = fd;
    log->segment_bytes = cut || existed ? keep_bytes : 0;
    return KILN_OK;
}

kiln_status audit_log_rotate_locked(audit_log *log)
{
    log->rotating = true;
    kiln_status st = audit_log_put_checkpoint(log, AUDIT_CLOSE_ROTATE);
    if (st == KILN_OK)
        st = audit_log_write_out(log, true);
    if (st == KILN_OK) {
        int old = log->fd;
        st = finish_rotation(log, log->segment);
        if (st == KILN_OK)
            st = open_segment(log, 0, false);
        if (st == KILN_OK) {
            (void)close(old);
            log->segment++;
            recovery r = { .after = AUDIT_AFTER_ROTATE };
            st = put_open(log, &r);
        }
        if (st != KILN_OK) {
            /* Keep the detail of why; the log is failed from now on. */
            snprintf(log->failure, sizeof log->failure, "rotation failed: %s", util_last_error());
            atomic_store(&log->failed, true);
            st = audit_log_refuse(log);
        }
    }
    if (st == KILN_OK)
        st = audit_log_write_out(log, true);
    log->rotating = false;
    pthread_cond_broadcast(&log->changed);
    return st;
}

void audit_log_free(audit_log *log)
{
    if (log->fd >= 0)
        (void)close(log->fd);
    audit_summary_destroy(log->summary);
    free(log->active.data);
    free(log->spare.data);
    free(log->path);
    audit_key_wipe(&log->key);
    pthread_mutex_destroy(&log->lock);
    pthread_mutex_destroy(&log->tick_lock);
    pthread_cond_destroy(&log->changed);
    pthread_cond_destroy(&log->tick_cv);
    free(log);
}

static kiln_status init_log(audit_log *log, const audit_options *o)
{
    pthread_mutex_init(&log->lock, NULL);
    pthread_mutex_init(&log->tick_lock, NULL);
    pthread_cond_init(&log->changed, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&log->tick_cv, &attr);
    pthread_condattr_destroy(&attr);
    log->fd = -1;
    atomic_init(&log->failed, false);
    log->has_key = o->key != NULL;
    if (o->key)
        log->key = *o->key;
    log->checkpoint_every = o->checkpoint_every ? o->checkpoint_every
                                                : POLICY_AUDIT_CHECKPOINT_DEFAULT;
    log->durable = o->durable;
    log->rotate_bytes = o->rotate_bytes ? o->rotate_bytes : AUDIT_ROTATE_BYTES_DEFAULT;
    log->flush_interval_ms = o->flush_interval_ms ? o->flush_interval_ms
                                                  : AUDIT_FLUSH_INTERVAL_MS_DEFAULT;
    log->summary_last_ns = govern_clock_ns(CLOCK_MONOTONIC);
    if (!(log->path = strdup(o->path)))
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit log: out of memory");
    return audit_summary_create(&log->summary);
}

kiln_status audit_log_open(const audit_options *options, audit_log **out)
{
    if (!out)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit open: out is NULL");
    *out = NULL;
    if (!options || !options->path)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit open: options or path is NULL");
    if (!options->path[0])
        return util_fail(KILN_ERR_INVALID_ARG, "audit open: the path is empty");
    if (sodium_init() < 0)
        return util_fail(KILN_ERR_INTERNAL, "libsodium failed to initialise");
    audit_log *log = calloc(1, sizeof *log);
    if (!log)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit log: out of memory");
    recovery r = { 0 };
    kiln_status st = init_log(log, options);
    if (st == KILN_OK)
        st = recover(log, &r);
    if (st == KILN_OK)
        st = open_segment(log, r.keep_bytes, r.torn_bytes > 0);
    if (st == KILN_OK) {
        pthread_mutex_lock(&log->lock);
        st = put_open(log, &r);
        /* The open record is synced even when not durable: a log that
         * cannot be written is refused here, before any work. */
        if (st == KILN_OK)
            st = audit_log_write_out(log, true);
        pthread_mutex_unlock(&log->lock);
    }
    if (st == KILN_OK && !options->manual_ticks) {
        if (pthread_create(&log->ticker, NULL, audit_log_ticker, log) != 0)
            st = util_fail(KILN_ERR_AUDIT, "audit log: cannot start its flush thread");
        else
            log->ticker_running = true;
    }
    if (st != KILN_OK) {
        audit_log_free(log); /* leaves the detail be */
        return st;
    }
    *out = log;
    return KILN_OK;
}
