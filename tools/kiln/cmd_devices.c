/* kiln devices: every device of every backend, as a table or JSON. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define BYTES_PER_MIB (1024.0 * 1024.0)

static const char *health_name(kiln_health health)
{
    switch (health) {
    case KILN_HEALTH_HEALTHY: return "healthy";
    case KILN_HEALTH_DEGRADED: return "degraded";
    case KILN_HEALTH_LOST: return "lost";
    }
    return "unknown";
}

static void print_help(void)
{
    printf("usage: kiln devices [--json] [--verbose]\n\n"
           "Lists every device kiln found: index and selector (both usable as\n"
           "--device), backend, memory, compute units, health and name; '*' marks\n"
           "the default device (KILN_DEVICE overrides it).\n\n"
           "  --json     print a JSON object {\"devices\": [...], \"backends\": [...]}\n"
           "  --verbose  also list every backend, with why one is unavailable\n");
}

static cJSON *device_json(uint32_t index, const kiln_device_info *info)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "index", index);
    cJSON_AddStringToObject(obj, "backend", kiln_backend_name(info->backend));
    cJSON_AddNumberToObject(obj, "backend_index", info->backend_index);
    cJSON_AddStringToObject(obj, "name", info->name);
    cJSON_AddStringToObject(obj, "vendor", info->vendor);
    cJSON_AddStringToObject(obj, "driver_version", info->driver_version);
    cJSON_AddStringToObject(obj, "architecture", info->architecture);
    cJSON_AddNumberToObject(obj, "memory_bytes", (double)info->memory_bytes);
    cJSON_AddNumberToObject(obj, "compute_units", info->compute_units);
    cJSON_AddNumberToObject(obj, "max_work_group_size", info->max_work_group_size);
    cJSON_AddNumberToObject(obj, "shared_memory_bytes", (double)info->shared_memory_bytes);
    cJSON_AddNumberToObject(obj, "subgroup_size", info->subgroup_size);
    cJSON *caps = cJSON_AddArrayToObject(obj, "capabilities");
    if (info->capabilities & KILN_CAP_DOUBLE)
        cJSON_AddItemToArray(caps, cJSON_CreateString("double"));
    if (info->capabilities & KILN_CAP_FLOAT_ATOMICS)
        cJSON_AddItemToArray(caps, cJSON_CreateString("float_atomics"));
    if (info->capabilities & KILN_CAP_SUBGROUPS)
        cJSON_AddItemToArray(caps, cJSON_CreateString("subgroups"));
    if (info->capabilities & KILN_CAP_INT64_ATOMICS)
        cJSON_AddItemToArray(caps, cJSON_CreateString("int64_atomics"));
    cJSON_AddStringToObject(obj, "health", health_name(info->health));
    return obj;
}

static cJSON *backend_json(const kiln_backend_info *b)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "backend", kiln_backend_name(b->backend));
    cJSON_AddStringToObject(obj, "status", kiln_status_name(b->status));
    cJSON_AddNumberToObject(obj, "devices", b->device_count);
    cJSON_AddStringToObject(obj, "reason", b->reason);
    return obj;
}

/* One line per backend: opened with N devices, or unavailable and why. */
static void list_backends(kiln_context *ctx, cJSON *list, bool json)
{
    if (!json)
        printf("\nbackends:\n");
    for (uint32_t i = 0; i < kiln_backend_count(ctx); i++) {
        kiln_backend_info b;
        if (kiln_backend_get_info(ctx, i, &b) != KILN_OK)
            continue;
        if (json)
            cJSON_AddItemToArray(list, backend_json(&b));
        else if (b.status == KILN_OK)
            printf("  %-8s %u device%s\n", kiln_backend_name(b.backend), b.device_count,
                   b.device_count == 1 ? "" : "s");
        else
            printf("  %-8s unavailable: %s\n", kiln_backend_name(b.backend), b.reason);
    }
}

/* Who the work runs as, and under which policy (or none). */
static void report_governance(kiln_context *ctx, cJSON *root, bool json)
{
    kiln_governance_info g;
    if (kiln_context_get_governance(ctx, &g) != KILN_OK)
        return;
    if (json) {
        cJSON *obj = cJSON_AddObjectToObject(root, "governance");
        cJSON_AddBoolToObject(obj, "enabled", g.enabled != 0);
        cJSON_AddStringToObject(obj, "principal", g.principal);
        cJSON_AddStringToObject(obj, "policy", g.policy);
        cJSON_AddStringToObject(obj, "policy_sha256", g.policy_sha256);
        cJSON_AddStringToObject(obj, "audit_log", g.audit_log);
        return;
    }
    if (!g.enabled)
        printf("governance: off (no policy: KILN_POLICY is not set); work runs as the local "
               "user '%s'\n", g.principal);
    else
        printf("governance: policy %s (sha256 %.16s...), principal '%s', audit log %s\n",
               g.policy, g.policy_sha256, g.principal, g.audit_log[0] ? g.audit_log : "none");
}

int cmd_devices(int argc, char **argv)
{
    static const struct option options[] = {
        { "json", no_argument, NULL, 'j' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool json = false, verbose = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "hv", options, NULL)) != -1) {
        if (opt == 'j') {
            json = true;
        } else if (opt == 'v') {
            verbose = true;
        } else if (opt == 'h') {
            print_help();
            return CLI_EXIT_OK;
        } else {
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kiln devices: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }

    kiln_context *ctx = NULL;
    kiln_status st = kiln_context_create(&ctx, NULL);
    if (st != KILN_OK) {
        cli_report_status("cannot create a context", st);
        return CLI_EXIT_FAILURE;
    }
    int rc = CLI_EXIT_OK;
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "devices");
    if (!json)
        printf("%-7s %-10s %12s %6s %-9s %s\n", "index", "selector", "memory MiB", "units",
               "health", "name");
    kiln_device *chosen = NULL;
    if (kiln_device_default(ctx, &chosen) != KILN_OK)
        chosen = NULL;
    uint32_t count = kiln_device_count(ctx);
    for (uint32_t i = 0; i < count; i++) {
        kiln_device *dev = NULL;
        kiln_device_info info;
        st = kiln_device_get(ctx, i, &dev);
        if (st == KILN_OK)
            st = kiln_device_get_info(dev, &info);
        if (st != KILN_OK) {
            cli_report_status("cannot describe a device", st);
            rc = CLI_EXIT_FAILURE;
            continue;
        }
        char selector[32];
        snprintf(selector, sizeof selector, "%s:%" PRIu32, kiln_backend_name(info.backend),
                 info.backend_index);
        if (json) {
            cJSON *obj = device_json(i, &info);
            cJSON_AddStringToObject(obj, "selector", selector);
            cJSON_AddBoolToObject(obj, "default", dev == chosen);
            cJSON_AddItemToArray(list, obj);
        } else {
            printf("%-" PRIu32 "%-6s %-10s %12.0f %6" PRIu32 " %-9s %s\n", i,
                   dev == chosen ? "*" : "", selector, (double)info.memory_bytes / BYTES_PER_MIB,
                   info.compute_units, health_name(info.health), info.name);
        }
    }
    if (json || verbose)
        list_backends(ctx, cJSON_AddArrayToObject(root, "backends"), json);
    report_governance(ctx, root, json);
    if (json) {
        char *text = cJSON_Print(root);
        if (text)
            printf("%s\n", text);
        else
            rc = CLI_EXIT_FAILURE;
        free(text);
    }
    cJSON_Delete(root);
    kiln_context_destroy(ctx);
    return rc;
}
