/*
 * kds_test.c - fetching VCEKs and cert_chains from AMD's KDS, against the
 * loopback KDS (tests/tools/kds_server), and the KDS cache.
 *
 * Expected values come from outside the code under test: the request path
 * from AMD's KDS specification (#57230: /vcek/v1/{product}/{hwid}?blSPL=..)
 * filled in with the vector's expected.json (chip_id, reported_tcb); the
 * certificates from the vector files byte for byte; the Turin hwID and SPLs
 * from `openssl asn1parse` of its VCEK (as in snp_test.c); times from
 * expected.json's vcek_validity.
 */
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attest/kds.h"
#include "attest/snp.h"
#include "base/err.h"
#include "kds_loopback.h"
#include "testutil.h"

#define MILAN "tests/data/snp/snp_milan_virtee/"
#define TURIN "tests/data/snp/snp_turin_chain_only_virtee/"
#define AT_OK "2024-01-01T00:00:00Z"
#define TURIN_HWID "1e550a8ee5cf9f4d"
#define TURIN_PATH "/vcek/v1/Turin/" TURIN_HWID "?fmcSPL=0&blSPL=0&teeSPL=0&snpSPL=0&ucodeSPL=9"

static struct tu_loopback g_kds;

static int setup(void **state)
{
    (void)state;
    kds_loopback_start(&g_kds);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_loopback_stop(&g_kds);
    return 0;
}

/* Every test starts with a well-behaved server and zeroed counters. */
static int reset(void **state)
{
    (void)state;
    tu_loopback_control(&g_kds, "mode=ok&only=all&count=0&retry_after=1&reset=1");
    aecs_err_clear();
    return 0;
}

/* ---- helpers ---- */

static uint8_t *vector(const char *rel, size_t *size)
{
    char path[1024];

    tu_src_path(path, sizeof(path), rel);
    return tu_read_file(path, size);
}

static json_t *milan_expected(void)
{
    char path[1024];

    tu_src_path(path, sizeof(path), MILAN "expected.json");
    return tu_load_json(path);
}

/* The KDS path of the Milan vector's VCEK, from the spec and expected.json. */
static void milan_path(char *buf, size_t size)
{
    json_t *exp = milan_expected();

    snprintf(buf, size, "/vcek/v1/Milan/%s?blSPL=%lld&teeSPL=%lld&snpSPL=%lld&ucodeSPL=%lld",
             tu_json_str(exp, "report.chip_id"), tu_json_int(exp, "report.reported_tcb.bootloader"),
             tu_json_int(exp, "report.reported_tcb.tee"),
             tu_json_int(exp, "report.reported_tcb.snp"),
             tu_json_int(exp, "report.reported_tcb.microcode"));
    json_decref(exp);
}

static struct aecs_snp_report *milan_report(void)
{
    size_t size = 0;
    uint8_t *data = vector(MILAN "report.bin", &size);
    struct aecs_snp_report *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    assert_int_equal(aecs_snp_report_parse(data, size, r), AECS_OK);
    free(data);
    return r;
}

static void milan_key(struct aecs_kds_key *key)
{
    struct aecs_snp_report *r = milan_report();

    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, key), AECS_OK);
    free(r);
}

/* A version 3 Turin report carrying the Turin vector VCEK's hwID and TCB (no real one exists). */
static struct aecs_snp_report *turin_report(void)
{
    static const uint8_t tcb[8] = {0, 0, 0, 0, 0, 0, 0, 9}; /* FMC BL TEE SNP - - - UCODE */
    struct aecs_snp_report *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    r->version = 3;
    r->has_cpuid = 1;
    r->cpuid_fam_id = 0x1A;
    r->cpuid_mod_id = 0x02;
    r->product = AECS_AMD_TURIN;
    r->signing_key = AECS_SNP_KEY_VCEK;
    tu_hex(TURIN_HWID, r->chip_id, 8);
    memcpy(r->reported_tcb_raw, tcb, 8);
    return r;
}

static void source(struct aecs_kds_source *src)
{
    assert_int_equal(aecs_kds_source_init(src, g_kds.url), AECS_OK);
    src->http.total_timeout_ms = 10000;
    src->max_retry_after_s = 5;
}

static void assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("'%s' lacks '%s'", text, part);
}

static void assert_vector_bytes(const uint8_t *data, size_t size, const char *rel)
{
    size_t want_size = 0;
    uint8_t *want = vector(rel, &want_size);

    assert_int_equal(size, want_size);
    assert_memory_equal(data, want, size);
    free(want);
}

static void assert_file_is_vector(const char *path, const char *rel)
{
    size_t size = 0;
    uint8_t *data = tu_read_file(path, &size);
    struct stat st;

    assert_vector_bytes(data, size, rel);
    free(data);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
}

static size_t dir_entries(const char *dir)
{
    char cmd[1200];
    char line[64];
    FILE *p;

    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    return (size_t)strtoul(line, NULL, 10);
}

static double monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- source, product, key ---- */

static void test_source(void **state)
{
    struct aecs_kds_source src;
    char *saved = getenv(AECS_KDS_URL_ENV) ? strdup(getenv(AECS_KDS_URL_ENV)) : NULL;

    (void)state;
    unsetenv(AECS_KDS_URL_ENV);
    assert_int_equal(aecs_kds_source_init(&src, NULL), AECS_OK);
    assert_string_equal(src.base_url, "https://kdsintf.amd.com");
    assert_int_equal(src.http.tls_verify_disabled_insecure, 0);
    assert_int_equal(src.max_retry_after_s, 60);
    setenv(AECS_KDS_URL_ENV, "http://127.0.0.1:1/kds/", 1);
    assert_int_equal(aecs_kds_source_init(&src, NULL), AECS_OK);
    assert_string_equal(src.base_url, "http://127.0.0.1:1/kds");
    assert_int_equal(aecs_kds_source_init(&src, "https://mirror.example//"), AECS_OK);
    assert_string_equal(src.base_url, "https://mirror.example");
    assert_int_equal(aecs_kds_source_init(&src, "ftp://kdsintf.amd.com"), AECS_E_INVALID_ARGUMENT);
    setenv(AECS_KDS_URL_ENV, "file:///etc/passwd", 1);
    assert_int_equal(aecs_kds_source_init(&src, NULL), AECS_E_INVALID_ARGUMENT);
    if (saved != NULL)
        setenv(AECS_KDS_URL_ENV, saved, 1);
    else
        unsetenv(AECS_KDS_URL_ENV);
    free(saved);
}

static void test_key_from_report(void **state)
{
    struct aecs_snp_report *r = milan_report();
    struct aecs_kds_key key;
    enum aecs_amd_product p;
    json_t *exp = milan_expected();
    char want[512];
    char name[AECS_KDS_KEY_NAME_MAX];
    uint8_t chip[64];
    uint8_t tcb[8];

    (void)state;
    /* A version 2 report does not name its product. */
    assert_int_equal(r->version, 2);
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_PRODUCT_UNKNOWN, &key), AECS_E_USAGE);
    assert_contains(aecs_err_last()->message, "version 2");
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, &key), AECS_OK);
    assert_int_equal(key.product, AECS_AMD_MILAN);
    assert_int_equal(key.hwid_size, 64);
    tu_hex(tu_json_str(exp, "report.chip_id"), chip, 64);
    assert_memory_equal(key.hwid, chip, 64);
    tu_hex(tu_json_str(exp, "report.reported_tcb_raw"), tcb, 8);
    assert_memory_equal(key.tcb, tcb, 8);
    milan_path(want, sizeof(want));
    assert_string_equal(key.path, want);
    aecs_kds_key_format(&key, name);
    snprintf(want, sizeof(want), "Milan-%s-%s", tu_json_str(exp, "report.chip_id"),
             tu_json_str(exp, "report.reported_tcb_raw"));
    assert_string_equal(name, want);

    /* Version 3+: the CPUID product wins, and a different one given is an error. */
    r->has_cpuid = 1;
    r->cpuid_fam_id = 0x19;
    r->cpuid_mod_id = 0x11;
    r->product = AECS_AMD_GENOA;
    assert_int_equal(aecs_kds_report_product(r, AECS_AMD_PRODUCT_UNKNOWN, &p), AECS_OK);
    assert_int_equal(p, AECS_AMD_GENOA);
    assert_int_equal(aecs_kds_report_product(r, AECS_AMD_GENOA, &p), AECS_OK);
    assert_int_equal(aecs_kds_report_product(r, AECS_AMD_MILAN, &p), AECS_E_MISMATCH);
    assert_contains(aecs_err_last()->message, "Genoa");
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_PRODUCT_UNKNOWN, &key), AECS_OK);
    assert_int_equal(strncmp(key.path, "/vcek/v1/Genoa/", 15), 0);
    r->product = AECS_AMD_PRODUCT_UNKNOWN;
    r->has_cpuid = 0;

    /* KDS has nothing for VLEK-signed reports or masked chip IDs. */
    r->signing_key = AECS_SNP_KEY_VLEK;
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, &key), AECS_E_INVALID_ARGUMENT);
    assert_contains(aecs_err_last()->message, "VLEK");
    r->signing_key = AECS_SNP_KEY_VCEK;
    r->mask_chip_id = 1;
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, &key), AECS_E_INVALID_ARGUMENT);

    /* Turin: 8-byte hwID, fmcSPL first. */
    struct aecs_snp_report *t = turin_report();
    assert_int_equal(aecs_kds_key_from_report(t, AECS_AMD_PRODUCT_UNKNOWN, &key), AECS_OK);
    assert_int_equal(key.hwid_size, 8);
    assert_string_equal(key.path, TURIN_PATH);
    free(t);
    json_decref(exp);
    free(r);
}

static void test_retry_after(void **state)
{
    int64_t s = -1;
    int64_t now = tu_utc("2015-10-21T07:27:30Z");

    (void)state;
    assert_int_equal(aecs_kds_parse_retry_after("5", now, &s), AECS_OK);
    assert_int_equal(s, 5);
    assert_int_equal(aecs_kds_parse_retry_after(" 120 ", now, &s), AECS_OK);
    assert_int_equal(s, 120);
    /* RFC 9110's example date, 30 s after `now`. */
    assert_int_equal(aecs_kds_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now, &s), AECS_OK);
    assert_int_equal(s, 30);
    assert_int_equal(aecs_kds_parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now, &s), AECS_OK);
    assert_int_equal(s, 0);
    assert_int_equal(aecs_kds_parse_retry_after("soon", now, &s), AECS_E_FORMAT);
    assert_int_equal(aecs_kds_parse_retry_after("-1", now, &s), AECS_E_FORMAT);
    assert_int_equal(aecs_kds_parse_retry_after("5s", now, &s), AECS_E_FORMAT);
    assert_int_equal(aecs_kds_parse_retry_after("", now, &s), AECS_E_FORMAT);
    assert_int_equal(aecs_kds_parse_retry_after("99999999999999999999999", now, &s), AECS_E_FORMAT);
    assert_int_equal(aecs_kds_parse_retry_after("Wed, 21 Oct 2015 07:28:00 CET", now, &s),
                     AECS_E_FORMAT);
}

/* ---- fetching ---- */

static void test_fetch_milan(void **state)
{
    struct aecs_kds_source src;
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    struct aecs_snp_result *res = calloc(1, sizeof(*res));
    char want[512];
    char got[1024];
    const uint8_t *p;
    size_t size = 0;

    (void)state;
    assert_non_null(res);
    source(&src);
    milan_key(&key);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_OK);

    /* One request each, at exactly the paths the KDS specification gives. */
    assert_int_equal(tu_loopback_count(&g_kds, "requests"), 2);
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 1);
    assert_int_equal(tu_loopback_count(&g_kds, "chain"), 1);
    milan_path(want, sizeof(want));
    kds_loopback_last(&g_kds, "last_vcek", got, sizeof(got));
    assert_string_equal(got, want);
    kds_loopback_last(&g_kds, "last_chain", got, sizeof(got));
    assert_string_equal(got, "/vcek/v1/Milan/cert_chain");

    /* The certificates are the vector's, byte for byte. */
    p = aecs_kds_vcek_der(v, &size);
    assert_vector_bytes(p, size, MILAN "vcek.der");
    p = aecs_kds_vcek_chain_pem(v, &size);
    assert_vector_bytes(p, size, MILAN "cert_chain.pem");
    assert_int_equal(aecs_kds_vcek_not_after(v), tu_utc("2030-04-03T19:23:43Z"));
    assert_int_equal(aecs_kds_vcek_key(v)->product, AECS_AMD_MILAN);

    /* And they verify the report. */
    uint8_t *report = vector(MILAN "report.bin", &size);
    aecs_snp_verify(report, size, aecs_kds_vcek_collateral(v), tu_utc(AT_OK), res);
    assert_true(res->verified);

    /* Written as a collateral folder, which loads and verifies the same. */
    char dir[128];
    char out[256];
    char path[512];
    struct aecs_snp_collateral *col = NULL;
    tu_mkdtemp(dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/col", dir);
    assert_int_equal(aecs_kds_dir_write(out, v), AECS_OK);
    snprintf(path, sizeof(path), "%s/vcek.der", out);
    assert_file_is_vector(path, MILAN "vcek.der");
    snprintf(path, sizeof(path), "%s/cert_chain.pem", out);
    assert_file_is_vector(path, MILAN "cert_chain.pem");
    assert_int_equal(dir_entries(out), 2);
    assert_int_equal(dir_entries(dir), 1); /* nothing left beside it */
    assert_int_equal(aecs_snp_collateral_load_dir(out, &col), AECS_OK);
    memset(res, 0, sizeof(*res));
    aecs_snp_verify(report, size, col, tu_utc(AT_OK), res);
    assert_true(res->verified);

    aecs_snp_collateral_free(col);
    tu_rmtree(dir);
    free(report);
    free(res);
    aecs_kds_vcek_release(v);
}

static void test_fetch_pem_answer(void **state)
{
    struct aecs_kds_source src;
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    size_t size = 0;

    (void)state;
    source(&src);
    milan_key(&key);
    tu_loopback_control(&g_kds, "mode=pem&only=vcek");
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_OK);
    const uint8_t *p = aecs_kds_vcek_der(v, &size);
    assert_vector_bytes(p, size, MILAN "vcek.der"); /* kept as DER */
    aecs_kds_vcek_release(v);
}

static void test_fetch_turin(void **state)
{
    struct aecs_kds_source src;
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    struct aecs_snp_report *r = turin_report();
    char got[1024];
    size_t size = 0;

    (void)state;
    source(&src);
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_PRODUCT_UNKNOWN, &key), AECS_OK);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_OK);
    kds_loopback_last(&g_kds, "last_vcek", got, sizeof(got));
    assert_string_equal(got, TURIN_PATH);
    kds_loopback_last(&g_kds, "last_chain", got, sizeof(got));
    assert_string_equal(got, "/vcek/v1/Turin/cert_chain");
    const uint8_t *p = aecs_kds_vcek_der(v, &size);
    assert_vector_bytes(p, size, TURIN "vcek.der");
    p = aecs_kds_vcek_chain_pem(v, &size);
    assert_vector_bytes(p, size, TURIN "cert_chain.pem");
    aecs_kds_vcek_release(v);
    free(r);
}

/* The fetch fails with `code`, naming `text`, the server and `url_part`. */
static void fetch_fails(const char *control, int code, const char *text, const char *url_part)
{
    struct aecs_kds_source src;
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = (struct aecs_kds_vcek *)1;
    char q[256];

    source(&src);
    src.http.total_timeout_ms = 1000;
    milan_key(&key);
    snprintf(q, sizeof(q), "%s&delay_ms=3000", control);
    tu_loopback_control(&g_kds, q);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), code);
    assert_null(v);
    assert_contains(aecs_err_last()->message, text);
    assert_contains(aecs_err_last()->message, g_kds.url);
    assert_contains(aecs_err_last()->message, url_part);
    tu_loopback_control(&g_kds, "mode=ok&only=all&count=0");
}

static void test_fetch_errors(void **state)
{
    (void)state;
    fetch_fails("mode=404&only=vcek", AECS_E_NOT_FOUND, "HTTP 404", "/vcek/v1/Milan/d49554ec");
    assert_contains(aecs_err_last()->message, "fetching the VCEK");
    fetch_fails("mode=404&only=chain", AECS_E_NOT_FOUND, "HTTP 404", "/vcek/v1/Milan/cert_chain");
    fetch_fails("mode=500&only=vcek", AECS_E_IO, "HTTP 500", "ucodeSPL=115");
    assert_contains(aecs_err_last()->message, "internal error");
    fetch_fails("mode=500&only=chain", AECS_E_IO, "HTTP 500", "cert_chain");
    fetch_fails("mode=garbage&only=vcek", AECS_E_FORMAT, "VCEK from KDS: not a certificate",
                "/vcek/v1/Milan/");
    fetch_fails("mode=garbage&only=chain", AECS_E_FORMAT, "cert_chain: not PEM certificates",
                "cert_chain");
    fetch_fails("mode=wrongchain&only=chain", AECS_E_UNTRUSTED, "not AMD's pinned ARK for Milan",
                "cert_chain");
    fetch_fails("mode=slow&only=vcek", AECS_E_IO, "timed out", "/vcek/v1/Milan/");
    /* The slow answer is still being sent: let the server finish it. */
    tu_loopback_control(&g_kds, "mode=ok");
}

static void test_rate_limit(void **state)
{
    struct aecs_kds_source src;
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;

    (void)state;
    source(&src);
    milan_key(&key);

    /* One 429 with Retry-After: 1, then the VCEK. */
    tu_loopback_control(&g_kds, "mode=429&only=vcek&count=1&retry_after=1&reset=1");
    double t0 = monotonic();
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_OK);
    assert_true(monotonic() - t0 >= 0.9);
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 2);
    aecs_kds_vcek_release(v);
    v = NULL;

    /* A Retry-After as an HTTP date already past: asked again at once. */
    tu_loopback_control(&g_kds, "mode=429&only=chain&count=2&reset=1&"
                                 "retry_after=Thu%2C%2001%20Jan%201970%2000%3A00%3A00%20GMT");
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_OK);
    assert_int_equal(tu_loopback_count(&g_kds, "chain"), 3);
    aecs_kds_vcek_release(v);
    v = NULL;

    /* Longer than the bound: a clear error at once, after one request. */
    tu_loopback_control(&g_kds, "mode=429&only=vcek&count=0&retry_after=3600&reset=1");
    t0 = monotonic();
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_E_IO);
    assert_true(monotonic() - t0 < 5);
    assert_contains(aecs_err_last()->message, "HTTP 429");
    assert_contains(aecs_err_last()->message, "Retry-After asks for 3600 s, more than the 5 s");
    assert_contains(aecs_err_last()->message, "/vcek/v1/Milan/");
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 1);

    /* Rate limited every time: given up after rate_limit_retries waits. */
    tu_loopback_control(&g_kds, "mode=429&only=vcek&count=0&retry_after=0&reset=1");
    src.rate_limit_retries = 2;
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_E_IO);
    assert_contains(aecs_err_last()->message, "3 times in a row");
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 3);

    /* A Retry-After that is not understood is not guessed at. */
    tu_loopback_control(&g_kds, "mode=429&only=vcek&count=0&retry_after=soon&reset=1");
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_E_IO);
    assert_contains(aecs_err_last()->message, "'soon'");
    assert_null(v);
}

static void test_wrong_vcek_refused(void **state)
{
    struct aecs_kds_source src;
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    struct aecs_snp_report *r = milan_report();

    (void)state;
    source(&src);
    /* A KDS that answers every VCEK request with the Milan vector's VCEK. */
    tu_loopback_control(&g_kds, "mode=anyvcek&only=vcek");

    r->chip_id[5] ^= 0x01; /* another chip */
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, &key), AECS_OK);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_E_MISMATCH);
    assert_contains(aecs_err_last()->message, "another chip");
    r->chip_id[5] ^= 0x01;

    r->reported_tcb_raw[7] = 116; /* microcode */
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, &key), AECS_OK);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_E_MISMATCH);
    assert_contains(aecs_err_last()->message, "another TCB: microcode (ucodeSPL) is 115");
    r->reported_tcb_raw[7] = 115;

    r->reported_tcb_raw[0] = 4; /* bootloader */
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, &key), AECS_OK);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_E_MISMATCH);
    assert_contains(aecs_err_last()->message, "bootloader (blSPL) is 3");
    r->reported_tcb_raw[0] = 3;

    r->reported_tcb_raw[3] = 1; /* reserved on Milan */
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, &key), AECS_OK);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_E_MISMATCH);
    assert_contains(aecs_err_last()->message, "reserved byte");
    r->reported_tcb_raw[3] = 0;

    /* Asked as Genoa: the Genoa chain is fine, the Milan VCEK it gets is not. */
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_GENOA, &key), AECS_OK);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_E_MISMATCH);
    assert_contains(aecs_err_last()->message, "it is for Milan");
    assert_null(v);

    /* The right key still works with this server. */
    assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, &key), AECS_OK);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    free(r);
}

static void test_vcek_check(void **state)
{
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    size_t vsize = 0, csize = 0, tsize = 0;
    uint8_t *vcek = vector(MILAN "vcek.der", &vsize);
    uint8_t *chain = vector(MILAN "cert_chain.pem", &csize);
    uint8_t *turin_chain = vector(TURIN "cert_chain.pem", &tsize);

    (void)state;
    milan_key(&key);
    assert_int_equal(aecs_kds_vcek_check(&key, vcek, vsize, chain, csize, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    v = NULL;
    /* Only the ASK: not a KDS cert_chain. */
    char *end = strstr((char *)chain, "-----END CERTIFICATE-----");
    assert_non_null(end);
    size_t ask_only = (size_t)(end - (char *)chain) + strlen("-----END CERTIFICATE-----\n");
    assert_int_equal(aecs_kds_vcek_check(&key, vcek, vsize, chain, ask_only, &v), AECS_E_FORMAT);
    assert_contains(aecs_err_last()->message, "expected 2 certificates");
    /* Turin's chain for a Milan VCEK. */
    assert_int_equal(aecs_kds_vcek_check(&key, vcek, vsize, turin_chain, tsize, &v),
                     AECS_E_UNTRUSTED);
    /* A VCEK whose signature is broken (virtee's milan_chain_invalid: byte 40 flipped). */
    vcek[40] ^= 0xff;
    assert_int_not_equal(aecs_kds_vcek_check(&key, vcek, vsize, chain, csize, &v), AECS_OK);
    assert_null(v);
    free(vcek);
    free(chain);
    free(turin_chain);
}

/* ---- the cache ---- */

static struct aecs_kds_cache *new_cache(const char *disk)
{
    struct aecs_kds_cache_config cfg;
    struct aecs_kds_cache *c = NULL;

    memset(&cfg, 0, sizeof(cfg));
    source(&cfg.source);
    cfg.disk_dir = disk;
    assert_int_equal(aecs_kds_cache_new(&cfg, &c), AECS_OK);
    return c;
}

static void test_cache_memory(void **state)
{
    struct aecs_kds_cache *c = new_cache(NULL);
    struct aecs_kds_key key, tkey;
    struct aecs_kds_vcek *a = NULL, *b = NULL, *t = NULL;
    struct aecs_kds_cache_stats st;
    struct aecs_snp_report *tr = turin_report();
    int64_t now = tu_utc(AT_OK);

    (void)state;
    milan_key(&key);
    assert_int_equal(aecs_kds_cache_get(c, &key, now, &a), AECS_OK);
    assert_int_equal(aecs_kds_cache_get(c, &key, now + 3600, &b), AECS_OK);
    assert_ptr_equal(a, b);
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 1); /* no second request */
    assert_int_equal(tu_loopback_count(&g_kds, "chain"), 1);
    aecs_kds_cache_get_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.vcek_fetches, 1);
    assert_int_equal(st.chain_fetches, 1);

    /* Another product: its own chain. The Milan one stays warm. */
    assert_int_equal(aecs_kds_key_from_report(tr, AECS_AMD_PRODUCT_UNKNOWN, &tkey), AECS_OK);
    assert_int_equal(aecs_kds_cache_get(c, &tkey, now, &t), AECS_OK);
    aecs_kds_vcek_release(b);
    b = NULL;
    assert_int_equal(aecs_kds_cache_get(c, &key, now, &b), AECS_OK);
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 2);
    assert_int_equal(tu_loopback_count(&g_kds, "chain"), 2);

    /* References outlive the cache. */
    aecs_kds_cache_free(c);
    size_t size = 0;
    const uint8_t *p = aecs_kds_vcek_der(a, &size);
    assert_vector_bytes(p, size, MILAN "vcek.der");
    aecs_kds_vcek_release(a);
    aecs_kds_vcek_release(b);
    aecs_kds_vcek_release(t);
    free(tr);
}

static void test_cache_expiry(void **state)
{
    struct aecs_kds_cache *c = new_cache(NULL);
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    struct aecs_kds_cache_stats st;
    int64_t not_after = tu_utc("2030-04-03T19:23:43Z"); /* expected.json vcek_validity[1] */

    (void)state;
    milan_key(&key);
    assert_int_equal(aecs_kds_cache_get(c, &key, tu_utc(AT_OK), &v), AECS_OK);
    aecs_kds_vcek_release(v);
    assert_int_equal(aecs_kds_cache_get(c, &key, not_after - 1, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 1);
    /* At notAfter the VCEK is asked for again; KDS still has only this one. */
    assert_int_equal(aecs_kds_cache_get(c, &key, not_after, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 2);
    /* Not more often than once a minute while KDS has nothing newer. */
    assert_int_equal(aecs_kds_cache_get(c, &key, not_after + 30, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 2);
    assert_int_equal(aecs_kds_cache_get(c, &key, not_after + 120, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 3);
    aecs_kds_cache_get_stats(c, &st);
    assert_int_equal(st.misses, 3);
    assert_int_equal(st.hits, 2);
    aecs_kds_cache_free(c);
}

static void test_cache_disk(void **state)
{
    char dir[128];
    char disk[256];
    char vpath[512];
    char cpath[512];
    char name[AECS_KDS_KEY_NAME_MAX];
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    struct aecs_kds_cache_stats st;
    struct aecs_kds_cache *c;
    int64_t now = tu_utc(AT_OK);
    json_t *exp = milan_expected();

    (void)state;
    tu_mkdtemp(dir, sizeof(dir));
    snprintf(disk, sizeof(disk), "%s/kds", dir); /* created by the cache */
    milan_key(&key);
    aecs_kds_key_format(&key, name);
    snprintf(vpath, sizeof(vpath), "%s/vcek-Milan-%s-%s.der", disk,
             tu_json_str(exp, "report.chip_id"), tu_json_str(exp, "report.reported_tcb_raw"));
    snprintf(cpath, sizeof(cpath), "%s/cert_chain-Milan.pem", disk);

    c = new_cache(disk);
    assert_int_equal(aecs_kds_cache_get(c, &key, now, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    aecs_kds_cache_free(c);
    assert_file_is_vector(vpath, MILAN "vcek.der");
    assert_file_is_vector(cpath, MILAN "cert_chain.pem");
    assert_int_equal(dir_entries(disk), 2);
    assert_int_equal(tu_loopback_count(&g_kds, "requests"), 2);

    /* A new cache (a restart) answers from the folder without asking KDS. */
    c = new_cache(disk);
    assert_int_equal(aecs_kds_cache_get(c, &key, now, &v), AECS_OK);
    size_t size = 0;
    const uint8_t *p = aecs_kds_vcek_der(v, &size);
    assert_vector_bytes(p, size, MILAN "vcek.der");
    aecs_kds_vcek_release(v);
    aecs_kds_cache_get_stats(c, &st);
    assert_int_equal(st.disk_loads, 1);
    assert_int_equal(st.vcek_fetches, 0);
    assert_int_equal(st.chain_fetches, 0);
    assert_int_equal(tu_loopback_count(&g_kds, "requests"), 2);
    aecs_kds_cache_free(c);

    /* Damaged files are not trusted: fetched again and rewritten. */
    tu_write_file(vpath, "not a certificate", 17);
    tu_write_file(cpath, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 58);
    c = new_cache(disk);
    assert_int_equal(aecs_kds_cache_get(c, &key, now, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    aecs_kds_cache_get_stats(c, &st);
    assert_int_equal(st.disk_loads, 0);
    assert_int_equal(st.vcek_fetches, 1);
    assert_int_equal(st.chain_fetches, 1);
    aecs_kds_cache_free(c);
    assert_file_is_vector(vpath, MILAN "vcek.der");
    assert_file_is_vector(cpath, MILAN "cert_chain.pem");

    /* Another chip's VCEK planted under this key's name is refused. */
    size_t tsize = 0;
    uint8_t *turin = vector(TURIN "vcek.der", &tsize);
    tu_write_file(vpath, turin, tsize);
    free(turin);
    c = new_cache(disk);
    assert_int_equal(aecs_kds_cache_get(c, &key, now, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    aecs_kds_cache_get_stats(c, &st);
    assert_int_equal(st.vcek_fetches, 1);
    aecs_kds_cache_free(c);
    assert_file_is_vector(vpath, MILAN "vcek.der");

    json_decref(exp);
    tu_rmtree(dir);
}

static void test_cache_failures(void **state)
{
    char dir[128];
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    struct aecs_kds_cache_stats st;
    struct aecs_kds_cache *c;
    int64_t now = tu_utc(AT_OK);
    static const char *const modes[] = {"mode=404&only=vcek",      "mode=500&only=vcek",
                                        "mode=garbage&only=vcek",  "mode=500&only=chain",
                                        "mode=garbage&only=chain", "mode=anyvcek&only=vcek"};
    static const int codes[] = {AECS_E_NOT_FOUND, AECS_E_IO,     AECS_E_FORMAT,
                                AECS_E_IO,        AECS_E_FORMAT, AECS_E_MISMATCH};

    (void)state;
    tu_mkdtemp(dir, sizeof(dir));
    milan_key(&key);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        struct aecs_snp_report *r = milan_report();
        struct aecs_kds_key k = key;
        if (i == 5) { /* a VCEK for another TCB */
            r->reported_tcb_raw[6] = 9;
            assert_int_equal(aecs_kds_key_from_report(r, AECS_AMD_MILAN, &k), AECS_OK);
        }
        free(r);
        c = new_cache(dir); /* a fresh one each time: the chain is not warm */
        tu_loopback_control(&g_kds, modes[i]);
        long before = tu_loopback_count(&g_kds, "requests");
        assert_int_equal(aecs_kds_cache_get(c, &k, now, &v), codes[i]);
        assert_null(v);
        assert_contains(aecs_err_last()->message, g_kds.url);
        assert_int_equal(dir_entries(dir), 0); /* nothing written */
        /* Failures are not cached: the next get asks again. */
        assert_int_equal(aecs_kds_cache_get(c, &k, now, &v), codes[i]);
        assert_true(tu_loopback_count(&g_kds, "requests") > before + 1);
        assert_int_equal(dir_entries(dir), 0);
        aecs_kds_cache_get_stats(c, &st);
        assert_int_equal(st.failures, 2);
        assert_int_equal(st.hits, 0);
        aecs_kds_cache_free(c);
        tu_loopback_control(&g_kds, "mode=ok&only=all");
    }
    c = new_cache(dir);
    /* And once KDS answers, it works. */
    assert_int_equal(aecs_kds_cache_get(c, &key, now, &v), AECS_OK);
    aecs_kds_vcek_release(v);
    assert_int_equal(dir_entries(dir), 2);
    aecs_kds_cache_free(c);
    tu_rmtree(dir);
}

struct thread_arg {
    struct aecs_kds_cache *cache;
    const struct aecs_kds_key *key;
    int rc;
    struct aecs_kds_vcek *v;
};

static void *get_thread(void *p)
{
    struct thread_arg *a = p;

    a->rc = aecs_kds_cache_get(a->cache, a->key, tu_utc(AT_OK), &a->v);
    return NULL;
}

static void test_cache_threads(void **state)
{
    struct aecs_kds_cache *c = new_cache(NULL);
    struct aecs_kds_key key;
    struct aecs_kds_cache_stats st;
    struct thread_arg args[6];
    pthread_t th[6];

    (void)state;
    milan_key(&key);
    /* A slow VCEK answer, so that every thread asks while the first one fetches. */
    tu_loopback_control(&g_kds, "mode=slow&only=vcek&delay_ms=500&count=1");
    for (size_t i = 0; i < 6; i++) {
        args[i] = (struct thread_arg){c, &key, -1, NULL};
        assert_int_equal(pthread_create(&th[i], NULL, get_thread, &args[i]), 0);
    }
    for (size_t i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, AECS_OK);
        assert_ptr_equal(args[i].v, args[0].v);
    }
    for (size_t i = 0; i < 6; i++)
        aecs_kds_vcek_release(args[i].v);
    assert_int_equal(tu_loopback_count(&g_kds, "vcek"), 1);
    assert_int_equal(tu_loopback_count(&g_kds, "chain"), 1);
    aecs_kds_cache_get_stats(c, &st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.waits + st.hits, 5);
    assert_int_equal(st.vcek_fetches, 1);
    aecs_kds_cache_free(c);
}

static void test_dir_write_rules(void **state)
{
    struct aecs_kds_source src;
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    char dir[128];
    char out[256];
    char path[512];

    (void)state;
    source(&src);
    milan_key(&key);
    assert_int_equal(aecs_kds_fetch(&src, &key, &v), AECS_OK);
    tu_mkdtemp(dir, sizeof(dir));

    /* A folder with a user's file is never replaced. */
    snprintf(out, sizeof(out), "%s/mine", dir);
    assert_int_equal(mkdir(out, 0700), 0);
    snprintf(path, sizeof(path), "%s/notes.txt", out);
    tu_write_file(path, "keep", 4);
    assert_int_equal(aecs_kds_dir_write(out, v), AECS_E_USAGE);
    assert_contains(aecs_err_last()->message, "notes.txt");
    assert_int_equal(dir_entries(out), 1);

    /* A file is not a folder. */
    assert_int_equal(aecs_kds_dir_write(path, v), AECS_E_USAGE);

    /* An SNP collateral folder is replaced as a whole (its old ask.pem goes too). */
    snprintf(out, sizeof(out), "%s/col/", dir);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(path, sizeof(path), "%s/ask.pem", out);
    tu_write_file(path, "old", 3);
    snprintf(path, sizeof(path), "%s/vcek.der", out);
    tu_write_file(path, "old", 3);
    assert_int_equal(aecs_kds_dir_write(out, v), AECS_OK);
    assert_int_equal(dir_entries(out), 2);
    assert_file_is_vector(path, MILAN "vcek.der");
    assert_int_equal(dir_entries(dir), 2); /* mine, col: no temporary folder left */

    tu_rmtree(dir);
    aecs_kds_vcek_release(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_source, reset),
        cmocka_unit_test_setup(test_key_from_report, reset),
        cmocka_unit_test_setup(test_retry_after, reset),
        cmocka_unit_test_setup(test_fetch_milan, reset),
        cmocka_unit_test_setup(test_fetch_pem_answer, reset),
        cmocka_unit_test_setup(test_fetch_turin, reset),
        cmocka_unit_test_setup(test_fetch_errors, reset),
        cmocka_unit_test_setup(test_rate_limit, reset),
        cmocka_unit_test_setup(test_wrong_vcek_refused, reset),
        cmocka_unit_test_setup(test_vcek_check, reset),
        cmocka_unit_test_setup(test_cache_memory, reset),
        cmocka_unit_test_setup(test_cache_expiry, reset),
        cmocka_unit_test_setup(test_cache_disk, reset),
        cmocka_unit_test_setup(test_cache_failures, reset),
        cmocka_unit_test_setup(test_cache_threads, reset),
        cmocka_unit_test_setup(test_dir_write_rules, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
