/*
 * service.h - what aecsd does, without HTTP: the service's state (not
 * initialized, sealed, working), init and unseal, signed admin requests, the
 * objects it keeps (admin keys, services, secrets), and the audit log.
 *
 * src/server/ turns HTTP requests into these calls and their answers into
 * HTTP responses (docs/api.md); everything here can be driven by unit tests.
 *
 * Answers and refusals: every call that answers a request returns AECS_OK
 * with *answer a new JSON reference, or an AECS_E_* code with the recorded
 * error's message for the caller and *api set to the API code of docs/api.md
 * (API_INTERNAL when the failure is the server's own; the message is then
 * only logged).
 *
 * Threads: one service is shared by every HTTP thread. State changes (init,
 * unseal) take a write lock; everything else a read lock; writes to the store
 * are serialized in the process and made with compare-and-swap transactions,
 * so several processes (replicas) can share one store.
 *
 * Store layout (docs/design-service.md): clear metadata under /meta/, sealed
 * records under /k/ (an index with every record's version and the store's
 * generation, admin keys, services, secrets), and the hash-chained audit log
 * under /audit/.
 */
#ifndef AECS_SERVICE_SERVICE_H
#define AECS_SERVICE_SERVICE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* The API error codes of docs/api.md. */
enum aecs_api_code {
    API_OK = 0,
    API_BAD_REQUEST,
    API_INVALID_POLICY,
    API_UNAUTHENTICATED,
    API_STALE_REQUEST,
    API_REPLAYED_REQUEST,
    API_FORBIDDEN,
    API_NOT_FOUND,
    API_METHOD_NOT_ALLOWED,
    API_CONFLICT,
    API_TOO_LARGE,
    API_RATE_LIMITED,
    API_NOT_INITIALIZED,
    API_SEALED,
    API_BAD_SHARE,
    API_BUSY,
    API_STORE_DAMAGED,
    API_INVALID_NONCE,
    API_EXPIRED_NONCE,
    API_ATTESTATION_FAILED,
    API_BINDING_MISMATCH,
    API_NO_IDENTITY,
    API_NOT_CONFIGURED,
    API_QUOTA_EXCEEDED,
    API_SHARE_NOT_SEALED,
    API_INTERNAL,
};

/* "bad_request", ... */
const char *aecs_api_code_name(enum aecs_api_code code);
/* 400, ... */
int aecs_api_code_status(enum aecs_api_code code);
/* The API code for an AECS_E_* code when a call did not set one. */
enum aecs_api_code aecs_api_code_from_err(int err);

enum aecs_service_state {
    AECS_STATE_UNINITIALIZED = 0,
    AECS_STATE_SEALED = 1,
    AECS_STATE_WORKING = 2,
};
const char *aecs_service_state_name(enum aecs_service_state state);

/* How a restarted service can unseal itself without shares. */
enum aecs_auto_unseal {
    AECS_AUTO_UNSEAL_NONE = 0,
    /* INSECURE: the sealing key is a plain file in the data folder (the simulated TEE). */
    AECS_AUTO_UNSEAL_SIM_INSECURE = 1,
    /* Gramine's MRENCLAVE sealing key, /dev/attestation/keys/_sgx_mrenclave. */
    AECS_AUTO_UNSEAL_GRAMINE = 2,
};

struct aecs_service_config {
    const char *store_spec;   /* "sqlite:PATH" or "etcd:..." */
    const char *data_dir;     /* local state: sealed root key copy, sim sealing key */
    const char *init_admin_key_file; /* optional: only this public key may init */
    enum aecs_auto_unseal auto_unseal;
    const char *attest_root;  /* prefix for device paths (tests); NULL or "" for "/" */
    const char *version;      /* reported in status */
    /* Challenge and admin-request nonces in the store, so that every replica sharing it
       accepts each once, and the rate limiter's buckets, so that they are counted once for
       all replicas. Always on with an etcd store; with SQLite only when set (tests). */
    int shared_nonces;
    /* Most secrets one service may hold (0: AECS_SERVICE_DEFAULT_MAX_SECRETS). */
    unsigned max_secrets_per_service;
};

/* One service's secrets at most, by default (aecsd --max-secrets-per-service). */
#define AECS_SERVICE_DEFAULT_MAX_SECRETS 1000
/* The limit's range. */
#define AECS_SERVICE_MAX_SECRETS_LIMIT 10000

struct aecs_service;

/*
 * Opens the store and finds the state: not initialized (no /meta/init),
 * sealed, or working after an automatic unseal. An initialized store must
 * hold its service id (/meta/id, written by the init; AECS_E_FORMAT
 * otherwise); an uninitialized one has none. The caller frees *out with
 * aecs_service_free.
 */
AECS_MUST_CHECK int aecs_service_open(const struct aecs_service_config *cfg,
                                      struct aecs_service **out);
void aecs_service_free(struct aecs_service *svc);

enum aecs_service_state aecs_service_state(struct aecs_service *svc);
/*
 * The service id: 32 lowercase hex digits derived from the root key
 * (aecs_kek_service_id), or "" before the init (an uninitialized service has
 * none). An init sets it under the state lock: read it with the state in
 * hand, or before requests are served.
 */
const char *aecs_service_id(const struct aecs_service *svc);
/*
 * The insecure options in effect, as a JSON array of names (new reference),
 * NULL when out of memory: never a list with one missing. GET /v1/status and
 * the signed identity answer both show it.
 */
json_t *aecs_service_insecure(const struct aecs_service *svc);

/* An HTTP request as the service sees it (everything as received). */
struct aecs_request {
    const char *method;   /* "GET", "POST", "DELETE" */
    const char *target;   /* path and query as sent */
    const uint8_t *body;  /* NULL when empty */
    size_t body_size;
    const char *key_id;   /* the X-Aecs-* headers, NULL when absent */
    const char *timestamp;
    const char *nonce;
    const char *signature;
    const char *remote;   /* client address, for the audit log */
};

enum aecs_role { AECS_ROLE_CLUSTER_ADMIN = 1, AECS_ROLE_SERVICE_ADMIN = 2 };

/* Who signed a request, once its signature is checked. */
struct aecs_caller {
    char key_id[65];
    enum aecs_role role;
    char service[65]; /* the service a service admin administers */
    char remote[64];  /* the client's address, for the audit log ("" when unknown) */
};

/* ---- unauthenticated ---- */

AECS_MUST_CHECK int aecs_service_status(struct aecs_service *svc, json_t **answer);

/*
 * POST /v1/admin/unseal: body {"share_sealed": envelope} (the share sealed to
 * the identity key, docs/protocol-release.md section 7) or {"reset": true,
 * "share_sealed": envelope}; a share in clear ({"share": "..."}) is refused
 * with API_SHARE_NOT_SEALED, and a sealed share with API_NO_IDENTITY when
 * there is no identity key (aecs_service_release_setup was not called). Each
 * sealed share opens once per process: one given again (a replay) is
 * refused. A reset proves that the caller holds a share: its share must be
 * one of this service's (API_BAD_SHARE, nothing reset), is not counted, and
 * only a sealed service takes a reset (API_CONFLICT when working). With
 * shared progress (aecs_service_unseal_setup) shares forwarded by other
 * replicas are collected first and count as received, a share given here is
 * forwarded to them, and a reset starts over on every replica.
 */
AECS_MUST_CHECK int aecs_service_unseal(struct aecs_service *svc, const struct aecs_request *req,
                                        json_t **answer, enum aecs_api_code *api);

/*
 * Unseal progress shared by the replicas of a cluster (unseal.c,
 * docs/design-service.md "Unseal progress across replicas"). On a store the
 * replicas share (etcd), with a verifier and identity evidence
 * (aecs_service_release_setup first): a sealed replica publishes a mailbox
 * key with evidence from its attester, shares given to it are forwarded,
 * sealed to the mailboxes of the other sealed replicas of the same enclave,
 * and it collects what is forwarded to it. attester_cfg is the
 * configuration the identity evidence was made with; it is borrowed and must
 * outlive the service. Without a shared store, verifier or evidence the
 * feature stays off (logged) and AECS_OK is returned; an error means it is
 * off too (the attester or the key failed). Call once, before any request.
 */
struct aecs_attester_config;
AECS_MUST_CHECK int aecs_service_unseal_setup(struct aecs_service *svc,
                                              const struct aecs_attester_config *attester_cfg);

/*
 * aecsd calls this about every second, from one thread: a sealed replica
 * publishes or refreshes its mailbox, forwards its shares and collects
 * forwarded ones (and may become working); every replica now and then
 * deletes mailboxes left by replicas that died sealed. Failures are logged,
 * never returned.
 */
void aecs_service_unseal_poll(struct aecs_service *svc);

/* GET /v1/services/{service}/secrets/{name}/public */
AECS_MUST_CHECK int aecs_service_secret_public(struct aecs_service *svc, const char *service,
                                               const char *name, json_t **answer,
                                               enum aecs_api_code *api);

/* ---- signed ---- */

/*
 * POST /v1/admin/init: signed by the key in the body, which becomes the first
 * cluster admin (over an empty service id: the service has none yet). Makes
 * the root key, derives the service id from it (aecs_kek_service_id) and
 * writes /meta/id with /meta/init in one transaction. The body names the admin's share key and a nonce; the answer
 * (*out, released with aecs_answer_clear) holds the shares each sealed to
 * that key and is signed by the identity key (docs/protocol-release.md
 * section 7). API_SHARE_NOT_SEALED for a body without a share key, and
 * API_NO_IDENTITY without an identity key: no answer ever holds a share in
 * clear.
 */
struct aecs_answer;
AECS_MUST_CHECK int aecs_service_init(struct aecs_service *svc, const struct aecs_request *req,
                                      struct aecs_answer *out, enum aecs_api_code *api);

/*
 * Checks a working service's signed request (docs/api.md, in the order given
 * there) and names the caller. The nonce is remembered only when everything
 * else holds.
 */
AECS_MUST_CHECK int aecs_service_authenticate(struct aecs_service *svc,
                                              const struct aecs_request *req,
                                              struct aecs_caller *caller,
                                              enum aecs_api_code *api);

/* Cluster admin: services. */
AECS_MUST_CHECK int aecs_service_services_list(struct aecs_service *svc,
                                               const struct aecs_caller *caller, json_t **answer,
                                               enum aecs_api_code *api);
AECS_MUST_CHECK int aecs_service_service_register(struct aecs_service *svc,
                                                  const struct aecs_caller *caller,
                                                  const struct aecs_request *req,
                                                  json_t **answer, enum aecs_api_code *api);
AECS_MUST_CHECK int aecs_service_service_unregister(struct aecs_service *svc,
                                                    const struct aecs_caller *caller,
                                                    const char *service, int force,
                                                    json_t **answer, enum aecs_api_code *api);

/* Service admin: secrets. */
AECS_MUST_CHECK int aecs_service_secrets_create(struct aecs_service *svc,
                                                const struct aecs_caller *caller,
                                                const struct aecs_request *req, json_t **answer,
                                                enum aecs_api_code *api);
AECS_MUST_CHECK int aecs_service_secrets_list(struct aecs_service *svc,
                                              const struct aecs_caller *caller,
                                              const char *service, json_t **answer,
                                              enum aecs_api_code *api);
AECS_MUST_CHECK int aecs_service_secret_destroy(struct aecs_service *svc,
                                                const struct aecs_caller *caller,
                                                const char *service, const char *name,
                                                json_t **answer, enum aecs_api_code *api);

/* Cluster admin: the audit log. */
AECS_MUST_CHECK int aecs_service_audit_list(struct aecs_service *svc,
                                            const struct aecs_caller *caller, uint64_t from,
                                            unsigned limit, json_t **answer,
                                            enum aecs_api_code *api);
AECS_MUST_CHECK int aecs_service_audit_verify(struct aecs_service *svc,
                                              const struct aecs_caller *caller, json_t **answer,
                                              enum aecs_api_code *api);

/*
 * Appends a refusal of an authenticated request to the audit log (who, what,
 * why); failures to append are logged, never returned.
 */
void aecs_service_audit_refusal(struct aecs_service *svc, const struct aecs_caller *caller,
                                const struct aecs_request *req, const char *why);

/* ---- attested release (release.c, docs/protocol-release.md) ---- */

struct aecs_verifier;
struct aecs_attester_config;
struct aecs_clock;

struct aecs_release_config {
    /* Verifies applications' evidence; taken over by the service (freed with it). NULL: no
       releases (POST /v1/release answers not_configured). */
    struct aecs_verifier *verifier;
    /* The attester that makes the identity evidence ("sim", "gramine", "tsm", ...); NULL or
       "none": the identity key has no evidence and GET /v1/identity answers no_identity. */
    const char *attester;
    const struct aecs_attester_config *attester_cfg;
    unsigned rate_burst;      /* unauthenticated requests per address: bucket size (0: 20) */
    unsigned rate_per_second; /* and refill rate (0: 5) */
    /* The rate limiter's clock (tests; challenge.h says what it counts); NULL: the real one.
       With shared nonces (etcd) the buckets are in the store, shared by every replica. */
    const struct aecs_clock *rate_clock;
    uint64_t challenge_ttl_ms; /* 0: 60 s */
    int insecure_trust_sim;    /* the verifier trusts a simulated TEE (listed in status) */
    int insecure_intel_root;   /* the verifier trusts another root than Intel's (listed) */
};

/*
 * Makes the service identity key pair and, with an attester, evidence whose
 * report data binds its public key; sets up the nonce table and the rate
 * limiter. Called once, after aecs_service_open. On failure the service is
 * unchanged except that the verifier was freed.
 */
AECS_MUST_CHECK int aecs_service_release_setup(struct aecs_service *svc,
                                               const struct aecs_release_config *cfg);

/* An answer whose exact bytes are signed by the identity key (X-Aecs-Answer-Signature). */
struct aecs_answer {
    char *body; /* JSON text, NUL-terminated; size bytes without the NUL */
    size_t size;
    char signature[100]; /* base64 of the DER signature; "" when the answer is not signed */
};
/* Wipes and frees the body and clears *a. */
void aecs_answer_clear(struct aecs_answer *a);

/*
 * Takes one token of remote's bucket: API_RATE_LIMITED (AECS_E_TOO_LARGE) when
 * it is empty. With the buckets in the store (shared nonces), API_BUSY
 * (AECS_E_IO) when the store cannot be reached, and API_BUSY
 * (AECS_E_MISMATCH) when other replicas' takes of the same bucket won every
 * try: a request is never let through uncounted.
 */
AECS_MUST_CHECK int aecs_service_rate_check(struct aecs_service *svc, const char *remote,
                                            enum aecs_api_code *api);

/* POST /v1/challenge */
AECS_MUST_CHECK int aecs_service_challenge(struct aecs_service *svc,
                                           const struct aecs_request *req,
                                           struct aecs_answer *out, enum aecs_api_code *api);
/* POST /v1/release: every decision is audited before the answer is returned. */
AECS_MUST_CHECK int aecs_service_release(struct aecs_service *svc, const struct aecs_request *req,
                                         struct aecs_answer *out, enum aecs_api_code *api);
/* GET /v1/identity?nonce=HEX (nonce_hex as given) */
AECS_MUST_CHECK int aecs_service_identity(struct aecs_service *svc, const char *nonce_hex,
                                          struct aecs_answer *out, enum aecs_api_code *api);
/*
 * GET /v1/services/{service}/secrets/{name}/public[?nonce=HEX]: the public part,
 * signed over the caller's nonce when one is given.
 */
AECS_MUST_CHECK int aecs_service_public(struct aecs_service *svc, const char *service,
                                        const char *name, const char *nonce_hex,
                                        struct aecs_answer *out, enum aecs_api_code *api);

/*
 * POST /v1/cluster/join (join.c, docs/protocol-release.md section 5): a new
 * replica's evidence over the release binding of a challenge nonce and its
 * public key; when the claims match the join policy, the answer holds the
 * root key sealed to that key, signed by the identity key. Every decision is
 * audited with the claims.
 */
AECS_MUST_CHECK int aecs_service_join(struct aecs_service *svc, const struct aecs_request *req,
                                      struct aecs_answer *out, enum aecs_api_code *api);

/*
 * The end of a join (join_client.c): a sealed service becomes working with
 * kek, which it takes over (freed on failure too), once kek matches the
 * store's check value and /meta/id is kek's service id (AECS_E_BAD_SIGNATURE
 * otherwise, logged: it stays sealed).
 * Seals a copy for auto-unseal when configured and audits `cluster.joined`
 * naming peer (a URL). A service already working keeps its key (AECS_OK).
 */
struct aecs_kek;
AECS_MUST_CHECK int aecs_service_join_apply(struct aecs_service *svc, struct aecs_kek *kek,
                                            const char *peer);

/* 1 when name is a valid service or secret name (docs/api.md). */
int aecs_service_name_valid(const char *name);

#endif
