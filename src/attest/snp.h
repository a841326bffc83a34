/*
 * snp.h - AMD SEV-SNP attestation reports: parsing (report versions 2, 3 and 5)
 * and offline verification against the VCEK/VLEK certificate chain.
 *
 * References: AMD SEV Secure Nested Paging Firmware ABI Specification (#56860),
 * ATTESTATION_REPORT structure and TCB_VERSION; AMD VCEK Certificate and KDS
 * Interface Specification (#57230). Offsets are bytes from the start of the
 * 1184-byte (0x4A0) report; integers are little-endian.
 *
 * Verification runs as named stages (parse, chain, signature, identity, tcb,
 * expiry) and reports the first that fails with an SNP_* code; see
 * docs/attestation.md. The ARK of each product is pinned in amd_roots.c; an
 * ARK given with the collateral is accepted only when it is that same ARK.
 */
#ifndef AECS_ATTEST_SNP_H
#define AECS_ATTEST_SNP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/amd.h"
#include "crypto/x509.h"

#define AECS_SNP_REPORT_SIZE 1184  /* 0x4A0 */
#define AECS_SNP_SIGNED_SIZE 0x2A0 /* the signature covers bytes 0..0x29F */

enum aecs_snp_signing_key {
    AECS_SNP_KEY_VCEK = 0,
    AECS_SNP_KEY_VLEK = 1,
    AECS_SNP_KEY_NONE = 7, /* the report is not signed */
};

/* SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384 (the only one defined). */
#define AECS_SNP_SIG_ECDSA_P384_SHA384 1

/* Guest policy bits used here. */
#define AECS_SNP_POLICY_RESERVED_ONE (1ull << 17) /* must be 1 */
#define AECS_SNP_POLICY_DEBUG (1ull << 19)

/*
 * A TCB_VERSION decoded in a product's layout:
 *   Milan, Genoa: [0] BOOT_LOADER [1] TEE [2..5] reserved [6] SNP [7] MICROCODE
 *   Turin:        [0] FMC [1] BOOT_LOADER [2] TEE [3] SNP [4..6] reserved [7] MICROCODE
 */
struct aecs_snp_tcb {
    uint8_t bytes[8]; /* as in the report */
    uint64_t raw;     /* little-endian value of bytes */
    int turin_layout;
    uint8_t fmc; /* Turin only */
    uint8_t bootloader, tee, snp, microcode;
};

void aecs_snp_tcb_decode(const uint8_t bytes[8], int turin_layout, struct aecs_snp_tcb *out);

/* A parsed report, held by value (a copy of its bytes included). */
struct aecs_snp_report {
    uint8_t raw[AECS_SNP_REPORT_SIZE];

    uint32_t version;           /* 0x000: 2, 3 or 5 */
    uint32_t guest_svn;         /* 0x004 */
    uint64_t policy;            /* 0x008 */
    uint8_t family_id[16];      /* 0x010 */
    uint8_t image_id[16];       /* 0x020 */
    uint32_t vmpl;              /* 0x030 */
    uint32_t signature_algo;    /* 0x034 */
    uint8_t current_tcb_raw[8]; /* 0x038 */
    uint64_t platform_info;     /* 0x040 */
    uint32_t flags;             /* 0x048: bit 0 AUTHOR_KEY_EN, 1 MASK_CHIP_ID, 4:2 SIGNING_KEY */
    int author_key_en;
    int mask_chip_id;
    enum aecs_snp_signing_key signing_key;
    uint8_t report_data[64];                                   /* 0x050 */
    uint8_t measurement[48];                                   /* 0x090 */
    uint8_t host_data[32];                                     /* 0x0C0 */
    uint8_t id_key_digest[48];                                 /* 0x0E0 */
    uint8_t author_key_digest[48];                             /* 0x110 */
    uint8_t report_id[32];                                     /* 0x140 */
    uint8_t report_id_ma[32];                                  /* 0x160 */
    uint8_t reported_tcb_raw[8];                               /* 0x180 */
    int has_cpuid;                                             /* version >= 3 */
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step;            /* 0x188..0x18A */
    uint8_t chip_id[64];                                       /* 0x1A0 */
    uint8_t committed_tcb_raw[8];                              /* 0x1E0 */
    uint8_t current_build, current_minor, current_major;       /* 0x1E8..0x1EA */
    uint8_t committed_build, committed_minor, committed_major; /* 0x1EC..0x1EE */
    uint8_t launch_tcb_raw[8];                                 /* 0x1F0 */
    int has_mit_vectors;                                       /* version >= 5 */
    uint64_t launch_mit_vector;                                /* 0x1F8 */
    uint64_t current_mit_vector;                               /* 0x200 */
    uint8_t sig_r[72], sig_s[72];                              /* 0x2A0, 0x2E8: little-endian */

    /*
     * The product line the CPUID fields name (version >= 3), else UNKNOWN. The
     * TCBs below are decoded in its layout (Milan/Genoa when unknown); the
     * verifier decodes them again in the layout of the VCEK's product.
     */
    enum aecs_amd_product product;
    struct aecs_snp_tcb current_tcb, reported_tcb, committed_tcb, launch_tcb;
};

/*
 * Parses a report of exactly AECS_SNP_REPORT_SIZE bytes with the bounded
 * reader, field by field. Fails with AECS_E_TRUNCATED (naming the field) on a
 * short report, AECS_E_TRAILING_DATA on a long one, AECS_E_UNSUPPORTED for a
 * version other than 2, 3, 5, a signature algorithm other than ECDSA P-384 or
 * a reserved SIGNING_KEY, and AECS_E_FORMAT for reserved fields that are not
 * zero (or policy bit 17 that is not one).
 */
AECS_MUST_CHECK int aecs_snp_report_parse(const uint8_t *data, size_t size,
                                          struct aecs_snp_report *out);

/* Decodes the report's four TCBs again in the layout of `product`. */
void aecs_snp_report_set_product(struct aecs_snp_report *r, enum aecs_amd_product product);

/* The product line of CPUID family/model (0 when not an SNP product). */
enum aecs_amd_product aecs_snp_product_from_cpuid(uint8_t family, uint8_t model);

/* "vcek", "vlek" or "none". */
const char *aecs_snp_signing_key_name(enum aecs_snp_signing_key key);

/*
 * Writes the KDS path of the VCEK for this report into buf, e.g.
 *   /vcek/v1/Milan/<128 hex digits>?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115
 *   /vcek/v1/Turin/<16 hex digits>?fmcSPL=1&blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=82
 * (hwID = CHIP_ID, its first 8 bytes on Turin; the SPLs are REPORTED_TCB's
 * components in `product`'s layout). Prefix it with the KDS base URL
 * (https://kdsintf.amd.com). Fails with AECS_E_INVALID_ARGUMENT for an unknown
 * product, a VLEK-signed report, or a masked (all-zero) CHIP_ID, and
 * AECS_E_TOO_LARGE when buf is too small (256 bytes are always enough).
 */
AECS_MUST_CHECK int aecs_snp_kds_vcek_path(const struct aecs_snp_report *r,
                                           enum aecs_amd_product product, char *buf, size_t size);

/* ---- trust anchors (amd_roots.c) ---- */

struct aecs_amd_root {
    enum aecs_amd_product product;
    const uint8_t *ark_der;
    size_t ark_size;
    const uint8_t *ask_der;
    size_t ask_size;
};

/* The pinned ARK (and AMD's ASK) of a product, or NULL. */
const struct aecs_amd_root *aecs_amd_root_for(enum aecs_amd_product product);

/* ---- collateral ---- */

/* Certificates for one report. Every pointer is owned (aecs_snp_collateral_free). */
struct aecs_snp_collateral {
    struct aecs_cert *vcek; /* vcek.der, may be NULL */
    struct aecs_cert *vlek; /* vlek.der, may be NULL */
    struct aecs_cert *ask;  /* ASK or ASVK (ask.pem or cert_chain.pem[0]), may be NULL */
    struct aecs_cert *ark;  /* ark.pem or cert_chain.pem[1], may be NULL */
};

/*
 * Loads a collateral folder: vcek.der and/or vlek.der (DER or PEM; at least
 * one), ask.pem and ark.pem, or else cert_chain.pem (ASK then ARK, as KDS
 * serves it). AECS_E_NOT_FOUND names the missing file; AECS_E_FORMAT a file
 * that does not parse. The caller frees *out.
 */
AECS_MUST_CHECK int aecs_snp_collateral_load_dir(const char *dir, struct aecs_snp_collateral **out);
void aecs_snp_collateral_free(struct aecs_snp_collateral *col);

/* ---- verification ---- */

enum aecs_snp_error {
    AECS_SNP_OK = 0,
    AECS_SNP_REPORT_FORMAT_UNSUPPORTED, /* parse: version, algorithm, signing key */
    AECS_SNP_REPORT_MALFORMED,          /* parse: size, reserved fields */
    AECS_SNP_VEK_MISSING,               /* chain: no VCEK/VLEK for the report's SIGNING_KEY */
    AECS_SNP_VEK_INVALID,               /* chain: VCEK/VLEK extensions or key */
    AECS_SNP_CERT_CHAIN_ERROR,          /* chain: ARK/ASK/VEK links, algorithms, wrong ARK */
    AECS_SNP_REPORT_INVALID_SIGNATURE,  /* signature */
    AECS_SNP_PRODUCT_MISMATCH,          /* identity: CPUID product != VCEK product */
    AECS_SNP_CHIP_ID_MISMATCH,          /* identity */
    AECS_SNP_TCB_MISMATCH,              /* tcb */
    AECS_SNP_COLLATERAL_EXPIRED,        /* expiry */
    AECS_SNP_INTERNAL_ERROR,
    AECS_SNP_ERROR_COUNT
};

/* "SNP_CHIP_ID_MISMATCH", ... ("SNP_OK" for AECS_SNP_OK). */
const char *aecs_snp_error_name(enum aecs_snp_error e);

struct aecs_snp_result {
    int verified; /* 1 only when every stage passed and the chain is valid at the time */

    int collateral_expired;          /* the time is outside ARK, ASK and VEK validity */
    int64_t valid_from, valid_until; /* intersection; valid_until 0 when unknown */

    /* when not verified */
    const char *stage; /* parse, chain, signature, identity, tcb, expiry */
    enum aecs_snp_error error;
    char message[512];

    /* details, all by value */
    int report_parsed;
    struct aecs_snp_report report;
    int vek_parsed;
    struct aecs_amd_vek_ext vek;
    enum aecs_amd_product product; /* the VEK's product line */
    char ask_cn[64], ark_cn[64];
};

/*
 * Verifies report[0..size) against the collateral at time `at` (seconds since
 * the epoch). Always fills `res` (it need not be initialized). The chain is
 * ARK (pinned for the VEK's product; a given ARK must be the same key and
 * subject) -> ASK/ASVK (given, or AMD's for a VCEK) -> VCEK/VLEK, every link
 * RSASSA-PSS SHA-384.
 */
void aecs_snp_verify(const uint8_t *report, size_t size, const struct aecs_snp_collateral *col,
                     int64_t at, struct aecs_snp_result *res);

/*
 * The stage checks on their own, for callers (and tests) that hold a parsed
 * report and certificates. Each returns AECS_OK or an aecs_err code with a
 * message.
 *
 * aecs_snp_check_chain: ark is self-signed, ask issued by ark, vek issued by
 *   ask, each with RSASSA-PSS SHA-384, and vek has a P-384 key. It does not
 *   look at pinning or time.
 * aecs_snp_check_signature: the report's ECDSA P-384 signature with vek's key.
 * aecs_snp_check_identity: the CPUID product (version >= 3) equals the VEK's;
 *   for a VCEK, unless MASK_CHIP_ID is set, CHIP_ID equals hwID (64 bytes on
 *   Milan/Genoa; on Turin hwID is 8 bytes and equals CHIP_ID's first 8).
 *   AECS_E_MISMATCH.
 * aecs_snp_check_tcb: REPORTED_TCB equals the TCB of the VEK's SPL extensions
 *   (all eight bytes). AECS_E_MISMATCH names the component.
 */
AECS_MUST_CHECK int aecs_snp_check_chain(const struct aecs_cert *vek, const struct aecs_cert *ask,
                                         const struct aecs_cert *ark);
AECS_MUST_CHECK int aecs_snp_check_signature(const struct aecs_snp_report *r,
                                             const struct aecs_cert *vek);
AECS_MUST_CHECK int aecs_snp_check_identity(const struct aecs_snp_report *r,
                                            const struct aecs_amd_vek_ext *vek);
AECS_MUST_CHECK int aecs_snp_check_tcb(const struct aecs_snp_report *r,
                                       const struct aecs_amd_vek_ext *vek);

#endif
