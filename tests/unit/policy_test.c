/*
 * policy_test.c - SecretPolicy parsing, validation, JSON form and matching.
 *
 * Inputs and expected values come from outside the code under test: the
 * seeds' sample policy (tests/data/policy/seeds_sample.yaml, copied from seed
 * 003), measurements from the expected.json of the real DCAP and SNP vectors,
 * and, for synthetic cases, values written out here by hand. Every failure
 * case asserts the error code, the line, the field path and the reason.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "attest/collateral.h"
#include "attest/dcap.h"
#include "attest/snp.h"
#include "base/file.h"
#include "policy/claims.h"
#include "policy/policy.h"
#include "testutil.h"

#define POLICY_DIR "tests/data/policy/"
#define SNP_MILAN "tests/data/snp/snp_milan_virtee/"

/* Values from tests/data/dcap/sgx_v3_dcapqvl/expected.json ("report"). */
#define SGX_MRENCLAVE "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"
#define SGX_MRSIGNER "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6"
/* From tests/data/dcap/tdx_v4_dcapqvl/expected.json. */
#define TDX_MRTD                                                                                   \
    "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b25388731" \
    "18b7"
#define TDX_RTMR0                                                                                  \
    "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9b" \
    "c9c0"
/* From tests/data/snp/snp_milan_virtee/expected.json. */
#define SNP_MEASUREMENT                                                                            \
    "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81" \
    "841f"

/* Hand-written synthetic values. */
#define HEX32_11 "1111111111111111111111111111111111111111111111111111111111111111"
#define HEX32_22 "2222222222222222222222222222222222222222222222222222222222222222"
#define HEX48_33                                                                                   \
    "33333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333" \
    "3333"
#define HEX48_44                                                                                   \
    "44444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444" \
    "4444"
#define HEX64_55                                                                                   \
    "55555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555" \
    "555555555555555555555555555555555555"

/* ---- helpers ---- */

static char *read_text(const char *rel, size_t *size)
{
    char path[512];
    tu_src_path(path, sizeof(path), rel);
    return (char *)tu_read_file(path, size);
}

static int parse(const char *text, unsigned flags, struct aecs_policy **p,
                 struct aecs_policy_error *err)
{
    return aecs_policy_parse(text, strlen(text), "test.yaml", flags, p, err);
}

static struct aecs_policy *parse_ok(const char *text, unsigned flags)
{
    struct aecs_policy *p = NULL;
    struct aecs_policy_error err;
    int rc = parse(text, flags, &p, &err);
    if (rc != AECS_OK) {
        print_error("unexpected parse failure: %s\n", aecs_err_last()->message);
        fail();
    }
    return p;
}

/* Parses text, expecting a failure with this code, line, exact path and a reason containing
 * `reason`. */
static void expect_error(const char *text, unsigned flags, int code, int line, const char *path,
                         const char *reason)
{
    struct aecs_policy *p = (struct aecs_policy *)0x1;
    struct aecs_policy_error err;
    int rc = parse(text, flags, &p, &err);
    char want_prefix[64];

    if (rc != code || err.line != line || strcmp(err.path, path) != 0 ||
        strstr(err.reason, reason) == NULL) {
        print_error("expected [%d] line %d %s: ...%s...\n     got [%d] line %d %s: %s\n", code,
                    line, path, reason, rc, err.line, err.path, err.reason);
        fail();
    }
    assert_null(p);
    /* the recorded error says FILE:LINE: PATH: REASON */
    snprintf(want_prefix, sizeof(want_prefix), "test.yaml:%d: ", line);
    if (line > 0)
        assert_true(strncmp(aecs_err_last()->message, want_prefix, strlen(want_prefix)) == 0);
    if (path[0] != '\0')
        assert_non_null(strstr(aecs_err_last()->message, path));
    assert_non_null(strstr(aecs_err_last()->message, reason));
}

/*
 * A one-secret document whose only rule starts with `first` (line 10) and
 * has `extra` as its next line(s) (line 11).
 */
static const char *rule_doc(char *buf, size_t size, const char *first, const char *extra)
{
    snprintf(buf, size,
             "apiVersion: v1\n"                   /* 1 */
             "kind: SecretPolicy\n"               /* 2 */
             "secrets:\n"                         /* 3 */
             "- spec:\n"                          /* 4 */
             "    name: k1\n"                     /* 5 */
             "    type: SECRET_TYPE_AES256_KEY\n" /* 6 */
             "    service: svc\n"                 /* 7 */
             "    policy:\n"                      /* 8 */
             "      enclaveMatchAnyRules:\n"      /* 9 */
             "      - %s\n"                       /* 10 */
             "        %s\n",                      /* 11 */
             first, extra);
    return buf;
}

#define SGX_FIRST "mrsigner: \"" HEX32_22 "\""
#define TDX_FIRST "mrtd: \"" HEX48_33 "\""
#define SNP_FIRST "measurement: \"" HEX48_44 "\""
#define SNP_TCB "min_tcb: {bootloader: 3, tee: 0, snp: 8, microcode: 115}"
#define RULE0 "secrets[0].spec.policy.enclaveMatchAnyRules[0]"

/* Parses a document of one secret with the given rules (YAML lines under enclaveMatchAnyRules). */
static struct aecs_policy *rules_policy(const char *rules_yaml)
{
    char buf[8192];
    snprintf(buf, sizeof(buf),
             "apiVersion: v1\nkind: SecretPolicy\nsecrets:\n- spec:\n    name: k1\n"
             "    type: SECRET_TYPE_AES256_KEY\n    service: svc\n    policy:\n"
             "      enclaveMatchAnyRules:\n%s",
             rules_yaml);
    return parse_ok(buf, 0);
}

static void claims_sgx(struct aecs_claims *c)
{
    memset(c, 0, sizeof(*c));
    c->platform = AECS_TEE_SGX;
    memset(c->mrenclave, 0x11, 32);
    memset(c->mrsigner, 0x22, 32);
    memset(c->config_id, 0x55, 64);
    c->isvprodid = 7;
    c->isvsvn = 3;
    strcpy(c->tcb_status, "UpToDate");
}

static void claims_tdx(struct aecs_claims *c)
{
    memset(c, 0, sizeof(*c));
    c->platform = AECS_TEE_TDX;
    memset(c->mrtd, 0x33, 48);
    for (int i = 0; i < 4; i++)
        memset(c->rtmr[i], 0x40 + i, 48);
    memset(c->mrconfigid, 0x55, 48);
    memset(c->mrowner, 0x66, 48);
    strcpy(c->tcb_status, "UpToDate");
}

static void claims_snp(struct aecs_claims *c)
{
    memset(c, 0, sizeof(*c));
    c->platform = AECS_TEE_SNP;
    memset(c->measurement, 0x44, 48);
    memset(c->host_data, 0x77, 32);
    c->snp_tcb.bootloader = 3;
    c->snp_tcb.tee = 0;
    c->snp_tcb.snp = 8;
    c->snp_tcb.microcode = 115;
    strcpy(c->snp_product, "Milan");
}

static void expect_allowed(const struct aecs_policy *p, const struct aecs_claims *c,
                           const char *why_expected)
{
    char why[1024];
    int rc = aecs_policy_match(&p->specs[0].rules, c, why, sizeof(why));
    if (rc != AECS_OK || strcmp(why, why_expected) != 0) {
        print_error("expected allowed (%s), got rc %d: %s\n", why_expected, rc, why);
        fail();
    }
}

static void expect_refused(const struct aecs_policy *p, const struct aecs_claims *c,
                           const char *why_expected)
{
    char why[1024];
    int rc = aecs_policy_match(&p->specs[0].rules, c, why, sizeof(why));
    if (rc != AECS_E_MISMATCH || strcmp(why, why_expected) != 0) {
        print_error("expected refused:\n  %s\ngot rc %d:\n  %s\n", why_expected, rc, why);
        fail();
    }
    assert_non_null(strstr(aecs_err_last()->message, why_expected));
}

/* ---- the seeds' sample ---- */

static void test_seeds_sample_refused(void **state)
{
    (void)state;
    size_t size;
    char *text = read_text(POLICY_DIR "seeds_sample.yaml", &size);
    struct aecs_policy *p = (struct aecs_policy *)0x1;
    struct aecs_policy_error err;

    assert_int_equal(aecs_policy_parse(text, size, "service_secret_policy.yaml", 0, &p, &err),
                     AECS_E_FORMAT);
    assert_null(p);
    /* the first rule: "- mrenclave: """ on line 12 of the sample */
    assert_int_equal(err.line, 12);
    assert_string_equal(err.path, RULE0);
    assert_non_null(strstr(err.reason, "names no enclave identity"));
    /* the message says how to fix it */
    assert_non_null(strstr(err.reason, "mrenclave or mrsigner (SGX)"));
    assert_non_null(strstr(err.reason, "--insecure-allow-any-enclave"));
    assert_non_null(strstr(aecs_err_last()->message,
                           "service_secret_policy.yaml:12: " RULE0 ": this rule names no"));
    free(text);
}

static void test_seeds_sample_insecure(void **state)
{
    (void)state;
    size_t size;
    char *text = read_text(POLICY_DIR "seeds_sample.yaml", &size);
    struct aecs_policy *p = NULL;
    struct aecs_policy_error err;

    assert_int_equal(aecs_policy_parse(text, size, "seeds_sample.yaml",
                                       AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE, &p, &err),
                     AECS_OK);
    assert_int_equal(p->count, 3);
    static const char *const names[] = {"data_key_1", "data_key_2", "image_key"};
    for (size_t i = 0; i < 3; i++) {
        const struct aecs_secret_spec *s = &p->specs[i];
        assert_string_equal(s->name, names[i]);
        assert_string_equal(s->service, "service1");
        assert_int_equal(s->readonly, 1);
        assert_int_equal(s->share, AECS_SHARE_PUBLIC);
        assert_int_equal(s->rules.count, 1);
        const struct aecs_policy_rule *r = &s->rules.items[0];
        assert_int_equal(r->insecure_allow_any_enclave, 1);
        assert_int_equal(r->platform, AECS_TEE_UNKNOWN);
        assert_int_equal(r->fields, 0);
        assert_int_equal(r->tcb_statuses, AECS_POLICY_TCB_DEFAULT);
        assert_int_equal(r->allow_debug, 0);
        assert_int_equal(r->allow_sim, 0);
        assert_int_equal(aecs_policy_rule_has_identity(r), 0);
    }
    assert_int_equal(p->specs[0].type, AECS_SECRET_RSA_KEY_PAIR);
    assert_int_equal(p->specs[0].param_count, 2);
    assert_string_equal(p->specs[0].params[0].key, "pkcs_type");
    assert_string_equal(p->specs[0].params[0].value, "pkcs8");
    assert_string_equal(p->specs[0].params[1].key, "bit_length");
    assert_string_equal(p->specs[0].params[1].value, "2048"); /* a YAML int, kept as text */
    assert_null(p->specs[0].data);
    assert_int_equal(p->specs[2].type, AECS_SECRET_IMPORT_DATA);
    assert_int_equal(p->specs[2].param_count, 0);
    assert_string_equal(p->specs[2].data, "48-f1-87-6c-da-13-be-ae-2f-14-f6-78-9e5-15-1d-e1");
    assert_int_equal(p->specs[2].data_size,
                     strlen("48-f1-87-6c-da-13-be-ae-2f-14-f6-78-9e5-15-1d-e1"));

    /* an insecure rule still refuses debug enclaves and OutOfDate platforms */
    struct aecs_claims c;
    claims_sgx(&c);
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");
    claims_snp(&c);
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");
    claims_sgx(&c);
    c.debug = 1;
    expect_refused(p, &c, "enclaveMatchAnyRules[0]: debug enclave refused");
    claims_tdx(&c);
    strcpy(c.tcb_status, "OutOfDate");
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: TCB status OutOfDate is not accepted (accepted: "
                   "UpToDate, SWHardeningNeeded)");
    aecs_policy_free(p);
    free(text);
}

static void test_seeds_sample_fixed(void **state)
{
    (void)state;
    struct aecs_policy *p = NULL;
    struct aecs_policy_error err;
    char path[512];
    uint8_t want[32];

    tu_src_path(path, sizeof(path), POLICY_DIR "seeds_sample_fixed.yaml");
    assert_int_equal(aecs_policy_load(path, 0, &p, &err), AECS_OK);
    assert_int_equal(p->count, 3);
    const struct aecs_policy_rule *r = &p->specs[0].rules.items[0];
    assert_int_equal(r->platform, AECS_TEE_SGX);
    assert_int_equal(r->fields, AECS_RULE_MRENCLAVE | AECS_RULE_MRSIGNER | AECS_RULE_PRODID);
    tu_hex(SGX_MRENCLAVE, want, 32);
    assert_memory_equal(r->mrenclave, want, 32);
    tu_hex(SGX_MRSIGNER, want, 32);
    assert_memory_equal(r->mrsigner, want, 32);
    assert_int_equal(r->prodid, 0);
    assert_int_equal(r->min_isvsvn, 0);
    /* upper-case hex in data_key_2 is the same value */
    assert_int_equal(p->specs[1].rules.items[0].fields, AECS_RULE_MRSIGNER | AECS_RULE_PRODID);
    assert_memory_equal(p->specs[1].rules.items[0].mrsigner, want, 32);
    assert_int_equal(aecs_policy_rule_has_identity(&p->specs[2].rules.items[0]), 1);
    aecs_policy_free(p);
}

static void test_load_missing_file(void **state)
{
    (void)state;
    struct aecs_policy *p = (struct aecs_policy *)0x1;
    struct aecs_policy_error err;

    assert_int_equal(aecs_policy_load("/nonexistent/aecs/policy.yaml", 0, &p, &err),
                     AECS_E_NOT_FOUND);
    assert_null(p);
    assert_int_equal(err.line, 0);
}

/* ---- accepted forms ---- */

static void test_value_forms(void **state)
{
    (void)state;
    char buf[4096];
    struct aecs_policy *p;

    /* numbers as YAML ints or quoted strings; booleans with or without quotes */
    p = parse_ok(rule_doc(buf, sizeof(buf), "mrenclave: " HEX32_11,
                          "prodID: 7\n"
                          "        minIsvSvn: \"3\"\n"
                          "        allow_debug: \"true\"\n"
                          "        allow_sim: TRUE"),
                 0);
    const struct aecs_policy_rule *r = &p->specs[0].rules.items[0];
    assert_int_equal(r->prodid, 7);
    assert_int_equal(r->min_isvsvn, 3);
    assert_int_equal(r->allow_debug, 1);
    assert_int_equal(r->allow_sim, 1);
    assert_int_equal(p->specs[0].readonly, 0);               /* default */
    assert_int_equal(p->specs[0].share, AECS_SHARE_PRIVATE); /* default */
    aecs_policy_free(p);

    /* upper-case hex is normalized; an empty value (the seeds' "") is "not set" */
    p = parse_ok(rule_doc(buf, sizeof(buf),
                          "mrenclave: \"ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEF"
                          "ABCDEFABCDEFABCDEFABCD\"",
                          "mrsigner: \"\"\n        prodID:\n        minIsvSvn: ~"),
                 0);
    r = &p->specs[0].rules.items[0];
    assert_int_equal(r->fields, AECS_RULE_MRENCLAVE);
    assert_int_equal(r->mrenclave[0], 0xAB);
    assert_int_equal(r->mrenclave[31], 0xCD);
    aecs_policy_free(p);

    /* flow style and readonly: false, share: private */
    p = parse_ok("{apiVersion: v1, kind: SecretPolicy, secrets: [{spec: {name: a.b-c_d, type: "
                 "SECRET_TYPE_HMAC_KEY, service: s, readonly: false, share: private, policy: "
                 "{enclaveMatchAnyRules: [{mrsigner: " HEX32_22 "}]}}}]}",
                 0);
    assert_string_equal(p->specs[0].name, "a.b-c_d");
    assert_int_equal(p->specs[0].type, AECS_SECRET_HMAC_KEY);
    aecs_policy_free(p);
}

static void test_every_type(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum aecs_secret_type type;
    } types[] = {
        {"SECRET_TYPE_AES256_KEY", AECS_SECRET_AES256_KEY},
        {"SECRET_TYPE_RSA_KEY_PAIR", AECS_SECRET_RSA_KEY_PAIR},
        {"SECRET_TYPE_SM2_KEY_PAIR", AECS_SECRET_SM2_KEY_PAIR},
        {"SECRET_TYPE_CERTIFICATE", AECS_SECRET_CERTIFICATE},
        {"SECRET_TYPE_IMPORT_DATA", AECS_SECRET_IMPORT_DATA},
        {"SECRET_TYPE_CONFIGURATIONS", AECS_SECRET_CONFIGURATIONS},
        {"SECRET_TYPE_EC_KEY_PAIR", AECS_SECRET_EC_KEY_PAIR},
        {"SECRET_TYPE_ED25519_KEY_PAIR", AECS_SECRET_ED25519_KEY_PAIR},
        {"SECRET_TYPE_HMAC_KEY", AECS_SECRET_HMAC_KEY},
    };
    char buf[2048];

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        int import = types[i].type == AECS_SECRET_IMPORT_DATA;
        snprintf(buf, sizeof(buf),
                 "apiVersion: v1\nkind: SecretPolicy\nsecrets:\n- spec:\n    name: s%zu\n"
                 "    type: %s\n    service: svc\n    policy:\n      enclaveMatchAnyRules:\n"
                 "      - mrsigner: " HEX32_22 "\n    params:\n    - {key: k, value: v}\n%s",
                 i, types[i].name, import ? "  data: imported\n" : "");
        struct aecs_policy *p = parse_ok(buf, 0);
        assert_int_equal(p->specs[0].type, types[i].type);
        assert_string_equal(aecs_secret_type_name(types[i].type), types[i].name);
        enum aecs_secret_type parsed = AECS_SECRET_TYPE_UNKNOWN;
        assert_int_equal(aecs_secret_type_parse(types[i].name, &parsed), AECS_OK);
        assert_int_equal(parsed, types[i].type);
        aecs_policy_free(p);
    }
    enum aecs_secret_type parsed = AECS_SECRET_TYPE_UNKNOWN;
    assert_int_not_equal(aecs_secret_type_parse("SECRET_TYPE_aes256_KEY", &parsed), AECS_OK);
}

/* ---- rule field validation ---- */

struct field_case {
    const char *first; /* line 10 */
    const char *extra; /* line 11 */
    int line;
    const char *path;
    const char *reason;
};

static void test_rule_field_errors(void **state)
{
    (void)state;
    static const struct field_case cases[] = {
        /* SGX */
        {SGX_FIRST, "mrenclave: \"abcd\"", 11, RULE0 ".mrenclave",
         "must be 64 hex digits (got 4 characters)"},
        {SGX_FIRST, "mrenclave: \"" HEX32_11 "1\"", 11, RULE0 ".mrenclave",
         "must be 64 hex digits (got 65 characters)"},
        {SGX_FIRST,
         "mrenclave: \"g111111111111111111111111111111111111111111111111111111111111111\"", 11,
         RULE0 ".mrenclave", "must be 64 hex digits (character 1 is not one)"},
        {"mrenclave: \"0x" HEX32_11 "\"", "prodID: 1", 10, RULE0 ".mrenclave",
         "must be 64 hex digits (got 66 characters)"},
        {"mrsigner: 12ab", "prodID: 1", 10, RULE0 ".mrsigner", "must be 64 hex digits"},
        {SGX_FIRST, "config_id: \"" HEX32_11 "\"", 11, RULE0 ".config_id",
         "must be 128 hex digits (got 64 characters)"},
        {SGX_FIRST, "mrsigner: \"" HEX32_11 "\"", 11, RULE0 ".mrsigner",
         "duplicate key (first at line 10)"},
        {SGX_FIRST, "prodID: 65536", 11, RULE0 ".prodID", "must be a whole number from 0 to 65535"},
        {SGX_FIRST, "prodID: \"-1\"", 11, RULE0 ".prodID",
         "must be a whole number from 0 to 65535"},
        {SGX_FIRST, "prodID: 1.5", 11, RULE0 ".prodID", "must be a whole number"},
        {SGX_FIRST, "minIsvSvn: \"01\"", 11, RULE0 ".minIsvSvn", "must be a whole number"},
        {SGX_FIRST, "minIsvSvn: 0x10", 11, RULE0 ".minIsvSvn", "must be a whole number"},
        {SGX_FIRST, "minIsvSvn: [1]", 11, RULE0 ".minIsvSvn", "must be a single value, not a list"},
        {SGX_FIRST, "minIsvSvn: {a: 1}", 11, RULE0 ".minIsvSvn",
         "must be a single value, not a mapping"},
        {SGX_FIRST, "spid: \"00112233\"", 11, RULE0 ".spid",
         "must be empty: EPID is not supported"},
        {SGX_FIRST, "user_data: \"abc\"", 11, RULE0 ".user_data",
         "must be empty: aecs binds report data to its own challenge"},
        {SGX_FIRST, "debug_disabled: \"false\"", 11, RULE0 ".debug_disabled",
         "write allow_debug: true to accept them"},
        {SGX_FIRST, "debug_disabled: \"maybe\"", 11, RULE0 ".debug_disabled",
         "must be true or false"},
        {SGX_FIRST, "allow_debug: yes", 11, RULE0 ".allow_debug", "must be true or false"},
        {SGX_FIRST, "allow_sim: 1", 11, RULE0 ".allow_sim", "must be true or false"},
        /* platform */
        {SGX_FIRST, "platform: sev", 11, RULE0 ".platform", "must be sgx, tdx or snp"},
        {SGX_FIRST, "platform: SGX", 11, RULE0 ".platform", "must be sgx, tdx or snp"},
        {SGX_FIRST, "platform: tdx", 10, RULE0 ".mrsigner",
         "a sgx field in a rule for platform tdx"},
        {SGX_FIRST, "mrtd: \"" HEX48_33 "\"", 11, RULE0 ".mrtd",
         "a tdx field in a rule with sgx fields: write one rule per platform"},
        {SGX_FIRST, SNP_TCB, 11, RULE0 ".min_tcb", "a snp field in a rule with sgx fields"},
        {TDX_FIRST, "minIsvSvn: 2", 11, RULE0 ".minIsvSvn",
         "a sgx field in a rule with tdx fields"},
        /* TCB statuses and advisories */
        {SGX_FIRST, "accepted_tcb_statuses: [Revoked]", 11, RULE0 ".accepted_tcb_statuses[0]",
         "Revoked is never accepted"},
        {SGX_FIRST, "accepted_tcb_statuses: [UpToDate, Uptodate]", 11,
         RULE0 ".accepted_tcb_statuses[1]", "unknown TCB status \"Uptodate\" (known: UpToDate"},
        {SGX_FIRST, "accepted_tcb_statuses: [UpToDate, UpToDate]", 11,
         RULE0 ".accepted_tcb_statuses[1]", "UpToDate is listed twice"},
        {SGX_FIRST, "accepted_tcb_statuses: []", 11, RULE0 ".accepted_tcb_statuses",
         "must not be an empty list"},
        {SGX_FIRST, "accepted_tcb_statuses: UpToDate", 11, RULE0 ".accepted_tcb_statuses",
         "must be a list, not a single value"},
        {SGX_FIRST, "accepted_tcb_statuses: [[UpToDate]]", 11, RULE0 ".accepted_tcb_statuses[0]",
         "must be a single value, not a list"},
        {SGX_FIRST, "accepted_advisories: [\"INTEL SA 00615\"]", 11,
         RULE0 ".accepted_advisories[0]", "must be an advisory ID such as INTEL-SA-00615"},
        {SGX_FIRST, "accepted_advisories: [INTEL-SA-00615, intel-sa-00615]", 11,
         RULE0 ".accepted_advisories[1]", "INTEL-SA-00615 is listed twice"},
        /* unknown keys: typos are errors */
        {SGX_FIRST, "mrEnclave: \"" HEX32_11 "\"", 11, RULE0 ".mrEnclave",
         "unknown key (did you mean mrenclave?)"},
        {SGX_FIRST, "min_isv_svn: 1", 11, RULE0 ".min_isv_svn",
         "unknown key (did you mean minIsvSvn?)"},
        {SGX_FIRST, "mrsigner_hash: 1", 11, RULE0 ".mrsigner_hash",
         "unknown key (docs/policy.md lists the keys of this section)"},
        {SGX_FIRST, "insecure_allow_any_enclave: true", 11, RULE0 ".insecure_allow_any_enclave",
         "not a policy file key: pass --insecure-allow-any-enclave"},
        /* TDX */
        {TDX_FIRST, "rtmr0: \"" HEX32_11 "\"", 11, RULE0 ".rtmr0", "must be 96 hex digits"},
        {TDX_FIRST, "rtmr3: \"" HEX48_33 "0\"", 11, RULE0 ".rtmr3",
         "must be 96 hex digits (got 97 characters)"},
        {TDX_FIRST, "mrconfigid: \"zz\"", 11, RULE0 ".mrconfigid", "must be 96 hex digits"},
        {TDX_FIRST, "mrowner: \"" HEX32_11 "\"", 11, RULE0 ".mrowner", "must be 96 hex digits"},
        {"mrtd: \"" HEX32_11 "\"", "platform: tdx", 10, RULE0 ".mrtd", "must be 96 hex digits"},
        {"rtmr1: \"" HEX48_33 "\"", "platform: tdx", 10, RULE0,
         "names no enclave identity, so any enclave would get the secret: set mrtd"},
        /* SNP */
        {SNP_FIRST, "host_data: \"" HEX48_33 "\"", 11, RULE0 ".host_data",
         "must be 64 hex digits (got 96 characters)"},
        {"measurement: \"" HEX32_11 "\"", SNP_TCB, 10, RULE0 ".measurement",
         "must be 96 hex digits"},
        {SNP_FIRST, "min_tcb: {bootloader: 3, tee: 0, snp: 8}", 11, RULE0 ".min_tcb.microcode",
         "required (min_tcb needs bootloader, tee, snp and microcode"},
        {SNP_FIRST, "min_tcb: {bootloader: 256, tee: 0, snp: 8, microcode: 1}", 11,
         RULE0 ".min_tcb.bootloader", "must be a whole number from 0 to 255"},
        {SNP_FIRST, "min_tcb: {bootloader: 1, tee: 0, snp: 8, microcode: 1, fw: 2}", 11,
         RULE0 ".min_tcb.fw",
         "unknown key (known keys here: bootloader, tee, snp, microcode, fmc)"},
        {SNP_FIRST, "min_tcb: 115", 11, RULE0 ".min_tcb", "must be a mapping, not a single value"},
        {SNP_FIRST, "platform: snp", 10, RULE0 ".min_tcb",
         "required for platform snp: SEV-SNP reports carry no TCB status"},
        {SNP_FIRST, SNP_TCB "\n        accepted_tcb_statuses: [UpToDate]", 12,
         RULE0 ".accepted_tcb_statuses", "not applicable to snp"},
        {SNP_FIRST, SNP_TCB "\n        accepted_advisories: [INTEL-SA-00615]", 12,
         RULE0 ".accepted_advisories", "not applicable to snp"},
        {"host_data: \"" HEX32_11 "\"", SNP_TCB, 10, RULE0,
         "names no enclave identity, so any enclave would get the secret: set measurement"},
        /* no identity */
        {"prodID: 1", "minIsvSvn: 2", 10, RULE0,
         "set mrenclave or mrsigner (prodID and minIsvSvn alone do not name an enclave)"},
        {"debug_disabled: \"true\"", "allow_sim: false", 10, RULE0,
         "set mrenclave or mrsigner (SGX), mrtd (TDX) or measurement (SNP)"},
        /* debug */
        {SGX_FIRST, "debug_disabled: \"true\"\n        allow_debug: true", 12, RULE0 ".allow_debug",
         "contradicts debug_disabled"},
    };
    char buf[4096];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct field_case *c = &cases[i];
        print_message("case %zu: %s\n", i, c->path);
        expect_error(rule_doc(buf, sizeof(buf), c->first, c->extra), 0, AECS_E_FORMAT, c->line,
                     c->path, c->reason);
    }
}

/* ---- spec and document validation ---- */

struct doc_case {
    const char *text;
    int code;
    int line;
    const char *path;
    const char *reason;
};

#define HEAD "apiVersion: v1\nkind: SecretPolicy\nsecrets:\n" /* lines 1-3 */
#define RULES "    policy:\n      enclaveMatchAnyRules:\n      - mrsigner: " HEX32_22 "\n"

static void test_document_errors(void **state)
{
    (void)state;
    static const struct doc_case cases[] = {
        /* spec fields */
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES128_KEY\n    service: s\n" RULES,
         AECS_E_FORMAT, 6, "secrets[0].spec.type",
         "unknown secret type \"SECRET_TYPE_AES128_KEY\" (known: SECRET_TYPE_AES256_KEY"},
        {HEAD "- spec:\n    name: k1\n    service: s\n" RULES, AECS_E_FORMAT, 5,
         "secrets[0].spec.type", "required"},
        {HEAD "- spec:\n    name: \"bad name\"\n    type: SECRET_TYPE_AES256_KEY\n    service: "
              "s\n" RULES,
         AECS_E_FORMAT, 5, "secrets[0].spec.name",
         "must be 1 to 64 characters from A-Z a-z 0-9 . _ - (got \"bad name\")"},
        {HEAD "- spec:\n    name: "
              "k1234567890123456789012345678901234567890123456789012345678901234\n"
              "    type: SECRET_TYPE_AES256_KEY\n    service: s\n" RULES,
         AECS_E_FORMAT, 5, "secrets[0].spec.name", "must be 1 to 64 characters"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: \"\"\n" RULES,
         AECS_E_FORMAT, 7, "secrets[0].spec.service", "required"},
        {HEAD
         "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: ../etc\n" RULES,
         AECS_E_FORMAT, 7, "secrets[0].spec.service", "must be 1 to 64 characters"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n"
              "    share: shared\n" RULES,
         AECS_E_FORMAT, 8, "secrets[0].spec.share", "must be private or public"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n"
              "    readonly: \"yes\"\n" RULES,
         AECS_E_FORMAT, 8, "secrets[0].spec.readonly", "must be true or false"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n"
              "    readOnly: true\n" RULES,
         AECS_E_FORMAT, 8, "secrets[0].spec.readOnly", "unknown key (did you mean readonly?)"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n",
         AECS_E_FORMAT, 5, "secrets[0].spec.policy", "required: a secret without a policy"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n"
              "    policy:\n      enclaveMatchAnyRules: []\n",
         AECS_E_FORMAT, 9, "secrets[0].spec.policy.enclaveMatchAnyRules",
         "must hold at least one rule"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n"
              "    policy:\n      enclaveMatchAllRules: []\n",
         AECS_E_FORMAT, 9, "secrets[0].spec.policy.enclaveMatchAllRules",
         "unknown key (known keys here: enclaveMatchAnyRules)"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n"
              "    policy:\n      enclaveMatchAnyRules:\n        mrsigner: " HEX32_22 "\n",
         AECS_E_FORMAT, 10, "secrets[0].spec.policy.enclaveMatchAnyRules",
         "must be a list, not a mapping"},
        /* params */
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_RSA_KEY_PAIR\n    service: s\n" RULES
              "    params:\n    - key: bit_length\n",
         AECS_E_FORMAT, 12, "secrets[0].spec.params[0].value", "required (write \"\" for an empty"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_RSA_KEY_PAIR\n    service: s\n" RULES
              "    params:\n    - key: bit_length\n      value: 2048\n      comment: x\n",
         AECS_E_FORMAT, 14, "secrets[0].spec.params[0].comment",
         "unknown key (known keys here: key, value)"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_RSA_KEY_PAIR\n    service: s\n" RULES
              "    params:\n    - {key: a, value: 1}\n    - {key: a, value: 2}\n",
         AECS_E_FORMAT, 13, "secrets[0].spec.params[1].key",
         "duplicate param a (first in params[0])"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_RSA_KEY_PAIR\n    service: s\n" RULES
              "    params:\n      bit_length: 2048\n",
         AECS_E_FORMAT, 12, "secrets[0].spec.params", "must be a list, not a mapping"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_RSA_KEY_PAIR\n    service: s\n" RULES
              "    params:\n    - {key: \"bit length\", value: 1}\n",
         AECS_E_FORMAT, 12, "secrets[0].spec.params[0].key", "must be 1 to 64 characters"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_RSA_KEY_PAIR\n    service: s\n" RULES
              "    params:\n    - {key: a, value: [1, 2]}\n",
         AECS_E_FORMAT, 12, "secrets[0].spec.params[0].value",
         "must be a single value, not a list"},
        /* data */
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n" RULES
              "  data: \"top secret\"\n",
         AECS_E_FORMAT, 11, "secrets[0].data", "only a SECRET_TYPE_IMPORT_DATA secret has data"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_IMPORT_DATA\n    service: s\n" RULES,
         AECS_E_FORMAT, 5, "secrets[0].data", "required for SECRET_TYPE_IMPORT_DATA"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_IMPORT_DATA\n    service: s\n" RULES
              "  data: {a: b}\n",
         AECS_E_FORMAT, 11, "secrets[0].data", "must be a single value, not a mapping"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n" RULES
              "    data: x\n",
         AECS_E_FORMAT, 11, "secrets[0].spec.data", "unknown key"},
        /* the document */
        {"apiVersion: v2\nkind: SecretPolicy\nsecrets: []\n", AECS_E_FORMAT, 1, "apiVersion",
         "must be v1"},
        {"kind: SecretPolicy\nsecrets: []\n", AECS_E_FORMAT, 1, "apiVersion",
         "required (apiVersion: v1)"},
        {"apiVersion: v1\nkind: Secret\nsecrets: []\n", AECS_E_FORMAT, 2, "kind",
         "must be SecretPolicy"},
        {"apiVersion: v1\nkind: SecretPolicy\n", AECS_E_FORMAT, 1, "secrets", "required"},
        {"apiVersion: v1\nkind: SecretPolicy\nsecrets: []\n", AECS_E_FORMAT, 3, "secrets",
         "must hold at least one secret"},
        {"apiVersion: v1\nkind: SecretPolicy\nmetadata: {}\nsecrets: []\n", AECS_E_FORMAT, 3,
         "metadata", "unknown key (known keys here: apiVersion, kind, secrets)"},
        {HEAD "- name: k1\n", AECS_E_FORMAT, 4, "secrets[0].name",
         "unknown key (known keys here: spec, data)"},
        {HEAD "- spec:\n", AECS_E_FORMAT, 4, "secrets[0].spec", "required"},
        {HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n" RULES
              "- spec:\n    name: k1\n    type: SECRET_TYPE_HMAC_KEY\n    service: s\n" RULES,
         AECS_E_FORMAT, 12, "secrets[1].spec.name",
         "duplicate secret name k1 (also secrets[0], line 5)"},
        {"- a\n- b\n", AECS_E_FORMAT, 1, "", "must be a mapping, not a list"},
        {"", AECS_E_FORMAT, 0, "", "empty document"},
        {"# only a comment\n", AECS_E_FORMAT, 0, "", "empty document"},
        {"apiVersion: v1\nkind: SecretPolicy\nsecrets: [\n", AECS_E_FORMAT, 4, "",
         "YAML: while parsing a flow node: did not find expected node content"},
        {"apiVersion: v1\n  kind: x\n", AECS_E_FORMAT, 2, "", "YAML: "},
        {"apiVersion: v1\n---\napiVersion: v1\n", AECS_E_FORMAT, 3, "",
         "more than one YAML document"},
        {"apiVersion: &v v1\nkind: *v\n", AECS_E_FORMAT, 1, "",
         "used again through a YAML alias (*name); aliases are not supported"},
        {"apiVersion: !custom v1\n", AECS_E_FORMAT, 1, "", "unsupported YAML tag !custom"},
        {"apiVersion: !!binary djE=\n", AECS_E_FORMAT, 1, "",
         "unsupported YAML tag tag:yaml.org,2002:binary"},
        {"apiVersion: \"v\\0\"\n", AECS_E_FORMAT, 1, "", "a value holds a NUL byte"},
        {"? [a]\n: b\n", AECS_E_FORMAT, 1, "", "a key must be a non-empty name, not a list"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct doc_case *c = &cases[i];
        print_message("case %zu: %s\n", i, c->path);
        expect_error(c->text, 0, c->code, c->line, c->path, c->reason);
    }
}

static void test_limits(void **state)
{
    (void)state;
    struct aecs_policy *p = NULL;
    struct aecs_policy_error err;
    size_t big = AECS_POLICY_MAX_SIZE + 1;
    char *text = malloc(big + 1);

    /* too large */
    assert_non_null(text);
    memset(text, '#', big);
    text[big] = '\0';
    assert_int_equal(aecs_policy_parse(text, big, "big.yaml", 0, &p, &err), AECS_E_TOO_LARGE);
    assert_null(p);

    /* nested too deep */
    size_t n = 0;
    n += (size_t)sprintf(text + n, "apiVersion: ");
    for (int i = 0; i < 40; i++)
        text[n++] = '[';
    for (int i = 0; i < 40; i++)
        text[n++] = ']';
    text[n++] = '\n';
    text[n] = '\0';
    assert_int_equal(aecs_policy_parse(text, n, "deep.yaml", 0, &p, &err), AECS_E_FORMAT);
    assert_non_null(strstr(err.reason, "nested more than 32 levels deep"));

    /* too many rules: 17 */
    n = (size_t)sprintf(text, HEAD "- spec:\n    name: k\n    type: SECRET_TYPE_AES256_KEY\n"
                                   "    service: s\n    policy:\n      enclaveMatchAnyRules:\n");
    for (int i = 0; i < 17; i++)
        n += (size_t)sprintf(text + n, "      - mrsigner: " HEX32_22 "\n");
    expect_error(text, 0, AECS_E_FORMAT, 10, "secrets[0].spec.policy.enclaveMatchAnyRules",
                 "more than 16 rules");

    /* data larger than 64 KiB */
    n = (size_t)sprintf(text, HEAD "- spec:\n    name: k\n    type: SECRET_TYPE_IMPORT_DATA\n"
                                   "    service: s\n" RULES "  data: \"");
    memset(text + n, 'x', AECS_POLICY_VALUE_MAX + 1);
    n += AECS_POLICY_VALUE_MAX + 1;
    n += (size_t)sprintf(text + n, "\"\n");
    expect_error(text, 0, AECS_E_FORMAT, 11, "secrets[0].data", "longer than 65536 bytes");
    free(text);
}

/* Secrets never appear in messages: neither data nor param values. */
static void test_errors_hide_secrets(void **state)
{
    (void)state;
    expect_error(HEAD
                 "- spec:\n    name: k1\n    type: SECRET_TYPE_AES256_KEY\n    service: s\n" RULES
                 "  data: \"hunter2-secret\"\n",
                 0, AECS_E_FORMAT, 11, "secrets[0].data", "only a SECRET_TYPE_IMPORT_DATA");
    assert_null(strstr(aecs_err_last()->message, "hunter2"));
    expect_error(
        HEAD "- spec:\n    name: k1\n    type: SECRET_TYPE_CONFIGURATIONS\n    service: s\n" RULES
             "    params:\n    - {key: pw, value: [\"hunter2-secret\"]}\n",
        0, AECS_E_FORMAT, 12, "secrets[0].spec.params[0].value", "must be a single value");
    assert_null(strstr(aecs_err_last()->message, "hunter2"));
}

/* ---- matching: SGX ---- */

static void test_match_sgx(void **state)
{
    (void)state;
    struct aecs_claims c;
    struct aecs_policy *p = rules_policy("      - mrenclave: " HEX32_11 "\n"
                                         "        mrsigner: " HEX32_22 "\n"
                                         "        prodID: 7\n"
                                         "        minIsvSvn: 3\n"
                                         "        config_id: " HEX64_55 "\n");

    claims_sgx(&c);
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");

    claims_sgx(&c);
    memset(c.mrenclave, 0xcd, 32);
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: mrenclave does not match: expected "
                   "1111111111111111.., got cdcdcdcdcdcdcdcd..");
    claims_sgx(&c);
    c.mrsigner[31] = 0x23;
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: mrsigner does not match: expected "
                   "2222222222222222.., got 2222222222222222..");
    claims_sgx(&c);
    c.isvprodid = 8;
    expect_refused(p, &c, "enclaveMatchAnyRules[0]: prodID does not match: expected 7, got 8");
    claims_sgx(&c);
    c.config_id[0] = 0;
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: config_id does not match: expected "
                   "5555555555555555.., got 0055555555555555..");

    /* minIsvSvn is a minimum: 2 < 3 refused, 3 and 4 allowed */
    claims_sgx(&c);
    c.isvsvn = 2;
    expect_refused(p, &c, "enclaveMatchAnyRules[0]: isvsvn 2 is below the minimum 3");
    c.isvsvn = 3;
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");
    c.isvsvn = 4;
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");

    /* every reason of a rule at once */
    claims_sgx(&c);
    memset(c.mrenclave, 0, 32);
    c.isvsvn = 0;
    c.debug = 1;
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: mrenclave does not match: expected "
                   "1111111111111111.., got 0000000000000000..; isvsvn 0 is below the minimum "
                   "3; debug enclave refused");
    aecs_policy_free(p);
}

static void test_match_debug_and_sim(void **state)
{
    (void)state;
    struct aecs_claims c;
    struct aecs_policy *strict = rules_policy("      - mrsigner: " HEX32_22 "\n"
                                              "        debug_disabled: \"true\"\n");
    struct aecs_policy *lax = rules_policy("      - mrsigner: " HEX32_22 "\n"
                                           "        allow_debug: true\n"
                                           "        allow_sim: true\n");

    claims_sgx(&c);
    c.debug = 1;
    expect_refused(strict, &c, "enclaveMatchAnyRules[0]: debug enclave refused");
    expect_allowed(lax, &c, "allowed by enclaveMatchAnyRules[0]");
    claims_sgx(&c);
    c.sim = 1;
    expect_refused(strict, &c,
                   "enclaveMatchAnyRules[0]: simulated TEE refused (the evidence chains to an "
                   "aecs sim root; allow_sim: true accepts it, for tests only)");
    expect_allowed(lax, &c, "allowed by enclaveMatchAnyRules[0]");
    aecs_policy_free(strict);
    aecs_policy_free(lax);
}

static void test_match_tcb_status(void **state)
{
    (void)state;
    struct aecs_claims c;
    struct aecs_policy *def = rules_policy("      - mrsigner: " HEX32_22 "\n");
    struct aecs_policy *old = rules_policy("      - mrsigner: " HEX32_22 "\n"
                                           "        accepted_tcb_statuses: [UpToDate, "
                                           "OutOfDate]\n");

    assert_int_equal(def->specs[0].rules.items[0].tcb_statuses,
                     AECS_POLICY_TCB_UP_TO_DATE | AECS_POLICY_TCB_SW_HARDENING_NEEDED);
    claims_sgx(&c);
    strcpy(c.tcb_status, "SWHardeningNeeded"); /* no advisories */
    expect_allowed(def, &c, "allowed by enclaveMatchAnyRules[0]");
    strcpy(c.tcb_status, "OutOfDate");
    expect_refused(def, &c,
                   "enclaveMatchAnyRules[0]: TCB status OutOfDate is not accepted (accepted: "
                   "UpToDate, SWHardeningNeeded)");
    expect_allowed(old, &c, "allowed by enclaveMatchAnyRules[0]");
    strcpy(c.tcb_status, "SWHardeningNeeded");
    expect_refused(old, &c,
                   "enclaveMatchAnyRules[0]: TCB status SWHardeningNeeded is not accepted "
                   "(accepted: UpToDate, OutOfDate)");
    strcpy(c.tcb_status, "ConfigurationNeeded");
    expect_refused(def, &c,
                   "enclaveMatchAnyRules[0]: TCB status ConfigurationNeeded is not accepted "
                   "(accepted: UpToDate, SWHardeningNeeded)");
    /* Revoked and unknown statuses are never accepted */
    strcpy(c.tcb_status, "Revoked");
    expect_refused(old, &c,
                   "enclaveMatchAnyRules[0]: TCB status Revoked is not accepted (accepted: "
                   "UpToDate, OutOfDate)");
    c.tcb_status[0] = '\0';
    expect_refused(def, &c, "enclaveMatchAnyRules[0]: the verdict has no TCB status");
    aecs_policy_free(def);
    aecs_policy_free(old);
}

static void test_match_advisories(void **state)
{
    (void)state;
    struct aecs_claims c;
    struct aecs_policy *none = rules_policy("      - mrsigner: " HEX32_22 "\n");
    struct aecs_policy *some = rules_policy("      - mrsigner: " HEX32_22 "\n"
                                            "        accepted_advisories: [intel-sa-00615]\n");
    struct aecs_policy *all = rules_policy("      - mrsigner: " HEX32_22 "\n"
                                           "        accepted_advisories: [INTEL-SA-00615, "
                                           "INTEL-SA-00334]\n");

    assert_string_equal(some->specs[0].rules.items[0].advisories[0], "INTEL-SA-00615");
    claims_sgx(&c);
    strcpy(c.tcb_status, "SWHardeningNeeded");
    c.advisory_count = 2;
    strcpy(c.advisories[0], "INTEL-SA-00334");
    strcpy(c.advisories[1], "INTEL-SA-00615");
    expect_refused(none, &c,
                   "enclaveMatchAnyRules[0]: advisories not accepted for TCB status "
                   "SWHardeningNeeded: INTEL-SA-00334, INTEL-SA-00615 (accepted_advisories: "
                   "none)");
    expect_refused(some, &c,
                   "enclaveMatchAnyRules[0]: advisories not accepted for TCB status "
                   "SWHardeningNeeded: INTEL-SA-00334 (accepted_advisories: INTEL-SA-00615)");
    expect_allowed(all, &c, "allowed by enclaveMatchAnyRules[0]");
    /* an UpToDate verdict is not held to the advisory list */
    strcpy(c.tcb_status, "UpToDate");
    expect_allowed(none, &c, "allowed by enclaveMatchAnyRules[0]");
    aecs_policy_free(none);
    aecs_policy_free(some);
    aecs_policy_free(all);
}

static void test_match_platform_and_rules(void **state)
{
    (void)state;
    struct aecs_claims c;
    struct aecs_policy *p = rules_policy("      - mrenclave: " HEX32_11 "\n"
                                         "      - platform: tdx\n"
                                         "        mrtd: " HEX48_33 "\n");

    assert_int_equal(p->specs[0].rules.items[0].platform, AECS_TEE_SGX);
    assert_int_equal(p->specs[0].rules.items[1].platform, AECS_TEE_TDX);
    claims_sgx(&c);
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");
    claims_tdx(&c);
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[1]");
    claims_snp(&c);
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: platform snp does not match rule platform sgx | "
                   "enclaveMatchAnyRules[1]: platform snp does not match rule platform tdx");
    claims_tdx(&c);
    c.mrtd[47] = 0;
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: platform tdx does not match rule platform sgx | "
                   "enclaveMatchAnyRules[1]: mrtd does not match: expected 3333333333333333.., "
                   "got 3333333333333333..");
    /* claims without a known platform are refused */
    claims_sgx(&c);
    c.platform = AECS_TEE_UNKNOWN;
    char why[256];
    assert_int_equal(aecs_policy_match(&p->specs[0].rules, &c, why, sizeof(why)), AECS_E_MISMATCH);
    assert_string_equal(why, "the claims name no known platform");
    /* no rules, no claims */
    struct aecs_policy_rules empty = {0};
    claims_sgx(&c);
    assert_int_equal(aecs_policy_match(&empty, &c, why, sizeof(why)), AECS_E_INVALID_ARGUMENT);
    assert_string_equal(why, "the secret has no policy rules");
    assert_int_equal(aecs_policy_match(&p->specs[0].rules, NULL, why, sizeof(why)),
                     AECS_E_INVALID_ARGUMENT);
    /* why may be NULL; a short buffer is cut with "..." */
    assert_int_equal(aecs_policy_match(&p->specs[0].rules, &c, NULL, 0), AECS_OK);
    claims_snp(&c);
    char tiny[16];
    assert_int_equal(aecs_policy_match(&p->specs[0].rules, &c, tiny, sizeof(tiny)),
                     AECS_E_MISMATCH);
    assert_string_equal(tiny, "enclaveMatch...");
    aecs_policy_free(p);
}

/* A rule struct made by code (not the parser) without identity is refused at match time too. */
static void test_match_identity_guard(void **state)
{
    (void)state;
    struct aecs_policy_rule rule;
    struct aecs_policy_rules rules = {.count = 1, .items = &rule};
    struct aecs_claims c;
    char why[256];

    memset(&rule, 0, sizeof(rule));
    rule.platform = AECS_TEE_SGX;
    rule.fields = AECS_RULE_PRODID;
    rule.prodid = 7;
    rule.tcb_statuses = AECS_POLICY_TCB_DEFAULT;
    claims_sgx(&c);
    assert_int_equal(aecs_policy_match(&rules, &c, why, sizeof(why)), AECS_E_MISMATCH);
    assert_string_equal(why, "enclaveMatchAnyRules[0]: the rule names no enclave identity");
    rule.insecure_allow_any_enclave = 1;
    assert_int_equal(aecs_policy_match(&rules, &c, why, sizeof(why)), AECS_OK);
    /* a rule with no accepted TCB status accepts none */
    rule.tcb_statuses = 0;
    assert_int_equal(aecs_policy_match(&rules, &c, why, sizeof(why)), AECS_E_MISMATCH);
    assert_string_equal(why, "enclaveMatchAnyRules[0]: TCB status UpToDate is not accepted "
                             "(accepted: none)");
}

/* ---- matching: TDX ---- */

static void test_match_tdx(void **state)
{
    (void)state;
    struct aecs_claims c;
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "      - mrtd: %s\n        rtmr0: %s\n        rtmr1: %s\n        rtmr2: %s\n"
             "        rtmr3: %s\n        mrconfigid: %s\n        mrowner: %s\n",
             HEX48_33,
             "4040404040404040404040404040404040404040404040404040404040404040404040404040404040404"
             "04040404040",
             "4141414141414141414141414141414141414141414141414141414141414141414141414141414141414"
             "14141414141",
             "4242424242424242424242424242424242424242424242424242424242424242424242424242424242424"
             "24242424242",
             "4343434343434343434343434343434343434343434343434343434343434343434343434343434343434"
             "34343434343",
             "5555555555555555555555555555555555555555555555555555555555555555555555555555555555555"
             "55555555555",
             "6666666666666666666666666666666666666666666666666666666666666666666666666666666666666"
             "66666666666");
    struct aecs_policy *p = rules_policy(yaml);
    static const char *const names[] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};

    assert_int_equal(p->specs[0].rules.items[0].platform, AECS_TEE_TDX);
    claims_tdx(&c);
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");
    for (int i = 0; i < 4; i++) {
        char want[160], exp_hex[17];
        claims_tdx(&c);
        c.rtmr[i][0] = 0xee;
        for (int k = 0; k < 8; k++)
            snprintf(exp_hex + 2 * k, 3, "%02x", 0x40 + i);
        snprintf(want, sizeof(want),
                 "enclaveMatchAnyRules[0]: %s does not match: expected %s.., got ee%.14s..",
                 names[i], exp_hex, exp_hex);
        expect_refused(p, &c, want);
    }
    claims_tdx(&c);
    c.mrconfigid[0] = 0;
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: mrconfigid does not match: expected "
                   "5555555555555555.., got 0055555555555555..");
    claims_tdx(&c);
    c.mrowner[0] = 0;
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: mrowner does not match: expected "
                   "6666666666666666.., got 0066666666666666..");
    claims_tdx(&c);
    c.debug = 1;
    expect_refused(p, &c, "enclaveMatchAnyRules[0]: debug enclave refused");
    claims_tdx(&c);
    strcpy(c.tcb_status, "TDRelaunchAdvised");
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: TCB status TDRelaunchAdvised is not accepted "
                   "(accepted: UpToDate, SWHardeningNeeded)");
    aecs_policy_free(p);
}

/* ---- matching: SNP ---- */

static void test_match_snp(void **state)
{
    (void)state;
    struct aecs_claims c;
    struct aecs_policy *p =
        rules_policy("      - measurement: " HEX48_44 "\n"
                     "        host_data: "
                     "7777777777777777777777777777777777777777777777777777777777777777\n"
                     "        min_tcb: {bootloader: 3, tee: 1, snp: 8, "
                     "microcode: 115}\n");
    struct aecs_policy *turin = rules_policy("      - measurement: " HEX48_44 "\n"
                                             "        min_tcb: {bootloader: 1, tee: 1, snp: 1, "
                                             "microcode: 1, fmc: 2}\n");

    const struct aecs_policy_rule *r = &p->specs[0].rules.items[0];
    assert_int_equal(r->platform, AECS_TEE_SNP);
    assert_int_equal(r->tcb_statuses, 0);
    claims_snp(&c);
    c.snp_tcb.tee = 1;
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");
    /* boundaries: one below each minimum */
    c.snp_tcb.tee = 0;
    expect_refused(p, &c, "enclaveMatchAnyRules[0]: TCB tee 0 is below the minimum 1");
    claims_snp(&c);
    c.snp_tcb.tee = 1;
    c.snp_tcb.bootloader = 2;
    c.snp_tcb.snp = 7;
    c.snp_tcb.microcode = 114;
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: TCB bootloader 2 is below the minimum 3; TCB snp 7 "
                   "is below the minimum 8; TCB microcode 114 is below the minimum 115");
    claims_snp(&c);
    c.snp_tcb.tee = 200;
    c.measurement[0] = 0x45;
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: measurement does not match: expected "
                   "4444444444444444.., got 4544444444444444..");
    claims_snp(&c);
    c.snp_tcb.tee = 1;
    c.host_data[0] = 0;
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: host_data does not match: expected "
                   "7777777777777777.., got 0077777777777777..");
    claims_snp(&c);
    c.snp_tcb.tee = 1;
    c.debug = 1;
    expect_refused(p, &c, "enclaveMatchAnyRules[0]: debug enclave refused");

    /* fmc: refused on a platform without it, compared on Turin */
    claims_snp(&c);
    c.snp_tcb.tee = 1;
    expect_refused(turin, &c,
                   "enclaveMatchAnyRules[0]: min_tcb.fmc is set but the platform (Milan) has no "
                   "FMC");
    strcpy(c.snp_product, "Turin");
    c.snp_tcb.has_fmc = 1;
    c.snp_tcb.fmc = 1;
    expect_refused(turin, &c, "enclaveMatchAnyRules[0]: TCB fmc 1 is below the minimum 2");
    c.snp_tcb.fmc = 2;
    expect_allowed(turin, &c, "allowed by enclaveMatchAnyRules[0]");
    aecs_policy_free(p);
    aecs_policy_free(turin);
}

/* ---- real evidence: claims from verified verdicts ---- */

static int64_t utc_file(const char *set)
{
    char rel[256];
    size_t size;
    snprintf(rel, sizeof(rel), "tests/data/dcap/%s/verify_time", set);
    char *t = read_text(rel, &size);
    while (size > 0 && (t[size - 1] == '\n' || t[size - 1] == '\r'))
        t[--size] = '\0';
    int64_t at = tu_utc(t);
    free(t);
    return at;
}

static void verify_dcap(const char *set, struct aecs_dcap_result *r, uint8_t **quote)
{
    char dir[512], rel[256];
    struct aecs_collateral *col = NULL;
    struct aecs_dcap_prepared *prep = NULL;
    size_t size;

    snprintf(rel, sizeof(rel), "tests/data/dcap/%s", set);
    tu_src_path(dir, sizeof(dir), rel);
    assert_int_equal(aecs_collateral_load_dir(dir, &col), AECS_OK);
    assert_int_equal(aecs_dcap_prepare(col, NULL, &prep), AECS_OK);
    *quote = tu_read_dcap(set, "quote.bin", &size);
    aecs_dcap_verify(prep, *quote, size, utc_file(set), r);
    aecs_dcap_prepared_free(prep);
    assert_true(r->verified);
}

static void test_real_sgx(void **state)
{
    (void)state;
    static struct aecs_dcap_result r; /* large */
    struct aecs_claims c;
    uint8_t *quote = NULL, want[32];
    char path[512];
    struct aecs_policy *fixed = NULL;
    struct aecs_policy_error err;

    verify_dcap("sgx_v3_dcapqvl", &r, &quote);
    assert_int_equal(aecs_claims_from_dcap(&r, &c), AECS_OK);
    /* expected.json: report and expected */
    assert_int_equal(c.platform, AECS_TEE_SGX);
    tu_hex(SGX_MRENCLAVE, want, 32);
    assert_memory_equal(c.mrenclave, want, 32);
    tu_hex(SGX_MRSIGNER, want, 32);
    assert_memory_equal(c.mrsigner, want, 32);
    assert_int_equal(c.isvprodid, 0);
    assert_int_equal(c.isvsvn, 0);
    assert_int_equal(c.debug, 0); /* attributes 05..: DEBUG (bit 1) clear */
    assert_int_equal(c.sim, 0);
    assert_string_equal(c.tcb_status, "ConfigurationAndSWHardeningNeeded");
    assert_int_equal(c.advisory_count, 2);
    assert_string_equal(c.advisories[0], "INTEL-SA-00289");
    assert_string_equal(c.advisories[1], "INTEL-SA-00615");

    /* the fixed seeds' sample refuses it for its TCB status, by default */
    tu_src_path(path, sizeof(path), POLICY_DIR "seeds_sample_fixed.yaml");
    assert_int_equal(aecs_policy_load(path, 0, &fixed, &err), AECS_OK);
    char why[1024];
    assert_int_equal(aecs_policy_match(&fixed->specs[0].rules, &c, why, sizeof(why)),
                     AECS_E_MISMATCH);
    assert_string_equal(why, "enclaveMatchAnyRules[0]: TCB status "
                             "ConfigurationAndSWHardeningNeeded is not accepted (accepted: "
                             "UpToDate, SWHardeningNeeded)");

    /* accepting the status is not enough: each advisory must be accepted too */
    struct aecs_policy *p = rules_policy("      - mrenclave: " SGX_MRENCLAVE "\n"
                                         "        accepted_tcb_statuses: [UpToDate, "
                                         "ConfigurationAndSWHardeningNeeded]\n"
                                         "        accepted_advisories: [INTEL-SA-00615]\n");
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: advisories not accepted for TCB status "
                   "ConfigurationAndSWHardeningNeeded: INTEL-SA-00289 (accepted_advisories: "
                   "INTEL-SA-00615)");
    aecs_policy_free(p);
    p = rules_policy("      - mrenclave: " SGX_MRENCLAVE "\n"
                     "        accepted_tcb_statuses: [UpToDate, "
                     "ConfigurationAndSWHardeningNeeded]\n"
                     "        accepted_advisories: [INTEL-SA-00615, INTEL-SA-00289]\n");
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");

    /* the same verdict, marked as coming from a sim root, is refused */
    r.sim = 1;
    assert_int_equal(aecs_claims_from_dcap(&r, &c), AECS_OK);
    assert_int_equal(c.sim, 1);
    expect_refused(p, &c,
                   "enclaveMatchAnyRules[0]: simulated TEE refused (the evidence chains to an "
                   "aecs sim root; allow_sim: true accepts it, for tests only)");

    /* no claims from a verdict that did not verify */
    r.verified = 0;
    r.stage = "tcb";
    strcpy(r.message, "the platform's TCB level is Revoked");
    assert_int_equal(aecs_claims_from_dcap(&r, &c), AECS_E_UNTRUSTED);
    assert_int_equal(c.platform, AECS_TEE_UNKNOWN);
    assert_non_null(strstr(aecs_err_last()->message, "stage tcb"));
    assert_int_equal(aecs_claims_from_dcap(NULL, &c), AECS_E_INVALID_ARGUMENT);
    aecs_policy_free(p);
    aecs_policy_free(fixed);
    free(quote);
}

static void test_real_tdx(void **state)
{
    (void)state;
    static struct aecs_dcap_result r;
    struct aecs_claims c;
    uint8_t *quote = NULL, want[48];
    char path[512];
    struct aecs_policy *p = NULL;
    struct aecs_policy_error err;

    verify_dcap("tdx_v4_dcapqvl", &r, &quote);
    assert_int_equal(aecs_claims_from_dcap(&r, &c), AECS_OK);
    assert_int_equal(c.platform, AECS_TEE_TDX);
    tu_hex(TDX_MRTD, want, 48);
    assert_memory_equal(c.mrtd, want, 48);
    tu_hex(TDX_RTMR0, want, 48);
    assert_memory_equal(c.rtmr[0], want, 48);
    assert_int_equal(c.debug, 0);
    assert_string_equal(c.tcb_status, "UpToDate");
    assert_int_equal(c.advisory_count, 0);

    tu_src_path(path, sizeof(path), POLICY_DIR "tdx_sample.yaml");
    assert_int_equal(aecs_policy_load(path, 0, &p, &err), AECS_OK);
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");
    c.rtmr[0][47] ^= 1;
    char why[512];
    assert_int_equal(aecs_policy_match(&p->specs[0].rules, &c, why, sizeof(why)), AECS_E_MISMATCH);
    assert_string_equal(why, "enclaveMatchAnyRules[0]: rtmr0 does not match: expected "
                             "44c0197b39157fdd.., got 44c0197b39157fdd..");
    aecs_policy_free(p);
    free(quote);
}

static void test_real_snp(void **state)
{
    (void)state;
    static struct aecs_snp_result r;
    struct aecs_snp_collateral *col = NULL;
    struct aecs_claims c;
    uint8_t want[48];
    size_t size;
    char dir[512], path[512];
    struct aecs_policy *p = NULL;
    struct aecs_policy_error err;

    tu_src_path(dir, sizeof(dir), SNP_MILAN);
    assert_int_equal(aecs_snp_collateral_load_dir(dir, &col), AECS_OK);
    tu_src_path(path, sizeof(path), SNP_MILAN "report.bin");
    uint8_t *report = tu_read_file(path, &size);
    /* inside the VCEK's validity (2023-04-03 .. 2030-04-03, expected.json) */
    aecs_snp_verify(report, size, col, tu_utc("2024-01-01T00:00:00Z"), &r);
    assert_true(r.verified);
    assert_int_equal(aecs_claims_from_snp(&r, &c), AECS_OK);
    assert_int_equal(c.platform, AECS_TEE_SNP);
    tu_hex(SNP_MEASUREMENT, want, 48);
    assert_memory_equal(c.measurement, want, 48);
    assert_int_equal(c.debug, 0); /* policy 0x30000: bit 19 clear */
    assert_int_equal(c.snp_policy, 0x30000);
    assert_int_equal(c.vmpl, 0);
    assert_int_equal(c.snp_tcb.bootloader, 3);
    assert_int_equal(c.snp_tcb.tee, 0);
    assert_int_equal(c.snp_tcb.snp, 8);
    assert_int_equal(c.snp_tcb.microcode, 115);
    assert_int_equal(c.snp_tcb.has_fmc, 0);
    assert_string_equal(c.snp_product, "Milan");
    assert_string_equal(c.tcb_status, "");

    tu_src_path(path, sizeof(path), POLICY_DIR "snp_sample.yaml");
    assert_int_equal(aecs_policy_load(path, 0, &p, &err), AECS_OK);
    expect_allowed(p, &c, "allowed by enclaveMatchAnyRules[0]");
    c.snp_tcb.microcode = 114;
    expect_refused(p, &c, "enclaveMatchAnyRules[0]: TCB microcode 114 is below the minimum 115");

    r.verified = 0;
    r.stage = "signature";
    assert_int_equal(aecs_claims_from_snp(&r, &c), AECS_E_UNTRUSTED);
    assert_int_equal(c.platform, AECS_TEE_UNKNOWN);
    aecs_policy_free(p);
    aecs_snp_collateral_free(col);
    free(report);
}

/* ---- JSON ---- */

static void test_json_round_trip(void **state)
{
    (void)state;
    static const char *const files[] = {"seeds_sample_fixed.yaml", "tdx_sample.yaml",
                                        "snp_sample.yaml"};
    for (size_t f = 0; f < 3; f++) {
        char rel[128], path[512];
        struct aecs_policy *p = NULL;
        struct aecs_policy_error err;
        snprintf(rel, sizeof(rel), POLICY_DIR "%s", files[f]);
        tu_src_path(path, sizeof(path), rel);
        assert_int_equal(aecs_policy_load(path, 0, &p, &err), AECS_OK);
        for (size_t i = 0; i < p->count; i++) {
            json_t *j = NULL, *j2 = NULL;
            struct aecs_secret_spec *back = NULL;
            assert_int_equal(aecs_policy_spec_to_json(&p->specs[i], &j), AECS_OK);
            if (aecs_policy_spec_from_json(j, 0, &back, &err) != AECS_OK) {
                print_error("%s[%zu]: %s\n", files[f], i, aecs_err_last()->message);
                fail();
            }
            assert_int_equal(aecs_policy_spec_to_json(back, &j2), AECS_OK);
            assert_true(json_equal(j, j2));
            assert_int_equal(back->rules.count, p->specs[i].rules.count);
            /* the same rules, field for field (lines differ: 0 from JSON) */
            for (size_t k = 0; k < back->rules.count; k++) {
                static struct aecs_policy_rule a, b;
                memcpy(&a, &p->specs[i].rules.items[k], sizeof(a));
                memcpy(&b, &back->rules.items[k], sizeof(b));
                a.line = b.line = 0;
                assert_memory_equal(&a, &b, sizeof(a));
            }
            json_decref(j);
            json_decref(j2);
            aecs_policy_spec_free(back);
        }
        aecs_policy_free(p);
    }
}

static void test_json_form(void **state)
{
    (void)state;
    size_t size;
    char *text = read_text(POLICY_DIR "seeds_sample_fixed.yaml", &size);
    struct aecs_policy *p = parse_ok(text, 0);
    json_t *j = NULL;
    json_error_t jerr;

    /* written out by hand from docs/policy.md */
    json_t *want = json_loads(
        "{\"name\": \"data_key_1\", \"type\": \"SECRET_TYPE_RSA_KEY_PAIR\", \"service\": "
        "\"service1\", \"readonly\": true, \"share\": \"public\", \"policy\": "
        "{\"enclaveMatchAnyRules\": [{\"platform\": \"sgx\", \"mrenclave\": \"" SGX_MRENCLAVE
        "\", \"mrsigner\": \"" SGX_MRSIGNER "\", \"prodID\": 0, \"accepted_tcb_statuses\": "
        "[\"UpToDate\", \"SWHardeningNeeded\"], \"allow_debug\": false, \"allow_sim\": false}]}, "
        "\"params\": [{\"key\": \"pkcs_type\", \"value\": \"pkcs8\"}, {\"key\": \"bit_length\", "
        "\"value\": \"2048\"}]}",
        JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(want);
    assert_int_equal(aecs_policy_spec_to_json(&p->specs[0], &j), AECS_OK);
    if (!json_equal(j, want)) {
        char *s = json_dumps(j, JSON_SORT_KEYS);
        print_error("got %s\n", s);
        free(s);
        fail();
    }
    json_decref(j);
    /* imported data is not in the JSON form */
    assert_int_equal(aecs_policy_spec_to_json(&p->specs[2], &j), AECS_OK);
    assert_null(json_object_get(j, "data"));
    char *s = json_dumps(j, 0);
    assert_null(strstr(s, "48-f1-87"));
    free(s);
    json_decref(j);
    json_decref(want);
    aecs_policy_free(p);
    free(text);

    /* configuration values are not either (their keys are) */
    char path[512];
    struct aecs_policy_error err;
    tu_src_path(path, sizeof(path), POLICY_DIR "tdx_sample.yaml");
    assert_int_equal(aecs_policy_load(path, 0, &p, &err), AECS_OK);
    assert_string_equal(p->specs[0].params[1].value, "example-not-a-secret");
    assert_int_equal(aecs_policy_spec_to_json(&p->specs[0], &j), AECS_OK);
    s = json_dumps(j, 0);
    assert_null(strstr(s, "example-not-a-secret"));
    assert_null(strstr(s, "postgres://"));
    assert_non_null(strstr(s, "\"key\": \"db_password\""));
    free(s);
    json_decref(j);
    aecs_policy_free(p);
}

static int from_json_text(const char *text, unsigned flags, struct aecs_secret_spec **out,
                          struct aecs_policy_error *err)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(j);
    int rc = aecs_policy_spec_from_json(j, flags, out, err);
    json_decref(j);
    return rc;
}

#define JSPEC(rule, extra)                                                                         \
    "{\"name\": \"k\", \"type\": \"SECRET_TYPE_AES256_KEY\", \"service\": \"s\", \"policy\": "     \
    "{\"enclaveMatchAnyRules\": [" rule "]}" extra "}"

static void test_json_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned flags;
        const char *path;
        const char *reason;
    } cases[] = {
        {JSPEC("{\"mrsigner\": \"" HEX32_22 "\"}", ", \"data\": \"x\""), 0, "data", "unknown key"},
        {JSPEC("{\"mrsigner\": \"" HEX32_22 "\", \"mrenclave\": \"12\"}", ""), 0,
         "policy.enclaveMatchAnyRules[0].mrenclave", "must be 64 hex digits"},
        {JSPEC("{\"mrsigner\": \"" HEX32_22 "\", \"prodID\": -1}", ""), 0,
         "policy.enclaveMatchAnyRules[0].prodID", "must be a whole number"},
        {JSPEC("{\"mrsigner\": \"" HEX32_22 "\", \"prodID\": 1.0}", ""), 0,
         "policy.enclaveMatchAnyRules[0].prodID", "must be a whole number"},
        {JSPEC("{\"mrsigner\": \"" HEX32_22 "\", \"allow_debug\": 1}", ""), 0,
         "policy.enclaveMatchAnyRules[0].allow_debug", "must be true or false"},
        /* no identity: needs both the marker and the flag */
        {JSPEC("{}", ""), AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE, "policy.enclaveMatchAnyRules[0]",
         "names no enclave identity"},
        {JSPEC("{\"insecure_allow_any_enclave\": true}", ""), 0, "policy.enclaveMatchAnyRules[0]",
         "names no enclave identity"},
        {JSPEC("{\"mrsigner\": \"" HEX32_22 "\", \"insecure_allow_any_enclave\": true}", ""),
         AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE,
         "policy.enclaveMatchAnyRules[0].insecure_allow_any_enclave",
         "set on a rule that names an identity"},
        /* configuration values never come back through JSON */
        {"{\"name\": \"k\", \"type\": \"SECRET_TYPE_CONFIGURATIONS\", \"service\": \"s\", "
         "\"policy\": {\"enclaveMatchAnyRules\": [{\"mrsigner\": \"" HEX32_22 "\"}]}, "
         "\"params\": [{\"key\": \"pw\", \"value\": \"x\"}]}",
         0, "params[0].value", "holds no values"},
        {"[1, 2]", 0, "", "must be a mapping, not a list"},
    };
    struct aecs_secret_spec *s = NULL;
    struct aecs_policy_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("json case %zu\n", i);
        int rc = from_json_text(cases[i].text, cases[i].flags, &s, &err);
        if (rc != AECS_E_FORMAT || err.line != 0 || strcmp(err.path, cases[i].path) != 0 ||
            strstr(err.reason, cases[i].reason) == NULL) {
            print_error("case %zu: got [%d] %s: %s\n", i, rc, err.path, err.reason);
            fail();
        }
        assert_null(s);
        assert_true(strncmp(aecs_err_last()->message, "spec.json: ", 11) == 0);
    }

    /* accepted: marker and flag together; upper-case hex normalized */
    assert_int_equal(from_json_text(JSPEC("{\"insecure_allow_any_enclave\": true}", ""),
                                    AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE, &s, &err),
                     AECS_OK);
    assert_int_equal(s->rules.items[0].insecure_allow_any_enclave, 1);
    aecs_policy_spec_free(s);
    assert_int_equal(from_json_text(JSPEC("{\"mrsigner\": \"" HEX32_22 "\", \"prodID\": 12, "
                                          "\"minIsvSvn\": \"4\"}",
                                          ", \"params\": [{\"key\": \"bits\", \"value\": 256}]"),
                                    0, &s, &err),
                     AECS_OK);
    assert_int_equal(s->rules.items[0].prodid, 12);
    assert_int_equal(s->rules.items[0].min_isvsvn, 4);
    assert_string_equal(s->params[0].value, "256");
    aecs_policy_spec_free(s);
    /* a CONFIGURATIONS spec read back has keys without values */
    assert_int_equal(from_json_text("{\"name\": \"k\", \"type\": \"SECRET_TYPE_CONFIGURATIONS\", "
                                    "\"service\": \"s\", \"policy\": {\"enclaveMatchAnyRules\": "
                                    "[{\"mrsigner\": \"" HEX32_22 "\"}]}, \"params\": [{\"key\": "
                                    "\"pw\"}]}",
                                    0, &s, &err),
                     AECS_OK);
    assert_string_equal(s->params[0].key, "pw");
    assert_null(s->params[0].value);
    aecs_policy_spec_free(s);
    assert_int_equal(aecs_policy_spec_from_json(NULL, 0, &s, &err), AECS_E_INVALID_ARGUMENT);
}

/* ---- names ---- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(aecs_tee_name(AECS_TEE_SGX), "sgx");
    assert_string_equal(aecs_tee_name(AECS_TEE_TDX), "tdx");
    assert_string_equal(aecs_tee_name(AECS_TEE_SNP), "snp");
    assert_string_equal(aecs_tee_name(AECS_TEE_UNKNOWN), "unknown");
    assert_int_equal(aecs_tee_parse("snp"), AECS_TEE_SNP);
    assert_int_equal(aecs_tee_parse("SNP"), AECS_TEE_UNKNOWN);
    assert_int_equal(aecs_tee_parse(NULL), AECS_TEE_UNKNOWN);
    assert_int_equal(aecs_policy_tcb_bit("UpToDate"), AECS_POLICY_TCB_UP_TO_DATE);
    assert_int_equal(aecs_policy_tcb_bit("TDRelaunchAdvisedConfigurationNeeded"),
                     AECS_POLICY_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED);
    assert_int_equal(aecs_policy_tcb_bit("Revoked"), 0);
    assert_int_equal(aecs_policy_tcb_bit(NULL), 0);
    assert_string_equal(aecs_policy_tcb_name(AECS_POLICY_TCB_OUT_OF_DATE), "OutOfDate");
    assert_null(aecs_policy_tcb_name(3));
}

/* A rules list under a key of another document (a client's server policy). */
static void test_rules_parse(void **state)
{
    static const char doc[] = "server: https://a\n"       /* 1 */
                              "server_policy:\n"          /* 2 */
                              "  enclaveMatchAnyRules:\n" /* 3 */
                              "  - " SGX_FIRST "\n"       /* 4 */
                              "    allow_sim: true\n"     /* 5 */
                              "  - " TDX_FIRST "\n"       /* 6 */
                              "other: [1, {x: y}]\n";     /* 7 */
    struct aecs_policy_rules rules;
    struct aecs_policy_error err;
    uint8_t want[48];

    (void)state;
    assert_int_equal(
        aecs_policy_rules_parse(doc, strlen(doc), "client.yaml", "server_policy", 0, &rules, &err),
        AECS_OK);
    assert_int_equal(rules.count, 2);
    tu_hex(HEX32_22, want, 32);
    assert_int_equal(rules.items[0].platform, AECS_TEE_SGX);
    assert_int_equal(rules.items[0].fields, AECS_RULE_MRSIGNER);
    assert_memory_equal(rules.items[0].mrsigner, want, 32);
    assert_int_equal(rules.items[0].allow_sim, 1);
    assert_int_equal(rules.items[0].line, 4);
    assert_int_equal(rules.items[0].tcb_statuses, AECS_POLICY_TCB_DEFAULT);
    tu_hex(HEX48_33, want, 48);
    assert_int_equal(rules.items[1].platform, AECS_TEE_TDX);
    assert_memory_equal(rules.items[1].mrtd, want, 48);
    aecs_policy_rules_clear(&rules);
    assert_int_equal(rules.count, 0);
    assert_null(rules.items);
    aecs_policy_rules_clear(NULL);

    /* the same checks as a secret's rules, the path under the key */
    static const char bad[] = "server_policy:\n  enclaveMatchAnyRules:\n  - mrsigner: abc\n";
    rules.count = 7;
    assert_int_equal(
        aecs_policy_rules_parse(bad, strlen(bad), "client.yaml", "server_policy", 0, &rules, &err),
        AECS_E_FORMAT);
    assert_int_equal(rules.count, 0);
    assert_null(rules.items);
    assert_int_equal(err.line, 3);
    assert_string_equal(err.path, "server_policy.enclaveMatchAnyRules[0].mrsigner");
    assert_string_equal(aecs_err_last()->message,
                        "client.yaml:3: server_policy.enclaveMatchAnyRules[0].mrsigner: must be "
                        "64 hex digits (got 3 characters)");
    static const char any[] = "p:\n  enclaveMatchAnyRules:\n  - prodID: 1\n";
    assert_int_equal(aecs_policy_rules_parse(any, strlen(any), "c.yaml", "p", 0, &rules, &err),
                     AECS_E_FORMAT);
    assert_string_equal(err.path, "p.enclaveMatchAnyRules[0]");
    assert_non_null(strstr(err.reason, "this rule names no enclave identity"));
    assert_int_equal(aecs_policy_rules_parse(any, strlen(any), "c.yaml", "p",
                                             AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE, &rules, &err),
                     AECS_OK);
    assert_int_equal(rules.items[0].insecure_allow_any_enclave, 1);
    aecs_policy_rules_clear(&rules);
    /* the key missing, empty, of the wrong kind, with other keys */
    static const char none[] = "server: x\n";
    assert_int_equal(aecs_policy_rules_parse(none, strlen(none), "c.yaml", "p", 0, &rules, &err),
                     AECS_E_FORMAT);
    assert_string_equal(err.path, "p");
    assert_string_equal(err.reason, "required: the enclaveMatchAnyRules to check");
    static const char list[] = "p: [1]\n";
    assert_int_equal(aecs_policy_rules_parse(list, strlen(list), "c.yaml", "p", 0, &rules, &err),
                     AECS_E_FORMAT);
    assert_string_equal(err.reason, "must be a mapping, not a list");
    static const char extra[] = "p:\n  enclaveMatchAnyRules:\n  - " SGX_FIRST "\n  rules: []\n";
    assert_int_equal(aecs_policy_rules_parse(extra, strlen(extra), "c.yaml", "p", 0, &rules, &err),
                     AECS_E_FORMAT);
    assert_string_equal(err.path, "p.rules");
    static const char top[] = "- p\n";
    assert_int_equal(aecs_policy_rules_parse(top, strlen(top), "c.yaml", "p", 0, &rules, &err),
                     AECS_E_FORMAT);
    assert_int_equal(aecs_policy_rules_parse(none, strlen(none), "c.yaml", "", 0, &rules, &err),
                     AECS_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeds_sample_refused),
        cmocka_unit_test(test_seeds_sample_insecure),
        cmocka_unit_test(test_seeds_sample_fixed),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_value_forms),
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_rule_field_errors),
        cmocka_unit_test(test_document_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_errors_hide_secrets),
        cmocka_unit_test(test_match_sgx),
        cmocka_unit_test(test_match_debug_and_sim),
        cmocka_unit_test(test_match_tcb_status),
        cmocka_unit_test(test_match_advisories),
        cmocka_unit_test(test_match_platform_and_rules),
        cmocka_unit_test(test_match_identity_guard),
        cmocka_unit_test(test_match_tdx),
        cmocka_unit_test(test_match_snp),
        cmocka_unit_test(test_real_sgx),
        cmocka_unit_test(test_real_tdx),
        cmocka_unit_test(test_real_snp),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_form),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_rules_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
