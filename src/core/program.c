/* Building programs: translate, then reuse from memory, load from disk, or
 * compile; see cache.h for the two cache levels. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "../util/log_buffer.h"
#include "device_open.h"
#include "handles.h"
#include "pipeline.h"
#include "session.h"
#include "rebuild.h"

#define PROGRAM_DEFAULT_NAME "<source>"

static void hash_string(crypto_generichash_state *st, const char *s)
{
    /* Length-prefixed so that ("ab","c") and ("a","bc") differ. */
    uint64_t n = s ? strlen(s) : 0;
    crypto_generichash_update(st, (const unsigned char *)&n, sizeof n);
    if (n)
        crypto_generichash_update(st, (const unsigned char *)s, n);
}

/* Key of the memory level: what the user passed, on which device. */
static void program_memory_key(const kiln_device *dev, const char *source, const char *defines,
                               const char *name, unsigned char key[CORE_CACHE_KEY_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, CORE_CACHE_KEY_BYTES);
    /* The hardware, not the view: sessions share compiled modules. */
    crypto_generichash_update(&st, (const unsigned char *)&dev->base, sizeof dev->base);
    hash_string(&st, source);
    hash_string(&st, defines);
    hash_string(&st, name);
    crypto_generichash_final(&st, key, CORE_CACHE_KEY_BYTES);
}

/* Key of the disk level (DESIGN.md section 6). */
static void program_disk_key(const kiln_device *dev, const char *defines, const lang_unit *unit,
                             unsigned char key[CORE_CACHE_KEY_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, CORE_CACHE_KEY_BYTES);
    hash_string(&st, kiln_version());
    hash_string(&st, dev->ops->name);
    hash_string(&st, dev->cache_identity);
    hash_string(&st, defines);
    uint64_t n = lang_unit_source_length(unit);
    crypto_generichash_update(&st, (const unsigned char *)&n, sizeof n);
    crypto_generichash_update(&st, (const unsigned char *)lang_unit_source(unit), n);
    crypto_generichash_final(&st, key, CORE_CACHE_KEY_BYTES);
}

static kiln_status program_translate(kiln_device *dev, const char *source, const char *defines,
                                     const char *name, lang_unit **unit)
{
    lang_request req = { .source = source, .source_length = strlen(source), .source_name = name,
                         .defines = defines, .dialect = dev->ops->dialect, .caps = dev->caps };
    char *diagnostics = NULL;
    kiln_status st = lang_translate(&req, unit, &diagnostics);
    if (st != KILN_OK) {
        if (diagnostics)
            util_fail_text(st, diagnostics);
        else
            util_fail(st, "%s: translation failed", name);
        free(diagnostics);
    }
    return st;
}

/* Loads from the disk cache or compiles (and stores) the translated unit. */
static kiln_status program_compile(kiln_device *dev, core_cache *cache, const char *defines,
                                   const char *name, core_module *m, kiln_build_origin *origin)
{
    unsigned char disk_key[CORE_CACHE_KEY_BYTES];
    const port_compile *compile = dev->ops->compile;
    program_disk_key(dev, defines, m->unit, disk_key);
    void *bytes = NULL;
    size_t size = 0;
    if (cache_disk_read(cache, disk_key, &bytes, &size) == KILN_OK) {
        kiln_status st = compile->module_load(dev->port, bytes, size, &m->module);
        free(bytes);
        if (st == KILN_OK) {
            *origin = KILN_BUILD_DISK_CACHE;
            return KILN_OK;
        }
        m->module = NULL; /* an entry that does not load is rebuilt */
        /* ... unless the device faulted: it takes no work until a probe
         * passes, and a rebuild on it would hide the fault. */
        if (core_is_device_fault(st))
            return core_device_note(dev, st);
    }
    port_compile_input in = { .source = lang_unit_source(m->unit),
                              .source_length = lang_unit_source_length(m->unit),
                              .source_name = name };
    port_log log = { 0 };
    kiln_status st = core_device_note(dev, compile->compile(dev->port, &in, &m->module, &log));
    if (st != KILN_OK) {
        if (log.text)
            util_fail(st, "%s: the %s compiler rejected the translated kernel:\n%.900s", name,
                      dev->ops->name, log.text);
        else if (st == KILN_ERR_COMPILE)
            util_fail(st, "%s: the %s compiler failed without output", name, dev->ops->name);
        util_log_free(&log);
        m->module = NULL;
        return st;
    }
    util_log_free(&log);
    *origin = KILN_BUILD_COMPILED;
    if (compile->module_binary(m->module, &bytes, &size) == KILN_OK) {
        cache_disk_write(cache, disk_key, bytes, size);
        free(bytes);
    }
    return KILN_OK;
}

/* A kernel whose work-group memory exceeds what the device gives a group
 * would fail (or, on the CPU, overflow a stack) at launch: refuse it now. */
static kiln_status program_check_limits(const kiln_device *dev, const lang_unit *unit,
                                        const char *name)
{
    uint32_t n = lang_unit_kernel_count(unit);
    for (uint32_t i = 0; i < n; i++) {
        const lang_kernel *k = lang_unit_kernel(unit, i);
        if (k->shared_bytes > dev->info.shared_memory_bytes)
            return util_fail(KILN_ERR_UNSUPPORTED,
                             "%s: kernel '%s' uses %zu bytes of shared memory; device '%s' gives "
                             "a work-group %llu",
                             name, k->name, k->shared_bytes, dev->info.name,
                             (unsigned long long)dev->info.shared_memory_bytes);
        size_t frame = dev->ops->dialect == PORT_DIALECT_C ? lang_unit_cpu_frame_bytes(unit, i) : 0;
        if (frame > KILN_CPU_MAX_FRAME_BYTES)
            return util_fail(KILN_ERR_UNSUPPORTED,
                             "%s: kernel '%s' needs %zu bytes of work-group memory on the CPU "
                             "(shared arrays plus per-work-item copies of variables live across "
                             "barrier()); the CPU backend's limit is %u",
                             name, k->name, frame, KILN_CPU_MAX_FRAME_BYTES);
    }
    return KILN_OK;
}

static kiln_status program_resolve_functions(kiln_device *dev, core_module *m)
{
    uint32_t n = lang_unit_kernel_count(m->unit);
    m->functions = calloc(n ? n : 1, sizeof *m->functions);
    if (!m->functions)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for %u kernels", n);
    for (uint32_t i = 0; i < n; i++) {
        const lang_kernel *k = lang_unit_kernel(m->unit, i);
        kiln_status st = dev->ops->compile->get_function(m->module, k->entry_symbol, &m->functions[i]);
        /* A device fault is the device's, not a missing entry: noted and
         * returned as it is, like what ran out of host memory. */
        st = core_device_note(dev, st);
        if (st == KILN_ERR_OUT_OF_HOST_MEMORY || core_is_device_fault(st))
            return st; /* the adapter's detail says what happened */
        if (st != KILN_OK)
            return util_fail(KILN_ERR_INTERNAL, "compiled module lacks entry '%s' of kernel '%s'",
                             k->entry_symbol, k->name);
    }
    return KILN_OK;
}

static kiln_status program_build_module(kiln_device *dev, const char *source, const char *defines,
                                        const char *name, const unsigned char *key,
                                        core_module **out, kiln_build_origin *origin)
{
    core_module *m = calloc(1, sizeof *m);
    if (!m)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a module");
    memcpy(m->key, key, CORE_CACHE_KEY_BYTES);
    m->ops = dev->ops;
    m->device = dev->port;
    atomic_init(&m->refs, 1);
    kiln_status st = program_translate(dev, source, defines, name, &m->unit);
    if (st == KILN_OK)
        st = program_check_limits(dev, m->unit, name);
    if (st == KILN_OK)
        st = program_compile(dev, dev->ctx->cache, defines, name, m, origin);
    if (st == KILN_OK)
        st = program_resolve_functions(dev, m);
    if (st != KILN_OK) {
        core_module_release(m);
        return st;
    }
    *out = cache_memory_insert(dev->ctx->cache, m);
    return KILN_OK;
}

KILN_API kiln_status kiln_program_build(kiln_device *dev, const char *source,
                                        const kiln_build_options *opts, kiln_program **out)
{
    CORE_CHECK(dev, CORE_MAGIC_DEVICE, "device");
    CORE_CHECK_OUT(out, "out");
    *out = NULL;
    if (!source)
        return util_fail(KILN_ERR_NULL_HANDLE, "kernel source is NULL");
    if (opts)
        CORE_CHECK_SIZE(opts, "kiln_build_options");
    kiln_status st = core_device_usable(dev);
    if (st != KILN_OK)
        return st;
    const char *defines = opts && opts->defines ? opts->defines : "";
    const char *name = opts && opts->source_name ? opts->source_name : PROGRAM_DEFAULT_NAME;
    core_request req = { .action = CORE_ACTION_PROGRAM_BUILD, .device = dev, .kernel_name = name };
    core_reservation res;
    if ((st = pipeline_authorize(&req)) != KILN_OK)
        return st;
    /* From here every outcome is recorded. */
    if ((st = pipeline_reserve(&req, &res)) != KILN_OK)
        return pipeline_record(&req, st);
    kiln_program *prog = calloc(1, sizeof *prog);
    if (!prog) {
        pipeline_release(&res);
        return pipeline_record(&req, util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                                               "no memory for a program"));
    }
    unsigned char key[CORE_CACHE_KEY_BYTES];
    program_memory_key(dev, source, defines, name, key);
    prog->module = cache_memory_find(dev->ctx->cache, key);
    prog->origin = KILN_BUILD_MEMORY_CACHE;
    if (!prog->module)
        st = program_build_module(dev, source, defines, name, key, &prog->module, &prog->origin);
    if (st == KILN_OK)
        st = rebuild_keep(dev, source, defines, name, &prog->source);
    kiln_status recorded = pipeline_record(&req, st);
    pipeline_release(&res);
    if (recorded != KILN_OK) {
        if (prog->module)
            core_module_release(prog->module); /* not recorded: not handed out */
        rebuild_release(prog->source);
        free(prog);
        return recorded;
    }
    prog->dev = dev;
    prog->magic = CORE_MAGIC_PROGRAM;
    session_object_made(dev);
    util_clear_error();
    *out = prog;
    return KILN_OK;
}

KILN_API void kiln_program_release(kiln_program *prog)
{
    if (!prog || prog->magic != CORE_MAGIC_PROGRAM)
        return;
    core_module_release(prog->module);
    session_object_gone(prog->dev);
    rebuild_release(prog->source);
    prog->magic = CORE_MAGIC_RELEASED;
    free(prog);
}

KILN_API kiln_build_origin kiln_program_origin(const kiln_program *prog)
{
    if (core_check_handle(prog, CORE_MAGIC_PROGRAM, "program") != KILN_OK)
        return KILN_BUILD_COMPILED;
    return prog->origin;
}

KILN_API uint32_t kiln_program_kernel_count(const kiln_program *prog)
{
    if (core_check_handle(prog, CORE_MAGIC_PROGRAM, "program") != KILN_OK)
        return 0;
    return lang_unit_kernel_count(prog->module->unit);
}

KILN_API const char *kiln_program_kernel_name(const kiln_program *prog, uint32_t index)
{
    if (core_check_handle(prog, CORE_MAGIC_PROGRAM, "program") != KILN_OK ||
        index >= lang_unit_kernel_count(prog->module->unit))
        return NULL;
    return lang_unit_kernel(prog->module->unit, index)->name;
}
