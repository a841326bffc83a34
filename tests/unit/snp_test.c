/*
 * snp_test.c - SEV-SNP report parsing and verification against real vectors.
 *
 * Expected values come from tests/data/snp/snp_milan_virtee/expected.json and MANIFEST.md
 * (virtee/sev's own assertions, cross-checked independently), from AMD's
 * SEV-SNP ABI specification (#56860: report offsets, TCB_VERSION layouts) and
 * KDS specification (#57230: VCEK extensions), and from `openssl asn1parse`
 * of the certificates; never from a run of the code under test.
 *
 * Order of the stages matters for mutation tests: every byte of the report
 * before 0x2A0 is signed, so a flipped CHIP_ID or REPORTED_TCB fails the
 * signature stage first. The identity and TCB checks are therefore also tested
 * on their own, on a parsed report and VCEK (aecs_snp_check_identity,
 * aecs_snp_check_tcb).
 */
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "attest/snp.h"
#include "attest/snp_report.h"
#include "base/codec.h"
#include "base/file.h"
#include "base/timeutil.h"
#include "crypto/amd.h"
#include "crypto/x509.h"

#define MILAN "tests/data/snp/snp_milan_virtee/"
#define TURIN "tests/data/snp/snp_turin_chain_only_virtee/"
#define ROOTS "tests/data/snp/amd_roots/"

/* Inside the Milan VCEK's validity (2023-04-03T19:23:43Z .. 2030-04-03T19:23:43Z). */
#define AT_OK "2024-01-01T00:00:00Z"
#define VCEK_NOT_BEFORE "2023-04-03T19:23:43Z"
#define VCEK_NOT_AFTER "2030-04-03T19:23:43Z"

/* ---- helpers ---- */

static uint8_t *read_all(const char *path, size_t *size)
{
    uint8_t *data = NULL;

    assert_int_equal(aecs_file_read(path, 1u << 20, &data, size), AECS_OK);
    return data;
}

static struct aecs_cert *cert_of(const char *path)
{
    size_t size = 0;
    uint8_t *data = read_all(path, &size);
    struct aecs_cert *cert = NULL;

    assert_int_equal(aecs_cert_parse(data, size, &cert), AECS_OK);
    free(data);
    return cert;
}

static int64_t time_of(const char *text)
{
    int64_t t = 0;

    assert_int_equal(aecs_time_parse(text, &t), AECS_OK);
    return t;
}

static json_t *milan_expected(void)
{
    json_error_t err;
    json_t *j = json_load_file(MILAN "expected.json", 0, &err);

    assert_non_null(j);
    return j;
}

static const char *exp_str(json_t *exp, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(exp, "report"), key));

    assert_non_null(s);
    return s;
}

static void assert_hex(const uint8_t *data, size_t size, const char *want)
{
    char buf[2 * 128 + 1];

    assert_true(size <= 128);
    aecs_hex_encode(data, size, buf);
    assert_string_equal(buf, want);
}

static uint8_t *milan_report(size_t *size)
{
    uint8_t *r = read_all(MILAN "report.bin", size);

    assert_int_equal(*size, AECS_SNP_REPORT_SIZE);
    return r;
}

static struct aecs_snp_collateral *milan_collateral(void)
{
    struct aecs_snp_collateral *col = NULL;

    assert_int_equal(aecs_snp_collateral_load_dir(MILAN, &col), AECS_OK);
    return col;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void assert_stage(const struct aecs_snp_result *r, const char *stage,
                         enum aecs_snp_error code, const char *what)
{
    if (r->verified || r->stage == NULL || strcmp(r->stage, stage) != 0 || r->error != code) {
        print_error("%s: expected [%s] %s, got verified=%d [%s] %s: %s\n", what, stage,
                    aecs_snp_error_name(code), r->verified, r->stage ? r->stage : "-",
                    aecs_snp_error_name(r->error), r->message);
        fail();
    }
}

static void verify_with(const uint8_t *report, size_t size, const struct aecs_snp_collateral *col,
                        const char *at, struct aecs_snp_result *r)
{
    aecs_snp_verify(report, size, col, time_of(at), r);
}

/* A scratch folder with copies of some files of the Milan set. */
static void scratch_dir(char *dir, size_t size, const char *const *files)
{
    char cmd[1024];

    snprintf(dir, size, "/tmp/aecs-snp-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; files[i] != NULL; i++) {
        snprintf(cmd, sizeof(cmd), "cp %s '%s'/", files[i], dir);
        assert_int_equal(system(cmd), 0);
    }
}

static void remove_dir(const char *dir)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- the Milan set verifies, with the values the source states ---- */

static void test_milan_verifies(void **state)
{
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_collateral *col = milan_collateral();
    struct aecs_snp_result *r = calloc(1, sizeof(*r));
    json_t *exp = milan_expected();
    json_t *rep = json_object_get(exp, "report");

    (void)state;
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(exp, "expected"), "result")), "ok");
    verify_with(report, size, col, AT_OK, r);
    if (!r->verified)
        print_error("%s\n", r->message);
    assert_true(r->verified);
    assert_null(r->stage);
    assert_int_equal(r->error, AECS_SNP_OK);
    assert_false(r->collateral_expired);
    assert_int_equal(r->product, AECS_AMD_MILAN);
    /* The window is the VCEK's: ASK and ARK run until 2045. */
    const char *nb = json_string_value(json_array_get(json_object_get(rep, "vcek_validity"), 0));
    const char *na = json_string_value(json_array_get(json_object_get(rep, "vcek_validity"), 1));
    assert_int_equal(r->valid_from, time_of(nb));
    assert_int_equal(r->valid_until, time_of(na));

    const struct aecs_snp_report *s = &r->report;
    assert_int_equal(s->version, json_integer_value(json_object_get(rep, "version")));
    assert_int_equal(s->guest_svn, json_integer_value(json_object_get(rep, "guest_svn")));
    assert_int_equal(s->policy, strtoull(exp_str(exp, "policy"), NULL, 16));
    assert_false(s->policy & AECS_SNP_POLICY_DEBUG);
    assert_int_equal(s->vmpl, json_integer_value(json_object_get(rep, "vmpl")));
    assert_int_equal(s->signature_algo, json_integer_value(json_object_get(rep, "signature_algo")));
    assert_int_equal(s->platform_info, strtoull(exp_str(exp, "platform_info"), NULL, 16));
    assert_int_equal(s->signing_key, AECS_SNP_KEY_VCEK);
    assert_string_equal(exp_str(exp, "signing_key"), "VCEK");
    assert_hex(s->report_data, 64, exp_str(exp, "report_data"));
    assert_hex(s->measurement, 48, exp_str(exp, "measurement"));
    assert_hex(s->host_data, 32, exp_str(exp, "host_data"));
    assert_hex(s->chip_id, 64, exp_str(exp, "chip_id"));
    assert_hex(s->reported_tcb_raw, 8, exp_str(exp, "reported_tcb_raw"));
    json_t *tcb = json_object_get(rep, "reported_tcb");
    assert_int_equal(s->reported_tcb.bootloader,
                     json_integer_value(json_object_get(tcb, "bootloader")));
    assert_int_equal(s->reported_tcb.tee, json_integer_value(json_object_get(tcb, "tee")));
    assert_int_equal(s->reported_tcb.snp, json_integer_value(json_object_get(tcb, "snp")));
    assert_int_equal(s->reported_tcb.microcode,
                     json_integer_value(json_object_get(tcb, "microcode")));
    tcb = json_object_get(rep, "launch_tcb");
    assert_int_equal(s->launch_tcb.microcode,
                     json_integer_value(json_object_get(tcb, "microcode")));
    char fw[16];
    snprintf(fw, sizeof(fw), "%u.%u.%u", s->current_major, s->current_minor, s->current_build);
    assert_string_equal(fw, exp_str(exp, "current_fw"));

    /* The VCEK extensions as expected.json lists them. */
    json_t *ext = json_object_get(rep, "vcek_ext");
    assert_string_equal(r->vek.product_name,
                        json_string_value(json_object_get(ext, AECS_AMD_KDS_OID ".2")));
    assert_int_equal(r->vek.struct_version,
                     json_integer_value(json_object_get(ext, AECS_AMD_KDS_OID ".1")));
    assert_int_equal(r->vek.bl_spl,
                     json_integer_value(json_object_get(ext, AECS_AMD_KDS_OID ".3.1")));
    assert_int_equal(r->vek.tee_spl,
                     json_integer_value(json_object_get(ext, AECS_AMD_KDS_OID ".3.2")));
    assert_int_equal(r->vek.snp_spl,
                     json_integer_value(json_object_get(ext, AECS_AMD_KDS_OID ".3.3")));
    assert_int_equal(r->vek.ucode_spl,
                     json_integer_value(json_object_get(ext, AECS_AMD_KDS_OID ".3.8")));
    assert_int_equal(r->vek.hwid_size, 64);
    assert_hex(r->vek.hwid, 64, json_string_value(json_object_get(ext, AECS_AMD_KDS_OID ".4")));
    assert_false(r->vek.is_vlek);
    assert_false(r->vek.has_fmc_spl);
    assert_string_equal(r->ark_cn, "ARK-Milan");
    assert_string_equal(r->ask_cn, "SEV-Milan");

    json_decref(exp);
    free(r);
    aecs_snp_collateral_free(col);
    free(report);
}

/* The JSON verdict has the DCAP verdict's fields, with SNP's values. */
static void test_milan_json(void **state)
{
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_collateral *col = milan_collateral();
    struct aecs_snp_result *r = calloc(1, sizeof(*r));
    json_t *exp = milan_expected();

    (void)state;
    verify_with(report, size, col, AT_OK, r);
    json_t *o = aecs_snp_result_to_json(r);
    assert_true(json_is_true(json_object_get(o, "verified")));
    assert_string_equal(json_string_value(json_object_get(o, "platform")), "snp");
    assert_true(json_is_null(json_object_get(o, "status")));
    assert_true(json_is_null(json_object_get(o, "qv_result")));
    assert_int_equal(json_array_size(json_object_get(o, "advisory_ids")), 0);
    assert_true(json_is_false(json_object_get(o, "collateral_expired")));
    assert_null(json_object_get(o, "error"));
    json_t *c = json_object_get(o, "claims");
    assert_string_equal(json_string_value(json_object_get(c, "measurement")),
                        exp_str(exp, "measurement"));
    assert_string_equal(json_string_value(json_object_get(c, "policy")), exp_str(exp, "policy"));
    assert_true(json_is_false(json_object_get(c, "debug")));
    assert_string_equal(json_string_value(json_object_get(c, "signing_key")), "vcek");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "reported_tcb"), "raw")),
        exp_str(exp, "reported_tcb_raw"));
    json_decref(o);

    /* Not verified: the error object names stage and code. */
    report[21] ^= 0x80;
    verify_with(report, size, col, AT_OK, r);
    o = aecs_snp_result_to_json(r);
    json_t *e = json_object_get(o, "error");
    assert_string_equal(json_string_value(json_object_get(e, "stage")), "signature");
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "SNP_REPORT_INVALID_SIGNATURE");
    json_decref(o);

    json_decref(exp);
    free(r);
    aecs_snp_collateral_free(col);
    free(report);
}

/* The collateral folder may hold the chain in any of the KDS shapes, or only the VCEK. */
static void test_collateral_shapes(void **state)
{
    static const char *const only_vcek[] = {MILAN "vcek.der", NULL};
    static const char *const chain_file[] = {MILAN "vcek.der", MILAN "cert_chain.pem", NULL};
    static const char *const split[] = {MILAN "vcek.der", MILAN "ask.pem", MILAN "ark.pem", NULL};
    const char *const *shapes[] = {only_vcek, chain_file, split};
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_result *r = calloc(1, sizeof(*r));
    char dir[64];

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct aecs_snp_collateral *col = NULL;
        scratch_dir(dir, sizeof(dir), shapes[i]);
        assert_int_equal(aecs_snp_collateral_load_dir(dir, &col), AECS_OK);
        verify_with(report, size, col, AT_OK, r);
        if (!r->verified)
            print_error("shape %zu: %s\n", i, r->message);
        assert_true(r->verified);
        aecs_snp_collateral_free(col);
        remove_dir(dir);
    }

    /* No VCEK: the folder is refused, naming the file. */
    static const char *const none[] = {MILAN "cert_chain.pem", NULL};
    struct aecs_snp_collateral *col = NULL;
    scratch_dir(dir, sizeof(dir), none);
    assert_int_equal(aecs_snp_collateral_load_dir(dir, &col), AECS_E_NOT_FOUND);
    assert_non_null(strstr(aecs_err_last()->message, "vcek.der"));
    assert_null(col);
    remove_dir(dir);

    /* A cert_chain.pem with one certificate is not KDS's ASK+ARK. */
    static const char *const short_chain[] = {MILAN "vcek.der", NULL};
    char cmd[256];
    scratch_dir(dir, sizeof(dir), short_chain);
    snprintf(cmd, sizeof(cmd), "cp " MILAN "ask.pem '%s'/cert_chain.pem", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(aecs_snp_collateral_load_dir(dir, &col), AECS_E_FORMAT);
    assert_non_null(strstr(aecs_err_last()->message, "2 certificates"));
    remove_dir(dir);

    free(r);
    free(report);
}

/* ---- the source's negatives ---- */

static void test_report_flip_fails_signature(void **state)
{
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_collateral *col = milan_collateral();
    struct aecs_snp_result *r = calloc(1, sizeof(*r));

    (void)state;
    report[21] ^= 0x80; /* MANIFEST: report signature must fail */
    verify_with(report, size, col, AT_OK, r);
    assert_stage(r, "signature", AECS_SNP_REPORT_INVALID_SIGNATURE, "report[21] ^= 0x80");
    assert_false(r->collateral_expired);

    /* Every signed byte is covered: flip one bit in each 16-byte row of 0..0x29F. */
    report[21] ^= 0x80;
    for (size_t off = 0; off < AECS_SNP_SIGNED_SIZE; off += 16) {
        size_t at = off + (off / 16) % 16;
        struct aecs_snp_report parsed;
        report[at] ^= 0x01;
        if (aecs_snp_report_parse(report, size, &parsed) == AECS_OK) {
            verify_with(report, size, col, AT_OK, r);
            assert_stage(r, "signature", AECS_SNP_REPORT_INVALID_SIGNATURE, "signed byte flip");
        }
        report[at] ^= 0x01;
    }
    /* The signature itself: R and S. */
    for (size_t off = 0x2A0; off < 0x2A0 + 144; off += 9) {
        report[off] ^= 0x04;
        verify_with(report, size, col, AT_OK, r);
        assert_stage(r, "signature", AECS_SNP_REPORT_INVALID_SIGNATURE, "R/S flip");
        report[off] ^= 0x04;
    }
    /* R above 384 bits (its 72-byte field's high part) is refused before any curve math. */
    struct aecs_snp_report parsed;
    assert_int_equal(aecs_snp_report_parse(report, size, &parsed), AECS_OK);
    parsed.sig_r[60] = 1;
    struct aecs_cert *vcek = cert_of(MILAN "vcek.der");
    assert_int_equal(aecs_snp_check_signature(&parsed, vcek), AECS_E_BAD_SIGNATURE);
    parsed.sig_r[60] = 0;
    assert_int_equal(aecs_snp_check_signature(&parsed, vcek), AECS_OK);
    aecs_cert_free(vcek);

    free(r);
    aecs_snp_collateral_free(col);
    free(report);
}

static void test_vcek_flip_fails_chain(void **state)
{
    static const char *const files[] = {MILAN "report.bin", MILAN "cert_chain.pem", NULL};
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    size_t vsize = 0;
    uint8_t *vcek = read_all(MILAN "vcek.der", &vsize);
    struct aecs_snp_result *r = calloc(1, sizeof(*r));
    struct aecs_snp_collateral *col = NULL;
    char dir[64];
    char path[128];

    (void)state;
    scratch_dir(dir, sizeof(dir), files);
    vcek[40] ^= 0xff; /* MANIFEST: chain must fail */
    snprintf(path, sizeof(path), "%s/vcek.der", dir);
    assert_int_equal(aecs_file_write_atomic(path, vcek, vsize, 0600), AECS_OK);
    assert_int_equal(aecs_snp_collateral_load_dir(dir, &col), AECS_OK);
    verify_with(report, size, col, AT_OK, r);
    assert_stage(r, "chain", AECS_SNP_CERT_CHAIN_ERROR, "vcek.der[40] ^= 0xff");
    aecs_snp_collateral_free(col);

    /* A flip in the VCEK's signature value: the RSA-PSS signature fails. */
    vcek[40] ^= 0xff;
    vcek[vsize - 10] ^= 0x01;
    assert_int_equal(aecs_file_write_atomic(path, vcek, vsize, 0600), AECS_OK);
    assert_int_equal(aecs_snp_collateral_load_dir(dir, &col), AECS_OK);
    verify_with(report, size, col, AT_OK, r);
    assert_stage(r, "chain", AECS_SNP_CERT_CHAIN_ERROR, "VCEK signature flip");
    assert_non_null(strstr(r->message, "does not verify"));
    aecs_snp_collateral_free(col);

    remove_dir(dir);
    free(vcek);
    free(r);
    free(report);
}

/* ---- parsing ---- */

struct field {
    size_t offset;
    const char *name;
};

/* ABI #56860 ATTESTATION_REPORT, with this parser's field names. */
static const struct field k_fields_v2[] = {
    {0x000, "version"},
    {0x004, "guest_svn"},
    {0x008, "policy"},
    {0x010, "family_id"},
    {0x020, "image_id"},
    {0x030, "vmpl"},
    {0x034, "signature_algo"},
    {0x038, "current_tcb"},
    {0x040, "platform_info"},
    {0x048, "flags"},
    {0x04C, "reserved0"},
    {0x050, "report_data"},
    {0x090, "measurement"},
    {0x0C0, "host_data"},
    {0x0E0, "id_key_digest"},
    {0x110, "author_key_digest"},
    {0x140, "report_id"},
    {0x160, "report_id_ma"},
    {0x180, "reported_tcb"},
    {0x188, "reserved1"},
    {0x1A0, "chip_id"},
    {0x1E0, "committed_tcb"},
    {0x1E8, "current_build"},
    {0x1E9, "current_minor"},
    {0x1EA, "current_major"},
    {0x1EB, "reserved2"},
    {0x1EC, "committed_build"},
    {0x1ED, "committed_minor"},
    {0x1EE, "committed_major"},
    {0x1EF, "reserved3"},
    {0x1F0, "launch_tcb"},
    {0x1F8, "reserved4"},
    {0x2A0, "signature.r"},
    {0x2E8, "signature.s"},
    {0x330, "signature.reserved"},
    {0x4A0, NULL},
};

static const struct field k_fields_v3[] = {
    {0x180, "reported_tcb"}, {0x188, "cpuid_fam_id"}, {0x189, "cpuid_mod_id"},
    {0x18A, "cpuid_step"},   {0x18B, "reserved1"},    {0x1A0, NULL},
};

static const struct field k_fields_v5[] = {
    {0x1F0, "launch_tcb"},
    {0x1F8, "launch_mit_vector"},
    {0x200, "current_mit_vector"},
    {0x208, "reserved4"},
    {0x2A0, NULL},
};

/* The name of the field holding byte `off` in a report of `version`. */
static const char *field_at(uint32_t version, size_t off)
{
    const char *name = NULL;

    for (size_t i = 0; k_fields_v2[i].name != NULL; i++) {
        if (k_fields_v2[i].offset <= off)
            name = k_fields_v2[i].name;
    }
    const struct field *extra = version == 3 ? k_fields_v3 : version == 5 ? k_fields_v5 : NULL;
    if (version == 5 && off >= 0x188 && off < 0x1A0) /* v5 has the CPUID bytes too */
        extra = k_fields_v3;
    for (size_t i = 0; extra != NULL && extra[i].name != NULL; i++) {
        if (extra[i].offset <= off && off < extra[i + 1].offset)
            name = extra[i].name;
    }
    return name;
}

/* Every truncation fails with AECS_E_TRUNCATED naming the field it cuts, for v2, v3 and v5. */
static void test_truncation(void **state)
{
    static const uint32_t versions[] = {2, 3, 5};
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_report *parsed = calloc(1, sizeof(*parsed));
    struct aecs_snp_collateral *col = milan_collateral();
    struct aecs_snp_result *r = calloc(1, sizeof(*r));
    char want[96];

    (void)state;
    for (size_t v = 0; v < 3; v++) {
        put_le32(report, versions[v]);
        assert_int_equal(aecs_snp_report_parse(report, size, parsed), AECS_OK);
        for (size_t cut = 0; cut < size; cut++) {
            int rc = aecs_snp_report_parse(report, cut, parsed);
            const char *name = field_at(versions[v], cut);
            if (rc != AECS_E_TRUNCATED)
                print_error("v%u cut at %zu: %d %s\n", versions[v], cut, rc,
                            aecs_err_last()->message);
            assert_int_equal(rc, AECS_E_TRUNCATED);
            snprintf(want, sizeof(want), "field '%s'", name);
            if (strstr(aecs_err_last()->message, want) == NULL) {
                print_error("v%u cut at %zu: expected %s in: %s\n", versions[v], cut, want,
                            aecs_err_last()->message);
                fail();
            }
        }
        /* A byte too many is trailing data. */
        uint8_t *longer = calloc(1, size + 1);
        memcpy(longer, report, size);
        assert_int_equal(aecs_snp_report_parse(longer, size + 1, parsed), AECS_E_TRAILING_DATA);
        free(longer);
    }
    /* Through the verifier: stage parse, SNP_REPORT_MALFORMED. */
    put_le32(report, 2);
    verify_with(report, 0x1A0, col, AT_OK, r);
    assert_stage(r, "parse", AECS_SNP_REPORT_MALFORMED, "truncated in chip_id");
    assert_non_null(strstr(r->message, "chip_id"));
    assert_false(r->report_parsed);

    free(r);
    aecs_snp_collateral_free(col);
    free(parsed);
    free(report);
}

static void test_versions(void **state)
{
    static const uint32_t bad[] = {0, 1, 4, 6, 0x100, 0xffffffffu};
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_report *p = calloc(1, sizeof(*p));
    struct aecs_snp_collateral *col = milan_collateral();
    struct aecs_snp_result *r = calloc(1, sizeof(*r));

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put_le32(report, bad[i]);
        assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_E_UNSUPPORTED);
        assert_non_null(strstr(aecs_err_last()->message, "version"));
        verify_with(report, size, col, AT_OK, r);
        assert_stage(r, "parse", AECS_SNP_REPORT_FORMAT_UNSUPPORTED, "wrong version");
    }

    /* v3 (ABI 1.56): CPUID family/model/stepping at 0x188..0x18A name the product. */
    put_le32(report, 3);
    report[0x188] = 0x19; /* Milan: family 19h, model 01h */
    report[0x189] = 0x01;
    report[0x18A] = 0x01;
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_OK);
    assert_int_equal(p->version, 3);
    assert_true(p->has_cpuid);
    assert_int_equal(p->cpuid_fam_id, 0x19);
    assert_int_equal(p->cpuid_step, 0x01);
    assert_int_equal(p->product, AECS_AMD_MILAN);
    assert_false(p->has_mit_vectors);
    /* Same TCB layout as v2 on Milan. */
    assert_int_equal(p->reported_tcb.snp, 8);
    assert_int_equal(p->reported_tcb.microcode, 115);
    report[0x189] = 0x11; /* Genoa: model 11h */
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_OK);
    assert_int_equal(p->product, AECS_AMD_GENOA);
    report[0x188] = 0x1A; /* Turin: family 1Ah, model 02h */
    report[0x189] = 0x02;
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_OK);
    assert_int_equal(p->product, AECS_AMD_TURIN);
    /* ABI Table 3 (Turin): FMC, BOOT_LOADER, TEE, SNP, 3 reserved, MICROCODE. */
    static const uint8_t turin_tcb[8] = {1, 2, 3, 4, 0, 0, 0, 5};
    memcpy(report + 0x180, turin_tcb, 8);
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_OK);
    assert_true(p->reported_tcb.turin_layout);
    assert_int_equal(p->reported_tcb.fmc, 1);
    assert_int_equal(p->reported_tcb.bootloader, 2);
    assert_int_equal(p->reported_tcb.tee, 3);
    assert_int_equal(p->reported_tcb.snp, 4);
    assert_int_equal(p->reported_tcb.microcode, 5);
    /* The same bytes in the Milan/Genoa layout: BOOT_LOADER, TEE, 4 reserved, SNP, MICROCODE. */
    aecs_snp_report_set_product(p, AECS_AMD_GENOA);
    assert_false(p->reported_tcb.turin_layout);
    assert_int_equal(p->reported_tcb.bootloader, 1);
    assert_int_equal(p->reported_tcb.tee, 2);
    assert_int_equal(p->reported_tcb.snp, 0);
    assert_int_equal(p->reported_tcb.microcode, 5);
    assert_int_equal(p->reported_tcb.raw, 0x0500000004030201ull);
    /* A v3 report's reserved range starts after the CPUID bytes. */
    report[0x18B] = 1;
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_E_FORMAT);
    assert_non_null(strstr(aecs_err_last()->message, "reserved1"));
    report[0x18B] = 0;

    /* v5 (ABI 1.58): LAUNCH_MIT_VECTOR at 0x1F8, CURRENT_MIT_VECTOR at 0x200. */
    put_le32(report, 5);
    report[0x1F8] = 0x0f;
    report[0x207] = 0x80;
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_OK);
    assert_true(p->has_mit_vectors);
    assert_int_equal(p->launch_mit_vector, 0x0f);
    assert_int_equal(p->current_mit_vector, 0x8000000000000000ull);
    report[0x208] = 1;
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_E_FORMAT);
    assert_non_null(strstr(aecs_err_last()->message, "reserved4"));
    report[0x208] = 0;
    /* ... which are reserved in a v3 report. */
    put_le32(report, 3);
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_E_FORMAT);
    assert_non_null(strstr(aecs_err_last()->message, "reserved4"));
    /* ... and the CPUID bytes are reserved in a v2 report. */
    report[0x1F8] = report[0x207] = 0;
    put_le32(report, 2);
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_E_FORMAT);
    assert_non_null(strstr(aecs_err_last()->message, "reserved1"));

    free(r);
    aecs_snp_collateral_free(col);
    free(p);
    free(report);
}

/* Reserved fields, the signature algorithm and SIGNING_KEY. */
static void test_reserved_and_flags(void **state)
{
    static const struct {
        size_t offset;
        uint8_t value;
        int rc;
        const char *names;
    } cases[] = {
        {0x04C, 0x01, AECS_E_FORMAT, "reserved0"},
        {0x04B, 0x80, AECS_E_FORMAT, "flags"},            /* flags bit 31 */
        {0x048, 0x20, AECS_E_FORMAT, "flags"},            /* flags bit 5 */
        {0x048, 0x08, AECS_E_UNSUPPORTED, "SIGNING_KEY"}, /* SIGNING_KEY 2 */
        {0x048, 0x18, AECS_E_UNSUPPORTED, "SIGNING_KEY"}, /* SIGNING_KEY 6 */
        {0x034, 0x02, AECS_E_UNSUPPORTED, "signature_algo"},
        {0x18F, 0x01, AECS_E_FORMAT, "reserved1"},
        {0x1EB, 0x01, AECS_E_FORMAT, "reserved2"},
        {0x1EF, 0x01, AECS_E_FORMAT, "reserved3"},
        {0x29F, 0x01, AECS_E_FORMAT, "reserved4"},
        {0x330, 0x01, AECS_E_FORMAT, "signature.reserved"},
        {0x49F, 0x01, AECS_E_FORMAT, "signature.reserved"},
        {0x00A, 0x00, AECS_E_FORMAT, "policy bit 17"}, /* POLICY[17] must be one */
    };
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_report *p = calloc(1, sizeof(*p));
    struct aecs_snp_collateral *col = milan_collateral();
    struct aecs_snp_result *r = calloc(1, sizeof(*r));

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t old = report[cases[i].offset];
        report[cases[i].offset] = cases[i].value;
        int rc = aecs_snp_report_parse(report, size, p);
        if (rc != cases[i].rc || strstr(aecs_err_last()->message, cases[i].names) == NULL) {
            print_error("byte 0x%zx = 0x%02x: rc %d, %s\n", cases[i].offset, cases[i].value, rc,
                        aecs_err_last()->message);
            fail();
        }
        verify_with(report, size, col, AT_OK, r);
        assert_stage(r, "parse",
                     cases[i].rc == AECS_E_UNSUPPORTED ? AECS_SNP_REPORT_FORMAT_UNSUPPORTED
                                                       : AECS_SNP_REPORT_MALFORMED,
                     cases[i].names);
        report[cases[i].offset] = old;
    }

    /* Flags that parse: AUTHOR_KEY_EN, MASK_CHIP_ID, SIGNING_KEY 1 and 7. */
    report[0x048] = 0x01 | 0x02 | (1 << 2);
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_OK);
    assert_true(p->author_key_en);
    assert_true(p->mask_chip_id);
    assert_int_equal(p->signing_key, AECS_SNP_KEY_VLEK);
    report[0x048] = 7 << 2;
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_OK);
    assert_int_equal(p->signing_key, AECS_SNP_KEY_NONE);
    /* An unsigned report is never verified. */
    verify_with(report, size, col, AT_OK, r);
    assert_stage(r, "parse", AECS_SNP_REPORT_FORMAT_UNSUPPORTED, "SIGNING_KEY 7");
    /* DEBUG (policy bit 19) is reported as such. */
    report[0x048] = 0;
    report[0x00A] |= 0x08;
    assert_int_equal(aecs_snp_report_parse(report, size, p), AECS_OK);
    json_t *c = aecs_snp_claims_json(p);
    assert_true(json_is_true(json_object_get(c, "debug")));
    assert_string_equal(json_string_value(json_object_get(c, "policy")), "0xb0000");
    json_decref(c);

    free(r);
    aecs_snp_collateral_free(col);
    free(p);
    free(report);
}

/* ---- identity and TCB, on their own ---- */

struct parsed_milan {
    struct aecs_snp_report report;
    struct aecs_amd_vek_ext vek;
};

static struct parsed_milan *parse_milan(void)
{
    struct parsed_milan *m = calloc(1, sizeof(*m));
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_cert *vcek = cert_of(MILAN "vcek.der");

    assert_int_equal(aecs_snp_report_parse(report, size, &m->report), AECS_OK);
    assert_int_equal(aecs_amd_vek_ext_parse(vcek, &m->vek), AECS_OK);
    aecs_cert_free(vcek);
    free(report);
    return m;
}

static void test_chip_id(void **state)
{
    struct parsed_milan *m = parse_milan();
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_collateral *col = milan_collateral();
    struct aecs_snp_result *r = calloc(1, sizeof(*r));

    (void)state;
    assert_int_equal(aecs_snp_check_identity(&m->report, &m->vek), AECS_OK);
    /* Any byte of the 64-byte CHIP_ID matters on Milan. */
    for (size_t i = 0; i < 64; i += 9) {
        m->report.chip_id[i] ^= 0x01;
        assert_int_equal(aecs_snp_check_identity(&m->report, &m->vek), AECS_E_MISMATCH);
        assert_non_null(strstr(aecs_err_last()->message, "CHIP_ID"));
        m->report.chip_id[i] ^= 0x01;
    }
    /* MASK_CHIP_ID: the firmware zeroes CHIP_ID, and there is nothing to compare. */
    memset(m->report.chip_id, 0, 64);
    assert_int_equal(aecs_snp_check_identity(&m->report, &m->vek), AECS_E_MISMATCH);
    m->report.mask_chip_id = 1;
    assert_int_equal(aecs_snp_check_identity(&m->report, &m->vek), AECS_OK);
    char path[512];
    assert_int_equal(aecs_snp_kds_vcek_path(&m->report, AECS_AMD_MILAN, path, sizeof(path)),
                     AECS_E_INVALID_ARGUMENT);

    /* Through the verifier the signature stage comes first: CHIP_ID is signed. */
    report[0x1A0] ^= 0x01;
    verify_with(report, size, col, AT_OK, r);
    assert_stage(r, "signature", AECS_SNP_REPORT_INVALID_SIGNATURE, "flipped CHIP_ID");
    report[0x1A0] ^= 0x01;
    report[0x048] |= 0x02; /* MASK_CHIP_ID set after signing */
    verify_with(report, size, col, AT_OK, r);
    assert_stage(r, "signature", AECS_SNP_REPORT_INVALID_SIGNATURE, "MASK_CHIP_ID flipped");

    /* A v3 report whose CPUID names another product than the VCEK. */
    m->report.mask_chip_id = 0;
    memcpy(m->report.chip_id, m->vek.hwid, 64);
    m->report.has_cpuid = 1;
    m->report.cpuid_fam_id = 0x19;
    m->report.cpuid_mod_id = 0x11; /* Genoa */
    assert_int_equal(aecs_snp_check_identity(&m->report, &m->vek), AECS_E_MISMATCH);
    assert_non_null(strstr(aecs_err_last()->message, "Genoa"));
    m->report.cpuid_mod_id = 0x01; /* Milan */
    assert_int_equal(aecs_snp_check_identity(&m->report, &m->vek), AECS_OK);

    free(r);
    aecs_snp_collateral_free(col);
    free(report);
    free(m);
}

static void test_tcb(void **state)
{
    static const char *const names[8] = {"bootloader", "tee",    "byte 2", "byte 3",
                                         "byte 4",     "byte 5", "snp",    "microcode"};
    struct parsed_milan *m = parse_milan();
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_collateral *col = milan_collateral();
    struct aecs_snp_result *r = calloc(1, sizeof(*r));

    (void)state;
    /* MANIFEST: the VCEK's TCB OIDs equal reported_tcb. */
    assert_int_equal(aecs_snp_check_tcb(&m->report, &m->vek), AECS_OK);
    assert_memory_equal(m->vek.tcb, m->report.reported_tcb_raw, 8);
    /* Each byte of REPORTED_TCB in the Milan layout, named in the message. */
    for (int i = 0; i < 8; i++) {
        m->report.reported_tcb_raw[i] ^= 0x01;
        assert_int_equal(aecs_snp_check_tcb(&m->report, &m->vek), AECS_E_MISMATCH);
        if (strstr(aecs_err_last()->message, names[i]) == NULL) {
            print_error("byte %d: %s\n", i, aecs_err_last()->message);
            fail();
        }
        m->report.reported_tcb_raw[i] ^= 0x01;
    }
    /* A lower or higher VCEK is a mismatch too: the VCEK is for exactly one TCB. */
    m->vek.ucode_spl = 114;
    assert_int_equal(aecs_snp_check_tcb(&m->report, &m->vek), AECS_E_MISMATCH);
    m->vek.ucode_spl = 115;
    assert_int_equal(aecs_snp_check_tcb(&m->report, &m->vek), AECS_OK);

    /* Through the verifier: REPORTED_TCB is signed, so the signature fails first. */
    report[0x187] ^= 0x01;
    verify_with(report, size, col, AT_OK, r);
    assert_stage(r, "signature", AECS_SNP_REPORT_INVALID_SIGNATURE, "flipped REPORTED_TCB");

    free(r);
    aecs_snp_collateral_free(col);
    free(report);
    free(m);
}

/* ---- chains and products ---- */

static void test_turin_vcek(void **state)
{
    struct aecs_cert *vcek = cert_of(TURIN "vcek.der");
    struct aecs_amd_vek_ext *e = calloc(1, sizeof(*e));
    size_t size = 0;
    uint8_t *data = read_all(TURIN "cert_chain.pem", &size);
    struct aecs_certs *chain = NULL;
    const struct aecs_amd_root *root = aecs_amd_root_for(AECS_AMD_TURIN);
    struct aecs_cert *ark = NULL;
    struct aecs_cert *milan_ark = cert_of(ROOTS "milan_ark.pem");

    (void)state;
    assert_int_equal(aecs_amd_vek_ext_parse(vcek, e), AECS_OK);
    /* MANIFEST: productName Turin, 8-byte hwID, fmcSPL (.3.9) present. */
    assert_string_equal(e->product_name, "Turin");
    assert_int_equal(e->product, AECS_AMD_TURIN);
    assert_int_equal(e->struct_version, 1);
    assert_int_equal(e->hwid_size, 8);
    assert_false(e->is_vlek);
    assert_true(e->has_fmc_spl);
    assert_true(e->spl_present & (1u << 9));
    assert_false(e->spl_present & (1u << 4));
    /* Values from `openssl asn1parse` of the certificate. */
    assert_hex(e->hwid, 8, "1e550a8ee5cf9f4d");
    assert_int_equal(e->fmc_spl, 0);
    assert_int_equal(e->bl_spl, 0);
    assert_int_equal(e->ucode_spl, 9);
    /* Turin TCB_VERSION layout: FMC, BL, TEE, SNP, 3 reserved, MICROCODE. */
    static const uint8_t want_tcb[8] = {0, 0, 0, 0, 0, 0, 0, 9};
    assert_memory_equal(e->tcb, want_tcb, 8);
    assert_int_equal(aecs_amd_check_p384_key(vcek), AECS_OK);
    assert_int_equal(aecs_amd_check_pss_sha384(vcek), AECS_OK);

    /* It chains to the pinned Turin ARK through KDS's Turin ASK, and not to Milan's. */
    assert_int_equal(aecs_certs_parse(data, size, &chain), AECS_OK);
    assert_int_equal(aecs_certs_count(chain), 2);
    assert_non_null(root);
    assert_int_equal(aecs_cert_parse(root->ark_der, root->ark_size, &ark), AECS_OK);
    assert_true(aecs_cert_equal(ark, aecs_certs_get(chain, 1)));
    assert_int_equal(aecs_snp_check_chain(vcek, aecs_certs_get(chain, 0), ark), AECS_OK);
    assert_int_not_equal(aecs_snp_check_chain(vcek, aecs_certs_get(chain, 0), milan_ark), AECS_OK);

    /* Identity on Turin: hwID is CHIP_ID's first 8 bytes. */
    struct aecs_snp_report *rep = calloc(1, sizeof(*rep));
    rep->version = 3;
    rep->has_cpuid = 1;
    rep->cpuid_fam_id = 0x1A;
    rep->cpuid_mod_id = 0x02;
    rep->signing_key = AECS_SNP_KEY_VCEK;
    memcpy(rep->chip_id, e->hwid, 8);
    memcpy(rep->reported_tcb_raw, want_tcb, 8);
    assert_int_equal(aecs_snp_check_identity(rep, e), AECS_OK);
    assert_int_equal(aecs_snp_check_tcb(rep, e), AECS_OK);
    rep->chip_id[7] ^= 0x01;
    assert_int_equal(aecs_snp_check_identity(rep, e), AECS_E_MISMATCH);
    rep->chip_id[7] ^= 0x01;
    rep->reported_tcb_raw[0] = 1; /* FMC */
    assert_int_equal(aecs_snp_check_tcb(rep, e), AECS_E_MISMATCH);
    assert_non_null(strstr(aecs_err_last()->message, "fmc"));
    rep->reported_tcb_raw[0] = 0;

    /* The KDS path: Turin, 16 hex digits, fmcSPL first (KDS spec, AMD's snpguest). */
    char path[512];
    assert_int_equal(aecs_snp_kds_vcek_path(rep, AECS_AMD_TURIN, path, sizeof(path)), AECS_OK);
    assert_string_equal(
        path, "/vcek/v1/Turin/1e550a8ee5cf9f4d?fmcSPL=0&blSPL=0&teeSPL=0&snpSPL=0&ucodeSPL=9");

    free(rep);
    aecs_cert_free(milan_ark);
    aecs_cert_free(ark);
    aecs_certs_free(chain);
    free(data);
    free(e);
    aecs_cert_free(vcek);
}

static void test_milan_not_genoa(void **state)
{
    struct aecs_cert *vcek = cert_of(MILAN "vcek.der");
    struct aecs_cert *milan_ask = cert_of(ROOTS "milan_ask.pem");
    struct aecs_cert *milan_ark = cert_of(ROOTS "milan_ark.pem");
    struct aecs_cert *genoa_ask = cert_of(ROOTS "genoa_ask.pem");
    struct aecs_cert *genoa_ark = cert_of(ROOTS "genoa_ark.pem");
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_result *r = calloc(1, sizeof(*r));
    struct aecs_snp_collateral col = {0};

    (void)state;
    assert_int_equal(aecs_snp_check_chain(vcek, milan_ask, milan_ark), AECS_OK);
    assert_int_not_equal(aecs_snp_check_chain(vcek, genoa_ask, genoa_ark), AECS_OK);
    assert_int_not_equal(aecs_snp_check_chain(vcek, milan_ask, genoa_ark), AECS_OK);
    assert_int_not_equal(aecs_snp_check_chain(vcek, genoa_ask, milan_ark), AECS_OK);

    /* A Genoa ARK in the collateral is refused: only the pinned ARK is trusted. */
    col.vcek = vcek;
    col.ark = genoa_ark;
    verify_with(report, size, &col, AT_OK, r);
    assert_stage(r, "chain", AECS_SNP_CERT_CHAIN_ERROR, "Genoa ARK given");
    assert_non_null(strstr(r->message, "pinned"));
    /* A Genoa ASK with the Milan VCEK does not chain. */
    col.ark = NULL;
    col.ask = genoa_ask;
    verify_with(report, size, &col, AT_OK, r);
    assert_stage(r, "chain", AECS_SNP_CERT_CHAIN_ERROR, "Genoa ASK given");
    /* The pinned ARK given explicitly is fine. */
    col.ask = milan_ask;
    col.ark = milan_ark;
    verify_with(report, size, &col, AT_OK, r);
    assert_true(r->verified);

    /* The pinned certificates are exactly those of tests/data/snp/amd_roots. */
    static const struct {
        enum aecs_amd_product p;
        const char *ark, *ask;
    } pins[] = {
        {AECS_AMD_MILAN, ROOTS "milan_ark.pem", ROOTS "milan_ask.pem"},
        {AECS_AMD_GENOA, ROOTS "genoa_ark.pem", ROOTS "genoa_ask.pem"},
        {AECS_AMD_TURIN, ROOTS "turin_ark.pem", ROOTS "turin_ask.pem"},
    };
    for (size_t i = 0; i < 3; i++) {
        const struct aecs_amd_root *root = aecs_amd_root_for(pins[i].p);
        struct aecs_cert *a = NULL, *b = NULL;
        struct aecs_cert *fa = cert_of(pins[i].ark), *fb = cert_of(pins[i].ask);
        assert_non_null(root);
        assert_int_equal(aecs_cert_parse(root->ark_der, root->ark_size, &a), AECS_OK);
        assert_int_equal(aecs_cert_parse(root->ask_der, root->ask_size, &b), AECS_OK);
        assert_true(aecs_cert_equal(a, fa));
        assert_true(aecs_cert_equal(b, fb));
        /* The ASK did not issue itself. */
        assert_int_equal(aecs_snp_check_chain(b, b, a), AECS_E_MISMATCH);
        aecs_cert_free(a);
        aecs_cert_free(b);
        aecs_cert_free(fa);
        aecs_cert_free(fb);
    }
    assert_null(aecs_amd_root_for(AECS_AMD_PRODUCT_UNKNOWN));

    free(r);
    free(report);
    aecs_cert_free(genoa_ark);
    aecs_cert_free(genoa_ask);
    aecs_cert_free(milan_ark);
    aecs_cert_free(milan_ask);
    aecs_cert_free(vcek);
}

/* The signing key of the report selects the certificate; each must be of its kind. */
static void test_signing_key_selection(void **state)
{
    struct aecs_cert *vcek = cert_of(MILAN "vcek.der");
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_result *r = calloc(1, sizeof(*r));
    struct aecs_snp_collateral col = {0};

    (void)state;
    col.vlek = vcek;
    verify_with(report, size, &col, AT_OK, r);
    assert_stage(r, "chain", AECS_SNP_VEK_MISSING, "VCEK report, only a vlek.der");
    assert_non_null(strstr(r->message, "vcek.der"));
    /* A report that says VLEK (SIGNING_KEY 1) with a VCEK certificate as vlek.der. */
    report[0x048] = 1 << 2;
    verify_with(report, size, &col, AT_OK, r);
    assert_stage(r, "chain", AECS_SNP_VEK_INVALID, "VCEK given as vlek.der");
    assert_non_null(strstr(r->message, "VCEK certificate"));
    col.vlek = NULL;
    verify_with(report, size, &col, AT_OK, r);
    assert_stage(r, "chain", AECS_SNP_VEK_MISSING, "VLEK report, no vlek.der");

    free(r);
    free(report);
    aecs_cert_free(vcek);
}

/* Certificates that are not what AMD issues are refused by the AMD checks. */
static void test_not_amd_certs(void **state)
{
    struct aecs_cert *intel = cert_of("tests/data/dcap/sgx_v3_dcapqvl/trusted_root.der");
    struct aecs_cert *ark = cert_of(ROOTS "milan_ark.pem");
    struct aecs_amd_vek_ext *e = calloc(1, sizeof(*e));
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_result *r = calloc(1, sizeof(*r));
    struct aecs_snp_collateral col = {0};

    (void)state;
    /* Intel's root: ECDSA-signed, P-256, no KDS extensions. */
    assert_int_equal(aecs_amd_check_pss_sha384(intel), AECS_E_MISMATCH);
    assert_non_null(strstr(aecs_err_last()->message, "RSASSA-PSS"));
    assert_int_equal(aecs_amd_check_p384_key(intel), AECS_E_MISMATCH);
    assert_int_equal(aecs_amd_vek_ext_parse(intel, e), AECS_E_FORMAT);
    assert_non_null(strstr(aecs_err_last()->message, "structVersion"));
    /* The ARK: RSA key, no KDS extensions. */
    assert_int_equal(aecs_amd_check_p384_key(ark), AECS_E_MISMATCH);
    assert_int_equal(aecs_amd_check_pss_sha384(ark), AECS_OK);
    /* As the VCEK of a verification: stage chain, SNP_VEK_INVALID. */
    col.vcek = intel;
    verify_with(report, size, &col, AT_OK, r);
    assert_stage(r, "chain", AECS_SNP_VEK_INVALID, "Intel root as VCEK");

    assert_int_equal(aecs_amd_product_from_name("Milan-B0"), AECS_AMD_MILAN);
    assert_int_equal(aecs_amd_product_from_name("Genoa"), AECS_AMD_GENOA);
    assert_int_equal(aecs_amd_product_from_name("Turin-B1"), AECS_AMD_TURIN);
    assert_int_equal(aecs_amd_product_from_name("Milano"), AECS_AMD_PRODUCT_UNKNOWN);
    assert_int_equal(aecs_amd_product_from_name(""), AECS_AMD_PRODUCT_UNKNOWN);

    free(r);
    free(report);
    free(e);
    aecs_cert_free(ark);
    aecs_cert_free(intel);
}

/* ---- expiry ---- */

static void test_expiry(void **state)
{
    size_t size = 0;
    uint8_t *report = milan_report(&size);
    struct aecs_snp_collateral *col = milan_collateral();
    struct aecs_snp_result *r = calloc(1, sizeof(*r));
    int64_t nb = time_of(VCEK_NOT_BEFORE);
    int64_t na = time_of(VCEK_NOT_AFTER);

    (void)state;
    /* One second after the VCEK's notAfter: expired, never verified. */
    aecs_snp_verify(report, size, col, na + 1, r);
    assert_stage(r, "expiry", AECS_SNP_COLLATERAL_EXPIRED, "after notAfter");
    assert_true(r->collateral_expired);
    assert_non_null(strstr(r->message, "expired"));
    assert_true(r->report_parsed);
    /* The window's last second and first second are valid; aecs treats the end as exclusive. */
    aecs_snp_verify(report, size, col, na - 1, r);
    assert_true(r->verified);
    aecs_snp_verify(report, size, col, na, r);
    assert_stage(r, "expiry", AECS_SNP_COLLATERAL_EXPIRED, "at notAfter");
    aecs_snp_verify(report, size, col, nb, r);
    assert_true(r->verified);
    aecs_snp_verify(report, size, col, nb - 1, r);
    assert_stage(r, "expiry", AECS_SNP_COLLATERAL_EXPIRED, "before notBefore");
    assert_non_null(strstr(r->message, "not yet valid"));
    /* A bad signature is reported as such, with the expiry flag still set. */
    report[21] ^= 0x80;
    aecs_snp_verify(report, size, col, na + 1, r);
    assert_stage(r, "signature", AECS_SNP_REPORT_INVALID_SIGNATURE, "bad signature, expired");
    assert_true(r->collateral_expired);

    free(r);
    aecs_snp_collateral_free(col);
    free(report);
}

/* ---- KDS ---- */

static void test_kds_path(void **state)
{
    struct parsed_milan *m = parse_milan();
    json_t *exp = milan_expected();
    char path[512];
    char want[512];

    (void)state;
    /* KDS spec #57230: /vcek/v1/{product}/{hwid}?blSPL=&teeSPL=&snpSPL=&ucodeSPL= */
    snprintf(want, sizeof(want), "/vcek/v1/Milan/%s?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115",
             exp_str(exp, "chip_id"));
    assert_int_equal(aecs_snp_kds_vcek_path(&m->report, AECS_AMD_MILAN, path, sizeof(path)),
                     AECS_OK);
    assert_string_equal(path, want);
    assert_int_equal(aecs_snp_kds_vcek_path(&m->report, AECS_AMD_MILAN, path, 40),
                     AECS_E_TOO_LARGE);
    assert_int_equal(
        aecs_snp_kds_vcek_path(&m->report, AECS_AMD_PRODUCT_UNKNOWN, path, sizeof(path)),
        AECS_E_INVALID_ARGUMENT);
    m->report.signing_key = AECS_SNP_KEY_VLEK;
    assert_int_equal(aecs_snp_kds_vcek_path(&m->report, AECS_AMD_MILAN, path, sizeof(path)),
                     AECS_E_INVALID_ARGUMENT);
    json_decref(exp);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_milan_verifies),
        cmocka_unit_test(test_milan_json),
        cmocka_unit_test(test_collateral_shapes),
        cmocka_unit_test(test_report_flip_fails_signature),
        cmocka_unit_test(test_vcek_flip_fails_chain),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_reserved_and_flags),
        cmocka_unit_test(test_chip_id),
        cmocka_unit_test(test_tcb),
        cmocka_unit_test(test_turin_vcek),
        cmocka_unit_test(test_milan_not_genoa),
        cmocka_unit_test(test_signing_key_selection),
        cmocka_unit_test(test_not_amd_certs),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_kds_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
