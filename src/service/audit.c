/*
 * audit.c - the hash-chained audit log.
 *
 * Entry n is a sealed record at /audit/<n, 20 digits> (type "audit", version
 * 1, written once: its transaction requires that the key does not exist). Its
 * plaintext is a compact JSON object with sorted keys:
 *
 *   {"action", "actor", "data"?, "detail", "generation", "prev", "remote",
 *    "result", "role", "seq", "target", "time"}
 *
 * where prev is the hex SHA-256 of entry n-1's plaintext bytes (64 zeros for
 * entry 1). The head, /k/audit-head (type "audit-head", version n), holds n
 * and the hash of entry n. Entries are written in the same store transaction
 * as the change they describe, so an action is never stored without its
 * entry. Verification walks 1..n: an entry that does not open (changed in
 * the store), a sequence number out of place, a prev that is not the hash of
 * the entry before, or a head that does not match the last entry, names the
 * first broken entry. Sealing means nobody without the root key can rewrite
 * the chain, and every entry is also written to the process log.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "keystore/record.h"
#include "service/internal.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

static void entry_path(uint64_t seq, char out[40])
{
    snprintf(out, 40, SVC_AUDIT "%020" PRIu64, seq);
}

struct audit_head {
    uint64_t seq;
    char hash[65];
    uint64_t store_version;
};

int svc_audit_head_parse(const uint8_t *plain, size_t size, uint64_t version, uint64_t *seq,
                         char hash[65])
{
    json_t *j = json_loadb((const char *)plain, size, 0, NULL);
    json_int_t n = json_integer_value(json_object_get(j, "seq"));
    const char *h = json_string_value(json_object_get(j, "hash"));
    int ok = j != NULL && n >= 1 && (uint64_t)n == version && h != NULL && strlen(h) == 64;

    *seq = 0;
    hash[0] = '\0';
    if (ok) {
        *seq = (uint64_t)n;
        memcpy(hash, h, 65);
    }
    json_decref(j);
    ENSURE(ok, AECS_E_FORMAT, "audit: the head is malformed");
    return AECS_OK;
}

static int head_load(struct aecs_service *svc, struct audit_head *h)
{
    int rc = AECS_OK;
    struct aecs_store_value v = {0};
    uint8_t *plain = NULL;
    size_t plain_size = 0;
    uint64_t version = 0, seq = 0;
    char hash[65];
    /* Read before the store, as in svc_index_load: a later append is no rollback. */
    uint64_t seen = __atomic_load_n(&svc->max_audit_seq, __ATOMIC_SEQ_CST);

    memset(h, 0, sizeof(*h));
    rc = aecs_store_get(svc->store, SVC_AUDIT_HEAD, &v);
    if (rc == AECS_E_NOT_FOUND) {
        aecs_err_clear();
        ENSURE(seen == 0, AECS_E_BAD_SIGNATURE,
               "audit: the head is missing (the store was rolled back or damaged)");
        memcpy(h->hash, ZERO_HASH, 65);
        return AECS_OK;
    }
    GUARD(rc);
    GUARD_OUT(aecs_record_peek_version(v.data, v.size, &version));
    rc = aecs_record_open(svc->kek, SVC_AUDIT_HEAD, SVC_T_HEAD, version, v.data, v.size, &plain,
                          &plain_size);
    if (rc != AECS_OK) {
        log_error("audit: the head does not open: %s", aecs_err_last()->message);
        goto out;
    }
    GUARD_OUT(svc_audit_head_parse(plain, plain_size, version, &seq, hash));
    ENSURE_OUT(seq >= seen, AECS_E_BAD_SIGNATURE,
               "audit: the head is at entry %" PRIu64 ", before entry %" PRIu64
               " seen earlier (rolled back)",
               seq, seen);
    h->seq = seq;
    memcpy(h->hash, hash, 65);
    h->store_version = v.version;
out:
    aecs_record_value_free(plain, plain_size);
    aecs_store_value_free(&v);
    return rc;
}

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static int seal_text(struct aecs_service *svc, const char *path, const char *type,
                     uint64_t version, const char *text, uint8_t **out, size_t *out_size)
{
    return aecs_record_seal(svc->kek, path, type, version, (const uint8_t *)text, strlen(text),
                            out, out_size);
}

void svc_audit_add_free(struct svc_audit_add *add)
{
    for (size_t i = 0; i < SVC_AUDIT_BATCH_MAX + 1; i++) {
        free(add->bufs[i]);
        free(add->keys[i]);
    }
    memset(add, 0, sizeof(*add));
}

/* The entry's text (compact JSON, sorted keys: the hashed bytes) and its hash. */
static int entry_text(const struct svc_audit_event *ev, uint64_t seq, uint64_t generation,
                      const char *now, const char *prev, char **text, char hash_hex[65])
{
    json_t *entry;
    uint8_t hash[32];

    *text = NULL;
    entry = json_pack("{s:I, s:s, s:I, s:o, s:o, s:o, s:s, s:o, s:s, s:o, s:s}", "seq",
                      (json_int_t)seq, "time", now, "generation", (json_int_t)generation,
                      "actor", str_or_null(ev->actor), "role", str_or_null(ev->role), "remote",
                      str_or_null(ev->remote), "action", ev->action, "target",
                      str_or_null(ev->target), "result", ev->result, "detail",
                      str_or_null(ev->detail), "prev", prev);
    ENSURE(entry != NULL, AECS_E_NO_MEMORY, "audit: out of memory");
    if (ev->data != NULL) /* shared, not copied: the caller waits, and nobody changes it */
        json_object_set(entry, "data", (json_t *)ev->data);
    *text = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(entry);
    ENSURE(*text != NULL, AECS_E_NO_MEMORY, "audit: out of memory");
    aecs_sha256(*text, strlen(*text), hash);
    aecs_hex_encode(hash, sizeof(hash), hash_hex);
    return AECS_OK;
}

int svc_audit_prepare_many(struct aecs_service *svc, const struct svc_audit_event *const *evs,
                           size_t n, uint64_t generation, struct svc_audit_add *add)
{
    int rc = AECS_OK;
    struct audit_head h;
    json_t *head = NULL;
    char *text = NULL, *head_text = NULL;
    char path[40], now[32], hash_hex[65];
    size_t size = 0;

    memset(add, 0, sizeof(*add));
    ENSURE(n >= 1 && n <= SVC_AUDIT_BATCH_MAX, AECS_E_INTERNAL, "audit: bad batch size");
    if (svc->head_known) { /* this process wrote the head last: no store read */
        h.seq = svc->head_seq;
        memcpy(h.hash, svc->head_hash, sizeof(h.hash));
        h.store_version = svc->head_version;
        svc->head_known = 0; /* used once: a commit that fails does not restore it */
    } else {
        GUARD(head_load(svc, &h));
    }
    aecs_time_format(aecs_time_now(), now);
    memcpy(hash_hex, h.hash, sizeof(hash_hex));
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = h.seq + 1 + i;
        GUARD_OUT(entry_text(evs[i], seq, generation, now, hash_hex, &text, hash_hex));
        entry_path(seq, path);
        add->keys[i] = strdup(path);
        ENSURE_OUT(add->keys[i] != NULL, AECS_E_NO_MEMORY, "audit: out of memory");
        GUARD_OUT(seal_text(svc, path, SVC_T_AUDIT, 1, text, &add->bufs[i], &size));
        add->ops[i] = (struct aecs_store_op){AECS_STORE_OP_PUT, add->keys[i], add->bufs[i], size};
        add->cmps[i] = (struct aecs_store_compare){add->keys[i], 0};
        log_info("audit: %s", text);
        free(text);
        text = NULL;
    }
    add->seq = h.seq + n;
    memcpy(add->hash, hash_hex, sizeof(add->hash));
    head = json_pack("{s:I, s:s}", "seq", (json_int_t)add->seq, "hash", hash_hex);
    ENSURE_OUT(head != NULL, AECS_E_NO_MEMORY, "audit: out of memory");
    head_text = json_dumps(head, JSON_COMPACT | JSON_SORT_KEYS);
    ENSURE_OUT(head_text != NULL, AECS_E_NO_MEMORY, "audit: out of memory");
    add->keys[n] = strdup(SVC_AUDIT_HEAD);
    ENSURE_OUT(add->keys[n] != NULL, AECS_E_NO_MEMORY, "audit: out of memory");
    GUARD_OUT(seal_text(svc, SVC_AUDIT_HEAD, SVC_T_HEAD, add->seq, head_text, &add->bufs[n],
                        &size));
    add->ops[n] = (struct aecs_store_op){AECS_STORE_OP_PUT, add->keys[n], add->bufs[n], size};
    add->cmps[n] = (struct aecs_store_compare){add->keys[n], h.store_version};
    add->count = n + 1;
out:
    free(text);
    free(head_text);
    json_decref(head);
    if (rc != AECS_OK)
        svc_audit_add_free(add);
    return rc;
}

int svc_audit_prepare(struct aecs_service *svc, const struct svc_audit_event *ev,
                      uint64_t generation, struct svc_audit_add *add)
{
    return svc_audit_prepare_many(svc, &ev, 1, generation, add);
}

void svc_audit_committed(struct aecs_service *svc, const struct svc_audit_add *add,
                         uint64_t head_version)
{
    uint64_t seen = __atomic_load_n(&svc->max_audit_seq, __ATOMIC_SEQ_CST);

    while (add->seq > seen &&
           !__atomic_compare_exchange_n(&svc->max_audit_seq, &seen, add->seq, 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    svc->head_seq = add->seq;
    memcpy(svc->head_hash, add->hash, sizeof(svc->head_hash));
    svc->head_version = head_version;
    svc->head_known = 1;
}

/* One caller of svc_audit_append waiting for its entry to be committed. */
struct svc_audit_waiter {
    const struct svc_audit_event *ev;
    struct svc_audit_waiter *next;
    pthread_cond_t cond; /* signalled when done, or when this caller is to lead */
    int done;
    int rc;
    char message[512];
};

/* Sleeps 1..20 ms, at random: replicas that raced for the head do not race again in step. */
void svc_retry_backoff(void)
{
    uint8_t r = 0;
    struct timespec ts;

    if (aecs_random_bytes(&r, 1) != AECS_OK)
        r = 7;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(1 + r % 20) * 1000000L;
    nanosleep(&ts, NULL);
}

/*
 * Commits a batch of queued entries in one transaction (write_lock held
 * inside). When another replica appended to the log first (the head or an
 * entry key is not where it was read: AECS_E_MISMATCH), the head is read
 * again and the batch chained after the other replica's entries, up to
 * SVC_AUDIT_TRIES times, with a short random pause in between, the lock
 * released. A try that chained after the head this process remembered, and
 * lost, is tried again at once (the head is read from the store then): with
 * several replicas the remembered head is often stale, and that is no race
 * worth backing off from.
 */
static int commit_batch(struct aecs_service *svc, struct svc_audit_waiter **batch, size_t n)
{
    const struct svc_audit_event *evs[SVC_AUDIT_BATCH_MAX];
    struct svc_audit_add *add = malloc(sizeof(*add));
    uint64_t versions[SVC_AUDIT_BATCH_MAX + 1];
    int rc = AECS_OK;

    ENSURE(add != NULL, AECS_E_NO_MEMORY, "audit: out of memory");
    for (size_t i = 0; i < n; i++)
        evs[i] = batch[i]->ev;
    for (int attempt = 1, remembered = 0; attempt <= SVC_AUDIT_TRIES; attempt++) {
        if (attempt > 1 && !remembered)
            svc_retry_backoff();
        pthread_mutex_lock(&svc->write_lock);
        remembered = svc->head_known;
        rc = svc_audit_prepare_many(svc, evs, n,
                                    __atomic_load_n(&svc->max_generation, __ATOMIC_SEQ_CST), add);
        if (rc == AECS_OK) {
            rc = aecs_store_txn(svc->store, add->cmps, add->count, add->ops, add->count,
                                versions);
            if (rc == AECS_OK)
                svc_audit_committed(svc, add, versions[add->count - 1]);
            svc_audit_add_free(add);
        }
        pthread_mutex_unlock(&svc->write_lock);
        if (rc != AECS_E_MISMATCH)
            break;
        log_debug("audit: another replica appended first (try %d of %d): %s", attempt,
                  SVC_AUDIT_TRIES, aecs_err_last()->message);
    }
    if (rc == AECS_E_MISMATCH)
        rc = AECS_ERR(AECS_E_MISMATCH, "audit: other writers appended first %d times in a row",
                      SVC_AUDIT_TRIES);
    free(add);
    return rc;
}

int svc_audit_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int err;

    if (pthread_condattr_init(&attr) != 0)
        return AECS_ERR(AECS_E_NO_MEMORY, "audit: pthread_condattr_init failed");
    err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (err == 0)
        err = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    ENSURE(err == 0, AECS_E_NO_MEMORY, "audit: pthread_cond_init failed");
    return AECS_OK;
}

void svc_audit_announce(struct aecs_service *svc)
{
    pthread_mutex_lock(&svc->audit_lock);
    svc->audit_announced++;
    pthread_mutex_unlock(&svc->audit_lock);
}

void svc_audit_withdraw(struct aecs_service *svc)
{
    pthread_mutex_lock(&svc->audit_lock);
    if (svc->audit_announced > 0)
        svc->audit_announced--;
    pthread_cond_broadcast(&svc->audit_cond); /* a lingering leader waits for no one now */
    pthread_mutex_unlock(&svc->audit_lock);
}

/*
 * A leader about to commit lingers (up to SVC_AUDIT_LINGER_US) while entries
 * announced by other requests are still on their way and the batch has room:
 * one transaction and one fsync for all of them instead of one each. With no
 * other request under way it commits at once.
 */
static void linger(struct aecs_service *svc)
{
    struct timespec deadline;

    if (svc->audit_announced == 0 || svc->audit_queue_length >= SVC_AUDIT_BATCH_MAX)
        return;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += SVC_AUDIT_LINGER_US * 1000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (svc->audit_announced > 0 && svc->audit_queue_length < SVC_AUDIT_BATCH_MAX) {
        if (pthread_cond_timedwait(&svc->audit_cond, &svc->audit_lock, &deadline) != 0)
            break; /* timed out: commit what is there */
    }
}

/*
 * Group commit. Callers queue their entry; the first with no leader in place
 * leads: it lingers for announced entries, takes the queue (up to
 * SVC_AUDIT_BATCH_MAX, oldest first), commits it, wakes each of those callers
 * on its own condition, and hands the lead to the oldest caller still queued.
 * Every caller is woken once when its entry is done (no broadcast to all).
 */
static int append(struct aecs_service *svc, const struct svc_audit_event *ev, int announced)
{
    struct svc_audit_waiter me;
    struct svc_audit_waiter *batch[SVC_AUDIT_BATCH_MAX];

    memset(&me, 0, sizeof(me));
    me.ev = ev;
    pthread_cond_init(&me.cond, NULL);
    pthread_mutex_lock(&svc->audit_lock);
    if (svc->audit_queue_tail != NULL)
        svc->audit_queue_tail->next = &me;
    else
        svc->audit_queue = &me;
    svc->audit_queue_tail = &me;
    svc->audit_queue_length++;
    if (announced && svc->audit_announced > 0)
        svc->audit_announced--;
    if (svc->audit_leader)
        pthread_cond_signal(&svc->audit_cond); /* a lingering leader counts this one */
    while (!me.done) {
        size_t n = 0;
        int rc;

        if (svc->audit_leader) {
            pthread_cond_wait(&me.cond, &svc->audit_lock);
            continue;
        }
        /* Lead: wait briefly for announced entries, then commit what is queued. */
        svc->audit_leader = 1;
        linger(svc);
        while (svc->audit_queue != NULL && n < SVC_AUDIT_BATCH_MAX) {
            batch[n++] = svc->audit_queue;
            svc->audit_queue = svc->audit_queue->next;
        }
        if (svc->audit_queue == NULL)
            svc->audit_queue_tail = NULL;
        svc->audit_queue_length -= n;
        pthread_mutex_unlock(&svc->audit_lock);
        rc = commit_batch(svc, batch, n);
        pthread_mutex_lock(&svc->audit_lock);
        for (size_t i = 0; i < n; i++) {
            batch[i]->rc = rc;
            if (rc != AECS_OK)
                memcpy(batch[i]->message, aecs_err_last()->message,
                       sizeof(batch[i]->message));
            batch[i]->done = 1;
            if (batch[i] != &me)
                pthread_cond_signal(&batch[i]->cond);
        }
        svc->audit_leader = 0;
        if (svc->audit_queue != NULL)
            pthread_cond_signal(&svc->audit_queue->cond); /* the next batch's leader */
    }
    pthread_mutex_unlock(&svc->audit_lock);
    pthread_cond_destroy(&me.cond);
    if (me.rc != AECS_OK)
        return AECS_ERR(me.rc, "audit: %.480s", me.message);
    return AECS_OK;
}

int svc_audit_append(struct aecs_service *svc, const struct svc_audit_event *ev)
{
    return append(svc, ev, 0);
}

int svc_audit_append_announced(struct aecs_service *svc, const struct svc_audit_event *ev)
{
    return append(svc, ev, 1);
}

/* ---- reading and verifying ---- */

static int entry_read(struct aecs_service *svc, uint64_t seq, char **text, size_t *size)
{
    int rc;
    char path[40];
    struct aecs_store_value v = {0};
    uint8_t *plain = NULL;
    size_t plain_size = 0;

    *text = NULL;
    entry_path(seq, path);
    GUARD(aecs_store_get(svc->store, path, &v));
    rc = aecs_record_open(svc->kek, path, SVC_T_AUDIT, 1, v.data, v.size, &plain, &plain_size);
    aecs_store_value_free(&v);
    GUARD(rc);
    *text = malloc(plain_size + 1);
    if (*text == NULL) {
        aecs_record_value_free(plain, plain_size);
        return AECS_ERR(AECS_E_NO_MEMORY, "audit: out of memory");
    }
    memcpy(*text, plain, plain_size + 1);
    *size = plain_size;
    aecs_record_value_free(plain, plain_size);
    return AECS_OK;
}

int aecs_service_audit_list(struct aecs_service *svc, const struct aecs_caller *caller,
                            uint64_t from, unsigned limit, json_t **answer,
                            enum aecs_api_code *api)
{
    int rc = AECS_OK;
    struct audit_head h;
    json_t *entries = NULL, *e;
    char *text = NULL;
    size_t size = 0;
    uint64_t seq;

    *answer = NULL;
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    if (caller->role != AECS_ROLE_CLUSTER_ADMIN) {
        *api = API_FORBIDDEN;
        BAIL_OUT(AECS_E_UNTRUSTED, "only a cluster admin reads the audit log");
    }
    if (from == 0)
        from = 1;
    if (limit == 0 || limit > 1000)
        limit = 1000;
    GUARD_OUT(head_load(svc, &h));
    entries = json_array();
    ENSURE_OUT(entries != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (seq = from; seq <= h.seq && seq < from + limit; seq++) {
        rc = entry_read(svc, seq, &text, &size);
        if (rc != AECS_OK) {
            aecs_err_prefix("audit entry %" PRIu64 ": ", seq);
            *api = rc == AECS_E_BAD_SIGNATURE ? API_STORE_DAMAGED : API_INTERNAL;
            goto out;
        }
        e = json_loadb(text, size, 0, NULL);
        free(text);
        text = NULL;
        ENSURE_OUT(e != NULL, AECS_E_FORMAT, "audit entry %" PRIu64 " is not JSON", seq);
        json_array_append_new(entries, e);
    }
    *answer = json_pack("{s:o, s:o}", "entries", entries,
                        "next", seq <= h.seq ? json_integer((json_int_t)seq) : json_null());
    entries = NULL;
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
out:
    json_decref(entries);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

int svc_audit_entry_check(const char *text, size_t size, uint64_t seq, const char *prev, char *why,
                          size_t why_size)
{
    json_t *e = json_loadb(text, size, 0, NULL);
    json_int_t eseq = json_integer_value(json_object_get(e, "seq"));
    const char *eprev = json_string_value(json_object_get(e, "prev"));
    int rc = AECS_OK;

    if (e == NULL || eseq < 0 || (uint64_t)eseq != seq) {
        snprintf(why, why_size, "entry %" PRIu64 " is out of place (it says entry %lld)", seq,
                 (long long)eseq);
        rc = AECS_E_BAD_SIGNATURE;
    } else if (eprev == NULL || strcmp(eprev, prev) != 0) {
        snprintf(why, why_size,
                 "entry %" PRIu64 " does not follow entry %" PRIu64
                 ": its prev hash is not that entry's hash",
                 seq, seq - 1);
        rc = AECS_E_BAD_SIGNATURE;
    }
    json_decref(e);
    return rc;
}

/* Checks entry seq against the running hash; fills why on a break. */
static int verify_entry(struct aecs_service *svc, uint64_t seq, char prev[65], char *why,
                        size_t why_size)
{
    char *text = NULL;
    size_t size = 0;
    uint8_t hash[32];
    int rc = entry_read(svc, seq, &text, &size);

    if (rc == AECS_E_NOT_FOUND) {
        snprintf(why, why_size, "entry %" PRIu64 " is missing from the store", seq);
        return AECS_E_BAD_SIGNATURE;
    }
    if (rc != AECS_OK) {
        snprintf(why, why_size, "entry %" PRIu64 " does not authenticate: it was changed in "
                 "the store (%.200s)", seq, aecs_err_last()->message);
        return AECS_E_BAD_SIGNATURE;
    }
    rc = svc_audit_entry_check(text, size, seq, prev, why, why_size);
    if (rc == AECS_OK) {
        aecs_sha256(text, size, hash);
        aecs_hex_encode(hash, sizeof(hash), prev);
    }
    free(text);
    return rc;
}

int aecs_service_audit_verify(struct aecs_service *svc, const struct aecs_caller *caller,
                              json_t **answer, enum aecs_api_code *api)
{
    int rc = AECS_OK;
    struct audit_head h;
    char prev[65] = ZERO_HASH;
    char why[512] = "";
    uint64_t seq;

    *answer = NULL;
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    if (caller->role != AECS_ROLE_CLUSTER_ADMIN) {
        *api = API_FORBIDDEN;
        BAIL_OUT(AECS_E_UNTRUSTED, "only a cluster admin verifies the audit log");
    }
    rc = head_load(svc, &h);
    if (rc != AECS_OK) {
        *answer = json_pack("{s:b, s:I, s:I, s:s}", "ok", 0, "entries", (json_int_t)0,
                            "first_broken", (json_int_t)1, "reason", aecs_err_last()->message);
        rc = *answer != NULL ? AECS_OK : AECS_E_NO_MEMORY;
        goto out;
    }
    for (seq = 1; seq <= h.seq; seq++) {
        if (verify_entry(svc, seq, prev, why, sizeof(why)) != AECS_OK)
            break;
    }
    if (seq <= h.seq) {
        log_warn("audit: verification failed: %s", why);
        *answer = json_pack("{s:b, s:I, s:I, s:s}", "ok", 0, "entries", (json_int_t)h.seq,
                            "first_broken", (json_int_t)seq, "reason", why);
    } else if (strcmp(prev, h.hash) != 0) {
        *answer = json_pack("{s:b, s:I, s:I, s:s}", "ok", 0, "entries", (json_int_t)h.seq,
                            "first_broken", (json_int_t)h.seq,
                            "reason", "the head does not name the last entry's hash");
    } else {
        *answer = json_pack("{s:b, s:I, s:s}", "ok", 1, "entries", (json_int_t)h.seq, "head",
                            prev);
    }
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
out:
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}
