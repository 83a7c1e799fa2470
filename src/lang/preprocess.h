/* Shared between the preprocessor's files and the parser. */
#ifndef KILN_LANG_PREPROCESS_H
#define KILN_LANG_PREPROCESS_H

#include "ast.h"

/* Reads an integer literal with optional u/l suffixes; 0 if malformed or
 * too large for 64 bits. */
int lang_int_literal(const char *text, uint64_t *value, int *is_unsigned, int *is_long);
/* Reads 'c' or a simple escape; 0 if malformed. */
int lang_char_literal(const char *text, uint64_t *value);
/* Evaluates a fully expanded #if line (ends with an EOF token). */
int lang_pp_evaluate(lang_ctx *ctx, lang_token *tokens, lang_loc at, int *value);

#endif
