/*
 * sigkey.c - admin signing keys (ECDSA P-256): PEM files in and out, key ids,
 * DER ECDSA-SHA256 signatures; see sigkey.h.
 *
 * PEM text is read block by block with PEM_read_bio (label, headers, DER) so
 * the label decides what is accepted and nothing after the key goes unseen;
 * the DER is decoded with d2i_PUBKEY / d2i_AutoPrivateKey and must be used up
 * exactly. Private key bytes (the file, the decoded DER, the PEM written by
 * keygen) are wiped before they are freed; the PEM of a new key goes through
 * a secure-heap memory BIO.
 *
 * Key ids hash the SubjectPublicKeyInfo with the point uncompressed (what
 * OpenSSL writes by default): a public key given with a compressed point is
 * re-encoded uncompressed on parsing, so one key has one id however it was
 * written.
 */
#include "crypto/sigkey.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "crypto/ossl.h"

/* A PEM key file is a few hundred bytes; anything this large is not one. */
#define KEY_FILE_MAX (64u << 10)
#define PEM_TEXT_MAX (64u << 10)
#define PATH_MAX_LEN 4000

struct aecs_sigkey {
    EVP_PKEY *pkey;
    int has_private;
};

static const char k_p256_hint[] = "aecs admin keys are ECDSA P-256 (make one with `aecs keygen`)";

/* ---- key type checks ---- */

/* Describes a key that is not P-256: "an RSA key", "an EC key on secp384r1", ... */
static void describe_key(EVP_PKEY *pkey, char *out, size_t size)
{
    char group[64] = "";
    size_t glen = 0;

    if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS")) {
        snprintf(out, size, "an RSA key");
    } else if (EVP_PKEY_is_a(pkey, "ED25519")) {
        snprintf(out, size, "an Ed25519 key");
    } else if (EVP_PKEY_is_a(pkey, "ED448")) {
        snprintf(out, size, "an Ed448 key");
    } else if (EVP_PKEY_is_a(pkey, "X25519") || EVP_PKEY_is_a(pkey, "X448")) {
        snprintf(out, size, "an %s key", EVP_PKEY_get0_type_name(pkey));
    } else if (EVP_PKEY_is_a(pkey, "SM2")) {
        snprintf(out, size, "an SM2 key");
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                           &glen) == 1)
            snprintf(out, size, "an EC key on %s", group);
        else
            snprintf(out, size, "an EC key with explicit curve parameters");
    } else {
        const char *name = EVP_PKEY_get0_type_name(pkey);
        snprintf(out, size, "a %s key", name != NULL ? name : "key of an unknown type");
    }
    ERR_clear_error();
}

static int is_p256(EVP_PKEY *pkey)
{
    char group[64] = "";
    size_t glen = 0;

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC || !EVP_PKEY_is_a(pkey, "EC"))
        return 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1) {
        ERR_clear_error();
        return 0;
    }
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* AECS_E_UNSUPPORTED naming what the key is, unless it is P-256. `what` names the key. */
static int require_p256(EVP_PKEY *pkey, const char *what)
{
    char kind[96];

    if (is_p256(pkey))
        return AECS_OK;
    describe_key(pkey, kind, sizeof(kind));
    return AECS_ERR(AECS_E_UNSUPPORTED, "%.200s is %s; %s", what, kind, k_p256_hint);
}

/* Writes public keys with the uncompressed point (for one key id per key). */
static int set_uncompressed(EVP_PKEY *pkey)
{
    OSSL_GUARD(EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                              OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED),
               AECS_E_CRYPTO, "setting the EC point format");
    return AECS_OK;
}

static int wrap(EVP_PKEY **pkey, int has_private, struct aecs_sigkey **out)
{
    struct aecs_sigkey *key = calloc(1, sizeof(*key));

    ENSURE(key != NULL, AECS_E_NO_MEMORY, "out of memory");
    key->pkey = *pkey;
    key->has_private = has_private;
    *pkey = NULL;
    *out = key;
    return AECS_OK;
}

/* ---- PEM blocks ---- */

/* One PEM block read with PEM_read_bio; every part freed (data wiped) by pem_block_clear. */
struct pem_block {
    char *name;
    char *header;
    unsigned char *data;
    long size;
};

static void pem_block_clear(struct pem_block *b)
{
    if (b->data != NULL && b->size > 0)
        OPENSSL_cleanse(b->data, (size_t)b->size);
    OPENSSL_free(b->name);
    OPENSSL_free(b->header);
    OPENSSL_free(b->data);
    memset(b, 0, sizeof(*b));
}

/* 1 when the BIO holds nothing but white space from here on. */
static int only_space_left(BIO *bio)
{
    char c;

    while (BIO_read(bio, &c, 1) == 1) {
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return 0;
    }
    return 1;
}

/* ---- loading ---- */

int aecs_sigkey_parse_public(const char *pem, size_t size, struct aecs_sigkey **out)
{
    int rc = AECS_OK;
    BIO *bio = NULL;
    struct pem_block b = {0};
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *check = NULL;
    const unsigned char *p;

    *out = NULL;
    ENSURE(pem != NULL, AECS_E_INVALID_ARGUMENT, "no public key given");
    ENSURE(size > 0 && size <= PEM_TEXT_MAX, AECS_E_FORMAT,
           "the public key is not a PEM public key (%zu bytes)", size);
    ENSURE(memchr(pem, '\0', size) == NULL, AECS_E_FORMAT,
           "the public key is not a PEM public key (it holds a NUL byte)");
    bio = BIO_new_mem_buf(pem, (int)size);
    ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    if (PEM_read_bio(bio, &b.name, &b.header, &b.data, &b.size) != 1) {
        ERR_clear_error();
        ENSURE_OUT(memmem(pem, size, "-----BEGIN ", 11) == NULL, AECS_E_FORMAT,
                   "the public key's PEM block does not decode (bad base64, or no END line)");
        BAIL_OUT(AECS_E_FORMAT, "the public key is not a PEM public key "
                                "(no \"-----BEGIN PUBLIC KEY-----\" block)");
    }
    ENSURE_OUT(strcmp(b.name, "PUBLIC KEY") == 0, AECS_E_FORMAT,
               "the public key is a PEM \"%.40s\" block, not \"PUBLIC KEY\"", b.name);
    ENSURE_OUT(b.header[0] == '\0', AECS_E_FORMAT, "the public key's PEM block has headers");
    ENSURE_OUT(only_space_left(bio), AECS_E_FORMAT, "the public key has text after its PEM block");
    p = b.data;
    pkey = d2i_PUBKEY(NULL, &p, b.size);
    if (pkey == NULL) {
        ERR_clear_error();
        BAIL_OUT(AECS_E_FORMAT, "the public key's PEM block is not a SubjectPublicKeyInfo");
    }
    ENSURE_OUT(p == b.data + b.size, AECS_E_FORMAT,
               "the public key's PEM block has bytes after its SubjectPublicKeyInfo");
    GUARD_OUT(require_p256(pkey, "the public key"));
    check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    ENSURE_OUT(check != NULL, AECS_E_NO_MEMORY, "out of memory");
    if (EVP_PKEY_public_check(check) != 1) {
        ERR_clear_error();
        BAIL_OUT(AECS_E_FORMAT, "the public key is not a valid P-256 point");
    }
    GUARD_OUT(set_uncompressed(pkey));
    GUARD_OUT(wrap(&pkey, 0, out));
out:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_free(pkey);
    pem_block_clear(&b);
    BIO_free(bio);
    return rc;
}

/*
 * Decodes the first key block of a private key file's text: "PRIVATE KEY"
 * (PKCS#8) or "EC PRIVATE KEY" (SEC 1), after any "EC PARAMETERS" block that
 * `openssl ecparam -genkey` puts first. Nothing but white space may follow.
 */
static int decode_private(const char *path, const uint8_t *text, size_t size, BIO *bio,
                          EVP_PKEY **pkey)
{
    int rc = AECS_OK;
    struct pem_block b = {0};
    const unsigned char *p;

    *pkey = NULL;
    for (;;) {
        if (PEM_read_bio(bio, &b.name, &b.header, &b.data, &b.size) != 1) {
            ERR_clear_error();
            ENSURE_OUT(memmem(text, size, "-----BEGIN ", 11) == NULL, AECS_E_FORMAT,
                       "%.200s: the PEM block does not decode (bad base64, or no END line)", path);
            BAIL_OUT(AECS_E_FORMAT,
                     "%.200s is not a PEM private key (no \"-----BEGIN PRIVATE KEY-----\" block)",
                     path);
        }
        if (strcmp(b.name, "EC PARAMETERS") != 0)
            break;
        pem_block_clear(&b);
    }
    ENSURE_OUT(strcmp(b.name, "ENCRYPTED PRIVATE KEY") != 0 &&
                   strstr(b.header, "ENCRYPTED") == NULL,
               AECS_E_UNSUPPORTED,
               "%.200s is an encrypted private key; aecs reads unencrypted keys kept in a "
               "file only you can read (mode 0600)",
               path);
    ENSURE_OUT(strcmp(b.name, "RSA PRIVATE KEY") != 0, AECS_E_UNSUPPORTED,
               "%.200s is an RSA key; %s", path, k_p256_hint);
    ENSURE_OUT(strcmp(b.name, "PRIVATE KEY") == 0 || strcmp(b.name, "EC PRIVATE KEY") == 0,
               AECS_E_FORMAT, "%.200s is a PEM \"%.40s\" block, not a private key", path, b.name);
    ENSURE_OUT(b.header[0] == '\0', AECS_E_FORMAT, "%.200s: the key's PEM block has headers", path);
    ENSURE_OUT(only_space_left(bio), AECS_E_FORMAT, "%.200s has text after its private key", path);
    p = b.data;
    *pkey = d2i_AutoPrivateKey(NULL, &p, b.size);
    if (*pkey == NULL) {
        ERR_clear_error();
        BAIL_OUT(AECS_E_FORMAT, "%.200s: the PEM block does not hold a private key it can decode",
                 path);
    }
    if (p != b.data + b.size) {
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
        BAIL_OUT(AECS_E_FORMAT, "%.200s: the private key has bytes after its DER", path);
    }
out:
    pem_block_clear(&b);
    return rc;
}

int aecs_sigkey_load_private(const char *path, struct aecs_sigkey **out)
{
    int rc = AECS_OK;
    uint8_t *text = NULL;
    size_t size = 0;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;

    *out = NULL;
    ENSURE(path != NULL && path[0] != '\0', AECS_E_INVALID_ARGUMENT, "no private key file given");
    GUARD(aecs_file_read(path, KEY_FILE_MAX, &text, &size));
    ENSURE_OUT(size > 0, AECS_E_FORMAT, "%.200s is empty, not a PEM private key", path);
    bio = BIO_new_mem_buf(text, (int)size);
    ENSURE_OUT(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(decode_private(path, text, size, bio, &pkey));
    GUARD_OUT(require_p256(pkey, path));
    GUARD_OUT(set_uncompressed(pkey));
    GUARD_OUT(wrap(&pkey, 1, out));
out:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    if (text != NULL)
        OPENSSL_cleanse(text, size);
    free(text);
    return rc;
}

void aecs_sigkey_free(struct aecs_sigkey *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

/* ---- public forms ---- */

int aecs_sigkey_public_pem(const struct aecs_sigkey *key, char **pem)
{
    int rc = AECS_OK;
    BIO *bio = NULL;
    char *data = NULL;
    long n;

    *pem = NULL;
    ENSURE(key != NULL, AECS_E_INVALID_ARGUMENT, "no key given");
    bio = BIO_new(BIO_s_mem());
    ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(PEM_write_bio_PUBKEY(bio, key->pkey), AECS_E_CRYPTO, "PEM_write_bio_PUBKEY");
    n = BIO_get_mem_data(bio, &data);
    ENSURE_OUT(n > 0 && data != NULL, AECS_E_CRYPTO, "the PEM writer wrote nothing");
    *pem = malloc((size_t)n + 1);
    ENSURE_OUT(*pem != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(*pem, data, (size_t)n);
    (*pem)[n] = '\0';
out:
    BIO_free(bio);
    return rc;
}

int aecs_sigkey_id(const struct aecs_sigkey *key, char key_id[AECS_SIGKEY_ID_HEX + 1])
{
    unsigned char *der = NULL;
    uint8_t digest[32];
    int len;

    key_id[0] = '\0';
    ENSURE(key != NULL, AECS_E_INVALID_ARGUMENT, "no key given");
    len = i2d_PUBKEY(key->pkey, &der);
    if (len <= 0)
        return OSSL_FAIL(AECS_E_CRYPTO, "i2d_PUBKEY");
    aecs_sha256(der, (size_t)len, digest);
    OPENSSL_free(der);
    aecs_hex_encode(digest, sizeof(digest), key_id);
    return AECS_OK;
}

/* ---- signatures ---- */

int aecs_sigkey_sign(const struct aecs_sigkey *key, const void *msg, size_t size,
                     uint8_t sig[AECS_SIGKEY_SIG_MAX], size_t *sig_size)
{
    int rc = AECS_OK;
    EVP_MD_CTX *md = NULL;
    size_t len = 0;

    *sig_size = 0;
    ENSURE(key != NULL, AECS_E_INVALID_ARGUMENT, "no key given");
    ENSURE(key->has_private, AECS_E_INVALID_ARGUMENT,
           "cannot sign with a public key: load the private key file");
    ENSURE(msg != NULL || size == 0, AECS_E_INVALID_ARGUMENT, "no message given");
    md = EVP_MD_CTX_new();
    ENSURE(md != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key->pkey, NULL),
                   AECS_E_CRYPTO, "EVP_DigestSignInit_ex");
    OSSL_GUARD_OUT(EVP_DigestSign(md, NULL, &len, msg, size), AECS_E_CRYPTO,
                   "EVP_DigestSign (size)");
    ENSURE_OUT(len <= AECS_SIGKEY_SIG_MAX, AECS_E_INTERNAL,
               "an ECDSA P-256 signature of %zu bytes does not fit", len);
    OSSL_GUARD_OUT(EVP_DigestSign(md, sig, &len, msg, size), AECS_E_CRYPTO, "EVP_DigestSign");
    *sig_size = len;
out:
    EVP_MD_CTX_free(md);
    return rc;
}

int aecs_sigkey_verify(const struct aecs_sigkey *key, const void *msg, size_t size,
                       const uint8_t *sig, size_t sig_size)
{
    int rc = AECS_OK;
    EVP_MD_CTX *md = NULL;
    int ok;

    ENSURE(key != NULL, AECS_E_INVALID_ARGUMENT, "no key given");
    ENSURE(msg != NULL || size == 0, AECS_E_INVALID_ARGUMENT, "no message given");
    ENSURE(sig != NULL && sig_size > 0 && sig_size <= AECS_SIGKEY_SIG_MAX, AECS_E_BAD_SIGNATURE,
           "the signature is not a DER ECDSA P-256 signature (%zu bytes)", sig_size);
    md = EVP_MD_CTX_new();
    ENSURE(md != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key->pkey, NULL),
                   AECS_E_CRYPTO, "EVP_DigestVerifyInit_ex");
    /* 1: valid; 0: wrong; negative: not a DER signature at all. All but 1 is a bad signature. */
    ok = EVP_DigestVerify(md, sig, sig_size, msg, size);
    ERR_clear_error();
    ENSURE_OUT(ok == 1, AECS_E_BAD_SIGNATURE, "the signature does not verify");
out:
    EVP_MD_CTX_free(md);
    return rc;
}

/* ---- key generation ---- */

/* Copies a memory BIO's text out: *data points into the BIO, valid until it is freed. */
static int bio_text(BIO *bio, const char **data, size_t *size)
{
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);

    ENSURE(n > 0 && p != NULL, AECS_E_CRYPTO, "the PEM writer wrote nothing");
    *data = p;
    *size = (size_t)n;
    return AECS_OK;
}

int aecs_sigkey_generate_files(const char *base, char key_id[AECS_SIGKEY_ID_HEX + 1])
{
    int rc = AECS_OK;
    char priv_path[PATH_MAX_LEN + 16];
    char pub_path[PATH_MAX_LEN + 16];
    EVP_PKEY *pkey = NULL;
    BIO *priv = NULL;
    BIO *pub = NULL;
    const char *text = NULL;
    size_t size = 0;
    int priv_written = 0;
    struct aecs_sigkey key = {0};

    if (key_id != NULL)
        key_id[0] = '\0';
    ENSURE(base != NULL && base[0] != '\0', AECS_E_INVALID_ARGUMENT, "no key file name given");
    ENSURE(strlen(base) <= PATH_MAX_LEN, AECS_E_INVALID_ARGUMENT, "key file name too long: %.100s",
           base);
    snprintf(priv_path, sizeof(priv_path), "%s.pem", base);
    snprintf(pub_path, sizeof(pub_path), "%s.pub.pem", base);
    ENSURE(!aecs_file_exists(priv_path), AECS_E_INVALID_ARGUMENT,
           "%.200s already exists: keys are never replaced (remove it first, or pick another "
           "name)",
           priv_path);
    ENSURE(!aecs_file_exists(pub_path), AECS_E_INVALID_ARGUMENT,
           "%.200s already exists: keys are never replaced (remove it first, or pick another "
           "name)",
           pub_path);

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (pkey == NULL)
        return OSSL_FAIL(AECS_E_CRYPTO, "P-256 key generation");
    GUARD_OUT(set_uncompressed(pkey));
    priv = BIO_new(BIO_s_secmem());
    pub = BIO_new(BIO_s_mem());
    ENSURE_OUT(priv != NULL && pub != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL), AECS_E_CRYPTO,
                   "PEM_write_bio_PrivateKey");
    OSSL_GUARD_OUT(PEM_write_bio_PUBKEY(pub, pkey), AECS_E_CRYPTO, "PEM_write_bio_PUBKEY");

    GUARD_OUT(bio_text(priv, &text, &size));
    GUARD_OUT(aecs_file_write_atomic(priv_path, text, size, 0600));
    priv_written = 1;
    GUARD_OUT(bio_text(pub, &text, &size));
    GUARD_OUT(aecs_file_write_atomic(pub_path, text, size, 0644));
    if (key_id != NULL) {
        key.pkey = pkey;
        GUARD_OUT(aecs_sigkey_id(&key, key_id));
    }
    priv_written = 0;
out:
    /* A pair is written whole or not at all: a private key without its public half goes. */
    if (priv_written)
        (void)unlink(priv_path);
    BIO_free(priv); /* a secure-heap BIO: wiped as it is freed */
    BIO_free(pub);
    EVP_PKEY_free(pkey);
    return rc;
}
