/* Finding and running the system C compiler. Children are started with
 * posix_spawn (never system(): no shell parses the paths) and their output
 * is captured through a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../util/fail.h"
#include "../../util/log_buffer.h"
#include "cpu_internal.h"

/* Compilers tried in order when KILN_CC is not set. */
static const char *const toolchain_defaults[] = {"clang", "cc"};

/* Flags of every kernel build. -fno-math-errno lets sqrt and friends
 * vectorize; -march=native is why the cache key names the CPU model. */
static const char *const toolchain_flags[] = {"-O3",    "-march=native", "-fPIC",
                                              "-shared", "-std=gnu11",    "-fno-math-errno"};
#define TOOLCHAIN_FLAG_COUNT (sizeof toolchain_flags / sizeof toolchain_flags[0])
#define TOOLCHAIN_LINK_LIBM "-lm"

/* Compilers whose --version line this process remembers. A process meets
 * one or two (KILN_CC changed by a test); later ones are simply re-asked. */
#define TOOLCHAIN_VERSION_SLOTS 4
#define TOOLCHAIN_VERSION_MAX 256

typedef struct toolchain_version_entry {
    char path[PATH_MAX];
    char version[TOOLCHAIN_VERSION_MAX];
} toolchain_version_entry;

static pthread_mutex_t toolchain_lock = PTHREAD_MUTEX_INITIALIZER;
static toolchain_version_entry toolchain_versions[TOOLCHAIN_VERSION_SLOTS];
static unsigned toolchain_version_count;

static int toolchain_executable(const char *path)
{
    return access(path, X_OK) == 0;
}

/* Resolves name (a path, or a command looked up on PATH) into out. */
static int toolchain_resolve(const char *name, char *out, size_t size)
{
    if (strchr(name, '/')) {
        snprintf(out, size, "%s", name);
        return toolchain_executable(out);
    }
    const char *search = getenv("PATH");
    if (!search || !*search)
        search = "/usr/local/bin:/usr/bin:/bin";
    while (*search) {
        size_t n = strcspn(search, ":");
        /* An empty PATH entry means the current directory. */
        int written = n ? snprintf(out, size, "%.*s/%s", (int)n, search, name)
                        : snprintf(out, size, "./%s", name);
        if (written > 0 && (size_t)written < size && toolchain_executable(out))
            return 1;
        search += n;
        if (*search == ':')
            search++;
    }
    return 0;
}

kiln_status cpu_toolchain_find(char *path, size_t size)
{
    const char *chosen = getenv("KILN_CC");
    if (chosen && *chosen) {
        if (toolchain_resolve(chosen, path, size))
            return KILN_OK;
        return util_fail(KILN_ERR_NO_COMPILER,
                         "cpu: KILN_CC names '%s', which is not an executable on PATH", chosen);
    }
    for (size_t i = 0; i < sizeof toolchain_defaults / sizeof toolchain_defaults[0]; i++)
        if (toolchain_resolve(toolchain_defaults[i], path, size))
            return KILN_OK;
    return util_fail(KILN_ERR_NO_COMPILER,
                     "cpu: no C compiler found: neither clang nor cc is on PATH; "
                     "set KILN_CC to a C compiler");
}

/* The exit status of a child that was reaped before we could ask. */
#define TOOLCHAIN_EXIT_UNKNOWN (-2)

/* Runs argv[0] with argv, its stdout and stderr appended to log, and
 * stores its exit status (or -1 if it did not exit normally). Returns
 * KILN_ERR_NO_COMPILER if it could not be started. */
static kiln_status toolchain_run(char *const argv[], port_log *log, int *exit_status)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        return util_fail(KILN_ERR_IO, "cpu: cannot create a pipe: %s", strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
    /* The compiler starts with default signal handling and nothing blocked,
     * whatever the application did: an ignored SIGCHLD is inherited across
     * exec and would stop the compiler driver from waiting for its own
     * children. */
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGCHLD);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int spawn_error = posix_spawn(&pid, argv[0], &actions, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    if (spawn_error != 0) {
        close(pipe_fds[0]);
        return util_fail(KILN_ERR_NO_COMPILER, "cpu: cannot run the C compiler '%s': %s "
                         "(set KILN_CC to a working C compiler)", argv[0], strerror(spawn_error));
    }
    char chunk[4096];
    for (;;) {
        ssize_t n = read(pipe_fds[0], chunk, sizeof chunk);
        if (n > 0)
            util_log_append(log, chunk, (size_t)n);
        else if (n == 0 || errno != EINTR)
            break;
    }
    close(pipe_fds[0]);
    int wait_status;
    /* With no options, waitpid fails only with EINTR (a signal handler ran:
     * wait again) or ECHILD. */
    while (waitpid(pid, &wait_status, 0) < 0) {
        /* An application that ignores SIGCHLD has its children reaped by
         * the kernel: the exit status is lost, not the output. */
        if (errno == ECHILD) {
            *exit_status = TOOLCHAIN_EXIT_UNKNOWN;
            return KILN_OK;
        }
    }
    *exit_status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    return KILN_OK;
}

static kiln_status toolchain_ask_version(const char *path, char *buf, size_t size)
{
    char *argv[] = {(char *)path, "--version", NULL};
    port_log out = {0};
    int exit_status;
    kiln_status st = toolchain_run(argv, &out, &exit_status);
    if (st == KILN_OK && ((exit_status != 0 && exit_status != TOOLCHAIN_EXIT_UNKNOWN) ||
                          !out.text))
        st = util_fail(KILN_ERR_NO_COMPILER, "cpu: '%s --version' failed (exit status %d)", path,
                       exit_status);
    if (st == KILN_OK)
        snprintf(buf, size, "%.*s", (int)strcspn(out.text, "\r\n"), out.text);
    util_log_free(&out);
    return st;
}

kiln_status cpu_toolchain_version(const char *path, char *buf, size_t size)
{
    pthread_mutex_lock(&toolchain_lock);
    for (unsigned i = 0; i < toolchain_version_count; i++) {
        if (strcmp(toolchain_versions[i].path, path) == 0) {
            snprintf(buf, size, "%s", toolchain_versions[i].version);
            pthread_mutex_unlock(&toolchain_lock);
            return KILN_OK;
        }
    }
    pthread_mutex_unlock(&toolchain_lock);

    /* Asked outside the lock: it takes milliseconds. Two threads may both
     * ask; the answer is the same. */
    char version[TOOLCHAIN_VERSION_MAX];
    kiln_status st = toolchain_ask_version(path, version, sizeof version);
    if (st != KILN_OK)
        return st;
    snprintf(buf, size, "%s", version);
    pthread_mutex_lock(&toolchain_lock);
    if (toolchain_version_count < TOOLCHAIN_VERSION_SLOTS && strlen(path) < PATH_MAX) {
        toolchain_version_entry *e = &toolchain_versions[toolchain_version_count++];
        snprintf(e->path, sizeof e->path, "%s", path);
        snprintf(e->version, sizeof e->version, "%s", version);
    }
    pthread_mutex_unlock(&toolchain_lock);
    return KILN_OK;
}

/* Joined once from toolchain_flags, so the cache key and the builds cannot
 * disagree. */
static char toolchain_flags_joined[256];
static pthread_once_t toolchain_flags_once = PTHREAD_ONCE_INIT;

static void toolchain_join_flags(void)
{
    size_t used = 0;
    for (size_t i = 0; i < TOOLCHAIN_FLAG_COUNT && used < sizeof toolchain_flags_joined; i++)
        used += (size_t)snprintf(toolchain_flags_joined + used,
                                 sizeof toolchain_flags_joined - used, "%s ", toolchain_flags[i]);
    if (used < sizeof toolchain_flags_joined)
        snprintf(toolchain_flags_joined + used, sizeof toolchain_flags_joined - used, "%s",
                 TOOLCHAIN_LINK_LIBM);
}

const char *cpu_toolchain_flags_text(void)
{
    pthread_once(&toolchain_flags_once, toolchain_join_flags);
    return toolchain_flags_joined;
}

kiln_status cpu_toolchain_compile(const char *compiler, const char *c_file, const char *so_file,
                                  port_log *log)
{
    char *argv[TOOLCHAIN_FLAG_COUNT + 6];
    size_t n = 0;
    argv[n++] = (char *)compiler;
    for (size_t i = 0; i < TOOLCHAIN_FLAG_COUNT; i++)
        argv[n++] = (char *)toolchain_flags[i];
    argv[n++] = "-o";
    argv[n++] = (char *)so_file;
    argv[n++] = (char *)c_file;
    /* Recorded as a dependency so that math calls resolve even in a
     * process that has not loaded libm. */
    argv[n++] = TOOLCHAIN_LINK_LIBM;
    argv[n] = NULL;
    port_log output = {0};
    int exit_status;
    kiln_status st = toolchain_run(argv, &output, &exit_status);
    if (st == KILN_OK && output.length)
        util_log_append(log, output.text, output.length);
    if (st == KILN_OK && exit_status == TOOLCHAIN_EXIT_UNKNOWN)
        exit_status = access(so_file, R_OK) == 0 ? 0 : 1;
    if (st == KILN_OK && exit_status != 0) {
        /* The whole log goes into the error detail: it is what the user
         * needs, and util_fail would cut it at its inline size. */
        port_log detail = {0};
        util_log_appendf(&detail, "cpu: %s failed (exit status %d):\n", compiler, exit_status);
        util_log_append(&detail, output.text, output.length);
        st = util_fail_text(KILN_ERR_COMPILE, detail.text ? detail.text : "cpu: compile failed");
        util_log_free(&detail);
    }
    util_log_free(&output);
    return st;
}
