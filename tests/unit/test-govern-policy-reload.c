/* Reloading: a reload swaps the whole policy at once while other threads
 * decide with the one they hold; an invalid file keeps the old policy and
 * says why. Run under ThreadSanitizer by `make tsan`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "govern/policy.h"
#include "util/fail.h"

#define READERS 4
#define RELOADS 200

/* Policy A allows alice by rule "a-allows"; B denies her by "b-denies".
 * Every decision must come from exactly one of them: never a mix. */
static const char POLICY_A[] =
    "version: 1\nrules:\n  - {name: a-allows, effect: allow, principals: [alice], devices: ['*'], "
    "actions: [kernel.launch]}\n";
static const char POLICY_B[] =
    "version: 1\nrules:\n  - {name: b-denies, effect: deny, principals: [alice], devices: ['*'], "
    "actions: [kernel.launch]}\n  - {name: b-allows-bob, effect: allow, principals: [bob], "
    "devices: ['*'], actions: [kernel.launch]}\n";
static const char POLICY_BAD[] = "version: 1\nrules:\n  - {name: x, effect: maybe}\n";

typedef struct reload_state {
    policy_holder *holder;
    atomic_bool stop;
    atomic_uint decisions;
    atomic_uint mixed; /* decisions that matched neither policy */
} reload_state;

static char dir[] = "/tmp/kiln-policy-reload-XXXXXX";

static char *write_policy(const char *name, const char *text)
{
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    return path;
}

static void *reader(void *arg)
{
    reload_state *s = arg;
    static const govern_principal alice = { "alice", { 0 }, 0 };
    static const govern_device_desc dev = { 0, KILN_BACKEND_CPU, 0, "x86_64", GOVERN_CLASS_CPU };
    policy_binding binding = { 0 };
    policy *held = NULL;
    uint64_t held_generation = 0;
    while (!atomic_load(&s->stop)) {
        /* The launch-path pattern: re-acquire only when the generation moved. */
        if (policy_holder_generation(s->holder) != held_generation || !held) {
            policy_release(held);
            held = policy_holder_acquire(s->holder);
            held_generation = policy_generation(held);
        }
        policy_decision d = policy_decide_cached(held, &binding, &alice, &dev,
                                                 GOVERN_ACTION_KERNEL_LAUNCH, NULL);
        bool from_a = d.allow && strcmp(d.rule, "a-allows") == 0;
        bool from_b = !d.allow && strcmp(d.rule, "b-denies") == 0;
        bool a_rules = strcmp(policy_rule_name(held, 0), "a-allows") == 0;
        if (!(a_rules ? from_a : from_b))
            atomic_fetch_add(&s->mixed, 1);
        atomic_fetch_add(&s->decisions, 1);
    }
    policy_release(held);
    return NULL;
}

static void reload_swaps_atomically_under_readers(void **state)
{
    assert_non_null(mkdtemp(dir));
    char *path_a = write_policy("a.yaml", POLICY_A);
    char *path_b = write_policy("b.yaml", POLICY_B);
    char *path_bad = write_policy("bad.yaml", POLICY_BAD);
    policy *initial = NULL;
    assert_int_equal(policy_load_file(path_a, &initial), KILN_OK);
    reload_state s = { 0 };
    assert_int_equal(policy_holder_create(initial, &s.holder), KILN_OK);
    pthread_t threads[READERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, reader, &s), 0);
    unsigned seed = (unsigned)time(NULL);
    for (int i = 0; i < RELOADS; i++) {
        const char *next = (rand_r(&seed) & 1) ? path_a : path_b;
        uint64_t before = policy_holder_generation(s.holder);
        if (i % 5 == 4) {
            /* Invalid: the old policy stays, the detail says why. */
            assert_int_equal(policy_holder_reload_file(s.holder, path_bad), KILN_ERR_POLICY);
            char want[4200];
            snprintf(want, sizeof want, "%s:3:23: effect must be allow or deny, not 'maybe'",
                     path_bad);
            assert_string_equal(util_last_error(), want);
            assert_int_equal(policy_holder_generation(s.holder), before);
        } else {
            assert_int_equal(policy_holder_reload_file(s.holder, next), KILN_OK);
            assert_true(policy_holder_generation(s.holder) > before);
        }
        usleep(100);
    }
    atomic_store(&s.stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(threads[i], NULL);
    print_message("%u decisions across %d reloads\n", atomic_load(&s.decisions), RELOADS);
    assert_true(atomic_load(&s.decisions) > 0);
    assert_int_equal(atomic_load(&s.mixed), 0);
    policy_holder_destroy(s.holder);
    unlink(path_a);
    unlink(path_b);
    unlink(path_bad);
    rmdir(dir);
    free(path_a);
    free(path_b);
    free(path_bad);
}

static void empty_holder_denies_and_keeps_old_on_missing_file(void **state)
{
    policy_holder *h = NULL;
    assert_int_equal(policy_holder_create(NULL, &h), KILN_OK);
    assert_null(policy_holder_acquire(h));
    assert_int_equal(policy_holder_generation(h), 0);
    assert_int_equal(policy_holder_reload_file(h, "/nonexistent/p.yaml"), KILN_ERR_POLICY);
    assert_string_equal(util_last_error(), "/nonexistent/p.yaml: cannot open: No such file or directory");
    assert_null(policy_holder_acquire(h));
    policy *p = NULL;
    assert_int_equal(policy_load_text(POLICY_B, strlen(POLICY_B), "b", &p), KILN_OK);
    policy *kept = policy_retain(p);
    policy_holder_swap(h, p);
    policy *got = policy_holder_acquire(h);
    assert_ptr_equal(got, kept);
    policy_holder_swap(h, NULL); /* the holder's reference goes; ours keep it alive */
    assert_int_equal(policy_rule_count(kept), 2);
    policy_release(got);
    policy_release(kept);
    policy_holder_destroy(h);
    policy_holder_destroy(NULL);
    assert_int_equal(policy_holder_create(NULL, NULL), KILN_ERR_NULL_HANDLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reload_swaps_atomically_under_readers),
        cmocka_unit_test(empty_holder_denies_and_keeps_old_on_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
