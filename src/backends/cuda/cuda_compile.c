/* The compile port on CUDA: NVRTC compiles the emitted CUDA C++ (no
 * headers; the #line directives keep the .kc file and line in its errors)
 * into a cubin for the device's exact architecture. An NVRTC too old for
 * that architecture gives PTX for the newest one it knows instead, which
 * the driver compiles when it loads the module. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/fail.h"
#include "../../util/log_buffer.h"
#include "cuda_internal.h"

#define CUDA_ARCH_OPTION_MAX 64
/* Compute capability major.minor as NVRTC numbers architectures (90). */
#define CUDA_ARCH_SCALE 10
/* NVRTC has never listed more architectures than this. */
#define CUDA_MAX_ARCHS 128

/* What to build: a cubin for sm_<arch> or PTX for compute_<arch>. */
typedef struct cuda_target {
    int arch;
    int cubin;
} cuda_target;

/* The device's own architecture if NVRTC knows it, else the newest one
 * below it as PTX. 0 when NVRTC knows nothing at or below the device. */
static int cuda_choose_target(const cuda_nvrtc_api *nvrtc, int device_arch, cuda_target *out)
{
    *out = (cuda_target){.arch = device_arch, .cubin = 1};
    int count = 0;
    int archs[CUDA_MAX_ARCHS];
    if (!nvrtc->GetNumSupportedArchs || !nvrtc->GetSupportedArchs ||
        nvrtc->GetNumSupportedArchs(&count) != NVRTC_SUCCESS || count <= 0 ||
        count > CUDA_MAX_ARCHS || nvrtc->GetSupportedArchs(archs) != NVRTC_SUCCESS)
        return 1; /* an old NVRTC: try the exact architecture and see */
    int best = 0;
    for (int i = 0; i < count; i++) {
        if (archs[i] == device_arch)
            return 1;
        if (archs[i] < device_arch && archs[i] > best)
            best = archs[i];
    }
    *out = (cuda_target){.arch = best, .cubin = 0};
    return best != 0;
}

static void cuda_append_program_log(const cuda_nvrtc_api *nvrtc, nvrtcProgram prog,
                                    port_log *log)
{
    size_t size = 0;
    if (!log || nvrtc->GetProgramLogSize(prog, &size) != NVRTC_SUCCESS || size <= 1)
        return;
    char *text = malloc(size);
    if (text && nvrtc->GetProgramLog(prog, text) == NVRTC_SUCCESS)
        util_log_append(log, text, strnlen(text, size));
    free(text);
}

/* Copies the program's cubin or PTX behind its tag byte. */
static kiln_status cuda_take_image(const cuda_nvrtc_api *nvrtc, nvrtcProgram prog, int cubin,
                                   unsigned char **image, size_t *size)
{
    size_t bytes = 0;
    nvrtcResult r = cubin ? nvrtc->GetCUBINSize(prog, &bytes) : nvrtc->GetPTXSize(prog, &bytes);
    if (r != NVRTC_SUCCESS || bytes == 0)
        return util_fail(KILN_ERR_COMPILE, "cuda: NVRTC produced no %s: %s",
                         cubin ? "cubin" : "PTX", nvrtc->GetErrorString(r));
    unsigned char *buf = malloc(bytes + 1);
    if (!buf)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for a %zu-byte image",
                         bytes);
    buf[0] = cubin ? CUDA_IMAGE_CUBIN : CUDA_IMAGE_PTX;
    r = cubin ? nvrtc->GetCUBIN(prog, (char *)buf + 1) : nvrtc->GetPTX(prog, (char *)buf + 1);
    if (r != NVRTC_SUCCESS) {
        free(buf);
        return util_fail(KILN_ERR_COMPILE, "cuda: NVRTC did not hand out the image: %s",
                         nvrtc->GetErrorString(r));
    }
    *image = buf;
    *size = bytes + 1;
    return KILN_OK;
}

static kiln_status cuda_nvrtc_build(const cuda_nvrtc_api *nvrtc, const port_compile_input *in,
                                    const cuda_target *target, port_log *log,
                                    unsigned char **image, size_t *size)
{
    char arch_option[CUDA_ARCH_OPTION_MAX];
    snprintf(arch_option, sizeof arch_option, "--gpu-architecture=%s_%d",
             target->cubin ? "sm" : "compute", target->arch);
    const char *options[] = {arch_option, "--std=c++17"};
    const char *name = in->source_name ? in->source_name : "kernel.kc";
    nvrtcProgram prog = NULL;
    nvrtcResult r = nvrtc->CreateProgram(&prog, in->source, name, 0, NULL, NULL);
    if (r != NVRTC_SUCCESS)
        return util_fail(KILN_ERR_COMPILE, "cuda: nvrtcCreateProgram: %s",
                         nvrtc->GetErrorString(r));
    r = nvrtc->CompileProgram(prog, (int)(sizeof options / sizeof options[0]), options);
    cuda_append_program_log(nvrtc, prog, log);
    kiln_status st = KILN_OK;
    if (r == NVRTC_ERROR_INVALID_OPTION)
        st = util_fail(KILN_ERR_UNSUPPORTED, "cuda: NVRTC does not accept %s", arch_option);
    else if (r != NVRTC_SUCCESS)
        st = util_fail(KILN_ERR_COMPILE, "cuda: NVRTC could not compile %s for %s_%d: %s", name,
                       target->cubin ? "sm" : "compute", target->arch,
                       nvrtc->GetErrorString(r));
    else
        st = cuda_take_image(nvrtc, prog, target->cubin, image, size);
    nvrtc->DestroyProgram(&prog);
    return st;
}

static kiln_status cuda_compile(port_device *dev, const port_compile_input *in,
                                port_module **out, port_log *log)
{
    *out = NULL;
    if (!in || !in->source)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: compile without source");
    const char *why = "";
    const cuda_nvrtc_api *nvrtc = cuda_nvrtc(&why);
    if (!nvrtc) {
        if (log)
            util_log_appendf(log, "cuda: %s\n", why);
        return util_fail(KILN_ERR_NO_COMPILER, "cuda: %s", why);
    }
    int device_arch = dev->cc_major * CUDA_ARCH_SCALE + dev->cc_minor;
    cuda_target target;
    if (!cuda_choose_target(nvrtc, device_arch, &target))
        return util_fail(KILN_ERR_UNSUPPORTED,
                         "cuda: this NVRTC knows no architecture at or below sm_%d; set "
                         "KILN_CUDA_PATH to a newer CUDA toolkit",
                         device_arch);
    unsigned char *image = NULL;
    size_t size = 0;
    kiln_status st = cuda_nvrtc_build(nvrtc, in, &target, log, &image, &size);
    if (st == KILN_ERR_UNSUPPORTED && target.cubin) {
        /* NVRTC without an architecture list rejected sm_XY: PTX it is. */
        target.cubin = 0;
        st = cuda_nvrtc_build(nvrtc, in, &target, log, &image, &size);
    }
    if (st != KILN_OK)
        return st;
    return cuda_module_from_image(dev, image, size, log, out);
}

static kiln_status cuda_cache_identity(port_device *dev, char *buf, size_t size)
{
    int driver = 0, major = 0, minor = 0;
    cuda_driver.DriverGetVersion(&driver);
    const char *why = "";
    const cuda_nvrtc_api *nvrtc = cuda_nvrtc(&why);
    if (nvrtc && nvrtc->Version(&major, &minor) == NVRTC_SUCCESS)
        snprintf(buf, size, "sm_%d%d driver=%d nvrtc=%d.%d", dev->cc_major, dev->cc_minor,
                 driver, major, minor);
    else
        snprintf(buf, size, "sm_%d%d driver=%d nvrtc=none", dev->cc_major, dev->cc_minor,
                 driver);
    return KILN_OK;
}

static uint32_t cuda_function_max_group(port_function *f)
{
    return f->max_threads;
}

const port_compile cuda_compile_ops = {
    .compile = cuda_compile,
    .module_binary = cuda_module_binary,
    .module_load = cuda_module_load,
    .module_release = cuda_module_release,
    .get_function = cuda_module_get_function,
    .cache_identity = cuda_cache_identity,
    .function_max_group = cuda_function_max_group,
};
