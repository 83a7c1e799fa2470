#include "cpu_pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "../../util/fail.h"

/* Chunks per thread a job is cut into: enough that a thread finishing early
 * finds more work, few enough that the shared counter is rarely touched. */
#define POOL_CHUNKS_PER_THREAD 8u

/* How long a worker that finished a job watches for the next one before it
 * sleeps. Waking a sleeping thread costs from microseconds to milliseconds
 * (an idle virtual CPU); launches often come back to back, and 50 us of
 * spinning per launch is a small price next to that. */
#define POOL_SPIN_NS 50000u

/* One range being run. It lives on the caller's stack; the caller does not
 * return before every worker that joined has left (pool->active == 0). */
typedef struct pool_job {
    cpu_pool_range_fn fn;
    void *ctx;
    size_t count;
    size_t chunk;
    _Atomic size_t next;      /* first index not yet handed out */
    _Atomic size_t completed; /* indices finished */
} pool_job;

struct cpu_pool {
    unsigned threads;     /* runners of a job at most, caller included */
    unsigned worker_count;
    size_t min_caller_stack;
    pthread_t *workers;
    pthread_mutex_t run_lock; /* held by the caller whose job uses the workers */
    pthread_mutex_t lock;     /* guards the fields below */
    pthread_cond_t work_ready;
    pthread_cond_t work_done;
    pool_job *job;        /* the job workers may join; NULL when none */
    /* Bumped per job so a worker joins each job once; atomic so that a
     * spinning worker can watch it without the lock. */
    _Atomic uint64_t generation;
    unsigned active;      /* workers inside job */
    int shutting_down;
};

static void pool_job_drain(pool_job *job)
{
    for (;;) {
        size_t begin = atomic_fetch_add_explicit(&job->next, job->chunk, memory_order_relaxed);
        if (begin >= job->count)
            return;
        size_t end = begin + job->chunk < job->count ? begin + job->chunk : job->count;
        job->fn(job->ctx, begin, end);
        atomic_fetch_add_explicit(&job->completed, end - begin, memory_order_release);
    }
}

static uint64_t pool_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void pool_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Watches for a job after seen for up to POOL_SPIN_NS, without the lock. */
static void pool_spin_for_next(cpu_pool *pool, uint64_t seen)
{
    uint64_t deadline = pool_now_ns() + POOL_SPIN_NS;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&pool->generation, memory_order_relaxed) != seen)
            return;
        pool_cpu_relax();
        /* Reading the clock costs more than a pause: look every 64th turn. */
        if (i % 64 == 0 && pool_now_ns() > deadline)
            return;
    }
}

static void *pool_worker_main(void *arg)
{
    cpu_pool *pool = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->shutting_down && (!pool->job || pool->generation == seen))
            pthread_cond_wait(&pool->work_ready, &pool->lock);
        if (pool->shutting_down)
            break;
        seen = pool->generation;
        pool_job *job = pool->job;
        pool->active++;
        pthread_mutex_unlock(&pool->lock);

        pool_job_drain(job);

        pthread_mutex_lock(&pool->lock);
        pool->active--;
        pthread_cond_broadcast(&pool->work_done);
        pthread_mutex_unlock(&pool->lock);
        pool_spin_for_next(pool, seen);
        pthread_mutex_lock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Whether the calling thread's stack can hold the work's frames. Asked once
 * per thread: glibc reports the main thread's stack from RLIMIT_STACK. */
static int pool_caller_stack_fits(const cpu_pool *pool)
{
    static _Thread_local size_t caller_stack_bytes; /* 0 = not asked yet */
    if (caller_stack_bytes == 0) {
        pthread_attr_t attr;
        void *base;
        size_t size = 1;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            if (pthread_attr_getstack(&attr, &base, &size) != 0 || size == 0)
                size = 1;
            pthread_attr_destroy(&attr);
        }
        caller_stack_bytes = size;
    }
    return caller_stack_bytes >= pool->min_caller_stack;
}

static void pool_stop_workers(cpu_pool *pool, unsigned started)
{
    pthread_mutex_lock(&pool->lock);
    pool->shutting_down = 1;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < started; i++)
        pthread_join(pool->workers[i], NULL);
}

static kiln_status pool_start_workers(cpu_pool *pool, size_t stack_bytes)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: cannot set up worker threads");
    pthread_attr_setstacksize(&attr, stack_bytes);
    /* Workers take no signals: those belong to the application's threads. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    unsigned started = 0;
    while (started < pool->worker_count &&
           pthread_create(&pool->workers[started], &attr, pool_worker_main, pool) == 0)
        started++;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    pthread_attr_destroy(&attr);
    if (started < pool->worker_count) {
        pool_stop_workers(pool, started);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                         "cpu: started only %u of %u worker threads", started,
                         pool->worker_count);
    }
    return KILN_OK;
}

kiln_status cpu_pool_create(unsigned threads, size_t stack_bytes, size_t min_caller_stack,
                            cpu_pool **out)
{
    if (threads == 0)
        return util_fail(KILN_ERR_INVALID_ARG, "cpu: a pool needs at least one thread");
    cpu_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for the thread pool");
    pool->threads = threads;
    /* With one thread the caller runs everything; one standby worker remains
     * for callers whose stack is too small to run kernels on. */
    pool->worker_count = threads > 1 ? threads - 1 : 1;
    pool->min_caller_stack = min_caller_stack;
    atomic_init(&pool->generation, 0);
    pool->workers = calloc(pool->worker_count, sizeof *pool->workers);
    if (!pool->workers) {
        free(pool);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for the thread pool");
    }
    pthread_mutex_init(&pool->run_lock, NULL);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->work_done, NULL);
    kiln_status st = pool_start_workers(pool, stack_bytes);
    if (st != KILN_OK) {
        cpu_pool_destroy(pool);
        return st;
    }
    *out = pool;
    return KILN_OK;
}

void cpu_pool_destroy(cpu_pool *pool)
{
    if (!pool)
        return;
    if (!pool->shutting_down)
        pool_stop_workers(pool, pool->worker_count);
    pthread_cond_destroy(&pool->work_done);
    pthread_cond_destroy(&pool->work_ready);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->run_lock);
    free(pool->workers);
    free(pool);
}

/* Publishes job to the workers, helps if the caller may, and returns once
 * every index is done and no worker still reads job. */
static void pool_run_shared(cpu_pool *pool, pool_job *job, int caller_helps)
{
    unsigned runners = pool->worker_count + (caller_helps ? 1u : 0u);
    size_t chunk = job->count / ((size_t)runners * POOL_CHUNKS_PER_THREAD);
    job->chunk = chunk ? chunk : 1;

    pthread_mutex_lock(&pool->lock);
    pool->job = job;
    pool->generation++;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);

    if (caller_helps)
        pool_job_drain(job);

    pthread_mutex_lock(&pool->lock);
    while (pool->active > 0 ||
           atomic_load_explicit(&job->completed, memory_order_acquire) < job->count)
        pthread_cond_wait(&pool->work_done, &pool->lock);
    pool->job = NULL;
    pthread_mutex_unlock(&pool->lock);
}

void cpu_pool_run(cpu_pool *pool, size_t count, cpu_pool_range_fn fn, void *ctx)
{
    if (count == 0)
        return;
    int caller_fits = pool_caller_stack_fits(pool);
    /* A single index or a single-thread pool gains nothing from waking
     * workers, whose wake-up costs more than an empty kernel. */
    if (caller_fits && (count == 1 || pool->threads == 1)) {
        fn(ctx, 0, count);
        return;
    }
    if (pthread_mutex_trylock(&pool->run_lock) != 0) {
        if (caller_fits) {
            /* Another job holds the workers (maybe a long one): never wait
             * on it, run this one alone. */
            fn(ctx, 0, count);
            return;
        }
        pthread_mutex_lock(&pool->run_lock);
    }
    pool_job job = {.fn = fn, .ctx = ctx, .count = count};
    atomic_init(&job.next, 0);
    atomic_init(&job.completed, 0);
    pool_run_shared(pool, &job, caller_fits && pool->threads > 1);
    pthread_mutex_unlock(&pool->run_lock);
}
