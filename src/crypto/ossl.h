/*
 * ossl.h - private helpers for the src/crypto files that call OpenSSL.
 */
#ifndef AECS_CRYPTO_OSSL_H
#define AECS_CRYPTO_OSSL_H

#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdint.h>

#include "base/err.h"

/*
 * Records `code` with the operation's name and the OpenSSL error queue folded
 * into one message, clears the queue, and returns code.
 */
int aecs_ossl_fail(int code, const char *file, int line, const char *op);

/*
 * HKDF and AES-256-GCM, fetched from the default provider once per process:
 * a fetch (or EVP_aes_256_gcm() at every init) is a lookup under a lock, a
 * cost paid on every sealed record otherwise. NULL when the provider lacks
 * them (the callers then fail as a failed fetch would). Never freed.
 */
EVP_KDF *aecs_ossl_hkdf(void);
const EVP_CIPHER *aecs_ossl_aes256gcm(void);

/*
 * A public-only P-256 key at the generator, made once per process (NULL when
 * the provider cannot make one), and a new key at `point` (uncompressed, 65
 * bytes) copied from it; NULL when the point is not on the curve or memory
 * runs out. Building a key from the curve's name constructs the curve again,
 * which costs about as much as the ECDH the key is for; copying reuses it.
 */
EVP_PKEY *aecs_ossl_p256_template(void);
EVP_PKEY *aecs_ossl_p256_from_point(const uint8_t point[65]);

#define OSSL_FAIL(code, op) aecs_ossl_fail((code), __FILE__, __LINE__, (op))

/* For OpenSSL calls that return 1 on success. */
#define OSSL_GUARD(call, code, op)                                                                 \
    do {                                                                                           \
        if ((call) != 1)                                                                           \
            return OSSL_FAIL((code), (op));                                                        \
    } while (0)

#define OSSL_GUARD_OUT(call, code, op)                                                             \
    do {                                                                                           \
        if ((call) != 1) {                                                                         \
            rc = OSSL_FAIL((code), (op));                                                          \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#endif
