/* Kernels: one entry point of a built program and its declared signature. */
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "handles.h"
#include "session.h"
#include "rebuild.h"

static size_t kernel_max_group(const kiln_device *dev, port_function *f)
{
    size_t max = dev->info.max_work_group_size ? dev->info.max_work_group_size : 1;
    uint32_t (*per_function)(port_function *) = dev->ops->compile->function_max_group;
    uint32_t limit = per_function ? per_function(f) : 0;
    return limit && limit < max ? limit : max;
}

KILN_API kiln_status kiln_kernel_get(kiln_program *prog, const char *name, kiln_kernel **out)
{
    CORE_CHECK(prog, CORE_MAGIC_PROGRAM, "program");
    CORE_CHECK_OUT(out, "out");
    *out = NULL;
    if (!name)
        return util_fail(KILN_ERR_NULL_HANDLE, "kernel name is NULL");
    core_module *m = prog->module;
    uint32_t n = lang_unit_kernel_count(m->unit);
    for (uint32_t i = 0; i < n; i++) {
        const lang_kernel *sig = lang_unit_kernel(m->unit, i);
        if (strcmp(sig->name, name) != 0)
            continue;
        kiln_kernel *k = calloc(1, sizeof *k);
        if (!k)
            return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a kernel");
        atomic_fetch_add(&m->refs, 1);
        k->dev = prog->dev;
        k->module = m;
        k->signature = sig;
        k->function = m->functions[i];
        k->max_group = kernel_max_group(prog->dev, k->function);
        k->source = rebuild_retain(prog->source);
        k->magic = CORE_MAGIC_KERNEL;
        session_object_made(k->dev);
        *out = k;
        return KILN_OK;
    }
    return util_fail(KILN_ERR_NOT_FOUND, "the program has no kernel named '%s'", name);
}

KILN_API void kiln_kernel_release(kiln_kernel *k)
{
    if (!k || k->magic != CORE_MAGIC_KERNEL)
        return;
    core_module_release(k->module);
    session_object_gone(k->dev);
    rebuild_release(k->source);
    k->magic = CORE_MAGIC_RELEASED;
    free(k);
}

KILN_API uint32_t kiln_kernel_param_count(const kiln_kernel *k)
{
    if (core_check_handle(k, CORE_MAGIC_KERNEL, "kernel") != KILN_OK)
        return 0;
    return k->signature->param_count;
}

KILN_API kiln_status kiln_kernel_param(const kiln_kernel *k, uint32_t index, const char **name,
                                       const char **type)
{
    CORE_CHECK(k, CORE_MAGIC_KERNEL, "kernel");
    if (index >= k->signature->param_count)
        return util_fail(KILN_ERR_INVALID_ARG, "kernel '%s' has %u parameters, asked for #%u",
                         k->signature->name, k->signature->param_count, index);
    if (name)
        *name = k->signature->params[index].name;
    if (type)
        *type = k->signature->params[index].type_text;
    return KILN_OK;
}
