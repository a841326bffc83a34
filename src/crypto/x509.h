/*
 * x509.h - certificates, certificate chains, CRLs and the Intel SGX PCK
 * certificate extensions, behind opaque types.
 *
 * Time-related checks are left to the caller: functions here report validity
 * dates and verify signatures, issuer names and CA flags, so that the
 * attestation code can report expired collateral separately from a bad chain,
 * as Intel's library does.
 */
#ifndef AECS_CRYPTO_X509_H
#define AECS_CRYPTO_X509_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/crypto.h"

struct aecs_cert;
struct aecs_certs; /* an ordered list of certificates */
struct aecs_crl;

/* One certificate, DER or PEM. */
AECS_MUST_CHECK int aecs_cert_parse(const uint8_t *data, size_t size, struct aecs_cert **out);
void aecs_cert_free(struct aecs_cert *cert);
struct aecs_cert *aecs_cert_ref(struct aecs_cert *cert);

/*
 * A list of certificates: a PEM bundle (text outside the PEM blocks and
 * trailing NUL bytes are ignored) or DER certificates back to back.
 * At least one certificate; at most 8.
 */
AECS_MUST_CHECK int aecs_certs_parse(const uint8_t *data, size_t size, struct aecs_certs **out);
void aecs_certs_free(struct aecs_certs *certs);
/* A new list holding references to the same certificates. */
AECS_MUST_CHECK int aecs_certs_dup(const struct aecs_certs *certs, struct aecs_certs **out);
size_t aecs_certs_count(const struct aecs_certs *certs);
/* Borrowed: valid while certs lives. */
struct aecs_cert *aecs_certs_get(const struct aecs_certs *certs, size_t i);

/*
 * Sorts a chain into leaf-first order by issuer and subject names: each
 * certificate's issuer is the next one's subject and the last is self-issued.
 * AECS_E_FORMAT when the certificates do not form one such chain.
 */
AECS_MUST_CHECK int aecs_certs_order_chain(struct aecs_certs *certs);

/*
 * Decoded certificates are expensive to make with OpenSSL 3.0 (most of the
 * cost is decoding the public key), so certificates that come from trusted
 * collateral (Intel's CAs, TCB signing certificates, pinned roots) are kept in
 * a small process-wide cache keyed by the SHA-256 of their DER and shared by
 * reference. The cache only saves decoding: every use still checks chains and
 * signatures. It is bounded; when full, certificates are decoded as usual.
 */
enum aecs_certs_cache_mode {
    AECS_CERTS_NO_CACHE = 0,
    AECS_CERTS_CACHE_LOOKUP = 1, /* reuse cached certificates (for untrusted input) */
    AECS_CERTS_CACHE_INSERT = 3, /* reuse, and keep new ones (for trusted collateral) */
};

/* aecs_certs_parse with the certificate cache. */
AECS_MUST_CHECK int aecs_certs_parse_cached(const uint8_t *data, size_t size,
                                            enum aecs_certs_cache_mode mode,
                                            struct aecs_certs **out);
/* One DER or PEM certificate through the cache. */
AECS_MUST_CHECK int aecs_cert_parse_cached(const uint8_t *data, size_t size,
                                           enum aecs_certs_cache_mode mode,
                                           struct aecs_cert **out);

/* Borrowed public key of the certificate. */
const struct aecs_pubkey *aecs_cert_pubkey(const struct aecs_cert *cert);
int64_t aecs_cert_not_before(const struct aecs_cert *cert);
int64_t aecs_cert_not_after(const struct aecs_cert *cert);
/* The subject's common name, cut to fit (empty when absent). */
void aecs_cert_subject_cn(const struct aecs_cert *cert, char *buf, size_t size);
/* One-line subject, for messages. */
void aecs_cert_subject_line(const struct aecs_cert *cert, char *buf, size_t size);
/* 1 when both are byte-identical certificates. */
int aecs_cert_equal(const struct aecs_cert *a, const struct aecs_cert *b);
/* 1 when both carry the same subject and public key (the same CA, maybe re-issued). */
int aecs_cert_same_key_and_subject(const struct aecs_cert *a, const struct aecs_cert *b);
/* SHA-256 of the DER encoding. */
void aecs_cert_fingerprint(const struct aecs_cert *cert, uint8_t out[32]);
/* 1 when the certificate is a CA (basicConstraints CA:TRUE, or a v1 self-signed root). */
int aecs_cert_is_ca(const struct aecs_cert *cert);
/* 1 when subject == issuer. */
int aecs_cert_self_issued(const struct aecs_cert *cert);
/* The DER encoding (borrowed, valid while cert lives). */
const uint8_t *aecs_cert_der(const struct aecs_cert *cert, size_t *size);

/*
 * Checks that `issuer` issued `cert`: names (and key identifiers) match, the
 * issuer may sign certificates (CA, keyCertSign), and the signature verifies
 * with the issuer's key. AECS_E_MISMATCH for the first two, AECS_E_BAD_SIGNATURE
 * for the last.
 */
AECS_MUST_CHECK int aecs_cert_check_issued_by(const struct aecs_cert *cert,
                                              const struct aecs_cert *issuer);

/* A CRL as DER, PEM, or the hex text of its DER. */
AECS_MUST_CHECK int aecs_crl_parse(const uint8_t *data, size_t size, struct aecs_crl **out);
void aecs_crl_free(struct aecs_crl *crl);
struct aecs_crl *aecs_crl_ref(struct aecs_crl *crl);
int64_t aecs_crl_this_update(const struct aecs_crl *crl);
/* 0 when the CRL has no nextUpdate. */
int64_t aecs_crl_next_update(const struct aecs_crl *crl);
/* Issuer name matches and the signature verifies (AECS_E_MISMATCH / AECS_E_BAD_SIGNATURE). */
AECS_MUST_CHECK int aecs_crl_check_issued_by(const struct aecs_crl *crl,
                                             const struct aecs_cert *issuer);
/* 1 when cert's serial is listed (the caller has checked the CRL's issuer). */
int aecs_crl_lists(const struct aecs_crl *crl, const struct aecs_cert *cert);

/* The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1). */
struct aecs_sgx_ext {
    uint8_t ppid[16];
    uint8_t tcb_comp[16];
    uint16_t pcesvn;
    uint8_t cpusvn[16];
    uint8_t pceid[2];
    uint8_t fmspc[6];
    int sgx_type; /* 0 Standard, 1 Scalable, 2 Scalable with integrity */
    int has_platform_instance_id;
    uint8_t platform_instance_id[16];
    int has_configuration;
    int dynamic_platform; /* -1 when absent, else 0/1 */
    int cached_keys;
    int smt_enabled;
};

/*
 * Parses the SGX extension of a PCK certificate with OpenSSL's ASN.1 API.
 * Every mandatory field must be present exactly once with the right type and
 * size; AECS_E_FORMAT names the field otherwise.
 */
AECS_MUST_CHECK int aecs_sgx_ext_parse_cert(const struct aecs_cert *cert,
                                            struct aecs_sgx_ext *out);
/* The same from the DER of the extension's value (for fuzzing). */
AECS_MUST_CHECK int aecs_sgx_ext_parse_der(const uint8_t *der, size_t size,
                                           struct aecs_sgx_ext *out);

#endif
