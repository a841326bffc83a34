/*
 * amd.h - the AMD parts of SEV-SNP certificates: the KDS extensions of a VCEK or
 * VLEK certificate (AMD publication 57230, "Versioned Chip Endorsement Key
 * (VCEK) Certificate and KDS Interface Specification", and AMD's VLEK
 * certificate definition), and the algorithm checks AMD's chain requires
 * (RSASSA-PSS with SHA-384 for every signature in ARK -> ASK -> VCEK, an ECDSA
 * P-384 key in the VCEK).
 *
 * Everything here is decoded with OpenSSL's ASN.1 API; nothing parses DER by
 * hand.
 */
#ifndef AECS_CRYPTO_AMD_H
#define AECS_CRYPTO_AMD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/x509.h"

/* AMD EPYC product lines with SEV-SNP; each has its own ARK and ASK. */
enum aecs_amd_product {
    AECS_AMD_PRODUCT_UNKNOWN = 0,
    AECS_AMD_MILAN, /* family 19h, models 00h-0Fh (Zen 3) */
    AECS_AMD_GENOA, /* family 19h, models 10h-1Fh and A0h-AFh (Zen 4) */
    AECS_AMD_TURIN, /* family 1Ah (Zen 5) */
};

/* "Milan", "Genoa", "Turin" or "unknown". */
const char *aecs_amd_product_name(enum aecs_amd_product p);
/*
 * The product line of a KDS productName: the part before the first '-'
 * ("Milan-B0" -> Milan, "Turin" -> Turin). UNKNOWN for anything else.
 */
enum aecs_amd_product aecs_amd_product_from_name(const char *name);
/* 1 when the product uses the Turin TCB_VERSION layout (FMC first). */
int aecs_amd_product_turin_layout(enum aecs_amd_product p);

/* Prefix of AMD's KDS certificate extensions. */
#define AECS_AMD_KDS_OID "1.3.6.1.4.1.3704.1"

#define AECS_AMD_HWID_MAX 64
#define AECS_AMD_CSP_ID_MAX 128

/*
 * The KDS extensions of a VCEK or VLEK certificate.
 *   .1    structVersion  INTEGER    0 Milan/Genoa, 1 Turin
 *   .2    productName    IA5String  "Milan-B0", "Genoa", "Turin", ...
 *   .3.N  SPLs           INTEGER    1 blSPL, 2 teeSPL, 3 snpSPL, 4-7 reserved,
 *                                   8 ucodeSPL, 9 fmcSPL (structVersion 1 only;
 *                                   .3.4 exists only in structVersion 0)
 *   .4    hwID           raw bytes  VCEK only: 64 bytes (structVersion 0) or 8
 *                                   (structVersion 1); KDS puts the bytes in
 *                                   the extension value without a DER tag
 *   .5    csp_id         IA5String  VLEK only
 */
struct aecs_amd_vek_ext {
    int struct_version;
    char product_name[64]; /* as in the certificate */
    enum aecs_amd_product product;
    int is_vlek;          /* csp_id present, no hwID */
    uint8_t spl[10];      /* spl[N] is the value of .3.N */
    uint16_t spl_present; /* bit N set when .3.N is present */
    uint8_t bl_spl, tee_spl, snp_spl, ucode_spl, fmc_spl;
    int has_fmc_spl;
    /* The TCB_VERSION these SPLs make, as a report encodes it (8 bytes, LE). */
    uint8_t tcb[8];
    uint64_t tcb_raw;
    size_t hwid_size; /* 0 for a VLEK */
    uint8_t hwid[AECS_AMD_HWID_MAX];
    char csp_id[AECS_AMD_CSP_ID_MAX];
};

/*
 * Parses the KDS extensions of a VCEK or VLEK certificate. Each extension may
 * appear once; structVersion, productName and the SPLs of the structure
 * version are mandatory, productName must name a known product line whose
 * structure version matches, and exactly one of hwID (VCEK, of the size its
 * structure version implies) or csp_id (VLEK) is present. Extensions outside
 * the KDS arc are ignored. AECS_E_FORMAT names what is wrong.
 */
AECS_MUST_CHECK int aecs_amd_vek_ext_parse(const struct aecs_cert *cert,
                                           struct aecs_amd_vek_ext *out);

/*
 * Checks the certificate's signature algorithm: RSASSA-PSS with SHA-384,
 * MGF1 with SHA-384, a 48-byte salt and trailer field 1, the same in the
 * outer and the signed algorithm identifiers. AECS_E_MISMATCH otherwise.
 */
AECS_MUST_CHECK int aecs_amd_check_pss_sha384(const struct aecs_cert *cert);

/* Checks that the certificate's public key is an ECDSA P-384 key (AECS_E_MISMATCH). */
AECS_MUST_CHECK int aecs_amd_check_p384_key(const struct aecs_cert *cert);

#endif
