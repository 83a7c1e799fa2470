/* Host-side hot paths of kiln, for instruction counting under callgrind.
 *
 *   hot_paths MODE N KERNEL_DIR
 *
 * Sets up a CPU-only context, then repeats one operation N times:
 *   launch     launch of the empty kernel + kiln_queue_finish
 *   cache-hit  kiln_program_build of a source this context already built
 *   arg-check  kiln_launch with a wrong argument type (rejected before running)
 * scripts/perf-check runs it with N = 0 and N = 1000 and divides the
 * difference by 1000, so setup (context, compile) cancels out. The disk
 * cache is off so that both runs do exactly the same setup: a compile. */
#include <kiln/kiln.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest kernel source read; the examples are a few hundred bytes. */
#define MAX_SOURCE_BYTES (64 * 1024)
/* Largest path of a kernel file. */
#define MAX_PATH_BYTES 4096

static int fail(const char *what, kiln_status st)
{
    fprintf(stderr, "hot_paths: %s: %s (%s)\n", what, kiln_status_name(st), kiln_last_error());
    return 1;
}

/* Reads DIR/NAME into a NUL-terminated malloc'd string, or NULL. */
static char *read_kernel(const char *dir, const char *name)
{
    char path[MAX_PATH_BYTES];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "hot_paths: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(MAX_SOURCE_BYTES + 1);
    size_t n = text != NULL ? fread(text, 1, MAX_SOURCE_BYTES, f) : 0;
    fclose(f);
    if (text != NULL)
        text[n] = '\0';
    return text;
}

static int run_launch(kiln_queue *q, kiln_kernel *k, long n)
{
    const kiln_range range = { .dims = 1, .global = { 1, 1, 1 }, .local = { 1, 1, 1 } };
    for (long i = 0; i < n; i++) {
        kiln_status st = kiln_launch(q, k, &range, NULL, 0, NULL);
        if (st != KILN_OK)
            return fail("kiln_launch", st);
        st = kiln_queue_finish(q);
        if (st != KILN_OK)
            return fail("kiln_queue_finish", st);
    }
    return 0;
}

static int run_cache_hit(kiln_device *dev, const char *source, const kiln_build_options *opts,
                         long n)
{
    for (long i = 0; i < n; i++) {
        kiln_program *prog = NULL;
        kiln_status st = kiln_program_build(dev, source, opts, &prog);
        if (st != KILN_OK)
            return fail("kiln_program_build", st);
        kiln_build_origin origin = kiln_program_origin(prog);
        kiln_program_release(prog);
        if (origin != KILN_BUILD_MEMORY_CACHE) {
            fprintf(stderr, "hot_paths: rebuild was not a memory-cache hit (origin %d)\n",
                    (int)origin);
            return 1;
        }
    }
    return 0;
}

/* saxpy(uint n, float a, x, y) given a float where the uint belongs. */
static int run_arg_check(kiln_queue *q, kiln_kernel *k, long n)
{
    const kiln_range range = { .dims = 1, .global = { 1, 1, 1 }, .local = { 1, 1, 1 } };
    const kiln_arg args[] = { KILN_ARG_F32(1.0f), KILN_ARG_F32(2.0f),
                              KILN_ARG_BUFFER(NULL), KILN_ARG_BUFFER(NULL) };
    const uint32_t nargs = sizeof args / sizeof args[0];
    for (long i = 0; i < n; i++) {
        kiln_status st = kiln_launch(q, k, &range, args, nargs, NULL);
        if (st != KILN_ERR_INVALID_ARG) {
            fprintf(stderr, "hot_paths: wrong argument type gave %s, not KILN_ERR_INVALID_ARG\n",
                    kiln_status_name(st));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: hot_paths launch|cache-hit|arg-check N KERNEL_DIR\n");
        return 2;
    }
    const char *mode = argv[1];
    char *end = NULL;
    long n = strtol(argv[2], &end, 10);
    if (*argv[2] == '\0' || *end != '\0' || n < 0) {
        fprintf(stderr, "hot_paths: N must be a count, not '%s'\n", argv[2]);
        return 2;
    }
    const int is_launch = strcmp(mode, "launch") == 0;
    const int is_cache_hit = strcmp(mode, "cache-hit") == 0;
    const int is_arg_check = strcmp(mode, "arg-check") == 0;
    if (!is_launch && !is_cache_hit && !is_arg_check) {
        fprintf(stderr, "hot_paths: unknown mode '%s'\n", mode);
        return 2;
    }
    const char *file = is_arg_check ? "saxpy.kc" : "empty.kc";
    const char *kernel_name = is_arg_check ? "saxpy" : "empty";

    char *source = read_kernel(argv[3], file);
    if (source == NULL)
        return 1;
    kiln_context_options copts = { .size = sizeof copts,
                                   .flags = KILN_CONTEXT_NO_DISK_CACHE,
                                   .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    const kiln_build_options bopts = { .size = sizeof bopts, .source_name = file };
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    kiln_queue *q = NULL;
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    int rc = 1;
    kiln_status st = kiln_context_create(&ctx, &copts);
    if (st != KILN_OK)
        rc = fail("kiln_context_create", st);
    else if ((st = kiln_device_find(ctx, "cpu", &dev)) != KILN_OK)
        rc = fail("kiln_device_find", st);
    else if ((st = kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q)) != KILN_OK)
        rc = fail("kiln_queue_create", st);
    else if ((st = kiln_program_build(dev, source, &bopts, &prog)) != KILN_OK)
        rc = fail("kiln_program_build", st);
    else if ((st = kiln_kernel_get(prog, kernel_name, &k)) != KILN_OK)
        rc = fail("kiln_kernel_get", st);
    else if (is_launch)
        rc = run_launch(q, k, n);
    else if (is_cache_hit)
        rc = run_cache_hit(dev, source, &bopts, n);
    else
        rc = run_arg_check(q, k, n);

    kiln_kernel_release(k);
    kiln_program_release(prog);
    kiln_queue_destroy(q);
    kiln_context_destroy(ctx);
    free(source);
    return rc;
}
