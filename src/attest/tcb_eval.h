/*
 * tcb_eval.h - Intel's TCB level selection and status merging for DCAP
 * quotes, separate from the signature checks so that it can be tested on its
 * own with any TCB Info.
 *
 * Given the TCB Info's levels in Intel's order, the platform's PCK TCB, the
 * TD report (TDX) and the QE's level in the QE Identity, it selects the
 * platform's SGX (and TDX) level, the TDX module's level, merges their
 * statuses with the QE's, and gives TD relaunch advice for TD 1.5 reports.
 */
#ifndef AECS_ATTEST_TCB_EVAL_H
#define AECS_ATTEST_TCB_EVAL_H

#include <stddef.h>

#include "attest/collateral.h"
#include "attest/dcap.h"
#include "attest/quote.h"
#include "crypto/x509.h"

/* The QE's standing from its QE Identity level (Intel's EnclaveReportVerifier). */
enum aecs_qe_tcb {
    AECS_QE_TCB_UP_TO_DATE,
    AECS_QE_TCB_OUT_OF_DATE,
    AECS_QE_TCB_REVOKED,
    AECS_QE_TCB_NOT_SUPPORTED,
};

/* The QE standing a QE Identity level (or none: NULL) gives. */
enum aecs_qe_tcb aecs_qe_tcb_of_level(const struct aecs_isv_level *level);

/* The QVL status that a TCB level's status maps to. */
enum aecs_qvl_status aecs_qvl_status_of_level(enum aecs_tcb_status s);

/* Sorts level pointers into Intel's order: SGX components, PCESVN, TDX components, descending. */
void aecs_tcb_levels_sort(const struct aecs_tcb_level **levels, size_t count);

/* The level with the highest ISV SVN not above svn, or NULL. */
const struct aecs_isv_level *aecs_isv_level_for(const struct aecs_isv_level *levels, size_t count,
                                                unsigned svn);

/*
 * Checks the TD's module signer and SEAM attributes against the TCB Info's
 * tdxModule, or its tdxModuleIdentities entry TDX_%02X of TEE_TCB_SVN[1].
 * QVL_OK, or QVL_TDX_MODULE_MISMATCH / QVL_TCB_INFO_MISMATCH with msg filled.
 */
enum aecs_qvl_status aecs_tdx_module_check(const struct aecs_tcb_info *info,
                                           const struct aecs_td_report *td, char *msg,
                                           size_t msg_size);

/*
 * Selects the levels and merges the statuses. `levels` are the TCB Info's
 * levels in Intel's order (aecs_tcb_levels_sort). Fills r->advisories
 * (platform level, then QE level, then module level, without duplicates),
 * the TDX module fields of r, and r->message when it explains a failure.
 * Returns a TCB status (QVL_OK ... QVL_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED)
 * or an error status (QVL_TCB_NOT_SUPPORTED, QVL_TCB_REVOKED, ...).
 */
enum aecs_qvl_status aecs_tcb_evaluate(const struct aecs_tcb_info *info,
                                       const struct aecs_tcb_level *const *levels, size_t count,
                                       const struct aecs_quote *q, const struct aecs_sgx_ext *pck,
                                       const struct aecs_isv_level *qe_level, enum aecs_qe_tcb qe,
                                       struct aecs_dcap_result *r);

#endif
