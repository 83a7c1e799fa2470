/* Modules on CUDA: loading a cubin or PTX image into the device's context,
 * handing the image out for the kernel cache, looking up kernels. The
 * image is kept behind a one-byte tag (CUDA_IMAGE_CUBIN or _PTX) so that
 * module_load knows what it gets back from the cache. */
#include <stdlib.h>
#include <string.h>

#include "../../util/fail.h"
#include "../../util/log_buffer.h"
#include "cuda_internal.h"

/* Room for the JIT's error text when a PTX image does not load. */
#define CUDA_JIT_LOG_BYTES 8192u

void cuda_module_release(port_module *m)
{
    if (!m)
        return;
    if (m->module && cuda_enter_release(m->dev, m->generation)) {
        cuda_driver.ModuleUnload(m->module);
        cuda_leave(m->dev);
    }
    for (port_function *f = m->functions, *next; f; f = next) {
        next = f->next;
        free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m->image);
    free(m);
}

static kiln_status cuda_module_load_image(port_module *m, port_log *log)
{
    char jit_log[CUDA_JIT_LOG_BYTES] = "";
    CUjit_option options[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    /* The driver takes option values as void *, sizes included. */
    /* NOLINTNEXTLINE(performance-no-int-to-ptr) */
    void *values[2] = {jit_log, (void *)(uintptr_t)sizeof jit_log};
    unsigned generation = atomic_load(&m->dev->generation);
    kiln_status st = cuda_enter(m->dev, generation, "module");
    if (st != KILN_OK)
        return st;
    st = cuda_check(m->dev,
                    cuda_driver.ModuleLoadDataEx(&m->module, m->image + 1, 2, options, values),
                    "cuModuleLoadDataEx");
    cuda_leave(m->dev);
    if (st != KILN_OK) {
        m->module = NULL;
        if (log && jit_log[0])
            util_log_appendf(log, "%s\n", jit_log);
        return st;
    }
    m->generation = generation;
    return KILN_OK;
}

kiln_status cuda_module_from_image(port_device *dev, unsigned char *image, size_t size,
                                   port_log *log, port_module **out)
{
    port_module *m = calloc(1, sizeof *m);
    if (!m) {
        free(image);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for a module");
    }
    m->dev = dev;
    m->image = image;
    m->image_size = size;
    pthread_mutex_init(&m->lock, NULL);
    kiln_status st = cuda_module_load_image(m, log);
    if (st != KILN_OK) {
        cuda_module_release(m);
        return st;
    }
    *out = m;
    return KILN_OK;
}

kiln_status cuda_module_binary(port_module *m, void **bytes, size_t *size)
{
    void *copy = malloc(m->image_size);
    if (!copy)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for %zu module bytes",
                         m->image_size);
    memcpy(copy, m->image, m->image_size);
    *bytes = copy;
    *size = m->image_size;
    return KILN_OK;
}

kiln_status cuda_module_load(port_device *dev, const void *bytes, size_t size,
                             port_module **out)
{
    const unsigned char *tagged = bytes;
    if (!bytes || size < 2)
        return util_fail(KILN_ERR_INVALID_ARG, "cuda: no module bytes to load");
    if (tagged[0] != CUDA_IMAGE_CUBIN && tagged[0] != CUDA_IMAGE_PTX)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "cuda: the module bytes are not a kiln CUDA image (tag 0x%02x)",
                         tagged[0]);
    /* PTX is text the driver reads up to its NUL: make sure there is one. */
    int add_nul = tagged[0] == CUDA_IMAGE_PTX && tagged[size - 1] != '\0';
    unsigned char *copy = malloc(size + (size_t)add_nul);
    if (!copy)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for %zu module bytes",
                         size);
    memcpy(copy, bytes, size);
    if (add_nul)
        copy[size] = '\0';
    return cuda_module_from_image(dev, copy, size + (size_t)add_nul, NULL, out);
}

kiln_status cuda_module_get_function(port_module *m, const char *entry, port_function **out)
{
    if (!entry)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: no entry name");
    pthread_mutex_lock(&m->lock);
    port_function *f = m->functions;
    while (f && strcmp(f->name, entry) != 0)
        f = f->next;
    kiln_status st = KILN_OK;
    if (!f) {
        size_t name_size = strlen(entry) + 1;
        CUfunction function = NULL;
        int max_threads = 0;
        st = cuda_enter(m->dev, m->generation, "module");
        if (st == KILN_OK) {
            CUresult r = cuda_driver.ModuleGetFunction(&function, m->module, entry);
            if (r == CUDA_SUCCESS)
                r = cuda_driver.FuncGetAttribute(&max_threads,
                                                 CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, function);
            cuda_leave(m->dev);
            if (r == CUDA_ERROR_NOT_FOUND)
                st = util_fail(KILN_ERR_NOT_FOUND, "cuda: the module has no kernel '%s'", entry);
            else
                st = cuda_check(m->dev, r, "cuModuleGetFunction / cuFuncGetAttribute");
        }
        if (st == KILN_OK && !(f = malloc(sizeof *f + name_size)))
            st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for a function");
        if (st == KILN_OK) {
            f->module = m;
            f->function = function;
            f->max_threads = max_threads > 0 ? (uint32_t)max_threads : 0;
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
