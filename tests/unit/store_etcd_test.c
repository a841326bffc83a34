/*
 * store_etcd_test.c - the etcd store backend against real etcd servers on
 * loopback (tests/unit/common/etcd_cluster.c starts them; etcd must be
 * installed, scripts/deps.sh does it).
 *
 * The conformance suite (tests/unit/common/store_suite.c) runs against one
 * single-member etcd, wiped before each test. Then what is etcd's own: the
 * spec grammar; unreachable endpoints; failover from a dead first endpoint;
 * every endpoint dying and coming back; the pool of connections (many
 * threads on one handle: calls overlap, no lost update, also while failing
 * over and while the auth token expires); a 3-member cluster losing one member
 * (writes go on) and then two (writes fail with AECS_E_IO and leave nothing
 * behind) and getting them back; writes whose fate is unknown (a stand-in
 * server that takes a write and never answers) are never sent twice; auth
 * (users, permissions, expired tokens); TLS with client certificates;
 * etcd's own refusals (request size, txn ops); keys and values in etcd that
 * aecs did not write.
 *
 * Expected values come from outside the code: etcd's documented version
 * rules, etcd's own answers read over its gateway by the helper (not the
 * backend), and the error strings of etcd's API (rpctypes).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "etcd_cluster.h"
#include "store/backend.h"
#include "store/store.h"
#include "store_suite.h"
#include "testutil.h"

/* The single-member etcd of the suite and of the tests that need no cluster of their own. */
static struct tu_etcd g_etcd;

static int group_setup(void **state)
{
    (void)state;
    tu_etcd_start(&g_etcd, 1, 0, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_etcd_stop(&g_etcd);
    return 0;
}

static void open_ok(const char *spec, struct aecs_store **s)
{
    if (aecs_store_open(spec, s) != AECS_OK)
        fail_msg("open %s: %s", spec, TU_MSG());
}

/* The suite's fixture: an empty store on g_etcd. */
static int etcd_setup(void **state)
{
    struct tu_store_fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tu_etcd_wipe(&g_etcd);
    snprintf(f->spec, sizeof(f->spec), "etcd:%s", g_etcd.endpoints);
    f->backend = "etcd";
    open_ok(f->spec, &f->s);
    *state = f;
    return 0;
}

static int etcd_teardown(void **state)
{
    struct tu_store_fixture *f = *state;

    aecs_store_free(f->s);
    free(f);
    return 0;
}

/* The value etcd holds under key, read over the gateway by the helper; NULL when absent. */
static json_t *etcd_kv(struct tu_etcd *c, size_t member, const char *key)
{
    char *k = tu_b64(key);
    json_t *req = json_pack("{s:s}", "key", k);
    char *body = json_dumps(req, JSON_COMPACT);
    json_t *resp = NULL;

    assert_int_equal(tu_etcd_post(c, member, "/v3/kv/range", body, &resp), 200);
    json_t *kv = json_incref(json_array_get(json_object_get(resp, "kvs"), 0));
    json_decref(resp);
    json_decref(req);
    free(body);
    free(k);
    return kv;
}

static void assert_etcd_absent(struct tu_etcd *c, size_t member, const char *key)
{
    json_t *kv = etcd_kv(c, member, key);

    if (kv != NULL)
        fail_msg("%s is in etcd", key);
}

static void quiet(int *saved)
{
    *saved = g_aecs_log_level;
    aecs_log_set_level(AECS_LOG_ERROR);
}

/* A loopback port with nothing listening on it. */
static int dead_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* ================================================================= spec */

static void spec_refused(const char *spec, const char *needle)
{
    struct aecs_store_spec sp;
    struct aecs_store *s = (struct aecs_store *)1;

    if (aecs_store_spec_parse(spec, &sp) != AECS_E_INVALID_ARGUMENT)
        fail_msg("spec accepted: %s", spec);
    tu_assert_msg_has(needle);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_INVALID_ARGUMENT);
    assert_null(s);
}

static void test_etcd_spec_grammar(void **state)
{
    (void)state;
    struct aecs_store_etcd_spec e;
    struct aecs_store_spec sp;
    char many[2048];

    assert_int_equal(aecs_store_spec_parse("etcd:http://127.0.0.1:2379", &sp), AECS_OK);
    assert_int_equal(sp.kind, AECS_STORE_BACKEND_ETCD);
    assert_int_equal(aecs_store_etcd_spec_parse("http://127.0.0.1:2379", &e), AECS_OK);
    assert_int_equal(e.endpoint_count, 1);
    assert_int_equal(e.tls, 0);
    assert_int_equal(e.timeout_ms, 5000);
    assert_int_equal(e.connect_timeout_ms, 2000);
    assert_int_equal(e.connections, 8);
    assert_int_equal(e.user.len, 0);

    const char *full = "https://h1.example:2379,https://[fd00::1]:22379?cacert=/p/ca.pem&cert=/p/"
                       "c.pem&key=/p/k.pem&user=aecs&password-file=/p/pw&timeout=3000&connect-"
                       "timeout=500&connections=64";
    assert_int_equal(aecs_store_etcd_spec_parse(full, &e), AECS_OK);
    assert_int_equal(e.endpoint_count, 2);
    assert_int_equal(e.tls, 1);
    assert_int_equal(e.endpoints[0].len, strlen("https://h1.example:2379"));
    assert_memory_equal(e.endpoints[1].p, "https://[fd00::1]:22379", e.endpoints[1].len);
    assert_memory_equal(e.cacert.p, "/p/ca.pem", e.cacert.len);
    assert_memory_equal(e.cert.p, "/p/c.pem", e.cert.len);
    assert_memory_equal(e.key.p, "/p/k.pem", e.key.len);
    assert_memory_equal(e.user.p, "aecs", e.user.len);
    assert_memory_equal(e.password_file.p, "/p/pw", e.password_file.len);
    assert_int_equal(e.timeout_ms, 3000);
    assert_int_equal(e.connect_timeout_ms, 500);
    assert_int_equal(e.connections, 64);
    assert_int_equal(aecs_store_etcd_spec_parse("http://a:1?connections=1", &e), AECS_OK);
    assert_int_equal(e.connections, 1);

    spec_refused("etcd:127.0.0.1:2379", "does not start with http:// or https://");
    spec_refused("etcd:HTTP://h:1", "does not start with http://");
    spec_refused("etcd:http://h", "needs HOST:PORT");
    spec_refused("etcd:http://:2379", "has no host");
    spec_refused("etcd:http://h:0", "port that is not a number from 1 to 65535");
    spec_refused("etcd:http://h:65536", "port that is not");
    spec_refused("etcd:http://h:1/v3", "port that is not");
    spec_refused("etcd:http://[::1:1", "malformed IPv6");
    spec_refused("etcd:http://a:1,,http://b:1", "endpoint 2 is empty");
    spec_refused("etcd:http://a:1,", "endpoint 2 is empty");
    spec_refused("etcd:http://a:1,http://a:1", "endpoint 2 repeats endpoint 1");
    spec_refused("etcd:http://a:1,https://b:1", "mix http:// and https://");
    spec_refused("etcd:?user=a", "names no endpoint");
    spec_refused("etcd:http://a:1?", "nothing after '?'");
    spec_refused("etcd:http://a:1?cacert=/ca.pem", "need https:// endpoints");
    spec_refused("etcd:https://a:1?cert=/c.pem", "cert= and key= go together");
    spec_refused("etcd:http://a:1?user=u", "user= and password-file= go together");
    spec_refused("etcd:http://a:1?password-file=/pw", "go together");
    spec_refused("etcd:http://a:1?timeout=99", "timeout is not a number of milliseconds from 100");
    spec_refused("etcd:http://a:1?connect-timeout=60001", "connect-timeout is not");
    spec_refused("etcd:http://a:1?timeout=1e3", "timeout is not");
    spec_refused("etcd:http://a:1?connections=0", "connections is not a number from 1 to 64");
    spec_refused("etcd:http://a:1?connections=65", "connections is not a number from 1 to 64");
    spec_refused("etcd:http://a:1?connections=-1", "connections is not");
    spec_refused("etcd:http://a:1?connections=2&connections=3", "connections given twice");
    spec_refused("etcd:http://a:1?bogus=1", "unknown option 'bogus'");
    spec_refused("etcd:http://a:1?user=a&user=b&password-file=/x", "option user given twice");
    spec_refused("etcd:http://a:1?timeout=200&timeout=300", "given twice");
    spec_refused("etcd:http://a:1?user=&password-file=/x", "option user has no value");
    spec_refused("etcd:http://a:1?timeout", "is not NAME=VALUE");
    spec_refused("etcd:http://a:1?=x", "is not NAME=VALUE");
    spec_refused("etcd:https://a:1?cacert=/ca?password=x", "second '?'");
    assert_null(strstr(TU_MSG(), "password=x"));
    /* a password in the spec is refused, and not repeated */
    spec_refused("etcd:http://a:1?user=u&password=hunter2", "give password-file=FILE");
    assert_null(strstr(TU_MSG(), "hunter2"));
    /* nor in the URL: no user part */
    spec_refused("etcd:http://u:hunter2@a:1", "port that is not");
    assert_null(strstr(TU_MSG(), "hunter2"));

    /* at most 16 endpoints */
    size_t len = 0;
    for (int i = 0; i < 17; i++)
        len += (size_t)snprintf(many + len, sizeof(many) - len, "%shttp://h%d:1",
                                i ? "," : "etcd:", i);
    spec_refused(many, "more than 16 endpoints");
    char *comma = strrchr(many, ',');
    *comma = '\0';
    assert_int_equal(aecs_store_spec_parse(many, &sp), AECS_OK);

    /* the message for an unknown spec shows the etcd form and its options */
    assert_int_equal(aecs_store_spec_parse("etc:http://a:1", &sp), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("expected sqlite:PATH or etcd:ENDPOINTS");
    tu_assert_msg_has("password-file");
    tu_assert_msg_has("connect-timeout");
    tu_assert_msg_has("connections");
}

/* ============================================================ endpoints */

static void test_etcd_unreachable(void **state)
{
    (void)state;
    struct aecs_store *s = (struct aecs_store *)1;
    char spec[160];
    char a[64];
    char b[64];
    int pa = dead_port();
    int pb = dead_port();

    snprintf(a, sizeof(a), "http://127.0.0.1:%d: ", pa);
    snprintf(b, sizeof(b), "http://127.0.0.1:%d: ", pb);
    snprintf(spec, sizeof(spec), "etcd:http://127.0.0.1:%d,http://127.0.0.1:%d", pa, pb);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    assert_null(s);
    tu_assert_msg_has("no endpoint served the request");
    tu_assert_msg_has(a);
    tu_assert_msg_has(b);
    tu_assert_msg_has("connect");
}

static void test_etcd_failover_first_dead(void **state)
{
    (void)state;
    struct aecs_store *s = NULL;
    struct aecs_store_list l;
    char spec[512];
    int saved;

    tu_etcd_wipe(&g_etcd);
    snprintf(spec, sizeof(spec), "etcd:http://127.0.0.1:%d,%s", dead_port(), g_etcd.endpoints);
    quiet(&saved); /* the switch to the second endpoint is a warning */
    open_ok(spec, &s);
    aecs_log_set_level(saved);
    tu_put_str(s, "/f/a", "one", 0, 1);
    tu_put_str(s, "/f/a", "two", 1, 2);
    tu_assert_value(s, "/f/a", "two", 2);
    assert_int_equal(aecs_store_list(s, "/f/", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 1);
    aecs_store_list_free(&l);
    aecs_store_free(s);
    /* and as etcd itself has it */
    json_t *kv = etcd_kv(&g_etcd, 0, "/f/a");
    assert_non_null(kv);
    assert_string_equal(json_string_value(json_object_get(kv, "version")), "2");
    json_decref(kv);
}

static void test_etcd_all_dead_then_back(void **state)
{
    (void)state;
    struct tu_etcd c;
    struct aecs_store *s = NULL;
    struct aecs_store_value v;
    char spec[512];

    tu_etcd_start(&c, 1, 0, NULL);
    snprintf(spec, sizeof(spec), "etcd:%s?timeout=2000", c.endpoints);
    open_ok(spec, &s);
    tu_put_str(s, "/d/k", "SECRET-VALUE", 0, 1);

    tu_etcd_kill(&c, 0);
    assert_int_equal(aecs_store_get(s, "/d/k", &v), AECS_E_IO);
    tu_assert_msg_has("no endpoint served the request");
    tu_assert_msg_has(c.m[0].client_url);
    /* refused before anything was sent: a plain failure, not an unknown outcome */
    assert_int_equal(aecs_store_put(s, "/d/k", "SECRET-2", 8, 1, NULL), AECS_E_IO);
    tu_assert_msg_has("no endpoint served the request");
    assert_null(strstr(TU_MSG(), "SECRET"));

    tu_etcd_restart(&c, 0);
    tu_etcd_wait_leader(&c);
    tu_assert_value(s, "/d/k", "SECRET-VALUE", 1);
    tu_put_str(s, "/d/k", "SECRET-3", 1, 2);
    aecs_store_free(s);
    tu_etcd_stop(&c);
}

static void test_etcd_cluster_loses_members(void **state)
{
    (void)state;
    struct tu_etcd c;
    struct aecs_store *s = NULL;
    struct aecs_store_value v;
    char spec[512];
    int saved;

    tu_etcd_start(&c, 3, 0, NULL);
    snprintf(spec, sizeof(spec), "etcd:%s?timeout=1500", c.endpoints);
    open_ok(spec, &s);
    tu_put_str(s, "/c/a", "a1", 0, 1);

    /* one of three down (the one this handle talks to): writes go on through the others */
    quiet(&saved);
    tu_etcd_kill(&c, 0);
    tu_etcd_wait_leader(&c);
    tu_put_str(s, "/c/a", "a2", 1, 2);
    tu_put_str(s, "/c/b", "b1", 0, 1);
    tu_assert_value(s, "/c/a", "a2", 2);

    /* two of three down: no quorum, no leader; writes and reads fail, and write nothing */
    tu_etcd_kill(&c, 1);
    tu_etcd_wait_no_leader(&c, 2);
    const struct aecs_store_compare cmp[] = {{.key = "/c/a", .version = 2}};
    const struct aecs_store_op ops[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/c/x", .value = "x", .value_size = 1},
        {.kind = AECS_STORE_OP_PUT, .key = "/c/y", .value = "y", .value_size = 1},
        {.kind = AECS_STORE_OP_DELETE, .key = "/c/b"},
    };
    uint64_t versions[3] = {9, 9, 9};
    assert_int_equal(aecs_store_txn(s, cmp, 1, ops, 3, versions), AECS_E_IO);
    tu_assert_msg_has("no leader");
    assert_int_equal(versions[0], 0);
    assert_int_equal(aecs_store_get(s, "/c/a", &v), AECS_E_IO);
    tu_assert_msg_has("no leader");

    /* both back: everything from before is there, nothing of the failed txn */
    tu_etcd_restart(&c, 0);
    tu_etcd_restart(&c, 1);
    tu_etcd_wait_leader(&c);
    aecs_log_set_level(saved);
    tu_assert_value(s, "/c/a", "a2", 2);
    tu_assert_value(s, "/c/b", "b1", 1);
    tu_assert_absent(s, "/c/x");
    tu_assert_absent(s, "/c/y");
    for (size_t i = 0; i < 3; i++)
        assert_etcd_absent(&c, i, "/c/x");
    assert_int_equal(aecs_store_txn(s, cmp, 1, ops, 3, versions), AECS_OK);
    assert_int_equal(versions[0], 1);
    assert_int_equal(versions[1], 1);
    assert_int_equal(versions[2], 1);
    aecs_store_free(s);
    tu_etcd_stop(&c);
}

/* ================================================================= pool */

/*
 * Many threads on one handle. Each writes its own key round after round
 * (CAS on the version it wrote last) and reads it back, then tries once per
 * round to increment a shared counter with a CAS. Every call must succeed
 * (a lost CAS race is AECS_E_MISMATCH, nothing else), and in the end the
 * counter holds, and is at the version of, the number of CASes that won.
 */
#define POOL_THREADS 16

struct pool_worker {
    struct aecs_store *s;
    pthread_barrier_t *start;
    const char *prefix;
    int id;
    int rounds;
    int increments; /* CASes on the counter that won */
    int errors;
    char first_error[600];
};

static void pool_error(struct pool_worker *w, const char *what, int rc)
{
    if (w->errors++ == 0)
        snprintf(w->first_error, sizeof(w->first_error), "%s: rc %d: %s", what, rc, TU_MSG());
}

static void *pool_run(void *arg)
{
    struct pool_worker *w = arg;
    char own[64];
    char counter[64];

    snprintf(own, sizeof(own), "%sown/%d", w->prefix, w->id);
    snprintf(counter, sizeof(counter), "%scounter", w->prefix);
    pthread_barrier_wait(w->start);
    for (int r = 0; r < w->rounds; r++) {
        struct aecs_store_value v;
        char text[32];
        uint64_t nv = 0;
        uint64_t count = 0;
        uint64_t version = 0;
        int rc;

        snprintf(text, sizeof(text), "%d:%d", w->id, r);
        rc = aecs_store_put(w->s, own, text, strlen(text), (uint64_t)r, &nv);
        if (rc != AECS_OK || nv != (uint64_t)r + 1) {
            pool_error(w, "put own", rc);
            continue;
        }
        rc = aecs_store_get(w->s, own, &v);
        if (rc != AECS_OK || v.version != (uint64_t)r + 1 || v.size != strlen(text) ||
            memcmp(v.data, text, v.size) != 0)
            pool_error(w, "get own", rc);
        aecs_store_value_free(&v);

        rc = aecs_store_get(w->s, counter, &v);
        if (rc == AECS_OK) {
            version = v.version;
            if (v.size == sizeof(count))
                memcpy(&count, v.data, sizeof(count));
            aecs_store_value_free(&v);
        } else if (rc != AECS_E_NOT_FOUND) {
            pool_error(w, "get counter", rc);
            continue;
        }
        count++;
        rc = aecs_store_put(w->s, counter, &count, sizeof(count), version, &nv);
        if (rc == AECS_OK && nv == version + 1)
            w->increments++;
        else if (rc != AECS_E_MISMATCH)
            pool_error(w, "CAS counter", rc);
    }
    return NULL;
}

/* Runs threads x rounds on s under prefix and checks everything; c: also ask etcd itself. */
static void run_pool(struct aecs_store *s, const char *prefix, int threads, int rounds,
                     struct tu_etcd *c)
{
    pthread_t t[POOL_THREADS];
    struct pool_worker w[POOL_THREADS];
    pthread_barrier_t start;
    struct aecs_store_value v;
    struct aecs_store_list l;
    char key[64];
    int increments = 0;
    uint64_t count = 0;

    assert_true(threads <= POOL_THREADS);
    memset(w, 0, sizeof(w));
    assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)threads), 0);
    for (int i = 0; i < threads; i++) {
        w[i] = (struct pool_worker){
            .s = s, .start = &start, .prefix = prefix, .id = i, .rounds = rounds};
        assert_int_equal(pthread_create(&t[i], NULL, pool_run, &w[i]), 0);
    }
    for (int i = 0; i < threads; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < threads; i++) {
        if (w[i].errors != 0)
            fail_msg("worker %d: %d errors, first: %s", i, w[i].errors, w[i].first_error);
        increments += w[i].increments;
    }
    assert_true(increments >= 1); /* the first CAS on an absent counter cannot lose to nobody */

    /* no lost update: the counter and its version both count the CASes that won */
    snprintf(key, sizeof(key), "%scounter", prefix);
    assert_int_equal(aecs_store_get(s, key, &v), AECS_OK);
    assert_int_equal(v.version, (uint64_t)increments);
    assert_int_equal(v.size, sizeof(count));
    memcpy(&count, v.data, sizeof(count));
    assert_int_equal(count, (uint64_t)increments);
    aecs_store_value_free(&v);
    if (c != NULL) {
        char want[24];
        json_t *kv = etcd_kv(c, 0, key);
        assert_non_null(kv);
        snprintf(want, sizeof(want), "%d", increments);
        assert_string_equal(json_string_value(json_object_get(kv, "version")), want);
        json_decref(kv);
    }
    /* every thread's own key, at its last round */
    for (int i = 0; i < threads; i++) {
        char text[32];
        snprintf(key, sizeof(key), "%sown/%d", prefix, i);
        snprintf(text, sizeof(text), "%d:%d", i, rounds - 1);
        tu_assert_value(s, key, text, (uint64_t)rounds);
    }
    snprintf(key, sizeof(key), "%sown/", prefix);
    assert_int_equal(aecs_store_list(s, key, NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, (size_t)threads);
    aecs_store_list_free(&l);
    print_message("%s: %d threads x %d rounds, %d increments won, peak %zu calls at once\n",
                  prefix, threads, rounds, increments, aecs_store_etcd_peak_calls(s));
}

static void test_etcd_pool_parallel(void **state)
{
    struct tu_store_fixture *f = *state;
    struct aecs_store *one = NULL;
    char spec[512];

    /* the default pool (8): calls of different threads run at once, never more than 8 */
    run_pool(f->s, "/p/", POOL_THREADS, 20, &g_etcd);
    assert_true(aecs_store_etcd_peak_calls(f->s) >= 2);
    assert_true(aecs_store_etcd_peak_calls(f->s) <= AECS_STORE_ETCD_DEFAULT_CONNECTIONS);

    /* connections=1: the same, one call at a time */
    snprintf(spec, sizeof(spec), "etcd:%s?connections=1", g_etcd.endpoints);
    open_ok(spec, &one);
    run_pool(one, "/q/", 4, 10, &g_etcd);
    assert_int_equal(aecs_store_etcd_peak_calls(one), 1);
    aecs_store_free(one);
    /* not an etcd store: nothing to say */
    assert_int_equal(aecs_store_etcd_peak_calls(NULL), 0);
}

/* Failover under concurrent callers: the first endpoint is dead, every call gets through. */
static void test_etcd_pool_failover(void **state)
{
    (void)state;
    struct aecs_store *s = NULL;
    char spec[512];
    int saved;

    tu_etcd_wipe(&g_etcd);
    snprintf(spec, sizeof(spec), "etcd:http://127.0.0.1:%d,%s?connections=4", dead_port(),
             g_etcd.endpoints);
    quiet(&saved); /* the switch to the second endpoint is a warning */
    open_ok(spec, &s);
    run_pool(s, "/fo/", POOL_THREADS, 10, &g_etcd);
    aecs_log_set_level(saved);
    assert_true(aecs_store_etcd_peak_calls(s) >= 2);
    assert_true(aecs_store_etcd_peak_calls(s) <= 4);
    aecs_store_free(s);

    /* and when the dead endpoint is the one in use at the start of every call */
    snprintf(spec, sizeof(spec), "etcd:%s,http://127.0.0.1:%d?connections=4", g_etcd.endpoints,
             dead_port());
    open_ok(spec, &s);
    quiet(&saved);
    run_pool(s, "/fo2/", 8, 10, &g_etcd);
    aecs_log_set_level(saved);
    aecs_store_free(s);
}

/* ====================================================== unknown outcomes */

/*
 * A stand-in for an etcd member that answers every request with an empty
 * success, except a Txn: that one it reads whole, counts, and then drops
 * the connection (DROP) or never answers (HOLD).
 */
enum fake_mode { FAKE_DROP, FAKE_HOLD };

struct fake {
    int lfd;
    int port;
    enum fake_mode mode;
    pthread_t thread;
    int txns; /* Txn requests received (read after join) */
    int held[8];
    int nheld;
};

/* Reads one request (headers and Content-Length body) into buf; returns 0 at EOF. */
static int fake_read_request(int fd, char *buf, size_t cap, char *path, size_t path_size)
{
    size_t have = 0;
    char *end = NULL;

    while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
        ssize_t n = have + 1 < cap ? read(fd, buf + have, cap - have - 1) : -1;
        if (n <= 0)
            return 0;
        have += (size_t)n;
        buf[have] = '\0';
    }
    const char *cl = strcasestr(buf, "Content-Length:");
    size_t body = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
    size_t need = (size_t)(end + 4 - buf) + body;
    while (have < need) {
        ssize_t n = have + 1 < cap ? read(fd, buf + have, cap - have - 1) : -1;
        if (n <= 0)
            return 0;
        have += (size_t)n;
    }
    if (sscanf(buf, "POST %127s", path) != 1)
        return 0;
    (void)path_size;
    return 1;
}

static void *fake_run(void *arg)
{
    struct fake *f = arg;
    static char buf[1 << 20];
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: 27\r\n\r\n{\"header\":{\"revision\":\"1\"}}";

    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        for (;;) {
            char path[128];
            memset(buf, 0, 16);
            if (!fake_read_request(fd, buf, sizeof(buf), path, sizeof(path))) {
                close(fd);
                break;
            }
            if (strcmp(path, "/v3/kv/txn") == 0) {
                f->txns++;
                if (f->mode == FAKE_HOLD && f->nheld < 8)
                    f->held[f->nheld++] = fd;
                else
                    close(fd);
                break;
            }
            if (write(fd, answer, sizeof(answer) - 1) != (ssize_t)sizeof(answer) - 1) {
                close(fd);
                break;
            }
        }
    }
}

static void fake_start(struct fake *f, enum fake_mode mode)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(a);

    memset(f, 0, sizeof(*f));
    f->mode = mode;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

/* Stops it; every client of it must be closed already. */
static void fake_stop(struct fake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->thread, NULL);
    close(f->lfd);
    for (int i = 0; i < f->nheld; i++)
        close(f->held[i]);
}

static void test_etcd_unknown_outcome_not_resent(void **state)
{
    (void)state;
    struct fake f;
    struct aecs_store *s = NULL;
    char spec[512];
    int saved;

    tu_etcd_wipe(&g_etcd);
    quiet(&saved);

    /* the connection drops after the write went out */
    fake_start(&f, FAKE_DROP);
    snprintf(spec, sizeof(spec), "etcd:http://127.0.0.1:%d,%s?timeout=2000", f.port,
             g_etcd.endpoints);
    open_ok(spec, &s); /* the stand-in answered the probe: it is the endpoint in use */
    assert_int_equal(aecs_store_put(s, "/u/k", "SECRET", 6, 0, NULL), AECS_E_IO);
    tu_assert_msg_has("may or may not have been applied");
    tu_assert_msg_has("read the keys again");
    assert_null(strstr(TU_MSG(), "SECRET"));
    /* a txn with no ops is a read: it moves on to etcd, which has nothing */
    const struct aecs_store_compare absent = {.key = "/u/k", .version = 0};
    assert_int_equal(aecs_store_txn(s, &absent, 1, NULL, 0, NULL), AECS_OK);
    aecs_store_free(s);
    fake_stop(&f);
    assert_int_equal(f.txns, 2); /* the put once (never again, nor elsewhere), the check once */
    assert_etcd_absent(&g_etcd, 0, "/u/k");

    /* no answer at all within the budget */
    fake_start(&f, FAKE_HOLD);
    snprintf(spec, sizeof(spec), "etcd:http://127.0.0.1:%d,%s?timeout=700", f.port,
             g_etcd.endpoints);
    open_ok(spec, &s);
    assert_int_equal(aecs_store_put(s, "/u/k", "SECRET", 6, AECS_STORE_ANY, NULL), AECS_E_IO);
    tu_assert_msg_has("no answer within");
    tu_assert_msg_has("may or may not have been applied");
    aecs_store_free(s);
    fake_stop(&f);
    assert_int_equal(f.txns, 1);
    assert_etcd_absent(&g_etcd, 0, "/u/k");
    aecs_log_set_level(saved);
}

/* ============================================================ auth, TLS */

static void write_file_mode(const char *path, const char *text, mode_t mode)
{
    tu_write_file(path, text, strlen(text));
    assert_int_equal(chmod(path, mode), 0);
}

static void test_etcd_auth(void **state)
{
    (void)state;
    static const char *const ttl[] = {"--auth-token-ttl", "1", NULL};
    struct tu_etcd c;
    struct aecs_store *s = (struct aecs_store *)1;
    struct aecs_store_value v;
    char pw[160];
    char spec[512];
    int saved;

    tu_etcd_start(&c, 1, 0, ttl);
    tu_etcdctl(&c, (const char *const[]){"user", "add", "root:root-pw", NULL});
    tu_etcdctl(&c, (const char *const[]){"role", "add", "app", NULL});
    tu_etcdctl(&c, (const char *const[]){"role", "grant-permission", "app", "readwrite",
                                         "--prefix=true", "/app/", NULL});
    tu_etcdctl(&c, (const char *const[]){"user", "add", "aecs:s3cret-pw", NULL});
    tu_etcdctl(&c, (const char *const[]){"user", "grant-role", "aecs", "app", NULL});
    tu_etcdctl(&c, (const char *const[]){"auth", "enable", NULL});
    snprintf(c.auth, sizeof(c.auth), "root:root-pw");

    snprintf(pw, sizeof(pw), "%s/pw", c.dir);
    write_file_mode(pw, "s3cret-pw\n", 0600);
    snprintf(spec, sizeof(spec), "etcd:%s?user=aecs&password-file=%s", c.endpoints, pw);
    open_ok(spec, &s);
    tu_put_str(s, "/app/k", "v1", 0, 1);
    tu_assert_value(s, "/app/k", "v1", 1);
    /* outside the role's prefix: etcd refuses, nothing is written */
    assert_int_equal(aecs_store_put(s, "/other", "x", 1, 0, NULL), AECS_E_IO);
    tu_assert_msg_has("permission denied");
    assert_etcd_absent(&c, 0, "/other");
    /* the token expires (TTL 1 s): the handle authenticates again by itself */
    sleep(3);
    tu_put_str(s, "/app/k", "v2", 1, 2);
    tu_assert_value(s, "/app/k", "v2", 2);
    /* expired again, and now many calls at once find it so: every one gets through */
    sleep(3);
    run_pool(s, "/app/pool/", 8, 5, NULL);
    assert_true(aecs_store_etcd_peak_calls(s) >= 2);
    aecs_store_free(s);

    /* a wrong password: refused at open, and never repeated */
    write_file_mode(pw, "wrong-pw", 0600);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    assert_null(s);
    tu_assert_msg_has("authentication failed");
    tu_assert_msg_has("authenticating as aecs");
    assert_null(strstr(TU_MSG(), "wrong-pw"));
    /* a password file others can read still works, with a warning */
    write_file_mode(pw, "s3cret-pw", 0644);
    quiet(&saved);
    open_ok(spec, &s);
    aecs_log_set_level(saved);
    aecs_store_free(s);
    /* no such file, an empty one */
    snprintf(spec, sizeof(spec), "etcd:%s?user=aecs&password-file=%s/none", c.endpoints, c.dir);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    tu_assert_msg_has("password-file");
    write_file_mode(pw, "\n", 0600);
    snprintf(spec, sizeof(spec), "etcd:%s?user=aecs&password-file=%s", c.endpoints, pw);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_FORMAT);
    tu_assert_msg_has("is empty");
    /* no user at all: etcd says so, and the message says what to give */
    snprintf(spec, sizeof(spec), "etcd:%s", c.endpoints);
    if (aecs_store_open(spec, &s) == AECS_OK) {
        assert_int_equal(aecs_store_get(s, "/app/k", &v), AECS_E_IO);
        aecs_store_free(s);
    }
    tu_assert_msg_has("give user= and password-file=");
    tu_etcd_stop(&c);
}

static void test_etcd_tls(void **state)
{
    (void)state;
    struct tu_etcd c;
    struct aecs_store *s = (struct aecs_store *)1;
    char spec[768];

    tu_etcd_start(&c, 1, TU_ETCD_TLS, NULL);
    snprintf(spec, sizeof(spec), "etcd:%s?cacert=%s&cert=%s&key=%s", c.endpoints, c.ca_file,
             c.cert_file, c.key_file);
    open_ok(spec, &s);
    tu_put_str(s, "/tls/k", "v", 0, 1);
    tu_assert_value(s, "/tls/k", "v", 1);
    aecs_store_free(s);

    /* no client certificate: etcd wants one */
    snprintf(spec, sizeof(spec), "etcd:%s?cacert=%s&timeout=2000", c.endpoints, c.ca_file);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    assert_null(s);
    tu_assert_msg_has(c.m[0].client_url);
    /* etcd's certificate is not signed by a CA this machine trusts */
    snprintf(spec, sizeof(spec), "etcd:%s?cert=%s&key=%s&timeout=2000", c.endpoints, c.cert_file,
             c.key_file);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    tu_assert_msg_has("TLS: check cacert=");
    /* plain http to a TLS port */
    snprintf(spec, sizeof(spec), "etcd:http://127.0.0.1:%d?timeout=2000", c.m[0].client_port);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    tu_etcd_stop(&c);
}

/* ====================================================== etcd's refusals */

static void test_etcd_refusals(void **state)
{
    (void)state;
    static const char *const limits[] = {"--max-request-bytes", "100000", "--max-txn-ops", "4",
                                         NULL};
    struct tu_etcd c;
    struct aecs_store *s = NULL;
    char spec[512];
    size_t big = 150000;
    char *value = malloc(big);

    assert_non_null(value);
    for (size_t i = 0; i < big; i++)
        value[i] = "SECRET-"[i % 7];
    tu_etcd_start(&c, 1, 0, limits);
    snprintf(spec, sizeof(spec), "etcd:%s", c.endpoints);
    open_ok(spec, &s);

    assert_int_equal(aecs_store_put(s, "/r/big", value, big, 0, NULL), AECS_E_IO);
    tu_assert_msg_has("etcdserver: request is too large");
    assert_null(strstr(TU_MSG(), "SECRET"));
    tu_assert_absent(s, "/r/big");

    struct aecs_store_op ops[5];
    static const char *const keys[] = {"/r/1", "/r/2", "/r/3", "/r/4", "/r/5"};
    for (size_t i = 0; i < 5; i++)
        ops[i] = (struct aecs_store_op){
            .kind = AECS_STORE_OP_PUT, .key = keys[i], .value = "v", .value_size = 1};
    assert_int_equal(aecs_store_txn(s, NULL, 0, ops, 5, NULL), AECS_E_IO);
    tu_assert_msg_has("too many operations in txn request");
    tu_assert_absent(s, "/r/1");
    assert_int_equal(aecs_store_txn(s, NULL, 0, ops, 4, NULL), AECS_OK);
    tu_assert_value(s, "/r/4", "v", 1);
    aecs_store_free(s);
    tu_etcd_stop(&c);
    free(value);
}

/* What aecs did not write: keys it would refuse, values above its limit. */
static void test_etcd_foreign_data(void **state)
{
    struct tu_store_fixture *f = *state;
    struct aecs_store_list l;
    struct aecs_store_value v;
    size_t big = AECS_STORE_VALUE_MAX + 1000;
    char *value = malloc(big + 1);

    assert_non_null(value);
    memset(value, 'z', big);
    value[big] = '\0';
    /* a key without the leading '/' is outside every listing aecs can ask for */
    tu_etcd_put(&g_etcd, "nolead", "v");
    tu_put_str(f->s, "/y/k", "v", 0, 1);
    assert_int_equal(aecs_store_list(f->s, "/", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].key, "/y/k");
    aecs_store_list_free(&l);

    /* a key aecs would refuse fails the listings that reach it, and only those */
    tu_etcd_put(&g_etcd, "/x/bad\x01key", "v");
    assert_int_equal(aecs_store_list(f->s, "/x/", NULL, 0, 0, &l), AECS_E_FORMAT);
    tu_assert_msg_has("not a valid aecs key");
    assert_null(strstr(TU_MSG(), "bad"));
    assert_null(l.items);
    assert_int_equal(aecs_store_list(f->s, "/y/", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 1);
    aecs_store_list_free(&l);

    /* a value above aecs's limit */
    tu_etcd_put(&g_etcd, "/y/huge", value);
    assert_int_equal(aecs_store_get(f->s, "/y/huge", &v), AECS_E_FORMAT);
    tu_assert_msg_has("larger than 1048576 bytes");
    assert_null(v.data);
    free(value);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, etcd_setup, etcd_teardown)
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_etcd_spec_grammar),
        cmocka_unit_test(test_etcd_unreachable),
        cmocka_unit_test(test_etcd_failover_first_dead),
        cmocka_unit_test(test_etcd_pool_failover),
        cmocka_unit_test(test_etcd_all_dead_then_back),
        cmocka_unit_test(test_etcd_cluster_loses_members),
        cmocka_unit_test(test_etcd_unknown_outcome_not_resent),
        cmocka_unit_test(test_etcd_auth),
        cmocka_unit_test(test_etcd_tls),
        cmocka_unit_test(test_etcd_refusals),
        T(test_etcd_foreign_data),
        T(test_etcd_pool_parallel),
    };
#undef T
    struct CMUnitTest tests[64];
    size_t n = sizeof(own) / sizeof(own[0]);

    memcpy(tests, own, sizeof(own));
    n += tu_store_suite(tests + n, sizeof(tests) / sizeof(tests[0]) - n, etcd_setup,
                        etcd_teardown);
    return _cmocka_run_group_tests("store_etcd_test", tests, n, group_setup, group_teardown);
}
