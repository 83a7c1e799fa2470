/* libFuzzer target for the command line of `kiln check` and `kiln
 * translate` (getopt_long, -D NAME[=VALUE] via cli_defines_add, --target
 * names), driven in-process: both return an exit code and never exit.
 * The input is split at newlines into arguments; its first byte picks the
 * command. Each command runs in a private directory holding good.kc and
 * bad.kc (copied from the lang seed corpus), and an argument naming
 * anything outside it (a '/') is dropped, so the fuzzer only ever reads
 * those files. The working directory is restored after each input, for
 * libFuzzer's relative corpus paths; a crash report is written while it is
 * the private one, so give -artifact_prefix an absolute path (CTest does). What must hold: no crash, leak or sanitizer report, and an
 * exit code of 0, 1 or 2 (the CLI's documented codes).
 * Not fuzzed: `kiln devices`, `demo` and `bench` (their parsing is getopt
 * with a device selector, covered by fuzz_device; past it they open
 * every backend, compile kernels and time them), and main's dispatch
 * (a strcmp over the command names). */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CLI_ARGS_MAX 32

static char work_dir[PATH_MAX];
static int home_fd = -1; /* the directory libFuzzer was started in */

static void copy_seed(const char *name, const char *as)
{
    char from[PATH_MAX], to[PATH_MAX];
    snprintf(from, sizeof from, "%s/%s", KILN_FUZZ_CLI_SEEDS, name);
    snprintf(to, sizeof to, "%s/%s", work_dir, as);
    char *text = NULL;
    FILE *out = fopen(to, "wb");
    if (!out || !cli_read_file(from, &text) || fputs(text, out) < 0 || fclose(out) != 0)
        abort();
    free(text);
}

static void fuzz_teardown(void)
{
    static const char *const files[] = {"good.kc", "bad.kc"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", work_dir, files[i]);
        unlink(path);
    }
    rmdir(work_dir);
}

static void fuzz_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(work_dir, sizeof work_dir, "%s/kiln-fuzz-cli-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    home_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (home_fd < 0 || !mkdtemp(work_dir))
        abort();
    copy_seed("saxpy.kc", "good.kc");
    copy_seed("errors.kc", "bad.kc");
    atexit(fuzz_teardown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!work_dir[0])
        fuzz_setup();
    if (size == 0)
        return 0;
    char *text = malloc(size);
    if (!text)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *argv[CLI_ARGS_MAX + 2];
    int argc = 0;
    argv[argc++] = (data[0] & 1) ? "translate" : "check";
    for (char *arg = text, *next; arg && argc <= CLI_ARGS_MAX; arg = next) {
        next = strchr(arg, '\n');
        if (next)
            *next++ = '\0';
        if (!strchr(arg, '/'))
            argv[argc++] = arg;
    }
    argv[argc] = NULL;
    optind = 0; /* glibc: 0 starts getopt over, state included */
    if (chdir(work_dir) != 0)
        abort();
    int code = (data[0] & 1) ? cmd_translate(argc, argv) : cmd_check(argc, argv);
    if (fchdir(home_fd) != 0)
        abort();
    if (code != CLI_EXIT_OK && code != CLI_EXIT_FAILURE && code != CLI_EXIT_USAGE)
        abort();
    free(text);
    return 0;
}
