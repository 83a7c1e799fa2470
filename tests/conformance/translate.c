/* conformance-translate: every conformance kernel file translates for every
 * dialect (CPU C, CUDA, OpenCL, Metal) through kiln_translate, and the
 * emitted text carries #line directives naming the .kc file, so native
 * compiler errors point at it. A dialect whose emitter this version lacks
 * (KILN_ERR_NOT_IMPLEMENTED) is reported as skipped. Needs no device: this is the part of the
 * suite that CI without GPUs can run for the GPU dialects. Running the
 * kernels is the driver's job (kiln-conformance). */
#include <kiln/kiln.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PATH_MAX_BYTES 4096
/* Defines every file gets: the double parts, and what preprocessor.kc needs. */
#define COMMON_DEFINES "-DKILN_TEST_DOUBLE=1 -DSCALE=1"

/* Files built once per element type need T; one representative type each. */
static const struct {
    const char *file;
    const char *defines;
} typed_files[] = {
    { "atomics_int.kc", COMMON_DEFINES " -DT=long" },
    { "atomics_float.kc", COMMON_DEFINES " -DT=float" },
    { "math.kc", COMMON_DEFINES " -DT=double" },
    { "minmax.kc", COMMON_DEFINES " -DT=ulong" },
    { "buffer_types.kc", COMMON_DEFINES " -DT=bool" },
};

static const kiln_backend dialects[] = { KILN_BACKEND_CPU, KILN_BACKEND_CUDA,
                                         KILN_BACKEND_OPENCL, KILN_BACKEND_METAL };

static const char *kernel_dir(void)
{
    static char dir[PATH_MAX_BYTES];
    const char *source = getenv("KILN_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/tests/kernels", source ? source : ".");
    return dir;
}

static const char *defines_for(const char *file)
{
    for (size_t i = 0; i < sizeof typed_files / sizeof typed_files[0]; i++) {
        if (strcmp(typed_files[i].file, file) == 0)
            return typed_files[i].defines;
    }
    return COMMON_DEFINES;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc(1, (size_t)length + 1);
    if (text && fread(text, 1, (size_t)length, f) != (size_t)length) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

static void translate_one(const char *file)
{
    char path[2 * PATH_MAX_BYTES];
    snprintf(path, sizeof path, "%s/%s", kernel_dir(), file);
    char *source = read_file(path);
    assert_non_null(source);
    kiln_build_options opts = { .size = sizeof opts, .defines = defines_for(file),
                                .source_name = file };
    for (size_t d = 0; d < sizeof dialects / sizeof dialects[0]; d++) {
        char *text = NULL;
        kiln_status st = kiln_translate(source, &opts, dialects[d], &text);
        if (st == KILN_ERR_NOT_IMPLEMENTED) {
            /* An emitter this version does not have is absent, not passed. */
            print_message("%s: %s dialect skipped: %s\n", file, kiln_backend_name(dialects[d]),
                          kiln_last_error());
            continue;
        }
        if (st != KILN_OK)
            fail_msg("%s for %s: %s\n%s", file, kiln_backend_name(dialects[d]),
                     kiln_status_name(st), kiln_last_error());
        assert_non_null(text);
        if (!strstr(text, "#line") || !strstr(text, file))
            fail_msg("%s for %s: no #line directive naming the file", file,
                     kiln_backend_name(dialects[d]));
        kiln_free(text);
    }
    free(source);
}

/* One cmocka test per kernel file, named by the file, so that a failure
 * names it and the other files still run. */
static void kernel_file_translates_for_every_dialect(void **state)
{
    translate_one(*state);
}

#define MAX_KERNEL_FILES 256

int main(void)
{
    static struct CMUnitTest tests[MAX_KERNEL_FILES];
    static char names[MAX_KERNEL_FILES][PATH_MAX_BYTES];
    size_t count = 0;
    DIR *dir = opendir(kernel_dir());
    if (!dir) {
        fprintf(stderr, "cannot open %s\n", kernel_dir());
        return 1;
    }
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < MAX_KERNEL_FILES) {
        size_t length = strlen(entry->d_name);
        if (length <= 3 || strcmp(entry->d_name + length - 3, ".kc") != 0)
            continue;
        snprintf(names[count], sizeof names[count], "%s", entry->d_name);
        tests[count] = (struct CMUnitTest){ .name = names[count],
                                            .test_func = kernel_file_translates_for_every_dialect,
                                            .initial_state = names[count] };
        count++;
    }
    closedir(dir);
    if (count == 0) {
        fprintf(stderr, "no kernel files in %s\n", kernel_dir());
        return 1;
    }
    return _cmocka_run_group_tests("translate", tests, count, NULL, NULL);
}
