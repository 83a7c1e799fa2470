/* Status names and messages, the thread-local detail, the version. */
#include <stdlib.h>

#include <kiln/kiln.h>

#include "../util/fail.h"

#define KILN__STRINGIFY(x) #x
#define KILN__VERSION_TEXT(a, b, c) KILN__STRINGIFY(a) "." KILN__STRINGIFY(b) "." KILN__STRINGIFY(c)

typedef struct status_entry {
    kiln_status status;
    const char *name;
    const char *message;
} status_entry;

static const status_entry status_table[] = {
    { KILN_OK, "KILN_OK", "success" },
    { KILN_ERR_INVALID_ARG, "KILN_ERR_INVALID_ARG", "an argument is invalid" },
    { KILN_ERR_NULL_HANDLE, "KILN_ERR_NULL_HANDLE", "a required handle or pointer is NULL" },
    { KILN_ERR_INVALID_HANDLE, "KILN_ERR_INVALID_HANDLE",
      "a handle is stale, released, forged or of the wrong type" },
    { KILN_ERR_OUT_OF_RANGE, "KILN_ERR_OUT_OF_RANGE", "an access goes past the end of a buffer" },
    { KILN_ERR_INVALID_SIZE, "KILN_ERR_INVALID_SIZE", "a size is zero or too large" },
    { KILN_ERR_INVALID_RANGE, "KILN_ERR_INVALID_RANGE", "the launch range cannot be run" },
    { KILN_ERR_NOT_FOUND, "KILN_ERR_NOT_FOUND", "no such kernel or device" },
    { KILN_ERR_INVALID_DEVICE, "KILN_ERR_INVALID_DEVICE", "the device index or selector is invalid" },
    { KILN_ERR_IN_USE, "KILN_ERR_IN_USE", "objects made from it are still live" },
    { KILN_ERR_OUT_OF_MEMORY, "KILN_ERR_OUT_OF_MEMORY", "out of device memory" },
    { KILN_ERR_OUT_OF_HOST_MEMORY, "KILN_ERR_OUT_OF_HOST_MEMORY", "out of host memory" },
    { KILN_ERR_IO, "KILN_ERR_IO", "a file could not be read or written" },
    { KILN_ERR_COMPILE, "KILN_ERR_COMPILE", "the kernel source failed to compile" },
    { KILN_ERR_NO_COMPILER, "KILN_ERR_NO_COMPILER", "the backend's compiler is not available" },
    { KILN_ERR_UNSUPPORTED, "KILN_ERR_UNSUPPORTED", "the device lacks a capability the kernel uses" },
    { KILN_ERR_DEVICE_FAULT, "KILN_ERR_DEVICE_FAULT", "a kernel faulted on the device" },
    { KILN_ERR_DEVICE_LOST, "KILN_ERR_DEVICE_LOST", "the device is lost or unhealthy" },
    { KILN_ERR_BACKEND_UNAVAILABLE, "KILN_ERR_BACKEND_UNAVAILABLE", "the backend could not be loaded" },
    { KILN_ERR_DEVICE, "KILN_ERR_DEVICE", "the device reported an error" },
    { KILN_ERR_DENIED, "KILN_ERR_DENIED", "the policy denied the operation" },
    { KILN_ERR_QUOTA, "KILN_ERR_QUOTA", "a quota would be exceeded" },
    { KILN_ERR_AUDIT, "KILN_ERR_AUDIT", "the audit log could not be written" },
    { KILN_ERR_POLICY, "KILN_ERR_POLICY", "the policy file is malformed or unreadable" },
    { KILN_ERR_INTERNAL, "KILN_ERR_INTERNAL", "internal error in kiln" },
    { KILN_ERR_NOT_IMPLEMENTED, "KILN_ERR_NOT_IMPLEMENTED", "not implemented in this version" },
};

static const status_entry *status_lookup(kiln_status status)
{
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].status == status)
            return &status_table[i];
    return NULL;
}

KILN_API const char *kiln_status_name(kiln_status status)
{
    const status_entry *e = status_lookup(status);
    return e ? e->name : "KILN_ERR_UNKNOWN";
}

KILN_API const char *kiln_status_message(kiln_status status)
{
    const status_entry *e = status_lookup(status);
    return e ? e->message : "unknown status code";
}

KILN_API const char *kiln_last_error(void)
{
    return util_last_error();
}

KILN_API const char *kiln_version(void)
{
    return KILN__VERSION_TEXT(KILN_VERSION_MAJOR, KILN_VERSION_MINOR, KILN_VERSION_PATCH);
}

KILN_API void kiln_free(void *p)
{
    free(p);
}
