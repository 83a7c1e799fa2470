/* kiln translate: print the source the front end emits for one backend. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct target_name {
    const char *name;
    kiln_backend backend;
} target_name;

/* "c" is the dialect of the CPU backend. */
static const target_name targets[] = {
    { "c", KILN_BACKEND_CPU },
    { "cpu", KILN_BACKEND_CPU },
    { "cuda", KILN_BACKEND_CUDA },
    { "opencl", KILN_BACKEND_OPENCL },
};

static void print_help(void)
{
    printf("usage: kiln translate FILE.kc --target c|cuda|opencl [-D NAME[=VALUE]]...\n\n"
           "Prints the source kiln emits for FILE.kc on the given backend: C for the\n"
           "CPU backend, CUDA C++ for NVRTC, OpenCL C 1.2. Errors go to stderr as\n"
           "file:line:col: error: lines and the exit status is 1.\n\n"
           "  -t, --target T   c (alias cpu), cuda or opencl\n"
           "  -D NAME[=VALUE]  define a preprocessor macro (repeatable)\n");
}

static bool parse_target(const char *name, kiln_backend *backend)
{
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        if (strcmp(name, targets[i].name) == 0) {
            *backend = targets[i].backend;
            return true;
        }
    }
    fprintf(stderr, "kiln translate: unknown target '%s' (c, cuda or opencl)\n", name);
    return false;
}

int cmd_translate(int argc, char **argv)
{
    static const struct option options[] = {
        { "target", required_argument, NULL, 't' },
        { "define", required_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    cli_defines defs = { 0 };
    kiln_backend backend = 0;
    bool have_target = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "t:D:h", options, NULL)) != -1) {
        if (opt == 'D' && cli_defines_add(&defs, optarg))
            continue;
        if (opt == 't' && parse_target(optarg, &backend)) {
            have_target = true;
            continue;
        }
        cli_defines_free(&defs);
        if (opt == 'h') {
            print_help();
            return CLI_EXIT_OK;
        }
        return CLI_EXIT_USAGE;
    }
    if (optind != argc - 1 || !have_target) {
        fprintf(stderr, "kiln translate: expects one FILE.kc and --target (see --help)\n");
        cli_defines_free(&defs);
        return CLI_EXIT_USAGE;
    }
    char *text = NULL;
    bool ok = cli_translate_file(argv[optind], &defs, backend, &text);
    if (ok)
        fputs(text, stdout);
    kiln_free(text);
    cli_defines_free(&defs);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}
