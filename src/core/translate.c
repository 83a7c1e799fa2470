/* kiln_translate: the front end on its own, for `kiln translate` and tools. */
#include <stdlib.h>
#include <string.h>

#include "../lang/lang.h"
#include "../util/fail.h"

static kiln_status translate_dialect(kiln_backend target, port_dialect *out)
{
    switch (target) {
    case KILN_BACKEND_CPU: *out = PORT_DIALECT_C; return KILN_OK;
    case KILN_BACKEND_CUDA: *out = PORT_DIALECT_CUDA; return KILN_OK;
    case KILN_BACKEND_OPENCL: *out = PORT_DIALECT_OPENCL; return KILN_OK;
    case KILN_BACKEND_METAL:
        return util_fail(KILN_ERR_NOT_IMPLEMENTED, "the Metal emitter is not part of this version");
    case KILN_BACKEND_FAULT: break;
    }
    return util_fail(KILN_ERR_INVALID_ARG, "backend %d has no source dialect", (int)target);
}

KILN_API kiln_status kiln_translate(const char *source, const kiln_build_options *opts,
                                    kiln_backend target, char **text)
{
    if (!source || !text)
        return util_fail(KILN_ERR_NULL_HANDLE, "%s is NULL", source ? "text" : "source");
    *text = NULL;
    if (opts && opts->size != sizeof *opts)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "kiln_build_options.size is %u, expected %zu (set it to sizeof)",
                         opts->size, sizeof *opts);
    lang_request req = { .source = source, .source_length = strlen(source),
                         .source_name = opts && opts->source_name ? opts->source_name : "<source>",
                         .defines = opts ? opts->defines : NULL,
                         .caps = { .has_double = 1, .has_float_atomics = 1,
                                   .has_int64_atomics = 1, .has_subgroups = 1 } };
    kiln_status st = translate_dialect(target, &req.dialect);
    if (st != KILN_OK)
        return st;
    lang_unit *unit = NULL;
    char *diagnostics = NULL;
    st = lang_translate(&req, &unit, &diagnostics);
    if (st != KILN_OK) {
        util_fail_text(st, diagnostics ? diagnostics : "translation failed");
        free(diagnostics);
        return st;
    }
    size_t n = lang_unit_source_length(unit);
    char *copy = malloc(n + 1);
    if (!copy) {
        lang_unit_free(unit);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for %zu bytes of source", n);
    }
    memcpy(copy, lang_unit_source(unit), n);
    copy[n] = '\0';
    lang_unit_free(unit);
    util_clear_error();
    *text = copy;
    return KILN_OK;
}
