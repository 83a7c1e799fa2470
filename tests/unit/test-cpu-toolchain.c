/* The CPU adapter's compile port when the compiler or the file system lets
 * it down: KILN_CC naming a script that fails, crashes, prints nothing or
 * leaves no (or a broken) library, no compiler on PATH, a temp directory
 * that cannot be used, no file descriptors left, a file size limit, and a
 * signal handler that interrupts the wait for the compiler. */
#include "test-cpu-support.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

/* A compile the fake compilers below must answer (they never read it). */
#define TOOLCHAIN_BODY "void kiln_entry_nothing(const kiln_cpu_group *g, void *const *a) {}\n"

/* The shell lines that find the library path after "-o" in a script. */
#define SCRIPT_FIND_OUTPUT "while [ \"$1\" != -o ]; do shift; done\nout=\"$2\"\n"

/* Interval of the timer whose handler interrupts the wait for a compiler
 * that sleeps SLOW_COMPILER_SECONDS after closing its output. */
#define SIGNAL_INTERVAL_US 20000
#define SLOW_COMPILER_SECONDS "0.2"

/* Saved environment, restored after each test. */
typedef struct toolchain_fixture {
    cpu_test_env env;
    char dir[64]; /* scratch directory for scripts */
    char *saved_path;
    char *saved_tmpdir;
} toolchain_fixture;

static char *saved_copy(const char *name)
{
    const char *value = getenv(name);
    return value ? strdup(value) : NULL;
}

static void restore(const char *name, char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    free(value);
}

static int fixture_setup(void **state)
{
    toolchain_fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/kiln-cpu-cc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->saved_path = saved_copy("PATH");
    f->saved_tmpdir = saved_copy("TMPDIR");
    unsetenv("KILN_CC");
    cpu_test_open(&f->env);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    toolchain_fixture *f = *state;
    cpu_test_close(&f->env);
    unsetenv("KILN_CC");
    restore("PATH", f->saved_path);
    restore("TMPDIR", f->saved_tmpdir);
    DIR *d = opendir(f->dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Writes an executable file dir/name holding text; returns its path. */
static const char *write_tool(toolchain_fixture *f, const char *name, const char *text)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

static kiln_status compile_body(toolchain_fixture *f, port_module **m, port_log *log)
{
    *m = NULL;
    return cpu_test_compile(&f->env, TOOLCHAIN_BODY, m, log);
}

/* Asserts that compiling gives status with detail containing want. */
static void expect_compile_failure(toolchain_fixture *f, kiln_status status, const char *want)
{
    port_module *m = NULL;
    port_log log = {0};
    kiln_status st = compile_body(f, &m, &log);
    if (st != status || !strstr(util_last_error(), want))
        fail_msg("compile: status %d (want %d), detail '%s' (want '%s')", (int)st, (int)status,
                 util_last_error(), want);
    assert_null(m);
    util_log_free(&log);
}

static void expect_identity_failure(toolchain_fixture *f, kiln_status status, const char *want)
{
    char identity[2048];
    kiln_status st = f->env.ops->compile->cache_identity(f->env.dev, identity, sizeof identity);
    if (st != status || !strstr(util_last_error(), want))
        fail_msg("cache_identity: status %d (want %d), detail '%s' (want '%s')", (int)st,
                 (int)status, util_last_error(), want);
}

static void cpu_compiler_that_exits_with_an_error_is_a_compile_error_with_its_output(
    void **state)
{
    toolchain_fixture *f = *state;
    setenv("KILN_CC", write_tool(f, "failing-cc",
                                 "#!/bin/sh\necho \"kiln-fake-cc refuses $# arguments\" >&2\n"
                                 "exit 3\n"),
           1);
    port_module *m = NULL;
    port_log log = {0};
    assert_int_equal(compile_body(f, &m, &log), KILN_ERR_COMPILE);
    assert_null(m);
    assert_non_null(strstr(util_last_error(), "failed (exit status 3)"));
    /* The compiler got its six flags, -o, the library, the source and -lm. */
    assert_non_null(strstr(util_last_error(), "kiln-fake-cc refuses 10 arguments"));
    assert_non_null(strstr(log.text, "kiln-fake-cc refuses"));
    util_log_free(&log);
    /* Its --version fails the same way: no cache identity without it. */
    expect_identity_failure(f, KILN_ERR_NO_COMPILER, "--version' failed (exit status 3)");
}

static void cpu_compiler_killed_by_a_signal_is_a_compile_error(void **state)
{
    toolchain_fixture *f = *state;
    setenv("KILN_CC", write_tool(f, "crashing-cc", "#!/bin/sh\nkill -9 $$\n"), 1);
    expect_compile_failure(f, KILN_ERR_COMPILE, "failed (exit status -1)");
}

static void cpu_compiler_that_prints_no_version_is_refused(void **state)
{
    toolchain_fixture *f = *state;
    setenv("KILN_CC", write_tool(f, "mute-cc", "#!/bin/sh\nexit 0\n"), 1);
    expect_identity_failure(f, KILN_ERR_NO_COMPILER, "--version' failed (exit status 0)");
    /* It also "succeeds" without writing a library. */
    expect_compile_failure(f, KILN_ERR_IO, "the compiler left no library at");
    expect_compile_failure(f, KILN_ERR_IO, "/kernel.so");
}

static void cpu_compiler_leaving_an_empty_library_is_an_io_error(void **state)
{
    toolchain_fixture *f = *state;
    setenv("KILN_CC", write_tool(f, "empty-cc", "#!/bin/sh\n" SCRIPT_FIND_OUTPUT ": > \"$out\"\n"),
           1);
    expect_compile_failure(f, KILN_ERR_IO, "the compiler left no library at");
}

static void cpu_compiler_leaving_garbage_is_not_a_loadable_library(void **state)
{
    toolchain_fixture *f = *state;
    setenv("KILN_CC", write_tool(f, "garbage-cc", "#!/bin/sh\n" SCRIPT_FIND_OUTPUT
                                                  "echo 'this is no ELF file' > \"$out\"\n"),
           1);
    expect_compile_failure(f, KILN_ERR_INVALID_ARG, "not a loadable kernel library");
}

static void cpu_compiler_that_cannot_be_executed_is_no_compiler(void **state)
{
    toolchain_fixture *f = *state;
    /* Executable bit, but neither ELF nor a #! line: exec fails. */
    const char *path = write_tool(f, "not-a-program", "just some text\n");
    setenv("KILN_CC", path, 1);
    expect_compile_failure(f, KILN_ERR_NO_COMPILER, "cannot run the C compiler");
    expect_compile_failure(f, KILN_ERR_NO_COMPILER, path);
    expect_identity_failure(f, KILN_ERR_NO_COMPILER, "set KILN_CC to a working C compiler");
}

static void cpu_kiln_cc_that_is_not_on_path_is_no_compiler(void **state)
{
    toolchain_fixture *f = *state;
    setenv("KILN_CC", "kiln-no-such-compiler", 1);
    expect_compile_failure(f, KILN_ERR_NO_COMPILER,
                           "KILN_CC names 'kiln-no-such-compiler', which is not an executable");
    expect_identity_failure(f, KILN_ERR_NO_COMPILER, "kiln-no-such-compiler");
}

static void cpu_no_compiler_on_path_asks_for_kiln_cc(void **state)
{
    toolchain_fixture *f = *state;
    setenv("PATH", f->dir, 1); /* holds no clang and no cc */
    expect_compile_failure(f, KILN_ERR_NO_COMPILER, "no C compiler found");
    expect_identity_failure(f, KILN_ERR_NO_COMPILER, "set KILN_CC to a C compiler");
}

static void cpu_empty_path_searches_the_standard_directories(void **state)
{
    toolchain_fixture *f = *state;
    if (access("/usr/bin/cc", X_OK) != 0 && access("/usr/bin/clang", X_OK) != 0)
        skip();
    setenv("PATH", "", 1);
    char identity[2048];
    CPU_TEST_ASSERT_OK(f->env.ops->compile->cache_identity(f->env.dev, identity, sizeof identity));
    assert_true(strncmp(identity, "cc=/usr/local/bin/", 18) == 0 ||
                strncmp(identity, "cc=/usr/bin/", 12) == 0 ||
                strncmp(identity, "cc=/bin/", 8) == 0);
}

static void cpu_unusable_temp_directory_is_an_io_error(void **state)
{
    toolchain_fixture *f = *state;
    setenv("TMPDIR", "/nonexistent/kiln-test-tmp", 1);
    expect_compile_failure(f, KILN_ERR_IO,
                           "cannot create a temp directory in /nonexistent/kiln-test-tmp");
    char *long_dir = malloc(PATH_MAX + 2);
    long_dir[0] = '/';
    memset(long_dir + 1, 'd', PATH_MAX);
    long_dir[PATH_MAX + 1] = '\0';
    setenv("TMPDIR", long_dir, 1);
    free(long_dir);
    expect_compile_failure(f, KILN_ERR_IO, "temp directory path too long");
}

/* The lowest file descriptor not open now. */
static int lowest_free_fd(void)
{
    int fd = dup(0);
    assert_true(fd >= 0);
    close(fd);
    return fd;
}

static struct rlimit limit_files(rlim_t n)
{
    struct rlimit old, cut;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    cut = old;
    cut.rlim_cur = n;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &cut), 0);
    return old;
}

static void cpu_running_out_of_file_descriptors_is_an_io_error(void **state)
{
    toolchain_fixture *f = *state;
    int lowest = lowest_free_fd();
    /* No descriptor left: the source file cannot be written. */
    struct rlimit old = limit_files((rlim_t)lowest);
    port_module *m = NULL;
    port_log log = {0};
    kiln_status no_fd = compile_body(f, &m, &log);
    char no_fd_detail[512];
    snprintf(no_fd_detail, sizeof no_fd_detail, "%s", util_last_error());
    /* One left: the source is written, the pipe to the compiler needs two. */
    limit_files((rlim_t)lowest + 1);
    kiln_status one_fd = compile_body(f, &m, &log);
    char one_fd_detail[512];
    snprintf(one_fd_detail, sizeof one_fd_detail, "%s", util_last_error());
    /* A compiler not asked before has its --version run through a pipe too. */
    char link[PATH_MAX];
    snprintf(link, sizeof link, "%s/cc-link", f->dir);
    int linked = symlink("/usr/bin/cc", link) == 0;
    setenv("KILN_CC", link, 1);
    limit_files((rlim_t)lowest);
    char identity[2048];
    kiln_status identity_st =
        f->env.ops->compile->cache_identity(f->env.dev, identity, sizeof identity);
    char identity_detail[512];
    snprintf(identity_detail, sizeof identity_detail, "%s", util_last_error());
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

    assert_int_equal(no_fd, KILN_ERR_IO);
    assert_non_null(strstr(no_fd_detail, "cannot write"));
    assert_non_null(strstr(no_fd_detail, "kernel.c"));
    assert_int_equal(one_fd, KILN_ERR_IO);
    assert_non_null(strstr(one_fd_detail, "cannot create a pipe"));
    if (linked) {
        assert_int_equal(identity_st, KILN_ERR_IO);
        assert_non_null(strstr(identity_detail, "cannot create a pipe"));
    }
    assert_null(m);
    util_log_free(&log);
}

static void cpu_file_size_limit_stops_writing_the_source(void **state)
{
    toolchain_fixture *f = *state;
    struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
    sigemptyset(&ignore.sa_mask);
    assert_int_equal(sigaction(SIGXFSZ, &ignore, &previous), 0);
    struct rlimit old, cut;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    cut = old;
    cut.rlim_cur = 16; /* far below the ABI text every source starts with */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &cut), 0);
    port_module *m = NULL;
    port_log log = {0};
    kiln_status st = compile_body(f, &m, &log);
    char detail[512];
    snprintf(detail, sizeof detail, "%s", util_last_error());
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    sigaction(SIGXFSZ, &previous, NULL);
    assert_int_equal(st, KILN_ERR_IO);
    assert_non_null(strstr(detail, "cannot write"));
    assert_non_null(strstr(detail, "kernel.c"));
    assert_null(m);
    util_log_free(&log);
}

static volatile sig_atomic_t signals_seen;

static void count_signal(int signo)
{
    (void)signo;
    signals_seen++;
}

static void cpu_signals_while_waiting_for_the_compiler_do_not_lose_it(void **state)
{
    toolchain_fixture *f = *state;
    /* Prints its version, closes its output, then keeps running: the
     * adapter sits in waitpid while the timer's signals arrive. */
    setenv("KILN_CC", write_tool(f, "slow-cc", "#!/bin/sh\necho 'slow-cc 9.9.9'\n"
                                               "exec >&- 2>&-\nsleep " SLOW_COMPILER_SECONDS "\n"),
           1);
    struct sigaction handler = {.sa_handler = count_signal}, previous; /* no SA_RESTART */
    sigemptyset(&handler.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &handler, &previous), 0);
    struct itimerval every = {{0, SIGNAL_INTERVAL_US}, {0, SIGNAL_INTERVAL_US}}, off = {0};
    signals_seen = 0;
    assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
    char identity[2048];
    kiln_status st = f->env.ops->compile->cache_identity(f->env.dev, identity, sizeof identity);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &previous, NULL);
    CPU_TEST_ASSERT_OK(st);
    assert_non_null(strstr(identity, "version=slow-cc 9.9.9;"));
    assert_true(signals_seen > 0);
}

static void cpu_compile_of_nothing_is_a_null_handle(void **state)
{
    toolchain_fixture *f = *state;
    port_module *m = NULL;
    port_log log = {0};
    assert_int_equal(f->env.ops->compile->compile(f->env.dev, NULL, &m, &log),
                     KILN_ERR_NULL_HANDLE);
    assert_non_null(strstr(util_last_error(), "nothing to compile"));
    port_compile_input empty = {.source = NULL};
    assert_int_equal(f->env.ops->compile->compile(f->env.dev, &empty, &m, &log),
                     KILN_ERR_NULL_HANDLE);
    assert_null(m);
}

#define TOOLCHAIN_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TOOLCHAIN_TEST(cpu_compiler_that_exits_with_an_error_is_a_compile_error_with_its_output),
        TOOLCHAIN_TEST(cpu_compiler_killed_by_a_signal_is_a_compile_error),
        TOOLCHAIN_TEST(cpu_compiler_that_prints_no_version_is_refused),
        TOOLCHAIN_TEST(cpu_compiler_leaving_an_empty_library_is_an_io_error),
        TOOLCHAIN_TEST(cpu_compiler_leaving_garbage_is_not_a_loadable_library),
        TOOLCHAIN_TEST(cpu_compiler_that_cannot_be_executed_is_no_compiler),
        TOOLCHAIN_TEST(cpu_kiln_cc_that_is_not_on_path_is_no_compiler),
        TOOLCHAIN_TEST(cpu_no_compiler_on_path_asks_for_kiln_cc),
        TOOLCHAIN_TEST(cpu_empty_path_searches_the_standard_directories),
        TOOLCHAIN_TEST(cpu_unusable_temp_directory_is_an_io_error),
        TOOLCHAIN_TEST(cpu_running_out_of_file_descriptors_is_an_io_error),
        TOOLCHAIN_TEST(cpu_file_size_limit_stops_writing_the_source),
        TOOLCHAIN_TEST(cpu_signals_while_waiting_for_the_compiler_do_not_lose_it),
        TOOLCHAIN_TEST(cpu_compile_of_nothing_is_a_null_handle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
