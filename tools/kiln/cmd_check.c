/* kiln check: translate a .kc file without compiling it and report the
 * front end's diagnostics. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void print_help(void)
{
    printf("usage: kiln check FILE.kc [-D NAME[=VALUE]]... [--quiet]\n\n"
           "Translates FILE.kc as kiln_program_build would (for the CPU backend)\n"
           "without compiling it. Errors go to stderr as file:line:col: error: lines;\n"
           "the exit status is 0 when the file is valid, 1 when it is not.\n\n"
           "  -D NAME[=VALUE]  define a preprocessor macro (repeatable)\n"
           "  -q, --quiet      print nothing on success\n");
}

int cmd_check(int argc, char **argv)
{
    static const struct option options[] = {
        { "define", required_argument, NULL, 'D' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    cli_defines defs = { 0 };
    bool quiet = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "D:qh", options, NULL)) != -1) {
        if (opt == 'D' && cli_defines_add(&defs, optarg))
            continue;
        if (opt == 'q') {
            quiet = true;
            continue;
        }
        cli_defines_free(&defs);
        if (opt == 'h') {
            print_help();
            return CLI_EXIT_OK;
        }
        return CLI_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "kiln check: expects exactly one FILE.kc (see --help)\n");
        cli_defines_free(&defs);
        return CLI_EXIT_USAGE;
    }
    const char *path = argv[optind];
    char *text = NULL;
    bool ok = cli_translate_file(path, &defs, KILN_BACKEND_CPU, &text);
    if (ok && !quiet)
        printf("%s: ok\n", path);
    kiln_free(text);
    cli_defines_free(&defs);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}
