/* Sessions (include/kiln/session.h): a principal named by the application,
 * and one view of each context device acting for it. A view is a
 * kiln_device whose `base` is the context's device (the hardware: port,
 * health, zeroing stream) and whose own policy binding is its principal's;
 * everything created through it carries it as its `dev`, which is how the
 * stages find the principal and how handles of different sessions are told
 * apart (owner.h). */
#ifndef KILN_CORE_SESSION_H
#define KILN_CORE_SESSION_H

#include <stdatomic.h>

#include "core_types.h"

struct kiln_session {
    uint32_t magic; /* CORE_MAGIC_SESSION; first, as every handle (handles.h) */
    kiln_context *ctx;
    uint64_t id; /* from 1, in the order sessions were opened in the context */
    govern_principal principal; /* points into name and roles */
    char name[GOVERN_NAME_MAX + 1];
    char roles[GOVERN_ROLES_MAX][GOVERN_NAME_MAX + 1];
    /* Queues, buffers, programs and kernels made through the views and not
     * yet released: close refuses while any is live. */
    atomic_uint_fast64_t live;
    struct kiln_session *prev, *next; /* the registry's list of open sessions */
    uint32_t view_count;
    kiln_device views[]; /* one per context device, same index */
};

/* The context's sessions: made with the context, destroyed with it (which
 * closes, and records the close of, every session still open). */
kiln_status session_registry_create(kiln_context *ctx);
void session_registry_destroy(kiln_context *ctx);

/* Counts an object made through dev (a view, or a context device: then
 * nothing) and its release; one call where each object is made or freed. */
static inline void session_object_made(const kiln_device *dev)
{
    if (dev->session)
        atomic_fetch_add(&dev->session->live, 1);
}

static inline void session_object_gone(const kiln_device *dev)
{
    if (dev->session)
        atomic_fetch_sub(&dev->session->live, 1);
}

/* The governance of opening and closing (governance_session.c), for a
 * governed context only. Open decides `session.open` for the local user
 * and records it (allowed or denied) naming the session's principal;
 * KILN_ERR_DENIED names the rule. Close records the close; why says how. */
kiln_status governance_session_open(core_governance *g, const kiln_session *s);
kiln_status governance_session_close(core_governance *g, const kiln_session *s, const char *why);

#endif
