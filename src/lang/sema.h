/* Sema state shared by sema.c (declarations, statements, rules),
 * sema_expr.c, sema_builtin.c and names.c. */
#ifndef KILN_LANG_SEMA_H
#define KILN_LANG_SEMA_H

#include "ast.h"

/* A chained hash map from names to arena objects. */
#define LANG_MAP_BUCKETS 1024

typedef struct lang_map_entry {
    const char *key;
    void *value;
    struct lang_map_entry *next;
} lang_map_entry;

typedef struct lang_map {
    lang_map_entry *buckets[LANG_MAP_BUCKETS];
} lang_map;

void *lang_map_get(const lang_map *m, const char *key);
void lang_map_put(lang_ctx *ctx, lang_map *m, const char *key, void *value);

/* A name in scope; bindings of inner scopes shadow outer ones. */
typedef struct lang_binding {
    lang_var *var;
    struct lang_binding *shadowed;   /* same name, outer scope */
    struct lang_binding *scope_next; /* next binding made, popped in order */
    int scope_level;
} lang_binding;

typedef struct lang_sema {
    lang_ctx *ctx;
    lang_program *prog;
    lang_map funcs;
    lang_map names;
    lang_binding *bindings;  /* most recent first */
    int scope_level;
    lang_func *func;         /* function being checked */
    int loops;
    int switches;
    int expr_is_statement;   /* the call being checked is a whole statement */
} lang_sema;

const lang_type *lang_check_expr(lang_sema *s, lang_expr *e);
/* Checks e and converts it for a destination of type to; context names the
 * place in messages ("initializer of 'x'", "argument 2 of 'f'"). */
void lang_check_convert(lang_sema *s, lang_expr *e, const lang_type *to, const char *context);
const lang_type *lang_decay(lang_sema *s, lang_expr *e);
/* sema_access.c */
const lang_type *lang_check_call(lang_sema *s, lang_expr *e);
const lang_type *lang_check_index(lang_sema *s, lang_expr *e);
const lang_type *lang_check_member(lang_sema *s, lang_expr *e);
const lang_type *lang_arith_common(const lang_type *a, const lang_type *b);
int lang_has_side_effects(const lang_expr *e);
const lang_type *lang_check_builtin(lang_sema *s, lang_expr *call, lang_builtin b);
lang_builtin lang_builtin_lookup(const char *name);
void lang_require_double(lang_sema *s, const lang_type *t, lang_loc loc);

/* Emitted spelling of a user identifier: as written, or kiln_u_NAME when
 * it would collide with a keyword or builtin of some target dialect. */
const char *lang_emit_ident(lang_ctx *ctx, const char *name);

#endif
