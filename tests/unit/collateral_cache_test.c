/*
 * collateral_cache_test.c - fetching collateral from the loopback PCS
 * (tests/tools/pcs_server, which serves the vectors as Intel's PCS does),
 * writing it as a folder, building it from memory, and the cache that keeps
 * it prepared: hits, expiry, the disk cache, failures, threads.
 *
 * Expected values come from each set's expected.json (FMSPC, PCK CA, TCB
 * status, validity window) and the vector files themselves, never from a run
 * of the code under test. The vectors' collateral is old, so every
 * verification and cache lookup passes an explicit time.
 */
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "attest/collateral_cache.h"
#include "attest/collateral_fetch.h"
#include "attest/collateral_mem.h"
#include "attest/dcap.h"
#include "base/codec.h"
#include "base/file.h"
#include "base/timeutil.h"
#include "pcs_loopback.h"

#define DATA "tests/data/dcap/"
#define SGX_SET "sgx_v3_dcapqvl"
#define TDX_SET "tdx_v4_dcapqvl"

static const char *const k_sets[] = {SGX_SET, TDX_SET, NULL};
static struct tu_loopback g_srv;

static int setup(void **state)
{
    (void)state;
    pcs_loopback_start(&g_srv, k_sets, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_loopback_stop(&g_srv);
    return 0;
}

/* ---- helpers ---- */

static uint8_t *read_all(const char *path, size_t *size)
{
    uint8_t *data = NULL;

    assert_int_equal(aecs_file_read(path, 1u << 22, &data, size), AECS_OK);
    return data;
}

static uint8_t *set_file(const char *set, const char *name, size_t *size)
{
    char path[512];

    snprintf(path, sizeof(path), DATA "%s/%s", set, name);
    return read_all(path, size);
}

static json_t *expected_of(const char *set)
{
    char path[512];
    json_error_t err;
    json_t *j;

    snprintf(path, sizeof(path), DATA "%s/expected.json", set);
    j = json_load_file(path, 0, &err);
    assert_non_null(j);
    return j;
}

static int64_t time_of(const char *text)
{
    int64_t t = 0;

    assert_int_equal(aecs_time_parse(text, &t), AECS_OK);
    return t;
}

static int64_t verify_time(const char *set)
{
    json_t *e = expected_of(set);
    int64_t t = time_of(json_string_value(json_object_get(e, "verify_time")));

    json_decref(e);
    return t;
}

/* The end of the set's validity window (its earliest nextUpdate for these sets). */
static int64_t window_end(const char *set)
{
    json_t *e = expected_of(set);
    int64_t t =
        time_of(json_string_value(json_array_get(json_object_get(e, "collateral_validity_window"), 1)));

    json_decref(e);
    return t;
}

/* A time well inside the set's validity window, for cache lookups. */
static int64_t mid_window(const char *set)
{
    return window_end(set) - 7 * 86400;
}

static void source(struct aecs_pcs_source *src)
{
    assert_int_equal(aecs_pcs_source_from_url(g_srv.url, src), AECS_OK);
    src->http.total_timeout_ms = 20000;
}

static void key_of(const char *set, struct aecs_collateral_key *key)
{
    size_t size = 0;
    uint8_t *q = set_file(set, "quote.bin", &size);

    assert_int_equal(aecs_collateral_key_from_quote(q, size, key), AECS_OK);
    free(q);
}

/* Verifies the set's quote with prepared collateral and checks the verdict of expected.json. */
static void check_verdict(const char *set, struct aecs_dcap_prepared *p)
{
    size_t size = 0;
    uint8_t *q = set_file(set, "quote.bin", &size);
    json_t *e = expected_of(set);
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    aecs_dcap_verify(p, q, size, verify_time(set), r);
    if (!r->verified)
        fail_msg("%s: not verified: [%s] %s", set, r->stage, r->message);
    assert_string_equal(r->tcb_status,
                        json_string_value(json_object_get(json_object_get(e, "expected"),
                                                          "tcb_status")));
    free(r);
    free(q);
    json_decref(e);
}

static void rm_collateral_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rm_collateral_dir(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void temp_dir(char *buf, size_t size)
{
    snprintf(buf, size, "/tmp/aecs-col-test-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

/* Number of entries in a folder (to see that no temporary folder was left). */
static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- the key of a quote ---- */

static void test_key_from_quote(void **state)
{
    (void)state;
    static const char *const sets[] = {SGX_SET, TDX_SET, "tdx_v4_automata_jul2025"};

    for (size_t i = 0; i < 3; i++) {
        struct aecs_collateral_key key;
        json_t *e = expected_of(sets[i]);
        json_t *ext = json_object_get(e, "pck_ext");
        char hex[13];

        key_of(sets[i], &key);
        aecs_hex_encode(key.fmspc, 6, hex);
        assert_string_equal(hex, json_string_value(json_object_get(ext, "fmspc")));
        const char *ca = json_string_value(json_object_get(ext, "ca"));
        assert_int_equal(key.ca, strstr(ca, "Platform") ? AECS_PCK_CA_PLATFORM
                                                        : AECS_PCK_CA_PROCESSOR);
        assert_int_equal(key.tee, strncmp(sets[i], "sgx", 3) == 0 ? AECS_TEE_SGX : AECS_TEE_TDX);
        json_decref(e);
    }

    /* a quote without its PCK chain (certification data type 1) names no collateral */
    struct aecs_collateral_key key;
    size_t size = 0;
    uint8_t *q = set_file("sgx_v3_intel_qvl_sample_testroot", "quote.bin", &size);
    assert_int_equal(aecs_collateral_key_from_quote(q, size, &key), AECS_E_UNSUPPORTED);
    assert_non_null(strstr(aecs_err_last()->message, "type 1"));
    assert_int_equal(aecs_collateral_key_from_quote(q, 100, &key), AECS_E_TRUNCATED);
    free(q);

    char name[40];
    key_of(SGX_SET, &key);
    aecs_collateral_key_format(&key, name);
    assert_string_equal(name, "sgx-processor-00a067110000");
}

/* ---- fetch, write, read ---- */

static void fetch_write_verify(const char *set)
{
    struct aecs_pcs_source src;
    struct aecs_collateral_key key;
    struct aecs_fetched_collateral *f = NULL;
    struct aecs_collateral *col = NULL;
    struct aecs_dcap_prepared *p = NULL;
    char tmp[64];
    char dir[128];
    size_t a_size = 0;
    size_t b_size = 0;

    source(&src);
    key_of(set, &key);
    tu_loopback_control(&g_srv, "mode=ok&reset=1");
    assert_int_equal(aecs_collateral_fetch(&src, &key, &f), AECS_OK);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 4);

    /* the CRLs arrive as the vector's DER bytes */
    uint8_t *a = set_file(set, "pck_crl.der", &a_size);
    assert_int_equal(f->item[AECS_ITEM_PCK_CRL].size, a_size);
    assert_memory_equal(f->item[AECS_ITEM_PCK_CRL].data, a, a_size);
    free(a);
    /* the TCB Info is the response body as received: it contains the signed body verbatim */
    a = set_file(set, "tcb_info.body.json", &a_size);
    assert_memory_equal(f->item[AECS_ITEM_TCB_INFO].data, "{\"tcbInfo\":", 11);
    assert_memory_equal(f->item[AECS_ITEM_TCB_INFO].data + 11, a, a_size);
    free(a);

    temp_dir(tmp, sizeof(tmp));
    snprintf(dir, sizeof(dir), "%s/collateral", tmp);
    assert_int_equal(aecs_collateral_dir_write(dir, f), AECS_OK);
    assert_int_equal(entries_in(tmp), 1);
    assert_int_equal(entries_in(dir), AECS_ITEM_COUNT);
    a = set_file(set, "tcb_info_issuer_chain.pem", &a_size);
    char path[256];
    snprintf(path, sizeof(path), "%s/tcb_info_issuer_chain.pem", dir);
    uint8_t *b = read_all(path, &b_size);
    assert_int_equal(a_size, b_size);
    assert_memory_equal(a, b, a_size);
    free(a);
    free(b);

    /* the folder is what `quote verify --collateral` reads, and it verifies */
    assert_int_equal(aecs_collateral_load_dir(dir, &col), AECS_OK);
    assert_int_equal(col->problem, AECS_COL_OK);
    assert_int_equal(aecs_dcap_prepare(col, NULL, &p), AECS_OK);
    check_verdict(set, p);
    aecs_dcap_prepared_free(p);

    /* reading it back gives the same bytes */
    struct aecs_fetched_collateral *g = NULL;
    assert_int_equal(aecs_collateral_dir_read(dir, &g), AECS_OK);
    for (size_t i = 0; i < AECS_ITEM_COUNT; i++) {
        assert_int_equal(g->item[i].size, f->item[i].size);
        assert_memory_equal(g->item[i].data, f->item[i].data, f->item[i].size);
    }
    aecs_fetched_collateral_free(g);
    aecs_fetched_collateral_free(f);
    rm_collateral_dir(tmp);
}

static void test_fetch_sgx(void **state)
{
    (void)state;
    fetch_write_verify(SGX_SET);
}

static void test_fetch_tdx(void **state)
{
    (void)state;
    fetch_write_verify(TDX_SET);
}

static void test_fetch_v3_headers_and_hex_crls(void **state)
{
    (void)state;
    static const char *const flags[] = {"--v3-headers", "--hex-crl", NULL};
    struct tu_loopback srv;
    struct aecs_pcs_source src;
    struct aecs_collateral_key key;
    struct aecs_fetched_collateral *f = NULL;
    size_t size = 0;

    /* a PCCS with API 3.0 answers CRLs in hex and v3 names the TCB chain SGX-TCB-Info-... */
    pcs_loopback_start(&srv, k_sets, flags);
    assert_int_equal(aecs_pcs_source_from_url(srv.url, &src), AECS_OK);
    key_of(SGX_SET, &key);
    assert_int_equal(aecs_collateral_fetch(&src, &key, &f), AECS_OK);
    uint8_t *der = set_file(SGX_SET, "root_ca_crl.der", &size);
    assert_int_equal(f->item[AECS_ITEM_ROOT_CA_CRL].size, size); /* decoded to DER */
    assert_memory_equal(f->item[AECS_ITEM_ROOT_CA_CRL].data, der, size);
    free(der);
    aecs_fetched_collateral_free(f);
    tu_loopback_stop(&srv);
}

/* Every failure: an error that names the item, the URL and what was wrong. */
static void expect_fetch_error(const char *control, const char *set, int code, const char *item,
                               const char *what)
{
    struct aecs_pcs_source src;
    struct aecs_collateral_key key;
    struct aecs_fetched_collateral *f = NULL;

    source(&src);
    key_of(set, &key);
    tu_loopback_control(&g_srv, control);
    assert_int_equal(aecs_collateral_fetch(&src, &key, &f), code);
    assert_null(f);
    const char *msg = aecs_err_last()->message;
    if (strstr(msg, item) == NULL || strstr(msg, g_srv.url) == NULL || strstr(msg, what) == NULL)
        fail_msg("%s: message lacks '%s' / URL / '%s': %s", control, item, what, msg);
    tu_loopback_control(&g_srv, "mode=ok&only=all");
}

static void test_fetch_errors(void **state)
{
    (void)state;
    expect_fetch_error("mode=404&only=tcb", SGX_SET, AECS_E_NOT_FOUND, "TCB Info", "HTTP 404");
    expect_fetch_error("mode=404&only=tcb", SGX_SET, AECS_E_NOT_FOUND, "tcb?fmspc=00A067110000",
                       "No cache data"); /* the service's Error-Message is passed on */
    expect_fetch_error("mode=500&only=qe", TDX_SET, AECS_E_IO, "QE Identity", "HTTP 500");
    expect_fetch_error("mode=500&only=rootcacrl", SGX_SET, AECS_E_IO, "root CA CRL", "HTTP 500");
    expect_fetch_error("mode=garbage&only=pckcrl", SGX_SET, AECS_E_FORMAT, "PCK CRL",
                       "not a CRL");
    expect_fetch_error("mode=garbage&only=tcb", TDX_SET, AECS_E_FORMAT, "TCB Info",
                       "PCS response");
    expect_fetch_error("mode=garbage&only=qe", SGX_SET, AECS_E_FORMAT, "QE Identity",
                       "not valid JSON");
    expect_fetch_error("mode=noheaders&only=tcb", SGX_SET, AECS_E_FORMAT, "TCB Info",
                       "TCB-Info-Issuer-Chain");
    expect_fetch_error("mode=noheaders&only=pckcrl", TDX_SET, AECS_E_FORMAT, "PCK CRL",
                       "SGX-PCK-CRL-Issuer-Chain");
    expect_fetch_error("mode=noheaders&only=qe", SGX_SET, AECS_E_FORMAT, "QE Identity",
                       "SGX-Enclave-Identity-Issuer-Chain");
    expect_fetch_error("mode=503", SGX_SET, AECS_E_IO, "root CA CRL", "HTTP 503");
}

static void test_fetch_timeout_and_retries(void **state)
{
    (void)state;
    struct aecs_pcs_source src;
    struct aecs_collateral_key key;
    struct aecs_fetched_collateral *f = NULL;

    source(&src);
    key_of(SGX_SET, &key);
    src.http.total_timeout_ms = 300;
    tu_loopback_control(&g_srv, "mode=slow&only=qe&delay_ms=1500");
    assert_int_equal(aecs_collateral_fetch(&src, &key, &f), AECS_E_IO);
    assert_non_null(strstr(aecs_err_last()->message, "QE Identity"));
    assert_non_null(strstr(aecs_err_last()->message, "timed out"));
    tu_loopback_control(&g_srv, "mode=ok&only=all");

    /* retry_times=2 rides over two 503s */
    source(&src);
    src.http.retry_times = 2;
    src.http.retry_delay_ms = 20;
    tu_loopback_control(&g_srv, "reset=1&fail_first=2");
    assert_int_equal(aecs_collateral_fetch(&src, &key, &f), AECS_OK);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 6);
    aecs_fetched_collateral_free(f);
}

static void test_tdx_needs_sgx_in_url(void **state)
{
    (void)state;
    struct aecs_pcs_source src;
    struct aecs_collateral_key key;
    struct aecs_fetched_collateral *f = NULL;
    char url[128];

    /* TDX collateral comes from the /tdx/ twin of the URL; without /sgx/ there is none */
    snprintf(url, sizeof(url), "%s/pccs/certification/v4/", g_srv.url);
    assert_int_equal(aecs_pcs_source_from_url(url, &src), AECS_OK);
    key_of(TDX_SET, &key);
    assert_int_equal(aecs_collateral_fetch(&src, &key, &f), AECS_E_INVALID_ARGUMENT);
    assert_non_null(strstr(aecs_err_last()->message, "/tdx/"));
}

static void test_wrong_platform_is_refused(void **state)
{
    (void)state;
    struct aecs_pcs_source src;
    struct aecs_collateral_key key;
    struct aecs_fetched_collateral *f = NULL;
    struct aecs_collateral *col = NULL;

    source(&src);
    key_of(SGX_SET, &key);
    assert_int_equal(aecs_collateral_fetch(&src, &key, &f), AECS_OK);
    /* the same bytes checked against another key: FMSPC, then TEE */
    f->key.fmspc[0] ^= 1;
    assert_int_equal(aecs_fetched_collateral_parse(f, &col), AECS_E_MISMATCH);
    assert_non_null(strstr(aecs_err_last()->message, "FMSPC"));
    f->key.fmspc[0] ^= 1;
    f->key.tee = AECS_TEE_TDX;
    assert_int_equal(aecs_fetched_collateral_parse(f, &col), AECS_E_MISMATCH);
    assert_null(col);
    aecs_fetched_collateral_free(f);
}

static void test_dir_write_rules(void **state)
{
    (void)state;
    struct aecs_pcs_source src;
    struct aecs_collateral_key key;
    struct aecs_fetched_collateral *f = NULL;
    char tmp[64];
    char dir[128];
    char path[256];

    source(&src);
    key_of(SGX_SET, &key);
    assert_int_equal(aecs_collateral_fetch(&src, &key, &f), AECS_OK);
    temp_dir(tmp, sizeof(tmp));
    snprintf(dir, sizeof(dir), "%s/col", tmp);

    /* an old folder in the split layout is replaced whole: no stale .body.json remains */
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/tcb_info.body.json", dir);
    assert_int_equal(aecs_file_write_atomic(path, "{}", 2, 0644), AECS_OK);
    assert_int_equal(aecs_collateral_dir_write(dir, f), AECS_OK);
    assert_false(aecs_file_exists(path));
    assert_int_equal(entries_in(dir), AECS_ITEM_COUNT);
    assert_int_equal(entries_in(tmp), 1);
    /* and again over itself */
    assert_int_equal(aecs_collateral_dir_write(dir, f), AECS_OK);
    assert_int_equal(entries_in(tmp), 1);

    /* a folder holding anything else is never replaced */
    snprintf(path, sizeof(path), "%s/notes.txt", dir);
    assert_int_equal(aecs_file_write_atomic(path, "mine", 4, 0644), AECS_OK);
    assert_int_equal(aecs_collateral_dir_write(dir, f), AECS_E_USAGE);
    assert_non_null(strstr(aecs_err_last()->message, "notes.txt"));
    assert_true(aecs_file_exists(path));
    assert_int_equal(entries_in(dir), AECS_ITEM_COUNT + 1);
    assert_int_equal(entries_in(tmp), 1);
    unlink(path);

    /* a file in the way */
    snprintf(path, sizeof(path), "%s/file", tmp);
    assert_int_equal(aecs_file_write_atomic(path, "x", 1, 0644), AECS_OK);
    assert_int_equal(aecs_collateral_dir_write(path, f), AECS_E_USAGE);
    aecs_fetched_collateral_free(f);
    rm_collateral_dir(tmp);
}

static void test_collateral_from_memory(void **state)
{
    (void)state;
    struct aecs_collateral_blobs b;
    struct aecs_collateral *col = NULL;
    size_t s[5];
    uint8_t *root = set_file(SGX_SET, "root_ca_crl.der", &s[0]);
    uint8_t *pck = set_file(SGX_SET, "pck_crl.der", &s[1]);
    uint8_t *chain = set_file(SGX_SET, "tcb_info_issuer_chain.pem", &s[2]);
    uint8_t *body = set_file(SGX_SET, "tcb_info.body.json", &s[3]);
    uint8_t *sig = set_file(SGX_SET, "tcb_info.sig.hex", &s[4]);
    size_t qs = 0;
    size_t qss = 0;
    uint8_t *qbody = set_file(SGX_SET, "qe_identity.body.json", &qs);
    uint8_t *qsig = set_file(SGX_SET, "qe_identity.sig.hex", &qss);
    char *tcb = NULL;
    char *qe = NULL;

    assert_true(asprintf(&tcb, "{\"tcbInfo\":%.*s,\"signature\":\"%.128s\"}", (int)s[3],
                         (char *)body, (char *)sig) > 0);
    assert_true(asprintf(&qe, "{\"enclaveIdentity\":%.*s,\"signature\":\"%.128s\"}", (int)qs,
                         (char *)qbody, (char *)qsig) > 0);
    memset(&b, 0, sizeof(b));
    b.root_ca_crl = root;
    b.root_ca_crl_size = s[0];
    b.pck_crl = pck;
    b.pck_crl_size = s[1];
    b.tcb_info = (uint8_t *)tcb;
    b.tcb_info_size = strlen(tcb);
    b.tcb_info_issuer_chain = chain;
    b.tcb_info_issuer_chain_size = s[2];
    b.qe_identity = (uint8_t *)qe;
    b.qe_identity_size = strlen(qe);
    /* a missing mandatory item is an error that names it */
    assert_int_equal(aecs_collateral_from_memory(&b, &col), AECS_E_INVALID_ARGUMENT);
    assert_non_null(strstr(aecs_err_last()->message, "QE Identity issuer chain"));
    b.qe_identity_issuer_chain = chain;
    b.qe_identity_issuer_chain_size = s[2];

    assert_int_equal(aecs_collateral_from_memory(&b, &col), AECS_OK);
    assert_int_equal(col->problem, AECS_COL_OK);
    assert_int_equal(aecs_collateral_next_update(col), window_end(SGX_SET));
    struct aecs_dcap_prepared *p = NULL;
    assert_int_equal(aecs_dcap_prepare(col, NULL, &p), AECS_OK);
    check_verdict(SGX_SET, p);
    aecs_dcap_prepared_free(p);

    /* content that does not parse is a recorded problem, as with folders */
    b.pck_crl_size = 10;
    assert_int_equal(aecs_collateral_from_memory(&b, &col), AECS_OK);
    assert_int_equal(col->problem, AECS_COL_BAD_CRL);
    assert_non_null(strstr(col->problem_message, "PCK CRL"));
    aecs_collateral_free(col);
    b.pck_crl_size = s[1];
    b.tcb_info_size -= 2;
    assert_int_equal(aecs_collateral_from_memory(&b, &col), AECS_OK);
    assert_int_equal(col->problem, AECS_COL_BAD_TCB_INFO);
    aecs_collateral_free(col);

    free(tcb);
    free(qe);
    free(root);
    free(pck);
    free(chain);
    free(body);
    free(sig);
    free(qbody);
    free(qsig);
}

/* ---- the cache ---- */

static struct aecs_collateral_cache *new_cache(const char *disk)
{
    struct aecs_collateral_cache_config cfg;
    struct aecs_collateral_cache *c = NULL;

    memset(&cfg, 0, sizeof(cfg));
    source(&cfg.source);
    cfg.disk_dir = disk;
    assert_int_equal(aecs_collateral_cache_new(&cfg, &c), AECS_OK);
    return c;
}

static struct aecs_collateral_ref *cache_get(struct aecs_collateral_cache *c, const char *set,
                                             int64_t now)
{
    size_t size = 0;
    uint8_t *q = set_file(set, "quote.bin", &size);
    struct aecs_collateral_ref *ref = NULL;

    if (aecs_collateral_cache_get(c, q, size, now, &ref) != AECS_OK)
        fail_msg("cache get %s: %s", set, aecs_err_last()->message);
    free(q);
    return ref;
}

static void test_cache_hits(void **state)
{
    (void)state;
    struct aecs_collateral_cache *c = new_cache(NULL);
    struct aecs_collateral_cache_stats st;
    int64_t t = mid_window(SGX_SET);

    tu_loopback_control(&g_srv, "mode=ok&reset=1");
    struct aecs_collateral_ref *a = cache_get(c, SGX_SET, t);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 4);
    assert_int_equal(aecs_collateral_ref_next_update(a), window_end(SGX_SET));
    check_verdict(SGX_SET, aecs_collateral_ref_prepared(a));

    /* the second get does not reach the server, and gives the same prepared collateral */
    struct aecs_collateral_ref *b = cache_get(c, SGX_SET, t + 60);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 4);
    assert_ptr_equal(aecs_collateral_ref_prepared(a), aecs_collateral_ref_prepared(b));

    /* another TEE is another key */
    struct aecs_collateral_ref *d = cache_get(c, TDX_SET, mid_window(TDX_SET));
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 8);
    assert_int_equal(tu_loopback_count(&g_srv, "tcb"), 2);
    check_verdict(TDX_SET, aecs_collateral_ref_prepared(d));

    aecs_collateral_cache_get_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.fetches, 2);

    /* references outlive the cache */
    aecs_collateral_cache_free(c);
    check_verdict(SGX_SET, aecs_collateral_ref_prepared(b));
    aecs_collateral_ref_release(a);
    aecs_collateral_ref_release(b);
    aecs_collateral_ref_release(d);
}

static void test_cache_expiry(void **state)
{
    (void)state;
    struct aecs_collateral_cache *c = new_cache(NULL);
    int64_t end = window_end(SGX_SET);

    tu_loopback_control(&g_srv, "mode=ok&reset=1");
    struct aecs_collateral_ref *a = cache_get(c, SGX_SET, mid_window(SGX_SET));
    struct aecs_collateral_ref *b = cache_get(c, SGX_SET, end - 1);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 4);

    /* at nextUpdate the entry is stale: fetched again */
    struct aecs_collateral_ref *d = cache_get(c, SGX_SET, end);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 8);
    assert_ptr_not_equal(aecs_collateral_ref_prepared(a), aecs_collateral_ref_prepared(d));
    /* the old entry is still usable by whoever holds it */
    check_verdict(SGX_SET, aecs_collateral_ref_prepared(a));

    /* the service had nothing newer: not asked again within the minimum interval ... */
    struct aecs_collateral_ref *e = cache_get(c, SGX_SET, end + 30);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 8);
    assert_ptr_equal(aecs_collateral_ref_prepared(d), aecs_collateral_ref_prepared(e));
    /* ... and asked again after it */
    struct aecs_collateral_ref *g = cache_get(c, SGX_SET, end + AECS_COLLATERAL_CACHE_DEFAULT_REFETCH);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 12);

    struct aecs_collateral_ref *refs[] = {a, b, d, e, g};
    for (size_t i = 0; i < 5; i++)
        aecs_collateral_ref_release(refs[i]);
    aecs_collateral_cache_free(c);
}

static void test_cache_disk(void **state)
{
    (void)state;
    char tmp[64];
    char disk[128];
    int64_t t = mid_window(TDX_SET);
    struct aecs_collateral_cache_stats st;

    temp_dir(tmp, sizeof(tmp));
    snprintf(disk, sizeof(disk), "%s/cache", tmp);
    tu_loopback_control(&g_srv, "mode=ok&reset=1");
    struct aecs_collateral_cache *c = new_cache(disk);
    aecs_collateral_ref_release(cache_get(c, TDX_SET, t));
    aecs_collateral_cache_free(c);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 4);

    /* the folder is the `quote verify` layout, named by the key */
    char path[256];
    snprintf(path, sizeof(path), "%s/tdx-platform-b0c06f000000/tcb_info.json", disk);
    assert_true(aecs_file_exists(path));

    /* a restart: a new cache on the same folder does not fetch */
    c = new_cache(disk);
    struct aecs_collateral_ref *r = cache_get(c, TDX_SET, t);
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 4);
    check_verdict(TDX_SET, aecs_collateral_ref_prepared(r));
    aecs_collateral_ref_release(r);
    aecs_collateral_cache_get_stats(c, &st);
    assert_int_equal(st.disk_loads, 1);
    assert_int_equal(st.fetches, 0);
    aecs_collateral_cache_free(c);

    /* expired on disk: fetched */
    c = new_cache(disk);
    aecs_collateral_ref_release(cache_get(c, TDX_SET, window_end(TDX_SET) + 1));
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 8);
    aecs_collateral_cache_free(c);

    /* a damaged file on disk is not trusted: fetched again */
    assert_int_equal(aecs_file_write_atomic(path, "{\"tcbInfo\":", 11, 0644), AECS_OK);
    c = new_cache(disk);
    aecs_collateral_ref_release(cache_get(c, TDX_SET, t));
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 12);
    aecs_collateral_cache_free(c);
    rm_collateral_dir(tmp);
}

static void test_cache_failures(void **state)
{
    (void)state;
    struct aecs_collateral_cache *c = new_cache(NULL);
    struct aecs_collateral_ref *r = NULL;
    size_t size = 0;
    uint8_t *q = set_file(SGX_SET, "quote.bin", &size);
    int64_t t = mid_window(SGX_SET);

    tu_loopback_control(&g_srv, "mode=404&only=tcb&reset=1");
    assert_int_equal(aecs_collateral_cache_get(c, q, size, t, &r), AECS_E_NOT_FOUND);
    assert_null(r);
    const char *msg = aecs_err_last()->message;
    assert_non_null(strstr(msg, "sgx-processor-00a067110000"));
    assert_non_null(strstr(msg, "TCB Info"));
    assert_non_null(strstr(msg, "HTTP 404"));

    /* a failure is not cached: once the service answers, the next get succeeds */
    tu_loopback_control(&g_srv, "mode=ok&only=all");
    assert_int_equal(aecs_collateral_cache_get(c, q, size, t, &r), AECS_OK);
    aecs_collateral_ref_release(r);

    /* a quote without its PCK chain */
    uint8_t *other = set_file("sgx_v3_intel_qvl_sample_testroot", "quote.bin", &size);
    assert_int_equal(aecs_collateral_cache_get(c, other, size, t, &r), AECS_E_UNSUPPORTED);
    free(other);
    free(q);
    aecs_collateral_cache_free(c);
}

struct thread_arg {
    struct aecs_collateral_cache *cache;
    const uint8_t *quote;
    size_t size;
    int64_t now;
    struct aecs_collateral_ref *ref;
    int rc;
};

static void *getter(void *p)
{
    struct thread_arg *a = p;

    a->rc = aecs_collateral_cache_get(a->cache, a->quote, a->size, a->now, &a->ref);
    return NULL;
}

static void test_cache_threads(void **state)
{
    (void)state;
    struct aecs_collateral_cache *c = new_cache(NULL);
    size_t size = 0;
    uint8_t *q = set_file(SGX_SET, "quote.bin", &size);
    pthread_t th[6];
    struct thread_arg args[6];

    /* a slow service: every thread asks while the first fetch is under way */
    tu_loopback_control(&g_srv, "mode=slow&only=qe&delay_ms=400&reset=1");
    for (int i = 0; i < 6; i++) {
        args[i] = (struct thread_arg){c, q, size, mid_window(SGX_SET), NULL, -1};
        assert_int_equal(pthread_create(&th[i], NULL, getter, &args[i]), 0);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    tu_loopback_control(&g_srv, "mode=ok&only=all");
    /* one fetch for all of them */
    assert_int_equal(tu_loopback_count(&g_srv, "requests"), 4);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(args[i].rc, AECS_OK);
        assert_ptr_equal(aecs_collateral_ref_prepared(args[i].ref),
                         aecs_collateral_ref_prepared(args[0].ref));
    }
    struct aecs_collateral_cache_stats st;
    aecs_collateral_cache_get_stats(c, &st);
    assert_int_equal(st.fetches, 1);
    assert_int_equal(st.hits + st.waits, 5);
    check_verdict(SGX_SET, aecs_collateral_ref_prepared(args[3].ref));
    for (int i = 0; i < 6; i++)
        aecs_collateral_ref_release(args[i].ref);
    free(q);
    aecs_collateral_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_from_quote),
        cmocka_unit_test(test_fetch_sgx),
        cmocka_unit_test(test_fetch_tdx),
        cmocka_unit_test(test_fetch_v3_headers_and_hex_crls),
        cmocka_unit_test(test_fetch_errors),
        cmocka_unit_test(test_fetch_timeout_and_retries),
        cmocka_unit_test(test_tdx_needs_sgx_in_url),
        cmocka_unit_test(test_wrong_platform_is_refused),
        cmocka_unit_test(test_dir_write_rules),
        cmocka_unit_test(test_collateral_from_memory),
        cmocka_unit_test(test_cache_hits),
        cmocka_unit_test(test_cache_expiry),
        cmocka_unit_test(test_cache_disk),
        cmocka_unit_test(test_cache_failures),
        cmocka_unit_test(test_cache_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
