/* Kernel libraries: loading one from its bytes, handing the bytes out for
 * the kernel cache, looking up entry points. Loading goes through a memfd
 * (no disk, no name to clash) and falls back to a temp file. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../util/fail.h"
#include "cpu_internal.h"

#define MODULE_TEMP_NAME "kiln-cpu-module-XXXXXX"

const char *cpu_temp_dir(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}

static int module_write_all(int fd, const void *bytes, size_t size)
{
    const char *p = bytes;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        size -= (size_t)n;
    }
    return 1;
}

/* glibc's dlopen maps every loadable segment from the file and touches it:
 * a segment that ends past the bytes (a cut-short image) would fault with
 * SIGBUS instead of failing the load. Anything that is not a native ELF
 * header is left to dlopen, which says what is wrong with it. */
static kiln_status module_check_segments(const void *bytes, size_t size)
{
    ElfW(Ehdr) header;
    if (size < sizeof header)
        return KILN_OK;
    memcpy(&header, bytes, sizeof header);
    if (memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_phentsize != sizeof(ElfW(Phdr)))
        return KILN_OK;
    if (header.e_phoff > size || header.e_phnum > (size - header.e_phoff) / sizeof(ElfW(Phdr)))
        return util_fail(KILN_ERR_INVALID_ARG, "cpu: not a loadable kernel library: its %u "
                         "program headers pass the end of its %zu bytes", (unsigned)header.e_phnum,
                         size);
    for (unsigned i = 0; i < header.e_phnum; i++) {
        ElfW(Phdr) segment;
        memcpy(&segment, (const char *)bytes + header.e_phoff + i * sizeof segment,
               sizeof segment);
        if (segment.p_type == PT_LOAD &&
            (segment.p_offset > size || segment.p_filesz > size - segment.p_offset))
            return util_fail(KILN_ERR_INVALID_ARG, "cpu: not a loadable kernel library: "
                             "segment %u passes the end of its %zu bytes (cut short?)", i, size);
    }
    return KILN_OK;
}

static kiln_status module_dlopen(port_module *m, const char *path)
{
    m->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->handle) {
        const char *why = dlerror();
        return util_fail(KILN_ERR_INVALID_ARG, "cpu: not a loadable kernel library: %s",
                         why ? why : "dlopen failed");
    }
    return KILN_OK;
}

static kiln_status module_open_memfd(port_module *m)
{
    m->backing_fd = memfd_create("kiln-cpu-module", MFD_CLOEXEC);
    if (m->backing_fd < 0)
        return util_fail(KILN_ERR_IO, "cpu: memfd_create: %s", strerror(errno));
    if (!module_write_all(m->backing_fd, m->binary, m->binary_size))
        return util_fail(KILN_ERR_IO, "cpu: cannot write a kernel library to memory: %s",
                         strerror(errno));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", m->backing_fd);
    return module_dlopen(m, path);
}

static kiln_status module_open_temp_file(port_module *m)
{
    const char *dir = cpu_temp_dir();
    size_t size = strlen(dir) + sizeof "/" MODULE_TEMP_NAME;
    m->backing_path = malloc(size);
    if (!m->backing_path)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for a path");
    snprintf(m->backing_path, size, "%s/" MODULE_TEMP_NAME, dir);
    int fd = mkstemp(m->backing_path);
    if (fd < 0) {
        kiln_status st = util_fail(KILN_ERR_IO, "cpu: cannot create a temp file in %s: %s", dir,
                                   strerror(errno));
        free(m->backing_path);
        m->backing_path = NULL;
        return st;
    }
    int written = module_write_all(fd, m->binary, m->binary_size);
    close(fd);
    if (!written)
        return util_fail(KILN_ERR_IO, "cpu: cannot write %s: %s", m->backing_path,
                         strerror(errno));
    return module_dlopen(m, m->backing_path);
}

void cpu_module_release(port_module *m)
{
    if (!m)
        return;
    if (m->handle)
        dlclose(m->handle);
    if (m->backing_fd >= 0)
        close(m->backing_fd);
    if (m->backing_path) {
        unlink(m->backing_path);
        free(m->backing_path);
    }
    for (port_function *f = m->functions, *next; f; f = next) {
        next = f->next;
        free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m->binary);
    free(m);
}

kiln_status cpu_module_from_bytes(port_device *dev, void *bytes, size_t size, port_module **out)
{
    port_module *m = calloc(1, sizeof *m);
    if (!m) {
        free(bytes);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for a module");
    }
    m->dev = dev;
    m->binary = bytes;
    m->binary_size = size;
    m->backing_fd = -1;
    pthread_mutex_init(&m->lock, NULL);
    kiln_status st = module_check_segments(bytes, size);
    if (st == KILN_OK)
        st = module_open_memfd(m);
    if (st != KILN_OK && st != KILN_ERR_INVALID_ARG) {
        /* No memfd here (old kernel, sandbox): a temp file works anywhere. */
        if (m->backing_fd >= 0)
            close(m->backing_fd);
        m->backing_fd = -1;
        st = module_open_temp_file(m);
    }
    if (st != KILN_OK) {
        cpu_module_release(m);
        return st;
    }
    *out = m;
    return KILN_OK;
}

kiln_status cpu_module_binary(port_module *m, void **bytes, size_t *size)
{
    void *copy = malloc(m->binary_size);
    if (!copy)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for %zu module bytes",
                         m->binary_size);
    memcpy(copy, m->binary, m->binary_size);
    *bytes = copy;
    *size = m->binary_size;
    return KILN_OK;
}

kiln_status cpu_module_load(port_device *dev, const void *bytes, size_t size, port_module **out)
{
    if (!bytes || size == 0)
        return util_fail(KILN_ERR_INVALID_ARG, "cpu: no module bytes to load");
    void *copy = malloc(size);
    if (!copy)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for %zu module bytes",
                         size);
    memcpy(copy, bytes, size);
    return cpu_module_from_bytes(dev, copy, size, out);
}

kiln_status cpu_module_get_function(port_module *m, const char *entry, port_function **out)
{
    if (!entry)
        return util_fail(KILN_ERR_NULL_HANDLE, "cpu: no entry name");
    kiln_status st = KILN_OK;
    pthread_mutex_lock(&m->lock);
    port_function *f = m->functions;
    while (f && strcmp(f->name, entry) != 0)
        f = f->next;
    if (!f) {
        /* dlsym returns a data pointer; POSIX guarantees it converts to a
         * function pointer. */
        void *symbol = dlsym(m->handle, entry);
        size_t name_size = strlen(entry) + 1;
        if (!symbol)
            st = util_fail(KILN_ERR_NOT_FOUND, "cpu: the module has no entry point '%s'", entry);
        else if (!(f = malloc(sizeof *f + name_size)))
            st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for a function");
        if (f) {
            f->module = m;
            *(void **)&f->entry = symbol;
            memcpy(f->name, entry, name_size);
            f->next = m->functions;
            m->functions = f;
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (st == KILN_OK)
        *out = f;
    return st;
}
