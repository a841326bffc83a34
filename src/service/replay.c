/*
 * replay.c - the nonces of signed admin requests seen recently, so a request
 * is accepted once. A chained hash table under one mutex (admin requests are
 * rare), bounded to SVC_REPLAY_MAX live entries; an entry lives until its
 * expiry (the request's timestamp + AECS_REQSIG_NONCE_TTL), after which the
 * timestamp check refuses the request anyway. Expired entries are dropped from
 * the bucket being looked at, and from the whole table when it is full.
 */
#include <stdlib.h>
#include <string.h>

#include "service/internal.h"

#define REPLAY_BUCKETS 4096
#define NONCE_MAX 64

struct svc_replay_entry {
    struct svc_replay_entry *next;
    int64_t expires;
    char nonce[NONCE_MAX + 1];
};

int svc_replay_init(struct svc_replay *r)
{
    memset(r, 0, sizeof(*r));
    r->buckets = calloc(REPLAY_BUCKETS, sizeof(*r->buckets));
    ENSURE(r->buckets != NULL, AECS_E_NO_MEMORY, "out of memory");
    r->bucket_count = REPLAY_BUCKETS;
    pthread_mutex_init(&r->lock, NULL);
    return AECS_OK;
}

void svc_replay_free(struct svc_replay *r)
{
    if (r->buckets == NULL)
        return;
    for (size_t i = 0; i < r->bucket_count; i++) {
        struct svc_replay_entry *e = r->buckets[i];
        while (e != NULL) {
            struct svc_replay_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(r->buckets);
    pthread_mutex_destroy(&r->lock);
    memset(r, 0, sizeof(*r));
}

/* FNV-1a: the nonces are random, any spread will do. */
static size_t bucket_of(const struct svc_replay *r, const char *nonce)
{
    uint64_t h = 1469598103934665603ull;

    for (const unsigned char *p = (const unsigned char *)nonce; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h % r->bucket_count);
}

static void sweep_bucket(struct svc_replay *r, size_t b, int64_t now)
{
    struct svc_replay_entry **link = &r->buckets[b];

    while (*link != NULL) {
        struct svc_replay_entry *e = *link;
        if (e->expires < now) {
            *link = e->next;
            free(e);
            r->count--;
        } else {
            link = &e->next;
        }
    }
}

int svc_replay_check_and_add(struct svc_replay *r, const char *nonce, int64_t now,
                             int64_t expires)
{
    size_t b;
    struct svc_replay_entry *e;
    int rc = AECS_OK;

    ENSURE(strlen(nonce) <= NONCE_MAX, AECS_E_INVALID_ARGUMENT, "nonce too long");
    b = bucket_of(r, nonce);
    pthread_mutex_lock(&r->lock);
    sweep_bucket(r, b, now);
    for (e = r->buckets[b]; e != NULL; e = e->next) {
        if (strcmp(e->nonce, nonce) == 0) {
            rc = AECS_ERR(AECS_E_MISMATCH, "this request's nonce was already used: a replay");
            goto out;
        }
    }
    if (r->count >= SVC_REPLAY_MAX) {
        for (size_t i = 0; i < r->bucket_count; i++)
            sweep_bucket(r, i, now);
    }
    if (r->count >= SVC_REPLAY_MAX) {
        rc = AECS_ERR(AECS_E_TOO_LARGE, "too many recent requests: retry in a minute");
        goto out;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        rc = AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
        goto out;
    }
    strcpy(e->nonce, nonce);
    e->expires = expires;
    e->next = r->buckets[b];
    r->buckets[b] = e;
    r->count++;
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}
