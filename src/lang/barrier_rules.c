/* The barrier rules every backend shares, checked once on the AST so a
 * kernel is accepted by all backends or by none: barrier() only in a
 * kernel body, never in a switch, and no break/continue out of a loop that
 * contains barrier() (sema checks the first two; this file the last). */
#include "emit.h"

/* In a barrier-free statement at group level, a break or continue that is
 * not inside a loop (or switch, for break) of that statement would leave a
 * loop that contains barrier(). */
static void check_escape(lang_ctx *ctx, const lang_stmt *s, int loops, int switches)
{
    if (!s)
        return;
    switch (s->kind) {
    case LANG_S_BREAK:
    case LANG_S_CONTINUE:
        if (loops == 0 && (s->kind == LANG_S_CONTINUE || switches == 0))
            lang_error(ctx, s->loc,
                       "'%s' out of a loop that contains barrier() is not supported (rule: "
                       "barrier placement): make the loop condition uniform instead",
                       s->kind == LANG_S_BREAK ? "break" : "continue");
        return;
    case LANG_S_BLOCK:
        for (uint32_t i = 0; i < s->item_count; i++)
            check_escape(ctx, s->items[i], loops, switches);
        return;
    case LANG_S_IF:
        check_escape(ctx, s->body, loops, switches);
        check_escape(ctx, s->else_body, loops, switches);
        return;
    case LANG_S_FOR: case LANG_S_WHILE: case LANG_S_DO:
        check_escape(ctx, s->body, loops + 1, switches);
        return;
    case LANG_S_SWITCH:
        check_escape(ctx, s->body, loops, switches + 1);
        return;
    default:
        return;
    }
}

static void check_group(lang_ctx *ctx, const lang_stmt *s, int in_barrier_loop)
{
    if (!s->has_barrier) {
        if (in_barrier_loop)
            check_escape(ctx, s, 0, 0);
        return;
    }
    switch (s->kind) {
    case LANG_S_BLOCK:
        for (uint32_t i = 0; i < s->item_count; i++)
            check_group(ctx, s->items[i], in_barrier_loop);
        return;
    case LANG_S_IF:
        check_group(ctx, s->body, in_barrier_loop);
        if (s->else_body)
            check_group(ctx, s->else_body, in_barrier_loop);
        return;
    case LANG_S_FOR: case LANG_S_WHILE: case LANG_S_DO:
        check_group(ctx, s->body, 1);
        return;
    default:
        return;
    }
}

void lang_check_barrier_rules(lang_ctx *ctx, lang_program *prog)
{
    for (lang_func *f = prog->funcs; f; f = f->next)
        if (f->body && f->is_kernel && f->uses_barrier)
            check_group(ctx, f->body, 0);
}

