/* kiln: the command-line tool. Dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

static const cli_command commands[] = {
    { "devices", "list the devices of every backend", cmd_devices },
    { "check", "translate a .kc file and report its errors", cmd_check },
    { "translate", "print the source kiln emits for a backend", cmd_translate },
    { "demo", "run and verify the example kernels on a device", cmd_demo },
    { "bench", "measure kiln against hand-written baselines", cmd_bench },
    { "policy", "check a policy file, or explain one of its decisions", cmd_policy },
    { "audit", "make a checkpoint key, or verify an audit log", cmd_audit },
};

static void print_usage(FILE *out)
{
    fprintf(out, "usage: kiln <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'kiln <command> --help' describes a command's options.\n"
                 "'kiln --version' prints the library version.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("kiln %s\n", kiln_version());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "kiln: unknown command '%s'\n\n", name);
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}
