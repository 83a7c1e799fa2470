/* Appending text to a port_log (compiler output handed from an adapter to
 * the core). */
#ifndef KILN_UTIL_LOG_BUFFER_H
#define KILN_UTIL_LOG_BUFFER_H

#include "../ports/port_types.h"

/* Appends n bytes; on allocation failure the log keeps what it had. */
void util_log_append(port_log *log, const char *text, size_t n);
void util_log_appendf(port_log *log, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void util_log_free(port_log *log);

#endif
