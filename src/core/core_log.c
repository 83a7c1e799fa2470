#include "core_log.h"

#include <stdarg.h>
#include <stdio.h>

#define CORE_LOG_LINE_BYTES 1024

void core_log(const kiln_context *ctx, kiln_log_level level, const char *fmt, ...)
{
    if (!ctx || !ctx->log)
        return;
    char line[CORE_LOG_LINE_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->log(level, line, ctx->log_user);
}
