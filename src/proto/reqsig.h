/*
 * reqsig.h - the signed admin request (docs/api.md, "Signed admin requests"):
 * the string a request's signature covers, and the header names.
 * Shared by the server (which verifies) and the client (which signs).
 */
#ifndef AECS_PROTO_REQSIG_H
#define AECS_PROTO_REQSIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AECS_HDR_KEY "X-Aecs-Key"
#define AECS_HDR_TIMESTAMP "X-Aecs-Timestamp"
#define AECS_HDR_NONCE "X-Aecs-Nonce"
#define AECS_HDR_SIGNATURE "X-Aecs-Signature"

#define AECS_REQSIG_LABEL "aecs-request-v1"
#define AECS_REQSIG_NONCE_HEX 32
#define AECS_REQSIG_SERVICE_ID_HEX 32
/* A timestamp further than this from the server's clock is stale (seconds). */
#define AECS_REQSIG_MAX_SKEW 300
/* How long the server remembers a nonce (seconds): twice the skew. */
#define AECS_REQSIG_NONCE_TTL 600

struct aecs_reqsig_fields {
    const char *method;     /* "GET", "POST", "DELETE" (upper case) */
    const char *target;     /* path and query as sent: "/v1/admin/services?force=1" */
    const char *service_id; /* 32 lowercase hex; "" for an init (no id before it) */
    const uint8_t *body;    /* may be NULL when body_size is 0 */
    size_t body_size;
    int64_t timestamp;      /* Unix seconds */
    const char *nonce;      /* 32 lowercase hex */
    const char *key_id;     /* 64 lowercase hex */
};

/*
 * Builds the signed string of docs/api.md into a fresh NUL-terminated buffer
 * (*out, *size without the NUL) the caller frees with free(). Refuses
 * (AECS_E_INVALID_ARGUMENT, naming the field) a method that is not upper-case
 * letters, a target that does not start with '/' or holds a control character
 * or a space, a service id, nonce or key id that is not lowercase hex of its
 * length, a negative timestamp.
 */
AECS_MUST_CHECK int aecs_reqsig_canonical(const struct aecs_reqsig_fields *f, char **out,
                                          size_t *size);

/* AECS_OK when s is exactly `len` lowercase hex digits. */
AECS_MUST_CHECK int aecs_reqsig_check_hex(const char *s, size_t len, const char *what);

#endif
