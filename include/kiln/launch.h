/* kiln — launching kernels: index ranges and typed arguments. */
#ifndef KILN_LAUNCH_H
#define KILN_LAUNCH_H

#include "buffer.h"
#include "event.h"
#include "program.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An index space of 1 to 3 dimensions. The global size is rounded up to a
 * multiple of the local size (OpenCL semantics); kernels guard their bound.
 * local all zero = kiln chooses. */
typedef struct kiln_range {
    uint32_t dims;
    size_t global[3];
    size_t local[3];
} kiln_range;

typedef enum kiln_arg_kind {
    KILN_ARG_KIND_BUFFER = 1,
    KILN_ARG_KIND_BOOL,
    KILN_ARG_KIND_I8,   /* char */
    KILN_ARG_KIND_U8,   /* uchar */
    KILN_ARG_KIND_I16,  /* short */
    KILN_ARG_KIND_U16,  /* ushort */
    KILN_ARG_KIND_I32,  /* int */
    KILN_ARG_KIND_U32,  /* uint */
    KILN_ARG_KIND_I64,  /* long */
    KILN_ARG_KIND_U64,  /* ulong */
    KILN_ARG_KIND_F32,  /* float */
    KILN_ARG_KIND_F64,  /* double */
    KILN_ARG_KIND_BYTES /* a struct or vector by value */
} kiln_arg_kind;

typedef struct kiln_arg {
    kiln_arg_kind kind;
    uint32_t size; /* bytes of the value; for BYTES the struct's size */
    union {
        kiln_buffer *buffer;
        uint8_t b;
        int8_t i8;
        uint8_t u8;
        int16_t i16;
        uint16_t u16;
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        float f32;
        double f64;
        const void *bytes;
    } value;
} kiln_arg;

#define KILN__ARG(k, field, sz, x) \
    ((kiln_arg){ .kind = (k), .size = (sz), .value = { .field = (x) } })
#define KILN_ARG_BUFFER(buf) KILN__ARG(KILN_ARG_KIND_BUFFER, buffer, 0, (buf))
#define KILN_ARG_BOOL(x) KILN__ARG(KILN_ARG_KIND_BOOL, b, 1, (uint8_t)((x) ? 1 : 0))
#define KILN_ARG_I8(x) KILN__ARG(KILN_ARG_KIND_I8, i8, 1, (int8_t)(x))
#define KILN_ARG_U8(x) KILN__ARG(KILN_ARG_KIND_U8, u8, 1, (uint8_t)(x))
#define KILN_ARG_I16(x) KILN__ARG(KILN_ARG_KIND_I16, i16, 2, (int16_t)(x))
#define KILN_ARG_U16(x) KILN__ARG(KILN_ARG_KIND_U16, u16, 2, (uint16_t)(x))
#define KILN_ARG_I32(x) KILN__ARG(KILN_ARG_KIND_I32, i32, 4, (int32_t)(x))
#define KILN_ARG_U32(x) KILN__ARG(KILN_ARG_KIND_U32, u32, 4, (uint32_t)(x))
#define KILN_ARG_I64(x) KILN__ARG(KILN_ARG_KIND_I64, i64, 8, (int64_t)(x))
#define KILN_ARG_U64(x) KILN__ARG(KILN_ARG_KIND_U64, u64, 8, (uint64_t)(x))
#define KILN_ARG_F32(x) KILN__ARG(KILN_ARG_KIND_F32, f32, 4, (float)(x))
#define KILN_ARG_F64(x) KILN__ARG(KILN_ARG_KIND_F64, f64, 8, (double)(x))
#define KILN_ARG_BYTES(ptr, sz) KILN__ARG(KILN_ARG_KIND_BYTES, bytes, (uint32_t)(sz), (ptr))

/* Queues kernel k over range with args. The arguments are checked against the
 * kernel's declared parameters: a wrong count or type is KILN_ERR_INVALID_ARG
 * naming the parameter and both types. event may be NULL; otherwise it
 * receives an event for the launch (release it with kiln_event_release).
 * args may be reused once it returns. In a governed context the launch goes
 * to the device's priority scheduler (docs/security.md, "Scheduler") and
 * counts against the concurrent_launches and device_time quotas
 * (KILN_ERR_QUOTA at once when they refuse); its event completes once the
 * launch has run and was charged. */
KILN_API kiln_status kiln_launch(kiln_queue *q, kiln_kernel *k, const kiln_range *range,
                                 const kiln_arg *args, uint32_t nargs, kiln_event **event);

#ifdef __cplusplus
}
#endif

#endif
