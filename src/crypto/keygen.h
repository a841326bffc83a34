/*
 * keygen.h - making the key material of secrets: random bytes, key pairs as
 * PEM text, and self-signed certificates (built by x509_build.h).
 *
 * Every private output is on the secure heap (secmem.h): the PEM text is
 * written through a secure-heap memory BIO and copied into a secure-heap
 * buffer, so it never sits in ordinary memory. Public outputs are ordinary
 * malloc'ed text. Callers validate user parameters first (src/keystore/secret.c
 * names the offending field); the checks here are a second line.
 */
#ifndef AECS_CRYPTO_KEYGEN_H
#define AECS_CRYPTO_KEYGEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum aecs_rsa_form {
    AECS_RSA_PKCS1 = 1, /* "RSA PRIVATE KEY" + "RSA PUBLIC KEY" (RFC 8017 structures) */
    AECS_RSA_PKCS8 = 8, /* "PRIVATE KEY" (RFC 5208) + "PUBLIC KEY" (SubjectPublicKeyInfo) */
};

enum aecs_ec_curve {
    AECS_CURVE_P256 = 256,
    AECS_CURVE_P384 = 384,
};

/*
 * A generated key pair (or key + certificate). private_pem is NUL-terminated
 * (the NUL not counted in private_size) and on the secure heap; public_pem is
 * NUL-terminated ordinary heap text. Release with aecs_keypair_pem_clear().
 */
struct aecs_keypair_pem {
    char *private_pem;
    size_t private_size;
    char *public_pem;
    size_t public_size;
};

/* Wipes and frees both parts and zeroes the struct. */
void aecs_keypair_pem_clear(struct aecs_keypair_pem *kp);

/* size bytes from OpenSSL's private random generator (RAND_priv_bytes). */
AECS_MUST_CHECK int aecs_keygen_random(uint8_t *out, size_t size);

/* RSA (e = 65537) of bits 2048, 3072 or 4096, in the given form. */
AECS_MUST_CHECK int aecs_keygen_rsa(unsigned bits, enum aecs_rsa_form form,
                                    struct aecs_keypair_pem *out);

/* An SM2 key (GB/T 32918, curve SM2): PKCS#8 private key, SubjectPublicKeyInfo. */
AECS_MUST_CHECK int aecs_keygen_sm2(struct aecs_keypair_pem *out);

/* An ECDSA/ECDH key on P-256 or P-384: PKCS#8 private key, SubjectPublicKeyInfo. */
AECS_MUST_CHECK int aecs_keygen_ec(enum aecs_ec_curve curve, struct aecs_keypair_pem *out);

/* An Ed25519 key (RFC 8410): PKCS#8 private key, SubjectPublicKeyInfo. */
AECS_MUST_CHECK int aecs_keygen_ed25519(struct aecs_keypair_pem *out);

/*
 * Checks a subject such as "CN=test,O=org": comma-separated ATTR=VALUE pairs
 * (spaces around them ignored, no escapes), each attribute known to OpenSSL
 * and each value accepted by X509_NAME_add_entry_by_txt (so too long a CN is
 * refused). The certificates made here carry CN (required) and O (optional),
 * each at most once. On success *cn and *o (NULL when absent) are fresh
 * strings the caller frees with free(). AECS_E_INVALID_ARGUMENT otherwise,
 * with a message that quotes the offending part.
 */
AECS_MUST_CHECK int aecs_keygen_parse_subject(const char *subject, char **cn, char **o);

/*
 * A fresh RSA key (bits as for aecs_keygen_rsa) and a self-signed X.509 v3
 * certificate for it: subject = issuer = `subject` (see
 * aecs_keygen_parse_subject), valid from `now` for `days` days (1..36500),
 * basicConstraints CA:FALSE, subject/authority key identifiers, random serial,
 * sha256WithRSAEncryption. private_pem is the PKCS#8 private key followed by
 * the certificate; public_pem is the certificate.
 */
AECS_MUST_CHECK int aecs_keygen_self_signed(unsigned bits, unsigned days, const char *subject,
                                            int64_t now, struct aecs_keypair_pem *out);

#endif
