/*
 * collateral_cache.h - prepared Intel DCAP collateral kept warm for a
 * verifier, fetched on a miss and again once it expires.
 *
 * Entries are keyed by TEE (SGX/TDX), PCK CA (processor/platform) and FMSPC
 * (struct aecs_collateral_key) and hold the collateral already checked by
 * aecs_dcap_prepare, so a warm verification pays only for the quote itself.
 * An entry is valid until the collateral's earliest nextUpdate (TCB Info, QE
 * Identity, both CRLs); a get at or after that time fetches again. When the
 * service keeps answering with collateral that is already stale, it is not
 * asked again more often than `min_refetch_interval` (verification then
 * reports the collateral as expired, as it is).
 *
 * With `disk_dir` set, every fetch is also written there, one folder per key
 * ("sgx-processor-00a067110000/", the layout `aecs quote verify --collateral`
 * reads), atomically; after a restart a miss reads that folder first and
 * fetches only when it is missing, unreadable or expired. The disk is not
 * trusted: what is read from it goes through the same parsing and
 * aecs_dcap_prepare checks (signatures, chains to the trusted root) as a
 * fetch.
 *
 * Threads and lifetimes:
 *   - One mutex guards the table and nothing else: it is never held while
 *     fetching, preparing or verifying. While one thread fetches a key, other
 *     threads asking for the same key wait for that fetch (on a condition
 *     variable, without the mutex) instead of fetching it again.
 *   - aecs_collateral_cache_get() hands out a counted reference to an entry.
 *     The entry, and the aecs_dcap_prepared inside it, stay valid until that
 *     reference is released with aecs_collateral_ref_release(), even if the
 *     cache has since replaced the entry or has itself been freed.
 *   - aecs_collateral_cache_free() must not run while another thread is
 *     inside aecs_collateral_cache_get() on the same cache.
 */
#ifndef AECS_ATTEST_COLLATERAL_CACHE_H
#define AECS_ATTEST_COLLATERAL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "attest/collateral_fetch.h"
#include "attest/dcap.h"
#include "base/err.h"
#include "crypto/x509.h"

#define AECS_COLLATERAL_CACHE_DEFAULT_ENTRIES 64
#define AECS_COLLATERAL_CACHE_DEFAULT_REFETCH 60

struct aecs_collateral_cache_config {
    struct aecs_pcs_source source;          /* where to fetch (aecs_pcs_source_from_*) */
    const char *disk_dir;                   /* optional on-disk cache folder (created if missing) */
    const struct aecs_cert *trusted_root;   /* NULL: Intel's production root; referenced */
    int64_t min_refetch_interval;           /* seconds; 0: AECS_COLLATERAL_CACHE_DEFAULT_REFETCH */
    size_t max_entries;                     /* 0: AECS_COLLATERAL_CACHE_DEFAULT_ENTRIES */
};

struct aecs_collateral_cache;
struct aecs_collateral_ref;

struct aecs_collateral_cache_stats {
    uint64_t hits;       /* answered from memory */
    uint64_t waits;      /* answered by another thread's fetch of the same key */
    uint64_t misses;     /* not in memory (or expired) */
    uint64_t disk_loads; /* misses answered from the disk cache */
    uint64_t fetches;    /* misses that went to the network */
    uint64_t failures;   /* misses that ended in an error */
};

/* The config is copied (disk_dir too); the caller keeps ownership of trusted_root. */
AECS_MUST_CHECK int aecs_collateral_cache_new(const struct aecs_collateral_cache_config *cfg,
                                              struct aecs_collateral_cache **out);
void aecs_collateral_cache_free(struct aecs_collateral_cache *cache);

/*
 * Prepared collateral for a quote at time `now` (seconds since the epoch):
 * from memory when present and not expired, else from the disk cache or the
 * network. On success *out is a reference the caller releases; on failure
 * the message says what failed (the quote's key, the URL, the status, the
 * item).
 */
AECS_MUST_CHECK int aecs_collateral_cache_get(struct aecs_collateral_cache *cache,
                                              const uint8_t *quote, size_t size, int64_t now,
                                              struct aecs_collateral_ref **out);
/* The same for a key already known. */
AECS_MUST_CHECK int aecs_collateral_cache_get_key(struct aecs_collateral_cache *cache,
                                                  const struct aecs_collateral_key *key,
                                                  int64_t now, struct aecs_collateral_ref **out);

/* Borrowed from the reference: valid until it is released. Thread-safe to verify with. */
struct aecs_dcap_prepared *aecs_collateral_ref_prepared(const struct aecs_collateral_ref *ref);
/* The earliest nextUpdate of the entry's collateral. */
int64_t aecs_collateral_ref_next_update(const struct aecs_collateral_ref *ref);
void aecs_collateral_ref_release(struct aecs_collateral_ref *ref);

void aecs_collateral_cache_get_stats(struct aecs_collateral_cache *cache,
                                     struct aecs_collateral_cache_stats *out);

#endif
