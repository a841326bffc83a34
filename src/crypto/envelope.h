/*
 * envelope.h - the release protocol's cryptography (docs/protocol-release.md):
 * P-256 key pairs and public keys in the 65-byte uncompressed point form,
 * ECDH, ECDSA-SHA256 signatures in DER, and the envelope that carries one
 * released secret to an application's ephemeral key (ECDH P-256,
 * HKDF-SHA256, AES-256-GCM).
 *
 * Types are opaque. A key pair's private scalar lives inside OpenSSL (secure
 * heap when it is set up) and is wiped when the key is freed; shared secrets
 * and derived keys exist only on this module's stack for one call and are
 * wiped before it returns. Keys are immutable after creation and may be used
 * from several threads at once.
 */
#ifndef AECS_CRYPTO_ENVELOPE_H
#define AECS_CRYPTO_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AECS_P256_PUB_SIZE 65  /* 0x04 || X || Y */
#define AECS_P256_PRIV_SIZE 32 /* the scalar, big-endian */
#define AECS_P256_ECDH_SIZE 32 /* the shared x-coordinate */
#define AECS_P256_SIG_MAX 72   /* a DER ECDSA P-256 signature */

#define AECS_ENVELOPE_LABEL "aecs-envelope-v1"
#define AECS_ENVELOPE_NONCE_SIZE 32 /* the request nonce: HKDF salt, and in the context */
#define AECS_ENVELOPE_IV_SIZE 12
#define AECS_ENVELOPE_TAG_SIZE 16
#define AECS_ENVELOPE_KEY_SIZE 32
#define AECS_ENVELOPE_FIELD_MAX 64 /* service, name, type: 1..64 bytes each */
/* label, NUL, two points, nonce, three length-prefixed fields */
#define AECS_ENVELOPE_CONTEXT_MAX                                                                  \
    (sizeof(AECS_ENVELOPE_LABEL) + 2 * AECS_P256_PUB_SIZE + AECS_ENVELOPE_NONCE_SIZE +             \
     3 * (1 + AECS_ENVELOPE_FIELD_MAX))
/* The largest plaintext an envelope carries (a secret's private part is at most 1 MiB). */
#define AECS_ENVELOPE_PLAIN_MAX ((1u << 20) + (64u << 10))

struct aecs_p256_key; /* a key pair */
struct aecs_p256_pub; /* a public key */

/* ---- keys ---- */

/* A fresh key pair from OpenSSL's generator. The caller frees *out with aecs_p256_key_free. */
AECS_MUST_CHECK int aecs_p256_key_generate(struct aecs_p256_key **out);

/*
 * A key pair from a known private scalar and its public point (fixed test
 * keys). AECS_E_FORMAT when the scalar is 0 or not below the group order,
 * when pub is not a valid point (see aecs_p256_pub_import), or when pub is not
 * the scalar's public key. The caller frees *out with aecs_p256_key_free.
 */
AECS_MUST_CHECK int aecs_p256_key_import(const uint8_t priv[AECS_P256_PRIV_SIZE],
                                         const uint8_t pub[AECS_P256_PUB_SIZE],
                                         struct aecs_p256_key **out);

/* Wipes the private scalar and frees. NULL is fine. */
void aecs_p256_key_free(struct aecs_p256_key *key);

/* The key pair's public point (0x04 || X || Y). */
void aecs_p256_key_public(const struct aecs_p256_key *key, uint8_t pub[AECS_P256_PUB_SIZE]);

/*
 * A public key from its uncompressed point: exactly 65 bytes, first byte 0x04,
 * coordinates below the field prime, on the curve and not the point at
 * infinity. AECS_E_FORMAT otherwise (the message says which). The caller frees
 * *out with aecs_p256_pub_free.
 */
AECS_MUST_CHECK int aecs_p256_pub_import(const uint8_t *data, size_t size,
                                         struct aecs_p256_pub **out);

/* The point as imported (0x04 || X || Y). */
void aecs_p256_pub_export(const struct aecs_p256_pub *pub, uint8_t out[AECS_P256_PUB_SIZE]);

void aecs_p256_pub_free(struct aecs_p256_pub *pub);

/*
 * ECDH: the x-coordinate of key's scalar times peer's point, into z. z is a
 * secret: the caller wipes it with aecs_cleanse.
 */
AECS_MUST_CHECK int aecs_p256_ecdh(const struct aecs_p256_key *key,
                                   const struct aecs_p256_pub *peer,
                                   uint8_t z[AECS_P256_ECDH_SIZE]);

/*
 * ECDSA over SHA-256(msg): writes the DER signature to sig and its size
 * (at most AECS_P256_SIG_MAX) to *sig_size.
 */
AECS_MUST_CHECK int aecs_p256_sign(const struct aecs_p256_key *key, const void *msg, size_t size,
                                   uint8_t sig[AECS_P256_SIG_MAX], size_t *sig_size);

/*
 * AECS_OK when sig is a minimal DER ECDSA signature of SHA-256(msg) by pub;
 * AECS_E_BAD_SIGNATURE for anything else (a wrong, malformed or non-minimal
 * signature, or one longer than AECS_P256_SIG_MAX).
 */
AECS_MUST_CHECK int aecs_p256_verify(const struct aecs_p256_pub *pub, const void *msg, size_t size,
                                     const uint8_t *sig, size_t sig_size);

/* ---- envelopes ---- */

/* What an envelope is bound to besides the two keys (all borrowed). */
struct aecs_envelope_binding {
    const uint8_t *nonce; /* the request nonce, AECS_ENVELOPE_NONCE_SIZE bytes */
    const char *service;  /* NUL-terminated, 1..64 bytes each */
    const char *name;
    const char *type; /* the secret type's name, "SECRET_TYPE_AES256_KEY" */
};

/* One sealed secret. ciphertext is malloc'ed (size bytes; NULL when size is 0). */
struct aecs_envelope {
    uint8_t epk[AECS_P256_PUB_SIZE]; /* the server's ephemeral public key */
    uint8_t iv[AECS_ENVELOPE_IV_SIZE];
    uint8_t tag[AECS_ENVELOPE_TAG_SIZE];
    uint8_t *ciphertext;
    size_t size; /* ciphertext bytes = plaintext bytes */
};

/*
 * The context string of docs/protocol-release.md section 3 for the client's
 * point, the ephemeral point and the binding, into out (*size bytes).
 * AECS_E_INVALID_ARGUMENT when the nonce is NULL or a field is not 1..64 bytes.
 */
AECS_MUST_CHECK int aecs_envelope_context(const uint8_t client_pub[AECS_P256_PUB_SIZE],
                                          const uint8_t eph_pub[AECS_P256_PUB_SIZE],
                                          const struct aecs_envelope_binding *b,
                                          uint8_t out[AECS_ENVELOPE_CONTEXT_MAX], size_t *size);

/*
 * HKDF-SHA256(IKM = z, salt = nonce, info = ctx) into the 32-byte envelope key.
 * Seal and open call it; it is public so tests can check it against
 * `openssl kdf`. key is a secret: the caller wipes it.
 */
AECS_MUST_CHECK int aecs_envelope_derive_key(const uint8_t z[AECS_P256_ECDH_SIZE],
                                             const uint8_t nonce[AECS_ENVELOPE_NONCE_SIZE],
                                             const uint8_t *ctx, size_t ctx_size,
                                             uint8_t key[AECS_ENVELOPE_KEY_SIZE]);

/*
 * Server side: seals size bytes of plain (at most AECS_ENVELOPE_PLAIN_MAX;
 * plain may be NULL when size is 0) to the client's key, bound to b, with a
 * fresh ephemeral key and a random IV. On success the caller owns *out and
 * releases it with aecs_envelope_clear; on failure *out is zeroed.
 * AECS_E_INVALID_ARGUMENT for a bad binding, AECS_E_TOO_LARGE for too much plaintext.
 */
AECS_MUST_CHECK int aecs_envelope_seal(const struct aecs_p256_pub *client,
                                       const struct aecs_envelope_binding *b, const uint8_t *plain,
                                       size_t size, struct aecs_envelope *out);

/*
 * Client side: opens env with the client's key pair, for the binding the
 * client expects. On success *plain is a fresh buffer of *size bytes followed
 * by a NUL that is not counted, on the secure heap; the caller releases it with
 * aecs_envelope_plain_free(*plain, *size). Errors: AECS_E_INVALID_ARGUMENT for
 * a bad binding, AECS_E_TOO_LARGE for a ciphertext over AECS_ENVELOPE_PLAIN_MAX,
 * AECS_E_FORMAT when epk is not a valid point, AECS_E_BAD_SIGNATURE when the
 * tag does not verify (a modified IV, ciphertext, tag or epk, another client
 * key, another nonce, service, name or type). Nothing is returned on failure.
 */
AECS_MUST_CHECK int aecs_envelope_open(const struct aecs_p256_key *client,
                                       const struct aecs_envelope_binding *b,
                                       const struct aecs_envelope *env, uint8_t **plain,
                                       size_t *size);

/* Frees the ciphertext and zeroes the struct. NULL is fine. */
void aecs_envelope_clear(struct aecs_envelope *env);

/* Wipes and frees a plaintext from aecs_envelope_open. NULL is fine. */
void aecs_envelope_plain_free(uint8_t *plain, size_t size);

#endif
