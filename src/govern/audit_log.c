/* The audit writer: records are encoded and hashed into a buffer under one
 * mutex, and one thread at a time (the "writer", holding log->writing)
 * writes the buffer out while the others keep appending to a second one.
 *
 * When a record reaches the file:
 * - non-durable: within flush_interval_ms (the background tick), or as soon
 *   as AUDIT_FLUSH_BYTES are waiting, and at every checkpoint sync, rotation
 *   and close. A crash of the process loses at most that window; an OS
 *   crash also what the page cache held.
 * - durable: before audit_log_append returns. Group commit: the first
 *   appender that finds no write in progress becomes the leader, takes
 *   every record buffered so far, writes and fdatasyncs them, and wakes the
 *   others whose records that covered; records appended meanwhile go out
 *   with the next leader.
 * Any write or sync error fails the log: the error is kept, and every later
 * append returns KILN_ERR_AUDIT with it until the log is reopened.
 *
 * Opening, recovery of an existing log and rotation are in audit_open.c. */
#include "audit_log_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "util/fail.h"

#define NS_PER_MS 1000000ull
#define NS_PER_SECOND 1000000000ull

void audit_options_from_policy(audit_options *options, const policy_audit *settings)
{
    options->checkpoint_every = settings->checkpoint_every;
    options->durable = settings->durable;
}

audit_mode audit_mode_for(const policy_audit *settings, policy_audit_event kind, bool denied)
{
    if ((denied && (settings->per_record & POLICY_AUDIT_DENY)) || (settings->per_record & kind))
        return AUDIT_MODE_RECORD;
    if (settings->summarize & kind)
        return AUDIT_MODE_SUMMARY;
    return AUDIT_MODE_NONE;
}

kiln_status audit_log_refuse(audit_log *log)
{
    return util_fail(KILN_ERR_AUDIT,
                     "audit log %s cannot be written (%s); operations are refused until it is "
                     "reopened",
                     log->path, log->failure);
}

void audit_log_mark_failed(audit_log *log, const char *what, int e)
{
    char text[96];
    if (!atomic_load(&log->failed))
        snprintf(log->failure, sizeof log->failure, "%s failed: %s", what,
                 audit_errno_text(e, text, sizeof text));
    atomic_store(&log->failed, true);
}

static bool reserve(audit_batch *b, size_t more)
{
    if (b->capacity - b->length >= more)
        return true;
    size_t capacity = b->capacity ? b->capacity : AUDIT_BATCH_INITIAL;
    while (capacity - b->length < more)
        capacity *= 2;
    char *grown = realloc(b->data, capacity);
    if (!grown)
        return false;
    b->data = grown;
    b->capacity = capacity;
    return true;
}

/* Appends one record that encode writes, chaining it to the one before.
 * The lock is held. */
kiln_status audit_log_put(audit_log *log, audit_encode_fn encode, const void *arg)
{
    if (!reserve(&log->active, (size_t)AUDIT_LINE_MAX + 1))
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit log: out of memory for a record");
    audit_json j;
    audit_json_begin(&j, log->active.data + log->active.length, (size_t)AUDIT_LINE_MAX);
    audit_head head = { .seq = log->next_seq };
    memcpy(head.prev, log->prev, AUDIT_HASH_BYTES);
    encode(&j, &head, arg);
    audit_sha256(j.data, j.length, log->prev);
    j.data[j.length] = '\n';
    log->active.length += j.length + 1;
    log->segment_bytes += j.length + 1;
    log->next_seq++;
    return KILN_OK;
}

typedef struct checkpoint_arg {
    audit_checkpoint_fields fields;
} checkpoint_arg;

static void encode_checkpoint(audit_json *j, const audit_head *h, const void *arg)
{
    audit_encode_checkpoint(j, h, &((const checkpoint_arg *)arg)->fields);
}

kiln_status audit_log_put_checkpoint(audit_log *log, const char *close)
{
    uint8_t signature[AUDIT_SIGNATURE_BYTES];
    checkpoint_arg a = { { log->next_seq - log->last_checkpoint_seq_plus1, close,
                           log->has_key ? log->key.pub.id : AUDIT_UNSIGNED_KEY, NULL } };
    if (log->has_key) {
        char message[AUDIT_SIGNED_MAX];
        size_t n = audit_signed_message(log->next_seq, log->prev, a.fields.count, close, message);
        crypto_sign_detached(signature, NULL, (const unsigned char *)message, n, log->key.bytes);
        a.fields.signature = signature;
    }
    kiln_status st = audit_log_put(log, encode_checkpoint, &a);
    if (st == KILN_OK)
        log->last_checkpoint_seq_plus1 = log->next_seq;
    return st;
}

static int write_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

kiln_status audit_log_write_out(audit_log *log, bool sync)
{
    while (log->writing)
        pthread_cond_wait(&log->changed, &log->lock);
    if (atomic_load(&log->failed))
        return audit_log_refuse(log);
    if (log->active.length == 0 && (!sync || log->synced_seq == log->next_seq))
        return KILN_OK;
    log->writing = true;
    audit_batch out = log->active;
    log->active = log->spare;
    uint64_t upto = log->next_seq;
    pthread_mutex_unlock(&log->lock);

    int e = write_all(log->fd, out.data, out.length);
    const char *what = "write";
    if (e == 0 && sync && fdatasync(log->fd) != 0) {
        e = errno;
        what = "fdatasync";
    }

    pthread_mutex_lock(&log->lock);
    out.length = 0;
    log->spare = out;
    log->writing = false;
    if (e != 0)
        audit_log_mark_failed(log, what, e);
    else if (sync)
        log->synced_seq = upto;
    pthread_cond_broadcast(&log->changed);
    return e != 0 ? audit_log_refuse(log) : KILN_OK;
}

/* Durable mode: returns once every record before seq end is on disk,
 * leading a group commit when no one else is writing. */
static kiln_status wait_synced(audit_log *log, uint64_t end)
{
    while (log->synced_seq < end) {
        if (atomic_load(&log->failed))
            return audit_log_refuse(log);
        if (!log->writing) {
            kiln_status st = audit_log_write_out(log, true);
            if (st != KILN_OK)
                return st;
        } else
            pthread_cond_wait(&log->changed, &log->lock);
    }
    return KILN_OK;
}

/* Waits while a rotation is in progress or the buffer is over its limit
 * (the disk is slower than the appenders); then whether the log is usable. */
static kiln_status admit(audit_log *log)
{
    while (log->rotating || (log->writing && log->active.length >= AUDIT_BUFFER_MAX))
        pthread_cond_wait(&log->changed, &log->lock);
    return atomic_load(&log->failed) ? audit_log_refuse(log) : KILN_OK;
}

/* After a record: the checkpoint, rotation and durability it may call for. */
static kiln_status after_record(audit_log *log)
{
    kiln_status st = KILN_OK;
    uint64_t end = log->next_seq;
    if (log->next_seq - log->last_checkpoint_seq_plus1 >= log->checkpoint_every)
        st = audit_log_put_checkpoint(log, AUDIT_CLOSE_NONE);
    if (st == KILN_OK && log->segment_bytes >= log->rotate_bytes)
        st = audit_log_rotate_locked(log);
    if (st == KILN_OK && log->durable)
        st = wait_synced(log, end);
    else if (st == KILN_OK && log->active.length >= AUDIT_FLUSH_BYTES && !log->writing)
        st = audit_log_write_out(log, false);
    return st;
}

/* One record from outside the lock: waits its turn, appends, then does what
 * the record calls for. */
static kiln_status append_record(audit_log *log, audit_encode_fn encode, const void *arg)
{
    pthread_mutex_lock(&log->lock);
    kiln_status st = admit(log);
    if (st == KILN_OK)
        st = audit_log_put(log, encode, arg);
    if (st == KILN_OK)
        st = after_record(log);
    pthread_mutex_unlock(&log->lock);
    return st;
}

typedef struct event_arg {
    const audit_event *event;
    uint64_t wall_ns, mono_ns;
} event_arg;

static void encode_event(audit_json *j, const audit_head *h, const void *arg)
{
    const event_arg *a = arg;
    audit_encode_event(j, h, a->wall_ns, a->mono_ns, a->event);
}

kiln_status audit_log_append(audit_log *log, const audit_event *event)
{
    if (!log || !event)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit append: log or event is NULL");
    /* The clocks are read outside the lock: they need no order. */
    event_arg a = { event, govern_clock_ns(CLOCK_REALTIME), govern_clock_ns(CLOCK_MONOTONIC) };
    return append_record(log, encode_event, &a);
}

static void encode_summary(audit_json *j, const audit_head *h, const void *arg)
{
    audit_encode_summary(j, h, arg);
}

static kiln_status emit_summary(void *arg, const audit_summary_fields *fields)
{
    audit_log *log = arg;
    audit_summary_fields f = *fields;
    f.wall_ns = govern_clock_ns(CLOCK_REALTIME);
    f.mono_ns = govern_clock_ns(CLOCK_MONOTONIC);
    return append_record(log, encode_summary, &f);
}

/* Drains the launch counters into summary records if a summary interval
 * has passed since the last drain (always when force). */
static kiln_status drain_summaries(audit_log *log, uint64_t now_ns, bool force)
{
    pthread_mutex_lock(&log->tick_lock);
    uint64_t elapsed = now_ns - log->summary_last_ns;
    kiln_status st = KILN_OK;
    if (force || elapsed >= AUDIT_SUMMARY_INTERVAL_MS * NS_PER_MS) {
        log->summary_last_ns = now_ns;
        st = audit_summary_drain(log->summary, elapsed / NS_PER_MS, emit_summary, log);
    }
    pthread_mutex_unlock(&log->tick_lock);
    return st;
}

kiln_status audit_log_tick(audit_log *log, uint64_t now_ns)
{
    if (!log)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit tick: log is NULL");
    if (!now_ns)
        now_ns = govern_clock_ns(CLOCK_MONOTONIC);
    kiln_status st = drain_summaries(log, now_ns, false);
    pthread_mutex_lock(&log->lock);
    kiln_status flushed = audit_log_write_out(log, false);
    pthread_mutex_unlock(&log->lock);
    return st != KILN_OK ? st : flushed;
}

void *audit_log_ticker(void *arg)
{
    audit_log *log = arg;
    pthread_mutex_lock(&log->lock);
    while (!log->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (uint64_t)log->flush_interval_ms * NS_PER_MS;
        until.tv_sec += (time_t)(ns / NS_PER_SECOND);
        until.tv_nsec = (long)(ns % NS_PER_SECOND);
        pthread_cond_timedwait(&log->tick_cv, &log->lock, &until);
        if (log->stopping)
            break;
        pthread_mutex_unlock(&log->lock);
        /* A failure is already kept in the log; appends report it. */
        (void)audit_log_tick(log, 0);
        pthread_mutex_lock(&log->lock);
    }
    pthread_mutex_unlock(&log->lock);
    return NULL;
}

kiln_status audit_log_checkpoint(audit_log *log)
{
    if (!log)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit checkpoint: log is NULL");
    pthread_mutex_lock(&log->lock);
    kiln_status st = admit(log);
    if (st == KILN_OK)
        st = audit_log_put_checkpoint(log, AUDIT_CLOSE_NONE);
    if (st == KILN_OK)
        st = log->durable ? wait_synced(log, log->next_seq) : KILN_OK;
    pthread_mutex_unlock(&log->lock);
    return st;
}

kiln_status audit_log_sync(audit_log *log)
{
    if (!log)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit sync: log is NULL");
    pthread_mutex_lock(&log->lock);
    kiln_status st = atomic_load(&log->failed) ? audit_log_refuse(log)
                                               : wait_synced(log, log->next_seq);
    pthread_mutex_unlock(&log->lock);
    return st;
}

kiln_status audit_log_rotate(audit_log *log)
{
    if (!log)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit rotate: log is NULL");
    pthread_mutex_lock(&log->lock);
    kiln_status st = admit(log);
    if (st == KILN_OK)
        st = audit_log_rotate_locked(log);
    pthread_mutex_unlock(&log->lock);
    return st;
}

/* The refusal of a failed log, from outside the lock (the failure text is
 * written under it). */
static kiln_status refuse_unlocked(audit_log *log)
{
    pthread_mutex_lock(&log->lock);
    kiln_status st = audit_log_refuse(log);
    pthread_mutex_unlock(&log->lock);
    return st;
}

kiln_status audit_summary_slot(audit_log *log, const char *principal, const char *kernel,
                               int64_t device, audit_slot **out)
{
    if (!log || !out)
        return util_fail(KILN_ERR_NULL_HANDLE, "audit summary: log or out is NULL");
    *out = NULL;
    if (atomic_load(&log->failed))
        return refuse_unlocked(log);
    return audit_summary_lookup(log->summary, principal, kernel, device, out);
}

kiln_status audit_summary_count(audit_log *log, audit_slot *slot, kiln_status outcome)
{
    if (atomic_load_explicit(&log->failed, memory_order_relaxed))
        return refuse_unlocked(log);
    audit_summary_add(slot, outcome);
    return KILN_OK;
}

bool audit_log_failed(const audit_log *log)
{
    return atomic_load(&log->failed);
}

uint64_t audit_log_next_seq(audit_log *log)
{
    pthread_mutex_lock(&log->lock);
    uint64_t seq = log->next_seq;
    pthread_mutex_unlock(&log->lock);
    return seq;
}

uint64_t audit_log_segment(audit_log *log)
{
    pthread_mutex_lock(&log->lock);
    uint64_t segment = log->segment;
    pthread_mutex_unlock(&log->lock);
    return segment;
}

kiln_status audit_log_close(audit_log *log)
{
    if (!log)
        return KILN_OK;
    if (log->ticker_running) {
        pthread_mutex_lock(&log->lock);
        log->stopping = true;
        pthread_cond_signal(&log->tick_cv);
        pthread_mutex_unlock(&log->lock);
        pthread_join(log->ticker, NULL);
    }
    kiln_status st = atomic_load(&log->failed)
                         ? KILN_OK
                         : drain_summaries(log, govern_clock_ns(CLOCK_MONOTONIC), true);
    pthread_mutex_lock(&log->lock);
    kiln_status closed = admit(log);
    if (closed == KILN_OK)
        closed = audit_log_put_checkpoint(log, AUDIT_CLOSE_CLOSE);
    if (closed == KILN_OK)
        closed = wait_synced(log, log->next_seq);
    pthread_mutex_unlock(&log->lock);
    if (st == KILN_OK)
        st = closed;
    /* The detail is util_fail's own copy: freeing the log leaves it be. */
    audit_log_free(log);
    return st;
}
