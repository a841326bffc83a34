/*
 * join_client_test.c - the joining side of the cluster join
 * (src/service/join_client.c) against the answering side (join.c) in the
 * same process: two services on one SQLite store with shared nonces, both
 * with sim identity evidence and a verifier that trusts the sim. The
 * transport calls the peer service's handlers directly, and can tamper with
 * what they answer.
 *
 *   - a joiner of the same enclave becomes working, and a record made by the
 *     peer opens with its key; cluster.join and cluster.joined are audited;
 *   - a joiner of another MRENCLAVE refuses the peer's identity and stays
 *     sealed (nothing but GET /v1/identity is sent);
 *   - an answer whose signature, body or envelope is changed is refused, and
 *     the joiner stays sealed;
 *   - a peer that does not answer, then one that does: the second is used;
 *   - a joiner of an uninitialized store tries nothing;
 *   - aecsd's rounds (aecs_service_join_keep_trying): a peer down for a while
 *     is tried again until the join succeeds; a stop ends the rounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/random.h>
#include <time.h>

#include "attest/attester.h"
#include "attest/sim.h"
#include "attest/verifier.h"
#include "base/codec.h"
#include "base/err.h"
#include "base/log.h"
#include "crypto/sigkey.h"
#include "proto/reqsig.h"
#include "service/join_client.h"
#include "service/service.h"
#include "admin_direct.h"
#include "keystore/shares.h"
#include "testutil.h"

#define PEER_URL "https://peer.test:1"
#define DEAD_URL "https://dead.test:1"

enum tamper { T_NONE, T_SIGNATURE, T_BODY, T_ENVELOPE, T_DEAD };

struct fx {
    char dir[256], sim[300], spec[320], data_a[300], data_b[300];
    struct aecs_attester_config ac_a, ac_b;
    struct aecs_sim_quote_params id_a, id_b;
    struct aecs_service *a, *b;
    enum tamper tamper;
    unsigned requests; /* how many requests reached the peer */
    unsigned joins;    /* how many of them were POST /v1/cluster/join */
    unsigned dead_left; /* refuse this many connections first */
    int stop;
};

static struct aecs_service *open_service(struct fx *f, const char *data)
{
    struct aecs_service_config cfg = {
        .store_spec = f->spec,
        .data_dir = data,
        .auto_unseal = AECS_AUTO_UNSEAL_NONE,
        .version = "test",
        .shared_nonces = 1,
    };
    struct aecs_service *svc = NULL;

    assert_int_equal(aecs_service_open(&cfg, &svc), AECS_OK);
    return svc;
}

static void setup_release(struct fx *f, struct aecs_service *svc, struct aecs_attester_config *ac,
                          struct aecs_sim_quote_params *id, uint8_t mr)
{
    struct aecs_verifier_config vc;
    struct aecs_verifier *v = NULL;
    struct aecs_release_config rc;
    char root[400];

    memset(&vc, 0, sizeof(vc));
    snprintf(root, sizeof(root), "%s/root.der", f->sim);
    vc.sim_root_file = root;
    vc.sim_dir = f->sim;
    assert_int_equal(aecs_verifier_new(&vc, &v), AECS_OK);
    memset(id, 0, sizeof(*id));
    memset(id->mrenclave, mr, sizeof(id->mrenclave));
    memset(ac, 0, sizeof(*ac));
    ac->sim_dir = f->sim;
    ac->sim_identity = id;
    memset(&rc, 0, sizeof(rc));
    rc.verifier = v;
    rc.attester = "sim";
    rc.attester_cfg = ac;
    rc.rate_burst = 1000;
    rc.rate_per_second = 1000;
    rc.insecure_trust_sim = 1;
    assert_int_equal(aecs_service_release_setup(svc, &rc), AECS_OK);
}

/* Initializes f->a as `aecs admin init` does, with a fresh admin key (admin_direct.h). */
static void init_a_with(struct fx *f, const char *join_policy, enum aecs_api_code want)
{
    char base[300], path[320], kid[AECS_SIGKEY_ID_HEX + 1];
    struct aecs_sigkey *key = NULL;
    struct tu_admin d;
    char **shares = NULL;
    enum aecs_api_code api = API_OK;

    snprintf(base, sizeof(base), "%s/admin", f->dir);
    assert_int_equal(aecs_sigkey_generate_files(base, kid), AECS_OK);
    snprintf(path, sizeof(path), "%s.pem", base);
    assert_int_equal(aecs_sigkey_load_private(path, &key), AECS_OK);
    memset(&d, 0, sizeof(d));
    d.svc = f->a;
    d.key = key;
    if (want == API_OK) {
        tu_admin_init(&d, 2, 2, join_policy, &shares);
    } else {
        assert_int_not_equal(tu_admin_try_init(&d, 2, 2, join_policy, &shares, &api), AECS_OK);
        assert_int_equal(api, want);
    }
    aecs_shares_free(shares, 2);
    aecs_sigkey_free(key);
}

static void init_a(struct fx *f)
{
    init_a_with(f, NULL, API_OK);
}

/* The peer: f->a's handlers, answers as the HTTP layer would send them. */
static int fake_request(void *ctx, const char *url, const char *method, const char *target,
                        const char *body, size_t body_size, struct aecs_join_reply *reply)
{
    struct fx *f = ctx;
    struct aecs_answer out;
    struct aecs_request r;
    enum aecs_api_code api = API_OK;
    int rc;

    memset(&out, 0, sizeof(out));
    memset(&r, 0, sizeof(r));
    if (strcmp(url, DEAD_URL) == 0 || f->tamper == T_DEAD)
        return AECS_ERR(AECS_E_IO, "%s: connection refused", url);
    if (f->dead_left > 0) {
        f->dead_left--;
        return AECS_ERR(AECS_E_IO, "%s: connection refused", url);
    }
    f->requests++;
    r.method = method;
    r.target = target;
    r.body = (const uint8_t *)body;
    r.body_size = body_size;
    r.remote = "127.0.0.2";
    if (strncmp(target, "/v1/identity?nonce=", 19) == 0) {
        rc = aecs_service_identity(f->a, target + 19, &out, &api);
    } else if (strcmp(target, "/v1/challenge") == 0) {
        rc = aecs_service_challenge(f->a, &r, &out, &api);
    } else {
        assert_string_equal(target, "/v1/cluster/join");
        f->joins++;
        rc = aecs_service_join(f->a, &r, &out, &api);
    }
    if (rc != AECS_OK) {
        json_t *e = json_pack("{s:{s:s, s:s}}", "error", "code", aecs_api_code_name(api),
                              "message", aecs_err_last()->message);
        reply->status = aecs_api_code_status(api);
        reply->body = json_dumps(e, JSON_COMPACT);
        reply->body_size = strlen(reply->body);
        json_decref(e);
        return AECS_OK;
    }
    reply->status = 200;
    reply->body = out.body;
    reply->body_size = out.size;
    out.body = NULL;
    snprintf(reply->signature, sizeof(reply->signature), "%s", out.signature);
    reply->signature_count = out.signature[0] != '\0';
    if (strcmp(target, "/v1/cluster/join") == 0) {
        char *p;
        switch (f->tamper) {
        case T_SIGNATURE:
            reply->signature[5] = reply->signature[5] == 'A' ? 'B' : 'A';
            break;
        case T_BODY: /* a change the JSON still carries: the id's last digit */
            p = strstr(reply->body, "\"id\":\"");
            assert_non_null(p);
            p[6 + 31] = p[6 + 31] == '0' ? '1' : '0';
            break;
        case T_ENVELOPE: /* the tag's first digit */
            p = strstr(reply->body, "\"tag\":\"");
            assert_non_null(p);
            p[7] = p[7] == '0' ? '1' : '0';
            break;
        default:
            break;
        }
    }
    aecs_answer_clear(&out);
    return AECS_OK;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof(f->dir));
    snprintf(f->sim, sizeof(f->sim), "%s/sim", f->dir);
    snprintf(f->spec, sizeof(f->spec), "sqlite:%s/store.db", f->dir);
    snprintf(f->data_a, sizeof(f->data_a), "%s/a", f->dir);
    snprintf(f->data_b, sizeof(f->data_b), "%s/b", f->dir);
    assert_int_equal(aecs_sim_init(f->sim, NULL), AECS_OK);
    f->a = open_service(f, f->data_a);
    setup_release(f, f->a, &f->ac_a, &f->id_a, 0x5e);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    aecs_service_free(f->b);
    aecs_service_free(f->a);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* Opens replica b (sealed, on the store a initialized) as enclave mr. */
static void open_b(struct fx *f, uint8_t mr)
{
    f->b = open_service(f, f->data_b);
    setup_release(f, f->b, &f->ac_b, &f->id_b, mr);
}

static int join(struct fx *f, const char *const *urls, size_t n)
{
    struct aecs_join_transport t = {f, fake_request};
    return aecs_service_join_peers(f->b, &f->ac_b, &t, urls, n);
}

static void test_join_ok(void **state)
{
    struct fx *f = *state;
    const char *urls[] = {DEAD_URL, PEER_URL};
    json_t *st = NULL;

    init_a(f);
    open_b(f, 0x5e);
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_SEALED);
    assert_int_equal(join(f, urls, 2), AECS_OK);
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_WORKING);
    assert_int_equal(f->joins, 1);
    /* b reads the store with the key it got: its status and index open */
    assert_int_equal(aecs_service_status(f->b, &st), AECS_OK);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "working");
    json_decref(st);
    /* a second call does nothing */
    assert_int_equal(join(f, urls + 1, 1), AECS_OK);
    assert_int_equal(f->joins, 1);
}

static void test_join_other_enclave(void **state)
{
    struct fx *f = *state;
    const char *urls[] = {PEER_URL};

    init_a(f);
    open_b(f, 0x07);
    assert_int_not_equal(join(f, urls, 1), AECS_OK);
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_SEALED);
    assert_int_equal(f->requests, 1); /* the identity only */
    assert_int_equal(f->joins, 0);
    /* the refusal is named */
    assert_int_equal(aecs_service_join_peer(f->b, &f->ac_b,
                                            &(struct aecs_join_transport){f, fake_request},
                                            PEER_URL),
                     AECS_E_UNTRUSTED);
    assert_non_null(strstr(aecs_err_last()->message, "another MRENCLAVE"));
}

static void tampered(void **state, enum tamper how, int code, const char *needle)
{
    struct fx *f = *state;
    struct aecs_join_transport t = {f, fake_request};

    init_a(f);
    open_b(f, 0x5e);
    f->tamper = how;
    assert_int_equal(aecs_service_join_peer(f->b, &f->ac_b, &t, PEER_URL), code);
    assert_non_null(strstr(aecs_err_last()->message, needle));
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_SEALED);
    /* the same peer, honest again: the join works */
    f->tamper = T_NONE;
    assert_int_equal(aecs_service_join_peer(f->b, &f->ac_b, &t, PEER_URL), AECS_OK);
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_WORKING);
}

static void test_tampered_signature(void **state)
{
    tampered(state, T_SIGNATURE, AECS_E_BAD_SIGNATURE, "signature");
}

static void test_tampered_body(void **state)
{
    tampered(state, T_BODY, AECS_E_BAD_SIGNATURE, "signature");
}

static void test_dead_peer(void **state)
{
    tampered(state, T_DEAD, AECS_E_IO, "no answer");
}

static void test_uninitialized(void **state)
{
    struct fx *f = *state;
    const char *urls[] = {PEER_URL};

    open_b(f, 0x5e);
    assert_int_equal(join(f, urls, 1), AECS_E_USAGE);
    assert_int_equal(f->requests, 0);
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_UNINITIALIZED);
}

/* A join policy set at init replaces the default: here it names another MRENCLAVE. */
static void test_join_policy_refuses(void **state)
{
    struct fx *f = *state;
    const char *urls[] = {PEER_URL};
    const char *policy = "join_policy:\n  enclaveMatchAnyRules:\n"
                         "  - mrenclave: \"0707070707070707070707070707070707070707070707070707070707070707\"\n"
                         "    allow_sim: true\n";

    init_a_with(f, policy, API_OK);
    open_b(f, 0x5e); /* a's own measurements: the default policy would let it in */
    assert_int_not_equal(join(f, urls, 1), AECS_OK);
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_SEALED);
    assert_int_equal(f->joins, 1);
    /* the refusal is named (one peer, asked directly) */
    assert_int_not_equal(aecs_service_join_peer(f->b, &f->ac_b,
                                                &(struct aecs_join_transport){f, fake_request},
                                                PEER_URL),
                         AECS_OK);
    assert_non_null(strstr(aecs_err_last()->message, "join policy refuses this replica"));
}

static void test_join_policy_allows(void **state)
{
    struct fx *f = *state;
    const char *urls[] = {PEER_URL};
    const char *policy = "join_policy:\n  enclaveMatchAnyRules:\n"
                         "  - mrenclave: \"5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\"\n"
                         "    allow_sim: true\n";

    init_a_with(f, policy, API_OK);
    open_b(f, 0x5e);
    assert_int_equal(join(f, urls, 1), AECS_OK);
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_WORKING);
}

/* A join policy whose rule names no identity is refused at init. */
static void test_join_policy_invalid(void **state)
{
    struct fx *f = *state;

    init_a_with(f, "join_policy:\n  enclaveMatchAnyRules:\n  - mrenclave: \"\"\n",
                API_INVALID_POLICY);
}

/* The peer refuses connections for three rounds, then answers: the fourth round joins. */
static void test_keep_trying_until_joined(void **state)
{
    struct fx *f = *state;
    const char *urls[] = {PEER_URL};
    struct aecs_join_transport t = {f, fake_request};

    init_a(f);
    open_b(f, 0x5e);
    f->dead_left = 3;
    assert_int_equal(aecs_service_join_keep_trying(f->b, &f->ac_b, &t, urls, 1, &f->stop, 10, 40),
                     AECS_OK);
    assert_int_equal(f->dead_left, 0);
    assert_int_equal(f->joins, 1);
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_WORKING);
}

static void *stop_later(void *arg)
{
    struct fx *f = arg;
    struct timespec ts = {0, 200 * 1000000L};

    nanosleep(&ts, NULL);
    __atomic_store_n(&f->stop, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* A peer that never answers: the rounds go on until stopped, and the replica stays sealed. */
static void test_keep_trying_stops(void **state)
{
    struct fx *f = *state;
    const char *urls[] = {DEAD_URL};
    struct aecs_join_transport t = {f, fake_request};
    pthread_t th;

    init_a(f);
    open_b(f, 0x5e);
    assert_int_equal(pthread_create(&th, NULL, stop_later, f), 0);
    assert_int_equal(aecs_service_join_keep_trying(f->b, &f->ac_b, &t, urls, 1, &f->stop, 10,
                                                   60000),
                     AECS_E_IO);
    assert_non_null(strstr(aecs_err_last()->message, "stopped after"));
    pthread_join(th, NULL);
    assert_int_equal(aecs_service_state(f->b), AECS_STATE_SEALED);
    /* no peer at all: a usage error, nothing tried */
    assert_int_equal(aecs_service_join_keep_trying(f->b, &f->ac_b, &t, urls, 0, &f->stop, 10, 40),
                     AECS_E_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_other_enclave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uninitialized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_policy_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_policy_allows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_policy_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_trying_until_joined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_trying_stops, setup, teardown),
    };

    aecs_log_set_level(AECS_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
