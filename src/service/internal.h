/*
 * internal.h - what the files of src/service/ share: the service struct, the
 * sealed index and write transactions (index.c), the audit log (audit.c), the
 * nonces kept in the store (nonces.c) and the refusal macro.
 */
#ifndef AECS_SERVICE_INTERNAL_H
#define AECS_SERVICE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/kek.h"
#include "crypto/sigkey.h"
#include "keystore/shares.h"
#include "service/service.h"
#include "store/store.h"

/* Store paths. */
#define SVC_META_ID "/meta/id"
#define SVC_META_INIT "/meta/init"
#define SVC_INDEX "/k/index"
#define SVC_AUDIT_HEAD "/k/audit-head"
#define SVC_KEYS "/k/keys/"
#define SVC_SERVICES "/k/services/"
#define SVC_SECRETS "/k/secrets/"
#define SVC_AUDIT "/audit/"
#define SVC_JOIN_POLICY "/k/join-policy"
/* Unseal progress shared by replicas (unseal.c): all in clear, shares only in envelopes. */
#define SVC_UNSEAL_EPOCH "/meta/unseal/epoch"  /* decimal: bumped by every reset */
#define SVC_UNSEAL_MAILBOXES "/meta/unseal/r/" /* <replica id>: a sealed replica's mailbox */
#define SVC_UNSEAL_BOXES "/meta/unseal/s/"     /* <replica id>/<index>: a forwarded share */

/* Record types (the AAD of each sealed record). */
#define SVC_T_INDEX "index"
#define SVC_T_HEAD "audit-head"
#define SVC_T_AUDIT "audit"
#define SVC_T_KEY "key"
#define SVC_T_SERVICE "service"
#define SVC_T_SECRET "secret"
#define SVC_T_JOIN_POLICY "join-policy"

/* The top-level key of a join policy document (aecs admin init --join-policy FILE). */
#define SVC_JOIN_POLICY_KEY "join_policy"

/*
 * The most bytes of the index's JSON a write that adds records may leave
 * (the store's value limit is 1 MiB, and the sealed index must fit in it).
 * A write that only changes or removes records is never refused for size.
 */
#define SVC_INDEX_TEXT_MAX (768u * 1024u)

/* Most secrets one policy file may create (one store transaction). */
#define SVC_MAX_SECRETS_PER_FILE 100

struct svc_audit_waiter;

struct aecs_claims;
/* What the audit log keeps of the claims a decision was made on (release.c; new reference). */
json_t *svc_claims_summary(const struct aecs_claims *c);

/*
 * The join policy (join.c): AECS_OK when c is the same enclave as own (same
 * TEE, simulated or not, debug attribute and identity measurements);
 * AECS_E_UNTRUSTED with the first difference in why otherwise. Both sides of
 * a join apply it: the answering replica to the joiner, the joiner to the
 * answering replica's identity.
 */
AECS_MUST_CHECK int svc_same_identity(const struct aecs_claims *own, const struct aecs_claims *c,
                                      char *why, size_t why_size);
/* The first difference svc_same_identity finds ("another MRENCLAVE"), NULL when none. */
const char *svc_identity_diff(const struct aecs_claims *own, const struct aecs_claims *c);

/* ---- nonces in the store, shared by replicas (nonces.c) ---- */

/* Stores a fresh challenge nonce until expires (Unix seconds). */
AECS_MUST_CHECK int svc_nonce_issue(struct aecs_service *svc, const uint8_t nonce[32],
                                    int64_t expires);
/*
 * Takes a challenge nonce out of the store, once across every replica:
 * AECS_E_NOT_FOUND when unknown or already used, AECS_E_EXPIRED when past its
 * expiry; store failures as they come.
 */
AECS_MUST_CHECK int svc_nonce_consume(struct aecs_service *svc, const uint8_t nonce[32]);
/* Remembers an admin request's nonce until expires: AECS_E_MISMATCH when seen already. */
AECS_MUST_CHECK int svc_nonce_remember(struct aecs_service *svc, const char *nonce,
                                       int64_t expires);
/*
 * A nonce's value as read back from the store (which the host controls): its
 * expiry in Unix seconds, as the issuing replica wrote it ("%lld" of a
 * positive number). AECS_E_FORMAT for anything else. Exposed for
 * fuzz/service_store.c.
 */
AECS_MUST_CHECK int svc_nonce_expiry_parse(const uint8_t *data, size_t size, int64_t *expires);

/* ---- unseal progress shared by replicas (unseal.c) ---- */

#define SVC_UNSEAL_PEERS_MAX 64

/* What this replica knows of another one's mailbox. */
struct svc_unseal_peer {
    char id[33];
    uint8_t pub[65];
    uint64_t version;  /* the mailbox's store version this verdict was made on */
    int state;         /* unparsed, another share set, refused, trusted (unseal.c) */
    int64_t time;      /* the mailbox's time */
    int64_t retry_at;  /* refused: verify again from then on (Unix seconds) */
    uint32_t sent;     /* bit i: share i was forwarded to it in this epoch */
};

struct aecs_attester_config;
struct aecs_p256_key;

/* The state of a replica's shared unseal progress; under state_lock as a writer. */
struct svc_unseal {
    int enabled; /* set once by aecs_service_unseal_setup, before any request */
    const struct aecs_attester_config *attester_cfg; /* borrowed */
    char replica[33];            /* this process's random replica id */
    struct aecs_p256_key *key;   /* the mailbox key, NULL once working (or before one is made) */
    uint8_t pub[65];
    uint8_t *evidence;           /* over aecs_unseal_binding of the ids and pub */
    size_t evidence_size;
    int64_t published;           /* when the mailbox was last written (Unix seconds), 0: not */
    uint64_t epoch;              /* the reset epoch this progress belongs to */
    struct aecs_claims *own;     /* this replica's own identity claims, once verified */
    uint32_t direct;             /* bit i: pending share i was given to this replica directly */
    struct svc_unseal_peer peers[SVC_UNSEAL_PEERS_MAX];
    size_t peer_count;
    size_t peer_next;            /* the entry to reuse when the table is full */
    int64_t last_sync_ms;        /* monotonic, of the last sync */
    int64_t last_sweep;          /* Unix seconds of the last sweep (the poll's thread only) */
};

/*
 * The calls below are made with state_lock held as a writer. Failures are
 * logged (never a share) and left for the next sync, except where a result
 * is returned.
 */
/*
 * On a sealed replica: the reset epoch; this replica's forwarded shares
 * read; its direct shares forwarded to every other fresh, verified mailbox of
 * the same enclave and split; then each forwarded share opened, checked and
 * added (svc_pending_add), which may make the replica working.
 */
void svc_unseal_sync(struct aecs_service *svc);
/*
 * For status (takes state_lock itself): svc_unseal_sync on a sealed replica
 * with shared progress, at most every SVC_UNSEAL_STATUS_SYNC_MS.
 */
#define SVC_UNSEAL_STATUS_SYNC_MS 200
void svc_unseal_sync_throttled(struct aecs_service *svc);
/* Forwards the shares given directly to this replica to the mailboxes that lack them. */
void svc_unseal_forward(struct aecs_service *svc);
/* A cluster-wide reset: a new epoch, every forwarded share deleted; local progress dropped. */
AECS_MUST_CHECK int svc_unseal_reset(struct aecs_service *svc);

/*
 * What unseal.c reads back from the store, exposed for fuzz/share_text.c and
 * fuzz/service_store.c. A forwarded share's plaintext is SVC_UNSEAL_SHARE_PLAIN_SIZE
 * bytes: index, threshold, set id (8 lowercase hex characters), data. Anyone
 * who can write the store can seal one to a mailbox's public key, so the
 * decoder checks every field: AECS_E_FORMAT otherwise. A box key ends in the
 * share's index, "1".."16" with no sign or leading zero: svc_unseal_box_index
 * returns 1 and sets *index for one, 0 otherwise. The reset epoch's value is
 * 1 to 19 decimal digits without a leading zero: AECS_E_FORMAT otherwise.
 */
#define SVC_UNSEAL_SHARE_PLAIN_SIZE (1 + 1 + 8 + AECS_KEK_SIZE)
void svc_unseal_share_encode(const struct aecs_share *sh, uint8_t out[SVC_UNSEAL_SHARE_PLAIN_SIZE]);
AECS_MUST_CHECK int svc_unseal_share_decode(const uint8_t *p, size_t size, struct aecs_share *out);
int svc_unseal_box_index(const char *s, unsigned *index);
AECS_MUST_CHECK int svc_unseal_epoch_parse(const uint8_t *data, size_t size, uint64_t *epoch);
/* The replica is working: its mailbox and forwarded shares are deleted, the key freed. */
void svc_unseal_done(struct aecs_service *svc);
/* Frees what the state holds (the mailbox is deleted first when still published). */
void svc_unseal_free(struct aecs_service *svc);

struct aecs_share;
/* Unseal (service.c; state_lock held as a writer). */
/*
 * Refuses a share that is not one of this service's (threshold, set id,
 * index, commitment made at init), or of another split than the pending
 * ones: API_BAD_SHARE with the reason. A repeated index is not checked here
 * (svc_pending_has).
 */
AECS_MUST_CHECK int svc_share_check(struct aecs_service *svc, const struct aecs_share *share,
                                    enum aecs_api_code *api);
/* 1 when a share of this index is pending. */
int svc_pending_has(const struct aecs_service *svc, unsigned index);
/*
 * Adds a checked share; a direct one (given to this replica, not forwarded)
 * is forwarded to the cluster at once. With the threshold reached, combines
 * as aecs_service_unseal does: the service is working on success; when no
 * set gives the root key the new share is dropped again (API_BAD_SHARE,
 * AECS_E_BAD_SIGNATURE). remote names the caller in the audit entry.
 */
AECS_MUST_CHECK int svc_pending_add(struct aecs_service *svc, const struct aecs_share *share,
                                    int direct, const char *remote, enum aecs_api_code *api);
/* Wipes every pending share, and forgets which of them were forwarded to which replica. */
void svc_pending_wipe(struct aecs_service *svc);

/* ---- the service ---- */

/* Sealed shares a process remembers (struct aecs_service.sealed_seen). */
#define SVC_SEALED_SEEN_MAX 64

struct aecs_service {
    char *store_spec;
    char *data_dir;
    char *attest_root;
    char *version;
    enum aecs_auto_unseal auto_unseal;
    struct aecs_sigkey *init_admin_key; /* NULL: whoever inits first */
    unsigned max_secrets;               /* per service */

    struct aecs_store *store;
    char id[33];

    pthread_rwlock_t state_lock;
    enum aecs_service_state state;
    struct aecs_kek *kek; /* NULL unless working */
    uint8_t check[AECS_KEK_CHECK_SIZE];
    unsigned threshold;
    unsigned share_count;
    char share_set[9]; /* the set id of the init's shares; "" for stores without one */
    /* SHA-256(set || index || data) of each share (index 1..share_count), made at init so
       unseal refuses a forged share at once; has_commitments 0 for older stores */
    uint8_t commitments[16][32];
    int has_commitments;

    /* unseal progress (under state_lock as a writer) */
    struct aecs_share *pending; /* AECS_SHARES_MAX entries, secure heap */
    size_t pending_count;
    /*
     * SHA-256 of the ephemeral key of each sealed share that was one of this
     * service's (its commitment held), given or proving a reset, so a sealed
     * share replayed to this
     * process is refused even after a reset. Anyone can seal to the identity
     * key, but only a real share gets in here, so a flood cannot push real
     * ones out; the oldest entry makes room.
     */
    uint8_t sealed_seen[SVC_SEALED_SEEN_MAX][32];
    size_t sealed_seen_count;
    size_t sealed_seen_next;
    struct svc_unseal cu;       /* progress shared by replicas (unseal.c) */

    pthread_mutex_t write_lock; /* one writer at a time in this process */
    uint64_t max_generation;    /* highest index generation seen */
    uint64_t max_audit_seq;     /* highest audit sequence seen */
    /* the audit head as this process last wrote it (under write_lock; audit.c) */
    uint64_t head_seq;
    char head_hash[65];
    uint64_t head_version;
    int head_known;

    int shared_nonces; /* etcd: challenge nonces and rate buckets in the store, for every replica */
    uint64_t nonce_issued; /* counts issues, to sweep expired nonces now and then */
    pthread_mutex_t nonce_sweep_lock;          /* one sweep at a time (trylock) */
    char nonce_sweep_after[AECS_STORE_KEY_MAX + 1]; /* where the next sweep starts; "" */

    /* the last index opened, reused while its store version is unchanged (index.c) */
    pthread_mutex_t index_lock;
    json_t *index_records; /* read-only once cached */
    uint64_t index_store_version;
    uint64_t index_generation;
    uint64_t index_audit_seq;

    /* group commit of audit entries (audit.c) */
    pthread_mutex_t audit_lock;
    pthread_cond_t audit_cond;
    struct svc_audit_waiter *audit_queue; /* FIFO: oldest first */
    struct svc_audit_waiter *audit_queue_tail;
    size_t audit_queue_length;
    size_t audit_announced; /* entries announced and not yet queued (svc_audit_announce) */
    int audit_leader;       /* a thread is committing a batch */

    /* attested release (release.c); set up by aecs_service_release_setup */
    struct aecs_verifier *verifier;       /* NULL: no releases */
    struct aecs_p256_key *identity;       /* the service identity key, made at setup */
    uint8_t identity_pub[65];
    uint8_t *identity_evidence;           /* NULL: no TEE evidence for the identity */
    size_t identity_evidence_size;
    char *identity_attester;              /* the attester's name, or NULL */
    int insecure_trust_sim;
    int insecure_intel_root;
    struct aecs_challenge_table *challenges;
    uint64_t challenge_ttl_ms;
    struct aecs_ratelimit *ratelimit;
};

/* Sets *api and records the error; returns the AECS code. */
#define REFUSE(apip, apicode, code, ...)                                                           \
    (*(apip) = (apicode), AECS_ERR((code), __VA_ARGS__))

/*
 * The refusal of a root key whose service id is not the store's /meta/id:
 * the shares, the sealed copy or the peer gave the key /meta/init checks,
 * but /meta/init is not the one the id was made with (someone wrote their
 * own, or put another service's in).
 */
#define SVC_ID_MISMATCH                                                                            \
    "the store's service id (" SVC_META_ID ") does not belong to this root key: the store was "  \
    "changed, or mixed with another service's; the service stays sealed"

/*
 * AECS_OK when svc->id (the store's /meta/id) is the service id of kek
 * (aecs_kek_service_id, compared in constant time); otherwise API_STORE_DAMAGED
 * and AECS_E_BAD_SIGNATURE with SVC_ID_MISMATCH. Every way a service gets its
 * root key calls it before the service is working.
 */
AECS_MUST_CHECK int svc_check_id(const struct aecs_service *svc, const struct aecs_kek *kek,
                                 enum aecs_api_code *api);

/*
 * Checks the state for a request that needs a working service: API_SEALED or
 * API_NOT_INITIALIZED otherwise. Call with state_lock held.
 */
AECS_MUST_CHECK int svc_require_working(struct aecs_service *svc, enum aecs_api_code *api);

/*
 * Parses a request body as a JSON object (at most 1 MiB), duplicate keys
 * refused: API_BAD_REQUEST or API_TOO_LARGE otherwise.
 */
AECS_MUST_CHECK int svc_body_object(const struct aecs_request *req, json_t **out,
                                    enum aecs_api_code *api);

/*
 * The X-Aecs-Key, -Timestamp and -Nonce headers of a signed request, read
 * before any key or signature is looked at (service.c): the key id and nonce
 * lowercase hex of their lengths, the timestamp Unix seconds (decimal digits).
 * API_UNAUTHENTICATED otherwise. Exposed for fuzz/admin_request.c.
 */
AECS_MUST_CHECK int svc_sig_headers_parse(const struct aecs_request *req, int64_t *timestamp,
                                          enum aecs_api_code *api);

/* What an init request names (POST /v1/admin/init), as svc_init_args_parse reads it. */
struct svc_init_args {
    const char *pem;         /* the first cluster admin's public key (borrowed from the body) */
    unsigned n, k;           /* shares, threshold: 2 <= k <= n <= 16 */
    const char *join_policy; /* or NULL (borrowed from the body) */
    uint8_t share_key[65];   /* the admin's P-256 key the shares are sealed to */
    uint8_t nonce[32];
};
/*
 * Reads an init request's body (unauthenticated: its signature is checked
 * with the key it names, after this). API_BAD_REQUEST or
 * API_SHARE_NOT_SEALED with the reason otherwise. Exposed for
 * fuzz/admin_request.c.
 */
AECS_MUST_CHECK int svc_init_args_parse(const json_t *body, struct svc_init_args *a,
                                        enum aecs_api_code *api);

/* What /meta/init holds: the store's init metadata, in clear (service.c). */
struct svc_meta_init {
    uint8_t check[AECS_KEK_CHECK_SIZE];
    unsigned threshold;
    unsigned share_count;
    char set[9];         /* "" in stores older than share sets */
    int has_commitments; /* 0 in stores older than commitments */
    uint8_t commitments[16][32];
};
/*
 * Reads /meta/init's value as the store (which the host controls) gives it
 * back. AECS_E_FORMAT when it is not what init writes. Exposed for
 * fuzz/service_store.c.
 */
AECS_MUST_CHECK int svc_meta_init_parse(const uint8_t *data, size_t size,
                                        struct svc_meta_init *out);

struct aecs_claims;
/*
 * A release's or a join's first steps (release.c): consume the nonce, verify
 * the evidence into claims. Refusals set *api (invalid_nonce, expired_nonce,
 * attestation_failed) and are logged as `what` refusals, never audited.
 */
AECS_MUST_CHECK int svc_consume_and_verify(struct aecs_service *svc,
                                           const struct aecs_request *req, const char *what,
                                           const uint8_t nonce[32], const uint8_t *evidence,
                                           size_t evidence_size, struct aecs_claims *claims,
                                           enum aecs_api_code *api);

/* ---- the index and sealed records (index.c) ---- */

/* The sealed index: every record's version, and the store's generation. */
struct svc_index {
    json_t *records;        /* object: path -> version */
    uint64_t generation;    /* also the index record's own version */
    uint64_t audit_seq;     /* the audit log's length at the last indexed write */
    uint64_t store_version; /* the index key's store version (for the CAS) */
};

/*
 * Loads and opens the index (kek held). Refuses a generation older than seen
 * before. ix->records is shared and read-only (svc_txn_begin makes its own
 * copy to change).
 */
AECS_MUST_CHECK int svc_index_load(struct aecs_service *svc, struct svc_index *ix);
/*
 * The opened index's JSON (j, an object) at record version `version`: its
 * records (borrowed from j), generation (== version) and audit_seq.
 * AECS_E_FORMAT otherwise. Exposed for fuzz/service_store.c.
 */
AECS_MUST_CHECK int svc_index_parse(const json_t *j, uint64_t version, json_t **records,
                                    uint64_t *generation, uint64_t *audit_seq);
void svc_index_clear(struct svc_index *ix);
/* A record's version in the index, 0 when it has none. */
uint64_t svc_index_version(const struct svc_index *ix, const char *path);
/*
 * The paths of the index that start with prefix, sorted (a JSON array of
 * strings, new reference).
 */
AECS_MUST_CHECK int svc_index_paths(const struct svc_index *ix, const char *prefix,
                                    json_t **out);

/*
 * Reads and opens the JSON record at path with the version the index gives.
 * AECS_E_NOT_FOUND when the index has no such record; AECS_E_BAD_SIGNATURE
 * (and an error log line) when the stored bytes do not open: changed,
 * swapped or rolled back in the store.
 */
AECS_MUST_CHECK int svc_record_read(struct aecs_service *svc, const struct svc_index *ix,
                                    const char *path, const char *type, json_t **out);

/* What the audit log records of an action. */
struct svc_audit_event {
    const char *actor;  /* key id, or NULL */
    const char *role;   /* "cluster-admin", "service-admin", or NULL */
    const char *remote; /* client address, or NULL */
    const char *action; /* "init", "service.register", ... */
    const char *target; /* "service1", "service1/data_key_1", or NULL */
    const char *result; /* "ok" or "refused" */
    const char *detail; /* more words, or NULL; never key material */
    const json_t *data; /* structured details (claims, decisions), or NULL */
};

#define SVC_TXN_MAX_OPS (AECS_STORE_TXN_MAX_OPS - 4)

/* A write in progress: the index as read, the records to write, then one audit entry. */
struct svc_txn {
    struct svc_index ix;
    int grows; /* a put adds a path the index did not hold */
    struct aecs_store_op ops[AECS_STORE_TXN_MAX_OPS];
    uint8_t *bufs[AECS_STORE_TXN_MAX_OPS];
    char *keys[AECS_STORE_TXN_MAX_OPS];
    size_t op_count;
    struct aecs_store_compare cmps[4];
    size_t cmp_count;
};

/*
 * Starts a write (takes write_lock; svc_txn_end releases it, also on
 * failure). With allow_empty a store without an index starts from an empty
 * one (init only); otherwise that is AECS_E_INTERNAL.
 */
AECS_MUST_CHECK int svc_txn_begin(struct aecs_service *svc, struct svc_txn *t, int allow_empty);
/* Seals value at path with the next version (1 for a new record). */
AECS_MUST_CHECK int svc_txn_put(struct aecs_service *svc, struct svc_txn *t, const char *path,
                                const char *type, const json_t *value);
AECS_MUST_CHECK int svc_txn_delete(struct svc_txn *t, const char *path);
/* Writes text in clear at path, which must not exist yet (the init metadata). */
AECS_MUST_CHECK int svc_txn_create_clear(struct svc_txn *t, const char *path, const char *text);
/*
 * Writes everything in one store transaction together with the new index and
 * an audit entry for ev: all or nothing. AECS_E_MISMATCH when another writer
 * (a replica) changed the index first.
 */
AECS_MUST_CHECK int svc_txn_commit(struct aecs_service *svc, struct svc_txn *t,
                                   const struct svc_audit_event *ev);
/* Frees what the write holds and releases write_lock. */
void svc_txn_end(struct aecs_service *svc, struct svc_txn *t);

/* ---- the audit log (audit.c) ---- */

/*
 * Tries of one audit batch, or of one admin write, when other replicas write
 * first. Every write compares the audit head, so under a steady stream of
 * release decisions on other replicas an admin write may lose several times
 * in a row: 16 tries with random pauses (about 170 ms on average in all).
 */
#define SVC_AUDIT_TRIES 16
#define SVC_WRITE_TRIES 16
/* Sleeps 1..20 ms at random (between tries of a write another replica won). */
void svc_retry_backoff(void);

/* Most entries one audit transaction writes (group commit). */
#define SVC_AUDIT_BATCH_MAX 48

/*
 * Audit entries (and the new head) prepared for a store transaction: `count`
 * ops and as many compares (each entry's key must not exist; the head must be
 * at the version read).
 */
struct svc_audit_add {
    struct aecs_store_op ops[SVC_AUDIT_BATCH_MAX + 1];
    struct aecs_store_compare cmps[SVC_AUDIT_BATCH_MAX + 1];
    uint8_t *bufs[SVC_AUDIT_BATCH_MAX + 1];
    char *keys[SVC_AUDIT_BATCH_MAX + 1];
    size_t count;
    uint64_t seq;  /* the last entry's sequence number */
    char hash[65]; /* and its hash: the new head */
};
/* Prepares the entries of n (1..SVC_AUDIT_BATCH_MAX) events, chained in order. */
AECS_MUST_CHECK int svc_audit_prepare_many(struct aecs_service *svc,
                                           const struct svc_audit_event *const *evs, size_t n,
                                           uint64_t generation, struct svc_audit_add *add);
AECS_MUST_CHECK int svc_audit_prepare(struct aecs_service *svc, const struct svc_audit_event *ev,
                                      uint64_t generation, struct svc_audit_add *add);
void svc_audit_add_free(struct svc_audit_add *add);
/*
 * After a successful commit of add (the head's op last): remembers the head
 * (sequence number, hash, head_version = the store version the transaction
 * gave the head key), so the next prepare needs no store read. Prepare uses
 * the remembered head once: a commit that fails (another replica appended
 * first, or the outcome is unknown) leaves nothing remembered and the next
 * prepare reads the head from the store. Call with write_lock held.
 */
void svc_audit_committed(struct aecs_service *svc, const struct svc_audit_add *add,
                         uint64_t head_version);

/*
 * Appends ev alone (refusals, unseals, releases). Concurrent appends are
 * committed together, in one transaction (group commit); each caller returns
 * once its own entry is durable, with that transaction's result.
 */
AECS_MUST_CHECK int svc_audit_append(struct aecs_service *svc, const struct svc_audit_event *ev);

/*
 * Group commit with many requests under way: a request that will append an
 * entry soon (a release once its evidence verified) announces it, and then
 * appends with svc_audit_append_announced, or withdraws when it will not.
 * A batch's leader waits up to SVC_AUDIT_LINGER_US for announced entries, so
 * concurrent releases share one transaction (and one fsync) instead of
 * queueing one behind another. Nothing waits when nothing is announced.
 */
#define SVC_AUDIT_LINGER_US 2000
void svc_audit_announce(struct aecs_service *svc);
void svc_audit_withdraw(struct aecs_service *svc);
AECS_MUST_CHECK int svc_audit_append_announced(struct aecs_service *svc,
                                               const struct svc_audit_event *ev);
/* Initializes audit_cond on the monotonic clock (the linger's deadline). */
AECS_MUST_CHECK int svc_audit_cond_init(pthread_cond_t *cond);

/*
 * The audit log's text as read back (opened) from the store, exposed for
 * fuzz/service_store.c. The head's plaintext, at record version `version`:
 * {"hash": 64 characters, "seq": version}; AECS_E_FORMAT otherwise (*seq 0,
 * hash ""). An entry's text checked as entry seq following prev (the hex
 * hash of the entry before it, or 64 zeros): AECS_OK when it is a JSON
 * object whose "seq" is seq and whose "prev" is prev; AECS_E_BAD_SIGNATURE
 * with the reason in why otherwise.
 */
AECS_MUST_CHECK int svc_audit_head_parse(const uint8_t *plain, size_t size, uint64_t version,
                                         uint64_t *seq, char hash[65]);
AECS_MUST_CHECK int svc_audit_entry_check(const char *text, size_t size, uint64_t seq,
                                          const char *prev, char *why, size_t why_size);

#endif
