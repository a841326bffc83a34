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
 */
#include "service/challenge.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"

#define NIL UINT32_MAX

/* ---- clocks ---- */

static uint64_t monotonic_ms(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct aecs_clock clock_or_default(const struct aecs_clock *c)
{
    struct aecs_clock d = {monotonic_ms, NULL};

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
    t->clock = clock_or_default(clock);
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

#define ADDR_KEY_SIZE 16
#define MILLI 1000u

struct aecs_ratelimit {
    pthread_mutex_t lock;
    struct aecs_clock clock;
    uint64_t burst_milli; /* a full bucket, in thousandths of a token */
    uint64_t rate;        /* thousandths of a token per millisecond = tokens per second */
    uint8_t hash_key[16];
    struct slots s;
    uint64_t *tokens; /* per slot, in thousandths */
    uint64_t *last;   /* per slot, when tokens was last brought up to date */
};

int aecs_ratelimit_new(unsigned burst, unsigned per_second, size_t max_addresses,
                       const struct aecs_clock *clock, struct aecs_ratelimit **out)
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
        rc = slots_init(&rl->s, max_addresses, ADDR_KEY_SIZE);
    if (rc != AECS_OK) {
        free(rl);
        return rc;
    }
    rl->tokens = calloc(max_addresses, sizeof(uint64_t));
    rl->last = calloc(max_addresses, sizeof(uint64_t));
    if (rl->tokens == NULL || rl->last == NULL || pthread_mutex_init(&rl->lock, NULL) != 0) {
        free(rl->tokens);
        free(rl->last);
        slots_fini(&rl->s);
        free(rl);
        return AECS_ERR(AECS_E_NO_MEMORY, "rate limit: out of memory");
    }
    rl->clock = clock_or_default(clock);
    rl->burst_milli = (uint64_t)burst * MILLI;
    rl->rate = per_second;
    *out = rl;
    return AECS_OK;
}

void aecs_ratelimit_free(struct aecs_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->tokens);
    free(rl->last);
    slots_fini(&rl->s);
    free(rl);
}

/*
 * The 16-byte key of an address: IPv4 (and IPv4-mapped IPv6) as the mapped
 * form ::ffff:a.b.c.d, other IPv6 as its first 8 bytes (the /64) and 8 zeros.
 * The two never collide: a mapped key has 0xffff in bytes 10 and 11.
 */
static int address_key(const char *addr, uint8_t key[ADDR_KEY_SIZE])
{
    char buf[64];
    size_t n;
    struct in_addr v4;
    struct in6_addr v6;

    memset(key, 0, ADDR_KEY_SIZE);
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
        memcpy(key, &v6, ADDR_KEY_SIZE);
        return AECS_OK;
    }
    memcpy(key, &v6, 8);
    return AECS_OK;
}

static int address_bucket(const struct aecs_ratelimit *rl, const uint8_t key[ADDR_KEY_SIZE],
                          uint32_t *b)
{
    struct aecs_bytes parts[2] = {{rl->hash_key, sizeof(rl->hash_key)}, {key, ADDR_KEY_SIZE}};
    uint8_t h[32];

    GUARD(aecs_sha256_parts(parts, 2, h));
    *b = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    return AECS_OK;
}

/* Brings slot i's tokens up to now. Lock held. */
static void refill(struct aecs_ratelimit *rl, uint32_t i, uint64_t now)
{
    uint64_t elapsed = now > rl->last[i] ? now - rl->last[i] : 0;
    uint64_t room = rl->burst_milli - rl->tokens[i];

    if (elapsed >= room / rl->rate + 1)
        rl->tokens[i] = rl->burst_milli;
    else
        rl->tokens[i] += elapsed * rl->rate < room ? elapsed * rl->rate : room;
    rl->last[i] = now;
}

int aecs_ratelimit_take(struct aecs_ratelimit *rl, const char *addr, int *allowed)
{
    uint8_t key[ADDR_KEY_SIZE];
    uint32_t b, i;
    uint64_t now;

    *allowed = 0;
    GUARD(address_key(addr, key));
    GUARD(address_bucket(rl, key, &b));
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

size_t aecs_ratelimit_tracked(struct aecs_ratelimit *rl)
{
    size_t n;

    pthread_mutex_lock(&rl->lock);
    n = rl->s.count;
    pthread_mutex_unlock(&rl->lock);
    return n;
}
