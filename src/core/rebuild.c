/* Kept sources and CPU rebuilds of kernels (rebuild.h). */
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "rebuild.h"

kiln_status rebuild_keep(const kiln_device *dev, const char *source, const char *defines,
                         const char *name, core_source **out)
{
    *out = NULL;
    if (dev->info.backend == KILN_BACKEND_CPU)
        return KILN_OK;
    core_source *s = calloc(1, sizeof *s);
    if (s) {
        s->text = strdup(source);
        s->defines = strdup(defines);
        s->name = strdup(name);
    }
    if (!s || !s->text || !s->defines || !s->name) {
        if (s) {
            free(s->text);
            free(s->defines);
            free(s->name);
        }
        free(s);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                         "no memory to keep the source of '%s' for a CPU fallback", name);
    }
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return KILN_OK;
}

core_source *rebuild_retain(core_source *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

void rebuild_release(core_source *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (rebuild_twin *t = s->twins, *next; t; t = next) {
        next = t->next;
        kiln_kernel_release(t->kernel);
        kiln_program_release(t->program);
        free(t->name);
        free(t);
    }
    pthread_mutex_destroy(&s->lock);
    free(s->text);
    free(s->defines);
    free(s->name);
    free(s);
}

kiln_status rebuild_twin_of(kiln_kernel *k, rebuild_twin **out)
{
    rebuild_twin *t = atomic_load(&k->twin);
    if ((*out = t) != NULL)
        return KILN_OK;
    core_source *s = k->source;
    if (!s)
        return util_fail(KILN_ERR_UNSUPPORTED,
                         "kernel '%s' has no kept source to rebuild on the CPU (it was built on "
                         "the CPU)",
                         k->signature->name);
    pthread_mutex_lock(&s->lock);
    for (t = s->twins; t; t = t->next)
        if (strcmp(t->name, k->signature->name) == 0)
            break;
    if (!t && (t = calloc(1, sizeof *t)) != NULL) {
        if ((t->name = strdup(k->signature->name)) != NULL) {
            t->next = s->twins;
            s->twins = t;
        } else {
            free(t);
            t = NULL;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (!t)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                         "no memory for the CPU rebuild of kernel '%s'", k->signature->name);
    atomic_store(&k->twin, t);
    *out = t;
    return KILN_OK;
}

kiln_status rebuild_on_cpu(core_source *s, rebuild_twin *t, kiln_device *cpu, kiln_kernel **out)
{
    pthread_mutex_lock(&s->lock);
    kiln_status st = KILN_OK;
    if (!t->kernel) {
        kiln_build_options opts = { .size = sizeof opts, .defines = s->defines,
                                    .source_name = s->name };
        if (!t->program)
            st = kiln_program_build(cpu, s->text, &opts, &t->program);
        if (st == KILN_OK)
            st = kiln_kernel_get(t->program, t->name, &t->kernel);
        if (st != KILN_OK)
            st = util_fail(st, "rebuilding kernel '%s' of %s on the CPU: %s", t->name, s->name,
                           kiln_last_error());
    }
    *out = t->kernel;
    pthread_mutex_unlock(&s->lock);
    return st;
}
