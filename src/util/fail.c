#include "fail.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Short details fit the fixed buffer; long ones (compiler logs) go to a heap
 * copy so nothing is truncated. */
#define FAIL_INLINE_BYTES 1024

static _Thread_local char fail_inline[FAIL_INLINE_BYTES];
static _Thread_local char *fail_heap;

static void fail_set_text(const char *text)
{
    size_t n = strlen(text);
    free(fail_heap);
    fail_heap = NULL;
    if (n < FAIL_INLINE_BYTES) {
        memcpy(fail_inline, text, n + 1);
        return;
    }
    fail_heap = malloc(n + 1);
    if (fail_heap) {
        memcpy(fail_heap, text, n + 1);
    } else {
        memcpy(fail_inline, text, FAIL_INLINE_BYTES - 1);
        fail_inline[FAIL_INLINE_BYTES - 1] = '\0';
    }
}

kiln_status (util_fail)(kiln_status status, const char *fmt, ...)
{
    char text[FAIL_INLINE_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fail_set_text(text);
    return status;
}

kiln_status (util_fail_text)(kiln_status status, const char *text)
{
    fail_set_text(text ? text : "");
    return status;
}

void util_clear_error(void)
{
    if (fail_heap) {
        free(fail_heap);
        fail_heap = NULL;
    }
    fail_inline[0] = '\0';
}

const char *util_last_error(void)
{
    return fail_heap ? fail_heap : fail_inline;
}
