/* Prelude pieces shared by the C and CUDA dialects (emit_clike.c). */
#ifndef KILN_LANG_EMIT_CLIKE_H
#define KILN_LANG_EMIT_CLIKE_H

#include "emit.h"

const char *lang_clike_vector_name(lang_emitter *em, const lang_type *v);
void lang_clike_vector_op(lang_emitter *em, int op, const lang_type *v, const lang_expr *a,
                          const lang_expr *b);
void lang_clike_make(lang_emitter *em, const lang_expr *call);
void lang_clike_geometric(lang_emitter *em, const lang_expr *call);
void lang_clike_minmax(lang_emitter *em, const lang_expr *call);
/* sqrt, exp, ... with an f suffix for float; rsqrt as 1/sqrt unless native. */
void lang_clike_math(lang_emitter *em, const lang_expr *call, int native_rsqrt);
const char *lang_clike_math_name(lang_builtin b);

#endif
