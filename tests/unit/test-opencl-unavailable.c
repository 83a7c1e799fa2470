/* The OpenCL adapter where OpenCL is missing: a loader library that does
 * not exist, and an ICD loader that finds no vendor (OCL_ICD_VENDORS
 * pointed at an empty directory before the first OpenCL call of this
 * process). Both make the backend unavailable with a reason; nothing
 * crashes and the other backends still open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <kiln/kiln.h>

#include "backends/opencl/opencl_backend.h"
#include "backends/opencl/opencl_internal.h"
#include "util/fail.h"

/* The empty directory the ICD loader is told to search for vendors. */
static char empty_vendor_dir[] = "/tmp/kiln-no-opencl-vendors-XXXXXX";

/* Whether the system has the ICD loader at all; without it the adapter's
 * reason names the library instead of the platform. */
static int system_has_loader;

static void a_missing_loader_library_is_unavailable_with_its_name(void **state)
{
    static const char *const names[] = {"libkiln-test-no-such-OpenCL.so.1", NULL};
    opencl_functions api;
    memset(&api, 0, sizeof api);
    void *handle = NULL;
    char reason[256] = "";
    assert_int_equal(opencl_load_from(names, &api, &handle, reason, sizeof reason),
                     KILN_ERR_BACKEND_UNAVAILABLE);
    assert_null(handle);
    assert_null(api.GetPlatformIDs);
    assert_string_equal(reason, "libkiln-test-no-such-OpenCL.so.1 not found");
    assert_non_null(strstr(util_last_error(), "not found"));
}

/* Some ICD loaders (not Debian's ocl-icd) find vendors that
 * OCL_ICD_VENDORS does not hide; there absence cannot be simulated. */
static int vendors_hidden(void)
{
    port_backend *b = NULL;
    char reason[256] = "";
    if (opencl_backend_ops.open(&b, reason, sizeof reason) != KILN_OK)
        return 1;
    opencl_backend_ops.close(b);
    printf("# this ICD loader still finds a platform with OCL_ICD_VENDORS empty; skipped\n");
    return 0;
}

static void no_vendor_means_no_platform_and_no_backend(void **state)
{
    if (!vendors_hidden())
        skip();
    port_backend *b = (port_backend *)&b; /* not NULL: open must clear it */
    char reason[256] = "";
    assert_int_equal(opencl_backend_ops.open(&b, reason, sizeof reason),
                     KILN_ERR_BACKEND_UNAVAILABLE);
    assert_null(b);
    printf("# reason: %s\n", reason);
    assert_string_equal(reason,
                        system_has_loader ? "no OpenCL platform" : "libOpenCL.so.1 not found");
    /* A second open gives the same answer (the loader is opened once). */
    reason[0] = '\0';
    assert_int_equal(opencl_backend_ops.open(&b, reason, sizeof reason),
                     KILN_ERR_BACKEND_UNAVAILABLE);
    assert_true(strlen(reason) > 0);
}

static void the_context_lists_opencl_as_unavailable_and_keeps_the_cpu(void **state)
{
    if (!vendors_hidden())
        skip();
    kiln_context *ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, NULL), KILN_OK);
    int listed = 0;
    for (uint32_t i = 0; i < kiln_backend_count(ctx); i++) {
        kiln_backend_info info;
        assert_int_equal(kiln_backend_get_info(ctx, i, &info), KILN_OK);
        if (info.backend != KILN_BACKEND_OPENCL)
            continue;
        listed = 1;
        assert_int_equal(info.status, KILN_ERR_BACKEND_UNAVAILABLE);
        assert_int_equal(info.device_count, 0);
        assert_true(strlen(info.reason) > 0);
    }
    assert_true(listed);
    kiln_device *dev = NULL;
    assert_int_equal(kiln_device_find(ctx, "opencl:0", &dev), KILN_ERR_NOT_FOUND);
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    kiln_context_destroy(ctx);
}

int main(void)
{
    if (!mkdtemp(empty_vendor_dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* Before any OpenCL call: the ICD loader reads it once per process. */
    setenv("OCL_ICD_VENDORS", empty_vendor_dir, 1);
    void *loader = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    system_has_loader = loader != NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_missing_loader_library_is_unavailable_with_its_name),
        cmocka_unit_test(no_vendor_means_no_platform_and_no_backend),
        cmocka_unit_test(the_context_lists_opencl_as_unavailable_and_keeps_the_cpu),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(empty_vendor_dir);
    return failed;
}
