/* A policy's lifetime (reference counts, accessors) and the holder that
 * swaps one policy for the next while readers keep the old one. */
#include "policy_impl.h"

#include <pthread.h>
#include <stdlib.h>

struct policy_holder {
    pthread_mutex_t lock; /* guards current: acquire must retain before a swap can release */
    policy *current;
    atomic_uint_fast64_t generation; /* read without the lock by launch paths */
};

static void free_names(char **names, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

void policy_free(policy *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->rule_count; i++) {
        policy_rule *r = &p->rules[i];
        free(r->name);
        free_names(r->principals, r->principal_count);
        free_names(r->roles, r->role_count);
        for (uint32_t j = 0; j < r->device_count; j++) {
            free(r->devices[j].pattern);
            free(r->devices[j].text);
        }
        free(r->devices);
    }
    free(p->rules);
    for (uint32_t i = 0; i < p->role_count; i++) {
        free(p->roles[i].name);
        free_names(p->roles[i].members, p->roles[i].member_count);
    }
    free(p->roles);
    for (uint32_t i = 0; i < p->quota_count; i++) {
        free((char *)p->quotas[i].principal);
        free((char *)p->quotas[i].role);
    }
    free(p->quotas);
    free_names(p->warnings, p->warning_count);
    free(p->origin);
    free(p);
}

policy *policy_retain(policy *p)
{
    if (p)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void policy_release(policy *p)
{
    if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        policy_free(p);
}

uint64_t policy_generation(const policy *p) { return p ? p->generation : 0; }
const uint8_t *policy_hash(const policy *p) { return p->hash; }
const char *policy_origin(const policy *p) { return p->origin; }
uint32_t policy_rule_count(const policy *p) { return p->rule_count; }

const char *policy_rule_name(const policy *p, uint32_t index)
{
    return index < p->rule_count ? p->rules[index].name : NULL;
}

uint32_t policy_warning_count(const policy *p) { return p->warning_count; }

const char *policy_warning(const policy *p, uint32_t index)
{
    return index < p->warning_count ? p->warnings[index] : NULL;
}

uint32_t policy_quota_count(const policy *p) { return p->quota_count; }

const policy_quota *policy_quota_at(const policy *p, uint32_t index)
{
    return index < p->quota_count ? &p->quotas[index] : NULL;
}

const policy_audit *policy_audit_settings(const policy *p) { return &p->audit; }

kiln_status policy_holder_create(policy *initial, policy_holder **out)
{
    if (!out)
        return util_fail(KILN_ERR_NULL_HANDLE, "out is NULL");
    policy_holder *h = calloc(1, sizeof *h);
    if (!h)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "policy holder: out of memory");
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return util_fail(KILN_ERR_INTERNAL, "policy holder: cannot create its lock");
    }
    h->current = initial;
    atomic_init(&h->generation, policy_generation(initial));
    *out = h;
    return KILN_OK;
}

void policy_holder_destroy(policy_holder *h)
{
    if (!h)
        return;
    policy_release(h->current);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

policy *policy_holder_acquire(policy_holder *h)
{
    pthread_mutex_lock(&h->lock);
    policy *p = policy_retain(h->current);
    pthread_mutex_unlock(&h->lock);
    return p;
}

uint64_t policy_holder_generation(const policy_holder *h)
{
    return atomic_load_explicit(&((policy_holder *)h)->generation, memory_order_acquire);
}

void policy_holder_swap(policy_holder *h, policy *next)
{
    pthread_mutex_lock(&h->lock);
    policy *old = h->current;
    h->current = next;
    atomic_store_explicit(&h->generation, policy_generation(next), memory_order_release);
    pthread_mutex_unlock(&h->lock);
    /* Outside the lock: freeing a large policy must not stall readers. */
    policy_release(old);
}

kiln_status policy_holder_reload_file(policy_holder *h, const char *path)
{
    policy *next = NULL;
    kiln_status st = policy_load_file(path, &next);
    if (st != KILN_OK)
        return st;
    policy_holder_swap(h, next);
    return KILN_OK;
}
