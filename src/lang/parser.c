/* The parser's declarations: specifiers, declarators, structs, typedefs,
 * functions and file-scope constant tables, and the top-level loop with its
 * error recovery. */
#include "parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lang_parse_fail(lang_parser *ps, lang_loc loc, const char *fmt, ...)
{
    char message[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    lang_error(ps->ctx, loc, "%s", message);
    longjmp(ps->recover, 1);
}

void lang_expect(lang_parser *ps, int punct, const char *what)
{
    if (lang_tok_punct(ps->tok, punct)) {
        ps->tok = ps->tok->next;
        return;
    }
    const lang_token *t = ps->tok;
    lang_parse_fail(ps, t->loc, "expected '%s' %s, found %s%s%s", lang_punct_text(punct), what,
                    t->kind == LANG_TK_EOF ? "end of input" : "'",
                    t->kind == LANG_TK_EOF ? "" : t->text, t->kind == LANG_TK_EOF ? "" : "'");
}

int lang_accept(lang_parser *ps, int punct)
{
    if (!lang_tok_punct(ps->tok, punct))
        return 0;
    ps->tok = ps->tok->next;
    return 1;
}

void lang_enter(lang_parser *ps)
{
    if (++ps->depth > LANG_MAX_NESTING) {
        lang_error(ps->ctx, ps->tok->loc, "nesting too deep (limit %d)", LANG_MAX_NESTING);
        lang_bail(ps->ctx, KILN_ERR_COMPILE);
    }
}

void lang_leave(lang_parser *ps)
{
    ps->depth--;
}

static const struct {
    const char *name;
    lang_type_kind kind;
} builtin_types[] = {
    {"void", LANG_T_VOID}, {"bool", LANG_T_BOOL}, {"uchar", LANG_T_UCHAR},
    {"ushort", LANG_T_USHORT}, {"uint", LANG_T_UINT}, {"ulong", LANG_T_ULONG},
    {"float", LANG_T_FLOAT}, {"double", LANG_T_DOUBLE},
};

static const char *const int_words[] = {"unsigned", "signed", "short", "long", "int", "char"};
static const char *const qualifier_words[] = {"const", "global", "shared", "constant", "static",
                                              "kernel", "inline", "typedef", "volatile",
                                              "restrict", "extern", "struct", "local",
                                              "__global", "__local", "__kernel", "__constant"};

static const lang_type *vector_by_name(const char *name)
{
    static const struct {
        const char *prefix;
        lang_type_kind kind;
    } elems[] = {{"float", LANG_T_FLOAT}, {"int", LANG_T_INT}, {"uint", LANG_T_UINT},
                 {"double", LANG_T_DOUBLE}};
    for (size_t i = 0; i < sizeof elems / sizeof elems[0]; i++) {
        size_t n = strlen(elems[i].prefix);
        if (strncmp(name, elems[i].prefix, n) == 0 && name[n] >= '2' && name[n] <= '4' &&
            name[n + 1] == '\0')
            return lang_type_vector(elems[i].kind, (uint32_t)(name[n] - '0'));
    }
    return NULL;
}

static const lang_typedef *find_typedef(lang_parser *ps, const char *name)
{
    return lang_map_get(&ps->typedef_names, name);
}

int lang_starts_type(lang_parser *ps, const lang_token *t)
{
    if (t->kind != LANG_TK_IDENT)
        return 0;
    for (size_t i = 0; i < sizeof builtin_types / sizeof builtin_types[0]; i++)
        if (!strcmp(t->text, builtin_types[i].name))
            return 1;
    for (size_t i = 0; i < sizeof int_words / sizeof int_words[0]; i++)
        if (!strcmp(t->text, int_words[i]))
            return 1;
    for (size_t i = 0; i < sizeof qualifier_words / sizeof qualifier_words[0]; i++)
        if (!strcmp(t->text, qualifier_words[i]))
            return 1;
    return vector_by_name(t->text) || find_typedef(ps, t->text);
}

static lang_struct *find_struct(lang_parser *ps, const char *name)
{
    return lang_map_get(&ps->struct_names, name);
}

static void add_struct(lang_parser *ps, lang_struct *s)
{
    if (s->name)
        lang_map_put(ps->ctx, &ps->struct_names, s->name, s);
    if (ps->struct_tail)
        ps->struct_tail->next_defined = s;
    else
        ps->prog->structs = s;
    ps->struct_tail = s;
}

static void parse_struct_body(lang_parser *ps, lang_struct *s)
{
    uint32_t cap = 0;
    size_t offset = 0, align = 1;
    lang_enter(ps);
    while (!lang_accept(ps, '}')) {
        lang_specs spec;
        lang_parse_specs(ps, &spec);
        if (spec.has_space || spec.is_static || spec.is_kernel || spec.is_typedef)
            lang_parse_fail(ps, spec.loc, "struct members take no qualifiers but 'const'");
        do {
            const char *name;
            lang_loc loc;
            const lang_type *t = lang_parse_declarator(ps, &spec, &name, &loc, 0);
            if (t->kind == LANG_T_POINTER)
                lang_parse_fail(ps, loc, "pointer members are not supported in structs");
            if (t->kind == LANG_T_VOID || (t->kind == LANG_T_STRUCT && !t->def->complete) ||
                (t->kind == LANG_T_ARRAY && t->count == 0))
                lang_parse_fail(ps, loc, "member '%s' has an incomplete type", name);
            if (s->member_count == LANG_MAX_MEMBERS)
                lang_parse_fail(ps, loc, "a struct has at most %d members", LANG_MAX_MEMBERS);
            for (uint32_t i = 0; i < s->member_count; i++)
                if (!strcmp(s->members[i].name, name))
                    lang_parse_fail(ps, loc, "duplicate member '%s'", name);
            if (s->member_count == cap) {
                cap = cap ? cap * 2 : 8;
                lang_member *grown = lang_alloc(ps->ctx, cap * sizeof *grown);
                if (s->member_count)
                    memcpy(grown, s->members, s->member_count * sizeof *grown);
                s->members = grown;
            }
            size_t a = lang_type_align(t);
            offset = (offset + a - 1) / a * a;
            s->members[s->member_count++] = (lang_member){name, t, offset};
            offset += lang_type_size(t);
            if (a > align)
                align = a;
            if (offset > LANG_MAX_ARRAY_BYTES)
                lang_parse_fail(ps, loc, "struct is too large");
        } while (lang_accept(ps, ','));
        lang_expect(ps, ';', "after a struct member");
    }
    lang_leave(ps);
    if (s->member_count == 0)
        lang_parse_fail(ps, s->loc, "a struct needs at least one member");
    s->size = (offset + align - 1) / align * align;
    s->align = align;
    s->complete = 1;
}

static const lang_type *parse_struct_specifier(lang_parser *ps, lang_loc loc)
{
    const char *name = NULL;
    if (ps->tok->kind == LANG_TK_IDENT) {
        name = ps->tok->text;
        ps->tok = ps->tok->next;
    }
    lang_struct *s = name ? find_struct(ps, name) : NULL;
    if (lang_accept(ps, '{')) {
        if (s && s->complete)
            lang_parse_fail(ps, loc, "redefinition of 'struct %s'", name);
        if (!s) {
            s = lang_alloc(ps->ctx, sizeof *s);
            s->name = name;
            s->loc = loc;
            add_struct(ps, s);
        }
        parse_struct_body(ps, s);
    } else if (!name) {
        lang_parse_fail(ps, loc, "expected a struct name or '{'");
    } else if (!s) {
        s = lang_alloc(ps->ctx, sizeof *s);
        s->name = name;
        s->loc = loc;
        add_struct(ps, s);
    }
    return lang_type_struct(ps->ctx, s);
}

static void set_space(lang_parser *ps, lang_specs *spec, lang_space space, const lang_token *t)
{
    if (spec->has_space && spec->space != space)
        lang_parse_fail(ps, t->loc, "conflicting address spaces '%s' and '%s'",
                        lang_space_name(spec->space), lang_space_name(space));
    spec->space = space;
    spec->has_space = 1;
}

/* Integer keyword combinations: unsigned int, long long, short int ... */
typedef struct int_words_seen {
    int is_unsigned, is_signed, shorts, longs, ints, chars;
} int_words_seen;

static const lang_type *resolve_int_words(lang_parser *ps, const int_words_seen *w, lang_loc loc)
{
    if ((w->is_unsigned && w->is_signed) || w->shorts > 1 || w->longs > 2 || w->ints > 1 ||
        w->chars > 1 || (w->shorts && (w->longs || w->chars)) || (w->chars && (w->longs || w->ints)))
        lang_parse_fail(ps, loc, "invalid combination of type keywords");
    int u = w->is_unsigned;
    if (w->chars)
        return lang_type_scalar(u ? LANG_T_UCHAR : LANG_T_CHAR);
    if (w->shorts)
        return lang_type_scalar(u ? LANG_T_USHORT : LANG_T_SHORT);
    if (w->longs) /* Kiln's long is 64-bit everywhere; long long is the same */
        return lang_type_scalar(u ? LANG_T_ULONG : LANG_T_LONG);
    return lang_type_scalar(u ? LANG_T_UINT : LANG_T_INT);
}

void lang_parse_specs(lang_parser *ps, lang_specs *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->loc = ps->tok->loc;
    int_words_seen w = {0};
    int any_int_word = 0;
    for (;;) {
        lang_token *t = ps->tok;
        if (t->kind != LANG_TK_IDENT)
            break;
        const char *s = t->text;
        const lang_type *named = NULL;
        if (!strcmp(s, "const")) {
            spec->is_const = 1;
        } else if (!strcmp(s, "global") || !strcmp(s, "__global")) {
            set_space(ps, spec, LANG_SPACE_GLOBAL, t);
        } else if (!strcmp(s, "shared") || !strcmp(s, "local") || !strcmp(s, "__local")) {
            set_space(ps, spec, LANG_SPACE_SHARED, t);
        } else if (!strcmp(s, "constant") || !strcmp(s, "__constant")) {
            set_space(ps, spec, LANG_SPACE_CONSTANT, t);
        } else if (!strcmp(s, "static")) {
            spec->is_static = 1;
        } else if (!strcmp(s, "kernel") || !strcmp(s, "__kernel")) {
            spec->is_kernel = 1;
        } else if (!strcmp(s, "typedef")) {
            spec->is_typedef = 1;
        } else if (!strcmp(s, "inline") || !strcmp(s, "volatile") || !strcmp(s, "restrict")) {
            /* accepted; no meaning in Kiln C */
        } else if (!strcmp(s, "extern")) {
            lang_parse_fail(ps, t->loc, "'extern' is not allowed: a kernel source is one unit");
        } else if (!strcmp(s, "unsigned")) {
            w.is_unsigned++, any_int_word = 1;
        } else if (!strcmp(s, "signed")) {
            w.is_signed++, any_int_word = 1;
        } else if (!strcmp(s, "short")) {
            w.shorts++, any_int_word = 1;
        } else if (!strcmp(s, "long")) {
            w.longs++, any_int_word = 1;
        } else if (!strcmp(s, "int")) {
            w.ints++, any_int_word = 1;
        } else if (!strcmp(s, "char")) {
            w.chars++, any_int_word = 1;
        } else if (!strcmp(s, "struct")) {
            if (spec->has_type || any_int_word)
                lang_parse_fail(ps, t->loc, "two types in one declaration");
            ps->tok = t->next;
            spec->type = parse_struct_specifier(ps, t->loc);
            spec->has_type = 1;
            continue;
        } else {
            for (size_t i = 0; i < sizeof builtin_types / sizeof builtin_types[0]; i++)
                if (!strcmp(s, builtin_types[i].name))
                    named = lang_type_scalar(builtin_types[i].kind);
            if (!named)
                named = vector_by_name(s);
            if (!named && !spec->has_type && !any_int_word) {
                const lang_typedef *td = find_typedef(ps, s);
                if (td)
                    named = td->type;
            }
            if (!named)
                break;
            if (spec->has_type || any_int_word)
                lang_parse_fail(ps, t->loc, "two types in one declaration");
            spec->type = named;
            spec->has_type = 1;
        }
        ps->tok = t->next;
    }
    if (any_int_word) {
        if (spec->has_type)
            lang_parse_fail(ps, spec->loc, "two types in one declaration");
        spec->type = resolve_int_words(ps, &w, spec->loc);
        spec->has_type = 1;
    }
    if (!spec->has_type) {
        const lang_token *t = ps->tok;
        if (t->kind == LANG_TK_IDENT)
            lang_parse_fail(ps, t->loc, "unknown type name '%s'", t->text);
        lang_parse_fail(ps, t->loc, "expected a type");
    }
}

static uint32_t parse_array_size(lang_parser *ps, const char *name, lang_loc loc)
{
    lang_expr *size = lang_parse_expr(ps);
    int64_t v;
    if (!lang_fold_constant(ps->ctx, size, &v)) {
        lang_error(ps->ctx, size->loc,
                   "variable-length arrays are not allowed: the size of '%s' is not a "
                   "compile-time constant",
                   name ? name : "array");
        return 1;
    }
    if (v <= 0 || v > (int64_t)LANG_MAX_ARRAY_BYTES) {
        lang_error(ps->ctx, size->loc, "array size of '%s' must be between 1 and %u",
                   name ? name : "array", LANG_MAX_ARRAY_BYTES);
        return 1;
    }
    (void)loc;
    return (uint32_t)v;
}

#define LANG_MAX_DIMS 8

const lang_type *lang_parse_declarator(lang_parser *ps, const lang_specs *spec,
                                       const char **name, lang_loc *loc, int abstract)
{
    int pointers = 0;
    while (lang_accept(ps, '*')) {
        pointers++;
        while (lang_tok_is(ps->tok, "const") || lang_tok_is(ps->tok, "restrict") ||
               lang_tok_is(ps->tok, "volatile"))
            ps->tok = ps->tok->next;
    }
    *loc = ps->tok->loc;
    *name = NULL;
    if (lang_tok_punct(ps->tok, '(')) {
        if (lang_tok_punct(ps->tok->next, '*') || lang_tok_punct(ps->tok->next, '^'))
            lang_parse_fail(ps, ps->tok->loc, "function pointers are not allowed");
        lang_parse_fail(ps, ps->tok->loc, "unexpected '(' in a declarator");
    }
    if (ps->tok->kind == LANG_TK_IDENT && !abstract) {
        *name = ps->tok->text;
        ps->tok = ps->tok->next;
    } else if (!abstract) {
        lang_parse_fail(ps, ps->tok->loc, "expected a name in the declaration, found '%s'",
                        ps->tok->kind == LANG_TK_EOF ? "end of input" : ps->tok->text);
    }
    if (pointers > 1)
        lang_parse_fail(ps, *loc, "pointers to pointers are not supported");
    uint32_t dims[LANG_MAX_DIMS];
    int ndims = 0;
    while (lang_accept(ps, '[')) {
        if (ndims == LANG_MAX_DIMS)
            lang_parse_fail(ps, *loc, "too many array dimensions (limit %d)", LANG_MAX_DIMS);
        if (lang_accept(ps, ']')) {
            if (ndims != 0)
                lang_parse_fail(ps, *loc, "only the first array dimension may be omitted");
            dims[ndims++] = 0;
            continue;
        }
        dims[ndims++] = parse_array_size(ps, *name, *loc);
        lang_expect(ps, ']', "after the array size");
    }
    const lang_type *t = spec->type;
    if (pointers) {
        if (ndims)
            lang_parse_fail(ps, *loc, "arrays of pointers are not supported");
        return lang_type_pointer(ps->ctx, t, spec->space, spec->is_const);
    }
    size_t bytes = lang_type_size(t);
    for (int i = ndims - 1; i >= 0; i--) {
        if (dims[i] && bytes && bytes > LANG_MAX_ARRAY_BYTES / dims[i])
            lang_parse_fail(ps, *loc, "array '%s' is too large", *name ? *name : "");
        bytes *= dims[i];
        t = lang_type_array(ps->ctx, t, dims[i]);
    }
    return t;
}

const lang_type *lang_parse_type_name(lang_parser *ps)
{
    lang_specs spec;
    lang_parse_specs(ps, &spec);
    const char *name;
    lang_loc loc;
    return lang_parse_declarator(ps, &spec, &name, &loc, 1);
}

static lang_var *new_var(lang_parser *ps, const lang_specs *spec, const lang_type *t,
                         const char *name, lang_loc loc)
{
    lang_var *v = lang_alloc(ps->ctx, sizeof *v);
    v->name = name;
    v->type = t;
    v->loc = loc;
    v->region = -1;
    if (t->kind != LANG_T_POINTER) {
        v->is_const = spec->is_const;
        v->space = spec->has_space ? spec->space : LANG_SPACE_PRIVATE;
    }
    return v;
}

static void parse_params(lang_parser *ps, lang_func *f)
{
    uint32_t cap = 0;
    if (lang_tok_is(ps->tok, "void") && lang_tok_punct(ps->tok->next, ')')) {
        ps->tok = ps->tok->next->next;
        return;
    }
    if (lang_accept(ps, ')'))
        return;
    do {
        lang_specs spec;
        lang_parse_specs(ps, &spec);
        const char *name;
        lang_loc loc;
        const lang_type *t = lang_parse_declarator(ps, &spec, &name, &loc, 0);
        if (f->param_count == LANG_MAX_PARAMS)
            lang_parse_fail(ps, loc, "a function has at most %d parameters", LANG_MAX_PARAMS);
        lang_var *v = new_var(ps, &spec, t, name, loc);
        v->is_param = 1;
        if (t->kind != LANG_T_POINTER && spec.has_space)
            lang_parse_fail(ps, loc, "parameter '%s': an address space qualifies a pointer "
                                     "parameter only", name);
        if (t->kind == LANG_T_ARRAY)
            lang_parse_fail(ps, loc, "parameter '%s': array parameters are not supported; "
                                     "use a global or shared pointer", name);
        if (f->param_count == cap) {
            cap = cap ? cap * 2 : 8;
            lang_var **grown = lang_alloc(ps->ctx, cap * sizeof *grown);
            if (f->param_count)
                memcpy(grown, f->params, f->param_count * sizeof *grown);
            f->params = grown;
        }
        f->params[f->param_count++] = v;
    } while (lang_accept(ps, ','));
    lang_expect(ps, ')', "after the parameters");
}

static void parse_function(lang_parser *ps, const lang_specs *spec, const lang_type *ret,
                           const char *name, lang_loc loc)
{
    lang_func *f = lang_alloc(ps->ctx, sizeof *f);
    f->name = name;
    f->ret = ret;
    f->loc = loc;
    f->is_kernel = spec->is_kernel;
    if (spec->has_space)
        lang_parse_fail(ps, loc, "function '%s' cannot have an address space", name);
    if (ret->kind == LANG_T_ARRAY || ret->kind == LANG_T_POINTER)
        lang_parse_fail(ps, loc, "function '%s' cannot return %s", name,
                        ret->kind == LANG_T_ARRAY ? "an array" : "a pointer");
    parse_params(ps, f);
    if (!lang_accept(ps, ';'))
        f->body = lang_parse_block(ps);
    if (ps->func_tail)
        ps->func_tail->next = f;
    else
        ps->prog->funcs = f;
    ps->func_tail = f;
}

static void add_constant(lang_parser *ps, lang_var *v)
{
    lang_program *prog = ps->prog;
    if (prog->constant_count == ps->constant_capacity) {
        ps->constant_capacity = ps->constant_capacity ? ps->constant_capacity * 2 : 8;
        lang_var **grown = lang_alloc(ps->ctx, ps->constant_capacity * sizeof *grown);
        if (prog->constant_count)
            memcpy(grown, prog->constants, prog->constant_count * sizeof *grown);
        prog->constants = grown;
    }
    prog->constants[prog->constant_count++] = v;
}

static void parse_file_variable(lang_parser *ps, const lang_specs *spec, const lang_type *t,
                                const char *name, lang_loc loc)
{
    for (;;) {
        int is_constant = (spec->has_space && spec->space == LANG_SPACE_CONSTANT) ||
                          (!spec->has_space && spec->is_const && t->kind != LANG_T_POINTER);
        if (!is_constant) {
            lang_error(ps->ctx, loc,
                       "mutable file-scope variable '%s' is not allowed (rule: no %smutable "
                       "globals); declare it 'constant' with an initializer",
                       name, spec->is_static ? "'static' " : "");
        } else if (t->kind == LANG_T_POINTER) {
            lang_error(ps->ctx, loc, "file-scope pointer '%s' is not allowed", name);
        }
        lang_var *v = new_var(ps, spec, t, name, loc);
        v->space = LANG_SPACE_CONSTANT;
        v->is_const = 1;
        if (lang_accept(ps, '='))
            v->init = lang_parse_initializer(ps);
        else if (is_constant)
            lang_error(ps->ctx, loc, "constant '%s' needs an initializer", name);
        if (is_constant)
            add_constant(ps, v);
        if (!lang_accept(ps, ','))
            break;
        t = lang_parse_declarator(ps, spec, &name, &loc, 0);
    }
    lang_expect(ps, ';', "after a file-scope declaration");
}

static void add_typedef(lang_parser *ps, const char *name, const lang_type *t, lang_loc loc)
{
    if (find_typedef(ps, name))
        lang_parse_fail(ps, loc, "redefinition of typedef '%s'", name);
    lang_typedef *td = lang_alloc(ps->ctx, sizeof *td);
    td->name = name;
    td->type = t;
    td->next = ps->typedefs;
    ps->typedefs = td;
    lang_map_put(ps->ctx, &ps->typedef_names, name, td);
    /* typedef struct { ... } name; also answers to `struct name` unless that
     * tag is taken, so one struct is never emitted under two names. */
    if (t->kind == LANG_T_STRUCT && !t->def->name && !find_struct(ps, name)) {
        t->def->name = name;
        lang_map_put(ps->ctx, &ps->struct_names, name, t->def);
    }
}

static void parse_top_level(lang_parser *ps)
{
    lang_specs spec;
    lang_parse_specs(ps, &spec);
    if (lang_accept(ps, ';')) {
        if (spec.type->kind != LANG_T_STRUCT)
            lang_error(ps->ctx, spec.loc, "declaration declares nothing");
        return;
    }
    const char *name;
    lang_loc loc;
    const lang_type *t = lang_parse_declarator(ps, &spec, &name, &loc, 0);
    if (spec.is_typedef) {
        for (;;) {
            add_typedef(ps, name, t, loc);
            if (!lang_accept(ps, ','))
                break;
            t = lang_parse_declarator(ps, &spec, &name, &loc, 0);
        }
        lang_expect(ps, ';', "after a typedef");
        return;
    }
    if (lang_accept(ps, '(')) {
        parse_function(ps, &spec, t, name, loc);
        return;
    }
    if (spec.is_kernel)
        lang_parse_fail(ps, loc, "'kernel' applies to functions only");
    parse_file_variable(ps, &spec, t, name, loc);
}

/* After a syntax error: skip the rest of the top-level declaration that
 * started at start (balanced braces), making progress in any case. */
static void skip_declaration(lang_parser *ps, lang_token *start)
{
    int depth = 0;
    lang_token *t = start;
    while (t->kind != LANG_TK_EOF) {
        if (lang_tok_punct(t, '{')) {
            depth++;
        } else if (lang_tok_punct(t, '}')) {
            if (--depth <= 0) {
                t = t->next;
                if (lang_tok_punct(t, ';'))
                    t = t->next;
                break;
            }
        } else if (lang_tok_punct(t, ';') && depth == 0) {
            t = t->next;
            break;
        }
        t = t->next;
    }
    ps->tok = t;
}

lang_program *lang_parse(lang_ctx *ctx, lang_token *tokens)
{
    lang_parser *ps = lang_alloc(ctx, sizeof *ps);
    ps->ctx = ctx;
    ps->tok = tokens;
    ps->prog = lang_alloc(ctx, sizeof *ps->prog);
    while (ps->tok->kind != LANG_TK_EOF) {
        lang_token *start = ps->tok;
        if (setjmp(ps->recover)) {
            ps->depth = 0;
            skip_declaration(ps, start);
            continue;
        }
        if (ps->tok->kind == LANG_TK_INVALID)
            lang_parse_fail(ps, ps->tok->loc, "unexpected character '%s'", ps->tok->text);
        if (lang_accept(ps, ';'))
            continue;
        parse_top_level(ps);
    }
    return ps->prog;
}
