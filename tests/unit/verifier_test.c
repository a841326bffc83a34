/*
 * verifier_test.c - the evidence verifier (src/attest/verifier.h): evidence
 * in, claims or a refusal with its stage and code out.
 *
 *   - the real DCAP vectors through an offline collateral folder (one folder
 *     per set, and one sub-folder per key), their claims against
 *     expected.json;
 *   - the simulated TEE made here: accepted only with its root configured;
 *   - the SEV-SNP vectors with their VCEK and chain, from a folder and from
 *     the loopback KDS;
 *   - refusals with their exact stage and code: a changed byte, expired
 *     collateral, missing collateral, evidence of no known kind;
 *   - four threads verifying at once;
 *   - collateral from the loopback PCS (tests/tools/pcs_server).
 *
 * Expected values come from each set's expected.json (measurements, TCB
 * status, advisories, validity windows, Intel's status and QvE codes), from
 * Intel's QvE result codes as docs/attestation.md tabulates them (from
 * sgx_ql_lib_common.h), from the sim's documented platform (FMSPC
 * AEC551000000, advisory AECS-SIM-SA-00001) and from the test's own inputs
 * (the measurements and report data asked of the sim), never from a run of
 * the verifier.
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
#include <unistd.h>
#include <cmocka.h>

#include "attest/sim.h"
#include "attest/verifier.h"
#include "base/err.h"
#include "kds_loopback.h"
#include "pcs_loopback.h"
#include "testutil.h"

#define DAY 86400
#define SGX_SET "sgx_v3_dcapqvl"
#define TDX_SET "tdx_v4_dcapqvl"
#define TDX_AUTOMATA_SET "tdx_v4_automata_jul2025"
#define SNP_DIR "tests/data/snp/snp_milan_virtee"
#define SNP_TURIN_DIR "tests/data/snp/snp_turin_chain_only_virtee"

/* Collateral files of a DCAP set (the layout aecs_collateral_load_dir reads). */
static const char *const k_collateral_files[] = {
    "root_ca_crl.der",           "pck_crl.der",           "pck_crl_issuer_chain.pem",
    "tcb_info.body.json",        "tcb_info.sig.hex",      "tcb_info_issuer_chain.pem",
    "qe_identity.body.json",     "qe_identity.sig.hex",   "qe_identity_issuer_chain.pem",
    "pck_chain.pem",
};

/* ---- helpers ---- */

static void path_in(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);

    assert_true(n > 0 && (size_t)n < size);
}

static int64_t json_time(const json_t *t)
{
    assert_non_null(t);
    assert_true(json_is_string(t));
    return tu_utc(json_string_value(t));
}

static int64_t set_verify_time(const char *set)
{
    json_t *e = tu_dcap_expected(set);
    int64_t t = tu_utc(tu_json_str(e, "verify_time"));

    json_decref(e);
    return t;
}

/* The set's collateral folder name in a folder-per-key layout: "sgx-processor-00a067110000". */
static void set_key_folder(const char *set, char *buf, size_t size)
{
    json_t *e = tu_dcap_expected(set);
    const char *tee = strcmp(tu_json_str(e, "header.tee_type"), "0x81") == 0 ? "tdx" : "sgx";
    const char *ca = strstr(tu_json_str(e, "pck_ext.ca"), "Platform") ? "platform" : "processor";

    snprintf(buf, size, "%s-%s-%s", tee, ca, tu_json_str(e, "pck_ext.fmspc"));
    json_decref(e);
}

/* The set's FMSPC in upper case, as messages write it. */
static void set_fmspc_upper(const char *set, char out[13])
{
    json_t *e = tu_dcap_expected(set);
    const char *f = tu_json_str(e, "pck_ext.fmspc");

    assert_int_equal(strlen(f), 12);
    for (int i = 0; i < 12; i++)
        out[i] = (char)(f[i] >= 'a' && f[i] <= 'f' ? f[i] - 'a' + 'A' : f[i]);
    out[12] = '\0';
    json_decref(e);
}

/* Copies a set's collateral files into dir (created). */
static void copy_collateral(const char *set, const char *dir)
{
    char from[1024];
    char to[1024];

    assert_int_equal(mkdir(dir, 0700), 0);
    for (size_t i = 0; i < sizeof(k_collateral_files) / sizeof(k_collateral_files[0]); i++) {
        tu_dcap_path(from, sizeof(from), set, k_collateral_files[i]);
        if (access(from, F_OK) != 0)
            continue;
        path_in(to, sizeof(to), dir, k_collateral_files[i]);
        tu_copy_file(from, to);
    }
}

/* Makes dir/<key folder of set> for each set. */
static void make_key_folders(const char *dir, const char *const *sets)
{
    char name[64];
    char sub[1024];

    for (size_t i = 0; sets[i] != NULL; i++) {
        set_key_folder(sets[i], name, sizeof(name));
        path_in(sub, sizeof(sub), dir, name);
        copy_collateral(sets[i], sub);
    }
}

static struct aecs_verifier *new_verifier(const struct aecs_verifier_config *cfg)
{
    struct aecs_verifier *v = NULL;

    if (aecs_verifier_new(cfg, &v) != AECS_OK) {
        print_error("aecs_verifier_new: %s\n", aecs_err_last()->message);
        fail();
    }
    return v;
}

/* Verifies and fails the test, with the refusal's message, unless claims came out. */
static void expect_claims(struct aecs_verifier *v, const uint8_t *ev, size_t size, int64_t now,
                          struct aecs_claims *claims)
{
    struct aecs_verify_failure why;
    int rc = aecs_verifier_verify(v, ev, size, now, claims, &why);

    if (rc != AECS_OK) {
        print_error("refused (%d) at stage %s, %s: %s\n", rc, why.stage, why.status, why.message);
        fail();
    }
}

/* Verifies and checks the refusal's return code, stage and status (NULL: any). */
static void expect_refusal(struct aecs_verifier *v, const uint8_t *ev, size_t size, int64_t now,
                           int err, const char *stage, const char *status,
                           struct aecs_verify_failure *why)
{
    struct aecs_claims claims;
    static const struct aecs_claims zero;

    memset(&claims, 0x5a, sizeof(claims));
    int rc = aecs_verifier_verify(v, ev, size, now, &claims, why);
    if (rc == AECS_OK) {
        print_error("verified, expected a refusal at stage %s (%s)\n", stage, status);
        fail();
    }
    if (rc != err || strcmp(why->stage, stage) != 0 ||
        (status != NULL && strcmp(why->status, status) != 0)) {
        print_error("refused with %d at stage %s, %s (%s); expected %d at %s, %s\n", rc,
                    why->stage, why->status, why->message, err, stage, status ? status : "any");
        fail();
    }
    assert_int_equal(why->err, rc);
    assert_memory_equal(&claims, &zero, sizeof(claims)); /* no claims from a refusal */
    assert_string_equal(aecs_err_last()->message, why->message);
}

static void assert_hex(const uint8_t *got, const char *hex, size_t size)
{
    uint8_t want[128];

    assert_true(size <= sizeof(want));
    tu_hex(hex, want, size);
    assert_memory_equal(got, want, size);
}

/* Claims of a DCAP set that verifies against its expected.json. */
static void check_dcap_claims(const char *set, const struct aecs_claims *c)
{
    json_t *e = tu_dcap_expected(set);
    json_t *adv = tu_json_path(e, "expected.advisory_ids");
    uint8_t attr[16];

    assert_string_equal(c->tcb_status, tu_json_str(e, "expected.tcb_status"));
    assert_non_null(adv);
    assert_int_equal(c->advisory_count, json_array_size(adv));
    for (size_t i = 0; i < json_array_size(adv); i++)
        assert_string_equal(c->advisories[i], json_string_value(json_array_get(adv, i)));
    assert_int_equal(c->sim, 0);
    assert_hex(c->report_data, tu_json_str(e, "report.reportdata"), 64);
    if (strcmp(tu_json_str(e, "header.tee_type"), "0x81") == 0) {
        assert_int_equal(c->platform, AECS_TEE_TDX);
        assert_hex(c->mrtd, tu_json_str(e, "report.mrtd"), 48);
        assert_hex(c->mrseam, tu_json_str(e, "report.mrseam"), 48);
        assert_hex(c->rtmr[0], tu_json_str(e, "report.rtmr0"), 48);
        assert_hex(c->td_attributes, tu_json_str(e, "report.td_attributes"), 8);
        tu_hex(tu_json_str(e, "report.td_attributes"), attr, 8);
        assert_int_equal(c->debug, attr[0] & 0x01); /* TDATTRIBUTES.DEBUG, bit 0 */
    } else {
        assert_int_equal(c->platform, AECS_TEE_SGX);
        assert_hex(c->mrenclave, tu_json_str(e, "report.mrenclave"), 32);
        assert_hex(c->mrsigner, tu_json_str(e, "report.mrsigner"), 32);
        assert_int_equal(c->isvprodid, tu_json_int(e, "report.isvprodid"));
        assert_int_equal(c->isvsvn, tu_json_int(e, "report.isvsvn"));
        assert_hex(c->attributes, tu_json_str(e, "report.attributes"), 16);
        tu_hex(tu_json_str(e, "report.attributes"), attr, 16);
        assert_int_equal(c->debug, (attr[0] & 0x02) != 0); /* ATTRIBUTES.DEBUG, bit 1 */
    }
    json_decref(e);
}

/*
 * Where Intel's verifier stops for an expected QVL error, as the stage table
 * of docs/attestation.md places each check.
 */
static const char *stage_of(const char *qvl_status)
{
    if (strcmp(qvl_status, "STATUS_TCB_NOT_SUPPORTED") == 0)
        return "tcb";
    if (strcmp(qvl_status, "STATUS_QE_IDENTITY_MISMATCH") == 0)
        return "identity";
    fail_msg("no stage known for %s", qvl_status);
    return NULL;
}

/* ---- (1) the DCAP vectors, one offline folder per set ---- */

static void test_dcap_vectors(void **state)
{
    (void)state;
    assert_true(tu_dcap_set_count() >= 9);
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        char dir[1024];
        char root[1024];
        char marker[1024];
        size_t size = 0;
        struct aecs_verifier_config cfg;
        struct aecs_claims claims;
        struct aecs_verify_failure why;
        json_t *e = tu_dcap_expected(set);
        uint8_t *quote = tu_read_dcap(set, "quote.bin", &size);
        int64_t at = tu_utc(tu_json_str(e, "verify_time"));

        tu_dcap_path(dir, sizeof(dir), set, "");
        dir[strlen(dir) - 1] = '\0'; /* the set's folder, without the final '/' */
        tu_dcap_path(root, sizeof(root), set, "trusted_root.der");
        tu_dcap_path(marker, sizeof(marker), set, "use_test_root");
        memset(&cfg, 0, sizeof(cfg));
        cfg.collateral_dir = dir;
        /* Intel's test roots are trusted only when given; the others chain to the pinned root. */
        cfg.intel_root_file = access(marker, F_OK) == 0 ? root : NULL;
        struct aecs_verifier *v = new_verifier(&cfg);

        const char *result = tu_json_str(e, "expected.result");
        json_t *expired = tu_json_path(e, "expected.collateral_expired_at_verify_time");
        if (strcmp(result, "ok") == 0 && !json_is_true(expired)) {
            expect_claims(v, quote, size, at, &claims);
            check_dcap_claims(set, &claims);
        } else if (strcmp(result, "ok") == 0) {
            /* verified by QvE's rules, but the collateral is not valid at the time: refused */
            expect_refusal(v, quote, size, at, AECS_E_EXPIRED, "expiry",
                           NULL, &why);
        } else {
            const char *status = tu_json_str(e, "expected.qvl_status");
            char name[64];
            unsigned code = 0;
            assert_int_equal(sscanf(tu_json_str(e, "expected.qve_quote3_error"), "%63s (0x%x)",
                                    name, &code),
                             2);
            expect_refusal(v, quote, size, at, AECS_E_UNTRUSTED, stage_of(status), status, &why);
            assert_string_equal(why.code_name, name);
            assert_int_equal(why.code, code);
            assert_int_equal(why.qv_result, 0xA006); /* QvE: UNSPECIFIED with terminal errors */
        }
        free(quote);
        json_decref(e);
        aecs_verifier_free(v);
    }
}

/* The vector whose collateral expired at its verify time: refused, its TCB status kept. */
static void test_dcap_expired_vector(void **state)
{
    const char *set = "neg_tdx_v5_gotdx_mixed_epoch";
    char dir[1024];
    size_t size = 0;
    struct aecs_verifier_config cfg;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    json_t *e = tu_dcap_expected(set);
    uint8_t *quote = tu_read_dcap(set, "quote.bin", &size);

    (void)state;
    assert_true(json_is_true(tu_json_path(e, "expected.collateral_expired_at_verify_time")));
    tu_dcap_path(dir, sizeof(dir), set, "");
    dir[strlen(dir) - 1] = '\0';
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = dir;
    struct aecs_verifier *v = new_verifier(&cfg);
    int rc = aecs_verifier_verify(v, quote, size, tu_utc(tu_json_str(e, "verify_time")), &claims,
                                  &why);
    assert_int_equal(rc, AECS_E_EXPIRED);
    assert_string_equal(why.stage, "expiry");
    assert_int_equal(why.collateral_expired, 1);
    assert_non_null(why.tcb_status);
    assert_string_equal(why.tcb_status, tu_json_str(e, "expected.tcb_status"));
    assert_int_equal(claims.platform, AECS_TEE_UNKNOWN);
    free(quote);
    json_decref(e);
    aecs_verifier_free(v);
}

/* ---- (1b) one sub-folder per key ---- */

static void test_dcap_key_folders(void **state)
{
    static const char *const sets[] = {SGX_SET, TDX_SET, TDX_AUTOMATA_SET, NULL};
    char tmp[64];
    struct aecs_verifier_config cfg;
    struct aecs_claims claims;
    struct aecs_verifier_stats st;

    (void)state;
    tu_mkdtemp(tmp, sizeof(tmp));
    make_key_folders(tmp, sets);
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = tmp;
    struct aecs_verifier *v = new_verifier(&cfg);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; sets[i] != NULL; i++) {
            size_t size = 0;
            uint8_t *quote = tu_read_dcap(sets[i], "quote.bin", &size);
            expect_claims(v, quote, size, set_verify_time(sets[i]), &claims);
            check_dcap_claims(sets[i], &claims);
            free(quote);
        }
    }
    /* each key's folder read and prepared once; each platform's chain parsed once */
    aecs_verifier_get_stats(v, &st);
    assert_int_equal(st.verified, 6);
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.folder_loads, 3);
    assert_int_equal(st.routes, 3);
    aecs_verifier_free(v);
    tu_rmtree(tmp);
}

/* ---- (4) refusals ---- */

static void test_missing_collateral(void **state)
{
    static const char *const sgx_only[] = {SGX_SET, NULL};
    char tmp[64];
    char fmspc[13];
    char dir[1024];
    size_t size = 0;
    struct aecs_verifier_config cfg;
    struct aecs_verify_failure why;
    uint8_t *quote = tu_read_dcap(TDX_SET, "quote.bin", &size);

    (void)state;
    set_fmspc_upper(TDX_SET, fmspc);

    /* a folder per key, without this quote's key */
    tu_mkdtemp(tmp, sizeof(tmp));
    make_key_folders(tmp, sgx_only);
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = tmp;
    struct aecs_verifier *v = new_verifier(&cfg);
    expect_refusal(v, quote, size, set_verify_time(TDX_SET), AECS_E_NOT_FOUND, "collateral",
                   "AECS_COLLATERAL_UNAVAILABLE", &why);
    assert_string_equal(why.code_name, "AECS_COLLATERAL_UNAVAILABLE");
    assert_int_equal(why.code, 0);
    assert_non_null(strstr(why.message, fmspc));
    assert_non_null(strstr(why.message, tmp));
    assert_non_null(strstr(why.message, "does not exist"));
    aecs_verifier_free(v);

    /* one platform's folder, for another platform */
    tu_dcap_path(dir, sizeof(dir), SGX_SET, "");
    dir[strlen(dir) - 1] = '\0';
    cfg.collateral_dir = dir;
    v = new_verifier(&cfg);
    expect_refusal(v, quote, size, set_verify_time(TDX_SET), AECS_E_NOT_FOUND, "collateral",
                   "AECS_COLLATERAL_UNAVAILABLE", &why);
    assert_non_null(strstr(why.message, fmspc));
    set_fmspc_upper(SGX_SET, fmspc);
    assert_non_null(strstr(why.message, fmspc)); /* and says what the folder holds */
    aecs_verifier_free(v);

    /* no Intel collateral configured at all */
    memset(&cfg, 0, sizeof(cfg));
    v = new_verifier(&cfg);
    expect_refusal(v, quote, size, set_verify_time(TDX_SET), AECS_E_NOT_FOUND, "collateral",
                   "AECS_COLLATERAL_UNAVAILABLE", &why);
    assert_non_null(strstr(why.message, "no collateral source"));
    aecs_verifier_free(v);
    free(quote);
    tu_rmtree(tmp);
}

/* Maps a window_bounds label of expected.json to Intel's expiry status and QvE code. */
static void expiry_status_of(const char *label, const char **status, const char **code_name,
                             unsigned *code)
{
    if (strncmp(label, "enclaveIdentity", 15) == 0) {
        *status = "STATUS_SGX_ENCLAVE_IDENTITY_EXPIRED";
        *code_name = "SGX_QL_SGX_ENCLAVE_IDENTITY_EXPIRED";
        *code = 0xE030;
    } else if (strncmp(label, "tcbInfo", 7) == 0) {
        *status = "STATUS_SGX_TCB_INFO_EXPIRED";
        *code_name = "SGX_QL_SGX_TCB_INFO_EXPIRED";
        *code = 0xE02C;
    } else if (strstr(label, "CRL") != NULL) {
        *status = "STATUS_SGX_CRL_EXPIRED";
        *code_name = "SGX_QL_SGX_CRL_EXPIRED";
        *code = 0xE02E;
    } else {
        fail_msg("no expiry status for '%s' in this test", label);
    }
}

static void test_expired_collateral(void **state)
{
    char dir[1024];
    size_t size = 0;
    struct aecs_verifier_config cfg;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    json_t *e = tu_dcap_expected(SGX_SET);
    uint8_t *quote = tu_read_dcap(SGX_SET, "quote.bin", &size);
    json_t *bounds = tu_json_path(e, "window_bounds");
    int64_t end = json_time(json_array_get(tu_json_path(e, "collateral_validity_window"), 1));
    const char *first = NULL;
    const char *key;
    json_t *val;
    const char *status = NULL;
    const char *code_name = NULL;
    unsigned code = 0;

    (void)state;
    /* the item whose validity ends first ends the window */
    json_object_foreach(bounds, key, val)
    {
        if (json_time(json_array_get(val, 1)) == end)
            first = key;
    }
    assert_non_null(first);
    expiry_status_of(first, &status, &code_name, &code);

    tu_dcap_path(dir, sizeof(dir), SGX_SET, "");
    dir[strlen(dir) - 1] = '\0';
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = dir;
    struct aecs_verifier *v = new_verifier(&cfg);
    expect_claims(v, quote, size, end - 1, &claims); /* the last second of the window */
    expect_refusal(v, quote, size, end, AECS_E_EXPIRED, "expiry", status, &why);
    assert_string_equal(why.code_name, code_name);
    assert_int_equal(why.code, code);
    assert_int_equal(why.collateral_expired, 1);
    assert_non_null(why.tcb_status);
    assert_string_equal(why.tcb_status, tu_json_str(e, "expected.tcb_status"));
    expect_refusal(v, quote, size, end + 400 * DAY, AECS_E_EXPIRED, "expiry", status, &why);
    /* and before the window starts */
    int64_t start = json_time(json_array_get(tu_json_path(e, "collateral_validity_window"), 0));
    assert_int_equal(aecs_verifier_verify(v, quote, size, start - 1, &claims, &why),
                     AECS_E_EXPIRED);
    assert_string_equal(why.stage, "expiry");
    free(quote);
    json_decref(e);
    aecs_verifier_free(v);
}

static void test_tampered_quote(void **state)
{
    char dir[1024];
    size_t size = 0;
    struct aecs_verifier_config cfg;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    uint8_t *quote = tu_read_dcap(SGX_SET, "quote.bin", &size);
    int64_t at = set_verify_time(SGX_SET);

    (void)state;
    tu_dcap_path(dir, sizeof(dir), SGX_SET, "");
    dir[strlen(dir) - 1] = '\0';
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = dir;
    struct aecs_verifier *v = new_verifier(&cfg);
    expect_claims(v, quote, size, at, &claims); /* warm: the platform is cached */

    /* Intel's quote v3: 48-byte header, then the report body; REPORTDATA at body offset 320 */
    quote[48 + 320] ^= 0x01;
    expect_refusal(v, quote, size, at, AECS_E_UNTRUSTED, "signature",
                   "STATUS_INVALID_QUOTE_SIGNATURE", &why);
    assert_string_equal(why.code_name, "SGX_QL_RESULT_INVALID_SIGNATURE");
    assert_int_equal(why.code, 0xE068);
    assert_int_equal(why.kind, AECS_EVIDENCE_DCAP);
    quote[48 + 320] ^= 0x01;

    /* MRENCLAVE (body offset 64) */
    quote[48 + 64] ^= 0x80;
    expect_refusal(v, quote, size, at, AECS_E_UNTRUSTED, "signature",
                   "STATUS_INVALID_QUOTE_SIGNATURE", &why);
    quote[48 + 64] ^= 0x80;
    expect_claims(v, quote, size, at, &claims);

    /* cut short: the quote does not parse */
    expect_refusal(v, quote, 600, at, AECS_E_FORMAT, "parse", "STATUS_UNSUPPORTED_QUOTE_FORMAT",
                   &why);
    assert_string_equal(why.code_name, "SGX_QL_QUOTE_FORMAT_UNSUPPORTED");
    assert_int_equal(why.code, 0xE01D);
    free(quote);
    aecs_verifier_free(v);
}

static void test_unknown_evidence(void **state)
{
    static const uint8_t text[] = "{\"evidence\": \"not a quote\"}";
    struct aecs_verifier_config cfg;
    struct aecs_verify_failure why;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    struct aecs_verifier *v = new_verifier(&cfg);
    expect_refusal(v, text, sizeof(text) - 1, AECS_VERIFIER_NOW, AECS_E_FORMAT, "parse",
                   "AECS_EVIDENCE_UNKNOWN", &why);
    assert_int_equal(why.kind, AECS_EVIDENCE_UNKNOWN);
    assert_string_equal(why.code_name, "AECS_EVIDENCE_UNKNOWN");
    expect_refusal(v, text, 0, AECS_VERIFIER_NOW, AECS_E_FORMAT, "parse", "AECS_EVIDENCE_UNKNOWN",
                   &why);
    expect_refusal(v, NULL, 0, AECS_VERIFIER_NOW, AECS_E_FORMAT, "parse", "AECS_EVIDENCE_UNKNOWN",
                   &why);
    /* one byte more than any evidence may have, refused before it is looked at */
    uint8_t *big = calloc(1, AECS_VERIFIER_MAX_EVIDENCE + 1);
    assert_non_null(big);
    big[0] = 3;
    big[2] = 2; /* a DCAP v3 header */
    expect_refusal(v, big, AECS_VERIFIER_MAX_EVIDENCE + 1, AECS_VERIFIER_NOW, AECS_E_TOO_LARGE,
                   "parse", "AECS_EVIDENCE_TOO_LARGE", &why);
    free(big);
    /* why may be NULL; the refusal is still the thread's error */
    struct aecs_claims claims;
    assert_int_equal(aecs_verifier_verify(v, text, sizeof(text) - 1, 0, &claims, NULL),
                     AECS_E_FORMAT);
    assert_non_null(strstr(aecs_err_last()->message, "neither"));
    aecs_verifier_free(v);
}

/* ---- (2) the simulated TEE ---- */

#define SIM_T0 1751328000 /* 2025-07-01T00:00:00Z: the issue time of the sims here */

static void sim_init(const char *dir, const char *status, int revoke, int64_t now)
{
    struct aecs_sim_options o;

    memset(&o, 0, sizeof(o));
    o.tcb_status = status;
    o.revoke_pck = revoke;
    o.now = now;
    if (aecs_sim_init(dir, &o) != AECS_OK) {
        print_error("sim init: %s\n", aecs_err_last()->message);
        fail();
    }
}

static uint8_t *sim_quote(const char *dir, const struct aecs_sim_quote_params *p, size_t *size)
{
    uint8_t *q = NULL;

    if (aecs_sim_quote(dir, p, &q, size) != AECS_OK) {
        print_error("sim quote: %s\n", aecs_err_last()->message);
        fail();
    }
    return q;
}

static void sgx_params(struct aecs_sim_quote_params *p, uint8_t fill)
{
    memset(p, 0, sizeof(*p));
    p->tee = AECS_SIM_SGX;
    memset(p->mrenclave, fill, 32);
    memset(p->mrsigner, 0x22, 32);
    p->isvprodid = 3;
    p->isvsvn = 7;
    for (int i = 0; i < 64; i++)
        p->report_data[i] = (uint8_t)(i + fill);
}

static void tdx_params(struct aecs_sim_quote_params *p)
{
    memset(p, 0, sizeof(*p));
    p->tee = AECS_SIM_TDX;
    memset(p->mrtd, 0x33, 48);
    for (int i = 0; i < 4; i++)
        memset(p->rtmr[i], 0x40 + i, 48);
    memset(p->mrconfigid, 0x55, 48);
    memset(p->mrowner, 0x66, 48);
    for (int i = 0; i < 64; i++)
        p->report_data[i] = (uint8_t)(0xff - i);
}

static struct aecs_verifier *sim_verifier(const char *sim_dir)
{
    char root[1024];
    struct aecs_verifier_config cfg;

    path_in(root, sizeof(root), sim_dir, "root.der");
    memset(&cfg, 0, sizeof(cfg));
    cfg.sim_root_file = root; /* the sim folder is the root's */
    return new_verifier(&cfg);
}

static void test_sim(void **state)
{
    char tmp[64];
    char dir[256];
    char other[256];
    char root[1024];
    char sgx_dir[1024];
    size_t sgx_size = 0;
    size_t tdx_size = 0;
    struct aecs_sim_quote_params sp;
    struct aecs_sim_quote_params tp;
    struct aecs_verifier_config cfg;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    const int64_t at = SIM_T0 + DAY;

    (void)state;
    tu_mkdtemp(tmp, sizeof(tmp));
    path_in(dir, sizeof(dir), tmp, "sim");
    path_in(other, sizeof(other), tmp, "other");
    sim_init(dir, NULL, 0, SIM_T0);
    sim_init(other, NULL, 0, SIM_T0);
    sgx_params(&sp, 0x11);
    tdx_params(&tp);
    uint8_t *sgx = sim_quote(dir, &sp, &sgx_size);
    uint8_t *tdx = sim_quote(dir, &tp, &tdx_size);

    /* trusted: its root is configured */
    struct aecs_verifier *v = sim_verifier(dir);
    expect_claims(v, sgx, sgx_size, at, &claims);
    assert_int_equal(claims.platform, AECS_TEE_SGX);
    assert_int_equal(claims.sim, 1);
    assert_memory_equal(claims.mrenclave, sp.mrenclave, 32);
    assert_memory_equal(claims.mrsigner, sp.mrsigner, 32);
    assert_int_equal(claims.isvprodid, 3);
    assert_int_equal(claims.isvsvn, 7);
    assert_memory_equal(claims.report_data, sp.report_data, 64);
    assert_int_equal(claims.debug, 0);
    assert_string_equal(claims.tcb_status, "UpToDate");
    assert_int_equal(claims.advisory_count, 0);

    expect_claims(v, tdx, tdx_size, at, &claims);
    assert_int_equal(claims.platform, AECS_TEE_TDX);
    assert_int_equal(claims.sim, 1);
    assert_memory_equal(claims.mrtd, tp.mrtd, 48);
    assert_memory_equal(claims.rtmr, tp.rtmr, sizeof(tp.rtmr));
    assert_memory_equal(claims.mrconfigid, tp.mrconfigid, 48);
    assert_memory_equal(claims.mrowner, tp.mrowner, 48);
    assert_memory_equal(claims.report_data, tp.report_data, 64);
    assert_string_equal(claims.tcb_status, "UpToDate");

    /* 31 days after the sim was made: past its collateral's default 30 days */
    expect_refusal(v, sgx, sgx_size, SIM_T0 + 31 * DAY, AECS_E_EXPIRED, "expiry",
                   NULL, &why);
    assert_int_equal(why.collateral_expired, 1);
    assert_string_equal(why.tcb_status, "UpToDate");
    aecs_verifier_free(v);

    /* not trusted: no sim root configured (an Intel folder is there, which changes nothing) */
    tu_dcap_path(sgx_dir, sizeof(sgx_dir), SGX_SET, "");
    sgx_dir[strlen(sgx_dir) - 1] = '\0';
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = sgx_dir;
    v = new_verifier(&cfg);
    expect_refusal(v, sgx, sgx_size, at, AECS_E_UNTRUSTED, "chain", "AECS_SIM_ROOT_UNTRUSTED",
                   &why);
    assert_non_null(strstr(why.message, "aecs simulator root"));
    assert_non_null(strstr(why.message, "does not trust"));
    assert_non_null(strstr(why.message, "--sim-root"));
    expect_refusal(v, tdx, tdx_size, at, AECS_E_UNTRUSTED, "chain", "AECS_SIM_ROOT_UNTRUSTED",
                   &why);
    aecs_verifier_free(v);

    /* not trusted: another sim's root is configured */
    v = sim_verifier(other);
    expect_refusal(v, sgx, sgx_size, at, AECS_E_UNTRUSTED, "chain", "AECS_SIM_ROOT_UNTRUSTED",
                   &why);
    assert_non_null(strstr(why.message, "other than the configured"));
    /* and an Intel quote there: no Intel collateral, never the sim's */
    size_t size = 0;
    uint8_t *intel = tu_read_dcap(SGX_SET, "quote.bin", &size);
    expect_refusal(v, intel, size, set_verify_time(SGX_SET), AECS_E_NOT_FOUND, "collateral",
                   "AECS_COLLATERAL_UNAVAILABLE", &why);
    free(intel);
    aecs_verifier_free(v);

    /* a sim root is not an Intel root, and an Intel root is not a sim root */
    struct aecs_verifier *bad = NULL;
    path_in(root, sizeof(root), dir, "root.der");
    memset(&cfg, 0, sizeof(cfg));
    cfg.intel_root_file = root;
    assert_int_equal(aecs_verifier_new(&cfg, &bad), AECS_E_INVALID_ARGUMENT);
    assert_null(bad);
    tu_dcap_path(root, sizeof(root), SGX_SET, "trusted_root.der");
    memset(&cfg, 0, sizeof(cfg));
    cfg.sim_root_file = root;
    cfg.sim_dir = dir;
    assert_int_equal(aecs_verifier_new(&cfg, &bad), AECS_E_INVALID_ARGUMENT);
    assert_null(bad);
    /* a sim folder without its root is refused */
    memset(&cfg, 0, sizeof(cfg));
    cfg.sim_dir = dir;
    assert_int_equal(aecs_verifier_new(&cfg, &bad), AECS_E_USAGE);

    free(sgx);
    free(tdx);
    tu_rmtree(tmp);
}

static int64_t fixed_clock(void *arg)
{
    return *(const int64_t *)arg;
}

/* The sim's TCB cases: a status that is a claim, and revocations that are refusals. */
static void test_sim_tcb(void **state)
{
    char tmp[64];
    char dir[256];
    size_t size = 0;
    struct aecs_sim_quote_params sp;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    int64_t clock = SIM_T0 + 2 * DAY;
    char root[1024];
    struct aecs_verifier_config cfg;

    (void)state;
    tu_mkdtemp(tmp, sizeof(tmp));
    sgx_params(&sp, 0x77);

    /* OutOfDate is verified: the status and the sim's advisory are claims */
    path_in(dir, sizeof(dir), tmp, "ood");
    sim_init(dir, "OutOfDate", 0, SIM_T0);
    uint8_t *q = sim_quote(dir, &sp, &size);
    path_in(root, sizeof(root), dir, "root.der");
    memset(&cfg, 0, sizeof(cfg));
    cfg.sim_root_file = root;
    cfg.now = fixed_clock;
    cfg.now_arg = &clock;
    struct aecs_verifier *v = new_verifier(&cfg);
    expect_claims(v, q, size, AECS_VERIFIER_NOW, &claims);
    assert_string_equal(claims.tcb_status, "OutOfDate");
    assert_int_equal(claims.advisory_count, 1);
    assert_string_equal(claims.advisories[0], AECS_SIM_ADVISORY);
    assert_int_equal(claims.sim, 1);
    clock = SIM_T0 + 40 * DAY; /* the clock moved past nextUpdate */
    expect_refusal(v, q, size, AECS_VERIFIER_NOW, AECS_E_EXPIRED, "expiry",
                   NULL, &why);
    assert_string_equal(why.tcb_status, "OutOfDate");
    assert_int_equal(why.qv_result, 0xA002);
    aecs_verifier_free(v);
    free(q);

    /* a Revoked TCB level */
    path_in(dir, sizeof(dir), tmp, "revoked");
    sim_init(dir, "Revoked", 0, SIM_T0);
    q = sim_quote(dir, &sp, &size);
    v = sim_verifier(dir);
    expect_refusal(v, q, size, SIM_T0 + DAY, AECS_E_REVOKED, "tcb", "STATUS_TCB_REVOKED", &why);
    assert_string_equal(why.code_name, "SGX_QL_TCB_REVOKED");
    assert_int_equal(why.code, 0xE032);
    assert_string_equal(why.tcb_status, "Revoked");
    aecs_verifier_free(v);
    free(q);

    /* a revoked PCK certificate */
    path_in(dir, sizeof(dir), tmp, "pck");
    sim_init(dir, NULL, 1, SIM_T0);
    q = sim_quote(dir, &sp, &size);
    v = sim_verifier(dir);
    expect_refusal(v, q, size, SIM_T0 + DAY, AECS_E_REVOKED, "chain", "STATUS_SGX_PCK_REVOKED",
                   &why);
    assert_string_equal(why.code_name, "SGX_QL_PCK_REVOKED");
    assert_int_equal(why.code, 0xE031);
    aecs_verifier_free(v);
    free(q);
    tu_rmtree(tmp);
}

/* ---- (3) SEV-SNP ---- */

/* A time inside the VCEK's validity of the Milan set. */
static int64_t snp_time(json_t *e)
{
    json_t *val = tu_json_path(e, "report.vcek_validity");
    int64_t from = json_time(json_array_get(val, 0));
    int64_t until = json_time(json_array_get(val, 1));

    return from + (until - from) / 2;
}

static void check_snp_claims(const struct aecs_claims *c, json_t *e)
{
    char product[64];

    assert_int_equal(c->platform, AECS_TEE_SNP);
    assert_int_equal(c->sim, 0);
    assert_string_equal(c->tcb_status, "");
    assert_hex(c->measurement, tu_json_str(e, "report.measurement"), 48);
    assert_hex(c->report_data, tu_json_str(e, "report.report_data"), 64);
    assert_hex(c->host_data, tu_json_str(e, "report.host_data"), 32);
    assert_int_equal(c->snp_policy, strtoull(tu_json_str(e, "report.policy"), NULL, 16));
    assert_int_equal(c->debug, (c->snp_policy >> 19) & 1);
    assert_int_equal(c->vmpl, tu_json_int(e, "report.vmpl"));
    assert_int_equal(c->guest_svn, tu_json_int(e, "report.guest_svn"));
    assert_int_equal(c->snp_tcb.bootloader, tu_json_int(e, "report.reported_tcb.bootloader"));
    assert_int_equal(c->snp_tcb.tee, tu_json_int(e, "report.reported_tcb.tee"));
    assert_int_equal(c->snp_tcb.snp, tu_json_int(e, "report.reported_tcb.snp"));
    assert_int_equal(c->snp_tcb.microcode, tu_json_int(e, "report.reported_tcb.microcode"));
    assert_int_equal(c->snp_tcb.has_fmc, 0);
    /* the product line is the part of the VCEK's productName before '-' ("Milan-B0") */
    json_t *ext = tu_json_path(e, "report.vcek_ext");
    snprintf(product, sizeof(product), "%s",
             json_string_value(json_object_get(ext, "1.3.6.1.4.1.3704.1.2")));
    char *dash = strchr(product, '-');
    if (dash != NULL)
        *dash = '\0';
    assert_string_equal(c->snp_product, product);
}

/* $AECS_SRC/set/name */
static void snp_file(char *buf, size_t size, const char *set, const char *name)
{
    char rel[512];

    path_in(rel, sizeof(rel), set, name);
    tu_src_path(buf, size, rel);
}

static json_t *snp_expected(void)
{
    char path[1024];

    tu_src_path(path, sizeof(path), SNP_DIR "/expected.json");
    return tu_load_json(path);
}

static uint8_t *snp_report(size_t *size)
{
    char path[1024];

    tu_src_path(path, sizeof(path), SNP_DIR "/report.bin");
    return tu_read_file(path, size);
}

static void test_snp(void **state)
{
    char dir[1024];
    char tmp[64];
    char sub[1024];
    char from[1024];
    char to[1024];
    size_t size = 0;
    struct aecs_verifier_config cfg;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    json_t *e = snp_expected();
    uint8_t *report = snp_report(&size);
    int64_t at = snp_time(e);

    (void)state;
    assert_string_equal(tu_json_str(e, "expected.result"), "ok");

    /* the set's folder: vcek.der with ask.pem and ark.pem */
    tu_src_path(dir, sizeof(dir), SNP_DIR);
    memset(&cfg, 0, sizeof(cfg));
    cfg.snp_collateral_dir = dir;
    struct aecs_verifier *v = new_verifier(&cfg);
    expect_claims(v, report, size, at, &claims);
    check_snp_claims(&claims, e);

    /* the source's own negative case: report[21] ^= 0x80 (inside FAMILY_ID, signed) */
    report[21] ^= 0x80;
    expect_refusal(v, report, size, at, AECS_E_UNTRUSTED, "signature",
                   "SNP_REPORT_INVALID_SIGNATURE", &why);
    assert_string_equal(why.code_name, "SNP_REPORT_INVALID_SIGNATURE");
    assert_int_equal(why.kind, AECS_EVIDENCE_SNP);
    report[21] ^= 0x80;

    /* the VCEK's notAfter */
    int64_t until = json_time(json_array_get(tu_json_path(e, "report.vcek_validity"), 1));
    expect_refusal(v, report, size, until, AECS_E_EXPIRED, "expiry", "SNP_COLLATERAL_EXPIRED",
                   &why);
    assert_int_equal(why.collateral_expired, 1);

    /* one byte short: the report does not parse */
    expect_refusal(v, report, size - 1, at, AECS_E_FORMAT, "parse", "SNP_REPORT_MALFORMED", &why);
    aecs_verifier_free(v);

    /*
     * One sub-folder per VCEK, as `aecs collateral fetch` writes them (vcek.der
     * and cert_chain.pem): the Milan VCEK is picked for the Milan report.
     */
    tu_mkdtemp(tmp, sizeof(tmp));
    path_in(sub, sizeof(sub), tmp, "turin");
    assert_int_equal(mkdir(sub, 0700), 0);
    static const char *const files[] = {"vcek.der", "cert_chain.pem"};
    for (int i = 0; i < 2; i++) {
        snp_file(from, sizeof(from), SNP_TURIN_DIR, files[i]);
        path_in(to, sizeof(to), sub, files[i]);
        tu_copy_file(from, to);
    }
    path_in(sub, sizeof(sub), tmp, "milan");
    assert_int_equal(mkdir(sub, 0700), 0);
    for (int i = 0; i < 2; i++) {
        snp_file(from, sizeof(from), SNP_DIR, files[i]);
        path_in(to, sizeof(to), sub, files[i]);
        tu_copy_file(from, to);
    }
    cfg.snp_collateral_dir = tmp;
    v = new_verifier(&cfg);
    expect_claims(v, report, size, at, &claims);
    check_snp_claims(&claims, e);
    aecs_verifier_free(v);

    /* only the Turin VCEK: no VCEK for this chip */
    path_in(sub, sizeof(sub), tmp, "milan");
    tu_rmtree(sub);
    path_in(sub, sizeof(sub), tmp, "other");
    assert_int_equal(mkdir(sub, 0700), 0); /* a second folder, so nothing is picked by default */
    for (int i = 0; i < 2; i++) {
        snp_file(from, sizeof(from), SNP_TURIN_DIR, files[i]);
        path_in(to, sizeof(to), sub, files[i]);
        tu_copy_file(from, to);
    }
    v = new_verifier(&cfg);
    expect_refusal(v, report, size, at, AECS_E_NOT_FOUND, "collateral",
                   "AECS_COLLATERAL_UNAVAILABLE", &why);
    assert_non_null(strstr(why.message, "no VCEK for chip"));
    aecs_verifier_free(v);
    tu_rmtree(tmp);

    /* no SNP collateral configured */
    memset(&cfg, 0, sizeof(cfg));
    v = new_verifier(&cfg);
    expect_refusal(v, report, size, at, AECS_E_NOT_FOUND, "collateral",
                   "AECS_COLLATERAL_UNAVAILABLE", &why);
    aecs_verifier_free(v);
    free(report);
    json_decref(e);
}

/* The VCEK from the loopback KDS, once. */
static void test_snp_kds(void **state)
{
    struct tu_loopback kds;
    size_t size = 0;
    struct aecs_verifier_config cfg;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    json_t *e = snp_expected();
    uint8_t *report = snp_report(&size);
    int64_t at = snp_time(e);

    (void)state;
    kds_loopback_start(&kds);
    memset(&cfg, 0, sizeof(cfg));
    cfg.use_kds = 1;
    cfg.kds_url = kds.url;

    /* a version 2 report names no product line: KDS cannot be asked without one */
    struct aecs_verifier *v = new_verifier(&cfg);
    expect_refusal(v, report, size, at, AECS_E_NOT_FOUND, "collateral",
                   "AECS_COLLATERAL_UNAVAILABLE", &why);
    assert_int_equal(tu_loopback_count(&kds, "vcek"), 0);
    aecs_verifier_free(v);

    cfg.snp_product = AECS_AMD_MILAN;
    v = new_verifier(&cfg);
    expect_claims(v, report, size, at, &claims);
    check_snp_claims(&claims, e);
    expect_claims(v, report, size, at, &claims);
    assert_int_equal(tu_loopback_count(&kds, "vcek"), 1); /* kept by the KDS cache */
    aecs_verifier_free(v);

    /* KDS answers 404 */
    tu_loopback_control(&kds, "mode=404&only=vcek");
    v = new_verifier(&cfg);
    expect_refusal(v, report, size, at, AECS_E_IO, "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                   &why);
    assert_non_null(strstr(why.message, kds.url));
    assert_non_null(strstr(why.message, "404"));
    aecs_verifier_free(v);

    tu_loopback_stop(&kds);
    free(report);
    json_decref(e);
}

/* ---- (5) threads ---- */

#define THREADS 4
#define ITERATIONS 60

struct tcase {
    const uint8_t *ev;
    size_t size;
    int err;                 /* AECS_OK: claims expected */
    enum aecs_tee platform;  /* when AECS_OK */
    int sim;
    uint8_t report_data[64];
    const char *stage;       /* when refused */
};

struct job {
    struct aecs_verifier *v;
    const struct tcase *cases;
    size_t count;
    size_t offset;
    int64_t now;
    pthread_barrier_t *start;
    int failures;
    char first_failure[600];
};

static void *worker(void *arg)
{
    struct job *j = arg;
    struct aecs_claims claims;
    struct aecs_verify_failure why;

    pthread_barrier_wait(j->start);
    for (size_t i = 0; i < ITERATIONS * j->count; i++) {
        const struct tcase *c = &j->cases[(i + j->offset) % j->count];
        int rc = aecs_verifier_verify(j->v, c->ev, c->size, j->now, &claims, &why);
        int ok = rc == c->err;
        if (ok && rc == AECS_OK)
            ok = claims.platform == c->platform && claims.sim == c->sim &&
                 memcmp(claims.report_data, c->report_data, 64) == 0;
        else if (ok)
            ok = strcmp(why.stage, c->stage) == 0;
        if (!ok && j->failures++ == 0)
            snprintf(j->first_failure, sizeof(j->first_failure), "case %zu: rc %d, %s: %s",
                     (i + j->offset) % j->count, rc, rc ? why.stage : "-",
                     rc ? why.message : "claims differ");
    }
    return NULL;
}

static void test_threads(void **state)
{
    static const char *const sets[] = {SGX_SET, TDX_SET, NULL};
    char tmp[64];
    char intel[256];
    char sim[256];
    char root[1024];
    struct aecs_sim_quote_params a;
    struct aecs_sim_quote_params b;
    struct aecs_sim_quote_params t;
    struct tcase cases[6];
    size_t n = 0;
    uint8_t *bufs[6];
    struct aecs_verifier_config cfg;
    struct aecs_verifier_stats st;
    pthread_barrier_t start;
    pthread_t th[THREADS];
    struct job jobs[THREADS];
    int64_t from = INT64_MIN;
    int64_t until = INT64_MAX;

    (void)state;
    /* a time inside both vectors' validity windows */
    for (size_t i = 0; sets[i] != NULL; i++) {
        json_t *e = tu_dcap_expected(sets[i]);
        json_t *w = tu_json_path(e, "collateral_validity_window");
        if (json_time(json_array_get(w, 0)) > from)
            from = json_time(json_array_get(w, 0));
        if (json_time(json_array_get(w, 1)) < until)
            until = json_time(json_array_get(w, 1));
        json_decref(e);
    }
    int64_t now = until - 60;
    assert_true(now > from);

    tu_mkdtemp(tmp, sizeof(tmp));
    path_in(intel, sizeof(intel), tmp, "intel");
    assert_int_equal(mkdir(intel, 0700), 0);
    make_key_folders(intel, sets);
    path_in(sim, sizeof(sim), tmp, "sim");
    sim_init(sim, NULL, 0, now - DAY);

    memset(cases, 0, sizeof(cases));
    sgx_params(&a, 0x01);
    sgx_params(&b, 0x02);
    tdx_params(&t);
    const struct aecs_sim_quote_params *ps[] = {&a, &b, &t};
    for (int i = 0; i < 3; i++) {
        bufs[n] = sim_quote(sim, ps[i], &cases[n].size);
        cases[n].ev = bufs[n];
        cases[n].platform = ps[i]->tee == AECS_SIM_TDX ? AECS_TEE_TDX : AECS_TEE_SGX;
        cases[n].sim = 1;
        memcpy(cases[n].report_data, ps[i]->report_data, 64);
        n++;
    }
    for (size_t i = 0; sets[i] != NULL; i++) {
        json_t *e = tu_dcap_expected(sets[i]);
        bufs[n] = tu_read_dcap(sets[i], "quote.bin", &cases[n].size);
        cases[n].ev = bufs[n];
        cases[n].platform =
            strcmp(tu_json_str(e, "header.tee_type"), "0x81") == 0 ? AECS_TEE_TDX : AECS_TEE_SGX;
        tu_hex(tu_json_str(e, "report.reportdata"), cases[n].report_data, 64);
        json_decref(e);
        n++;
    }
    /* a changed byte in a copy of the first sim quote: refused at the signature stage */
    bufs[n] = malloc(cases[0].size);
    assert_non_null(bufs[n]);
    memcpy(bufs[n], cases[0].ev, cases[0].size);
    bufs[n][48 + 320] ^= 0x04; /* REPORTDATA */
    cases[n].ev = bufs[n];
    cases[n].size = cases[0].size;
    cases[n].err = AECS_E_UNTRUSTED;
    cases[n].stage = "signature";
    n++;

    path_in(root, sizeof(root), sim, "root.der");
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = intel;
    cfg.sim_root_file = root;
    struct aecs_verifier *v = new_verifier(&cfg);

    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].v = v;
        jobs[i].cases = cases;
        jobs[i].count = n;
        jobs[i].offset = i < 2 ? 0 : (size_t)i; /* two threads in step, two shifted */
        jobs[i].now = now;
        jobs[i].start = &start;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (jobs[i].failures != 0)
            fail_msg("thread %d: %d failures, first: %s", i, jobs[i].failures,
                     jobs[i].first_failure);
    }
    pthread_barrier_destroy(&start);

    aecs_verifier_get_stats(v, &st);
    assert_int_equal(st.verified, (uint64_t)THREADS * ITERATIONS * (n - 1));
    assert_int_equal(st.refused, (uint64_t)THREADS * ITERATIONS);
    /* four folders (sim SGX and TDX, two Intel keys), each read once whatever the racing */
    assert_int_equal(st.folder_loads, 4);
    aecs_verifier_free(v);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    tu_rmtree(tmp);
}

/* ---- (6) the PCCS ---- */

static void test_pccs(void **state)
{
    static const char *const served[] = {SGX_SET, TDX_SET, NULL};
    static const char *const sgx_only[] = {SGX_SET, NULL};
    struct tu_loopback pcs;
    char tmp[64];
    char cache[256];
    char offline[256];
    char fmspc[13];
    size_t sgx_size = 0;
    size_t tdx_size = 0;
    struct aecs_verifier_config cfg;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    uint8_t *sgx = tu_read_dcap(SGX_SET, "quote.bin", &sgx_size);
    uint8_t *tdx = tu_read_dcap(TDX_SET, "quote.bin", &tdx_size);
    int64_t sgx_at = set_verify_time(SGX_SET);
    int64_t tdx_at = set_verify_time(TDX_SET);

    (void)state;
    pcs_loopback_start(&pcs, served, NULL);
    tu_mkdtemp(tmp, sizeof(tmp));
    path_in(cache, sizeof(cache), tmp, "cache");

    /* fetched once per key, kept in memory and on disk */
    memset(&cfg, 0, sizeof(cfg));
    cfg.pccs_url = pcs.url;
    cfg.collateral_cache_dir = cache;
    struct aecs_verifier *v = new_verifier(&cfg);
    for (int round = 0; round < 2; round++) {
        expect_claims(v, sgx, sgx_size, sgx_at, &claims);
        check_dcap_claims(SGX_SET, &claims);
        expect_claims(v, tdx, tdx_size, tdx_at, &claims);
        check_dcap_claims(TDX_SET, &claims);
    }
    assert_int_equal(tu_loopback_count(&pcs, "tcb"), 2);
    aecs_verifier_free(v);

    /* what the cache wrote is an offline folder per key */
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = cache;
    v = new_verifier(&cfg);
    expect_claims(v, tdx, tdx_size, tdx_at, &claims);
    check_dcap_claims(TDX_SET, &claims);
    aecs_verifier_free(v);

    /* offline first, the PCCS for what the folder lacks */
    path_in(offline, sizeof(offline), tmp, "offline");
    assert_int_equal(mkdir(offline, 0700), 0);
    make_key_folders(offline, sgx_only);
    tu_loopback_control(&pcs, "reset=1");
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = offline;
    cfg.pccs_url = pcs.url;
    v = new_verifier(&cfg);
    expect_claims(v, sgx, sgx_size, sgx_at, &claims);
    assert_int_equal(tu_loopback_count(&pcs, "requests"), 0);
    expect_claims(v, tdx, tdx_size, tdx_at, &claims);
    assert_int_equal(tu_loopback_count(&pcs, "tcb"), 1);
    aecs_verifier_free(v);

    /* the PCCS has no TCB Info for the FMSPC */
    tu_loopback_control(&pcs, "mode=404&only=tcb");
    memset(&cfg, 0, sizeof(cfg));
    cfg.pccs_url = pcs.url;
    v = new_verifier(&cfg);
    expect_refusal(v, sgx, sgx_size, sgx_at, AECS_E_IO, "collateral",
                   "AECS_COLLATERAL_UNAVAILABLE", &why);
    set_fmspc_upper(SGX_SET, fmspc);
    assert_non_null(strstr(why.message, fmspc));
    assert_non_null(strstr(why.message, "could not be fetched from"));
    assert_non_null(strstr(why.message, pcs.url));
    assert_non_null(strstr(why.message, "404"));
    aecs_verifier_free(v);

    tu_loopback_stop(&pcs);
    free(sgx);
    free(tdx);
    tu_rmtree(tmp);
}

/* ---- configuration errors ---- */

static void test_config(void **state)
{
    struct aecs_verifier_config cfg;
    struct aecs_verifier *v = NULL;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_dir = "/nonexistent/aecs-collateral";
    assert_int_equal(aecs_verifier_new(&cfg, &v), AECS_E_NOT_FOUND);
    assert_null(v);

    memset(&cfg, 0, sizeof(cfg));
    cfg.intel_root_file = "/nonexistent/root.der";
    assert_int_equal(aecs_verifier_new(&cfg, &v), AECS_E_NOT_FOUND);
    assert_non_null(strstr(aecs_err_last()->message, "/nonexistent/root.der"));

    memset(&cfg, 0, sizeof(cfg));
    cfg.kds_url = "http://127.0.0.1:1";
    assert_int_equal(aecs_verifier_new(&cfg, &v), AECS_E_USAGE);

    memset(&cfg, 0, sizeof(cfg));
    cfg.collateral_cache_dir = "/tmp";
    assert_int_equal(aecs_verifier_new(&cfg, &v), AECS_E_USAGE);

    memset(&cfg, 0, sizeof(cfg));
    cfg.pccs_url = "ftp://pccs.example/";
    assert_int_equal(aecs_verifier_new(&cfg, &v), AECS_E_INVALID_ARGUMENT);

    memset(&cfg, 0, sizeof(cfg));
    cfg.snp_collateral_dir = "tests/data/dcap"; /* no VCEK there */
    assert_int_equal(aecs_verifier_new(&cfg, &v), AECS_E_NOT_FOUND);
    assert_null(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dcap_vectors),
        cmocka_unit_test(test_dcap_expired_vector),
        cmocka_unit_test(test_dcap_key_folders),
        cmocka_unit_test(test_missing_collateral),
        cmocka_unit_test(test_expired_collateral),
        cmocka_unit_test(test_tampered_quote),
        cmocka_unit_test(test_unknown_evidence),
        cmocka_unit_test(test_sim),
        cmocka_unit_test(test_sim_tcb),
        cmocka_unit_test(test_snp),
        cmocka_unit_test(test_snp_kds),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_pccs),
        cmocka_unit_test(test_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
