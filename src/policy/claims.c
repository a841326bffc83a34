/*
 * claims.c - normalized claims out of DCAP (SGX, TDX) and SEV-SNP verdicts;
 * see claims.h. Nothing is read from a verdict that did not verify.
 */
#include "policy/claims.h"

#include <stdio.h>
#include <string.h>

#include "attest/dcap.h"
#include "attest/snp.h"
#include "crypto/amd.h"

_Static_assert(AECS_CLAIMS_MAX_ADVISORIES >= AECS_MAX_ADVISORIES,
               "claims must hold every advisory of a DCAP verdict");
_Static_assert(AECS_CLAIMS_ADVISORY_ID_MAX >= AECS_ADVISORY_ID_MAX,
               "claims must hold the longest advisory ID of a DCAP verdict");

const char *aecs_tee_name(enum aecs_tee tee)
{
    switch (tee) {
    case AECS_TEE_SGX:
        return "sgx";
    case AECS_TEE_TDX:
        return "tdx";
    case AECS_TEE_SNP:
        return "snp";
    case AECS_TEE_UNKNOWN:
    default:
        return "unknown";
    }
}

enum aecs_tee aecs_tee_parse(const char *name)
{
    if (name == NULL)
        return AECS_TEE_UNKNOWN;
    if (strcmp(name, "sgx") == 0)
        return AECS_TEE_SGX;
    if (strcmp(name, "tdx") == 0)
        return AECS_TEE_TDX;
    if (strcmp(name, "snp") == 0)
        return AECS_TEE_SNP;
    return AECS_TEE_UNKNOWN;
}

int aecs_claims_from_dcap(const struct aecs_dcap_result *res, struct aecs_claims *out)
{
    memset(out, 0, sizeof(*out));
    ENSURE(res != NULL, AECS_E_INVALID_ARGUMENT, "claims: no DCAP verdict");
    ENSURE(res->verified, AECS_E_UNTRUSTED,
           "claims: the quote did not verify (stage %s: %.200s); no claims are made from it",
           res->stage ? res->stage : "internal", res->message);
    ENSURE(res->quote_parsed, AECS_E_INVALID_ARGUMENT, "claims: the verdict holds no parsed quote");
    ENSURE(res->has_tcb_status && res->tcb_status != NULL, AECS_E_INVALID_ARGUMENT,
           "claims: the verdict holds no TCB status");
    ENSURE(strlen(res->tcb_status) < sizeof(out->tcb_status), AECS_E_INVALID_ARGUMENT,
           "claims: TCB status too long");
    ENSURE(res->advisories.count <= AECS_CLAIMS_MAX_ADVISORIES, AECS_E_INVALID_ARGUMENT,
           "claims: too many advisories");

    const struct aecs_quote *q = &res->quote;
    if (res->platform == AECS_PLATFORM_SGX && q->body_type == AECS_BODY_SGX) {
        const struct aecs_sgx_report *r = &q->sgx;
        out->platform = AECS_TEE_SGX;
        /* ATTRIBUTES.DEBUG is bit 1 of the flags (first byte). */
        out->debug = (r->attributes[0] & 0x02) != 0;
        memcpy(out->mrenclave, r->mrenclave, sizeof(out->mrenclave));
        memcpy(out->mrsigner, r->mrsigner, sizeof(out->mrsigner));
        out->isvprodid = r->isvprodid;
        out->isvsvn = r->isvsvn;
        memcpy(out->config_id, r->config_id, sizeof(out->config_id));
        memcpy(out->attributes, r->attributes, sizeof(out->attributes));
        memcpy(out->report_data, r->report_data, sizeof(out->report_data));
    } else if (res->platform == AECS_PLATFORM_TDX &&
               (q->body_type == AECS_BODY_TD10 || q->body_type == AECS_BODY_TD15)) {
        const struct aecs_td_report *t = &q->td;
        out->platform = AECS_TEE_TDX;
        /* TDATTRIBUTES.DEBUG is bit 0. */
        out->debug = (t->td_attributes[0] & 0x01) != 0;
        memcpy(out->mrtd, t->mrtd, sizeof(out->mrtd));
        memcpy(out->rtmr, t->rtmr, sizeof(out->rtmr));
        memcpy(out->mrconfigid, t->mrconfigid, sizeof(out->mrconfigid));
        memcpy(out->mrowner, t->mrowner, sizeof(out->mrowner));
        memcpy(out->mrownerconfig, t->mrownerconfig, sizeof(out->mrownerconfig));
        memcpy(out->mrseam, t->mrseam, sizeof(out->mrseam));
        memcpy(out->td_attributes, t->td_attributes, sizeof(out->td_attributes));
        memcpy(out->report_data, t->report_data, sizeof(out->report_data));
    } else {
        return AECS_ERR(AECS_E_INVALID_ARGUMENT,
                        "claims: the verdict's platform and quote body do not agree");
    }

    out->sim = res->sim != 0;
    snprintf(out->tcb_status, sizeof(out->tcb_status), "%s", res->tcb_status);
    for (size_t i = 0; i < res->advisories.count; i++)
        snprintf(out->advisories[i], sizeof(out->advisories[i]), "%s", res->advisories.ids[i]);
    out->advisory_count = res->advisories.count;
    return AECS_OK;
}

int aecs_claims_from_snp(const struct aecs_snp_result *res, struct aecs_claims *out)
{
    memset(out, 0, sizeof(*out));
    ENSURE(res != NULL, AECS_E_INVALID_ARGUMENT, "claims: no SEV-SNP verdict");
    ENSURE(res->verified, AECS_E_UNTRUSTED,
           "claims: the SEV-SNP report did not verify (stage %s: %.200s); no claims are made "
           "from it",
           res->stage ? res->stage : "internal", res->message);
    ENSURE(res->report_parsed, AECS_E_INVALID_ARGUMENT,
           "claims: the verdict holds no parsed report");

    const struct aecs_snp_report *r = &res->report;
    out->platform = AECS_TEE_SNP;
    /* POLICY.DEBUG is bit 19. */
    out->debug = (r->policy & AECS_SNP_POLICY_DEBUG) != 0;
    out->sim = 0;
    memcpy(out->report_data, r->report_data, sizeof(out->report_data));
    memcpy(out->measurement, r->measurement, sizeof(out->measurement));
    memcpy(out->host_data, r->host_data, sizeof(out->host_data));
    out->snp_policy = r->policy;
    out->vmpl = r->vmpl;
    out->guest_svn = r->guest_svn;
    /* The verifier decoded REPORTED_TCB in the layout of the VEK's product line. */
    out->snp_tcb.bootloader = r->reported_tcb.bootloader;
    out->snp_tcb.tee = r->reported_tcb.tee;
    out->snp_tcb.snp = r->reported_tcb.snp;
    out->snp_tcb.microcode = r->reported_tcb.microcode;
    out->snp_tcb.has_fmc = r->reported_tcb.turin_layout != 0;
    out->snp_tcb.fmc = out->snp_tcb.has_fmc ? r->reported_tcb.fmc : 0;
    snprintf(out->snp_product, sizeof(out->snp_product), "%s", aecs_amd_product_name(res->product));
    return AECS_OK;
}
