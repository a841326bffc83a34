/*
 * release.h - the release protocol's messages and bindings
 * (docs/protocol-release.md): the report-data bindings of application and
 * service evidence, the byte strings the service identity signs in its
 * answers, and the JSON of the challenge, release, identity and public-part
 * messages. Shared by the server (which parses requests and writes answers)
 * and the client (the other way round).
 *
 * Parsing is strict and total: a message is either accepted whole or refused
 * with AECS_E_FORMAT and a message that names the member at fault (cut short,
 * never quoting key material). Unknown and repeated members are refused, hex
 * must be lowercase and of the exact length, base64 canonical, names
 * [A-Za-z0-9._-] of 1 to 64 characters not starting with '.'. Serializers
 * check the same rules on what they are given (AECS_E_INVALID_ARGUMENT), so
 * one side never writes what the other refuses. Output JSON is compact, with
 * members in the documented order, and has no trailing newline.
 *
 * Structs come in two uses: a parser returns a heap struct that owns its
 * buffers (free it with the matching _free); a serializer only reads the
 * struct it is given (buffers borrowed), except where noted.
 */
#ifndef AECS_PROTO_RELEASE_H
#define AECS_PROTO_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/envelope.h"

#define AECS_RELEASE_LABEL "aecs-release-v1"
#define AECS_IDENTITY_LABEL "aecs-identity-v1"
#define AECS_ANSWER_RELEASE_LABEL "aecs-release-answer-v1"
#define AECS_ANSWER_IDENTITY_LABEL "aecs-identity-answer-v1"
#define AECS_ANSWER_PUBLIC_LABEL "aecs-public-answer-v1"
#define AECS_ANSWER_JOIN_LABEL "aecs-join-answer-v1"
#define AECS_ANSWER_INIT_LABEL "aecs-init-answer-v1"

/* The header that carries an answer's signature (standard base64 of the DER signature). */
#define AECS_HDR_ANSWER_SIGNATURE "X-Aecs-Answer-Signature"

#define AECS_RELEASE_NONCE_SIZE 32
#define AECS_RELEASE_NONCE_HEX 64
#define AECS_RELEASE_PUBKEY_HEX (2 * AECS_P256_PUB_SIZE)
#define AECS_RELEASE_REPORT_DATA_SIZE 64

#define AECS_RELEASE_MAX_SECRETS 16
#define AECS_RELEASE_EVIDENCE_MAX (64u << 10)
#define AECS_RELEASE_REQUEST_MAX (128u << 10)
#define AECS_RELEASE_ANSWER_MAX (24u << 20)
#define AECS_RELEASE_IDENTITY_MAX (128u << 10)
#define AECS_RELEASE_PUBLIC_MAX (64u << 10)
#define AECS_RELEASE_PUBLIC_ANSWER_MAX (192u << 10) /* a public part whose every byte is escaped   \
                                                     */
#define AECS_RELEASE_NAME_MAX 64
#define AECS_RELEASE_TYPE_MAX 64
#define AECS_RELEASE_CONTENT_TYPE_MAX 64
#define AECS_RELEASE_CODE_MAX 32
#define AECS_RELEASE_REASON_MAX 256
#define AECS_SERVICE_ID_HEX 32 /* a service id (GET /v1/status "id"): lowercase hex */

/* The longest signed answer string (release: 22 + 1 + 32 + 65 + 32; init is 149). */
#define AECS_ANSWER_SIGNED_MAX 152
/* Base64 of the longest DER signature, and a NUL. */
#define AECS_ANSWER_SIG_B64_MAX 97

/* ---- bindings (section 1) ---- */

/* SHA-512("aecs-release-v1" || 0x00 || nonce || pubkey): an application's report data. */
void aecs_release_binding(const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                          const uint8_t pubkey[AECS_P256_PUB_SIZE],
                          uint8_t out[AECS_RELEASE_REPORT_DATA_SIZE]);

/* SHA-512("aecs-identity-v1" || 0x00 || pubkey): the service identity evidence's report data. */
void aecs_identity_binding(const uint8_t pubkey[AECS_P256_PUB_SIZE],
                           uint8_t out[AECS_RELEASE_REPORT_DATA_SIZE]);

/*
 * AECS_OK when report_data (64 bytes, compared in constant time) is the release
 * binding of nonce and pubkey; AECS_E_MISMATCH otherwise.
 */
AECS_MUST_CHECK int aecs_release_binding_check(const uint8_t *report_data,
                                               const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                               const uint8_t pubkey[AECS_P256_PUB_SIZE]);

/* The same for the identity binding of pubkey. */
AECS_MUST_CHECK int aecs_identity_binding_check(const uint8_t *report_data,
                                                const uint8_t pubkey[AECS_P256_PUB_SIZE]);

/* ---- signed answers (section 4) ---- */

enum aecs_answer_kind {
    AECS_ANSWER_RELEASE = 1, /* POST /v1/release: binds the client's public key too */
    AECS_ANSWER_IDENTITY,    /* GET /v1/identity */
    AECS_ANSWER_PUBLIC,      /* GET .../public */
    AECS_ANSWER_JOIN,        /* POST /v1/cluster/join: binds the joiner's public key too */
    AECS_ANSWER_INIT,        /* POST /v1/admin/init: binds the admin's share key too */
};

/*
 * The signed string of an answer: label || 0x00 || nonce [|| client_pub] ||
 * SHA-256(body), into out (*size bytes). client_pub (65 bytes) is required for
 * AECS_ANSWER_RELEASE, AECS_ANSWER_JOIN and AECS_ANSWER_INIT and must be NULL for the others;
 * body may be NULL when body_size is 0. AECS_E_INVALID_ARGUMENT otherwise.
 */
AECS_MUST_CHECK int aecs_answer_signed_bytes(enum aecs_answer_kind kind,
                                             const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                             const uint8_t *client_pub, const void *body,
                                             size_t body_size, uint8_t out[AECS_ANSWER_SIGNED_MAX],
                                             size_t *size);

/*
 * Signs an answer's string with the identity key and writes the header value
 * (standard base64 of the DER signature, NUL-terminated) to sig_b64.
 */
AECS_MUST_CHECK int aecs_answer_sign(const struct aecs_p256_key *identity,
                                     enum aecs_answer_kind kind,
                                     const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                     const uint8_t *client_pub, const void *body, size_t body_size,
                                     char sig_b64[AECS_ANSWER_SIG_B64_MAX]);

/*
 * AECS_OK when sig_b64 (a header value of sig_len characters) is the identity
 * key's signature of the answer's string; AECS_E_BAD_SIGNATURE for a wrong,
 * malformed or missing signature; AECS_E_INVALID_ARGUMENT as for
 * aecs_answer_signed_bytes.
 */
AECS_MUST_CHECK int aecs_answer_verify(const struct aecs_p256_pub *identity,
                                       enum aecs_answer_kind kind,
                                       const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                       const uint8_t *client_pub, const void *body,
                                       size_t body_size, const char *sig_b64, size_t sig_len);

/* ---- nonces as text ---- */

/* Exactly 64 lowercase hex characters (len of them) into 32 bytes; AECS_E_FORMAT otherwise. */
AECS_MUST_CHECK int aecs_release_nonce_parse(const char *hex, size_t len,
                                             uint8_t out[AECS_RELEASE_NONCE_SIZE]);

/*
 * Exactly 130 lowercase hex characters (len of them) of a valid P-256 point
 * into 65 bytes; AECS_E_FORMAT otherwise (the message says which rule).
 */
AECS_MUST_CHECK int aecs_release_pubkey_parse(const char *hex, size_t len,
                                              uint8_t out[AECS_P256_PUB_SIZE]);

/* ---- POST /v1/challenge ---- */

/* AECS_OK for an empty body or the empty object {}; AECS_E_FORMAT for anything else. */
AECS_MUST_CHECK int aecs_challenge_request_check(const char *body, size_t size);

/* {"nonce", "expires"} in a fresh string (*out, *size without the NUL) the caller frees. */
AECS_MUST_CHECK int aecs_challenge_answer_serialize(const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                                    int64_t expires, char **out, size_t *size);

AECS_MUST_CHECK int aecs_challenge_answer_parse(const char *body, size_t size,
                                                uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                                int64_t *expires);

/* ---- POST /v1/release ---- */

struct aecs_release_ref {
    char service[AECS_RELEASE_NAME_MAX + 1];
    char name[AECS_RELEASE_NAME_MAX + 1];
};

struct aecs_release_request {
    uint8_t *evidence; /* 1..AECS_RELEASE_EVIDENCE_MAX bytes */
    size_t evidence_size;
    uint8_t pubkey[AECS_P256_PUB_SIZE]; /* a valid point (checked by the parser) */
    struct aecs_p256_pub *pub;          /* pubkey imported by the parser (NULL when built) */
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    size_t count; /* 1..AECS_RELEASE_MAX_SECRETS, no (service, name) twice */
    struct aecs_release_ref secrets[AECS_RELEASE_MAX_SECRETS];
};

/*
 * Parses a request body of at most AECS_RELEASE_REQUEST_MAX bytes (else
 * AECS_E_TOO_LARGE). The caller frees *out with aecs_release_request_free.
 */
AECS_MUST_CHECK int aecs_release_request_parse(const char *body, size_t size,
                                               struct aecs_release_request **out);

/* The request's JSON in a fresh string (*out, *size without the NUL) the caller frees. */
AECS_MUST_CHECK int aecs_release_request_serialize(const struct aecs_release_request *req,
                                                   char **out, size_t *size);

/* Frees a parsed request (its evidence too). NULL is fine. */
void aecs_release_request_free(struct aecs_release_request *req);

struct aecs_release_result {
    char service[AECS_RELEASE_NAME_MAX + 1];
    char name[AECS_RELEASE_NAME_MAX + 1];
    int sealed; /* 1: type, content_type and envelope are set; 0: code and reason */
    char type[AECS_RELEASE_TYPE_MAX + 1];
    char content_type[AECS_RELEASE_CONTENT_TYPE_MAX + 1];
    struct aecs_envelope envelope; /* owns its ciphertext */
    char code[AECS_RELEASE_CODE_MAX + 1];
    char reason[AECS_RELEASE_REASON_MAX + 1];
};

/* Both uses own the envelopes' ciphertexts: release with aecs_release_answer_free. */
struct aecs_release_answer {
    size_t count;
    struct aecs_release_result results[AECS_RELEASE_MAX_SECRETS];
};

/* A zeroed answer on the heap (NULL when out of memory). */
struct aecs_release_answer *aecs_release_answer_new(void);

/*
 * Parses an answer body of at most AECS_RELEASE_ANSWER_MAX bytes (else
 * AECS_E_TOO_LARGE). The caller frees *out with aecs_release_answer_free.
 */
AECS_MUST_CHECK int aecs_release_answer_parse(const char *body, size_t size,
                                              struct aecs_release_answer **out);

/* The answer's JSON in a fresh string (*out, *size without the NUL) the caller frees. */
AECS_MUST_CHECK int aecs_release_answer_serialize(const struct aecs_release_answer *answer,
                                                  char **out, size_t *size);

/* Clears every envelope and frees. NULL is fine. */
void aecs_release_answer_free(struct aecs_release_answer *answer);

/*
 * AECS_OK when the answer has one entry per requested secret, naming it, in the
 * request's order; AECS_E_MISMATCH (naming the first difference) otherwise.
 */
AECS_MUST_CHECK int aecs_release_answer_match(const struct aecs_release_request *req,
                                              const struct aecs_release_answer *answer);

/* ---- GET /v1/identity ---- */

/* The most insecure options an identity answer lists, and the longest name of one. */
#define AECS_IDENTITY_INSECURE_MAX 16
#define AECS_IDENTITY_INSECURE_NAME_MAX 32

/*
 * The identity key signs the whole body, so service_id and insecure come
 * from the process the evidence describes, not from the host: a client sees
 * which store the server serves and whether it was started with weakened
 * trust (the names of GET /v1/status "insecure", [a-z0-9-]).
 */
struct aecs_identity_answer {
    uint8_t pubkey[AECS_P256_PUB_SIZE]; /* a valid point (checked by the parser) */
    uint8_t *evidence;                  /* 1..AECS_RELEASE_EVIDENCE_MAX bytes */
    size_t evidence_size;
    char service_id[AECS_SERVICE_ID_HEX + 1]; /* lowercase hex; "" before the init */
    size_t insecure_count;                    /* 0..AECS_IDENTITY_INSECURE_MAX */
    char insecure[AECS_IDENTITY_INSECURE_MAX][AECS_IDENTITY_INSECURE_NAME_MAX + 1];
};

/* At most AECS_RELEASE_IDENTITY_MAX bytes; free *out with aecs_identity_answer_free. */
AECS_MUST_CHECK int aecs_identity_answer_parse(const char *body, size_t size,
                                               struct aecs_identity_answer **out);
AECS_MUST_CHECK int aecs_identity_answer_serialize(const struct aecs_identity_answer *answer,
                                                   char **out, size_t *size);
void aecs_identity_answer_free(struct aecs_identity_answer *answer);

/* ---- GET /v1/services/{service}/secrets/{name}/public ---- */

struct aecs_public_answer {
    char service[AECS_RELEASE_NAME_MAX + 1];
    char name[AECS_RELEASE_NAME_MAX + 1];
    char type[AECS_RELEASE_TYPE_MAX + 1];
    char content_type[AECS_RELEASE_CONTENT_TYPE_MAX + 1];
    char *public_data; /* NUL-terminated text, 1..AECS_RELEASE_PUBLIC_MAX bytes */
    size_t public_size;
};

/* At most AECS_RELEASE_PUBLIC_ANSWER_MAX bytes; free *out with aecs_public_answer_free. */
AECS_MUST_CHECK int aecs_public_answer_parse(const char *body, size_t size,
                                             struct aecs_public_answer **out);
AECS_MUST_CHECK int aecs_public_answer_serialize(const struct aecs_public_answer *answer,
                                                 char **out, size_t *size);
void aecs_public_answer_free(struct aecs_public_answer *answer);

/* ---- POST /v1/cluster/join (docs/protocol-release.md section 5) ---- */

/* The envelope binding of the root key sent to a joiner (service: the service id). */
#define AECS_JOIN_ENVELOPE_NAME "root-key"
#define AECS_JOIN_ENVELOPE_TYPE "AECS_ROOT_KEY_V1"

/*
 * A join request is a release request without secrets: {"evidence", "pubkey",
 * "nonce"}, the evidence's report data the release binding of nonce and
 * pubkey. Parsed into a release request with count 0 (free it with
 * aecs_release_request_free). Same limits and rules as a release request.
 */
AECS_MUST_CHECK int aecs_join_request_parse(const char *body, size_t size,
                                            struct aecs_release_request **out);
AECS_MUST_CHECK int aecs_join_request_serialize(const struct aecs_release_request *req,
                                                char **out, size_t *size);

/* {"id": "<32 hex: the service id>", "envelope": {epk, iv, ciphertext, tag}} */
AECS_MUST_CHECK int aecs_join_answer_serialize(const char *id, const struct aecs_envelope *env,
                                               char **out, size_t *size);
/* On success the caller releases *env with aecs_envelope_clear. At most 64 KiB. */
AECS_MUST_CHECK int aecs_join_answer_parse(const char *body, size_t size, char id[33],
                                           struct aecs_envelope *env);

/* ---- unseal progress shared by replicas (docs/protocol-release.md section 6) ---- */

#define AECS_UNSEAL_LABEL "aecs-unseal-v1"
#define AECS_UNSEAL_SHARE_LABEL "aecs-unseal-share-v1"
#define AECS_UNSEAL_SHARE_TYPE "AECS_UNSEAL_SHARE_V1"
#define AECS_UNSEAL_ID_HEX 32 /* service and replica ids: 32 lowercase hex characters */
#define AECS_UNSEAL_SET_HEX 8 /* a share set id: 8 lowercase hex characters */
/* The largest mailbox record (base64 evidence of AECS_RELEASE_EVIDENCE_MAX bytes and the rest). */
#define AECS_UNSEAL_MAILBOX_MAX (96u << 10)
/* The largest forwarded-share record. */
#define AECS_UNSEAL_BOX_MAX 4096u
/* The most plaintext bytes a forwarded share's envelope may hold. */
#define AECS_UNSEAL_BOX_PLAIN_MAX 256u

/*
 * SHA-512("aecs-unseal-v1" || 0x00 || service id || replica id || pubkey): the
 * report data of a sealed replica's mailbox evidence. The two ids are their 32
 * hex characters as text, the key its 65-byte point.
 */
void aecs_unseal_binding(const char service_id[AECS_UNSEAL_ID_HEX],
                         const char replica_id[AECS_UNSEAL_ID_HEX],
                         const uint8_t pubkey[AECS_P256_PUB_SIZE],
                         uint8_t out[AECS_RELEASE_REPORT_DATA_SIZE]);

/* AECS_OK when report_data (64 bytes, constant time) is that binding; AECS_E_MISMATCH otherwise. */
AECS_MUST_CHECK int aecs_unseal_binding_check(const uint8_t *report_data,
                                              const char service_id[AECS_UNSEAL_ID_HEX],
                                              const char replica_id[AECS_UNSEAL_ID_HEX],
                                              const uint8_t pubkey[AECS_P256_PUB_SIZE]);

/*
 * A sealed replica's mailbox, /meta/unseal/r/<replica id>:
 * {"key": hex point, "evidence": base64, "set": 8 hex, "time": RFC 3339 UTC}.
 */
struct aecs_unseal_mailbox {
    uint8_t pubkey[AECS_P256_PUB_SIZE]; /* a valid point (checked by the parser) */
    uint8_t *evidence;                  /* 1..AECS_RELEASE_EVIDENCE_MAX bytes */
    size_t evidence_size;
    char set[AECS_UNSEAL_SET_HEX + 1];
    int64_t time; /* when it was written, Unix seconds */
};

/* At most AECS_UNSEAL_MAILBOX_MAX bytes; free *out with aecs_unseal_mailbox_free. */
AECS_MUST_CHECK int aecs_unseal_mailbox_parse(const char *body, size_t size,
                                              struct aecs_unseal_mailbox **out);
AECS_MUST_CHECK int aecs_unseal_mailbox_serialize(const struct aecs_unseal_mailbox *m,
                                                  char **out, size_t *size);
void aecs_unseal_mailbox_free(struct aecs_unseal_mailbox *m);

/*
 * A share forwarded to a mailbox, /meta/unseal/s/<recipient id>/<index>:
 * {"from": the sender's replica id, "envelope": {epk, iv, ciphertext, tag}}.
 * The ciphertext holds 1..AECS_UNSEAL_BOX_PLAIN_MAX bytes.
 */
AECS_MUST_CHECK int aecs_unseal_box_serialize(const char *from, const struct aecs_envelope *env,
                                              char **out, size_t *size);
/* On success the caller releases *env with aecs_envelope_clear. */
AECS_MUST_CHECK int aecs_unseal_box_parse(const char *body, size_t size,
                                          char from[AECS_UNSEAL_ID_HEX + 1],
                                          struct aecs_envelope *env);

/*
 * The envelope binding of one forwarded share: service the service id, name
 * "<recipient id>.<index>", type "AECS_UNSEAL_SHARE_V1.<set>.<epoch>", and
 * nonce SHA-256("aecs-unseal-share-v1" || 0x00 || service id || recipient id
 * || set || index (1 byte) || epoch (8 bytes, big-endian)). b points into the
 * struct itself: use it in place, never a copy of the struct.
 */
struct aecs_unseal_share_binding {
    uint8_t nonce[AECS_ENVELOPE_NONCE_SIZE];
    char service[AECS_UNSEAL_ID_HEX + 1];
    char name[AECS_UNSEAL_ID_HEX + 8];
    char type[AECS_ENVELOPE_FIELD_MAX + 1];
    struct aecs_envelope_binding b;
};

/*
 * Fills *out. AECS_E_INVALID_ARGUMENT when an id or the set is not lowercase
 * hex of its length, or index is not 1..255.
 */
AECS_MUST_CHECK int aecs_unseal_share_binding(const char *service_id, const char *recipient,
                                              const char *set, unsigned index, uint64_t epoch,
                                              struct aecs_unseal_share_binding *out);

/* ---- admin init and unseal sealed to the identity key (protocol-release.md section 7) ---- */

#define AECS_ADMIN_SHARE_LABEL "aecs-admin-share-v1" /* a share sent to POST /v1/admin/unseal */
#define AECS_ADMIN_SHARE_NAME "unseal"
#define AECS_ADMIN_SHARE_TYPE "AECS_ADMIN_SHARE_V1"
#define AECS_INIT_SHARE_LABEL "aecs-init-share-v1" /* a share in a POST /v1/admin/init answer */
#define AECS_INIT_SHARE_TYPE "AECS_INIT_SHARE_V1"
/* The most plaintext bytes a sealed share holds (its text is 80 to 82 characters). */
#define AECS_ADMIN_SHARE_PLAIN_MAX 256u
/* The largest unseal request and init answer. */
#define AECS_UNSEAL_REQUEST_MAX 4096u
#define AECS_INIT_ANSWER_MAX (64u << 10)
#define AECS_INIT_SHARES_MAX 16
#define AECS_ADMIN_KEY_ID_HEX 64 /* an admin key id: lowercase hex SHA-256 */

/*
 * The envelope binding of a share sealed to the service identity key for
 * unseal: nonce SHA-256("aecs-admin-share-v1" || 0x00 || service id), service
 * the service id, name "unseal", type "AECS_ADMIN_SHARE_V1"; and of share
 * `index` of an init answer: nonce SHA-256("aecs-init-share-v1" || 0x00 ||
 * service id || index (1 byte) || the request's nonce), service the service
 * id, name "share-<index>", type "AECS_INIT_SHARE_V1". The service id is its
 * 32 hex characters as text. b points into the struct itself: use it in
 * place, never a copy of the struct.
 */
struct aecs_admin_share_binding {
    uint8_t nonce[AECS_ENVELOPE_NONCE_SIZE];
    char service[AECS_UNSEAL_ID_HEX + 1];
    char name[16];
    struct aecs_envelope_binding b;
};

/* AECS_E_INVALID_ARGUMENT when service_id is not 32 lowercase hex characters. */
AECS_MUST_CHECK int aecs_admin_share_binding(const char *service_id,
                                             struct aecs_admin_share_binding *out);
/* The same, and index not 1..AECS_INIT_SHARES_MAX or nonce NULL. */
AECS_MUST_CHECK int aecs_init_share_binding(const char *service_id, unsigned index,
                                            const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                            struct aecs_admin_share_binding *out);

/*
 * POST /v1/admin/unseal: {"share_sealed": envelope} (a share sealed to the
 * identity key, ciphertext 1..AECS_ADMIN_SHARE_PLAIN_MAX bytes); {"reset":
 * true, "share_sealed": envelope}, a reset, which carries a share sealed the
 * same way to prove that the caller holds one (a bare {"reset": true} is
 * refused); or {"share": ...} alone, the form of older clients, which the
 * parser recognizes (without reading the value) so the service can refuse it
 * with its own code.
 */
enum aecs_unseal_request_kind {
    AECS_UNSEAL_REQUEST_SEALED = 1,
    AECS_UNSEAL_REQUEST_RESET,
    AECS_UNSEAL_REQUEST_PLAIN,
};

struct aecs_unseal_request {
    enum aecs_unseal_request_kind kind;
    struct aecs_envelope share; /* SEALED and RESET; owns its ciphertext */
};

/*
 * At most AECS_UNSEAL_REQUEST_MAX bytes (else AECS_E_TOO_LARGE). On success
 * the caller releases out->share with aecs_envelope_clear. Every string the
 * parser's JSON held is wiped before it is freed.
 */
AECS_MUST_CHECK int aecs_unseal_request_parse(const char *body, size_t size,
                                              struct aecs_unseal_request *out);
/*
 * {"share_sealed": {epk, iv, ciphertext, tag}}, with "reset": true first for
 * AECS_UNSEAL_REQUEST_RESET; AECS_E_INVALID_ARGUMENT for another kind or an
 * envelope without 1..AECS_ADMIN_SHARE_PLAIN_MAX bytes. *out is the caller's
 * to free.
 */
AECS_MUST_CHECK int aecs_unseal_request_serialize(const struct aecs_unseal_request *ur, char **out,
                                                  size_t *size);

/*
 * The answer of POST /v1/admin/init: {"id": service id, "admin": the key id
 * that became the first cluster admin, "threshold": K, "shares": [{"index":
 * i, "envelope": {epk, iv, ciphertext, tag}}, ...]}, shares in index order
 * 1..N, each sealed to the admin's share key.
 */
struct aecs_init_answer {
    char id[AECS_UNSEAL_ID_HEX + 1];
    char admin[AECS_ADMIN_KEY_ID_HEX + 1];
    unsigned threshold;                                /* 2..count */
    size_t count;                                      /* 2..AECS_INIT_SHARES_MAX */
    struct aecs_envelope shares[AECS_INIT_SHARES_MAX]; /* share i+1; owns the ciphertexts */
};

/* At most AECS_INIT_ANSWER_MAX bytes; free *out with aecs_init_answer_free. */
AECS_MUST_CHECK int aecs_init_answer_parse(const char *body, size_t size,
                                           struct aecs_init_answer **out);
AECS_MUST_CHECK int aecs_init_answer_serialize(const struct aecs_init_answer *a, char **out,
                                               size_t *size);
/* Clears every envelope and frees. NULL is fine. */
void aecs_init_answer_free(struct aecs_init_answer *a);

#endif
