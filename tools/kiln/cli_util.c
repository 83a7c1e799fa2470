#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

bool cli_read_file(const char *path, char **text)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "kiln: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    char *data = NULL;
    size_t length = 0;
    size_t capacity = 0;
    bool ok = true;
    for (;;) {
        if (capacity - length < BUFSIZ) {
            size_t grown = capacity ? capacity * 2 : 2 * BUFSIZ;
            char *bigger = realloc(data, grown + 1);
            if (!bigger) {
                fprintf(stderr, "kiln: out of memory reading %s\n", path);
                ok = false;
                break;
            }
            data = bigger;
            capacity = grown;
        }
        size_t got = fread(data + length, 1, capacity - length, f);
        length += got;
        if (got == 0)
            break;
    }
    if (ok && ferror(f)) {
        fprintf(stderr, "kiln: cannot read %s: %s\n", path, strerror(errno));
        ok = false;
    }
    fclose(f);
    if (!ok) {
        free(data);
        return false;
    }
    data[length] = '\0';
    *text = data;
    return true;
}

/* NAME must be a C identifier: the value goes through unchanged. */
static bool valid_define(const char *definition)
{
    const char *p = definition;
    if (!(isalpha((unsigned char)*p) || *p == '_'))
        return false;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    if (*p == '\0')
        return true;
    return *p == '=' && strpbrk(p, " \t\n") == NULL;
}

bool cli_defines_add(cli_defines *defs, const char *definition)
{
    if (!valid_define(definition)) {
        fprintf(stderr, "kiln: -D wants NAME or NAME=VALUE without spaces, got '%s'\n",
                definition);
        return false;
    }
    size_t extra = strlen(definition) + sizeof " -D";
    char *bigger = realloc(defs->text, defs->length + extra);
    if (!bigger) {
        fprintf(stderr, "kiln: out of memory\n");
        return false;
    }
    defs->text = bigger;
    int written = snprintf(defs->text + defs->length, extra, "%s-D%s",
                           defs->length ? " " : "", definition);
    defs->length += (size_t)written;
    return true;
}

void cli_defines_free(cli_defines *defs)
{
    free(defs->text);
    defs->text = NULL;
    defs->length = 0;
}

void cli_report_status(const char *what, kiln_status status)
{
    const char *detail = kiln_last_error();
    fprintf(stderr, "kiln: %s: %s (%s)\n", what, kiln_status_name(status),
            kiln_status_message(status));
    if (detail[0] != '\0')
        fprintf(stderr, "%s%s", detail, detail[strlen(detail) - 1] == '\n' ? "" : "\n");
}

bool cli_governance_option(int opt, const char *arg)
{
    const char *variable = opt == 'P' ? "KILN_POLICY"
                           : opt == 'L' ? "KILN_AUDIT_LOG"
                           : opt == 'K' ? "KILN_AUDIT_KEY"
                                        : NULL;
    return variable && setenv(variable, arg, 1) == 0;
}

int cli_exit_for(kiln_status status)
{
    if (status == KILN_ERR_DENIED || status == KILN_ERR_QUOTA || status == KILN_ERR_AUDIT)
        return CLI_EXIT_DENIED;
    return CLI_EXIT_FAILURE;
}

bool cli_open_device(const char *selector, kiln_context **ctx, kiln_device **dev)
{
    kiln_status st = kiln_context_create(ctx, NULL);
    if (st != KILN_OK) {
        cli_report_status("cannot create a context", st);
        return false;
    }
    st = selector ? kiln_device_find(*ctx, selector, dev) : kiln_device_default(*ctx, dev);
    if (st != KILN_OK) {
        char what[128];
        snprintf(what, sizeof what, "no device '%s'", selector ? selector : "default");
        cli_report_status(what, st);
        kiln_context_destroy(*ctx);
        *ctx = NULL;
        return false;
    }
    return true;
}

uint64_t cli_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool cli_translate_file(const char *path, const cli_defines *defs, kiln_backend target,
                        char **text)
{
    char *source = NULL;
    *text = NULL;
    if (!cli_read_file(path, &source))
        return false;
    kiln_build_options opts = {
        .size = sizeof opts, .defines = defs->text, .source_name = path,
    };
    kiln_status st = kiln_translate(source, &opts, target, text);
    free(source);
    if (st == KILN_ERR_COMPILE)
        fputs(kiln_last_error(), stderr);
    else if (st != KILN_OK)
        cli_report_status(path, st);
    return st == KILN_OK;
}
