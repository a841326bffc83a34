/*
 * identity.c - the checks of a server's identity answer, in the order of
 * identity.h; the one code behind aecs_client_fetch_many and `aecs admin`.
 * Each failure records an error that names the server and the check, and
 * sets out->check to the name the client library reports.
 */
#include "client/identity.h"

#include <stdio.h>
#include <string.h>

#include "attest/sim.h"
#include "attest/verifier.h"
#include "base/codec.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "policy/policy.h"

int aecs_server_trust_verifier(const struct aecs_server_trust *t, const char *source,
                               int64_t (*now)(void *arg), void *now_arg, struct aecs_verifier **out)
{
    struct aecs_verifier_config vc;
    char sim_root[AECS_CRED_VALUE_MAX + 32];

    *out = NULL;
    memset(&vc, 0, sizeof(vc));
    vc.intel_root_file = t->intel_root;
    vc.collateral_dir = t->collateral_dir;
    vc.pccs_url = t->pccs_url;
    vc.collateral_cache_dir = t->collateral_cache_dir;
    vc.snp_collateral_dir = t->snp_collateral_dir;
    vc.use_kds = t->use_kds;
    vc.kds_url = t->kds_url;
    vc.kds_cache_dir = t->kds_cache_dir;
    if (t->insecure_trust_sim != NULL) {
        snprintf(sim_root, sizeof(sim_root), "%s/%s", t->insecure_trust_sim, AECS_SIM_ROOT_FILE);
        vc.sim_root_file = sim_root;
        vc.sim_dir = t->insecure_trust_sim;
        log_warn("%.200s: verifier.insecure_trust_sim: INSECURE: servers whose evidence comes "
                 "from the simulated TEE in %.200s are trusted (tests and demos only)",
                 source, t->insecure_trust_sim);
    }
    vc.now = now;
    vc.now_arg = now_arg;
    return aecs_verifier_new(&vc, out);
}

int aecs_identity_request(uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                          char target[AECS_IDENTITY_TARGET_MAX])
{
    char hex[AECS_RELEASE_NONCE_HEX + 1];

    GUARD(aecs_random_bytes(nonce, AECS_RELEASE_NONCE_SIZE));
    aecs_hex_encode(nonce, AECS_RELEASE_NONCE_SIZE, hex);
    snprintf(target, AECS_IDENTITY_TARGET_MAX, "/v1/identity?nonce=%s", hex);
    return AECS_OK;
}

/* Records a failed check: its name in out, the message as the error. */
static int failed(struct aecs_identity_result *out, const char *check, int rc)
{
    out->check = check;
    return rc;
}

/*
 * Step 4: the answer names the pinned service id, if one is. The message says
 * what a different id means; both ids are public (GET /v1/status shows one).
 * The id is derived from the root key, so a store given another /meta/init
 * (another key) shows another id; an uninitialized server names none.
 */
static int check_service_id(const struct aecs_identity_check *chk,
                            const struct aecs_identity_answer *ans)
{
    if (chk->service_id == NULL || chk->service_id[0] == '\0')
        return AECS_OK;
    ENSURE(ans->service_id[0] != '\0', AECS_E_UNTRUSTED,
           "%.200s: the server serves no service id (it is not initialized), but %.200s pins "
           "service_id %.32s: its store was wiped, or this is not the configured server; nothing "
           "was sent",
           chk->url, chk->source, chk->service_id);
    ENSURE(strcmp(chk->service_id, ans->service_id) == 0, AECS_E_UNTRUSTED,
           "%.200s: the server serves service id %s, but %.200s pins service_id %.32s: its store "
           "was initialized again (new secrets, perhaps chosen by whoever wiped it) or this is "
           "not the configured server; nothing was sent",
           chk->url, ans->service_id, chk->source, chk->service_id);
    return AECS_OK;
}

int aecs_identity_insecure_check(const struct aecs_identity_check *chk,
                                 const struct aecs_identity_answer *ans, int sim)
{
    char list[AECS_IDENTITY_INSECURE_MAX * (AECS_IDENTITY_INSECURE_NAME_MAX + 2) + 1];
    size_t at = 0;

    if (ans->insecure_count == 0)
        return AECS_OK;
    list[0] = '\0';
    for (size_t i = 0; i < ans->insecure_count; i++)
        at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s", i > 0 ? ", " : "",
                               ans->insecure[i]);
    /* A simulated TEE proves nothing anyway: its options weaken no hardware trust. */
    if (sim) {
        log_debug("%.200s: simulated TEE started with insecure options: %s", chk->url, list);
        return AECS_OK;
    }
    ENSURE(chk->accept_insecure, AECS_E_UNTRUSTED,
           "%.200s: the server was started with insecure options (%s): its verifier may trust "
           "evidence that is not the hardware's, so whoever holds the root it trusts can pose as "
           "any enclave; refused. Restart aecsd without them, or, for a test server only, set "
           "`accept_insecure_server: true` in %.200s (INSECURE)",
           chk->url, list, chk->source);
    log_warn("%.200s: accept_insecure_server: INSECURE: the server was started with insecure "
             "options (%s) and is trusted anyway (%.200s)",
             chk->url, list, chk->source);
    return AECS_OK;
}

int aecs_identity_answer_check(const struct aecs_identity_check *chk,
                               const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                               const struct aecs_raw_reply *reply, struct aecs_identity_result *out)
{
    int rc = AECS_OK;
    struct aecs_identity_answer *ans = NULL;
    struct aecs_p256_pub *pub = NULL;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    char match[512], hex[17];
    const char *sig;

    memset(out, 0, sizeof(*out));
    memset(&claims, 0, sizeof(claims));
    ENSURE(chk != NULL && nonce != NULL && reply != NULL &&
               (chk->verifier == NULL) == (chk->rules == NULL),
           AECS_E_INVALID_ARGUMENT, "identity check: a verifier and a policy, or neither");
    rc = aecs_identity_answer_parse(reply->body, reply->body_size, &ans);
    if (rc != AECS_OK) {
        aecs_err_prefix("identity answer: ");
        return failed(out, "identity", rc);
    }
    rc = aecs_p256_pub_import(ans->pubkey, sizeof(ans->pubkey), &pub);
    if (rc != AECS_OK) {
        aecs_err_prefix("identity answer: pubkey: ");
        failed(out, "identity", rc);
        goto out;
    }
    out->check = "identity-signature";
    if (reply->header_count != 1 || reply->header[0] == '\0')
        BAIL_OUT(AECS_E_UNTRUSTED, "%.200s: the answer has %s " AECS_HDR_ANSWER_SIGNATURE " header",
                 chk->url,
                 reply->header_count == 0  ? "no"
                 : reply->header_count > 1 ? "more than one"
                                           : "an unusable");
    sig = reply->header;
    if (aecs_answer_verify(pub, AECS_ANSWER_IDENTITY, nonce, NULL, reply->body, reply->body_size,
                           sig, strlen(sig)) != AECS_OK)
        BAIL_OUT(AECS_E_UNTRUSTED,
                 "%.200s: the identity answer's signature does not verify with the key it "
                 "names, over this client's nonce",
                 chk->url);
    out->check = NULL;
    memcpy(out->pubkey, ans->pubkey, sizeof(out->pubkey));
    if (chk->verifier == NULL) {
        /* INSECURE: the caller said not to check; the result says it was not. */
        out->check = "server-service-id";
        GUARD_OUT(check_service_id(chk, ans));
        out->check = NULL;
        out->pub = pub;
        pub = NULL;
        goto out;
    }
    if (chk->known != NULL && memcmp(chk->known, ans->pubkey, AECS_P256_PUB_SIZE) == 0) {
        /* The key whose evidence passed before, insecure options included (identity.h). */
        out->check = "server-service-id";
        GUARD_OUT(check_service_id(chk, ans));
        out->check = NULL;
        out->cached = 1;
        out->checked = 1;
        out->pub = pub;
        pub = NULL;
        goto out;
    }

    /* A new key (first contact, or the server restarted): check it in full. */
    out->verified = 1;
    out->check = "identity-evidence";
    if (aecs_verifier_verify(chk->verifier, ans->evidence, ans->evidence_size, AECS_VERIFIER_NOW,
                             &claims, &why) != AECS_OK)
        BAIL_OUT(AECS_E_UNTRUSTED,
                 "%.200s: the server's evidence does not verify (stage %s, %s): %s", chk->url,
                 why.stage != NULL ? why.stage : "?", why.status != NULL ? why.status : "?",
                 why.message);
    out->check = "identity-binding";
    if (aecs_identity_binding_check(claims.report_data, ans->pubkey) != AECS_OK)
        BAIL_OUT(AECS_E_UNTRUSTED,
                 "%.200s: the server's evidence is not bound to its identity key (its report "
                 "data is not SHA-512(\"" AECS_IDENTITY_LABEL "\" || 0 || key))",
                 chk->url);
    out->check = "server-policy";
    if (aecs_policy_match(chk->rules, &claims, match, sizeof(match)) != AECS_OK)
        BAIL_OUT(AECS_E_UNTRUSTED,
                 "%.200s: the server's evidence does not match server_policy of %.200s: %s",
                 chk->url, chk->source, match);
    out->check = "server-insecure";
    GUARD_OUT(aecs_identity_insecure_check(chk, ans, claims.sim));
    out->check = "server-service-id";
    GUARD_OUT(check_service_id(chk, ans));
    out->check = NULL;
    out->checked = 1;
    out->pub = pub;
    pub = NULL;
    aecs_hex_encode(out->pubkey + 1, 8, hex);
    log_info("%.200s: server identity %s.. checked (%s%s): %s", chk->url, hex,
             aecs_tee_name(claims.platform), claims.sim ? ", simulated" : "", match);
out:
    aecs_cleanse(&claims, sizeof(claims));
    aecs_p256_pub_free(pub);
    aecs_identity_answer_free(ans);
    return rc;
}
