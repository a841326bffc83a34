/*
 * join_client.c - a sealed replica joins the cluster: it gets the root key
 * from a working replica by attestation (docs/protocol-release.md section 5,
 * the joiner's side; join.c is the answering side). See join_client.h for the
 * order of the checks. The key is only ever handled as a struct aecs_kek (it
 * leaves src/crypto inside the envelope only), and no message names any of
 * its bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/attester.h"
#include "attest/verifier.h"
#include "base/codec.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "crypto/kek.h"
#include "policy/claims.h"
#include "proto/release.h"
#include "service/internal.h"
#include "service/join_client.h"

void aecs_join_reply_clear(struct aecs_join_reply *r)
{
    if (r == NULL)
        return;
    if (r->body != NULL) {
        aecs_cleanse(r->body, r->body_size);
        free(r->body);
    }
    memset(r, 0, sizeof(*r));
}

/* One request; a status other than 200 is an error naming the step and the server's code. */
static int join_send(const struct aecs_join_transport *t, const char *url, const char *step,
                const char *method, const char *target, const char *body, size_t body_size,
                struct aecs_join_reply *reply)
{
    int rc;

    memset(reply, 0, sizeof(*reply));
    aecs_err_clear();
    rc = t->request(t->ctx, url, method, target, body, body_size, reply);
    if (rc != AECS_OK) {
        aecs_join_reply_clear(reply);
        return AECS_ERR(AECS_E_IO, "%s: no answer: %.300s", step,
                        aecs_err_last()->message);
    }
    if (reply->status == 200)
        return AECS_OK;
    {
        /* the error body of docs/api.md: {"error": {"code", "message"}}; shown cut short */
        json_t *j = reply->body != NULL ? json_loadb(reply->body, reply->body_size, 0, NULL)
                                        : NULL;
        json_t *e = json_object_get(j, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        long status = reply->status;

        rc = AECS_ERR(status >= 500 ? AECS_E_IO : AECS_E_UNTRUSTED,
                      "%s: refused with HTTP %ld (%.40s): %.300s", step, status,
                      code != NULL ? code : "?", msg != NULL ? msg : "");
        json_decref(j);
        aecs_join_reply_clear(reply);
        return rc;
    }
}

/* The single answer signature, or NULL with the error recorded. */
static const char *one_signature(const struct aecs_join_reply *r, const char *step)
{
    if (r->signature_count == 1 && r->signature[0] != '\0')
        return r->signature;
    (void)AECS_ERR(AECS_E_BAD_SIGNATURE, "%s: the answer has %s " AECS_HDR_ANSWER_SIGNATURE " header",
             step, r->signature_count == 0 ? "no" : r->signature_count > 1 ? "more than one"
                                                                          : "an empty");
    return NULL;
}

/*
 * Step 1: the peer's identity, checked in full, with this replica's own
 * identity claims (own) as the policy. *out gets the checked identity key.
 */
static int check_peer_identity(struct aecs_service *svc, const struct aecs_join_transport *t,
                               const char *url, const struct aecs_claims *own,
                               struct aecs_p256_pub **out)
{
    int rc = AECS_OK;
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    char hex[AECS_RELEASE_NONCE_HEX + 1], target[32 + AECS_RELEASE_NONCE_HEX], why_s[320];
    struct aecs_join_reply reply;
    struct aecs_identity_answer *ans = NULL;
    struct aecs_p256_pub *pub = NULL;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    const char *sig;

    memset(&reply, 0, sizeof(reply));
    memset(&claims, 0, sizeof(claims));
    GUARD(aecs_random_bytes(nonce, sizeof(nonce)));
    aecs_hex_encode(nonce, sizeof(nonce), hex);
    snprintf(target, sizeof(target), "/v1/identity?nonce=%s", hex);
    GUARD_OUT(join_send(t, url, "identity", "GET", target, NULL, 0, &reply));
    rc = aecs_identity_answer_parse(reply.body, reply.body_size, &ans);
    if (rc != AECS_OK) {
        aecs_err_prefix("identity answer: ");
        goto out;
    }
    rc = aecs_p256_pub_import(ans->pubkey, sizeof(ans->pubkey), &pub);
    if (rc != AECS_OK) {
        aecs_err_prefix("identity answer: pubkey: ");
        goto out;
    }
    sig = one_signature(&reply, "identity");
    if (sig == NULL) {
        rc = AECS_E_BAD_SIGNATURE;
        goto out;
    }
    if (aecs_answer_verify(pub, AECS_ANSWER_IDENTITY, nonce, NULL, reply.body, reply.body_size,
                           sig, strlen(sig)) != AECS_OK)
        BAIL_OUT(AECS_E_BAD_SIGNATURE, "identity: the answer's signature does not verify with "
                                       "the key it names, over this replica's nonce");
    rc = aecs_verifier_verify(svc->verifier, ans->evidence, ans->evidence_size,
                              AECS_VERIFIER_NOW, &claims, &why);
    if (rc != AECS_OK)
        BAIL_OUT(AECS_E_UNTRUSTED, "identity: the peer's evidence does not verify with this "
                                   "replica's verifier (stage %s, %s): %.300s",
                 why.stage != NULL ? why.stage : "?", why.code_name != NULL ? why.code_name : "?",
                 why.message);
    if (aecs_identity_binding_check(claims.report_data, ans->pubkey) != AECS_OK)
        BAIL_OUT(AECS_E_UNTRUSTED, "identity: the peer's evidence is not bound to its identity "
                                   "key");
    if (svc_same_identity(own, &claims, why_s, sizeof(why_s)) != AECS_OK)
        BAIL_OUT(AECS_E_UNTRUSTED, "identity: the peer is not the enclave this replica is: %s",
                 why_s);
    *out = pub;
    pub = NULL;
out:
    aecs_cleanse(&claims, sizeof(claims));
    aecs_p256_pub_free(pub);
    aecs_identity_answer_free(ans);
    aecs_join_reply_clear(&reply);
    return rc;
}

int aecs_service_join_peer(struct aecs_service *svc,
                           const struct aecs_attester_config *attester_cfg,
                           const struct aecs_join_transport *t, const char *url)
{
    int rc = AECS_OK;
    struct aecs_claims own;
    struct aecs_verify_failure why;
    struct aecs_p256_pub *peer = NULL;
    struct aecs_p256_key *key = NULL;
    struct aecs_attester *att = NULL;
    struct aecs_release_request req;
    struct aecs_join_reply reply;
    struct aecs_envelope env;
    struct aecs_envelope_binding b;
    struct aecs_kek *kek = NULL;
    enum aecs_evidence_kind kind;
    uint8_t report_data[AECS_RELEASE_REPORT_DATA_SIZE];
    int64_t expires = 0;
    char *body = NULL, id[33];
    size_t body_size = 0;
    const char *sig;

    memset(&own, 0, sizeof(own));
    memset(&req, 0, sizeof(req));
    memset(&reply, 0, sizeof(reply));
    memset(&env, 0, sizeof(env));
    if (aecs_service_state(svc) == AECS_STATE_WORKING)
        return AECS_OK;
    ENSURE(aecs_service_state(svc) == AECS_STATE_SEALED, AECS_E_USAGE,
           "join: the store is not initialized: there is no cluster to join yet");
    ENSURE(svc->verifier != NULL && svc->identity_evidence != NULL &&
               svc->identity_attester != NULL,
           AECS_E_USAGE, "join: this replica has no verifier or no identity evidence (started "
                         "without an attester), so it cannot attest itself");
    /* Our own identity: the policy the peer must match, and that the peer applies to us. */
    rc = aecs_verifier_verify(svc->verifier, svc->identity_evidence, svc->identity_evidence_size,
                              AECS_VERIFIER_NOW, &own, &why);
    if (rc != AECS_OK)
        BAIL_OUT(AECS_E_UNTRUSTED, "join: this replica's own identity evidence does not verify "
                                   "with its verifier (stage %s): %.300s",
                 why.stage != NULL ? why.stage : "?", why.message);
    GUARD_OUT(check_peer_identity(svc, t, url, &own, &peer));

    /* Step 2: a challenge. */
    GUARD_OUT(join_send(t, url, "challenge", "POST", "/v1/challenge", "{}", 2, &reply));
    rc = aecs_challenge_answer_parse(reply.body, reply.body_size, req.nonce, &expires);
    aecs_join_reply_clear(&reply);
    if (rc != AECS_OK) {
        aecs_err_prefix("challenge answer: ");
        goto out;
    }

    /* Step 3: an ephemeral key pair and evidence over the release binding. */
    GUARD_OUT(aecs_p256_key_generate(&key));
    aecs_p256_key_public(key, req.pubkey);
    aecs_release_binding(req.nonce, req.pubkey, report_data);
    rc = aecs_attester_open(svc->identity_attester, attester_cfg, &att);
    if (rc == AECS_OK)
        rc = aecs_attester_evidence(att, report_data, &req.evidence, &req.evidence_size, &kind);
    if (rc != AECS_OK) {
        aecs_err_prefix("attester %s: ", svc->identity_attester);
        goto out;
    }
    GUARD_OUT(aecs_join_request_serialize(&req, &body, &body_size));

    /* Step 4: the join; the signature before anything of the answer is read. */
    GUARD_OUT(join_send(t, url, "join", "POST", "/v1/cluster/join", body, body_size, &reply));
    sig = one_signature(&reply, "join");
    if (sig == NULL) {
        rc = AECS_E_BAD_SIGNATURE;
        goto out;
    }
    if (aecs_answer_verify(peer, AECS_ANSWER_JOIN, req.nonce, req.pubkey, reply.body,
                           reply.body_size, sig, strlen(sig)) != AECS_OK)
        BAIL_OUT(AECS_E_BAD_SIGNATURE, "join: the answer's signature does not verify with the "
                                       "peer's checked identity key over this request");
    rc = aecs_join_answer_parse(reply.body, reply.body_size, id, &env);
    if (rc != AECS_OK) {
        aecs_err_prefix("join answer: ");
        goto out;
    }
    ENSURE_OUT(strcmp(id, svc->id) == 0, AECS_E_MISMATCH,
               "join: the peer serves another store (service id %s, this replica's is %s)", id,
               svc->id);
    b.nonce = req.nonce;
    b.service = svc->id;
    b.name = AECS_JOIN_ENVELOPE_NAME;
    b.type = AECS_JOIN_ENVELOPE_TYPE;
    rc = aecs_kek_envelope_open(key, &b, &env, &kek);
    if (rc != AECS_OK) {
        aecs_err_prefix("join: the root key's envelope does not open: ");
        goto out;
    }
    /* Step 5: the check value, then working (takes the key over). */
    rc = aecs_service_join_apply(svc, kek, url);
    kek = NULL;
out:
    aecs_kek_free(kek);
    aecs_envelope_clear(&env);
    aecs_join_reply_clear(&reply);
    if (body != NULL) {
        aecs_cleanse(body, body_size);
        free(body);
    }
    free(req.evidence);
    aecs_attester_free(att);
    aecs_p256_key_free(key); /* wipes the private half */
    aecs_p256_pub_free(peer);
    aecs_cleanse(&own, sizeof(own));
    return rc;
}

/* One round: each peer in turn until one gives the key; stop (may be NULL) ends it early. */
static int join_round(struct aecs_service *svc, const struct aecs_attester_config *attester_cfg,
                      const struct aecs_join_transport *t, const char *const *urls,
                      size_t count, const int *stop)
{
    enum aecs_service_state st = aecs_service_state(svc);

    if (count == 0)
        return AECS_OK;
    if (st == AECS_STATE_WORKING) {
        log_info("join: already working (unsealed at start): no join needed");
        return AECS_OK;
    }
    if (st != AECS_STATE_SEALED) {
        log_warn("join: the store is not initialized: nothing to join (init through one "
                 "replica, then restart the others)");
        return AECS_ERR(AECS_E_USAGE, "join: the store is not initialized");
    }
    for (size_t i = 0; i < count; i++) {
        if (stop != NULL && __atomic_load_n(stop, __ATOMIC_SEQ_CST))
            return AECS_ERR(AECS_E_IO, "join: stopped");
        log_info("join: asking %.200s for the root key", urls[i]);
        if (aecs_service_join_peer(svc, attester_cfg, t, urls[i]) == AECS_OK) {
            log_info("join: joined the cluster through %.200s; the service is working", urls[i]);
            return AECS_OK;
        }
        log_warn("join: %.200s: %s", urls[i], aecs_err_last()->message);
    }
    log_warn("join: no peer gave the root key; staying sealed (unseal shares still work)");
    return AECS_ERR(AECS_E_IO, "join: no peer of %zu gave the root key", count);
}

int aecs_service_join_peers(struct aecs_service *svc,
                            const struct aecs_attester_config *attester_cfg,
                            const struct aecs_join_transport *t, const char *const *urls,
                            size_t count)
{
    return join_round(svc, attester_cfg, t, urls, count, NULL);
}

/* Sleeps ms, in steps, returning early (1) when *stop is set or the replica became working. */
static int pause_unless_done(struct aecs_service *svc, const int *stop, unsigned ms)
{
    for (unsigned waited = 0; waited < ms; waited += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        if (__atomic_load_n(stop, __ATOMIC_SEQ_CST) ||
            aecs_service_state(svc) == AECS_STATE_WORKING)
            return 1;
        nanosleep(&ts, NULL);
    }
    return 0;
}

int aecs_service_join_keep_trying(struct aecs_service *svc,
                                  const struct aecs_attester_config *attester_cfg,
                                  const struct aecs_join_transport *t, const char *const *urls,
                                  size_t count, const int *stop, unsigned first_ms,
                                  unsigned max_ms)
{
    unsigned pause = first_ms;

    ENSURE(count > 0, AECS_E_USAGE, "join: no peer to ask");
    for (unsigned round = 1;; round++) {
        enum aecs_service_state st = aecs_service_state(svc);

        if (st != AECS_STATE_SEALED) /* working; or uninitialized, which a restart fixes */
            return join_round(svc, attester_cfg, t, urls, count, stop);
        if (join_round(svc, attester_cfg, t, urls, count, stop) == AECS_OK)
            return AECS_OK;
        if (!__atomic_load_n(stop, __ATOMIC_SEQ_CST))
            log_info("join: round %u got no root key; the next in %u ms", round, pause);
        if (pause_unless_done(svc, stop, pause)) {
            if (aecs_service_state(svc) == AECS_STATE_WORKING)
                return AECS_OK;
            return AECS_ERR(AECS_E_IO, "join: stopped after %u rounds without the root key",
                            round);
        }
        pause = pause * 2 < max_ms ? pause * 2 : max_ms;
    }
}
