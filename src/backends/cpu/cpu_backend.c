/* The CPU adapter's entry: the ops table the registry lists, opening the
 * backend and describing its one device. */
#include "cpu_backend.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../../util/fail.h"
#include "cpu_internal.h"

/* A caller thread runs work-groups on its own stack only if the stack is at
 * least this big: a group's shared memory plus the per-work-item arrays of
 * a barrier kernel, with margin. glibc's default (8 MiB) qualifies. */
#define CPU_MIN_CALLER_STACK_BYTES ((size_t)2 * KILN_CPU_MAX_FRAME_BYTES)

/* The core refuses kernels whose frame exceeds KILN_CPU_MAX_FRAME_BYTES;
 * every thread that runs groups must hold such a frame with room to spare. */
_Static_assert(CPU_WORKER_STACK_BYTES >= CPU_MIN_CALLER_STACK_BYTES,
               "worker stacks must hold the largest kernel frame twice over");
_Static_assert(CPU_SHARED_MEMORY_BYTES <= KILN_CPU_MAX_FRAME_BYTES,
               "a kernel using all the shared memory reported must be buildable");

/* Upper bound on KILN_CPU_THREADS: far above any machine, it only stops a
 * typo from starting millions of threads. */
#define CPU_MAX_THREADS 4096u

#define CPU_VENDOR_FALLBACK "unknown"

uint64_t cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cpu_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0)
        return 0;
    return (uint64_t)pages * (uint64_t)page_size;
}

/* KILN_CPU_THREADS if it is a positive number, else every online core. A
 * minus sign is refused before strtoul, which would turn "-3" into a huge
 * count. */
static unsigned cpu_thread_count(void)
{
    const char *env = getenv("KILN_CPU_THREADS");
    if (env && *env && !strchr(env, '-')) {
        char *end;
        unsigned long n = strtoul(env, &end, 10);
        if (*end == '\0' && n >= 1)
            return n < CPU_MAX_THREADS ? (unsigned)n : CPU_MAX_THREADS;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores >= 1 ? (unsigned)(cores < CPU_MAX_THREADS ? cores : CPU_MAX_THREADS) : 1u;
}

/* The value of the first "key : value" line of /proc/cpuinfo, trimmed. */
static int cpu_cpuinfo_field(const char *key, char *out, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return 0;
    char line[512];
    size_t key_length = strlen(key);
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, key_length) != 0)
            continue;
        char *colon = strchr(line + key_length, ':');
        if (!colon)
            continue;
        char *value = colon + 1;
        while (isspace((unsigned char)*value))
            value++;
        size_t n = strcspn(value, "\r\n");
        while (n > 0 && isspace((unsigned char)value[n - 1]))
            n--;
        if (n == 0)
            continue;
        snprintf(out, size, "%.*s", (int)n, value);
        found = 1;
    }
    (void)fclose(f); /* read-only stream: nothing to lose on close */
    return found;
}

static void cpu_describe(kiln_device_info *info, unsigned threads)
{
    struct utsname host;
    int have_host = uname(&host) == 0;
    memset(info, 0, sizeof *info);
    if (!cpu_cpuinfo_field("model name", info->name, sizeof info->name))
        snprintf(info->name, sizeof info->name, "%s CPU", have_host ? host.machine : "host");
    if (!cpu_cpuinfo_field("vendor_id", info->vendor, sizeof info->vendor) &&
        !cpu_cpuinfo_field("CPU implementer", info->vendor, sizeof info->vendor))
        snprintf(info->vendor, sizeof info->vendor, "%s", CPU_VENDOR_FALLBACK);
    /* The kernel release stands in for a driver: it is what runs the code. */
    snprintf(info->driver_version, sizeof info->driver_version, "%.*s",
             (int)sizeof info->driver_version - 1, have_host ? host.release : CPU_VENDOR_FALLBACK);
    snprintf(info->architecture, sizeof info->architecture, "%.*s",
             (int)sizeof info->architecture - 1, have_host ? host.machine : CPU_VENDOR_FALLBACK);
    info->backend = KILN_BACKEND_CPU;
    info->backend_index = 0;
    info->kind = KILN_DEVICE_KIND_CPU;
    info->memory_bytes = cpu_physical_memory();
    info->compute_units = threads;
    info->max_work_group_size = CPU_MAX_WORK_GROUP_SIZE;
    info->shared_memory_bytes = CPU_SHARED_MEMORY_BYTES;
    /* Work-items of a group run one after another: no lanes to shuffle. */
    info->subgroup_size = 1;
    info->capabilities = KILN_CAP_DOUBLE | KILN_CAP_FLOAT_ATOMICS | KILN_CAP_INT64_ATOMICS;
    info->health = KILN_HEALTH_HEALTHY;
}

static kiln_status cpu_open(port_backend **out, char *reason, size_t reason_size)
{
    port_backend *b = calloc(1, sizeof *b);
    if (!b) {
        if (reason && reason_size)
            snprintf(reason, reason_size, "no host memory for the CPU backend");
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for the backend");
    }
    pthread_mutex_init(&b->lock, NULL);
    *out = b;
    return KILN_OK;
}

static void cpu_device_free(port_device *dev)
{
    cpu_pool_destroy(dev->pool);
    free(dev);
}

static void cpu_close(port_backend *b)
{
    if (!b)
        return;
    /* Devices left open are the caller's leak; still free them. */
    if (b->device)
        cpu_device_free(b->device);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static uint32_t cpu_device_count(port_backend *b)
{
    return 1;
}

static kiln_status cpu_device_create(port_backend *b, port_device **out)
{
    port_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for the device");
    unsigned threads = cpu_thread_count();
    kiln_status st = cpu_pool_create(threads, CPU_WORKER_STACK_BYTES,
                                     CPU_MIN_CALLER_STACK_BYTES, &dev->pool);
    if (st != KILN_OK) {
        free(dev);
        return st;
    }
    dev->backend = b;
    atomic_init(&dev->used_bytes, 0);
    cpu_describe(&dev->info, threads);
    *out = dev;
    return KILN_OK;
}

static kiln_status cpu_device_open(port_backend *b, uint32_t index, port_device **out)
{
    if (index != 0)
        return util_fail(KILN_ERR_INVALID_DEVICE, "cpu: device %u does not exist (one device)",
                         index);
    kiln_status st = KILN_OK;
    pthread_mutex_lock(&b->lock);
    if (!b->device)
        st = cpu_device_create(b, &b->device);
    if (st == KILN_OK) {
        b->device->refs++;
        *out = b->device;
    }
    pthread_mutex_unlock(&b->lock);
    return st;
}

static void cpu_device_close(port_device *dev)
{
    if (!dev)
        return;
    port_backend *b = dev->backend;
    pthread_mutex_lock(&b->lock);
    int last = --dev->refs == 0;
    if (last)
        b->device = NULL;
    pthread_mutex_unlock(&b->lock);
    if (last)
        cpu_device_free(dev);
}

static kiln_status cpu_device_info(port_device *dev, kiln_device_info *out)
{
    *out = dev->info;
    return KILN_OK;
}

const port_backend_ops cpu_backend_ops = {
    .name = "cpu",
    .backend = KILN_BACKEND_CPU,
    .dialect = PORT_DIALECT_C,
    .open = cpu_open,
    .close = cpu_close,
    .device_count = cpu_device_count,
    .device_open = cpu_device_open,
    .device_close = cpu_device_close,
    .device_info = cpu_device_info,
    .compile = &cpu_compile_ops,
    .memory = &cpu_memory_ops,
    .execution = &cpu_execution_ops,
};
