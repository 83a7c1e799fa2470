/* Failure injection for the CPU adapter's tests (test-cpu-faults.c,
 * test-cpu-system.c): the allocator of test-alloc-interpose.h and a few
 * other libc functions defined in the test executable, where they take
 * precedence over libc's for kiln_static linked into it. Each forwards to
 * libc unless a test armed a failure, and only calls made from the
 * executable's own code (kiln and the test, never libc or the loader) can
 * fail, so dlopen and pthread_create keep their internal allocations.
 * Include it in a test file only, one per executable. Not with a
 * sanitizer, which owns malloc, nor on a C library other than glibc:
 * CPU_INTERPOSE_ACTIVE is 0 there and the tests skip. */
#ifndef KILN_TEST_CPU_INTERPOSE_H
#define KILN_TEST_CPU_INTERPOSE_H

/* Allocations: only the executable's own calls fail and are tracked. */
#define ALLOC_INTERPOSE_EXECUTABLE_ONLY
#include "test-alloc-interpose.h"

#define CPU_INTERPOSE_ACTIVE ALLOC_INTERPOSE_ACTIVE

#if CPU_INTERPOSE_ACTIVE

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the armed faults are. Counters count down: the call that takes one
 * from 1 to 0 fails, later calls pass. */
typedef struct cpu_faults {
    atomic_int thread_countdown;  /* pthread_create */
    atomic_int injected;          /* failures injected so far, allocations aside */
    atomic_int attr_init_fails;   /* pthread_attr_init */
    atomic_int stack_query_fails; /* pthread_attr_getstack */
    atomic_int memfd_fails;       /* memfd_create, while set */
    atomic_int write_eintr;       /* writes that return EINTR first */
    atomic_int read_short;        /* reads of regular files: EINTR, then 0 */
    atomic_int phys_pages_unknown; /* sysconf(_SC_PHYS_PAGES) */
    const char *cpuinfo;          /* replaces /proc/cpuinfo; "" = cannot open */
} cpu_faults;

static cpu_faults cpu_fault;

/* Takes one from *countdown if it is armed; 1 when this call must fail. */
static inline int cpu_fault_take(atomic_int *countdown, const void *caller)
{
    if (atomic_load(countdown) <= 0 || !alloc_from_executable(caller))
        return 0;
    if (atomic_fetch_sub(countdown, 1) != 1)
        return 0;
    atomic_fetch_add(&cpu_fault.injected, 1);
    return 1;
}

/* A one-shot flag, taken by a call from the executable. */
static inline int cpu_fault_flag(atomic_int *flag, const void *caller)
{
    if (!alloc_from_executable(caller) || atomic_exchange(flag, 0) == 0)
        return 0;
    atomic_fetch_add(&cpu_fault.injected, 1);
    return 1;
}

/* Disarms every fault, allocations included. */
static inline void cpu_fault_reset(void)
{
    memset(&cpu_fault, 0, sizeof cpu_fault);
    alloc_interpose_reset();
}

/* Failures injected so far, allocations included. */
static inline int cpu_fault_injected(void)
{
    return atomic_load(&cpu_fault.injected) + atomic_load(&alloc_injected);
}

/* libc's definition of name, looked up once. */
#define CPU_FAULT_NEXT(name)                                                              \
    static __typeof__(&name) next_##name;                                                 \
    if (!next_##name)                                                                     \
        *(void **)&next_##name = dlsym(RTLD_NEXT, #name);

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                   void *arg)
{
    CPU_FAULT_NEXT(pthread_create)
    if (cpu_fault_take(&cpu_fault.thread_countdown, __builtin_return_address(0)))
        return EAGAIN;
    return next_pthread_create(thread, attr, start, arg);
}

int pthread_attr_init(pthread_attr_t *attr)
{
    CPU_FAULT_NEXT(pthread_attr_init)
    if (cpu_fault_flag(&cpu_fault.attr_init_fails, __builtin_return_address(0)))
        return ENOMEM;
    return next_pthread_attr_init(attr);
}

int pthread_attr_getstack(const pthread_attr_t *attr, void **base, size_t *size)
{
    CPU_FAULT_NEXT(pthread_attr_getstack)
    if (cpu_fault_flag(&cpu_fault.stack_query_fails, __builtin_return_address(0)))
        return EINVAL;
    return next_pthread_attr_getstack(attr, base, size);
}

int memfd_create(const char *name, unsigned flags)
{
    CPU_FAULT_NEXT(memfd_create)
    if (atomic_load(&cpu_fault.memfd_fails) &&
        alloc_from_executable(__builtin_return_address(0))) {
        errno = ENOSYS; /* a standing condition, not counted in injected */
        return -1;
    }
    return next_memfd_create(name, flags);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    CPU_FAULT_NEXT(write)
    if (cpu_fault_flag(&cpu_fault.write_eintr, __builtin_return_address(0))) {
        errno = EINTR;
        return -1;
    }
    return next_write(fd, buf, n);
}

ssize_t read(int fd, void *buf, size_t n)
{
    CPU_FAULT_NEXT(read)
    struct stat st;
    if (atomic_load(&cpu_fault.read_short) > 0 &&
        alloc_from_executable(__builtin_return_address(0)) && fstat(fd, &st) == 0 &&
        S_ISREG(st.st_mode)) {
        /* First an interrupted read, then an end of file that comes early:
         * a file that shrank under the reader. */
        int stage = atomic_fetch_sub(&cpu_fault.read_short, 1);
        atomic_fetch_add(&cpu_fault.injected, 1);
        if (stage == 2) {
            errno = EINTR;
            return -1;
        }
        return 0;
    }
    return next_read(fd, buf, n);
}

FILE *fopen(const char *path, const char *mode)
{
    CPU_FAULT_NEXT(fopen)
    const char *replacement = cpu_fault.cpuinfo;
    if (replacement && strcmp(path, "/proc/cpuinfo") == 0 &&
        alloc_from_executable(__builtin_return_address(0))) {
        if (!*replacement) {
            errno = ENOENT;
            return NULL;
        }
        return next_fopen(replacement, mode);
    }
    return next_fopen(path, mode);
}

long sysconf(int name)
{
    CPU_FAULT_NEXT(sysconf)
    if (name == _SC_PHYS_PAGES && atomic_load(&cpu_fault.phys_pages_unknown))
        return -1;
    return next_sysconf(name);
}

/* The main of a test file that needs these faults: skips where malloc is
 * not this executable's (a tool such as valgrind replaced it). */
#define CPU_INTERPOSE_RUN_GROUP(tests)                                                   \
    (alloc_interpose_works() ? cmocka_run_group_tests(tests, NULL, NULL)                 \
                             : (printf("# skipped: malloc is not this executable's (a tool " \
                                       "replaced it)\n"),                                   \
                                77))

#endif /* CPU_INTERPOSE_ACTIVE */
#endif
