/*
 * crypto.h - the project's only door to OpenSSL for hashes, keys and signatures.
 *
 * Types are opaque; nothing outside src/crypto sees an OpenSSL type. Keys and
 * certificates are immutable after creation and safe to share between threads
 * for verification (OpenSSL 3 verify operations do not modify EVP_PKEYs).
 */
#ifndef AECS_CRYPTO_CRYPTO_H
#define AECS_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct aecs_pubkey;

enum aecs_hash { AECS_SHA256 = 256, AECS_SHA384 = 384, AECS_SHA512 = 512 };

void aecs_sha256(const void *data, size_t size, uint8_t out[32]);
void aecs_sha384(const void *data, size_t size, uint8_t out[48]);
void aecs_sha512(const void *data, size_t size, uint8_t out[64]);
/* SHA-256 over parts[0..count) concatenated, without copying them. */
struct aecs_bytes {
    const void *data;
    size_t size;
};
AECS_MUST_CHECK int aecs_sha256_parts(const struct aecs_bytes *parts, size_t count,
                                      uint8_t out[32]);

/* Wipes memory in a way the compiler cannot drop. */
void aecs_cleanse(void *p, size_t size);
/* Constant-time comparison: 0 when equal. */
int aecs_ct_memcmp(const void *a, const void *b, size_t size);
AECS_MUST_CHECK int aecs_random_bytes(void *out, size_t size);

/* A P-256 public key from its raw uncompressed coordinates x||y (64 bytes). */
AECS_MUST_CHECK int aecs_pubkey_from_p256_xy(const uint8_t xy[64], struct aecs_pubkey **out);
/* A public key from DER SubjectPublicKeyInfo or PEM. */
AECS_MUST_CHECK int aecs_pubkey_parse(const uint8_t *data, size_t size, struct aecs_pubkey **out);
void aecs_pubkey_free(struct aecs_pubkey *key);
/* Takes another reference on key (for caches); release with aecs_pubkey_free. */
struct aecs_pubkey *aecs_pubkey_ref(struct aecs_pubkey *key);

/*
 * Verifies an ECDSA signature given as big-endian r||s (2*field bytes: 64 for
 * P-256, 96 for P-384) over msg hashed with `hash`. AECS_E_BAD_SIGNATURE when
 * the signature does not verify.
 */
AECS_MUST_CHECK int aecs_ecdsa_verify_rs(const struct aecs_pubkey *key, enum aecs_hash hash,
                                         const void *msg, size_t msg_size, const uint8_t *rs,
                                         size_t rs_size);
/* The same over an already computed digest. */
AECS_MUST_CHECK int aecs_ecdsa_verify_rs_digest(const struct aecs_pubkey *key,
                                                const uint8_t *digest, size_t digest_size,
                                                const uint8_t *rs, size_t rs_size);

/* Makes a P-256 key pair (for tests and benchmarks): private key out. */
struct aecs_privkey;
AECS_MUST_CHECK int aecs_privkey_generate_p256(struct aecs_privkey **out);
void aecs_privkey_free(struct aecs_privkey *key);
/* Signs msg with SHA-256 and writes big-endian r||s (64 bytes). */
AECS_MUST_CHECK int aecs_ecdsa_sign_p256_rs(const struct aecs_privkey *key, const void *msg,
                                            size_t msg_size, uint8_t rs[64]);
/* Raw public x||y of a P-256 private key. */
AECS_MUST_CHECK int aecs_privkey_p256_xy(const struct aecs_privkey *key, uint8_t xy[64]);

#endif
