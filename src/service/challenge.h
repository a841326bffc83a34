/*
 * challenge.h - the release protocol's server-side state
 * (docs/protocol-release.md): a bounded table of single-use challenge nonces
 * with a time to live, and a per-address token-bucket rate limiter for the
 * unauthenticated routes, either in memory (one process) or with its buckets
 * in the store, shared by every replica of a cluster.
 *
 * Both are thread-safe (one mutex each, held for a few hundred nanoseconds,
 * never across a store call; the shared limiter also has a fixed set of
 * mutexes that make the takes of one address in one process wait for each
 * other, held across the take's store calls) and allocate all their memory
 * when made, so a flood of requests never grows them. Both read time through a struct
 * aecs_clock, so tests drive time by hand instead of sleeping.
 */
#ifndef AECS_SERVICE_CHALLENGE_H
#define AECS_SERVICE_CHALLENGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * A clock in milliseconds. With now_ms NULL (or a NULL struct pointer) the
 * nonce table and the in-memory rate limiter use CLOCK_MONOTONIC (it never
 * goes backwards), and the shared rate limiter CLOCK_REALTIME: its times are
 * stored and compared between replicas, so a clock given to it counts
 * milliseconds since the epoch too. now_ms is called with the table's lock
 * held and must not call back into the table.
 */
struct aecs_clock {
    uint64_t (*now_ms)(void *arg);
    void *arg;
};

/* ---- challenge nonces ---- */

#define AECS_CHALLENGE_NONCE_SIZE 32
#define AECS_CHALLENGE_DEFAULT_CAPACITY 65536
#define AECS_CHALLENGE_DEFAULT_TTL_MS 60000
#define AECS_CHALLENGE_MAX_CAPACITY (1u << 22)
#define AECS_CHALLENGE_MAX_TTL_MS (24u * 3600u * 1000u)

struct aecs_challenge_table;

/*
 * A table of at most `capacity` (1..AECS_CHALLENGE_MAX_CAPACITY) nonces, each
 * valid for ttl_ms (1..AECS_CHALLENGE_MAX_TTL_MS) after it is issued. clock is
 * copied (NULL: CLOCK_MONOTONIC). The caller frees *out with
 * aecs_challenge_table_free. AECS_E_INVALID_ARGUMENT for bad sizes.
 */
AECS_MUST_CHECK int aecs_challenge_table_new(size_t capacity, uint64_t ttl_ms,
                                             const struct aecs_clock *clock,
                                             struct aecs_challenge_table **out);

void aecs_challenge_table_free(struct aecs_challenge_table *t);

/*
 * Issues a fresh random nonce into `nonce` and remembers it; *expires_ms (may
 * be NULL) gets its expiry on the table's clock (issue time + ttl). When the
 * table is full, expired nonces are forgotten first. If every slot still holds
 * an unexpired nonce, nothing is evicted and the call fails with
 * AECS_E_NO_MEMORY (the server answers `busy`; nothing is allocated here, so
 * this code means a full table and nothing else). AECS_E_CRYPTO when the
 * random generator fails.
 */
AECS_MUST_CHECK int aecs_challenge_issue(struct aecs_challenge_table *t,
                                         uint8_t nonce[AECS_CHALLENGE_NONCE_SIZE],
                                         uint64_t *expires_ms);

/*
 * Consumes a nonce. It is removed in every case, so a second consume of the
 * same nonce fails. Returns AECS_OK when it was issued and has not expired
 * (now < issue time + ttl). Returns AECS_E_EXPIRED when it was issued but has
 * expired and is still remembered. Returns AECS_E_NOT_FOUND when it was never
 * issued, was already consumed, or expired long enough ago to have been
 * forgotten.
 */
AECS_MUST_CHECK int aecs_challenge_consume(struct aecs_challenge_table *t,
                                           const uint8_t nonce[AECS_CHALLENGE_NONCE_SIZE]);

/* Nonces held now, expired ones not yet forgotten included. */
size_t aecs_challenge_count(struct aecs_challenge_table *t);

/* ---- per-address rate limiting ---- */

#define AECS_RATELIMIT_DEFAULT_BURST 20
#define AECS_RATELIMIT_DEFAULT_PER_SECOND 5
#define AECS_RATELIMIT_DEFAULT_ADDRESSES 4096
#define AECS_RATELIMIT_MAX_ADDRESSES (1u << 22)
#define AECS_RATELIMIT_MAX_RATE 1000000u

#define AECS_RATELIMIT_KEY_SIZE 16

/* The shared limiter: its folder in the store, and its bounds (see aecs_ratelimit_new_shared). */
#define AECS_RATELIMIT_STORE_PREFIX "/rate/"
#define AECS_RATELIMIT_STORE_TRIES 8u
#define AECS_RATELIMIT_SWEEP_EVERY 64
#define AECS_RATELIMIT_SWEEP_PAGE 100
#define AECS_RATELIMIT_SWEEP_IDLE_MS 60000

struct aecs_ratelimit;
struct aecs_store;

/*
 * The key an address is limited by: `addr` as aecs_ratelimit_take takes it,
 * into 16 bytes that are the same for every address of one bucket (an IPv4
 * address, or one IPv6 /64). AECS_E_INVALID_ARGUMENT (and a zero key) when
 * addr is not a numeric IP address.
 */
AECS_MUST_CHECK int aecs_ratelimit_address_key(const char *addr,
                                               uint8_t key[AECS_RATELIMIT_KEY_SIZE]);

/*
 * Parses a stored bucket's value, "<tokens> <time>": two runs of 1 to 19
 * decimal digits and one space, nothing else (the value comes from the
 * store, which the host controls). AECS_E_FORMAT for anything else.
 */
AECS_MUST_CHECK int aecs_ratelimit_bucket_parse(const uint8_t *data, size_t size,
                                                uint64_t *tokens, uint64_t *time_ms);

/*
 * A token bucket per client address: each holds at most `burst` tokens
 * (1..AECS_RATELIMIT_MAX_RATE), refilled at per_second tokens a second
 * (1..AECS_RATELIMIT_MAX_RATE), and a request takes one. At most max_addresses
 * (1..AECS_RATELIMIT_MAX_ADDRESSES) are tracked. When a new address arrives
 * and the table is full, the address seen least recently is forgotten (its
 * next request starts with a full bucket; docs/protocol-release.md says why
 * this is not refused instead). The caller frees *out with aecs_ratelimit_free.
 */
AECS_MUST_CHECK int aecs_ratelimit_new(unsigned burst, unsigned per_second, size_t max_addresses,
                                       const struct aecs_clock *clock, struct aecs_ratelimit **out);

/*
 * The same buckets, kept in `store` (borrowed: it must outlive the limiter),
 * so that every limiter on one store (the replicas of a cluster, with the
 * same burst and rate) draws from one bucket per address. Each bucket is a
 * key AECS_RATELIMIT_STORE_PREFIX + 32 lowercase hex digits of its
 * aecs_ratelimit_address_key, valued "<tokens> <time>" in clear (decimal:
 * thousandths of a token, as of that many milliseconds since the epoch); an
 * absent key is a full bucket. A take reads and writes it with
 * compare-and-swap on its version; the takes of one address in this process
 * go one at a time, so only other replicas' takes can make a write lose. The
 * table of max_addresses entries is a
 * cache of the buckets as last read or written (so a client that stays on
 * one replica costs one store write a request; an entry older than half
 * AECS_RATELIMIT_SWEEP_IDLE_MS is not used); a stale entry costs a read and
 * another try, never a token too many. The clock counts milliseconds
 * since the epoch (NULL: CLOCK_REALTIME). Arguments and errors as
 * aecs_ratelimit_new; the caller frees *out with aecs_ratelimit_free. Does no
 * I/O.
 */
AECS_MUST_CHECK int aecs_ratelimit_new_shared(struct aecs_store *store, unsigned burst,
                                              unsigned per_second, size_t max_addresses,
                                              const struct aecs_clock *clock,
                                              struct aecs_ratelimit **out);

void aecs_ratelimit_free(struct aecs_ratelimit *rl);

/*
 * Takes a token for the address `addr`: a numeric IPv4 ("192.0.2.7") or IPv6
 * ("2001:db8::1", an optional "%zone" ignored) string, as the server's socket
 * layer prints it. IPv4 addresses are limited one by one, IPv6 addresses per
 * /64, and an IPv4-mapped IPv6 address counts as its IPv4 address. *allowed
 * is 1 when a token was taken, 0 when the bucket is empty (answer
 * `rate_limited`). AECS_E_INVALID_ARGUMENT (and *allowed 0) when addr is not
 * such an address.
 *
 * A shared limiter also fails (with *allowed 0) when the store does: the
 * store's own code (AECS_E_IO when it cannot be reached, a write whose outcome
 * is unknown included). It is never "allowed" without a token taken in the
 * store. When AECS_RATELIMIT_STORE_TRIES writes in a row lose to other
 * replicas' takes of the same bucket, whatever the tokens left, the take fails
 * with AECS_E_MISMATCH (and *allowed 0): contention, not the client's rate
 * (answer `busy`); it is logged as a warning, at most one every 10 s. Every
 * AECS_RATELIMIT_SWEEP_EVERY tokens taken, the take also runs
 * aecs_ratelimit_sweep (its failures are only logged).
 */
AECS_MUST_CHECK int aecs_ratelimit_take(struct aecs_ratelimit *rl, const char *addr, int *allowed);

/*
 * A shared limiter's clean-up: lists the next page (at most
 * AECS_RATELIMIT_SWEEP_PAGE keys) of its folder, after the last key the
 * previous sweep saw (from the start after the folder's end), and deletes
 * each bucket that has refilled to full by now (the same as an absent one)
 * and was last taken from AECS_RATELIMIT_SWEEP_IDLE_MS ago or more, and each
 * key that holds no bucket, comparing its version, so a bucket taken from
 * meanwhile stays: all in one transaction, or one by one when a take wrote
 * one of them meanwhile. *deleted (may be NULL) counts the deleted keys.
 * AECS_E_INVALID_ARGUMENT for an in-memory limiter; store failures as they
 * come.
 */
AECS_MUST_CHECK int aecs_ratelimit_sweep(struct aecs_ratelimit *rl, size_t *deleted);

/* Addresses tracked now. */
size_t aecs_ratelimit_tracked(struct aecs_ratelimit *rl);

#endif
