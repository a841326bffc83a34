/*
 * kds.h - AMD SEV-SNP collateral from AMD's Key Distribution Service (KDS):
 * the VCEK of a chip at a TCB, and the ASK + ARK of its product line, checked
 * before they are handed out, and kept warm in a cache.
 *
 * Reference: AMD "Versioned Chip Endorsement Key (VCEK) Certificate and KDS
 * Interface Specification" (#57230), chapter 4. Two GETs against the KDS base
 * URL (https://kdsintf.amd.com):
 *
 *   /vcek/v1/{product}/cert_chain     the ASK then the ARK, PEM
 *   /vcek/v1/{product}/{hwid}?blSPL=B&teeSPL=T&snpSPL=S&ucodeSPL=U
 *                                     the VCEK, DER (Turin: fmcSPL=F first, and
 *                                     hwid is the first 8 bytes of CHIP_ID)
 *
 * {product} is Milan, Genoa (also for Bergamo and Siena, which KDS files under
 * Genoa) or Turin; {hwid} is CHIP_ID in lowercase hex; the SPLs are
 * REPORTED_TCB's components in the product's TCB_VERSION layout
 * (aecs_snp_kds_vcek_path builds the path). VLEKs are not served this way:
 * KDS gives them only to registered cloud providers, so a VLEK-signed report
 * needs its vlek.der from the provider.
 *
 * Nothing fetched is trusted for being fetched: the cert_chain must be two
 * certificates whose ARK is AMD's pinned ARK of the product and whose ASK it
 * issued; the VCEK must chain to that ARK through that ASK
 * (aecs_snp_check_chain), be a VCEK of that product with a P-384 key, and
 * carry exactly the hwID and TCB that were asked for. KDS rate-limits clients:
 * an HTTP 429 is waited out for as long as its Retry-After says, up to a bound
 * (max_retry_after_s, a few times), and is a clear error beyond it.
 *
 * The cache keeps checked VCEKs per (product, hwID, TCB) and cert_chains per
 * product, in memory and optionally in a folder (one file per item, written
 * atomically). A VCEK never changes for a given chip and TCB, so an entry is
 * valid until the VCEK's notAfter; a cert_chain until its ASK or ARK expires.
 * What is read back from the folder is checked exactly as a fetch is. One
 * mutex guards the tables and is never held while fetching; threads asking
 * for a key (or a product's chain) being fetched wait for that fetch.
 */
#ifndef AECS_ATTEST_KDS_H
#define AECS_ATTEST_KDS_H

#include <stddef.h>
#include <stdint.h>

#include "attest/snp.h"
#include "base/err.h"
#include "crypto/amd.h"
#include "net/http.h"

#define AECS_KDS_DEFAULT_URL "https://kdsintf.amd.com"
#define AECS_KDS_URL_ENV "AECS_KDS_URL" /* overrides the default (for tests and mirrors) */
#define AECS_KDS_URL_MAX 512
#define AECS_KDS_DEFAULT_MAX_RETRY_AFTER 60 /* seconds */
#define AECS_KDS_DEFAULT_RATE_LIMIT_RETRIES 3
#define AECS_KDS_MAX_RESPONSE (1u << 20) /* a VCEK is ~1.4 KB, a cert_chain ~4.6 KB */

/* Where and how to fetch. */
struct aecs_kds_source {
    char base_url[AECS_KDS_URL_MAX]; /* without a final '/' */
    struct aecs_http_options http;
    unsigned max_retry_after_s;  /* the longest HTTP 429 Retry-After waited out */
    unsigned rate_limit_retries; /* how many HTTP 429 answers are waited out per GET */
};

/*
 * Fills src with `url` (NULL: $AECS_KDS_URL when set and not empty, else
 * AECS_KDS_DEFAULT_URL), a final '/' removed, the default HTTP options with a
 * response cap of AECS_KDS_MAX_RESPONSE, and the default 429 bounds.
 * AECS_E_INVALID_ARGUMENT for a URL that is not http(s) or too long.
 */
AECS_MUST_CHECK int aecs_kds_source_init(struct aecs_kds_source *src, const char *url);

/* What one VCEK is for. */
struct aecs_kds_key {
    enum aecs_amd_product product;
    size_t hwid_size; /* 64 (Milan, Genoa) or 8 (Turin) */
    uint8_t hwid[AECS_AMD_HWID_MAX];
    uint8_t tcb[8]; /* REPORTED_TCB as the report stores it */
    char path[256]; /* its KDS path, from aecs_snp_kds_vcek_path */
};

/*
 * The product line whose VCEK signs a report: the one its CPUID fields name
 * (versions 3 and later), else `given`. AECS_E_USAGE when neither names one
 * (a version 2 report needs it given), AECS_E_MISMATCH when both do and
 * differ.
 */
AECS_MUST_CHECK int aecs_kds_report_product(const struct aecs_snp_report *r,
                                            enum aecs_amd_product given,
                                            enum aecs_amd_product *out);

/*
 * The key of a report's VCEK, the product resolved by aecs_kds_report_product.
 * AECS_E_USAGE / AECS_E_MISMATCH as there; AECS_E_INVALID_ARGUMENT for a
 * report KDS has no VCEK for (VLEK-signed, or CHIP_ID masked).
 */
AECS_MUST_CHECK int aecs_kds_key_from_report(const struct aecs_snp_report *r,
                                             enum aecs_amd_product given, struct aecs_kds_key *key);

/* "Milan-<hwid hex>-<tcb hex>": the key in messages and disk file names (needs 160 bytes). */
#define AECS_KDS_KEY_NAME_MAX 160
void aecs_kds_key_format(const struct aecs_kds_key *key, char out[AECS_KDS_KEY_NAME_MAX]);

/*
 * Seconds to wait for an HTTP Retry-After value: delta-seconds ("120") or an
 * HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", 0 when already past `now`).
 * AECS_E_FORMAT for anything else.
 */
AECS_MUST_CHECK int aecs_kds_parse_retry_after(const char *value, int64_t now, int64_t *seconds);

/*
 * A checked VCEK with its product's cert_chain: immutable, reference counted
 * (aecs_kds_vcek_ref / aecs_kds_vcek_release), safe to share between threads.
 */
struct aecs_kds_vcek;

/*
 * Checks a VCEK (DER or PEM) and a cert_chain (PEM, ASK then ARK) against
 * `key` as described at the top. AECS_E_FORMAT when something does not parse
 * or is not what it should be (two certificates, a VCEK rather than a VLEK),
 * AECS_E_UNTRUSTED when the ARK is not the pinned one or a link does not
 * verify, AECS_E_MISMATCH when the VCEK is for another product, chip or TCB
 * (the message names the component). The caller releases *out.
 */
AECS_MUST_CHECK int aecs_kds_vcek_check(const struct aecs_kds_key *key, const uint8_t *vcek,
                                        size_t vcek_size, const uint8_t *chain, size_t chain_size,
                                        struct aecs_kds_vcek **out);

/*
 * Fetches the product's cert_chain and the key's VCEK from `src` and checks
 * them (no cache). On failure the message names the item, the URL and what
 * went wrong: the HTTP status (404: KDS has no such VCEK), a 429 beyond the
 * bound, a body that does not parse, a check that failed.
 */
AECS_MUST_CHECK int aecs_kds_fetch(const struct aecs_kds_source *src,
                                   const struct aecs_kds_key *key, struct aecs_kds_vcek **out);

struct aecs_kds_vcek *aecs_kds_vcek_ref(struct aecs_kds_vcek *v);
void aecs_kds_vcek_release(struct aecs_kds_vcek *v);
const struct aecs_kds_key *aecs_kds_vcek_key(const struct aecs_kds_vcek *v);
/* The VCEK as DER, and the cert_chain as received (borrowed from v). */
const uint8_t *aecs_kds_vcek_der(const struct aecs_kds_vcek *v, size_t *size);
const uint8_t *aecs_kds_vcek_chain_pem(const struct aecs_kds_vcek *v, size_t *size);
int64_t aecs_kds_vcek_not_after(const struct aecs_kds_vcek *v);
/* The certificates as aecs_snp_verify takes them (VCEK, ASK, ARK; borrowed from v). */
const struct aecs_snp_collateral *aecs_kds_vcek_collateral(const struct aecs_kds_vcek *v);

/*
 * Writes vcek.der and cert_chain.pem into folder `dir`, the folder
 * `aecs quote verify --collateral` reads, with nothing half-written: the
 * files go into a fresh folder beside `dir` that is synced and renamed into
 * place (an existing `dir` is swapped out atomically, then removed). An
 * existing `dir` may only hold SNP collateral files (vcek.der, vlek.der,
 * ask.pem, ark.pem, cert_chain.pem); anything else is refused (AECS_E_USAGE),
 * so no user file is deleted. On failure `dir` is untouched.
 */
AECS_MUST_CHECK int aecs_kds_dir_write(const char *dir, const struct aecs_kds_vcek *v);

/* ---- the cache ---- */

#define AECS_KDS_CACHE_DEFAULT_ENTRIES 256
#define AECS_KDS_CACHE_DEFAULT_REFETCH 60

struct aecs_kds_cache_config {
    struct aecs_kds_source source; /* aecs_kds_source_init */
    const char *disk_dir;          /* optional folder for the cache (created if missing) */
    int64_t min_refetch_interval;  /* seconds between fetches of an expired VCEK; 0: default */
    size_t max_entries;            /* VCEKs kept in memory; 0: default */
};

struct aecs_kds_cache_stats {
    uint64_t hits;          /* VCEKs answered from memory */
    uint64_t waits;         /* answered by another thread's fetch of the same key */
    uint64_t misses;        /* VCEKs not in memory (or expired) */
    uint64_t disk_loads;    /* VCEK misses answered from the disk folder */
    uint64_t vcek_fetches;  /* VCEK GETs that were made (successful or not) */
    uint64_t chain_fetches; /* cert_chain GETs that were made */
    uint64_t failures;      /* misses that ended in an error */
};

struct aecs_kds_cache;

/* The config is copied (disk_dir too). */
AECS_MUST_CHECK int aecs_kds_cache_new(const struct aecs_kds_cache_config *cfg,
                                       struct aecs_kds_cache **out);
/* Must not run while another thread is inside aecs_kds_cache_get on it. */
void aecs_kds_cache_free(struct aecs_kds_cache *cache);

/*
 * The checked VCEK (with its cert_chain) for `key` at time `now`: from
 * memory while it is valid (now < the VCEK's notAfter), else from the disk
 * folder, else from KDS. A failure is not cached: the next get tries again.
 * On success the caller releases *out (it stays valid after the cache
 * replaced the entry or was freed).
 */
AECS_MUST_CHECK int aecs_kds_cache_get(struct aecs_kds_cache *cache, const struct aecs_kds_key *key,
                                       int64_t now, struct aecs_kds_vcek **out);

void aecs_kds_cache_get_stats(struct aecs_kds_cache *cache, struct aecs_kds_cache_stats *out);

#endif
