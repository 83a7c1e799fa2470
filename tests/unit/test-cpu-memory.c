/* The CPU adapter's memory port: copies on random data at odd offsets,
 * usage accounting, refusal of what RAM cannot hold. */
#include "test-cpu-support.h"

#define MEMORY_ROUNDS 64
#define MEMORY_MAX_BYTES 100000

static void random_bytes(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)rand();
}

static size_t random_below(size_t n)
{
    return n ? (size_t)rand() % n : 0;
}

static void cpu_write_then_read_returns_the_bytes_at_odd_offsets(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    const port_memory *mem_ops = env.ops->memory;
    for (int round = 0; round < MEMORY_ROUNDS; round++) {
        size_t bytes = 1 + random_below(MEMORY_MAX_BYTES);
        size_t offset = random_below(bytes);
        size_t length = 1 + random_below(bytes - offset);
        port_mem *mem = NULL;
        CPU_TEST_ASSERT_OK(mem_ops->alloc(env.dev, bytes, &mem));
        unsigned char *in = malloc(length), *out = malloc(length);
        random_bytes(in, length);
        CPU_TEST_ASSERT_OK(mem_ops->write(env.stream, mem, offset, in, length));
        CPU_TEST_ASSERT_OK(mem_ops->read(env.stream, mem, offset, out, length));
        assert_memory_equal(in, out, length);
        free(in);
        free(out);
        mem_ops->free(env.dev, mem);
    }
    cpu_test_close(&env);
}

static void cpu_copy_fill_and_overlapping_copy_match_a_host_model(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    const port_memory *m = env.ops->memory;
    enum { BYTES = 4099 };
    unsigned char model_a[BYTES], model_b[BYTES], got[BYTES];
    random_bytes(model_a, BYTES);
    random_bytes(model_b, BYTES);
    port_mem *a = NULL, *b = NULL;
    CPU_TEST_ASSERT_OK(m->alloc(env.dev, BYTES, &a));
    CPU_TEST_ASSERT_OK(m->alloc(env.dev, BYTES, &b));
    CPU_TEST_ASSERT_OK(m->write(env.stream, a, 0, model_a, BYTES));
    CPU_TEST_ASSERT_OK(m->write(env.stream, b, 0, model_b, BYTES));
    for (int round = 0; round < MEMORY_ROUNDS; round++) {
        size_t src_off = random_below(BYTES), dst_off = random_below(BYTES);
        size_t limit = BYTES - (src_off > dst_off ? src_off : dst_off);
        size_t n = random_below(limit + 1);
        switch (rand() % 3) {
        case 0:
            CPU_TEST_ASSERT_OK(m->copy(env.stream, b, dst_off, a, src_off, n));
            memmove(model_b + dst_off, model_a + src_off, n);
            break;
        case 1: /* within one buffer: the ranges may overlap */
            CPU_TEST_ASSERT_OK(m->copy(env.stream, a, dst_off, a, src_off, n));
            memmove(model_a + dst_off, model_a + src_off, n);
            break;
        default: {
            uint8_t byte = (uint8_t)rand();
            CPU_TEST_ASSERT_OK(m->fill(env.stream, b, dst_off, byte, n));
            memset(model_b + dst_off, byte, n);
        }
        }
    }
    CPU_TEST_ASSERT_OK(env.ops->execution->synchronize(env.stream));
    CPU_TEST_ASSERT_OK(m->read(env.stream, a, 0, got, BYTES));
    assert_memory_equal(got, model_a, BYTES);
    CPU_TEST_ASSERT_OK(m->read(env.stream, b, 0, got, BYTES));
    assert_memory_equal(got, model_b, BYTES);
    m->free(env.dev, a);
    m->free(env.dev, b);
    cpu_test_close(&env);
}

static void cpu_usage_rises_and_falls_with_allocations(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    cpu_test_seed();
    const port_memory *m = env.ops->memory;
    uint64_t used0, total, used1, used2;
    CPU_TEST_ASSERT_OK(m->usage(env.dev, &used0, &total));
    assert_true(total == (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE));
    size_t bytes = 1000 + random_below(1 << 20);
    port_mem *mem = NULL;
    CPU_TEST_ASSERT_OK(m->alloc(env.dev, bytes, &mem));
    CPU_TEST_ASSERT_OK(m->usage(env.dev, &used1, &total));
    assert_true(used1 == used0 + bytes);
    m->free(env.dev, mem);
    CPU_TEST_ASSERT_OK(m->usage(env.dev, &used2, &total));
    assert_true(used2 == used0);
    cpu_test_close(&env);
}

static void cpu_alloc_beyond_ram_is_out_of_memory_and_leaks_nothing(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    const port_memory *m = env.ops->memory;
    uint64_t used0, used1, total;
    CPU_TEST_ASSERT_OK(m->usage(env.dev, &used0, &total));
    port_mem *mem = NULL;
    assert_int_equal(m->alloc(env.dev, (size_t)total + 1, &mem), KILN_ERR_OUT_OF_MEMORY);
    assert_null(mem);
    assert_int_equal(m->alloc(env.dev, SIZE_MAX - 8, &mem), KILN_ERR_OUT_OF_MEMORY);
    assert_null(mem);
    assert_true(strlen(util_last_error()) > 0);
    CPU_TEST_ASSERT_OK(m->usage(env.dev, &used1, &total));
    assert_true(used1 == used0);
    /* Two halves that together pass RAM: the second is refused. */
    port_mem *half = NULL;
    CPU_TEST_ASSERT_OK(m->alloc(env.dev, (size_t)(total / 2 + 1), &half));
    assert_int_equal(m->alloc(env.dev, (size_t)(total / 2 + 1), &mem), KILN_ERR_OUT_OF_MEMORY);
    m->free(env.dev, half);
    CPU_TEST_ASSERT_OK(m->usage(env.dev, &used1, &total));
    assert_true(used1 == used0);
    cpu_test_close(&env);
}

static void cpu_access_past_the_end_is_out_of_range(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    const port_memory *m = env.ops->memory;
    port_mem *mem = NULL;
    unsigned char buf[16] = {0};
    CPU_TEST_ASSERT_OK(m->alloc(env.dev, 100, &mem));
    assert_int_equal(m->write(env.stream, mem, 90, buf, 16), KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(m->read(env.stream, mem, SIZE_MAX, buf, 2), KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(m->fill(env.stream, mem, 1, 0, 100), KILN_ERR_OUT_OF_RANGE);
    assert_int_equal(m->copy(env.stream, mem, 0, mem, 50, 51), KILN_ERR_OUT_OF_RANGE);
    m->free(env.dev, mem);
    cpu_test_close(&env);
}

static void cpu_allocations_are_64_byte_aligned(void **state)
{
    cpu_test_env env;
    cpu_test_open(&env);
    for (size_t bytes = 1; bytes < 5000; bytes = bytes * 3 + 1) {
        port_mem *mem = NULL;
        CPU_TEST_ASSERT_OK(env.ops->memory->alloc(env.dev, bytes, &mem));
        /* A kernel sees the pointer a buffer argument carries. */
        assert_int_equal((uintptr_t)mem->data % 64, 0);
        env.ops->memory->free(env.dev, mem);
    }
    cpu_test_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_write_then_read_returns_the_bytes_at_odd_offsets),
        cmocka_unit_test(cpu_copy_fill_and_overlapping_copy_match_a_host_model),
        cmocka_unit_test(cpu_usage_rises_and_falls_with_allocations),
        cmocka_unit_test(cpu_alloc_beyond_ram_is_out_of_memory_and_leaks_nothing),
        cmocka_unit_test(cpu_access_past_the_end_is_out_of_range),
        cmocka_unit_test(cpu_allocations_are_64_byte_aligned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
