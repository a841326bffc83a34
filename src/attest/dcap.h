/*
 * dcap.h - offline verification of Intel DCAP quotes (SGX v3, TDX v4/v5),
 * following Intel's Quote Verification Library and QvE: the same checks in
 * the same spirit, the same status names, TCB statuses and result codes.
 *
 * Two steps, so a server can keep the expensive part:
 *   aecs_dcap_prepare()  parses the collateral and checks everything in it that
 *                        does not depend on a quote: issuer chains to the
 *                        trusted root, CRL signatures, TCB Info and QE Identity
 *                        signatures. The result is immutable and shareable.
 *   aecs_dcap_verify()   checks one quote against prepared collateral at a
 *                        given time. It keeps a small cache of platforms whose
 *                        PCK chain and QE report were already checked, so a
 *                        warm verification costs about one ECDSA verify.
 *
 * aecs_dcap_verify() is thread-safe on a shared prepared object; the cache has
 * its own short read-write lock and nothing is locked while verifying.
 *
 * Where aecs is stricter than Intel's QvE (which reports expired collateral
 * but still returns a result): expired or not-yet-valid collateral is never
 * "verified"; the TCB status and result code are still reported.
 */
#ifndef AECS_ATTEST_DCAP_H
#define AECS_ATTEST_DCAP_H

#include <stddef.h>
#include <stdint.h>

#include "attest/collateral.h"
#include "attest/quote.h"
#include "base/err.h"
#include "crypto/x509.h"

/* QVL status values (Intel's names without the STATUS_ prefix in aecs_qvl_status_name). */
enum aecs_qvl_status {
    QVL_OK = 0,
    QVL_TCB_SW_HARDENING_NEEDED,
    QVL_TCB_CONFIGURATION_NEEDED,
    QVL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    QVL_TCB_OUT_OF_DATE,
    QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    QVL_TCB_TD_RELAUNCH_ADVISED,
    QVL_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
    QVL_TCB_REVOKED,
    QVL_TCB_NOT_SUPPORTED,
    QVL_TCB_UNRECOGNIZED_STATUS,
    QVL_TDX_MODULE_MISMATCH,
    QVL_TCB_INFO_MISMATCH,
    QVL_QE_IDENTITY_MISMATCH,
    QVL_UNSUPPORTED_QUOTE_FORMAT,
    QVL_UNSUPPORTED_QE_CERTIFICATION_DATA_TYPE,
    QVL_SGX_PCK_CERT_CHAIN_UNTRUSTED,
    QVL_INVALID_PCK_CERT,
    QVL_SGX_PCK_REVOKED,
    QVL_SGX_INTERMEDIATE_CA_REVOKED,
    QVL_SGX_TCB_SIGNING_CERT_REVOKED,
    QVL_SGX_CRL_UNSUPPORTED_FORMAT,
    QVL_SGX_CRL_INVALID_SIGNATURE,
    QVL_INVALID_PCK_CRL,
    QVL_SGX_TCB_INFO_UNSUPPORTED_FORMAT,
    QVL_TCB_INFO_INVALID_SIGNATURE,
    QVL_SGX_TCB_SIGNING_CERT_CHAIN_UNTRUSTED,
    QVL_SGX_QE_IDENTITY_UNSUPPORTED_FORMAT,
    QVL_SGX_ENCLAVE_IDENTITY_INVALID_SIGNATURE,
    QVL_INVALID_QE_REPORT_SIGNATURE,
    QVL_INVALID_QE_REPORT_DATA,
    QVL_INVALID_QUOTE_SIGNATURE,
    QVL_SGX_CRL_EXPIRED,
    QVL_SGX_TCB_INFO_EXPIRED,
    QVL_SGX_PCK_CERT_CHAIN_EXPIRED,
    QVL_SGX_SIGNING_CERT_CHAIN_EXPIRED,
    QVL_SGX_ENCLAVE_IDENTITY_EXPIRED,
    QVL_INTERNAL_ERROR,
    QVL_STATUS_COUNT
};

/* "STATUS_TCB_NOT_SUPPORTED", ... */
const char *aecs_qvl_status_name(enum aecs_qvl_status s);
/* QvE's quote3_error_t for a status: value and name ("SGX_QL_TCB_NOT_SUPPORTED"). */
uint16_t aecs_qvl_quote3_error(enum aecs_qvl_status s);
const char *aecs_qvl_quote3_error_name(enum aecs_qvl_status s);
/* QvE's sgx_ql_qv_result_t for a status (0xA006 UNSPECIFIED for terminal errors). */
uint16_t aecs_qvl_qv_result(enum aecs_qvl_status s);
const char *aecs_qv_result_name(uint16_t qv);

enum aecs_dcap_platform { AECS_PLATFORM_UNKNOWN = 0, AECS_PLATFORM_SGX, AECS_PLATFORM_TDX };

#define AECS_ADVISORY_ID_MAX 32

/* Advisory IDs held by value, so a result outlives the collateral it came from. */
struct aecs_advisory_list {
    size_t count;
    char ids[AECS_MAX_ADVISORIES][AECS_ADVISORY_ID_MAX];
};

struct aecs_dcap_result {
    int verified; /* 1 only when every check passed and the collateral is valid at the time */
    enum aecs_dcap_platform platform;

    enum aecs_qvl_status status;   /* the QVL outcome (a TCB status or an error) */
    int has_tcb_status;            /* a TCB status was determined */
    const char *tcb_status;        /* "UpToDate", "OutOfDate", "TDRelaunchAdvised", ... */
    uint16_t qv_result;            /* sgx_ql_qv_result_t as QvE gives it */
    struct aecs_advisory_list advisories; /* copied: valid after the collateral is freed */

    int collateral_expired;        /* the time is outside the collateral's validity window */
    int64_t valid_from, valid_until;

    /* when not verified */
    const char *stage;             /* parse, chain, collateral, signature, identity, tcb, expiry */
    enum aecs_qvl_status error;    /* the failing status (== status, or an expiry status) */
    char message[512];

    /* details */
    struct aecs_quote quote;       /* the parsed quote (claims); borrows the quote bytes */
    int quote_parsed;
    struct aecs_sgx_ext pck;
    int pck_parsed;
    char pck_ca[64];               /* "Intel SGX PCK Processor CA" / "... Platform CA" */
    const char *qe_tcb_status;     /* the QE Identity level status */
    int has_module;
    uint16_t module_isvsvn;
    const char *module_tcb_status;
    int tcb_eval_number;
    int sim;                       /* the quote chains to a simulator root (set by callers) */
};

struct aecs_dcap_prepared;

/*
 * The common name of every aecs simulator root CA starts with this. Quotes that
 * chain to such a root (which is only ever trusted when given explicitly) are
 * marked `sim` in their results.
 */
#define AECS_SIM_ROOT_CN_PREFIX "aecs simulated"

/* Intel's production SGX Root CA, pinned (DER). */
extern const uint8_t g_aecs_intel_sgx_root_der[];
extern const size_t g_aecs_intel_sgx_root_der_size;

/*
 * Checks collateral against the trusted root (NULL: Intel's production root)
 * and keeps it. Takes ownership of `col` in every case. Fails only on
 * resource errors: problems with the collateral itself are recorded inside
 * and reported by every later aecs_dcap_verify() with their stage and code.
 */
AECS_MUST_CHECK int aecs_dcap_prepare(struct aecs_collateral *col,
                                      const struct aecs_cert *trusted_root,
                                      struct aecs_dcap_prepared **out);
void aecs_dcap_prepared_free(struct aecs_dcap_prepared *p);

/*
 * Verifies quote[0..size) at time `at` (seconds since the epoch). Always fills
 * `res`; res->quote borrows from `quote`, everything else is held by value.
 */
void aecs_dcap_verify(struct aecs_dcap_prepared *p, const uint8_t *quote, size_t size,
                      int64_t at, struct aecs_dcap_result *res);

#endif
