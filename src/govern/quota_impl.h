/* The inside of the quota engine, shared by the quota*.c files only:
 * accounts (where usage lives), the device-time window and the table that
 * maps subjects to limits and accounts. */
#ifndef KILN_GOVERN_QUOTA_IMPL_H
#define KILN_GOVERN_QUOTA_IMPL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "govern/quota.h"

enum {
    QUOTA_RESERVATION_EMPTY = 0, /* zero-initialized, refused or never used */
    QUOTA_RESERVATION_HELD,
    QUOTA_RESERVATION_RELEASED
};

/* The window is a ring of QUOTA_WINDOW_BUCKETS + 1 buckets, each
 * ceil(window / QUOTA_WINDOW_BUCKETS) long: a charge is remembered for at
 * least the window and at most one bucket (1/64 of the window) longer, so the
 * window never forgets early. 64 keeps the ring in nine cache lines while the
 * overshoot of memory stays under 2% of the window. */
#define QUOTA_WINDOW_BUCKETS 64u
#define QUOTA_WINDOW_SLOTS (QUOTA_WINDOW_BUCKETS + 1u)
/* The window that tracks device time for a subject without a device-time
 * limit, so that reports show its recent use and a reload that adds a limit
 * starts from real figures: one minute. */
#define QUOTA_WINDOW_DEFAULT_NS (60ull * 1000000000ull)

typedef struct quota_window {
    pthread_mutex_t lock;                 /* guards buckets, head and every write */
    atomic_uint_fast64_t bucket_ns;       /* changes only on a resize */
    atomic_uint_fast64_t head;            /* absolute number of the newest bucket */
    atomic_uint_fast64_t total;           /* sum of the buckets, read without the lock */
    uint64_t window_ns;                   /* under lock */
    uint64_t buckets[QUOTA_WINDOW_SLOTS]; /* under lock; slot = bucket number % SLOTS */
} quota_window;

kiln_status quota_window_init(quota_window *w, uint64_t window_ns, uint64_t now);
void quota_window_destroy(quota_window *w);
/* Device time charged in the window ending at now. Never less than the
 * true figure: a value read while another thread expires buckets is the
 * older, larger one. */
uint64_t quota_window_used(quota_window *w, uint64_t now);
void quota_window_charge(quota_window *w, uint64_t now, uint64_t ns);
/* Changes the window's length, keeping what is charged in it now as one
 * charge made at now (it then ages out over the new window). */
void quota_window_resize(quota_window *w, uint64_t window_ns, uint64_t now);
uint64_t quota_window_length(quota_window *w);

/* The lock of an account: held for a few tens of instructions (check and
 * charge of a reservation, a release, a reference change), so a spin beats
 * a mutex (one atomic exchange to take it, a plain store to give it back).
 * After QUOTA_SPINS_BEFORE_YIELD turns the waiter yields its core, so that
 * a holder that was preempted (more threads than cores) gets to finish. */
#define QUOTA_SPINS_BEFORE_YIELD 64u

typedef struct quota_spinlock {
    atomic_uint held;
} quota_spinlock;

static inline void quota_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline void quota_lock(quota_spinlock *l)
{
    unsigned spins = 0;
    while (atomic_exchange_explicit(&l->held, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
            if (++spins < QUOTA_SPINS_BEFORE_YIELD) {
                quota_cpu_relax();
            } else {
                sched_yield();
                spins = 0;
            }
        }
    }
}

static inline void quota_unlock(quota_spinlock *l)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* One subject's usage. Shared by every table generation that lists the
 * subject and referenced by every reservation charged to it. Every change
 * (of a counter or of refs) is made under lock, so a reservation checks and
 * charges all its accounts in one critical section; the counters are
 * atomics only so that reports and watchers can read them without it. */
typedef struct quota_account {
    quota_spinlock lock;
    atomic_uint_fast64_t used[QUOTA_HELD_COUNT]; /* indexed by quota_resource */
    uint64_t refs;                               /* tables and reservations; under lock */
    quota_subject_kind kind;
    char *name;
    quota_window window;
} quota_account;

/* Adds a reference; the caller holds the lock or the only reference. */
static inline void quota_account_ref_locked(quota_account *a)
{
    a->refs++;
}
/* Drops a reference (a NULL is ignored) and frees the account with the last. */
void quota_account_unref(quota_account *a);
/* The same for a caller that holds the lock: drops the reference, unlocks,
 * and frees the account with the last. */
void quota_account_unref_unlock(quota_account *a);

/* A subject of one table: the limits of this generation and the account. */
typedef struct quota_subject {
    quota_subject_kind kind;
    const char *name; /* the account's copy */
    uint64_t limit[QUOTA_RESOURCE_COUNT];
    uint64_t window_ns;
    quota_account *account;
} quota_subject;

struct quota_table {
    atomic_uint refs;
    quota_clock clock;
    uint32_t count;
    quota_subject *subjects;
    uint32_t *slots; /* open addressing: subject index + 1, 0 = empty */
    uint32_t slot_mask;
};

uint64_t quota_table_now(const quota_table *t);
/* The subject of that kind and name, or NULL. */
quota_subject *quota_table_find(const quota_table *t, quota_subject_kind kind, const char *name);

#endif
