/* Reserve and release: the quota stages of the launch path. A reservation
 * locks the accounts it charges (in address order, so that two reservations
 * over the same accounts cannot deadlock), checks every limit, then charges
 * every counter before unlocking: all or nothing, and no counter ever
 * above its limit. */
#include "govern/quota_impl.h"

#include <inttypes.h>

#include "util/fail.h"

/* The subjects of t that apply to principal, each account once, in the
 * order principal then roles (the order refusals are reported in). */
static uint32_t resolve(const quota_table *t, const govern_principal *p,
                        quota_subject *out[QUOTA_ACCOUNTS_MAX])
{
    uint32_t n = 0;
    if (t->count == 0)
        return 0;
    quota_subject *s = quota_table_find(t, QUOTA_SUBJECT_PRINCIPAL, p->name);
    if (s)
        out[n++] = s;
    for (uint32_t i = 0; i < p->role_count; i++) {
        if (!p->roles[i])
            continue;
        s = quota_table_find(t, QUOTA_SUBJECT_ROLE, p->roles[i]);
        bool seen = false;
        for (uint32_t j = 0; j < n && s && !seen; j++)
            seen = out[j] == s;
        if (s && !seen)
            out[n++] = s;
    }
    return n;
}

static kiln_status check_principal(const govern_principal *p)
{
    if (!p->name)
        return util_fail(KILN_ERR_NULL_HANDLE, "quota: the principal has no name");
    if (p->role_count > GOVERN_ROLES_MAX)
        return util_fail(KILN_ERR_INVALID_ARG, "quota: %" PRIu32 " roles (at most %d)",
                         p->role_count, GOVERN_ROLES_MAX);
    return KILN_OK;
}

static kiln_status refuse(const quota_subject *s, quota_resource r, uint64_t used,
                          uint64_t requested)
{
    if (r == QUOTA_DEVICE_TIME)
        return util_fail(KILN_ERR_QUOTA,
                         "quota \"%s\" of %s \"%s\" exceeded: limit %" PRIu64 " per %" PRIu64
                         " ns window, in use %" PRIu64 ", requested a launch",
                         quota_resource_name(r), quota_subject_kind_name(s->kind), s->name,
                         s->limit[r], s->window_ns, used);
    return util_fail(KILN_ERR_QUOTA,
                     "quota \"%s\" of %s \"%s\" exceeded: limit %" PRIu64 ", in use %" PRIu64
                     ", requested %" PRIu64,
                     quota_resource_name(r), quota_subject_kind_name(s->kind), s->name,
                     s->limit[r], used, requested);
}

/* Device time is known only after a launch, so it is not reserved: a
 * launch is admitted while every window is below its limit. Checked before
 * the locks are taken; the window only grows through charges that come
 * after launches, so checking inside would not make it any tighter. */
static kiln_status check_device_time(const quota_table *t, quota_subject *const *subjects,
                                     uint32_t n)
{
    uint64_t now = 0;
    bool have_now = false;
    for (uint32_t i = 0; i < n; i++) {
        const quota_subject *s = subjects[i];
        uint64_t limit = s->limit[QUOTA_DEVICE_TIME];
        if (limit == QUOTA_UNLIMITED)
            continue;
        if (!have_now) {
            now = quota_table_now(t);
            have_now = true;
        }
        uint64_t used = quota_window_used(&s->account->window, now);
        if (used >= limit)
            return refuse(s, QUOTA_DEVICE_TIME, used, 1);
    }
    return KILN_OK;
}

static void sort_accounts(quota_account **a, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        quota_account *x = a[i];
        uint32_t j = i;
        for (; j > 0 && (uintptr_t)a[j - 1] > (uintptr_t)x; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

static void unlock_all(quota_account **a, uint32_t n)
{
    for (uint32_t i = n; i > 0; i--)
        quota_unlock(&a[i - 1]->lock);
}

/* With every account locked: does each held resource fit under its limit?
 * use > limit is possible after a reload lowered the limit. Unlimited is
 * UINT64_MAX, so the same test refuses a counter that would wrap. */
static kiln_status check_held_locked(quota_subject *const *subjects, uint32_t n,
                                     const uint64_t want[QUOTA_HELD_COUNT])
{
    for (uint32_t i = 0; i < n; i++) {
        const quota_subject *s = subjects[i];
        for (uint32_t r = 0; r < QUOTA_HELD_COUNT; r++) {
            if (want[r] == 0)
                continue;
            uint64_t used = atomic_load_explicit(&s->account->used[r], memory_order_relaxed);
            uint64_t limit = s->limit[r];
            if (used > limit || want[r] > limit - used)
                return refuse(s, (quota_resource)r, used, want[r]);
        }
    }
    return KILN_OK;
}

kiln_status quota_reserve(quota_table *t, const govern_principal *principal,
                          const quota_request *request, quota_reservation *out)
{
    if (!out)
        return util_fail(KILN_ERR_NULL_HANDLE, "quota_reserve: out is required");
    atomic_init(&out->state, QUOTA_RESERVATION_EMPTY);
    out->account_count = 0;
    if (!t || !principal || !request)
        return util_fail(KILN_ERR_NULL_HANDLE, "quota_reserve: table, principal and request are required");
    kiln_status st = check_principal(principal);
    if (st != KILN_OK)
        return st;
    out->request = *request;
    const uint64_t want[QUOTA_HELD_COUNT] = { request->bytes, request->buffers, request->launches };
    quota_subject *subjects[QUOTA_ACCOUNTS_MAX];
    uint32_t n = resolve(t, principal, subjects);
    if (n > 0 && request->launches > 0) {
        st = check_device_time(t, subjects, n);
        if (st != KILN_OK)
            return st;
    }
    if (n > 0 && (want[0] | want[1] | want[2]) != 0) {
        quota_account **locked = out->accounts;
        for (uint32_t i = 0; i < n; i++)
            locked[i] = subjects[i]->account;
        sort_accounts(locked, n);
        for (uint32_t i = 0; i < n; i++)
            quota_lock(&locked[i]->lock);
        st = check_held_locked(subjects, n, want);
        if (st != KILN_OK) {
            unlock_all(locked, n);
            return st;
        }
        for (uint32_t i = 0; i < n; i++) {
            quota_account *a = locked[i];
            for (uint32_t r = 0; r < QUOTA_HELD_COUNT; r++) {
                uint64_t used = atomic_load_explicit(&a->used[r], memory_order_relaxed);
                atomic_store_explicit(&a->used[r], used + want[r], memory_order_relaxed);
            }
            quota_account_ref_locked(a);
        }
        unlock_all(locked, n);
        out->account_count = n;
    }
    atomic_store_explicit(&out->state, QUOTA_RESERVATION_HELD, memory_order_release);
    return KILN_OK;
}

bool quota_release(quota_reservation *r)
{
    if (!r)
        return false;
    unsigned expected = QUOTA_RESERVATION_HELD;
    if (!atomic_compare_exchange_strong_explicit(&r->state, &expected, QUOTA_RESERVATION_RELEASED,
                                                 memory_order_acq_rel, memory_order_acquire))
        return false;
    const uint64_t held[QUOTA_HELD_COUNT] = { r->request.bytes, r->request.buffers,
                                              r->request.launches };
    for (uint32_t i = 0; i < r->account_count; i++) {
        quota_account *a = r->accounts[i];
        r->accounts[i] = NULL;
        quota_lock(&a->lock);
        for (uint32_t k = 0; k < QUOTA_HELD_COUNT; k++) {
            /* Never below zero, even for a reservation copied by mistake. */
            uint64_t used = atomic_load_explicit(&a->used[k], memory_order_relaxed);
            atomic_store_explicit(&a->used[k], used > held[k] ? used - held[k] : 0,
                                  memory_order_relaxed);
        }
        quota_account_unref_unlock(a);
    }
    r->account_count = 0;
    return true;
}

kiln_status quota_charge_time(quota_table *t, const govern_principal *principal, uint64_t ns)
{
    if (!t || !principal)
        return util_fail(KILN_ERR_NULL_HANDLE, "quota_charge_time: table and principal are required");
    kiln_status st = check_principal(principal);
    if (st != KILN_OK)
        return st;
    quota_subject *subjects[QUOTA_ACCOUNTS_MAX];
    uint32_t n = resolve(t, principal, subjects);
    if (n == 0 || ns == 0)
        return KILN_OK;
    uint64_t now = quota_table_now(t);
    for (uint32_t i = 0; i < n; i++)
        quota_window_charge(&subjects[i]->account->window, now, ns);
    return KILN_OK;
}
