/*
 * admin.h - the admin's side of init and unseal (docs/protocol-release.md
 * section 7), for `aecs admin` (src/cli/cmd_admin.c) and its tests.
 *
 * aecsd runs in a TEE; the host outside it may hold the TLS key and read
 * what TLS carries. So shares never cross TLS in clear:
 *
 *   - first the server's identity is checked exactly as the client library
 *     checks it (identity.h): GET /v1/identity with a fresh nonce, evidence
 *     verified and matched against the credential file's server_policy;
 *   - unseal: the share is sealed to that identity key (an envelope bound to
 *     the service id), so only the process the evidence describes opens it;
 *   - init: the request names a fresh key of this command and a nonce; the
 *     answer's signature must verify with the checked identity key over the
 *     nonce, that key and the body before anything in it is read, and each
 *     share opens only with the command's key, for its index and nonce.
 *
 * Requests go through a transport: the HTTPS connection of conn.h in the
 * command, the service's handlers in the tests (which can change what the
 * server answers).
 */
#ifndef AECS_CLIENT_ADMIN_H
#define AECS_CLIENT_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "client/conn.h"
#include "crypto/envelope.h"
#include "policy/policy.h"
#include "proto/release.h"

struct aecs_verifier;

/*
 * One request as aecs_conn_request_raw makes it (flags: AECS_REQ_SIGNED or
 * 0): AECS_OK for a 2xx answer, else the error, with reply->status 0 when no
 * answer came. The caller clears reply with aecs_raw_reply_clear.
 */
struct aecs_admin_transport {
    void *ctx;
    int (*request)(void *ctx, const char *method, const char *target, const char *body,
                   size_t body_size, unsigned flags, const char *header,
                   struct aecs_raw_reply *reply);
};

/* The transport function over an HTTPS connection: ctx is the struct aecs_conn. */
int aecs_admin_conn_request(void *ctx, const char *method, const char *target, const char *body,
                            size_t body_size, unsigned flags, const char *header,
                            struct aecs_raw_reply *reply);

/* One admin command's view of one server. Fill the first part; the rest is set by the calls. */
struct aecs_admin {
    struct aecs_admin_transport t;
    const char *url;    /* the server, for messages */
    const char *source; /* the credential file, for messages */
    /* The verifier and server_policy; both NULL: INSECURE, the identity is not checked. */
    struct aecs_verifier *verifier;
    const struct aecs_policy_rules *rules;
    /* The credential file's service_id (NULL or "": not pinned) and accept_insecure_server. */
    const char *service_id;
    int accept_insecure;

    /* set by aecs_admin_identity */
    struct aecs_p256_pub *identity;
    uint8_t identity_pub[AECS_P256_PUB_SIZE];
    int checked;       /* 1: the evidence passed server_policy; 0: taken unchecked (INSECURE) */
    const char *check; /* after a failed identity check: which ("server-policy", ...) */
};

/* Frees what the calls set (the identity key). */
void aecs_admin_clear(struct aecs_admin *a);

/*
 * Asks for and checks the server's identity (identity.h); on success
 * a->identity is the key to seal to. Unchecked (no verifier) and the server
 * has no identity evidence (no_identity): the key of GET /v1/status is taken,
 * as unchecked as the rest. Failures: the transport's error with reply's
 * status and code (a refusal, or no answer), or AECS_E_UNTRUSTED with
 * a->check naming the check that failed.
 */
AECS_MUST_CHECK int aecs_admin_identity(struct aecs_admin *a, struct aecs_raw_reply *reply);

/*
 * POST /v1/admin/unseal with share (its text) sealed to the identity key for
 * service_id (aecs_admin_identity first). reply gets the answer (JSON bytes)
 * or the refusal.
 */
AECS_MUST_CHECK int aecs_admin_unseal(struct aecs_admin *a, const char *service_id,
                                      const char *share, struct aecs_raw_reply *reply);

/*
 * POST /v1/admin/unseal {"reset": true, "share_sealed": ...}: drops the shares
 * given so far (on every replica that shares progress), proven by share, sealed
 * as by aecs_admin_unseal; the share is not counted. Only a sealed server
 * takes it (a working one answers 409 conflict).
 */
AECS_MUST_CHECK int aecs_admin_unseal_reset(struct aecs_admin *a, const char *service_id,
                                            const char *share, struct aecs_raw_reply *reply);

struct aecs_admin_init_params {
    const char *pubkey_pem;  /* the signing key's public key: the first cluster admin */
    const char *key_id;      /* its key id (64 hex) */
    unsigned shares;         /* N */
    unsigned threshold;      /* K */
    const char *join_policy; /* YAML text, or NULL */
    size_t join_policy_size;
};

/*
 * POST /v1/admin/init, signed, naming a fresh key of this call and a nonce
 * (aecs_admin_identity first). The answer is refused unless its signature
 * verifies with the identity key over the nonce, that key and the body
 * (AECS_E_BAD_SIGNATURE), it names this admin key, N shares and K
 * (AECS_E_FORMAT), and each share opens, bound to the service id the answer
 * names, and is share i of that split (AECS_E_BAD_SIGNATURE, AECS_E_FORMAT).
 * The request is signed over an empty service id: a service has none before
 * its init, which derives it from the root key it makes. On success *shares
 * holds the N share texts in index order on the secure heap (free them with
 * aecs_shares_free(*shares, N)) and service_id the new service's id. The key
 * is wiped before returning.
 */
AECS_MUST_CHECK int aecs_admin_init(struct aecs_admin *a, const struct aecs_admin_init_params *p,
                                    struct aecs_raw_reply *reply, char ***shares,
                                    char service_id[AECS_SERVICE_ID_HEX + 1]);

#endif
