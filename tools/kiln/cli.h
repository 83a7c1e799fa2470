/* Shared pieces of the kiln command-line tool: the subcommands, exit codes,
 * and small helpers every subcommand uses. */
#ifndef KILN_CLI_H
#define KILN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kiln/kiln.h>

/* Exit codes of every subcommand. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1, /* the work ran and failed (compile error, wrong result) */
    CLI_EXIT_USAGE = 2,   /* the command line was wrong */
    CLI_EXIT_DENIED = 3   /* the policy denied it (kiln policy explain, or governed work) */
};

/* Each subcommand gets argv starting at its own name. */
int cmd_devices(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_translate(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_audit(int argc, char **argv);

/* Reads a whole file, NUL-terminated, into *text (free it). Prints why on
 * failure and returns false. */
bool cli_read_file(const char *path, char **text);

/* Growing "-DNAME=V -DOTHER" string for kiln_build_options.defines. */
typedef struct cli_defines {
    char *text; /* NULL while empty */
    size_t length;
} cli_defines;

/* Appends one NAME or NAME=VALUE; false (after printing why) if malformed. */
bool cli_defines_add(cli_defines *defs, const char *definition);
void cli_defines_free(cli_defines *defs);

/* Reads the .kc file at path and translates it for target with defs (what
 * `kiln check` and `kiln translate` share). On success *text holds the
 * emitted source (kiln_free it) and returns true; otherwise prints the
 * diagnostics or the failure to stderr and returns false. */
bool cli_translate_file(const char *path, const cli_defines *defs, kiln_backend target,
                        char **text);

/* Prints "kiln: what: STATUS_NAME" and the detail of kiln_last_error(). */
void cli_report_status(const char *what, kiln_status status);

/* Opens a context with default options and picks the device named by
 * selector (kiln_device_find), or the default device when selector is NULL.
 * Prints why and returns false on failure. */
/* The governance options of demo and bench (--policy, --audit-log,
 * --audit-key): they set KILN_POLICY, KILN_AUDIT_LOG and KILN_AUDIT_KEY for
 * every context the command opens. */
#define CLI_GOVERNANCE_OPTIONS                                                               \
    { "policy", required_argument, NULL, 'P' }, { "audit-log", required_argument, NULL, 'L' }, \
        { "audit-key", required_argument, NULL, 'K' }
/* True if opt was one of them (and it is now in effect). */
bool cli_governance_option(int opt, const char *arg);
/* The exit status for a failed status: CLI_EXIT_DENIED for a refusal by
 * governance (denied, over quota, not recordable), else CLI_EXIT_FAILURE. */
int cli_exit_for(kiln_status status);

bool cli_open_device(const char *selector, kiln_context **ctx, kiln_device **dev);

/* Monotonic wall clock in nanoseconds. */
uint64_t cli_now_ns(void);

#endif
