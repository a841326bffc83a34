/*
 * kds.c - see kds.h.
 *
 * Fetching: each item is one GET (plus waits on HTTP 429); the status must be
 * 200 with a body, and the body must parse and pass the checks before it is
 * handed out. The cert_chain is checked on its own (its ARK is the pinned one,
 * its ASK issued by it) and again with the VCEK through aecs_snp_check_chain.
 *
 * The cache has two tables under one mutex: VCEK entries (a small array
 * searched linearly, least recently used evicted) and one cert_chain slot per
 * product. An entry is put in the table in the FETCHING state before its
 * fetch starts, so threads asking for the same key wait on the condition
 * variable instead of fetching it again; the fetching thread works without
 * the lock, then marks the entry READY (or FAILED, and takes it out) and
 * wakes the waiters. Chain slots do the same with a `fetching` flag and a
 * generation counter.
 */
#include "attest/kds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/dirset.h"
#include "base/file.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/x509.h"

#define MAX_DISK_FILE (64u << 10)

/* ---- source and key ---- */

int aecs_kds_source_init(struct aecs_kds_source *src, const char *url)
{
    const char *env = getenv(AECS_KDS_URL_ENV);

    memset(src, 0, sizeof(*src));
    if (url == NULL)
        url = env != NULL && env[0] != '\0' ? env : AECS_KDS_DEFAULT_URL;
    ENSURE(aecs_http_url_allowed(url), AECS_E_INVALID_ARGUMENT,
           "KDS URL %.200s: only http:// and https:// URLs are supported", url);
    size_t n = strlen(url);
    ENSURE(n < sizeof(src->base_url), AECS_E_INVALID_ARGUMENT, "KDS URL too long: %.100s...", url);
    memcpy(src->base_url, url, n + 1);
    while (n > 0 && src->base_url[n - 1] == '/')
        src->base_url[--n] = '\0';
    aecs_http_options_init(&src->http);
    src->http.max_response_size = AECS_KDS_MAX_RESPONSE;
    src->max_retry_after_s = AECS_KDS_DEFAULT_MAX_RETRY_AFTER;
    src->rate_limit_retries = AECS_KDS_DEFAULT_RATE_LIMIT_RETRIES;
    return AECS_OK;
}

int aecs_kds_report_product(const struct aecs_snp_report *r, enum aecs_amd_product given,
                            enum aecs_amd_product *out)
{
    *out = AECS_AMD_PRODUCT_UNKNOWN;
    if (r->product != AECS_AMD_PRODUCT_UNKNOWN) {
        ENSURE(given == AECS_AMD_PRODUCT_UNKNOWN || given == r->product, AECS_E_MISMATCH,
               "the report's CPUID fields name %s, not %s", aecs_amd_product_name(r->product),
               aecs_amd_product_name(given));
        *out = r->product;
        return AECS_OK;
    }
    ENSURE(given != AECS_AMD_PRODUCT_UNKNOWN, AECS_E_USAGE,
           "this version %u report does not name its product (only version 3 and later carry "
           "CPUID fields): give it (Milan, Genoa or Turin)",
           r->version);
    *out = given;
    return AECS_OK;
}

int aecs_kds_key_from_report(const struct aecs_snp_report *r, enum aecs_amd_product given,
                             struct aecs_kds_key *key)
{
    enum aecs_amd_product p;

    memset(key, 0, sizeof(*key));
    GUARD(aecs_kds_report_product(r, given, &p));
    GUARD(aecs_snp_kds_vcek_path(r, p, key->path, sizeof(key->path)));
    key->product = p;
    key->hwid_size = aecs_amd_product_turin_layout(p) ? 8 : 64;
    memcpy(key->hwid, r->chip_id, key->hwid_size);
    memcpy(key->tcb, r->reported_tcb_raw, 8);
    return AECS_OK;
}

void aecs_kds_key_format(const struct aecs_kds_key *key, char out[AECS_KDS_KEY_NAME_MAX])
{
    char hwid[2 * AECS_AMD_HWID_MAX + 1];
    char tcb[17];

    aecs_hex_encode(key->hwid, key->hwid_size, hwid);
    aecs_hex_encode(key->tcb, 8, tcb);
    snprintf(out, AECS_KDS_KEY_NAME_MAX, "%s-%s-%s", aecs_amd_product_name(key->product), hwid,
             tcb);
}

static int key_equal(const struct aecs_kds_key *a, const struct aecs_kds_key *b)
{
    return a->product == b->product && a->hwid_size == b->hwid_size &&
           memcmp(a->hwid, b->hwid, a->hwid_size) == 0 && memcmp(a->tcb, b->tcb, 8) == 0;
}

int aecs_kds_parse_retry_after(const char *value, int64_t now, int64_t *seconds)
{
    struct tm tm;
    const char *end;

    *seconds = 0;
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)value[0])) {
        int64_t v = 0;
        for (end = value; isdigit((unsigned char)*end); end++) {
            ENSURE(v < INT64_MAX / 100, AECS_E_FORMAT, "Retry-After: number too large");
            v = v * 10 + (*end - '0');
        }
        while (*end == ' ' || *end == '\t')
            end++;
        ENSURE(*end == '\0', AECS_E_FORMAT, "Retry-After: not a number of seconds: %.40s", value);
        *seconds = v;
        return AECS_OK;
    }
    /* An HTTP-date (RFC 9110, IMF-fixdate): "Sun, 06 Nov 1994 08:49:37 GMT". */
    memset(&tm, 0, sizeof(tm));
    end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    while (end != NULL && (*end == ' ' || *end == '\t'))
        end++;
    ENSURE(end != NULL && *end == '\0', AECS_E_FORMAT,
           "Retry-After: neither seconds nor an HTTP date: %.40s", value);
    int64_t at = (int64_t)timegm(&tm);
    *seconds = at > now ? at - now : 0;
    return AECS_OK;
}

/* ---- checked certificates ---- */

/* A product's cert_chain, checked: ARK = the pinned ARK, ASK issued by it. Reference counted. */
struct kds_chain {
    int refs; /* atomic */
    enum aecs_amd_product product;
    uint8_t *pem;
    size_t pem_size;
    struct aecs_cert *ask, *ark, *pinned_ark;
    int64_t not_after; /* the earlier of the ASK's and the ARK's */
};

struct aecs_kds_vcek {
    int refs; /* atomic */
    struct aecs_kds_key key;
    uint8_t *der;
    size_t der_size;
    uint8_t *chain_pem;
    size_t chain_size;
    int64_t not_after;
    struct aecs_snp_collateral col; /* vcek, ask, ark: references owned here */
};

static void chain_release(struct kds_chain *ch)
{
    if (ch == NULL || __atomic_sub_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(ch->pem);
    aecs_cert_free(ch->ask);
    aecs_cert_free(ch->ark);
    aecs_cert_free(ch->pinned_ark);
    free(ch);
}

static struct kds_chain *chain_ref(struct kds_chain *ch)
{
    __atomic_add_fetch(&ch->refs, 1, __ATOMIC_RELAXED);
    return ch;
}

struct aecs_kds_vcek *aecs_kds_vcek_ref(struct aecs_kds_vcek *v)
{
    __atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
    return v;
}

void aecs_kds_vcek_release(struct aecs_kds_vcek *v)
{
    if (v == NULL || __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(v->der);
    free(v->chain_pem);
    aecs_cert_free(v->col.vcek);
    aecs_cert_free(v->col.ask);
    aecs_cert_free(v->col.ark);
    free(v);
}

const struct aecs_kds_key *aecs_kds_vcek_key(const struct aecs_kds_vcek *v)
{
    return &v->key;
}

const uint8_t *aecs_kds_vcek_der(const struct aecs_kds_vcek *v, size_t *size)
{
    *size = v->der_size;
    return v->der;
}

const uint8_t *aecs_kds_vcek_chain_pem(const struct aecs_kds_vcek *v, size_t *size)
{
    *size = v->chain_size;
    return v->chain_pem;
}

int64_t aecs_kds_vcek_not_after(const struct aecs_kds_vcek *v)
{
    return v->not_after;
}

const struct aecs_snp_collateral *aecs_kds_vcek_collateral(const struct aecs_kds_vcek *v)
{
    return &v->col;
}

/* Re-records the last error with `code` and a prefix (the message buffer is reused by AECS_ERR). */
static int recode(int code, const char *prefix)
{
    char msg[sizeof(aecs_err_last()->message)];

    snprintf(msg, sizeof(msg), "%s", aecs_err_last()->message);
    return AECS_ERR(code, "%s%s", prefix, msg);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t size)
{
    uint8_t *d = malloc(size + 1);

    if (d != NULL) {
        memcpy(d, p, size);
        d[size] = '\0';
    }
    return d;
}

static int64_t min_time(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Parses and checks a product's cert_chain (PEM: ASK then ARK). */
static int chain_check(enum aecs_amd_product product, const uint8_t *pem, size_t size,
                       struct kds_chain **out)
{
    int rc = AECS_OK;
    struct aecs_certs *certs = NULL;
    struct kds_chain *ch = NULL;
    const struct aecs_amd_root *root = aecs_amd_root_for(product);
    const char *name = aecs_amd_product_name(product);

    *out = NULL;
    ENSURE(root != NULL, AECS_E_INVALID_ARGUMENT, "no pinned ARK for product %s", name);
    if (aecs_certs_parse(pem, size, &certs) != AECS_OK)
        return recode(AECS_E_FORMAT, "cert_chain: not PEM certificates: ");
    ENSURE_OUT(aecs_certs_count(certs) == 2, AECS_E_FORMAT,
               "cert_chain: expected 2 certificates (ASK then ARK), found %zu",
               aecs_certs_count(certs));
    ch = calloc(1, sizeof(*ch));
    ENSURE_OUT(ch != NULL, AECS_E_NO_MEMORY, "out of memory");
    ch->refs = 1;
    ch->product = product;
    ch->ask = aecs_cert_ref(aecs_certs_get(certs, 0));
    ch->ark = aecs_cert_ref(aecs_certs_get(certs, 1));
    GUARD_OUT(aecs_cert_parse_cached(root->ark_der, root->ark_size, AECS_CERTS_CACHE_INSERT,
                                     &ch->pinned_ark));
    ENSURE_OUT(aecs_cert_same_key_and_subject(ch->ark, ch->pinned_ark), AECS_E_UNTRUSTED,
               "cert_chain: its ARK is not AMD's pinned ARK for %s", name);
    rc = aecs_amd_check_pss_sha384(ch->ask);
    if (rc == AECS_OK)
        rc = aecs_cert_check_issued_by(ch->ask, ch->pinned_ark);
    if (rc != AECS_OK) {
        char prefix[96];
        snprintf(prefix, sizeof(prefix), "cert_chain: the ASK is not issued by the %s ARK: ", name);
        rc = recode(AECS_E_UNTRUSTED, prefix);
        goto out;
    }
    ch->pem = dup_bytes(pem, size);
    ENSURE_OUT(ch->pem != NULL, AECS_E_NO_MEMORY, "out of memory");
    ch->pem_size = size;
    ch->not_after = min_time(aecs_cert_not_after(ch->ask), aecs_cert_not_after(ch->ark));
    *out = ch;
    ch = NULL;
out:
    chain_release(ch);
    aecs_certs_free(certs);
    return rc;
}

/* Names the first TCB component where the VCEK differs from the key. */
static int tcb_mismatch(const struct aecs_kds_key *key, const struct aecs_amd_vek_ext *e)
{
    int turin = aecs_amd_product_turin_layout(key->product);
    struct aecs_snp_tcb want;
    struct aecs_snp_tcb got;

    aecs_snp_tcb_decode(key->tcb, turin, &want);
    aecs_snp_tcb_decode(e->tcb, turin, &got);
    static const char *const names[] = {"bootloader (blSPL)", "tee (teeSPL)", "snp (snpSPL)",
                                        "microcode (ucodeSPL)", "fmc (fmcSPL)"};
    const unsigned w[] = {want.bootloader, want.tee, want.snp, want.microcode, want.fmc};
    const unsigned g[] = {got.bootloader, got.tee, got.snp, got.microcode, got.fmc};
    for (int i = 0; i < 5; i++) {
        ENSURE(w[i] == g[i], AECS_E_MISMATCH,
               "VCEK from KDS: it is for another TCB: %s is %u, the report's REPORTED_TCB has %u",
               names[i], g[i], w[i]);
    }
    return AECS_ERR(AECS_E_MISMATCH,
                    "VCEK from KDS: its TCB %016llx differs from REPORTED_TCB %016llx in a "
                    "reserved byte",
                    (unsigned long long)got.raw, (unsigned long long)want.raw);
}

/* Checks a VCEK against the key and a checked chain, and builds the result. */
static int vcek_check(const struct aecs_kds_key *key, const uint8_t *data, size_t size,
                      const struct kds_chain *ch, struct aecs_kds_vcek **out)
{
    int rc = AECS_OK;
    struct aecs_cert *cert = NULL;
    struct aecs_amd_vek_ext e;
    struct aecs_kds_vcek *v = NULL;
    const char *name = aecs_amd_product_name(key->product);

    *out = NULL;
    ENSURE(ch->product == key->product, AECS_E_INVALID_ARGUMENT,
           "cert_chain of %s given for a %s VCEK", aecs_amd_product_name(ch->product), name);
    if (aecs_cert_parse(data, size, &cert) != AECS_OK)
        return recode(AECS_E_FORMAT, "VCEK from KDS: not a certificate: ");
    if (aecs_amd_vek_ext_parse(cert, &e) != AECS_OK) {
        rc = recode(AECS_E_FORMAT, "VCEK from KDS: ");
        goto out;
    }
    ENSURE_OUT(!e.is_vlek, AECS_E_FORMAT, "VCEK from KDS: it is a VLEK certificate");
    ENSURE_OUT(e.product == key->product, AECS_E_MISMATCH,
               "VCEK from KDS: it is for %s (productName %.40s), not %s",
               aecs_amd_product_name(e.product), e.product_name, name);
    if (aecs_amd_check_p384_key(cert) != AECS_OK) {
        rc = recode(AECS_E_FORMAT, "VCEK from KDS: ");
        goto out;
    }
    if (aecs_snp_check_chain(cert, ch->ask, ch->pinned_ark) != AECS_OK) {
        rc = recode(AECS_E_UNTRUSTED, "VCEK from KDS: ");
        goto out;
    }
    ENSURE_OUT(e.hwid_size == key->hwid_size && memcmp(e.hwid, key->hwid, key->hwid_size) == 0,
               AECS_E_MISMATCH,
               "VCEK from KDS: it is for another chip: its hwID is not the report's CHIP_ID%s",
               key->hwid_size == 8 ? " (first 8 bytes)" : "");
    if (memcmp(e.tcb, key->tcb, 8) != 0) {
        rc = tcb_mismatch(key, &e);
        goto out;
    }

    v = calloc(1, sizeof(*v));
    ENSURE_OUT(v != NULL, AECS_E_NO_MEMORY, "out of memory");
    v->refs = 1;
    v->key = *key;
    size_t der_size = 0;
    const uint8_t *der = aecs_cert_der(cert, &der_size);
    v->der = dup_bytes(der, der_size);
    v->chain_pem = dup_bytes(ch->pem, ch->pem_size);
    ENSURE_OUT(v->der != NULL && v->chain_pem != NULL, AECS_E_NO_MEMORY, "out of memory");
    v->der_size = der_size;
    v->chain_size = ch->pem_size;
    v->not_after = aecs_cert_not_after(cert);
    v->col.vcek = cert;
    cert = NULL;
    v->col.ask = aecs_cert_ref(ch->ask);
    v->col.ark = aecs_cert_ref(ch->ark);
    *out = v;
    v = NULL;
out:
    aecs_kds_vcek_release(v);
    aecs_cert_free(cert);
    return rc;
}

int aecs_kds_vcek_check(const struct aecs_kds_key *key, const uint8_t *vcek, size_t vcek_size,
                        const uint8_t *chain, size_t chain_size, struct aecs_kds_vcek **out)
{
    struct kds_chain *ch = NULL;

    *out = NULL;
    GUARD(chain_check(key->product, chain, chain_size, &ch));
    int rc = vcek_check(key, vcek, vcek_size, ch, out);
    chain_release(ch);
    return rc;
}

/* ---- HTTP ---- */

/* Copies a short piece of untrusted text, anything unprintable shown as '?'. */
static void printable(const uint8_t *in, size_t len, char *out, size_t size)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 1 < size; i++)
        out[n++] = isspace(in[i]) ? ' ' : isprint(in[i]) ? (char)in[i] : '?';
    out[n] = '\0';
}

static void sleep_s(int64_t s)
{
    struct timespec ts = {(time_t)s, 0};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
 * GETs url and insists on 200 with a body. HTTP 429 is waited out as its
 * Retry-After says (1 s, 2 s, 4 s, ... without one), at most
 * rate_limit_retries times and never longer than max_retry_after_s at once.
 */
static int kds_get(const struct aecs_kds_source *src, const char *what, const char *url,
                   struct aecs_http_response *r)
{
    char detail[128] = "";

    for (unsigned attempt = 0;; attempt++) {
        log_info("fetching the %s: GET %.400s", what, url);
        if (aecs_http_get(url, &src->http, r) != AECS_OK) {
            aecs_err_prefix("fetching the %s: ", what);
            return aecs_err_last()->code;
        }
        if (r->status == 200 && r->body_size > 0)
            return AECS_OK;
        if (r->status != 429)
            break;

        char *value = NULL;
        int64_t wait = (int64_t)1 << (attempt < 6 ? attempt : 6);
        int has_value = aecs_http_header(r, "Retry-After", &value) == AECS_OK;
        int parsed =
            has_value && aecs_kds_parse_retry_after(value, aecs_time_now(), &wait) == AECS_OK;
        char shown[48];
        printable((const uint8_t *)(value ? value : ""), value ? strlen(value) : 0, shown,
                  sizeof(shown));
        free(value);
        aecs_http_response_free(r);
        ENSURE(!has_value || parsed, AECS_E_IO,
               "fetching the %s: GET %.400s: HTTP 429 (rate limited) with a Retry-After that "
               "is not understood ('%s')",
               what, url, shown);
        ENSURE(attempt < src->rate_limit_retries, AECS_E_IO,
               "fetching the %s: GET %.400s: HTTP 429 (rate limited by KDS) %u times in a row; "
               "try again later",
               what, url, attempt + 1);
        ENSURE(wait <= (int64_t)src->max_retry_after_s, AECS_E_IO,
               "fetching the %s: GET %.400s: HTTP 429 (rate limited by KDS): Retry-After asks "
               "for %lld s, more than the %u s aecs waits; try again later",
               what, url, (long long)wait, src->max_retry_after_s);
        log_warn("KDS rate limit: GET %.400s: HTTP 429, waiting %lld s as Retry-After says", url,
                 (long long)wait);
        sleep_s(wait);
    }
    if (r->body_size > 0) {
        char clean[100];
        printable(r->body, r->body_size, clean, sizeof(clean));
        snprintf(detail, sizeof(detail), ": %s", clean);
    }
    long status = r->status;
    aecs_http_response_free(r);
    if (status == 200)
        return AECS_ERR(AECS_E_FORMAT, "fetching the %s: GET %.400s: HTTP 200 with an empty body",
                        what, url);
    return AECS_ERR(status == 404 ? AECS_E_NOT_FOUND : AECS_E_IO,
                    "fetching the %s: GET %.400s: HTTP %ld%s%s", what, url, status,
                    status == 404 ? " (KDS has no such certificate)" : "", detail);
}

static int fetch_chain(const struct aecs_kds_source *src, enum aecs_amd_product product,
                       struct kds_chain **out)
{
    char url[AECS_KDS_URL_MAX + 64];
    struct aecs_http_response r;
    const char *what = "cert_chain";

    *out = NULL;
    snprintf(url, sizeof(url), "%s/vcek/v1/%s/cert_chain", src->base_url,
             aecs_amd_product_name(product));
    GUARD(kds_get(src, what, url, &r));
    int rc = chain_check(product, r.body, r.body_size, out);
    aecs_http_response_free(&r);
    if (rc != AECS_OK)
        aecs_err_prefix("fetching the %s: GET %.300s: ", what, url);
    return rc;
}

/* GETs the key's VCEK and checks it against ch. */
static int fetch_vcek(const struct aecs_kds_source *src, const struct aecs_kds_key *key,
                      const struct kds_chain *ch, struct aecs_kds_vcek **out)
{
    char url[AECS_KDS_URL_MAX + sizeof(key->path)];
    struct aecs_http_response r;
    const char *what = "VCEK";

    *out = NULL;
    snprintf(url, sizeof(url), "%s%s", src->base_url, key->path);
    GUARD(kds_get(src, what, url, &r));
    int rc = vcek_check(key, r.body, r.body_size, ch, out);
    aecs_http_response_free(&r);
    if (rc != AECS_OK)
        aecs_err_prefix("fetching the %s: GET %.300s: ", what, url);
    return rc;
}

int aecs_kds_fetch(const struct aecs_kds_source *src, const struct aecs_kds_key *key,
                   struct aecs_kds_vcek **out)
{
    struct kds_chain *ch = NULL;

    *out = NULL;
    ENSURE(key->path[0] == '/', AECS_E_INVALID_ARGUMENT, "KDS key without a path");
    GUARD(fetch_chain(src, key->product, &ch));
    int rc = fetch_vcek(src, key, ch, out);
    chain_release(ch);
    return rc;
}

/* ---- folders ---- */

static const char *const k_snp_files[] = {"vcek.der", "vlek.der", "ask.pem", "ark.pem",
                                          "cert_chain.pem"};
#define SNP_FILE_COUNT (sizeof(k_snp_files) / sizeof(k_snp_files[0]))

int aecs_kds_dir_write(const char *dir, const struct aecs_kds_vcek *v)
{
    const struct aecs_dir_file files[] = {
        {"vcek.der", v->der, v->der_size},
        {"cert_chain.pem", v->chain_pem, v->chain_size},
    };

    return aecs_dir_replace(dir, files, 2, k_snp_files, SNP_FILE_COUNT, "SNP collateral");
}

/* ---- cache ---- */

enum entry_state { ENTRY_FETCHING = 0, ENTRY_READY, ENTRY_FAILED };

/* A VCEK entry; refs and state are guarded by the cache mutex. */
struct vcek_entry {
    struct aecs_kds_key key;
    enum entry_state state;
    int refs;
    struct aecs_kds_vcek *vcek; /* READY */
    int64_t fetched_at;
    uint64_t last_use;
    int err_code; /* FAILED */
    char err_message[512];
};

/* A product's cert_chain; guarded by the cache mutex. */
struct chain_slot {
    struct kds_chain *chain; /* NULL until one was loaded */
    int64_t fetched_at;
    int fetching;
    uint64_t gen; /* bumped whenever a fetch ends */
    int err_code; /* of the last failed fetch */
    char err_message[512];
};

#define PRODUCT_SLOTS 4

struct aecs_kds_cache {
    pthread_mutex_t lock;
    pthread_cond_t done; /* broadcast whenever a fetch ends */
    struct aecs_kds_source source;
    char *disk_dir;
    int64_t min_refetch;
    size_t max_entries;
    struct vcek_entry **entries;
    size_t count;
    uint64_t clock;
    struct chain_slot chains[PRODUCT_SLOTS];
    struct aecs_kds_cache_stats stats;
};

int aecs_kds_cache_new(const struct aecs_kds_cache_config *cfg, struct aecs_kds_cache **out)
{
    struct aecs_kds_cache *c;

    *out = NULL;
    ENSURE(aecs_http_url_allowed(cfg->source.base_url), AECS_E_INVALID_ARGUMENT,
           "KDS cache: the source has no http(s) URL (aecs_kds_source_init)");
    if (cfg->disk_dir != NULL && mkdir(cfg->disk_dir, 0755) != 0 && errno != EEXIST)
        return AECS_ERR(AECS_E_IO, "KDS cache: cannot create %.200s: %s", cfg->disk_dir,
                        strerror(errno));
    c = calloc(1, sizeof(*c));
    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");
    c->source = cfg->source;
    c->min_refetch =
        cfg->min_refetch_interval > 0 ? cfg->min_refetch_interval : AECS_KDS_CACHE_DEFAULT_REFETCH;
    c->max_entries = cfg->max_entries > 0 ? cfg->max_entries : AECS_KDS_CACHE_DEFAULT_ENTRIES;
    c->entries = calloc(c->max_entries, sizeof(*c->entries));
    c->disk_dir = cfg->disk_dir != NULL ? strdup(cfg->disk_dir) : NULL;
    if (c->entries == NULL || (cfg->disk_dir != NULL && c->disk_dir == NULL)) {
        free(c->entries);
        free(c->disk_dir);
        free(c);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done, NULL);
    *out = c;
    return AECS_OK;
}

/* Drops a reference to an entry (mutex held, or the cache no longer shared). */
static void entry_put(struct vcek_entry *e)
{
    if (e == NULL || --e->refs > 0)
        return;
    aecs_kds_vcek_release(e->vcek);
    free(e);
}

void aecs_kds_cache_free(struct aecs_kds_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->count; i++)
        entry_put(c->entries[i]);
    for (size_t i = 0; i < PRODUCT_SLOTS; i++)
        chain_release(c->chains[i].chain);
    free(c->entries);
    free(c->disk_dir);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void aecs_kds_cache_get_stats(struct aecs_kds_cache *c, struct aecs_kds_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}

/* ---- disk (mutex not held) ---- */

static void chain_file(const struct aecs_kds_cache *c, enum aecs_amd_product p, char *buf,
                       size_t size)
{
    snprintf(buf, size, "%s/cert_chain-%s.pem", c->disk_dir, aecs_amd_product_name(p));
}

static void vcek_file(const struct aecs_kds_cache *c, const struct aecs_kds_key *key, char *buf,
                      size_t size)
{
    char name[AECS_KDS_KEY_NAME_MAX];

    aecs_kds_key_format(key, name);
    snprintf(buf, size, "%s/vcek-%s.der", c->disk_dir, name);
}

/* A file of the disk folder, or NULL (a missing file silently, anything else with a warning). */
static uint8_t *disk_read(const char *path, size_t *size)
{
    uint8_t *data = NULL;

    *size = 0;
    if (aecs_file_read(path, MAX_DISK_FILE, &data, size) == AECS_OK)
        return data;
    if (aecs_err_last()->code != AECS_E_NOT_FOUND)
        log_warn("KDS cache: %s", aecs_err_last()->message);
    return NULL;
}

static void disk_write(const char *path, const uint8_t *data, size_t size)
{
    if (aecs_file_write_atomic(path, data, size, 0644) != AECS_OK)
        log_warn("KDS cache: not kept on disk: %s", aecs_err_last()->message);
}

/* The product's chain from the disk folder, if there, checked and valid at `now`. */
static struct kds_chain *chain_from_disk(struct aecs_kds_cache *c, enum aecs_amd_product p,
                                         int64_t now)
{
    char path[4300];
    size_t size = 0;
    struct kds_chain *ch = NULL;

    if (c->disk_dir == NULL)
        return NULL;
    chain_file(c, p, path, sizeof(path));
    uint8_t *data = disk_read(path, &size);
    if (data == NULL)
        return NULL;
    if (chain_check(p, data, size, &ch) != AECS_OK) {
        log_warn("KDS cache: %.200s: %s; fetching again", path, aecs_err_last()->message);
    } else if (ch->not_after <= now) {
        log_info("KDS cache: %.200s has expired; fetching again", path);
        chain_release(ch);
        ch = NULL;
    }
    free(data);
    return ch;
}

/* The product's checked chain: memory, disk or KDS; one fetch at a time per product. */
static int get_chain(struct aecs_kds_cache *c, enum aecs_amd_product p, int64_t now,
                     struct kds_chain **out)
{
    struct chain_slot *s = &c->chains[(unsigned)p % PRODUCT_SLOTS];
    struct kds_chain *ch = NULL;
    struct kds_chain *old = NULL;
    int fetched = 0;
    int rc = AECS_OK;

    *out = NULL;
    pthread_mutex_lock(&c->lock);
    if (s->fetching) {
        uint64_t gen = s->gen;
        while (s->fetching && s->gen == gen)
            pthread_cond_wait(&c->done, &c->lock);
        if (s->chain == NULL || s->err_code != AECS_OK) {
            rc = s->err_code != AECS_OK ? s->err_code : AECS_E_INTERNAL;
            char msg[sizeof(s->err_message)];
            snprintf(msg, sizeof(msg), "%s", s->err_message);
            pthread_mutex_unlock(&c->lock);
            return aecs_err_set(rc, __FILE__, __LINE__, "%s", msg);
        }
        *out = chain_ref(s->chain);
        pthread_mutex_unlock(&c->lock);
        return AECS_OK;
    }
    if (s->chain != NULL && (now < s->chain->not_after || now - s->fetched_at < c->min_refetch)) {
        *out = chain_ref(s->chain);
        pthread_mutex_unlock(&c->lock);
        return AECS_OK;
    }
    s->fetching = 1;
    pthread_mutex_unlock(&c->lock);

    ch = chain_from_disk(c, p, now);
    if (ch == NULL) {
        fetched = 1;
        rc = fetch_chain(&c->source, p, &ch);
    }

    pthread_mutex_lock(&c->lock);
    s->fetching = 0;
    s->gen++;
    if (fetched)
        c->stats.chain_fetches++;
    if (rc == AECS_OK) {
        old = s->chain;
        s->chain = chain_ref(ch);
        s->fetched_at = now;
        s->err_code = AECS_OK;
    } else {
        s->err_code = rc;
        snprintf(s->err_message, sizeof(s->err_message), "%s", aecs_err_last()->message);
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
    chain_release(old);
    *out = ch;
    return rc;
}

/* Writes the chain to the disk folder unless it already holds exactly these bytes. */
static void chain_to_disk(struct aecs_kds_cache *c, const struct kds_chain *ch)
{
    char path[4300];
    size_t size = 0;
    uint8_t *data;

    chain_file(c, ch->product, path, sizeof(path));
    data = disk_read(path, &size);
    if (data == NULL || size != ch->pem_size || memcmp(data, ch->pem, size) != 0)
        disk_write(path, ch->pem, ch->pem_size);
    free(data);
}

/* A checked VCEK for the key: disk folder or KDS. *fetched says whether KDS was asked. */
static int load_vcek(struct aecs_kds_cache *c, const struct aecs_kds_key *key, int64_t now,
                     struct aecs_kds_vcek **out, int *fetched)
{
    struct kds_chain *ch = NULL;
    char path[4400] = "";
    size_t size = 0;
    int rc;

    *out = NULL;
    *fetched = 0;
    GUARD(get_chain(c, key->product, now, &ch));
    if (c->disk_dir != NULL) {
        vcek_file(c, key, path, sizeof(path));
        uint8_t *data = disk_read(path, &size);
        if (data != NULL) {
            if (vcek_check(key, data, size, ch, out) != AECS_OK) {
                log_warn("KDS cache: %.200s: %s; fetching again", path, aecs_err_last()->message);
            } else if ((*out)->not_after <= now) {
                log_info("KDS cache: %.200s has expired; fetching again", path);
                aecs_kds_vcek_release(*out);
                *out = NULL;
            }
            free(data);
        }
    }
    if (*out == NULL) {
        *fetched = 1;
        rc = fetch_vcek(&c->source, key, ch, out);
        if (rc != AECS_OK) {
            chain_release(ch);
            return rc;
        }
        if (c->disk_dir != NULL)
            disk_write(path, (*out)->der, (*out)->der_size);
    }
    if (c->disk_dir != NULL)
        chain_to_disk(c, ch);
    chain_release(ch);
    return AECS_OK;
}

static size_t find(struct aecs_kds_cache *c, const struct aecs_kds_key *key)
{
    for (size_t i = 0; i < c->count; i++) {
        if (key_equal(&c->entries[i]->key, key))
            return i;
    }
    return SIZE_MAX;
}

/* Takes entry i out of the table; returns the table's reference. */
static struct vcek_entry *detach(struct aecs_kds_cache *c, size_t i)
{
    struct vcek_entry *e = c->entries[i];

    c->entries[i] = c->entries[--c->count];
    c->entries[c->count] = NULL;
    return e;
}

/* Puts e in the table, evicting the least recently used READY entry when full. */
static void insert(struct aecs_kds_cache *c, struct vcek_entry *e)
{
    if (c->count == c->max_entries) {
        size_t victim = SIZE_MAX;
        for (size_t i = 0; i < c->count; i++) {
            if (c->entries[i]->state == ENTRY_READY &&
                (victim == SIZE_MAX || c->entries[i]->last_use < c->entries[victim]->last_use))
                victim = i;
        }
        if (victim == SIZE_MAX)
            return; /* everything is being fetched: e is simply not cached */
        entry_put(detach(c, victim));
    }
    e->refs++;
    c->entries[c->count++] = e;
}

int aecs_kds_cache_get(struct aecs_kds_cache *c, const struct aecs_kds_key *key, int64_t now,
                       struct aecs_kds_vcek **out)
{
    struct vcek_entry *e;
    int fetched = 0;
    int rc;

    *out = NULL;
    ENSURE(key->path[0] == '/', AECS_E_INVALID_ARGUMENT, "KDS key without a path");
    pthread_mutex_lock(&c->lock);
    size_t i = find(c, key);
    if (i != SIZE_MAX) {
        e = c->entries[i];
        if (e->state == ENTRY_FETCHING) {
            /* Someone is fetching this key: wait for that rather than fetching it again. */
            e->refs++;
            while (e->state == ENTRY_FETCHING)
                pthread_cond_wait(&c->done, &c->lock);
            if (e->state == ENTRY_READY) {
                c->stats.waits++;
                e->last_use = ++c->clock;
                *out = aecs_kds_vcek_ref(e->vcek);
                entry_put(e);
                pthread_mutex_unlock(&c->lock);
                return AECS_OK;
            }
            rc = e->err_code;
            char msg[sizeof(e->err_message)];
            snprintf(msg, sizeof(msg), "%s", e->err_message);
            entry_put(e);
            pthread_mutex_unlock(&c->lock);
            return aecs_err_set(rc, __FILE__, __LINE__, "%s", msg);
        }
        if (now < e->vcek->not_after || now - e->fetched_at < c->min_refetch) {
            c->stats.hits++;
            e->last_use = ++c->clock;
            *out = aecs_kds_vcek_ref(e->vcek);
            pthread_mutex_unlock(&c->lock);
            return AECS_OK;
        }
        entry_put(detach(c, i)); /* expired; holders of its VCEK keep their references */
    }
    c->stats.misses++;
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        pthread_mutex_unlock(&c->lock);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    e->key = *key;
    e->state = ENTRY_FETCHING;
    e->refs = 1; /* ours */
    e->last_use = ++c->clock;
    insert(c, e);
    pthread_mutex_unlock(&c->lock);

    struct aecs_kds_vcek *v = NULL;
    rc = load_vcek(c, key, now, &v, &fetched);
    if (rc != AECS_OK) {
        char name[AECS_KDS_KEY_NAME_MAX];
        aecs_kds_key_format(key, name);
        aecs_err_prefix("VCEK for %.24s...: ", name);
    }

    pthread_mutex_lock(&c->lock);
    if (fetched)
        c->stats.vcek_fetches++;
    if (rc == AECS_OK) {
        e->state = ENTRY_READY;
        e->vcek = v;
        e->fetched_at = now;
        if (!fetched)
            c->stats.disk_loads++;
        *out = aecs_kds_vcek_ref(v);
    } else {
        e->state = ENTRY_FAILED;
        e->err_code = rc;
        snprintf(e->err_message, sizeof(e->err_message), "%s", aecs_err_last()->message);
        c->stats.failures++;
        i = find(c, key);
        if (i != SIZE_MAX && c->entries[i] == e)
            entry_put(detach(c, i));
    }
    pthread_cond_broadcast(&c->done);
    entry_put(e);
    pthread_mutex_unlock(&c->lock);
    return rc;
}
