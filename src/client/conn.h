/*
 * conn.h - a connection to aecsd (docs/api.md) for the `aecs` admin
 * commands: HTTPS with libcurl, requests signed with the admin's key, JSON
 * answers, and the server's error answers turned into project errors.
 *
 * TLS is always verified: with the credential's `ca` (CURLOPT_CAINFO, and
 * nothing else trusted; host names checked), or by pinning the certificate's
 * SHA-256 `fingerprint` (crypto/tls_pin.h; no host name check, the pin is
 * exact). Plain http:// is refused unless the caller sets the option named
 * insecure_allow_http_insecure. One curl handle serves every request of a
 * connection, so the TLS connection is kept alive between them.
 *
 * Signed requests (AECS_REQ_SIGNED) carry the four X-Aecs-* headers: the key
 * id, the time now, a fresh random nonce and the signature over the string
 * of proto/reqsig.h. The string binds the service id, which the connection
 * learns once from GET /v1/status and keeps.
 *
 * Servers are tried in the credential's order: when one cannot be reached at
 * all (name not resolved, connection refused), the next one is, and the
 * connection stays with the one that answered.
 *
 * Not thread-safe: one connection per thread.
 */
#ifndef AECS_CLIENT_CONN_H
#define AECS_CLIENT_CONN_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "proto/json_wipe.h"
#include "client/cred.h"
#include "crypto/sigkey.h"

#define AECS_CONN_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define AECS_CONN_DEFAULT_TIMEOUT_MS 60000
#define AECS_CONN_DEFAULT_MAX_RESPONSE (8u << 20)
/* The server's limit on request bodies (docs/api.md). */
#define AECS_CONN_MAX_BODY ((1u << 20) + (64u << 10))

struct aecs_conn; /* opaque */

struct aecs_conn_options {
    long connect_timeout_ms;  /* 0: AECS_CONN_DEFAULT_CONNECT_TIMEOUT_MS */
    long timeout_ms;          /* whole request; 0: AECS_CONN_DEFAULT_TIMEOUT_MS */
    size_t max_response_size; /* 0: AECS_CONN_DEFAULT_MAX_RESPONSE */
    /*
     * INSECURE: when 1, http:// servers are accepted, so anyone on the path
     * sees and changes everything, shares included. For tests on loopback
     * only; no command sets it.
     */
    int insecure_allow_http_insecure;
};

/* Request flags. */
enum {
    AECS_REQ_SIGNED = 1, /* sign with the credential's key */
};

/* What the server answered. */
struct aecs_reply {
    long status;   /* HTTP status; 0 when no answer arrived */
    json_t *body;  /* the parsed JSON answer (an object), or NULL */
    char code[32]; /* the error code of an error answer ("sealed", ...), else "" */
};

/*
 * Opens a connection for cred (which must outlive it) with opts (NULL: the
 * defaults). Checks the server URLs' scheme and reads the `ca` file (it must
 * hold a PEM certificate); connects on the first request. The key file is
 * loaded on the first signed request. The caller frees *out with
 * aecs_conn_free.
 */
AECS_MUST_CHECK int aecs_conn_open(const struct aecs_cred *cred,
                                   const struct aecs_conn_options *opts, struct aecs_conn **out);
void aecs_conn_free(struct aecs_conn *c);

/*
 * Sends one request: method "GET", "POST" or "DELETE", target the path and
 * query ("/v1/admin/services?force=1"), body NULL or body_size bytes of JSON
 * (sent with Content-Type: application/json; at most AECS_CONN_MAX_BODY).
 *
 * Returns AECS_OK for a 2xx answer whose body is a JSON object (in
 * reply->body). For an error answer, reply->status and reply->code are set
 * (reply->body too when it was JSON) and the recorded error's message is the
 * server's own (cut short, control characters replaced); the return value is
 * AECS_E_NOT_FOUND for 404, AECS_E_TOO_LARGE for 413, AECS_E_UNTRUSTED for
 * 401 and 403, AECS_E_INVALID_ARGUMENT for other 4xx, AECS_E_IO otherwise.
 * When no answer arrived (network, TLS, timeout) reply->status is 0 and the
 * return is AECS_E_IO; AECS_E_FORMAT for a 2xx that is not a JSON object,
 * AECS_E_TOO_LARGE for an answer over the cap.
 *
 * The caller always clears reply with aecs_reply_clear (also on failure).
 */
AECS_MUST_CHECK int aecs_conn_request(struct aecs_conn *c, const char *method, const char *target,
                                      const char *body, size_t body_size, unsigned flags,
                                      struct aecs_reply *reply);

/* The longest response header value aecs_conn_request_raw keeps. */
#define AECS_CONN_HEADER_MAX 256

/* What the server answered, as bytes. */
struct aecs_raw_reply {
    long status; /* HTTP status; 0 when no answer arrived */
    char *body;  /* body_size bytes as received and a NUL (not counted); NULL when empty */
    size_t body_size;
    size_t body_alloc; /* the buffer's size, for wiping */
    /* The asked-for header's value, blanks around it dropped ("" when absent, or when it was
       longer than AECS_CONN_HEADER_MAX), and how many times it came in the answer. */
    char header[AECS_CONN_HEADER_MAX + 1];
    int header_count;
    char code[32]; /* the error code of an error answer ("invalid_nonce", ...), else "" */
};

/*
 * Sends one request like aecs_conn_request (flags: AECS_REQ_SIGNED or 0),
 * but keeps the answer as the bytes that came (for answers whose signature
 * covers the exact body) and the value of the response header `header`
 * (NULL: none). The body of a 2xx answer is not parsed. Returns AECS_OK for
 * a 2xx answer; otherwise the errors of aecs_conn_request, with
 * reply->status, reply->code and the message taken from the error answer
 * (its raw body is kept too). The caller always clears reply with
 * aecs_raw_reply_clear (also on failure).
 */
AECS_MUST_CHECK int aecs_conn_request_raw(struct aecs_conn *c, const char *method,
                                          const char *target, const char *body, size_t body_size,
                                          unsigned flags, const char *header,
                                          struct aecs_raw_reply *reply);

/* Wipes and frees the body, and zeroes the reply. NULL is fine. */
void aecs_raw_reply_clear(struct aecs_raw_reply *reply);

/* The same with a JSON body (NULL: none); the serialized text is wiped after sending. */
AECS_MUST_CHECK int aecs_conn_request_json(struct aecs_conn *c, const char *method,
                                           const char *target, const json_t *body, unsigned flags,
                                           struct aecs_reply *reply);

/*
 * Wipes every string of the reply's JSON (answers may hold shares), frees it
 * and zeroes the reply. Strings reached through references taken from
 * reply->body (json_incref, "O" in json_pack, json_array_extend) are wiped
 * too: copy with json_deep_copy what must outlive the reply.
 */
void aecs_reply_clear(struct aecs_reply *reply);

/* aecs_json_wipe (wiping every string of a JSON value) is in proto/json_wipe.h. */

/*
 * The service id from GET /v1/status (fetched on first use, then kept):
 * points into the connection, 32 lowercase hex digits, or "" when the
 * service is not initialized (it has no id before its init; an init request
 * is signed over the empty id).
 */
AECS_MUST_CHECK int aecs_conn_service_id(struct aecs_conn *c, const char **id);

/* The signing key (loaded from the credential's `key` on first use); owned by the connection. */
AECS_MUST_CHECK int aecs_conn_key(struct aecs_conn *c, const struct aecs_sigkey **key);

/* The server URL in use ("https://host:port"). */
const char *aecs_conn_server(const struct aecs_conn *c);

/*
 * The SHA-256 fingerprint of the certificate the server presented on the last
 * full TLS handshake; AECS_E_NOT_FOUND when none was seen (no request yet,
 * http://).
 */
AECS_MUST_CHECK int aecs_conn_peer_fingerprint(const struct aecs_conn *c,
                                               uint8_t out[AECS_TLS_FINGERPRINT_SIZE]);

#endif
