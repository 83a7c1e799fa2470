/* libFuzzer target for the front end's -D option parser (the defines of
 * kiln_build_options: "-DNAME=value -DOTHER", src/lang/preprocess.c). Each
 * input (up to its first NUL) is the defines string for a fixed kernel that
 * uses the macros a user would set, translated for every dialect. What must
 * hold: no crash, hang, leak or sanitizer report; success or
 * KILN_ERR_COMPILE with diagnostics, nothing else; a unit exactly on
 * success; and a list of well-formed -DNAME=digits options (checked here
 * independently) always translates. fuzz_lang covers the source side. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every macro has a default, so any set of -D options yields valid source
 * unless a value is not an expression. */
static const char kernel[] =
    "#ifndef TS\n#define TS 16\n#endif\n"
    "#ifndef N\n#define N 4\n#endif\n"
    "#ifndef SCALE\n#define SCALE 2\n#endif\n"
    "kernel void k(global float *out, uint n) {\n"
    "    uint i = global_id(0);\n"
    "#if defined(USE_X) && TS > 8\n"
    "    if (i < n) out[i] = (float)(TS * N);\n"
    "#else\n"
    "    if (i < n) out[i] = (float)(SCALE + N);\n"
    "#endif\n"
    "}\n";

/* "-D" NAME ["=" digits] options separated by blanks, NAME one of the
 * macros above: such a list must always translate. */
static int plainly_valid(const char *defines)
{
    static const char *const names[] = {"TS", "N", "SCALE", "USE_X"};
    const char *p = defines;
    for (;;) {
        p += strspn(p, " \t\n");
        if (!*p)
            return 1;
        if (strncmp(p, "-D", 2) != 0)
            return 0;
        p += 2;
        size_t n = strcspn(p, "= \t\n");
        size_t i = 0;
        while (i < sizeof names / sizeof names[0] &&
               !(strlen(names[i]) == n && strncmp(names[i], p, n) == 0))
            i++;
        if (i == sizeof names / sizeof names[0])
            return 0;
        p += n;
        if (*p == '=') {
            p++;
            size_t digits = 0;
            while (isdigit((unsigned char)p[digits]))
                digits++;
            /* A leading 0 is octal; 4 digits keep TS * N within int. */
            if (digits == 0 || digits > 4 || p[0] == '0')
                return 0;
            p += digits;
        }
        if (*p && !strchr(" \t\n", *p))
            return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *defines = malloc(size + 1);
    if (!defines)
        abort();
    memcpy(defines, data, size);
    defines[size] = '\0';
    int must_pass = plainly_valid(defines);
    static const port_dialect dialects[] = {PORT_DIALECT_C, PORT_DIALECT_CUDA, PORT_DIALECT_OPENCL};
    for (size_t i = 0; i < sizeof dialects / sizeof dialects[0]; i++) {
        lang_caps caps = {1, 1, 1, 1};
        lang_request req = {kernel, sizeof kernel - 1, "defines.kc", defines, dialects[i], caps};
        lang_unit *unit = NULL;
        char *diagnostics = NULL;
        kiln_status status = lang_translate(&req, &unit, &diagnostics);
        if ((status == KILN_OK) != (unit != NULL))
            abort();
        if (status != KILN_OK && (status != KILN_ERR_COMPILE || !diagnostics || !diagnostics[0]))
            abort();
        if (must_pass && status != KILN_OK)
            abort();
        lang_unit_free(unit);
        free(diagnostics);
    }
    free(defines);
    return 0;
}
