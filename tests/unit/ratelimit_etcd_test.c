/*
 * ratelimit_etcd_test.c - rate limits shared by the replicas of a cluster
 * (the shared limiter of src/service/challenge.h, and
 * aecs_service_rate_check on services opened on etcd) against a real etcd
 * on loopback (tests/unit/common/etcd_cluster.c starts it; etcd must be
 * installed, scripts/deps.sh does it).
 *
 *   - two services on one etcd (replicas A and B) draw from one bucket per
 *     address: with a burst of 3, two takes on A and one on B, then both
 *     refuse with rate_limited and the message; tokens come back as the
 *     (hand-driven) clock moves; IPv6 addresses share a bucket per /64; the
 *     bucket is the key and value the design gives (read back from etcd);
 *   - threads taking at once through two replicas never get more than the
 *     burst, and lose no token; with a bucket to spare, 32 threads on one
 *     replica all get theirs (the takes of one process never race each
 *     other) and the stored count is the burst less the takes; 2 replicas of
 *     4 threads that take until refused get exactly the burst between them;
 *   - a take whose every write loses to another replica (a clock that writes
 *     the bucket, as another replica would, between the take's read and its
 *     write) is refused with busy (AECS_E_MISMATCH) and its message, not
 *     rate_limited, writes nothing, and is logged once, not once per take;
 *   - stored buckets written by others: a time ahead of this replica's clock
 *     (no refill, and it is kept; more than 5 s ahead, replaced by now and
 *     stored), tokens above the burst, junk;
 *   - etcd down: refused with busy (AECS_E_IO) and a message that says so,
 *     never let through; etcd back: allowed again;
 *   - sweeps delete buckets that have refilled to full and stayed idle a
 *     minute (and junk), one page at a time, going on where the last one
 *     stopped; a key swept and made again (at version 1 again) is not taken
 *     for the bucket a cache holds at version 1; takes sweep every
 *     AECS_RATELIMIT_SWEEP_EVERY tokens;
 *   - with SQLite the buckets stay in memory, one set per process.
 *
 * Expected values come from outside the code: the token-bucket arithmetic
 * done by hand (a bucket of B tokens refilled at R a second), the address
 * keys from RFC 4291 (::ffff:a.b.c.d, and a /64 is the first 8 bytes), and
 * etcd's documented version rules, read over its gateway by the helper.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "etcd_cluster.h"
#include "service/challenge.h"
#include "service/service.h"
#include "store/store.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

/* 2026-01-01T00:00:00Z in ms: the hand-driven clock's start */
#define T0 1767225600000ull

/* the keys of the addresses used below (RFC 4291: IPv4-mapped; a /64 and zeros) */
#define KEY_192_0_2_7 "/rate/00000000000000000000ffffc0000207"
#define KEY_192_0_2_9 "/rate/00000000000000000000ffffc0000209"
#define KEY_192_0_2_10 "/rate/00000000000000000000ffffc000020a"
#define KEY_192_0_2_11 "/rate/00000000000000000000ffffc000020b"
#define KEY_192_0_2_12 "/rate/00000000000000000000ffffc000020c"
#define KEY_192_0_2_30 "/rate/00000000000000000000ffffc000021e"
#define KEY_2001_DB8_1_2 "/rate/20010db8000100020000000000000000"

static char g_dir[64];
static char g_spec[400];

struct fake_clock {
    uint64_t now;
    /*
     * Not NULL: every reading of the clock also puts bump_value under this key
     * in etcd, as another replica's take would. The take reads the clock
     * between its read of the bucket and its compare-and-swap, so each of its
     * writes then loses. bumps counts the puts. Only the main thread sets it.
     */
    const char *bump;
    const char *bump_value;
    long long bumps;
};

static struct tu_etcd g_etcd;

static uint64_t fake_now(void *arg)
{
    struct fake_clock *fc = arg;

    if (fc->bump != NULL) {
        tu_etcd_put(&g_etcd, fc->bump, fc->bump_value);
        fc->bumps++;
    }
    return __atomic_load_n(&fc->now, __ATOMIC_SEQ_CST);
}

static int group_setup(void **state)
{
    (void)state;
    tu_etcd_start(&g_etcd, 1, 0, NULL);
    tu_mkdtemp(g_dir, sizeof(g_dir));
    /* short budgets, so the test of etcd down does not wait long */
    snprintf(g_spec, sizeof(g_spec), "etcd:%s?timeout=2000&connect-timeout=500", g_etcd.endpoints);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_etcd_stop(&g_etcd);
    tu_rmtree(g_dir);
    return 0;
}

static void expect_rc(int rc, int want)
{
    if (rc != want)
        fail_msg("got %s (%d), wanted %s: %s", aecs_err_name(rc), rc, aecs_err_name(want), MSG());
}

/* A service on spec (its own data folder `name`) with the rate limiter set up on clock. */
static struct aecs_service *replica(const char *spec, const char *name, unsigned burst,
                                    unsigned per_second, struct fake_clock *fc)
{
    struct aecs_clock clock = {fake_now, fc};
    struct aecs_service_config cfg;
    struct aecs_release_config rc;
    struct aecs_service *svc = NULL;
    char data[128];
    int saved = g_aecs_log_level;

    snprintf(data, sizeof(data), "%s/%s", g_dir, name);
    memset(&cfg, 0, sizeof(cfg));
    cfg.store_spec = spec;
    cfg.data_dir = data;
    cfg.version = "test";
    expect_rc(aecs_service_open(&cfg, &svc), AECS_OK);
    memset(&rc, 0, sizeof(rc));
    rc.rate_burst = burst;
    rc.rate_per_second = per_second;
    rc.rate_clock = &clock;             /* copied by the limiter */
    aecs_log_set_level(AECS_LOG_ERROR); /* "no attester" */
    expect_rc(aecs_service_release_setup(svc, &rc), AECS_OK);
    aecs_log_set_level(saved);
    return svc;
}

static void allowed(struct aecs_service *svc, const char *addr)
{
    enum aecs_api_code api = API_OK;

    expect_rc(aecs_service_rate_check(svc, addr, &api), AECS_OK);
    assert_int_equal(api, API_OK);
}

static void limited(struct aecs_service *svc, const char *addr)
{
    enum aecs_api_code api = API_OK;
    char want[128];

    expect_rc(aecs_service_rate_check(svc, addr, &api), AECS_E_TOO_LARGE);
    assert_int_equal(api, API_RATE_LIMITED);
    assert_string_equal(aecs_api_code_name(api), "rate_limited");
    assert_int_equal(aecs_api_code_status(api), 429);
    snprintf(want, sizeof(want), "too many requests from %s: slow down", addr);
    assert_string_equal(MSG(), want);
}

/* Asserts etcd holds exactly value under key, at version (read over the gateway). */
static void stored(const char *key, const char *value, long long version)
{
    long long got_version = -1;
    char *got = tu_etcd_get(&g_etcd, key, &got_version);

    if (got == NULL)
        fail_msg("%s is not in etcd", key);
    if (strcmp(got, value) != 0)
        fail_msg("%s holds \"%s\", expected \"%s\"", key, got, value);
    assert_int_equal(got_version, version);
    free(got);
}

static void absent(const char *key)
{
    char *got = tu_etcd_get(&g_etcd, key, NULL);

    if (got != NULL)
        fail_msg("%s is in etcd: \"%s\"", key, got);
}

/* "<tokens> <time>" as the design writes it */
static const char *bucket(uint64_t milli, uint64_t ms)
{
    static char text[64];

    snprintf(text, sizeof(text), "%llu %llu", (unsigned long long)milli, (unsigned long long)ms);
    return text;
}

/* ---- two replicas, one bucket ---- */

static void test_shared_bucket(void **state)
{
    struct fake_clock fc = {.now = T0};
    struct aecs_service *a, *b;
    enum aecs_api_code api = API_OK;

    (void)state;
    tu_etcd_wipe(&g_etcd);
    a = replica(g_spec, "a", 3, 1, &fc);
    b = replica(g_spec, "b", 3, 1, &fc);

    /* a burst of 3 for the address, wherever its requests go */
    allowed(a, "192.0.2.7");
    allowed(a, "192.0.2.7");
    allowed(b, "192.0.2.7");
    limited(a, "192.0.2.7");
    limited(b, "192.0.2.7");
    /* three writes: created at version 1; 0 tokens left as of T0 */
    stored(KEY_192_0_2_7, bucket(0, T0), 3);
    /* other addresses have their own buckets */
    allowed(b, "192.0.2.8");

    /* one token a second */
    fc.now += 999;
    limited(b, "192.0.2.7");
    fc.now += 1;
    allowed(b, "192.0.2.7");
    limited(a, "192.0.2.7");
    limited(b, "192.0.2.7");
    stored(KEY_192_0_2_7, bucket(0, T0 + 1000), 4);
    /* half a token, counted in thousandths */
    fc.now += 500;
    limited(a, "192.0.2.7");
    fc.now += 500;
    allowed(a, "192.0.2.7");
    limited(b, "192.0.2.7");

    /* a long pause fills the bucket, never beyond the burst */
    fc.now += 3600 * 1000;
    allowed(b, "192.0.2.7");
    allowed(a, "192.0.2.7");
    allowed(b, "192.0.2.7");
    limited(a, "192.0.2.7");
    limited(b, "192.0.2.7");

    /* IPv6: one bucket per /64, any interface id */
    allowed(a, "2001:db8:1:2::1");
    allowed(b, "2001:db8:1:2:ffff:ffff:ffff:9");
    allowed(a, "2001:0db8:0001:0002:0000:0000:0000:0042");
    limited(b, "2001:db8:1:2::7");
    allowed(b, "2001:db8:1:3::1"); /* the next /64 */
    stored(KEY_2001_DB8_1_2, bucket(0, fc.now), 3);

    /* not an address: bad_request, nothing stored */
    expect_rc(aecs_service_rate_check(a, "not-an-address", &api), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(api, API_BAD_REQUEST);
    api = API_OK;
    expect_rc(aecs_service_rate_check(b, NULL, &api), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(api, API_BAD_REQUEST);
    assert_int_equal(tu_etcd_count(&g_etcd, "/rate/"), 4);

    aecs_service_free(a);
    aecs_service_free(b);
}

/* ---- threads on two replicas ---- */

#define RACE_BURST 20
#define RACE_TAKES 25

struct racer {
    struct aecs_service *svc;
    const char *addr;
    int takes; /* how many takes; 0: until the first rate_limited */
    int allowed, limited, busy, errors;
    char why[600];
};

/*
 * Takes r->takes tokens of r->addr (0: until refused as rate_limited). busy
 * (every write lost to the other replica's takes, AECS_E_MISMATCH) is counted
 * apart: it takes nothing, and is no error.
 */
static void *race(void *arg)
{
    struct racer *r = arg;

    for (int i = 0; r->takes == 0 || i < r->takes; i++) {
        enum aecs_api_code api = API_OK;
        int rc = aecs_service_rate_check(r->svc, r->addr, &api);
        if (rc == AECS_OK) {
            r->allowed++;
        } else if (rc == AECS_E_TOO_LARGE && api == API_RATE_LIMITED) {
            r->limited++;
            if (r->takes == 0)
                break;
        } else if (rc == AECS_E_MISMATCH && api == API_BUSY) {
            r->busy++;
        } else {
            r->errors++;
            snprintf(r->why, sizeof(r->why), "%s", MSG());
            if (r->takes == 0)
                break;
        }
    }
    return NULL;
}

/* Runs n racers at once and waits for them; fails on any error. */
static void race_all(struct racer *r, int n)
{
    pthread_t th[64];

    assert_true(n <= 64);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < n; i++) {
        if (r[i].errors > 0)
            fail_msg("thread %d: %d errors: %s", i, r[i].errors, r[i].why);
    }
}

static void test_concurrent_replicas(void **state)
{
    struct fake_clock fc = {.now = T0}; /* time stands still: no refill */
    struct aecs_service *svc[2];
    struct racer r[4];
    int total = 0, after = 0;

    (void)state;
    tu_etcd_wipe(&g_etcd);
    svc[0] = replica(g_spec, "a", RACE_BURST, 1, &fc);
    svc[1] = replica(g_spec, "b", RACE_BURST, 1, &fc);
    memset(r, 0, sizeof(r));
    /* two threads on each replica: races between replicas and within one */
    for (int i = 0; i < 4; i++)
        r[i] = (struct racer){.svc = svc[i % 2], .addr = "198.51.100.1", .takes = RACE_TAKES};
    race_all(r, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].allowed + r[i].limited + r[i].busy, RACE_TAKES);
        total += r[i].allowed;
    }
    print_message("4 threads on 2 replicas: %d of %d takes allowed (%d, %d, %d, %d), %d busy\n",
                  total, 4 * RACE_TAKES, r[0].allowed, r[1].allowed, r[2].allowed, r[3].allowed,
                  r[0].busy + r[1].busy + r[2].busy + r[3].busy);
    assert_true(total >= 1 && total <= RACE_BURST);
    /* what the races left (a take refused as busy takes nothing) is still there */
    while (aecs_service_rate_check(svc[after % 2], "198.51.100.1", &(enum aecs_api_code){0}) ==
           AECS_OK)
        after++;
    assert_int_equal(total + after, RACE_BURST);
    stored("/rate/00000000000000000000ffffc6336401", bucket(0, T0), RACE_BURST);
    aecs_service_free(svc[0]);
    aecs_service_free(svc[1]);
}

/*
 * Many clients behind one address (a NAT, a load balancer) on one replica: its
 * threads take one at a time, so none loses a write to another and none is
 * refused while the bucket holds tokens; each take is one write (the version
 * counts them) and none is lost (the count).
 */
#define ONE_THREADS 32
#define ONE_TAKES 10
#define ONE_BURST 100000

static void test_one_replica_threads(void **state)
{
    struct fake_clock fc = {.now = T0}; /* time stands still: no refill */
    struct aecs_service *svc;
    struct racer r[ONE_THREADS];

    (void)state;
    tu_etcd_wipe(&g_etcd);
    svc = replica(g_spec, "a", ONE_BURST, 1, &fc);
    for (int i = 0; i < ONE_THREADS; i++)
        r[i] = (struct racer){.svc = svc, .addr = "203.0.113.5", .takes = ONE_TAKES};
    race_all(r, ONE_THREADS);
    for (int i = 0; i < ONE_THREADS; i++) {
        if (r[i].limited > 0 || r[i].busy > 0)
            fail_msg("thread %d: %d rate_limited and %d busy of %d takes from a bucket of %d", i,
                     r[i].limited, r[i].busy, ONE_TAKES, ONE_BURST);
        assert_int_equal(r[i].allowed, ONE_TAKES);
    }
    /* created at version 1 by the first take, one version more for each other one */
    stored("/rate/00000000000000000000ffffcb007105",
           bucket((ONE_BURST - ONE_THREADS * ONE_TAKES) * 1000ull, T0), ONE_THREADS * ONE_TAKES);
    aecs_service_free(svc);
}

/* 4 threads on each of 2 replicas take until refused: exactly the burst between them. */
#define EXACT_BURST 48

static void test_replicas_exact_burst(void **state)
{
    struct fake_clock fc = {.now = T0}; /* time stands still: no refill */
    struct aecs_service *svc[2];
    struct racer r[8];
    int total = 0, busy = 0;

    (void)state;
    tu_etcd_wipe(&g_etcd);
    svc[0] = replica(g_spec, "a", EXACT_BURST, 1, &fc);
    svc[1] = replica(g_spec, "b", EXACT_BURST, 1, &fc);
    for (int i = 0; i < 8; i++)
        r[i] = (struct racer){.svc = svc[i % 2], .addr = "198.51.100.2", .takes = 0};
    race_all(r, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(r[i].limited, 1); /* each stopped at its first rate_limited */
        total += r[i].allowed;
        busy += r[i].busy;
    }
    print_message("8 threads on 2 replicas: %d takes allowed of a burst of %d, %d busy\n", total,
                  EXACT_BURST, busy);
    assert_int_equal(total, EXACT_BURST);
    /* the bucket is empty in etcd, written once per token */
    stored("/rate/00000000000000000000ffffc6336402", bucket(0, T0), EXACT_BURST);
    limited(svc[0], "198.51.100.2");
    limited(svc[1], "198.51.100.2");
    aecs_service_free(svc[0]);
    aecs_service_free(svc[1]);
}

/* ---- every write lost to another replica: busy, not rate_limited ---- */

static void contended(struct aecs_service *svc, const char *addr)
{
    enum aecs_api_code api = API_OK;
    char want[300];

    expect_rc(aecs_service_rate_check(svc, addr, &api), AECS_E_MISMATCH);
    assert_int_equal(api, API_BUSY);
    assert_string_equal(aecs_api_code_name(api), "busy");
    assert_int_equal(aecs_api_code_status(api), 503);
    snprintf(want, sizeof(want),
             "the rate limit of %s could not be counted: other replicas took from the same "
             "bucket at the same time, 8 times in a row: retry in a moment",
             addr);
    assert_string_equal(MSG(), want);
}

/* Lines of path that contain needle. */
static int count_lines(const char *path, const char *needle)
{
    char line[2048];
    int n = 0;
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void test_lost_to_other_replicas(void **state)
{
    struct fake_clock fc = {.now = T0};
    struct aecs_service *a;
    struct aecs_store *s = NULL;
    struct aecs_ratelimit *rl = NULL;
    struct aecs_clock c = {fake_now, &fc};
    char log_path[128];
    int saved_fd, fd, ok = -1;
    const char *other = bucket(50000, T0); /* 50 of 100 tokens left: far from empty */
    char other_value[64];

    (void)state;
    tu_etcd_wipe(&g_etcd);
    snprintf(other_value, sizeof(other_value), "%s", other);
    a = replica(g_spec, "a", 100, 1, &fc);

    /*
     * Every write of the take loses: refused as busy once
     * AECS_RATELIMIT_STORE_TRIES (8, in the message) have, and nothing of it is
     * stored (the key holds what the other replica wrote, at the version of
     * its last write: the count of the clock's puts).
     * Logged at warn level, once for two refusals: stderr goes to a file.
     */
    snprintf(log_path, sizeof(log_path), "%s/contention.log", g_dir);
    fflush(stderr);
    saved_fd = dup(2);
    fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved_fd >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    fc.bumps = 0; /* the key is absent: its version counts the bumps */
    fc.bump = KEY_192_0_2_7;
    fc.bump_value = other_value;
    contended(a, "192.0.2.7");
    stored(KEY_192_0_2_7, other_value, fc.bumps);
    contended(a, "192.0.2.7");
    stored(KEY_192_0_2_7, other_value, fc.bumps);
    fc.bump = NULL;
    fflush(stderr);
    assert_int_equal(dup2(saved_fd, 2), 2);
    close(saved_fd);
    assert_int_equal(count_lines(log_path, "aecs: warning: rate limit: " KEY_192_0_2_7
                                           ": 8 writes in a row lost to other replicas' takes "
                                           "of the same bucket: refused as busy (0 more"),
                     1);
    assert_int_equal(count_lines(log_path, "lost to other replicas"), 1);

    /* the other replica is done: the bucket had tokens all along */
    allowed(a, "192.0.2.7");
    stored(KEY_192_0_2_7, bucket(49000, T0), fc.bumps + 1);

    /* the limiter itself: AECS_E_MISMATCH, *allowed 0 */
    expect_rc(aecs_store_open(g_spec, &s), AECS_OK);
    expect_rc(aecs_ratelimit_new_shared(s, 100, 1, 64, &c, &rl), AECS_OK);
    aecs_log_set_level(AECS_LOG_ERROR); /* the warning, checked above */
    fc.bumps = 0;
    fc.bump = KEY_192_0_2_9;
    fc.bump_value = other_value;
    expect_rc(aecs_ratelimit_take(rl, "192.0.2.9", &ok), AECS_E_MISMATCH);
    assert_int_equal(ok, 0);
    assert_non_null(strstr(MSG(), "rate limit: " KEY_192_0_2_9 ": 8 writes in a row lost to "
                                  "other replicas' takes"));
    fc.bump = NULL;
    aecs_log_set_level(AECS_LOG_WARN);
    stored(KEY_192_0_2_9, other_value, fc.bumps);
    expect_rc(aecs_ratelimit_take(rl, "192.0.2.9", &ok), AECS_OK);
    assert_int_equal(ok, 1);
    stored(KEY_192_0_2_9, bucket(49000, T0), fc.bumps + 1);
    aecs_ratelimit_free(rl);
    aecs_store_free(s);
    aecs_service_free(a);
}

/* ---- buckets written by others ---- */

static void test_stored_by_others(void **state)
{
    struct fake_clock fc = {.now = T0};
    struct aecs_service *a;

    (void)state;
    tu_etcd_wipe(&g_etcd);
    a = replica(g_spec, "a", 3, 1, &fc);

    /* another replica's clock is 5 s ahead: its time counts as now (no refill) and is kept */
    tu_etcd_put(&g_etcd, KEY_192_0_2_9, bucket(1000, T0 + 5000));
    allowed(a, "192.0.2.9");
    stored(KEY_192_0_2_9, bucket(0, T0 + 5000), 2);
    limited(a, "192.0.2.9");
    fc.now = T0 + 5999; /* 999 ms after the stored time */
    limited(a, "192.0.2.9");
    fc.now = T0 + 6000;
    allowed(a, "192.0.2.9");
    stored(KEY_192_0_2_9, bucket(0, T0 + 6000), 3);

    /*
     * a minute ahead (a clock gone wrong): replaced by now and stored so (version 2) though
     * nothing is taken, so refills go on from now: a second later a token is there
     */
    tu_etcd_put(&g_etcd, KEY_192_0_2_12, bucket(0, fc.now + 60000));
    limited(a, "192.0.2.12");
    stored(KEY_192_0_2_12, bucket(0, fc.now), 2);
    fc.now += 1000;
    allowed(a, "192.0.2.12");
    stored(KEY_192_0_2_12, bucket(0, fc.now), 3);

    /* more tokens than this replica's burst (another's --rate-burst): cut to the burst */
    tu_etcd_put(&g_etcd, KEY_192_0_2_10, bucket(999000, fc.now));
    for (int i = 0; i < 3; i++)
        allowed(a, "192.0.2.10");
    limited(a, "192.0.2.10");

    /* junk is a full bucket, overwritten */
    static const char *const junk[] = {
        "lots", "", "1000", "1000 5 ", "-1 5", "1000  5", "99999999999999999999 5"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        long long v = 0;
        char *before;
        int saved = g_aecs_log_level;
        tu_etcd_put(&g_etcd, KEY_192_0_2_11, junk[i]);
        before = tu_etcd_get(&g_etcd, KEY_192_0_2_11, &v);
        free(before);
        aecs_log_set_level(AECS_LOG_ERROR); /* "holds no bucket" */
        allowed(a, "192.0.2.11");
        aecs_log_set_level(saved);
        stored(KEY_192_0_2_11, bucket(2000, fc.now), v + 1);
    }
    aecs_service_free(a);
}

/* ---- etcd down: fail closed ---- */

static void unavailable(struct aecs_service *svc, const char *addr)
{
    enum aecs_api_code api = API_OK;

    expect_rc(aecs_service_rate_check(svc, addr, &api), AECS_E_IO);
    assert_int_equal(api, API_BUSY);
    assert_string_equal(aecs_api_code_name(api), "busy");
    assert_int_equal(aecs_api_code_status(api), 503);
    assert_string_equal(MSG(), "the store is unavailable (etcd without a leader, or unreachable), "
                               "so the rate limit cannot be checked: retry later (the server's "
                               "log has the details)");
}

static void test_store_down(void **state)
{
    struct fake_clock fc = {.now = T0};
    struct aecs_service *a, *b;
    int saved = g_aecs_log_level;

    (void)state;
    tu_etcd_wipe(&g_etcd);
    a = replica(g_spec, "a", 3, 1, &fc);
    b = replica(g_spec, "b", 3, 1, &fc);
    allowed(a, "192.0.2.7"); /* a cached bucket with tokens left */
    for (int i = 0; i < 3; i++)
        allowed(b, "192.0.2.8");

    tu_etcd_kill(&g_etcd, 0);
    g_aecs_log_level = -1;        /* the store's failures are logged as errors */
    unavailable(a, "192.0.2.7");  /* cached: the take still needs the store */
    unavailable(a, "192.0.2.99"); /* never seen */
    unavailable(b, "192.0.2.7");
    /* an address this replica knows has no token left is refused as before */
    limited(b, "192.0.2.8");
    aecs_log_set_level(saved);

    tu_etcd_restart(&g_etcd, 0);
    tu_etcd_wait_leader(&g_etcd);
    allowed(a, "192.0.2.7");
    allowed(b, "192.0.2.7");
    limited(a, "192.0.2.7"); /* nothing was taken while etcd was down */
    allowed(b, "192.0.2.99");
    aecs_service_free(a);
    aecs_service_free(b);
}

/* ---- sweeps ---- */

static struct aecs_ratelimit *limiter(struct aecs_store *s, unsigned burst, struct fake_clock *fc)
{
    struct aecs_clock c = {fake_now, fc};
    struct aecs_ratelimit *rl = NULL;

    expect_rc(aecs_ratelimit_new_shared(s, burst, 1, 64, &c, &rl), AECS_OK);
    return rl;
}

static int take(struct aecs_ratelimit *rl, const char *addr)
{
    int ok = -1;

    expect_rc(aecs_ratelimit_take(rl, addr, &ok), AECS_OK);
    return ok;
}

static size_t sweep(struct aecs_ratelimit *rl)
{
    size_t n = 99;

    expect_rc(aecs_ratelimit_sweep(rl, &n), AECS_OK);
    return n;
}

static void test_sweep(void **state)
{
    struct fake_clock fc = {.now = T0};
    struct aecs_store *s = NULL;
    struct aecs_ratelimit *rl, *other, *mem = NULL;
    char addr[32];
    size_t n = 99;

    (void)state;
    tu_etcd_wipe(&g_etcd);
    expect_rc(aecs_store_open(g_spec, &s), AECS_OK);
    rl = limiter(s, 3, &fc);

    /* 120 buckets of 10.0.0.N (keys ...0a0000NN, before 192.0.2.x's ...c00002xx) */
    for (int i = 1; i <= 120; i++) {
        snprintf(addr, sizeof(addr), "10.0.0.%d", i);
        assert_int_equal(take(rl, addr), 1);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(take(rl, "192.0.2.2"), 1);
    assert_int_equal(tu_etcd_count(&g_etcd, "/rate/"), 121);
    /* nothing has refilled yet: a page of 100, then the other 21 */
    assert_int_equal(sweep(rl), 0);
    assert_int_equal(sweep(rl), 0);
    tu_etcd_put(&g_etcd, "/rate/zz", "junk"); /* the last key of the folder */

    /* a second later the 10.0.0.N buckets are full (2 + 1), but not idle for a minute */
    fc.now = T0 + 1000;
    assert_int_equal(sweep(rl), 0);
    assert_int_equal(sweep(rl), 1); /* the junk, after the first page */
    assert_int_equal(tu_etcd_count(&g_etcd, "/rate/"), 121);
    fc.now = T0 + 59000;
    assert_int_equal(take(rl, "192.0.2.2"), 1); /* full again: 2 of 3 left */

    /* a minute after their last take, the full buckets go, page after page */
    fc.now = T0 + AECS_RATELIMIT_SWEEP_IDLE_MS;
    assert_int_equal(sweep(rl), 100); /* from the start again */
    assert_int_equal(tu_etcd_count(&g_etcd, "/rate/"), 21);
    assert_int_equal(sweep(rl), 20);
    assert_int_equal(tu_etcd_count(&g_etcd, "/rate/"), 1);
    stored("/rate/00000000000000000000ffffc0000202", bucket(2000, T0 + 59000), 4);
    assert_int_equal(sweep(rl), 0);

    fc.now += AECS_RATELIMIT_SWEEP_IDLE_MS;
    assert_int_equal(sweep(rl), 1);
    assert_int_equal(tu_etcd_count(&g_etcd, "/rate/"), 0);

    /*
     * A swept key made again by another replica starts at version 1 again, the
     * version rl's cache has for it from before: rl must not take that for its
     * own bucket (it would write over the other's take).
     */
    other = limiter(s, 3, &fc);
    assert_int_equal(take(rl, "192.0.2.30"), 1);
    stored(KEY_192_0_2_30, bucket(2000, fc.now), 1);
    fc.now += AECS_RATELIMIT_SWEEP_IDLE_MS;
    assert_int_equal(sweep(other), 1);
    assert_int_equal(take(other, "192.0.2.30"), 1);
    stored(KEY_192_0_2_30, bucket(2000, fc.now), 1);
    assert_int_equal(take(rl, "192.0.2.30"), 1);
    stored(KEY_192_0_2_30, bucket(1000, fc.now), 2);
    aecs_ratelimit_free(other);
    aecs_ratelimit_free(rl);

    /* a take sweeps every AECS_RATELIMIT_SWEEP_EVERY tokens it takes */
    rl = limiter(s, 100, &fc);
    tu_etcd_put(&g_etcd, KEY_192_0_2_9, bucket(100000, fc.now - AECS_RATELIMIT_SWEEP_IDLE_MS));
    for (int i = 1; i < AECS_RATELIMIT_SWEEP_EVERY; i++)
        assert_int_equal(take(rl, "192.0.2.7"), 1);
    stored(KEY_192_0_2_9, bucket(100000, fc.now - AECS_RATELIMIT_SWEEP_IDLE_MS), 1);
    assert_int_equal(take(rl, "192.0.2.7"), 1);
    absent(KEY_192_0_2_9);
    stored(KEY_192_0_2_7, bucket(100000 - AECS_RATELIMIT_SWEEP_EVERY * 1000ull, fc.now),
           AECS_RATELIMIT_SWEEP_EVERY);
    aecs_ratelimit_free(rl);

    /* an in-memory limiter has nothing to sweep */
    expect_rc(aecs_ratelimit_new(3, 1, 16, NULL, &mem), AECS_OK);
    expect_rc(aecs_ratelimit_sweep(mem, &n), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(n, 0);
    aecs_ratelimit_free(mem);
    expect_rc(aecs_ratelimit_new_shared(NULL, 3, 1, 16, NULL, &mem), AECS_E_INVALID_ARGUMENT);
    assert_null(mem);
    aecs_store_free(s);
}

/* ---- SQLite: in memory, per process ---- */

static void test_sqlite_in_memory(void **state)
{
    struct fake_clock fc = {.now = T0};
    struct aecs_service *a, *b;
    struct aecs_store *s = NULL;
    struct aecs_store_list l = {0};
    char spec[128];

    (void)state;
    snprintf(spec, sizeof(spec), "sqlite:%s/store.db", g_dir);
    a = replica(spec, "sa", 2, 1, &fc);
    b = replica(spec, "sb", 2, 1, &fc);
    allowed(a, "192.0.2.7");
    allowed(a, "192.0.2.7");
    limited(a, "192.0.2.7");
    /* another process on the same file has its own buckets */
    allowed(b, "192.0.2.7");
    allowed(b, "192.0.2.7");
    limited(b, "192.0.2.7");
    fc.now += 1000;
    allowed(a, "192.0.2.7");
    limited(a, "192.0.2.7");
    aecs_service_free(a);
    aecs_service_free(b);
    /* and nothing of them is in the store */
    expect_rc(aecs_store_open(spec, &s), AECS_OK);
    expect_rc(aecs_store_list(s, AECS_RATELIMIT_STORE_PREFIX, NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 0);
    aecs_store_list_free(&l);
    aecs_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_bucket),
        cmocka_unit_test(test_concurrent_replicas),
        cmocka_unit_test(test_one_replica_threads),
        cmocka_unit_test(test_replicas_exact_burst),
        cmocka_unit_test(test_lost_to_other_replicas),
        cmocka_unit_test(test_stored_by_others),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_store_down),
        cmocka_unit_test(test_sqlite_in_memory),
    };

    aecs_log_set_level(getenv("AECS_TEST_DEBUG") ? AECS_LOG_DEBUG : AECS_LOG_WARN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
