/*
 * tls_pin.c - certificate pinning by SHA-256 fingerprint for libcurl; see
 * tls_pin.h.
 *
 * The pin replaces OpenSSL's chain verification with one comparison: the
 * SSL_CTX gets SSL_VERIFY_PEER (so a refusal aborts the handshake) and a
 * certificate verification callback (SSL_CTX_set_cert_verify_callback) that
 * hashes the leaf's DER with SHA-256 and compares it with the pin in constant
 * time. Nothing else about the certificate matters: the pin names it exactly.
 * Without a pin the callback runs OpenSSL's own X509_verify_cert (what runs
 * when no callback is set) and only records the leaf's fingerprint.
 */
#include "crypto/tls_pin.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/log.h"
#include "crypto/ossl.h"

/* Certificate files: a chain of a few certificates at most. */
#define CERT_FILE_MAX (1u << 20)

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int aecs_tls_pin_parse(const char *text, struct aecs_tls_pin *out)
{
    const char *start, *end;
    size_t len;
    char hex[2 * AECS_TLS_FINGERPRINT_SIZE];

    memset(out, 0, sizeof(*out));
    ENSURE(text != NULL, AECS_E_INVALID_ARGUMENT, "no fingerprint given");
    start = text;
    while (is_blank(*start))
        start++;
    end = start + strlen(start);
    while (end > start && is_blank(end[-1]))
        end--;
    len = (size_t)(end - start);
    if (len == 2 * AECS_TLS_FINGERPRINT_SIZE) {
        memcpy(hex, start, len);
    } else {
        /* 32 pairs and 31 colons: "AB:CD:...". */
        ENSURE(len == 3 * AECS_TLS_FINGERPRINT_SIZE - 1, AECS_E_INVALID_ARGUMENT,
               "a fingerprint is the SHA-256 of the server's certificate: 64 hex digits, "
               "optionally in pairs separated by ':' (got %zu characters)",
               len);
        for (size_t i = 0; i < AECS_TLS_FINGERPRINT_SIZE; i++) {
            ENSURE(i == 0 || start[3 * i - 1] == ':', AECS_E_INVALID_ARGUMENT,
                   "a fingerprint in pairs has ':' between every pair (character %zu is not ':')",
                   3 * i);
            hex[2 * i] = start[3 * i];
            hex[2 * i + 1] = start[3 * i + 1];
        }
    }
    for (size_t i = 0; i < sizeof(hex); i++)
        ENSURE(aecs_hex_digit(hex[i]) >= 0, AECS_E_INVALID_ARGUMENT,
               "a fingerprint is made of hex digits (found another character)");
    GUARD(aecs_hex_decode_exact(hex, sizeof(hex), out->sha256, sizeof(out->sha256)));
    out->pinned = 1;
    return AECS_OK;
}

void aecs_tls_fingerprint_format(const uint8_t fp[AECS_TLS_FINGERPRINT_SIZE],
                                 char out[AECS_TLS_FINGERPRINT_TEXT])
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = 0;

    for (size_t i = 0; i < AECS_TLS_FINGERPRINT_SIZE; i++) {
        if (i > 0)
            out[n++] = ':';
        out[n++] = digits[fp[i] >> 4];
        out[n++] = digits[fp[i] & 0x0f];
    }
    out[n] = '\0';
}

static int cert_fingerprint(X509 *cert, uint8_t out[AECS_TLS_FINGERPRINT_SIZE])
{
    unsigned int len = 0;

    OSSL_GUARD(X509_digest(cert, EVP_sha256(), out, &len), AECS_E_CRYPTO, "X509_digest");
    ENSURE(len == AECS_TLS_FINGERPRINT_SIZE, AECS_E_CRYPTO, "SHA-256 gave %u bytes", len);
    return AECS_OK;
}

int aecs_tls_cert_fingerprint_pem(const char *pem, size_t size,
                                  uint8_t out[AECS_TLS_FINGERPRINT_SIZE])
{
    int rc = AECS_OK;
    BIO *bio = NULL;
    X509 *cert = NULL;

    memset(out, 0, AECS_TLS_FINGERPRINT_SIZE);
    ENSURE(pem != NULL && size > 0 && size <= CERT_FILE_MAX, AECS_E_FORMAT,
           "no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found");
    bio = BIO_new_mem_buf(pem, (int)size);
    ENSURE(bio != NULL, AECS_E_NO_MEMORY, "out of memory");
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (cert == NULL) {
        ERR_clear_error();
        BAIL_OUT(AECS_E_FORMAT, "no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found");
    }
    GUARD_OUT(cert_fingerprint(cert, out));
out:
    X509_free(cert);
    BIO_free(bio);
    return rc;
}

int aecs_tls_cert_fingerprint_file(const char *path, uint8_t out[AECS_TLS_FINGERPRINT_SIZE])
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc;

    memset(out, 0, AECS_TLS_FINGERPRINT_SIZE);
    GUARD(aecs_file_read(path, CERT_FILE_MAX, &data, &size));
    rc = aecs_tls_cert_fingerprint_pem((const char *)data, size, out);
    free(data);
    if (rc != AECS_OK)
        aecs_err_prefix("%.200s: ", path);
    return rc;
}

/* Records the leaf's fingerprint in pin; 0 when it cannot be computed. */
static int record_leaf(X509_STORE_CTX *store, struct aecs_tls_pin *pin)
{
    X509 *leaf = X509_STORE_CTX_get0_cert(store);

    pin->seen = 0;
    pin->refused = 0;
    if (leaf == NULL || cert_fingerprint(leaf, pin->seen_sha256) != AECS_OK) {
        ERR_clear_error();
        return 0;
    }
    pin->seen = 1;
    return 1;
}

/*
 * Replaces chain verification when pinned: 1 (accept) only when the leaf's
 * fingerprint is the pin. The leaf is the certificate the server presented
 * for itself; any chain it sent along is ignored.
 */
static int verify_pinned(X509_STORE_CTX *store, void *arg)
{
    struct aecs_tls_pin *pin = arg;
    char text[AECS_TLS_FINGERPRINT_TEXT];

    if (!record_leaf(store, pin)) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    if (CRYPTO_memcmp(pin->seen_sha256, pin->sha256, sizeof(pin->sha256)) != 0) {
        pin->refused = 1;
        aecs_tls_fingerprint_format(pin->seen_sha256, text);
        log_debug("TLS: the server's certificate has fingerprint %s, not the pinned one", text);
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
}

/* OpenSSL's own verification (what runs without a callback), recording the leaf. */
static int verify_recorded(X509_STORE_CTX *store, void *arg)
{
    (void)record_leaf(store, arg);
    return X509_verify_cert(store);
}

CURLcode aecs_tls_pin_ssl_ctx_cb(CURL *curl, void *ssl_ctx, void *userptr)
{
    SSL_CTX *ctx = ssl_ctx;
    struct aecs_tls_pin *pin = userptr;

    (void)curl;
    if (ctx == NULL || pin == NULL)
        return CURLE_SSL_CERTPROBLEM;
    if (pin->pinned) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_cert_verify_callback(ctx, verify_pinned, pin);
    } else {
        SSL_CTX_set_cert_verify_callback(ctx, verify_recorded, pin);
    }
    return CURLE_OK;
}
