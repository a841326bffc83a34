/*
 * x509_build.h - making keys, certificates and CRLs (the other half of x509.h),
 * for the simulated TEE's test PKI.
 *
 * Everything is built by OpenSSL: names, validity, the X.509v3 extensions
 * (through its extension configuration functions), the Intel SGX extension
 * (through the generic ASN1_TYPE / ASN1_SEQUENCE_ANY encoder) and the
 * signatures. Results come back as the parsed types of x509.h, or as DER.
 *
 * Private keys are P-256 keys stored as unencrypted PKCS#8 PEM files with mode
 * 0600, written atomically; every buffer that held a private key is wiped
 * before it is freed.
 */
#ifndef AECS_CRYPTO_X509_BUILD_H
#define AECS_CRYPTO_X509_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"

/* Writes key to path as PKCS#8 PEM, atomically, with mode 0600. */
AECS_MUST_CHECK int aecs_privkey_save_pem(const struct aecs_privkey *key, const char *path);

/*
 * Reads a P-256 private key from a PEM file (PKCS#8 or SEC1). AECS_E_NOT_FOUND
 * when the file does not exist, AECS_E_FORMAT when it holds no P-256 key. The
 * caller frees *out with aecs_privkey_free().
 */
AECS_MUST_CHECK int aecs_privkey_load_pem(const char *path, struct aecs_privkey **out);

/* Key usage bits for aecs_cert_template.key_usage. */
enum aecs_key_usage {
    AECS_KU_DIGITAL_SIGNATURE = 1u << 0,
    AECS_KU_NON_REPUDIATION = 1u << 1,
    AECS_KU_CERT_SIGN = 1u << 2,
    AECS_KU_CRL_SIGN = 1u << 3,
};

/* What aecs_cert_build() puts in a certificate. */
struct aecs_cert_template {
    const char *subject_cn;                 /* required */
    const char *subject_o;                  /* optional organisation */
    const struct aecs_privkey *subject_key; /* its public half is certified */
    const struct aecs_cert *issuer;         /* NULL: self-signed with subject_key */
    const struct aecs_privkey *issuer_key;  /* the issuer's key (ignored when self-signed) */
    int64_t not_before;
    int64_t not_after;
    int ca;                             /* basicConstraints CA:TRUE (critical) */
    int path_len;                       /* CA path length, -1 for none */
    unsigned key_usage;                 /* AECS_KU_* bits, critical; 0 for none */
    const char *crl_uri;                /* optional CRL distribution point */
    const struct aecs_sgx_ext *sgx_ext; /* optional Intel SGX extension (PCK leaf) */
    /* optional subjectAltName in OpenSSL's form, "DNS:localhost,IP:127.0.0.1" (< 1 KiB) */
    const char *subject_alt_names;
    int server_auth; /* extendedKeyUsage serverAuth (TLS server certificates) */
};

/*
 * Builds and signs (ECDSA with SHA-256) a version 3 certificate with a random
 * positive 20-byte serial, subject and authority key identifiers, and the
 * extensions the template asks for. The caller frees *out.
 */
AECS_MUST_CHECK int aecs_cert_build(const struct aecs_cert_template *t, struct aecs_cert **out);

/* The certificate as PEM text in a fresh NUL-terminated buffer (caller frees). */
AECS_MUST_CHECK int aecs_cert_to_pem(const struct aecs_cert *cert, char **pem, size_t *size);

/*
 * The DER value of the SGX extension (OID 1.2.840.113741.1.13.1) as Intel
 * encodes it: SEQUENCE of {OID, value} for PPID, TCB (16 component SVNs,
 * PCESVN, CPUSVN), PCE-ID, FMSPC and SGX Type, then Platform Instance ID and
 * Configuration when ext says it has them (Platform CA certificates). The
 * caller frees *der with free().
 */
AECS_MUST_CHECK int aecs_sgx_ext_build_der(const struct aecs_sgx_ext *ext, uint8_t **der,
                                           size_t *size);

/* What aecs_crl_build() puts in a CRL. */
struct aecs_crl_template {
    const struct aecs_cert *issuer;
    const struct aecs_privkey *issuer_key;
    int64_t this_update;
    int64_t next_update;
    long number;                            /* CRL Number extension */
    const struct aecs_cert *const *revoked; /* certificates whose serials are listed */
    size_t revoked_count;
};

/*
 * Builds and signs a version 2 CRL (CRL Number and authority key identifier
 * extensions; each revoked entry with reason keyCompromise) and returns its
 * DER in a fresh buffer (caller frees with free()).
 */
AECS_MUST_CHECK int aecs_crl_build(const struct aecs_crl_template *t, uint8_t **der, size_t *size);

#endif
