/* Thread-local error detail and the one early-return idiom:
 *     if (bad) return util_fail(KILN_ERR_X, "what and why: %s", detail);
 * Usable from every folder of src/. */
#ifndef KILN_UTIL_FAIL_H
#define KILN_UTIL_FAIL_H

#include <kiln/common.h>

#if defined(__GNUC__)
#define UTIL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define UTIL_PRINTF(f, a)
#endif

/* Sets the calling thread's detail text and returns status. */
kiln_status util_fail(kiln_status status, const char *fmt, ...) UTIL_PRINTF(2, 3);

/* Sets the detail to text verbatim (which may be long, e.g. a compiler log). */
kiln_status util_fail_text(kiln_status status, const char *text);

/* Clears the detail (at the start of a public call that succeeds). */
void util_clear_error(void);

/* The current detail; never NULL. */
const char *util_last_error(void);

#ifdef __clang_analyzer__
/* The static analyzer reads one file at a time, so it cannot see that these
 * return their status argument; it then follows impossible paths where a
 * failure yields KILN_OK and reports null dereferences on them. Under
 * analysis only, the macros make the returned value visible. fail.c defines
 * the functions as (util_fail) so the macros leave the definitions alone. */
#define util_fail(status, ...) (util_fail((status), __VA_ARGS__), (status))
#define util_fail_text(status, text) (util_fail_text((status), (text)), (status))
#endif

#endif
