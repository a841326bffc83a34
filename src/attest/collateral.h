/*
 * collateral.h - Intel DCAP collateral: TCB Info (v2, v3; SGX and TDX), QE
 * Identity (QE, TD_QE), their signatures and issuer chains, and the CRLs.
 *
 * A TCB Info or QE Identity is signed over the exact bytes of its body (the
 * value of "tcbInfo"/"enclaveIdentity" in the PCS response), so the body bytes
 * are kept as received next to the parsed form; the signature is checked over
 * those bytes, never over a re-serialization.
 */
#ifndef AECS_ATTEST_COLLATERAL_H
#define AECS_ATTEST_COLLATERAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/x509.h"

enum aecs_tcb_status {
    AECS_TCB_UP_TO_DATE = 0,
    AECS_TCB_SW_HARDENING_NEEDED,
    AECS_TCB_CONFIGURATION_NEEDED,
    AECS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    AECS_TCB_OUT_OF_DATE,
    AECS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    AECS_TCB_REVOKED,
};

/* "UpToDate", "SWHardeningNeeded", ... as Intel spells them. */
const char *aecs_tcb_status_name(enum aecs_tcb_status s);
/* -1 when name is not one of Intel's TCB status strings. */
int aecs_tcb_status_parse(const char *name);

#define AECS_MAX_ADVISORIES 64

struct aecs_advisories {
    size_t count;
    const char *ids[AECS_MAX_ADVISORIES]; /* borrowed from the owning document */
};

/* A TCB level of the platform (SGX and, for TDX, the TDX components). */
struct aecs_tcb_level {
    uint16_t sgx_comp[16]; /* SVNs are bytes on the platform; TCB Info may list larger ones */
    uint16_t pcesvn;
    int has_tdx_comp;
    uint16_t tdx_comp[16];
    int64_t tcb_date;
    enum aecs_tcb_status status;
    struct aecs_advisories advisories;
};

/* A level selected by ISV SVN (QE Identity and TDX module identities). */
struct aecs_isv_level {
    uint16_t isvsvn;
    int64_t tcb_date;
    enum aecs_tcb_status status;
    struct aecs_advisories advisories;
};

struct aecs_tdx_module_identity {
    char id[16]; /* "TDX_01" */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    size_t level_count;
    struct aecs_isv_level *levels;
};

enum aecs_collateral_id { AECS_ID_SGX, AECS_ID_TDX, AECS_ID_QE, AECS_ID_TD_QE, AECS_ID_QVE };

struct aecs_tcb_info {
    int version; /* 2 or 3 */
    enum aecs_collateral_id id; /* SGX (v2 is always SGX) or TDX */
    int64_t issue_date;
    int64_t next_update;
    uint8_t fmspc[6];
    uint8_t pceid[2];
    int tcb_type;
    int eval_number;
    int has_tdx_module;
    uint8_t tdx_module_mrsigner[48];
    uint8_t tdx_module_attributes[8];
    uint8_t tdx_module_attributes_mask[8];
    size_t module_count;
    struct aecs_tdx_module_identity *modules;
    size_t level_count;
    struct aecs_tcb_level *levels;
    void *doc; /* the parsed JSON, owner of advisory strings */
};

struct aecs_qe_identity {
    enum aecs_collateral_id id; /* QE, TD_QE or QVE */
    int version;
    int64_t issue_date;
    int64_t next_update;
    int eval_number;
    uint32_t miscselect;
    uint32_t miscselect_mask;
    uint8_t attributes[16];
    uint8_t attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    size_t level_count;
    struct aecs_isv_level *levels;
    void *doc;
};

/* Parse a TCB Info body (the JSON object signed by the TCB signing key). */
AECS_MUST_CHECK int aecs_tcb_info_parse(const uint8_t *body, size_t size,
                                        struct aecs_tcb_info **out);
void aecs_tcb_info_free(struct aecs_tcb_info *info);

AECS_MUST_CHECK int aecs_qe_identity_parse(const uint8_t *body, size_t size,
                                           struct aecs_qe_identity **out);
void aecs_qe_identity_free(struct aecs_qe_identity *id);

/*
 * Splits a PCS response {"<member>":{...},"signature":"<hex>"} into the exact
 * bytes of the member's value (pointers into json) and the 64-byte signature.
 * The whole text must be valid JSON with exactly those two members.
 */
AECS_MUST_CHECK int aecs_pcs_split(const uint8_t *json, size_t size, const char *member,
                                   const uint8_t **body, size_t *body_size, uint8_t sig[64]);

/* A signed collateral document: the body as received, its signature and issuer chain. */
struct aecs_signed_doc {
    uint8_t *text; /* owns the bytes body points into */
    const uint8_t *body;
    size_t body_size;
    uint8_t sig[64];
    struct aecs_certs *issuer_chain; /* leaf-first: signing cert, then root */
};

/* What was wrong with collateral whose files were read but do not parse. */
enum aecs_collateral_problem {
    AECS_COL_OK = 0,
    AECS_COL_BAD_CRL,
    AECS_COL_BAD_TCB_INFO,
    AECS_COL_BAD_QE_IDENTITY,
    AECS_COL_BAD_SIGNING_CHAIN,
    AECS_COL_BAD_PCK_CHAIN,
};

/* Everything `quote verify` needs besides the quote and the trusted root. */
struct aecs_collateral {
    /* set when a file was read but its content does not parse; parsed members may be NULL */
    enum aecs_collateral_problem problem;
    char problem_message[512];

    struct aecs_certs *pck_chain;      /* optional: for quotes without a type 5 chain */
    struct aecs_crl *root_ca_crl;
    struct aecs_crl *pck_crl;
    struct aecs_certs *pck_crl_chain;  /* optional: the PCK CRL issuer chain */
    struct aecs_signed_doc tcb_info_doc;
    struct aecs_tcb_info *tcb_info;
    struct aecs_signed_doc qe_identity_doc;
    struct aecs_qe_identity *qe_identity;
};

/*
 * Loads collateral from a folder laid out as the test vectors are:
 *   root_ca_crl.der, pck_crl.der (DER, PEM or hex text),
 *   tcb_info.body.json + tcb_info.sig.hex, or tcb_info.json (PCS response),
 *   tcb_info_issuer_chain.pem,
 *   qe_identity.body.json + qe_identity.sig.hex, or qe_identity.json,
 *   qe_identity_issuer_chain.pem,
 *   optional pck_chain.pem and pck_crl_issuer_chain.pem.
 * A missing or unreadable file is an error that names it. A file that was
 * read but does not parse is not an error here: it is recorded in `problem`
 * (the first one found) so that verification reports it as a verdict with
 * Intel's code, as the QvE does; members after it may be left NULL.
 */
AECS_MUST_CHECK int aecs_collateral_load_dir(const char *dir, struct aecs_collateral **out);
void aecs_collateral_free(struct aecs_collateral *c);

#endif
