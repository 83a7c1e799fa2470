#include "log_buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void util_log_append(port_log *log, const char *text, size_t n)
{
    if (!log || !text || n == 0)
        return;
    if (log->length + n + 1 > log->capacity) {
        size_t cap = log->capacity ? log->capacity : 256;
        while (cap < log->length + n + 1)
            cap *= 2;
        char *grown = realloc(log->text, cap);
        if (!grown)
            return;
        log->text = grown;
        log->capacity = cap;
    }
    memcpy(log->text + log->length, text, n);
    log->length += n;
    log->text[log->length] = '\0';
}

void util_log_appendf(port_log *log, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        util_log_append(log, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void util_log_free(port_log *log)
{
    if (!log)
        return;
    free(log->text);
    log->text = NULL;
    log->length = log->capacity = 0;
}
