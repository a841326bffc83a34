/*
 * http.h - HTTP(S) GET with libcurl, for fetching collateral.
 *
 * One call does one GET with bounded waits (connect and total timeouts), a
 * cap on the response size, the response headers kept for the caller, TLS
 * peer verification on unless the caller opts out by name, and retries with a
 * delay on transient failures. Only http:// and https:// URLs are accepted,
 * and redirects are not followed: a 3xx is reported as what it is.
 *
 * Retries follow Intel's QCNL library (sgx_default_qcnl.conf retry_times and
 * retry_delay): `retry_times` more attempts after the first, on a timeout, a
 * failure to resolve or connect, or an HTTP 503; with `retry_delay_ms` 0 the
 * waits are 1 s, 2 s, 4 s, ... (exponential), otherwise that fixed delay.
 * Other HTTP statuses are final and returned as they are.
 *
 * Thread-safe: every call uses its own curl handle; libcurl's global state is
 * set up once (pthread_once) on first use.
 */
#ifndef AECS_NET_HTTP_H
#define AECS_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AECS_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define AECS_HTTP_DEFAULT_TOTAL_TIMEOUT_MS 60000
#define AECS_HTTP_DEFAULT_MAX_RESPONSE (8u << 20)
#define AECS_HTTP_MAX_HEADERS (256u << 10)

struct aecs_http_options {
    long connect_timeout_ms; /* 0: AECS_HTTP_DEFAULT_CONNECT_TIMEOUT_MS */
    long total_timeout_ms;   /* per attempt; 0: AECS_HTTP_DEFAULT_TOTAL_TIMEOUT_MS */
    size_t max_response_size; /* body cap; 0: AECS_HTTP_DEFAULT_MAX_RESPONSE */
    unsigned retry_times;    /* extra attempts after the first */
    unsigned retry_delay_ms; /* 0: exponential backoff from 1 s */
    /*
     * INSECURE: when 1, TLS certificates and host names are not checked, so
     * anyone on the path can answer. Only for a PCCS with a self-signed
     * certificate, as sgx_default_qcnl.conf's use_secure_cert=false asks.
     */
    int tls_verify_disabled_insecure;
    const char *ca_file; /* optional CA bundle instead of the system's */
};

/*
 * Sets up libcurl's global state once per process (thread-safe, idempotent).
 * aecs_http_get calls it; other code that keeps curl handles of its own (the
 * etcd store) calls it before curl_easy_init. AECS_E_INTERNAL when libcurl
 * cannot initialise; the failure is remembered.
 */
AECS_MUST_CHECK int aecs_http_init(void);

/* Fills opts with the defaults (everything 0: secure, no retries). */
void aecs_http_options_init(struct aecs_http_options *opts);

struct aecs_http_response {
    long status;        /* HTTP status of the last attempt */
    uint8_t *body;      /* NUL-terminated (the NUL is not counted in body_size) */
    size_t body_size;
    char *headers;      /* the raw header block of the final response, NUL-terminated */
    size_t headers_size;
    unsigned attempts;  /* how many requests were made */
};

/*
 * GETs url. Returns AECS_OK whenever a response arrived, whatever its
 * status: the caller decides what a 404 means. Fails with
 * AECS_E_INVALID_ARGUMENT for a URL that is not http(s), AECS_E_TOO_LARGE when
 * the body exceeds the cap, AECS_E_IO for network and TLS failures (the
 * message names the URL and curl's reason). On success the caller frees the
 * response with aecs_http_response_free; on failure *resp is left empty.
 */
AECS_MUST_CHECK int aecs_http_get(const char *url, const struct aecs_http_options *opts,
                                  struct aecs_http_response *resp);
void aecs_http_response_free(struct aecs_http_response *resp);

/*
 * Finds a header of the response by name (case-insensitive) and copies its
 * value, without surrounding blanks, into a fresh string the caller frees.
 * AECS_E_NOT_FOUND when the response has no such header.
 */
AECS_MUST_CHECK int aecs_http_header(const struct aecs_http_response *resp, const char *name,
                                     char **value);

/* What one raw header line is (aecs_http_header_line). */
enum aecs_http_line {
    AECS_HTTP_LINE_OTHER = 0, /* another header, or anything else */
    AECS_HTTP_LINE_STATUS,    /* a status line: a new response starts (an interim 1xx came first) */
    AECS_HTTP_LINE_MATCH,     /* the header asked for */
};

/*
 * Reads one raw header line as libcurl hands it to a header callback: n
 * bytes, with its line end, not NUL-terminated, from the server. A line that
 * starts with "HTTP/" is a status line; one that starts with name
 * (case-insensitive) and ':' is the header asked for, and *value (pointing
 * into line) and *value_len are its value without the blanks and line end
 * around it. *value is NULL and *value_len 0 for any other line.
 */
enum aecs_http_line aecs_http_header_line(const char *line, size_t n, const char *name,
                                          const char **value, size_t *value_len);

/*
 * Decodes %XX escapes (how Intel's PCS and PCCS put PEM into headers) into a
 * fresh NUL-terminated string. '+' stays '+' (base64 uses it), as in Intel's
 * QCNL. AECS_E_FORMAT on a malformed escape or an encoded NUL.
 */
AECS_MUST_CHECK int aecs_url_decode(const char *in, size_t len, char **out, size_t *out_size);

/* 1 when url starts with http:// or https:// (case-insensitive), else 0. */
int aecs_http_url_allowed(const char *url);

#endif
