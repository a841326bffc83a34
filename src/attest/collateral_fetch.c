/*
 * collateral_fetch.c - see collateral_fetch.h.
 *
 * Each item is one GET: the status must be 200, the issuer chain header (when
 * the item has one) must be there and decode to PEM certificates, and the body
 * must parse as what it should be. Only when all four items passed is the
 * result handed back. Folders are written beside their final place and
 * renamed into it, so a reader sees the old collateral or the new, never half.
 */
#include "attest/collateral_fetch.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/collateral_mem.h"
#include "attest/quote.h"
#include "base/codec.h"
#include "base/dirset.h"
#include "base/file.h"
#include "base/log.h"
#include "crypto/x509.h"

#define MAX_ITEM_FILE (4u << 20)
/* The CRL distribution point of the Intel SGX Root CA, used when the source is Intel's PCS. */
#define INTEL_ROOT_CA_CRL_URL "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

static const char *const k_item_files[AECS_ITEM_COUNT] = {
    [AECS_ITEM_ROOT_CA_CRL] = "root_ca_crl.der",
    [AECS_ITEM_PCK_CRL] = "pck_crl.der",
    [AECS_ITEM_PCK_CRL_ISSUER_CHAIN] = "pck_crl_issuer_chain.pem",
    [AECS_ITEM_TCB_INFO] = "tcb_info.json",
    [AECS_ITEM_TCB_INFO_ISSUER_CHAIN] = "tcb_info_issuer_chain.pem",
    [AECS_ITEM_QE_IDENTITY] = "qe_identity.json",
    [AECS_ITEM_QE_IDENTITY_ISSUER_CHAIN] = "qe_identity_issuer_chain.pem",
};

/* Files an existing collateral folder may hold besides the ones above. */
static const char *const k_other_collateral_files[] = {
    "tcb_info.body.json", "tcb_info.sig.hex", "qe_identity.body.json", "qe_identity.sig.hex",
};

const char *aecs_collateral_item_file(enum aecs_collateral_item item)
{
    return (unsigned)item < AECS_ITEM_COUNT ? k_item_files[item] : "?";
}

const char *aecs_tee_kind_name(enum aecs_tee_kind tee)
{
    switch (tee) {
    case AECS_TEE_SGX:
        return "sgx";
    case AECS_TEE_TDX:
        return "tdx";
    default:
        return "unknown";
    }
}

const char *aecs_pck_ca_kind_name(enum aecs_pck_ca_kind ca)
{
    switch (ca) {
    case AECS_PCK_CA_PROCESSOR:
        return "processor";
    case AECS_PCK_CA_PLATFORM:
        return "platform";
    default:
        return "unknown";
    }
}

void aecs_collateral_key_format(const struct aecs_collateral_key *key, char out[40])
{
    char hex[13];

    aecs_hex_encode(key->fmspc, 6, hex);
    snprintf(out, 40, "%s-%s-%s", aecs_tee_kind_name(key->tee), aecs_pck_ca_kind_name(key->ca),
             hex);
}

/* ---- the key of a quote ---- */

int aecs_collateral_key_from_quote(const uint8_t *quote, size_t size,
                                   struct aecs_collateral_key *key)
{
    int rc = AECS_OK;
    struct aecs_quote q;
    struct aecs_certs *chain = NULL;
    struct aecs_sgx_ext ext;
    char cn[128];

    memset(key, 0, sizeof(*key));
    GUARD(aecs_quote_parse(quote, size, &q));
    ENSURE(q.cert_type == 5, AECS_E_UNSUPPORTED,
           "the quote carries certification data type %u, not its PCK certificate chain "
           "(type 5): the FMSPC and PCK CA that name its collateral are not in it",
           q.cert_type);
    if (aecs_certs_parse(q.cert_data, q.cert_size, &chain) != AECS_OK ||
        aecs_certs_order_chain(chain) != AECS_OK) {
        aecs_err_prefix("the quote's PCK certificate chain: ");
        rc = aecs_err_last()->code;
        goto out;
    }
    ENSURE_OUT(aecs_certs_count(chain) >= 2, AECS_E_FORMAT,
               "the quote's PCK certificate chain has %zu certificate(s); expected the PCK, "
               "the PCK CA and the root", aecs_certs_count(chain));
    aecs_cert_subject_cn(aecs_certs_get(chain, 1), cn, sizeof(cn));
    if (strstr(cn, "Processor") != NULL)
        key->ca = AECS_PCK_CA_PROCESSOR;
    else if (strstr(cn, "Platform") != NULL)
        key->ca = AECS_PCK_CA_PLATFORM;
    else
        BAIL_OUT(AECS_E_FORMAT,
                 "the PCK CA certificate (CN '%.60s') is neither a Processor nor a Platform CA",
                 cn);
    if (aecs_sgx_ext_parse_cert(aecs_certs_get(chain, 0), &ext) != AECS_OK) {
        aecs_err_prefix("the quote's PCK certificate: ");
        rc = aecs_err_last()->code;
        goto out;
    }
    memcpy(key->fmspc, ext.fmspc, 6);
    key->tee = q.body_type == AECS_BODY_SGX ? AECS_TEE_SGX : AECS_TEE_TDX;
out:
    aecs_certs_free(chain);
    return rc;
}

/* ---- sources ---- */

static int set_base(struct aecs_pcs_source *out, const char *url, const char *suffix)
{
    size_t len = strlen(url);
    int slash = len > 0 && url[len - 1] == '/';
    int n;

    ENSURE(aecs_http_url_allowed(url), AECS_E_INVALID_ARGUMENT,
           "'%.200s' is not an http:// or https:// URL", url);
    if (suffix != NULL)
        n = snprintf(out->base_url, sizeof(out->base_url), "%s%s%s", url, slash ? "" : "/",
                     suffix);
    else
        n = snprintf(out->base_url, sizeof(out->base_url), "%s%s", url, slash ? "" : "/");
    ENSURE(n > 0 && (size_t)n < sizeof(out->base_url), AECS_E_INVALID_ARGUMENT,
           "URL too long: %.100s...", url);
    return AECS_OK;
}

int aecs_pcs_source_from_url(const char *url, struct aecs_pcs_source *out)
{
    memset(out, 0, sizeof(*out));
    aecs_http_options_init(&out->http);
    ENSURE(url != NULL && url[0] != '\0', AECS_E_INVALID_ARGUMENT, "no PCCS URL given");
    /* A URL whose path names no API (https://pccs:8081) gets the v4 SGX API's path. */
    const char *path = strstr(url, "://");
    path = path ? strpbrk(path + 3, "/?") : NULL;
    if (path != NULL && strstr(path, "/certification/") != NULL)
        return set_base(out, url, NULL);
    return set_base(out, url, "sgx/certification/v4/");
}

int aecs_pcs_source_from_qcnl(const struct aecs_qcnl *qcnl, struct aecs_pcs_source *out)
{
    memset(out, 0, sizeof(*out));
    aecs_http_options_init(&out->http);
    GUARD(set_base(out, qcnl->collateral_url, NULL));
    out->http.tls_verify_disabled_insecure = !qcnl->use_secure_cert;
    out->http.retry_times = qcnl->retry_times;
    out->http.retry_delay_ms = qcnl->retry_delay * 1000u;
    return AECS_OK;
}

static int is_intel_pcs(const char *url)
{
    const char *host = strstr(url, "://");
    const char *end;

    if (host == NULL)
        return 0;
    host += 3;
    end = strpbrk(host, "/:?");
    size_t len = end ? (size_t)(end - host) : strlen(host);
    static const char pcs[] = "trustedservices.intel.com";
    return len >= sizeof(pcs) - 1 && strncasecmp(host + len - (sizeof(pcs) - 1), pcs,
                                                 sizeof(pcs) - 1) == 0;
}

/* The base URL for the key's TEE: /sgx/ becomes /tdx/ for TDX, as Intel's QCNL does. */
static int tee_base(const struct aecs_pcs_source *src, enum aecs_tee_kind tee, char *out,
                    size_t size)
{
    snprintf(out, size, "%s", src->base_url);
    if (tee == AECS_TEE_SGX)
        return AECS_OK;
    char *p = strstr(out, "/sgx/");
    ENSURE(p != NULL, AECS_E_INVALID_ARGUMENT,
           "cannot derive the TDX collateral URL from %.200s: it has no /sgx/ to replace with "
           "/tdx/", src->base_url);
    memcpy(p, "/tdx/", 5);
    return AECS_OK;
}

/* ---- one item ---- */


/* Copies a short piece of untrusted text, with anything unprintable shown as '?'. */
static void printable(const char *in, size_t len, char *out, size_t size)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 1 < size; i++)
        out[n++] = isspace((unsigned char)in[i]) ? ' ' : isprint((unsigned char)in[i]) ? in[i] : '?';
    out[n] = '\0';
}

static int all_hex(const uint8_t *p, size_t size)
{
    while (size > 0 && isspace(p[size - 1]))
        size--;
    if (size == 0 || size % 2 != 0)
        return 0;
    for (size_t i = 0; i < size; i++) {
        if (!isxdigit(p[i]))
            return 0;
    }
    return 1;
}

/* A CRL answer as DER: hex text (PCCS API 3.0) is decoded, DER and PEM are kept. */
static int crl_bytes(const char *what, const char *url, uint8_t **body, size_t *size)
{
    struct aecs_crl *crl = NULL;

    if (all_hex(*body, *size)) {
        size_t len = *size;
        size_t der_size = 0;
        while (len > 0 && isspace((*body)[len - 1]))
            len--;
        uint8_t *der = malloc(len / 2 + 1);
        ENSURE(der != NULL, AECS_E_NO_MEMORY, "out of memory");
        if (aecs_hex_decode((const char *)*body, len, der, len / 2, &der_size) != AECS_OK) {
            free(der);
            return AECS_ERR(AECS_E_FORMAT, "%s from %.200s: bad hex", what, url);
        }
        free(*body);
        *body = der;
        *size = der_size;
    }
    if (aecs_crl_parse(*body, *size, &crl) != AECS_OK) {
        aecs_err_prefix("%s from %.200s: the response is not a CRL: ", what, url);
        return AECS_E_FORMAT;
    }
    aecs_crl_free(crl);
    return AECS_OK;
}

/* The issuer chain from a response header (any of `names`), URL-decoded and checked as PEM. */
static int chain_header(const struct aecs_http_response *r, const char *const *names,
                        const char *what, const char *url, uint8_t **out, size_t *out_size)
{
    char *enc = NULL;
    char *pem = NULL;
    size_t pem_size = 0;
    struct aecs_certs *certs = NULL;
    const char *found = NULL;

    for (size_t i = 0; names[i] != NULL && enc == NULL; i++) {
        if (aecs_http_header(r, names[i], &enc) == AECS_OK)
            found = names[i];
        else if (aecs_err_last()->code != AECS_E_NOT_FOUND)
            return aecs_err_last()->code;
    }
    ENSURE(enc != NULL, AECS_E_FORMAT,
           "%s from %.200s: the response has no %s header (the issuer chain)", what, url,
           names[0]);
    int rc = aecs_url_decode(enc, strlen(enc), &pem, &pem_size);
    free(enc);
    if (rc != AECS_OK) {
        aecs_err_prefix("%s from %.200s: header %s: ", what, url, found);
        return rc;
    }
    if (aecs_certs_parse((const uint8_t *)pem, pem_size, &certs) != AECS_OK ||
        aecs_certs_order_chain(certs) != AECS_OK) {
        aecs_certs_free(certs);
        free(pem);
        aecs_err_prefix("%s from %.200s: header %s is not a PEM certificate chain: ", what, url,
                        found);
        return AECS_E_FORMAT;
    }
    aecs_certs_free(certs);
    *out = (uint8_t *)pem;
    *out_size = pem_size;
    return AECS_OK;
}

/* GETs url and insists on 200 with a body; the message names the item and the URL. */
static int get_ok(const struct aecs_pcs_source *src, const char *what, const char *url,
                  struct aecs_http_response *r)
{
    char detail[160] = "";
    char *msg = NULL;

    log_info("fetching the %s: GET %.200s", what, url);
    if (aecs_http_get(url, &src->http, r) != AECS_OK) {
        aecs_err_prefix("fetching the %s: ", what);
        return aecs_err_last()->code;
    }
    if (r->status == 200 && r->body_size > 0)
        return AECS_OK;
    /* Intel's PCS and PCCS say why in an Error-Message header (or the body). */
    if (aecs_http_header(r, "Error-Message", &msg) == AECS_OK) {
        char clean[120];
        printable(msg, strlen(msg), clean, sizeof(clean));
        snprintf(detail, sizeof(detail), ": %s", clean);
        free(msg);
    } else if (r->body_size > 0) {
        char clean[120];
        printable((const char *)r->body, r->body_size, clean, sizeof(clean));
        snprintf(detail, sizeof(detail), ": %s", clean);
    }
    long status = r->status;
    aecs_http_response_free(r);
    if (status == 200)
        return AECS_ERR(AECS_E_FORMAT, "fetching the %s: GET %.200s: HTTP 200 with an empty body",
                        what, url);
    return AECS_ERR(status == 404 ? AECS_E_NOT_FOUND : AECS_E_IO,
                    "fetching the %s: GET %.200s: HTTP %ld%s%s", what, url, status,
                    status == 404 ? " (the service has no such collateral)" : "", detail);
}

static int take_body(struct aecs_http_response *r, uint8_t **data, size_t *size)
{
    *data = r->body;
    *size = r->body_size;
    r->body = NULL;
    r->body_size = 0;
    return AECS_OK;
}

/* A signed document's body: a PCS response that splits and parses as `member`. */
static int check_signed(const char *what, const char *url, const char *member,
                        const uint8_t *body, size_t size)
{
    const uint8_t *inner;
    size_t inner_size;
    uint8_t sig[64];

    if (aecs_pcs_split(body, size, member, &inner, &inner_size, sig) != AECS_OK) {
        aecs_err_prefix("%s from %.200s: ", what, url);
        return AECS_E_FORMAT;
    }
    return AECS_OK;
}

void aecs_fetched_collateral_free(struct aecs_fetched_collateral *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < AECS_ITEM_COUNT; i++)
        free(f->item[i].data);
    free(f);
}

int aecs_collateral_fetch(const struct aecs_pcs_source *src, const struct aecs_collateral_key *key,
                          struct aecs_fetched_collateral **out)
{
    int rc = AECS_OK;
    struct aecs_fetched_collateral *f = NULL;
    struct aecs_http_response r = {0};
    struct aecs_collateral *col = NULL;
    char base[AECS_QCNL_URL_MAX];
    char url[AECS_QCNL_URL_MAX + 64];
    char fmspc[13];
    static const char *const crl_chain_headers[] = {"SGX-PCK-CRL-Issuer-Chain", NULL};
    static const char *const tcb_chain_headers[] = {"TCB-Info-Issuer-Chain",
                                                    "SGX-TCB-Info-Issuer-Chain", NULL};
    static const char *const qe_chain_headers[] = {"SGX-Enclave-Identity-Issuer-Chain",
                                                   "Enclave-Identity-Issuer-Chain", NULL};

    *out = NULL;
    f = calloc(1, sizeof(*f));
    ENSURE(f != NULL, AECS_E_NO_MEMORY, "out of memory");
    f->key = *key;
    if (src->http.tls_verify_disabled_insecure)
        log_warn("TLS verification is disabled for %.200s (insecure)", src->base_url);

    /* root CA CRL */
    if (is_intel_pcs(src->base_url))
        snprintf(url, sizeof(url), "%s", INTEL_ROOT_CA_CRL_URL);
    else
        snprintf(url, sizeof(url), "%srootcacrl", src->base_url);
    GUARD_OUT(get_ok(src, "root CA CRL", url, &r));
    GUARD_OUT(take_body(&r, &f->item[AECS_ITEM_ROOT_CA_CRL].data,
                        &f->item[AECS_ITEM_ROOT_CA_CRL].size));
    aecs_http_response_free(&r);
    GUARD_OUT(crl_bytes("root CA CRL", url, &f->item[AECS_ITEM_ROOT_CA_CRL].data,
                        &f->item[AECS_ITEM_ROOT_CA_CRL].size));

    /* PCK CRL */
    snprintf(url, sizeof(url), "%spckcrl?ca=%s&encoding=der", src->base_url,
             aecs_pck_ca_kind_name(key->ca));
    GUARD_OUT(get_ok(src, "PCK CRL", url, &r));
    GUARD_OUT(chain_header(&r, crl_chain_headers, "PCK CRL", url,
                           &f->item[AECS_ITEM_PCK_CRL_ISSUER_CHAIN].data,
                           &f->item[AECS_ITEM_PCK_CRL_ISSUER_CHAIN].size));
    GUARD_OUT(take_body(&r, &f->item[AECS_ITEM_PCK_CRL].data, &f->item[AECS_ITEM_PCK_CRL].size));
    aecs_http_response_free(&r);
    GUARD_OUT(crl_bytes("PCK CRL", url, &f->item[AECS_ITEM_PCK_CRL].data,
                        &f->item[AECS_ITEM_PCK_CRL].size));

    /* TCB Info */
    GUARD_OUT(tee_base(src, key->tee, base, sizeof(base)));
    aecs_hex_encode(key->fmspc, 6, fmspc);
    for (char *p = fmspc; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    snprintf(url, sizeof(url), "%stcb?fmspc=%s", base, fmspc);
    GUARD_OUT(get_ok(src, "TCB Info", url, &r));
    GUARD_OUT(chain_header(&r, tcb_chain_headers, "TCB Info", url,
                           &f->item[AECS_ITEM_TCB_INFO_ISSUER_CHAIN].data,
                           &f->item[AECS_ITEM_TCB_INFO_ISSUER_CHAIN].size));
    GUARD_OUT(take_body(&r, &f->item[AECS_ITEM_TCB_INFO].data, &f->item[AECS_ITEM_TCB_INFO].size));
    aecs_http_response_free(&r);
    GUARD_OUT(check_signed("TCB Info", url, "tcbInfo", f->item[AECS_ITEM_TCB_INFO].data,
                           f->item[AECS_ITEM_TCB_INFO].size));

    /* QE Identity */
    snprintf(url, sizeof(url), "%sqe/identity", base);
    GUARD_OUT(get_ok(src, "QE Identity", url, &r));
    GUARD_OUT(chain_header(&r, qe_chain_headers, "QE Identity", url,
                           &f->item[AECS_ITEM_QE_IDENTITY_ISSUER_CHAIN].data,
                           &f->item[AECS_ITEM_QE_IDENTITY_ISSUER_CHAIN].size));
    GUARD_OUT(take_body(&r, &f->item[AECS_ITEM_QE_IDENTITY].data,
                        &f->item[AECS_ITEM_QE_IDENTITY].size));
    aecs_http_response_free(&r);
    GUARD_OUT(check_signed("QE Identity", url, "enclaveIdentity",
                           f->item[AECS_ITEM_QE_IDENTITY].data,
                           f->item[AECS_ITEM_QE_IDENTITY].size));

    /* Everything together: parses, and is for this platform. */
    if (aecs_fetched_collateral_parse(f, &col) != AECS_OK) {
        aecs_err_prefix("fetched from %.200s: ", src->base_url);
        rc = aecs_err_last()->code;
        goto out;
    }
    *out = f;
    f = NULL;
out:
    aecs_collateral_free(col);
    aecs_http_response_free(&r);
    aecs_fetched_collateral_free(f);
    return rc;
}

int aecs_fetched_collateral_parse(const struct aecs_fetched_collateral *f,
                                  struct aecs_collateral **out)
{
    int rc = AECS_OK;
    struct aecs_collateral *col = NULL;
    const struct aecs_collateral_key *key = &f->key;
    char want[13];
    char got[13];
#define ITEM(i) f->item[i].data, f->item[i].size
    struct aecs_collateral_blobs b = {
        ITEM(AECS_ITEM_ROOT_CA_CRL),     ITEM(AECS_ITEM_PCK_CRL),
        ITEM(AECS_ITEM_PCK_CRL_ISSUER_CHAIN), ITEM(AECS_ITEM_TCB_INFO),
        ITEM(AECS_ITEM_TCB_INFO_ISSUER_CHAIN), ITEM(AECS_ITEM_QE_IDENTITY),
        ITEM(AECS_ITEM_QE_IDENTITY_ISSUER_CHAIN), NULL, 0,
    };
#undef ITEM

    *out = NULL;
    GUARD(aecs_collateral_from_memory(&b, &col));
    ENSURE_OUT(col->problem == AECS_COL_OK, AECS_E_FORMAT, "%s", col->problem_message);
    aecs_hex_encode(key->fmspc, 6, want);
    aecs_hex_encode(col->tcb_info->fmspc, 6, got);
    ENSURE_OUT(memcmp(col->tcb_info->fmspc, key->fmspc, 6) == 0, AECS_E_MISMATCH,
               "collateral: the TCB Info is for FMSPC %s, not %s", got, want);
    ENSURE_OUT((col->tcb_info->id == AECS_ID_TDX) == (key->tee == AECS_TEE_TDX), AECS_E_MISMATCH,
               "collateral: the TCB Info is for %s, the quote is %s",
               col->tcb_info->id == AECS_ID_TDX ? "TDX" : "SGX",
               key->tee == AECS_TEE_TDX ? "TDX" : "SGX");
    ENSURE_OUT(col->qe_identity->id == (key->tee == AECS_TEE_TDX ? AECS_ID_TD_QE : AECS_ID_QE),
               AECS_E_MISMATCH, "collateral: the QE Identity is not the %s quoting enclave's",
               key->tee == AECS_TEE_TDX ? "TDX (TD_QE)" : "SGX (QE)");
    *out = col;
    col = NULL;
out:
    aecs_collateral_free(col);
    return rc;
}

/* ---- folders ---- */

int aecs_collateral_dir_write(const char *dir, const struct aecs_fetched_collateral *f)
{
    /* What a collateral folder may hold: the files written here and the split forms. */
    const char *known[AECS_ITEM_COUNT + sizeof(k_other_collateral_files) /
                                            sizeof(*k_other_collateral_files)];
    struct aecs_dir_file files[AECS_ITEM_COUNT];
    size_t n = 0;

    for (size_t i = 0; i < AECS_ITEM_COUNT; i++) {
        ENSURE(f->item[i].data != NULL && f->item[i].size > 0, AECS_E_INVALID_ARGUMENT,
               "collateral to write lacks %s", k_item_files[i]);
        files[i] = (struct aecs_dir_file){k_item_files[i], f->item[i].data, f->item[i].size};
        known[n++] = k_item_files[i];
    }
    for (size_t i = 0; i < sizeof(k_other_collateral_files) / sizeof(*k_other_collateral_files);
         i++)
        known[n++] = k_other_collateral_files[i];
    return aecs_dir_replace(dir, files, AECS_ITEM_COUNT, known, n, "collateral");
}

int aecs_collateral_dir_read(const char *dir, struct aecs_fetched_collateral **out)
{
    int rc = AECS_OK;
    struct aecs_fetched_collateral *f = calloc(1, sizeof(*f));
    char path[4200];

    *out = NULL;
    ENSURE(f != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < AECS_ITEM_COUNT; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, k_item_files[i]);
        GUARD_OUT(aecs_file_read(path, MAX_ITEM_FILE, &f->item[i].data, &f->item[i].size));
    }
    *out = f;
    f = NULL;
out:
    aecs_fetched_collateral_free(f);
    return rc;
}
