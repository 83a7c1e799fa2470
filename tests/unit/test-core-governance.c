/* Governance in the launch path: a policy file turns it on; decisions,
 * quotas and the audit log then apply to real work on the CPU backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <kiln/kiln.h>

#include "govern/audit.h"
#include "test-audit-support.h"

static char dir[256];
static char policy_path[300];
static char log_path[300];

static const char *saxpy_source =
    "kernel void saxpy(uint n, float a, global const float *x, global float *y) {\n"
    "    uint i = global_id(0);\n"
    "    if (i < n) y[i] = a * x[i] + y[i];\n"
    "}\n";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Allows everything on the CPU to everyone, except what extra adds. */
static void write_policy(const char *extra_rules, const char *quotas)
{
    char text[4096];
    snprintf(text, sizeof text,
             "version: 1\n"
             "rules:\n"
             "%s"
             "  - name: cpu-for-all\n"
             "    effect: allow\n"
             "    principals: [\"*\"]\n"
             "    devices: [\"backend:cpu\"]\n"
             "    actions: [device.use, program.build, buffer.alloc, buffer.copy, kernel.launch]\n"
             "%s",
             extra_rules, quotas);
    write_file(policy_path, text);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kiln-governance-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(policy_path, sizeof policy_path, "%s/policy.yaml", dir);
    snprintf(log_path, sizeof log_path, "%s/audit.log", dir);
    unsetenv("KILN_POLICY");
    unsetenv("KILN_AUDIT_LOG");
    unsetenv("KILN_AUDIT_KEY");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static kiln_status open_context(const char *policy_file, const char *log, kiln_context **ctx)
{
    kiln_context_options o = { .size = sizeof o, .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU),
                               .policy = policy_file, .audit_log = log };
    return kiln_context_create(ctx, &o);
}

/* Runs saxpy on fresh random data and checks it; returns the launch's status. */
static kiln_status run_saxpy(kiln_context *ctx)
{
    enum { N = 4096 };
    kiln_device *dev;
    kiln_queue *q;
    kiln_buffer *x, *y;
    kiln_program *prog;
    kiln_kernel *k;
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    assert_int_equal(kiln_buffer_create(dev, N * sizeof(float), 0, &x), KILN_OK);
    assert_int_equal(kiln_buffer_create(dev, N * sizeof(float), 0, &y), KILN_OK);
    static float hx[N], hy[N], out[N];
    for (int i = 0; i < N; i++) {
        hx[i] = (float)randombytes_uniform(1000) / 7.0f;
        hy[i] = (float)randombytes_uniform(1000) / 3.0f;
    }
    assert_int_equal(kiln_buffer_write(q, x, 0, hx, sizeof hx), KILN_OK);
    assert_int_equal(kiln_buffer_write(q, y, 0, hy, sizeof hy), KILN_OK);
    assert_int_equal(kiln_program_build(dev, saxpy_source, NULL, &prog), KILN_OK);
    assert_int_equal(kiln_kernel_get(prog, "saxpy", &k), KILN_OK);
    float a = 1.5f;
    kiln_range r = { .dims = 1, .global = { N } };
    kiln_arg args[] = { KILN_ARG_U32(N), KILN_ARG_F32(a), KILN_ARG_BUFFER(x), KILN_ARG_BUFFER(y) };
    kiln_status st = kiln_launch(q, k, &r, args, 4, NULL);
    if (st == KILN_OK) {
        assert_int_equal(kiln_buffer_read(q, y, 0, out, sizeof out), KILN_OK);
        for (int i = 0; i < N; i++)
            assert_float_equal(out[i], a * hx[i] + hy[i], 1e-3f);
    }
    kiln_kernel_release(k);
    kiln_program_release(prog);
    kiln_buffer_release(x);
    kiln_buffer_release(y);
    kiln_queue_destroy(q);
    return st;
}

static audit_verify_result verify_log(void)
{
    return test_audit_verify(log_path, NULL, 0);
}

static char *read_log(void)
{
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void without_a_policy_the_local_user_runs_freely(void **state)
{
    (void)state;
    kiln_context *ctx;
    assert_int_equal(open_context(NULL, NULL, &ctx), KILN_OK);
    kiln_governance_info info;
    assert_int_equal(kiln_context_get_governance(ctx, &info), KILN_OK);
    assert_int_equal(info.enabled, 0);
    assert_true(strlen(info.principal) > 0);
    assert_string_equal(info.policy, "");
    assert_int_equal(run_saxpy(ctx), KILN_OK);
    assert_int_equal(kiln_context_policy_reload(ctx, NULL), KILN_ERR_INVALID_ARG);
    kiln_context_destroy(ctx);
}

static void allowed_work_runs_and_is_audited(void **state)
{
    (void)state;
    write_policy("", "");
    kiln_context *ctx;
    assert_int_equal(open_context(policy_path, log_path, &ctx), KILN_OK);
    kiln_governance_info info;
    assert_int_equal(kiln_context_get_governance(ctx, &info), KILN_OK);
    assert_int_equal(info.enabled, 1);
    assert_string_equal(info.policy, policy_path);
    assert_string_equal(info.audit_log, log_path);
    assert_int_equal(strlen(info.policy_sha256), 64);
    for (int i = 0; i < 3; i++)
        assert_int_equal(run_saxpy(ctx), KILN_OK);
    kiln_context_destroy(ctx);
    audit_verify_result r = verify_log();
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    const char *log = read_log();
    /* Allocations and builds one by one, the three launches as a summary. */
    assert_non_null(strstr(log, "\"action\":\"buffer.alloc\""));
    assert_non_null(strstr(log, "\"action\":\"program.build\""));
    assert_non_null(strstr(log, "\"rule\":\"cpu-for-all\""));
    assert_non_null(strstr(log, "\"type\":\"summary\""));
    assert_non_null(strstr(log, "saxpy"));
    assert_non_null(strstr(log, "\"action\":\"session.open\""));
    assert_non_null(strstr(log, "\"action\":\"session.close\""));
}

static void a_deny_rule_refuses_and_names_itself(void **state)
{
    (void)state;
    write_policy("  - name: no-launches-here\n"
                 "    effect: deny\n"
                 "    principals: [\"*\"]\n"
                 "    devices: [\"*\"]\n"
                 "    actions: [kernel.launch]\n",
                 "");
    kiln_context *ctx;
    assert_int_equal(open_context(policy_path, log_path, &ctx), KILN_OK);
    assert_int_equal(run_saxpy(ctx), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "no-launches-here"));
    assert_non_null(strstr(kiln_last_error(), "kernel.launch denied"));
    kiln_context_destroy(ctx);
    assert_int_equal(verify_log().verdict, AUDIT_VERIFY_OK);
    const char *log = read_log();
    assert_non_null(strstr(log, "\"rule\":\"no-launches-here\""));
    assert_non_null(strstr(log, "\"outcome\":\"KILN_ERR_DENIED\""));
}

static void default_deny_covers_devices_no_rule_names(void **state)
{
    (void)state;
    write_file(policy_path, "version: 1\n"
                            "rules:\n"
                            "  - name: gpus-only\n"
                            "    effect: allow\n"
                            "    principals: [\"*\"]\n"
                            "    devices: [\"class:gpu\"]\n"
                            "    actions: [device.use]\n");
    kiln_context *ctx;
    assert_int_equal(open_context(policy_path, log_path, &ctx), KILN_OK);
    kiln_device *dev;
    kiln_queue *q = NULL;
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q), KILN_ERR_DENIED);
    assert_null(q);
    assert_non_null(strstr(kiln_last_error(), "default-deny"));
    kiln_buffer *b = NULL;
    assert_int_equal(kiln_buffer_create(dev, 64, 0, &b), KILN_ERR_DENIED);
    kiln_context_destroy(ctx);
    assert_int_equal(verify_log().verdict, AUDIT_VERIFY_OK);
    assert_non_null(strstr(read_log(), "\"action\":\"device.use\""));
}

static void conditions_limit_allocations_and_priority(void **state)
{
    (void)state;
    write_file(policy_path, "version: 1\n"
                            "rules:\n"
                            "  - name: small-only\n"
                            "    effect: allow\n"
                            "    principals: [\"*\"]\n"
                            "    devices: [\"*\"]\n"
                            "    actions: [device.use, buffer.alloc, queue.priority]\n"
                            "    when:\n"
                            "      max_alloc_bytes: 1MiB\n"
                            "      max_priority: normal\n");
    kiln_context *ctx;
    assert_int_equal(open_context(policy_path, log_path, &ctx), KILN_OK);
    kiln_device *dev;
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    kiln_buffer *b = NULL;
    assert_int_equal(kiln_buffer_create(dev, 1 << 20, 0, &b), KILN_OK);
    kiln_buffer_release(b);
    b = NULL;
    assert_int_equal(kiln_buffer_create(dev, (1 << 20) + 1, 0, &b), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "max_alloc_bytes"));
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    kiln_queue_destroy(q);
    q = NULL;
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_HIGH, &q), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "max_priority"));
    kiln_context_destroy(ctx);
    assert_int_equal(verify_log().verdict, AUDIT_VERIFY_OK);
    const char *log = read_log();
    assert_non_null(strstr(log, "\"action\":\"device.use\"")); /* a high-priority queue */
    assert_non_null(strstr(log, "\"action\":\"buffer.alloc\""));
}

static void memory_quota_is_held_until_release(void **state)
{
    (void)state;
    char user[300];
    kiln_context *probe;
    assert_int_equal(open_context(NULL, NULL, &probe), KILN_OK);
    kiln_governance_info info;
    assert_int_equal(kiln_context_get_governance(probe, &info), KILN_OK);
    char quotas[600];
    snprintf(user, sizeof user, "%s", info.principal);
    kiln_context_destroy(probe);
    snprintf(quotas, sizeof quotas,
             "quotas:\n"
             "  - principal: \"%s\"\n"
             "    device_memory_bytes: 1MiB\n"
             "    live_buffers: 3\n",
             user);
    write_policy("", quotas);
    kiln_context *ctx;
    assert_int_equal(open_context(policy_path, log_path, &ctx), KILN_OK);
    kiln_device *dev;
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    kiln_buffer *a, *b, *c = NULL;
    assert_int_equal(kiln_buffer_create(dev, 512 << 10, 0, &a), KILN_OK);
    assert_int_equal(kiln_buffer_create(dev, 512 << 10, 0, &b), KILN_OK);
    assert_int_equal(kiln_buffer_create(dev, 1, 0, &c), KILN_ERR_QUOTA);
    assert_non_null(strstr(kiln_last_error(), "device_memory_bytes"));
    assert_non_null(strstr(kiln_last_error(), user));
    kiln_buffer_release(b);
    assert_int_equal(kiln_buffer_create(dev, 1000, 0, &c), KILN_OK);
    kiln_buffer *d, *e = NULL;
    assert_int_equal(kiln_buffer_create(dev, 1000, 0, &d), KILN_OK);
    assert_int_equal(kiln_buffer_create(dev, 1000, 0, &e), KILN_ERR_QUOTA);
    assert_non_null(strstr(kiln_last_error(), "live_buffers"));
    kiln_buffer_release(a);
    kiln_buffer_release(c);
    kiln_buffer_release(d);
    kiln_context_destroy(ctx);
    /* A refusal by a quota is recorded like any other outcome. */
    assert_int_equal(verify_log().verdict, AUDIT_VERIFY_OK);
    assert_non_null(strstr(read_log(), "\"outcome\":\"KILN_ERR_QUOTA\""));
}

static void bad_configuration_fails_closed(void **state)
{
    (void)state;
    kiln_context *ctx = NULL;
    write_file(policy_path, "version: 1\nrules:\n  - name: x\n    effect: maybe\n");
    assert_int_equal(open_context(policy_path, NULL, &ctx), KILN_ERR_POLICY);
    assert_null(ctx);
    assert_non_null(strstr(kiln_last_error(), "policy.yaml:"));
    char missing[320];
    snprintf(missing, sizeof missing, "%s/none.yaml", dir);
    assert_int_equal(open_context(missing, NULL, &ctx), KILN_ERR_POLICY);
    assert_int_equal(open_context(NULL, log_path, &ctx), KILN_ERR_POLICY);
    assert_non_null(strstr(kiln_last_error(), "no policy"));
    write_policy("", "");
    assert_int_equal(open_context(policy_path, "/proc/kiln-audit.log", &ctx), KILN_ERR_AUDIT);
    assert_null(ctx);
}

static void environment_turns_governance_on(void **state)
{
    (void)state;
    write_policy("", "");
    setenv("KILN_POLICY", policy_path, 1);
    setenv("KILN_AUDIT_LOG", log_path, 1);
    kiln_context *ctx;
    assert_int_equal(open_context(NULL, NULL, &ctx), KILN_OK);
    kiln_governance_info info;
    assert_int_equal(kiln_context_get_governance(ctx, &info), KILN_OK);
    assert_int_equal(info.enabled, 1);
    assert_int_equal(run_saxpy(ctx), KILN_OK);
    kiln_context_destroy(ctx);
    unsetenv("KILN_POLICY");
    unsetenv("KILN_AUDIT_LOG");
    assert_int_equal(verify_log().verdict, AUDIT_VERIFY_OK);
}

static void reload_swaps_and_a_bad_file_keeps_the_old_policy(void **state)
{
    (void)state;
    write_policy("", "");
    kiln_context *ctx;
    assert_int_equal(open_context(policy_path, log_path, &ctx), KILN_OK);
    assert_int_equal(run_saxpy(ctx), KILN_OK);
    char denying[320];
    snprintf(denying, sizeof denying, "%s/deny.yaml", dir);
    write_file(denying, "version: 1\n"
                        "rules:\n"
                        "  - name: stop-launches\n"
                        "    effect: deny\n"
                        "    principals: [\"*\"]\n"
                        "    devices: [\"*\"]\n"
                        "    actions: [kernel.launch]\n"
                        "  - name: rest\n"
                        "    effect: allow\n"
                        "    principals: [\"*\"]\n"
                        "    devices: [\"*\"]\n"
                        "    actions: [device.use, program.build, buffer.alloc, buffer.copy]\n");
    assert_int_equal(kiln_context_policy_reload(ctx, denying), KILN_OK);
    assert_int_equal(run_saxpy(ctx), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "stop-launches"));
    char broken[320];
    snprintf(broken, sizeof broken, "%s/broken.yaml", dir);
    write_file(broken, "version: 1\nrules: [\n");
    assert_int_equal(kiln_context_policy_reload(ctx, broken), KILN_ERR_POLICY);
    assert_int_equal(run_saxpy(ctx), KILN_ERR_DENIED); /* still the deny policy */
    assert_int_equal(kiln_context_policy_reload(ctx, policy_path), KILN_OK);
    assert_int_equal(run_saxpy(ctx), KILN_OK);
    kiln_context_destroy(ctx);
    assert_int_equal(verify_log().verdict, AUDIT_VERIFY_OK);
    const char *log = read_log();
    assert_non_null(strstr(log, "\"action\":\"admin.reload\""));
    assert_non_null(strstr(log, "\"outcome\":\"KILN_ERR_POLICY\""));
}

/* A log that can no longer be written refuses everything after it. */
static void a_failed_audit_log_refuses_work(void **state)
{
    (void)state;
    write_file(policy_path, "version: 1\n"
                            "rules:\n"
                            "  - name: cpu-for-all\n"
                            "    effect: allow\n"
                            "    principals: [\"*\"]\n"
                            "    devices: [\"backend:cpu\"]\n"
                            "    actions: [device.use, program.build, buffer.alloc, buffer.copy,"
                            " kernel.launch]\n"
                            "audit:\n"
                            "  durable: true\n");
    kiln_context *ctx;
    assert_int_equal(open_context(policy_path, log_path, &ctx), KILN_OK);
    kiln_device *dev;
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    kiln_buffer *b = NULL;
    assert_int_equal(kiln_buffer_create(dev, 64, 0, &b), KILN_OK);
    kiln_buffer_release(b);
    /* The file may not grow any more: the next durable append fails. */
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = 1;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    b = NULL;
    assert_int_equal(kiln_buffer_create(dev, 64, 0, &b), KILN_ERR_AUDIT);
    assert_null(b);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    /* Failed stays failed: nothing runs unrecorded. */
    assert_int_equal(kiln_buffer_create(dev, 64, 0, &b), KILN_ERR_AUDIT);
    assert_non_null(strstr(kiln_last_error(), "audit log"));
    kiln_context_destroy(ctx);
}

/* Each action is its own permission: allowing allocation allows neither
 * copies nor builds; a priority above normal needs queue.priority. */
static void each_action_needs_its_own_rule(void **state)
{
    (void)state;
    write_file(policy_path, "version: 1\n"
                            "rules:\n"
                            "  - name: alloc-and-priority\n"
                            "    effect: allow\n"
                            "    principals: [\"*\"]\n"
                            "    devices: [\"*\"]\n"
                            "    actions: [device.use, buffer.alloc, queue.priority]\n"
                            "quotas:\n"
                            "  - role: nobody-has-it\n"
                            "    device_time: { ms: 500, per_s: 1 }\n");
    kiln_context *ctx;
    assert_int_equal(open_context(policy_path, NULL, &ctx), KILN_OK);
    kiln_device *dev;
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_HIGH, &q), KILN_OK);
    kiln_buffer *b = NULL;
    assert_int_equal(kiln_buffer_create(dev, 256, 0, &b), KILN_OK);
    float data[64] = { 1.0f };
    assert_int_equal(kiln_buffer_write(q, b, 0, data, sizeof data), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "buffer.copy denied"));
    kiln_program *prog = NULL;
    assert_int_equal(kiln_program_build(dev, saxpy_source, NULL, &prog), KILN_ERR_DENIED);
    assert_non_null(strstr(kiln_last_error(), "program.build denied"));
    assert_null(prog);
    kiln_buffer_release(b);
    kiln_queue_destroy(q);
    kiln_context_destroy(ctx);
}

/* Checkpoints signed with a key from `kiln audit keygen`'s format verify
 * with its public key; a key without a log, or an unreadable key, is an
 * error at context creation. */
static void a_keyed_log_is_signed(void **state)
{
    (void)state;
    write_policy("", "");
    char prefix[320], secret[330], public_path[330];
    snprintf(prefix, sizeof prefix, "%s/k", dir);
    snprintf(secret, sizeof secret, "%s.key", prefix);
    snprintf(public_path, sizeof public_path, "%s.pub", prefix);
    audit_secret_key key;
    assert_int_equal(audit_key_generate(&key), KILN_OK);
    assert_int_equal(audit_key_save(&key, prefix), KILN_OK);
    kiln_context_options o = { .size = sizeof o, .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU),
                               .policy = policy_path, .audit_log = log_path,
                               .audit_key = secret };
    kiln_context *ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, &o), KILN_OK);
    assert_int_equal(run_saxpy(ctx), KILN_OK);
    kiln_context_destroy(ctx);
    audit_public_key pub;
    assert_int_equal(audit_key_load_public(public_path, &pub), KILN_OK);
    audit_verify_result r = test_audit_verify(log_path, &pub, 1);
    assert_int_equal(r.verdict, AUDIT_VERIFY_OK);
    assert_true(r.is_signed);
    assert_true(r.signatures >= 1);

    o.audit_log = NULL;
    ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, &o), KILN_ERR_AUDIT);
    assert_non_null(strstr(kiln_last_error(), "no audit log"));
    char missing[330];
    snprintf(missing, sizeof missing, "%s/none.key", dir);
    o.audit_log = log_path;
    o.audit_key = missing;
    assert_int_equal(kiln_context_create(&ctx, &o), KILN_ERR_AUDIT);
    assert_null(ctx);
}

/* Copies summarised instead of recorded one by one, as the policy says. */
static void the_policy_chooses_what_is_summarised(void **state)
{
    (void)state;
    write_policy("", "audit:\n"
                     "  summarize: [launch, copy]\n");
    kiln_context *ctx;
    assert_int_equal(open_context(policy_path, log_path, &ctx), KILN_OK);
    assert_int_equal(run_saxpy(ctx), KILN_OK);
    kiln_context_destroy(ctx);
    assert_int_equal(verify_log().verdict, AUDIT_VERIFY_OK);
    const char *log = read_log();
    assert_null(strstr(log, "\"action\":\"buffer.copy\""));
    assert_non_null(strstr(log, "buffer.copy")); /* the summary's name for them */
}

/* A program built against 0.1.0 passes that release's smaller options. */
static void options_of_the_first_release_are_accepted(void **state)
{
    (void)state;
    kiln_context_options o = { .size = (uint32_t)offsetof(kiln_context_options, policy),
                               .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    kiln_context *ctx = NULL;
    assert_int_equal(kiln_context_create(&ctx, &o), KILN_OK);
    kiln_governance_info info;
    assert_int_equal(kiln_context_get_governance(ctx, &info), KILN_OK);
    assert_int_equal(info.enabled, 0);
    kiln_context_destroy(ctx);
    o.size = 12;
    assert_int_equal(kiln_context_create(&ctx, &o), KILN_ERR_INVALID_ARG);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(without_a_policy_the_local_user_runs_freely, setup, teardown),
        cmocka_unit_test_setup_teardown(allowed_work_runs_and_is_audited, setup, teardown),
        cmocka_unit_test_setup_teardown(a_deny_rule_refuses_and_names_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(default_deny_covers_devices_no_rule_names, setup, teardown),
        cmocka_unit_test_setup_teardown(conditions_limit_allocations_and_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(memory_quota_is_held_until_release, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_configuration_fails_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(environment_turns_governance_on, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_swaps_and_a_bad_file_keeps_the_old_policy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failed_audit_log_refuses_work, setup, teardown),
        cmocka_unit_test(options_of_the_first_release_are_accepted),
        cmocka_unit_test_setup_teardown(each_action_needs_its_own_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(a_keyed_log_is_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(the_policy_chooses_what_is_summarised, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
