/* Messages to the context's log callback (the library never prints). */
#ifndef KILN_CORE_LOG_H
#define KILN_CORE_LOG_H

#include "core_types.h"

void core_log(const kiln_context *ctx, kiln_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
