/* Per-second launch summaries. A launch is too frequent to be a record of
 * its own (the default policy summarises them), so it is an atomic add on
 * the counter slot of its (principal, kernel, device); once a second the
 * log's tick drains every slot into one "summary" record per triple that
 * had launches. Slots are found by a hash table under a mutex (string work,
 * once per triple per caller) and never freed before the summary, so a
 * caller may keep the pointer and count with atomics alone. */
#include "audit_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/fail.h"

/* Buckets of the slot table: 16 slots a bucket at AUDIT_SLOTS_MAX. */
#define SUMMARY_BUCKETS 4096u

struct audit_slot {
    atomic_uint_fast64_t ok, denied, failed;
    char *principal, *kernel;
    int64_t device;
    uint64_t hash;
    audit_slot *bucket_next;
    audit_slot *all_next;
};

struct audit_summary {
    pthread_mutex_t lock; /* guards the table and the list, not the counters */
    audit_slot *buckets[SUMMARY_BUCKETS];
    audit_slot *all;
    uint32_t count;
};

kiln_status audit_summary_create(audit_summary **out)
{
    audit_summary *s = calloc(1, sizeof *s);
    if (!s)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit summary: out of memory");
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return KILN_OK;
}

void audit_summary_destroy(audit_summary *s)
{
    if (!s)
        return;
    for (audit_slot *slot = s->all, *next; slot; slot = next) {
        next = slot->all_next;
        free(slot->principal);
        free(slot->kernel);
        free(slot);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static uint64_t triple_hash(const char *principal, const char *kernel, int64_t device)
{
    /* The NULs keep ("ab","c") and ("a","bc") apart. */
    uint64_t h = govern_fnv1a(GOVERN_FNV_OFFSET, principal, strlen(principal) + 1);
    h = govern_fnv1a(h, kernel, strlen(kernel) + 1);
    return govern_fnv1a(h, &device, sizeof device);
}

kiln_status audit_summary_lookup(audit_summary *s, const char *principal, const char *kernel,
                                 int64_t device, audit_slot **out)
{
    principal = principal ? principal : "";
    kernel = kernel ? kernel : "";
    uint64_t h = triple_hash(principal, kernel, device);
    pthread_mutex_lock(&s->lock);
    audit_slot **bucket = &s->buckets[h % SUMMARY_BUCKETS];
    for (audit_slot *slot = *bucket; slot; slot = slot->bucket_next) {
        if (slot->hash == h && slot->device == device && strcmp(slot->principal, principal) == 0 &&
            strcmp(slot->kernel, kernel) == 0) {
            pthread_mutex_unlock(&s->lock);
            *out = slot;
            return KILN_OK;
        }
    }
    kiln_status st = KILN_OK;
    audit_slot *slot = NULL;
    if (s->count >= AUDIT_SLOTS_MAX)
        st = util_fail(KILN_ERR_AUDIT,
                       "audit summary table full: %u (principal, kernel, device) triples",
                       AUDIT_SLOTS_MAX);
    else if (!(slot = calloc(1, sizeof *slot)) || !(slot->principal = strdup(principal)) ||
             !(slot->kernel = strdup(kernel))) {
        if (slot)
            free(slot->principal);
        free(slot);
        slot = NULL;
        st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "audit summary: out of memory");
    } else {
        slot->device = device;
        slot->hash = h;
        slot->bucket_next = *bucket;
        *bucket = slot;
        slot->all_next = s->all;
        s->all = slot;
        s->count++;
    }
    pthread_mutex_unlock(&s->lock);
    *out = slot;
    return st;
}

void audit_summary_add(audit_slot *slot, kiln_status outcome)
{
    atomic_uint_fast64_t *counter = outcome == KILN_OK             ? &slot->ok
                                    : outcome == KILN_ERR_DENIED ? &slot->denied
                                                                 : &slot->failed;
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

kiln_status audit_summary_drain(audit_summary *s, uint64_t window_ms, audit_summary_emit_fn emit,
                                void *arg)
{
    kiln_status st = KILN_OK;
    pthread_mutex_lock(&s->lock);
    for (audit_slot *slot = s->all; slot && st == KILN_OK; slot = slot->all_next) {
        audit_summary_fields f = { 0 };
        f.ok = atomic_exchange_explicit(&slot->ok, 0, memory_order_relaxed);
        f.denied = atomic_exchange_explicit(&slot->denied, 0, memory_order_relaxed);
        f.failed = atomic_exchange_explicit(&slot->failed, 0, memory_order_relaxed);
        if (f.ok + f.denied + f.failed == 0)
            continue;
        f.principal = slot->principal;
        f.kernel = slot->kernel;
        f.device = slot->device;
        f.window_ms = window_ms;
        st = emit(arg, &f);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}
