/*
 * x509_build.c - keys, certificates, CRLs and the SGX extension, built with
 * OpenSSL; see x509_build.h.
 *
 * Certificates and CRLs come back through x509.h's parsers (from the DER
 * made here), so what the simulator writes is exactly what the verifier
 * reads. The SGX extension is assembled from ASN1_TYPE values: every
 * {OID, value} pair and every SEQUENCE is encoded by i2d_ASN1_SEQUENCE_ANY.
 */
#include "crypto/x509_build.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "crypto/ossl.h"

#define SGX_OID "1.2.840.113741.1.13.1"
#define MAX_KEY_FILE (64u << 10)

/* Internal accessors of crypto.c. */
void *aecs_privkey_evp(const struct aecs_privkey *key);
struct aecs_privkey *aecs_privkey_wrap_evp(void *evp_pkey);

/* ---- private keys ---- */

int aecs_privkey_save_pem(const struct aecs_privkey *key, const char *path)
{
    int rc = AECS_OK;
    /* A secure-heap memory BIO: the PEM text never sits in ordinary heap memory. */
    BIO *bio = BIO_new(BIO_s_secmem());
    char *text = NULL;
    long n;

    ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(PEM_write_bio_PrivateKey(bio, aecs_privkey_evp(key), NULL, NULL, 0, NULL, NULL),
                   AECS_E_CRYPTO, "PEM_write_bio_PrivateKey");
    n = BIO_get_mem_data(bio, &text);
    ENSURE_OUT(n > 0 && text != NULL, AECS_E_CRYPTO, "cannot encode a private key");
    GUARD_OUT(aecs_file_write_atomic(path, text, (size_t)n, 0600));
out:
    BIO_free(bio); /* clears the secure buffer */
    return rc;
}

/* Refuses to prompt for a passphrase: sim keys are never encrypted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int aecs_privkey_load_pem(const char *path, struct aecs_privkey **out)
{
    int rc = AECS_OK;
    uint8_t *data = NULL;
    size_t size = 0;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    char group[32] = "";

    *out = NULL;
    GUARD(aecs_file_read(path, MAX_KEY_FILE, &data, &size));
    bio = BIO_new_mem_buf(data, (int)size);
    ENSURE_OUT(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (pkey == NULL) {
        rc = OSSL_FAIL(AECS_E_FORMAT, "private key parse");
        aecs_err_prefix("%.200s: ", path);
        goto out;
    }
    if (EVP_PKEY_is_a(pkey, "EC") != 1 ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       NULL) != 1 ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
        ERR_clear_error();
        BAIL_OUT(AECS_E_FORMAT, "%.200s: not a P-256 private key", path);
    }
    *out = aecs_privkey_wrap_evp(pkey);
    ENSURE_OUT(*out != NULL, AECS_E_NO_MEMORY, "out of memory");
    pkey = NULL;
out:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    aecs_cleanse(data, size);
    free(data);
    return rc;
}

/* ---- helpers ---- */

/* A fresh OpenSSL copy of a parsed certificate (from its DER). */
static int x509_of(const struct aecs_cert *cert, X509 **out)
{
    size_t size = 0;
    const unsigned char *p = aecs_cert_der(cert, &size);

    *out = d2i_X509(NULL, &p, (long)size);
    if (*out == NULL)
        return OSSL_FAIL(AECS_E_INTERNAL, "re-reading a certificate");
    return AECS_OK;
}

/* A random positive serial of exactly 20 bytes (the most RFC 5280 allows). */
static int set_random_serial(X509 *x)
{
    uint8_t b[20];
    BIGNUM *bn = NULL;
    int rc = AECS_OK;

    GUARD(aecs_random_bytes(b, sizeof(b)));
    b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
    bn = BN_bin2bn(b, sizeof(b), NULL);
    ENSURE_OUT(bn != NULL, AECS_E_NO_MEMORY, "out of memory");
    ENSURE_OUT(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL, AECS_E_CRYPTO,
               "cannot set a certificate serial");
out:
    BN_free(bn);
    return rc;
}

static int make_name(const char *cn, const char *o, X509_NAME **out)
{
    X509_NAME *name = X509_NAME_new();

    *out = NULL;
    ENSURE(name != NULL, AECS_E_NO_MEMORY, "out of memory");
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        (o != NULL && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)o,
                                                 -1, -1, 0) != 1)) {
        X509_NAME_free(name);
        return OSSL_FAIL(AECS_E_CRYPTO, "X509_NAME_add_entry_by_txt");
    }
    *out = name;
    return AECS_OK;
}

static int set_time(ASN1_TIME *t, int64_t when, const char *what)
{
    if (ASN1_TIME_set(t, (time_t)when) == NULL)
        return OSSL_FAIL(AECS_E_INVALID_ARGUMENT, what);
    return AECS_OK;
}

/* Adds a standard extension from its OpenSSL configuration text ("critical,CA:TRUE"). */
static int add_conf_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok;

    if (ext == NULL)
        return OSSL_FAIL(AECS_E_CRYPTO, OBJ_nid2sn(nid));
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1)
        return OSSL_FAIL(AECS_E_CRYPTO, "X509_add_ext");
    return AECS_OK;
}

/* ---- the SGX extension ---- */

/* Wraps the DER encoding of seq as an ASN1_TYPE SEQUENCE value; NULL on failure. */
static ASN1_TYPE *seq_type(const STACK_OF(ASN1_TYPE) * seq)
{
    unsigned char *der = NULL;
    int len = i2d_ASN1_SEQUENCE_ANY(seq, &der);
    ASN1_STRING *s = NULL;
    ASN1_TYPE *t = NULL;

    if (len <= 0)
        return NULL;
    s = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
    t = ASN1_TYPE_new();
    if (s == NULL || t == NULL) {
        OPENSSL_free(der);
        ASN1_STRING_free(s);
        ASN1_TYPE_free(t);
        return NULL;
    }
    ASN1_STRING_set0(s, der, len);
    ASN1_TYPE_set(t, V_ASN1_SEQUENCE, s);
    return t;
}

static ASN1_TYPE *int_type(int64_t v, int enumerated)
{
    ASN1_TYPE *t = ASN1_TYPE_new();
    ASN1_INTEGER *i = enumerated ? ASN1_ENUMERATED_new() : ASN1_INTEGER_new();
    int ok = enumerated ? ASN1_ENUMERATED_set_int64(i, v) : ASN1_INTEGER_set_int64(i, v);

    if (t == NULL || i == NULL || ok != 1) {
        ASN1_TYPE_free(t);
        ASN1_STRING_free(i);
        return NULL;
    }
    ASN1_TYPE_set(t, enumerated ? V_ASN1_ENUMERATED : V_ASN1_INTEGER, i);
    return t;
}

static ASN1_TYPE *octets_type(const uint8_t *data, size_t size)
{
    ASN1_TYPE *t = ASN1_TYPE_new();
    ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();

    if (t == NULL || s == NULL || ASN1_OCTET_STRING_set(s, data, (int)size) != 1) {
        ASN1_TYPE_free(t);
        ASN1_OCTET_STRING_free(s);
        return NULL;
    }
    ASN1_TYPE_set(t, V_ASN1_OCTET_STRING, s);
    return t;
}

static ASN1_TYPE *bool_type(int v)
{
    ASN1_TYPE *t = ASN1_TYPE_new();

    if (t != NULL) {
        ASN1_TYPE_set(t, V_ASN1_BOOLEAN, NULL);
        t->value.boolean = v ? 0xff : 0; /* DER TRUE is 0xff */
    }
    return t;
}

/* Appends the SEQUENCE {OID, value} to seq; takes value in every case. Returns 1 or 0. */
static int add_pair(STACK_OF(ASN1_TYPE) * seq, const char *oid, ASN1_TYPE *value)
{
    STACK_OF(ASN1_TYPE) *pair = sk_ASN1_TYPE_new_null();
    ASN1_TYPE *o = ASN1_TYPE_new();
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_TYPE *item = NULL;
    int ok = 0;

    if (pair == NULL || o == NULL || obj == NULL || value == NULL)
        goto out;
    ASN1_TYPE_set(o, V_ASN1_OBJECT, obj);
    obj = NULL;
    if (sk_ASN1_TYPE_push(pair, o) <= 0)
        goto out;
    o = NULL;
    if (sk_ASN1_TYPE_push(pair, value) <= 0)
        goto out;
    value = NULL;
    item = seq_type(pair);
    if (item == NULL || sk_ASN1_TYPE_push(seq, item) <= 0)
        goto out;
    item = NULL;
    ok = 1;
out:
    ASN1_TYPE_free(item);
    ASN1_TYPE_free(value);
    ASN1_TYPE_free(o);
    ASN1_OBJECT_free(obj);
    sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    return ok;
}

/* Adds seq (as a SEQUENCE value) under oid to parent. Returns 1 or 0. */
static int add_seq_pair(STACK_OF(ASN1_TYPE) * parent, const char *oid,
                        const STACK_OF(ASN1_TYPE) * seq)
{
    return add_pair(parent, oid, seq_type(seq));
}

int aecs_sgx_ext_build_der(const struct aecs_sgx_ext *ext, uint8_t **der, size_t *size)
{
    int rc = AECS_OK;
    STACK_OF(ASN1_TYPE) *top = sk_ASN1_TYPE_new_null();
    STACK_OF(ASN1_TYPE) *tcb = sk_ASN1_TYPE_new_null();
    STACK_OF(ASN1_TYPE) *cfg = sk_ASN1_TYPE_new_null();
    unsigned char *enc = NULL;
    char oid[64];
    int ok = top != NULL && tcb != NULL && cfg != NULL;
    int len;

    *der = NULL;
    *size = 0;
    ENSURE_OUT(ext->sgx_type >= 0 && ext->sgx_type <= 2, AECS_E_INVALID_ARGUMENT,
               "SGX extension: SGX Type %d is not 0, 1 or 2", ext->sgx_type);
    for (int i = 0; i < 16 && ok; i++) {
        snprintf(oid, sizeof(oid), SGX_OID ".2.%d", i + 1);
        ok = add_pair(tcb, oid, int_type(ext->tcb_comp[i], 0));
    }
    ok = ok && add_pair(tcb, SGX_OID ".2.17", int_type(ext->pcesvn, 0));
    ok = ok && add_pair(tcb, SGX_OID ".2.18", octets_type(ext->cpusvn, 16));
    ok = ok && add_pair(top, SGX_OID ".1", octets_type(ext->ppid, 16));
    ok = ok && add_seq_pair(top, SGX_OID ".2", tcb);
    ok = ok && add_pair(top, SGX_OID ".3", octets_type(ext->pceid, 2));
    ok = ok && add_pair(top, SGX_OID ".4", octets_type(ext->fmspc, 6));
    ok = ok && add_pair(top, SGX_OID ".5", int_type(ext->sgx_type, 1));
    if (ext->has_platform_instance_id)
        ok = ok && add_pair(top, SGX_OID ".6", octets_type(ext->platform_instance_id, 16));
    if (ext->has_configuration) {
        if (ext->dynamic_platform >= 0)
            ok = ok && add_pair(cfg, SGX_OID ".7.1", bool_type(ext->dynamic_platform));
        if (ext->cached_keys >= 0)
            ok = ok && add_pair(cfg, SGX_OID ".7.2", bool_type(ext->cached_keys));
        if (ext->smt_enabled >= 0)
            ok = ok && add_pair(cfg, SGX_OID ".7.3", bool_type(ext->smt_enabled));
        ok = ok && add_seq_pair(top, SGX_OID ".7", cfg);
    }
    ENSURE_OUT(ok, AECS_E_NO_MEMORY, "SGX extension: cannot build the ASN.1 values");
    len = i2d_ASN1_SEQUENCE_ANY(top, &enc);
    ENSURE_OUT(len > 0, AECS_E_CRYPTO, "SGX extension: cannot encode");
    *der = malloc((size_t)len);
    ENSURE_OUT(*der != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(*der, enc, (size_t)len);
    *size = (size_t)len;
out:
    OPENSSL_free(enc);
    sk_ASN1_TYPE_pop_free(cfg, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(tcb, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
    return rc;
}

static int add_sgx_ext(X509 *x, const struct aecs_sgx_ext *sgx)
{
    int rc = AECS_OK;
    uint8_t *der = NULL;
    size_t size = 0;
    ASN1_OCTET_STRING *value = NULL;
    ASN1_OBJECT *obj = NULL;
    X509_EXTENSION *ext = NULL;

    GUARD(aecs_sgx_ext_build_der(sgx, &der, &size));
    value = ASN1_OCTET_STRING_new();
    obj = OBJ_txt2obj(SGX_OID, 1);
    ENSURE_OUT(value != NULL && obj != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(ASN1_OCTET_STRING_set(value, der, (int)size), AECS_E_NO_MEMORY,
                   "ASN1_OCTET_STRING_set");
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, value);
    ENSURE_OUT(ext != NULL, AECS_E_CRYPTO, "cannot create the SGX extension");
    OSSL_GUARD_OUT(X509_add_ext(x, ext, -1), AECS_E_CRYPTO, "X509_add_ext(SGX)");
out:
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(value);
    free(der);
    return rc;
}

/* ---- certificates ---- */

static int add_cert_exts(X509 *x, X509 *issuer, const struct aecs_cert_template *t)
{
    X509V3_CTX ctx;
    char text[256];

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    if (t->ca && t->path_len >= 0)
        snprintf(text, sizeof(text), "critical,CA:TRUE,pathlen:%d", t->path_len);
    else
        snprintf(text, sizeof(text), "critical,CA:%s", t->ca ? "TRUE" : "FALSE");
    GUARD(add_conf_ext(x, &ctx, NID_basic_constraints, text));
    if (t->key_usage != 0) {
        snprintf(text, sizeof(text), "critical%s%s%s%s",
                 t->key_usage & AECS_KU_DIGITAL_SIGNATURE ? ",digitalSignature" : "",
                 t->key_usage & AECS_KU_NON_REPUDIATION ? ",nonRepudiation" : "",
                 t->key_usage & AECS_KU_CERT_SIGN ? ",keyCertSign" : "",
                 t->key_usage & AECS_KU_CRL_SIGN ? ",cRLSign" : "");
        GUARD(add_conf_ext(x, &ctx, NID_key_usage, text));
    }
    /* The subject key identifier first: a self-signed AKI is taken from it. */
    GUARD(add_conf_ext(x, &ctx, NID_subject_key_identifier, "hash"));
    GUARD(add_conf_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"));
    if (t->crl_uri != NULL) {
        ENSURE(strlen(t->crl_uri) < 200, AECS_E_INVALID_ARGUMENT, "CRL URI too long");
        snprintf(text, sizeof(text), "URI:%s", t->crl_uri);
        GUARD(add_conf_ext(x, &ctx, NID_crl_distribution_points, text));
    }
    if (t->subject_alt_names != NULL) {
        ENSURE(strlen(t->subject_alt_names) < 1024, AECS_E_INVALID_ARGUMENT,
               "subjectAltName too long");
        GUARD(add_conf_ext(x, &ctx, NID_subject_alt_name, t->subject_alt_names));
    }
    if (t->server_auth)
        GUARD(add_conf_ext(x, &ctx, NID_ext_key_usage, "serverAuth"));
    if (t->sgx_ext != NULL)
        GUARD(add_sgx_ext(x, t->sgx_ext));
    return AECS_OK;
}

int aecs_cert_build(const struct aecs_cert_template *t, struct aecs_cert **out)
{
    int rc = AECS_OK;
    X509 *x = NULL;
    X509 *issuer = NULL;
    X509_NAME *name = NULL;
    unsigned char *der = NULL;
    EVP_PKEY *sign_key;
    int len;

    *out = NULL;
    ENSURE(t->subject_cn != NULL && t->subject_key != NULL &&
               (t->issuer == NULL || t->issuer_key != NULL),
           AECS_E_INVALID_ARGUMENT, "certificate: subject, key and issuer key are required");
    ENSURE(t->not_before < t->not_after, AECS_E_INVALID_ARGUMENT,
           "certificate: notBefore must be before notAfter");
    sign_key = aecs_privkey_evp(t->issuer != NULL ? t->issuer_key : t->subject_key);
    x = X509_new();
    ENSURE_OUT(x != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(X509_set_version(x, X509_VERSION_3), AECS_E_CRYPTO, "X509_set_version");
    GUARD_OUT(set_random_serial(x));
    GUARD_OUT(make_name(t->subject_cn, t->subject_o, &name));
    OSSL_GUARD_OUT(X509_set_subject_name(x, name), AECS_E_CRYPTO, "X509_set_subject_name");
    if (t->issuer != NULL) {
        GUARD_OUT(x509_of(t->issuer, &issuer));
        OSSL_GUARD_OUT(X509_set_issuer_name(x, X509_get_subject_name(issuer)), AECS_E_CRYPTO,
                       "X509_set_issuer_name");
    } else {
        OSSL_GUARD_OUT(X509_set_issuer_name(x, name), AECS_E_CRYPTO, "X509_set_issuer_name");
    }
    GUARD_OUT(set_time(X509_getm_notBefore(x), t->not_before, "certificate notBefore"));
    GUARD_OUT(set_time(X509_getm_notAfter(x), t->not_after, "certificate notAfter"));
    OSSL_GUARD_OUT(X509_set_pubkey(x, aecs_privkey_evp(t->subject_key)), AECS_E_CRYPTO,
                   "X509_set_pubkey");
    GUARD_OUT(add_cert_exts(x, issuer != NULL ? issuer : x, t));
    if (X509_sign(x, sign_key, EVP_sha256()) <= 0) { /* returns a size, not 1 */
        rc = OSSL_FAIL(AECS_E_CRYPTO, "X509_sign");
        goto out;
    }
    len = i2d_X509(x, &der);
    ENSURE_OUT(len > 0, AECS_E_CRYPTO, "cannot encode a certificate");
    GUARD_OUT(aecs_cert_parse(der, (size_t)len, out));
out:
    OPENSSL_free(der);
    X509_NAME_free(name);
    X509_free(issuer);
    X509_free(x);
    return rc;
}

int aecs_cert_to_pem(const struct aecs_cert *cert, char **pem, size_t *size)
{
    int rc = AECS_OK;
    X509 *x = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    long n;

    *pem = NULL;
    *size = 0;
    ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(x509_of(cert, &x));
    OSSL_GUARD_OUT(PEM_write_bio_X509(bio, x), AECS_E_CRYPTO, "PEM_write_bio_X509");
    n = BIO_get_mem_data(bio, &text);
    ENSURE_OUT(n > 0, AECS_E_CRYPTO, "cannot encode a certificate as PEM");
    *pem = malloc((size_t)n + 1);
    ENSURE_OUT(*pem != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(*pem, text, (size_t)n);
    (*pem)[n] = '\0';
    *size = (size_t)n;
out:
    X509_free(x);
    BIO_free(bio);
    return rc;
}

/* ---- CRLs ---- */

static int add_revoked(X509_CRL *crl, const struct aecs_cert *cert, const ASN1_TIME *when)
{
    int rc = AECS_OK;
    X509 *x = NULL;
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();

    ENSURE_OUT(r != NULL && reason != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(x509_of(cert, &x));
    OSSL_GUARD_OUT(X509_REVOKED_set_serialNumber(r, (ASN1_INTEGER *)X509_get0_serialNumber(x)),
                   AECS_E_CRYPTO, "X509_REVOKED_set_serialNumber");
    OSSL_GUARD_OUT(X509_REVOKED_set_revocationDate(r, (ASN1_TIME *)when), AECS_E_CRYPTO,
                   "X509_REVOKED_set_revocationDate");
    OSSL_GUARD_OUT(ASN1_ENUMERATED_set(reason, 1 /* keyCompromise */), AECS_E_CRYPTO,
                   "ASN1_ENUMERATED_set");
    OSSL_GUARD_OUT(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0), AECS_E_CRYPTO,
                   "X509_REVOKED_add1_ext_i2d(reason)");
    OSSL_GUARD_OUT(X509_CRL_add0_revoked(crl, r), AECS_E_CRYPTO, "X509_CRL_add0_revoked");
    r = NULL;
out:
    ASN1_ENUMERATED_free(reason);
    X509_REVOKED_free(r);
    X509_free(x);
    return rc;
}

int aecs_crl_build(const struct aecs_crl_template *t, uint8_t **der, size_t *size)
{
    int rc = AECS_OK;
    X509_CRL *crl = X509_CRL_new();
    X509 *issuer = NULL;
    ASN1_TIME *this_update = ASN1_TIME_new();
    ASN1_TIME *next_update = ASN1_TIME_new();
    ASN1_INTEGER *number = ASN1_INTEGER_new();
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    const ASN1_OCTET_STRING *ski;
    unsigned char *enc = NULL;
    int len;

    *der = NULL;
    *size = 0;
    ENSURE_OUT(crl != NULL && this_update != NULL && next_update != NULL && number != NULL &&
                   akid != NULL,
               AECS_E_NO_MEMORY, "out of memory");
    ENSURE_OUT(t->this_update < t->next_update, AECS_E_INVALID_ARGUMENT,
               "CRL: thisUpdate must be before nextUpdate");
    GUARD_OUT(x509_of(t->issuer, &issuer));
    OSSL_GUARD_OUT(X509_CRL_set_version(crl, X509_CRL_VERSION_2), AECS_E_CRYPTO,
                   "X509_CRL_set_version");
    OSSL_GUARD_OUT(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), AECS_E_CRYPTO,
                   "X509_CRL_set_issuer_name");
    GUARD_OUT(set_time(this_update, t->this_update, "CRL thisUpdate"));
    GUARD_OUT(set_time(next_update, t->next_update, "CRL nextUpdate"));
    OSSL_GUARD_OUT(X509_CRL_set1_lastUpdate(crl, this_update), AECS_E_CRYPTO,
                   "X509_CRL_set1_lastUpdate");
    OSSL_GUARD_OUT(X509_CRL_set1_nextUpdate(crl, next_update), AECS_E_CRYPTO,
                   "X509_CRL_set1_nextUpdate");
    for (size_t i = 0; i < t->revoked_count; i++)
        GUARD_OUT(add_revoked(crl, t->revoked[i], this_update));
    OSSL_GUARD_OUT(X509_CRL_sort(crl), AECS_E_CRYPTO, "X509_CRL_sort");
    OSSL_GUARD_OUT(ASN1_INTEGER_set(number, t->number), AECS_E_CRYPTO, "ASN1_INTEGER_set");
    OSSL_GUARD_OUT(X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0), AECS_E_CRYPTO,
                   "X509_CRL_add1_ext_i2d(crlNumber)");
    ski = X509_get0_subject_key_id(issuer);
    ENSURE_OUT(ski != NULL, AECS_E_INVALID_ARGUMENT,
               "CRL: the issuer certificate has no subject key identifier");
    akid->keyid = ASN1_OCTET_STRING_dup(ski);
    ENSURE_OUT(akid->keyid != NULL, AECS_E_NO_MEMORY, "out of memory");
    OSSL_GUARD_OUT(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0),
                   AECS_E_CRYPTO, "X509_CRL_add1_ext_i2d(authorityKeyIdentifier)");
    if (X509_CRL_sign(crl, aecs_privkey_evp(t->issuer_key), EVP_sha256()) <= 0) {
        rc = OSSL_FAIL(AECS_E_CRYPTO, "X509_CRL_sign");
        goto out;
    }
    len = i2d_X509_CRL(crl, &enc);
    ENSURE_OUT(len > 0, AECS_E_CRYPTO, "cannot encode a CRL");
    *der = malloc((size_t)len);
    ENSURE_OUT(*der != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(*der, enc, (size_t)len);
    *size = (size_t)len;
out:
    OPENSSL_free(enc);
    AUTHORITY_KEYID_free(akid);
    ASN1_INTEGER_free(number);
    ASN1_TIME_free(next_update);
    ASN1_TIME_free(this_update);
    X509_free(issuer);
    X509_CRL_free(crl);
    return rc;
}
