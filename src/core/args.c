#include "args.h"

#include "../util/fail.h"
#include "owner.h"

/* The kiln_arg kind that passes each scalar type of the language. */
static kiln_arg_kind args_kind_for_scalar(lang_scalar s)
{
    switch (s) {
    case LANG_SCALAR_BOOL: return KILN_ARG_KIND_BOOL;
    case LANG_SCALAR_CHAR: return KILN_ARG_KIND_I8;
    case LANG_SCALAR_UCHAR: return KILN_ARG_KIND_U8;
    case LANG_SCALAR_SHORT: return KILN_ARG_KIND_I16;
    case LANG_SCALAR_USHORT: return KILN_ARG_KIND_U16;
    case LANG_SCALAR_INT: return KILN_ARG_KIND_I32;
    case LANG_SCALAR_UINT: return KILN_ARG_KIND_U32;
    case LANG_SCALAR_LONG: return KILN_ARG_KIND_I64;
    case LANG_SCALAR_ULONG: return KILN_ARG_KIND_U64;
    case LANG_SCALAR_FLOAT: return KILN_ARG_KIND_F32;
    case LANG_SCALAR_DOUBLE: return KILN_ARG_KIND_F64;
    case LANG_SCALAR_NONE: break;
    }
    return (kiln_arg_kind)0;
}

static const char *args_kind_text(kiln_arg_kind kind)
{
    switch (kind) {
    case KILN_ARG_KIND_BUFFER: return "a buffer (KILN_ARG_BUFFER)";
    case KILN_ARG_KIND_BOOL: return "bool (KILN_ARG_BOOL)";
    case KILN_ARG_KIND_I8: return "char (KILN_ARG_I8)";
    case KILN_ARG_KIND_U8: return "uchar (KILN_ARG_U8)";
    case KILN_ARG_KIND_I16: return "short (KILN_ARG_I16)";
    case KILN_ARG_KIND_U16: return "ushort (KILN_ARG_U16)";
    case KILN_ARG_KIND_I32: return "int (KILN_ARG_I32)";
    case KILN_ARG_KIND_U32: return "uint (KILN_ARG_U32)";
    case KILN_ARG_KIND_I64: return "long (KILN_ARG_I64)";
    case KILN_ARG_KIND_U64: return "ulong (KILN_ARG_U64)";
    case KILN_ARG_KIND_F32: return "float (KILN_ARG_F32)";
    case KILN_ARG_KIND_F64: return "double (KILN_ARG_F64)";
    case KILN_ARG_KIND_BYTES: return "bytes (KILN_ARG_BYTES)";
    }
    return "an unknown argument kind";
}

static kiln_status args_mismatch(const kiln_kernel *k, uint32_t i, const char *got)
{
    const lang_param *p = &k->signature->params[i];
    return util_fail(KILN_ERR_INVALID_ARG,
                     "kernel '%s', argument %u ('%s'): parameter type is %s, argument is %s",
                     k->signature->name, i, p->name, p->type_text, got);
}

static kiln_status args_check_buffer(const kiln_kernel *k, const kiln_device *dev, uint32_t i,
                                     const kiln_arg *a, port_arg *out)
{
    const kiln_buffer *buf = a->value.buffer;
    const lang_param *p = &k->signature->params[i];
    if (!buf)
        return util_fail(KILN_ERR_NULL_HANDLE, "kernel '%s', argument %u ('%s'): buffer is NULL",
                         k->signature->name, i, p->name);
    if (buf->magic != CORE_MAGIC_BUFFER)
        return util_fail(KILN_ERR_INVALID_HANDLE,
                         "kernel '%s', argument %u ('%s'): not a live buffer (released or forged)",
                         k->signature->name, i, p->name);
    if (buf->dev != dev)
        return core_owner_refuse(buf->dev, dev, "queue", "kernel '%s', argument %u ('%s'): buffer",
                                 k->signature->name, i, p->name);
    out->mem = buf->mem;
    out->value = NULL;
    out->size = 0;
    return KILN_OK;
}

kiln_status args_check(const kiln_kernel *k, const kiln_device *dev, const kiln_arg *args,
                       uint32_t nargs, port_arg *out)
{
    const lang_kernel *sig = k->signature;
    if (nargs != sig->param_count)
        return util_fail(KILN_ERR_INVALID_ARG, "kernel '%s' takes %u arguments, got %u", sig->name,
                         sig->param_count, nargs);
    if (nargs && !args)
        return util_fail(KILN_ERR_NULL_HANDLE, "argument array is NULL");
    for (uint32_t i = 0; i < nargs; i++) {
        const lang_param *p = &sig->params[i];
        const kiln_arg *a = &args[i];
        kiln_status st = KILN_OK;
        switch (p->param_class) {
        case LANG_PARAM_BUFFER:
            if (a->kind != KILN_ARG_KIND_BUFFER)
                return args_mismatch(k, i, args_kind_text(a->kind));
            st = args_check_buffer(k, dev, i, a, &out[i]);
            break;
        case LANG_PARAM_SCALAR:
            if (a->kind != args_kind_for_scalar(p->scalar))
                return args_mismatch(k, i, args_kind_text(a->kind));
            out[i].mem = NULL;
            out[i].value = &a->value; /* every member starts at the union's start */
            out[i].size = p->size;
            break;
        case LANG_PARAM_BYTES:
            if (a->kind != KILN_ARG_KIND_BYTES)
                return args_mismatch(k, i, args_kind_text(a->kind));
            if (a->size != p->size)
                return util_fail(KILN_ERR_INVALID_ARG,
                                 "kernel '%s', argument %u ('%s'): parameter type %s is %zu bytes, "
                                 "argument is %u bytes",
                                 sig->name, i, p->name, p->type_text, p->size, a->size);
            if (!a->value.bytes)
                return util_fail(KILN_ERR_NULL_HANDLE,
                                 "kernel '%s', argument %u ('%s'): KILN_ARG_BYTES pointer is NULL",
                                 sig->name, i, p->name);
            out[i].mem = NULL;
            out[i].value = a->value.bytes;
            out[i].size = p->size;
            break;
        }
        if (st != KILN_OK)
            return st;
    }
    return KILN_OK;
}
