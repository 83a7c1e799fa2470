/* Memory port contract, run against each adapter: ./contract-memory BACKEND.
 * Copies on random data at odd offsets and sizes, usage accounting, and
 * refusal of what the device cannot hold. */
#include "contract-support.h"

#define MEMORY_ROUNDS 48
#define MEMORY_MAX_BYTES 300000
/* Big enough to show in a driver's device-wide usage figure. */
#define MEMORY_USAGE_PROBE_BYTES (64u * 1024u * 1024u)
/* Other work on a GPU may move its usage figure by this much meanwhile. */
#define MEMORY_USAGE_SLACK_BYTES (MEMORY_USAGE_PROBE_BYTES / 2)

static void random_bytes(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)rand();
}

static void write_then_read_returns_the_bytes_at_odd_offsets(void **state)
{
    const port_memory *m = contract.ops->memory;
    contract_seed();
    for (int round = 0; round < MEMORY_ROUNDS; round++) {
        size_t bytes = 1 + contract_random_below(MEMORY_MAX_BYTES);
        size_t offset = contract_random_below(bytes);
        size_t length = 1 + contract_random_below(bytes - offset);
        unsigned char *in = malloc(length), *out = malloc(length);
        assert_true(in && out);
        random_bytes(in, length);
        port_mem *mem = NULL;
        CONTRACT_OK(m->alloc(contract.dev, bytes, &mem));
        CONTRACT_OK(m->write(contract.stream, mem, offset, in, length));
        CONTRACT_OK(m->read(contract.stream, mem, offset, out, length));
        assert_memory_equal(in, out, length);
        m->free(contract.dev, mem);
        free(in);
        free(out);
    }
}

static void copy_and_fill_match_a_host_model(void **state)
{
    const port_memory *m = contract.ops->memory;
    contract_seed();
    size_t bytes = 1 + contract_random_below(MEMORY_MAX_BYTES);
    unsigned char *model_a = malloc(bytes), *model_b = malloc(bytes), *got = malloc(bytes);
    assert_true(model_a && model_b && got);
    random_bytes(model_a, bytes);
    random_bytes(model_b, bytes);
    port_mem *a = NULL, *b = NULL;
    CONTRACT_OK(m->alloc(contract.dev, bytes, &a));
    CONTRACT_OK(m->alloc(contract.dev, bytes, &b));
    CONTRACT_OK(m->write(contract.stream, a, 0, model_a, bytes));
    CONTRACT_OK(m->write(contract.stream, b, 0, model_b, bytes));
    for (int round = 0; round < MEMORY_ROUNDS; round++) {
        size_t src_off = contract_random_below(bytes), dst_off = contract_random_below(bytes);
        size_t limit = bytes - (src_off > dst_off ? src_off : dst_off);
        size_t n = 1 + contract_random_below(limit);
        if (rand() % 2) {
            CONTRACT_OK(m->copy(contract.stream, b, dst_off, a, src_off, n));
            memcpy(model_b + dst_off, model_a + src_off, n);
        } else {
            uint8_t byte = (uint8_t)rand();
            CONTRACT_OK(m->fill(contract.stream, a, dst_off, byte, n));
            memset(model_a + dst_off, byte, n);
        }
    }
    CONTRACT_OK(contract.ops->execution->synchronize(contract.stream));
    CONTRACT_OK(m->read(contract.stream, a, 0, got, bytes));
    assert_memory_equal(got, model_a, bytes);
    CONTRACT_OK(m->read(contract.stream, b, 0, got, bytes));
    assert_memory_equal(got, model_b, bytes);
    m->free(contract.dev, a);
    m->free(contract.dev, b);
    free(model_a);
    free(model_b);
    free(got);
}

static void usage_rises_with_an_allocation_and_falls_after_free(void **state)
{
    const port_memory *m = contract.ops->memory;
    uint64_t before, during, after, total;
    CONTRACT_OK(m->usage(contract.dev, &before, &total));
    assert_true(total > 0);
    assert_true(before <= total);
    port_mem *mem = NULL;
    CONTRACT_OK(m->alloc(contract.dev, MEMORY_USAGE_PROBE_BYTES, &mem));
    /* Some drivers commit memory on first use: touch it all. */
    CONTRACT_OK(m->fill(contract.stream, mem, 0, 0x5a, MEMORY_USAGE_PROBE_BYTES));
    CONTRACT_OK(contract.ops->execution->synchronize(contract.stream));
    CONTRACT_OK(m->usage(contract.dev, &during, &total));
    m->free(contract.dev, mem);
    CONTRACT_OK(m->usage(contract.dev, &after, &total));
    printf("# usage before %llu, with %u more bytes %llu, after free %llu, total %llu\n",
           (unsigned long long)before, MEMORY_USAGE_PROBE_BYTES, (unsigned long long)during,
           (unsigned long long)after, (unsigned long long)total);
    assert_true(during >= before + MEMORY_USAGE_PROBE_BYTES - MEMORY_USAGE_SLACK_BYTES);
    assert_true(after + MEMORY_USAGE_PROBE_BYTES - MEMORY_USAGE_SLACK_BYTES <= during);
}

static void alloc_beyond_the_device_is_out_of_memory_and_leaks_nothing(void **state)
{
    const port_memory *m = contract.ops->memory;
    uint64_t before, after, total;
    CONTRACT_OK(m->usage(contract.dev, &before, &total));
    const size_t too_big[] = {(size_t)total + 1, (size_t)total * 4, SIZE_MAX / 2};
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
        port_mem *mem = NULL;
        assert_int_equal(m->alloc(contract.dev, too_big[i], &mem), KILN_ERR_OUT_OF_MEMORY);
        assert_null(mem);
        assert_true(strlen(util_last_error()) > 0);
    }
    CONTRACT_OK(m->usage(contract.dev, &after, &total));
    assert_true(after <= before + MEMORY_USAGE_SLACK_BYTES);
    /* The device still works. */
    port_mem *mem = NULL;
    unsigned char in[100], out[100];
    random_bytes(in, sizeof in);
    CONTRACT_OK(m->alloc(contract.dev, sizeof in, &mem));
    CONTRACT_OK(m->write(contract.stream, mem, 0, in, sizeof in));
    CONTRACT_OK(m->read(contract.stream, mem, 0, out, sizeof out));
    assert_memory_equal(in, out, sizeof in);
    m->free(contract.dev, mem);
}

int main(int argc, char **argv)
{
    contract_open_or_skip(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_then_read_returns_the_bytes_at_odd_offsets),
        cmocka_unit_test(copy_and_fill_match_a_host_model),
        cmocka_unit_test(usage_rises_with_an_allocation_and_falls_after_free),
        cmocka_unit_test(alloc_beyond_the_device_is_out_of_memory_and_leaks_nothing),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    contract_close();
    return failed;
}
