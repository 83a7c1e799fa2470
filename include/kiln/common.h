/* kiln — common definitions: export macro, version, status codes. */
#ifndef KILN_COMMON_H
#define KILN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(KILN_BUILDING_LIBRARY) && defined(__GNUC__)
#define KILN_API __attribute__((visibility("default")))
#else
#define KILN_API
#endif

#define KILN_VERSION_MAJOR 0
#define KILN_VERSION_MINOR 1
#define KILN_VERSION_PATCH 0
/* One integer that orders releases: major * 10000 + minor * 100 + patch. */
#define KILN_VERSION_NUMBER \
    (KILN_VERSION_MAJOR * 10000 + KILN_VERSION_MINOR * 100 + KILN_VERSION_PATCH)

/* Status codes. Values are stable forever; they are grouped in bands of a
 * hundred by kind so that a caller can test the kind with a range check. */
typedef enum kiln_status {
    KILN_OK = 0,

    /* -100..-199: the caller passed something wrong. */
    KILN_ERR_INVALID_ARG = -100,     /* a value or launch argument is wrong */
    KILN_ERR_NULL_HANDLE = -101,     /* a required handle or pointer is NULL */
    KILN_ERR_INVALID_HANDLE = -102,  /* a handle is stale, forged or foreign */
    KILN_ERR_OUT_OF_RANGE = -103,    /* an access past the end of a buffer */
    KILN_ERR_INVALID_SIZE = -104,    /* a zero or absurd size */
    KILN_ERR_INVALID_RANGE = -105,   /* a launch range that cannot be run */
    KILN_ERR_NOT_FOUND = -106,       /* no kernel or device of that name */
    KILN_ERR_INVALID_DEVICE = -107,  /* a device index or selector is wrong */
    KILN_ERR_IN_USE = -108,          /* objects made from it are still live */

    /* -200..-299: a resource ran out or could not be reached. */
    KILN_ERR_OUT_OF_MEMORY = -200,       /* device memory */
    KILN_ERR_OUT_OF_HOST_MEMORY = -201,  /* host memory */
    KILN_ERR_IO = -202,                  /* a file could not be read/written */

    /* -300..-399: building a program failed. */
    KILN_ERR_COMPILE = -300,      /* the kernel source has an error */
    KILN_ERR_NO_COMPILER = -301,  /* the backend's compiler is missing */
    KILN_ERR_UNSUPPORTED = -302,  /* the device lacks a capability used */

    /* -400..-499: the device failed. */
    KILN_ERR_DEVICE_FAULT = -400,        /* a kernel faulted */
    KILN_ERR_DEVICE_LOST = -401,         /* the device is gone or unhealthy */
    KILN_ERR_BACKEND_UNAVAILABLE = -402, /* a backend failed to load */
    KILN_ERR_DEVICE = -403,              /* any other device error */

    /* -500..-599: governance refused the operation. */
    KILN_ERR_DENIED = -500, /* the policy denies it; the detail names the rule */
    KILN_ERR_QUOTA = -501,  /* a quota would be exceeded; the detail names it */
    KILN_ERR_AUDIT = -502,  /* the audit log could not record it */
    KILN_ERR_POLICY = -503, /* a policy file is malformed or unreadable */

    /* -900..-999: kiln itself is at fault. */
    KILN_ERR_INTERNAL = -900,
    KILN_ERR_NOT_IMPLEMENTED = -901
} kiln_status;

/* The enum's name ("KILN_ERR_COMPILE"); "KILN_ERR_UNKNOWN" for other values. */
KILN_API const char *kiln_status_name(kiln_status status);

/* A one-line description of what the status means in general. */
KILN_API const char *kiln_status_message(kiln_status status);

/* Detail about the last failure on the calling thread: the compiler log,
 * the argument that was wrong, and so on. Never NULL; "" when none. The
 * text stays valid until the next kiln call on this thread. */
KILN_API const char *kiln_last_error(void);

/* "MAJOR.MINOR.PATCH" of the library that is loaded. */
KILN_API const char *kiln_version(void);

#ifdef __cplusplus
}
#endif

#endif
