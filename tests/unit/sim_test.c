/*
 * sim_test.c - the simulated TEE, asserted through the one verifier.
 *
 * Each case makes a sim in a fresh temporary folder, makes a quote on it and
 * verifies it with aecs_collateral_load_dir() + aecs_dcap_prepare() +
 * aecs_dcap_verify(), as `aecs quote verify` does. Expected values come from
 * the test's own inputs (the measurements asked for, the issue time and
 * validity), from the sim's documented platform (docs/attestation.md: FMSPC
 * AEC551000000, advisory AECS-SIM-SA-00001) and from Intel's result codes
 * (the qv_result table of docs/attestation.md); the quote layout checks use
 * offsets from Intel's quote format, not from quote.c.
 */
#include <jansson.h>
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

#include "attest/collateral.h"
#include "attest/dcap.h"
#include "attest/quote.h"
#include "attest/report.h"
#include "attest/sim.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "crypto/x509_build.h"
#include "testutil.h"

#define T0 1751328000 /* 2025-07-01T00:00:00Z: the issue time of every sim here */
#define DAY 86400

/* ---- fixtures ---- */

struct sim_case {
    char tmp[64];  /* the temporary folder */
    char dir[128]; /* the sim folder inside it (made by init) */
};

static void case_open(struct sim_case *c)
{
    tu_mkdtemp(c->tmp, sizeof(c->tmp));
    snprintf(c->dir, sizeof(c->dir), "%s/sim", c->tmp);
}

static void case_close(struct sim_case *c)
{
    tu_rmtree(c->tmp);
}

static void init_with(struct sim_case *c, const char *status, int revoke, int days)
{
    struct aecs_sim_options o;

    memset(&o, 0, sizeof(o));
    o.tcb_status = status;
    o.revoke_pck = revoke;
    o.validity_days = days;
    o.now = T0;
    if (aecs_sim_init(c->dir, &o) != AECS_OK) {
        print_error("sim init: %s\n", aecs_err_last()->message);
        fail();
    }
}

static void sgx_params(struct aecs_sim_quote_params *p)
{
    memset(p, 0, sizeof(*p));
    p->tee = AECS_SIM_SGX;
    memset(p->mrenclave, 0x11, 32);
    memset(p->mrsigner, 0x22, 32);
    p->isvprodid = 3;
    p->isvsvn = 7;
    for (int i = 0; i < 64; i++)
        p->report_data[i] = (uint8_t)i;
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

static uint8_t *make_quote(const struct sim_case *c, const struct aecs_sim_quote_params *p,
                           size_t *size)
{
    uint8_t *q = NULL;

    if (aecs_sim_quote(c->dir, p, &q, size) != AECS_OK) {
        print_error("sim quote: %s\n", aecs_err_last()->message);
        fail();
    }
    return q;
}

static struct aecs_cert *root_of(const char *dir)
{
    char path[256];
    uint8_t *der = NULL;
    size_t size = 0;
    struct aecs_cert *cert = NULL;

    snprintf(path, sizeof(path), "%s/root.der", dir);
    assert_int_equal(aecs_file_read(path, 1u << 16, &der, &size), AECS_OK);
    assert_int_equal(aecs_cert_parse(der, size, &cert), AECS_OK);
    free(der);
    return cert;
}

/*
 * Verifies quote against collateral_dir's collateral/ (or collateral-tdx/),
 * trusting root_dir's root.der (NULL: the pinned Intel root).
 */
static void verify_with(const char *collateral_dir, int tdx, const char *root_dir,
                        const uint8_t *quote, size_t size, int64_t at, struct aecs_dcap_result *r)
{
    char path[256];
    struct aecs_collateral *col = NULL;
    struct aecs_dcap_prepared *p = NULL;
    struct aecs_cert *root = root_dir != NULL ? root_of(root_dir) : NULL;

    snprintf(path, sizeof(path), "%s/%s", collateral_dir,
             tdx ? AECS_SIM_TDX_COLLATERAL : AECS_SIM_SGX_COLLATERAL);
    assert_int_equal(aecs_collateral_load_dir(path, &col), AECS_OK);
    assert_int_equal(aecs_dcap_prepare(col, root, &p), AECS_OK);
    aecs_dcap_verify(p, quote, size, at, r);
    aecs_dcap_prepared_free(p);
    aecs_cert_free(root);
}

/* The common case: the sim's own collateral and root. */
static void verify(const struct sim_case *c, int tdx, const uint8_t *quote, size_t size, int64_t at,
                   struct aecs_dcap_result *r)
{
    verify_with(c->dir, tdx, c->dir, quote, size, at, r);
}

static void assert_verified(const struct aecs_dcap_result *r, const char *status, uint16_t qv)
{
    if (!r->verified || r->tcb_status == NULL || strcmp(r->tcb_status, status) != 0 ||
        r->qv_result != qv) {
        print_error("expected verified %s (0x%04X), got verified=%d %s (0x%04X) [%s] %s\n", status,
                    qv, r->verified, r->tcb_status ? r->tcb_status : "-", r->qv_result,
                    r->stage ? r->stage : "-", r->message);
        fail();
    }
    assert_int_equal(r->sim, 1);
    assert_int_equal(r->collateral_expired, 0);
}

static void assert_error(const struct aecs_dcap_result *r, const char *stage, const char *code)
{
    if (r->verified || r->stage == NULL || strcmp(r->stage, stage) != 0 ||
        strcmp(aecs_qvl_quote3_error_name(r->error), code) != 0) {
        print_error("expected [%s] %s, got verified=%d [%s] %s (%s): %s\n", stage, code,
                    r->verified, r->stage ? r->stage : "-", aecs_qvl_quote3_error_name(r->error),
                    aecs_qvl_status_name(r->error), r->message);
        fail();
    }
}

static int has_advisory(const struct aecs_dcap_result *r, const char *id)
{
    for (size_t i = 0; i < r->advisories.count; i++) {
        if (strcmp(r->advisories.ids[i], id) == 0)
            return 1;
    }
    return 0;
}

static struct aecs_dcap_result *new_result(void)
{
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    return r;
}

/* ---- UpToDate: verified, claims are what was asked for ---- */

static void test_sgx_up_to_date(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;
    uint8_t fmspc[6] = {0xae, 0xc5, 0x51, 0x00, 0x00, 0x00};

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    verify(&c, 0, q, size, T0 + 60, r);
    assert_verified(r, "UpToDate", 0x0000);
    assert_int_equal(r->platform, AECS_PLATFORM_SGX);
    assert_int_equal(r->advisories.count, 0);
    assert_int_equal(r->quote.version, 3);
    assert_memory_equal(r->quote.sgx.mrenclave, p.mrenclave, 32);
    assert_memory_equal(r->quote.sgx.mrsigner, p.mrsigner, 32);
    assert_int_equal(r->quote.sgx.isvprodid, 3);
    assert_int_equal(r->quote.sgx.isvsvn, 7);
    assert_memory_equal(r->quote.sgx.report_data, p.report_data, 64);
    assert_int_equal(r->quote.sgx.attributes[0] & 0x02, 0);
    assert_memory_equal(r->pck.fmspc, fmspc, 6);
    assert_string_equal(r->qe_tcb_status, "UpToDate");
    /* the JSON verdict says sim */
    json_t *o = aecs_dcap_result_to_json(r);
    assert_true(json_is_true(json_object_get(o, "sim")));
    assert_true(json_is_false(json_object_get(json_object_get(o, "claims"), "debug")));
    json_decref(o);
    free(q);
    free(r);
    case_close(&c);
}

static void test_tdx_up_to_date(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 0);
    tdx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    verify(&c, 1, q, size, T0 + 60, r);
    assert_verified(r, "UpToDate", 0x0000);
    assert_int_equal(r->platform, AECS_PLATFORM_TDX);
    assert_int_equal(r->quote.version, 4);
    assert_memory_equal(r->quote.td.mrtd, p.mrtd, 48);
    for (int i = 0; i < 4; i++)
        assert_memory_equal(r->quote.td.rtmr[i], p.rtmr[i], 48);
    assert_memory_equal(r->quote.td.mrconfigid, p.mrconfigid, 48);
    assert_memory_equal(r->quote.td.mrowner, p.mrowner, 48);
    assert_memory_equal(r->quote.td.report_data, p.report_data, 64);
    assert_int_equal(r->quote.td.td_attributes[0] & 0x01, 0);
    assert_int_equal(r->has_module, 1);
    assert_string_equal(r->module_tcb_status, "UpToDate");
    assert_int_equal(r->advisories.count, 0);
    free(q);
    free(r);
    case_close(&c);
}

/* ---- TCB statuses: the level the platform matches has the status chosen at init ---- */

static void test_out_of_date(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, "OutOfDate", 0, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    verify(&c, 0, q, size, T0 + 60, r);
    assert_verified(r, "OutOfDate", 0xA002);
    assert_true(has_advisory(r, "AECS-SIM-SA-00001"));
    free(q);

    tdx_params(&p);
    q = make_quote(&c, &p, &size);
    verify(&c, 1, q, size, T0 + 60, r);
    assert_verified(r, "OutOfDate", 0xA002);
    assert_true(has_advisory(r, "AECS-SIM-SA-00001"));
    free(q);
    free(r);
    case_close(&c);
}

static void test_every_status(void **state)
{
    /* Intel's status strings and their sgx_ql_qv_result_t (docs/attestation.md). */
    static const struct {
        const char *status;
        uint16_t qv;
    } k[] = {
        {"UpToDate", 0x0000},
        {"SWHardeningNeeded", 0xA007},
        {"ConfigurationNeeded", 0xA001},
        {"ConfigurationAndSWHardeningNeeded", 0xA008},
        {"OutOfDate", 0xA002},
        {"OutOfDateConfigurationNeeded", 0xA003},
    };
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();

    (void)state;
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        struct sim_case c;
        size_t size = 0;
        case_open(&c);
        init_with(&c, k[i].status, 0, 0);
        for (int tdx = 0; tdx <= 1; tdx++) {
            if (tdx)
                tdx_params(&p);
            else
                sgx_params(&p);
            uint8_t *q = make_quote(&c, &p, &size);
            verify(&c, tdx, q, size, T0 + 60, r);
            assert_verified(r, k[i].status, k[i].qv);
            assert_int_equal(has_advisory(r, "AECS-SIM-SA-00001"), i != 0);
            free(q);
        }
        case_close(&c);
    }
    free(r);
}

static void test_revoked_tcb(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, "Revoked", 0, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    verify(&c, 0, q, size, T0 + 60, r);
    assert_error(r, "tcb", "SGX_QL_TCB_REVOKED");
    assert_int_equal(r->qv_result, 0xA006);
    free(q);
    free(r);
    case_close(&c);
}

/*
 * Only the TCB Signing certificate may sign TCB Info: a TCB Info re-signed with
 * another key under the same root (the PCK key, or the PCK CA's) that turns a
 * Revoked platform UpToDate must be refused, not believed.
 */
static void forge_tcb_info(const struct sim_case *c, const char *forged, const char *key_file,
                           const char *chain_file)
{
    char cmd[1024];
    char path[512];
    uint8_t *body = NULL;
    size_t size = 0;
    struct aecs_privkey *key = NULL;
    uint8_t rs[64];
    char hex[129];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s' && cp -r '%s/collateral' '%s/'",
             forged, forged, c->dir, forged);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/collateral/tcb_info.body.json", forged);
    assert_int_equal(aecs_file_read(path, 1u << 20, &body, &size), AECS_OK);
    /* the platform's level: "Revoked" (9 bytes with its quotes) becomes "UpToDate" (10) */
    {
        const char *text = (const char *)body;
        const char *at = strstr(text, "\"Revoked\"");
        assert_non_null(at);
        size_t head = (size_t)(at - text);
        size_t out_size = size + 1;
        char *out = malloc(out_size + 1);
        memcpy(out, text, head);
        memcpy(out + head, "\"UpToDate\"", 10);
        memcpy(out + head + 10, text + head + 9, size - head - 9);
        free(body);
        body = (uint8_t *)out;
        size = out_size;
    }
    assert_int_equal(aecs_file_write_atomic(path, body, size, 0644), AECS_OK);
    snprintf(path, sizeof(path), "%s/%s", c->dir, key_file);
    assert_int_equal(aecs_privkey_load_pem(path, &key), AECS_OK);
    assert_int_equal(aecs_ecdsa_sign_p256_rs(key, body, size, rs), AECS_OK);
    for (int i = 0; i < 64; i++)
        snprintf(hex + 2 * i, 3, "%02x", rs[i]);
    snprintf(path, sizeof(path), "%s/collateral/tcb_info.sig.hex", forged);
    assert_int_equal(aecs_file_write_atomic(path, hex, 128, 0644), AECS_OK);
    snprintf(cmd, sizeof(cmd), "cp '%s/%s' '%s/collateral/tcb_info_issuer_chain.pem'", c->dir,
             chain_file, forged);
    assert_int_equal(system(cmd), 0);
    aecs_privkey_free(key);
    free(body);
}

static void test_tcb_info_signed_by_another_key(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    char forged[256];
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, "Revoked", 0, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    snprintf(forged, sizeof(forged), "%s/forged", c.tmp);

    /* signed with the PCK key, chain PCK -> PCK CA -> root */
    forge_tcb_info(&c, forged, "pck.key.pem", "pck_chain.pem");
    verify_with(forged, 0, c.dir, q, size, T0 + 60, r);
    assert_error(r, "collateral", "SGX_QL_TCBINFO_CHAIN_ERROR");
    assert_non_null(strstr(r->message, "SGX TCB Signing"));

    /* signed with the PCK CA's key, chain PCK CA -> root (a CA, not the TCB signer) */
    forge_tcb_info(&c, forged, "pck_ca.key.pem", "collateral/pck_crl_issuer_chain.pem");
    verify_with(forged, 0, c.dir, q, size, T0 + 60, r);
    assert_error(r, "collateral", "SGX_QL_TCBINFO_CHAIN_ERROR");

    /* the genuine collateral still says Revoked */
    verify(&c, 0, q, size, T0 + 60, r);
    assert_error(r, "tcb", "SGX_QL_TCB_REVOKED");
    free(q);
    free(r);
    case_close(&c);
}

/* ---- the platform's PCK certificate revoked ---- */

static void test_revoked_pck(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 1, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    verify(&c, 0, q, size, T0 + 60, r);
    assert_error(r, "chain", "SGX_QL_PCK_REVOKED");
    assert_int_equal(r->error, QVL_SGX_PCK_REVOKED);
    free(q);
    tdx_params(&p);
    q = make_quote(&c, &p, &size);
    verify(&c, 1, q, size, T0 + 60, r);
    assert_error(r, "chain", "SGX_QL_PCK_REVOKED");
    free(q);
    free(r);
    case_close(&c);
}

/* ---- collateral validity: T0 .. T0 + days ---- */

static void test_expired_collateral(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;
    const int64_t next = T0 + 30 * (int64_t)DAY; /* the default validity */

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    verify(&c, 0, q, size, next - 1, r);
    assert_verified(r, "UpToDate", 0x0000);
    assert_int_equal(r->valid_from, T0);
    assert_int_equal(r->valid_until, next);
    verify(&c, 0, q, size, next + 1, r);
    assert_int_equal(r->verified, 0);
    assert_int_equal(r->collateral_expired, 1);
    assert_string_equal(r->stage, "expiry");
    assert_string_equal(r->tcb_status, "UpToDate"); /* still reported */
    verify(&c, 0, q, size, T0 - 1, r);              /* not yet valid */
    assert_int_equal(r->verified, 0);
    assert_int_equal(r->collateral_expired, 1);
    free(q);

    tdx_params(&p);
    q = make_quote(&c, &p, &size);
    verify(&c, 1, q, size, next + 1, r);
    assert_int_equal(r->verified, 0);
    assert_int_equal(r->collateral_expired, 1);
    free(q);
    free(r);
    case_close(&c);
}

static void test_validity_days(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 2);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    verify(&c, 0, q, size, T0 + 2 * DAY - 1, r);
    assert_verified(r, "UpToDate", 0x0000);
    verify(&c, 0, q, size, T0 + 2 * DAY + 1, r);
    assert_int_equal(r->verified, 0);
    assert_int_equal(r->collateral_expired, 1);
    assert_string_equal(r->stage, "expiry");
    free(q);
    free(r);
    case_close(&c);
}

/* ---- trust: only the sim's own root, given explicitly ---- */

static void test_wrong_root(void **state)
{
    struct sim_case a;
    struct sim_case b;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&a);
    case_open(&b);
    init_with(&a, NULL, 0, 0);
    init_with(&b, NULL, 0, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&a, &p, &size);
    /* a's collateral, b's root (same name, other key): the root CA CRL does not verify */
    verify_with(a.dir, 0, b.dir, q, size, T0 + 60, r);
    assert_error(r, "collateral", "SGX_QL_RESULT_INVALID_SIGNATURE");
    assert_int_equal(r->error, QVL_SGX_CRL_INVALID_SIGNATURE);
    /* b's collateral and root: a's PCK chain does not end in b's root */
    verify_with(b.dir, 0, b.dir, q, size, T0 + 60, r);
    assert_error(r, "chain", "SGX_QL_PCK_CERT_CHAIN_ERROR");
    assert_int_equal(r->error, QVL_SGX_PCK_CERT_CHAIN_UNTRUSTED);
    free(q);
    free(r);
    case_close(&a);
    case_close(&b);
}

static void test_no_trusted_root(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    verify_with(c.dir, 0, NULL, q, size, T0 + 60, r);
    assert_int_equal(r->verified, 0);
    assert_int_equal(r->sim, 0);
    assert_string_equal(r->stage, "collateral");
    free(q);
    free(r);
    case_close(&c);
}

/* ---- the wrong collateral for the TEE ---- */

static void test_collateral_for_other_tee(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    verify(&c, 1, q, size, T0 + 60, r);
    assert_error(r, "collateral", "SGX_QL_TCBINFO_MISMATCH");
    free(q);
    tdx_params(&p);
    q = make_quote(&c, &p, &size);
    verify(&c, 0, q, size, T0 + 60, r);
    assert_error(r, "collateral", "SGX_QL_TCBINFO_MISMATCH");
    free(q);
    free(r);
    case_close(&c);
}

/* ---- debug ---- */

static void test_debug_flag(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 0);
    sgx_params(&p);
    p.debug = 1;
    uint8_t *q = make_quote(&c, &p, &size);
    verify(&c, 0, q, size, T0 + 60, r);
    assert_verified(r, "UpToDate", 0x0000);
    assert_int_equal(r->quote.sgx.attributes[0] & 0x02, 0x02); /* ATTRIBUTES.DEBUG, bit 1 */
    json_t *o = aecs_dcap_result_to_json(r);
    assert_true(json_is_true(json_object_get(json_object_get(o, "claims"), "debug")));
    json_decref(o);
    free(q);

    tdx_params(&p);
    p.debug = 1;
    q = make_quote(&c, &p, &size);
    verify(&c, 1, q, size, T0 + 60, r);
    assert_verified(r, "UpToDate", 0x0000);
    assert_int_equal(r->quote.td.td_attributes[0] & 0x01, 0x01); /* TDATTRIBUTES.DEBUG, bit 0 */
    o = aecs_dcap_result_to_json(r);
    assert_true(json_is_true(json_object_get(json_object_get(o, "claims"), "debug")));
    json_decref(o);
    free(q);
    free(r);
    case_close(&c);
}

/* ---- the quote itself, by Intel's layout ---- */

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Checks the QE part (QE report .. certification data) that starts at p and ends at end. */
static void check_qe_part(const uint8_t *p, const uint8_t *end, const uint8_t *attest_key)
{
    static const uint8_t zeros[32] = {0};
    uint8_t bound[96];
    uint8_t digest[32];
    const uint8_t *qe_report = p;

    /* QE report data = SHA-256(attestation key || QE auth data) || 32 zero bytes */
    const uint8_t *auth = p + 384 + 64;
    assert_int_equal(le16(auth), 32);
    memcpy(bound, attest_key, 64);
    memcpy(bound + 64, auth + 2, 32);
    aecs_sha256(bound, 96, digest);
    assert_memory_equal(qe_report + 320, digest, 32);
    assert_memory_equal(qe_report + 352, zeros, 32);
    /* certification data type 5: the PEM chain, leaf first, and a NUL */
    const uint8_t *cert = auth + 2 + 32;
    assert_int_equal(le16(cert), 5);
    uint32_t n = le32(cert + 2);
    assert_ptr_equal(cert + 6 + n, end);
    assert_int_equal(cert[6 + n - 1], 0);
    assert_memory_equal(cert + 6, "-----BEGIN CERTIFICATE-----", 27);
    assert_int_equal(strlen((const char *)cert + 6), n - 1);
}

static void test_quote_layout(void **state)
{
    static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
    struct sim_case c;
    struct aecs_sim_quote_params p;
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 0);

    /* SGX v3: header 48, report body 384, signature data */
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    assert_int_equal(le16(q), 3);
    assert_int_equal(le16(q + 2), 2);
    assert_int_equal(le32(q + 4), 0);
    assert_memory_equal(q + 12, intel_qe_vendor, 16);
    assert_memory_equal(q + 48 + 64, p.mrenclave, 32);
    assert_memory_equal(q + 48 + 128, p.mrsigner, 32);
    assert_int_equal(le16(q + 48 + 256), 3);
    assert_int_equal(le16(q + 48 + 258), 7);
    assert_memory_equal(q + 48 + 320, p.report_data, 64);
    uint32_t sig = le32(q + 48 + 384);
    assert_int_equal(48 + 384 + 4 + sig, size);
    check_qe_part(q + 48 + 384 + 4 + 128, q + size, q + 48 + 384 + 4 + 64);
    free(q);

    /* TDX v4: header 48 (TEE type 0x81), TD report 584, certification data type 6 nesting */
    tdx_params(&p);
    q = make_quote(&c, &p, &size);
    assert_int_equal(le16(q), 4);
    assert_int_equal(le32(q + 4), 0x81);
    assert_memory_equal(q + 12, intel_qe_vendor, 16);
    assert_memory_equal(q + 48 + 136, p.mrtd, 48);
    assert_memory_equal(q + 48 + 520, p.report_data, 64);
    sig = le32(q + 48 + 584);
    assert_int_equal(48 + 584 + 4 + sig, size);
    const uint8_t *outer = q + 48 + 584 + 4 + 128;
    assert_int_equal(le16(outer), 6);
    assert_int_equal(le32(outer + 2), size - (size_t)(outer + 6 - q));
    check_qe_part(outer + 6, q + size, q + 48 + 584 + 4 + 64);
    free(q);
    case_close(&c);
}

/* A flipped bit in the signed body is caught by the quote signature. */
static void test_quote_signature_covers_body(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    struct aecs_dcap_result *r = new_result();
    size_t size = 0;

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 0);
    sgx_params(&p);
    uint8_t *q = make_quote(&c, &p, &size);
    q[48 + 64] ^= 1; /* mrenclave */
    verify(&c, 0, q, size, T0 + 60, r);
    assert_error(r, "signature", "SGX_QL_RESULT_INVALID_SIGNATURE");
    free(q);
    free(r);
    case_close(&c);
}

/* Quotes of one sim share a platform (attestation key, PCK chain); two sims differ. */
static void test_platform_persists(void **state)
{
    struct sim_case a;
    struct sim_case b;
    struct aecs_sim_quote_params p;
    struct aecs_quote qa1;
    struct aecs_quote qa2;
    struct aecs_quote qb;
    size_t s1 = 0, s2 = 0, s3 = 0;

    (void)state;
    case_open(&a);
    case_open(&b);
    init_with(&a, NULL, 0, 0);
    init_with(&b, NULL, 0, 0);
    sgx_params(&p);
    uint8_t *a1 = make_quote(&a, &p, &s1);
    tdx_params(&p);
    uint8_t *a2 = make_quote(&a, &p, &s2);
    uint8_t *b1 = make_quote(&b, &p, &s3);
    assert_int_equal(aecs_quote_parse(a1, s1, &qa1), AECS_OK);
    assert_int_equal(aecs_quote_parse(a2, s2, &qa2), AECS_OK);
    assert_int_equal(aecs_quote_parse(b1, s3, &qb), AECS_OK);
    assert_memory_equal(qa1.attest_key, qa2.attest_key, 64);
    assert_int_equal(qa1.cert_size, qa2.cert_size);
    assert_memory_equal(qa1.cert_data, qa2.cert_data, qa1.cert_size);
    assert_memory_not_equal(qa1.attest_key, qb.attest_key, 64);
    free(a1);
    free(a2);
    free(b1);
    case_close(&a);
    case_close(&b);
}

/* ---- the folder ---- */

static void test_files_and_modes(void **state)
{
    static const char *const keys[] = {"root_ca.key.pem", "pck_ca.key.pem", "pck.key.pem",
                                       "tcb_signing.key.pem", "attestation.key.pem"};
    static const char *const collateral[] = {
        "root_ca_crl.der",       "pck_crl.der",         "pck_crl_issuer_chain.pem",
        "tcb_info.body.json",    "tcb_info.sig.hex",    "tcb_info_issuer_chain.pem",
        "qe_identity.body.json", "qe_identity.sig.hex", "qe_identity_issuer_chain.pem",
    };
    struct sim_case c;
    struct stat st;
    char path[512];
    char cn[128];

    (void)state;
    case_open(&c);
    init_with(&c, NULL, 0, 0);
    assert_int_equal(stat(c.dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", c.dir, keys[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    for (size_t i = 0; i < sizeof(collateral) / sizeof(collateral[0]); i++) {
        for (int tdx = 0; tdx <= 1; tdx++) {
            snprintf(path, sizeof(path), "%s/%s/%s", c.dir, tdx ? "collateral-tdx" : "collateral",
                     collateral[i]);
            assert_int_equal(stat(path, &st), 0);
        }
    }
    assert_int_equal(tu_utc("2025-07-01T00:00:00Z"), T0);
    struct aecs_cert *root = root_of(c.dir);
    aecs_cert_subject_cn(root, cn, sizeof(cn));
    assert_int_equal(strncmp(cn, "aecs simulated", 14), 0);
    aecs_cert_free(root);
    case_close(&c);
}

static void test_init_errors(void **state)
{
    struct sim_case c;
    struct aecs_sim_options o;
    struct aecs_cert *first;
    struct aecs_cert *second;

    (void)state;
    case_open(&c);
    memset(&o, 0, sizeof(o));
    o.tcb_status = "Fine";
    assert_int_equal(aecs_sim_init(c.dir, &o), AECS_E_INVALID_ARGUMENT);
    assert_non_null(strstr(aecs_err_last()->message, "unknown TCB status 'Fine'"));
    o.tcb_status = "TDRelaunchAdvised"; /* a verdict, not a status a TCB level can have */
    assert_int_equal(aecs_sim_init(c.dir, &o), AECS_E_INVALID_ARGUMENT);
    o.tcb_status = NULL;
    o.validity_days = -1;
    assert_int_equal(aecs_sim_init(c.dir, &o), AECS_E_INVALID_ARGUMENT);
    o.validity_days = AECS_SIM_MAX_VALIDITY_DAYS + 1;
    assert_int_equal(aecs_sim_init(c.dir, &o), AECS_E_INVALID_ARGUMENT);

    /* once made, a sim is only replaced on request (and then it is a new platform) */
    assert_int_equal(aecs_sim_init(c.dir, NULL), AECS_OK);
    first = root_of(c.dir);
    assert_int_equal(aecs_sim_init(c.dir, NULL), AECS_E_INVALID_ARGUMENT);
    assert_non_null(strstr(aecs_err_last()->message, "already holds a sim"));
    memset(&o, 0, sizeof(o));
    o.force = 1;
    assert_int_equal(aecs_sim_init(c.dir, &o), AECS_OK);
    second = root_of(c.dir);
    assert_false(aecs_cert_equal(first, second));
    aecs_cert_free(first);
    aecs_cert_free(second);

    /* a parent that does not exist */
    char deep[256];
    snprintf(deep, sizeof(deep), "%s/no/such", c.tmp);
    assert_int_equal(aecs_sim_init(deep, NULL), AECS_E_IO);
    case_close(&c);
}

static void test_quote_needs_initialised_dir(void **state)
{
    struct sim_case c;
    struct aecs_sim_quote_params p;
    uint8_t *q = NULL;
    size_t size = 0;

    (void)state;
    case_open(&c);
    sgx_params(&p);
    assert_int_equal(aecs_sim_quote(c.tmp, &p, &q, &size), AECS_E_NOT_FOUND);
    assert_non_null(strstr(aecs_err_last()->message, "not an initialised sim"));
    assert_null(q);
    assert_int_equal(size, 0);
    assert_int_equal(aecs_sim_quote(c.dir, &p, &q, &size), AECS_E_NOT_FOUND);
    case_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_up_to_date),
        cmocka_unit_test(test_tdx_up_to_date),
        cmocka_unit_test(test_out_of_date),
        cmocka_unit_test(test_every_status),
        cmocka_unit_test(test_revoked_tcb),
        cmocka_unit_test(test_tcb_info_signed_by_another_key),
        cmocka_unit_test(test_revoked_pck),
        cmocka_unit_test(test_expired_collateral),
        cmocka_unit_test(test_validity_days),
        cmocka_unit_test(test_wrong_root),
        cmocka_unit_test(test_no_trusted_root),
        cmocka_unit_test(test_collateral_for_other_tee),
        cmocka_unit_test(test_debug_flag),
        cmocka_unit_test(test_quote_layout),
        cmocka_unit_test(test_quote_signature_covers_body),
        cmocka_unit_test(test_platform_persists),
        cmocka_unit_test(test_files_and_modes),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_quote_needs_initialised_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
