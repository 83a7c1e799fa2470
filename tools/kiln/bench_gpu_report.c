/* Rows, table and JSON of `kiln bench --suite gpu` and `--suite pocl`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench_gpu.h"

#define PERCENT 100.0

void gpu_row_init(gpu_row *row, const char *section, const char *name, gpu_goal_kind kind,
                  double goal)
{
    memset(row, 0, sizeof *row);
    row->section = section;
    snprintf(row->name, sizeof row->name, "%s", name);
    row->goal_kind = kind;
    row->goal = goal;
}

void gpu_format_time(char *out, size_t size, double ns)
{
    if (ns >= 1e9)
        snprintf(out, size, "%.3f s", ns / 1e9);
    else if (ns >= 1e6)
        snprintf(out, size, "%.3f ms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(out, size, "%.2f us", ns / 1e3);
    else
        snprintf(out, size, "%.0f ns", ns);
}

void gpu_row_finish(gpu_row *row)
{
    if (row->ok && !row->kiln_text[0])
        gpu_format_time(row->kiln_text, sizeof row->kiln_text, row->kiln_ns);
    if (row->ok && !row->base_text[0] && row->baseline_ns > 0)
        gpu_format_time(row->base_text, sizeof row->base_text, row->baseline_ns);
    double ratio = row->baseline_ns > 0 ? row->kiln_ns / row->baseline_ns : 0.0;
    switch (row->goal_kind) {
    case GPU_GOAL_NONE: row->met = false; break;
    case GPU_GOAL_RATIO_MAX: row->met = row->ok && ratio > 0 && ratio <= row->goal; break;
    case GPU_GOAL_SHARE_MIN: row->met = row->ok && row->share >= row->goal; break;
    case GPU_GOAL_TIME_MAX: row->met = row->ok && row->kiln_ns < row->goal; break;
    case GPU_GOAL_EXTRA_MAX:
        row->met = row->ok && row->kiln_ns - row->baseline_ns <= row->goal;
        break;
    }
}

void gpu_row_times(gpu_row *row, bool ok, const char *detail, double kiln_ns,
                   double baseline_ns)
{
    row->ok = ok && kiln_ns > 0 && baseline_ns > 0;
    snprintf(row->detail, sizeof row->detail, "%s", detail);
    row->kiln_ns = kiln_ns;
    row->baseline_ns = baseline_ns;
    if (row->ok && row->share == 0)
        row->share = baseline_ns / kiln_ns;
    gpu_row_finish(row);
}

void gpu_row_from_bench(gpu_row *row, const char *section, const bench_row *from)
{
    gpu_row_init(row, section, from->name, GPU_GOAL_TIME_MAX, from->goal);
    row->ok = from->ok;
    row->kiln_ns = from->kiln_ns;
    snprintf(row->detail, sizeof row->detail, "%s", from->detail);
    gpu_row_finish(row);
}

/* The ratio-or-share column. */
static void format_value(char *out, size_t size, const gpu_row *r)
{
    snprintf(out, size, "-");
    if (!r->ok)
        return;
    if (r->goal_kind == GPU_GOAL_SHARE_MIN || (r->share > 0 && r->baseline_ns == 0))
        snprintf(out, size, "%.1f%%", r->share * PERCENT);
    else if (r->goal_kind == GPU_GOAL_EXTRA_MAX)
        snprintf(out, size, "%+.2f us", (r->kiln_ns - r->baseline_ns) / 1e3);
    else if (r->baseline_ns > 0)
        snprintf(out, size, "%.3f", r->kiln_ns / r->baseline_ns);
}

static void format_goal(char *out, size_t size, const gpu_row *r)
{
    char t[32];
    switch (r->goal_kind) {
    case GPU_GOAL_NONE: snprintf(out, size, "-"); break;
    case GPU_GOAL_RATIO_MAX: snprintf(out, size, "<= %.2f", r->goal); break;
    case GPU_GOAL_SHARE_MIN: snprintf(out, size, ">= %.0f%%", r->goal * PERCENT); break;
    case GPU_GOAL_TIME_MAX:
        gpu_format_time(t, sizeof t, r->goal);
        snprintf(out, size, "< %s", t);
        break;
    case GPU_GOAL_EXTRA_MAX:
        gpu_format_time(t, sizeof t, r->goal);
        snprintf(out, size, "<= +%s", t);
        break;
    }
}

static const char *met_text(const gpu_row *r)
{
    if (!r->ok)
        return "FAIL";
    if (r->goal_kind == GPU_GOAL_NONE)
        return "-";
    return r->met ? "yes" : "NO";
}

void gpu_report_table(const char *heading, const gpu_row *rows, unsigned count)
{
    printf("%s\n", heading);
    const char *section = NULL;
    for (unsigned i = 0; i < count; i++) {
        const gpu_row *r = &rows[i];
        if (!section || strcmp(section, r->section) != 0) {
            section = r->section;
            printf("\n%s\n%-34s %14s %14s %10s %12s %s\n", section, "case", "kiln", "baseline",
                   "ratio/share", "goal", "met");
        }
        char value[32];
        char goal[48];
        format_value(value, sizeof value, r);
        format_goal(goal, sizeof goal, r);
        printf("%-34s %14s %14s %10s %12s %s\n", r->name, r->ok ? r->kiln_text : "-",
               r->ok && r->base_text[0] ? r->base_text : "-", value, goal, met_text(r));
    }
    printf("\nchecks (or why a case could not run):\n");
    section = NULL;
    for (unsigned i = 0; i < count; i++) {
        if (!section || strcmp(section, rows[i].section) != 0) {
            section = rows[i].section;
            printf(" %s\n", section);
        }
        printf("  %-34s %s\n", rows[i].name, rows[i].detail);
    }
}

void gpu_report_json(const char *suite, const char *device, uint64_t seed, const gpu_row *rows,
                     unsigned count)
{
    static const char *const kinds[] = { "none", "ratio_max", "share_min", "time_ns_below",
                                         "extra_ns_max" };
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "suite", suite);
    cJSON_AddStringToObject(root, "device", device);
    cJSON_AddNumberToObject(root, "seed", (double)seed);
    cJSON *list = cJSON_AddArrayToObject(root, "cases");
    for (unsigned i = 0; i < count; i++) {
        const gpu_row *r = &rows[i];
        cJSON *obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "section", r->section);
        cJSON_AddStringToObject(obj, "name", r->name);
        cJSON_AddBoolToObject(obj, "ok", r->ok);
        cJSON_AddStringToObject(obj, "check", r->detail);
        if (r->ok) {
            cJSON_AddNumberToObject(obj, "kiln_ns", r->kiln_ns);
            cJSON_AddStringToObject(obj, "kiln", r->kiln_text);
            if (r->baseline_ns > 0) {
                cJSON_AddNumberToObject(obj, "baseline_ns", r->baseline_ns);
                cJSON_AddNumberToObject(obj, "ratio", r->kiln_ns / r->baseline_ns);
            }
            if (r->base_text[0])
                cJSON_AddStringToObject(obj, "baseline", r->base_text);
            if (r->share > 0)
                cJSON_AddNumberToObject(obj, "share", r->share);
        }
        cJSON *goal = cJSON_AddObjectToObject(obj, "goal");
        cJSON_AddStringToObject(goal, "kind", kinds[r->goal_kind]);
        cJSON_AddNumberToObject(goal, "value", r->goal);
        cJSON_AddBoolToObject(obj, "met", r->met);
        cJSON_AddItemToArray(list, obj);
    }
    char *text = cJSON_Print(root);
    if (text)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(root);
}

int gpu_report_status(const gpu_row *rows, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (!rows[i].ok)
            return CLI_EXIT_FAILURE;
    return CLI_EXIT_OK;
}
