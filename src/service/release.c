/*
 * release.c - the attested release (docs/protocol-release.md): challenges,
 * the release itself, the service identity, and signed public parts.
 *
 * A release: the request is parsed, its nonce consumed (single use, whatever
 * happens next), the evidence verified into claims (src/attest/verifier.c:
 * cached collateral, no lock held while verifying), the report data checked
 * against the nonce and the caller's public key, and then each requested
 * secret's policy evaluated on the claims. Allowed secrets are sealed to the
 * caller's key in envelopes; refused ones say why. The decision, with the
 * claims that led to it, is appended to the audit log before the answer
 * leaves, and the answer is signed by the identity key over the caller's
 * nonce and public key. Nothing here takes the process's write lock except
 * the audit append.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attester.h"
#include "attest/verifier.h"
#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "keystore/secret.h"
#include "policy/policy.h"
#include "proto/json_wipe.h"
#include "proto/release.h"
#include "service/challenge.h"
#include "service/internal.h"

void aecs_answer_clear(struct aecs_answer *a)
{
    if (a->body != NULL) {
        aecs_cleanse(a->body, a->size);
        free(a->body);
    }
    memset(a, 0, sizeof(*a));
}

int aecs_service_release_setup(struct aecs_service *svc, const struct aecs_release_config *cfg)
{
    int rc = AECS_OK;
    struct aecs_attester *att = NULL;
    uint8_t report_data[AECS_RELEASE_REPORT_DATA_SIZE];
    enum aecs_evidence_kind kind = AECS_EVIDENCE_UNKNOWN;

    if (cfg->insecure_trust_sim)
        svc->insecure_trust_sim = 1;
    if (cfg->insecure_intel_root)
        svc->insecure_intel_root = 1;
    /* A second call (to go on without an attester) keeps what the first one made. */
    if (cfg->verifier != NULL) {
        aecs_verifier_free(svc->verifier);
        svc->verifier = cfg->verifier;
    }
    if (svc->identity == NULL) {
        GUARD(aecs_p256_key_generate(&svc->identity));
        aecs_p256_key_public(svc->identity, svc->identity_pub);
    }
    if (svc->challenges == NULL) {
        svc->challenge_ttl_ms =
            cfg->challenge_ttl_ms != 0 ? cfg->challenge_ttl_ms : AECS_CHALLENGE_DEFAULT_TTL_MS;
        GUARD(aecs_challenge_table_new(AECS_CHALLENGE_DEFAULT_CAPACITY, svc->challenge_ttl_ms,
                                       NULL, &svc->challenges));
    }
    if (svc->ratelimit == NULL) {
        unsigned burst = cfg->rate_burst != 0 ? cfg->rate_burst : AECS_RATELIMIT_DEFAULT_BURST;
        unsigned per_second =
            cfg->rate_per_second != 0 ? cfg->rate_per_second : AECS_RATELIMIT_DEFAULT_PER_SECOND;
        /* with nonces in the store (etcd: several replicas), the buckets are there too */
        if (svc->shared_nonces)
            GUARD(aecs_ratelimit_new_shared(svc->store, burst, per_second,
                                            AECS_RATELIMIT_DEFAULT_ADDRESSES, cfg->rate_clock,
                                            &svc->ratelimit));
        else
            GUARD(aecs_ratelimit_new(burst, per_second, AECS_RATELIMIT_DEFAULT_ADDRESSES,
                                     cfg->rate_clock, &svc->ratelimit));
    }
    if (cfg->attester == NULL || strcmp(cfg->attester, "none") == 0) {
        log_warn("identity: no attester: clients cannot check this service's identity, and "
                 "those that require it (every client by default) refuse it");
        return AECS_OK;
    }
    aecs_identity_binding(svc->identity_pub, report_data);
    GUARD_OUT(aecs_attester_open(cfg->attester, cfg->attester_cfg, &att));
    GUARD_OUT(aecs_attester_evidence(att, report_data, &svc->identity_evidence,
                                     &svc->identity_evidence_size, &kind));
    svc->identity_attester = strdup(aecs_attester_name(att));
    ENSURE_OUT(svc->identity_attester != NULL, AECS_E_NO_MEMORY, "out of memory");
    log_info("identity: key made, evidence from the %s attester (%s, %zu bytes)",
             svc->identity_attester, aecs_evidence_kind_name(kind), svc->identity_evidence_size);
out:
    aecs_attester_free(att);
    if (rc != AECS_OK)
        aecs_err_prefix("identity evidence: ");
    return rc;
}

int aecs_service_rate_check(struct aecs_service *svc, const char *remote, enum aecs_api_code *api)
{
    int allowed = 0;
    int rc;

    if (svc->ratelimit == NULL)
        return AECS_OK;
    rc = remote != NULL ? aecs_ratelimit_take(svc->ratelimit, remote, &allowed)
                        : AECS_E_INVALID_ARGUMENT;
    if (rc == AECS_E_INVALID_ARGUMENT)
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                      "the client address is not an IP address");
    if (rc == AECS_E_IO) {
        /* shared buckets: without the store nothing is counted, so nothing is allowed */
        log_error("rate limit of %.64s: %s", remote, aecs_err_last()->message);
        return REFUSE(api, API_BUSY, AECS_E_IO,
                      "the store is unavailable (etcd without a leader, or unreachable), so the "
                      "rate limit cannot be checked: retry later (the server's log has the "
                      "details)");
    }
    if (rc == AECS_E_MISMATCH)
        /* every write lost to other replicas' takes (logged): contention, not this client's rate */
        return REFUSE(api, API_BUSY, AECS_E_MISMATCH,
                      "the rate limit of %.64s could not be counted: other replicas took from "
                      "the same bucket at the same time, %u times in a row: retry in a moment",
                      remote, AECS_RATELIMIT_STORE_TRIES);
    if (rc != AECS_OK) {
        *api = API_INTERNAL; /* other store failures (junk from etcd...): not the caller's */
        return rc;
    }
    if (!allowed)
        return REFUSE(api, API_RATE_LIMITED, AECS_E_TOO_LARGE,
                      "too many requests from %.64s: slow down", remote);
    return AECS_OK;
}

static int require_release_setup(struct aecs_service *svc, enum aecs_api_code *api)
{
    if (svc->identity == NULL || svc->challenges == NULL)
        return REFUSE(api, API_NOT_CONFIGURED, AECS_E_USAGE,
                      "this server does not release secrets (no verifier configured)");
    return AECS_OK;
}

/* ---- challenge ---- */

int aecs_service_challenge(struct aecs_service *svc, const struct aecs_request *req,
                           struct aecs_answer *out, enum aecs_api_code *api)
{
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    uint64_t expires_ms = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    GUARD(require_release_setup(svc, api));
    if (svc->verifier == NULL)
        return REFUSE(api, API_NOT_CONFIGURED, AECS_E_USAGE,
                      "this server does not release secrets (no verifier configured)");
    pthread_rwlock_rdlock(&svc->state_lock);
    rc = svc_require_working(svc, api);
    pthread_rwlock_unlock(&svc->state_lock);
    GUARD(rc);
    if (aecs_challenge_request_check((const char *)req->body, req->body_size) != AECS_OK)
        return REFUSE(api, API_BAD_REQUEST, AECS_E_FORMAT,
                      "the body of a challenge request is empty or {}");
    if (svc->shared_nonces) {
        GUARD(aecs_random_bytes(nonce, sizeof(nonce)));
        rc = svc_nonce_issue(svc, nonce,
                             aecs_time_now() + (int64_t)(AECS_CHALLENGE_DEFAULT_TTL_MS / 1000));
    } else {
        rc = aecs_challenge_issue(svc->challenges, nonce, &expires_ms);
    }
    if (rc == AECS_E_NO_MEMORY)
        return REFUSE(api, API_BUSY, rc, "too many open challenges: retry in a minute");
    GUARD(rc);
    /* expires_ms is on the table's monotonic clock; the answer says when in wall time. */
    return aecs_challenge_answer_serialize(nonce,
                                           aecs_time_now() + (int64_t)(svc->challenge_ttl_ms / 1000),
                                           &out->body, &out->size);
}

/* ---- release ---- */

static void hex_member(json_t *o, const char *key, const uint8_t *data, size_t size)
{
    char hex[2 * 64 + 1];

    aecs_hex_encode(data, size, hex);
    json_object_set_new(o, key, json_string(hex));
}

/* What the audit log keeps of the claims a decision was made on. */
json_t *svc_claims_summary(const struct aecs_claims *c)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "platform", json_string(aecs_tee_name(c->platform)));
    json_object_set_new(o, "sim", json_boolean(c->sim));
    json_object_set_new(o, "debug", json_boolean(c->debug));
    if (c->tcb_status[0] != '\0')
        json_object_set_new(o, "tcb_status", json_string(c->tcb_status));
    if (c->advisory_count > 0) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < c->advisory_count; i++)
            json_array_append_new(a, json_string(c->advisories[i]));
        json_object_set_new(o, "advisories", a);
    }
    switch (c->platform) {
    case AECS_TEE_SGX:
        hex_member(o, "mrenclave", c->mrenclave, sizeof(c->mrenclave));
        hex_member(o, "mrsigner", c->mrsigner, sizeof(c->mrsigner));
        json_object_set_new(o, "isvprodid", json_integer(c->isvprodid));
        json_object_set_new(o, "isvsvn", json_integer(c->isvsvn));
        break;
    case AECS_TEE_TDX:
        hex_member(o, "mrtd", c->mrtd, sizeof(c->mrtd));
        for (int i = 0; i < 4; i++) {
            char key[8];
            snprintf(key, sizeof(key), "rtmr%d", i);
            hex_member(o, key, c->rtmr[i], sizeof(c->rtmr[i]));
        }
        break;
    case AECS_TEE_SNP:
        hex_member(o, "measurement", c->measurement, sizeof(c->measurement));
        hex_member(o, "host_data", c->host_data, sizeof(c->host_data));
        break;
    default:
        break;
    }
    return o;
}

static void set_refusal(struct aecs_release_result *r, const char *code, const char *reason)
{
    r->sealed = 0;
    snprintf(r->code, sizeof(r->code), "%s", code);
    /* printable ASCII only (the protocol's rule for reasons) */
    size_t n = 0;
    for (const char *p = reason; *p != '\0' && n + 1 < sizeof(r->reason); p++)
        r->reason[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    r->reason[n] = '\0';
}

/*
 * Decides one secret: looks it up, matches its policy on the claims, and
 * seals it to the client's key. Only resource and store failures are errors;
 * every refusal is a result.
 */
static int decide_one(struct aecs_service *svc, const struct svc_index *ix,
                      const struct aecs_release_request *rq, const struct aecs_p256_pub *client,
                      const struct aecs_claims *claims, struct aecs_release_result *r)
{
    int rc = AECS_OK;
    char path[256], why[768];
    json_t *rec = NULL;
    struct aecs_secret_spec *spec = NULL;
    struct aecs_policy_error perr;
    const char *b64, *ctype;
    uint8_t *plain = NULL;
    size_t plain_cap = 0, plain_size = 0;
    struct aecs_envelope_binding b;

    snprintf(path, sizeof(path), SVC_SECRETS "%s/%s", r->service, r->name);
    rc = svc_record_read(svc, ix, path, SVC_T_SECRET, &rec);
    if (rc == AECS_E_NOT_FOUND) {
        aecs_err_clear();
        set_refusal(r, "not_found", "no such secret");
        return AECS_OK;
    }
    GUARD(rc);
    /* The admin opted in at creation for rules without identity; honour what is stored. */
    rc = aecs_policy_spec_from_json(json_object_get(rec, "spec"),
                                    AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE, &spec, &perr);
    if (rc != AECS_OK) {
        log_error("release: the stored policy of %s does not load: %s", path,
                  aecs_err_last()->message);
        set_refusal(r, "internal", "the secret's stored policy does not load");
        rc = AECS_OK;
        goto out;
    }
    if (aecs_policy_match(&spec->rules, claims, why, sizeof(why)) != AECS_OK) {
        aecs_err_clear();
        set_refusal(r, "forbidden", why);
        goto out;
    }
    b64 = json_string_value(json_object_get(rec, "private"));
    ctype = json_string_value(json_object_get(rec, "content_type"));
    ENSURE_OUT(b64 != NULL && ctype != NULL, AECS_E_FORMAT, "%s: malformed secret record", path);
    plain_cap = strlen(b64) / 4 * 3 + 3;
    plain = malloc(plain_cap);
    ENSURE_OUT(plain != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(aecs_base64_decode(b64, strlen(b64), plain, plain_cap, &plain_size));
    b.nonce = rq->nonce;
    b.service = r->service;
    b.name = r->name;
    b.type = aecs_secret_type_name(spec->type);
    GUARD_OUT(aecs_envelope_seal(client, &b, plain, plain_size, &r->envelope));
    r->sealed = 1;
    snprintf(r->type, sizeof(r->type), "%s", b.type);
    snprintf(r->content_type, sizeof(r->content_type), "%s", ctype);
out:
    if (plain != NULL) {
        aecs_cleanse(plain, plain_cap);
        free(plain);
    }
    aecs_json_wipe(json_object_get(rec, "private")); /* NULL is fine */
    json_decref(rec);
    aecs_policy_spec_free(spec);
    return rc;
}

/* Audits a release decision; failure to audit fails the release (nothing leaves unrecorded). */
static int audit_release(struct aecs_service *svc, const struct aecs_request *req,
                         const char *result, const char *detail, const json_t *claims,
                         const struct aecs_release_answer *answer, size_t count,
                         const struct aecs_release_request *rq, int announced)
{
    json_t *data = json_object(), *decisions = json_array();
    char target[2 * AECS_RELEASE_NAME_MAX + 8] = "";
    struct svc_audit_event ev = {0};
    int rc;

    if (data == NULL || decisions == NULL) {
        json_decref(data);
        json_decref(decisions);
        if (announced)
            svc_audit_withdraw(svc);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    if (claims != NULL)
        json_object_set(data, "claims", (json_t *)claims);
    for (size_t i = 0; rq != NULL && i < count; i++) {
        const struct aecs_release_result *r = answer != NULL ? &answer->results[i] : NULL;
        json_t *d = json_pack("{s:s, s:s}", "secret", rq->secrets[i].service, "name",
                              rq->secrets[i].name);
        if (d == NULL)
            continue;
        if (r != NULL) {
            json_object_set_new(d, "result", json_string(r->sealed ? "released" : "refused"));
            if (!r->sealed) {
                json_object_set_new(d, "code", json_string(r->code));
                json_object_set_new(d, "reason", json_string(r->reason));
            }
        }
        json_array_append_new(decisions, d);
    }
    json_object_set_new(data, "decisions", decisions);
    if (rq != NULL && rq->count > 0)
        snprintf(target, sizeof(target), "%s/%s%s", rq->secrets[0].service, rq->secrets[0].name,
                 rq->count > 1 ? ",..." : "");
    ev.remote = req->remote;
    ev.action = "release";
    ev.target = target[0] != '\0' ? target : NULL;
    ev.result = result;
    ev.detail = detail;
    ev.data = data;
    rc = announced ? svc_audit_append_announced(svc, &ev) : svc_audit_append(svc, &ev);
    json_decref(data);
    if (rc != AECS_OK)
        log_error("audit: could not record a release decision: %s", aecs_err_last()->message);
    return rc;
}

/*
 * The first two steps of a release or a join (docs/protocol-release.md): the
 * nonce is consumed (single use, whatever happens next), then the evidence is
 * verified into claims. Refusals set *api and are logged, not audited: anyone
 * can send them, and evidence that does not verify names no enclave.
 */
int svc_consume_and_verify(struct aecs_service *svc, const struct aecs_request *req,
                           const char *what, const uint8_t nonce[32], const uint8_t *evidence,
                           size_t evidence_size, struct aecs_claims *claims,
                           enum aecs_api_code *api)
{
    struct aecs_verify_failure why;
    int rc = svc->shared_nonces ? svc_nonce_consume(svc, nonce)
                                : aecs_challenge_consume(svc->challenges, nonce);

    if (rc != AECS_OK && rc != AECS_E_EXPIRED && rc != AECS_E_NOT_FOUND) {
        *api = API_INTERNAL;
        return rc;
    }
    if (rc != AECS_OK) {
        *api = rc == AECS_E_EXPIRED ? API_EXPIRED_NONCE : API_INVALID_NONCE;
        rc = AECS_ERR(rc, rc == AECS_E_EXPIRED
                              ? "the challenge expired: ask for a new one (POST /v1/challenge) "
                                "and attest again"
                              : "the nonce was not issued by this server, or was already used: "
                                "ask for a new challenge");
        log_info("%s refused to %.64s: %s", what, req->remote != NULL ? req->remote : "?",
                 aecs_err_last()->message);
        return rc;
    }
    rc = aecs_verifier_verify(svc->verifier, evidence, evidence_size, AECS_VERIFIER_NOW, claims,
                              &why);
    if (rc != AECS_OK) {
        *api = rc == AECS_E_NO_MEMORY || rc == AECS_E_INTERNAL ? API_INTERNAL
                                                                : API_ATTESTATION_FAILED;
        rc = AECS_ERR(rc, "the evidence does not verify (stage %s, %s): %.400s",
                      why.stage != NULL ? why.stage : "?",
                      why.code_name != NULL ? why.code_name : "?", why.message);
        log_info("%s refused to %.64s: %s", what, req->remote != NULL ? req->remote : "?",
                 aecs_err_last()->message);
        return rc;
    }
    return AECS_OK;
}

int aecs_service_release(struct aecs_service *svc, const struct aecs_request *req,
                         struct aecs_answer *out, enum aecs_api_code *api)
{
    int rc = AECS_OK;
    struct aecs_release_request *rq = NULL;
    struct aecs_release_answer *answer = NULL;
    struct aecs_p256_pub *client = NULL;
    struct aecs_claims claims;
    struct svc_index ix = {0};
    json_t *summary = NULL;
    size_t released = 0;
    char detail[128];
    int announced = 0; /* an audit entry is announced (svc_audit_announce) and not yet made */

    memset(out, 0, sizeof(*out));
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    GUARD_OUT(require_release_setup(svc, api));
    if (svc->verifier == NULL) {
        *api = API_NOT_CONFIGURED;
        BAIL_OUT(AECS_E_USAGE, "this server does not release secrets (no verifier configured)");
    }
    rc = aecs_release_request_parse((const char *)req->body, req->body_size, &rq);
    if (rc != AECS_OK) {
        *api = rc == AECS_E_TOO_LARGE ? API_TOO_LARGE : API_BAD_REQUEST;
        goto out;
    }
    GUARD_OUT(svc_consume_and_verify(svc, req, "release", rq->nonce, rq->evidence,
                                     rq->evidence_size, &claims, api));
    /* Verified evidence: this release ends in an audit entry, whatever is decided. */
    svc_audit_announce(svc);
    announced = 1;
    if (rq->pub != NULL) { /* imported by the parser */
        client = rq->pub;
        rq->pub = NULL;
    } else {
        GUARD_OUT(aecs_p256_pub_import(rq->pubkey, sizeof(rq->pubkey), &client));
    }
    summary = svc_claims_summary(&claims);
    if (aecs_release_binding_check(claims.report_data, rq->nonce, rq->pubkey) != AECS_OK) {
        *api = API_BINDING_MISMATCH;
        rc = AECS_ERR(AECS_E_MISMATCH,
                      "the evidence's report data is not SHA-512(\"aecs-release-v1\" 0x00 || "
                      "nonce || public key) of this request: evidence made for another "
                      "challenge or key");
        announced = 0;
        (void)audit_release(svc, req, "refused", aecs_err_last()->message, summary, NULL, 0, rq,
                            1);
        goto out;
    }
    answer = aecs_release_answer_new();
    ENSURE_OUT(answer != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(svc_index_load(svc, &ix));
    answer->count = rq->count;
    for (size_t i = 0; i < rq->count; i++) {
        struct aecs_release_result *r = &answer->results[i];
        snprintf(r->service, sizeof(r->service), "%s", rq->secrets[i].service);
        snprintf(r->name, sizeof(r->name), "%s", rq->secrets[i].name);
        GUARD_OUT(decide_one(svc, &ix, rq, client, &claims, r));
        released += r->sealed ? 1 : 0;
    }
    snprintf(detail, sizeof(detail), "%zu of %zu released", released, rq->count);
    announced = 0;
    GUARD_OUT(audit_release(svc, req, released == rq->count ? "ok" : "refused", detail, summary,
                            answer, rq->count, rq, 1));
    GUARD_OUT(aecs_release_answer_serialize(answer, &out->body, &out->size));
    GUARD_OUT(aecs_answer_sign(svc->identity, AECS_ANSWER_RELEASE, rq->nonce, rq->pubkey,
                               out->body, out->size, out->signature));
out:
    if (announced)
        svc_audit_withdraw(svc);
    if (rc != AECS_OK)
        aecs_answer_clear(out);
    svc_index_clear(&ix);
    json_decref(summary);
    aecs_release_answer_free(answer);
    aecs_p256_pub_free(client);
    aecs_release_request_free(rq);
    aecs_cleanse(&claims, sizeof(claims));
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

/* ---- identity and public parts ---- */

static int caller_nonce(const char *hex, uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                        enum aecs_api_code *api)
{
    if (hex == NULL)
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                      "nonce (64 lowercase hex characters of your own randomness) is required");
    if (aecs_release_nonce_parse(hex, strlen(hex), nonce) != AECS_OK)
        return REFUSE(api, API_BAD_REQUEST, AECS_E_FORMAT,
                      "nonce must be 64 lowercase hex characters");
    return AECS_OK;
}

/*
 * The service id (empty before the init) and the insecure options into a:
 * the same list as GET /v1/status, from the one function that makes it, so
 * the two never differ.
 */
static int identity_options(const struct aecs_service *svc, struct aecs_identity_answer *a)
{
    json_t *list = aecs_service_insecure(svc);
    json_t *e;
    size_t i;
    int rc = AECS_OK;

    ENSURE(list != NULL, AECS_E_NO_MEMORY, "out of memory");
    snprintf(a->service_id, sizeof(a->service_id), "%s", aecs_service_id(svc));
    ENSURE_OUT(json_array_size(list) <= AECS_IDENTITY_INSECURE_MAX, AECS_E_INTERNAL,
               "identity: %zu insecure options", json_array_size(list));
    json_array_foreach(list, i, e)
    {
        const char *name = json_string_value(e);
        ENSURE_OUT(name != NULL && strlen(name) <= AECS_IDENTITY_INSECURE_NAME_MAX,
                   AECS_E_INTERNAL, "identity: insecure option %zu has no usable name", i);
        memcpy(a->insecure[i], name, strlen(name) + 1);
        a->insecure_count = i + 1;
    }
out:
    json_decref(list);
    return rc;
}

int aecs_service_identity(struct aecs_service *svc, const char *nonce_hex,
                          struct aecs_answer *out, enum aecs_api_code *api)
{
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    struct aecs_identity_answer a;
    int rc;

    memset(out, 0, sizeof(*out));
    GUARD(require_release_setup(svc, api));
    GUARD(caller_nonce(nonce_hex, nonce, api));
    if (svc->identity_evidence == NULL)
        return REFUSE(api, API_NO_IDENTITY, AECS_E_NOT_FOUND,
                      "this server has no TEE evidence of its identity (started without an "
                      "attester): clients refuse it");
    memset(&a, 0, sizeof(a));
    memcpy(a.pubkey, svc->identity_pub, sizeof(a.pubkey));
    a.evidence = svc->identity_evidence;
    a.evidence_size = svc->identity_evidence_size;
    /* Under the state lock: an init sets the service id (none before it). */
    pthread_rwlock_rdlock(&svc->state_lock);
    rc = identity_options(svc, &a);
    pthread_rwlock_unlock(&svc->state_lock);
    GUARD(rc);
    GUARD(aecs_identity_answer_serialize(&a, &out->body, &out->size));
    rc = aecs_answer_sign(svc->identity, AECS_ANSWER_IDENTITY, nonce, NULL, out->body, out->size,
                          out->signature);
    if (rc != AECS_OK)
        aecs_answer_clear(out);
    return rc;
}

int aecs_service_public(struct aecs_service *svc, const char *service, const char *name,
                        const char *nonce_hex, struct aecs_answer *out, enum aecs_api_code *api)
{
    int rc;
    json_t *answer = NULL;
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    struct aecs_public_answer pa;
    const char *type, *ctype, *pub;

    memset(out, 0, sizeof(*out));
    if (nonce_hex != NULL) {
        GUARD(require_release_setup(svc, api));
        GUARD(caller_nonce(nonce_hex, nonce, api));
    }
    GUARD(aecs_service_secret_public(svc, service, name, &answer, api));
    type = json_string_value(json_object_get(answer, "type"));
    ctype = json_string_value(json_object_get(answer, "content_type"));
    pub = json_string_value(json_object_get(answer, "public"));
    memset(&pa, 0, sizeof(pa));
    snprintf(pa.service, sizeof(pa.service), "%s", service);
    snprintf(pa.name, sizeof(pa.name), "%s", name);
    snprintf(pa.type, sizeof(pa.type), "%s", type != NULL ? type : "");
    snprintf(pa.content_type, sizeof(pa.content_type), "%s", ctype != NULL ? ctype : "");
    pa.public_data = (char *)pub;
    pa.public_size = pub != NULL ? strlen(pub) : 0;
    rc = aecs_public_answer_serialize(&pa, &out->body, &out->size);
    json_decref(answer);
    GUARD(rc);
    if (nonce_hex == NULL)
        return AECS_OK;
    rc = aecs_answer_sign(svc->identity, AECS_ANSWER_PUBLIC, nonce, NULL, out->body, out->size,
                          out->signature);
    if (rc != AECS_OK)
        aecs_answer_clear(out);
    return rc;
}
