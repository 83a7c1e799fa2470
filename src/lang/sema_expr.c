/* Types of expressions: C's usual arithmetic conversions, lvalues and
 * address spaces, vectors (component-wise + - * / with vectors and
 * scalars), pointers. An operand of error type silences follow-on errors. */
#include "sema.h"

#include <stdio.h>
#include <string.h>

static const lang_type *error_type(void)
{
    return lang_type_scalar(LANG_T_ERROR);
}

static int is_error(const lang_type *t)
{
    return t->kind == LANG_T_ERROR;
}

void lang_require_double(lang_sema *s, const lang_type *t, lang_loc loc)
{
    if (!s->ctx->caps.has_double && lang_type_uses_double(t))
        lang_error(s->ctx, loc,
                   "'double' needs the device capability 'double' (caps.has_double), which "
                   "this device lacks; use float (e.g. the 'f' suffix: 1.0f)");
}

static const lang_type *promote(const lang_type *t)
{
    if (t->kind >= LANG_T_BOOL && t->kind <= LANG_T_USHORT)
        return lang_type_scalar(LANG_T_INT);
    return t;
}

static int int_rank(lang_type_kind k)
{
    return (k == LANG_T_LONG || k == LANG_T_ULONG) ? 2 : 1;
}

static int is_unsigned_kind(lang_type_kind k)
{
    return k == LANG_T_UINT || k == LANG_T_ULONG || k == LANG_T_UCHAR || k == LANG_T_USHORT ||
           k == LANG_T_BOOL;
}

const lang_type *lang_arith_common(const lang_type *a, const lang_type *b)
{
    if (a->kind == LANG_T_DOUBLE || b->kind == LANG_T_DOUBLE)
        return lang_type_scalar(LANG_T_DOUBLE);
    if (a->kind == LANG_T_FLOAT || b->kind == LANG_T_FLOAT)
        return lang_type_scalar(LANG_T_FLOAT);
    a = promote(a);
    b = promote(b);
    if (a->kind == b->kind)
        return a;
    int ra = int_rank(a->kind), rb = int_rank(b->kind);
    if (ra == rb) /* int vs uint, long vs ulong: the unsigned one */
        return is_unsigned_kind(a->kind) ? a : b;
    const lang_type *hi = ra > rb ? a : b;
    /* long can hold every uint; ulong wins over everything */
    return hi;
}

const lang_type *lang_decay(lang_sema *s, lang_expr *e)
{
    const lang_type *t = e->type;
    if (t->kind == LANG_T_ARRAY)
        return lang_type_pointer(s->ctx, t->base, e->lvalue_space, e->lvalue_const);
    return t;
}

static const char *tname(lang_sema *s, const lang_type *t)
{
    return lang_type_name(s->ctx, t);
}

static int pointer_compatible(lang_sema *s, const lang_type *from, const lang_type *to,
                              lang_loc loc, const char *context)
{
    if (from->space != to->space) {
        lang_error(s->ctx, loc,
                   "address space mismatch in %s: cannot use a %s pointer ('%s') where a %s "
                   "pointer ('%s') is expected (rule: address spaces)",
                   context, lang_space_name(from->space), tname(s, from),
                   lang_space_name(to->space), tname(s, to));
        return 0;
    }
    if (!lang_type_equal(from->base, to->base)) {
        lang_error(s->ctx, loc, "type mismatch in %s: cannot convert '%s' to '%s'", context,
                   tname(s, from), tname(s, to));
        return 0;
    }
    if (from->pointee_const && !to->pointee_const) {
        lang_error(s->ctx, loc,
                   "%s discards 'const': '%s' points to read-only data (rule: address spaces)",
                   context, tname(s, from));
        return 0;
    }
    return 1;
}

void lang_check_convert(lang_sema *s, lang_expr *e, const lang_type *to, const char *context)
{
    const lang_type *from = lang_check_expr(s, e);
    if (is_error(from) || is_error(to))
        return;
    from = lang_decay(s, e);
    if (lang_type_is_arith(from) && lang_type_is_arith(to))
        return;
    if (from->kind == LANG_T_POINTER && to->kind == LANG_T_POINTER) {
        pointer_compatible(s, from, to, e->loc, context);
        return;
    }
    if ((from->kind == LANG_T_VECTOR || from->kind == LANG_T_STRUCT) && lang_type_equal(from, to))
        return;
    lang_error(s->ctx, e->loc, "type mismatch in %s: cannot convert '%s' to '%s'", context,
               tname(s, from), tname(s, to));
}

static void set_rvalue(lang_expr *e, const lang_type *t)
{
    e->type = t;
    e->is_lvalue = 0;
}

static const lang_type *check_ident(lang_sema *s, lang_expr *e)
{
    lang_binding *b = lang_map_get(&s->names, e->name);
    if (b && b->var) {
        lang_var *v = b->var;
        e->var = v;
        e->type = v->type;
        e->is_lvalue = 1;
        e->lvalue_const = v->is_const || v->space == LANG_SPACE_CONSTANT;
        e->lvalue_space = v->space;
        return e->type;
    }
    if (lang_map_get(&s->funcs, e->name))
        lang_error(s->ctx, e->loc,
                   "function pointers are not allowed: '%s' can only be called (rule: no "
                   "function pointers)", e->name);
    else if (lang_builtin_lookup(e->name) != LANG_B_NONE)
        lang_error(s->ctx, e->loc, "builtin '%s' can only be called", e->name);
    else
        lang_error(s->ctx, e->loc, "use of undeclared identifier '%s'", e->name);
    return e->type = error_type();
}

static const lang_type *check_int_literal(lang_sema *s, lang_expr *e)
{
    int uns = e->op & 1, lng = (e->op >> 1) & 1, dec = (e->op >> 2) & 1;
    uint64_t v = e->ival;
    lang_type_kind k;
    /* Clones by design: each branch is one row of the C literal-type table. */
    if (uns && lng)
        k = LANG_T_ULONG; /* NOLINT(bugprone-branch-clone) */
    else if (uns)
        k = v <= UINT32_MAX ? LANG_T_UINT : LANG_T_ULONG;
    else if (lng)
        k = v <= INT64_MAX ? LANG_T_LONG : LANG_T_ULONG;
    else if (v <= INT32_MAX)
        k = LANG_T_INT;
    else if (!dec && v <= UINT32_MAX)
        k = LANG_T_UINT;
    else if (v <= INT64_MAX)
        k = LANG_T_LONG;
    else
        k = LANG_T_ULONG;
    if (k == LANG_T_ULONG && dec && !uns)
        lang_error(s->ctx, e->loc, "integer literal is too large for 'long'; add a 'ul' suffix");
    e->is_const_value = 1;
    e->const_value = (int64_t)v;
    set_rvalue(e, lang_type_scalar(k));
    return e->type;
}

static void require_modifiable(lang_sema *s, lang_expr *e, const char *what)
{
    if (is_error(e->type))
        return;
    if (!e->is_lvalue) {
        lang_error(s->ctx, e->loc, "%s needs an assignable location (an lvalue)", what);
    } else if (e->type->kind == LANG_T_ARRAY) {
        lang_error(s->ctx, e->loc, "%s: arrays cannot be assigned as a whole", what);
    } else if (e->lvalue_space == LANG_SPACE_CONSTANT) {
        lang_error(s->ctx, e->loc, "%s: constant memory is read-only (rule: address spaces)", what);
    } else if (e->lvalue_const) {
        if (e->kind == LANG_E_IDENT)
            lang_error(s->ctx, e->loc, "%s: '%s' is const", what, e->name);
        else
            lang_error(s->ctx, e->loc,
                       "%s: cannot write through a pointer to read-only %s const data (rule: "
                       "address spaces)",
                       what, lang_space_name(e->lvalue_space));
    }
}

static const lang_type *check_unary(lang_sema *s, lang_expr *e)
{
    const lang_type *t = lang_check_expr(s, e->a);
    if (is_error(t))
        return e->type = t;
    switch (e->op) {
    case '-':
    case '+':
        if (t->kind == LANG_T_VECTOR) {
            set_rvalue(e, t);
        } else if (lang_type_is_arith(t)) {
            set_rvalue(e, promote(t));
            if (e->a->is_const_value) {
                e->is_const_value = 1;
                e->const_value = e->op == '-' ? (int64_t)(0 - (uint64_t)e->a->const_value)
                                              : e->a->const_value;
            }
        } else {
            lang_error(s->ctx, e->loc, "unary '%c' needs a number or vector, not '%s'", e->op,
                       tname(s, t));
            return e->type = error_type();
        }
        return e->type;
    case '!':
        t = lang_decay(s, e->a);
        if (!lang_type_is_scalar(t)) {
            lang_error(s->ctx, e->loc, "'!' needs a scalar, not '%s'", tname(s, t));
            return e->type = error_type();
        }
        set_rvalue(e, lang_type_scalar(LANG_T_INT));
        return e->type;
    case '~':
        if (!lang_type_is_integer(t)) {
            lang_error(s->ctx, e->loc, "'~' needs an integer, not '%s'", tname(s, t));
            return e->type = error_type();
        }
        set_rvalue(e, promote(t));
        return e->type;
    case '*':
        t = lang_decay(s, e->a);
        if (t->kind != LANG_T_POINTER) {
            lang_error(s->ctx, e->loc, "'*' needs a pointer, not '%s'", tname(s, t));
            return e->type = error_type();
        }
        e->type = t->base;
        e->is_lvalue = 1;
        e->lvalue_const = t->pointee_const;
        e->lvalue_space = t->space;
        return e->type;
    case '&':
        if (!e->a->is_lvalue) {
            lang_error(s->ctx, e->loc, "'&' needs an lvalue");
            return e->type = error_type();
        }
        if (e->a->kind == LANG_E_MEMBER && e->a->a->type->kind == LANG_T_VECTOR) {
            lang_error(s->ctx, e->loc, "cannot take the address of a vector component");
            return e->type = error_type();
        }
        set_rvalue(e, lang_type_pointer(s->ctx, t, e->a->lvalue_space, e->a->lvalue_const));
        return e->type;
    default: /* ++ -- */
        require_modifiable(s, e->a, e->op == LANG_P_INC ? "'++'" : "'--'");
        if (!lang_type_is_scalar(t)) {
            lang_error(s->ctx, e->loc, "increment needs a number or pointer, not '%s'", tname(s, t));
            return e->type = error_type();
        }
        set_rvalue(e, t);
        return e->type;
    }
}

/* Vector arithmetic: both the same vector type, or a vector and a scalar
 * convertible to its element type. */
static const lang_type *vector_binary(lang_sema *s, lang_expr *e, int op, const lang_type *a,
                                      const lang_type *b)
{
    if (op != '+' && op != '-' && op != '*' && op != '/') {
        lang_error(s->ctx, e->loc, "operator '%s' is not supported on vectors (only + - * /)",
                   lang_punct_text(op));
        return error_type();
    }
    const lang_type *v = a->kind == LANG_T_VECTOR ? a : b;
    const lang_type *other = a->kind == LANG_T_VECTOR ? b : a;
    if (other->kind == LANG_T_VECTOR) {
        if (!lang_type_equal(a, b)) {
            lang_error(s->ctx, e->loc, "type mismatch: '%s' %s '%s'", tname(s, a),
                       lang_punct_text(op), tname(s, b));
            return error_type();
        }
        return v;
    }
    if (!lang_type_is_arith(other) ||
        (lang_type_is_float(other) && !lang_type_is_float(v->base))) {
        lang_error(s->ctx, e->loc, "type mismatch: '%s' %s '%s'", tname(s, a),
                   lang_punct_text(op), tname(s, b));
        return error_type();
    }
    return v;
}

static void fold_binary(lang_expr *e)
{
    if (!e->a->is_const_value || !e->b->is_const_value || !lang_type_is_integer(e->type))
        return;
    int64_t v;
    if (lang_fold_constant(NULL, e, &v)) {
        e->is_const_value = 1;
        e->const_value = v;
    }
}

static const lang_type *binary_type(lang_sema *s, lang_expr *e, int op, const lang_type *a,
                                    const lang_type *b)
{
    if (a->kind == LANG_T_VECTOR || b->kind == LANG_T_VECTOR)
        return vector_binary(s, e, op, a, b);
    switch (op) {
    case '*': case '/': case '%': case '&': case '|': case '^':
        if (op == '*' || op == '/' ? lang_type_is_arith(a) && lang_type_is_arith(b)
                                   : lang_type_is_integer(a) && lang_type_is_integer(b))
            return lang_arith_common(a, b);
        break;
    case LANG_P_SHL: case LANG_P_SHR:
        if (lang_type_is_integer(a) && lang_type_is_integer(b))
            return promote(a);
        break;
    case '+': case '-':
        if (lang_type_is_arith(a) && lang_type_is_arith(b))
            return lang_arith_common(a, b);
        if (a->kind == LANG_T_POINTER && lang_type_is_integer(b))
            return a;
        if (op == '+' && b->kind == LANG_T_POINTER && lang_type_is_integer(a))
            return b;
        if (op == '-' && a->kind == LANG_T_POINTER && b->kind == LANG_T_POINTER &&
            lang_type_equal(a->base, b->base) && a->space == b->space)
            return lang_type_scalar(LANG_T_LONG);
        break;
    case '<': case '>': case LANG_P_LE: case LANG_P_GE: case LANG_P_EQ: case LANG_P_NE:
        if ((lang_type_is_arith(a) && lang_type_is_arith(b)) ||
            (a->kind == LANG_T_POINTER && b->kind == LANG_T_POINTER &&
             lang_type_equal(a->base, b->base) && a->space == b->space))
            return lang_type_scalar(LANG_T_INT);
        break;
    case LANG_P_ANDAND: case LANG_P_OROR:
        if (lang_type_is_scalar(a) && lang_type_is_scalar(b))
            return lang_type_scalar(LANG_T_INT);
        break;
    }
    lang_error(s->ctx, e->loc, "invalid operands to '%s': '%s' and '%s'", lang_punct_text(op),
               tname(s, a), tname(s, b));
    return error_type();
}

static const lang_type *check_binary(lang_sema *s, lang_expr *e)
{
    lang_check_expr(s, e->a);
    lang_check_expr(s, e->b);
    if (is_error(e->a->type) || is_error(e->b->type))
        return e->type = error_type();
    const lang_type *a = lang_decay(s, e->a), *b = lang_decay(s, e->b);
    set_rvalue(e, binary_type(s, e, e->op, a, b));
    fold_binary(e);
    return e->type;
}

static int compound_to_binary(int op)
{
    switch (op) {
    case LANG_P_ADD_ASSIGN: return '+';
    case LANG_P_SUB_ASSIGN: return '-';
    case LANG_P_MUL_ASSIGN: return '*';
    case LANG_P_DIV_ASSIGN: return '/';
    case LANG_P_MOD_ASSIGN: return '%';
    case LANG_P_AND_ASSIGN: return '&';
    case LANG_P_OR_ASSIGN: return '|';
    case LANG_P_XOR_ASSIGN: return '^';
    case LANG_P_SHL_ASSIGN: return LANG_P_SHL;
    default: return LANG_P_SHR;
    }
}

/* Vector compound assignment is emitted as v = op(v, x), so v must be
 * free of side effects. */
int lang_has_side_effects(const lang_expr *e)
{
    if (!e)
        return 0;
    if (e->kind == LANG_E_ASSIGN || e->kind == LANG_E_CALL || e->kind == LANG_E_POSTFIX ||
        (e->kind == LANG_E_UNARY && (e->op == LANG_P_INC || e->op == LANG_P_DEC)))
        return 1;
    return lang_has_side_effects(e->a) || lang_has_side_effects(e->b) ||
           lang_has_side_effects(e->c);
}

static const lang_type *check_assign(lang_sema *s, lang_expr *e)
{
    const lang_type *lt = lang_check_expr(s, e->a);
    if (e->op == '=') {
        require_modifiable(s, e->a, "assignment");
        lang_check_convert(s, e->b, lt, "assignment");
    } else {
        lang_check_expr(s, e->b);
        if (is_error(lt) || is_error(e->b->type))
            return e->type = error_type();
        require_modifiable(s, e->a, "compound assignment");
        const lang_type *r = binary_type(s, e, compound_to_binary(e->op), lt, lang_decay(s, e->b));
        if (!is_error(r) && lt->kind == LANG_T_VECTOR && lang_has_side_effects(e->a))
            lang_error(s->ctx, e->loc, "vector compound assignment needs a target without "
                                       "side effects");
        if (!is_error(r) && lt->kind != LANG_T_POINTER && !lang_type_equal(r, lt) &&
            !(lang_type_is_arith(r) && lang_type_is_arith(lt)))
            lang_error(s->ctx, e->loc, "type mismatch in compound assignment");
    }
    set_rvalue(e, lt);
    return e->type;
}

static const lang_type *check_cond(lang_sema *s, lang_expr *e)
{
    lang_check_expr(s, e->a);
    lang_check_expr(s, e->b);
    lang_check_expr(s, e->c);
    if (is_error(e->a->type) || is_error(e->b->type) || is_error(e->c->type))
        return e->type = error_type();
    if (!lang_type_is_scalar(lang_decay(s, e->a)))
        lang_error(s->ctx, e->a->loc, "condition needs a scalar, not '%s'", tname(s, e->a->type));
    const lang_type *b = lang_decay(s, e->b), *c = lang_decay(s, e->c);
    if (lang_type_is_arith(b) && lang_type_is_arith(c))
        set_rvalue(e, lang_arith_common(b, c));
    else if (lang_type_equal(b, c))
        set_rvalue(e, b);
    else {
        lang_error(s->ctx, e->loc, "type mismatch in '?:': '%s' and '%s'", tname(s, b), tname(s, c));
        return e->type = error_type();
    }
    return e->type;
}

static const lang_type *check_cast(lang_sema *s, lang_expr *e)
{
    const lang_type *from = lang_check_expr(s, e->a);
    const lang_type *to = e->cast_type;
    if (is_error(from))
        return e->type = from;
    from = lang_decay(s, e->a);
    lang_require_double(s, to, e->loc);
    set_rvalue(e, to);
    if (to->kind == LANG_T_VOID || (lang_type_is_arith(to) && lang_type_is_arith(from))) {
        if (e->a->is_const_value && lang_type_is_integer(to)) {
            int64_t v;
            if (lang_fold_constant(NULL, e, &v)) {
                e->is_const_value = 1;
                e->const_value = v;
            }
        }
        return to;
    }
    if (to->kind == LANG_T_POINTER && from->kind == LANG_T_POINTER) {
        if (to->space != from->space)
            lang_error(s->ctx, e->loc, "a cast cannot change the address space ('%s' to '%s') "
                                       "(rule: address spaces)", tname(s, from), tname(s, to));
        return to;
    }
    lang_error(s->ctx, e->loc, "invalid cast from '%s' to '%s'%s", tname(s, from), tname(s, to),
               to->kind == LANG_T_VECTOR ? " (build vectors with make_...)" : "");
    return e->type = error_type();
}

const lang_type *lang_check_expr(lang_sema *s, lang_expr *e)
{
    int statement = s->expr_is_statement;
    s->expr_is_statement = 0;
    switch (e->kind) {
    case LANG_E_INT:
        return check_int_literal(s, e);
    case LANG_E_FLOAT:
        set_rvalue(e, lang_type_scalar(e->ival ? LANG_T_FLOAT : LANG_T_DOUBLE));
        lang_require_double(s, e->type, e->loc);
        return e->type;
    case LANG_E_BOOL:
        set_rvalue(e, lang_type_scalar(LANG_T_BOOL));
        e->is_const_value = 1;
        e->const_value = (int64_t)e->ival;
        return e->type;
    case LANG_E_IDENT:
        return check_ident(s, e);
    case LANG_E_UNARY:
        return check_unary(s, e);
    case LANG_E_POSTFIX:
        lang_check_expr(s, e->a);
        if (is_error(e->a->type))
            return e->type = e->a->type;
        require_modifiable(s, e->a, e->op == LANG_P_INC ? "'++'" : "'--'");
        if (!lang_type_is_scalar(e->a->type)) {
            lang_error(s->ctx, e->loc, "increment needs a number or pointer");
            return e->type = error_type();
        }
        set_rvalue(e, e->a->type);
        return e->type;
    case LANG_E_BINARY:
        return check_binary(s, e);
    case LANG_E_ASSIGN:
        return check_assign(s, e);
    case LANG_E_COND:
        return check_cond(s, e);
    case LANG_E_CALL:
        s->expr_is_statement = statement;
        return lang_check_call(s, e);
    case LANG_E_INDEX:
        return lang_check_index(s, e);
    case LANG_E_MEMBER:
        return lang_check_member(s, e);
    case LANG_E_CAST:
        return check_cast(s, e);
    case LANG_E_SIZEOF: {
        const lang_type *t = e->cast_type ? e->cast_type : lang_check_expr(s, e->a);
        if (is_error(t))
            return e->type = t;
        if (t->kind == LANG_T_VOID || (t->kind == LANG_T_STRUCT && !t->def->complete))
            lang_error(s->ctx, e->loc, "sizeof of an incomplete type");
        set_rvalue(e, lang_type_scalar(LANG_T_ULONG));
        e->is_const_value = 1;
        e->const_value = (int64_t)lang_type_size(t);
        return e->type;
    }
    case LANG_E_INIT_LIST:
        lang_error(s->ctx, e->loc, "an initializer list is allowed only in a declaration");
        return e->type = error_type();
    }
    return e->type = error_type();
}
