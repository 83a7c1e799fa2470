/* The OpenCL adapter's loader and error tables, without any OpenCL device:
 * KILN_OPENCL_LIBRARY naming a library that is present but lacks the entry
 * points (the adapter is unavailable and names the first missing one, on
 * every open of the process), and the CL error code -> name and -> kiln
 * status tables against <CL/cl.h>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kiln/kiln.h>

#include "backends/opencl/opencl_backend.h"
#include "backends/opencl/opencl_internal.h"
#include "util/fail.h"

/* Present on every glibc system, and exports no OpenCL function. */
#define LOADER_PRESENT_LIBRARY "libc.so.6"
#define LOADER_LACKS_REASON "the OpenCL loader lacks clGetPlatformIDs (older than OpenCL 1.2)"

static void a_present_library_without_the_entry_points_is_refused(void **state)
{
    static const char *const names[] = {LOADER_PRESENT_LIBRARY, NULL};
    opencl_functions api;
    memset(&api, 0xff, sizeof api); /* must come back cleared */
    void *handle = NULL;
    char reason[256] = "";
    assert_int_equal(opencl_load_from(names, &api, &handle, reason, sizeof reason),
                     KILN_ERR_BACKEND_UNAVAILABLE);
    assert_null(handle);
    assert_null(api.GetPlatformIDs);
    assert_null(api.EnqueueUnmapMemObject);
    assert_string_equal(reason, LOADER_LACKS_REASON);
    assert_string_equal(util_last_error(), "opencl: " LOADER_LACKS_REASON);
}

static void the_library_variable_is_used_and_its_failure_is_kept(void **state)
{
    /* main set KILN_OPENCL_LIBRARY before the first open of the process. */
    for (int round = 0; round < 2; round++) {
        port_backend *b = (port_backend *)&b; /* not NULL: open must clear it */
        char reason[256] = "";
        util_clear_error();
        assert_int_equal(opencl_backend_ops.open(&b, reason, sizeof reason),
                         KILN_ERR_BACKEND_UNAVAILABLE);
        assert_null(b);
        assert_string_equal(reason, LOADER_LACKS_REASON);
        assert_string_equal(util_last_error(), "opencl: " LOADER_LACKS_REASON);
    }
    /* Nothing was resolved into the shared table. */
    assert_null(opencl_api.GetPlatformIDs);
}

static void the_context_reports_the_reason_and_keeps_the_cpu(void **state)
{
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
        assert_string_equal(info.reason, LOADER_LACKS_REASON);
    }
    assert_true(listed);
    kiln_device *dev = NULL;
    assert_int_equal(kiln_device_find(ctx, "opencl:0", &dev), KILN_ERR_NOT_FOUND);
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    kiln_context_destroy(ctx);
}

typedef struct loader_code {
    cl_int code;
    const char *name;
    kiln_status status;
} loader_code;

#define LOADER_CODE(code, status) {code, #code, status}

/* Every code the adapter gives a meaning of its own, and some that fall to
 * the default (KILN_ERR_DEVICE). */
static const loader_code loader_codes[] = {
    LOADER_CODE(CL_SUCCESS, KILN_OK),
    LOADER_CODE(CL_OUT_OF_HOST_MEMORY, KILN_ERR_OUT_OF_HOST_MEMORY),
    LOADER_CODE(CL_MEM_OBJECT_ALLOCATION_FAILURE, KILN_ERR_OUT_OF_MEMORY),
    LOADER_CODE(CL_OUT_OF_RESOURCES, KILN_ERR_OUT_OF_MEMORY),
    LOADER_CODE(CL_INVALID_BUFFER_SIZE, KILN_ERR_OUT_OF_MEMORY),
    LOADER_CODE(CL_DEVICE_NOT_AVAILABLE, KILN_ERR_DEVICE_LOST),
    LOADER_CODE(CL_DEVICE_NOT_FOUND, KILN_ERR_DEVICE_LOST),
    LOADER_CODE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, KILN_ERR_DEVICE_FAULT),
    LOADER_CODE(CL_COMPILER_NOT_AVAILABLE, KILN_ERR_NO_COMPILER),
    LOADER_CODE(CL_LINKER_NOT_AVAILABLE, KILN_ERR_NO_COMPILER),
    LOADER_CODE(CL_BUILD_PROGRAM_FAILURE, KILN_ERR_COMPILE),
    LOADER_CODE(CL_COMPILE_PROGRAM_FAILURE, KILN_ERR_COMPILE),
    LOADER_CODE(CL_LINK_PROGRAM_FAILURE, KILN_ERR_COMPILE),
    LOADER_CODE(CL_INVALID_KERNEL_NAME, KILN_ERR_NOT_FOUND),
    LOADER_CODE(CL_INVALID_WORK_DIMENSION, KILN_ERR_INVALID_RANGE),
    LOADER_CODE(CL_INVALID_WORK_GROUP_SIZE, KILN_ERR_INVALID_RANGE),
    LOADER_CODE(CL_INVALID_WORK_ITEM_SIZE, KILN_ERR_INVALID_RANGE),
    LOADER_CODE(CL_INVALID_GLOBAL_OFFSET, KILN_ERR_INVALID_RANGE),
    LOADER_CODE(CL_INVALID_GLOBAL_WORK_SIZE, KILN_ERR_INVALID_RANGE),
    LOADER_CODE(CL_INVALID_VALUE, KILN_ERR_INVALID_ARG),
    LOADER_CODE(CL_INVALID_BINARY, KILN_ERR_INVALID_ARG),
    LOADER_CODE(CL_INVALID_MEM_OBJECT, KILN_ERR_INVALID_ARG),
    LOADER_CODE(CL_INVALID_ARG_INDEX, KILN_ERR_INVALID_ARG),
    LOADER_CODE(CL_INVALID_ARG_VALUE, KILN_ERR_INVALID_ARG),
    LOADER_CODE(CL_INVALID_ARG_SIZE, KILN_ERR_INVALID_ARG),
    LOADER_CODE(CL_INVALID_KERNEL_ARGS, KILN_ERR_INVALID_ARG),
    LOADER_CODE(CL_MEM_COPY_OVERLAP, KILN_ERR_INVALID_ARG),
    LOADER_CODE(CL_INVALID_CONTEXT, KILN_ERR_DEVICE),
    LOADER_CODE(CL_INVALID_COMMAND_QUEUE, KILN_ERR_DEVICE),
    LOADER_CODE(CL_MAP_FAILURE, KILN_ERR_DEVICE),
    LOADER_CODE(CL_INVALID_DEVICE_PARTITION_COUNT, KILN_ERR_DEVICE),
};

static void every_code_has_its_name_and_status(void **state)
{
    for (size_t i = 0; i < sizeof loader_codes / sizeof loader_codes[0]; i++) {
        const loader_code *c = &loader_codes[i];
        assert_string_equal(opencl_error_name(c->code), c->name);
        if (opencl_status(c->code) != c->status)
            fail_msg("%s maps to %d, not %d", c->name, (int)opencl_status(c->code),
                     (int)c->status);
    }
    /* Codes of later OpenCL versions and of the ICD extension. */
    assert_string_equal(opencl_error_name(-70), "CL_INVALID_DEVICE_QUEUE");
    assert_string_equal(opencl_error_name(OPENCL_PLATFORM_NOT_FOUND_KHR),
                        "CL_PLATFORM_NOT_FOUND_KHR");
    assert_int_equal(opencl_status(OPENCL_PLATFORM_NOT_FOUND_KHR), KILN_ERR_DEVICE);
}

static void an_unknown_code_is_named_unknown_and_is_a_device_error(void **state)
{
    /* Codes no OpenCL version defines: far below the table, and positive. */
    const cl_int unknown[] = {-9999, -100, -73, 1, 12345};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(opencl_error_name(unknown[i]), "CL_UNKNOWN_ERROR");
        assert_int_equal(opencl_status(unknown[i]), KILN_ERR_DEVICE);
    }
}

static void failures_read_what_name_and_code(void **state)
{
    assert_int_equal(opencl_fail(KILN_ERR_OUT_OF_MEMORY, CL_MEM_OBJECT_ALLOCATION_FAILURE,
                                 "clCreateBuffer of %zu bytes on %s", (size_t)4096, "dev"),
                     KILN_ERR_OUT_OF_MEMORY);
    assert_string_equal(util_last_error(), "opencl: clCreateBuffer of 4096 bytes on dev: "
                                           "CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)");
    assert_int_equal(opencl_fail(KILN_ERR_DEVICE, -4242, "x"), KILN_ERR_DEVICE);
    assert_string_equal(util_last_error(), "opencl: x: CL_UNKNOWN_ERROR (-4242)");
}

int main(void)
{
    /* Before the first open of this process: the loader is opened once. */
    setenv("KILN_OPENCL_LIBRARY", LOADER_PRESENT_LIBRARY, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_present_library_without_the_entry_points_is_refused),
        cmocka_unit_test(the_library_variable_is_used_and_its_failure_is_kept),
        cmocka_unit_test(the_context_reports_the_reason_and_keeps_the_cpu),
        cmocka_unit_test(every_code_has_its_name_and_status),
        cmocka_unit_test(an_unknown_code_is_named_unknown_and_is_a_device_error),
        cmocka_unit_test(failures_read_what_name_and_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
