/*
 * sim.h - the simulated TEE: a local test PKI, collateral and quoting enclave
 * for machines without SGX or TDX, so the one DCAP verifier can be exercised
 * end to end and tests can make any case (revoked PCK, expired collateral,
 * OutOfDate TCB).
 *
 * aecs_sim_init() makes, in a folder DIR:
 *   root.der                  the sim root CA ("aecs simulated SGX Root CA"): the
 *                             trust anchor to pass explicitly to a verifier
 *   pck_chain.pem             PCK certificate, PCK Processor CA, root (leaf first)
 *   *.key.pem                 private keys (root_ca, pck_ca, pck, tcb_signing,
 *                             attestation), PKCS#8 PEM, mode 0600
 *   collateral/               SGX collateral (TCB Info "SGX", QE Identity "QE")
 *   collateral-tdx/           TDX collateral (TCB Info "TDX", QE Identity "TD_QE")
 * Each collateral folder has the layout aecs_collateral_load_dir() reads:
 * root_ca_crl.der, pck_crl.der, pck_crl_issuer_chain.pem, tcb_info.body.json +
 * tcb_info.sig.hex, tcb_info_issuer_chain.pem, qe_identity.body.json +
 * qe_identity.sig.hex, qe_identity_issuer_chain.pem.
 *
 * The sim platform has one FMSPC (AEC551000000), PCE-ID 0000, and TCB levels:
 * the level the platform matches (status chosen at init, UpToDate by
 * default) and one lower level, OutOfDate. Every level that is not UpToDate
 * lists the advisory AECS-SIM-SA-00001. The QE identities have an UpToDate
 * level (the sim QE's ISVSVN) and a lower OutOfDate one; TDX has a module
 * identity TDX_01 in the same shape.
 *
 * aecs_sim_quote() makes SGX v3 or TDX v4 quotes that are real in every byte,
 * signed by the folder's attestation key, whose QE report is signed by the
 * PCK key and carries the PCK chain (certification data type 5).
 *
 * A sim root is only ever trusted when given explicitly; results that chain
 * to it say `sim` (see AECS_SIM_ROOT_CN_PREFIX in dcap.h). For tests and demos
 * only: the keys sit in plain files.
 */
#ifndef AECS_ATTEST_SIM_H
#define AECS_ATTEST_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AECS_SIM_ROOT_FILE "root.der"
#define AECS_SIM_SGX_COLLATERAL "collateral"
#define AECS_SIM_TDX_COLLATERAL "collateral-tdx"
#define AECS_SIM_ADVISORY "AECS-SIM-SA-00001"
#define AECS_SIM_DEFAULT_VALIDITY_DAYS 30
#define AECS_SIM_MAX_VALIDITY_DAYS 3650

struct aecs_sim_options {
    const char *tcb_status; /* status of the level the platform matches; NULL: "UpToDate" */
    int revoke_pck;         /* the PCK CRL lists the PCK certificate */
    int validity_days;      /* collateral nextUpdate = now + days; 0: the default (30) */
    int64_t now;            /* issue time of everything; 0: the current time */
    int force;              /* replace a sim already in the folder */
};

/*
 * Makes a sim in dir (created with mode 0700 if missing; its parent must
 * exist). Fails with AECS_E_INVALID_ARGUMENT on an unknown TCB status, a
 * validity outside 1..AECS_SIM_MAX_VALIDITY_DAYS, or a folder that already
 * holds a sim (unless opts->force). opts may be NULL for the defaults.
 */
AECS_MUST_CHECK int aecs_sim_init(const char *dir, const struct aecs_sim_options *opts);

enum aecs_sim_tee { AECS_SIM_SGX = 0, AECS_SIM_TDX = 1 };

struct aecs_sim_quote_params {
    enum aecs_sim_tee tee;
    int debug; /* SGX ATTRIBUTES.DEBUG (bit 1), TDX TDATTRIBUTES.DEBUG (bit 0) */
    uint8_t report_data[64];
    /* SGX enclave identity */
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    uint16_t isvsvn;
    /* TDX trust domain measurements */
    uint8_t mrtd[48];
    uint8_t rtmr[4][48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
};

/*
 * Makes a quote (SGX: v3; TDX: v4 with a TD report 1.0) on the platform of the
 * sim in dir. AECS_E_NOT_FOUND when dir holds no initialised sim. On success
 * *quote is a fresh buffer of *size bytes that the caller frees with free().
 */
AECS_MUST_CHECK int aecs_sim_quote(const char *dir, const struct aecs_sim_quote_params *p,
                                   uint8_t **quote, size_t *size);

#endif
