/* libFuzzer target for the CUDA adapter's module envelope: the tag byte
 * ('C' cubin, 'P' PTX) that module_binary puts in front of the image and
 * that module_load checks before the driver sees any byte from the kernel
 * cache (src/backends/cuda/cuda_module.c). The driver is replaced by fakes
 * (no GPU needed): cuModuleLoadDataEx records the image it was given. What
 * must hold: the driver is called exactly when the tag is known and an image
 * follows, with a copy of exactly the bytes after the tag; a PTX image is
 * NUL-terminated within its copy (the driver reads PTX up to its NUL), and
 * the module is released without leaks. A cubin's length comes from its own
 * ELF header, read by the driver, not kiln: the kernel cache's checksum is
 * what keeps truncated cubins away (docs/fuzzing.md). */
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/cuda_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    int calls;
    int image_matches;
} driver_saw;

static const unsigned char *expected_image;
static size_t expected_image_size;
static int expect_ptx;

/* A distinct non-NULL handle; never dereferenced. */
static char fake_context_object, fake_module_object;

static CUresult fake_ctx_set_current(CUcontext context)
{
    return context ? CUDA_SUCCESS : CUDA_ERROR_INVALID_IMAGE;
}

static CUresult fake_module_load(CUmodule *module, const void *image, unsigned count,
                                 CUjit_option *options, void **values)
{
    (void)count;
    (void)options;
    (void)values;
    const unsigned char *p = image;
    driver_saw.calls++;
    driver_saw.image_matches = memcmp(p, expected_image, expected_image_size) == 0;
    /* PTX: the driver reads to the NUL; ASan reports a missing one. */
    if (expect_ptx && strlen(image) > expected_image_size)
        abort();
    *module = (CUmodule)(void *)&fake_module_object;
    return CUDA_SUCCESS;
}

static CUresult fake_module_unload(CUmodule module)
{
    if (module != (CUmodule)(void *)&fake_module_object)
        abort();
    return CUDA_SUCCESS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static port_device dev;
    if (!dev.context) {
        cuda_driver.CtxSetCurrent = fake_ctx_set_current;
        cuda_driver.ModuleLoadDataEx = fake_module_load;
        cuda_driver.ModuleUnload = fake_module_unload;
        pthread_rwlock_init(&dev.reset_lock, NULL);
        dev.context = (CUcontext)(void *)&fake_context_object;
    }
    unsigned char *bytes = malloc(size ? size : 1);
    if (!bytes)
        abort();
    memcpy(bytes, data, size);
    int well_formed = size >= 2 && (bytes[0] == CUDA_IMAGE_CUBIN || bytes[0] == CUDA_IMAGE_PTX);
    expect_ptx = well_formed && bytes[0] == CUDA_IMAGE_PTX;
    expected_image = bytes + 1;
    expected_image_size = size ? size - 1 : 0;
    driver_saw.calls = 0;
    port_module *module = NULL;
    kiln_status st = cuda_compile_ops.module_load(&dev, bytes, size, &module);
    if (well_formed != (st == KILN_OK) || (st == KILN_OK) != (module != NULL))
        abort();
    if (!well_formed && (driver_saw.calls != 0 || st != KILN_ERR_INVALID_ARG))
        abort();
    if (well_formed && (driver_saw.calls != 1 || !driver_saw.image_matches))
        abort();
    cuda_compile_ops.module_release(module);
    free(bytes);
    return 0;
}
