/* The rolling device-time window of one account: a ring of buckets that
 * expire as the clock moves on. Reads on the launch path are one or two
 * atomic loads; the lock is taken to charge and, once per bucket length at
 * most, to expire old buckets. */
#include "govern/quota_impl.h"

#include "util/fail.h"

static uint64_t saturating_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t bucket_length(uint64_t window_ns)
{
    /* Rounded up, so that QUOTA_WINDOW_BUCKETS buckets cover the window. */
    uint64_t len = window_ns / QUOTA_WINDOW_BUCKETS + (window_ns % QUOTA_WINDOW_BUCKETS != 0);
    return len ? len : 1;
}

/* Empties the buckets that fell out of the window ending in bucket number
 * now_bucket. Called with the lock held. */
static void expire_locked(quota_window *w, uint64_t now_bucket)
{
    uint64_t head = atomic_load_explicit(&w->head, memory_order_relaxed);
    if (now_bucket <= head)
        return;
    uint64_t total = atomic_load_explicit(&w->total, memory_order_relaxed);
    if (now_bucket - head >= QUOTA_WINDOW_SLOTS) {
        for (uint32_t i = 0; i < QUOTA_WINDOW_SLOTS; i++)
            w->buckets[i] = 0;
        total = 0;
    } else {
        for (uint64_t b = head + 1; b <= now_bucket; b++) {
            uint64_t *slot = &w->buckets[b % QUOTA_WINDOW_SLOTS];
            total -= *slot < total ? *slot : total;
            *slot = 0;
        }
    }
    atomic_store_explicit(&w->total, total, memory_order_relaxed);
    atomic_store_explicit(&w->head, now_bucket, memory_order_relaxed);
}

static uint64_t bucket_of(quota_window *w, uint64_t now)
{
    return now / atomic_load_explicit(&w->bucket_ns, memory_order_relaxed);
}

kiln_status quota_window_init(quota_window *w, uint64_t window_ns, uint64_t now)
{
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "quota window: no mutex");
    w->window_ns = window_ns;
    for (uint32_t i = 0; i < QUOTA_WINDOW_SLOTS; i++)
        w->buckets[i] = 0;
    uint64_t len = bucket_length(window_ns);
    atomic_init(&w->bucket_ns, len);
    atomic_init(&w->head, now / len);
    atomic_init(&w->total, 0);
    return KILN_OK;
}

void quota_window_destroy(quota_window *w)
{
    pthread_mutex_destroy(&w->lock);
}

uint64_t quota_window_used(quota_window *w, uint64_t now)
{
    /* Fast path: still in the newest bucket, nothing can have expired. A
     * stale head only makes the answer larger (conservative). */
    uint64_t b = bucket_of(w, now);
    if (b <= atomic_load_explicit(&w->head, memory_order_relaxed))
        return atomic_load_explicit(&w->total, memory_order_relaxed);
    pthread_mutex_lock(&w->lock);
    expire_locked(w, bucket_of(w, now));
    uint64_t total = atomic_load_explicit(&w->total, memory_order_relaxed);
    pthread_mutex_unlock(&w->lock);
    return total;
}

void quota_window_charge(quota_window *w, uint64_t now, uint64_t ns)
{
    pthread_mutex_lock(&w->lock);
    uint64_t b = bucket_of(w, now);
    expire_locked(w, b);
    /* A clock that went backwards (an injected one) charges the newest
     * bucket rather than one that has already expired. */
    uint64_t head = atomic_load_explicit(&w->head, memory_order_relaxed);
    uint64_t *slot = &w->buckets[(b < head ? head : b) % QUOTA_WINDOW_SLOTS];
    *slot = saturating_add(*slot, ns);
    uint64_t total = atomic_load_explicit(&w->total, memory_order_relaxed);
    atomic_store_explicit(&w->total, saturating_add(total, ns), memory_order_relaxed);
    pthread_mutex_unlock(&w->lock);
}

void quota_window_resize(quota_window *w, uint64_t window_ns, uint64_t now)
{
    pthread_mutex_lock(&w->lock);
    if (window_ns != w->window_ns) {
        expire_locked(w, bucket_of(w, now));
        uint64_t total = atomic_load_explicit(&w->total, memory_order_relaxed);
        for (uint32_t i = 0; i < QUOTA_WINDOW_SLOTS; i++)
            w->buckets[i] = 0;
        uint64_t len = bucket_length(window_ns);
        uint64_t head = now / len;
        w->buckets[head % QUOTA_WINDOW_SLOTS] = total;
        w->window_ns = window_ns;
        atomic_store_explicit(&w->bucket_ns, len, memory_order_relaxed);
        atomic_store_explicit(&w->head, head, memory_order_relaxed);
    }
    pthread_mutex_unlock(&w->lock);
}

uint64_t quota_window_length(quota_window *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t len = w->window_ns;
    pthread_mutex_unlock(&w->lock);
    return len;
}
