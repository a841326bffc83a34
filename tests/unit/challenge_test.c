/*
 * challenge_test.c - unit tests for src/service/challenge: the single-use
 * nonce table (use, expiry, a full table, lazy forgetting) and the
 * per-address token buckets (burst, refill, IPv4/IPv6 keys and their bytes, a
 * bounded table), each also from several threads at once. The buckets kept in
 * the store are tested against etcd in ratelimit_etcd_test.c.
 *
 * Time is a hand-driven clock, so nothing sleeps. The expected counts follow
 * from the definitions in challenge.h (a bucket of B tokens refilled at R a
 * second), not from a run of the code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "service/challenge.h"

#define MSG() (aecs_err_last()->message)

static void expect_rc(int rc, int want)
{
    if (rc != want)
        fail_msg("got %s (%d), wanted %s: %s", aecs_err_name(rc), rc, aecs_err_name(want), MSG());
}

struct fake_clock {
    uint64_t now;
};

static uint64_t fake_now(void *arg)
{
    return ((struct fake_clock *)arg)->now;
}

static struct aecs_challenge_table *table(size_t cap, uint64_t ttl, struct fake_clock *fc)
{
    struct aecs_clock c = {fake_now, fc};
    struct aecs_challenge_table *t = NULL;

    expect_rc(aecs_challenge_table_new(cap, ttl, fc != NULL ? &c : NULL, &t), AECS_OK);
    return t;
}

/* ---- nonces ---- */

static void test_nonce_single_use(void **state)
{
    struct fake_clock fc = {1000};
    struct aecs_challenge_table *t = table(16, 60000, &fc);
    uint8_t a[32], b[32], never[32];
    uint64_t expires = 0;

    (void)state;
    expect_rc(aecs_challenge_issue(t, a, &expires), AECS_OK);
    assert_int_equal(expires, 61000);
    expect_rc(aecs_challenge_issue(t, b, NULL), AECS_OK);
    assert_memory_not_equal(a, b, 32);
    assert_int_equal(aecs_challenge_count(t), 2);

    expect_rc(aecs_challenge_consume(t, a), AECS_OK);
    expect_rc(aecs_challenge_consume(t, a), AECS_E_NOT_FOUND);
    assert_non_null(strstr(MSG(), "already used"));
    assert_int_equal(aecs_challenge_count(t), 1);

    memcpy(never, b, 32);
    never[31] ^= 1;
    expect_rc(aecs_challenge_consume(t, never), AECS_E_NOT_FOUND);
    expect_rc(aecs_challenge_consume(t, b), AECS_OK);
    assert_int_equal(aecs_challenge_count(t), 0);
    expect_rc(aecs_challenge_consume(t, NULL), AECS_E_INVALID_ARGUMENT);
    aecs_challenge_table_free(t);
    aecs_challenge_table_free(NULL);
}

static void test_nonce_expiry(void **state)
{
    struct fake_clock fc = {5000};
    struct aecs_challenge_table *t = table(16, 60000, &fc);
    uint8_t a[32], b[32];

    (void)state;
    expect_rc(aecs_challenge_issue(t, a, NULL), AECS_OK);
    expect_rc(aecs_challenge_issue(t, b, NULL), AECS_OK);
    fc.now = 5000 + 59999; /* the last millisecond of its life */
    expect_rc(aecs_challenge_consume(t, a), AECS_OK);
    fc.now = 5000 + 60000; /* expired */
    expect_rc(aecs_challenge_consume(t, b), AECS_E_EXPIRED);
    assert_non_null(strstr(MSG(), "expired 0 ms ago"));
    /* consumed by the failed attempt too: a second try does not find it */
    expect_rc(aecs_challenge_consume(t, b), AECS_E_NOT_FOUND);

    /* an expired nonce is still told apart long after, while its slot is not needed */
    expect_rc(aecs_challenge_issue(t, a, NULL), AECS_OK);
    fc.now += 3600 * 1000;
    expect_rc(aecs_challenge_consume(t, a), AECS_E_EXPIRED);
    aecs_challenge_table_free(t);
}

static void test_nonce_table_full(void **state)
{
    struct fake_clock fc = {0};
    struct aecs_challenge_table *t = table(4, 1000, &fc);
    uint8_t n[6][32];

    (void)state;
    for (int i = 0; i < 4; i++) {
        fc.now = (uint64_t)i * 100; /* issued at 0, 100, 200, 300 */
        expect_rc(aecs_challenge_issue(t, n[i], NULL), AECS_OK);
    }
    /* full of unexpired nonces: refused, nothing evicted */
    fc.now = 999;
    expect_rc(aecs_challenge_issue(t, n[4], NULL), AECS_E_NO_MEMORY);
    assert_non_null(strstr(MSG(), "table full"));
    assert_int_equal(aecs_challenge_count(t), 4);
    expect_rc(aecs_challenge_consume(t, n[3]), AECS_OK); /* a consume frees a slot */
    expect_rc(aecs_challenge_issue(t, n[4], NULL), AECS_OK);
    expect_rc(aecs_challenge_issue(t, n[5], NULL), AECS_E_NO_MEMORY);

    /* at 1100 the nonces of 0 and 100 have expired: a full table forgets them, only them */
    fc.now = 1100;
    expect_rc(aecs_challenge_issue(t, n[5], NULL), AECS_OK);
    assert_int_equal(aecs_challenge_count(t), 3); /* n[2], n[4], n[5] */
    expect_rc(aecs_challenge_consume(t, n[0]), AECS_E_NOT_FOUND);
    expect_rc(aecs_challenge_consume(t, n[1]), AECS_E_NOT_FOUND);
    expect_rc(aecs_challenge_consume(t, n[2]), AECS_OK); /* expires at 1200 */
    expect_rc(aecs_challenge_consume(t, n[4]), AECS_OK);
    expect_rc(aecs_challenge_consume(t, n[5]), AECS_OK);
    assert_int_equal(aecs_challenge_count(t), 0);

    /* a table of one */
    aecs_challenge_table_free(t);
    t = table(1, 1000, &fc);
    expect_rc(aecs_challenge_issue(t, n[0], NULL), AECS_OK);
    expect_rc(aecs_challenge_issue(t, n[1], NULL), AECS_E_NO_MEMORY);
    fc.now += 1000;
    expect_rc(aecs_challenge_issue(t, n[1], NULL), AECS_OK);
    expect_rc(aecs_challenge_consume(t, n[0]), AECS_E_NOT_FOUND);
    expect_rc(aecs_challenge_consume(t, n[1]), AECS_OK);
    aecs_challenge_table_free(t);
}

static void test_nonce_table_arguments(void **state)
{
    struct aecs_challenge_table *t = NULL;
    uint8_t n[32];

    (void)state;
    expect_rc(aecs_challenge_table_new(0, 1000, NULL, &t), AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_challenge_table_new(AECS_CHALLENGE_MAX_CAPACITY + 1, 1000, NULL, &t),
              AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_challenge_table_new(16, 0, NULL, &t), AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_challenge_table_new(16, AECS_CHALLENGE_MAX_TTL_MS + 1ull, NULL, &t),
              AECS_E_INVALID_ARGUMENT);
    assert_null(t);
    /* the defaults, on the real clock */
    t = table(AECS_CHALLENGE_DEFAULT_CAPACITY, AECS_CHALLENGE_DEFAULT_TTL_MS, NULL);
    expect_rc(aecs_challenge_issue(t, n, NULL), AECS_OK);
    expect_rc(aecs_challenge_consume(t, n), AECS_OK);
    aecs_challenge_table_free(t);
}

/* ---- nonces from several threads ---- */

#define THREADS 4
#define PER_THREAD 3000

struct worker {
    struct aecs_challenge_table *t;
    uint8_t (*shared)[32];
    size_t shared_count;
    int ok, failed;
};

/* Issues and consumes its own nonces: every consume must succeed once. */
static void *issue_consume(void *arg)
{
    struct worker *w = arg;
    uint8_t mine[64][32];

    for (int round = 0; round < PER_THREAD / 64; round++) {
        for (int i = 0; i < 64; i++) {
            if (aecs_challenge_issue(w->t, mine[i], NULL) != AECS_OK)
                w->failed++;
        }
        for (int i = 0; i < 64; i++) {
            if (aecs_challenge_consume(w->t, mine[i]) == AECS_OK)
                w->ok++;
            else
                w->failed++;
            if (aecs_challenge_consume(w->t, mine[i]) != AECS_E_NOT_FOUND)
                w->failed++;
        }
    }
    return NULL;
}

/* Tries to consume every shared nonce: together the threads must win each exactly once. */
static void *race_consume(void *arg)
{
    struct worker *w = arg;

    for (size_t i = 0; i < w->shared_count; i++) {
        int rc = aecs_challenge_consume(w->t, w->shared[i]);
        if (rc == AECS_OK)
            w->ok++;
        else if (rc != AECS_E_NOT_FOUND)
            w->failed++;
    }
    return NULL;
}

static void test_nonce_threads(void **state)
{
    struct fake_clock fc = {0};
    struct aecs_challenge_table *t = table(THREADS * 64, 60000, &fc);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    size_t shared_count = THREADS * 64;
    uint8_t(*shared)[32] = calloc(shared_count, 32);
    int total = 0;

    (void)state;
    assert_non_null(shared);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++) {
        w[i].t = t;
        assert_int_equal(pthread_create(&th[i], NULL, issue_consume, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failed, 0);
        assert_int_equal(w[i].ok, PER_THREAD / 64 * 64);
    }
    assert_int_equal(aecs_challenge_count(t), 0);

    for (size_t i = 0; i < shared_count; i++)
        expect_rc(aecs_challenge_issue(t, shared[i], NULL), AECS_OK);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++) {
        w[i].t = t;
        w[i].shared = shared;
        w[i].shared_count = shared_count;
        assert_int_equal(pthread_create(&th[i], NULL, race_consume, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failed, 0);
        total += w[i].ok;
    }
    assert_int_equal(total, (int)shared_count);
    assert_int_equal(aecs_challenge_count(t), 0);
    free(shared);
    aecs_challenge_table_free(t);
}

/* ---- rate limiting ---- */

static struct aecs_ratelimit *limiter(unsigned burst, unsigned rate, size_t max,
                                      struct fake_clock *fc)
{
    struct aecs_clock c = {fake_now, fc};
    struct aecs_ratelimit *rl = NULL;

    expect_rc(aecs_ratelimit_new(burst, rate, max, &c, &rl), AECS_OK);
    return rl;
}

static int take(struct aecs_ratelimit *rl, const char *addr)
{
    int allowed = -1;

    expect_rc(aecs_ratelimit_take(rl, addr, &allowed), AECS_OK);
    return allowed;
}

static void test_rate_burst_and_refill(void **state)
{
    struct fake_clock fc = {10000};
    struct aecs_ratelimit *rl = limiter(3, 1, 16, &fc);

    (void)state;
    assert_int_equal(take(rl, "192.0.2.1"), 1);
    assert_int_equal(take(rl, "192.0.2.1"), 1);
    assert_int_equal(take(rl, "192.0.2.1"), 1);
    assert_int_equal(take(rl, "192.0.2.1"), 0);
    fc.now += 999; /* one token a second: not yet */
    assert_int_equal(take(rl, "192.0.2.1"), 0);
    fc.now += 1;
    assert_int_equal(take(rl, "192.0.2.1"), 1);
    assert_int_equal(take(rl, "192.0.2.1"), 0);
    /* a long pause fills the bucket, never beyond the burst */
    fc.now += 3600 * 1000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(take(rl, "192.0.2.1"), 1);
    assert_int_equal(take(rl, "192.0.2.1"), 0);
    /* other addresses have their own buckets */
    assert_int_equal(take(rl, "192.0.2.2"), 1);
    aecs_ratelimit_free(rl);

    /* the api.md figures: 20 at once, then 5 a second (one each 200 ms) */
    fc.now = 0;
    rl = limiter(AECS_RATELIMIT_DEFAULT_BURST, AECS_RATELIMIT_DEFAULT_PER_SECOND,
                 AECS_RATELIMIT_DEFAULT_ADDRESSES, &fc);
    int n = 0;
    while (take(rl, "2001:db8::1"))
        n++;
    assert_int_equal(n, 20);
    fc.now += 199;
    assert_int_equal(take(rl, "2001:db8::1"), 0);
    fc.now += 1;
    assert_int_equal(take(rl, "2001:db8::1"), 1);
    fc.now += 1000;
    n = 0;
    while (take(rl, "2001:db8::1"))
        n++;
    assert_int_equal(n, 5);
    aecs_ratelimit_free(rl);
    aecs_ratelimit_free(NULL);
}

/* 73 characters: longer than any numeric address */
static const char long_addr[] = "1111111111111111111111111111111111111111111111111111111111111"
                                "111111111111";

static void test_rate_address_keys(void **state)
{
    struct fake_clock fc = {0};
    struct aecs_ratelimit *rl = limiter(1, 1, 64, &fc);

    (void)state;
    /* one /64: any interface id */
    assert_int_equal(take(rl, "2001:db8:1:2::1"), 1);
    assert_int_equal(take(rl, "2001:db8:1:2:ffff:ffff:ffff:9"), 0);
    assert_int_equal(take(rl, "2001:0db8:0001:0002:0000:0000:0000:0042"), 0);
    assert_int_equal(take(rl, "2001:db8:1:3::1"), 1); /* the next /64 */
    /* IPv4, and the same address written as IPv4-mapped IPv6 */
    assert_int_equal(take(rl, "192.0.2.7"), 1);
    assert_int_equal(take(rl, "::ffff:192.0.2.7"), 0);
    assert_int_equal(take(rl, "::ffff:c000:0207"), 0);
    assert_int_equal(take(rl, "192.0.2.8"), 1); /* IPv4 is limited per address */
    /* a zone does not make another host */
    assert_int_equal(take(rl, "fe80::1%eth0"), 1);
    assert_int_equal(take(rl, "fe80::2"), 0);
    /* ::1 and 0.0.0.0 keys are apart from the mapped range */
    assert_int_equal(take(rl, "::1"), 1);
    assert_int_equal(take(rl, "0.0.0.0"), 1);
    assert_int_equal(aecs_ratelimit_tracked(rl), 7);

    static const char *const bad[] = {
        "",           "example.com", "192.0.2.300",    "192.0.2", "[::1]", "192.0.2.1:80",
        " 192.0.2.1", "%eth0",       "2001:db8::1::2", long_addr};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int allowed = -1;
        expect_rc(aecs_ratelimit_take(rl, bad[i], &allowed), AECS_E_INVALID_ARGUMENT);
        assert_int_equal(allowed, 0);
    }
    int allowed = -1;
    expect_rc(aecs_ratelimit_take(rl, NULL, &allowed), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_ratelimit_tracked(rl), 7);
    aecs_ratelimit_free(rl);
}

/* The keys themselves (RFC 4291: ::ffff:a.b.c.d; a /64 is the first 8 bytes), as stored. */
static void test_rate_address_key_bytes(void **state)
{
    static const struct {
        const char *addr;
        uint8_t key[AECS_RATELIMIT_KEY_SIZE];
    } v[] = {
        {"192.0.2.7", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7}},
        {"::ffff:192.0.2.7", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7}},
        {"2001:db8:1:2:a:b:c:d", {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2}},
        {"fe80::1%eth0", {0xfe, 0x80}},
        {"::1", {0}},
    };
    uint8_t key[AECS_RATELIMIT_KEY_SIZE];

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        expect_rc(aecs_ratelimit_address_key(v[i].addr, key), AECS_OK);
        assert_memory_equal(key, v[i].key, sizeof(key));
    }
    memset(key, 0xaa, sizeof(key));
    expect_rc(aecs_ratelimit_address_key("192.0.2.300", key), AECS_E_INVALID_ARGUMENT);
    assert_memory_equal(key, v[4].key, sizeof(key)); /* zeros */
    expect_rc(aecs_ratelimit_address_key(NULL, key), AECS_E_INVALID_ARGUMENT);
}

static void test_rate_bounded_table(void **state)
{
    struct fake_clock fc = {0};
    struct aecs_ratelimit *rl = limiter(1, 1, 2, &fc);

    (void)state;
    assert_int_equal(take(rl, "192.0.2.1"), 1);
    assert_int_equal(take(rl, "192.0.2.2"), 1);
    assert_int_equal(take(rl, "192.0.2.1"), 0); /* .1 is now the most recently seen */
    /* a third address forgets the least recently seen one (.2), not .1 */
    assert_int_equal(take(rl, "192.0.2.3"), 1);
    assert_int_equal(aecs_ratelimit_tracked(rl), 2);
    assert_int_equal(take(rl, "192.0.2.1"), 0); /* still remembered: still empty */
    assert_int_equal(take(rl, "192.0.2.2"), 1); /* forgotten: starts full (and forgets .3) */
    assert_int_equal(take(rl, "192.0.2.3"), 1);
    assert_int_equal(aecs_ratelimit_tracked(rl), 2);
    aecs_ratelimit_free(rl);

    rl = NULL;
    expect_rc(aecs_ratelimit_new(0, 1, 16, NULL, &rl), AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_ratelimit_new(1, 0, 16, NULL, &rl), AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_ratelimit_new(1, 1, 0, NULL, &rl), AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_ratelimit_new(1, AECS_RATELIMIT_MAX_RATE + 1, 16, NULL, &rl),
              AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_ratelimit_new(1, 1, AECS_RATELIMIT_MAX_ADDRESSES + 1, NULL, &rl),
              AECS_E_INVALID_ARGUMENT);
    assert_null(rl);
    /* the real clock */
    expect_rc(aecs_ratelimit_new(2, 1, 16, NULL, &rl), AECS_OK);
    assert_int_equal(take(rl, "192.0.2.1"), 1);
    aecs_ratelimit_free(rl);
}

struct taker {
    struct aecs_ratelimit *rl;
    const char *addr;
    int allowed, errors;
};

static void *take_many(void *arg)
{
    struct taker *k = arg;

    for (int i = 0; i < 2000; i++) {
        int allowed = 0;
        if (aecs_ratelimit_take(k->rl, k->addr, &allowed) != AECS_OK)
            k->errors++;
        k->allowed += allowed;
    }
    return NULL;
}

static void test_rate_threads(void **state)
{
    struct fake_clock fc = {0}; /* time stands still: no refill */
    struct aecs_ratelimit *rl = limiter(100, 1, 16, &fc);
    static const char *const addrs[] = {"192.0.2.1", "::ffff:192.0.2.1", "192.0.2.1",
                                        "2001:db8::5"};
    pthread_t th[4];
    struct taker k[4];

    (void)state;
    memset(k, 0, sizeof(k));
    for (int i = 0; i < 4; i++) {
        k[i].rl = rl;
        k[i].addr = addrs[i];
        assert_int_equal(pthread_create(&th[i], NULL, take_many, &k[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    /* the first three share one bucket of 100, the last has its own */
    assert_int_equal(k[0].allowed + k[1].allowed + k[2].allowed, 100);
    assert_int_equal(k[3].allowed, 100);
    for (int i = 0; i < 4; i++)
        assert_int_equal(k[i].errors, 0);
    aecs_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonce_single_use),   cmocka_unit_test(test_nonce_expiry),
        cmocka_unit_test(test_nonce_table_full),   cmocka_unit_test(test_nonce_table_arguments),
        cmocka_unit_test(test_nonce_threads),      cmocka_unit_test(test_rate_burst_and_refill),
        cmocka_unit_test(test_rate_address_keys),  cmocka_unit_test(test_rate_address_key_bytes),
        cmocka_unit_test(test_rate_bounded_table), cmocka_unit_test(test_rate_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
