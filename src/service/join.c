/*
 * join.c - POST /v1/cluster/join: a new or restarted replica gets the root
 * key from a working one by attestation (docs/protocol-release.md section 5).
 *
 * The joiner asks for a challenge (POST /v1/challenge, on any replica: with
 * etcd the nonce is shared), makes a fresh P-256 key pair inside its TEE and
 * evidence whose report data is the release binding of the nonce and its
 * public key, and posts {"evidence", "pubkey", "nonce"}. This replica
 * consumes the nonce, verifies the evidence with its verifier, checks the
 * binding, and matches the claims against the join policy: the measurements
 * of this replica's own identity evidence (verified with the same verifier),
 * so only the same code on the same kind of TEE joins. The root key then
 * leaves src/crypto only inside an envelope sealed to the joiner's key
 * (crypto/kek.h), bound to the nonce and the service id; the answer is signed
 * by the identity key with the label aecs-join-answer-v1 over the nonce, the
 * joiner's key and the body. Every decision on evidence that verifies,
 * refusals included, is audited with the claims; refusals before that (a bad
 * nonce, evidence that does not verify) go to the process log only, since
 * anyone can send them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/verifier.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "crypto/kek.h"
#include "policy/claims.h"
#include "policy/policy.h"
#include "proto/release.h"
#include "service/challenge.h"
#include "service/internal.h"

/* Audits a join decision; a failure to audit fails the join. */
static int audit_join(struct aecs_service *svc, const struct aecs_request *req, const char *result,
                      const char *detail, const json_t *claims)
{
    struct svc_audit_event ev = {0};
    json_t *data = NULL;
    int rc;

    if (claims != NULL) {
        data = json_pack("{s:O}", "claims", claims);
        ENSURE(data != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    ev.remote = req->remote;
    ev.action = "cluster.join";
    ev.result = result;
    ev.detail = detail;
    ev.data = data;
    rc = svc_audit_append(svc, &ev);
    json_decref(data);
    if (rc != AECS_OK)
        log_error("audit: could not record a join decision: %s", aecs_err_last()->message);
    return rc;
}

/*
 * The join policy the cluster admin set at init (aecs admin init
 * --join-policy), matched on the joiner's claims like a secret's policy:
 * *found 0 when there is none; AECS_E_UNTRUSTED with why filled when it
 * refuses the claims.
 */
static int stored_join_policy(struct aecs_service *svc, const struct aecs_claims *claims,
                              char *why, size_t why_size, int *found)
{
    struct svc_index ix = {0};
    json_t *rec = NULL;
    const char *yaml;
    struct aecs_policy_rules rules;
    struct aecs_policy_error perr;
    int rc;

    *found = 0;
    memset(&rules, 0, sizeof(rules));
    GUARD(svc_index_load(svc, &ix));
    rc = svc_record_read(svc, &ix, SVC_JOIN_POLICY, SVC_T_JOIN_POLICY, &rec);
    svc_index_clear(&ix);
    if (rc == AECS_E_NOT_FOUND) {
        aecs_err_clear();
        return AECS_OK;
    }
    GUARD(rc);
    *found = 1;
    yaml = json_string_value(json_object_get(rec, "yaml"));
    rc = yaml != NULL ? aecs_policy_rules_parse(yaml, strlen(yaml), "join-policy",
                                                SVC_JOIN_POLICY_KEY, 0, &rules, &perr)
                      : AECS_ERR(AECS_E_FORMAT, "the stored join policy is malformed");
    json_decref(rec);
    GUARD(rc);
    if (aecs_policy_match(&rules, claims, why, why_size) != AECS_OK) {
        aecs_policy_rules_clear(&rules);
        return AECS_ERR(AECS_E_UNTRUSTED, "the cluster's join policy refuses this replica: %.300s",
                        why);
    }
    aecs_policy_rules_clear(&rules);
    return AECS_OK;
}

/*
 * The default join policy: the joiner runs what this replica runs. Same TEE,
 * same simulator-or-hardware, same debug attribute, and the same identity
 * measurements (SGX MRENCLAVE and MRSIGNER, ISVPRODID; TDX MRTD and RTMRs;
 * SNP MEASUREMENT). Returns the first difference, NULL when there is none.
 */
const char *svc_identity_diff(const struct aecs_claims *own, const struct aecs_claims *c)
{
    if (own->platform != c->platform)
        return "another kind of TEE";
    if (own->sim != c->sim)
        return c->sim ? "simulated evidence (this replica runs on hardware)"
                      : "hardware evidence (this replica runs on the simulator)";
    if (own->debug != c->debug)
        return "another debug attribute";
    if (c->platform == AECS_TEE_SGX && memcmp(own->mrenclave, c->mrenclave, 32) != 0)
        return "another MRENCLAVE";
    if (c->platform == AECS_TEE_SGX && memcmp(own->mrsigner, c->mrsigner, 32) != 0)
        return "another MRSIGNER";
    if (c->platform == AECS_TEE_SGX && own->isvprodid != c->isvprodid)
        return "another ISVPRODID";
    if (c->platform == AECS_TEE_TDX &&
        (memcmp(own->mrtd, c->mrtd, 48) != 0 || memcmp(own->rtmr, c->rtmr, sizeof(c->rtmr))))
        return "another MRTD or RTMR";
    if (c->platform == AECS_TEE_SNP && memcmp(own->measurement, c->measurement, 48) != 0)
        return "another MEASUREMENT";
    if (c->platform != AECS_TEE_SGX && c->platform != AECS_TEE_TDX && c->platform != AECS_TEE_SNP)
        return "a TEE the join policy does not know";
    return NULL;
}

int svc_same_identity(const struct aecs_claims *own, const struct aecs_claims *c, char *why,
                      size_t why_size)
{
    const char *diff = svc_identity_diff(own, c);

    if (diff == NULL)
        return AECS_OK;
    snprintf(why, why_size, "the joiner's evidence does not match the join policy (this "
             "replica's own identity): %s", diff);
    return AECS_E_UNTRUSTED;
}

int aecs_service_join(struct aecs_service *svc, const struct aecs_request *req,
                      struct aecs_answer *out, enum aecs_api_code *api)
{
    int rc = AECS_OK;
    struct aecs_release_request *rq = NULL;
    struct aecs_p256_pub *joiner = NULL;
    struct aecs_claims claims, own;
    struct aecs_verify_failure why;
    struct aecs_envelope env;
    struct aecs_envelope_binding b;
    json_t *summary = NULL;
    char reason[512];
    int has_policy = 0;

    memset(out, 0, sizeof(*out));
    memset(&env, 0, sizeof(env));
    memset(&claims, 0, sizeof(claims));
    memset(&own, 0, sizeof(own));
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    if (svc->verifier == NULL || svc->challenges == NULL) {
        *api = API_NOT_CONFIGURED;
        BAIL_OUT(AECS_E_USAGE, "this replica does not admit joiners (no verifier configured)");
    }
    if (svc->identity_evidence == NULL) {
        *api = API_NO_IDENTITY;
        BAIL_OUT(AECS_E_USAGE, "this replica has no identity evidence, so no join policy "
                               "(started without an attester)");
    }
    rc = aecs_join_request_parse((const char *)req->body, req->body_size, &rq);
    if (rc != AECS_OK) {
        *api = rc == AECS_E_TOO_LARGE ? API_TOO_LARGE : API_BAD_REQUEST;
        goto out;
    }
    GUARD_OUT(svc_consume_and_verify(svc, req, "join", rq->nonce, rq->evidence,
                                     rq->evidence_size, &claims, api));
    GUARD_OUT(aecs_p256_pub_import(rq->pubkey, sizeof(rq->pubkey), &joiner));
    summary = svc_claims_summary(&claims);
    if (aecs_release_binding_check(claims.report_data, rq->nonce, rq->pubkey) != AECS_OK) {
        *api = API_BINDING_MISMATCH;
        rc = AECS_ERR(AECS_E_MISMATCH, "the joiner's report data is not the release binding of "
                                       "this request's nonce and public key");
        (void)audit_join(svc, req, "refused", aecs_err_last()->message, summary);
        goto out;
    }
    /* The join policy set at init, when there is one. */
    rc = stored_join_policy(svc, &claims, reason, sizeof(reason), &has_policy);
    if (rc != AECS_OK && rc != AECS_E_UNTRUSTED)
        goto out;
    if (has_policy && rc == AECS_E_UNTRUSTED) {
        *api = API_FORBIDDEN;
        log_warn("join: refused a joiner from %.64s: %s", req->remote != NULL ? req->remote : "?",
                 reason);
        (void)audit_join(svc, req, "refused", reason, summary);
        goto out;
    }
    if (has_policy)
        goto allowed;
    /* Else: this replica's own identity, verified as any evidence is. */
    rc = aecs_verifier_verify(svc->verifier, svc->identity_evidence, svc->identity_evidence_size,
                              AECS_VERIFIER_NOW, &own, &why);
    if (rc != AECS_OK) {
        *api = API_INTERNAL;
        rc = AECS_ERR(rc, "join: this replica's own identity evidence does not verify with its "
                          "verifier (stage %s): %.300s",
                      why.stage != NULL ? why.stage : "?", why.message);
        goto out;
    }
    if (svc_same_identity(&own, &claims, reason, sizeof(reason)) != AECS_OK) {
        *api = API_FORBIDDEN;
        rc = AECS_ERR(AECS_E_UNTRUSTED, "%s", reason);
        log_warn("join: refused a joiner from %.64s: %s", req->remote != NULL ? req->remote : "?",
                 reason);
        (void)audit_join(svc, req, "refused", reason, summary);
        goto out;
    }
allowed:
    b.nonce = rq->nonce;
    b.service = svc->id;
    b.name = AECS_JOIN_ENVELOPE_NAME;
    b.type = AECS_JOIN_ENVELOPE_TYPE;
    GUARD_OUT(aecs_kek_envelope_seal(svc->kek, joiner, &b, &env));
    GUARD_OUT(audit_join(svc, req, "ok", "root key sent to a joining replica", summary));
    GUARD_OUT(aecs_join_answer_serialize(svc->id, &env, &out->body, &out->size));
    GUARD_OUT(aecs_answer_sign(svc->identity, AECS_ANSWER_JOIN, rq->nonce, rq->pubkey, out->body,
                               out->size, out->signature));
    log_info("join: sent the root key to a replica at %.64s", req->remote != NULL ? req->remote
                                                                                : "?");
out:
    if (rc != AECS_OK)
        aecs_answer_clear(out);
    aecs_envelope_clear(&env);
    json_decref(summary);
    aecs_p256_pub_free(joiner);
    aecs_release_request_free(rq);
    aecs_cleanse(&claims, sizeof(claims));
    aecs_cleanse(&own, sizeof(own));
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}
