/*
 * admin_test.c - the admin's side of init and unseal (src/client/admin.c),
 * what `aecs admin init|unseal` run, against a service in the same process
 * (tests/unit/common/admin_direct.c: the service's handlers behind a
 * transport that can change requests and answers, as a host that holds the
 * TLS key can). The service has sim identity evidence of MRENCLAVE 5e..5e;
 * the admin's server_policy and verifier come from a credential file
 * (client/cred.h), as the command reads them.
 *
 *   - a server_policy that names another enclave, refuses the sim, or a
 *     verifier that does not trust the sim: refused with the check's name,
 *     and nothing but GET /v1/identity was sent; a changed identity
 *     signature is refused too;
 *   - init and unseal by the rules: the shares open, they unseal the service
 *     after a restart, and neither a request nor an answer holds a share's
 *     text;
 *   - an init answer whose signature or body was changed, whose signature
 *     header is missing, or that another init produced, is refused
 *     (AECS_E_BAD_SIGNATURE) and no share is returned; a request changed on
 *     the way is refused by the service (its signature covers the body); a
 *     request replaced by another admin's (who keeps this admin's share key
 *     and nonce) is refused because the answer names another admin key;
 *   - without identity evidence: only the INSECURE path (no verifier) goes
 *     on, with the key the status names.
 *
 * Expected values come from the protocol's text (docs/protocol-release.md
 * section 7) and the share format (docs/design-keystore.md), not from a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_direct.h"
#include "attest/attester.h"
#include "attest/sim.h"
#include "attest/verifier.h"
#include "base/err.h"
#include "base/log.h"
#include "client/admin.h"
#include "client/client_config.h"
#include "client/cred.h"
#include "client/identity.h"
#include "crypto/sigkey.h"
#include "keystore/shares.h"
#include "service/internal.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)
#define SERVER_MR "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
#define OTHER_MR "0707070707070707070707070707070707070707070707070707070707070707"

enum tamper {
    T_NONE,
    T_SIGNATURE,    /* a character of the answer's signature header */
    T_BODY,         /* one character of the answer's body */
    T_NO_SIGNATURE, /* the header dropped */
    T_OLD_ANSWER,   /* the answer (and its signature) of an earlier init */
    T_REQUEST,      /* one character of the request's body */
    T_OTHER_ADMIN,  /* the request replaced by another admin's, same share key and nonce */
};

struct fx {
    char dir[64], sim[128], spec[160], data[128], keys[128];
    struct aecs_attester_config ac;
    struct aecs_sim_quote_params id;
    struct aecs_service *svc;
    struct aecs_sigkey *admin, *other;
    struct tu_admin d;
    struct aecs_cred *cred;
    struct aecs_verifier *verifier;
    struct aecs_admin a;
    enum tamper tamper;
    /* an earlier init's answer (T_OLD_ANSWER) */
    char *old_body;
    size_t old_size;
    char old_sig[AECS_CONN_HEADER_MAX + 1];
    /* a share's data must never be seen on the way (set once shares are known) */
    const char *secret;
    int seen;
};

static struct aecs_sigkey *make_key(struct fx *f, const char *name)
{
    char base[200], path[220], kid[AECS_SIGKEY_ID_HEX + 1];
    struct aecs_sigkey *k = NULL;

    snprintf(base, sizeof(base), "%s/%s", f->dir, name);
    assert_int_equal(aecs_sigkey_generate_files(base, kid), AECS_OK);
    snprintf(path, sizeof(path), "%s.pem", base);
    assert_int_equal(aecs_sigkey_load_private(path, &k), AECS_OK);
    return k;
}

/* Opens (or reopens: a restart, a new identity key) the service, with sim evidence. */
static void open_service(struct fx *f, int evidence)
{
    struct aecs_service_config cfg = {
        .store_spec = f->spec,
        .data_dir = f->data,
        .auto_unseal = AECS_AUTO_UNSEAL_NONE,
        .version = "test",
    };
    struct aecs_release_config rc;

    aecs_service_free(f->svc);
    f->svc = NULL;
    assert_int_equal(aecs_service_open(&cfg, &f->svc), AECS_OK);
    memset(&f->id, 0, sizeof(f->id));
    tu_hex(SERVER_MR, f->id.mrenclave, sizeof(f->id.mrenclave));
    memset(&f->ac, 0, sizeof(f->ac));
    f->ac.sim_dir = f->sim;
    f->ac.sim_identity = &f->id;
    memset(&rc, 0, sizeof(rc));
    rc.attester = evidence ? "sim" : "none";
    rc.attester_cfg = &f->ac;
    rc.rate_burst = 1000;
    rc.rate_per_second = 1000;
    assert_int_equal(aecs_service_release_setup(f->svc, &rc), AECS_OK);
    f->d.svc = f->svc;
}

static void on_request(void *arg, const char *target, char *body, size_t size);
static void on_answer(void *arg, const char *target, struct aecs_raw_reply *reply);

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof(f->dir));
    snprintf(f->sim, sizeof(f->sim), "%s/sim", f->dir);
    snprintf(f->spec, sizeof(f->spec), "sqlite:%s/store.db", f->dir);
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    assert_int_equal(aecs_sim_init(f->sim, NULL), AECS_OK);
    f->admin = make_key(f, "admin");
    f->other = make_key(f, "other");
    f->d.key = f->admin;
    f->d.on_request = on_request;
    f->d.on_answer = on_answer;
    f->d.arg = f;
    open_service(f, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    aecs_admin_clear(&f->a);
    aecs_verifier_free(f->verifier);
    aecs_cred_free(f->cred);
    aecs_service_free(f->svc);
    aecs_sigkey_free(f->admin);
    aecs_sigkey_free(f->other);
    free(f->old_body);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- the host in the middle ---- */

static void on_request(void *arg, const char *target, char *body, size_t size)
{
    struct fx *f = arg;

    if (f->secret != NULL && memmem(body, size, f->secret, strlen(f->secret)) != NULL)
        f->seen = 1;
    if (strcmp(target, "/v1/admin/init") != 0)
        return;
    if (f->tamper == T_REQUEST) {
        char *p = strstr(body, "\"threshold\":2");
        assert_non_null(p);
        p[12] = '3';
    } else if (f->tamper == T_OTHER_ADMIN) {
        /* the body keeps its length: only the admin key changes, and who signs */
        char *pem = NULL, *p = strstr(body, "-----BEGIN PUBLIC KEY-----");
        assert_int_equal(aecs_sigkey_public_pem(f->other, &pem), AECS_OK);
        assert_non_null(p);
        /* the JSON string holds the PEM with \n escaped: rewrite it the same way */
        char *q = p;
        for (const char *c = pem; *c != '\0'; c++) {
            if (*c == '\n') {
                *q++ = '\\';
                *q++ = 'n';
            } else {
                *q++ = *c;
            }
        }
        free(pem);
        f->d.key = f->other;
    }
}

static void on_answer(void *arg, const char *target, struct aecs_raw_reply *reply)
{
    struct fx *f = arg;

    if (f->secret != NULL && reply->body != NULL &&
        memmem(reply->body, reply->body_size, f->secret, strlen(f->secret)) != NULL)
        f->seen = 1;
    f->d.key = f->admin; /* after T_OTHER_ADMIN */
    if (strncmp(target, "/v1/identity", 12) == 0 && f->tamper == T_SIGNATURE) {
        reply->header[5] = reply->header[5] == 'A' ? 'B' : 'A';
        return;
    }
    if (strcmp(target, "/v1/admin/init") != 0 || reply->status != 200)
        return;
    switch (f->tamper) {
    case T_SIGNATURE:
        reply->header[10] = reply->header[10] == 'A' ? 'B' : 'A';
        break;
    case T_BODY: {
        char *p = strstr(reply->body, "\"ciphertext\":\"");
        assert_non_null(p);
        p[14] = p[14] == 'A' ? 'B' : 'A';
        break;
    }
    case T_NO_SIGNATURE:
        reply->header[0] = '\0';
        reply->header_count = 0;
        break;
    case T_OLD_ANSWER:
        free(reply->body);
        reply->body = malloc(f->old_size + 1);
        assert_non_null(reply->body);
        memcpy(reply->body, f->old_body, f->old_size + 1);
        reply->body_size = f->old_size;
        reply->body_alloc = f->old_size + 1;
        snprintf(reply->header, sizeof(reply->header), "%s", f->old_sig);
        break;
    default:
        break;
    }
}

/* ---- the admin's view ---- */

/* Reads a credential file with this server_policy and verifier. */
static void use_cred(struct fx *f, const char *policy, const char *verifier)
{
    char text[1024];

    aecs_admin_clear(&f->a);
    aecs_verifier_free(f->verifier);
    f->verifier = NULL;
    aecs_cred_free(f->cred);
    f->cred = NULL;
    snprintf(
        text, sizeof(text), "server: https://aecs.test:1\nkey: admin.pem\nca: ca.pem\n%s%s%s%s",
        policy != NULL ? "server_policy:\n  enclaveMatchAnyRules:\n  - " : "",
        policy != NULL ? policy : "", policy != NULL ? "\n" : "", verifier != NULL ? verifier : "");
    if (aecs_cred_parse(text, strlen(text), "admin.yaml", f->dir, &f->cred) != AECS_OK)
        fail_msg("credential: %s", MSG());
    memset(&f->a, 0, sizeof(f->a));
    tu_admin_transport(&f->d, &f->a.t);
    f->a.url = "https://aecs.test:1";
    f->a.source = "admin.yaml";
    if (f->cred->trust != NULL) { /* as cmd_admin.c does */
        f->a.service_id = f->cred->trust->service_id;
        f->a.accept_insecure = f->cred->trust->accept_insecure_server;
    }
    if (f->cred->trust != NULL && f->cred->trust->has_policy) {
        assert_int_equal(
            aecs_server_trust_verifier(f->cred->trust, "admin.yaml", NULL, NULL, &f->verifier),
            AECS_OK);
        f->a.verifier = f->verifier;
        f->a.rules = &f->cred->trust->server_rules;
    }
}

static char g_trust_sim[200];

/* The credential of the tests: this server's enclave, the sim trusted. */
static void use_good_cred(struct fx *f)
{
    snprintf(g_trust_sim, sizeof(g_trust_sim), "verifier: {insecure_trust_sim: %s}\n", f->sim);
    use_cred(f, "{mrenclave: " SERVER_MR ", allow_sim: true}", g_trust_sim);
}

static int identity(struct fx *f)
{
    struct aecs_raw_reply reply;
    int rc;

    memset(&reply, 0, sizeof(reply));
    rc = aecs_admin_identity(&f->a, &reply);
    aecs_raw_reply_clear(&reply);
    return rc;
}

/* aecs_admin_init with the fixture's admin key: 3 shares, threshold 2. */
static int init(struct fx *f, char ***shares, struct aecs_raw_reply *reply)
{
    struct aecs_admin_init_params p;
    char key_id[AECS_SIGKEY_ID_HEX + 1], id[AECS_SERVICE_ID_HEX + 1], *pem = NULL;
    int rc;

    assert_int_equal(aecs_sigkey_id(f->admin, key_id), AECS_OK);
    assert_int_equal(aecs_sigkey_public_pem(f->admin, &pem), AECS_OK);
    memset(&p, 0, sizeof(p));
    p.pubkey_pem = pem;
    p.key_id = key_id;
    p.shares = 3;
    p.threshold = 2;
    memset(reply, 0, sizeof(*reply));
    rc = aecs_admin_init(&f->a, &p, reply, shares, id);
    if (rc == AECS_OK)
        assert_string_equal(id, aecs_service_id(f->svc));
    free(pem);
    return rc;
}

/* ---- tests ---- */

static void identity_refused(struct fx *f, const char *check, const char *needle)
{
    unsigned before = f->d.requests;

    assert_int_equal(identity(f), AECS_E_UNTRUSTED);
    assert_string_equal(f->a.check, check);
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' lacks '%s'", MSG(), needle);
    assert_null(f->a.identity);
    /* nothing but the identity request went out */
    assert_int_equal(f->d.requests, before + 1);
    assert_int_equal(strncmp(f->d.targets[before], "GET /v1/identity?nonce=", 23), 0);
}

static void test_identity(void **state)
{
    struct fx *f = *state;

    use_good_cred(f);
    assert_int_equal(identity(f), AECS_OK);
    assert_int_equal(f->a.checked, 1);
    assert_non_null(f->a.identity);

    use_cred(f, "{mrenclave: " OTHER_MR ", allow_sim: true}", g_trust_sim);
    identity_refused(f, "server-policy", "does not match server_policy of admin.yaml");
    use_cred(f, "{mrenclave: " SERVER_MR "}", g_trust_sim);
    identity_refused(f, "server-policy", "does not match server_policy of admin.yaml");
    use_cred(f, "{mrenclave: " SERVER_MR ", allow_sim: true}", NULL);
    identity_refused(f, "identity-evidence", "the server's evidence does not verify");
    use_good_cred(f);
    f->tamper = T_SIGNATURE;
    identity_refused(f, "identity-signature", "signature does not verify with the key it names");

    /* unchecked (INSECURE): the key is taken, and said to be unchecked */
    f->tamper = T_NONE;
    use_cred(f, NULL, NULL);
    assert_int_equal(identity(f), AECS_OK);
    assert_int_equal(f->a.checked, 0);
    assert_memory_equal(f->a.identity_pub, f->svc->identity_pub, 65);
}

/*
 * service_id pinned: the service's signed answer names its id, so this
 * service passes and any other (a store initialized again) is refused with
 * nothing but the identity request sent; unchecked keys too. Before its
 * init a service names no id, and a pin refuses it.
 */
static void test_identity_service_id(void **state)
{
    struct fx *f = *state;
    struct aecs_raw_reply reply;
    char extra[400], **shares = NULL;

    snprintf(extra, sizeof(extra),
             "verifier: {insecure_trust_sim: %s}\nservice_id: 0123456789abcdef0123456789abcdef\n",
             f->sim);
    use_cred(f, "{mrenclave: " SERVER_MR ", allow_sim: true}", extra);
    identity_refused(f, "server-service-id",
                     "https://aecs.test:1: the server serves no service id (it is not "
                     "initialized), but admin.yaml pins service_id "
                     "0123456789abcdef0123456789abcdef: its store was wiped, or this is not the "
                     "configured server; nothing was sent");
    use_cred(f, NULL, "service_id: 0123456789abcdef0123456789abcdef\n");
    identity_refused(f, "server-service-id", "the server serves no service id (it is not "
                                             "initialized), but admin.yaml pins service_id");

    use_good_cred(f);
    assert_int_equal(identity(f), AECS_OK);
    assert_int_equal(init(f, &shares, &reply), AECS_OK);
    aecs_raw_reply_clear(&reply);
    aecs_shares_free(shares, 3);
    assert_int_equal(strlen(aecs_service_id(f->svc)), 32);

    snprintf(extra, sizeof(extra), "verifier: {insecure_trust_sim: %s}\nservice_id: %s\n", f->sim,
             aecs_service_id(f->svc));
    use_cred(f, "{mrenclave: " SERVER_MR ", allow_sim: true}", extra);
    assert_int_equal(identity(f), AECS_OK);
    assert_int_equal(f->a.checked, 1);

    snprintf(extra, sizeof(extra),
             "verifier: {insecure_trust_sim: %s}\nservice_id: 0123456789abcdef0123456789abcdef\n",
             f->sim);
    use_cred(f, "{mrenclave: " SERVER_MR ", allow_sim: true}", extra);
    snprintf(extra, sizeof(extra),
             "https://aecs.test:1: the server serves service id %s, but admin.yaml pins "
             "service_id 0123456789abcdef0123456789abcdef: its store was initialized again (new "
             "secrets, perhaps chosen by whoever wiped it) or this is not the configured server; "
             "nothing was sent",
             aecs_service_id(f->svc));
    identity_refused(f, "server-service-id", extra);
    use_cred(f, NULL, "service_id: 0123456789abcdef0123456789abcdef\n");
    identity_refused(f, "server-service-id", "pins service_id 0123456789abcdef0123456789abcdef");
}

static void test_init_and_unseal(void **state)
{
    struct fx *f = *state;
    struct aecs_raw_reply reply;
    char **shares = NULL, data[64];
    json_t *ans;

    use_good_cred(f);
    assert_int_equal(identity(f), AECS_OK);
    assert_int_equal(init(f, &shares, &reply), AECS_OK);
    assert_int_equal(reply.status, 200);
    for (size_t i = 0; i < 3; i++) {
        char prefix[24];
        assert_int_equal(strncmp(shares[i], "aecs-share-v1:", 14), 0);
        snprintf(prefix, sizeof(prefix), ":2:%zu:", i + 1);
        assert_non_null(strstr(shares[i] + 14 + 8, prefix));
        /* the share's data (its 5th field) is nowhere in the answer's bytes */
        snprintf(data, sizeof(data), "%.44s", strrchr(shares[i], ':') - 44);
        assert_null(memmem(reply.body, reply.body_size, data, strlen(data)));
    }
    aecs_raw_reply_clear(&reply);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);

    /* a restart: sealed, a new identity key; the shares unseal it, sealed on the way */
    open_service(f, 1);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    use_good_cred(f);
    assert_int_equal(identity(f), AECS_OK);
    for (size_t i = 0; i < 2; i++) {
        snprintf(data, sizeof(data), "%.44s", strrchr(shares[i * 2], ':') - 44);
        f->secret = data;
        memset(&reply, 0, sizeof(reply));
        assert_int_equal(aecs_admin_unseal(&f->a, aecs_service_id(f->svc), shares[i * 2], &reply),
                         AECS_OK);
        ans = json_loadb(reply.body, reply.body_size, 0, NULL);
        assert_int_equal(json_integer_value(json_object_get(ans, "received")), i + 1);
        json_decref(ans);
        aecs_raw_reply_clear(&reply);
        assert_int_equal(f->seen, 0);
        if (i == 0)
            assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    }
    f->secret = NULL;
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
    aecs_shares_free(shares, 3);
}

/* The share's answer to unseal: its "received", and the reply cleared. */
static long long received_of(struct aecs_raw_reply *reply)
{
    json_t *ans = json_loadb(reply->body, reply->body_size, 0, NULL);
    long long n;

    assert_non_null(ans);
    n = json_integer_value(json_object_get(ans, "received"));
    json_decref(ans);
    aecs_raw_reply_clear(reply);
    return n;
}

/*
 * A reset: the proving share travels sealed like an unseal's and is not
 * counted; a working service refuses a reset with 409 conflict.
 */
static void test_unseal_reset(void **state)
{
    struct fx *f = *state;
    struct aecs_raw_reply reply;
    char **shares = NULL, data[64];
    const char *sid;

    use_good_cred(f);
    assert_int_equal(identity(f), AECS_OK);
    assert_int_equal(init(f, &shares, &reply), AECS_OK);
    aecs_raw_reply_clear(&reply);
    open_service(f, 1);
    use_good_cred(f);
    assert_int_equal(identity(f), AECS_OK);
    sid = aecs_service_id(f->svc);
    assert_int_equal(aecs_admin_unseal(&f->a, sid, shares[0], &reply), AECS_OK);
    assert_int_equal(received_of(&reply), 1);

    snprintf(data, sizeof(data), "%.44s", strrchr(shares[1], ':') - 44);
    f->secret = data;
    assert_int_equal(aecs_admin_unseal_reset(&f->a, sid, shares[1], &reply), AECS_OK);
    assert_int_equal(reply.status, 200);
    assert_int_equal(received_of(&reply), 0);
    assert_int_equal(f->seen, 0);
    f->secret = NULL;
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);

    assert_int_equal(aecs_admin_unseal(&f->a, sid, shares[1], &reply), AECS_OK);
    assert_int_equal(received_of(&reply), 1);
    assert_int_equal(aecs_admin_unseal(&f->a, sid, shares[2], &reply), AECS_OK);
    aecs_raw_reply_clear(&reply);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);

    assert_int_not_equal(aecs_admin_unseal_reset(&f->a, sid, shares[0], &reply), AECS_OK);
    assert_int_equal(reply.status, 409);
    assert_string_equal(reply.code, "conflict");
    assert_non_null(strstr(MSG(), "the service is working: there is no unseal progress to reset; "
                                  "send the reset to a sealed replica"));
    aecs_raw_reply_clear(&reply);
    /* no identity checked: nothing is sent */
    aecs_admin_clear(&f->a);
    assert_int_equal(aecs_admin_unseal_reset(&f->a, sid, shares[0], &reply),
                     AECS_E_INVALID_ARGUMENT);
    assert_non_null(strstr(MSG(), "unseal: no identity key checked"));
    aecs_shares_free(shares, 3);
}

/* An unseal sealed for the key of the previous start is refused by the service. */
static void test_unseal_stale_identity(void **state)
{
    struct fx *f = *state;
    struct aecs_raw_reply reply;
    char **shares = NULL;

    use_good_cred(f);
    assert_int_equal(identity(f), AECS_OK);
    assert_int_equal(init(f, &shares, &reply), AECS_OK);
    aecs_raw_reply_clear(&reply);
    open_service(f, 1); /* the admin still holds the old identity key */
    assert_int_not_equal(aecs_admin_unseal(&f->a, aecs_service_id(f->svc), shares[0], &reply),
                         AECS_OK);
    assert_int_equal(reply.status, 400);
    assert_string_equal(reply.code, "bad_share");
    assert_non_null(strstr(MSG(), "does not open with this aecsd's identity key"));
    aecs_raw_reply_clear(&reply);
    aecs_shares_free(shares, 3);
}

/* An init answer changed on the way: refused, no share returned; the service is initialized. */
static void init_tampered(void **state, enum tamper how, int want, const char *needle, long status)
{
    struct fx *f = *state;
    struct aecs_raw_reply reply;
    char **shares = NULL;

    use_good_cred(f);
    assert_int_equal(identity(f), AECS_OK);
    f->tamper = how;
    assert_int_equal(init(f, &shares, &reply), want);
    assert_null(shares);
    assert_int_equal(reply.status, status);
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' lacks '%s'", MSG(), needle);
    aecs_raw_reply_clear(&reply);
}

static void test_init_signature_changed(void **state)
{
    init_tampered(state, T_SIGNATURE, AECS_E_BAD_SIGNATURE,
                  "the init answer's signature does not verify with the server's identity key",
                  200);
}

static void test_init_body_changed(void **state)
{
    init_tampered(state, T_BODY, AECS_E_BAD_SIGNATURE,
                  "the init answer's signature does not verify", 200);
}

static void test_init_signature_dropped(void **state)
{
    init_tampered(state, T_NO_SIGNATURE, AECS_E_BAD_SIGNATURE,
                  "the init answer has no X-Aecs-Answer-Signature header", 200);
}

/* An answer another init produced (another service, the same admin): its nonce is not ours. */
static void test_init_old_answer(void **state)
{
    struct fx *f = *state;
    struct aecs_raw_reply reply;
    char **shares = NULL;

    use_good_cred(f);
    assert_int_equal(identity(f), AECS_OK);
    assert_int_equal(init(f, &shares, &reply), AECS_OK);
    aecs_shares_free(shares, 3);
    f->old_body = malloc(reply.body_size + 1);
    assert_non_null(f->old_body);
    memcpy(f->old_body, reply.body, reply.body_size + 1);
    f->old_size = reply.body_size;
    snprintf(f->old_sig, sizeof(f->old_sig), "%s", reply.header);
    aecs_raw_reply_clear(&reply);
    /* another service (another store, another identity key), initialized by the same admin */
    aecs_service_free(f->svc);
    f->svc = NULL;
    snprintf(f->spec, sizeof(f->spec), "sqlite:%s/store2.db", f->dir);
    snprintf(f->data, sizeof(f->data), "%s/data2", f->dir);
    open_service(f, 1);
    use_good_cred(f);
    init_tampered(state, T_OLD_ANSWER, AECS_E_BAD_SIGNATURE,
                  "the init answer's signature does not verify", 200);
}

/* The request changed on the way: the service refuses it, nothing is initialized. */
static void test_init_request_changed(void **state)
{
    struct fx *f = *state;

    init_tampered(state, T_REQUEST, AECS_E_UNTRUSTED, "signature does not verify", 401);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_UNINITIALIZED);
}

/*
 * The request replaced by another admin's that keeps this admin's share key
 * and nonce: the shares are sealed to this admin and the signature holds, but
 * the answer names the other admin key, so the admin refuses it (and learns
 * the service is someone else's).
 */
static void test_init_other_admin(void **state)
{
    init_tampered(state, T_OTHER_ADMIN, AECS_E_FORMAT, "names admin key", 200);
}

/* A service without identity evidence: only the INSECURE path goes on. */
static void test_no_evidence(void **state)
{
    struct fx *f = *state;
    struct aecs_raw_reply reply;
    char **shares = NULL;

    open_service(f, 0);
    use_good_cred(f);
    memset(&reply, 0, sizeof(reply));
    assert_int_equal(aecs_admin_identity(&f->a, &reply), AECS_E_IO);
    assert_string_equal(f->a.check, "identity");
    assert_string_equal(reply.code, "no_identity");
    aecs_raw_reply_clear(&reply);

    use_cred(f, NULL, NULL);
    assert_int_equal(identity(f), AECS_OK);
    assert_int_equal(f->a.checked, 0);
    assert_memory_equal(f->a.identity_pub, f->svc->identity_pub, 65);
    assert_int_equal(init(f, &shares, &reply), AECS_OK);
    aecs_raw_reply_clear(&reply);
    aecs_shares_free(shares, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_service_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_and_unseal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unseal_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unseal_stale_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_signature_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_body_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_signature_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_old_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_request_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_other_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_evidence, setup, teardown),
    };

    aecs_log_set_level(AECS_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
