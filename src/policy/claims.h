/*
 * claims.h - the normalized claims of one verified piece of evidence: what a
 * secret's policy is matched against (src/policy/policy.h), whatever TEE made
 * the evidence.
 *
 * Claims are only ever made from a verdict that verified (every signature,
 * chain, CRL and the collateral's validity checked): the converters refuse
 * anything else, so a policy can never be evaluated on unverified bytes.
 * Everything is held by value; a claims struct outlives the evidence, the
 * verdict and the collateral it came from.
 *
 * What each platform fills (the rest stays zero):
 *   every platform  platform, debug, sim, report_data
 *   SGX             mrenclave, mrsigner, isvprodid, isvsvn, config_id,
 *                   attributes, tcb_status, advisories
 *   TDX             mrtd, rtmr[0..3], mrconfigid, mrowner, mrownerconfig,
 *                   mrseam, td_attributes, tcb_status, advisories
 *   SNP             measurement, host_data, snp_policy, vmpl, guest_svn,
 *                   snp_tcb (REPORTED_TCB, in the layout of the VCEK's product
 *                   line), snp_product; tcb_status stays "" (SNP has no TCB
 *                   status: its freshness is the policy's min_tcb)
 */
#ifndef AECS_POLICY_CLAIMS_H
#define AECS_POLICY_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct aecs_dcap_result;
struct aecs_snp_result;

/* The TEE that produced the evidence. */
enum aecs_tee {
    AECS_TEE_UNKNOWN = 0,
    AECS_TEE_SGX,
    AECS_TEE_TDX,
    AECS_TEE_SNP,
};

/* "sgx", "tdx", "snp" ("unknown" for anything else). */
const char *aecs_tee_name(enum aecs_tee tee);
/* Parses "sgx", "tdx" or "snp" (exactly); AECS_TEE_UNKNOWN for anything else. */
enum aecs_tee aecs_tee_parse(const char *name);

#define AECS_CLAIMS_MAX_ADVISORIES 64
#define AECS_CLAIMS_ADVISORY_ID_MAX 32 /* with the NUL */
#define AECS_CLAIMS_TCB_STATUS_MAX 48  /* with the NUL */

/* An SEV-SNP TCB_VERSION, decoded. fmc exists only on Turin and later. */
struct aecs_claims_snp_tcb {
    uint8_t bootloader, tee, snp, microcode;
    int has_fmc;
    uint8_t fmc;
};

struct aecs_claims {
    enum aecs_tee platform;
    int debug; /* SGX ATTRIBUTES.DEBUG, TDX TDATTRIBUTES.DEBUG, SNP POLICY.DEBUG */
    int sim;   /* the evidence chains to an aecs simulator root (never real hardware) */

    /* Intel TCB status of the verdict ("UpToDate", "OutOfDate", ...); "" on SNP */
    char tcb_status[AECS_CLAIMS_TCB_STATUS_MAX];
    size_t advisory_count;
    char advisories[AECS_CLAIMS_MAX_ADVISORIES][AECS_CLAIMS_ADVISORY_ID_MAX];

    uint8_t report_data[64]; /* SGX/TDX REPORTDATA, SNP REPORT_DATA */

    /* SGX */
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint8_t config_id[64];
    uint8_t attributes[16];

    /* TDX */
    uint8_t mrtd[48];
    uint8_t rtmr[4][48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t mrseam[48];
    uint8_t td_attributes[8];

    /* SNP */
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint64_t snp_policy;
    uint32_t vmpl;
    uint32_t guest_svn;
    struct aecs_claims_snp_tcb snp_tcb;
    char snp_product[16]; /* "Milan", "Genoa", "Turin" */
};

/*
 * Fills *out from a DCAP verdict (SGX or TDX quote). Fails, leaving *out
 * zeroed, with AECS_E_UNTRUSTED when the verdict did not verify (the reason
 * is the verdict's stage and message), and AECS_E_INVALID_ARGUMENT when it
 * holds no parsed quote, no TCB status, or a platform other than SGX/TDX.
 * `sim` is copied from the verdict (its caller sets it for sim roots).
 */
AECS_MUST_CHECK int aecs_claims_from_dcap(const struct aecs_dcap_result *res,
                                          struct aecs_claims *out);

/*
 * Fills *out from an SEV-SNP verdict. Fails, leaving *out zeroed, with
 * AECS_E_UNTRUSTED when the verdict did not verify and AECS_E_INVALID_ARGUMENT
 * when it holds no parsed report. There is no SNP simulator: sim is 0.
 */
AECS_MUST_CHECK int aecs_claims_from_snp(const struct aecs_snp_result *res,
                                         struct aecs_claims *out);

#endif
