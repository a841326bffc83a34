/*
 * verifier.h - one evidence verifier for the key service (aecsd) and its
 * clients: evidence bytes in, claims (policy/claims.h) or a refusal out.
 *
 * It takes Intel DCAP quotes (SGX v3, TDX v4/v5), AMD SEV-SNP reports and
 * quotes of the simulated TEE (`aecs sim`), tells them apart by their first
 * bytes (aecs_evidence_detect), verifies them with the existing code
 * (aecs_dcap_verify on prepared collateral, aecs_snp_verify) and makes claims
 * only from a verdict that verified (aecs_claims_from_dcap/_snp). A verified
 * quote whose TCB is not UpToDate (SWHardeningNeeded, ConfigurationNeeded,
 * OutOfDate, ...) gives claims carrying that status: the policy decides.
 * Expired or not-yet-valid collateral, revoked certificates or TCB levels,
 * bad signatures, identities that do not match: refusals.
 *
 * Where collateral comes from:
 *   Intel quotes   the offline folder (collateral_dir) first: either one
 *                  folder for one platform (the files `aecs quote verify
 *                  --collateral` reads, as `aecs collateral fetch` writes
 *                  them) or one sub-folder per key named as the collateral
 *                  cache names them ("sgx-processor-00a067110000/"); then,
 *                  when the folder has none for the quote or it has expired,
 *                  the PCCS/PCS (pccs_url or pcs_source) through the
 *                  collateral cache, with its optional disk folder.
 *   sim quotes     only the sim folder's own collateral (collateral/ for SGX,
 *                  collateral-tdx/ for TDX), checked against the sim root.
 *                  A quote that chains to an aecs simulator root is refused
 *                  unless that very root was configured (sim_root_file), and
 *                  its claims say `sim`. Intel quotes never use sim
 *                  collateral, and sim quotes never use Intel's.
 *   SEV-SNP        the SNP folder (snp_collateral_dir: vcek.der with
 *                  cert_chain.pem or ask.pem/ark.pem, as `aecs collateral
 *                  fetch` writes them, or one such sub-folder per VCEK), then
 *                  AMD's KDS through the KDS cache when use_kds is set.
 *
 * Caches, so that a warm verification costs about one ECDSA verify plus
 * hashing: collateral is prepared (aecs_dcap_prepare) once per key and kept
 * until its earliest nextUpdate (an expired offline folder is read again, at
 * most once per min_reload_interval); the platform part of a quote (PCK
 * chain, CRLs, QE report) is cached inside the prepared collateral (dcap.h);
 * the route of a quote (which root it chains to, its collateral key) is
 * remembered by the SHA-256 of its certification data, so certificates are
 * parsed only the first time a platform is seen.
 *
 * Threads: aecs_verifier_verify() may be called by any number of threads at
 * once on one verifier. One mutex guards the verifier's small tables (routes
 * and prepared collateral) and is never held while reading folders,
 * fetching, preparing or verifying; a thread asking for collateral another
 * thread is loading waits for that load. Prepared collateral is reference
 * counted, so a verification in progress keeps what it uses even when
 * another thread replaces it. aecs_verifier_free() must not run while any
 * thread is inside aecs_verifier_verify() on the same verifier.
 *
 * Ownership: the config is copied by aecs_verifier_new (strings included);
 * the caller keeps its own. Claims and failures are filled by value and
 * borrow nothing from the verifier or the evidence, except that the `const
 * char *` members of struct aecs_verify_failure point to static strings.
 */
#ifndef AECS_ATTEST_VERIFIER_H
#define AECS_ATTEST_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "attest/evidence.h"
#include "base/err.h"
#include "crypto/amd.h"
#include "policy/claims.h"

/* Pass as `now` to verify at the configured clock's time. */
#define AECS_VERIFIER_NOW 0
/* Evidence larger than this is refused before it is parsed. */
#define AECS_VERIFIER_MAX_EVIDENCE (1u << 20)
#define AECS_VERIFIER_DEFAULT_RELOAD 60 /* seconds */

struct aecs_pcs_source; /* attest/collateral_fetch.h */

struct aecs_verifier_config {
    /* ---- Intel DCAP ---- */
    /* The trusted Intel root CA (DER or PEM file); NULL: Intel's production root, pinned in
       intel_root.c. An aecs simulator root is refused here: give it as sim_root_file. */
    const char *intel_root_file;
    /* Offline collateral: one platform's folder, or one sub-folder per key. NULL: none. */
    const char *collateral_dir;
    /* A PCCS or Intel PCS URL (aecs_pcs_source_from_url), or a full source (for example
       aecs_pcs_source_from_qcnl; copied). At most one of them; both NULL: no fetching. */
    const char *pccs_url;
    const struct aecs_pcs_source *pcs_source;
    /* Disk folder of the collateral cache for fetched collateral (created if missing). */
    const char *collateral_cache_dir;

    /* ---- the aecs simulator (tests and demos only) ---- */
    /* root.der of an `aecs sim init` folder. NULL: every sim quote is refused. */
    const char *sim_root_file;
    /* The sim folder whose collateral/ and collateral-tdx/ are used; NULL: the folder that
       holds sim_root_file. */
    const char *sim_dir;

    /* ---- AMD SEV-SNP ---- */
    /* vcek.der (or vlek.der) with cert_chain.pem or ask.pem + ark.pem, or one such
       sub-folder per VCEK. Read once by aecs_verifier_new. NULL: none. */
    const char *snp_collateral_dir;
    /* Fetch VCEKs that the folder does not hold from AMD's KDS (kds.h). */
    int use_kds;
    const char *kds_url;       /* NULL: $AECS_KDS_URL when set, else AMD's */
    const char *kds_cache_dir; /* disk folder of the KDS cache (optional) */
    /* The product line of version 2 reports, which name none (KDS needs it). UNKNOWN: such
       reports are verified only with offline collateral. */
    enum aecs_amd_product snp_product;

    /* ---- time ---- */
    /* The clock used when verify is given AECS_VERIFIER_NOW; NULL: the system clock. */
    int64_t (*now)(void *arg);
    void *now_arg;
    /* Seconds between reads of an offline folder whose collateral has expired;
       0: AECS_VERIFIER_DEFAULT_RELOAD. */
    int64_t min_reload_interval;
};

/*
 * Why evidence was refused. `stage` is one of parse, collateral, chain,
 * signature, identity, tcb, expiry, internal. `status` and `code_name` are:
 *   DCAP     Intel's QVL status ("STATUS_TCB_REVOKED") and QvE's
 *            quote3_error_t name and value ("SGX_QL_TCB_REVOKED", 0xE032),
 *            with QvE's qv_result (0xA005) and the TCB status when one was
 *            found (for expired collateral, the status the quote had).
 *   SNP      the SNP_* code (snp.h) in both, its enum value in `code`.
 *   verifier AECS_EVIDENCE_UNKNOWN, AECS_EVIDENCE_TOO_LARGE (parse),
 *            AECS_SIM_ROOT_UNTRUSTED (chain), AECS_COLLATERAL_UNAVAILABLE
 *            (collateral: none configured, none in the folder, the fetch
 *            failed), AECS_INTERNAL_ERROR; `code` 0.
 * `message` is one line a user can act on.
 */
struct aecs_verify_failure {
    int err;                      /* what aecs_verifier_verify returned */
    enum aecs_evidence_kind kind; /* what the evidence was taken for */
    const char *stage;
    const char *status;
    uint32_t code;
    const char *code_name;
    uint16_t qv_result;      /* DCAP only; 0 otherwise */
    const char *tcb_status;  /* DCAP: "Revoked", "UpToDate", ... when found; else NULL */
    int collateral_expired;  /* the verification time is outside the collateral's validity */
    char message[512];
};

struct aecs_verifier_stats {
    uint64_t verified;     /* verifications that gave claims */
    uint64_t refused;      /* verifications that did not */
    uint64_t routes;       /* quotes whose PCK chain was parsed to route them (route misses) */
    uint64_t folder_loads; /* offline or sim collateral folders read and prepared */
    uint64_t folder_waits; /* gets that waited for another thread's load of the same folder */
};

struct aecs_verifier;

/*
 * Makes a verifier. Reads the root files and the SNP folder now (errors name
 * the file); collateral folders are only checked to exist and are read on
 * first use. Fails with AECS_E_USAGE/AECS_E_INVALID_ARGUMENT for a config
 * that contradicts itself (both pccs_url and pcs_source, an Intel root that
 * is a sim root, a sim root that is not one), AECS_E_NOT_FOUND/AECS_E_FORMAT
 * for files. On success the caller frees *out with aecs_verifier_free.
 */
AECS_MUST_CHECK int aecs_verifier_new(const struct aecs_verifier_config *cfg,
                                      struct aecs_verifier **out);
void aecs_verifier_free(struct aecs_verifier *v);

/*
 * Verifies evidence[0..size) at time `now` (seconds since the epoch;
 * AECS_VERIFIER_NOW: the config's clock) and fills *claims. Returns AECS_OK
 * with claims (and *why zeroed), or an error with *claims zeroed and *why
 * filled (why may be NULL; the message is also the thread's aecs_err_last()):
 *   AECS_E_FORMAT     unknown evidence, or a quote/report that does not parse
 *   AECS_E_TOO_LARGE  more than AECS_VERIFIER_MAX_EVIDENCE bytes
 *   AECS_E_NOT_FOUND  no collateral for it here (none configured, none in the folder)
 *   AECS_E_IO         its collateral could not be fetched
 *   AECS_E_EXPIRED    the collateral (or SNP certificate chain) is not valid at `now`
 *   AECS_E_REVOKED    a certificate or the TCB level is revoked
 *   AECS_E_UNTRUSTED  any other refusal (chain, signature, identity, TCB, sim root)
 *   AECS_E_NO_MEMORY, AECS_E_INTERNAL
 * Thread-safe (see the top of this file).
 */
AECS_MUST_CHECK int aecs_verifier_verify(struct aecs_verifier *v, const uint8_t *evidence,
                                         size_t size, int64_t now, struct aecs_claims *claims,
                                         struct aecs_verify_failure *why);

void aecs_verifier_get_stats(struct aecs_verifier *v, struct aecs_verifier_stats *out);

#endif
