/*
 * collateral_mem.h - Intel DCAP collateral built from bytes in memory (what a
 * fetch returns, or what a cache kept), rather than from a folder.
 *
 * The result is the same struct aecs_collateral that aecs_collateral_load_dir
 * gives, with the same rule: bytes that do not parse are not an error here
 * but a recorded `problem`, which aecs_dcap_prepare/aecs_dcap_verify report
 * as a verdict with Intel's code.
 */
#ifndef AECS_ATTEST_COLLATERAL_MEM_H
#define AECS_ATTEST_COLLATERAL_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "attest/collateral.h"
#include "base/err.h"

/* Borrowed byte ranges; nothing needs to be NUL-terminated. */
struct aecs_collateral_blobs {
    const uint8_t *root_ca_crl;           /* DER, PEM or hex text */
    size_t root_ca_crl_size;
    const uint8_t *pck_crl;               /* DER, PEM or hex text */
    size_t pck_crl_size;
    const uint8_t *pck_crl_issuer_chain;  /* optional PEM */
    size_t pck_crl_issuer_chain_size;
    const uint8_t *tcb_info;              /* the PCS response {"tcbInfo":...,"signature":"..."} */
    size_t tcb_info_size;
    const uint8_t *tcb_info_issuer_chain; /* PEM */
    size_t tcb_info_issuer_chain_size;
    const uint8_t *qe_identity;           /* {"enclaveIdentity":...,"signature":"..."} */
    size_t qe_identity_size;
    const uint8_t *qe_identity_issuer_chain; /* PEM */
    size_t qe_identity_issuer_chain_size;
    const uint8_t *pck_chain;             /* optional PEM, for quotes without a type 5 chain */
    size_t pck_chain_size;
};

/*
 * Parses the blobs into fresh collateral (the bytes are copied: the blobs
 * may be freed afterwards). A mandatory blob that is missing is
 * AECS_E_INVALID_ARGUMENT naming it; content that does not parse is recorded
 * in (*out)->problem. The caller frees *out with aecs_collateral_free, or
 * hands it to aecs_dcap_prepare.
 */
AECS_MUST_CHECK int aecs_collateral_from_memory(const struct aecs_collateral_blobs *blobs,
                                                struct aecs_collateral **out);

/*
 * The earliest nextUpdate of the TCB Info, the QE Identity and both CRLs:
 * the time after which fresh collateral must be fetched. 0 when none of
 * them parsed.
 */
int64_t aecs_collateral_next_update(const struct aecs_collateral *c);

#endif
