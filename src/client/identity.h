/*
 * identity.h - checking a server's identity before anything else is sent to
 * it (docs/protocol-release.md section 2, GET /v1/identity?nonce=), shared by
 * the client library (client.c) and the admin commands (admin.c), so the two
 * apply exactly one set of checks:
 *
 *   1. the answer parses (identity);
 *   2. it carries exactly one X-Aecs-Answer-Signature, which verifies with
 *      the key the answer names, over the caller's nonce and the body
 *      (identity-signature);
 *   3. unless that very key passed before on this server (the caller's
 *      cache): the evidence verifies with the configured verifier
 *      (identity-evidence), its report data is the identity binding of the
 *      key (identity-binding), its claims match the server policy
 *      (server-policy), and the answer lists no insecure option the server
 *      was started with (server-insecure), unless the evidence is the
 *      simulated TEE's (a test server whatever its options, and one
 *      server_policy must allow with allow_sim) or the caller accepts
 *      insecure servers (accept_insecure_server, with a warning);
 *   4. when the caller pins a service id: the answer names that id
 *      (server-service-id), so a store wiped and initialized again, which
 *      the same enclave would serve with secrets of the wiper's choice, is
 *      refused. The id is derived from the root key (aecs_kek_service_id)
 *      and a service checks its store's id against the key it unseals with,
 *      so keeping the old /meta/id beside a /meta/init of another key does
 *      not keep the id: that store stays sealed, and one given the id of the
 *      new key names another id. An uninitialized server names none
 *      (refused too).
 *
 * The insecure options are fixed when the server starts, as its identity key
 * is made: a cached key passed step 3 with them, so it is not run again.
 *
 * An INSECURE caller (aecs admin --insecure-skip-server-attestation) passes
 * no verifier: steps 1, 2 and 4 only (what an unchecked key signs vouches
 * for nothing, but a pinned id that differs is still refused), and the
 * result says the key was not checked.
 */
#ifndef AECS_CLIENT_IDENTITY_H
#define AECS_CLIENT_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "client/client_config.h"
#include "client/conn.h"
#include "crypto/envelope.h"
#include "proto/release.h"

struct aecs_verifier;

/* The request target of an identity request: "/v1/identity?nonce=" and 64 hex, and a NUL. */
#define AECS_IDENTITY_TARGET_MAX (32 + AECS_RELEASE_NONCE_HEX)

/*
 * The verifier of trust's settings (verifier.*): the source names the file
 * in the warning logged for insecure_trust_sim. now/now_arg: the verifier's
 * clock (NULL: the system's). The caller frees *out with aecs_verifier_free.
 */
AECS_MUST_CHECK int aecs_server_trust_verifier(const struct aecs_server_trust *trust,
                                               const char *source, int64_t (*now)(void *arg),
                                               void *now_arg, struct aecs_verifier **out);

/* A fresh nonce and the target that sends it. */
AECS_MUST_CHECK int aecs_identity_request(uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                          char target[AECS_IDENTITY_TARGET_MAX]);

/* What is checked, and against what. Everything is borrowed. */
struct aecs_identity_check {
    const char *url;    /* the server, for messages */
    const char *source; /* the file server_policy comes from, for messages */
    /* The verifier and the policy; both NULL: the evidence is not checked (INSECURE). */
    struct aecs_verifier *verifier;
    const struct aecs_policy_rules *rules;
    /* The key whose evidence passed on this server before (65 bytes), or NULL. */
    const uint8_t *known;
    /* The configuration's service_id (32 lowercase hex); NULL or "": not pinned. */
    const char *service_id;
    int accept_insecure; /* accept_insecure_server: true */
};

struct aecs_identity_result {
    struct aecs_p256_pub *pub; /* the answer's key on success; the caller frees it */
    uint8_t pubkey[AECS_P256_PUB_SIZE];
    int cached;        /* the key was `known`: its evidence was not verified again */
    int verified;      /* the evidence was verified this time (whatever came of it) */
    int checked;       /* the key passed every check, now or before (0: INSECURE, not checked) */
    const char *check; /* on failure, the check that failed: "identity", "server-policy", ... */
};

/*
 * Runs the checks above on reply, the 2xx answer to the request made with
 * nonce. AECS_OK with out->pub set, or the error recorded (its message names
 * the server and what failed; AECS_E_NO_MEMORY when memory ran out) and
 * out->check set. out is zeroed first in every case.
 */
AECS_MUST_CHECK int aecs_identity_answer_check(const struct aecs_identity_check *chk,
                                               const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                               const struct aecs_raw_reply *reply,
                                               struct aecs_identity_result *out);

/*
 * Step 3's last check, on its own for the tests: AECS_OK when ans lists no
 * insecure option, or sim (the evidence is the simulated TEE's), or
 * chk->accept_insecure (logs a warning); else AECS_E_UNTRUSTED, recorded
 * with a message that lists the options and how to accept them.
 */
AECS_MUST_CHECK int aecs_identity_insecure_check(const struct aecs_identity_check *chk,
                                                 const struct aecs_identity_answer *ans, int sim);

#endif
