/*
 * admin_direct.c - see admin_direct.h. Requests are routed by method and
 * path to the service calls the HTTP layer makes for them; answers come back
 * as the HTTP layer would send them: a signed answer's exact bytes and its
 * signature header, a JSON answer written compactly, an error as
 * {"error": {"code", "message"}} with the status of docs/api.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "admin_direct.h"
#include "base/codec.h"
#include "keystore/shares.h"
#include "proto/reqsig.h"
#include "testutil.h"

/* Fills the four X-Aecs-* headers of r for body, as conn.c signs. */
struct sig_headers {
    char key_id[AECS_SIGKEY_ID_HEX + 1];
    char timestamp[32];
    char nonce[AECS_REQSIG_NONCE_HEX + 1];
    char signature[128];
};

static void sign(struct tu_admin *d, struct aecs_request *r, struct sig_headers *h)
{
    struct aecs_reqsig_fields f;
    char *canonical = NULL;
    size_t canonical_size = 0, sig_size = 0;
    uint8_t raw[16], sig[AECS_SIGKEY_SIG_MAX];
    int64_t now = (int64_t)time(NULL);

    assert_non_null(d->key);
    assert_int_equal(aecs_sigkey_id(d->key, h->key_id), AECS_OK);
    assert_int_equal(getrandom(raw, sizeof(raw), 0), (ssize_t)sizeof(raw));
    tu_hex_encode(raw, sizeof(raw), h->nonce);
    snprintf(h->timestamp, sizeof(h->timestamp), "%lld", (long long)now);
    f = (struct aecs_reqsig_fields){
        .method = r->method,
        .target = r->target,
        .service_id = aecs_service_id(d->svc),
        .body = r->body,
        .body_size = r->body_size,
        .timestamp = now,
        .nonce = h->nonce,
        .key_id = h->key_id,
    };
    assert_int_equal(aecs_reqsig_canonical(&f, &canonical, &canonical_size), AECS_OK);
    assert_int_equal(aecs_sigkey_sign(d->key, canonical, canonical_size, sig, &sig_size), AECS_OK);
    free(canonical);
    aecs_base64_encode(sig, sig_size, h->signature);
    r->key_id = h->key_id;
    r->timestamp = h->timestamp;
    r->nonce = h->nonce;
    r->signature = h->signature;
}

/* reply's body: a copy of size bytes of text. */
static void set_body(struct aecs_raw_reply *reply, const char *text, size_t size)
{
    reply->body = malloc(size + 1);
    assert_non_null(reply->body);
    memcpy(reply->body, text, size);
    reply->body[size] = '\0';
    reply->body_size = size;
    reply->body_alloc = size + 1;
}

static int request(void *ctx, const char *method, const char *target, const char *body,
                   size_t body_size, unsigned flags, const char *header,
                   struct aecs_raw_reply *reply)
{
    struct tu_admin *d = ctx;
    struct aecs_request r;
    struct sig_headers h;
    struct aecs_answer raw;
    json_t *ans = NULL;
    enum aecs_api_code api = API_OK;
    char *copy = NULL;
    int rc;

    memset(reply, 0, sizeof(*reply));
    memset(&r, 0, sizeof(r));
    memset(&raw, 0, sizeof(raw));
    if (d->requests < 16)
        snprintf(d->targets[d->requests], sizeof(d->targets[0]), "%s %s", method, target);
    d->requests++;
    if (body_size > 0) {
        copy = malloc(body_size + 1);
        assert_non_null(copy);
        memcpy(copy, body, body_size);
        copy[body_size] = '\0';
    }
    r.method = method;
    r.target = target;
    r.body = (const uint8_t *)copy;
    r.body_size = body_size;
    r.remote = d->remote != NULL ? d->remote : "127.0.0.1";
    if (flags & AECS_REQ_SIGNED)
        sign(d, &r, &h);
    if (copy != NULL && d->on_request != NULL) {
        /* After the signature, as on the wire; a hook that swaps d->key signs anew. */
        const struct aecs_sigkey *signer = d->key;
        d->on_request(d->arg, target, copy, body_size);
        if ((flags & AECS_REQ_SIGNED) && d->key != signer)
            sign(d, &r, &h);
    }
    aecs_err_clear();
    if (strcmp(method, "GET") == 0 && strncmp(target, "/v1/identity?nonce=", 19) == 0)
        rc = aecs_service_identity(d->svc, target + 19, &raw, &api);
    else if (strcmp(method, "GET") == 0 && strcmp(target, "/v1/status") == 0)
        rc = aecs_service_status(d->svc, &ans);
    else if (strcmp(method, "POST") == 0 && strcmp(target, "/v1/admin/init") == 0)
        rc = aecs_service_init(d->svc, &r, &raw, &api);
    else if (strcmp(method, "POST") == 0 && strcmp(target, "/v1/admin/unseal") == 0)
        rc = aecs_service_unseal(d->svc, &r, &ans, &api);
    else
        rc = (api = API_NOT_FOUND, AECS_ERR(AECS_E_NOT_FOUND, "no such route: %.100s", target));
    if (rc == AECS_OK && raw.body != NULL) {
        reply->status = 200;
        set_body(reply, raw.body, raw.size);
        if (header != NULL && raw.signature[0] != '\0') {
            snprintf(reply->header, sizeof(reply->header), "%s", raw.signature);
            reply->header_count = 1;
        }
    } else if (rc == AECS_OK) {
        char *text = json_dumps(ans, JSON_COMPACT);
        assert_non_null(text);
        reply->status = 200;
        set_body(reply, text, strlen(text));
        free(text);
    } else {
        char message[sizeof(aecs_err_last()->message)];
        long status;
        if (api == API_OK)
            api = aecs_api_code_from_err(rc);
        status = aecs_api_code_status(api);
        snprintf(message, sizeof(message), "%s", aecs_err_last()->message);
        json_t *err = json_pack("{s:{s:s, s:s}}", "error", "code", aecs_api_code_name(api),
                                "message", message);
        char *text = json_dumps(err, JSON_COMPACT);
        json_decref(err);
        reply->status = status;
        snprintf(reply->code, sizeof(reply->code), "%s", aecs_api_code_name(api));
        set_body(reply, text, strlen(text));
        free(text);
        /* the codes conn.c gives for these statuses */
        rc = status == 401 || status == 403 ? AECS_E_UNTRUSTED
             : status == 404                ? AECS_E_NOT_FOUND
             : status == 413                ? AECS_E_TOO_LARGE
             : status < 500                 ? AECS_E_INVALID_ARGUMENT
                                            : AECS_E_IO;
        (void)AECS_ERR(rc, "%s", message);
    }
    if (d->on_answer != NULL)
        d->on_answer(d->arg, target, reply);
    json_decref(ans);
    aecs_answer_clear(&raw);
    if (copy != NULL) {
        memset(copy, 0, body_size);
        free(copy);
    }
    return rc;
}

void tu_admin_transport(struct tu_admin *d, struct aecs_admin_transport *t)
{
    t->ctx = d;
    t->request = request;
}

/* An admin view of d's service whose identity is taken unchecked. */
static void admin_open(struct tu_admin *d, struct aecs_admin *a)
{
    struct aecs_raw_reply reply;

    memset(a, 0, sizeof(*a));
    memset(&reply, 0, sizeof(reply));
    tu_admin_transport(d, &a->t);
    a->url = "https://direct.test";
    a->source = "direct.yaml";
    if (aecs_admin_identity(a, &reply) != AECS_OK)
        fail_msg("identity: %s", aecs_err_last()->message);
    aecs_raw_reply_clear(&reply);
}

/* The API code named in reply (API_OK when none). */
static enum aecs_api_code reply_api(const struct aecs_raw_reply *reply)
{
    for (int i = API_OK + 1; i <= API_INTERNAL; i++) {
        if (strcmp(aecs_api_code_name((enum aecs_api_code)i), reply->code) == 0)
            return (enum aecs_api_code)i;
    }
    return API_OK;
}

int tu_admin_try_init(struct tu_admin *d, unsigned n, unsigned k, const char *join_policy,
                      char ***shares, enum aecs_api_code *api)
{
    struct aecs_admin a;
    struct aecs_admin_init_params p;
    struct aecs_raw_reply reply;
    char key_id[AECS_SIGKEY_ID_HEX + 1], id[AECS_SERVICE_ID_HEX + 1];
    char *pem = NULL;
    int rc;

    memset(&reply, 0, sizeof(reply));
    *api = API_OK;
    admin_open(d, &a);
    assert_int_equal(aecs_sigkey_id(d->key, key_id), AECS_OK);
    assert_int_equal(aecs_sigkey_public_pem(d->key, &pem), AECS_OK);
    memset(&p, 0, sizeof(p));
    p.pubkey_pem = pem;
    p.key_id = key_id;
    p.shares = n;
    p.threshold = k;
    p.join_policy = join_policy;
    p.join_policy_size = join_policy != NULL ? strlen(join_policy) : 0;
    rc = aecs_admin_init(&a, &p, &reply, shares, id);
    if (rc != AECS_OK)
        *api = reply_api(&reply);
    else /* the id the answer names, the shares are bound to, and the service now has */
        assert_string_equal(id, aecs_service_id(d->svc));
    aecs_raw_reply_clear(&reply);
    aecs_admin_clear(&a);
    free(pem);
    return rc;
}

void tu_admin_init(struct tu_admin *d, unsigned n, unsigned k, const char *join_policy,
                   char ***shares)
{
    enum aecs_api_code api = API_OK;

    if (tu_admin_try_init(d, n, k, join_policy, shares, &api) != AECS_OK)
        fail_msg("init: %s (%s)", aecs_err_last()->message, aecs_api_code_name(api));
}

/* An unseal (reset 0) or a reset (1) proven by share, through admin.h. */
static int unseal_call(struct tu_admin *d, int reset, const char *share, enum aecs_api_code *api,
                       json_t **answer)
{
    struct aecs_admin a;
    struct aecs_raw_reply reply;
    int rc;

    memset(&reply, 0, sizeof(reply));
    *api = API_OK;
    if (answer != NULL)
        *answer = NULL;
    admin_open(d, &a);
    rc = reset ? aecs_admin_unseal_reset(&a, aecs_service_id(d->svc), share, &reply)
               : aecs_admin_unseal(&a, aecs_service_id(d->svc), share, &reply);
    if (rc != AECS_OK) {
        *api = reply_api(&reply);
    } else if (answer != NULL) {
        *answer = json_loadb(reply.body, reply.body_size, 0, NULL);
        assert_non_null(*answer);
    }
    aecs_raw_reply_clear(&reply);
    aecs_admin_clear(&a);
    return rc;
}

int tu_admin_unseal(struct tu_admin *d, const char *share, enum aecs_api_code *api, json_t **answer)
{
    return unseal_call(d, 0, share, api, answer);
}

int tu_admin_unseal_reset(struct tu_admin *d, const char *share, enum aecs_api_code *api,
                          json_t **answer)
{
    return unseal_call(d, 1, share, api, answer);
}
