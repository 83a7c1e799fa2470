/* Helpers shared by the session and memory hygiene tests
 * (test-core-session.c, test-core-hygiene.c): a policy file and an audit log
 * in a temporary directory, contexts on the CPU or the fault adapter,
 * sessions and their device views, and reading the log back. Included by
 * test files only, after <cmocka.h> (static functions that assert). */
#ifndef KILN_TEST_SESSION_SUPPORT_H
#define KILN_TEST_SESSION_SUPPORT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kiln/kiln.h>

#include "backends/fault/fault_plan.h"
#include "test-fault-support.h"
#include "govern/audit.h"
#include "test-audit-support.h"
#include "test-temp-dir.h"

static char policy_path[TEST_TEMP_DIR_MAX + 32];
static char log_path[TEST_TEMP_DIR_MAX + 32];

/* The rules most tests start from: the local user may open sessions;
 * anyone may compute on the CPU unless a rule before says otherwise. */
static const char open_sessions_rule[] =
    "  - name: open-sessions\n"
    "    effect: allow\n"
    "    principals: [\"*\"]\n"
    "    devices: [\"*\"]\n"
    "    actions: [session.open]\n";

static const char cpu_for_all_rule[] =
    "  - name: cpu-for-all\n"
    "    effect: allow\n"
    "    principals: [\"*\"]\n"
    "    devices: [\"backend:cpu\"]\n"
    "    actions: [device.use, program.build, buffer.alloc, buffer.copy, kernel.launch]\n";

static inline void write_policy(const char *rules, const char *tail)
{
    FILE *f = fopen(policy_path, "w");
    assert_non_null(f);
    fprintf(f, "version: 1\nrules:\n%s%s", rules, tail);
    fclose(f);
}

static inline int session_test_setup(const char *name)
{
    if (test_temp_dir_make(name) != 0)
        return -1;
    snprintf(policy_path, sizeof policy_path, "%s/policy.yaml", test_temp_dir);
    snprintf(log_path, sizeof log_path, "%s/audit.log", test_temp_dir);
    unsetenv("KILN_POLICY");
    unsetenv("KILN_AUDIT_LOG");
    unsetenv("KILN_AUDIT_KEY");
    return 0;
}

/* Each test starts without a log of an earlier one. */
static inline int fresh_log(void **state)
{
    (void)state;
    char cmd[TEST_TEMP_DIR_MAX + 64];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/audit.log*", test_temp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static inline kiln_context *open_context(const char *policy_file, const char *log)
{
    kiln_context_options o = { .size = sizeof o, .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU),
                               .policy = policy_file, .audit_log = log };
    kiln_context *ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, &o), KILN_OK);
    return ctx;
}

static inline kiln_session *open_session(kiln_context *ctx, const char *principal,
                                  const char *const *roles, uint32_t role_count)
{
    kiln_session_options o = { .size = sizeof o, .principal = principal, .roles = roles,
                               .role_count = role_count };
    kiln_session *s = NULL;
    kiln_status st = kiln_session_open(ctx, &o, &s);
    if (st != KILN_OK)
        fail_msg("session for %s: %s (%s)", principal, kiln_status_name(st), kiln_last_error());
    return s;
}

static inline kiln_device *view_of(kiln_session *s)
{
    kiln_device *dev = NULL;
    assert_int_equal(kiln_session_device(s, 0, &dev), KILN_OK);
    return dev;
}

static inline char *read_log(void)
{
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    static char text[1 << 21];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* How many lines of the log hold every one of the (NULL-ended) texts. */
static inline int log_lines_with(const char *first, ...)
{
    const char *parts[8];
    int n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *p = first; p && n < 8; p = va_arg(ap, const char *))
        parts[n++] = p;
    va_end(ap);
    int count = 0;
    for (char *line = read_log(); *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        int all = 1;
        for (int i = 0; i < n && all; i++)
            all = strstr(line, parts[i]) != NULL;
        count += all;
        if (!end)
            break;
        *end = '\n';
        line = end + 1;
    }
    return count;
}

static inline void assert_log_verifies(void)
{
    assert_int_equal(test_audit_verify(log_path, NULL, 0).verdict, AUDIT_VERIFY_OK);
}

/* A context on the fault adapter (wrapping the CPU's), governed or not. */
static inline kiln_context *open_fault_context(const char *policy_file, const char *log)
{
    test_fault_plan("none");
    kiln_context_options o = { .size = sizeof o, .backends = KILN_BACKEND_BIT(KILN_BACKEND_FAULT),
                               .policy = policy_file, .audit_log = log };
    kiln_context *ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, &o), KILN_OK);
    return ctx;
}

#endif
