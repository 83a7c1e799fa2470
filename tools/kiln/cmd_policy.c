/* kiln policy check FILE [--devices]
 * kiln policy explain FILE --principal P [--role R]... --action A --device D
 *                     [--bytes N] [--priority P] [--time HH:MM] [--offline]
 *
 * check validates a policy file (errors name file:line:column; warnings are
 * printed, and do not fail). explain prints the decision for one request and
 * the rule that made it. The device is described from a context (its real
 * index, class and name) unless --offline is given or no such device exists
 * here; then it is described from its text alone, and what the text does not
 * say (class, name, index) matches no selector about it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "govern/policy.h"
#include "util/fail.h"

static const char check_usage[] =
    "usage: kiln policy check FILE [--devices]\n"
    "  validates a policy file; --devices also lists device selectors that match no\n"
    "  device of this machine\n";
static const char explain_usage[] =
    "usage: kiln policy explain FILE --principal NAME [--role ROLE]... --action ACTION\n"
    "                           --device DEVICE [--bytes N] [--priority low|normal|high]\n"
    "                           [--time HH:MM] [--offline]\n"
    "  DEVICE: cpu:0, cuda:0, opencl:1, ... or index:N. Exit status 0: allowed,\n"
    "  3: denied, 1: the policy is invalid, 2: wrong command line\n";

static const int SECONDS_PER_HOUR = 3600;
static const int SECONDS_PER_MINUTE = 60;

static policy *load_or_report(const char *path)
{
    policy *p = NULL;
    if (policy_load_file(path, &p) != KILN_OK) {
        fprintf(stderr, "kiln: policy: %s\n", util_last_error());
        return NULL;
    }
    return p;
}

static void describe_device(const kiln_device *dev, uint32_t index, govern_device_desc *out,
                            kiln_device_info *info)
{
    kiln_device_get_info(dev, info);
    *out = (govern_device_desc){ index, info->backend, info->backend_index, info->name,
                                 govern_class_of_kind(info->kind) };
}

static void report_unmatched(void *arg, const char *rule, const char *selector,
                             unsigned long line)
{
    printf("%s:%lu: warning: rule '%s': device selector '%s' matches no device here\n",
           (const char *)arg, line, rule, selector);
}

static int check_devices(const policy *p, const char *path)
{
    kiln_context *ctx = NULL;
    kiln_status st = kiln_context_create(&ctx, NULL);
    if (st != KILN_OK) {
        cli_report_status("cannot create a context", st);
        return CLI_EXIT_FAILURE;
    }
    uint32_t count = kiln_device_count(ctx);
    govern_device_desc *descs = calloc(count ? count : 1, sizeof *descs);
    kiln_device_info *infos = calloc(count ? count : 1, sizeof *infos);
    for (uint32_t i = 0; descs && infos && i < count; i++) {
        kiln_device *dev = NULL;
        if (kiln_device_get(ctx, i, &dev) == KILN_OK)
            describe_device(dev, i, &descs[i], &infos[i]);
    }
    if (descs && infos)
        policy_unmatched_selectors(p, descs, count, report_unmatched, (void *)path);
    free(descs);
    free(infos);
    kiln_context_destroy(ctx);
    return CLI_EXIT_OK;
}

static int policy_check(int argc, char **argv)
{
    bool devices = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--devices") == 0)
            devices = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(check_usage, stdout);
            return CLI_EXIT_OK;
        } else if (!path && argv[i][0] != '-')
            path = argv[i];
        else {
            fputs(check_usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!path) {
        fputs(check_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    policy *p = load_or_report(path);
    if (!p)
        return CLI_EXIT_FAILURE;
    for (uint32_t i = 0; i < policy_warning_count(p); i++)
        printf("%s: warning\n", policy_warning(p, i));
    char hash[2 * POLICY_HASH_BYTES + 1];
    sodium_bin2hex(hash, sizeof hash, policy_hash(p), POLICY_HASH_BYTES);
    printf("%s: ok: %u rules, %u quotas, sha256 %s\n", path, policy_rule_count(p),
           policy_quota_count(p), hash);
    int rc = devices ? check_devices(p, path) : CLI_EXIT_OK;
    policy_release(p);
    return rc;
}

typedef struct explain_args {
    const char *path, *device, *action;
    govern_principal who;
    policy_conditions_in in;
    bool offline;
} explain_args;

static bool parse_priority(const char *text, kiln_priority *out)
{
    if (strcmp(text, "low") == 0)
        *out = KILN_PRIORITY_LOW;
    else if (strcmp(text, "normal") == 0)
        *out = KILN_PRIORITY_NORMAL;
    else if (strcmp(text, "high") == 0)
        *out = KILN_PRIORITY_HIGH;
    else
        return false;
    return true;
}

/* "HH:MM" as seconds into day 0 (a UTC time on 1970-01-01). */
static bool parse_time(const char *text, int64_t *out)
{
    unsigned h, m;
    char extra;
    if (sscanf(text, "%2u:%2u%c", &h, &m, &extra) != 2 || h > 23 || m > 59)
        return false;
    *out = (int64_t)h * SECONDS_PER_HOUR + (int64_t)m * SECONDS_PER_MINUTE;
    return true;
}

static bool parse_explain(int argc, char **argv, explain_args *a)
{
    static const struct option options[] = {
        { "principal", required_argument, NULL, 'p' }, { "role", required_argument, NULL, 'r' },
        { "action", required_argument, NULL, 'a' },    { "device", required_argument, NULL, 'd' },
        { "bytes", required_argument, NULL, 'b' },     { "priority", required_argument, NULL, 'P' },
        { "time", required_argument, NULL, 't' },      { "offline", no_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    a->in = (policy_conditions_in){ 0, KILN_PRIORITY_NORMAL, -1, NULL };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'p': a->who.name = optarg; break;
        case 'r':
            if (a->who.role_count == GOVERN_ROLES_MAX)
                return false;
            a->who.roles[a->who.role_count++] = optarg;
            break;
        case 'a': a->action = optarg; break;
        case 'd': a->device = optarg; break;
        case 'b':
            a->in.bytes = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-')
                return false;
            break;
        case 'P':
            if (!parse_priority(optarg, &a->in.priority))
                return false;
            break;
        case 't':
            if (!parse_time(optarg, &a->in.utc_seconds))
                return false;
            break;
        case 'o': a->offline = true; break;
        default: return false;
        }
    }
    if (optind + 1 != argc || !a->who.name || !a->action || !a->device)
        return false;
    a->path = argv[optind];
    return true;
}

/* From the text alone: "cuda:0" gives backend and backend index, "index:N"
 * the context index; class and name stay unknown. */
static bool describe_from_text(const char *text, govern_device_desc *out)
{
    *out = (govern_device_desc){ GOVERN_INDEX_UNKNOWN, 0, GOVERN_INDEX_UNKNOWN, "",
                                 GOVERN_CLASS_UNKNOWN };
    unsigned n;
    char extra;
    if (sscanf(text, "index:%u%c", &n, &extra) == 1) {
        out->index = n;
        return true;
    }
    const char *colon = strchr(text, ':');
    if (!colon || !govern_backend_parse(text, (size_t)(colon - text), &out->backend) ||
        sscanf(colon + 1, "%u%c", &n, &extra) != 1) {
        out->backend = 0;
        return false;
    }
    out->backend_index = n;
    /* The CPU backend's devices are CPUs by definition. */
    if (out->backend == KILN_BACKEND_CPU)
        out->device_class = GOVERN_CLASS_CPU;
    return true;
}

/* Resolves the device through a context; false if it is not here. */
static bool describe_from_context(const char *text, kiln_context **ctx, govern_device_desc *out,
                                  kiln_device_info *info)
{
    if (kiln_context_create(ctx, NULL) != KILN_OK)
        return false;
    const char *selector = strncmp(text, "index:", 6) == 0 ? text + 6 : text;
    kiln_device *dev = NULL;
    if (kiln_device_find(*ctx, selector, &dev) != KILN_OK)
        return false;
    for (uint32_t i = 0; i < kiln_device_count(*ctx); i++) {
        kiln_device *other = NULL;
        if (kiln_device_get(*ctx, i, &other) == KILN_OK && other == dev) {
            describe_device(dev, i, out, info);
            return true;
        }
    }
    return false;
}

static int policy_explain(int argc, char **argv)
{
    explain_args a = { 0 };
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(explain_usage, stdout);
        return CLI_EXIT_OK;
    }
    govern_action action;
    const char *admin = NULL;
    if (!parse_explain(argc, argv, &a) || !govern_action_parse(a.action, &action, &admin) ||
        (admin && strcmp(admin, "*") == 0)) {
        fputs(explain_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    a.in.admin_name = admin;
    policy *p = load_or_report(a.path);
    if (!p)
        return CLI_EXIT_FAILURE;
    govern_device_desc dev;
    kiln_device_info info;
    kiln_context *ctx = NULL;
    const char *source = "this machine";
    if (a.offline || !describe_from_context(a.device, &ctx, &dev, &info)) {
        source = "its text alone";
        if (!describe_from_text(a.device, &dev)) {
            fprintf(stderr, "kiln: policy: device '%s' is not cpu:N, cuda:N, opencl:N, metal:N "
                            "or index:N\n", a.device);
            kiln_context_destroy(ctx);
            policy_release(p);
            return CLI_EXIT_USAGE;
        }
    }
    policy_decision d = policy_decide(p, &a.who, &dev, action, &a.in);
    char line[512];
    printf("%s\n", policy_decision_format(&d, line, sizeof line));
    printf("decision: %s\nrule: %s\nreason: %s\n", d.allow ? "allow" : "deny", d.rule, d.reason);
    if (d.near_rule)
        printf("nearest allow rule: %s (%s does not hold)\n", d.near_rule,
               policy_condition_name(d.failed));
    if (govern_principal_check(&a.who) != KILN_OK)
        printf("principal: %s\n", util_last_error());
    printf("device: %s described from %s: backend %s, class %s, name '%s'", a.device, source,
           dev.backend ? kiln_backend_name(dev.backend) : "unknown",
           govern_class_name(dev.device_class), dev.name);
    if (dev.index != GOVERN_INDEX_UNKNOWN)
        printf(", index %u", dev.index);
    printf("\n");
    kiln_context_destroy(ctx);
    policy_release(p);
    return d.allow ? CLI_EXIT_OK : CLI_EXIT_DENIED;
}

int cmd_policy(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return policy_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "explain") == 0)
        return policy_explain(argc - 1, argv + 1);
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    fputs(check_usage, help ? stdout : stderr);
    fputs(explain_usage, help ? stdout : stderr);
    return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}
