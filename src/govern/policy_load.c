/* Loading a policy file: libyaml builds the document tree (with line and
 * column marks), this file walks it into a policy and refuses anything
 * unknown, so that a typo never silently widens access. */
#include "policy_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The only format version this loader reads. */
#define POLICY_FORMAT_VERSION 1u

static atomic_uint_fast64_t next_generation = 1;

/* "FILE:LINE:COLUMN: " and the message, as errors and warnings read. */
#define POLICY_NOTE_TEXT (POLICY_ORIGIN_TEXT + POLICY_MESSAGE_TEXT + 2)

static void format_note(const policy_loader *ld, const yaml_node_t *node,
                        char out[POLICY_NOTE_TEXT], const char *fmt, va_list ap)
{
    char where[POLICY_ORIGIN_TEXT], what[POLICY_MESSAGE_TEXT];
    snprintf(where, sizeof where, "%s:%lu:%lu", ld->origin,
             (unsigned long)node->start_mark.line + 1, (unsigned long)node->start_mark.column + 1);
    vsnprintf(what, sizeof what, fmt, ap);
    snprintf(out, POLICY_NOTE_TEXT, "%s: %s", where, what);
}

kiln_status policy_load_fail(const policy_loader *ld, const yaml_node_t *node, const char *fmt,
                             ...)
{
    char note[POLICY_NOTE_TEXT];
    va_list ap;
    va_start(ap, fmt);
    format_note(ld, node, note, fmt, ap);
    va_end(ap);
    return util_fail(KILN_ERR_POLICY, "%s", note);
}

bool policy_load_warn(policy_loader *ld, const yaml_node_t *node, const char *fmt, ...)
{
    char note[POLICY_NOTE_TEXT];
    va_list ap;
    va_start(ap, fmt);
    format_note(ld, node, note, fmt, ap);
    va_end(ap);
    policy *p = ld->p;
    char **grown = realloc(p->warnings, (p->warning_count + 1) * sizeof *grown);
    if (!grown)
        return false;
    p->warnings = grown;
    char *line = strdup(note);
    if (!line)
        return false;
    p->warnings[p->warning_count++] = line;
    return true;
}

static yaml_node_t *node_at(policy_loader *ld, int index)
{
    return yaml_document_get_node(&ld->doc, index);
}

/* Counts the entries of a list against POLICY_ENTRIES_MAX. */
static kiln_status count_entries(policy_loader *ld, const yaml_node_t *list, size_t n)
{
    if (n > POLICY_ENTRIES_MAX - ld->entries)
        return policy_load_fail(ld, list, "the policy has more than %u list entries",
                                POLICY_ENTRIES_MAX);
    ld->entries += (uint32_t)n;
    return KILN_OK;
}

/* A list of principal or role names. "*" is allowed only where star is
 * non-NULL, and then sets *star instead of being stored. */
static kiln_status load_names(policy_loader *ld, const yaml_node_t *node, const char *what,
                              bool *star, char ***out, uint32_t *count)
{
    if (node->type != YAML_SEQUENCE_NODE)
        return policy_load_fail(ld, node, "%s must be a list", what);
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    kiln_status counted = count_entries(ld, node, n);
    if (counted != KILN_OK)
        return counted;
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return policy_load_fail(ld, node, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = node_at(ld, node->data.sequence.items.start[i]);
        kiln_status st;
        const char *name = policy_load_scalar(ld, item, what, &st);
        if (!name)
            return st;
        if (strcmp(name, "*") == 0) {
            if (!star)
                return policy_load_fail(ld, item, "'*' is not allowed in %s", what);
            *star = true;
            continue;
        }
        if (govern_name_check(name) != KILN_OK)
            return policy_load_fail(ld, item, "%s: %s", what, util_last_error());
        if (!((*out)[(*count)++] = strdup(name)))
            return policy_load_fail(ld, item, "out of memory");
    }
    return KILN_OK;
}

static kiln_status load_roles(policy_loader *ld, const yaml_node_t *node)
{
    if (node->type != YAML_MAPPING_NODE)
        return policy_load_fail(ld, node, "roles must be a mapping of role: [principals]");
    policy *p = ld->p;
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    p->roles = calloc(n ? n : 1, sizeof *p->roles);
    if (!p->roles)
        return policy_load_fail(ld, node, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *pair = &node->data.mapping.pairs.start[i];
        yaml_node_t *key = node_at(ld, pair->key);
        kiln_status st;
        const char *name = policy_load_scalar(ld, key, "a role name", &st);
        if (!name)
            return st;
        if (govern_name_check(name) != KILN_OK)
            return policy_load_fail(ld, key, "role name: %s", util_last_error());
        for (uint32_t j = 0; j < p->role_count; j++)
            if (p->roles[j].name && strcmp(p->roles[j].name, name) == 0)
                return policy_load_fail(ld, key, "role '%s' is defined twice", name);
        policy_role *role = &p->roles[p->role_count++];
        if (!(role->name = strdup(name)))
            return policy_load_fail(ld, key, "out of memory");
        st = load_names(ld, node_at(ld, pair->value), "role members", NULL, &role->members,
                        &role->member_count);
        if (st != KILN_OK)
            return st;
    }
    return KILN_OK;
}

static kiln_status load_devices(policy_loader *ld, const yaml_node_t *node, policy_rule *rule)
{
    if (node->type != YAML_SEQUENCE_NODE)
        return policy_load_fail(ld, node, "devices must be a list");
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n == 0)
        return policy_load_fail(ld, node, "devices is empty: the rule would match no device");
    kiln_status counted = count_entries(ld, node, n);
    if (counted != KILN_OK)
        return counted;
    rule->devices = calloc(n, sizeof *rule->devices);
    if (!rule->devices)
        return policy_load_fail(ld, node, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = node_at(ld, node->data.sequence.items.start[i]);
        kiln_status st;
        const char *text = policy_load_scalar(ld, item, "a device selector", &st);
        if (!text)
            return st;
        const char *why = NULL;
        policy_device_selector *sel = &rule->devices[rule->device_count];
        bool parsed = policy_selector_parse(text, sel, &why);
        rule->device_count++; /* counted even when it failed, so policy_free frees it */
        if (!parsed)
            return policy_load_fail(ld, item, "device selector '%s': %s", text, why);
        if (!(sel->text = strdup(text)))
            return policy_load_fail(ld, item, "out of memory");
    }
    return KILN_OK;
}

static kiln_status load_actions(policy_loader *ld, const yaml_node_t *node, policy_rule *rule)
{
    if (node->type != YAML_SEQUENCE_NODE)
        return policy_load_fail(ld, node, "actions must be a list");
    if (node->data.sequence.items.top == node->data.sequence.items.start)
        return policy_load_fail(ld, node, "actions is empty: the rule would match nothing");
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top;
         it++) {
        yaml_node_t *item = node_at(ld, *it);
        kiln_status st;
        const char *text = policy_load_scalar(ld, item, "an action", &st);
        if (!text)
            return st;
        govern_action action;
        const char *admin = NULL;
        if (!govern_action_parse(text, &action, &admin))
            return policy_load_fail(ld, item,
                                    "unknown action '%s' (expected device.use, program.build, "
                                    "buffer.alloc, buffer.copy, kernel.launch, queue.priority, "
                                    "p2p, collective, session.open, admin.* or admin.NAME)",
                                    text);
        rule->actions |= 1u << action;
        if (admin && strcmp(admin, "*") == 0)
            rule->admin_any = true;
        for (uint32_t i = 0; admin && govern_admin_names[i]; i++)
            if (admin == govern_admin_names[i])
                rule->admin_bits |= 1u << i;
    }
    return KILN_OK;
}

static kiln_status load_priority(policy_loader *ld, const yaml_node_t *node, kiln_priority *out)
{
    kiln_status st;
    const char *text = policy_load_scalar(ld, node, "max_priority", &st);
    if (!text)
        return st;
    if (strcmp(text, "low") == 0)
        *out = KILN_PRIORITY_LOW;
    else if (strcmp(text, "normal") == 0)
        *out = KILN_PRIORITY_NORMAL;
    else if (strcmp(text, "high") == 0)
        *out = KILN_PRIORITY_HIGH;
    else
        return policy_load_fail(ld, node, "max_priority must be low, normal or high, not '%s'",
                                text);
    return KILN_OK;
}

static kiln_status load_when(policy_loader *ld, const yaml_node_t *node, policy_rule *rule)
{
    static const char *const keys[] = { "max_alloc_bytes", "max_priority", "utc_hours", NULL };
    kiln_status st = policy_load_keys(ld, node, "when", keys);
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         st == KILN_OK && pair < node->data.mapping.pairs.top; pair++) {
        const char *key = (const char *)node_at(ld, pair->key)->data.scalar.value;
        yaml_node_t *value = node_at(ld, pair->value);
        if (strcmp(key, "max_alloc_bytes") == 0) {
            st = policy_load_size(ld, value, key, &rule->max_bytes);
            rule->has_max_bytes = true;
        } else if (strcmp(key, "max_priority") == 0) {
            st = load_priority(ld, value, &rule->max_priority);
            rule->has_max_priority = true;
        } else {
            const char *text = policy_load_scalar(ld, value, key, &st);
            const char *why = NULL;
            if (text && !policy_window_parse(text, &rule->window_start, &rule->window_end, &why))
                return policy_load_fail(ld, value, "%s", why);
            rule->has_window = true;
        }
    }
    if (st == KILN_OK && !rule->allow && (rule->has_max_bytes || rule->has_max_priority) &&
        !policy_load_warn(ld, node, "deny rule '%s' has a max_ condition: it denies only requests "
                                    "within that limit", rule->name))
        return policy_load_fail(ld, node, "out of memory");
    return st;
}

static kiln_status load_rule_key(policy_loader *ld, const char *key, yaml_node_t *value,
                                 policy_rule *rule)
{
    if (strcmp(key, "name") == 0 || strcmp(key, "effect") == 0)
        return KILN_OK; /* read first, by load_rule */
    if (strcmp(key, "principals") == 0)
        return load_names(ld, value, key, &rule->any_principal, &rule->principals,
                          &rule->principal_count);
    if (strcmp(key, "roles") == 0)
        return load_names(ld, value, key, NULL, &rule->roles, &rule->role_count);
    if (strcmp(key, "devices") == 0)
        return load_devices(ld, value, rule);
    if (strcmp(key, "actions") == 0)
        return load_actions(ld, value, rule);
    return load_when(ld, value, rule);
}

/* Finds key in a mapping already checked by policy_load_keys. */
static yaml_node_t *map_get(policy_loader *ld, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++)
        if (strcmp((const char *)node_at(ld, pair->key)->data.scalar.value, key) == 0)
            return node_at(ld, pair->value);
    return NULL;
}

static kiln_status load_rule_head(policy_loader *ld, const yaml_node_t *node, policy_rule *rule)
{
    yaml_node_t *name = map_get(ld, node, "name");
    yaml_node_t *effect = map_get(ld, node, "effect");
    if (!name)
        return policy_load_fail(ld, node, "a rule needs a name");
    if (!effect)
        return policy_load_fail(ld, node, "a rule needs an effect (allow or deny)");
    kiln_status st;
    const char *text = policy_load_scalar(ld, name, "name", &st);
    if (!text)
        return st;
    if (govern_name_check(text) != KILN_OK || strcmp(text, POLICY_DEFAULT_DENY) == 0)
        return policy_load_fail(ld, name, "rule name '%s' is not usable%s", text,
                                strcmp(text, POLICY_DEFAULT_DENY) == 0 ? " (reserved)" : "");
    policy *p = ld->p;
    for (uint32_t i = 0; i < p->rule_count; i++)
        if (p->rules[i].name && strcmp(p->rules[i].name, text) == 0)
            return policy_load_fail(ld, name, "rule name '%s' repeats (first at line %lu)", text,
                                    p->rules[i].line);
    if (!(rule->name = strdup(text)))
        return policy_load_fail(ld, name, "out of memory");
    if (!(text = policy_load_scalar(ld, effect, "effect", &st)))
        return st;
    if (strcmp(text, "allow") != 0 && strcmp(text, "deny") != 0)
        return policy_load_fail(ld, effect, "effect must be allow or deny, not '%s'", text);
    rule->allow = text[0] == 'a';
    return KILN_OK;
}

static kiln_status load_rule(policy_loader *ld, const yaml_node_t *node, policy_rule *rule)
{
    static const char *const keys[] = { "name", "effect", "principals", "roles", "devices",
                                        "actions", "when", NULL };
    kiln_status st = policy_load_keys(ld, node, "a rule", keys);
    if (st != KILN_OK)
        return st;
    rule->line = (unsigned long)node->start_mark.line + 1;
    rule->column = (unsigned long)node->start_mark.column + 1;
    if ((st = load_rule_head(ld, node, rule)) != KILN_OK)
        return st;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        const char *key = (const char *)node_at(ld, pair->key)->data.scalar.value;
        if ((st = load_rule_key(ld, key, node_at(ld, pair->value), rule)) != KILN_OK)
            return st;
    }
    if (!rule->any_principal && rule->principal_count == 0 && rule->role_count == 0)
        return policy_load_fail(ld, node, "rule '%s' names no principal or role", rule->name);
    if (!rule->device_count)
        return policy_load_fail(ld, node, "rule '%s' needs devices", rule->name);
    if (!rule->actions)
        return policy_load_fail(ld, node, "rule '%s' needs actions", rule->name);
    return KILN_OK;
}

static kiln_status load_rules(policy_loader *ld, const yaml_node_t *node)
{
    if (node->type != YAML_SEQUENCE_NODE)
        return policy_load_fail(ld, node, "rules must be a list");
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n > POLICY_RULES_MAX)
        return policy_load_fail(ld, node, "%zu rules; at most %d allowed", n, POLICY_RULES_MAX);
    policy *p = ld->p;
    p->rules = calloc(n ? n : 1, sizeof *p->rules);
    if (!p->rules)
        return policy_load_fail(ld, node, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = node_at(ld, node->data.sequence.items.start[i]);
        kiln_status st = load_rule(ld, item, &p->rules[p->rule_count]);
        p->rule_count++; /* counted even when half-filled, so policy_free frees it */
        if (st != KILN_OK)
            return st;
        st = policy_rules_check_conflict(ld, item, p->rule_count - 1);
        if (st != KILN_OK)
            return st;
    }
    return KILN_OK;
}

static kiln_status load_version(policy_loader *ld, const yaml_node_t *node)
{
    uint64_t v;
    kiln_status st = policy_load_uint(ld, node, "version", &v);
    if (st == KILN_OK && v != POLICY_FORMAT_VERSION)
        return policy_load_fail(ld, node, "version %llu is not supported (this kiln reads %u)",
                                (unsigned long long)v, POLICY_FORMAT_VERSION);
    return st;
}

static kiln_status load_root(policy_loader *ld, const yaml_node_t *root)
{
    static const char *const keys[] = { "version", "roles", "rules", "quotas", "audit", NULL };
    kiln_status st = policy_load_keys(ld, root, "the policy", keys);
    if (st != KILN_OK)
        return st;
    yaml_node_t *version = map_get(ld, root, "version");
    if (!version)
        return policy_load_fail(ld, root, "the policy needs 'version: 1'");
    if ((st = load_version(ld, version)) != KILN_OK)
        return st;
    /* Roles before rules, so rules may be checked against them. */
    yaml_node_t *node;
    if ((node = map_get(ld, root, "roles")) && (st = load_roles(ld, node)) != KILN_OK)
        return st;
    if ((node = map_get(ld, root, "rules")) && (st = load_rules(ld, node)) != KILN_OK)
        return st;
    if ((node = map_get(ld, root, "quotas")) && (st = policy_load_quotas(ld, node)) != KILN_OK)
        return st;
    if ((node = map_get(ld, root, "audit")) && (st = policy_load_audit(ld, node)) != KILN_OK)
        return st;
    if (ld->p->rule_count == 0 &&
        !policy_load_warn(ld, root, "the policy has no rules: everything is denied"))
        return policy_load_fail(ld, root, "out of memory");
    return KILN_OK;
}

static void build_action_index(policy *p)
{
    p->mask_words = (p->rule_count + 63) / 64;
    for (uint32_t i = 0; i < p->rule_count; i++) {
        uint64_t bit = UINT64_C(1) << (i % 64);
        for (int a = 0; a < GOVERN_ACTION_COUNT; a++)
            if (p->rules[i].actions & (1u << a))
                p->action_rules[a][i / 64] |= bit;
        if (!p->rules[i].allow)
            p->deny_rules[i / 64] |= bit;
    }
}

/* libyaml's own error. A reader error (bytes that are not UTF-8) has no
 * mark, only a byte offset, from which the line and column are counted. */
static kiln_status parse_error(const policy_loader *ld, const yaml_parser_t *parser,
                               const char *text)
{
    const char *problem = parser->problem ? parser->problem : "malformed YAML";
    if (parser->error == YAML_READER_ERROR) {
        unsigned long line = 1, column = 1;
        for (size_t i = 0; i < parser->problem_offset; i++, column++)
            if (text[i] == '\n')
                line++, column = 0;
        return util_fail(KILN_ERR_POLICY, "%s:%lu:%lu: %s (byte 0x%02x)", ld->origin, line,
                         column, problem, (unsigned)parser->problem_value & 0xFFu);
    }
    return util_fail(KILN_ERR_POLICY, "%s:%lu:%lu: %s%s%s", ld->origin,
                     (unsigned long)parser->problem_mark.line + 1,
                     (unsigned long)parser->problem_mark.column + 1, problem,
                     parser->context ? " " : "", parser->context ? parser->context : "");
}

/* Runs libyaml over the text into ld->doc and walks it. */
static kiln_status load_yaml(policy_loader *ld, const char *text, size_t length)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return util_fail(KILN_ERR_POLICY, "%s: out of memory", ld->origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    kiln_status st = KILN_OK;
    if (!yaml_parser_load(&parser, &ld->doc)) {
        st = parse_error(ld, &parser, text);
        yaml_parser_delete(&parser);
        memset(&ld->doc, 0, sizeof ld->doc);
        return st;
    }
    yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
    if (!root) {
        st = util_fail(KILN_ERR_POLICY, "%s:1:1: the policy is empty (it needs 'version: 1')",
                       ld->origin);
    } else {
        yaml_document_t extra;
        if (!yaml_parser_load(&parser, &extra)) {
            st = parse_error(ld, &parser, text);
        } else {
            yaml_node_t *second = yaml_document_get_root_node(&extra);
            if (second)
                st = policy_load_fail(ld, second, "a second YAML document; a policy is one");
            yaml_document_delete(&extra);
        }
        if (st == KILN_OK)
            st = load_root(ld, root);
    }
    yaml_parser_delete(&parser);
    return st;
}

kiln_status policy_load_text(const char *text, size_t length, const char *origin, policy **out)
{
    if (!out)
        return util_fail(KILN_ERR_NULL_HANDLE, "out is NULL");
    *out = NULL;
    if (!text)
        return util_fail(KILN_ERR_NULL_HANDLE, "policy text is NULL");
    if (!origin)
        origin = "<policy>";
    if (length > POLICY_FILE_MAX)
        return util_fail(KILN_ERR_POLICY, "%s: %zu bytes; a policy is at most %u bytes", origin,
                         length, POLICY_FILE_MAX);
    if (memchr(text, '\0', length))
        return util_fail(KILN_ERR_POLICY, "%s: contains a NUL byte; a policy is UTF-8 text",
                         origin);
    if (sodium_init() < 0)
        return util_fail(KILN_ERR_INTERNAL, "libsodium failed to initialise");
    policy *p = calloc(1, sizeof *p);
    if (!p || !(p->origin = strdup(origin))) {
        free(p);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "policy: out of memory");
    }
    atomic_init(&p->refs, 1);
    p->audit = (policy_audit){ POLICY_AUDIT_CHECKPOINT_DEFAULT, true,
                               POLICY_AUDIT_PER_RECORD_DEFAULT, POLICY_AUDIT_SUMMARIZE_DEFAULT };
    policy_loader ld = { .origin = p->origin, .p = p };
    kiln_status st = load_yaml(&ld, text, length);
    yaml_document_delete(&ld.doc);
    if (st != KILN_OK) {
        policy_free(p);
        return st;
    }
    build_action_index(p);
    crypto_hash_sha256(p->hash, (const unsigned char *)text, length);
    p->generation = atomic_fetch_add(&next_generation, 1);
    *out = p;
    return KILN_OK;
}

kiln_status policy_load_file(const char *path, policy **out)
{
    if (!out)
        return util_fail(KILN_ERR_NULL_HANDLE, "out is NULL");
    *out = NULL;
    if (!path)
        return util_fail(KILN_ERR_NULL_HANDLE, "policy path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f)
        return util_fail(KILN_ERR_POLICY, "%s: cannot open: %s", path, strerror(errno));
    char *text = malloc(POLICY_FILE_MAX + 1);
    if (!text) {
        (void)fclose(f);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "policy: out of memory");
    }
    /* One byte more than allowed, to tell a file at the limit from a longer one. */
    size_t n = fread(text, 1, POLICY_FILE_MAX + 1, f);
    int read_error = ferror(f);
    int saved = errno;
    (void)fclose(f);
    kiln_status st;
    if (read_error)
        st = util_fail(KILN_ERR_POLICY, "%s: cannot read: %s", path, strerror(saved));
    else if (n > POLICY_FILE_MAX)
        st = util_fail(KILN_ERR_POLICY, "%s: larger than %u bytes", path, POLICY_FILE_MAX);
    else
        st = policy_load_text(text, n, path, out);
    free(text);
    return st;
}
