/*
 * unseal.c - unseal progress shared by the replicas of a cluster
 * (docs/design-service.md, "Unseal progress across replicas"; the formats in
 * docs/protocol-release.md section 6). Only with a store that several
 * processes share (svc->shared_nonces: etcd), a verifier and identity
 * evidence.
 *
 * Mailbox. A sealed replica makes a fresh P-256 key pair at start (the
 * private half lives only in this process's memory, inside OpenSSL, and is
 * freed once the replica works) and evidence from its attester whose report
 * data is aecs_unseal_binding(service id, replica id, public key), the replica
 * id being random per process. It publishes them in clear, with the share set
 * id and the time, at /meta/unseal/r/<replica id>, and rewrites the record
 * every MAILBOX_REFRESH_S while sealed.
 *
 * Forwarding. A share given to this replica (checked against its commitment
 * first, service.c) is sent to every other mailbox that is fresh, of the same
 * share set, whose evidence verifies with this replica's verifier, is bound
 * to that mailbox's id and key, and is the same enclave as this replica's own
 * identity evidence (svc_identity_diff: the default join policy; a join
 * policy set at init is sealed, so a sealed replica cannot read it). The
 * share goes at /meta/unseal/s/<recipient>/<index> in an envelope sealed to
 * the mailbox key and bound to the service id, the recipient, the set, the
 * index and the reset epoch (aecs_unseal_share_binding), so a ciphertext
 * moved to another recipient or index, or kept across a reset, does not open.
 * Verdicts on mailboxes are cached by replica id, key and store version, so
 * each mailbox's evidence is verified once. Failures are logged (ids and
 * indexes, never a share) and tried again at the next sync.
 *
 * Collecting. A sealed replica reads its box on unseal and status requests
 * and every second (aecsd's timer, aecs_service_unseal_poll): each envelope
 * is opened, its share checked like a share given directly (set, threshold,
 * index, commitment), deleted from the store, and added to the pending
 * shares through svc_pending_add, the code path of direct shares: once the
 * threshold is reached the replica unseals, then deletes its mailbox and box.
 *
 * Reset. A reset on any sealed replica, proven with one of the service's
 * shares (service.c), deletes every box, then bumps /meta/unseal/epoch; a
 * replica that sees a new epoch drops its pending shares, and envelopes of
 * an older epoch no longer open.
 *
 * Ordering, so that shares given to different replicas meet. A mailbox is
 * published before the replica serves (aecs_service_unseal_setup). A sync
 * reads this replica's box, then forwards its direct shares (listing the
 * mailboxes), then adds what it read. A replica that forwarded a share here
 * had published its mailbox before, so the listing sees it and this
 * replica's own shares reach it before this replica can become working and
 * wipe them. A replica whose mailbox appears after every other one is working
 * gets nothing from them: it joins (--join) or takes shares of its own.
 *
 * Every call here is made with state_lock held as a writer, except the
 * public entry points and the sweep, which touches only the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "attest/attester.h"
#include "attest/verifier.h"
#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "keystore/shares.h"
#include "policy/claims.h"
#include "proto/release.h"
#include "service/internal.h"

#define MAILBOX_FRESH_S 3600   /* an older mailbox gets nothing, and is swept */
#define MAILBOX_REFRESH_S 600  /* a sealed replica rewrites its mailbox this often */
#define REFUSED_RETRY_S 60     /* a refused mailbox is verified again after this */
#define SWEEP_INTERVAL_S 600   /* how often a replica sweeps stale mailboxes */
#define BOX_PAGE 64            /* forwarded shares read per sync */

enum peer_state { PEER_UNPARSED = 0, PEER_OTHER_SET, PEER_REFUSED, PEER_TRUSTED };

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_hex_id(const char *s)
{
    size_t n = strlen(s);

    if (n != AECS_UNSEAL_ID_HEX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* ---- the plaintext of a forwarded share ---- */

void svc_unseal_share_encode(const struct aecs_share *sh, uint8_t out[SVC_UNSEAL_SHARE_PLAIN_SIZE])
{
    out[0] = (uint8_t)sh->index;
    out[1] = (uint8_t)sh->threshold;
    memcpy(out + 2, sh->set, 8);
    memcpy(out + 10, sh->data, AECS_KEK_SIZE);
}

int svc_unseal_share_decode(const uint8_t *p, size_t size, struct aecs_share *out)
{
    memset(out, 0, sizeof(*out));
    ENSURE(size == SVC_UNSEAL_SHARE_PLAIN_SIZE, AECS_E_FORMAT,
           "the envelope holds %zu bytes, not a share's %d", size, SVC_UNSEAL_SHARE_PLAIN_SIZE);
    ENSURE(p[0] >= 1 && p[0] <= AECS_SHARES_MAX && p[1] >= AECS_SHARES_MIN_THRESHOLD &&
               p[1] <= AECS_SHARES_MAX,
           AECS_E_FORMAT, "the envelope's share has an impossible index or threshold");
    for (int i = 0; i < 8; i++)
        ENSURE((p[2 + i] >= '0' && p[2 + i] <= '9') || (p[2 + i] >= 'a' && p[2 + i] <= 'f'),
               AECS_E_FORMAT, "the envelope's share has a malformed set id");
    out->index = p[0];
    out->threshold = p[1];
    memcpy(out->set, p + 2, 8);
    out->set[8] = '\0';
    memcpy(out->data, p + 10, AECS_KEK_SIZE);
    return AECS_OK;
}

/* ---- store paths and the epoch ---- */

static void mailbox_path(const char *id, char out[64])
{
    snprintf(out, 64, SVC_UNSEAL_MAILBOXES "%.32s", id);
}

static void box_prefix(const char *id, char out[64])
{
    snprintf(out, 64, SVC_UNSEAL_BOXES "%.32s/", id);
}

int svc_unseal_epoch_parse(const uint8_t *data, size_t size, uint64_t *epoch)
{
    uint64_t e = 0;

    *epoch = 0;
    ENSURE(size >= 1 && size <= 19 && (data[0] != '0' || size == 1), AECS_E_FORMAT,
           "store: %s is not a decimal number", SVC_UNSEAL_EPOCH);
    for (size_t i = 0; i < size; i++) {
        ENSURE(data[i] >= '0' && data[i] <= '9', AECS_E_FORMAT, "store: %s is not a decimal number",
               SVC_UNSEAL_EPOCH);
        e = e * 10 + (uint64_t)(data[i] - '0');
    }
    *epoch = e;
    return AECS_OK;
}

/* The reset epoch (0 when none was ever made) and its store version (0: absent). */
static int epoch_read(struct aecs_service *svc, uint64_t *epoch, uint64_t *version)
{
    struct aecs_store_value v = {0};
    uint64_t e = 0;
    int rc;

    *epoch = 0;
    *version = 0;
    rc = aecs_store_get(svc->store, SVC_UNSEAL_EPOCH, &v);
    if (rc == AECS_E_NOT_FOUND) {
        aecs_err_clear();
        return AECS_OK;
    }
    GUARD(rc);
    rc = svc_unseal_epoch_parse(v.data, v.size, &e);
    *version = v.version;
    aecs_store_value_free(&v);
    GUARD(rc);
    *epoch = e;
    return AECS_OK;
}

/* Drops this replica's progress when another replica reset it. */
static int epoch_sync(struct aecs_service *svc)
{
    uint64_t epoch = 0, version = 0;

    GUARD(epoch_read(svc, &epoch, &version));
    if (epoch == svc->cu.epoch)
        return AECS_OK;
    if (svc->pending_count > 0)
        log_info("unseal: progress reset through another replica (epoch %llu): %zu shares "
                 "dropped", (unsigned long long)epoch, svc->pending_count);
    svc_pending_wipe(svc);
    svc->cu.epoch = epoch;
    return AECS_OK;
}

/* Deletes every key under prefix (each page listed, then deleted key by key). */
static int delete_prefix(struct aecs_service *svc, const char *prefix)
{
    struct aecs_store_list l = {0};
    int rc;

    for (int page = 0; page < 64; page++) {
        GUARD(aecs_store_list(svc->store, prefix, NULL, 0, 0, &l));
        for (size_t i = 0; i < l.count; i++) {
            rc = aecs_store_delete(svc->store, l.items[i].key, AECS_STORE_ANY);
            if (rc != AECS_OK && rc != AECS_E_NOT_FOUND) {
                aecs_store_list_free(&l);
                return rc;
            }
        }
        if (!l.more) {
            aecs_store_list_free(&l);
            return AECS_OK;
        }
        aecs_store_list_free(&l);
    }
    return AECS_ERR(AECS_E_IO, "store: %s keeps filling up", prefix);
}

/* ---- this replica's mailbox ---- */

/* A fresh mailbox key and evidence over its binding. */
static int mailbox_make(struct aecs_service *svc)
{
    int rc = AECS_OK;
    struct aecs_attester *att = NULL;
    struct aecs_p256_key *key = NULL;
    uint8_t report_data[AECS_RELEASE_REPORT_DATA_SIZE];
    uint8_t pub[AECS_P256_PUB_SIZE];
    uint8_t *evidence = NULL;
    size_t evidence_size = 0;
    enum aecs_evidence_kind kind = AECS_EVIDENCE_UNKNOWN;

    GUARD(aecs_p256_key_generate(&key));
    aecs_p256_key_public(key, pub);
    aecs_unseal_binding(svc->id, svc->cu.replica, pub, report_data);
    rc = aecs_attester_open(svc->identity_attester, svc->cu.attester_cfg, &att);
    if (rc == AECS_OK)
        rc = aecs_attester_evidence(att, report_data, &evidence, &evidence_size, &kind);
    aecs_attester_free(att);
    if (rc != AECS_OK) {
        aecs_p256_key_free(key);
        aecs_err_prefix("unseal mailbox: attester %s: ", svc->identity_attester);
        return rc;
    }
    aecs_p256_key_free(svc->cu.key);
    free(svc->cu.evidence);
    svc->cu.key = key;
    memcpy(svc->cu.pub, pub, sizeof(pub));
    svc->cu.evidence = evidence;
    svc->cu.evidence_size = evidence_size;
    return AECS_OK;
}

static int mailbox_publish(struct aecs_service *svc, int64_t now)
{
    struct aecs_unseal_mailbox m;
    char path[64], *text = NULL;
    size_t size = 0;
    int rc;

    memset(&m, 0, sizeof(m));
    memcpy(m.pubkey, svc->cu.pub, sizeof(m.pubkey));
    m.evidence = svc->cu.evidence;
    m.evidence_size = svc->cu.evidence_size;
    snprintf(m.set, sizeof(m.set), "%s", svc->share_set);
    m.time = now;
    GUARD(aecs_unseal_mailbox_serialize(&m, &text, &size));
    mailbox_path(svc->cu.replica, path);
    rc = aecs_store_put(svc->store, path, text, size, AECS_STORE_ANY, NULL);
    free(text);
    GUARD(rc);
    if (svc->cu.published == 0)
        log_info("unseal: mailbox of replica %s published: shares given to the other sealed "
                 "replicas are forwarded here", svc->cu.replica);
    svc->cu.published = now;
    return AECS_OK;
}

/* Deletes this replica's mailbox and box, and frees the key. */
static void mailbox_remove(struct aecs_service *svc, const char *why)
{
    char path[64];
    int rc;

    if (svc->cu.key == NULL)
        return;
    mailbox_path(svc->cu.replica, path);
    rc = aecs_store_delete(svc->store, path, AECS_STORE_ANY);
    if (rc != AECS_OK && rc != AECS_E_NOT_FOUND)
        log_warn("unseal: could not delete the mailbox %s: %s", path, aecs_err_last()->message);
    box_prefix(svc->cu.replica, path);
    if (delete_prefix(svc, path) != AECS_OK)
        log_warn("unseal: could not delete the forwarded shares under %s: %s", path,
                 aecs_err_last()->message);
    aecs_p256_key_free(svc->cu.key); /* wipes the private half */
    svc->cu.key = NULL;
    free(svc->cu.evidence);
    svc->cu.evidence = NULL;
    svc->cu.evidence_size = 0;
    svc->cu.published = 0;
    log_info("unseal: mailbox of replica %s removed (%s)", svc->cu.replica, why);
}

/* ---- other replicas' mailboxes ---- */

/* This replica's own identity claims: the policy a mailbox must match. */
static int own_claims(struct aecs_service *svc)
{
    struct aecs_verify_failure why;
    struct aecs_claims *own;
    int rc;

    if (svc->cu.own != NULL)
        return AECS_OK;
    own = calloc(1, sizeof(*own));
    ENSURE(own != NULL, AECS_E_NO_MEMORY, "out of memory");
    rc = aecs_verifier_verify(svc->verifier, svc->identity_evidence, svc->identity_evidence_size,
                              AECS_VERIFIER_NOW, own, &why);
    if (rc != AECS_OK) {
        free(own);
        return AECS_ERR(rc, "this replica's own identity evidence does not verify with its "
                            "verifier (stage %s): %.300s",
                        why.stage != NULL ? why.stage : "?", why.message);
    }
    svc->cu.own = own;
    return AECS_OK;
}

static struct svc_unseal_peer *peer_find(struct aecs_service *svc, const char *id)
{
    for (size_t i = 0; i < svc->cu.peer_count; i++) {
        if (strcmp(svc->cu.peers[i].id, id) == 0)
            return &svc->cu.peers[i];
    }
    return NULL;
}

/* A zeroed entry for id: a free one, else the oldest made. */
static struct svc_unseal_peer *peer_new(struct aecs_service *svc, const char *id)
{
    struct svc_unseal_peer *p;

    if (svc->cu.peer_count < SVC_UNSEAL_PEERS_MAX) {
        p = &svc->cu.peers[svc->cu.peer_count++];
    } else {
        p = &svc->cu.peers[svc->cu.peer_next];
        svc->cu.peer_next = (svc->cu.peer_next + 1) % SVC_UNSEAL_PEERS_MAX;
    }
    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    return p;
}

/*
 * Verifies a mailbox's evidence: it verifies, it binds the mailbox's id and
 * key, and it is this replica's enclave. why gets the reason of a refusal.
 */
static int mailbox_verify(struct aecs_service *svc, const char *id,
                          const struct aecs_unseal_mailbox *m, char *why, size_t why_size)
{
    struct aecs_claims claims;
    struct aecs_verify_failure vf;
    const char *diff;
    int rc;

    rc = own_claims(svc);
    if (rc != AECS_OK) {
        snprintf(why, why_size, "%s", aecs_err_last()->message);
        return rc;
    }
    rc = aecs_verifier_verify(svc->verifier, m->evidence, m->evidence_size, AECS_VERIFIER_NOW,
                              &claims, &vf);
    if (rc != AECS_OK) {
        snprintf(why, why_size, "its evidence does not verify (stage %s, %s): %.300s",
                 vf.stage != NULL ? vf.stage : "?", vf.code_name != NULL ? vf.code_name : "?",
                 vf.message);
        return AECS_E_UNTRUSTED;
    }
    rc = AECS_E_UNTRUSTED;
    if (aecs_unseal_binding_check(claims.report_data, svc->id, id, m->pubkey) != AECS_OK)
        snprintf(why, why_size, "its evidence is not bound to its replica id and key "
                                "(report data)");
    else if ((diff = svc_identity_diff(svc->cu.own, &claims)) != NULL)
        snprintf(why, why_size, "its evidence is not the enclave this replica is: %s", diff);
    else
        rc = AECS_OK;
    aecs_err_clear();
    aecs_cleanse(&claims, sizeof(claims));
    return rc;
}

/*
 * The entry of the mailbox at it (id: its replica id), brought up to date:
 * parsed and verified when this version was not seen yet. NULL when out of
 * memory or the table is unusable; refusals are logged once per version.
 */
static struct svc_unseal_peer *peer_update(struct aecs_service *svc,
                                           const struct aecs_store_item *it, const char *id,
                                           int64_t now)
{
    struct svc_unseal_peer *p = peer_find(svc, id);
    struct aecs_unseal_mailbox *m = NULL;
    char why[512];

    if (p != NULL && p->version == it->version &&
        (p->state != PEER_REFUSED || now < p->retry_at))
        return p;
    if (aecs_unseal_mailbox_parse((const char *)it->value, it->value_size, &m) != AECS_OK) {
        if (p == NULL || p->version != it->version)
            log_warn("unseal: the mailbox of replica %.32s does not parse: %s", id,
                     aecs_err_last()->message);
        if (p == NULL)
            p = peer_new(svc, id);
        p->state = PEER_UNPARSED;
        p->version = it->version;
        return p;
    }
    if (p != NULL && p->state == PEER_TRUSTED && memcmp(p->pub, m->pubkey, sizeof(p->pub)) == 0 &&
        strcmp(m->set, svc->share_set) == 0) {
        /* the same key rewritten (a refresh): the verdict stands */
        p->version = it->version;
        p->time = m->time;
        aecs_unseal_mailbox_free(m);
        return p;
    }
    if (p == NULL || memcmp(p->pub, m->pubkey, sizeof(p->pub)) != 0) {
        if (p == NULL)
            p = peer_new(svc, id);
        memcpy(p->pub, m->pubkey, sizeof(p->pub));
        p->sent = 0;
    }
    p->version = it->version;
    p->time = m->time;
    if (strcmp(m->set, svc->share_set) != 0) {
        log_debug("unseal: the mailbox of replica %.32s is for another share set", id);
        p->state = PEER_OTHER_SET;
    } else if (mailbox_verify(svc, id, m, why, sizeof(why)) != AECS_OK) {
        if (p->state != PEER_REFUSED)
            log_warn("unseal: not forwarding shares to replica %.32s: %s", id, why);
        p->state = PEER_REFUSED;
        p->retry_at = now + REFUSED_RETRY_S;
    } else {
        log_info("unseal: replica %.32s is sealed and the same enclave: shares given here are "
                 "forwarded to it", id);
        p->state = PEER_TRUSTED;
    }
    aecs_unseal_mailbox_free(m);
    return p;
}

/* Seals share to p's mailbox key and writes it in p's box. */
static int forward_one(struct aecs_service *svc, const struct svc_unseal_peer *p,
                       const struct aecs_share *share)
{
    int rc = AECS_OK;
    struct aecs_unseal_share_binding sb;
    struct aecs_p256_pub *to = NULL;
    struct aecs_envelope env;
    uint8_t plain[SVC_UNSEAL_SHARE_PLAIN_SIZE];
    char path[80], *text = NULL;
    size_t size = 0;

    memset(&env, 0, sizeof(env));
    GUARD(aecs_unseal_share_binding(svc->id, p->id, svc->share_set, share->index, svc->cu.epoch,
                                    &sb));
    GUARD(aecs_p256_pub_import(p->pub, sizeof(p->pub), &to));
    svc_unseal_share_encode(share, plain);
    rc = aecs_envelope_seal(to, &sb.b, plain, sizeof(plain), &env);
    aecs_cleanse(plain, sizeof(plain));
    GUARD_OUT(rc);
    GUARD_OUT(aecs_unseal_box_serialize(svc->cu.replica, &env, &text, &size));
    snprintf(path, sizeof(path), SVC_UNSEAL_BOXES "%.32s/%u", p->id, share->index);
    GUARD_OUT(aecs_store_put(svc->store, path, text, size, AECS_STORE_ANY, NULL));
out:
    free(text);
    aecs_envelope_clear(&env);
    aecs_p256_pub_free(to);
    return rc;
}

void svc_unseal_forward(struct aecs_service *svc)
{
    struct aecs_store_list l = {0};
    char after[AECS_STORE_KEY_MAX + 1] = "";
    int64_t now = aecs_time_now();
    int more = 1;

    if (!svc->cu.enabled || svc->state != AECS_STATE_SEALED || svc->cu.direct == 0)
        return;
    if (own_claims(svc) != AECS_OK) {
        log_warn("unseal: shares given here are not forwarded: %s", aecs_err_last()->message);
        return;
    }
    for (int page = 0; more && page < 64; page++) {
        if (aecs_store_list(svc->store, SVC_UNSEAL_MAILBOXES, after[0] != '\0' ? after : NULL, 0,
                            AECS_STORE_LIST_VALUES, &l) != AECS_OK) {
            log_warn("unseal: cannot list the mailboxes to forward shares to: %s",
                     aecs_err_last()->message);
            return;
        }
        for (size_t i = 0; i < l.count; i++) {
            const char *id = l.items[i].key + strlen(SVC_UNSEAL_MAILBOXES);
            struct svc_unseal_peer *p;

            if (!is_hex_id(id) || strcmp(id, svc->cu.replica) == 0)
                continue;
            p = peer_update(svc, &l.items[i], id, now);
            if (p == NULL || p->state != PEER_TRUSTED || p->time < now - MAILBOX_FRESH_S)
                continue;
            for (size_t k = 0; k < svc->pending_count; k++) {
                const struct aecs_share *sh = &svc->pending[k];
                uint32_t bit = 1u << sh->index;
                if (!(svc->cu.direct & bit) || (p->sent & bit))
                    continue;
                if (forward_one(svc, p, sh) != AECS_OK) {
                    log_warn("unseal: could not forward share %u to replica %.32s: %s",
                             sh->index, id, aecs_err_last()->message);
                    continue;
                }
                p->sent |= bit;
                log_info("unseal: share %u forwarded to replica %.32s", sh->index, id);
            }
        }
        more = l.more;
        if (l.count > 0)
            snprintf(after, sizeof(after), "%s", l.items[l.count - 1].key);
        aecs_store_list_free(&l);
    }
}

/* ---- collecting ---- */

/* "1".."16" (no sign, no leading zero) into *index. */
int svc_unseal_box_index(const char *s, unsigned *index)
{
    unsigned v = 0;
    size_t n = strlen(s);

    if (n < 1 || n > 2 || s[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v < 1 || v > AECS_SHARES_MAX)
        return 0;
    *index = v;
    return 1;
}

/* Takes one forwarded share out of the box: refused ones are logged; either way it is deleted. */
static void box_take(struct aecs_service *svc, const struct aecs_store_item *it)
{
    struct aecs_unseal_share_binding sb;
    struct aecs_envelope env;
    struct aecs_share share;
    enum aecs_api_code api = API_OK;
    char from[AECS_UNSEAL_ID_HEX + 1] = "", why[512] = "";
    const char *rest = it->key + strlen(SVC_UNSEAL_BOXES) + AECS_UNSEAL_ID_HEX + 1;
    uint8_t *plain = NULL;
    size_t plain_size = 0;
    unsigned index = 0;
    int rc, ok = 0;

    memset(&env, 0, sizeof(env));
    memset(&share, 0, sizeof(share));
    if (!svc_unseal_box_index(rest, &index)) {
        snprintf(why, sizeof(why), "not a share index");
    } else if (aecs_unseal_box_parse((const char *)it->value, it->value_size, from, &env) !=
               AECS_OK) {
        snprintf(why, sizeof(why), "%s", aecs_err_last()->message);
    } else if (aecs_unseal_share_binding(svc->id, svc->cu.replica, svc->share_set, index,
                                         svc->cu.epoch, &sb) != AECS_OK ||
               aecs_envelope_open(svc->cu.key, &sb.b, &env, &plain, &plain_size) != AECS_OK) {
        snprintf(why, sizeof(why), "the envelope does not open with this replica's mailbox key "
                                   "for this replica, share index %u and reset epoch %llu (sent "
                                   "to another replica or index, from before a reset, or "
                                   "changed)", index, (unsigned long long)svc->cu.epoch);
    } else if (svc_unseal_share_decode(plain, plain_size, &share) != AECS_OK) {
        snprintf(why, sizeof(why), "%s", aecs_err_last()->message);
    } else if (share.index != index) {
        snprintf(why, sizeof(why), "it holds share %u, not share %u", share.index, index);
    } else if (svc_share_check(svc, &share, &api) != AECS_OK) {
        snprintf(why, sizeof(why), "%s", aecs_err_last()->message);
    } else {
        ok = 1;
    }
    aecs_envelope_plain_free(plain, plain_size);
    aecs_envelope_clear(&env);
    rc = aecs_store_delete(svc->store, it->key, it->version);
    if (rc != AECS_OK && rc != AECS_E_NOT_FOUND && rc != AECS_E_MISMATCH)
        log_warn("unseal: could not delete %.200s: %s", it->key, aecs_err_last()->message);
    if (!ok) {
        log_warn("unseal: refused the share forwarded at %.200s (from replica %.32s): %s",
                 it->key, from[0] != '\0' ? from : "?", why);
    } else if (svc_pending_has(svc, share.index)) {
        log_debug("unseal: share %u forwarded by replica %.32s is already in", share.index, from);
    } else {
        log_info("unseal: share %u collected (forwarded by replica %.32s)", share.index, from);
        if (svc_pending_add(svc, &share, 0, NULL, &api) != AECS_OK)
            log_warn("unseal: share %u forwarded by replica %.32s was dropped: %s", share.index,
                     from, aecs_err_last()->message);
    }
    aecs_cleanse(&share, sizeof(share));
}

void svc_unseal_sync(struct aecs_service *svc)
{
    struct aecs_store_list box = {0};
    int64_t now = aecs_time_now();
    char prefix[64];
    int have_box = 0;

    if (!svc->cu.enabled || svc->state != AECS_STATE_SEALED)
        return;
    __atomic_store_n(&svc->cu.last_sync_ms, mono_ms(), __ATOMIC_RELAXED);
    if (svc->cu.key != NULL && now - svc->cu.published >= MAILBOX_REFRESH_S &&
        mailbox_publish(svc, now) != AECS_OK)
        log_warn("unseal: cannot publish this replica's mailbox: %s", aecs_err_last()->message);
    if (epoch_sync(svc) != AECS_OK) {
        log_warn("unseal: cannot read the reset epoch: %s", aecs_err_last()->message);
        return;
    }
    if (svc->cu.key != NULL) {
        box_prefix(svc->cu.replica, prefix);
        if (aecs_store_list(svc->store, prefix, NULL, BOX_PAGE, AECS_STORE_LIST_VALUES, &box) ==
            AECS_OK)
            have_box = 1;
        else
            log_warn("unseal: cannot read the shares forwarded to this replica: %s",
                     aecs_err_last()->message);
    }
    svc_unseal_forward(svc); /* before adding: see the top of this file */
    for (size_t i = 0; have_box && i < box.count && svc->state == AECS_STATE_SEALED; i++)
        box_take(svc, &box.items[i]);
    aecs_store_list_free(&box);
}

void svc_unseal_sync_throttled(struct aecs_service *svc)
{
    /*
     * Status is unauthenticated and not rate-limited: it never waits for the
     * state lock (a sync under way, or the poll's, does the work) and syncs at
     * most every SVC_UNSEAL_STATUS_SYNC_MS.
     */
    if (!svc->cu.enabled || aecs_service_state(svc) != AECS_STATE_SEALED ||
        mono_ms() - __atomic_load_n(&svc->cu.last_sync_ms, __ATOMIC_RELAXED) <
            SVC_UNSEAL_STATUS_SYNC_MS)
        return;
    if (pthread_rwlock_trywrlock(&svc->state_lock) != 0)
        return;
    if (mono_ms() - svc->cu.last_sync_ms >= SVC_UNSEAL_STATUS_SYNC_MS)
        svc_unseal_sync(svc);
    pthread_rwlock_unlock(&svc->state_lock);
}

/* ---- reset, done, free ---- */

int svc_unseal_reset(struct aecs_service *svc)
{
    uint64_t epoch = 0, version = 0;
    char text[24];
    int rc = AECS_OK;

    /* The boxes first: an envelope written after this is of the old epoch and will not open. */
    rc = delete_prefix(svc, SVC_UNSEAL_BOXES);
    for (int attempt = 0; rc == AECS_OK && attempt < SVC_WRITE_TRIES; attempt++) {
        rc = epoch_read(svc, &epoch, &version);
        if (rc != AECS_OK)
            break;
        snprintf(text, sizeof(text), "%llu", (unsigned long long)(epoch + 1));
        rc = aecs_store_put(svc->store, SVC_UNSEAL_EPOCH, text, strlen(text), version, NULL);
        if (rc != AECS_E_MISMATCH)
            break;
        svc_retry_backoff();
    }
    if (rc != AECS_OK) {
        aecs_err_prefix("unseal reset: this replica's progress is dropped, the other replicas' "
                        "may not be: ");
        return rc;
    }
    svc_pending_wipe(svc);
    svc->cu.epoch = epoch + 1;
    log_info("unseal: progress reset on every replica (epoch %llu)",
             (unsigned long long)svc->cu.epoch);
    return AECS_OK;
}

void svc_unseal_done(struct aecs_service *svc)
{
    mailbox_remove(svc, "working");
}

void svc_unseal_free(struct aecs_service *svc)
{
    if (svc->store != NULL && svc->state == AECS_STATE_SEALED)
        mailbox_remove(svc, "stopping sealed");
    aecs_p256_key_free(svc->cu.key);
    svc->cu.key = NULL;
    free(svc->cu.evidence);
    svc->cu.evidence = NULL;
    if (svc->cu.own != NULL) {
        aecs_cleanse(svc->cu.own, sizeof(*svc->cu.own));
        free(svc->cu.own);
        svc->cu.own = NULL;
    }
}

/* ---- sweeping what replicas that died sealed left ---- */

/*
 * Deletes mailboxes older than MAILBOX_FRESH_S (each at the version read, so
 * a refresh meanwhile wins) and boxes whose mailbox is gone. The boxes are
 * listed first: a box seen then had its mailbox published before, so a
 * mailbox missing from the later listing is really gone.
 */
static void sweep(struct aecs_service *svc, int64_t now)
{
    struct aecs_store_list boxes = {0}, l = {0};
    json_t *live = json_object();
    char after[AECS_STORE_KEY_MAX + 1] = "";
    int more = 1;

    if (live == NULL)
        return;
    /* one page of boxes: what is left is swept next time */
    if (aecs_store_list(svc->store, SVC_UNSEAL_BOXES, NULL, 0, 0, &boxes) != AECS_OK)
        goto out;
    for (int page = 0; more && page < 64; page++) {
        if (aecs_store_list(svc->store, SVC_UNSEAL_MAILBOXES, after[0] != '\0' ? after : NULL, 0,
                            AECS_STORE_LIST_VALUES, &l) != AECS_OK)
            goto out;
        for (size_t i = 0; i < l.count; i++) {
            const char *id = l.items[i].key + strlen(SVC_UNSEAL_MAILBOXES);
            struct aecs_unseal_mailbox *m = NULL;
            int stale = 0;

            if (aecs_unseal_mailbox_parse((const char *)l.items[i].value, l.items[i].value_size,
                                          &m) == AECS_OK)
                stale = m->time < now - MAILBOX_FRESH_S && strcmp(id, svc->cu.replica) != 0;
            aecs_unseal_mailbox_free(m);
            if (!stale) {
                json_object_set_new(live, id, json_true());
                continue;
            }
            if (aecs_store_delete(svc->store, l.items[i].key, l.items[i].version) == AECS_OK)
                log_info("unseal: deleted the stale mailbox of replica %.32s (a replica that "
                         "stopped sealed)", id);
        }
        more = l.more;
        if (l.count > 0)
            snprintf(after, sizeof(after), "%s", l.items[l.count - 1].key);
        aecs_store_list_free(&l);
    }
    for (size_t i = 0; i < boxes.count; i++) {
        char id[AECS_UNSEAL_ID_HEX + 1];
        snprintf(id, sizeof(id), "%s", boxes.items[i].key + strlen(SVC_UNSEAL_BOXES));
        if (json_object_get(live, id) != NULL || strcmp(id, svc->cu.replica) == 0)
            continue;
        if (aecs_store_delete(svc->store, boxes.items[i].key, boxes.items[i].version) == AECS_OK)
            log_debug("unseal: deleted %.200s (its mailbox is gone)", boxes.items[i].key);
    }
out:
    aecs_err_clear();
    aecs_store_list_free(&l);
    aecs_store_list_free(&boxes);
    json_decref(live);
}

/* ---- entry points ---- */

int aecs_service_unseal_setup(struct aecs_service *svc,
                              const struct aecs_attester_config *attester_cfg)
{
    int rc = AECS_OK;
    uint8_t raw[16];
    uint64_t version = 0;

    if (!svc->shared_nonces || svc->cu.enabled)
        return AECS_OK; /* one process on its store: nothing to share */
    if (svc->verifier == NULL || svc->identity_evidence == NULL ||
        svc->identity_attester == NULL) {
        log_warn("unseal: progress is not shared with the other replicas: this replica has no "
                 "verifier or no identity evidence (started without an attester); shares given "
                 "to it stay with it");
        return AECS_OK;
    }
    pthread_rwlock_wrlock(&svc->state_lock);
    if (svc->state == AECS_STATE_SEALED && (!svc->has_commitments || svc->share_set[0] == '\0')) {
        log_warn("unseal: progress is not shared with the other replicas: the store was "
                 "initialized by an older aecs (no share set id or commitments)");
        goto out;
    }
    GUARD_OUT(aecs_random_bytes(raw, sizeof(raw)));
    aecs_hex_encode(raw, sizeof(raw), svc->cu.replica);
    svc->cu.attester_cfg = attester_cfg;
    GUARD_OUT(epoch_read(svc, &svc->cu.epoch, &version));
    if (svc->state == AECS_STATE_SEALED) {
        GUARD_OUT(mailbox_make(svc));
        if (mailbox_publish(svc, aecs_time_now()) != AECS_OK)
            log_warn("unseal: cannot publish this replica's mailbox yet (tried again every "
                     "second): %s", aecs_err_last()->message);
    }
    svc->cu.enabled = 1;
    log_info("unseal: progress is shared with the other replicas (replica id %s)",
             svc->cu.replica);
out:
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

void aecs_service_unseal_poll(struct aecs_service *svc)
{
    int64_t now = aecs_time_now();

    if (!svc->cu.enabled)
        return;
    if (now - svc->cu.last_sweep >= SWEEP_INTERVAL_S) {
        svc->cu.last_sweep = now;
        sweep(svc, now);
    }
    if (aecs_service_state(svc) != AECS_STATE_SEALED)
        return;
    pthread_rwlock_wrlock(&svc->state_lock);
    svc_unseal_sync(svc);
    pthread_rwlock_unlock(&svc->state_lock);
}
