/*
 * quote.h - Intel DCAP quotes: SGX v3, TDX v4 and v5 (TD report 1.0 and 1.5).
 *
 * aecs_quote_parse() checks the whole layout with a bounded reader and keeps
 * pointers into the caller's buffer (which must outlive the quote struct) for
 * the signed regions, plus decoded copies of the fields the verifier and
 * policies use. Bytes after the signature data are ignored (real quotes carry
 * padding there); everything inside it must add up exactly.
 */
#ifndef AECS_ATTEST_QUOTE_H
#define AECS_ATTEST_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AECS_QUOTE_HEADER_SIZE 48
#define AECS_SGX_REPORT_SIZE 384
#define AECS_TD10_REPORT_SIZE 584
#define AECS_TD15_REPORT_SIZE 648

#define AECS_TEE_TYPE_SGX 0x00000000u
#define AECS_TEE_TYPE_TDX 0x00000081u
#define AECS_ATT_KEY_ECDSA_P256 2

enum aecs_body_type {
    AECS_BODY_SGX = 1,
    AECS_BODY_TD10 = 2,
    AECS_BODY_TD15 = 3,
};

/* An SGX enclave report body (384 bytes), as in the quote and the QE report. */
struct aecs_sgx_report {
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t isv_ext_prod_id[16];
    uint8_t attributes[16];
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint8_t config_id[64];
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint16_t config_svn;
    uint8_t isv_family_id[16];
    uint8_t report_data[64];
};

/* A TD report body: 1.0 (584 bytes) or 1.5 (648 bytes, with the last two fields). */
struct aecs_td_report {
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    int is_td15;
    uint8_t tee_tcb_svn2[16];
    uint8_t mrservicetd[48];
};

struct aecs_quote {
    /* header */
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type; /* v4/v5; 0 for v3 */
    uint16_t qe_svn;   /* v3 only */
    uint16_t pce_svn;  /* v3 only */
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];

    enum aecs_body_type body_type;
    struct aecs_sgx_report sgx; /* when body_type == AECS_BODY_SGX */
    struct aecs_td_report td;   /* when body_type is TD10 or TD15 */

    /* what the attestation key signs: header and body (v5: with body type and size) */
    const uint8_t *signed_data;
    size_t signed_size;
    const uint8_t *body;
    size_t body_size;

    /* signature data */
    uint32_t sig_data_size;
    const uint8_t *signature;  /* 64: r||s over signed_data */
    const uint8_t *attest_key; /* 64: P-256 x||y */
    uint16_t outer_cert_type;  /* 6 for v4/v5, the type of the v3 cert data otherwise */
    const uint8_t *qe_report_raw; /* 384, signed by the PCK key */
    struct aecs_sgx_report qe_report;
    const uint8_t *qe_report_sig; /* 64 */
    const uint8_t *qe_auth_data;
    uint16_t qe_auth_size;
    uint16_t cert_type; /* certification data type: 5 = PCK chain, 1..4 others */
    const uint8_t *cert_data;
    uint32_t cert_size;

    size_t trailing_size; /* bytes after the signature data, ignored */
};

/*
 * Parses a quote from data[0..size). On failure: AECS_E_TRUNCATED,
 * AECS_E_TRAILING_DATA, AECS_E_UNSUPPORTED or AECS_E_FORMAT with a message that
 * names the field. `q` borrows from data.
 */
AECS_MUST_CHECK int aecs_quote_parse(const uint8_t *data, size_t size, struct aecs_quote *q);

/* Parses a 384-byte SGX report body. */
void aecs_sgx_report_decode(const uint8_t raw[AECS_SGX_REPORT_SIZE], struct aecs_sgx_report *out);

/* Intel's QE vendor id (939A7233-F79C-4CA9-940A-0DB3957F0607). */
extern const uint8_t g_aecs_intel_qe_vendor_id[16];

#endif
