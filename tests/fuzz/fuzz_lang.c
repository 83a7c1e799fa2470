/* libFuzzer target for the Kiln C front end: every input is translated for
 * every dialect, with capabilities and -D defines taken from the first
 * byte, and everything is freed. Any crash, hang, leak or sanitizer report
 * is a bug; each one found becomes a regression test in test-lang-diag.c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lang/lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t flags = size ? data[0] : 0;
    lang_caps caps = {flags & 1, (flags >> 1) & 1, (flags >> 2) & 1, (flags >> 3) & 1};
    const char *defines = (flags & 16) ? "-DTS=16 -DN=4 -DUSE_X" : NULL;
    static const port_dialect dialects[] = {PORT_DIALECT_C, PORT_DIALECT_CUDA, PORT_DIALECT_OPENCL};
    for (size_t i = 0; i < sizeof dialects / sizeof dialects[0]; i++) {
        lang_request req = {(const char *)data, size, "fuzz.kc", defines, dialects[i], caps};
        lang_unit *unit = NULL;
        char *diagnostics = NULL;
        kiln_status status = lang_translate(&req, &unit, &diagnostics);
        if ((status == KILN_OK) != (unit != NULL))
            abort();
        if (status != KILN_OK && status != KILN_ERR_COMPILE)
            abort();
        if (unit && lang_unit_source_length(unit) == 0)
            abort();
        lang_unit_free(unit);
        free(diagnostics);
    }
    return 0;
}
