/*
 * x509.c - certificates, chains, CRLs and the SGX PCK extensions; see x509.h.
 *
 * Every structure is decoded by OpenSSL (d2i_*, PEM_read_*, and the generic
 * ASN1_TYPE walker for the SGX extension); this file only checks what it gets.
 */
#include "crypto/x509.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/codec.h"
#include "crypto/ossl.h"

#define MAX_CHAIN 8

struct aecs_pubkey *aecs_pubkey_wrap_evp(void *evp_pkey);

struct aecs_cert {
    atomic_int refs;
    X509 *x;
    struct aecs_pubkey *pub;
    int64_t not_before;
    int64_t not_after;
    unsigned char *der;
    size_t der_size;
};

struct aecs_certs {
    size_t count;
    struct aecs_cert *items[MAX_CHAIN];
};

struct aecs_crl {
    atomic_int refs;
    X509_CRL *x;
    int64_t this_update;
    int64_t next_update;
};

/* Seconds since the epoch; 0 when t is absent, -1 (with *ok = 0) when it does not convert. */
static int64_t asn1_time_to_epoch_ok(const ASN1_TIME *t, int *ok)
{
    struct tm tm;

    if (t == NULL)
        return 0;
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        *ok = 0;
        return -1;
    }
    return (int64_t)timegm(&tm);
}

static int cert_wrap(X509 *x, struct aecs_cert **out)
{
    struct aecs_cert *cert = calloc(1, sizeof(*cert));
    EVP_PKEY *pkey = X509_get_pubkey(x);

    *out = NULL;
    if (cert == NULL || pkey == NULL) {
        free(cert);
        EVP_PKEY_free(pkey);
        X509_free(x);
        return pkey == NULL ? OSSL_FAIL(AECS_E_FORMAT, "certificate public key")
                            : AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    cert->pub = aecs_pubkey_wrap_evp(pkey);
    if (cert->pub == NULL) {
        EVP_PKEY_free(pkey);
        X509_free(x);
        free(cert);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    int der_len = i2d_X509(x, &cert->der);
    if (der_len <= 0) {
        aecs_pubkey_free(cert->pub);
        X509_free(x);
        free(cert);
        return OSSL_FAIL(AECS_E_FORMAT, "certificate re-encoding");
    }
    cert->der_size = (size_t)der_len;
    atomic_init(&cert->refs, 1);
    cert->x = x;
    int times_ok = 1;
    cert->not_before = asn1_time_to_epoch_ok(X509_get0_notBefore(x), &times_ok);
    cert->not_after = asn1_time_to_epoch_ok(X509_get0_notAfter(x), &times_ok);
    if (!times_ok || X509_get0_notBefore(x) == NULL || X509_get0_notAfter(x) == NULL) {
        aecs_cert_free(cert);
        *out = NULL;
        return AECS_ERR(AECS_E_FORMAT, "certificate: validity dates do not convert");
    }
    *out = cert;
    return AECS_OK;
}

static int looks_pem(const uint8_t *data, size_t size)
{
    static const char tag[] = "-----BEGIN";

    for (size_t i = 0; i + sizeof(tag) - 1 <= size; i++) {
        if (memcmp(data + i, tag, sizeof(tag) - 1) == 0)
            return 1;
    }
    return 0;
}

int aecs_cert_parse(const uint8_t *data, size_t size, struct aecs_cert **out)
{
    X509 *x = NULL;

    *out = NULL;
    ENSURE(size > 0 && size < (1u << 24), AECS_E_FORMAT, "certificate: bad size %zu", size);
    if (looks_pem(data, size)) {
        BIO *bio = BIO_new_mem_buf(data, (int)size);
        ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        const unsigned char *p = data;
        x = d2i_X509(NULL, &p, (long)size);
        if (x != NULL && p != data + size) {
            X509_free(x);
            return AECS_ERR(AECS_E_FORMAT, "certificate: %zu trailing bytes after the DER",
                            (size_t)(data + size - p));
        }
    }
    if (x == NULL)
        return OSSL_FAIL(AECS_E_FORMAT, "certificate parse");
    /*
     * OpenSSL caches a certificate's decoded extensions inside the X509 on
     * first use; fill that cache now, while this thread owns the certificate,
     * so threads that later share it (the certificate caches) only read it.
     */
    (void)X509_check_purpose(x, -1, 0);
    return cert_wrap(x, out);
}

void aecs_cert_free(struct aecs_cert *cert)
{
    if (cert == NULL || atomic_fetch_sub(&cert->refs, 1) != 1)
        return;
    aecs_pubkey_free(cert->pub);
    OPENSSL_free(cert->der);
    X509_free(cert->x);
    free(cert);
}

struct aecs_cert *aecs_cert_ref(struct aecs_cert *cert)
{
    atomic_fetch_add(&cert->refs, 1);
    return cert;
}

/* ---- the decoded-certificate cache ---- */

#define CERT_CACHE_SIZE 128

static struct {
    pthread_rwlock_t lock;
    size_t count;
    struct {
        uint8_t hash[32];
        struct aecs_cert *cert;
    } entries[CERT_CACHE_SIZE];
} g_cert_cache = {.lock = PTHREAD_RWLOCK_INITIALIZER};

static void der_hash(const uint8_t *der, size_t size, uint8_t out[32])
{
    unsigned int len = 32;

    if (EVP_Digest(der, size, out, &len, EVP_sha256(), NULL) != 1)
        memset(out, 0, 32);
}

static struct aecs_cert *cache_find(const uint8_t hash[32], const uint8_t *der, size_t size)
{
    struct aecs_cert *found = NULL;

    pthread_rwlock_rdlock(&g_cert_cache.lock);
    for (size_t i = 0; i < g_cert_cache.count; i++) {
        struct aecs_cert *c = g_cert_cache.entries[i].cert;
        if (memcmp(g_cert_cache.entries[i].hash, hash, 32) == 0 && c->der_size == size &&
            memcmp(c->der, der, size) == 0) {
            found = aecs_cert_ref(c);
            break;
        }
    }
    pthread_rwlock_unlock(&g_cert_cache.lock);
    return found;
}

static void cache_insert(const uint8_t hash[32], struct aecs_cert *cert)
{
    pthread_rwlock_wrlock(&g_cert_cache.lock);
    if (g_cert_cache.count < CERT_CACHE_SIZE) {
        for (size_t i = 0; i < g_cert_cache.count; i++) {
            if (memcmp(g_cert_cache.entries[i].hash, hash, 32) == 0)
                goto done; /* another thread was first */
        }
        memcpy(g_cert_cache.entries[g_cert_cache.count].hash, hash, 32);
        g_cert_cache.entries[g_cert_cache.count].cert = aecs_cert_ref(cert);
        g_cert_cache.count++;
    }
done:
    pthread_rwlock_unlock(&g_cert_cache.lock);
}

/* Whole chain files of trusted collateral, keyed by the SHA-256 of their bytes. */
#define CHAIN_CACHE_SIZE 32

static struct {
    pthread_rwlock_t lock;
    size_t count;
    struct {
        uint8_t hash[32];
        struct aecs_certs *certs;
    } entries[CHAIN_CACHE_SIZE];
} g_chain_cache = {.lock = PTHREAD_RWLOCK_INITIALIZER};

static int chain_cache_find(const uint8_t hash[32], struct aecs_certs **out)
{
    int rc = AECS_E_NOT_FOUND;

    pthread_rwlock_rdlock(&g_chain_cache.lock);
    for (size_t i = 0; i < g_chain_cache.count; i++) {
        if (memcmp(g_chain_cache.entries[i].hash, hash, 32) == 0) {
            rc = aecs_certs_dup(g_chain_cache.entries[i].certs, out);
            break;
        }
    }
    pthread_rwlock_unlock(&g_chain_cache.lock);
    return rc;
}

static void chain_cache_insert(const uint8_t hash[32], const struct aecs_certs *certs)
{
    struct aecs_certs *copy = NULL;

    if (aecs_certs_dup(certs, &copy) != AECS_OK)
        return;
    pthread_rwlock_wrlock(&g_chain_cache.lock);
    if (g_chain_cache.count < CHAIN_CACHE_SIZE) {
        memcpy(g_chain_cache.entries[g_chain_cache.count].hash, hash, 32);
        g_chain_cache.entries[g_chain_cache.count].certs = copy;
        g_chain_cache.count++;
        copy = NULL;
    }
    pthread_rwlock_unlock(&g_chain_cache.lock);
    aecs_certs_free(copy);
}

/* Decodes one DER certificate that must span exactly der[0..size), through the cache. */
static int der_cert_cached(const uint8_t *der, size_t size, enum aecs_certs_cache_mode mode,
                           struct aecs_cert **out)
{
    uint8_t hash[32];
    const unsigned char *p = der;
    X509 *x;

    *out = NULL;
    if (mode != AECS_CERTS_NO_CACHE) {
        der_hash(der, size, hash);
        *out = cache_find(hash, der, size);
        if (*out != NULL)
            return AECS_OK;
    }
    x = d2i_X509(NULL, &p, (long)size);
    if (x == NULL)
        return OSSL_FAIL(AECS_E_FORMAT, "certificate parse");
    if (p != der + size) {
        X509_free(x);
        return AECS_ERR(AECS_E_FORMAT, "certificate: %zu trailing bytes after the DER",
                        (size_t)(der + size - p));
    }
    GUARD(cert_wrap(x, out));
    if (mode == AECS_CERTS_CACHE_INSERT)
        cache_insert(hash, *out);
    return AECS_OK;
}

/* Length of the DER TLV at der[0..size) (OpenSSL's ASN.1 header reader). */
static int der_tlv_size(const uint8_t *der, size_t size, size_t *out)
{
    const unsigned char *p = der;
    long len = 0;
    int tag = 0;
    int cls = 0;
    int r = ASN1_get_object(&p, &len, &tag, &cls, (long)size);

    if ((r & 0x80) || r == 0x21 || len < 0 || (size_t)(p - der) + (size_t)len > size) {
        ERR_clear_error();
        return AECS_ERR(AECS_E_FORMAT, "certificate chain: bad DER length");
    }
    *out = (size_t)(p - der) + (size_t)len;
    return AECS_OK;
}

int aecs_cert_parse_cached(const uint8_t *data, size_t size, enum aecs_certs_cache_mode mode,
                           struct aecs_cert **out)
{
    struct aecs_certs *certs = NULL;

    *out = NULL;
    GUARD(aecs_certs_parse_cached(data, size, mode, &certs));
    if (aecs_certs_count(certs) != 1) {
        aecs_certs_free(certs);
        return AECS_ERR(AECS_E_FORMAT, "expected one certificate, found several");
    }
    *out = aecs_cert_ref(certs->items[0]);
    aecs_certs_free(certs);
    return AECS_OK;
}

static int certs_add(struct aecs_certs *certs, X509 *x)
{
    if (certs->count == MAX_CHAIN) {
        X509_free(x);
        return AECS_ERR(AECS_E_FORMAT, "certificate chain: more than %d certificates", MAX_CHAIN);
    }
    GUARD(cert_wrap(x, &certs->items[certs->count]));
    certs->count++;
    return AECS_OK;
}

static int certs_add_cert(struct aecs_certs *certs, struct aecs_cert *cert)
{
    if (certs->count == MAX_CHAIN) {
        aecs_cert_free(cert);
        return AECS_ERR(AECS_E_FORMAT, "certificate chain: more than %d certificates", MAX_CHAIN);
    }
    certs->items[certs->count++] = cert;
    return AECS_OK;
}

int aecs_certs_parse_cached(const uint8_t *data, size_t size, enum aecs_certs_cache_mode mode,
                            struct aecs_certs **out)
{
    int rc = AECS_OK;
    struct aecs_certs *certs = NULL;
    BIO *bio = NULL;

    *out = NULL;
    if (mode == AECS_CERTS_NO_CACHE)
        return aecs_certs_parse(data, size, out);
    uint8_t file_hash[32];
    if (mode == AECS_CERTS_CACHE_INSERT) {
        der_hash(data, size, file_hash);
        if (chain_cache_find(file_hash, out) == AECS_OK)
            return AECS_OK;
    }
    certs = calloc(1, sizeof(*certs));
    ENSURE(certs != NULL, AECS_E_NO_MEMORY, "out of memory");
    ENSURE_OUT(size > 0 && size < (1u << 24), AECS_E_FORMAT, "certificate chain: bad size %zu",
               size);
    if (looks_pem(data, size)) {
        bio = BIO_new_mem_buf(data, (int)size);
        ENSURE_OUT(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
        for (;;) {
            char *name = NULL;
            char *header = NULL;
            unsigned char *der = NULL;
            long der_len = 0;
            if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
                unsigned long e = ERR_peek_last_error();
                if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE &&
                    certs->count > 0)
                    break;
                BAIL_OUT(AECS_E_FORMAT, "certificate chain: certificate %zu does not parse",
                         certs->count + 1);
            }
            struct aecs_cert *cert = NULL;
            int ok = strcmp(name, "CERTIFICATE") == 0;
            rc = ok ? der_cert_cached(der, (size_t)der_len, mode, &cert) : AECS_E_FORMAT;
            OPENSSL_free(name);
            OPENSSL_free(header);
            OPENSSL_free(der);
            ENSURE_OUT(ok, AECS_E_FORMAT, "certificate chain: a PEM block is not a CERTIFICATE");
            if (rc != AECS_OK) {
                aecs_err_prefix("certificate chain: certificate %zu: ", certs->count + 1);
                goto out;
            }
            GUARD_OUT(certs_add_cert(certs, cert));
        }
    } else {
        size_t off = 0;
        while (off < size) {
            size_t n = 0;
            struct aecs_cert *cert = NULL;
            GUARD_OUT(der_tlv_size(data + off, size - off, &n));
            GUARD_OUT(der_cert_cached(data + off, n, mode, &cert));
            GUARD_OUT(certs_add_cert(certs, cert));
            off += n;
        }
    }
    if (mode == AECS_CERTS_CACHE_INSERT)
        chain_cache_insert(file_hash, certs);
    *out = certs;
    certs = NULL;
out:
    ERR_clear_error();
    BIO_free(bio);
    aecs_certs_free(certs);
    return rc;
}

int aecs_certs_parse(const uint8_t *data, size_t size, struct aecs_certs **out)
{
    int rc = AECS_OK;
    struct aecs_certs *certs = calloc(1, sizeof(*certs));
    BIO *bio = NULL;

    *out = NULL;
    ENSURE(certs != NULL, AECS_E_NO_MEMORY, "out of memory");
    ENSURE_OUT(size > 0 && size < (1u << 24), AECS_E_FORMAT, "certificate chain: bad size %zu",
               size);
    if (looks_pem(data, size)) {
        /* Quotes carry the chain with a trailing NUL; OpenSSL stops at the last END line. */
        bio = BIO_new_mem_buf(data, (int)size);
        ENSURE_OUT(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
        for (;;) {
            X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
            if (x == NULL) {
                unsigned long e = ERR_peek_last_error();
                if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE &&
                    certs->count > 0) {
                    ERR_clear_error();
                    break;
                }
                BAIL_OUT(AECS_E_FORMAT, "certificate chain: certificate %zu does not parse",
                         certs->count + 1);
            }
            GUARD_OUT(certs_add(certs, x));
        }
    } else {
        const unsigned char *p = data;
        const unsigned char *end = data + size;
        while (p < end) {
            X509 *x = d2i_X509(NULL, &p, (long)(end - p));
            ENSURE_OUT(x != NULL, AECS_E_FORMAT,
                       "certificate chain: DER certificate %zu does not parse", certs->count + 1);
            GUARD_OUT(certs_add(certs, x));
        }
    }
    *out = certs;
    certs = NULL;
out:
    ERR_clear_error();
    BIO_free(bio);
    aecs_certs_free(certs);
    return rc;
}

void aecs_certs_free(struct aecs_certs *certs)
{
    if (certs == NULL)
        return;
    for (size_t i = 0; i < certs->count; i++)
        aecs_cert_free(certs->items[i]);
    free(certs);
}

int aecs_certs_dup(const struct aecs_certs *certs, struct aecs_certs **out)
{
    struct aecs_certs *copy = calloc(1, sizeof(*copy));

    *out = NULL;
    ENSURE(copy != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < certs->count; i++)
        copy->items[i] = aecs_cert_ref(certs->items[i]);
    copy->count = certs->count;
    *out = copy;
    return AECS_OK;
}

size_t aecs_certs_count(const struct aecs_certs *certs)
{
    return certs->count;
}

struct aecs_cert *aecs_certs_get(const struct aecs_certs *certs, size_t i)
{
    return i < certs->count ? certs->items[i] : NULL;
}

int aecs_certs_order_chain(struct aecs_certs *certs)
{
    struct aecs_cert *sorted[MAX_CHAIN];
    size_t n = certs->count;
    int used[MAX_CHAIN] = {0};
    size_t leaf = n;

    /* The leaf is the one certificate that issued none of the others. */
    for (size_t i = 0; i < n; i++) {
        int issues_other = 0;
        for (size_t j = 0; j < n; j++) {
            if (i != j && X509_NAME_cmp(X509_get_subject_name(certs->items[i]->x),
                                        X509_get_issuer_name(certs->items[j]->x)) == 0)
                issues_other = 1;
        }
        if (!issues_other) {
            ENSURE(leaf == n, AECS_E_FORMAT, "certificate chain: more than one leaf certificate");
            leaf = i;
        }
    }
    ENSURE(leaf < n, AECS_E_FORMAT, "certificate chain: no leaf certificate");
    sorted[0] = certs->items[leaf];
    used[leaf] = 1;
    for (size_t k = 1; k < n; k++) {
        size_t next = n;
        for (size_t j = 0; j < n; j++) {
            if (!used[j] && X509_NAME_cmp(X509_get_issuer_name(sorted[k - 1]->x),
                                          X509_get_subject_name(certs->items[j]->x)) == 0)
                next = j;
        }
        ENSURE(next < n, AECS_E_FORMAT,
               "certificate chain: certificate %zu's issuer is not in the chain", k);
        sorted[k] = certs->items[next];
        used[next] = 1;
    }
    ENSURE(X509_NAME_cmp(X509_get_subject_name(sorted[n - 1]->x),
                         X509_get_issuer_name(sorted[n - 1]->x)) == 0,
           AECS_E_FORMAT, "certificate chain: the last certificate is not a self-issued root");
    memcpy(certs->items, sorted, n * sizeof(sorted[0]));
    return AECS_OK;
}

const struct aecs_pubkey *aecs_cert_pubkey(const struct aecs_cert *cert)
{
    return cert->pub;
}

int64_t aecs_cert_not_before(const struct aecs_cert *cert)
{
    return cert->not_before;
}

int64_t aecs_cert_not_after(const struct aecs_cert *cert)
{
    return cert->not_after;
}

void aecs_cert_subject_cn(const struct aecs_cert *cert, char *buf, size_t size)
{
    buf[0] = '\0';
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert->x), NID_commonName, buf,
                                  (int)size) < 0)
        buf[0] = '\0';
}

void aecs_cert_subject_line(const struct aecs_cert *cert, char *buf, size_t size)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int n = 0;

    buf[0] = '\0';
    if (bio == NULL)
        return;
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert->x), 0, XN_FLAG_ONELINE) >= 0)
        n = BIO_read(bio, buf, (int)size - 1);
    buf[n > 0 ? n : 0] = '\0';
    BIO_free(bio);
}

int aecs_cert_equal(const struct aecs_cert *a, const struct aecs_cert *b)
{
    return X509_cmp(a->x, b->x) == 0;
}

int aecs_cert_same_key_and_subject(const struct aecs_cert *a, const struct aecs_cert *b)
{
    return X509_NAME_cmp(X509_get_subject_name(a->x), X509_get_subject_name(b->x)) == 0 &&
           EVP_PKEY_eq(X509_get0_pubkey(a->x), X509_get0_pubkey(b->x)) == 1;
}

void aecs_cert_fingerprint(const struct aecs_cert *cert, uint8_t out[32])
{
    unsigned int len = 32;

    if (X509_digest(cert->x, EVP_sha256(), out, &len) != 1)
        memset(out, 0, 32);
}

int aecs_cert_is_ca(const struct aecs_cert *cert)
{
    return X509_check_ca(cert->x) >= 1;
}

int aecs_cert_self_issued(const struct aecs_cert *cert)
{
    return X509_NAME_cmp(X509_get_subject_name(cert->x), X509_get_issuer_name(cert->x)) == 0;
}

const uint8_t *aecs_cert_der(const struct aecs_cert *cert, size_t *size)
{
    *size = cert->der_size;
    return cert->der;
}

int aecs_cert_check_issued_by(const struct aecs_cert *cert, const struct aecs_cert *issuer)
{
    char subject[256];
    int v = X509_check_issued(issuer->x, cert->x);

    if (v != X509_V_OK) {
        aecs_cert_subject_line(cert, subject, sizeof(subject));
        return AECS_ERR(AECS_E_MISMATCH, "certificate '%s' was not issued by the next one: %s",
                        subject, X509_verify_cert_error_string(v));
    }
    if (X509_check_ca(issuer->x) < 1) {
        aecs_cert_subject_line(issuer, subject, sizeof(subject));
        return AECS_ERR(AECS_E_MISMATCH, "issuer '%s' is not a CA", subject);
    }
    if (X509_verify(cert->x, X509_get0_pubkey(issuer->x)) != 1) {
        ERR_clear_error();
        aecs_cert_subject_line(cert, subject, sizeof(subject));
        return AECS_ERR(AECS_E_BAD_SIGNATURE, "signature of certificate '%s' does not verify",
                        subject);
    }
    return AECS_OK;
}

static int all_hex(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        uint8_t c = data[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return size > 0;
}

int aecs_crl_parse(const uint8_t *data, size_t size, struct aecs_crl **out)
{
    X509_CRL *x = NULL;
    struct aecs_crl *crl;

    *out = NULL;
    ENSURE(size > 0 && size < (1u << 26), AECS_E_FORMAT, "CRL: bad size %zu", size);
    /* Text forms may end in white space or a NUL; DER must be taken as it is. */
    size_t text_size = size;
    while (text_size > 0 && (data[text_size - 1] == '\n' || data[text_size - 1] == '\r' ||
                             data[text_size - 1] == ' ' || data[text_size - 1] == '\0'))
        text_size--;
    if (looks_pem(data, size)) {
        BIO *bio = BIO_new_mem_buf(data, (int)size);
        ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
        x = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else if (all_hex(data, text_size)) {
        uint8_t *der = malloc(text_size / 2 + 1);
        size_t der_size = 0;
        ENSURE(der != NULL, AECS_E_NO_MEMORY, "out of memory");
        if (aecs_hex_decode((const char *)data, text_size, der, text_size / 2 + 1, &der_size) !=
            AECS_OK) {
            free(der);
            return AECS_ERR(AECS_E_FORMAT, "CRL: bad hex encoding");
        }
        const unsigned char *p = der;
        x = d2i_X509_CRL(NULL, &p, (long)der_size);
        if (x != NULL && p != der + der_size) {
            X509_CRL_free(x);
            x = NULL;
        }
        free(der);
    } else {
        const unsigned char *p = data;
        x = d2i_X509_CRL(NULL, &p, (long)size);
        if (x != NULL && p != data + size) {
            X509_CRL_free(x);
            return AECS_ERR(AECS_E_FORMAT, "CRL: trailing bytes after the DER");
        }
    }
    if (x == NULL)
        return OSSL_FAIL(AECS_E_FORMAT, "CRL parse (DER, PEM or hex)");
    crl = calloc(1, sizeof(*crl));
    if (crl == NULL) {
        X509_CRL_free(x);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    atomic_init(&crl->refs, 1);
    crl->x = x;
    int times_ok = 1;
    crl->this_update = asn1_time_to_epoch_ok(X509_CRL_get0_lastUpdate(x), &times_ok);
    crl->next_update = asn1_time_to_epoch_ok(X509_CRL_get0_nextUpdate(x), &times_ok);
    if (!times_ok || X509_CRL_get0_lastUpdate(x) == NULL) {
        aecs_crl_free(crl);
        return AECS_ERR(AECS_E_FORMAT, "CRL: thisUpdate/nextUpdate do not convert");
    }
    *out = crl;
    return AECS_OK;
}

void aecs_crl_free(struct aecs_crl *crl)
{
    if (crl == NULL || atomic_fetch_sub(&crl->refs, 1) != 1)
        return;
    X509_CRL_free(crl->x);
    free(crl);
}

struct aecs_crl *aecs_crl_ref(struct aecs_crl *crl)
{
    atomic_fetch_add(&crl->refs, 1);
    return crl;
}

int64_t aecs_crl_this_update(const struct aecs_crl *crl)
{
    return crl->this_update;
}

int64_t aecs_crl_next_update(const struct aecs_crl *crl)
{
    return crl->next_update;
}

int aecs_crl_check_issued_by(const struct aecs_crl *crl, const struct aecs_cert *issuer)
{
    char subject[256];

    aecs_cert_subject_line(issuer, subject, sizeof(subject));
    ENSURE(X509_NAME_cmp(X509_CRL_get_issuer(crl->x), X509_get_subject_name(issuer->x)) == 0,
           AECS_E_MISMATCH, "CRL issuer is not '%s'", subject);
    ENSURE((X509_get_extension_flags(issuer->x) & EXFLAG_KUSAGE) == 0 ||
               (X509_get_key_usage(issuer->x) & KU_CRL_SIGN) != 0,
           AECS_E_MISMATCH, "'%s' may not sign CRLs", subject);
    if (X509_CRL_verify(crl->x, X509_get0_pubkey(issuer->x)) != 1) {
        ERR_clear_error();
        return AECS_ERR(AECS_E_BAD_SIGNATURE, "CRL signature does not verify with '%s'", subject);
    }
    return AECS_OK;
}

int aecs_crl_lists(const struct aecs_crl *crl, const struct aecs_cert *cert)
{
    X509_REVOKED *entry = NULL;

    return X509_CRL_get0_by_serial(crl->x, &entry, X509_get0_serialNumber(cert->x)) == 1;
}

/* ---- SGX extensions ---- */

#define SGX_OID "1.2.840.113741.1.13.1"

enum sgx_field {
    F_PPID = 1 << 0,
    F_TCB = 1 << 1,
    F_PCEID = 1 << 2,
    F_FMSPC = 1 << 3,
    F_TYPE = 1 << 4,
    F_PIID = 1 << 5,
    F_CONFIG = 1 << 6,
};

/* Decodes a DER SEQUENCE into its elements; all bytes must be consumed. */
static int seq_decode(const unsigned char *der, long len, const char *what,
                      STACK_OF(ASN1_TYPE) * *out)
{
    const unsigned char *p = der;
    STACK_OF(ASN1_TYPE) *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);

    *out = NULL;
    if (seq == NULL) {
        ERR_clear_error();
        return AECS_ERR(AECS_E_FORMAT, "SGX extension: %s is not a DER SEQUENCE", what);
    }
    if (p != der + len) {
        sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
        return AECS_ERR(AECS_E_FORMAT, "SGX extension: trailing bytes after %s", what);
    }
    *out = seq;
    return AECS_OK;
}

/* Splits one SEQUENCE { OID, value } element. */
static int oid_pair(const ASN1_TYPE *item, const char *what, char oid[64],
                    STACK_OF(ASN1_TYPE) * *pair, const ASN1_TYPE **value)
{
    *pair = NULL;
    ENSURE(item->type == V_ASN1_SEQUENCE, AECS_E_FORMAT,
           "SGX extension: an element of %s is not a SEQUENCE", what);
    GUARD(seq_decode(item->value.sequence->data, item->value.sequence->length, what, pair));
    if (sk_ASN1_TYPE_num(*pair) != 2 || sk_ASN1_TYPE_value(*pair, 0)->type != V_ASN1_OBJECT) {
        sk_ASN1_TYPE_pop_free(*pair, ASN1_TYPE_free);
        *pair = NULL;
        return AECS_ERR(AECS_E_FORMAT, "SGX extension: an element of %s is not {OID, value}",
                        what);
    }
    if (OBJ_obj2txt(oid, 64, sk_ASN1_TYPE_value(*pair, 0)->value.object, 1) <= 0)
        oid[0] = '\0';
    *value = sk_ASN1_TYPE_value(*pair, 1);
    return AECS_OK;
}

static int get_octets(const ASN1_TYPE *v, const char *field, uint8_t *out, size_t size)
{
    ENSURE(v->type == V_ASN1_OCTET_STRING, AECS_E_FORMAT,
           "SGX extension: %s is not an OCTET STRING", field);
    ENSURE((size_t)v->value.octet_string->length == size, AECS_E_FORMAT,
           "SGX extension: %s is %d bytes, expected %zu", field, v->value.octet_string->length,
           size);
    memcpy(out, v->value.octet_string->data, size);
    return AECS_OK;
}

static int get_int(const ASN1_TYPE *v, const char *field, int type, int64_t max, int64_t *out)
{
    int64_t x = 0;
    int ok;

    ENSURE(v->type == type, AECS_E_FORMAT, "SGX extension: %s has the wrong ASN.1 type", field);
    ok = type == V_ASN1_ENUMERATED ? ASN1_ENUMERATED_get_int64(&x, v->value.enumerated)
                                   : ASN1_INTEGER_get_int64(&x, v->value.integer);
    if (ok != 1)
        ERR_clear_error();
    ENSURE(ok == 1 && x >= 0 && x <= max, AECS_E_FORMAT,
           "SGX extension: %s is out of range (0..%lld)", field, (long long)max);
    *out = x;
    return AECS_OK;
}

static int parse_tcb(const ASN1_TYPE *v, struct aecs_sgx_ext *out)
{
    int rc = AECS_OK;
    STACK_OF(ASN1_TYPE) *seq = NULL;
    STACK_OF(ASN1_TYPE) *pair = NULL;
    uint32_t seen = 0;

    ENSURE(v->type == V_ASN1_SEQUENCE, AECS_E_FORMAT, "SGX extension: TCB is not a SEQUENCE");
    GUARD(seq_decode(v->value.sequence->data, v->value.sequence->length, "TCB", &seq));
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        char oid[64];
        const ASN1_TYPE *val = NULL;
        int64_t x = 0;
        GUARD_OUT(oid_pair(sk_ASN1_TYPE_value(seq, i), "TCB", oid, &pair, &val));
        /* Exactly SGX_OID.2.N with N in 1..18, written without leading zeros. */
        int idx = 0;
        for (int k = 1; k <= 18 && idx == 0; k++) {
            char want[64];
            snprintf(want, sizeof(want), SGX_OID ".2.%d", k);
            if (strcmp(oid, want) == 0)
                idx = k;
        }
        ENSURE_OUT(idx >= 1 && idx <= 18, AECS_E_FORMAT,
                   "SGX extension: unknown TCB element %.63s", oid);
        ENSURE_OUT(!(seen & (1u << idx)), AECS_E_FORMAT,
                   "SGX extension: TCB element %.63s appears twice", oid);
        seen |= 1u << idx;
        if (idx <= 16) {
            GUARD_OUT(get_int(val, "TCB component SVN", V_ASN1_INTEGER, 255, &x));
            out->tcb_comp[idx - 1] = (uint8_t)x;
        } else if (idx == 17) {
            GUARD_OUT(get_int(val, "PCESVN", V_ASN1_INTEGER, 65535, &x));
            out->pcesvn = (uint16_t)x;
        } else {
            GUARD_OUT(get_octets(val, "CPUSVN", out->cpusvn, 16));
        }
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        pair = NULL;
    }
    ENSURE_OUT(seen == 0x7fffe, AECS_E_FORMAT,
               "SGX extension: TCB lacks components (need 16 SVNs, PCESVN and CPUSVN)");
out:
    sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return rc;
}

static int parse_config(const ASN1_TYPE *v, struct aecs_sgx_ext *out)
{
    int rc = AECS_OK;
    STACK_OF(ASN1_TYPE) *seq = NULL;
    STACK_OF(ASN1_TYPE) *pair = NULL;

    ENSURE(v->type == V_ASN1_SEQUENCE, AECS_E_FORMAT,
           "SGX extension: Configuration is not a SEQUENCE");
    GUARD(seq_decode(v->value.sequence->data, v->value.sequence->length, "Configuration", &seq));
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        char oid[64];
        const ASN1_TYPE *val = NULL;
        int *slot = NULL;
        GUARD_OUT(oid_pair(sk_ASN1_TYPE_value(seq, i), "Configuration", oid, &pair, &val));
        if (strcmp(oid, SGX_OID ".7.1") == 0)
            slot = &out->dynamic_platform;
        else if (strcmp(oid, SGX_OID ".7.2") == 0)
            slot = &out->cached_keys;
        else if (strcmp(oid, SGX_OID ".7.3") == 0)
            slot = &out->smt_enabled;
        ENSURE_OUT(slot != NULL, AECS_E_FORMAT,
                   "SGX extension: unknown Configuration element %.63s", oid);
        ENSURE_OUT(*slot == -1, AECS_E_FORMAT,
                   "SGX extension: Configuration element %.63s appears twice", oid);
        ENSURE_OUT(val->type == V_ASN1_BOOLEAN, AECS_E_FORMAT,
                   "SGX extension: Configuration element %.63s is not a BOOLEAN", oid);
        *slot = val->value.boolean ? 1 : 0;
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        pair = NULL;
    }
    out->has_configuration = 1;
out:
    sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return rc;
}

int aecs_sgx_ext_parse_der(const uint8_t *der, size_t size, struct aecs_sgx_ext *out)
{
    int rc = AECS_OK;
    STACK_OF(ASN1_TYPE) *seq = NULL;
    STACK_OF(ASN1_TYPE) *pair = NULL;
    uint32_t seen = 0;

    memset(out, 0, sizeof(*out));
    out->dynamic_platform = out->cached_keys = out->smt_enabled = -1;
    ENSURE(size > 0 && size < 65536, AECS_E_FORMAT, "SGX extension: bad size %zu", size);
    GUARD(seq_decode(der, (long)size, "the extension", &seq));
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        char oid[64];
        const ASN1_TYPE *val = NULL;
        uint32_t bit = 0;
        int64_t x = 0;
        GUARD_OUT(oid_pair(sk_ASN1_TYPE_value(seq, i), "the extension", oid, &pair, &val));
        if (strcmp(oid, SGX_OID ".1") == 0) {
            bit = F_PPID;
            GUARD_OUT(get_octets(val, "PPID", out->ppid, 16));
        } else if (strcmp(oid, SGX_OID ".2") == 0) {
            bit = F_TCB;
            GUARD_OUT(parse_tcb(val, out));
        } else if (strcmp(oid, SGX_OID ".3") == 0) {
            bit = F_PCEID;
            GUARD_OUT(get_octets(val, "PCE-ID", out->pceid, 2));
        } else if (strcmp(oid, SGX_OID ".4") == 0) {
            bit = F_FMSPC;
            GUARD_OUT(get_octets(val, "FMSPC", out->fmspc, 6));
        } else if (strcmp(oid, SGX_OID ".5") == 0) {
            bit = F_TYPE;
            GUARD_OUT(get_int(val, "SGX Type", V_ASN1_ENUMERATED, 2, &x));
            out->sgx_type = (int)x;
        } else if (strcmp(oid, SGX_OID ".6") == 0) {
            bit = F_PIID;
            GUARD_OUT(get_octets(val, "Platform Instance ID", out->platform_instance_id, 16));
            out->has_platform_instance_id = 1;
        } else if (strcmp(oid, SGX_OID ".7") == 0) {
            bit = F_CONFIG;
            GUARD_OUT(parse_config(val, out));
        } else {
            BAIL_OUT(AECS_E_FORMAT, "SGX extension: unknown element %.63s", oid);
        }
        ENSURE_OUT(!(seen & bit), AECS_E_FORMAT, "SGX extension: element %.63s appears twice",
                   oid);
        seen |= bit;
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        pair = NULL;
    }
    ENSURE_OUT(seen & F_PPID, AECS_E_FORMAT, "SGX extension: PPID missing");
    ENSURE_OUT(seen & F_TCB, AECS_E_FORMAT, "SGX extension: TCB missing");
    ENSURE_OUT(seen & F_PCEID, AECS_E_FORMAT, "SGX extension: PCE-ID missing");
    ENSURE_OUT(seen & F_FMSPC, AECS_E_FORMAT, "SGX extension: FMSPC missing");
    ENSURE_OUT(seen & F_TYPE, AECS_E_FORMAT, "SGX extension: SGX Type missing");
out:
    sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return rc;
}

int aecs_sgx_ext_parse_cert(const struct aecs_cert *cert, struct aecs_sgx_ext *out)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(SGX_OID, 1);
    int idx;

    ENSURE(oid != NULL, AECS_E_INTERNAL, "cannot make the SGX extension OID");
    idx = X509_get_ext_by_OBJ(cert->x, oid, -1);
    int again = idx >= 0 ? X509_get_ext_by_OBJ(cert->x, oid, idx) : -1;
    ASN1_OBJECT_free(oid);
    ENSURE(idx >= 0, AECS_E_FORMAT, "PCK certificate has no SGX extension (%s)", SGX_OID);
    ENSURE(again < 0, AECS_E_FORMAT, "PCK certificate has two SGX extensions");
    const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(cert->x, idx));
    return aecs_sgx_ext_parse_der(data->data, (size_t)data->length, out);
}
