/* Host allocation failure for the tests: this file defines malloc, calloc,
 * realloc, aligned_alloc and free in the test executable, where they take
 * precedence over libc's for kiln_static linked into it. Each forwards to
 * glibc's allocator under its internal name (__libc_malloc, ...) unless a
 * test armed a failure: alloc_fail_arm(k) makes the k-th counted allocation
 * from then on fail with ENOMEM. While tracking is on, the blocks allocated
 * and not yet freed are counted, so a test can tell that a failed call
 * left nothing behind. Include it in a test file only, one per executable.
 *
 * Defined before the include, these choose what is counted:
 *   ALLOC_INTERPOSE_EXECUTABLE_ONLY  only calls from the executable's own
 *       code (kiln and the test, never libc, the loader or a driver's
 *       shared libraries) fail and are tracked, so dlopen and
 *       pthread_create keep their internal allocations;
 *   ALLOC_INTERPOSE_PER_THREAD  the countdown is the calling thread's own:
 *       other threads' allocations neither fail nor count;
 *   ALLOC_TRACK_SLOTS  the tracking table's size (a power of two).
 *
 * Not with a sanitizer, which owns malloc, nor on a C library other than
 * glibc: ALLOC_INTERPOSE_ACTIVE is 0 there, nothing is defined but
 * ALLOC_INTERPOSE_SKIPPED_MAIN, and the tests skip. */
#ifndef KILN_TEST_ALLOC_INTERPOSE_H
#define KILN_TEST_ALLOC_INTERPOSE_H

#include <stdio.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ALLOC_INTERPOSE_ACTIVE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define ALLOC_INTERPOSE_ACTIVE 0
#endif
#endif
#if !defined(ALLOC_INTERPOSE_ACTIVE) && defined(__GLIBC__)
#define ALLOC_INTERPOSE_ACTIVE 1
#endif
#ifndef ALLOC_INTERPOSE_ACTIVE
#define ALLOC_INTERPOSE_ACTIVE 0
#endif

/* The main of a test file that cannot run without the interposer. */
#define ALLOC_INTERPOSE_SKIPPED_MAIN                                                      \
    int main(void)                                                                        \
    {                                                                                     \
        printf("# skipped: failure injection needs glibc's malloc, not a sanitizer's\n"); \
        return 77;                                                                        \
    }

#if ALLOC_INTERPOSE_ACTIVE

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* glibc's allocator under its internal names. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *p);

/* The bounds of the executable's code (GNU ld). */
extern const char __executable_start[];
extern const char etext[];

static inline int alloc_from_executable(const void *return_address)
{
    const char *p = return_address;
    return p >= __executable_start && p < etext;
}

#ifdef ALLOC_INTERPOSE_EXECUTABLE_ONLY
#define ALLOC_COUNTED(caller) alloc_from_executable(caller)
#else
#define ALLOC_COUNTED(caller) ((void)(caller), 1)
#endif

#ifdef ALLOC_INTERPOSE_PER_THREAD
#define ALLOC_COUNTDOWN_STORAGE static _Thread_local
#else
#define ALLOC_COUNTDOWN_STORAGE static
#endif

/* Counts down: the counted allocation that takes it from 1 to 0 fails,
 * later ones pass. */
ALLOC_COUNTDOWN_STORAGE atomic_long alloc_countdown;
/* Allocation failures injected so far (by every thread). */
static atomic_int alloc_injected;

/* Arms the failure of the k-th counted allocation from now (k >= 1). */
static inline void alloc_fail_arm(long k)
{
    atomic_store(&alloc_countdown, k);
}

/* Disarms; returns whether the armed failure happened. */
static inline int alloc_fail_disarm(void)
{
    int happened = atomic_exchange(&alloc_countdown, 0) <= 0;
    return happened;
}

/* 1 when this allocation must fail. */
static inline int alloc_fail_take(const void *caller)
{
    if (atomic_load(&alloc_countdown) <= 0 || !ALLOC_COUNTED(caller))
        return 0;
    if (atomic_fetch_sub(&alloc_countdown, 1) != 1)
        return 0;
    atomic_fetch_add(&alloc_injected, 1);
    errno = ENOMEM;
    return 1;
}

/* Blocks allocated while tracking is on and not yet freed: open
 * addressing, a freed slot keeps a tombstone. */
#ifndef ALLOC_TRACK_SLOTS
#define ALLOC_TRACK_SLOTS 4096u
#endif
#define ALLOC_TRACK_FREED ((void *)1)

static void *alloc_tracked[ALLOC_TRACK_SLOTS];
static size_t alloc_tracked_live;
static int alloc_tracked_overflow;
static atomic_int alloc_tracking;
static pthread_mutex_t alloc_track_lock = PTHREAD_MUTEX_INITIALIZER;

static inline size_t alloc_track_slot(const void *p)
{
    uintptr_t h = (uintptr_t)p;
    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 20) & (ALLOC_TRACK_SLOTS - 1);
}

static inline void *alloc_track_add(void *p, const void *caller)
{
    if (!p || !atomic_load(&alloc_tracking) || !ALLOC_COUNTED(caller))
        return p;
    pthread_mutex_lock(&alloc_track_lock);
    size_t i = alloc_track_slot(p), n = 0;
    for (; n < ALLOC_TRACK_SLOTS; n++, i = (i + 1) & (ALLOC_TRACK_SLOTS - 1))
        if (!alloc_tracked[i] || alloc_tracked[i] == ALLOC_TRACK_FREED) {
            alloc_tracked[i] = p;
            alloc_tracked_live++;
            break;
        }
    if (n == ALLOC_TRACK_SLOTS)
        alloc_tracked_overflow = 1;
    pthread_mutex_unlock(&alloc_track_lock);
    return p;
}

static inline void alloc_track_remove(void *p)
{
    if (!p || !atomic_load(&alloc_tracking))
        return;
    pthread_mutex_lock(&alloc_track_lock);
    for (size_t i = alloc_track_slot(p), n = 0; n < ALLOC_TRACK_SLOTS && alloc_tracked[i];
         n++, i = (i + 1) & (ALLOC_TRACK_SLOTS - 1))
        if (alloc_tracked[i] == p) {
            alloc_tracked[i] = ALLOC_TRACK_FREED;
            alloc_tracked_live--;
            break;
        }
    pthread_mutex_unlock(&alloc_track_lock);
}

/* Starts (or stops) tracking afresh. */
static inline void alloc_track(int on)
{
    pthread_mutex_lock(&alloc_track_lock);
    memset(alloc_tracked, 0, sizeof alloc_tracked);
    alloc_tracked_live = 0;
    alloc_tracked_overflow = 0;
    atomic_store(&alloc_tracking, on);
    pthread_mutex_unlock(&alloc_track_lock);
}

/* Tracked blocks not yet freed. */
static inline size_t alloc_track_live(void)
{
    pthread_mutex_lock(&alloc_track_lock);
    size_t live = alloc_tracked_live;
    pthread_mutex_unlock(&alloc_track_lock);
    return live;
}

/* Whether a block could not be tracked (the table was full). */
static inline int alloc_track_overflowed(void)
{
    pthread_mutex_lock(&alloc_track_lock);
    int overflow = alloc_tracked_overflow;
    pthread_mutex_unlock(&alloc_track_lock);
    return overflow;
}

/* Disarms, stops tracking and forgets the failures injected. */
static inline void alloc_interpose_reset(void)
{
    alloc_fail_disarm();
    alloc_track(0);
    atomic_store(&alloc_injected, 0);
}

void *malloc(size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (alloc_fail_take(caller))
        return NULL;
    return alloc_track_add(__libc_malloc(size), caller);
}

void *calloc(size_t count, size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (alloc_fail_take(caller))
        return NULL;
    return alloc_track_add(__libc_calloc(count, size), caller);
}

void *realloc(void *p, size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (alloc_fail_take(caller))
        return NULL;
    void *q = __libc_realloc(p, size);
    if (q)
        alloc_track_remove(p);
    return alloc_track_add(q, caller);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (alloc_fail_take(caller))
        return NULL;
    return alloc_track_add(__libc_memalign(alignment, size), caller);
}

void free(void *p)
{
    alloc_track_remove(p);
    __libc_free(p);
}

/* Whether this executable's malloc is the one called: a tool that replaces
 * malloc everywhere (valgrind) bypasses it, and then nothing can fail. */
static inline int alloc_interpose_works(void)
{
    void *(*volatile allocate)(size_t) = malloc;
    alloc_interpose_reset();
    alloc_fail_arm(1);
    void *p = allocate(16);
    alloc_interpose_reset();
    free(p);
    return p == NULL;
}

#endif /* ALLOC_INTERPOSE_ACTIVE */
#endif
