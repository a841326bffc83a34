/*
 * envelope.c - P-256 keys, ECDH, ECDSA and the release envelope over OpenSSL
 * 3's EVP API; see envelope.h and docs/protocol-release.md section 3.
 *
 * Each key object keeps its EVP_PKEY and a copy of its public point, so
 * exporting the point cannot fail. Imported points are checked twice: OpenSSL
 * decodes them (coordinates below the prime, point on the curve), then
 * EVP_PKEY_public_check_quick checks them as a key (not infinity). P-256's
 * cofactor is 1, so a point of the curve that is not infinity is in the
 * prime-order group, and the full check's extra n*P = O multiplication (as
 * dear as an ECDH) proves nothing more.
 * The shared secret Z and the derived key K live in fixed arrays on this
 * file's stack and are wiped on every path out of the function that made them.
 */
#include "crypto/envelope.h"

#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ossl.h"
#include "crypto/secmem.h"

struct aecs_p256_key {
    EVP_PKEY *pkey;
    uint8_t pub[AECS_P256_PUB_SIZE];
};

struct aecs_p256_pub {
    EVP_PKEY *pkey;
    uint8_t pub[AECS_P256_PUB_SIZE];
};

/* ---- keys ---- */

/* The uncompressed point of pkey into pub; AECS_E_CRYPTO when it is not one. */
static int point_of(EVP_PKEY *pkey, uint8_t pub[AECS_P256_PUB_SIZE])
{
    uint8_t buf[AECS_P256_PUB_SIZE + 32];
    size_t len = 0;

    OSSL_GUARD(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf,
                                               sizeof(buf), &len),
               AECS_E_CRYPTO, "P-256 public point export");
    ENSURE(len == AECS_P256_PUB_SIZE && buf[0] == 0x04, AECS_E_CRYPTO,
           "P-256 public point export: %zu bytes, not the uncompressed form", len);
    memcpy(pub, buf, AECS_P256_PUB_SIZE);
    return AECS_OK;
}

static int key_wrap(EVP_PKEY *pkey, struct aecs_p256_key **out)
{
    struct aecs_p256_key *key = calloc(1, sizeof(*key));
    int rc;

    ENSURE(key != NULL, AECS_E_NO_MEMORY, "out of memory");
    rc = point_of(pkey, key->pub);
    if (rc != AECS_OK) {
        free(key); /* the caller still owns pkey on failure */
        return rc;
    }
    key->pkey = pkey;
    *out = key;
    return AECS_OK;
}

int aecs_p256_key_generate(struct aecs_p256_key **out)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int rc;

    *out = NULL;
    if (aecs_ossl_p256_template() != NULL) {
        /* Generating from a ready key's parameters reuses its curve, as imports do. */
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, aecs_ossl_p256_template(), NULL);
        if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1)
            pkey = NULL;
        EVP_PKEY_CTX_free(ctx);
    } else {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    }
    if (pkey == NULL)
        return OSSL_FAIL(AECS_E_CRYPTO, "P-256 key generation");
    rc = key_wrap(pkey, out);
    if (rc != AECS_OK)
        EVP_PKEY_free(pkey);
    return rc;
}

/* Checks size and form before OpenSSL sees the bytes, so each refusal says what is wrong. */
static int check_point_form(const uint8_t *data, size_t size)
{
    ENSURE(data != NULL, AECS_E_INVALID_ARGUMENT, "public key: missing");
    ENSURE(size == AECS_P256_PUB_SIZE, AECS_E_FORMAT,
           "public key: %zu bytes (a P-256 point is %d bytes, uncompressed)", size,
           AECS_P256_PUB_SIZE);
    ENSURE(data[0] == 0x04, AECS_E_FORMAT,
           "public key: first byte 0x%02x (only the uncompressed form 0x04 is accepted)", data[0]);
    return AECS_OK;
}

/* Runs EVP_PKEY_public_check_quick (the full key pair check when pair is set). */
static int check_key(EVP_PKEY *pkey, int pair)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok;

    ENSURE(ctx != NULL, AECS_E_NO_MEMORY, "out of memory");
    ok = pair ? EVP_PKEY_check(ctx) : EVP_PKEY_public_check_quick(ctx);
    EVP_PKEY_CTX_free(ctx);
    if (ok != 1)
        return OSSL_FAIL(AECS_E_FORMAT, pair ? "P-256 key pair check (scalar out of range, or "
                                               "a public point that is not the scalar's)"
                                             : "P-256 public key check");
    return AECS_OK;
}

/* A P-256 EVP_PKEY from params; AECS_E_FORMAT when OpenSSL refuses them. */
static int pkey_from(const OSSL_PARAM *params, int selection, EVP_PKEY **out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    int rc = AECS_OK;

    *out = NULL;
    ENSURE(ctx != NULL, AECS_E_CRYPTO, "cannot create an EC key context");
    OSSL_GUARD_OUT(EVP_PKEY_fromdata_init(ctx), AECS_E_CRYPTO, "EVP_PKEY_fromdata_init");
    if (EVP_PKEY_fromdata(ctx, out, selection, (OSSL_PARAM *)params) != 1) {
        ERR_clear_error(); /* OpenSSL's reason adds nothing to this one */
        rc = AECS_ERR(AECS_E_FORMAT, "public key: not a point of P-256 (off the curve, or a "
                                     "coordinate not below the field prime)");
    }
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int aecs_p256_key_import(const uint8_t priv[AECS_P256_PRIV_SIZE],
                         const uint8_t pub[AECS_P256_PUB_SIZE], struct aecs_p256_key **out)
{
    int rc = AECS_OK;
    BIGNUM *d = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;

    *out = NULL;
    GUARD(check_point_form(pub, AECS_P256_PUB_SIZE));
    d = BN_secure_new();
    bld = OSSL_PARAM_BLD_new();
    ENSURE_OUT(d != NULL && bld != NULL, AECS_E_NO_MEMORY, "out of memory");
    ENSURE_OUT(BN_bin2bn(priv, AECS_P256_PRIV_SIZE, d) != NULL, AECS_E_NO_MEMORY, "out of memory");
    ENSURE_OUT(!BN_is_zero(d), AECS_E_FORMAT, "private key: the scalar is zero");
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, AECS_P256_PUB_SIZE) !=
            1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        BAIL_OUT(AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(pkey_from(params, EVP_PKEY_KEYPAIR, &pkey));
    GUARD_OUT(check_key(pkey, 1));
    GUARD_OUT(key_wrap(pkey, out));
    pkey = NULL;
out:
    EVP_PKEY_free(pkey);
    OSSL_PARAM_free(params); /* wipes the secure block that held the scalar */
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    return rc;
}

void aecs_p256_key_free(struct aecs_p256_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey); /* EC keys clear their private scalar when freed */
    free(key);
}

void aecs_p256_key_public(const struct aecs_p256_key *key, uint8_t pub[AECS_P256_PUB_SIZE])
{
    memcpy(pub, key->pub, AECS_P256_PUB_SIZE);
}

int aecs_p256_pub_import(const uint8_t *data, size_t size, struct aecs_p256_pub **out)
{
    int rc = AECS_OK;
    OSSL_PARAM params[3];
    uint8_t point[AECS_P256_PUB_SIZE];
    EVP_PKEY *pkey = NULL;
    struct aecs_p256_pub *pub = NULL;

    *out = NULL;
    GUARD(check_point_form(data, size));
    memcpy(point, data, sizeof(point)); /* OSSL_PARAM wants a non-const pointer */
    if (aecs_ossl_p256_template() != NULL) {
        pkey = aecs_ossl_p256_from_point(point);
        if (pkey == NULL) {
            ERR_clear_error();
            BAIL_OUT(AECS_E_FORMAT, "public key: not a point of P-256 (off the curve, or a "
                                    "coordinate not below the field prime)");
        }
    } else {
        params[0] =
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0);
        params[1] =
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
        params[2] = OSSL_PARAM_construct_end();
        GUARD_OUT(pkey_from(params, EVP_PKEY_PUBLIC_KEY, &pkey));
    }
    GUARD_OUT(check_key(pkey, 0));
    pub = calloc(1, sizeof(*pub));
    ENSURE_OUT(pub != NULL, AECS_E_NO_MEMORY, "out of memory");
    pub->pkey = pkey;
    pkey = NULL;
    memcpy(pub->pub, point, sizeof(point));
    *out = pub;
out:
    EVP_PKEY_free(pkey);
    return rc;
}

void aecs_p256_pub_export(const struct aecs_p256_pub *pub, uint8_t out[AECS_P256_PUB_SIZE])
{
    memcpy(out, pub->pub, AECS_P256_PUB_SIZE);
}

void aecs_p256_pub_free(struct aecs_p256_pub *pub)
{
    if (pub == NULL)
        return;
    EVP_PKEY_free(pub->pkey);
    free(pub);
}

int aecs_p256_ecdh(const struct aecs_p256_key *key, const struct aecs_p256_pub *peer,
                   uint8_t z[AECS_P256_ECDH_SIZE])
{
    int rc = AECS_OK;
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = AECS_P256_ECDH_SIZE;

    ENSURE(key != NULL && peer != NULL, AECS_E_INVALID_ARGUMENT, "ECDH: missing key");
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    ENSURE(ctx != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_PKEY_derive_init(ctx), AECS_E_CRYPTO, "ECDH init");
    /* No second check of the peer: aecs_p256_pub_import checked the point, and the full
       check OpenSSL would run here adds an n*P multiplication that proves nothing more on
       P-256 (see the top of this file). */
    OSSL_GUARD_OUT(EVP_PKEY_derive_set_peer_ex(ctx, peer->pkey, 0), AECS_E_CRYPTO, "ECDH peer");
    OSSL_GUARD_OUT(EVP_PKEY_derive(ctx, z, &len), AECS_E_CRYPTO, "ECDH derive");
    ENSURE_OUT(len == AECS_P256_ECDH_SIZE, AECS_E_CRYPTO, "ECDH: %zu bytes of shared secret", len);
out:
    if (rc != AECS_OK)
        OPENSSL_cleanse(z, AECS_P256_ECDH_SIZE);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int aecs_p256_sign(const struct aecs_p256_key *key, const void *msg, size_t size,
                   uint8_t sig[AECS_P256_SIG_MAX], size_t *sig_size)
{
    int rc = AECS_OK;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t len = AECS_P256_SIG_MAX;

    *sig_size = 0;
    ENSURE(md != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key->pkey, NULL),
                   AECS_E_CRYPTO, "ECDSA-SHA256 sign init");
    OSSL_GUARD_OUT(EVP_DigestSign(md, sig, &len, msg, size), AECS_E_CRYPTO, "ECDSA-SHA256 sign");
    *sig_size = len;
out:
    EVP_MD_CTX_free(md);
    return rc;
}

int aecs_p256_verify(const struct aecs_p256_pub *pub, const void *msg, size_t size,
                     const uint8_t *sig, size_t sig_size)
{
    int rc = AECS_OK;
    EVP_MD_CTX *md = NULL;

    ENSURE(sig != NULL && sig_size > 0 && sig_size <= AECS_P256_SIG_MAX, AECS_E_BAD_SIGNATURE,
           "signature: %zu bytes (a DER ECDSA P-256 signature is 8..%d)", sig_size,
           AECS_P256_SIG_MAX);
    md = EVP_MD_CTX_new();
    ENSURE(md != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub->pkey, NULL),
                   AECS_E_CRYPTO, "ECDSA-SHA256 verify init");
    /* OpenSSL re-encodes the parsed signature and refuses it unless the bytes are identical. */
    if (EVP_DigestVerify(md, sig, sig_size, msg, size) != 1) {
        ERR_clear_error();
        BAIL_OUT(AECS_E_BAD_SIGNATURE, "signature does not verify");
    }
out:
    EVP_MD_CTX_free(md);
    return rc;
}

/* ---- envelopes ---- */

/* strlen of a binding field, or 0 when it is missing, empty or over the limit. */
static size_t field_len(const char *s)
{
    size_t n;

    if (s == NULL)
        return 0;
    n = strnlen(s, AECS_ENVELOPE_FIELD_MAX + 1);
    return n <= AECS_ENVELOPE_FIELD_MAX ? n : 0;
}

static int check_binding(const struct aecs_envelope_binding *b)
{
    ENSURE(b != NULL && b->nonce != NULL, AECS_E_INVALID_ARGUMENT, "envelope: no nonce");
    ENSURE(field_len(b->service) > 0, AECS_E_INVALID_ARGUMENT,
           "envelope: service must be 1..%d bytes", AECS_ENVELOPE_FIELD_MAX);
    ENSURE(field_len(b->name) > 0, AECS_E_INVALID_ARGUMENT, "envelope: name must be 1..%d bytes",
           AECS_ENVELOPE_FIELD_MAX);
    ENSURE(field_len(b->type) > 0, AECS_E_INVALID_ARGUMENT, "envelope: type must be 1..%d bytes",
           AECS_ENVELOPE_FIELD_MAX);
    return AECS_OK;
}

static size_t put(uint8_t *out, size_t at, const void *data, size_t size)
{
    memcpy(out + at, data, size);
    return at + size;
}

static size_t put_field(uint8_t *out, size_t at, const char *s)
{
    size_t n = field_len(s);

    out[at] = (uint8_t)n;
    return put(out, at + 1, s, n);
}

int aecs_envelope_context(const uint8_t client_pub[AECS_P256_PUB_SIZE],
                          const uint8_t eph_pub[AECS_P256_PUB_SIZE],
                          const struct aecs_envelope_binding *b,
                          uint8_t out[AECS_ENVELOPE_CONTEXT_MAX], size_t *size)
{
    size_t at = 0;

    *size = 0;
    GUARD(check_binding(b));
    at = put(out, at, AECS_ENVELOPE_LABEL, sizeof(AECS_ENVELOPE_LABEL)); /* with its NUL */
    at = put(out, at, client_pub, AECS_P256_PUB_SIZE);
    at = put(out, at, eph_pub, AECS_P256_PUB_SIZE);
    at = put(out, at, b->nonce, AECS_ENVELOPE_NONCE_SIZE);
    at = put_field(out, at, b->service);
    at = put_field(out, at, b->name);
    at = put_field(out, at, b->type);
    *size = at;
    return AECS_OK;
}

int aecs_envelope_derive_key(const uint8_t z[AECS_P256_ECDH_SIZE],
                             const uint8_t nonce[AECS_ENVELOPE_NONCE_SIZE], const uint8_t *ctx,
                             size_t ctx_size, uint8_t key[AECS_ENVELOPE_KEY_SIZE])
{
    int rc = AECS_OK;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[5];

    ENSURE(ctx != NULL && ctx_size > 0 && ctx_size <= AECS_ENVELOPE_CONTEXT_MAX,
           AECS_E_INVALID_ARGUMENT, "envelope: context of %zu bytes", ctx_size);
    kdf = aecs_ossl_hkdf();
    kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    if (kctx == NULL) {
        rc = OSSL_FAIL(AECS_E_CRYPTO, "EVP_KDF_fetch(HKDF)");
        goto out;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, AECS_P256_ECDH_SIZE);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)nonce,
                                                  AECS_ENVELOPE_NONCE_SIZE);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)ctx, ctx_size);
    params[4] = OSSL_PARAM_construct_end();
    OSSL_GUARD_OUT(EVP_KDF_derive(kctx, key, AECS_ENVELOPE_KEY_SIZE, params), AECS_E_CRYPTO,
                   "HKDF-SHA256 derive");
out:
    if (rc != AECS_OK)
        OPENSSL_cleanse(key, AECS_ENVELOPE_KEY_SIZE);
    EVP_KDF_CTX_free(kctx); /* clears its copy of z */
    return rc;
}

/* AES-256-GCM with aad; in and out may not overlap; in/out may be NULL when size is 0. */
static int gcm(int encrypt, const uint8_t key[AECS_ENVELOPE_KEY_SIZE],
               const uint8_t iv[AECS_ENVELOPE_IV_SIZE], const uint8_t *aad, size_t aad_size,
               const uint8_t *in, size_t size, uint8_t *out, uint8_t tag[AECS_ENVELOPE_TAG_SIZE])
{
    int rc = AECS_OK;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t fin[AECS_ENVELOPE_TAG_SIZE];
    int len = 0;

    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");
    ENSURE_OUT(size <= INT_MAX && aad_size <= INT_MAX, AECS_E_TOO_LARGE, "AEAD: input too large");
    OSSL_GUARD_OUT(EVP_CipherInit_ex(c, aecs_ossl_aes256gcm(), NULL, key, iv, encrypt),
                   AECS_E_CRYPTO, "AES-256-GCM init");
    OSSL_GUARD_OUT(EVP_CipherUpdate(c, NULL, &len, aad, (int)aad_size), AECS_E_CRYPTO,
                   "AES-256-GCM aad");
    if (size > 0)
        OSSL_GUARD_OUT(EVP_CipherUpdate(c, out, &len, in, (int)size), AECS_E_CRYPTO,
                       "AES-256-GCM update");
    if (encrypt) {
        OSSL_GUARD_OUT(EVP_CipherFinal_ex(c, fin, &len), AECS_E_CRYPTO, "AES-256-GCM final");
        OSSL_GUARD_OUT(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, AECS_ENVELOPE_TAG_SIZE, tag),
                       AECS_E_CRYPTO, "AES-256-GCM tag");
    } else {
        OSSL_GUARD_OUT(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, AECS_ENVELOPE_TAG_SIZE, tag),
                       AECS_E_CRYPTO, "AES-256-GCM set tag");
        if (EVP_CipherFinal_ex(c, fin, &len) != 1) {
            ERR_clear_error();
            BAIL_OUT(AECS_E_BAD_SIGNATURE,
                     "envelope: authentication tag does not verify (tampered, or sealed for "
                     "another key, nonce, service, name or type)");
        }
    }
out:
    EVP_CIPHER_CTX_free(c); /* clears the key schedule */
    return rc;
}

int aecs_envelope_seal(const struct aecs_p256_pub *client, const struct aecs_envelope_binding *b,
                       const uint8_t *plain, size_t size, struct aecs_envelope *out)
{
    int rc = AECS_OK;
    struct aecs_p256_key *eph = NULL;
    uint8_t ctx[AECS_ENVELOPE_CONTEXT_MAX];
    size_t ctx_size = 0;
    uint8_t z[AECS_P256_ECDH_SIZE];
    uint8_t key[AECS_ENVELOPE_KEY_SIZE];
    uint8_t *ct = NULL;

    memset(out, 0, sizeof(*out));
    ENSURE(client != NULL, AECS_E_INVALID_ARGUMENT, "envelope: no client key");
    GUARD(check_binding(b));
    ENSURE(size <= AECS_ENVELOPE_PLAIN_MAX, AECS_E_TOO_LARGE,
           "envelope: %zu bytes of plaintext (at most %u)", size, AECS_ENVELOPE_PLAIN_MAX);
    ENSURE(plain != NULL || size == 0, AECS_E_INVALID_ARGUMENT, "envelope: no plaintext");
    GUARD(aecs_p256_key_generate(&eph));
    GUARD_OUT(aecs_envelope_context(client->pub, eph->pub, b, ctx, &ctx_size));
    GUARD_OUT(aecs_p256_ecdh(eph, client, z));
    GUARD_OUT(aecs_envelope_derive_key(z, b->nonce, ctx, ctx_size, key));
    OSSL_GUARD_OUT(RAND_bytes(out->iv, AECS_ENVELOPE_IV_SIZE), AECS_E_CRYPTO, "RAND_bytes(IV)");
    if (size > 0) {
        ct = malloc(size);
        ENSURE_OUT(ct != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    GUARD_OUT(gcm(1, key, out->iv, ctx, ctx_size, plain, size, ct, out->tag));
    memcpy(out->epk, eph->pub, AECS_P256_PUB_SIZE);
    out->ciphertext = ct;
    out->size = size;
    ct = NULL;
out:
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(key, sizeof(key));
    aecs_p256_key_free(eph);
    free(ct);
    if (rc != AECS_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

int aecs_envelope_open(const struct aecs_p256_key *client, const struct aecs_envelope_binding *b,
                       const struct aecs_envelope *env, uint8_t **plain, size_t *size)
{
    int rc = AECS_OK;
    struct aecs_p256_pub *epk = NULL;
    uint8_t ctx[AECS_ENVELOPE_CONTEXT_MAX];
    size_t ctx_size = 0;
    uint8_t z[AECS_P256_ECDH_SIZE];
    uint8_t key[AECS_ENVELOPE_KEY_SIZE];
    uint8_t tag[AECS_ENVELOPE_TAG_SIZE];
    uint8_t *buf = NULL;

    *plain = NULL;
    *size = 0;
    ENSURE(client != NULL && env != NULL, AECS_E_INVALID_ARGUMENT, "envelope: missing argument");
    GUARD(check_binding(b));
    ENSURE(env->size <= AECS_ENVELOPE_PLAIN_MAX, AECS_E_TOO_LARGE,
           "envelope: %zu bytes of ciphertext (at most %u)", env->size, AECS_ENVELOPE_PLAIN_MAX);
    ENSURE(env->ciphertext != NULL || env->size == 0, AECS_E_INVALID_ARGUMENT,
           "envelope: no ciphertext");
    rc = aecs_p256_pub_import(env->epk, AECS_P256_PUB_SIZE, &epk);
    if (rc != AECS_OK) {
        aecs_err_prefix("envelope epk: ");
        return rc;
    }
    memcpy(tag, env->tag, sizeof(tag)); /* EVP's SET_TAG takes a non-const pointer */
    GUARD_OUT(aecs_envelope_context(client->pub, env->epk, b, ctx, &ctx_size));
    GUARD_OUT(aecs_p256_ecdh(client, epk, z));
    GUARD_OUT(aecs_envelope_derive_key(z, b->nonce, ctx, ctx_size, key));
    buf = aecs_secure_alloc(env->size + 1);
    ENSURE_OUT(buf != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(gcm(0, key, env->iv, ctx, ctx_size, env->ciphertext, env->size, buf, tag));
    *plain = buf;
    *size = env->size;
    buf = NULL;
out:
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(key, sizeof(key));
    aecs_secure_free(buf, env->size + 1); /* wipes what an unverified decryption wrote */
    aecs_p256_pub_free(epk);
    return rc;
}

void aecs_envelope_clear(struct aecs_envelope *env)
{
    if (env == NULL)
        return;
    free(env->ciphertext);
    memset(env, 0, sizeof(*env));
}

void aecs_envelope_plain_free(uint8_t *plain, size_t size)
{
    aecs_secure_free(plain, size + 1);
}
