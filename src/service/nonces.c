/*
 * nonces.c - single-use nonces shared by every replica of a cluster.
 *
 * With an etcd store several aecsd replicas serve one service, so a nonce
 * issued by one (a release challenge) must be accepted once by any, and a
 * signed admin request's nonce must be refused as a replay by every replica.
 * Such nonces live in the store:
 *
 *   /nonce/c/<64 hex>   a challenge;       value: its expiry, Unix seconds
 *   /nonce/r/<32 hex>   an admin request;  value: its expiry, Unix seconds
 *
 * Issue (or remember) is a put that requires the key to be absent (version
 * 0): a clash is a replay. Consume reads the key, then deletes it in one
 * transaction that compares its version: of two replicas consuming the same
 * nonce, exactly one delete succeeds, and the other is told the nonce is
 * unknown. An expired challenge is refused by its stored expiry (and
 * deleted). The values are not secret (a nonce is public and single-use), so
 * they are stored in clear.
 *
 * Expired keys are swept by whoever issues: every SWEEP_EVERY issues, one
 * page of at most SWEEP_PAGE keys is listed and its expired keys deleted, so
 * the work per request is bounded and the folder does not grow without end.
 *
 * With SQLite (one process) challenges stay in the in-memory table (every
 * store write is an fsync there, and a restart forgetting them only makes
 * clients ask again); admin requests' nonces are stored with either backend,
 * so a restart does not open a window to replay a signed request.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "service/internal.h"

#define NONCE_PREFIX "/nonce/"
#define SWEEP_EVERY 64
#define SWEEP_PAGE 100

int svc_nonce_expiry_parse(const uint8_t *data, size_t size, int64_t *expires)
{
    uint64_t n = 0;

    /* Only what put_new writes: 1 to 19 digits, no sign, blank or leading zero, <= INT64_MAX. */
    *expires = 0;
    ENSURE(size >= 1 && size <= 19 && data[0] != '0', AECS_E_FORMAT, "store: a nonce is malformed");
    for (size_t i = 0; i < size; i++) {
        ENSURE(data[i] >= '0' && data[i] <= '9', AECS_E_FORMAT, "store: a nonce is malformed");
        n = n * 10 + (uint64_t)(data[i] - '0'); /* 19 digits stay below UINT64_MAX */
    }
    ENSURE(n <= (uint64_t)INT64_MAX, AECS_E_FORMAT, "store: a nonce is malformed");
    *expires = (int64_t)n;
    return AECS_OK;
}

/*
 * Deletes the expired nonces of one page, in one transaction that compares
 * each one's version (one fsync with SQLite); when one of them changed
 * meanwhile (consumed by another replica), one by one. Each sweep goes on
 * where the last one stopped, back to the start after the last page, so live
 * nonces at the front never hide expired ones behind them. One sweep at a
 * time per process; failures are only logged.
 */
static void sweep(struct aecs_service *svc)
{
    struct aecs_store_list l = {0};
    struct aecs_store_compare cmps[SWEEP_PAGE];
    struct aecs_store_op ops[SWEEP_PAGE];
    int64_t now = aecs_time_now();
    size_t n = 0, deleted = 0;
    int rc;

    if (pthread_mutex_trylock(&svc->nonce_sweep_lock) != 0)
        return; /* another thread is sweeping */
    rc = aecs_store_list(svc->store, NONCE_PREFIX,
                         svc->nonce_sweep_after[0] != '\0' ? svc->nonce_sweep_after : NULL,
                         SWEEP_PAGE, AECS_STORE_LIST_VALUES, &l);
    if (rc != AECS_OK) {
        log_warn("nonces: sweep: %s", aecs_err_last()->message);
        pthread_mutex_unlock(&svc->nonce_sweep_lock);
        return;
    }
    if (l.more && l.count > 0)
        snprintf(svc->nonce_sweep_after, sizeof(svc->nonce_sweep_after), "%s",
                 l.items[l.count - 1].key);
    else
        svc->nonce_sweep_after[0] = '\0';
    for (size_t i = 0; i < l.count && n < SWEEP_PAGE; i++) {
        int64_t expires = 0;
        if (svc_nonce_expiry_parse(l.items[i].value, l.items[i].value_size, &expires) == AECS_OK &&
            expires > now)
            continue;
        aecs_err_clear();
        /* Expired (or junk): delete it unless someone changed it meanwhile. */
        cmps[n] = (struct aecs_store_compare){l.items[i].key, l.items[i].version};
        ops[n] = (struct aecs_store_op){AECS_STORE_OP_DELETE, l.items[i].key, NULL, 0};
        n++;
    }
    rc = n > 0 ? aecs_store_txn(svc->store, cmps, n, ops, n, NULL) : AECS_OK;
    if (rc == AECS_OK) {
        deleted = n;
    } else if (rc != AECS_E_MISMATCH) {
        log_warn("nonces: sweep: %s", aecs_err_last()->message); /* the store is failing */
    } else {
        aecs_err_clear();
        for (size_t i = 0; i < n; i++) {
            if (aecs_store_delete(svc->store, ops[i].key, cmps[i].version) == AECS_OK)
                deleted++;
            else
                aecs_err_clear();
        }
    }
    aecs_store_list_free(&l);
    pthread_mutex_unlock(&svc->nonce_sweep_lock);
    if (deleted > 0)
        log_debug("nonces: swept %zu expired", deleted);
}

static int put_new(struct aecs_service *svc, const char *key, int64_t expires)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%lld", (long long)expires);

    if (__atomic_add_fetch(&svc->nonce_issued, 1, __ATOMIC_RELAXED) % SWEEP_EVERY == 0)
        sweep(svc);
    return aecs_store_put(svc->store, key, text, (size_t)n, 0, NULL);
}

int svc_nonce_issue(struct aecs_service *svc, const uint8_t nonce[32], int64_t expires)
{
    char key[sizeof(NONCE_PREFIX) + 2 + 64 + 1], hex[65];
    int rc;

    aecs_hex_encode(nonce, 32, hex);
    snprintf(key, sizeof(key), NONCE_PREFIX "c/%s", hex);
    rc = put_new(svc, key, expires);
    /* 32 random bytes never clash; a clash means the store or the generator is broken. */
    if (rc == AECS_E_MISMATCH)
        return AECS_ERR(AECS_E_INTERNAL, "nonces: a fresh challenge is already in the store");
    return rc;
}

int svc_nonce_consume(struct aecs_service *svc, const uint8_t nonce[32])
{
    char key[sizeof(NONCE_PREFIX) + 2 + 64 + 1], hex[65];
    struct aecs_store_value v = {0};
    struct aecs_store_compare cmp;
    struct aecs_store_op op;
    int64_t expires = 0;
    int rc;

    aecs_hex_encode(nonce, 32, hex);
    snprintf(key, sizeof(key), NONCE_PREFIX "c/%s", hex);
    rc = aecs_store_get(svc->store, key, &v);
    if (rc == AECS_E_NOT_FOUND)
        return AECS_ERR(AECS_E_NOT_FOUND, "unknown or used nonce");
    GUARD(rc);
    rc = svc_nonce_expiry_parse(v.data, v.size, &expires);
    cmp = (struct aecs_store_compare){key, v.version};
    op = (struct aecs_store_op){AECS_STORE_OP_DELETE, key, NULL, 0};
    aecs_store_value_free(&v);
    GUARD(rc);
    rc = aecs_store_txn(svc->store, &cmp, 1, &op, 1, NULL);
    if (rc == AECS_E_MISMATCH) /* another replica consumed it first */
        return AECS_ERR(AECS_E_NOT_FOUND, "unknown or used nonce");
    GUARD(rc);
    ENSURE(aecs_time_now() < expires, AECS_E_EXPIRED, "the nonce expired");
    return AECS_OK;
}

int svc_nonce_remember(struct aecs_service *svc, const char *nonce, int64_t expires)
{
    char key[sizeof(NONCE_PREFIX) + 2 + 64 + 1];
    int rc;

    ENSURE(strlen(nonce) <= 64, AECS_E_INVALID_ARGUMENT, "nonce too long");
    snprintf(key, sizeof(key), NONCE_PREFIX "r/%s", nonce);
    rc = put_new(svc, key, expires);
    if (rc == AECS_E_MISMATCH)
        return AECS_ERR(AECS_E_MISMATCH, "the request's nonce was already used: do not resend "
                                         "requests");
    return rc;
}
