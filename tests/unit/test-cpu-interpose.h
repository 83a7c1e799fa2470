/* Failure injection for the CPU adapter's tests (test-cpu-faults.c,
 * test-cpu-system.c): this file defines malloc, calloc, realloc,
 * aligned_alloc, free and a few other libc functions in the test
 * executable, where they take precedence over libc's for kiln_static linked
 * into it. Each forwards to libc unless a test armed a failure, and only
 * calls made from the executable's own code (kiln and the test, never libc
 * or the loader) can fail, so dlopen and pthread_create keep their internal
 * allocations. Include it in a test file only, one per executable. Not with
 * a sanitizer, which owns malloc, nor on a C library other than glibc:
 * CPU_INTERPOSE_ACTIVE is 0 there and the tests skip. */
#ifndef KILN_TEST_CPU_INTERPOSE_H
#define KILN_TEST_CPU_INTERPOSE_H

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CPU_INTERPOSE_ACTIVE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define CPU_INTERPOSE_ACTIVE 0
#endif
#endif
#if !defined(CPU_INTERPOSE_ACTIVE) && defined(__GLIBC__)
#define CPU_INTERPOSE_ACTIVE 1
#endif
#ifndef CPU_INTERPOSE_ACTIVE
#define CPU_INTERPOSE_ACTIVE 0
#endif

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
    atomic_int alloc_countdown;   /* malloc, calloc, realloc, aligned_alloc */
    atomic_int thread_countdown;  /* pthread_create */
    atomic_int injected;          /* failures injected so far */
    atomic_int attr_init_fails;   /* pthread_attr_init */
    atomic_int stack_query_fails; /* pthread_attr_getstack */
    atomic_int memfd_fails;       /* memfd_create, while set */
    atomic_int write_eintr;       /* writes that return EINTR first */
    atomic_int read_short;        /* reads of regular files: EINTR, then 0 */
    atomic_int phys_pages_unknown; /* sysconf(_SC_PHYS_PAGES) */
    const char *cpuinfo;          /* replaces /proc/cpuinfo; "" = cannot open */
} cpu_faults;

static cpu_faults cpu_fault;

/* The executable's code: kiln_static and the test itself. */
extern const char __executable_start[];
extern const char etext[];

static inline int cpu_fault_from_executable(const void *return_address)
{
    const char *p = return_address;
    return p >= __executable_start && p < etext;
}

/* Takes one from *countdown if it is armed; 1 when this call must fail. */
static inline int cpu_fault_take(atomic_int *countdown, const void *caller)
{
    if (atomic_load(countdown) <= 0 || !cpu_fault_from_executable(caller))
        return 0;
    if (atomic_fetch_sub(countdown, 1) != 1)
        return 0;
    atomic_fetch_add(&cpu_fault.injected, 1);
    return 1;
}

/* A one-shot flag, taken by a call from the executable. */
static inline int cpu_fault_flag(atomic_int *flag, const void *caller)
{
    if (!cpu_fault_from_executable(caller) || atomic_exchange(flag, 0) == 0)
        return 0;
    atomic_fetch_add(&cpu_fault.injected, 1);
    return 1;
}

static inline void cpu_fault_reset(void)
{
    memset(&cpu_fault, 0, sizeof cpu_fault);
}

/* Blocks the executable allocated while tracking is on and has not freed:
 * a call that failed must leave their number as it found it. Open
 * addressing over CPU_TRACK_SLOTS (a power of two) slots. */
#define CPU_TRACK_SLOTS 4096u
#define CPU_TRACK_FREED ((void *)1)

static void *cpu_tracked[CPU_TRACK_SLOTS];
static size_t cpu_tracked_live;
static int cpu_tracking;
static pthread_mutex_t cpu_track_lock = PTHREAD_MUTEX_INITIALIZER;

static inline size_t cpu_track_slot(const void *p)
{
    return ((uintptr_t)p >> 4) * 2654435761u & (CPU_TRACK_SLOTS - 1);
}

static inline void *cpu_track_add(void *p, const void *caller)
{
    if (!p || !cpu_tracking || !cpu_fault_from_executable(caller))
        return p;
    pthread_mutex_lock(&cpu_track_lock);
    for (size_t i = cpu_track_slot(p), n = 0; n < CPU_TRACK_SLOTS;
         n++, i = (i + 1) & (CPU_TRACK_SLOTS - 1))
        if (!cpu_tracked[i] || cpu_tracked[i] == CPU_TRACK_FREED) {
            cpu_tracked[i] = p;
            cpu_tracked_live++;
            break;
        }
    pthread_mutex_unlock(&cpu_track_lock);
    return p;
}

static inline void cpu_track_remove(void *p)
{
    if (!p || !cpu_tracking)
        return;
    pthread_mutex_lock(&cpu_track_lock);
    for (size_t i = cpu_track_slot(p), n = 0; n < CPU_TRACK_SLOTS && cpu_tracked[i];
         n++, i = (i + 1) & (CPU_TRACK_SLOTS - 1))
        if (cpu_tracked[i] == p) {
            cpu_tracked[i] = CPU_TRACK_FREED;
            cpu_tracked_live--;
            break;
        }
    pthread_mutex_unlock(&cpu_track_lock);
}

/* Starts (or stops) tracking afresh. */
static inline void cpu_track(int on)
{
    pthread_mutex_lock(&cpu_track_lock);
    memset(cpu_tracked, 0, sizeof cpu_tracked);
    cpu_tracked_live = 0;
    cpu_tracking = on;
    pthread_mutex_unlock(&cpu_track_lock);
}

static inline size_t cpu_track_live(void)
{
    pthread_mutex_lock(&cpu_track_lock);
    size_t live = cpu_tracked_live;
    pthread_mutex_unlock(&cpu_track_lock);
    return live;
}

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *p);

void *malloc(size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (cpu_fault_take(&cpu_fault.alloc_countdown, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    return cpu_track_add(__libc_malloc(size), caller);
}

void *calloc(size_t count, size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (cpu_fault_take(&cpu_fault.alloc_countdown, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    return cpu_track_add(__libc_calloc(count, size), caller);
}

void *realloc(void *p, size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (cpu_fault_take(&cpu_fault.alloc_countdown, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = __libc_realloc(p, size);
    if (q)
        cpu_track_remove(p);
    return cpu_track_add(q, caller);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (cpu_fault_take(&cpu_fault.alloc_countdown, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    return cpu_track_add(__libc_memalign(alignment, size), caller);
}

void free(void *p)
{
    cpu_track_remove(p);
    __libc_free(p);
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
        cpu_fault_from_executable(__builtin_return_address(0))) {
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
        cpu_fault_from_executable(__builtin_return_address(0)) && fstat(fd, &st) == 0 &&
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
        cpu_fault_from_executable(__builtin_return_address(0))) {
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

/* Whether this executable's malloc is the one called: a tool that replaces
 * malloc everywhere (valgrind) bypasses it, and then nothing can fail. */
static inline int cpu_interpose_works(void)
{
    void *(*volatile allocate)(size_t) = malloc;
    cpu_fault_reset();
    atomic_store(&cpu_fault.alloc_countdown, 1);
    void *p = allocate(16);
    cpu_fault_reset();
    free(p);
    return p == NULL;
}

#endif /* CPU_INTERPOSE_ACTIVE */
#endif
