/*
 * collateral_fetch.h - getting Intel DCAP collateral for a quote from a PCCS
 * or Intel's PCS (API v4, and v3 where the paths are the same), and keeping
 * it in a folder that `aecs quote verify --collateral` reads.
 *
 * What a quote needs is named by a key: the TEE (SGX or TDX, from the quote),
 * the PCK CA (processor or platform, from the PCK CA certificate in the
 * quote's chain) and the FMSPC (from the PCK certificate's SGX extension).
 * Four GETs fetch it, each checked before anything is kept:
 *
 *   root CA CRL   PCCS: <base>rootcacrl (DER or hex); Intel PCS: the CRL
 *                 distribution point of the Intel SGX Root CA
 *   PCK CRL       <base>pckcrl?ca=processor|platform&encoding=der,
 *                 issuer chain in SGX-PCK-CRL-Issuer-Chain
 *   TCB Info      <base>tcb?fmspc=<FMSPC>, issuer chain in TCB-Info-Issuer-Chain
 *                 (v4) or SGX-TCB-Info-Issuer-Chain (v3)
 *   QE Identity   <base>qe/identity, issuer chain in SGX-Enclave-Identity-Issuer-Chain
 *
 * <base> is the collateral service URL (".../sgx/certification/v4/"); for TDX
 * the TCB Info and QE Identity come from the same URL with /sgx/ replaced by
 * /tdx/, as Intel's QCNL does. Issuer chains are URL-encoded PEM.
 */
#ifndef AECS_ATTEST_COLLATERAL_FETCH_H
#define AECS_ATTEST_COLLATERAL_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "attest/collateral.h"
#include "attest/qcnl.h"
#include "base/err.h"
#include "net/http.h"

enum aecs_tee_kind { AECS_TEE_SGX = 1, AECS_TEE_TDX = 2 };
enum aecs_pck_ca_kind { AECS_PCK_CA_PROCESSOR = 1, AECS_PCK_CA_PLATFORM = 2 };

/* What collateral a quote needs. */
struct aecs_collateral_key {
    enum aecs_tee_kind tee;
    enum aecs_pck_ca_kind ca;
    uint8_t fmspc[6];
};

/* "sgx" / "tdx" and "processor" / "platform". */
const char *aecs_tee_kind_name(enum aecs_tee_kind tee);
const char *aecs_pck_ca_kind_name(enum aecs_pck_ca_kind ca);
/* "sgx-processor-00a067110000": also the key's folder name in a disk cache. */
void aecs_collateral_key_format(const struct aecs_collateral_key *key, char out[40]);

/*
 * Reads the key from a quote that carries its PCK certificate chain
 * (certification data type 5). AECS_E_UNSUPPORTED for other quotes, with a
 * message saying why; AECS_E_FORMAT when the chain or its extension does not
 * parse.
 */
AECS_MUST_CHECK int aecs_collateral_key_from_quote(const uint8_t *quote, size_t size,
                                                   struct aecs_collateral_key *key);

/* Where collateral is fetched from, and how. */
struct aecs_pcs_source {
    char base_url[AECS_QCNL_URL_MAX]; /* ends in '/' */
    struct aecs_http_options http;
};

/*
 * A source for a URL given by a user: a collateral service URL such as
 * https://pccs:8081/sgx/certification/v4/ is taken as it is (a missing final
 * '/' is added); a URL without a ".../certification/..." path, such as
 * https://pccs:8081, gets "/sgx/certification/v4/". HTTP options are the
 * defaults (TLS verification on, no retries).
 */
AECS_MUST_CHECK int aecs_pcs_source_from_url(const char *url, struct aecs_pcs_source *out);

/*
 * A source as Intel's library would use the configuration: the collateral
 * URL (collateral_service, else pccs_url), use_secure_cert (false disables
 * TLS verification: INSECURE, warned about when the file was loaded),
 * retry_times and retry_delay.
 */
AECS_MUST_CHECK int aecs_pcs_source_from_qcnl(const struct aecs_qcnl *qcnl,
                                              struct aecs_pcs_source *out);

/* The fetched items, in the order they are fetched and named in folders. */
enum aecs_collateral_item {
    AECS_ITEM_ROOT_CA_CRL = 0,
    AECS_ITEM_PCK_CRL,
    AECS_ITEM_PCK_CRL_ISSUER_CHAIN,
    AECS_ITEM_TCB_INFO,
    AECS_ITEM_TCB_INFO_ISSUER_CHAIN,
    AECS_ITEM_QE_IDENTITY,
    AECS_ITEM_QE_IDENTITY_ISSUER_CHAIN,
    AECS_ITEM_COUNT
};

/* "root_ca_crl.der", "pck_crl.der", "pck_crl_issuer_chain.pem", "tcb_info.json", ... */
const char *aecs_collateral_item_file(enum aecs_collateral_item item);

/*
 * Fetched collateral as bytes: the CRLs as DER (hex answers are decoded), the
 * TCB Info and QE Identity as the PCS response bodies as received, the issuer
 * chains as PEM.
 */
struct aecs_fetched_collateral {
    struct aecs_collateral_key key;
    struct {
        uint8_t *data;
        size_t size;
    } item[AECS_ITEM_COUNT];
};

/*
 * Fetches everything `key` needs from `src`. Every item is parsed and checked
 * (the TCB Info is for this FMSPC and TEE, the QE Identity is the right
 * enclave's) before the call succeeds. On failure nothing is returned and the
 * message says which item, which URL, and what went wrong (the HTTP status, a
 * missing header, a body that does not parse).
 */
AECS_MUST_CHECK int aecs_collateral_fetch(const struct aecs_pcs_source *src,
                                          const struct aecs_collateral_key *key,
                                          struct aecs_fetched_collateral **out);
void aecs_fetched_collateral_free(struct aecs_fetched_collateral *f);

/*
 * Builds collateral from fetched bytes and checks it as aecs_collateral_fetch
 * does (strictly: any item that does not parse, or that is for another
 * platform, is an error naming it). The caller owns *out.
 */
AECS_MUST_CHECK int aecs_fetched_collateral_parse(const struct aecs_fetched_collateral *f,
                                                  struct aecs_collateral **out);

/*
 * Writes fetched collateral to folder `dir` with nothing half-written: the
 * files go into a fresh folder beside `dir`, which is synced and then renamed
 * into place (an existing `dir` is swapped out atomically and removed). An
 * existing `dir` may only hold collateral files (those above and the
 * split .body.json + .sig.hex forms); anything else is refused, so no user file is
 * ever deleted. On failure `dir` is untouched.
 */
AECS_MUST_CHECK int aecs_collateral_dir_write(const char *dir,
                                              const struct aecs_fetched_collateral *f);

/* Reads what aecs_collateral_dir_write wrote (the key is not read: set it yourself). */
AECS_MUST_CHECK int aecs_collateral_dir_read(const char *dir, struct aecs_fetched_collateral **out);

#endif
