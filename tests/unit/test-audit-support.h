/* Verifying a test's audit log, shared by the tests that run governed
 * contexts: every segment of the log at path, checked with the public keys
 * given (none: signatures are not checked). Included by test files only,
 * after <cmocka.h> (it asserts). */
#ifndef KILN_TEST_AUDIT_SUPPORT_H
#define KILN_TEST_AUDIT_SUPPORT_H

#include <stdlib.h>
#include <string.h>

#include "govern/audit.h"

static inline audit_verify_result test_audit_verify(const char *path,
                                                    const audit_public_key *keys, size_t nkeys)
{
    char **paths = NULL;
    size_t n = 0;
    audit_verify_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(audit_segments(path, &paths, &n), KILN_OK);
    assert_int_equal(audit_verify_files((const char *const *)paths, n, keys, nkeys, &r), KILN_OK);
    free(paths);
    return r;
}

#endif
