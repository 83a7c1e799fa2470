/* The compile port on OpenCL: OpenCL C source to a cl_program built for
 * one device, the program's binary for the kernel cache and back, and one
 * cl_kernel per entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/fail.h"
#include "../../util/log_buffer.h"
#include "opencl_internal.h"

/* The front end emits OpenCL C 1.2; no option that changes semantics
 * (fast math, denormals) is given, so results match the reference. */
#define OPENCL_BUILD_OPTIONS "-cl-std=CL1.2"

/* What module_binary writes before the driver's bytes, so that module_load
 * rejects foreign or truncated bytes before the driver parses them. */
#define OPENCL_BINARY_MAGIC "KILNOCL1"
#define OPENCL_BINARY_MAGIC_SIZE 8u

/* Room in a failed build's first line beside the device name: the call,
 * the longest error name and its code. */
#define OPENCL_BUILD_HEAD_EXTRA 128

typedef struct opencl_binary_header {
    char magic[OPENCL_BINARY_MAGIC_SIZE];
    uint64_t payload_bytes; /* the driver's binary that follows */
} opencl_binary_header;

/* Appends the device's build log for program to log. */
static void opencl_append_build_log(port_device *dev, cl_program program, port_log *log)
{
    size_t size = 0;
    if (opencl_api.GetProgramBuildInfo(program, dev->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
            CL_SUCCESS ||
        size == 0)
        return;
    char *text = malloc(size + 1);
    if (!text)
        return;
    if (opencl_api.GetProgramBuildInfo(program, dev->id, CL_PROGRAM_BUILD_LOG, size, text,
                                       NULL) == CL_SUCCESS) {
        text[size] = '\0';
        util_log_append(log, text, strlen(text));
    }
    free(text);
}

static kiln_status opencl_module_new(port_device *dev, cl_program program, port_module **out)
{
    port_module *m = calloc(1, sizeof *m);
    if (!m) {
        opencl_api.ReleaseProgram(program);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: no memory for a module");
    }
    m->dev = dev;
    m->program = program;
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return KILN_OK;
}

/* Builds program for dev; on failure releases it and fills log (when
 * given) with the compiler's output. */
static kiln_status opencl_build(port_device *dev, cl_program program, port_log *log,
                                port_module **out)
{
    cl_int err = opencl_api.BuildProgram(program, 1, &dev->id, OPENCL_BUILD_OPTIONS, NULL, NULL);
    if (err == CL_SUCCESS)
        return opencl_module_new(dev, program, out);
    /* The first line names the call and the error even when the host has
     * no memory for the driver's log that follows it. */
    char head[sizeof dev->info.name + OPENCL_BUILD_HEAD_EXTRA];
    snprintf(head, sizeof head, "opencl: clBuildProgram for %s: %s (%d)\n", dev->info.name,
             opencl_error_name(err), (int)err);
    port_log detail = {0};
    util_log_append(&detail, head, strlen(head));
    if (detail.text)
        opencl_append_build_log(dev, program, &detail);
    opencl_api.ReleaseProgram(program);
    if (log)
        util_log_append(log, detail.text ? detail.text : head,
                        detail.text ? detail.length : strlen(head));
    kiln_status st = opencl_status(err);
    if (st != KILN_ERR_NO_COMPILER && st != KILN_ERR_OUT_OF_HOST_MEMORY)
        st = KILN_ERR_COMPILE;
    st = util_fail_text(st, detail.text ? detail.text : head);
    util_log_free(&detail);
    return st;
}

static kiln_status opencl_compile(port_device *dev, const port_compile_input *in,
                                  port_module **out, port_log *log)
{
    if (!in || !in->source)
        return util_fail(KILN_ERR_NULL_HANDLE, "opencl: nothing to compile");
    if (!dev->has_compiler)
        return util_fail(KILN_ERR_NO_COMPILER, "opencl: device %s has no OpenCL C compiler",
                         dev->info.name);
    const char *text = in->source;
    size_t length = in->source_length;
    cl_int err = CL_SUCCESS;
    cl_program program = opencl_api.CreateProgramWithSource(dev->context, 1, &text, &length, &err);
    if (!program)
        return opencl_fail(opencl_status(err), err, "clCreateProgramWithSource");
    return opencl_build(dev, program, log, out);
}

static kiln_status opencl_module_binary(port_module *m, void **bytes, size_t *size)
{
    size_t payload = 0;
    cl_int err = opencl_api.GetProgramInfo(m->program, CL_PROGRAM_BINARY_SIZES, sizeof payload,
                                           &payload, NULL);
    if (err != CL_SUCCESS)
        return opencl_fail(KILN_ERR_DEVICE, err, "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
    if (payload == 0)
        return util_fail(KILN_ERR_UNSUPPORTED, "opencl: the driver gives no program binary");
    opencl_binary_header header = {.payload_bytes = payload};
    memcpy(header.magic, OPENCL_BINARY_MAGIC, OPENCL_BINARY_MAGIC_SIZE);
    unsigned char *out = malloc(sizeof header + payload);
    if (!out)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: no memory for %zu module bytes",
                         payload);
    memcpy(out, &header, sizeof header);
    unsigned char *binaries[1] = {out + sizeof header};
    err = opencl_api.GetProgramInfo(m->program, CL_PROGRAM_BINARIES, sizeof binaries, binaries,
                                    NULL);
    if (err != CL_SUCCESS) {
        free(out);
        return opencl_fail(KILN_ERR_DEVICE, err, "clGetProgramInfo(CL_PROGRAM_BINARIES)");
    }
    *bytes = out;
    *size = sizeof header + payload;
    return KILN_OK;
}

static kiln_status opencl_module_load(port_device *dev, const void *bytes, size_t size,
                                      port_module **out)
{
    opencl_binary_header header;
    if (!bytes || size < sizeof header)
        return util_fail(KILN_ERR_INVALID_ARG, "opencl: %zu bytes are no module", size);
    memcpy(&header, bytes, sizeof header);
    if (memcmp(header.magic, OPENCL_BINARY_MAGIC, OPENCL_BINARY_MAGIC_SIZE) != 0 ||
        header.payload_bytes != size - sizeof header || header.payload_bytes == 0)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "opencl: the module bytes are not an OpenCL module of this adapter "
                         "(bad header or truncated)");
    const unsigned char *payload = (const unsigned char *)bytes + sizeof header;
    size_t payload_size = (size_t)header.payload_bytes;
    cl_int binary_status = CL_SUCCESS, err = CL_SUCCESS;
    cl_program program = opencl_api.CreateProgramWithBinary(
        dev->context, 1, &dev->id, &payload_size, &payload, &binary_status, &err);
    if (!program) {
        cl_int why = err == CL_INVALID_BINARY && binary_status != CL_SUCCESS ? binary_status : err;
        return opencl_fail(opencl_status(why), why, "clCreateProgramWithBinary");
    }
    /* A binary needs building too (the driver may finish code generation);
     * its log goes to the detail only. */
    kiln_status st = opencl_build(dev, program, NULL, out);
    return st == KILN_ERR_COMPILE ? KILN_ERR_INVALID_ARG : st;
}

static void opencl_module_release(port_module *m)
{
    if (!m)
        return;
    for (port_function *f = m->functions, *next; f; f = next) {
        next = f->next;
        opencl_api.ReleaseKernel(f->kernel);
        pthread_mutex_destroy(&f->lock);
        free(f);
    }
    opencl_api.ReleaseProgram(m->program);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static kiln_status opencl_function_new(port_module *m, const char *entry, port_function **out)
{
    size_t name_size = strlen(entry) + 1;
    port_function *f = calloc(1, sizeof *f + name_size);
    if (!f)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: no memory for a function");
    cl_int err = CL_SUCCESS;
    f->kernel = opencl_api.CreateKernel(m->program, entry, &err);
    if (!f->kernel) {
        free(f);
        if (err == CL_INVALID_KERNEL_NAME)
            return util_fail(KILN_ERR_NOT_FOUND, "opencl: the module has no kernel '%s'", entry);
        /* No kernel with CL_SUCCESS (a broken driver) must not read as
         * success: the caller would use a function that was never made. */
        kiln_status st = err == CL_SUCCESS ? KILN_ERR_DEVICE : opencl_status(err);
        return opencl_fail(st, err, "clCreateKernel('%s')", entry);
    }
    err = opencl_api.GetKernelInfo(f->kernel, CL_KERNEL_NUM_ARGS, sizeof f->arg_count,
                                   &f->arg_count, NULL);
    if (err == CL_SUCCESS)
        err = opencl_api.GetKernelWorkGroupInfo(f->kernel, m->dev->id, CL_KERNEL_WORK_GROUP_SIZE,
                                                sizeof f->work_group_limit,
                                                &f->work_group_limit, NULL);
    if (err != CL_SUCCESS) {
        opencl_api.ReleaseKernel(f->kernel);
        free(f);
        return opencl_fail(KILN_ERR_DEVICE, err, "kernel info of '%s'", entry);
    }
    f->module = m;
    pthread_mutex_init(&f->lock, NULL);
    memcpy(f->name, entry, name_size);
    *out = f;
    return KILN_OK;
}

static kiln_status opencl_get_function(port_module *m, const char *entry, port_function **out)
{
    if (!entry)
        return util_fail(KILN_ERR_NULL_HANDLE, "opencl: no entry name");
    kiln_status st = KILN_OK;
    pthread_mutex_lock(&m->lock);
    port_function *f = m->functions;
    while (f && strcmp(f->name, entry) != 0)
        f = f->next;
    if (!f && (st = opencl_function_new(m, entry, &f)) == KILN_OK) {
        /* KILN_OK means f was made; the analyzer cannot see that
         * opencl_status() maps only CL_SUCCESS to it. */
        f->next = m->functions; /* NOLINT(clang-analyzer-core.NullDereference) */
        m->functions = f;
    }
    pthread_mutex_unlock(&m->lock);
    if (st == KILN_OK)
        *out = f;
    return st;
}

/* FNV-1a, 64 bits: stands for an identity too long for the caller's
 * buffer, so that every part of it still changes the key. */
#define OPENCL_FNV_OFFSET 0xcbf29ce484222325ull
#define OPENCL_FNV_PRIME 0x100000001b3ull
/* Characters of the device name kept readable in a hashed identity. */
#define OPENCL_IDENTITY_NAME_CHARS 64

static uint64_t opencl_fnv1a(const char *text)
{
    uint64_t hash = OPENCL_FNV_OFFSET;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        hash = (hash ^ *p) * OPENCL_FNV_PRIME;
    return hash;
}

static kiln_status opencl_cache_identity(port_device *dev, char *buf, size_t size)
{
    char full[sizeof dev->identity + sizeof OPENCL_BUILD_OPTIONS + 16];
    snprintf(full, sizeof full, "%s; options=%s", dev->identity, OPENCL_BUILD_OPTIONS);
    int n = snprintf(buf, size, "%s", full);
    if (n >= 0 && (size_t)n < size)
        return KILN_OK;
    n = snprintf(buf, size, "opencl %.*s; identity-fnv1a=%016llx", OPENCL_IDENTITY_NAME_CHARS,
                 dev->info.name, (unsigned long long)opencl_fnv1a(full));
    if (n < 0 || (size_t)n >= size)
        return util_fail(KILN_ERR_INVALID_SIZE,
                         "opencl: the cache identity needs %d bytes, got %zu", n + 1, size);
    return KILN_OK;
}

static uint32_t opencl_function_max_group(port_function *f)
{
    return f->work_group_limit > UINT32_MAX ? UINT32_MAX : (uint32_t)f->work_group_limit;
}

const port_compile opencl_compile_ops = {
    .compile = opencl_compile,
    .module_binary = opencl_module_binary,
    .module_load = opencl_module_load,
    .module_release = opencl_module_release,
    .get_function = opencl_get_function,
    .cache_identity = opencl_cache_identity,
    .function_max_group = opencl_function_max_group,
};
