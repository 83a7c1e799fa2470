/* Checking the handles the caller passes in (see core_magic). */
#ifndef KILN_CORE_HANDLES_H
#define KILN_CORE_HANDLES_H

#include "../util/fail.h"
#include "core_types.h"

/* Every handle struct starts with its magic word, so the first word can be
 * read through any of them. */
static inline kiln_status core_check_handle(const void *handle, uint32_t magic, const char *what)
{
    if (!handle)
        return util_fail(KILN_ERR_NULL_HANDLE, "%s is NULL", what);
    if (*(const uint32_t *)handle != magic)
        return util_fail(KILN_ERR_INVALID_HANDLE, "%s is not a live %s handle (released or forged)",
                         what, what);
    return KILN_OK;
}

#define CORE_CHECK(handle, magic, what)                                        \
    do {                                                                       \
        kiln_status core_check_status_ = core_check_handle((handle), (magic), (what)); \
        if (core_check_status_ != KILN_OK)                                     \
            return core_check_status_;                                         \
    } while (0)

/* A struct the caller fills (options) or receives (info) carries its size,
 * which must be this version's: a struct of another size is refused. */
#define CORE_CHECK_SIZE(ptr, type_name)                                        \
    do {                                                                       \
        if ((ptr)->size != sizeof *(ptr))                                      \
            return util_fail(KILN_ERR_INVALID_ARG,                             \
                             "%s.size is %u, expected %zu (set it to sizeof)", \
                             (type_name), (ptr)->size, sizeof *(ptr));         \
    } while (0)

#define CORE_CHECK_OUT(ptr, what)                                              \
    do {                                                                       \
        if (!(ptr))                                                            \
            return util_fail(KILN_ERR_NULL_HANDLE, "output pointer %s is NULL", (what)); \
    } while (0)

#endif
