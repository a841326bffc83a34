/*
 * crypto.c - hashes, raw ECDSA keys and signatures over OpenSSL 3's EVP API.
 *
 * Signatures arrive in attestation formats as fixed-size big-endian r||s; they
 * are turned into the DER form EVP expects with ECDSA_SIG, never by hand.
 */
#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ossl.h"

struct aecs_pubkey {
    EVP_PKEY *pkey;
};

struct aecs_privkey {
    EVP_PKEY *pkey;
};

int aecs_ossl_fail(int code, const char *file, int line, const char *op)
{
    char detail[256] = "";
    unsigned long e = ERR_get_error();

    if (e != 0)
        ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    return aecs_err_set(code, file, line, "%s failed%s%s", op, detail[0] ? ": " : "", detail);
}

static EVP_KDF *g_hkdf;
static EVP_CIPHER *g_aes256gcm;
static pthread_once_t g_fetch_once = PTHREAD_ONCE_INIT;

static void fetch_once(void)
{
    g_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    g_aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

EVP_KDF *aecs_ossl_hkdf(void)
{
    pthread_once(&g_fetch_once, fetch_once);
    return g_hkdf;
}

const EVP_CIPHER *aecs_ossl_aes256gcm(void)
{
    pthread_once(&g_fetch_once, fetch_once);
    return g_aes256gcm;
}

static EVP_PKEY *g_p256_template;
static pthread_once_t g_p256_once = PTHREAD_ONCE_INIT;

static void p256_template_init(void)
{
    static const uint8_t generator[65] = {
        0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
        0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4,
        0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a,
        0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33,
        0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
    uint8_t point[sizeof(generator)];
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

    memcpy(point, generator, sizeof(point)); /* OSSL_PARAM wants a non-const pointer */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
    params[2] = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &g_p256_template, EVP_PKEY_PUBLIC_KEY, params) != 1)
        g_p256_template = NULL;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
}

EVP_PKEY *aecs_ossl_p256_template(void)
{
    pthread_once(&g_p256_once, p256_template_init);
    return g_p256_template;
}

EVP_PKEY *aecs_ossl_p256_from_point(const uint8_t point[65])
{
    EVP_PKEY *t = aecs_ossl_p256_template();
    EVP_PKEY *pkey = t != NULL ? EVP_PKEY_dup(t) : NULL;

    if (pkey != NULL && EVP_PKEY_set1_encoded_public_key(pkey, point, 65) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

static void digest(const char *name, const void *data, size_t size, uint8_t *out)
{
    unsigned int len = 0;
    const EVP_MD *md = strcmp(name, "SHA256") == 0   ? EVP_sha256()
                       : strcmp(name, "SHA384") == 0 ? EVP_sha384()
                                                     : EVP_sha512();
    /* EVP_Digest cannot fail for these built-in digests short of memory exhaustion. */
    if (EVP_Digest(data, size, out, &len, md, NULL) != 1)
        abort();
}

void aecs_sha256(const void *data, size_t size, uint8_t out[32])
{
    digest("SHA256", data, size, out);
}

void aecs_sha384(const void *data, size_t size, uint8_t out[48])
{
    digest("SHA384", data, size, out);
}

void aecs_sha512(const void *data, size_t size, uint8_t out[64])
{
    digest("SHA512", data, size, out);
}

int aecs_sha256_parts(const struct aecs_bytes *parts, size_t count, uint8_t out[32])
{
    int rc = AECS_OK;
    unsigned int len = 32;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    ENSURE(md != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_DigestInit_ex(md, EVP_sha256(), NULL), AECS_E_CRYPTO, "EVP_DigestInit_ex");
    for (size_t i = 0; i < count; i++)
        OSSL_GUARD_OUT(EVP_DigestUpdate(md, parts[i].data, parts[i].size), AECS_E_CRYPTO,
                       "EVP_DigestUpdate");
    OSSL_GUARD_OUT(EVP_DigestFinal_ex(md, out, &len), AECS_E_CRYPTO, "EVP_DigestFinal_ex");
out:
    EVP_MD_CTX_free(md);
    return rc;
}

void aecs_cleanse(void *p, size_t size)
{
    if (p != NULL)
        OPENSSL_cleanse(p, size);
}

int aecs_ct_memcmp(const void *a, const void *b, size_t size)
{
    return CRYPTO_memcmp(a, b, size);
}

int aecs_random_bytes(void *out, size_t size)
{
    OSSL_GUARD(RAND_bytes(out, (int)size), AECS_E_CRYPTO, "RAND_bytes");
    return AECS_OK;
}

int aecs_pubkey_from_p256_xy(const uint8_t xy[64], struct aecs_pubkey **out)
{
    uint8_t point[65];
    EVP_PKEY *pkey;
    struct aecs_pubkey *key;

    *out = NULL;
    point[0] = 0x04;
    memcpy(point + 1, xy, 64);
    pkey = aecs_ossl_p256_from_point(point);
    if (pkey == NULL)
        return OSSL_FAIL(AECS_E_FORMAT, "P-256 public key import (point not on the curve?)");
    key = calloc(1, sizeof(*key));
    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    key->pkey = pkey;
    *out = key;
    return AECS_OK;
}

int aecs_pubkey_parse(const uint8_t *data, size_t size, struct aecs_pubkey **out)
{
    const unsigned char *p = data;
    EVP_PKEY *pkey = NULL;
    struct aecs_pubkey *key;

    *out = NULL;
    ENSURE(size <= INT32_MAX, AECS_E_TOO_LARGE, "public key too large");
    pkey = d2i_PUBKEY(NULL, &p, (long)size);
    if (pkey == NULL) {
        BIO *bio = BIO_new_mem_buf(data, (int)size);
        ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    if (pkey == NULL)
        return OSSL_FAIL(AECS_E_FORMAT, "public key parse (DER SubjectPublicKeyInfo or PEM)");
    key = calloc(1, sizeof(*key));
    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    key->pkey = pkey;
    *out = key;
    return AECS_OK;
}

void aecs_pubkey_free(struct aecs_pubkey *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

struct aecs_pubkey *aecs_pubkey_ref(struct aecs_pubkey *key)
{
    struct aecs_pubkey *copy = calloc(1, sizeof(*copy));

    if (copy == NULL || EVP_PKEY_up_ref(key->pkey) != 1) {
        free(copy);
        return NULL;
    }
    copy->pkey = key->pkey;
    return copy;
}

/* Internal: wraps an EVP_PKEY the caller owns a reference to. */
struct aecs_pubkey *aecs_pubkey_wrap_evp(void *evp_pkey);
struct aecs_pubkey *aecs_pubkey_wrap_evp(void *evp_pkey)
{
    struct aecs_pubkey *key = calloc(1, sizeof(*key));

    if (key != NULL)
        key->pkey = evp_pkey;
    return key;
}

static int rs_to_der(const uint8_t *rs, size_t rs_size, unsigned char **der, int *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, (int)(rs_size / 2), NULL);
    BIGNUM *s = BN_bin2bn(rs + rs_size / 2, (int)(rs_size / 2), NULL);

    *der = NULL;
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(s);
        return OSSL_FAIL(AECS_E_NO_MEMORY, "ECDSA_SIG_set0");
    }
    *der_len = i2d_ECDSA_SIG(sig, der);
    ECDSA_SIG_free(sig);
    ENSURE(*der_len > 0, AECS_E_CRYPTO, "cannot encode an ECDSA signature");
    return AECS_OK;
}

int aecs_ecdsa_verify_rs_digest(const struct aecs_pubkey *key, const uint8_t *dgst,
                                size_t dgst_size, const uint8_t *rs, size_t rs_size)
{
    int rc = AECS_OK;
    unsigned char *der = NULL;
    int der_len = 0;
    EVP_PKEY_CTX *ctx = NULL;

    ENSURE(rs_size == 64 || rs_size == 96, AECS_E_INVALID_ARGUMENT,
           "ECDSA signature must be 64 or 96 bytes, not %zu", rs_size);
    GUARD(rs_to_der(rs, rs_size, &der, &der_len));
    ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
    ENSURE_OUT(ctx != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_PKEY_verify_init(ctx), AECS_E_CRYPTO, "EVP_PKEY_verify_init");
    int v = EVP_PKEY_verify(ctx, der, (size_t)der_len, dgst, dgst_size);
    ERR_clear_error();
    ENSURE_OUT(v == 1, AECS_E_BAD_SIGNATURE, "ECDSA signature does not verify");
out:
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(der);
    return rc;
}

int aecs_ecdsa_verify_rs(const struct aecs_pubkey *key, enum aecs_hash hash, const void *msg,
                         size_t msg_size, const uint8_t *rs, size_t rs_size)
{
    uint8_t dgst[64];
    size_t n = 32;

    switch (hash) {
    case AECS_SHA256:
        aecs_sha256(msg, msg_size, dgst);
        break;
    case AECS_SHA384:
        aecs_sha384(msg, msg_size, dgst);
        n = 48;
        break;
    case AECS_SHA512:
        aecs_sha512(msg, msg_size, dgst);
        n = 64;
        break;
    default:
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "unknown hash %d", (int)hash);
    }
    return aecs_ecdsa_verify_rs_digest(key, dgst, n, rs, rs_size);
}

int aecs_privkey_generate_p256(struct aecs_privkey **out)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    struct aecs_privkey *key;

    *out = NULL;
    if (pkey == NULL)
        return OSSL_FAIL(AECS_E_CRYPTO, "EVP_EC_gen(P-256)");
    key = calloc(1, sizeof(*key));
    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    key->pkey = pkey;
    *out = key;
    return AECS_OK;
}

void aecs_privkey_free(struct aecs_privkey *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

/* Internal (src/crypto only): the EVP_PKEY behind a private key, and wrapping one. */
void *aecs_privkey_evp(const struct aecs_privkey *key);
void *aecs_privkey_evp(const struct aecs_privkey *key)
{
    return key->pkey;
}

/* Takes ownership of evp_pkey; NULL (and evp_pkey untouched) when out of memory. */
struct aecs_privkey *aecs_privkey_wrap_evp(void *evp_pkey);
struct aecs_privkey *aecs_privkey_wrap_evp(void *evp_pkey)
{
    struct aecs_privkey *key = calloc(1, sizeof(*key));

    if (key != NULL)
        key->pkey = evp_pkey;
    return key;
}

int aecs_ecdsa_sign_p256_rs(const struct aecs_privkey *key, const void *msg, size_t msg_size,
                            uint8_t rs[64])
{
    int rc = AECS_OK;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t der_len = sizeof(der);
    const unsigned char *p = der;
    ECDSA_SIG *sig = NULL;

    ENSURE_OUT(md != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key->pkey), AECS_E_CRYPTO,
                   "EVP_DigestSignInit");
    OSSL_GUARD_OUT(EVP_DigestSign(md, der, &der_len, msg, msg_size), AECS_E_CRYPTO,
                   "EVP_DigestSign");
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    ENSURE_OUT(sig != NULL, AECS_E_CRYPTO, "cannot decode our own ECDSA signature");
    ENSURE_OUT(BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) == 32 &&
                   BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) == 32,
               AECS_E_CRYPTO, "ECDSA signature component too large");
out:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return rc;
}

int aecs_privkey_p256_xy(const struct aecs_privkey *key, uint8_t xy[64])
{
    uint8_t point[65];
    size_t len = 0;

    OSSL_GUARD(EVP_PKEY_get_octet_string_param(key->pkey, OSSL_PKEY_PARAM_PUB_KEY, point,
                                               sizeof(point), &len),
               AECS_E_CRYPTO, "EVP_PKEY_get_octet_string_param(pub)");
    ENSURE(len == 65 && point[0] == 0x04, AECS_E_CRYPTO, "unexpected P-256 point encoding");
    memcpy(xy, point + 1, 64);
    return AECS_OK;
}
