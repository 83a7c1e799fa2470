/* The inside of an audit log, shared by the writer (audit_log.c) and the
 * code that opens, recovers and rotates it (audit_open.c). */
#ifndef KILN_GOVERN_AUDIT_LOG_IMPL_H
#define KILN_GOVERN_AUDIT_LOG_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "audit_internal.h"

/* Buffered bytes that make an appender write them out at once (non-durable
 * mode), the first buffer size, and the most that may wait for a slow disk
 * before appenders wait too. */
#define AUDIT_FLUSH_BYTES ((size_t)64 * 1024)
#define AUDIT_BATCH_INITIAL ((size_t)256 * 1024)
#define AUDIT_BUFFER_MAX ((size_t)8 * 1024 * 1024)
#define AUDIT_FAILURE_MAX 256

typedef struct audit_batch {
    char *data;
    size_t length, capacity;
} audit_batch;

struct audit_log {
    pthread_mutex_t lock;   /* everything below but what says otherwise */
    pthread_cond_t changed; /* a write finished, or a rotation */
    char *path;
    int fd;
    audit_secret_key key;
    bool has_key;
    uint32_t checkpoint_every;
    bool durable;
    uint64_t rotate_bytes;
    uint32_t flush_interval_ms;

    /* The chain: what the next record carries. */
    uint64_t next_seq;
    uint8_t prev[AUDIT_HASH_BYTES];
    uint64_t last_checkpoint_seq_plus1;
    uint64_t segment;
    uint64_t segment_bytes; /* written and buffered */

    audit_batch active;  /* records appended, not yet handed to a writer */
    audit_batch spare;   /* the writer's batch, empty between writes */
    bool writing;        /* a thread is writing a batch (outside the lock) */
    bool rotating;       /* appenders wait */
    uint64_t synced_seq; /* records before this seq are on disk */
    atomic_bool failed;  /* read without the lock on the launch path */
    char failure[AUDIT_FAILURE_MAX];

    audit_summary *summary;
    pthread_mutex_t tick_lock; /* summary_last_ns; ordered before lock */
    uint64_t summary_last_ns;
    pthread_t ticker;
    bool ticker_running;
    bool stopping;
    pthread_cond_t tick_cv;
};

typedef void (*audit_encode_fn)(audit_json *j, const audit_head *h, const void *arg);

/* All of these are called with log->lock held. */
kiln_status audit_log_put(audit_log *log, audit_encode_fn encode, const void *arg);
kiln_status audit_log_put_checkpoint(audit_log *log, const char *close);
kiln_status audit_log_write_out(audit_log *log, bool sync);
kiln_status audit_log_rotate_locked(audit_log *log);
kiln_status audit_log_refuse(audit_log *log);
void audit_log_mark_failed(audit_log *log, const char *what, int e);

/* The background tick (audit_log.c), and freeing (audit_open.c). */
void *audit_log_ticker(void *arg);
void audit_log_free(audit_log *log);

#endif
