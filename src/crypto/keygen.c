/*
 * keygen.c - random bytes, key pairs and self-signed certificates as PEM;
 * see keygen.h.
 *
 * Keys are made with EVP_PKEY_Q_keygen and written with OpenSSL's PEM
 * writers: PKCS#8 ("PRIVATE KEY") by PEM_write_bio_PrivateKey, PKCS#1
 * ("RSA PRIVATE KEY") by PEM_write_bio_PrivateKey_traditional, public keys as
 * SubjectPublicKeyInfo by PEM_write_bio_PUBKEY or, for PKCS#1 RSA, as
 * "RSA PUBLIC KEY" by the type-specific PEM encoder. Private PEM goes through
 * BIO_s_secmem() and lands in a secure-heap buffer. Certificates are built by
 * aecs_cert_build() (x509_build.c), the same code the simulator's PKI uses.
 */
#include "crypto/keygen.h"

#include <openssl/bio.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ossl.h"
#include "crypto/secmem.h"
#include "crypto/x509_build.h"

#define SUBJECT_MAX 512
#define DAYS_MAX 36500
#define SECONDS_PER_DAY 86400

/* Internal accessors of crypto.c. */
void *aecs_privkey_evp(const struct aecs_privkey *key);
struct aecs_privkey *aecs_privkey_wrap_evp(void *evp_pkey);

void aecs_keypair_pem_clear(struct aecs_keypair_pem *kp)
{
    if (kp == NULL)
        return;
    if (kp->private_pem != NULL)
        aecs_secure_free(kp->private_pem, kp->private_size + 1);
    free(kp->public_pem);
    memset(kp, 0, sizeof(*kp));
}

int aecs_keygen_random(uint8_t *out, size_t size)
{
    ENSURE(size <= 1u << 20, AECS_E_INVALID_ARGUMENT, "%zu random bytes: too many", size);
    if (size > 0)
        OSSL_GUARD(RAND_priv_bytes(out, (int)size), AECS_E_CRYPTO, "RAND_priv_bytes");
    return AECS_OK;
}

/* ---- PEM output ---- */

/* Appends the BIO's text to a secure-heap buffer (*pem, *size), NUL-terminated. */
static int append_secure(BIO *bio, char **pem, size_t *size)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *grown;

    ENSURE(n > 0 && data != NULL, AECS_E_CRYPTO, "PEM encoder wrote nothing");
    grown = aecs_secure_alloc(*size + (size_t)n + 1);
    ENSURE(grown != NULL, AECS_E_NO_MEMORY, "out of memory");
    if (*pem != NULL)
        memcpy(grown, *pem, *size);
    memcpy(grown + *size, data, (size_t)n);
    if (*pem != NULL)
        aecs_secure_free(*pem, *size + 1);
    *pem = grown;
    *size += (size_t)n;
    (*pem)[*size] = '\0';
    return AECS_OK;
}

static int copy_plain(BIO *bio, char **pem, size_t *size)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);

    ENSURE(n > 0 && data != NULL, AECS_E_CRYPTO, "PEM encoder wrote nothing");
    *pem = malloc((size_t)n + 1);
    ENSURE(*pem != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(*pem, data, (size_t)n);
    (*pem)[n] = '\0';
    *size = (size_t)n;
    return AECS_OK;
}

/* The private key as PEM appended to out->private_pem: PKCS#8, or PKCS#1 when pkcs1. */
static int write_private(EVP_PKEY *pkey, int pkcs1, struct aecs_keypair_pem *out)
{
    int rc = AECS_OK;
    BIO *bio = BIO_new(BIO_s_secmem());
    int ok;

    ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    ok = pkcs1 ? PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL)
               : PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    OSSL_GUARD_OUT(ok, AECS_E_CRYPTO, pkcs1 ? "PEM (PKCS#1 private key)" : "PEM (PKCS#8)");
    GUARD_OUT(append_secure(bio, &out->private_pem, &out->private_size));
out:
    BIO_free(bio); /* wipes the secure buffer */
    return rc;
}

/* The public key as PEM: SubjectPublicKeyInfo, or RSAPublicKey when pkcs1. */
static int write_public(EVP_PKEY *pkey, int pkcs1, struct aecs_keypair_pem *out)
{
    int rc = AECS_OK;
    BIO *bio = BIO_new(BIO_s_mem());
    OSSL_ENCODER_CTX *enc = NULL;

    ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    if (pkcs1) {
        enc =
            OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", NULL);
        ENSURE_OUT(enc != NULL && OSSL_ENCODER_CTX_get_num_encoders(enc) > 0, AECS_E_CRYPTO,
                   "no PEM encoder for a PKCS#1 public key");
        OSSL_GUARD_OUT(OSSL_ENCODER_to_bio(enc, bio), AECS_E_CRYPTO, "PEM (RSA public key)");
    } else {
        OSSL_GUARD_OUT(PEM_write_bio_PUBKEY(bio, pkey), AECS_E_CRYPTO, "PEM (public key)");
    }
    GUARD_OUT(copy_plain(bio, &out->public_pem, &out->public_size));
out:
    OSSL_ENCODER_CTX_free(enc);
    BIO_free(bio);
    return rc;
}

static int write_pair(EVP_PKEY *pkey, int pkcs1, struct aecs_keypair_pem *out)
{
    int rc = write_private(pkey, pkcs1, out);

    if (rc == AECS_OK)
        rc = write_public(pkey, pkcs1, out);
    if (rc != AECS_OK)
        aecs_keypair_pem_clear(out);
    return rc;
}

/* ---- key pairs ---- */

static int check_rsa_bits(unsigned bits)
{
    ENSURE(bits == 2048 || bits == 3072 || bits == 4096, AECS_E_INVALID_ARGUMENT,
           "RSA key of %u bits: only 2048, 3072 and 4096", bits);
    return AECS_OK;
}

static int gen_rsa(unsigned bits, EVP_PKEY **pkey)
{
    GUARD(check_rsa_bits(bits));
    *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (*pkey == NULL)
        return OSSL_FAIL(AECS_E_CRYPTO, "RSA key generation");
    return AECS_OK;
}

int aecs_keygen_rsa(unsigned bits, enum aecs_rsa_form form, struct aecs_keypair_pem *out)
{
    EVP_PKEY *pkey = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    ENSURE(form == AECS_RSA_PKCS1 || form == AECS_RSA_PKCS8, AECS_E_INVALID_ARGUMENT,
           "RSA key form %d: only PKCS#1 and PKCS#8", (int)form);
    GUARD(gen_rsa(bits, &pkey));
    rc = write_pair(pkey, form == AECS_RSA_PKCS1, out);
    EVP_PKEY_free(pkey);
    return rc;
}

static int gen_and_write(EVP_PKEY *pkey, const char *what, struct aecs_keypair_pem *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (pkey == NULL)
        return OSSL_FAIL(AECS_E_CRYPTO, what);
    rc = write_pair(pkey, 0, out);
    EVP_PKEY_free(pkey);
    return rc;
}

int aecs_keygen_sm2(struct aecs_keypair_pem *out)
{
    return gen_and_write(EVP_PKEY_Q_keygen(NULL, NULL, "SM2"), "SM2 key generation", out);
}

int aecs_keygen_ec(enum aecs_ec_curve curve, struct aecs_keypair_pem *out)
{
    memset(out, 0, sizeof(*out));
    ENSURE(curve == AECS_CURVE_P256 || curve == AECS_CURVE_P384, AECS_E_INVALID_ARGUMENT,
           "EC curve %d: only P-256 and P-384", (int)curve);
    return gen_and_write(
        EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve == AECS_CURVE_P256 ? "P-256" : "P-384"),
        "EC key generation", out);
}

int aecs_keygen_ed25519(struct aecs_keypair_pem *out)
{
    return gen_and_write(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), "Ed25519 key generation", out);
}

/* ---- subjects ---- */

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

/* Checks one ATTR=VALUE part and stores its value in *cn or *o. */
static int subject_part(char *part, X509_NAME *scratch, char **cn, char **o)
{
    char *eq = strchr(part, '=');
    char *attr;
    char *value;
    char **slot;
    int nid;

    ENSURE(eq != NULL, AECS_E_INVALID_ARGUMENT, "'%.60s' is not ATTR=VALUE", trim(part));
    *eq = '\0';
    attr = trim(part);
    value = trim(eq + 1);
    ENSURE(attr[0] != '\0', AECS_E_INVALID_ARGUMENT, "an attribute name is missing before '='");
    nid = OBJ_txt2nid(attr);
    ERR_clear_error();
    ENSURE(nid != NID_undef, AECS_E_INVALID_ARGUMENT, "'%.40s' is not an X.509 name attribute",
           attr);
    ENSURE(nid == NID_commonName || nid == NID_organizationName, AECS_E_INVALID_ARGUMENT,
           "attribute %.40s is not supported (only CN and O)", attr);
    slot = nid == NID_commonName ? cn : o;
    ENSURE(*slot == NULL, AECS_E_INVALID_ARGUMENT, "%s is given more than once", OBJ_nid2sn(nid));
    ENSURE(value[0] != '\0', AECS_E_INVALID_ARGUMENT, "%s has an empty value", OBJ_nid2sn(nid));
    if (X509_NAME_add_entry_by_NID(scratch, nid, MBSTRING_UTF8, (const unsigned char *)value, -1,
                                   -1, 0) != 1) {
        unsigned long e = ERR_get_error();
        const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

        ERR_clear_error();
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "the %s value is not valid in X.509 (%s)",
                        OBJ_nid2sn(nid), why != NULL ? why : "rejected by OpenSSL");
    }
    *slot = strdup(value);
    ENSURE(*slot != NULL, AECS_E_NO_MEMORY, "out of memory");
    return AECS_OK;
}

int aecs_keygen_parse_subject(const char *subject, char **cn, char **o)
{
    int rc = AECS_OK;
    char buf[SUBJECT_MAX + 1];
    X509_NAME *scratch = NULL;
    char *part;
    char *next;

    *cn = NULL;
    *o = NULL;
    ENSURE(strlen(subject) <= SUBJECT_MAX, AECS_E_INVALID_ARGUMENT, "longer than %d characters",
           SUBJECT_MAX);
    strcpy(buf, subject);
    ENSURE(trim(buf)[0] != '\0', AECS_E_INVALID_ARGUMENT, "empty (expected e.g. CN=name,O=org)");
    scratch = X509_NAME_new();
    ENSURE(scratch != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (part = buf; part != NULL; part = next) {
        next = strchr(part, ',');
        if (next != NULL)
            *next++ = '\0';
        GUARD_OUT(subject_part(part, scratch, cn, o));
    }
    ENSURE_OUT(*cn != NULL, AECS_E_INVALID_ARGUMENT, "has no CN (expected e.g. CN=name,O=org)");
out:
    X509_NAME_free(scratch);
    if (rc != AECS_OK) {
        free(*cn);
        free(*o);
        *cn = NULL;
        *o = NULL;
    }
    return rc;
}

/* ---- self-signed certificates ---- */

int aecs_keygen_self_signed(unsigned bits, unsigned days, const char *subject, int64_t now,
                            struct aecs_keypair_pem *out)
{
    int rc = AECS_OK;
    char *cn = NULL;
    char *o = NULL;
    EVP_PKEY *pkey = NULL;
    struct aecs_privkey *key = NULL;
    struct aecs_cert *cert = NULL;
    struct aecs_cert_template t;
    char *cert_pem = NULL;
    size_t cert_size = 0;
    BIO *bio = NULL;

    memset(out, 0, sizeof(*out));
    ENSURE(days >= 1 && days <= DAYS_MAX, AECS_E_INVALID_ARGUMENT,
           "certificate validity of %u days (1..%d)", days, DAYS_MAX);
    GUARD(check_rsa_bits(bits));
    GUARD(aecs_keygen_parse_subject(subject, &cn, &o));
    GUARD_OUT(gen_rsa(bits, &pkey));
    key = aecs_privkey_wrap_evp(pkey);
    ENSURE_OUT(key != NULL, AECS_E_NO_MEMORY, "out of memory");
    pkey = NULL; /* owned by key now */

    memset(&t, 0, sizeof(t));
    t.subject_cn = cn;
    t.subject_o = o;
    t.subject_key = key;
    t.not_before = now;
    t.not_after = now + (int64_t)days * SECONDS_PER_DAY;
    t.ca = 0;
    t.path_len = -1;
    GUARD_OUT(aecs_cert_build(&t, &cert));
    GUARD_OUT(aecs_cert_to_pem(cert, &cert_pem, &cert_size));

    GUARD_OUT(write_private(aecs_privkey_evp(key), 0, out));
    bio = BIO_new_mem_buf(cert_pem, (int)cert_size);
    ENSURE_OUT(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(append_secure(bio, &out->private_pem, &out->private_size));
    out->public_pem = cert_pem;
    out->public_size = cert_size;
    cert_pem = NULL;
out:
    if (rc != AECS_OK)
        aecs_keypair_pem_clear(out);
    BIO_free(bio);
    free(cert_pem);
    aecs_cert_free(cert);
    aecs_privkey_free(key);
    EVP_PKEY_free(pkey);
    free(cn);
    free(o);
    return rc;
}
