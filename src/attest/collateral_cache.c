/*
 * collateral_cache.c - see collateral_cache.h.
 *
 * The table is a small array of entry pointers searched linearly (a verifier
 * sees a handful of platforms). An entry is created in the FETCHING state and
 * put in the table before the fetch starts, so that other threads asking for
 * the same key find it and wait on the cache's condition variable; the thread
 * that created it fetches without the lock, then marks it READY or FAILED and
 * wakes the waiters. Entries are reference counted: the table holds one
 * reference, each caller of get another; the last release frees the prepared
 * collateral.
 *
 * A second small table remembers, by SHA-256 of a quote's certification data,
 * which key that quote needs, so a warm get does not parse certificates.
 */
#include "attest/collateral_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attest/collateral_mem.h"
#include "attest/quote.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"

#define KEY_MEMO_SIZE 32

enum entry_state { ENTRY_FETCHING = 0, ENTRY_READY, ENTRY_FAILED };

struct aecs_collateral_ref {
    struct aecs_collateral_key key;
    enum entry_state state;     /* guarded by the cache mutex */
    int refs;                   /* atomic */
    struct aecs_dcap_prepared *prepared;
    int64_t next_update;
    int64_t fetched_at;         /* the `now` of the get that fetched it */
    uint64_t last_use;          /* guarded by the cache mutex */
    int err_code;               /* when FAILED */
    char err_message[512];
};

struct key_memo {
    int used;
    uint8_t hash[32];
    struct aecs_collateral_key key;
};

struct aecs_collateral_cache {
    pthread_mutex_t lock;
    pthread_cond_t done; /* broadcast whenever a fetch finishes */
    struct aecs_pcs_source source;
    char *disk_dir;
    struct aecs_cert *root;
    int64_t min_refetch;
    size_t max_entries;
    struct aecs_collateral_ref **entries;
    size_t count;
    uint64_t clock;
    struct key_memo memo[KEY_MEMO_SIZE];
    size_t memo_next;
    struct aecs_collateral_cache_stats stats;
};

static void ref_take(struct aecs_collateral_ref *e)
{
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
}

void aecs_collateral_ref_release(struct aecs_collateral_ref *e)
{
    if (e == NULL)
        return;
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    aecs_dcap_prepared_free(e->prepared);
    free(e);
}

struct aecs_dcap_prepared *aecs_collateral_ref_prepared(const struct aecs_collateral_ref *ref)
{
    return ref->prepared;
}

int64_t aecs_collateral_ref_next_update(const struct aecs_collateral_ref *ref)
{
    return ref->next_update;
}

int aecs_collateral_cache_new(const struct aecs_collateral_cache_config *cfg,
                              struct aecs_collateral_cache **out)
{
    struct aecs_collateral_cache *c;

    *out = NULL;
    ENSURE(cfg->source.base_url[0] != '\0', AECS_E_INVALID_ARGUMENT,
           "collateral cache: no source URL");
    if (cfg->disk_dir != NULL) {
        if (mkdir(cfg->disk_dir, 0755) != 0 && errno != EEXIST)
            return AECS_ERR(AECS_E_IO, "collateral cache: cannot create %.200s: %s",
                            cfg->disk_dir, strerror(errno));
    }
    c = calloc(1, sizeof(*c));
    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");
    c->source = cfg->source;
    c->min_refetch = cfg->min_refetch_interval > 0 ? cfg->min_refetch_interval
                                                   : AECS_COLLATERAL_CACHE_DEFAULT_REFETCH;
    c->max_entries = cfg->max_entries > 0 ? cfg->max_entries : AECS_COLLATERAL_CACHE_DEFAULT_ENTRIES;
    c->entries = calloc(c->max_entries, sizeof(*c->entries));
    c->disk_dir = cfg->disk_dir ? strdup(cfg->disk_dir) : NULL;
    if (c->entries == NULL || (cfg->disk_dir != NULL && c->disk_dir == NULL)) {
        free(c->entries);
        free(c->disk_dir);
        free(c);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    if (cfg->trusted_root != NULL)
        c->root = aecs_cert_ref((struct aecs_cert *)cfg->trusted_root);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done, NULL);
    *out = c;
    return AECS_OK;
}

void aecs_collateral_cache_free(struct aecs_collateral_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->count; i++)
        aecs_collateral_ref_release(c->entries[i]);
    free(c->entries);
    free(c->disk_dir);
    aecs_cert_free(c->root);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void aecs_collateral_cache_get_stats(struct aecs_collateral_cache *c,
                                     struct aecs_collateral_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}

/* ---- table (mutex held) ---- */

static int key_equal(const struct aecs_collateral_key *a, const struct aecs_collateral_key *b)
{
    return a->tee == b->tee && a->ca == b->ca && memcmp(a->fmspc, b->fmspc, 6) == 0;
}

static size_t find(struct aecs_collateral_cache *c, const struct aecs_collateral_key *key)
{
    for (size_t i = 0; i < c->count; i++) {
        if (key_equal(&c->entries[i]->key, key))
            return i;
    }
    return SIZE_MAX;
}

/* Takes entry i out of the table and returns the table's reference to it. */
static struct aecs_collateral_ref *detach(struct aecs_collateral_cache *c, size_t i)
{
    struct aecs_collateral_ref *e = c->entries[i];

    c->entries[i] = c->entries[--c->count];
    c->entries[c->count] = NULL;
    return e;
}

/*
 * Puts e in the table (taking a reference for it). When the table is full,
 * the least recently used READY entry makes room; it is returned through
 * *evicted for release after unlocking. When every entry is being fetched,
 * e is simply not cached.
 */
static void insert(struct aecs_collateral_cache *c, struct aecs_collateral_ref *e,
                   struct aecs_collateral_ref **evicted)
{
    *evicted = NULL;
    if (c->count == c->max_entries) {
        size_t victim = SIZE_MAX;
        for (size_t i = 0; i < c->count; i++) {
            if (c->entries[i]->state == ENTRY_READY &&
                (victim == SIZE_MAX || c->entries[i]->last_use < c->entries[victim]->last_use))
                victim = i;
        }
        if (victim == SIZE_MAX)
            return;
        *evicted = detach(c, victim);
    }
    ref_take(e);
    c->entries[c->count++] = e;
}

/* ---- fetching (mutex not held) ---- */

/* Collateral for the key from the disk cache, if there and valid at `now`. */
static struct aecs_collateral *from_disk(struct aecs_collateral_cache *c,
                                         const struct aecs_collateral_key *key, int64_t now)
{
    char name[40];
    char path[4200];
    struct aecs_fetched_collateral *f = NULL;
    struct aecs_collateral *col = NULL;

    if (c->disk_dir == NULL)
        return NULL;
    aecs_collateral_key_format(key, name);
    snprintf(path, sizeof(path), "%s/%s", c->disk_dir, name);
    if (aecs_collateral_dir_read(path, &f) != AECS_OK) {
        if (aecs_err_last()->code != AECS_E_NOT_FOUND)
            log_warn("collateral cache: %s", aecs_err_last()->message);
        return NULL;
    }
    f->key = *key;
    if (aecs_fetched_collateral_parse(f, &col) != AECS_OK) {
        log_warn("collateral cache: %.200s: %s; fetching again", path, aecs_err_last()->message);
    } else if (aecs_collateral_next_update(col) <= now) {
        log_info("collateral cache: %.200s has expired; fetching again", path);
        aecs_collateral_free(col);
        col = NULL;
    }
    aecs_fetched_collateral_free(f);
    return col;
}

static void to_disk(struct aecs_collateral_cache *c, const struct aecs_fetched_collateral *f)
{
    char name[40];
    char path[4200];

    if (c->disk_dir == NULL)
        return;
    aecs_collateral_key_format(&f->key, name);
    snprintf(path, sizeof(path), "%s/%s", c->disk_dir, name);
    if (aecs_collateral_dir_write(path, f) != AECS_OK)
        log_warn("collateral cache: not kept on disk: %s", aecs_err_last()->message);
}

/* Fills e with prepared collateral, from disk or the network. */
static int load_entry(struct aecs_collateral_cache *c, struct aecs_collateral_ref *e, int64_t now,
                      int *from_network)
{
    struct aecs_fetched_collateral *f = NULL;
    struct aecs_collateral *col;
    char name[40];
    int rc;

    *from_network = 0;
    col = from_disk(c, &e->key, now);
    if (col == NULL) {
        *from_network = 1;
        aecs_collateral_key_format(&e->key, name);
        rc = aecs_collateral_fetch(&c->source, &e->key, &f);
        if (rc == AECS_OK)
            rc = aecs_fetched_collateral_parse(f, &col);
        if (rc != AECS_OK) {
            aecs_err_prefix("collateral for %s: ", name);
            aecs_fetched_collateral_free(f);
            return rc;
        }
        to_disk(c, f);
        aecs_fetched_collateral_free(f);
    }
    e->next_update = aecs_collateral_next_update(col);
    e->fetched_at = now;
    return aecs_dcap_prepare(col, c->root, &e->prepared); /* takes col */
}

/* ---- get ---- */

int aecs_collateral_cache_get_key(struct aecs_collateral_cache *c,
                                  const struct aecs_collateral_key *key, int64_t now,
                                  struct aecs_collateral_ref **out)
{
    struct aecs_collateral_ref *stale = NULL;
    struct aecs_collateral_ref *evicted = NULL;
    struct aecs_collateral_ref *e;
    int from_network = 0;
    int rc;

    *out = NULL;
    pthread_mutex_lock(&c->lock);
    size_t i = find(c, key);
    if (i != SIZE_MAX) {
        e = c->entries[i];
        if (e->state == ENTRY_FETCHING) {
            /* Someone is fetching this key: wait for that instead of fetching again. */
            ref_take(e);
            while (e->state == ENTRY_FETCHING)
                pthread_cond_wait(&c->done, &c->lock);
            if (e->state == ENTRY_READY) {
                c->stats.waits++;
                e->last_use = ++c->clock;
                pthread_mutex_unlock(&c->lock);
                *out = e;
                return AECS_OK;
            }
            rc = e->err_code;
            pthread_mutex_unlock(&c->lock);
            aecs_err_set(rc, __FILE__, __LINE__, "%s", e->err_message);
            aecs_collateral_ref_release(e);
            return rc;
        }
        if (e->state == ENTRY_READY &&
            (now < e->next_update || now - e->fetched_at < c->min_refetch)) {
            c->stats.hits++;
            e->last_use = ++c->clock;
            ref_take(e);
            pthread_mutex_unlock(&c->lock);
            *out = e;
            return AECS_OK;
        }
        /* expired: replaced below; holders of references keep it until they release */
        stale = detach(c, i);
    }
    c->stats.misses++;
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        pthread_mutex_unlock(&c->lock);
        aecs_collateral_ref_release(stale);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    e->key = *key;
    e->state = ENTRY_FETCHING;
    e->refs = 1; /* ours */
    e->last_use = ++c->clock;
    insert(c, e, &evicted);
    pthread_mutex_unlock(&c->lock);
    aecs_collateral_ref_release(stale);
    aecs_collateral_ref_release(evicted);

    rc = load_entry(c, e, now, &from_network);

    pthread_mutex_lock(&c->lock);
    struct aecs_collateral_ref *table_ref = NULL;
    if (rc == AECS_OK) {
        e->state = ENTRY_READY;
        if (from_network)
            c->stats.fetches++;
        else
            c->stats.disk_loads++;
    } else {
        e->state = ENTRY_FAILED;
        e->err_code = rc;
        snprintf(e->err_message, sizeof(e->err_message), "%s", aecs_err_last()->message);
        c->stats.failures++;
        if (from_network)
            c->stats.fetches++;
        i = find(c, key);
        if (i != SIZE_MAX && c->entries[i] == e)
            table_ref = detach(c, i);
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
    aecs_collateral_ref_release(table_ref);
    if (rc != AECS_OK) {
        aecs_collateral_ref_release(e);
        return rc;
    }
    *out = e;
    return AECS_OK;
}

/* The key of a quote: from the memo when its certification data was seen before. */
static int quote_key(struct aecs_collateral_cache *c, const uint8_t *quote, size_t size,
                     struct aecs_collateral_key *key)
{
    struct aecs_quote q;
    uint8_t hash[32];

    GUARD(aecs_quote_parse(quote, size, &q));
    aecs_sha256(q.cert_data, q.cert_size, hash);
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < KEY_MEMO_SIZE; i++) {
        if (c->memo[i].used && memcmp(c->memo[i].hash, hash, 32) == 0) {
            *key = c->memo[i].key;
            pthread_mutex_unlock(&c->lock);
            /* the TEE comes from the quote body, not the certification data */
            key->tee = q.body_type == AECS_BODY_SGX ? AECS_TEE_SGX : AECS_TEE_TDX;
            return AECS_OK;
        }
    }
    pthread_mutex_unlock(&c->lock);
    GUARD(aecs_collateral_key_from_quote(quote, size, key));
    pthread_mutex_lock(&c->lock);
    struct key_memo *m = &c->memo[c->memo_next++ % KEY_MEMO_SIZE];
    m->used = 1;
    memcpy(m->hash, hash, 32);
    m->key = *key;
    pthread_mutex_unlock(&c->lock);
    return AECS_OK;
}

int aecs_collateral_cache_get(struct aecs_collateral_cache *c, const uint8_t *quote, size_t size,
                              int64_t now, struct aecs_collateral_ref **out)
{
    struct aecs_collateral_key key;

    *out = NULL;
    if (quote_key(c, quote, size, &key) != AECS_OK) {
        aecs_err_prefix("collateral for the quote: ");
        return aecs_err_last()->code;
    }
    return aecs_collateral_cache_get_key(c, &key, now, out);
}
