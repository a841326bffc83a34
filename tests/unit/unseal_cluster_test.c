/*
 * unseal_cluster_test.c - unseal progress shared by replicas
 * (src/service/unseal.c) against a real etcd on loopback
 * (tests/unit/common/etcd_cluster.c). Replicas are services opened on the
 * same etcd store in this process, each with sim identity evidence and a
 * verifier that trusts the sim, as aecsd runs them; the timer's work is
 * aecs_service_unseal_poll, called by the tests.
 *
 *   - init with 3 shares, threshold 2; A, B, C restarted sealed; share 1 to A
 *     is collected by C; share 2 to B makes B work at once, then A and C
 *     once they collect it; mailboxes and boxes are gone afterwards;
 *   - etcd, read over its own gateway (not the store code), never holds a
 *     share: not its text, its data in base64 or hex, nor its 32 bytes;
 *   - a replica of another MRENCLAVE gets nothing, and the forwarder logs why;
 *   - an envelope moved to another index or another recipient, one kept
 *     across a reset, and a forged share sealed to the right key are refused
 *     (logged) and deleted;
 *   - a reset through one replica, proven with a share, drops the progress of
 *     every replica (and is logged with the caller and the share's index); a
 *     bare reset drops nothing;
 *   - a reset sent to a working replica is refused and leaves the sealed
 *     ones' progress alone;
 *   - a mailbox published after a share was given gets it at the giver's
 *     next sync; a mailbox older than an hour gets nothing and is swept,
 *     with boxes whose mailbox is gone;
 *   - on SQLite nothing is shared and nothing is written under /meta/unseal.
 *
 * Expected values come from outside the code: the share texts init returns
 * (docs/design-keystore.md's format), etcd's own answers, and the store paths
 * of docs/design-service.md.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attest/attester.h"
#include "attest/sim.h"
#include "attest/verifier.h"
#include "base/codec.h"
#include "base/err.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "crypto/sigkey.h"
#include "etcd_cluster.h"
#include "proto/release.h"
#include "proto/reqsig.h"
#include "service/internal.h"
#include "service/service.h"
#include "store/store.h"
#include "admin_direct.h"
#include "keystore/shares.h"
#include "testutil.h"

#define SERVER_MR 0x5e
#define OTHER_MR 0x07
#define MAX_REPLICAS 4

static struct tu_etcd g_etcd;
static char g_dir[256], g_sim[300];

struct replica {
    char data[300];
    struct aecs_attester_config ac;
    struct aecs_sim_quote_params id;
    struct aecs_service *svc;
};

struct fx {
    char spec[320];
    struct replica r[MAX_REPLICAS];
    char shares[3][AECS_SHARE_TEXT_MAX];
    int saved_fd;
    char log_path[320];
};

/* ---- replicas ---- */

static void setup_release(struct replica *r, uint8_t mr)
{
    struct aecs_verifier_config vc;
    struct aecs_verifier *v = NULL;
    struct aecs_release_config rc;
    char root[400];

    memset(&vc, 0, sizeof(vc));
    snprintf(root, sizeof(root), "%s/root.der", g_sim);
    vc.sim_root_file = root;
    vc.sim_dir = g_sim;
    assert_int_equal(aecs_verifier_new(&vc, &v), AECS_OK);
    memset(&r->id, 0, sizeof(r->id));
    memset(r->id.mrenclave, mr, sizeof(r->id.mrenclave));
    memset(&r->ac, 0, sizeof(r->ac));
    r->ac.sim_dir = g_sim;
    r->ac.sim_identity = &r->id;
    memset(&rc, 0, sizeof(rc));
    rc.verifier = v;
    rc.attester = "sim";
    rc.attester_cfg = &r->ac;
    rc.rate_burst = 1000;
    rc.rate_per_second = 1000;
    rc.insecure_trust_sim = 1;
    assert_int_equal(aecs_service_release_setup(r->svc, &rc), AECS_OK);
}

/* Opens replica i on the fixture's store as enclave mr, as aecsd does (release, then unseal). */
static struct aecs_service *open_replica(struct fx *f, int i, uint8_t mr)
{
    struct replica *r = &f->r[i];
    struct aecs_service_config cfg = {
        .store_spec = f->spec,
        .data_dir = r->data,
        .auto_unseal = AECS_AUTO_UNSEAL_NONE,
        .version = "test",
    };

    aecs_service_free(r->svc);
    r->svc = NULL;
    assert_int_equal(aecs_service_open(&cfg, &r->svc), AECS_OK);
    setup_release(r, mr);
    assert_int_equal(aecs_service_unseal_setup(r->svc, &r->ac), AECS_OK);
    return r->svc;
}

/* Initializes svc as `aecs admin init` does (3 shares, threshold 2) and keeps the shares. */
static void init(struct fx *f, struct aecs_service *svc)
{
    char base[340], path[360], kid[AECS_SIGKEY_ID_HEX + 1];
    struct aecs_sigkey *key = NULL;
    struct tu_admin d;
    char **shares = NULL;

    snprintf(base, sizeof(base), "%s.admin", f->log_path);
    assert_int_equal(aecs_sigkey_generate_files(base, kid), AECS_OK);
    snprintf(path, sizeof(path), "%s.pem", base);
    assert_int_equal(aecs_sigkey_load_private(path, &key), AECS_OK);
    memset(&d, 0, sizeof(d));
    d.svc = svc;
    d.key = key;
    tu_admin_init(&d, 3, 2, NULL, &shares);
    for (size_t i = 0; i < 3; i++)
        snprintf(f->shares[i], sizeof(f->shares[i]), "%s", shares[i]);
    aecs_shares_free(shares, 3);
    aecs_sigkey_free(key);
}

/* Gives share text to svc as `aecs admin unseal` does; *answer (may be NULL) gets the answer. */
static int unseal_share(struct aecs_service *svc, const char *share, enum aecs_api_code *api,
                        json_t **answer)
{
    struct tu_admin d;

    memset(&d, 0, sizeof(d));
    d.svc = svc;
    return tu_admin_unseal(&d, share, api, answer);
}

/* POST /v1/admin/unseal with body; *answer (may be NULL) gets the answer. */
static int unseal_body(struct aecs_service *svc, json_t *body, enum aecs_api_code *api,
                       json_t **answer)
{
    char *text = json_dumps(body, JSON_COMPACT);
    struct aecs_request r;
    json_t *ans = NULL;
    int rc;

    json_decref(body);
    memset(&r, 0, sizeof(r));
    r.method = "POST";
    r.target = "/v1/admin/unseal";
    r.body = (const uint8_t *)text;
    r.body_size = strlen(text);
    r.remote = "127.0.0.1";
    *api = API_OK;
    rc = aecs_service_unseal(svc, &r, &ans, api);
    free(text);
    if (answer != NULL)
        *answer = ans;
    else
        json_decref(ans);
    return rc;
}

/* Gives share i (0-based) to svc: AECS_OK, and the state it answers. */
static const char *give(struct fx *f, struct aecs_service *svc, int i, long long *received)
{
    enum aecs_api_code api;
    json_t *ans = NULL;
    static char state[32];

    if (unseal_share(svc, f->shares[i], &api, &ans) != AECS_OK)
        fail_msg("unseal: %s", aecs_err_last()->message);
    snprintf(state, sizeof(state), "%s", json_string_value(json_object_get(ans, "state")));
    if (received != NULL)
        *received = json_integer_value(json_object_get(ans, "received"));
    json_decref(ans);
    return state;
}

/*
 * Resets through svc as `aecs admin unseal --reset` does, proven by share i
 * (0-based); returns the call's result, *api the code of a refusal.
 */
static int try_reset(struct fx *f, struct aecs_service *svc, int i, enum aecs_api_code *api)
{
    struct tu_admin d;

    memset(&d, 0, sizeof(d));
    d.svc = svc;
    return tu_admin_unseal_reset(&d, f->shares[i], api, NULL);
}

static void reset(struct fx *f, struct aecs_service *svc, int i)
{
    enum aecs_api_code api;

    if (try_reset(f, svc, i, &api) != AECS_OK)
        fail_msg("reset: %s", aecs_err_last()->message);
}

/* status.unseal.received of a sealed replica (-1 when not sealed). */
static long long received(struct aecs_service *svc)
{
    json_t *st = NULL, *u;
    long long n = -1;

    assert_int_equal(aecs_service_status(svc, &st), AECS_OK);
    u = json_object_get(st, "unseal");
    if (u != NULL) {
        assert_true(json_is_true(json_object_get(u, "shared")));
        assert_int_equal(json_integer_value(json_object_get(u, "threshold")), 2);
        n = json_integer_value(json_object_get(u, "received"));
    }
    json_decref(st);
    return n;
}

/* ---- etcd, read over its own gateway ---- */

/* Every key under prefix, with its value decoded, as an object {key: value}. */
static json_t *etcd_dump(const char *prefix)
{
    char end[128];
    char *k, *e, *body;
    json_t *req, *resp = NULL, *out = json_object(), *kv;
    size_t i, n = strlen(prefix);

    snprintf(end, sizeof(end), "%s", prefix);
    end[n - 1]++; /* the prefix's range end: its last byte plus one */
    k = tu_b64(prefix);
    e = tu_b64(end);
    req = json_pack("{s:s, s:s}", "key", k, "range_end", e);
    body = json_dumps(req, JSON_COMPACT);
    assert_int_equal(tu_etcd_post(&g_etcd, 0, "/v3/kv/range", body, &resp), 200);
    json_array_foreach(json_object_get(resp, "kvs"), i, kv)
    {
        const char *kb = json_string_value(json_object_get(kv, "key"));
        const char *vb = json_string_value(json_object_get(kv, "value"));
        uint8_t key[1024], *value;
        size_t ks = 0, vs = 0, vcap = vb != NULL ? strlen(vb) : 0;

        assert_int_equal(aecs_base64_decode(kb, strlen(kb), key, sizeof(key) - 1, &ks), AECS_OK);
        key[ks] = '\0';
        value = calloc(1, vcap + 1);
        assert_non_null(value);
        if (vb != NULL)
            assert_int_equal(aecs_base64_decode(vb, vcap, value, vcap, &vs), AECS_OK);
        json_object_set_new(out, (const char *)key, json_stringn_nocheck((const char *)value, vs));
        free(value);
    }
    json_decref(resp);
    json_decref(req);
    free(body);
    free(k);
    free(e);
    return out;
}

static size_t etcd_count(const char *prefix)
{
    json_t *d = etcd_dump(prefix);
    size_t n = json_object_size(d);

    json_decref(d);
    return n;
}

static int contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m <= n && i + m <= n; i++) {
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    }
    return 0;
}

/* No value or key in etcd holds any of the shares, in any of their forms. */
static void assert_no_share_in_etcd(struct fx *f)
{
    json_t *d = etcd_dump("/");
    const char *key;
    json_t *v;

    assert_true(json_object_size(d) > 0);
    for (int s = 0; s < 3; s++) {
        /* aecs-share-v1:<set>:<k>:<index>:<data base64>:<check> */
        char text[AECS_SHARE_TEXT_MAX], *fields[6], *save = NULL, hex[65], HEX[65];
        uint8_t data[64];
        size_t dn = 0;
        int nf = 0;

        snprintf(text, sizeof(text), "%s", f->shares[s]);
        for (char *p = strtok_r(text, ":", &save); p != NULL && nf < 6;
             p = strtok_r(NULL, ":", &save))
            fields[nf++] = p;
        assert_int_equal(nf, 6);
        assert_int_equal(aecs_base64_decode(fields[4], strlen(fields[4]), data, sizeof(data),
                                            &dn),
                         AECS_OK);
        assert_int_equal(dn, 32);
        tu_hex_encode(data, 32, hex);
        for (int i = 0; i < 65; i++)
            HEX[i] = (char)((hex[i] >= 'a' && hex[i] <= 'f') ? hex[i] - 32 : hex[i]);
        json_object_foreach(d, key, v)
        {
            const uint8_t *val = (const uint8_t *)json_string_value(v);
            size_t vn = json_string_length(v);
            const char *forms[] = {f->shares[s], fields[4], hex, HEX};
            for (size_t k = 0; k < 4; k++) {
                if (contains(val, vn, forms[k], strlen(forms[k])) ||
                    strstr(key, forms[k]) != NULL)
                    fail_msg("share %d (form %zu) is in etcd at %s", s + 1, k, key);
            }
            if (contains(val, vn, data, 32))
                fail_msg("share %d's bytes are in etcd at %s", s + 1, key);
        }
    }
    json_decref(d);
}

/* Writes value at key over the gateway (as the host, who controls etcd, can). */
static void etcd_put(const char *key, const char *value)
{
    char *k = tu_b64(key), *v = tu_b64(value), *body;
    json_t *req = json_pack("{s:s, s:s}", "key", k, "value", v);

    body = json_dumps(req, JSON_COMPACT);
    assert_int_equal(tu_etcd_post(&g_etcd, 0, "/v3/kv/put", body, NULL), 200);
    free(body);
    json_decref(req);
    free(k);
    free(v);
}

/* The value at key (a fresh string), NULL when absent. */
static char *etcd_get(const char *key)
{
    char end[128];
    json_t *d;
    json_t *v;
    char *out = NULL;

    snprintf(end, sizeof(end), "%s", key);
    d = etcd_dump(key);
    v = json_object_get(d, end);
    if (v != NULL)
        out = strdup(json_string_value(v));
    json_decref(d);
    return out;
}

static void box_path(const struct aecs_service *svc, unsigned index, char *out, size_t size)
{
    snprintf(out, size, "/meta/unseal/s/%s/%u", svc->cu.replica, index);
}

/* ---- the log ---- */

static void capture_begin(struct fx *f)
{
    int fd;

    fflush(stderr);
    f->saved_fd = dup(2);
    assert_true(f->saved_fd >= 0);
    fd = open(f->log_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    aecs_log_set_level(AECS_LOG_INFO);
}

/* The log written since capture_begin (the caller frees it). */
static char *capture_end(struct fx *f)
{
    size_t size = 0;

    fflush(stderr);
    assert_int_equal(dup2(f->saved_fd, 2), 2);
    close(f->saved_fd);
    aecs_log_set_level(AECS_LOG_ERROR);
    return (char *)tu_read_file(f->log_path, &size);
}

static void assert_log_has(const char *log, const char *needle)
{
    if (strstr(log, needle) == NULL)
        fail_msg("the log lacks '%s':\n%s", needle, log);
}

/* ---- fixture ---- */

static int group_setup(void **state)
{
    (void)state;
    tu_etcd_start(&g_etcd, 1, 0, NULL);
    tu_mkdtemp(g_dir, sizeof(g_dir));
    snprintf(g_sim, sizeof(g_sim), "%s/sim", g_dir);
    assert_int_equal(aecs_sim_init(g_sim, NULL), AECS_OK);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_etcd_stop(&g_etcd);
    tu_rmtree(g_dir);
    return 0;
}

static int setup(void **state)
{
    static unsigned test_no;
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tu_etcd_wipe(&g_etcd);
    snprintf(f->spec, sizeof(f->spec), "etcd:%s", g_etcd.endpoints);
    test_no++;
    for (int i = 0; i < MAX_REPLICAS; i++)
        snprintf(f->r[i].data, sizeof(f->r[i].data), "%s/t%u-r%d", g_dir, test_no, i);
    snprintf(f->log_path, sizeof(f->log_path), "%s/t%u.log", g_dir, test_no);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    for (int i = 0; i < MAX_REPLICAS; i++)
        aecs_service_free(f->r[i].svc);
    free(f);
    return 0;
}

/* Initializes through replica 0, then opens replicas 0..n-1 sealed (enclave SERVER_MR). */
static void sealed_cluster(struct fx *f, int n)
{
    init(f, open_replica(f, 0, SERVER_MR));
    for (int i = 0; i < n; i++) {
        open_replica(f, i, SERVER_MR);
        assert_int_equal(aecs_service_state(f->r[i].svc), AECS_STATE_SEALED);
    }
    assert_int_equal(etcd_count("/meta/unseal/r/"), (size_t)n);
}

/* ---- tests ---- */

/* Share 1 to A, share 2 to B: B works at once, A and C once they collect. */
static void test_shares_spread_over_replicas(void **state)
{
    struct fx *f = *state;
    struct aecs_service *a, *b, *c;
    long long n = 0;

    sealed_cluster(f, 3);
    a = f->r[0].svc;
    b = f->r[1].svc;
    c = f->r[2].svc;
    assert_int_equal(received(a), 0);
    assert_string_equal(give(f, a, 0, &n), "sealed");
    assert_int_equal(n, 1);
    /* forwarded to B and C, sealed to their mailbox keys */
    assert_int_equal(etcd_count("/meta/unseal/s/"), 2);
    assert_no_share_in_etcd(f);
    aecs_service_unseal_poll(c);
    assert_int_equal(received(c), 1); /* collected: counted as received */
    assert_int_equal(etcd_count("/meta/unseal/s/"), 1); /* C's envelope is consumed */

    /* B collects share 1 first, so share 2 unseals it at once */
    assert_string_equal(give(f, b, 1, &n), "working");
    assert_int_equal(aecs_service_state(b), AECS_STATE_WORKING);
    assert_int_equal(received(b), -1);
    assert_no_share_in_etcd(f);
    /* A and C are still sealed until they collect share 2 */
    assert_int_equal(aecs_service_state(a), AECS_STATE_SEALED);
    aecs_service_unseal_poll(a);
    assert_int_equal(aecs_service_state(a), AECS_STATE_WORKING);
    aecs_service_unseal_poll(c);
    assert_int_equal(aecs_service_state(c), AECS_STATE_WORKING);
    /* every mailbox and forwarded share is gone, and the store holds no share */
    assert_int_equal(etcd_count("/meta/unseal/r/"), 0);
    assert_int_equal(etcd_count("/meta/unseal/s/"), 0);
    assert_no_share_in_etcd(f);
    /* the collected root key opens the store: the index reads */
    {
        json_t *st = NULL;
        assert_int_equal(aecs_service_status(a, &st), AECS_OK);
        assert_string_equal(json_string_value(json_object_get(st, "state")), "working");
        assert_non_null(json_object_get(st, "counts"));
        json_decref(st);
    }
}

/* A replica that restarts sealed gets the shares given after its mailbox is published. */
static void test_status_collects(void **state)
{
    struct fx *f = *state;
    struct aecs_service *a, *b;

    sealed_cluster(f, 2);
    a = f->r[0].svc;
    b = f->r[1].svc;
    assert_string_equal(give(f, a, 2, NULL), "sealed");
    /* a status request collects too (at most every SVC_UNSEAL_STATUS_SYNC_MS) */
    usleep((SVC_UNSEAL_STATUS_SYNC_MS + 50) * 1000);
    assert_int_equal(received(b), 1);
    /* the same share given again to B: already in, forwarded */
    {
        enum aecs_api_code api;
        assert_int_not_equal(unseal_share(b, f->shares[2], &api, NULL), AECS_OK);
        assert_int_equal(api, API_BAD_SHARE);
        assert_non_null(strstr(aecs_err_last()->message, "already given"));
    }
    assert_string_equal(give(f, b, 0, NULL), "working");
    aecs_service_unseal_poll(a);
    assert_int_equal(aecs_service_state(a), AECS_STATE_WORKING);
}

/* A mailbox with evidence of another MRENCLAVE gets nothing, and the forwarder says why. */
static void test_other_enclave_gets_nothing(void **state)
{
    struct fx *f = *state;
    struct aecs_service *a, *b, *d;
    char path[128], *log, want[160];

    sealed_cluster(f, 2);
    a = f->r[0].svc;
    b = f->r[1].svc;
    d = open_replica(f, 3, OTHER_MR);
    assert_int_equal(etcd_count("/meta/unseal/r/"), 3);
    capture_begin(f);
    assert_string_equal(give(f, a, 0, NULL), "sealed");
    log = capture_end(f);
    snprintf(want, sizeof(want), "not forwarding shares to replica %s", d->cu.replica);
    assert_log_has(log, want);
    assert_log_has(log, "another MRENCLAVE");
    free(log);
    box_path(b, 1, path, sizeof(path));
    log = etcd_get(path); /* B got share 1 */
    assert_non_null(log);
    free(log);
    snprintf(path, sizeof(path), "/meta/unseal/s/%s/", d->cu.replica);
    assert_int_equal(etcd_count(path), 0);
    /* the verdict is cached: a second share is not sent there either, and not logged again */
    capture_begin(f);
    assert_string_equal(give(f, a, 1, NULL), "working");
    log = capture_end(f);
    assert_null(strstr(log, "not forwarding shares"));
    free(log);
    assert_int_equal(etcd_count(path), 0);
    aecs_service_unseal_poll(d);
    assert_int_equal(received(d), 0);
    aecs_service_unseal_poll(b);
    assert_int_equal(aecs_service_state(b), AECS_STATE_WORKING);
    assert_int_equal(aecs_service_state(d), AECS_STATE_SEALED);
}

/* An envelope moved to another index or recipient does not open: refused, logged, deleted. */
static void test_moved_envelope_refused(void **state)
{
    struct fx *f = *state;
    struct aecs_service *a, *b, *c;
    char b1[128], b2[128], c1[128], *v, *log;

    sealed_cluster(f, 3);
    a = f->r[0].svc;
    b = f->r[1].svc;
    c = f->r[2].svc;
    assert_string_equal(give(f, a, 0, NULL), "sealed");
    box_path(b, 1, b1, sizeof(b1));
    box_path(b, 2, b2, sizeof(b2));
    box_path(c, 1, c1, sizeof(c1));
    v = etcd_get(b1);
    assert_non_null(v);
    etcd_put(b2, v); /* B's share 1 as B's share 2 */
    etcd_put(c1, v); /* B's share 1 in C's box, over C's own */
    free(v);
    capture_begin(f);
    aecs_service_unseal_poll(b);
    aecs_service_unseal_poll(c);
    log = capture_end(f);
    assert_log_has(log, "refused the share forwarded at /meta/unseal/s/");
    assert_non_null(strstr(log, b2));
    assert_non_null(strstr(log, c1));
    assert_log_has(log, "does not open with this replica's mailbox key");
    free(log);
    assert_int_equal(received(b), 1); /* its own share 1 only */
    assert_int_equal(received(c), 0);
    assert_int_equal(etcd_count("/meta/unseal/s/"), 0); /* all taken out */
    /* the refused entries cost nothing else: share 2 to C unseals B (1 + 2), not C (2) */
    assert_string_equal(give(f, c, 1, NULL), "sealed");
    aecs_service_unseal_poll(b);
    assert_int_equal(aecs_service_state(b), AECS_STATE_WORKING);
}

/* A share sealed to the right key with the right binding that is not the service's: refused. */
static void test_forged_share_refused(void **state)
{
    struct fx *f = *state;
    struct aecs_service *b;
    struct aecs_unseal_share_binding sb;
    struct aecs_p256_pub *to = NULL;
    struct aecs_envelope env;
    uint8_t plain[42];
    char path[128], *text = NULL, *log;
    size_t size = 0;

    sealed_cluster(f, 2);
    b = f->r[1].svc;
    /* share 3 of the right set and threshold, with other data: what a forger could send */
    plain[0] = 3;
    plain[1] = 2;
    memcpy(plain + 2, b->share_set, 8);
    assert_int_equal(getrandom(plain + 10, 32, 0), 32);
    assert_int_equal(aecs_unseal_share_binding(aecs_service_id(b), b->cu.replica, b->share_set,
                                               3, b->cu.epoch, &sb),
                     AECS_OK);
    assert_int_equal(aecs_p256_pub_import(b->cu.pub, 65, &to), AECS_OK);
    assert_int_equal(aecs_envelope_seal(to, &sb.b, plain, sizeof(plain), &env), AECS_OK);
    assert_int_equal(aecs_unseal_box_serialize(f->r[0].svc->cu.replica, &env, &text, &size),
                     AECS_OK);
    box_path(b, 3, path, sizeof(path));
    etcd_put(path, text);
    capture_begin(f);
    aecs_service_unseal_poll(b);
    log = capture_end(f);
    assert_log_has(log, path);
    assert_log_has(log, "does not match the commitment made at init");
    free(log);
    assert_int_equal(received(b), 0);
    assert_int_equal(etcd_count("/meta/unseal/s/"), 0);
    free(text);
    aecs_envelope_clear(&env);
    aecs_p256_pub_free(to);
    /* the real shares still work */
    assert_string_equal(give(f, b, 2, NULL), "sealed");
    assert_string_equal(give(f, b, 0, NULL), "working");
}

/* A reset through one replica drops every replica's progress; older envelopes do not open. */
static void test_reset_is_cluster_wide(void **state)
{
    struct fx *f = *state;
    struct aecs_service *a, *b;
    enum aecs_api_code api;
    char b1[128], *old, *log, *epoch;

    sealed_cluster(f, 2);
    a = f->r[0].svc;
    b = f->r[1].svc;
    assert_string_equal(give(f, a, 0, NULL), "sealed");
    box_path(b, 1, b1, sizeof(b1));
    old = etcd_get(b1);
    assert_non_null(old);
    aecs_service_unseal_poll(b);
    assert_int_equal(received(b), 1);

    /* the bare reset of older clients proves nothing: refused, nothing dropped */
    assert_int_equal(unseal_body(b, json_pack("{s:b}", "reset", 1), &api, NULL), AECS_E_FORMAT);
    assert_int_equal(api, API_BAD_REQUEST);
    assert_non_null(strstr(aecs_err_last()->message, "a reset must carry a sealed share"));
    assert_int_equal(received(b), 1);
    assert_null(etcd_get("/meta/unseal/epoch"));
    aecs_service_unseal_poll(a);
    assert_int_equal(received(a), 1);

    /* proven with share 2, which is not counted; logged with the caller and the index */
    capture_begin(f);
    reset(f, b, 1);
    log = capture_end(f);
    assert_log_has(log, "unseal: progress reset by 127.0.0.1, proven with share 2 (1 shares "
                        "dropped; on every replica)");
    assert_null(strstr(log, f->shares[1] + 14));
    free(log);
    assert_int_equal(received(b), 0);
    epoch = etcd_get("/meta/unseal/epoch");
    assert_non_null(epoch);
    assert_string_equal(epoch, "1");
    free(epoch);
    aecs_service_unseal_poll(a);
    assert_int_equal(received(a), 0); /* A dropped share 1 on seeing the new epoch */

    /* the envelope of share 1 put back in B's box: bound to epoch 0, it does not open */
    etcd_put(b1, old);
    free(old);
    capture_begin(f);
    aecs_service_unseal_poll(b);
    log = capture_end(f);
    assert_log_has(log, "reset epoch 1");
    free(log);
    assert_int_equal(received(b), 0);

    /* after the reset: share 2 to A is alone (share 1 is gone), share 3 to B unseals both */
    assert_string_equal(give(f, a, 1, NULL), "sealed");
    assert_int_equal(received(a), 1);
    assert_string_equal(give(f, b, 2, NULL), "working");
    aecs_service_unseal_poll(a);
    assert_int_equal(aecs_service_state(a), AECS_STATE_WORKING);
    assert_no_share_in_etcd(f);
}

/*
 * A reset sent to a working replica is refused (409 conflict) and leaves the
 * progress of the sealed ones alone: one request to any replica can no longer
 * keep the others sealed.
 */
static void test_reset_on_working_refused(void **state)
{
    struct fx *f = *state;
    struct aecs_service *a, *b;
    enum aecs_api_code api;

    sealed_cluster(f, 1);
    a = f->r[0].svc;
    assert_string_equal(give(f, a, 0, NULL), "sealed");
    assert_string_equal(give(f, a, 1, NULL), "working");
    /* B's mailbox appears after A works: B gets nothing from A and keeps its own shares */
    b = open_replica(f, 1, SERVER_MR);
    assert_string_equal(give(f, b, 2, NULL), "sealed");
    assert_int_equal(received(b), 1);

    assert_int_not_equal(try_reset(f, a, 2, &api), AECS_OK);
    assert_int_equal(api, API_CONFLICT);
    assert_non_null(strstr(aecs_err_last()->message,
                           "the service is working: there is no unseal progress to reset; send "
                           "the reset to a sealed replica"));
    assert_int_equal(aecs_service_state(a), AECS_STATE_WORKING);
    assert_null(etcd_get("/meta/unseal/epoch"));
    aecs_service_unseal_poll(b);
    assert_int_equal(received(b), 1);
    assert_string_equal(give(f, b, 0, NULL), "working");
}

/* A mailbox published after a share was given still gets it, from the giver's next sync. */
static void test_late_mailbox(void **state)
{
    struct fx *f = *state;
    struct aecs_service *a, *b;

    sealed_cluster(f, 1);
    a = f->r[0].svc;
    assert_string_equal(give(f, a, 0, NULL), "sealed");
    b = open_replica(f, 1, SERVER_MR);
    aecs_service_unseal_poll(b);
    assert_int_equal(received(b), 0);
    aecs_service_unseal_poll(a); /* forwards share 1 to the new mailbox */
    aecs_service_unseal_poll(b);
    assert_int_equal(received(b), 1);
    assert_string_equal(give(f, b, 2, NULL), "working");
    aecs_service_unseal_poll(a);
    assert_int_equal(aecs_service_state(a), AECS_STATE_WORKING);
}

/* A mailbox older than an hour gets nothing and is swept, with boxes whose mailbox is gone. */
static void test_stale_mailbox_swept(void **state)
{
    struct fx *f = *state;
    struct aecs_service *a, *b;
    char path[128], box[128], *v, *p;
    json_t *m;

    sealed_cluster(f, 2);
    a = f->r[0].svc;
    b = f->r[1].svc;
    /* B's mailbox as a replica killed two hours ago would have left it */
    snprintf(path, sizeof(path), "/meta/unseal/r/%s", b->cu.replica);
    v = etcd_get(path);
    assert_non_null(v);
    m = json_loads(v, 0, NULL);
    assert_non_null(m);
    free(v);
    {
        char when[32];
        time_t t = time(NULL) - 2 * 3600;
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        json_object_set_new(m, "time", json_string(when));
    }
    p = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    etcd_put(path, p);
    free(p);
    snprintf(box, sizeof(box), "/meta/unseal/s/%s/1", "00112233445566778899aabbccddeeff");
    etcd_put(box, "{}"); /* a box whose mailbox is gone */
    assert_string_equal(give(f, a, 0, NULL), "sealed");
    snprintf(path, sizeof(path), "/meta/unseal/s/%s/", b->cu.replica);
    assert_int_equal(etcd_count(path), 0); /* stale: nothing sent */
    aecs_service_unseal_poll(a); /* the first poll sweeps */
    snprintf(path, sizeof(path), "/meta/unseal/r/%s", b->cu.replica);
    v = etcd_get(path);
    assert_null(v);
    v = etcd_get(box);
    assert_null(v);
    snprintf(path, sizeof(path), "/meta/unseal/r/%s", a->cu.replica);
    v = etcd_get(path); /* A's own mailbox stays */
    assert_non_null(v);
    free(v);
}

/* SQLite: one process, nothing shared, nothing under /meta/unseal. */
static void test_sqlite_not_shared(void **state)
{
    struct fx *f = *state;
    struct aecs_service *a;
    struct aecs_store *s = NULL;
    struct aecs_store_list l = {0};
    json_t *st = NULL;
    char spec[400];

    snprintf(f->spec, sizeof(f->spec), "sqlite:%s/store.db", f->r[0].data);
    assert_int_equal(mkdir(f->r[0].data, 0700), 0);
    init(f, open_replica(f, 0, SERVER_MR));
    a = open_replica(f, 0, SERVER_MR);
    assert_int_equal(aecs_service_state(a), AECS_STATE_SEALED);
    assert_string_equal(give(f, a, 0, NULL), "sealed");
    assert_int_equal(aecs_service_status(a, &st), AECS_OK);
    assert_false(json_is_true(json_object_get(json_object_get(st, "unseal"), "shared")));
    json_decref(st);
    aecs_service_unseal_poll(a);
    snprintf(spec, sizeof(spec), "%s", f->spec);
    aecs_service_free(a);
    f->r[0].svc = NULL;
    assert_int_equal(aecs_store_open(spec, &s), AECS_OK);
    assert_int_equal(aecs_store_list(s, "/meta/unseal/", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 0);
    aecs_store_list_free(&l);
    aecs_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shares_spread_over_replicas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_collects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_enclave_gets_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_envelope_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_share_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_is_cluster_wide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_on_working_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_mailbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_mailbox_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_not_shared, setup, teardown),
    };

    aecs_log_set_level(AECS_LOG_ERROR);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
