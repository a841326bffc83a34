/*
 * admin.c - init and unseal sealed to the service identity, the admin's side;
 * see admin.h and docs/protocol-release.md section 7.
 *
 * Order in init: the fresh key pair and nonce, the signed request, then on
 * the answer: one signature header, the signature (over the raw body, before
 * any parsing), the body's shape, its service id, admin key id, threshold
 * and count, and each envelope opened and parsed as share i. Share texts
 * exist only in envelope plaintexts (secure heap) and in the secure copies
 * handed to the caller; the key pair is freed, which wipes it, on every path.
 */
#include "client/admin.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/log.h"
#include "client/identity.h"
#include "crypto/crypto.h"
#include "crypto/secmem.h"
#include "keystore/shares.h"
#include "proto/release.h"

int aecs_admin_conn_request(void *ctx, const char *method, const char *target, const char *body,
                            size_t body_size, unsigned flags, const char *header,
                            struct aecs_raw_reply *reply)
{
    return aecs_conn_request_raw(ctx, method, target, body, body_size, flags, header, reply);
}

void aecs_admin_clear(struct aecs_admin *a)
{
    if (a == NULL)
        return;
    aecs_p256_pub_free(a->identity);
    a->identity = NULL;
    memset(a->identity_pub, 0, sizeof(a->identity_pub));
    a->checked = 0;
    a->check = NULL;
}

static int send_request(struct aecs_admin *a, const char *method, const char *target,
                        const char *body, size_t body_size, unsigned flags, const char *header,
                        struct aecs_raw_reply *reply)
{
    aecs_raw_reply_clear(reply);
    aecs_err_clear();
    return a->t.request(a->t.ctx, method, target, body, body_size, flags, header, reply);
}

/*
 * INSECURE, for a server without identity evidence: the identity key that
 * GET /v1/status names. Nothing vouches for it; it is only what the shares
 * are sealed to, so that no share crosses TLS in clear.
 */
static int status_identity(struct aecs_admin *a, struct aecs_raw_reply *reply)
{
    int rc = AECS_OK;
    json_t *st = NULL;
    const char *hex;

    GUARD(send_request(a, "GET", "/v1/status", NULL, 0, 0, NULL, reply));
    st = json_loadb(reply->body != NULL ? reply->body : "", reply->body_size,
                    JSON_REJECT_DUPLICATES, NULL);
    hex = json_string_value(json_object_get(json_object_get(st, "identity"), "pubkey"));
    ENSURE_OUT(hex != NULL, AECS_E_FORMAT, "%.200s: GET /v1/status names no identity key", a->url);
    rc = aecs_release_pubkey_parse(hex, strlen(hex), a->identity_pub);
    if (rc != AECS_OK) {
        aecs_err_prefix("%.200s: GET /v1/status: identity: ", a->url);
        goto out;
    }
    GUARD_OUT(aecs_p256_pub_import(a->identity_pub, sizeof(a->identity_pub), &a->identity));
out:
    json_decref(st);
    return rc;
}

int aecs_admin_identity(struct aecs_admin *a, struct aecs_raw_reply *reply)
{
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    char target[AECS_IDENTITY_TARGET_MAX];
    struct aecs_identity_check chk = {
        .url = a->url,
        .source = a->source,
        .verifier = a->verifier,
        .rules = a->rules,
        .service_id = a->service_id,
        .accept_insecure = a->accept_insecure,
    };
    struct aecs_identity_result res;
    int rc;

    aecs_admin_clear(a);
    GUARD(aecs_identity_request(nonce, target));
    rc = send_request(a, "GET", target, NULL, 0, 0, AECS_HDR_ANSWER_SIGNATURE, reply);
    if (rc != AECS_OK && a->verifier == NULL && reply->status == 503 &&
        strcmp(reply->code, "no_identity") == 0)
        return status_identity(a, reply);
    if (rc != AECS_OK) {
        a->check = "identity";
        return rc;
    }
    rc = aecs_identity_answer_check(&chk, nonce, reply, &res);
    if (rc != AECS_OK) {
        a->check = res.check != NULL ? res.check : "identity";
        return rc;
    }
    a->identity = res.pub;
    memcpy(a->identity_pub, res.pubkey, sizeof(a->identity_pub));
    a->checked = res.checked;
    return AECS_OK;
}

/* POST /v1/admin/unseal of kind (a share or a reset) with share sealed to the identity key. */
static int unseal_request(struct aecs_admin *a, enum aecs_unseal_request_kind kind,
                          const char *service_id, const char *share, struct aecs_raw_reply *reply)
{
    int rc = AECS_OK;
    struct aecs_admin_share_binding b;
    struct aecs_unseal_request ur;
    char *body = NULL;
    size_t body_size = 0;

    memset(&ur, 0, sizeof(ur));
    ur.kind = kind;
    ENSURE(a->identity != NULL, AECS_E_INVALID_ARGUMENT, "unseal: no identity key checked");
    ENSURE(share != NULL && strlen(share) >= 1 && strlen(share) <= AECS_ADMIN_SHARE_PLAIN_MAX,
           AECS_E_INVALID_ARGUMENT, "unseal: no share");
    GUARD(aecs_admin_share_binding(service_id, &b));
    GUARD(aecs_envelope_seal(a->identity, &b.b, (const uint8_t *)share, strlen(share), &ur.share));
    GUARD_OUT(aecs_unseal_request_serialize(&ur, &body, &body_size));
    rc = send_request(a, "POST", "/v1/admin/unseal", body, body_size, 0, NULL, reply);
out:
    aecs_envelope_clear(&ur.share);
    free(body); /* the share is in it sealed only */
    return rc;
}

int aecs_admin_unseal(struct aecs_admin *a, const char *service_id, const char *share,
                      struct aecs_raw_reply *reply)
{
    return unseal_request(a, AECS_UNSEAL_REQUEST_SEALED, service_id, share, reply);
}

int aecs_admin_unseal_reset(struct aecs_admin *a, const char *service_id, const char *share,
                            struct aecs_raw_reply *reply)
{
    return unseal_request(a, AECS_UNSEAL_REQUEST_RESET, service_id, share, reply);
}

/* The init request's JSON in a fresh string (*out) the caller frees. */
static int init_body(const struct aecs_admin_init_params *p, const uint8_t share_key[65],
                     const uint8_t nonce[32], char **out, size_t *size)
{
    char key_hex[2 * AECS_P256_PUB_SIZE + 1], nonce_hex[AECS_RELEASE_NONCE_HEX + 1];
    json_t *body;

    *out = NULL;
    *size = 0;
    aecs_hex_encode(share_key, AECS_P256_PUB_SIZE, key_hex);
    aecs_hex_encode(nonce, AECS_RELEASE_NONCE_SIZE, nonce_hex);
    body = json_pack("{s:s, s:i, s:i, s:s, s:s}", "pubkey", p->pubkey_pem, "shares",
                     (json_int_t)p->shares, "threshold", (json_int_t)p->threshold, "share_key",
                     key_hex, "nonce", nonce_hex);
    if (body != NULL && p->join_policy != NULL &&
        json_object_set_new(body, "join_policy",
                            json_stringn(p->join_policy, p->join_policy_size)) != 0) {
        json_decref(body);
        body = NULL;
    }
    ENSURE(body != NULL, AECS_E_INVALID_ARGUMENT,
           "init: the request cannot be written (is the join policy UTF-8 text?)");
    *out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ENSURE(*out != NULL, AECS_E_NO_MEMORY, "out of memory");
    *size = strlen(*out);
    return AECS_OK;
}

/* Opens share i (0-based) of ans into a secure copy (*out), and checks it is share i + 1. */
static int open_share(const struct aecs_admin *a, const struct aecs_p256_key *key,
                      const struct aecs_admin_init_params *p, const uint8_t nonce[32],
                      const struct aecs_init_answer *ans, size_t i, char **out)
{
    int rc = AECS_OK;
    struct aecs_admin_share_binding b;
    struct aecs_share sh;
    uint8_t *plain = NULL;
    size_t size = 0;
    char *copy = NULL;

    *out = NULL;
    memset(&sh, 0, sizeof(sh));
    GUARD(aecs_init_share_binding(ans->id, (unsigned)(i + 1), nonce, &b));
    rc = aecs_envelope_open(key, &b.b, &ans->shares[i], &plain, &size);
    if (rc != AECS_OK) {
        aecs_err_prefix("%.200s: init answer: share %zu: ", a->url, i + 1);
        return rc;
    }
    ENSURE_OUT(size < AECS_SHARE_TEXT_MAX && strlen((const char *)plain) == size, AECS_E_FORMAT,
               "%.200s: init answer: share %zu is not a share's text", a->url, i + 1);
    rc = aecs_share_parse((const char *)plain, (unsigned)(i + 1), &sh);
    if (rc != AECS_OK) {
        aecs_err_prefix("%.200s: init answer: ", a->url);
        goto out;
    }
    ENSURE_OUT(sh.index == i + 1 && sh.threshold == p->threshold, AECS_E_FORMAT,
               "%.200s: init answer: share %zu is share %u of a split of threshold %u", a->url,
               i + 1, sh.index, sh.threshold);
    copy = aecs_secure_alloc(AECS_SHARE_TEXT_MAX);
    ENSURE_OUT(copy != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(copy, plain, size + 1);
    *out = copy;
out:
    aecs_cleanse(&sh, sizeof(sh));
    aecs_envelope_plain_free(plain, size);
    return rc;
}

/* Checks a 2xx init answer and opens its shares into shares[0..n-1]. */
static int open_answer(const struct aecs_admin *a, const struct aecs_p256_key *key,
                       const uint8_t share_key[65], const uint8_t nonce[32],
                       const struct aecs_admin_init_params *p, const struct aecs_raw_reply *reply,
                       char **shares, char service_id[AECS_SERVICE_ID_HEX + 1])
{
    int rc = AECS_OK;
    struct aecs_init_answer *ans = NULL;
    struct aecs_share first, sh;

    ENSURE(reply->header_count == 1 && reply->header[0] != '\0', AECS_E_BAD_SIGNATURE,
           "%.200s: the init answer has %s " AECS_HDR_ANSWER_SIGNATURE " header", a->url,
           reply->header_count == 0  ? "no"
           : reply->header_count > 1 ? "more than one"
                                     : "an unusable");
    /* The signature first: nothing of the answer is read before it verifies. */
    if (aecs_answer_verify(a->identity, AECS_ANSWER_INIT, nonce, share_key, reply->body,
                           reply->body_size, reply->header, strlen(reply->header)) != AECS_OK)
        return AECS_ERR(AECS_E_BAD_SIGNATURE,
                        "%.200s: the init answer's signature does not verify with the server's "
                        "identity key over this request's nonce and key",
                        a->url);
    rc = aecs_init_answer_parse(reply->body, reply->body_size, &ans);
    if (rc != AECS_OK) {
        aecs_err_prefix("%.200s: ", a->url);
        return rc;
    }
    ENSURE_OUT(strcmp(ans->admin, p->key_id) == 0, AECS_E_FORMAT,
               "%.200s: the init answer names admin key %.16s..., not this one (%.16s...)", a->url,
               ans->admin, p->key_id);
    ENSURE_OUT(ans->count == p->shares && ans->threshold == p->threshold, AECS_E_FORMAT,
               "%.200s: the init answer has %zu shares of threshold %u, not %u of %u", a->url,
               ans->count, ans->threshold, p->shares, p->threshold);
    for (size_t i = 0; i < ans->count; i++)
        GUARD_OUT(open_share(a, key, p, nonce, ans, i, &shares[i]));
    /* One split: every share has the first one's set id (each was parsed already). */
    memset(&first, 0, sizeof(first));
    memset(&sh, 0, sizeof(sh));
    for (size_t i = 0; rc == AECS_OK && i < ans->count; i++) {
        rc = aecs_share_parse(shares[i], (unsigned)(i + 1), i == 0 ? &first : &sh);
        if (rc == AECS_OK && i > 0 && strcmp(sh.set, first.set) != 0)
            rc = AECS_ERR(AECS_E_FORMAT, "%.200s: init answer: share %zu is of another split",
                          a->url, i + 1);
    }
    aecs_cleanse(&first, sizeof(first));
    aecs_cleanse(&sh, sizeof(sh));
    if (rc == AECS_OK)
        memcpy(service_id, ans->id, AECS_SERVICE_ID_HEX + 1);
out:
    aecs_init_answer_free(ans);
    return rc;
}

int aecs_admin_init(struct aecs_admin *a, const struct aecs_admin_init_params *p,
                    struct aecs_raw_reply *reply, char ***shares,
                    char service_id[AECS_SERVICE_ID_HEX + 1])
{
    int rc = AECS_OK;
    struct aecs_p256_key *key = NULL;
    uint8_t share_key[AECS_P256_PUB_SIZE], nonce[AECS_RELEASE_NONCE_SIZE];
    char *body = NULL, **out = NULL;
    size_t body_size = 0;

    *shares = NULL;
    service_id[0] = '\0';
    ENSURE(a->identity != NULL, AECS_E_INVALID_ARGUMENT, "init: no identity key checked");
    ENSURE(p->shares >= AECS_SHARES_MIN_THRESHOLD && p->shares <= AECS_SHARES_MAX &&
               p->threshold >= AECS_SHARES_MIN_THRESHOLD && p->threshold <= p->shares,
           AECS_E_INVALID_ARGUMENT, "init: need 2 <= threshold <= shares <= 16");
    GUARD(aecs_p256_key_generate(&key));
    aecs_p256_key_public(key, share_key);
    GUARD_OUT(aecs_random_bytes(nonce, sizeof(nonce)));
    GUARD_OUT(init_body(p, share_key, nonce, &body, &body_size));
    GUARD_OUT(send_request(a, "POST", "/v1/admin/init", body, body_size, AECS_REQ_SIGNED,
                           AECS_HDR_ANSWER_SIGNATURE, reply));
    out = calloc(p->shares, sizeof(*out));
    ENSURE_OUT(out != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(open_answer(a, key, share_key, nonce, p, reply, out, service_id));
    *shares = out;
    out = NULL;
out:
    aecs_shares_free(out, p->shares);
    aecs_p256_key_free(key); /* wipes the scalar: the sealed shares cannot be opened again */
    free(body);
    return rc;
}
