/*
 * kek.h - the key store's root key (KEK) and what is done with it.
 *
 * The KEK is 32 random bytes made once, at `init`, inside the service. It is
 * held in an opaque struct on the secure heap (secmem.h) and wiped when freed;
 * no function hands its bytes out. Everything else is derived from it:
 *
 *   record key  = HKDF-SHA256(IKM = KEK, salt = none, info = label || path)
 *   check value = HMAC-SHA256(KEK, "aecs kek check")
 *   service id  = hex of HKDF-SHA256(IKM = KEK, salt = none,
 *                                    info = "aecs-service-id-v1")[0..16]
 *
 * The check value is stored in clear beside the data: it tells whether a key
 * put together from Shamir shares (or unsealed from the TEE) is the right one
 * before anything is decrypted with it, and reveals nothing about the key
 * (HMAC-SHA256 is a PRF). See docs/design-keystore.md.
 */
#ifndef AECS_CRYPTO_KEK_H
#define AECS_CRYPTO_KEK_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AECS_KEK_SIZE 32
#define AECS_KEK_CHECK_SIZE 32
/* The message MAC'ed for the check value (ASCII, no terminator). */
#define AECS_KEK_CHECK_LABEL "aecs kek check"

#define AECS_AEAD_NONCE_SIZE 12
#define AECS_AEAD_TAG_SIZE 16

struct aecs_kek;

/* A fresh random KEK (RAND_priv_bytes). The caller frees *out with aecs_kek_free(). */
AECS_MUST_CHECK int aecs_kek_generate(struct aecs_kek **out);

/*
 * A KEK holding a copy of the 32 bytes at key (for keys put together from
 * shares, and for tests). The caller wipes its own copy and frees *out with
 * aecs_kek_free().
 */
AECS_MUST_CHECK int aecs_kek_from_bytes(const uint8_t key[AECS_KEK_SIZE], struct aecs_kek **out);

/* Wipes and frees. NULL is fine. */
void aecs_kek_free(struct aecs_kek *kek);

/* check = HMAC-SHA256(KEK, AECS_KEK_CHECK_LABEL): stored at init, not secret. */
AECS_MUST_CHECK int aecs_kek_check_value(const struct aecs_kek *kek,
                                         uint8_t check[AECS_KEK_CHECK_SIZE]);

/*
 * AECS_OK when kek's check value equals check (compared in constant time),
 * AECS_E_BAD_SIGNATURE otherwise ("does not match the stored check value").
 */
AECS_MUST_CHECK int aecs_kek_verify(const struct aecs_kek *kek,
                                    const uint8_t check[AECS_KEK_CHECK_SIZE]);

/*
 * HKDF-SHA256 (RFC 5869) with the KEK as input key material, no salt and the
 * given info: writes out_size (1..64) bytes of a derived key to out. The caller
 * wipes out after use. info must say what the key is for (domain separation).
 */
AECS_MUST_CHECK int aecs_kek_derive(const struct aecs_kek *kek, const void *info, size_t info_size,
                                    uint8_t *out, size_t out_size);

/*
 * The service id of this root key: the 32 lowercase hex characters of the
 * first 16 bytes of aecs_kek_derive(kek, AECS_KEK_SERVICE_ID_INFO), and a
 * NUL. Stored in clear at /meta/id at init and checked whenever a service
 * gets its KEK, so a store whose /meta/init was replaced by another key's
 * shows another id (docs/design-service.md). Not secret.
 */
#define AECS_KEK_SERVICE_ID_INFO "aecs-service-id-v1"
#define AECS_KEK_SERVICE_ID_HEX 32
AECS_MUST_CHECK int aecs_kek_service_id(const struct aecs_kek *kek,
                                        char out[AECS_KEK_SERVICE_ID_HEX + 1]);

/*
 * AES-256-GCM under the key aecs_kek_derive(kek, info) (derived here and wiped
 * before returning): encrypts size bytes of plain into ct (size bytes; plain
 * and ct may be the same buffer) with a fresh random 96-bit nonce (written to
 * nonce) and the associated data aad, and writes the 128-bit tag.
 */
AECS_MUST_CHECK int aecs_kek_aead_seal(const struct aecs_kek *kek, const void *info,
                                       size_t info_size, const void *aad, size_t aad_size,
                                       const uint8_t *plain, size_t size,
                                       uint8_t nonce[AECS_AEAD_NONCE_SIZE], uint8_t *ct,
                                       uint8_t tag[AECS_AEAD_TAG_SIZE]);

/*
 * The inverse: decrypts size bytes of ct into plain (size bytes) and checks the
 * tag. AECS_E_BAD_SIGNATURE when the tag does not verify (wrong key, info, aad,
 * nonce, or modified ct/tag); plain is wiped then. The message names nothing
 * of the data.
 */
AECS_MUST_CHECK int aecs_kek_aead_open(const struct aecs_kek *kek, const void *info,
                                       size_t info_size, const void *aad, size_t aad_size,
                                       const uint8_t nonce[AECS_AEAD_NONCE_SIZE], const uint8_t *ct,
                                       size_t size, const uint8_t tag[AECS_AEAD_TAG_SIZE],
                                       uint8_t *plain);

/*
 * Wrapping one key under another (the root key under a TEE sealing key, for
 * auto-unseal). The blob is nonce (12) || AES-256-GCM(derived key, kek) (32)
 * || tag (16): AECS_KEK_WRAPPED_SIZE bytes, not secret. The wrapping key is
 * derived from `wrapping` with the given info; aad is authenticated (e.g. the
 * service id, so a blob cannot be moved to another service).
 */
#define AECS_KEK_WRAPPED_SIZE (AECS_AEAD_NONCE_SIZE + AECS_KEK_SIZE + AECS_AEAD_TAG_SIZE)
AECS_MUST_CHECK int aecs_kek_wrap(const struct aecs_kek *wrapping, const struct aecs_kek *kek,
                                  const void *info, size_t info_size, const void *aad,
                                  size_t aad_size, uint8_t out[AECS_KEK_WRAPPED_SIZE]);
/* The inverse; AECS_E_BAD_SIGNATURE for another wrapping key, info, aad, or any changed byte. */
AECS_MUST_CHECK int aecs_kek_unwrap(const struct aecs_kek *wrapping, const void *info,
                                    size_t info_size, const void *aad, size_t aad_size,
                                    const uint8_t blob[AECS_KEK_WRAPPED_SIZE],
                                    struct aecs_kek **out);

/* ---- handing the KEK to a joining replica (docs/protocol-release.md section 5) ---- */

struct aecs_p256_pub;
struct aecs_p256_key;
struct aecs_envelope;
struct aecs_envelope_binding;

/*
 * Seals the KEK's 32 bytes to a joiner's public key in an envelope bound to b
 * (aecs_envelope_seal): the bytes never leave src/crypto in clear. The caller
 * releases *out with aecs_envelope_clear.
 */
AECS_MUST_CHECK int aecs_kek_envelope_seal(const struct aecs_kek *kek,
                                           const struct aecs_p256_pub *to,
                                           const struct aecs_envelope_binding *b,
                                           struct aecs_envelope *out);

/*
 * The inverse, on the joiner: opens env with its key pair for binding b and
 * makes a KEK of the 32 bytes inside (wiped afterwards). AECS_E_FORMAT when
 * the envelope does not hold 32 bytes; the errors of aecs_envelope_open
 * otherwise. Check the result with aecs_kek_verify before using it. The
 * caller frees *out with aecs_kek_free.
 */
AECS_MUST_CHECK int aecs_kek_envelope_open(const struct aecs_p256_key *key,
                                           const struct aecs_envelope_binding *b,
                                           const struct aecs_envelope *env,
                                           struct aecs_kek **out);

#endif
