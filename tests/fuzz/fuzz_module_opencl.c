/* libFuzzer target for the OpenCL adapter's module envelope: the header
 * ("KILNOCL1" and the payload's size) that module_binary puts in front of
 * the driver's program binary and that module_load checks before the
 * driver sees any byte from the kernel cache (src/backends/opencl/
 * opencl_compile.c). The driver is replaced by a fake clCreateProgramWithBinary
 * that records what it was given and refuses it, so only kiln's decoding
 * runs. What must hold: the driver is called exactly when the envelope is
 * well formed (magic, a non-zero size equal to what follows), and then with
 * exactly the bytes after the header; otherwise the load fails with
 * KILN_ERR_INVALID_ARG and the driver is never called. What the driver does
 * with a binary is the driver's parser, not kiln's (docs/fuzzing.md). */
#include <stdlib.h>
#include <string.h>

#include "backends/opencl/opencl_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The envelope of opencl_compile.c: magic[8], then the payload size (uint64). */
#define ENVELOPE_MAGIC "KILNOCL1"
#define ENVELOPE_MAGIC_BYTES 8u
#define ENVELOPE_HEADER_BYTES 16u

static struct {
    int calls;
    const unsigned char *payload;
    size_t payload_size;
} driver_saw;

static cl_program CL_API_CALL fake_create_program_with_binary(
    cl_context context, cl_uint device_count, const cl_device_id *devices, const size_t *lengths,
    const unsigned char **binaries, cl_int *binary_status, cl_int *err)
{
    (void)context;
    (void)devices;
    if (device_count != 1)
        abort();
    driver_saw.calls++;
    driver_saw.payload = binaries[0];
    driver_saw.payload_size = lengths[0];
    /* Touch every byte: ASan reports a payload that runs past the input. */
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < lengths[0]; i++)
        sink ^= binaries[0][i];
    (void)sink;
    if (binary_status)
        binary_status[0] = CL_INVALID_BINARY;
    if (err)
        *err = CL_INVALID_BINARY;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    opencl_api.CreateProgramWithBinary = fake_create_program_with_binary;
    /* A private copy of exactly size bytes, so ASan sees any read past it. */
    unsigned char *bytes = malloc(size ? size : 1);
    if (!bytes)
        abort();
    memcpy(bytes, data, size);
    port_device dev;
    memset(&dev, 0, sizeof dev);
    port_module *module = NULL;
    driver_saw.calls = 0;
    kiln_status st = opencl_compile_ops.module_load(&dev, bytes, size, &module);

    uint64_t declared = 0;
    int well_formed = size >= ENVELOPE_HEADER_BYTES &&
                      memcmp(bytes, ENVELOPE_MAGIC, ENVELOPE_MAGIC_BYTES) == 0;
    if (well_formed) {
        memcpy(&declared, bytes + ENVELOPE_MAGIC_BYTES, sizeof declared);
        well_formed = declared != 0 && declared == size - ENVELOPE_HEADER_BYTES;
    }
    if (st == KILN_OK || module)
        abort(); /* the fake driver refuses every binary */
    if (!well_formed && (driver_saw.calls != 0 || st != KILN_ERR_INVALID_ARG))
        abort();
    if (well_formed && (driver_saw.calls != 1 ||
                        driver_saw.payload != bytes + ENVELOPE_HEADER_BYTES ||
                        driver_saw.payload_size != declared))
        abort();
    free(bytes);
    return 0;
}
