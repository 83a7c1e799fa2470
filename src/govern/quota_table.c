/* Quota tables: built from the policy's list of limits, immutable once
 * built, reference-counted. A table built from a previous one shares the
 * accounts of the subjects both list, which is how usage survives a reload. */
#include "govern/quota_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/fail.h"

static const char *const resource_names[QUOTA_RESOURCE_COUNT] = {
    "device_memory_bytes", "live_buffers", "concurrent_launches", "device_time_ns"
};

const char *quota_resource_name(quota_resource r)
{
    return (unsigned)r < QUOTA_RESOURCE_COUNT ? resource_names[r] : "unknown";
}

const char *quota_subject_kind_name(quota_subject_kind kind)
{
    return kind == QUOTA_SUBJECT_ROLE ? "role" : "principal";
}

quota_limits quota_limits_unlimited(void)
{
    return (quota_limits){ .device_memory_bytes = QUOTA_UNLIMITED,
                           .live_buffers = QUOTA_UNLIMITED,
                           .concurrent_launches = QUOTA_UNLIMITED,
                           .device_time_ns = QUOTA_UNLIMITED,
                           .window_ns = 0 };
}

/* The default clock is the coarse monotonic one: a quarter of the cost of
 * CLOCK_MONOTONIC on the launch path (about 4 ns against 17 ns measured),
 * and its resolution (a scheduler tick, 1 to 4 ms) is finer than a bucket
 * of any window of a second or more (1/64 s). */
static uint64_t monotonic_ns(void *ctx)
{
    (void)ctx;
    return govern_clock_ns(CLOCK_MONOTONIC_COARSE);
}

uint64_t quota_table_now(const quota_table *t)
{
    return t->clock.now_ns(t->clock.ctx);
}

static uint32_t name_hash(quota_subject_kind kind, const char *name)
{
    uint64_t h = govern_fnv1a(GOVERN_FNV_OFFSET ^ (uint64_t)kind, name, strlen(name));
    return (uint32_t)(h ^ (h >> 32));
}

/* The hash slot that holds (kind, name), or the empty one where it would
 * go (linear probing; the table always has an empty slot). */
static uint32_t *probe(const quota_table *t, quota_subject_kind kind, const char *name)
{
    for (uint32_t i = name_hash(kind, name) & t->slot_mask;; i = (i + 1) & t->slot_mask) {
        uint32_t slot = t->slots[i];
        if (slot == 0)
            return &t->slots[i];
        const quota_subject *s = &t->subjects[slot - 1];
        if (s->kind == kind && strcmp(s->name, name) == 0)
            return &t->slots[i];
    }
}

quota_subject *quota_table_find(const quota_table *t, quota_subject_kind kind, const char *name)
{
    if (t->count == 0)
        return NULL;
    uint32_t slot = *probe(t, kind, name);
    return slot ? &t->subjects[slot - 1] : NULL;
}

/* Puts subject index into the hash; false if its subject is already there. */
static bool table_insert(quota_table *t, uint32_t index, quota_subject_kind kind,
                         const char *name)
{
    uint32_t *slot = probe(t, kind, name);
    if (*slot)
        return false;
    *slot = index + 1;
    return true;
}

void quota_account_unref_unlock(quota_account *a)
{
    bool last = --a->refs == 0;
    quota_unlock(&a->lock);
    if (last) {
        quota_window_destroy(&a->window);
        free(a->name);
        free(a);
    }
}

void quota_account_unref(quota_account *a)
{
    if (!a)
        return;
    quota_lock(&a->lock);
    quota_account_unref_unlock(a);
}

static kiln_status account_create(quota_subject_kind kind, const char *name, uint64_t window_ns,
                                  uint64_t now, quota_account **out)
{
    quota_account *a = calloc(1, sizeof *a);
    char *copy = strdup(name);
    if (!a || !copy) {
        free(a);
        free(copy);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "quota: out of memory for an account");
    }
    kiln_status st = quota_window_init(&a->window, window_ns, now);
    if (st != KILN_OK) {
        free(a);
        free(copy);
        return st;
    }
    for (uint32_t r = 0; r < QUOTA_HELD_COUNT; r++)
        atomic_init(&a->used[r], 0);
    atomic_init(&a->lock.held, 0);
    a->refs = 1;
    a->kind = kind;
    a->name = copy;
    *out = a;
    return KILN_OK;
}

static void table_free(quota_table *t)
{
    for (uint32_t i = 0; i < t->count; i++)
        quota_account_unref(t->subjects[i].account);
    free(t->subjects);
    free(t->slots);
    free(t);
}

static kiln_status check_entry(const quota_limit_entry *e, uint32_t index)
{
    if (!e->name)
        return util_fail(KILN_ERR_INVALID_ARG, "quota entry %u: no name", index);
    if (e->kind != QUOTA_SUBJECT_PRINCIPAL && e->kind != QUOTA_SUBJECT_ROLE)
        return util_fail(KILN_ERR_INVALID_ARG, "quota entry %u: unknown subject kind %d", index,
                         (int)e->kind);
    if (govern_name_check(e->name) != KILN_OK)
        return util_fail(KILN_ERR_INVALID_ARG, "quota entry %u: %s", index, util_last_error());
    if (e->limits.device_time_ns != QUOTA_UNLIMITED && e->limits.window_ns == 0)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "quota of %s \"%s\": a device-time limit needs a window longer than 0",
                         quota_subject_kind_name(e->kind), e->name);
    return KILN_OK;
}

static void set_limits(quota_subject *s, const quota_limits *l)
{
    s->limit[QUOTA_DEVICE_MEMORY_BYTES] = l->device_memory_bytes;
    s->limit[QUOTA_LIVE_BUFFERS] = l->live_buffers;
    s->limit[QUOTA_CONCURRENT_LAUNCHES] = l->concurrent_launches;
    s->limit[QUOTA_DEVICE_TIME] = l->device_time_ns;
    s->window_ns = l->window_ns ? l->window_ns : QUOTA_WINDOW_DEFAULT_NS;
}

/* Gives every subject its account: the previous table's for a subject it
 * lists (its window resized if the length changed), a new one otherwise. */
static kiln_status link_accounts(quota_table *t, const quota_table *previous, uint64_t now)
{
    for (uint32_t i = 0; i < t->count; i++) {
        quota_subject *s = &t->subjects[i];
        quota_subject *old = previous ? quota_table_find(previous, s->kind, s->name) : NULL;
        if (old) {
            s->account = old->account;
            quota_lock(&s->account->lock);
            quota_account_ref_locked(s->account);
            quota_unlock(&s->account->lock);
        } else {
            kiln_status st = account_create(s->kind, s->name, s->window_ns, now, &s->account);
            if (st != KILN_OK)
                return st;
        }
        s->name = s->account->name;
    }
    /* Only once nothing can fail: a resize is seen by the older table too. */
    for (uint32_t i = 0; i < t->count; i++)
        quota_window_resize(&t->subjects[i].account->window, t->subjects[i].window_ns, now);
    return KILN_OK;
}

static kiln_status table_alloc(uint32_t count, quota_table **out)
{
    uint32_t slots = 4;
    while (slots < count * 2u) /* load factor at most 1/2 */
        slots *= 2;
    quota_table *t = calloc(1, sizeof *t);
    if (t) {
        t->subjects = calloc(count ? count : 1, sizeof *t->subjects);
        t->slots = calloc(slots, sizeof *t->slots);
    }
    if (!t || !t->subjects || !t->slots) {
        if (t) {
            free(t->subjects);
            free(t->slots);
        }
        free(t);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "quota: out of memory for a table");
    }
    t->slot_mask = slots - 1;
    atomic_init(&t->refs, 1);
    *out = t;
    return KILN_OK;
}

kiln_status quota_table_create(const quota_limit_entry *entries, uint32_t count,
                               const quota_table *previous, const quota_clock *clock,
                               quota_table **out)
{
    if (!out || (count > 0 && !entries))
        return util_fail(KILN_ERR_NULL_HANDLE, "quota_table_create: entries and out are required");
    *out = NULL;
    if (count > UINT32_MAX / 4)
        return util_fail(KILN_ERR_INVALID_ARG, "quota_table_create: %u entries is too many", count);
    for (uint32_t i = 0; i < count; i++) {
        kiln_status st = check_entry(&entries[i], i);
        if (st != KILN_OK)
            return st;
    }
    quota_table *t = NULL;
    kiln_status st = table_alloc(count, &t);
    if (st != KILN_OK)
        return st;
    if (previous)
        t->clock = previous->clock;
    else if (clock && clock->now_ns)
        t->clock = *clock;
    else
        t->clock = (quota_clock){ .now_ns = monotonic_ns, .ctx = NULL };
    for (uint32_t i = 0; i < count; i++) {
        quota_subject *s = &t->subjects[i];
        s->kind = entries[i].kind;
        s->name = entries[i].name; /* until link_accounts points it at the account's copy */
        set_limits(s, &entries[i].limits);
        if (!table_insert(t, i, s->kind, s->name)) {
            table_free(t);
            return util_fail(KILN_ERR_INVALID_ARG, "quota: %s \"%s\" is listed twice",
                             quota_subject_kind_name(entries[i].kind), entries[i].name);
        }
        t->count = i + 1;
    }
    st = link_accounts(t, previous, quota_table_now(t));
    if (st != KILN_OK) {
        table_free(t);
        return st;
    }
    *out = t;
    return KILN_OK;
}

quota_table *quota_table_retain(quota_table *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void quota_table_release(quota_table *t)
{
    if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        table_free(t);
}

kiln_status quota_usage_get(quota_table *t, quota_subject_kind kind, const char *name,
                            quota_usage *out)
{
    if (!t || !name || !out)
        return util_fail(KILN_ERR_NULL_HANDLE, "quota_usage_get: table, name and out are required");
    const quota_subject *s = quota_table_find(t, kind, name);
    if (!s)
        return util_fail(KILN_ERR_NOT_FOUND, "no quota for %s \"%s\"",
                         quota_subject_kind_name(kind), name);
    quota_account *a = s->account;
    out->limits = (quota_limits){ .device_memory_bytes = s->limit[QUOTA_DEVICE_MEMORY_BYTES],
                                  .live_buffers = s->limit[QUOTA_LIVE_BUFFERS],
                                  .concurrent_launches = s->limit[QUOTA_CONCURRENT_LAUNCHES],
                                  .device_time_ns = s->limit[QUOTA_DEVICE_TIME],
                                  .window_ns = s->limit[QUOTA_DEVICE_TIME] == QUOTA_UNLIMITED
                                                   ? 0 : s->window_ns };
    out->device_memory_bytes =
        atomic_load_explicit(&a->used[QUOTA_DEVICE_MEMORY_BYTES], memory_order_relaxed);
    out->live_buffers = atomic_load_explicit(&a->used[QUOTA_LIVE_BUFFERS], memory_order_relaxed);
    out->concurrent_launches =
        atomic_load_explicit(&a->used[QUOTA_CONCURRENT_LAUNCHES], memory_order_relaxed);
    out->device_time_ns = quota_window_used(&a->window, quota_table_now(t));
    out->window_ns = quota_window_length(&a->window);
    return KILN_OK;
}

uint32_t quota_subject_count(const quota_table *t)
{
    return t ? t->count : 0;
}

const char *quota_subject_at(const quota_table *t, uint32_t index, quota_subject_kind *kind)
{
    if (!t || index >= t->count)
        return NULL;
    if (kind)
        *kind = t->subjects[index].kind;
    return t->subjects[index].name;
}
