/* The compile port on the CPU: the emitted C (cpu_kernel_abi.h) is built
 * into a shared library by the system compiler in a private temp directory,
 * read back into memory (the bytes the kernel cache stores), and loaded
 * from there. The directory is gone before compile returns. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../../util/fail.h"
#include "cpu_internal.h"

#define COMPILE_DIR_NAME "kiln-cpu-XXXXXX"
#define COMPILE_SOURCE_NAME "kernel.c"
#define COMPILE_LIBRARY_NAME "kernel.so"

/* Room for the directory plus "/" and the longer file name. */
#define COMPILE_FILE_PATH_MAX (PATH_MAX + sizeof "/" COMPILE_LIBRARY_NAME)

/* The paths of one build; every member is removed by compile_cleanup. */
typedef struct compile_work {
    char dir[PATH_MAX];
    char source[COMPILE_FILE_PATH_MAX];
    char library[COMPILE_FILE_PATH_MAX];
} compile_work;

static kiln_status compile_prepare(compile_work *w, const port_compile_input *in)
{
    const char *base = cpu_temp_dir();
    int n = snprintf(w->dir, sizeof w->dir, "%s/" COMPILE_DIR_NAME, base);
    if (n < 0 || (size_t)n >= sizeof w->dir)
        return util_fail(KILN_ERR_IO, "cpu: temp directory path too long: %s", base);
    if (!mkdtemp(w->dir)) {
        w->dir[0] = '\0';
        return util_fail(KILN_ERR_IO, "cpu: cannot create a temp directory in %s: %s", base,
                         strerror(errno));
    }
    snprintf(w->source, sizeof w->source, "%s/" COMPILE_SOURCE_NAME, w->dir);
    snprintf(w->library, sizeof w->library, "%s/" COMPILE_LIBRARY_NAME, w->dir);
    FILE *f = fopen(w->source, "wb");
    if (!f)
        return util_fail(KILN_ERR_IO, "cpu: cannot write %s: %s", w->source, strerror(errno));
    size_t written = fwrite(in->source, 1, in->source_length, f);
    int closed = fclose(f) == 0;
    if (written != in->source_length || !closed)
        return util_fail(KILN_ERR_IO, "cpu: cannot write %s", w->source);
    return KILN_OK;
}

static void compile_cleanup(compile_work *w)
{
    if (!w->dir[0])
        return;
    unlink(w->library);
    unlink(w->source);
    rmdir(w->dir);
}

/* Reads the whole file at path into a malloc'd buffer. */
static kiln_status compile_read_file(const char *path, void **bytes, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        if (fd >= 0)
            close(fd);
        return util_fail(KILN_ERR_IO, "cpu: the compiler left no library at %s", path);
    }
    size_t total = (size_t)st.st_size, done = 0;
    char *buf = malloc(total);
    while (buf && done < total) {
        ssize_t n = read(fd, buf + done, total - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    if (!buf || done != total) {
        free(buf);
        return util_fail(buf ? KILN_ERR_IO : KILN_ERR_OUT_OF_HOST_MEMORY,
                         "cpu: cannot read the compiled library %s", path);
    }
    *bytes = buf;
    *size = total;
    return KILN_OK;
}

static kiln_status cpu_compile(port_device *dev, const port_compile_input *in, port_module **out,
                               port_log *log)
{
    if (!in || !in->source)
        return util_fail(KILN_ERR_NULL_HANDLE, "cpu: nothing to compile");
    char compiler[PATH_MAX];
    kiln_status st = cpu_toolchain_find(compiler, sizeof compiler);
    if (st != KILN_OK)
        return st;
    compile_work work;
    work.dir[0] = '\0';
    void *bytes = NULL;
    size_t size = 0;
    st = compile_prepare(&work, in);
    if (st == KILN_OK)
        st = cpu_toolchain_compile(compiler, work.source, work.library, log);
    if (st == KILN_OK)
        st = compile_read_file(work.library, &bytes, &size);
    compile_cleanup(&work);
    if (st != KILN_OK)
        return st;
    return cpu_module_from_bytes(dev, bytes, size, out);
}

static kiln_status cpu_cache_identity(port_device *dev, char *buf, size_t size)
{
    char compiler[PATH_MAX];
    char version[256];
    kiln_status st = cpu_toolchain_find(compiler, sizeof compiler);
    if (st == KILN_OK)
        st = cpu_toolchain_version(compiler, version, sizeof version);
    if (st != KILN_OK)
        return st;
    struct utsname host;
    const char *machine = uname(&host) == 0 ? host.machine : "unknown";
    int n = snprintf(buf, size, "cc=%s; version=%s; flags=%s; machine=%s; cpu=%s", compiler,
                     version, cpu_toolchain_flags_text(), machine, dev->info.name);
    if (n < 0 || (size_t)n >= size)
        return util_fail(KILN_ERR_INVALID_SIZE, "cpu: the cache identity needs %d bytes, got %zu",
                         n + 1, size);
    return KILN_OK;
}

const port_compile cpu_compile_ops = {
    .compile = cpu_compile,
    .module_binary = cpu_module_binary,
    .module_load = cpu_module_load,
    .module_release = cpu_module_release,
    .get_function = cpu_module_get_function,
    .cache_identity = cpu_cache_identity,
};
