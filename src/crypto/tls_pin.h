/*
 * tls_pin.h - pinning a TLS server certificate by its SHA-256 fingerprint,
 * for libcurl connections (src/client/conn.c), and the fingerprint of a PEM
 * certificate (for tests and `aecs admin status`).
 *
 * A fingerprint is the SHA-256 of the certificate's DER encoding, what
 * `openssl x509 -noout -fingerprint -sha256` prints. In pinned mode the
 * server's leaf certificate must have exactly that fingerprint (compared with
 * CRYPTO_memcmp); no CA, no chain, no dates and no host name are checked,
 * since the pin names one certificate exactly. Renewing the server's
 * certificate means updating the pin.
 *
 * Use: keep a struct aecs_tls_pin alive as long as the curl handle, and set
 *   CURLOPT_SSL_CTX_FUNCTION = aecs_tls_pin_ssl_ctx_cb
 *   CURLOPT_SSL_CTX_DATA     = &pin
 * With pin.pinned set, also CURLOPT_SSL_VERIFYPEER = 0 and
 * CURLOPT_SSL_VERIFYHOST = 0: libcurl's own checks are off and the callback
 * makes the TLS handshake itself fail on any other certificate. Without it,
 * libcurl verifies as configured (CURLOPT_CAINFO, host name) and the callback
 * only records the fingerprint of the certificate the server presented.
 *
 * The callback needs libcurl built with OpenSSL: check that setting
 * CURLOPT_SSL_CTX_FUNCTION returns CURLE_OK, or a pin would check nothing.
 */
#ifndef AECS_CRYPTO_TLS_PIN_H
#define AECS_CRYPTO_TLS_PIN_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AECS_TLS_FINGERPRINT_SIZE 32
/* "AB:CD:...": 32 pairs and 31 colons, and a NUL. */
#define AECS_TLS_FINGERPRINT_TEXT 96

struct aecs_tls_pin {
    int pinned; /* 1: accept only the certificate whose fingerprint is sha256 */
    uint8_t sha256[AECS_TLS_FINGERPRINT_SIZE];
    /* Written by the callback on each full handshake: the server's leaf certificate. */
    int seen;
    uint8_t seen_sha256[AECS_TLS_FINGERPRINT_SIZE];
    int refused; /* 1: the last one seen was refused for not matching the pin */
};

/*
 * Parses a fingerprint: 64 hex digits in either case, either all together or
 * as 32 pairs separated by ':' ("ab:CD:...", as openssl prints them); blanks
 * around it are ignored. On success *out is zeroed, then pinned to it.
 * AECS_E_INVALID_ARGUMENT otherwise.
 */
AECS_MUST_CHECK int aecs_tls_pin_parse(const char *text, struct aecs_tls_pin *out);

/* Formats a fingerprint as openssl prints it: upper-case pairs separated by ':'. */
void aecs_tls_fingerprint_format(const uint8_t fp[AECS_TLS_FINGERPRINT_SIZE],
                                 char out[AECS_TLS_FINGERPRINT_TEXT]);

/*
 * The fingerprint of the first certificate in PEM text (size bytes) or in a
 * PEM file. AECS_E_FORMAT when there is no certificate; the file variant
 * also fails as aecs_file_read does.
 */
AECS_MUST_CHECK int aecs_tls_cert_fingerprint_pem(const char *pem, size_t size,
                                                  uint8_t out[AECS_TLS_FINGERPRINT_SIZE]);
AECS_MUST_CHECK int aecs_tls_cert_fingerprint_file(const char *path,
                                                   uint8_t out[AECS_TLS_FINGERPRINT_SIZE]);

/*
 * libcurl's CURLOPT_SSL_CTX_FUNCTION (ssl_ctx is an SSL_CTX *, userptr the
 * struct aecs_tls_pin *). Pinned: the SSL_CTX requires a server certificate
 * and accepts only one whose leaf fingerprint is the pin's; a handshake with
 * another fails ("certificate verify failed"). Not pinned: OpenSSL's usual
 * chain verification decides, and the leaf's fingerprint is recorded.
 */
CURLcode aecs_tls_pin_ssl_ctx_cb(CURL *curl, void *ssl_ctx, void *userptr);

#endif
