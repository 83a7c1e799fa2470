/* libFuzzer target for the device selector and backend list parsers: each
 * input (up to its first NUL) is given to
 * - kiln_device_find as a selector ("cpu", "cuda:0", "opencl:1", "2"),
 * - kiln_device_default as $KILN_DEVICE (the same grammar),
 * - kiln_context_create as $KILN_BACKENDS ("cpu,opencl"),
 * and each answer is compared with a strict reference of the documented
 * grammar below: a selector is an index of decimal digits, or a backend
 * name optionally followed by ':' and decimal digits; a backend list is
 * backend names separated by commas and spaces. A number too large for a
 * device index must never select a device.
 * The selectors run on one CPU-only context made once per process; the
 * contexts made from $KILN_BACKENDS find no OpenCL platform (OCL_ICD_VENDORS
 * points nowhere) so that each costs little. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kiln/kiln.h>

#include "core/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SELECTOR_MAX 256

static kiln_context *ctx;

static const char *const device_backends[] = {"cpu", "cuda", "opencl", "metal", "fault"};
static const kiln_backend device_backend_ids[] = {KILN_BACKEND_CPU, KILN_BACKEND_CUDA,
                                                  KILN_BACKEND_OPENCL, KILN_BACKEND_METAL,
                                                  KILN_BACKEND_FAULT};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Decimal digits only, at least one; *value saturates at UINT64_MAX. */
static int parse_digits(const char *s, size_t n, uint64_t *value)
{
    if (n == 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *value = v;
    return 1;
}

/* What kiln_device_find must answer for selector, and which device. */
static kiln_status expected_find(const char *selector, kiln_device **want)
{
    *want = NULL;
    size_t n = strlen(selector);
    if (n == 0)
        return KILN_ERR_INVALID_ARG;
    uint64_t index;
    if (parse_digits(selector, n, &index)) {
        if (index >= kiln_device_count(ctx))
            return KILN_ERR_INVALID_DEVICE;
        kiln_device_get(ctx, (uint32_t)index, want);
        return KILN_OK;
    }
    const char *colon = strchr(selector, ':');
    size_t name_len = colon ? (size_t)(colon - selector) : n;
    kiln_backend backend = 0;
    for (size_t i = 0; i < COUNT(device_backends); i++)
        if (strlen(device_backends[i]) == name_len &&
            memcmp(device_backends[i], selector, name_len) == 0)
            backend = device_backend_ids[i];
    if (!backend)
        return KILN_ERR_INVALID_DEVICE;
    uint64_t number = 0;
    if (colon && !parse_digits(colon + 1, strlen(colon + 1), &number))
        return KILN_ERR_INVALID_DEVICE;
    for (uint32_t i = 0; i < kiln_device_count(ctx); i++) {
        kiln_device *dev = NULL;
        kiln_device_info info;
        kiln_device_get(ctx, i, &dev);
        kiln_device_get_info(dev, &info);
        if (info.backend == backend && info.backend_index == number) {
            *want = dev;
            return KILN_OK;
        }
    }
    return KILN_ERR_NOT_FOUND;
}

/* The KILN_BACKEND_BIT mask $KILN_BACKENDS=list must open, from the names
 * of the adapters built in (src/core/registry.c); 0 if the list is invalid. */
static int expected_backends(const char *list, uint32_t *mask)
{
    size_t count;
    const port_backend_ops *const *all = registry_all(&count);
    *mask = 0;
    const char *p = list + strspn(list, ", ");
    while (*p) {
        size_t n = strcspn(p, ", ");
        size_t i = 0;
        while (i < count && !(strlen(all[i]->name) == n && memcmp(all[i]->name, p, n) == 0))
            i++;
        if (i == count)
            return 0;
        *mask |= KILN_BACKEND_BIT(all[i]->backend);
        p += n;
        p += strspn(p, ", ");
    }
    return 1;
}

static void fuzz_setup(void)
{
    /* Cheap contexts: one CPU worker, no OpenCL vendor, no disk cache. */
    setenv("KILN_CPU_THREADS", "1", 1);
    setenv("OCL_ICD_VENDORS", "/nonexistent-kiln-fuzz", 1);
    unsetenv("KILN_BACKENDS");
    kiln_context_options opts = {.size = sizeof opts,
                                 .flags = KILN_CONTEXT_NO_CACHE,
                                 .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU)};
    if (kiln_context_create(&ctx, &opts) != KILN_OK || kiln_device_count(ctx) == 0)
        abort();
}

static void check_selector(const char *selector)
{
    kiln_device *want = NULL, *got = NULL;
    kiln_status expected = expected_find(selector, &want);
    kiln_status st = kiln_device_find(ctx, selector, &got);
    if (st != expected || (st == KILN_OK && got != want))
        abort();

    /* $KILN_DEVICE: the same answer, except that empty means "the default". */
    if (!selector[0])
        return;
    setenv("KILN_DEVICE", selector, 1);
    got = NULL;
    st = kiln_device_default(ctx, &got);
    unsetenv("KILN_DEVICE");
    if (st != expected || (st == KILN_OK && got != want))
        abort();
}

static void check_backend_list(const char *list)
{
    uint32_t mask = 0;
    int valid = expected_backends(list, &mask);
    kiln_context_options opts = {.size = sizeof opts, .flags = KILN_CONTEXT_NO_CACHE};
    kiln_context *other = NULL;
    setenv("KILN_BACKENDS", list, 1);
    kiln_status st = kiln_context_create(&other, &opts);
    unsetenv("KILN_BACKENDS");
    if (!list[0]) {
        /* Empty: every backend, as if unset. */
        if (st != KILN_OK)
            abort();
        kiln_context_destroy(other);
        return;
    }
    if (!valid) {
        if (st != KILN_ERR_INVALID_ARG || other)
            abort();
        return;
    }
    if (st != KILN_OK)
        abort();
    uint32_t opened = 0;
    for (uint32_t i = 0; i < kiln_backend_count(other); i++) {
        kiln_backend_info info;
        if (kiln_backend_get_info(other, i, &info) != KILN_OK)
            abort();
        opened |= KILN_BACKEND_BIT(info.backend);
    }
    /* An empty list of names (", ,") opens every backend, as unset does. */
    if (mask && opened != mask)
        abort();
    kiln_context_destroy(other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx)
        fuzz_setup();
    char text[SELECTOR_MAX + 1];
    size_t n = size < SELECTOR_MAX ? size : SELECTOR_MAX;
    memcpy(text, data, n);
    text[n] = '\0';
    check_selector(text);
    check_backend_list(text);
    return 0;
}
