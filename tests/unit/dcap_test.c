/*
 * dcap_test.c - the DCAP verifier against real quotes and collateral.
 *
 * Expected verdicts come from each set's expected.json (the source project's
 * own assertion, cross-checked independently; see tests/data/MANIFEST.md).
 * Mutation expectations follow from Intel's algorithm: a flipped bit in a
 * signed region must be caught by the check that covers that region, and the
 * test names the stage and the QvE error code that check reports.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "attest/collateral.h"
#include "attest/dcap.h"
#include "base/file.h"
#include "base/timeutil.h"
#include "crypto/x509.h"

#define DATA "tests/data/dcap/"

static const char *const k_sets[] = {
    "sgx_v3_dcapqvl",
    "sgx_v3_intel_qvl_sample_testroot",
    "tdx_v4_dcapqvl",
    "tdx_v4_automata_jun2025",
    "tdx_v4_automata_jul2025",
    "neg_tdx_v5_dcapqvl_tcb_not_supported",
    "neg_tdx_v4_gotdx_tcb_not_supported",
    "neg_tdx_v5_gotdx_mixed_epoch",
    "neg_tdx_v4_intel_qvl_sample_testroot",
};
#define SET_COUNT (sizeof(k_sets) / sizeof(k_sets[0]))

/* ---- helpers ---- */

static void path_of(char *buf, size_t size, const char *set, const char *file)
{
    snprintf(buf, size, DATA "%s/%s", set, file);
}

static uint8_t *read_all(const char *path, size_t *size)
{
    uint8_t *data = NULL;

    assert_int_equal(aecs_file_read(path, 1u << 22, &data, size), AECS_OK);
    return data;
}

static json_t *expected_of(const char *set)
{
    char path[512];
    json_error_t err;
    json_t *j;

    path_of(path, sizeof(path), set, "expected.json");
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

static int uses_test_root(const char *set)
{
    return strstr(set, "testroot") != NULL;
}

static struct aecs_cert *root_of(const char *set)
{
    char path[512];
    size_t size = 0;
    uint8_t *der;
    struct aecs_cert *cert = NULL;

    if (!uses_test_root(set))
        return NULL;
    path_of(path, sizeof(path), set, "trusted_root.der");
    der = read_all(path, &size);
    assert_int_equal(aecs_cert_parse(der, size, &cert), AECS_OK);
    free(der);
    return cert;
}

/* Prepares collateral from a folder with the given root (NULL: pinned Intel root). */
static struct aecs_dcap_prepared *prepare_dir(const char *dir, const struct aecs_cert *root)
{
    struct aecs_collateral *col = NULL;
    struct aecs_dcap_prepared *p = NULL;

    assert_int_equal(aecs_collateral_load_dir(dir, &col), AECS_OK);
    assert_int_equal(aecs_dcap_prepare(col, root, &p), AECS_OK);
    return p;
}

struct set_ctx {
    const char *set;
    uint8_t *quote;
    size_t size;
    int64_t at;
    json_t *expected;
    struct aecs_cert *root;
};

static void ctx_open(struct set_ctx *c, const char *set)
{
    char path[512];

    memset(c, 0, sizeof(*c));
    c->set = set;
    path_of(path, sizeof(path), set, "quote.bin");
    c->quote = read_all(path, &c->size);
    c->expected = expected_of(set);
    c->at = time_of(json_string_value(json_object_get(c->expected, "verify_time")));
    c->root = root_of(set);
}

static void ctx_close(struct set_ctx *c)
{
    free(c->quote);
    json_decref(c->expected);
    aecs_cert_free(c->root);
}

static void verify_in(struct set_ctx *c, const char *dir, const uint8_t *quote, size_t size,
                      int64_t at, struct aecs_dcap_result *r)
{
    struct aecs_dcap_prepared *p = prepare_dir(dir, c->root);

    aecs_dcap_verify(p, quote, size, at, r);
    aecs_dcap_prepared_free(p);
}

static void verify_set(struct set_ctx *c, const uint8_t *quote, size_t size, int64_t at,
                       struct aecs_dcap_result *r)
{
    char dir[512];

    snprintf(dir, sizeof(dir), DATA "%s", c->set);
    verify_in(c, dir, quote, size, at, r);
}

static const char *window(const struct set_ctx *c, int i)
{
    return json_string_value(
        json_array_get(json_object_get(c->expected, "collateral_validity_window"), (size_t)i));
}

/* A scratch copy of a set's folder; returns its path (static buffer per call site). */
static void copy_set(const char *set, char *dir, size_t size)
{
    char cmd[1024];

    snprintf(dir, size, "/tmp/aecs-dcap-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd), "cp " DATA "%s/* '%s'/ 2>/dev/null; true", set, dir);
    assert_int_equal(system(cmd), 0);
}

static void remove_dir(const char *dir)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void assert_error(const struct aecs_dcap_result *r, const char *stage, const char *code,
                         const char *what)
{
    if (r->verified || r->stage == NULL || strcmp(r->stage, stage) != 0 ||
        strcmp(aecs_qvl_quote3_error_name(r->error), code) != 0) {
        print_error("%s: expected [%s] %s, got verified=%d [%s] %s (%s): %s\n", what, stage, code,
                    r->verified, r->stage ? r->stage : "-", aecs_qvl_quote3_error_name(r->error),
                    aecs_qvl_status_name(r->error), r->message);
        fail();
    }
}

/* ---- every set gives its expected verdict ---- */

static void check_set_verdict(const char *set)
{
    struct set_ctx c;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));
    json_t *exp;
    const char *result;

    ctx_open(&c, set);
    verify_set(&c, c.quote, c.size, c.at, r);
    exp = json_object_get(c.expected, "expected");
    result = json_string_value(json_object_get(exp, "result"));
    if (strcmp(result, "ok") == 0) {
        const char *qv = json_string_value(json_object_get(exp, "sgx_ql_qv_result"));
        char want_qv[8];
        json_t *adv = json_object_get(exp, "advisory_ids");
        int expired = json_is_true(json_object_get(exp, "collateral_expired_at_verify_time"));

        snprintf(want_qv, sizeof(want_qv), "%.6s", qv);
        assert_true(r->has_tcb_status);
        assert_string_equal(r->tcb_status, json_string_value(json_object_get(exp, "tcb_status")));
        assert_int_equal(r->qv_result, (uint16_t)strtoul(want_qv, NULL, 16));
        assert_int_equal(r->advisories.count, json_array_size(adv));
        for (size_t i = 0; i < json_array_size(adv); i++)
            assert_string_equal(r->advisories.ids[i], json_string_value(json_array_get(adv, i)));
        assert_int_equal(r->collateral_expired, expired);
        if (expired) {
            /* aecs never accepts expired collateral, but reports the status it found. */
            assert_false(r->verified);
            assert_string_equal(r->stage, "expiry");
        } else {
            if (!r->verified)
                print_error("%s: %s\n", set, r->message);
            assert_true(r->verified);
        }
    } else {
        const char *want = json_string_value(json_object_get(exp, "qve_quote3_error"));
        char name[64];
        unsigned value = 0;

        assert_int_equal(sscanf(want, "%63s (0x%x)", name, &value), 2);
        assert_false(r->verified);
        assert_false(r->collateral_expired);
        assert_string_equal(aecs_qvl_status_name(r->error),
                            json_string_value(json_object_get(exp, "qvl_status")));
        assert_string_equal(aecs_qvl_quote3_error_name(r->error), name);
        assert_int_equal(aecs_qvl_quote3_error(r->error), value);
        assert_int_equal(r->qv_result, 0xA006);
    }
    free(r);
    ctx_close(&c);
}

static void test_expected_verdicts(void **state)
{
    (void)state;
    for (size_t i = 0; i < SET_COUNT; i++)
        check_set_verdict(k_sets[i]);
}

/* Claims come from the quote body as expected.json lists them. */
static void test_claims(void **state)
{
    struct set_ctx c;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));
    char hex[129];

    (void)state;
    ctx_open(&c, "sgx_v3_dcapqvl");
    verify_set(&c, c.quote, c.size, c.at, r);
    assert_true(r->verified);
    assert_int_equal(r->platform, AECS_PLATFORM_SGX);
    json_t *rep = json_object_get(c.expected, "report");
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", r->quote.sgx.mrenclave[i]);
    assert_string_equal(hex, json_string_value(json_object_get(rep, "mrenclave")));
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", r->quote.sgx.mrsigner[i]);
    assert_string_equal(hex, json_string_value(json_object_get(rep, "mrsigner")));
    assert_string_equal(r->qe_tcb_status,
                        json_string_value(json_object_get(json_object_get(c.expected, "qe"),
                                                          "status")));
    ctx_close(&c);

    ctx_open(&c, "tdx_v4_dcapqvl");
    verify_set(&c, c.quote, c.size, c.at, r);
    assert_true(r->verified);
    assert_int_equal(r->platform, AECS_PLATFORM_TDX);
    rep = json_object_get(c.expected, "report");
    for (int i = 0; i < 48; i++)
        snprintf(hex + 2 * i, 3, "%02x", r->quote.td.mrtd[i]);
    assert_string_equal(hex, json_string_value(json_object_get(rep, "mrtd")));
    json_t *mod = json_object_get(c.expected, "tdx_module");
    assert_true(r->has_module);
    assert_int_equal(r->module_isvsvn, json_integer_value(json_object_get(mod, "isvsvn")));
    assert_string_equal(r->module_tcb_status, json_string_value(json_object_get(mod, "status")));
    ctx_close(&c);
    free(r);
}

/* ---- expiry ---- */

static void test_expiry_window(void **state)
{
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));

    (void)state;
    for (size_t i = 0; i < SET_COUNT; i++) {
        struct set_ctx c;
        ctx_open(&c, k_sets[i]);
        json_t *exp = json_object_get(c.expected, "expected");
        int positive = strcmp(json_string_value(json_object_get(exp, "result")), "ok") == 0 &&
                       !json_is_true(json_object_get(exp, "collateral_expired_at_verify_time"));
        int64_t from = time_of(window(&c, 0));
        int64_t until = time_of(window(&c, 1));

        /* One second after the window: expired, never verified, status still reported. */
        verify_set(&c, c.quote, c.size, until + 1, r);
        assert_true(r->collateral_expired);
        assert_false(r->verified);
        if (positive) {
            assert_string_equal(r->stage, "expiry");
            assert_string_equal(r->tcb_status,
                                json_string_value(json_object_get(exp, "tcb_status")));
            /* The last second of the window is still valid. */
            verify_set(&c, c.quote, c.size, until - 1, r);
            assert_true(r->verified);
            assert_false(r->collateral_expired);
            /* Before the window opens: not yet valid, refused the same way. */
            verify_set(&c, c.quote, c.size, from - 1, r);
            assert_true(r->collateral_expired);
            assert_false(r->verified);
            assert_string_equal(r->stage, "expiry");
            verify_set(&c, c.quote, c.size, from, r);
            assert_true(r->verified);
        }
        ctx_close(&c);
    }
    free(r);
}

/* ---- mutations of the quote ---- */

struct layout {
    size_t body;      /* offset of the report body */
    size_t body_size;
    size_t sig;       /* offset of the signature data */
    size_t qe_report; /* offset of the QE report */
    size_t auth;      /* offset of the QE auth data (after its size) */
    size_t auth_size;
};

/* Offsets from the quote format specifications (Intel DCAP quote v3/v4/v5). */
static void layout_of(const uint8_t *q, struct layout *l)
{
    uint16_t version = (uint16_t)(q[0] | q[1] << 8);
    uint32_t tee = (uint32_t)q[4] | (uint32_t)q[5] << 8 | (uint32_t)q[6] << 16 |
                   (uint32_t)q[7] << 24;

    if (version == 5) {
        l->body = 48 + 6;
        l->body_size = (size_t)q[50] | (size_t)q[51] << 8;
    } else {
        l->body = 48;
        l->body_size = version == 4 && tee == 0x81 ? 584 : 384;
    }
    l->sig = l->body + l->body_size + 4;
    l->qe_report = l->sig + 128 + (version >= 4 ? 6 : 0);
    l->auth = l->qe_report + 384 + 64 + 2;
    l->auth_size = (size_t)q[l->auth - 2] | (size_t)q[l->auth - 1] << 8;
}

static void flip_and_verify(struct set_ctx *c, size_t offset, uint8_t mask, const char *stage,
                            const char *code, const char *what)
{
    uint8_t *q = malloc(c->size);
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));
    char label[160];

    memcpy(q, c->quote, c->size);
    q[offset] ^= mask;
    verify_set(c, q, c->size, c->at, r);
    snprintf(label, sizeof(label), "%s: %s (offset %zu)", c->set, what, offset);
    assert_error(r, stage, code, label);
    free(r);
    free(q);
}

/* Flips a character of base64 text in the middle of each PEM certificate in buf. */
static size_t pem_cert_offsets(const uint8_t *buf, size_t size, size_t *out, size_t max)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    size_t n = 0;

    for (size_t i = 0; i + sizeof(begin) < size && n < max; i++) {
        if (memcmp(buf + i, begin, sizeof(begin) - 1) != 0)
            continue;
        size_t j = i + sizeof(begin);
        while (j + sizeof(end) < size && memcmp(buf + j, end, sizeof(end) - 1) != 0)
            j++;
        size_t mid = i + sizeof(begin) + (j - i - sizeof(begin)) / 2;
        while (buf[mid] == '\n' || buf[mid] == '\r')
            mid++;
        out[n++] = mid;
        i = j;
    }
    return n;
}

static uint8_t other_b64(uint8_t ch)
{
    return ch == 'A' ? 'B' : 'A';
}

static void mutate_quote_regions(const char *set)
{
    struct set_ctx c;
    struct layout l;
    size_t certs[8];

    ctx_open(&c, set);
    layout_of(c.quote, &l);
    /* header (user data) and report body are signed by the attestation key */
    flip_and_verify(&c, 40, 0x01, "signature", "SGX_QL_RESULT_INVALID_SIGNATURE", "header");
    flip_and_verify(&c, l.body + 17, 0x10, "signature", "SGX_QL_RESULT_INVALID_SIGNATURE",
                    "report body");
    flip_and_verify(&c, l.body + l.body_size - 1, 0x80, "signature",
                    "SGX_QL_RESULT_INVALID_SIGNATURE", "report data");
    flip_and_verify(&c, l.sig + 3, 0x04, "signature", "SGX_QL_RESULT_INVALID_SIGNATURE",
                    "quote signature");
    /* the attestation key and QE auth data are bound by the QE report's data */
    flip_and_verify(&c, l.sig + 64 + 9, 0x02, "signature", "SGX_QL_ERROR_UNEXPECTED",
                    "attestation key");
    if (l.auth_size > 0)
        flip_and_verify(&c, l.auth + l.auth_size / 2, 0x01, "signature",
                        "SGX_QL_ERROR_UNEXPECTED", "QE auth data");
    /* the QE report is signed by the PCK key */
    flip_and_verify(&c, l.qe_report + 70, 0x01, "signature", "SGX_QL_QE_REPORT_INVALID_SIGNATURE",
                    "QE report");
    flip_and_verify(&c, l.qe_report + 384 + 10, 0x01, "signature",
                    "SGX_QL_QE_REPORT_INVALID_SIGNATURE", "QE report signature");
    /* each certificate of the PCK chain */
    size_t n = pem_cert_offsets(c.quote, c.size, certs, 8);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = malloc(c.size);
        struct aecs_dcap_result *r = calloc(1, sizeof(*r));
        char label[128];
        memcpy(q, c.quote, c.size);
        q[certs[i]] = other_b64(q[certs[i]]);
        verify_set(&c, q, c.size, c.at, r);
        snprintf(label, sizeof(label), "%s: PCK chain certificate %zu", set, i);
        assert_error(r, "chain", "SGX_QL_PCK_CERT_CHAIN_ERROR", label);
        free(r);
        free(q);
    }
    ctx_close(&c);
}

static void test_mutate_quote_sgx_v3(void **state)
{
    (void)state;
    mutate_quote_regions("sgx_v3_dcapqvl");
}

static void test_mutate_quote_tdx_v4(void **state)
{
    (void)state;
    mutate_quote_regions("tdx_v4_dcapqvl");
}

static void test_mutate_quote_tdx_v5(void **state)
{
    (void)state;
    mutate_quote_regions("neg_tdx_v5_gotdx_mixed_epoch");
}

/* The byte mutations go-tdx-guest lists for its quote (MANIFEST.md). */
static void test_gotdx_mutations(void **state)
{
    struct set_ctx c;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));
    static const struct {
        size_t offset;
        uint8_t value;
        const char *stage;
        const char *code;
    } cases[] = {
        {0x00, 3, "parse", "SGX_QL_QUOTE_FORMAT_UNSUPPORTED"},     /* v3 header with a TD body */
        {0x278, 0x10, "parse", "SGX_QL_QUOTE_FORMAT_UNSUPPORTED"}, /* signature data size */
        {0x1343, 0x32, "chain", "SGX_QL_PCK_CERT_CHAIN_ERROR"},   /* chain unparsable */
        {0x1329, 0x32, "chain", "SGX_QL_PCK_CERT_CHAIN_ERROR"},   /* root signature */
        {0xF5F, 0x32, "chain", "SGX_QL_PCK_CERT_CHAIN_ERROR"},    /* intermediate signature */
        {0xB77, 0x32, "chain", "SGX_QL_PCK_CERT_CHAIN_ERROR"},    /* PCK leaf signature */
        {0x1E, 0x32, "signature", "SGX_QL_RESULT_INVALID_SIGNATURE"}, /* header */
        {0x3C, 0x32, "signature", "SGX_QL_RESULT_INVALID_SIGNATURE"}, /* body */
    };

    (void)state;
    ctx_open(&c, "neg_tdx_v4_gotdx_tcb_not_supported");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *q = malloc(c.size);
        char label[64];
        memcpy(q, c.quote, c.size);
        q[cases[i].offset] = cases[i].value;
        verify_set(&c, q, c.size, c.at, r);
        snprintf(label, sizeof(label), "go-tdx-guest mutation [0x%zx]", cases[i].offset);
        assert_error(r, cases[i].stage, cases[i].code, label);
        free(q);
    }
    free(r);
    ctx_close(&c);
}

/* Truncation at every offset inside the signed structures never crashes and never verifies. */
static void test_truncation(void **state)
{
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));

    (void)state;
    for (size_t s = 0; s < SET_COUNT; s++) {
        struct set_ctx c;
        char dir[512];
        ctx_open(&c, k_sets[s]);
        snprintf(dir, sizeof(dir), DATA "%s", c.set);
        struct aecs_dcap_prepared *p = prepare_dir(dir, c.root);
        json_int_t trailing =
            json_integer_value(json_object_get(json_object_get(c.expected, "header"),
                                               "trailing_bytes"));
        size_t end = c.size - (size_t)trailing;
        for (size_t len = 0; len < end; len++) {
            uint8_t *q = malloc(len ? len : 1);
            memcpy(q, c.quote, len);
            aecs_dcap_verify(p, q, len, c.at, r);
            if (r->verified)
                print_error("%s truncated to %zu bytes verified\n", c.set, len);
            assert_false(r->verified);
            free(q);
        }
        aecs_dcap_prepared_free(p);
        ctx_close(&c);
    }
    free(r);
}

/* ---- mutations of the collateral ---- */

static void mutate_file(const char *dir, const char *name, long offset, uint8_t mask,
                        int from_end)
{
    char path[600];
    size_t size = 0;
    uint8_t *data;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    data = read_all(path, &size);
    size_t at = from_end ? size - (size_t)offset : (size_t)offset;
    assert_true(at < size);
    data[at] ^= mask;
    assert_int_equal(aecs_file_write_atomic(path, data, size, 0644), AECS_OK);
    free(data);
}

/* Replaces the digit at offset with another digit, so JSON and hex stay well-formed. */
static void change_digit(const char *dir, const char *name, long offset)
{
    char path[600];
    size_t size = 0;
    uint8_t *data;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    data = read_all(path, &size);
    assert_true((size_t)offset < size);
    assert_true(data[offset] >= '0' && data[offset] <= '9');
    data[offset] = data[offset] == '0' ? '1' : '0';
    assert_int_equal(aecs_file_write_atomic(path, data, size, 0644), AECS_OK);
    free(data);
}

/* Offset of the first byte of `needle` + skip in a file, for edits that keep JSON valid. */
static long find_in(const char *dir, const char *name, const char *needle, long skip)
{
    char path[600];
    size_t size = 0;
    uint8_t *data;
    long at = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    data = read_all(path, &size);
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= size; i++) {
        if (memcmp(data + i, needle, n) == 0) {
            at = (long)i + skip;
            break;
        }
    }
    free(data);
    assert_true(at >= 0);
    return at;
}

/* Offset of the last digit of the first UTCTime (thisUpdate) in a DER CRL. */
static long crl_time_digit(const char *dir, const char *name)
{
    char path[600];
    size_t size = 0;
    uint8_t *der;
    long at = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    der = read_all(path, &size);
    for (size_t i = 0; i + 15 < size; i++) {
        if (der[i] == 0x17 && der[i + 1] == 0x0d && der[i + 14] == 'Z') {
            at = (long)i + 13;
            break;
        }
    }
    free(der);
    assert_true(at >= 0);
    return at;
}

static void mutate_collateral(const char *set)
{
    struct set_ctx c;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));
    char dir[256];
    size_t certs[8];
    struct {
        const char *file;
        const char *stage;
        const char *code;
    } chains[] = {
        {"tcb_info_issuer_chain.pem", "collateral", "SGX_QL_TCBINFO_CHAIN_ERROR"},
        {"qe_identity_issuer_chain.pem", "collateral", "SGX_QL_TCBINFO_CHAIN_ERROR"},
    };

    ctx_open(&c, set);

    /* TCB Info body (a digit of tcbEvaluationDataNumber: still valid JSON) */
    copy_set(set, dir, sizeof(dir));
    change_digit(dir, "tcb_info.body.json",
                 find_in(dir, "tcb_info.body.json", "\"tcbEvaluationDataNumber\":",
                         (long)strlen("\"tcbEvaluationDataNumber\":") + 1));
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_TCBINFO_CHAIN_ERROR", "TCB Info body");
    remove_dir(dir);

    /* TCB Info signature */
    copy_set(set, dir, sizeof(dir));
    change_digit(dir, "tcb_info.sig.hex", find_in(dir, "tcb_info.sig.hex", "1", 0));
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_TCBINFO_CHAIN_ERROR", "TCB Info signature");
    remove_dir(dir);

    /* QE Identity body */
    copy_set(set, dir, sizeof(dir));
    change_digit(dir, "qe_identity.body.json",
                 find_in(dir, "qe_identity.body.json", "\"isvprodid\":",
                         (long)strlen("\"isvprodid\":")));
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_QEIDENTITY_CHAIN_ERROR", "QE Identity body");
    remove_dir(dir);

    /* QE Identity signature */
    copy_set(set, dir, sizeof(dir));
    change_digit(dir, "qe_identity.sig.hex", find_in(dir, "qe_identity.sig.hex", "2", 0));
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_QEIDENTITY_CHAIN_ERROR", "QE Identity signature");
    remove_dir(dir);

    /* Root CA CRL and PCK CRL: a digit of thisUpdate (signed), and the signature itself */
    copy_set(set, dir, sizeof(dir));
    mutate_file(dir, "root_ca_crl.der", crl_time_digit(dir, "root_ca_crl.der"), 0x01, 0);
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_RESULT_INVALID_SIGNATURE", "root CA CRL body");
    remove_dir(dir);
    copy_set(set, dir, sizeof(dir));
    mutate_file(dir, "root_ca_crl.der", 2, 0x01, 1);
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_RESULT_INVALID_SIGNATURE", "root CA CRL signature");
    remove_dir(dir);
    copy_set(set, dir, sizeof(dir));
    mutate_file(dir, "pck_crl.der", crl_time_digit(dir, "pck_crl.der"), 0x01, 0);
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "chain", "SGX_QL_RESULT_INVALID_SIGNATURE", "PCK CRL body");
    remove_dir(dir);
    copy_set(set, dir, sizeof(dir));
    mutate_file(dir, "pck_crl.der", 2, 0x01, 1);
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "chain", "SGX_QL_RESULT_INVALID_SIGNATURE", "PCK CRL signature");
    remove_dir(dir);

    /* each certificate of the TCB Info and QE Identity signing chains */
    for (size_t k = 0; k < 2; k++) {
        char path[600];
        size_t size = 0;
        snprintf(path, sizeof(path), DATA "%s/%s", set, chains[k].file);
        uint8_t *pem = read_all(path, &size);
        size_t n = pem_cert_offsets(pem, size, certs, 8);
        free(pem);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < n; i++) {
            char label[128];
            copy_set(set, dir, sizeof(dir));
            snprintf(path, sizeof(path), "%s/%s", dir, chains[k].file);
            pem = read_all(path, &size);
            pem[certs[i]] = other_b64(pem[certs[i]]);
            assert_int_equal(aecs_file_write_atomic(path, pem, size, 0644), AECS_OK);
            free(pem);
            verify_in(&c, dir, c.quote, c.size, c.at, r);
            snprintf(label, sizeof(label), "%s certificate %zu", chains[k].file, i);
            assert_error(r, chains[k].stage, chains[k].code, label);
            remove_dir(dir);
        }
    }

    /* collateral that is not JSON is a verdict with Intel's code, not a crash */
    copy_set(set, dir, sizeof(dir));
    {
        char path[600];
        snprintf(path, sizeof(path), "%s/tcb_info.body.json", dir);
        assert_int_equal(aecs_file_write_atomic(path, "{\"version\":", 11, 0644), AECS_OK);
    }
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_TCBINFO_UNSUPPORTED_FORMAT", "TCB Info not JSON");
    remove_dir(dir);
    copy_set(set, dir, sizeof(dir));
    {
        char path[600];
        snprintf(path, sizeof(path), "%s/pck_crl.der", dir);
        assert_int_equal(aecs_file_write_atomic(path, "not a crl", 9, 0644), AECS_OK);
    }
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_CRL_UNSUPPORTED_FORMAT", "PCK CRL garbage");
    remove_dir(dir);

    free(r);
    ctx_close(&c);
}

static void test_mutate_collateral_sgx(void **state)
{
    (void)state;
    mutate_collateral("sgx_v3_dcapqvl");
}

static void test_mutate_collateral_tdx(void **state)
{
    (void)state;
    mutate_collateral("tdx_v4_dcapqvl");
}

/* ---- wrong roots and collateral for another platform ---- */

static void test_wrong_root(void **state)
{
    struct set_ctx c;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));
    struct aecs_cert *test_root = root_of("sgx_v3_intel_qvl_sample_testroot");

    (void)state;
    /* a production quote checked against Intel's test root */
    ctx_open(&c, "sgx_v3_dcapqvl");
    aecs_cert_free(c.root);
    c.root = test_root;
    verify_set(&c, c.quote, c.size, c.at, r);
    assert_false(r->verified);
    assert_string_equal(r->stage, "collateral"); /* the collateral chains fail first */
    assert_string_equal(aecs_qvl_quote3_error_name(r->error), "SGX_QL_RESULT_INVALID_SIGNATURE");
    ctx_close(&c);

    /* a test-root quote checked against the pinned production root */
    ctx_open(&c, "sgx_v3_intel_qvl_sample_testroot");
    aecs_cert_free(c.root);
    c.root = NULL;
    verify_set(&c, c.quote, c.size, c.at, r);
    assert_false(r->verified);
    ctx_close(&c);
    free(r);
}

static void test_untrusted_pck_chain(void **state)
{
    struct set_ctx c;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));
    char dir[256];
    char cmd[1024];

    (void)state;
    /* Collateral of the test-root set, but the quote chains to the production root. */
    ctx_open(&c, "sgx_v3_dcapqvl");
    aecs_cert_free(c.root);
    c.root = root_of("sgx_v3_intel_qvl_sample_testroot");
    copy_set("sgx_v3_intel_qvl_sample_testroot", dir, sizeof(dir));
    snprintf(cmd, sizeof(cmd), "rm -f '%s/pck_chain.pem'", dir);
    assert_int_equal(system(cmd), 0);
    verify_in(&c, dir, c.quote, c.size, time_of("2020-01-01T00:00:00Z"), r);
    assert_error(r, "chain", "SGX_QL_PCK_CERT_CHAIN_ERROR", "production chain, test root");
    assert_non_null(strstr(r->message, "trusted root"));
    remove_dir(dir);
    ctx_close(&c);
    free(r);
}

static void test_collateral_for_another_platform(void **state)
{
    struct set_ctx c;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));
    char dir[256];
    char cmd[1024];

    (void)state;
    /* TDX quote (FMSPC b0c06f000000) with the TCB Info of another FMSPC (00806f050000) */
    ctx_open(&c, "tdx_v4_dcapqvl");
    copy_set("tdx_v4_dcapqvl", dir, sizeof(dir));
    snprintf(cmd, sizeof(cmd),
             "cp " DATA "tdx_v4_automata_jun2025/tcb_info.* " DATA
             "tdx_v4_automata_jun2025/tcb_info_issuer_chain.pem '%s'/",
             dir);
    assert_int_equal(system(cmd), 0);
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_TCBINFO_MISMATCH", "TCB Info of another FMSPC");
    assert_non_null(strstr(r->message, "b0c06f000000"));
    remove_dir(dir);

    /* TDX quote with the SGX TCB Info and QE Identity */
    copy_set("tdx_v4_dcapqvl", dir, sizeof(dir));
    snprintf(cmd, sizeof(cmd),
             "cp " DATA "sgx_v3_dcapqvl/qe_identity.* '%s'/",
             dir);
    assert_int_equal(system(cmd), 0);
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "identity", "SGX_QL_QEIDENTITY_MISMATCH", "QE identity instead of TD_QE");
    remove_dir(dir);
    ctx_close(&c);

    /* SGX quote with a TDX TCB Info */
    ctx_open(&c, "sgx_v3_dcapqvl");
    copy_set("sgx_v3_dcapqvl", dir, sizeof(dir));
    snprintf(cmd, sizeof(cmd),
             "cp " DATA "tdx_v4_dcapqvl/tcb_info.* '%s'/",
             dir);
    assert_int_equal(system(cmd), 0);
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "collateral", "SGX_QL_TCBINFO_MISMATCH", "TDX TCB Info for an SGX quote");
    remove_dir(dir);

    /* a Platform CA CRL for a Processor CA quote */
    copy_set("sgx_v3_dcapqvl", dir, sizeof(dir));
    snprintf(cmd, sizeof(cmd), "cp " DATA "tdx_v4_dcapqvl/pck_crl.der '%s'/", dir);
    assert_int_equal(system(cmd), 0);
    verify_in(&c, dir, c.quote, c.size, c.at, r);
    assert_error(r, "chain", "SGX_QL_ERROR_UNEXPECTED", "Platform CA CRL for Processor quote");
    assert_non_null(strstr(r->message, "PCK CRL"));
    remove_dir(dir);
    ctx_close(&c);
    free(r);
}

/* ---- the warm path ---- */

struct thread_arg {
    struct aecs_dcap_prepared *p;
    const struct set_ctx *c;
    int ok;
};

static void *verify_many(void *arg)
{
    struct thread_arg *t = arg;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));

    t->ok = 1;
    for (int i = 0; i < 50; i++) {
        aecs_dcap_verify(t->p, t->c->quote, t->c->size, t->c->at, r);
        t->ok &= r->verified;
    }
    free(r);
    return NULL;
}

static void test_warm_cache(void **state)
{
    struct set_ctx c;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));
    struct layout l;

    (void)state;
    ctx_open(&c, "tdx_v4_dcapqvl");
    struct aecs_dcap_prepared *p = prepare_dir(DATA "tdx_v4_dcapqvl", NULL);
    aecs_dcap_verify(p, c.quote, c.size, c.at, r);
    assert_true(r->verified);
    aecs_dcap_verify(p, c.quote, c.size, c.at, r);
    assert_true(r->verified);
    /* a cached platform does not let a tampered QE report or quote through */
    layout_of(c.quote, &l);
    uint8_t *q = malloc(c.size);
    memcpy(q, c.quote, c.size);
    q[l.qe_report + 70] ^= 1;
    aecs_dcap_verify(p, q, c.size, c.at, r);
    assert_error(r, "signature", "SGX_QL_QE_REPORT_INVALID_SIGNATURE", "warm QE report");
    memcpy(q, c.quote, c.size);
    q[l.sig + 10] ^= 1;
    aecs_dcap_verify(p, q, c.size, c.at, r);
    assert_error(r, "signature", "SGX_QL_RESULT_INVALID_SIGNATURE", "warm quote signature");
    /* and expiry is judged at each call's time */
    aecs_dcap_verify(p, c.quote, c.size, time_of(window(&c, 1)) + 1, r);
    assert_true(r->collateral_expired);
    assert_false(r->verified);
    free(q);

    /* several threads on one prepared object */
    pthread_t th[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){p, &c, 0};
        assert_int_equal(pthread_create(&th[i], NULL, verify_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_true(args[i].ok);
    }
    aecs_dcap_prepared_free(p);
    ctx_close(&c);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_verdicts),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_expiry_window),
        cmocka_unit_test(test_mutate_quote_sgx_v3),
        cmocka_unit_test(test_mutate_quote_tdx_v4),
        cmocka_unit_test(test_mutate_quote_tdx_v5),
        cmocka_unit_test(test_gotdx_mutations),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_mutate_collateral_sgx),
        cmocka_unit_test(test_mutate_collateral_tdx),
        cmocka_unit_test(test_wrong_root),
        cmocka_unit_test(test_untrusted_pck_chain),
        cmocka_unit_test(test_collateral_for_another_platform),
        cmocka_unit_test(test_warm_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
