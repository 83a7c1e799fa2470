#include "govern_types.h"

#include <string.h>

#include "util/fail.h"

static const char *const action_names[GOVERN_ACTION_COUNT] = {
    [GOVERN_ACTION_DEVICE_USE] = "device.use",
    [GOVERN_ACTION_PROGRAM_BUILD] = "program.build",
    [GOVERN_ACTION_BUFFER_ALLOC] = "buffer.alloc",
    [GOVERN_ACTION_BUFFER_COPY] = "buffer.copy",
    [GOVERN_ACTION_KERNEL_LAUNCH] = "kernel.launch",
    [GOVERN_ACTION_QUEUE_PRIORITY] = "queue.priority",
    [GOVERN_ACTION_P2P] = "p2p",
    [GOVERN_ACTION_COLLECTIVE] = "collective",
    [GOVERN_ACTION_ADMIN] = "admin.*",
    [GOVERN_ACTION_SESSION_OPEN] = "session.open",
};

/* reload: swap the policy; audit: read or verify the log; quota: change a
 * quota at run time; health: drain or re-admit a device; session: list or
 * end other principals' sessions. */
const char *const govern_admin_names[] = { "reload", "audit", "quota", "health", "session", NULL };

static const char ADMIN_PREFIX[] = "admin.";

const char *govern_action_name(govern_action action)
{
    if ((unsigned)action >= GOVERN_ACTION_COUNT)
        return "unknown";
    return action_names[action];
}

bool govern_action_parse(const char *text, govern_action *out, const char **admin)
{
    if (admin)
        *admin = NULL;
    if (!text)
        return false;
    size_t prefix = sizeof ADMIN_PREFIX - 1;
    if (strncmp(text, ADMIN_PREFIX, prefix) == 0) {
        const char *sub = text + prefix;
        const char *found = NULL;
        if (strcmp(sub, "*") == 0)
            found = "*";
        for (size_t i = 0; !found && govern_admin_names[i]; i++)
            if (strcmp(sub, govern_admin_names[i]) == 0)
                found = govern_admin_names[i];
        if (!found)
            return false;
        if (admin)
            *admin = found;
        *out = GOVERN_ACTION_ADMIN;
        return true;
    }
    for (int a = 0; a < GOVERN_ACTION_COUNT; a++) {
        if (a != GOVERN_ACTION_ADMIN && strcmp(text, action_names[a]) == 0) {
            *out = (govern_action)a;
            return true;
        }
    }
    return false;
}

#define NS_PER_SECOND 1000000000ull
#define FNV_PRIME 1099511628211ull

uint64_t govern_clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SECOND + (uint64_t)ts.tv_nsec;
}

uint64_t govern_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* The well-formed sequences of Unicode's table 3-7: the second byte's range
 * depends on the first, which rules out overlong forms, surrogates and
 * code points past U+10FFFF without decoding first. */
size_t govern_utf8_sequence(const unsigned char *p, size_t avail, uint32_t *code)
{
    unsigned c = p[0];
    if (c < 0x80) {
        *code = c;
        return 1;
    }
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else
        return 0;
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    uint32_t cp = c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if (i > 1 && (p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    *code = cp;
    return n;
}

static bool is_control(uint32_t code)
{
    return code < 0x20 || code == 0x7F || (code >= 0x80 && code <= 0x9F);
}

kiln_status govern_name_check(const char *name)
{
    if (!name)
        return util_fail(KILN_ERR_NULL_HANDLE, "principal name is NULL");
    size_t n = strlen(name);
    if (n == 0)
        return util_fail(KILN_ERR_INVALID_ARG, "principal name is empty");
    if (n > GOVERN_NAME_MAX)
        return util_fail(KILN_ERR_INVALID_ARG, "principal name is %zu bytes; at most %d allowed",
                         n, GOVERN_NAME_MAX);
    const unsigned char *s = (const unsigned char *)name;
    for (size_t i = 0; i < n;) {
        uint32_t code = 0;
        size_t len = govern_utf8_sequence(s + i, n - i, &code);
        if (len == 0)
            return util_fail(KILN_ERR_INVALID_ARG,
                             "principal name has a byte that is not valid UTF-8 at offset %zu "
                             "(0x%02x)", i, s[i]);
        if (is_control(code))
            return util_fail(KILN_ERR_INVALID_ARG,
                             "principal name has a control character U+%04X at offset %zu",
                             (unsigned)code, i);
        i += len;
    }
    return KILN_OK;
}

kiln_status govern_principal_check(const govern_principal *principal)
{
    if (!principal)
        return util_fail(KILN_ERR_NULL_HANDLE, "principal is NULL");
    kiln_status st = govern_name_check(principal->name);
    if (st != KILN_OK)
        return st;
    if (principal->role_count > GOVERN_ROLES_MAX)
        return util_fail(KILN_ERR_INVALID_ARG, "principal has %u roles; at most %d allowed",
                         (unsigned)principal->role_count, GOVERN_ROLES_MAX);
    for (uint32_t i = 0; i < principal->role_count; i++) {
        st = govern_name_check(principal->roles[i]);
        if (st != KILN_OK) /* util_fail formats before it replaces the detail */
            return util_fail(st, "role %u: %s", (unsigned)i, util_last_error());
    }
    return KILN_OK;
}

/* The highest kiln_backend value (they are numbered from KILN_BACKEND_CPU). */
#define GOVERN_BACKEND_LAST KILN_BACKEND_FAULT

bool govern_backend_parse(const char *text, size_t length, kiln_backend *out)
{
    for (int b = KILN_BACKEND_CPU; b <= GOVERN_BACKEND_LAST; b++) {
        const char *name = kiln_backend_name((kiln_backend)b);
        if (strlen(name) == length && strncmp(text, name, length) == 0) {
            *out = (kiln_backend)b;
            return true;
        }
    }
    return false;
}

govern_device_class govern_class_of_kind(kiln_device_kind kind)
{
    switch (kind) {
    case KILN_DEVICE_KIND_CPU: return GOVERN_CLASS_CPU;
    case KILN_DEVICE_KIND_GPU: return GOVERN_CLASS_GPU;
    case KILN_DEVICE_KIND_ACCELERATOR: return GOVERN_CLASS_ACCELERATOR;
    case KILN_DEVICE_KIND_OTHER: return GOVERN_CLASS_OTHER;
    }
    return GOVERN_CLASS_UNKNOWN;
}

const char *govern_class_name(govern_device_class cls)
{
    switch (cls) {
    case GOVERN_CLASS_CPU: return "cpu";
    case GOVERN_CLASS_GPU: return "gpu";
    case GOVERN_CLASS_ACCELERATOR: return "accelerator";
    case GOVERN_CLASS_OTHER: return "other";
    case GOVERN_CLASS_UNKNOWN: break;
    }
    return "unknown";
}
