#include "govern_types.h"

#include <stdio.h>
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

/* Length of the UTF-8 sequence starting at s (1..4), or 0 if it is not a
 * valid, shortest-form encoding of a scalar value. */
static size_t utf8_sequence(const unsigned char *s, uint32_t *code)
{
    if (s[0] < 0x80) {
        *code = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, c = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, c = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *code = c;
    return len;
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
        size_t len = utf8_sequence(s + i, &code);
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
        if (st != KILN_OK) {
            /* The detail is rewritten below, so copy it out first. */
            char why[GOVERN_NAME_MAX];
            snprintf(why, sizeof why, "%s", util_last_error());
            return util_fail(st, "role %u: %s", (unsigned)i, why);
        }
    }
    return KILN_OK;
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
