/*
 * challenge.c - the nonce table and the rate limiter of challenge.h.
 *
 * Both keep fixed-size keys in a preallocated pool of slots, found through a
 * chained hash (bucket heads, a next index per slot) and ordered by a doubly
 * linked list: by issue time for nonces, by last use for addresses. Indices
 * are uint32_t, NIL marks the end of a chain or list, and free slots are
 * chained through their hash link.
 *
 * Nonces: the ttl is the same for every nonce, so issue order is expiry
 * order, and the expired nonces are always the oldest ones. They are
 * forgotten lazily, from the old end of the list, only when the table is full,
 * so a late client is told "expired" rather than "unknown" for as long as the
 * slot is not needed. Nonces are random, so their first bytes index buckets
 * directly.
 *
 * Addresses: callers choose them (an IPv6 /48 holds 65536 /64s), so buckets are
 * indexed by SHA-256 of a random per-table key and the address, and nobody can
 * pile their addresses into one chain. Tokens are counted in thousandths, so a
 * refill of per_second tokens a second is per_second thousandths a millisecond.
 *
 * Shared limiters (a store given): the buckets live in the store, one key per
 * address, and the slots are a cache of what this process last read or wrote
 * there (tokens, time, and the key's store version). A take brings the cached
 * bucket up to now and, when it holds a token, writes the bucket less one
 * token in a transaction that compares the version: the common case (a client
 * that stays on one replica) is one round trip. When another replica wrote
 * first (AECS_E_MISMATCH), the key is read again and the take tried again, at
 * most AECS_RATELIMIT_STORE_TRIES times, with a short random pause between
 * reads, so two takes never both count the same token. A take that loses
 * every try is not the client's rate but contention: it fails with
 * AECS_E_MISMATCH (the server answers `busy`), and says so in a warning at
 * most every CONTENTION_WARN_MS.
 *
 * Threads of one process never race each other on a bucket: a take holds one
 * of TAKE_STRIPES mutexes, chosen by the address's keyed hash (so a client
 * cannot aim its addresses at one stripe), across its whole
 * read-modify-compare-and-swap. Many clients behind one address (a NAT, a
 * load balancer) then cost one write a request, in turn, instead of racing
 * and paying for lost races with reads; only other replicas' takes can make a
 * write lose. Striping rather than a mutex per address keeps the memory fixed;
 * two addresses that share a stripe wait for each other's store round trip,
 * which with TAKE_STRIPES well above the number of worker threads is rare. The
 * stripe is the only lock held during a store call (the table's lock is
 * taken inside it, never the other way round), and the sweep runs after it is
 * let go.
 *
 * An empty bucket is refused without a write: time alone refills it, and a
 * stale cache never holds fewer tokens than the store (takes only remove them;
 * a sweep deletes a bucket only once it is full, which the cache sees too), so
 * an empty cached bucket is empty in the store as well (replicas' clocks d ms
 * apart aside: by at most d ms of refill).
 *
 * Times are wall-clock milliseconds, compared between replicas: a stored time
 * ahead of this replica's clock counts as now (no refill, and it is kept, so
 * the time is not counted twice; more than 5 s ahead, it is replaced by now),
 * and tokens above this replica's burst are
 * cut to it. A full bucket is the same as an absent key, so sweeps delete the
 * ones idle for a minute (a page in one transaction). A key deleted and made
 * again starts at version 1 again, so a version names a bucket only while its
 * key lives: a cached bucket is trusted for half that minute only, and after a
 * longer pause the take reads the bucket first.
 */
#include "service/challenge.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/codec.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "store/store.h"

#define NIL UINT32_MAX

/* ---- clocks ---- */

static uint64_t monotonic_ms(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t realtime_ms(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct aecs_clock clock_or(const struct aecs_clock *c, uint64_t (*fallback)(void *))
{
    struct aecs_clock d = {fallback, NULL};

    return (c != NULL && c->now_ms != NULL) ? *c : d;
}

/* ---- slots: a fixed pool of keys, hashed, in a doubly linked order ---- */

struct slots {
    size_t cap, key_size;
    uint8_t *keys;    /* cap * key_size */
    uint32_t *bucket; /* the bucket each used slot is chained in */
    uint32_t *hnext;  /* next slot in the bucket's chain, or in the free chain */
    uint32_t *older;  /* the list: towards oldest */
    uint32_t *newer;  /* the list: towards newest */
    uint32_t *heads;  /* mask + 1 bucket heads */
    size_t mask;
    uint32_t free_head, oldest, newest;
    size_t count;
};

static void slots_fini(struct slots *s)
{
    free(s->keys);
    free(s->bucket);
    free(s->hnext);
    free(s->older);
    free(s->newer);
    free(s->heads);
    memset(s, 0, sizeof(*s));
}

static int slots_init(struct slots *s, size_t cap, size_t key_size)
{
    size_t nb = 1;

    memset(s, 0, sizeof(*s));
    while (nb < cap)
        nb <<= 1;
    s->cap = cap;
    s->key_size = key_size;
    s->mask = nb - 1;
    s->keys = calloc(cap, key_size);
    s->bucket = calloc(cap, sizeof(uint32_t));
    s->hnext = calloc(cap, sizeof(uint32_t));
    s->older = calloc(cap, sizeof(uint32_t));
    s->newer = calloc(cap, sizeof(uint32_t));
    s->heads = calloc(nb, sizeof(uint32_t));
    if (s->keys == NULL || s->bucket == NULL || s->hnext == NULL || s->older == NULL ||
        s->newer == NULL || s->heads == NULL) {
        slots_fini(s);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory (a table of %zu entries)", cap);
    }
    for (size_t i = 0; i < nb; i++)
        s->heads[i] = NIL;
    for (size_t i = 0; i < cap; i++)
        s->hnext[i] = i + 1 < cap ? (uint32_t)(i + 1) : NIL;
    s->free_head = 0;
    s->oldest = s->newest = NIL;
    return AECS_OK;
}

static uint8_t *slot_key(const struct slots *s, uint32_t i)
{
    return s->keys + (size_t)i * s->key_size;
}

static uint32_t slots_find(const struct slots *s, uint32_t b, const uint8_t *key)
{
    for (uint32_t i = s->heads[b & s->mask]; i != NIL; i = s->hnext[i]) {
        if (aecs_ct_memcmp(slot_key(s, i), key, s->key_size) == 0)
            return i;
    }
    return NIL;
}

static void list_unlink(struct slots *s, uint32_t i)
{
    if (s->older[i] != NIL)
        s->newer[s->older[i]] = s->newer[i];
    else
        s->oldest = s->newer[i];
    if (s->newer[i] != NIL)
        s->older[s->newer[i]] = s->older[i];
    else
        s->newest = s->older[i];
}

static void list_append(struct slots *s, uint32_t i)
{
    s->older[i] = s->newest;
    s->newer[i] = NIL;
    if (s->newest != NIL)
        s->newer[s->newest] = i;
    else
        s->oldest = i;
    s->newest = i;
}

/* Adds key in bucket b as the newest entry; there must be a free slot. */
static uint32_t slots_add(struct slots *s, uint32_t b, const uint8_t *key)
{
    uint32_t i = s->free_head;

    s->free_head = s->hnext[i];
    memcpy(slot_key(s, i), key, s->key_size);
    s->bucket[i] = b & (uint32_t)s->mask;
    s->hnext[i] = s->heads[s->bucket[i]];
    s->heads[s->bucket[i]] = i;
    list_append(s, i);
    s->count++;
    return i;
}

static void slots_remove(struct slots *s, uint32_t i)
{
    uint32_t *link = &s->heads[s->bucket[i]];

    while (*link != i)
        link = &s->hnext[*link];
    *link = s->hnext[i];
    list_unlink(s, i);
    memset(slot_key(s, i), 0, s->key_size);
    s->hnext[i] = s->free_head;
    s->free_head = i;
    s->count--;
}

/* Makes i the newest entry. */
static void slots_touch(struct slots *s, uint32_t i)
{
    list_unlink(s, i);
    list_append(s, i);
}

/* ---- challenge nonces ---- */

struct aecs_challenge_table {
    pthread_mutex_t lock;
    struct aecs_clock clock;
    uint64_t ttl_ms;
    struct slots s;
    uint64_t *expires; /* per slot */
};

int aecs_challenge_table_new(size_t capacity, uint64_t ttl_ms, const struct aecs_clock *clock,
                             struct aecs_challenge_table **out)
{
    struct aecs_challenge_table *t;
    int rc;

    *out = NULL;
    ENSURE(capacity >= 1 && capacity <= AECS_CHALLENGE_MAX_CAPACITY, AECS_E_INVALID_ARGUMENT,
           "challenge table: capacity %zu (1 to %u)", capacity, AECS_CHALLENGE_MAX_CAPACITY);
    ENSURE(ttl_ms >= 1 && ttl_ms <= AECS_CHALLENGE_MAX_TTL_MS, AECS_E_INVALID_ARGUMENT,
           "challenge table: ttl of %llu ms (1 to %u)", (unsigned long long)ttl_ms,
           AECS_CHALLENGE_MAX_TTL_MS);
    t = calloc(1, sizeof(*t));
    ENSURE(t != NULL, AECS_E_NO_MEMORY, "out of memory");
    rc = slots_init(&t->s, capacity, AECS_CHALLENGE_NONCE_SIZE);
    if (rc != AECS_OK) {
        free(t);
        return rc;
    }
    t->expires = calloc(capacity, sizeof(uint64_t));
    if (t->expires == NULL || pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t->expires);
        slots_fini(&t->s);
        free(t);
        return AECS_ERR(AECS_E_NO_MEMORY, "challenge table: out of memory");
    }
    t->clock = clock_or(clock, monotonic_ms);
    t->ttl_ms = ttl_ms;
    *out = t;
    return AECS_OK;
}

void aecs_challenge_table_free(struct aecs_challenge_table *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->expires);
    slots_fini(&t->s);
    free(t);
}

static uint32_t nonce_bucket(const uint8_t *nonce)
{
    return (uint32_t)nonce[0] | (uint32_t)nonce[1] << 8 | (uint32_t)nonce[2] << 16 |
           (uint32_t)nonce[3] << 24;
}

/* Forgets the expired nonces (the oldest ones; see the top of the file). Lock held. */
static void sweep(struct aecs_challenge_table *t, uint64_t now)
{
    while (t->s.oldest != NIL && t->expires[t->s.oldest] <= now)
        slots_remove(&t->s, t->s.oldest);
}

int aecs_challenge_issue(struct aecs_challenge_table *t, uint8_t nonce[AECS_CHALLENGE_NONCE_SIZE],
                         uint64_t *expires_ms)
{
    uint8_t fresh[AECS_CHALLENGE_NONCE_SIZE];
    int rc = AECS_OK;
    uint32_t i;
    uint64_t now;

    if (expires_ms != NULL)
        *expires_ms = 0;
    GUARD(aecs_random_bytes(fresh, sizeof(fresh)));
    pthread_mutex_lock(&t->lock);
    now = t->clock.now_ms(t->clock.arg);
    if (t->s.free_head == NIL)
        sweep(t, now);
    ENSURE_OUT(t->s.free_head != NIL, AECS_E_NO_MEMORY,
               "challenge table full (%zu unexpired nonces): retry later", t->s.cap);
    /* 256 random bits do not repeat; the check costs one short chain walk */
    ENSURE_OUT(slots_find(&t->s, nonce_bucket(fresh), fresh) == NIL, AECS_E_CRYPTO,
               "the random generator repeated a nonce");
    i = slots_add(&t->s, nonce_bucket(fresh), fresh);
    t->expires[i] = now + t->ttl_ms;
    memcpy(nonce, fresh, sizeof(fresh));
    if (expires_ms != NULL)
        *expires_ms = t->expires[i];
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int aecs_challenge_consume(struct aecs_challenge_table *t,
                           const uint8_t nonce[AECS_CHALLENGE_NONCE_SIZE])
{
    int rc = AECS_OK;
    uint32_t i;
    uint64_t now, expires;

    ENSURE(nonce != NULL, AECS_E_INVALID_ARGUMENT, "challenge: no nonce");
    pthread_mutex_lock(&t->lock);
    now = t->clock.now_ms(t->clock.arg);
    i = slots_find(&t->s, nonce_bucket(nonce), nonce);
    ENSURE_OUT(i != NIL, AECS_E_NOT_FOUND,
               "unknown nonce (never issued, already used, or long expired): ask for a new "
               "challenge");
    expires = t->expires[i];
    slots_remove(&t->s, i);
    ENSURE_OUT(now < expires, AECS_E_EXPIRED,
               "the nonce expired %llu ms ago: ask for a new challenge and answer it within "
               "%llu s",
               (unsigned long long)(now - expires), (unsigned long long)(t->ttl_ms / 1000));
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

size_t aecs_challenge_count(struct aecs_challenge_table *t)
{
    size_t n;

    pthread_mutex_lock(&t->lock);
    n = t->s.count;
    pthread_mutex_unlock(&t->lock);
    return n;
}

/* ---- per-address rate limiting ---- */

#define MILLI 1000u
/* mutexes that serialize the takes of one bucket in this process (a power of 2) */
#define TAKE_STRIPES 256u
/* at most one warning this often about takes lost to other replicas */
#define CONTENTION_WARN_MS 10000u

struct aecs_ratelimit {
    pthread_mutex_t lock;
    struct aecs_clock clock;
    uint64_t burst_milli; /* a full bucket, in thousandths of a token */
    uint64_t rate;        /* thousandths of a token per millisecond = tokens per second */
    uint8_t hash_key[16];
    struct slots s;
    uint64_t *tokens; /* per slot, in thousandths */
    uint64_t *last;   /* per slot, when tokens was last brought up to date */
    /* shared limiters only (store not NULL); the slots are then a cache */
    struct aecs_store *store;
    uint64_t *version; /* per slot: the store version tokens and last were read or written at */
    uint64_t taken;    /* tokens taken, to sweep every AECS_RATELIMIT_SWEEP_EVERY */
    char sweep_after[AECS_STORE_KEY_MAX + 1]; /* where the next sweep starts; "": the start */
    /* shared limiters only: takes of one bucket, one at a time (see the top of the file) */
    pthread_mutex_t take_locks[TAKE_STRIPES];
    unsigned stripes;    /* how many of take_locks are made: TAKE_STRIPES, or 0 */
    uint64_t warned_at;  /* monotonic ms of the last contention warning (lock) */
    uint64_t not_warned; /* contention refusals since then, not logged (lock) */
};

static int ratelimit_make(struct aecs_store *store, unsigned burst, unsigned per_second,
                          size_t max_addresses, const struct aecs_clock *clock,
                          struct aecs_ratelimit **out)
{
    struct aecs_ratelimit *rl;
    int rc;

    *out = NULL;
    ENSURE(burst >= 1 && burst <= AECS_RATELIMIT_MAX_RATE && per_second >= 1 &&
               per_second <= AECS_RATELIMIT_MAX_RATE,
           AECS_E_INVALID_ARGUMENT, "rate limit: burst %u and rate %u/s (each 1 to %u)", burst,
           per_second, AECS_RATELIMIT_MAX_RATE);
    ENSURE(max_addresses >= 1 && max_addresses <= AECS_RATELIMIT_MAX_ADDRESSES,
           AECS_E_INVALID_ARGUMENT, "rate limit: %zu addresses (1 to %u)", max_addresses,
           AECS_RATELIMIT_MAX_ADDRESSES);
    rl = calloc(1, sizeof(*rl));
    ENSURE(rl != NULL, AECS_E_NO_MEMORY, "out of memory");
    rc = aecs_random_bytes(rl->hash_key, sizeof(rl->hash_key));
    if (rc == AECS_OK)
        rc = slots_init(&rl->s, max_addresses, AECS_RATELIMIT_KEY_SIZE);
    if (rc != AECS_OK) {
        free(rl);
        return rc;
    }
    rl->tokens = calloc(max_addresses, sizeof(uint64_t));
    rl->last = calloc(max_addresses, sizeof(uint64_t));
    if (store != NULL)
        rl->version = calloc(max_addresses, sizeof(uint64_t));
    if (rl->tokens == NULL || rl->last == NULL || (store != NULL && rl->version == NULL) ||
        pthread_mutex_init(&rl->lock, NULL) != 0) {
        free(rl->tokens);
        free(rl->last);
        free(rl->version);
        slots_fini(&rl->s);
        free(rl);
        return AECS_ERR(AECS_E_NO_MEMORY, "rate limit: out of memory");
    }
    while (store != NULL && rl->stripes < TAKE_STRIPES &&
           pthread_mutex_init(&rl->take_locks[rl->stripes], NULL) == 0)
        rl->stripes++;
    if (store != NULL && rl->stripes < TAKE_STRIPES) {
        aecs_ratelimit_free(rl);
        return AECS_ERR(AECS_E_NO_MEMORY, "rate limit: out of memory");
    }
    rl->clock = clock_or(clock, store != NULL ? realtime_ms : monotonic_ms);
    rl->burst_milli = (uint64_t)burst * MILLI;
    rl->rate = per_second;
    rl->store = store;
    *out = rl;
    return AECS_OK;
}

int aecs_ratelimit_new(unsigned burst, unsigned per_second, size_t max_addresses,
                       const struct aecs_clock *clock, struct aecs_ratelimit **out)
{
    return ratelimit_make(NULL, burst, per_second, max_addresses, clock, out);
}

int aecs_ratelimit_new_shared(struct aecs_store *store, unsigned burst, unsigned per_second,
                              size_t max_addresses, const struct aecs_clock *clock,
                              struct aecs_ratelimit **out)
{
    *out = NULL;
    ENSURE(store != NULL, AECS_E_INVALID_ARGUMENT, "rate limit: no store");
    return ratelimit_make(store, burst, per_second, max_addresses, clock, out);
}

void aecs_ratelimit_free(struct aecs_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    while (rl->stripes > 0)
        pthread_mutex_destroy(&rl->take_locks[--rl->stripes]);
    free(rl->tokens);
    free(rl->last);
    free(rl->version);
    slots_fini(&rl->s);
    free(rl);
}

/*
 * IPv4 (and IPv4-mapped IPv6) as the mapped form ::ffff:a.b.c.d, other IPv6
 * as its first 8 bytes (the /64) and 8 zeros. The two never collide: a
 * mapped key has 0xffff in bytes 10 and 11.
 */
int aecs_ratelimit_address_key(const char *addr, uint8_t key[AECS_RATELIMIT_KEY_SIZE])
{
    char buf[64];
    size_t n;
    struct in_addr v4;
    struct in6_addr v6;

    memset(key, 0, AECS_RATELIMIT_KEY_SIZE);
    ENSURE(addr != NULL, AECS_E_INVALID_ARGUMENT, "rate limit: no address");
    n = strcspn(addr, "%"); /* an IPv6 zone ("fe80::1%eth0") does not name another host */
    ENSURE(n > 0 && n < sizeof(buf), AECS_E_INVALID_ARGUMENT,
           "rate limit: not a numeric IP address");
    memcpy(buf, addr, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        key[10] = 0xff;
        key[11] = 0xff;
        memcpy(key + 12, &v4, 4);
        return AECS_OK;
    }
    ENSURE(inet_pton(AF_INET6, buf, &v6) == 1, AECS_E_INVALID_ARGUMENT,
           "rate limit: \"%.64s\" is not a numeric IP address", buf);
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        memcpy(key, &v6, AECS_RATELIMIT_KEY_SIZE);
        return AECS_OK;
    }
    memcpy(key, &v6, 8);
    return AECS_OK;
}

static int address_bucket(const struct aecs_ratelimit *rl,
                          const uint8_t key[AECS_RATELIMIT_KEY_SIZE], uint32_t *b)
{
    struct aecs_bytes parts[2] = {{rl->hash_key, sizeof(rl->hash_key)},
                                  {key, AECS_RATELIMIT_KEY_SIZE}};
    uint8_t h[32];

    GUARD(aecs_sha256_parts(parts, 2, h));
    *b = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    return AECS_OK;
}

/* tokens (at most a full bucket) after elapsed ms of refill, never beyond a full bucket. */
static uint64_t refilled(const struct aecs_ratelimit *rl, uint64_t tokens, uint64_t elapsed)
{
    uint64_t room = rl->burst_milli - tokens;

    /* checked first, so that elapsed * rate below cannot overflow */
    if (elapsed >= room / rl->rate + 1)
        return rl->burst_milli;
    return tokens + (elapsed * rl->rate < room ? elapsed * rl->rate : room);
}

/* Brings slot i's tokens up to now. Lock held. */
static void refill(struct aecs_ratelimit *rl, uint32_t i, uint64_t now)
{
    rl->tokens[i] = refilled(rl, rl->tokens[i], now > rl->last[i] ? now - rl->last[i] : 0);
    rl->last[i] = now;
}

/* ---- shared limiters: the buckets in the store ---- */

/* "/rate/" and 32 hex digits */
#define BUCKET_KEY_SIZE (sizeof(AECS_RATELIMIT_STORE_PREFIX) + 2 * AECS_RATELIMIT_KEY_SIZE)
/* "<tokens> <time>": two numbers of at most 20 digits, a space */
#define BUCKET_TEXT_MAX 48
/*
 * How long a cached bucket is trusted: half of AECS_RATELIMIT_SWEEP_IDLE_MS,
 * so that replicas' clocks may be 30 s apart before a sweep can delete a key
 * whose version a cache still trusts.
 */
#define CACHE_TRUST_MS (AECS_RATELIMIT_SWEEP_IDLE_MS / 2)

/* A bucket as the store holds it; version 0: absent (a full bucket). */
struct bucket {
    uint64_t tokens; /* thousandths of a token */
    uint64_t last;   /* when tokens was counted, ms since the epoch */
    uint64_t version;
};

static void bucket_key(const uint8_t key[AECS_RATELIMIT_KEY_SIZE], char out[BUCKET_KEY_SIZE])
{
    char hex[2 * AECS_RATELIMIT_KEY_SIZE + 1];

    aecs_hex_encode(key, AECS_RATELIMIT_KEY_SIZE, hex);
    snprintf(out, BUCKET_KEY_SIZE, AECS_RATELIMIT_STORE_PREFIX "%s", hex);
}

/* Reads 1 to 19 decimal digits at *p (so no overflow) and moves *p past them. */
static int parse_decimal(const char **p, uint64_t *out)
{
    size_t n = 0;

    *out = 0;
    while ((*p)[n] >= '0' && (*p)[n] <= '9' && n < 19)
        *out = *out * 10 + (uint64_t)((*p)[n++] - '0');
    ENSURE(n > 0 && !((*p)[n] >= '0' && (*p)[n] <= '9'), AECS_E_FORMAT,
           "rate limit: a stored bucket is malformed");
    *p += n;
    return AECS_OK;
}

/* Parses "<tokens> <time>" into b's tokens and last; AECS_E_FORMAT for anything else. */
static int bucket_parse(const uint8_t *data, size_t size, struct bucket *b)
{
    char text[BUCKET_TEXT_MAX];
    const char *p = text;

    ENSURE(data != NULL && size >= 3 && size < sizeof(text) && memchr(data, 0, size) == NULL,
           AECS_E_FORMAT, "rate limit: a stored bucket is malformed");
    memcpy(text, data, size);
    text[size] = '\0';
    GUARD(parse_decimal(&p, &b->tokens));
    ENSURE(*p++ == ' ', AECS_E_FORMAT, "rate limit: a stored bucket is malformed");
    GUARD(parse_decimal(&p, &b->last));
    ENSURE(*p == '\0', AECS_E_FORMAT, "rate limit: a stored bucket is malformed");
    return AECS_OK;
}

int aecs_ratelimit_bucket_parse(const uint8_t *data, size_t size, uint64_t *tokens,
                                uint64_t *time_ms)
{
    struct bucket b;

    memset(&b, 0, sizeof(b));
    GUARD(bucket_parse(data, size, &b));
    *tokens = b.tokens;
    *time_ms = b.last;
    return AECS_OK;
}

/*
 * Brings b up to now: an absent bucket is full; tokens above this limiter's
 * burst are cut to it; a time ahead of now (another replica's clock is
 * ahead) counts as now: no refill, and the time is kept, unless it is more
 * than SKEW_MAX_MS ahead: then it is replaced by now (and 1 returned, so
 * the caller stores the correction even when it takes nothing), so one
 * replica with a clock far ahead cannot stop the refills of every bucket it
 * touched.
 */
#define SKEW_MAX_MS 5000
static int bucket_at(const struct aecs_ratelimit *rl, struct bucket *b, uint64_t now)
{
    int fixed = 0;

    if (b->version == 0) {
        b->tokens = rl->burst_milli;
        b->last = now;
        return 0;
    }
    if (b->last > now + SKEW_MAX_MS) {
        b->last = now;
        fixed = 1;
    }
    if (b->tokens > rl->burst_milli)
        b->tokens = rl->burst_milli;
    if (now > b->last) {
        b->tokens = refilled(rl, b->tokens, now - b->last);
        b->last = now;
    }
    return fixed;
}

/* Reads the bucket under skey into b (absent: version 0; junk: a full bucket at its version). */
static int bucket_read(struct aecs_ratelimit *rl, const char *skey, struct bucket *b)
{
    struct aecs_store_value v = {0};
    int rc = aecs_store_get(rl->store, skey, &v);

    memset(b, 0, sizeof(*b));
    if (rc == AECS_E_NOT_FOUND) {
        aecs_err_clear();
        return AECS_OK;
    }
    GUARD(rc);
    if (bucket_parse(v.data, v.size, b) != AECS_OK) {
        /* not written by aecs: a full bucket, overwritten (or swept) at its version */
        log_warn("rate limit: %s holds no bucket: taken as a full one", skey);
        aecs_err_clear();
        b->tokens = rl->burst_milli;
        b->last = 0;
    }
    b->version = v.version;
    aecs_store_value_free(&v);
    return AECS_OK;
}

/*
 * The cached bucket of key into *b: 1 when there is one to use; 0 (and *b
 * absent) when none is cached; -1 (and *b absent) when the cached one was
 * counted CACHE_TRUST_MS ago or more: a sweep may have deleted the key since,
 * and another replica made it again at the same version.
 */
static int cache_get(struct aecs_ratelimit *rl, const uint8_t *key, uint32_t hash, struct bucket *b)
{
    uint32_t i;
    uint64_t now;
    int found = 0;

    memset(b, 0, sizeof(*b));
    pthread_mutex_lock(&rl->lock);
    now = rl->clock.now_ms(rl->clock.arg);
    i = slots_find(&rl->s, hash, key);
    if (i != NIL && rl->last[i] <= now && now - rl->last[i] >= CACHE_TRUST_MS) {
        found = -1;
    } else if (i != NIL) {
        *b = (struct bucket){rl->tokens[i], rl->last[i], rl->version[i]};
        slots_touch(&rl->s, i);
        found = 1;
    }
    pthread_mutex_unlock(&rl->lock);
    return found;
}

/* Caches b as key's bucket (the address seen least recently makes room). */
static void cache_set(struct aecs_ratelimit *rl, const uint8_t *key, uint32_t hash,
                      const struct bucket *b)
{
    uint32_t i;

    pthread_mutex_lock(&rl->lock);
    i = slots_find(&rl->s, hash, key);
    if (i == NIL) {
        if (rl->s.free_head == NIL)
            slots_remove(&rl->s, rl->s.oldest);
        i = slots_add(&rl->s, hash, key);
    } else {
        slots_touch(&rl->s, i);
    }
    rl->tokens[i] = b->tokens;
    rl->last[i] = b->last;
    rl->version[i] = b->version;
    pthread_mutex_unlock(&rl->lock);
}

static void cache_drop(struct aecs_ratelimit *rl, const uint8_t *key, uint32_t hash)
{
    uint32_t i;

    pthread_mutex_lock(&rl->lock);
    i = slots_find(&rl->s, hash, key);
    if (i != NIL)
        slots_remove(&rl->s, i);
    pthread_mutex_unlock(&rl->lock);
}

static uint64_t clock_now(struct aecs_ratelimit *rl)
{
    uint64_t now;

    pthread_mutex_lock(&rl->lock);
    now = rl->clock.now_ms(rl->clock.arg);
    pthread_mutex_unlock(&rl->lock);
    return now;
}

/* Sleeps 1 to 8 ms at random: the take that won a race on a bucket goes first. */
static void pause_briefly(void)
{
    uint8_t r = 0;
    struct timespec ts;

    if (aecs_random_bytes(&r, 1) != AECS_OK)
        r = 3;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(1 + r % 8) * 1000000L;
    nanosleep(&ts, NULL);
}

/* Sweeps now and then (aecs_ratelimit_take's contract); failures are logged. */
static void sweep_now_and_then(struct aecs_ratelimit *rl)
{
    size_t deleted = 0;

    if (__atomic_add_fetch(&rl->taken, 1, __ATOMIC_RELAXED) % AECS_RATELIMIT_SWEEP_EVERY != 0)
        return;
    if (aecs_ratelimit_sweep(rl, &deleted) != AECS_OK) {
        log_warn("rate limit: sweep: %s", aecs_err_last()->message);
        aecs_err_clear();
        return;
    }
    if (deleted > 0)
        log_debug("rate limit: swept %zu idle buckets", deleted);
}

/*
 * Warns that a take of skey lost every try to other replicas, at most once
 * every CONTENTION_WARN_MS (on the monotonic clock, whatever the limiter's),
 * with the count of the ones not logged since, so a flood cannot fill the log.
 */
static void warn_contention(struct aecs_ratelimit *rl, const char *skey)
{
    uint64_t now = monotonic_ms(NULL), skipped;

    pthread_mutex_lock(&rl->lock);
    if (rl->warned_at != 0 && now - rl->warned_at < CONTENTION_WARN_MS) {
        rl->not_warned++;
        pthread_mutex_unlock(&rl->lock);
        return;
    }
    skipped = rl->not_warned;
    rl->warned_at = now != 0 ? now : 1;
    rl->not_warned = 0;
    pthread_mutex_unlock(&rl->lock);
    log_warn("rate limit: %s: %u writes in a row lost to other replicas' takes of the same "
             "bucket: refused as busy (%" PRIu64 " more such refusals in the last %u s, not "
             "logged)",
             skey, AECS_RATELIMIT_STORE_TRIES, skipped, CONTENTION_WARN_MS / 1000u);
}

/* take_shared with the bucket's stripe held: the take itself, without the sweep. */
static int take_locked(struct aecs_ratelimit *rl, const uint8_t key[AECS_RATELIMIT_KEY_SIZE],
                       uint32_t hash, int *allowed)
{
    char skey[BUCKET_KEY_SIZE], text[BUCKET_TEXT_MAX];
    struct bucket b;
    int rc = AECS_OK, read = 0;

    bucket_key(key, skey);
    /* none cached: try as if absent (a new client); cached long ago: read it first */
    if (cache_get(rl, key, hash, &b) < 0) {
        rc = bucket_read(rl, skey, &b);
        if (rc != AECS_OK)
            return rc;
        read = 1;
        cache_set(rl, key, hash, &b);
    }
    for (unsigned try = 1;; try++) {
        struct aecs_store_compare cmp = {skey, b.version};
        struct aecs_store_op op;
        uint64_t version = 0;
        int n;

        if (bucket_at(rl, &b, clock_now(rl)) && b.tokens < MILLI) {
            /* empty, but its time was far ahead: store the corrected time, or it never refills */
            n = snprintf(text, sizeof(text), "%" PRIu64 " %" PRIu64, b.tokens, b.last);
            op = (struct aecs_store_op){AECS_STORE_OP_PUT, skey, text, (size_t)n};
            if (aecs_store_txn(rl->store, &cmp, 1, &op, 1, &version) == AECS_OK) {
                b.version = version;
                cache_set(rl, key, hash, &b);
            } else {
                aecs_err_clear();
                cache_drop(rl, key, hash);
            }
            return AECS_OK;
        }
        if (b.tokens < MILLI)
            return AECS_OK; /* empty: nothing to write */
        n = snprintf(text, sizeof(text), "%" PRIu64 " %" PRIu64, b.tokens - MILLI, b.last);
        op = (struct aecs_store_op){AECS_STORE_OP_PUT, skey, text, (size_t)n};
        rc = aecs_store_txn(rl->store, &cmp, 1, &op, 1, &version);
        if (rc == AECS_OK) {
            b.tokens -= MILLI;
            b.version = version;
            cache_set(rl, key, hash, &b);
            *allowed = 1;
            return AECS_OK;
        }
        if (rc != AECS_E_MISMATCH)
            break;
        /* another replica wrote first (or the cache was stale, or held nothing) */
        aecs_err_clear();
        if (try == AECS_RATELIMIT_STORE_TRIES) {
            warn_contention(rl, skey);
            return AECS_ERR(AECS_E_MISMATCH,
                            "rate limit: %s: %u writes in a row lost to other replicas' takes",
                            skey, try);
        }
        if (read)
            pause_briefly();
        rc = bucket_read(rl, skey, &b);
        if (rc != AECS_OK)
            break;
        read = 1;
        cache_set(rl, key, hash, &b);
    }
    /* the store failed; after a write whose outcome is unknown the version is unknown too */
    cache_drop(rl, key, hash);
    return rc;
}

/*
 * aecs_ratelimit_take of a shared limiter, for the address key `key` (hash: its
 * keyed hash, which picks its slot chain and its stripe).
 */
static int take_shared(struct aecs_ratelimit *rl, const uint8_t key[AECS_RATELIMIT_KEY_SIZE],
                       uint32_t hash, int *allowed)
{
    pthread_mutex_t *stripe = &rl->take_locks[hash % TAKE_STRIPES];
    int rc;

    pthread_mutex_lock(stripe);
    rc = take_locked(rl, key, hash, allowed);
    pthread_mutex_unlock(stripe);
    if (rc == AECS_OK && *allowed)
        sweep_now_and_then(rl);
    return rc;
}

int aecs_ratelimit_take(struct aecs_ratelimit *rl, const char *addr, int *allowed)
{
    uint8_t key[AECS_RATELIMIT_KEY_SIZE];
    uint32_t b, i;
    uint64_t now;

    *allowed = 0;
    GUARD(aecs_ratelimit_address_key(addr, key));
    GUARD(address_bucket(rl, key, &b));
    if (rl->store != NULL)
        return take_shared(rl, key, b, allowed);
    pthread_mutex_lock(&rl->lock);
    now = rl->clock.now_ms(rl->clock.arg);
    i = slots_find(&rl->s, b, key);
    if (i == NIL) {
        if (rl->s.free_head == NIL)
            slots_remove(&rl->s, rl->s.oldest); /* the address seen least recently */
        i = slots_add(&rl->s, b, key);
        rl->tokens[i] = rl->burst_milli;
        rl->last[i] = now;
    } else {
        refill(rl, i, now);
        slots_touch(&rl->s, i);
    }
    if (rl->tokens[i] >= MILLI) {
        rl->tokens[i] -= MILLI;
        *allowed = 1;
    }
    pthread_mutex_unlock(&rl->lock);
    return AECS_OK;
}

int aecs_ratelimit_sweep(struct aecs_ratelimit *rl, size_t *deleted)
{
    struct aecs_store_list l = {0};
    struct aecs_store_compare cmps[AECS_RATELIMIT_SWEEP_PAGE];
    struct aecs_store_op ops[AECS_RATELIMIT_SWEEP_PAGE];
    char after[sizeof(rl->sweep_after)];
    uint64_t now;
    size_t count = 0, n = 0;
    int rc = AECS_OK;

    if (deleted != NULL)
        *deleted = 0;
    ENSURE(rl->store != NULL, AECS_E_INVALID_ARGUMENT, "rate limit: not kept in a store");
    pthread_mutex_lock(&rl->lock);
    memcpy(after, rl->sweep_after, sizeof(after));
    now = rl->clock.now_ms(rl->clock.arg);
    pthread_mutex_unlock(&rl->lock);
    GUARD_OUT(aecs_store_list(rl->store, AECS_RATELIMIT_STORE_PREFIX,
                              after[0] != '\0' ? after : NULL, AECS_RATELIMIT_SWEEP_PAGE,
                              AECS_STORE_LIST_VALUES, &l));
    for (size_t i = 0; i < l.count && count < AECS_RATELIMIT_SWEEP_PAGE; i++) {
        struct bucket b = {0, 0, l.items[i].version};
        if (bucket_parse(l.items[i].value, l.items[i].value_size, &b) == AECS_OK) {
            if (b.last > now || now - b.last < AECS_RATELIMIT_SWEEP_IDLE_MS)
                continue;
            bucket_at(rl, &b, now);
            if (b.tokens < rl->burst_milli)
                continue;
        } else {
            aecs_err_clear();
        }
        /* idle and full (the same as absent), or junk: delete it unless a take wrote it since */
        cmps[count] = (struct aecs_store_compare){l.items[i].key, l.items[i].version};
        ops[count] = (struct aecs_store_op){AECS_STORE_OP_DELETE, l.items[i].key, NULL, 0};
        count++;
    }
    /* one write for the page; when a take wrote one of them meanwhile, one by one */
    rc = count > 0 ? aecs_store_txn(rl->store, cmps, count, ops, count, NULL) : AECS_OK;
    if (rc == AECS_OK) {
        n = count;
    } else if (rc == AECS_E_MISMATCH) {
        aecs_err_clear();
        rc = AECS_OK;
        for (size_t i = 0; i < count; i++) {
            rc = aecs_store_delete(rl->store, ops[i].key, cmps[i].version);
            if (rc == AECS_E_MISMATCH) {
                aecs_err_clear();
                rc = AECS_OK;
                continue;
            }
            GUARD_OUT(rc);
            n++;
        }
    }
    GUARD_OUT(rc);
    /* the next sweep goes on after this page, or from the start after the last one */
    pthread_mutex_lock(&rl->lock);
    if (l.more && l.count > 0)
        snprintf(rl->sweep_after, sizeof(rl->sweep_after), "%s", l.items[l.count - 1].key);
    else
        rl->sweep_after[0] = '\0';
    pthread_mutex_unlock(&rl->lock);
out:
    aecs_store_list_free(&l);
    if (deleted != NULL)
        *deleted = n;
    return rc;
}

size_t aecs_ratelimit_tracked(struct aecs_ratelimit *rl)
{
    size_t n;

    pthread_mutex_lock(&rl->lock);
    n = rl->s.count;
    pthread_mutex_unlock(&rl->lock);
    return n;
}
