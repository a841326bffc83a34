/*
 * join_client.h - the joining side of POST /v1/cluster/join
 * (docs/protocol-release.md section 5): a sealed replica that shares the
 * store with working ones gets the root key from one of them by attestation
 * instead of by unseal shares.
 *
 * For one peer, in this order (the first failure ends the try and names the
 * step): the peer's identity is checked as the client library checks a
 * server's (GET /v1/identity?nonce=, the answer's signature over our nonce,
 * the evidence verified with this replica's verifier, the identity binding),
 * with this replica's own identity measurements as the server policy (the
 * rule the answering side applies to us); then POST /v1/challenge; a fresh
 * P-256 key pair and evidence from this replica's attester over the release
 * binding of the nonce and the public key; POST /v1/cluster/join; the
 * answer's signature (aecs-join-answer-v1) with the checked identity key, the
 * service id, the envelope opened with the ephemeral key, and the key checked
 * against the store's check value. Only then does the replica become working
 * (aecs_service_join_apply).
 *
 * HTTP goes through a transport of the caller's choosing, so the unit tests
 * can answer with another service in the same process; aecsd's is libcurl
 * (src/server/join_http.c). Nothing of the key is ever logged.
 */
#ifndef AECS_SERVICE_JOIN_CLIENT_H
#define AECS_SERVICE_JOIN_CLIENT_H

#include <stddef.h>

#include "base/err.h"
#include "service/service.h"

struct aecs_attester_config;

/* The most body bytes a join transport keeps (the identity answer is the largest). */
#define AECS_JOIN_REPLY_MAX (256u << 10)

/* One answer as received. */
struct aecs_join_reply {
    long status;          /* the HTTP status */
    char *body;           /* malloc'ed, NUL-terminated; body_size bytes without the NUL */
    size_t body_size;
    char signature[128];  /* the X-Aecs-Answer-Signature header's value, "" when absent */
    unsigned signature_count; /* how many such headers came */
};

/* Frees the body and clears *r. */
void aecs_join_reply_clear(struct aecs_join_reply *r);

/*
 * Sends one request to base URL `url` (target: path and query, body NULL for a
 * GET). AECS_OK when an answer came, whatever its status, with *reply filled;
 * an error (recorded, naming the URL) when none did.
 */
struct aecs_join_transport {
    void *ctx;
    int (*request)(void *ctx, const char *url, const char *method, const char *target,
                   const char *body, size_t body_size, struct aecs_join_reply *reply);
};

/*
 * Tries one peer: AECS_OK when this replica is working afterwards (it was
 * already, or the join succeeded); otherwise an error whose message says which
 * step failed and why. `attester_cfg` is the configuration the identity
 * evidence was made with (the attester is the one named at release setup).
 */
AECS_MUST_CHECK int aecs_service_join_peer(struct aecs_service *svc,
                                           const struct aecs_attester_config *attester_cfg,
                                           const struct aecs_join_transport *t, const char *url);

/*
 * Tries each peer in turn until one succeeds, logging why each failed.
 * Nothing is tried when the store is not initialized or the replica is not
 * sealed. AECS_OK when the replica is working afterwards; AECS_E_IO
 * when every peer failed (it stays sealed; shares still unseal it).
 */
AECS_MUST_CHECK int aecs_service_join_peers(struct aecs_service *svc,
                                            const struct aecs_attester_config *attester_cfg,
                                            const struct aecs_join_transport *t,
                                            const char *const *urls, size_t count);

/*
 * aecsd --join: tries every peer (aecs_service_join_peers) in rounds until
 * this replica is working, by a join or otherwise (shares given meanwhile),
 * or until *stop is set. Between rounds it waits first_ms, doubling each
 * time up to max_ms, and watches *stop and the state every 50 ms. AECS_OK
 * once working; AECS_E_IO when stopped first; AECS_E_USAGE for no peers or
 * an uninitialized store (init through one replica, then restart the others).
 */
AECS_MUST_CHECK int aecs_service_join_keep_trying(struct aecs_service *svc,
                                                  const struct aecs_attester_config *attester_cfg,
                                                  const struct aecs_join_transport *t,
                                                  const char *const *urls, size_t count,
                                                  const int *stop, unsigned first_ms,
                                                  unsigned max_ms);

#endif
