/* Integer constant folding, for array sizes (at parse time, on untyped
 * trees), case labels and index checks. All arithmetic is on uint64_t, so
 * no input causes undefined behaviour; a division by zero is "not
 * constant". When sema has typed a node, results wrap to its width. */
#include "ast.h"

static int64_t wrap_to_type(const lang_type *t, uint64_t v)
{
    if (!t)
        return (int64_t)v;
    switch (t->kind) {
    case LANG_T_BOOL: return v != 0;
    case LANG_T_CHAR: return (int8_t)(uint8_t)v;
    case LANG_T_UCHAR: return (uint8_t)v;
    case LANG_T_SHORT: return (int16_t)(uint16_t)v;
    case LANG_T_USHORT: return (uint16_t)v;
    case LANG_T_INT: return (int32_t)(uint32_t)v;
    case LANG_T_UINT: return (uint32_t)v;
    default: return (int64_t)v;
    }
}

static int is_unsigned_type(const lang_type *t)
{
    return t && (t->kind == LANG_T_UINT || t->kind == LANG_T_ULONG);
}

static int fold(lang_expr *e, int64_t *out, int depth)
{
    if (!e || depth > LANG_MAX_NESTING)
        return 0;
    int64_t a, b, c;
    uint64_t ua, ub;
    switch (e->kind) {
    case LANG_E_INT:
    case LANG_E_BOOL:
        *out = (int64_t)e->ival;
        return 1;
    case LANG_E_SIZEOF:
        if (e->cast_type && e->cast_type->kind != LANG_T_VOID) {
            *out = (int64_t)lang_type_size(e->cast_type);
            return *out > 0;
        }
        if (e->is_const_value) {
            *out = e->const_value;
            return 1;
        }
        return 0;
    case LANG_E_UNARY:
        if (!fold(e->a, &a, depth + 1))
            return 0;
        switch (e->op) {
        case '-': *out = wrap_to_type(e->type, 0 - (uint64_t)a); return 1;
        case '+': *out = a; return 1;
        case '~': *out = wrap_to_type(e->type, ~(uint64_t)a); return 1;
        case '!': *out = a == 0; return 1;
        default: return 0;
        }
    case LANG_E_CAST:
        if (!fold(e->a, &a, depth + 1) || !lang_type_is_integer(e->cast_type))
            return 0;
        *out = wrap_to_type(e->cast_type, (uint64_t)a);
        return 1;
    case LANG_E_COND:
        if (!fold(e->a, &a, depth + 1) || !fold(e->b, &b, depth + 1) || !fold(e->c, &c, depth + 1))
            return 0;
        *out = a ? b : c;
        return 1;
    case LANG_E_BINARY:
        break;
    default:
        return 0;
    }
    if (!fold(e->a, &a, depth + 1) || !fold(e->b, &b, depth + 1))
        return 0;
    ua = (uint64_t)a;
    ub = (uint64_t)b;
    int uns = is_unsigned_type(e->a->type) || is_unsigned_type(e->b->type);
    uint64_t r;
    switch (e->op) {
    case '+': r = ua + ub; break;
    case '-': r = ua - ub; break;
    case '*': r = ua * ub; break;
    case '/': case '%':
        if (b == 0)
            return 0;
        if (uns || (a >= 0 && b > 0))
            r = e->op == '/' ? ua / ub : ua % ub;
        else if (a == INT64_MIN && b == -1)
            r = e->op == '/' ? ua : 0;
        else
            r = (uint64_t)(e->op == '/' ? a / b : a % b);
        break;
    case LANG_P_SHL: r = ub >= 64 ? 0 : ua << ub; break;
    case LANG_P_SHR: r = ub >= 64 ? 0 : (uns || a >= 0 ? ua >> ub : ~(~ua >> ub)); break;
    case '&': r = ua & ub; break;
    case '|': r = ua | ub; break;
    case '^': r = ua ^ ub; break;
    case '<': r = uns ? ua < ub : a < b; break;
    case '>': r = uns ? ua > ub : a > b; break;
    case LANG_P_LE: r = uns ? ua <= ub : a <= b; break;
    case LANG_P_GE: r = uns ? ua >= ub : a >= b; break;
    case LANG_P_EQ: r = ua == ub; break;
    case LANG_P_NE: r = ua != ub; break;
    case LANG_P_ANDAND: r = a && b; break;
    case LANG_P_OROR: r = a || b; break;
    default: return 0;
    }
    *out = wrap_to_type(e->type, r);
    return 1;
}

int lang_fold_constant(lang_ctx *ctx, lang_expr *e, int64_t *value)
{
    (void)ctx;
    return fold(e, value, 0);
}
