/* A temporary directory for the tests that need files (cmocka setups make
 * it, test_temp_dir_remove is the matching teardown). One per executable;
 * included by test files only (static functions). */
#ifndef KILN_TEST_TEMP_DIR_H
#define KILN_TEST_TEMP_DIR_H

#include <stdio.h>
#include <stdlib.h>

/* Room for "/tmp/", a name and mkdtemp's "-XXXXXX". */
#define TEST_TEMP_DIR_MAX 64

static char test_temp_dir[TEST_TEMP_DIR_MAX];

/* Makes a fresh /tmp/name-XXXXXX into test_temp_dir; 0 on success. */
static inline int test_temp_dir_make(const char *name)
{
    snprintf(test_temp_dir, sizeof test_temp_dir, "/tmp/%s-XXXXXX", name);
    return mkdtemp(test_temp_dir) ? 0 : -1;
}

/* Removes test_temp_dir and all it holds. */
static inline int test_temp_dir_remove(void **state)
{
    (void)state;
    char cmd[TEST_TEMP_DIR_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_temp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
