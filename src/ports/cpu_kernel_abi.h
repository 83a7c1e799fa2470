/* The contract between C emitted by src/lang for the CPU backend and the
 * CPU adapter that runs it. The emitter writes KILN_CPU_ABI_TEXT at the top
 * of every translated unit, so the struct is declared from one place.
 *
 * For each kernel NAME the unit exports
 *     void kiln_entry_NAME(const kiln_cpu_group *group, void *const *args);
 * which runs every work-item of one work-group. args[i] points to the i-th
 * argument's value: for a buffer parameter, to a void * holding the data
 * pointer; for a by-value parameter, to the value's bytes.
 * Shared memory lives on the stack of the entry function, so the threads
 * that run groups need stacks large enough for it (the adapter's concern). */
#ifndef KILN_CPU_KERNEL_ABI_H
#define KILN_CPU_KERNEL_ABI_H

/* No commas in the declaration: it is stringized whole. */
#define KILN_CPU_ABI_DECL                                                      \
    typedef struct kiln_cpu_group {                                           \
        unsigned int dims;                                                    \
        unsigned int group_id[3];                                             \
        unsigned int num_groups[3];                                           \
        unsigned int local_size[3];                                           \
        unsigned int global_size[3];                                          \
    } kiln_cpu_group;                                                         \
    typedef void (*kiln_cpu_entry_fn)(const kiln_cpu_group *group_info, void *const *args);

KILN_CPU_ABI_DECL

#define KILN_CPU__STR(x) #x
#define KILN_CPU__XSTR(x) KILN_CPU__STR(x)
#define KILN_CPU_ABI_TEXT KILN_CPU__XSTR(KILN_CPU_ABI_DECL) "\n"

/* The largest work-group the CPU backend runs. Kernels with barrier() or
 * shared memory keep per-work-item copies of their variables in arrays of
 * this many items, so both the emitter and the adapter use this one number. */
#define KILN_CPU_MAX_GROUP_ITEMS 1024u

/* The largest stack frame an entry function may need: its shared arrays
 * plus the per-work-item copies of variables live across barrier(). The
 * core refuses a kernel above it at build time; the adapter runs groups
 * only on stacks with at least twice this much room. */
#define KILN_CPU_MAX_FRAME_BYTES (2u << 20) /* 2 MiB */

/* Prefix of the exported entry symbol of each kernel. */
#define KILN_CPU_ENTRY_PREFIX "kiln_entry_"

#endif
