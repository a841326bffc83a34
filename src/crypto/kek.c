/*
 * kek.c - the key store's root key: generation, check value, HKDF derivation
 * and AES-256-GCM under derived keys; see kek.h.
 *
 * The struct lives on the secure heap (secmem.h). Derived keys exist only on
 * this file's stack for the duration of one call and are wiped before it
 * returns; nothing outside src/crypto ever sees a key byte.
 */
#include "crypto/kek.h"
#include "crypto/envelope.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string.h>

#include "base/codec.h"
#include "crypto/ossl.h"
#include "crypto/secmem.h"

/* HKDF info limit: OpenSSL 3.0 keeps at most 1024 bytes of info. */
#define MAX_INFO_SIZE 1024

struct aecs_kek {
    uint8_t key[AECS_KEK_SIZE];
};

/* Internal (src/crypto only): the key bytes, for shamir.c. */
const uint8_t *aecs_kek_bytes(const struct aecs_kek *kek);
const uint8_t *aecs_kek_bytes(const struct aecs_kek *kek)
{
    return kek->key;
}

static struct aecs_kek *kek_new(void)
{
    return aecs_secure_alloc(sizeof(struct aecs_kek));
}

int aecs_kek_generate(struct aecs_kek **out)
{
    struct aecs_kek *kek = kek_new();

    *out = NULL;
    ENSURE(kek != NULL, AECS_E_NO_MEMORY, "out of memory");
    if (RAND_priv_bytes(kek->key, sizeof(kek->key)) != 1) {
        aecs_kek_free(kek);
        return OSSL_FAIL(AECS_E_CRYPTO, "RAND_priv_bytes(KEK)");
    }
    *out = kek;
    return AECS_OK;
}

int aecs_kek_from_bytes(const uint8_t key[AECS_KEK_SIZE], struct aecs_kek **out)
{
    struct aecs_kek *kek = kek_new();

    *out = NULL;
    ENSURE(kek != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(kek->key, key, AECS_KEK_SIZE);
    *out = kek;
    return AECS_OK;
}

void aecs_kek_free(struct aecs_kek *kek)
{
    aecs_secure_free(kek, sizeof(*kek));
}

int aecs_kek_check_value(const struct aecs_kek *kek, uint8_t check[AECS_KEK_CHECK_SIZE])
{
    size_t len = 0;

    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, kek->key, sizeof(kek->key),
                  (const unsigned char *)AECS_KEK_CHECK_LABEL, strlen(AECS_KEK_CHECK_LABEL), check,
                  AECS_KEK_CHECK_SIZE, &len) == NULL ||
        len != AECS_KEK_CHECK_SIZE)
        return OSSL_FAIL(AECS_E_CRYPTO, "HMAC-SHA256(KEK check value)");
    return AECS_OK;
}

int aecs_kek_verify(const struct aecs_kek *kek, const uint8_t check[AECS_KEK_CHECK_SIZE])
{
    uint8_t mine[AECS_KEK_CHECK_SIZE];
    int same;

    GUARD(aecs_kek_check_value(kek, mine));
    same = CRYPTO_memcmp(mine, check, sizeof(mine)) == 0;
    ENSURE(same, AECS_E_BAD_SIGNATURE,
           "the key does not match the stored check value (wrong or mismatched shares, "
           "or a check value from another store)");
    return AECS_OK;
}

int aecs_kek_derive(const struct aecs_kek *kek, const void *info, size_t info_size, uint8_t *out,
                    size_t out_size)
{
    int rc = AECS_OK;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[4];

    ENSURE(info != NULL && info_size > 0 && info_size <= MAX_INFO_SIZE, AECS_E_INVALID_ARGUMENT,
           "key derivation: info of %zu bytes (1..%d)", info_size, MAX_INFO_SIZE);
    ENSURE(out_size > 0 && out_size <= 64, AECS_E_INVALID_ARGUMENT,
           "key derivation: %zu output bytes (1..64)", out_size);
    kdf = aecs_ossl_hkdf();
    ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    if (ctx == NULL) {
        rc = OSSL_FAIL(AECS_E_CRYPTO, "EVP_KDF_fetch(HKDF)");
        goto out;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)kek->key, sizeof(kek->key));
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_size);
    params[3] = OSSL_PARAM_construct_end();
    OSSL_GUARD_OUT(EVP_KDF_derive(ctx, out, out_size, params), AECS_E_CRYPTO, "HKDF-SHA256 derive");
out:
    if (rc != AECS_OK)
        OPENSSL_cleanse(out, out_size);
    EVP_KDF_CTX_free(ctx); /* clears the copy of the key it holds */
    return rc;
}

int aecs_kek_service_id(const struct aecs_kek *kek, char out[AECS_KEK_SERVICE_ID_HEX + 1])
{
    uint8_t raw[AECS_KEK_SERVICE_ID_HEX / 2];
    int rc;

    out[0] = '\0';
    rc = aecs_kek_derive(kek, AECS_KEK_SERVICE_ID_INFO, strlen(AECS_KEK_SERVICE_ID_INFO), raw,
                         sizeof(raw));
    if (rc == AECS_OK)
        aecs_hex_encode(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

int aecs_kek_aead_seal(const struct aecs_kek *kek, const void *info, size_t info_size,
                       const void *aad, size_t aad_size, const uint8_t *plain, size_t size,
                       uint8_t nonce[AECS_AEAD_NONCE_SIZE], uint8_t *ct,
                       uint8_t tag[AECS_AEAD_TAG_SIZE])
{
    int rc = AECS_OK;
    uint8_t key[32];
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t fin[AECS_AEAD_TAG_SIZE];
    int len = 0;

    ENSURE(size <= INT_MAX && aad_size <= INT_MAX, AECS_E_TOO_LARGE, "AEAD: input too large");
    GUARD(aecs_kek_derive(kek, info, info_size, key, sizeof(key)));
    OSSL_GUARD_OUT(RAND_bytes(nonce, AECS_AEAD_NONCE_SIZE), AECS_E_CRYPTO, "RAND_bytes(nonce)");
    ctx = EVP_CIPHER_CTX_new();
    ENSURE_OUT(ctx != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_EncryptInit_ex(ctx, aecs_ossl_aes256gcm(), NULL, key, nonce), AECS_E_CRYPTO,
                   "AES-256-GCM init");
    if (aad_size > 0)
        OSSL_GUARD_OUT(EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_size), AECS_E_CRYPTO,
                       "AES-256-GCM aad");
    if (size > 0)
        OSSL_GUARD_OUT(EVP_EncryptUpdate(ctx, ct, &len, plain, (int)size), AECS_E_CRYPTO,
                       "AES-256-GCM encrypt");
    /* GCM writes nothing at final; fin keeps pointer arithmetic off ct (which may be NULL). */
    OSSL_GUARD_OUT(EVP_EncryptFinal_ex(ctx, fin, &len), AECS_E_CRYPTO, "AES-256-GCM final");
    OSSL_GUARD_OUT(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AECS_AEAD_TAG_SIZE, tag),
                   AECS_E_CRYPTO, "AES-256-GCM tag");
out:
    OPENSSL_cleanse(key, sizeof(key));
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int aecs_kek_aead_open(const struct aecs_kek *kek, const void *info, size_t info_size,
                       const void *aad, size_t aad_size, const uint8_t nonce[AECS_AEAD_NONCE_SIZE],
                       const uint8_t *ct, size_t size, const uint8_t tag[AECS_AEAD_TAG_SIZE],
                       uint8_t *plain)
{
    int rc = AECS_OK;
    uint8_t key[32];
    uint8_t tag_copy[AECS_AEAD_TAG_SIZE];
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t fin[AECS_AEAD_TAG_SIZE];
    int len = 0;

    ENSURE(size <= INT_MAX && aad_size <= INT_MAX, AECS_E_TOO_LARGE, "AEAD: input too large");
    GUARD(aecs_kek_derive(kek, info, info_size, key, sizeof(key)));
    memcpy(tag_copy, tag, sizeof(tag_copy)); /* EVP's SET_TAG takes a non-const pointer */
    ctx = EVP_CIPHER_CTX_new();
    ENSURE_OUT(ctx != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_DecryptInit_ex(ctx, aecs_ossl_aes256gcm(), NULL, key, nonce), AECS_E_CRYPTO,
                   "AES-256-GCM init");
    if (aad_size > 0)
        OSSL_GUARD_OUT(EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_size), AECS_E_CRYPTO,
                       "AES-256-GCM aad");
    if (size > 0)
        OSSL_GUARD_OUT(EVP_DecryptUpdate(ctx, plain, &len, ct, (int)size), AECS_E_CRYPTO,
                       "AES-256-GCM decrypt");
    OSSL_GUARD_OUT(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AECS_AEAD_TAG_SIZE, tag_copy),
                   AECS_E_CRYPTO, "AES-256-GCM set tag");
    if (EVP_DecryptFinal_ex(ctx, fin, &len) != 1) {
        ERR_clear_error();
        BAIL_OUT(AECS_E_BAD_SIGNATURE, "authentication tag does not verify");
    }
out:
    if (rc != AECS_OK && size > 0)
        OPENSSL_cleanse(plain, size);
    OPENSSL_cleanse(key, sizeof(key));
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int aecs_kek_wrap(const struct aecs_kek *wrapping, const struct aecs_kek *kek, const void *info,
                  size_t info_size, const void *aad, size_t aad_size,
                  uint8_t out[AECS_KEK_WRAPPED_SIZE])
{
    return aecs_kek_aead_seal(wrapping, info, info_size, aad, aad_size, kek->key, AECS_KEK_SIZE,
                              out, out + AECS_AEAD_NONCE_SIZE,
                              out + AECS_AEAD_NONCE_SIZE + AECS_KEK_SIZE);
}

int aecs_kek_unwrap(const struct aecs_kek *wrapping, const void *info, size_t info_size,
                    const void *aad, size_t aad_size, const uint8_t blob[AECS_KEK_WRAPPED_SIZE],
                    struct aecs_kek **out)
{
    struct aecs_kek *kek = kek_new();
    int rc;

    *out = NULL;
    ENSURE(kek != NULL, AECS_E_NO_MEMORY, "out of memory");
    rc = aecs_kek_aead_open(wrapping, info, info_size, aad, aad_size, blob,
                            blob + AECS_AEAD_NONCE_SIZE, AECS_KEK_SIZE,
                            blob + AECS_AEAD_NONCE_SIZE + AECS_KEK_SIZE, kek->key);
    if (rc != AECS_OK) {
        aecs_kek_free(kek);
        return rc;
    }
    *out = kek;
    return AECS_OK;
}

/* ---- handing the KEK to a joining replica ---- */

int aecs_kek_envelope_seal(const struct aecs_kek *kek, const struct aecs_p256_pub *to,
                           const struct aecs_envelope_binding *b, struct aecs_envelope *out)
{
    ENSURE(kek != NULL && to != NULL && b != NULL, AECS_E_INVALID_ARGUMENT,
           "kek envelope: missing argument");
    return aecs_envelope_seal(to, b, kek->key, sizeof(kek->key), out);
}

int aecs_kek_envelope_open(const struct aecs_p256_key *key, const struct aecs_envelope_binding *b,
                           const struct aecs_envelope *env, struct aecs_kek **out)
{
    uint8_t *plain = NULL;
    size_t size = 0;
    int rc;

    *out = NULL;
    GUARD(aecs_envelope_open(key, b, env, &plain, &size));
    if (size != AECS_KEK_SIZE)
        rc = AECS_ERR(AECS_E_FORMAT, "kek envelope: holds %zu bytes, not a %d-byte root key",
                      size, AECS_KEK_SIZE);
    else
        rc = aecs_kek_from_bytes(plain, out);
    aecs_envelope_plain_free(plain, size);
    return rc;
}
