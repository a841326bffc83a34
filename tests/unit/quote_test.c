/*
 * quote_test.c - unit tests for src/attest/quote.c: Intel DCAP quotes v3 (SGX),
 * v4 (TDX, TD report 1.0) and v5 (TD report 1.5).
 *
 * Expected values come from outside the parser: each set's expected.json
 * (header, report and QE fields from the independent cross-check), the layout
 * sizes of Intel's "SGX ECDSA Quote Library API" and "TDX DCAP Quoting Library
 * API" documents (header 48, SGX report 384, TD report 1.0 584 and 1.5 648, v5
 * body descriptor 2+4, signature 64, attestation key 64, QE report 384 ...),
 * and cryptographic facts: the quote signature verifies over exactly the signed
 * region only if the parser found that region, the QE report signature verifies
 * with the PCK leaf key, and the QE report data starts with
 * SHA-256(attestation key || QE auth data).
 *
 * Mutations are made at offsets computed from the spec layout, never from the
 * parser's own output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "attest/quote.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

/* Spec sizes (Intel SGX ECDSA Quote Library API, TDX DCAP Quoting Library API). */
#define HEADER 48
#define V5_BODY_DESCRIPTOR 6 /* body type u16 + body size u32 */
#define SIG_DATA_LEN_FIELD 4
#define ECDSA_SIG 64
#define ATT_KEY 64
#define QE_REPORT 384
#define CERT_TYPE_FIELD 2
#define CERT_SIZE_FIELD 4

static void assert_msg_has(const char *needle)
{
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", MSG(), needle);
}

/* One vector: the quote bytes and expected.json. */
struct vec {
    const char *set;
    uint8_t *quote;
    size_t size;
    json_t *exp;
    int version;
    size_t body_len;     /* expected.json header.body_len */
    size_t sig_data_len; /* expected.json header.sig_data_len */
    size_t trailing;     /* expected.json header.trailing_bytes */
};

static void vec_load(struct vec *v, const char *set)
{
    memset(v, 0, sizeof(*v));
    v->set = set;
    v->quote = tu_read_dcap(set, "quote.bin", &v->size);
    v->exp = tu_dcap_expected(set);
    v->version = (int)tu_json_int(v->exp, "header.version");
    v->body_len = (size_t)tu_json_int(v->exp, "header.body_len");
    v->sig_data_len = (size_t)tu_json_int(v->exp, "header.sig_data_len");
    v->trailing = (size_t)tu_json_int(v->exp, "header.trailing_bytes");
}

static void vec_free(struct vec *v)
{
    free(v->quote);
    json_decref(v->exp);
}

/* Offsets from the spec layout and expected.json. */
static size_t off_sig_len(const struct vec *v)
{
    return HEADER + (v->version == 5 ? V5_BODY_DESCRIPTOR : 0) + v->body_len;
}

static size_t off_sig_data(const struct vec *v)
{
    return off_sig_len(v) + SIG_DATA_LEN_FIELD;
}

static size_t end_of_sig_data(const struct vec *v)
{
    return off_sig_data(v) + v->sig_data_len;
}

/* Start of the QE report (v3: right after the key; v4/v5: after the type-6 header). */
static size_t off_qe_report(const struct vec *v)
{
    return off_sig_data(v) + ECDSA_SIG + ATT_KEY +
           (v->version == 3 ? 0 : CERT_TYPE_FIELD + CERT_SIZE_FIELD);
}

static size_t off_qe_auth_size(const struct vec *v)
{
    return off_qe_report(v) + QE_REPORT + ECDSA_SIG;
}

static void put_le16(uint8_t *p, uint16_t x)
{
    p[0] = (uint8_t)x;
    p[1] = (uint8_t)(x >> 8);
}

static void put_le32(uint8_t *p, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Parses a private exact-size copy, so ASan catches any read past `size`. */
static int parse_copy(const uint8_t *data, size_t size, struct aecs_quote *q, uint8_t **keep)
{
    uint8_t *copy = malloc(size ? size : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, data, size);
    rc = aecs_quote_parse(copy, size, q);
    if (keep != NULL)
        *keep = copy;
    else
        free(copy);
    return rc;
}

static void expect_hex(const char *set, const char *field, const uint8_t *got, size_t size,
                       const char *hex)
{
    uint8_t want[128];

    assert_true(size <= sizeof(want));
    tu_hex(hex, want, size);
    if (memcmp(got, want, size) != 0) {
        char g[257];
        tu_hex_encode(got, size, g);
        fail_msg("%s: %s = %s, want %s", set, field, g, hex);
    }
}

/* ============================================================== every vector */

static void check_header(const struct vec *v, const struct aecs_quote *q)
{
    const json_t *e = v->exp;
    uint8_t vendor[16];

    assert_int_equal(q->version, tu_json_int(e, "header.version"));
    assert_int_equal(q->att_key_type, tu_json_int(e, "header.att_key_type"));
    assert_int_equal(q->tee_type, strtoul(tu_json_str(e, "header.tee_type"), NULL, 16));
    if (q->version == 3) {
        assert_int_equal(q->qe_svn, tu_json_int(e, "header.qe_svn"));
        assert_int_equal(q->pce_svn, tu_json_int(e, "header.pce_svn"));
    }
    tu_hex(tu_json_str(e, "header.qe_vendor_id"), vendor, 16);
    assert_memory_equal(q->qe_vendor_id, vendor, 16);
    /* Intel's QE vendor id, 939A7233-F79C-4CA9-940A-0DB3957F0607 */
    assert_memory_equal(g_aecs_intel_qe_vendor_id, vendor, 16);
    assert_int_equal(q->body_type, tu_json_int(e, "header.body_type"));
    assert_int_equal(q->body_size, tu_json_int(e, "header.body_len"));
    assert_int_equal(q->sig_data_size, tu_json_int(e, "header.sig_data_len"));
    assert_int_equal(q->cert_type, tu_json_int(e, "header.cert_type"));
    assert_int_equal(q->qe_auth_size, tu_json_int(e, "header.qe_auth_len"));
    assert_int_equal(q->trailing_size, tu_json_int(e, "header.trailing_bytes"));
    assert_memory_equal(q->user_data, v->quote + 28, 20); /* header bytes 28..47 */
}

static void check_layout(const struct vec *v, const struct aecs_quote *q)
{
    /* what the attestation key signs: header and body (v5: with the body descriptor) */
    size_t want_signed = v->version == 3   ? HEADER + AECS_SGX_REPORT_SIZE
                         : v->version == 4 ? HEADER + AECS_TD10_REPORT_SIZE
                                           : HEADER + V5_BODY_DESCRIPTOR + v->body_len;
    assert_ptr_equal(q->signed_data, v->quote);
    assert_int_equal(q->signed_size, want_signed);
    assert_ptr_equal(q->body, v->quote + HEADER + (v->version == 5 ? V5_BODY_DESCRIPTOR : 0));
    assert_ptr_equal(q->signature, v->quote + off_sig_data(v));
    assert_ptr_equal(q->attest_key, v->quote + off_sig_data(v) + ECDSA_SIG);
    assert_ptr_equal(q->qe_report_raw, v->quote + off_qe_report(v));
    assert_ptr_equal(q->qe_report_sig, v->quote + off_qe_report(v) + QE_REPORT);
    assert_ptr_equal(q->qe_auth_data, v->quote + off_qe_auth_size(v) + 2);
    assert_ptr_equal(q->cert_data, v->quote + off_qe_auth_size(v) + 2 + q->qe_auth_size +
                                       CERT_TYPE_FIELD + CERT_SIZE_FIELD);
    /* the certification data runs to the end of the signature data */
    assert_ptr_equal(q->cert_data + q->cert_size, v->quote + end_of_sig_data(v));
    assert_int_equal(v->size, end_of_sig_data(v) + v->trailing);
    if (v->version != 3)
        assert_int_equal(q->outer_cert_type, 6);
}

static void check_report(const struct vec *v, const struct aecs_quote *q)
{
    const json_t *e = v->exp;
    const char *s = v->set;

    if (tu_json_path(e, "report") == NULL)
        return; /* neg_tdx_v4_intel_qvl_sample_testroot lists header and pck_ext only */
    if (q->body_type == AECS_BODY_SGX) {
        expect_hex(s, "mrenclave", q->sgx.mrenclave, 32, tu_json_str(e, "report.mrenclave"));
        expect_hex(s, "mrsigner", q->sgx.mrsigner, 32, tu_json_str(e, "report.mrsigner"));
        assert_int_equal(q->sgx.isvprodid, tu_json_int(e, "report.isvprodid"));
        assert_int_equal(q->sgx.isvsvn, tu_json_int(e, "report.isvsvn"));
        expect_hex(s, "cpusvn", q->sgx.cpusvn, 16, tu_json_str(e, "report.cpusvn"));
        expect_hex(s, "attributes", q->sgx.attributes, 16, tu_json_str(e, "report.attributes"));
        assert_int_equal(q->sgx.miscselect, tu_json_int(e, "report.miscselect"));
        expect_hex(s, "reportdata", q->sgx.report_data, 64, tu_json_str(e, "report.reportdata"));
        return;
    }
    expect_hex(s, "tee_tcb_svn", q->td.tee_tcb_svn, 16, tu_json_str(e, "report.tee_tcb_svn"));
    expect_hex(s, "mrseam", q->td.mrseam, 48, tu_json_str(e, "report.mrseam"));
    expect_hex(s, "mrsignerseam", q->td.mrsignerseam, 48, tu_json_str(e, "report.mrsignerseam"));
    expect_hex(s, "seam_attributes", q->td.seam_attributes, 8,
               tu_json_str(e, "report.seam_attributes"));
    expect_hex(s, "td_attributes", q->td.td_attributes, 8, tu_json_str(e, "report.td_attributes"));
    expect_hex(s, "xfam", q->td.xfam, 8, tu_json_str(e, "report.xfam"));
    expect_hex(s, "mrtd", q->td.mrtd, 48, tu_json_str(e, "report.mrtd"));
    expect_hex(s, "rtmr0", q->td.rtmr[0], 48, tu_json_str(e, "report.rtmr0"));
    expect_hex(s, "reportdata", q->td.report_data, 64, tu_json_str(e, "report.reportdata"));
    assert_int_equal(q->td.is_td15, q->body_type == AECS_BODY_TD15);
    if (q->body_type == AECS_BODY_TD15) {
        expect_hex(s, "tee_tcb_svn2", q->td.tee_tcb_svn2, 16,
                   tu_json_str(e, "report.tee_tcb_svn2"));
        expect_hex(s, "mrservicetd", q->td.mrservicetd, 48, tu_json_str(e, "report.mrservicetd"));
    }
}

static void check_qe(const struct vec *v, const struct aecs_quote *q)
{
    const json_t *e = v->exp;
    const char *s = v->set;

    if (tu_json_path(e, "qe") == NULL)
        return;
    assert_int_equal(q->qe_report.isvsvn, tu_json_int(e, "qe.isvsvn"));
    assert_int_equal(q->qe_report.isvprodid, tu_json_int(e, "qe.isvprodid"));
    expect_hex(s, "qe.mrsigner", q->qe_report.mrsigner, 32, tu_json_str(e, "qe.mrsigner"));
    assert_int_equal(q->qe_report.miscselect, tu_json_int(e, "qe.miscselect"));
    expect_hex(s, "qe.attributes", q->qe_report.attributes, 16, tu_json_str(e, "qe.attributes"));
}

/* Signatures verify only over the regions the parser found (crypto facts, not parser output). */
static void check_signatures(const struct vec *v, const struct aecs_quote *q)
{
    struct aecs_pubkey *att = NULL;
    uint8_t digest[32];
    uint8_t *buf;

    assert_int_equal(aecs_pubkey_from_p256_xy(q->attest_key, &att), AECS_OK);
    int rc =
        aecs_ecdsa_verify_rs(att, AECS_SHA256, q->signed_data, q->signed_size, q->signature, 64);
    if (rc != AECS_OK)
        fail_msg("%s: quote signature over the signed region: %s", v->set, MSG());
    aecs_pubkey_free(att);

    /* QE report data = SHA-256(attestation key || QE auth data) || 32 zero bytes */
    buf = malloc(64 + q->qe_auth_size);
    assert_non_null(buf);
    memcpy(buf, q->attest_key, 64);
    memcpy(buf + 64, q->qe_auth_data, q->qe_auth_size);
    aecs_sha256(buf, 64 + q->qe_auth_size, digest);
    free(buf);
    assert_memory_equal(q->qe_report.report_data, digest, 32);

    /* the QE report is signed by the PCK leaf */
    size_t pem_size = 0;
    uint8_t *pem = tu_read_dcap(v->set, "pck_chain.pem", &pem_size);
    struct aecs_certs *chain = NULL;
    assert_int_equal(aecs_certs_parse(pem, pem_size, &chain), AECS_OK);
    assert_int_equal(aecs_certs_order_chain(chain), AECS_OK);
    rc = aecs_ecdsa_verify_rs(aecs_cert_pubkey(aecs_certs_get(chain, 0)), AECS_SHA256,
                              q->qe_report_raw, QE_REPORT, q->qe_report_sig, 64);
    if (rc != AECS_OK)
        fail_msg("%s: QE report signature: %s", v->set, MSG());
    aecs_certs_free(chain);

    /* type 5 copied from the quote: the certification data is pck_chain.pem byte for byte */
    if (q->cert_type == 5 && q->cert_size == pem_size)
        assert_memory_equal(q->cert_data, pem, pem_size);
    free(pem);
}

static void test_every_vector_parses(void **state)
{
    (void)state;
    size_t same_as_pem = 0;

    assert_true(tu_dcap_set_count() >= 9);
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;
        uint8_t *copy = NULL;

        vec_load(&v, tu_dcap_set(i));
        /* parse the file's own buffer, so pointers can be compared with it */
        int rc = aecs_quote_parse(v.quote, v.size, &q);
        if (rc != AECS_OK)
            fail_msg("%s: quote parse %d: %s", v.set, rc, MSG());
        check_header(&v, &q);
        check_layout(&v, &q);
        check_report(&v, &q);
        check_qe(&v, &q);
        check_signatures(&v, &q);
        size_t pem_size = 0;
        uint8_t *pem = tu_read_dcap(v.set, "pck_chain.pem", &pem_size);
        same_as_pem +=
            q.cert_type == 5 && q.cert_size == pem_size && memcmp(q.cert_data, pem, pem_size) == 0;
        free(pem);

        /* and an exact-size copy parses the same */
        assert_int_equal(parse_copy(v.quote, v.size, &q, &copy), AECS_OK);
        assert_int_equal(q.sig_data_size, v.sig_data_len);
        free(copy);
        vec_free(&v);
    }
    /* MANIFEST.md: seven sets' pck_chain.pem were byte-copied out of the quote */
    assert_int_equal(same_as_pem, 7);
}

/* The TDX sample whose type 5 data holds DER certificates (MANIFEST.md). */
static void test_cert_data_der_in_intel_tdx_sample(void **state)
{
    (void)state;
    struct vec v;
    struct aecs_quote q;
    struct aecs_certs *certs = NULL;

    vec_load(&v, "neg_tdx_v4_intel_qvl_sample_testroot");
    assert_int_equal(aecs_quote_parse(v.quote, v.size, &q), AECS_OK);
    assert_int_equal(q.cert_type, 5);
    assert_int_equal(q.cert_data[0], 0x30);
    assert_int_equal(aecs_certs_parse(q.cert_data, q.cert_size, &certs), AECS_OK);
    assert_true(aecs_certs_count(certs) >= 1);
    aecs_certs_free(certs);
    vec_free(&v);
}

/* ===================================================================== truncation */

static void test_truncation_at_every_offset(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;

        vec_load(&v, tu_dcap_set(i));
        size_t end = end_of_sig_data(&v);
        assert_true(end <= v.size);
        for (size_t n = 0; n < end; n++) {
            int rc = parse_copy(v.quote, n, &q, NULL);
            if (rc == AECS_OK)
                fail_msg("%s: a quote cut to %zu of %zu bytes parsed", v.set, n, end);
            /* only the bytes that are there are missing: a short buffer is "truncated" */
            if (rc != AECS_E_TRUNCATED)
                fail_msg("%s: cut to %zu bytes: got %d (%s), want AECS_E_TRUNCATED", v.set, n, rc,
                         MSG());
        }
        /* from the end of the signature data on, the rest is padding */
        for (size_t n = end; n <= v.size; n += (v.size - end) / 7 + 1) {
            assert_int_equal(parse_copy(v.quote, n, &q, NULL), AECS_OK);
            assert_int_equal(q.trailing_size, n - end);
        }
        vec_free(&v);
    }
}

/* Truncation messages name the structure and the field. */
static void test_truncation_messages_name_fields(void **state)
{
    (void)state;
    struct vec v;
    struct aecs_quote q;

    vec_load(&v, "sgx_v3_dcapqvl");
    assert_int_equal(parse_copy(v.quote, 1, &q, NULL), AECS_E_TRUNCATED);
    assert_msg_has("version");
    assert_int_equal(parse_copy(v.quote, HEADER + 10, &q, NULL), AECS_E_TRUNCATED);
    assert_msg_has("report_body");
    assert_int_equal(parse_copy(v.quote, off_sig_len(&v) + 2, &q, NULL), AECS_E_TRUNCATED);
    assert_msg_has("signature_data");
    vec_free(&v);
}

/* ====================================================================== mutations */

static int parse_mutated(const struct vec *v, size_t off, const uint8_t *bytes, size_t n,
                         struct aecs_quote *q)
{
    uint8_t *copy = malloc(v->size);
    int rc;

    assert_non_null(copy);
    memcpy(copy, v->quote, v->size);
    assert_true(off + n <= v->size);
    memcpy(copy + off, bytes, n);
    rc = aecs_quote_parse(copy, v->size, q);
    free(copy);
    return rc;
}

static int with_u16(const struct vec *v, size_t off, uint16_t x, struct aecs_quote *q)
{
    uint8_t b[2];

    put_le16(b, x);
    return parse_mutated(v, off, b, 2, q);
}

static int with_u32(const struct vec *v, size_t off, uint32_t x, struct aecs_quote *q)
{
    uint8_t b[4];

    put_le32(b, x);
    return parse_mutated(v, off, b, 4, q);
}

static void test_mutation_version(void **state)
{
    (void)state;
    static const uint16_t bad[] = {0, 1, 2, 6, 0xffff};

    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;
        vec_load(&v, tu_dcap_set(i));
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            int rc = with_u16(&v, 0, bad[k], &q);
            if (rc != AECS_E_UNSUPPORTED)
                fail_msg("%s: version %u: got %d", v.set, bad[k], rc);
            assert_msg_has("version");
        }
        vec_free(&v);
    }
}

static void test_mutation_att_key_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;
        vec_load(&v, tu_dcap_set(i));
        /* 2 is ECDSA P-256; 3 (P-384) and 0 are not supported */
        assert_int_equal(with_u16(&v, 2, 3, &q), AECS_E_UNSUPPORTED);
        assert_msg_has("att_key_type");
        assert_int_equal(with_u16(&v, 2, 0, &q), AECS_E_UNSUPPORTED);
        vec_free(&v);
    }
}

static void test_mutation_tee_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;
        vec_load(&v, tu_dcap_set(i));
        assert_int_equal(with_u32(&v, 4, 0x42, &q), AECS_E_UNSUPPORTED);
        assert_int_equal(with_u32(&v, 4, 0x80, &q), AECS_E_UNSUPPORTED);
        if (v.version != 3) {
            assert_msg_has("tee_type");
            /* a TDX quote that claims SGX: the body does not match the TEE */
            int rc = with_u32(&v, 4, AECS_TEE_TYPE_SGX, &q);
            assert_int_not_equal(rc, AECS_OK);
        }
        vec_free(&v);
    }
}

static void test_mutation_v5_body_descriptor(void **state)
{
    (void)state;
    size_t v5 = 0;

    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;
        vec_load(&v, tu_dcap_set(i));
        if (v.version != 5) {
            vec_free(&v);
            continue;
        }
        v5++;
        /* body type at 48, body size at 50 */
        assert_int_equal(get_le16(v.quote + 48), AECS_BODY_TD15);
        assert_int_equal(get_le32(v.quote + 50), AECS_TD15_REPORT_SIZE);
        assert_int_equal(with_u16(&v, 48, 9, &q), AECS_E_UNSUPPORTED);
        assert_msg_has("body_type");
        assert_int_equal(with_u16(&v, 48, 0, &q), AECS_E_UNSUPPORTED);
        assert_int_equal(with_u32(&v, 50, AECS_TD15_REPORT_SIZE + 1, &q), AECS_E_FORMAT);
        assert_msg_has("body_size");
        assert_int_equal(with_u32(&v, 50, AECS_TD10_REPORT_SIZE, &q), AECS_E_FORMAT);
        assert_int_equal(with_u32(&v, 50, 0xffffffffu, &q), AECS_E_FORMAT);
        /* an SGX body type in a TDX quote, with the matching SGX size */
        uint8_t desc[6];
        put_le16(desc, AECS_BODY_SGX);
        put_le32(desc + 2, AECS_SGX_REPORT_SIZE);
        assert_int_equal(parse_mutated(&v, 48, desc, 6, &q), AECS_E_FORMAT);
        /* TD 1.0 type and size in place of TD 1.5: the layout after it no longer adds up */
        put_le16(desc, AECS_BODY_TD10);
        put_le32(desc + 2, AECS_TD10_REPORT_SIZE);
        assert_int_not_equal(parse_mutated(&v, 48, desc, 6, &q), AECS_OK);
        vec_free(&v);
    }
    assert_true(v5 >= 2);
}

static void test_mutation_signature_data_size(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;
        vec_load(&v, tu_dcap_set(i));
        size_t off = off_sig_len(&v);
        assert_int_equal(get_le32(v.quote + off), v.sig_data_len);

        /* one byte more than the file holds */
        uint32_t past = (uint32_t)(v.size - off_sig_data(&v) + 1);
        assert_int_equal(with_u32(&v, off, past, &q), AECS_E_TRUNCATED);
        assert_msg_has("signature_data");
        assert_int_equal(with_u32(&v, off, 0xffffffffu, &q), AECS_E_TRUNCATED);

        /* one byte less: the structures inside overrun it */
        int rc = with_u32(&v, off, (uint32_t)v.sig_data_len - 1, &q);
        if (rc == AECS_OK)
            fail_msg("%s: signature_data.size - 1 parsed", v.set);
        /* one more, when the file has padding: the inner structures end before it */
        if (v.trailing > 0) {
            rc = with_u32(&v, off, (uint32_t)v.sig_data_len + 1, &q);
            if (rc != AECS_E_TRAILING_DATA)
                fail_msg("%s: signature_data.size + 1: got %d, want AECS_E_TRAILING_DATA", v.set,
                         rc);
        }
        /* too small for even the signature and key */
        assert_int_equal(with_u32(&v, off, 100, &q), AECS_E_TRUNCATED);
        assert_int_not_equal(with_u32(&v, off, 0, &q), AECS_OK);
        vec_free(&v);
    }
}

static void test_mutation_gotdx_cert_data_size(void **state)
{
    (void)state;
    struct vec v;
    struct aecs_quote q;
    uint8_t b = 0x10;

    /* go-tdx-guest TestNegativeVerification: quote[0x278] = 0x10 -> size mismatch */
    vec_load(&v, "neg_tdx_v4_gotdx_tcb_not_supported");
    assert_int_equal(off_sig_len(&v), 0x278);
    assert_int_not_equal(parse_mutated(&v, 0x278, &b, 1, &q), AECS_OK);
    /* and [0x00] = 3: the TDX quote read as a v3 quote */
    b = 3;
    assert_int_not_equal(parse_mutated(&v, 0, &b, 1, &q), AECS_OK);
    vec_free(&v);
}

static void test_mutation_outer_cert_type(void **state)
{
    (void)state;
    static const uint16_t bad[] = {0, 1, 5, 7, 0xffff};

    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;
        vec_load(&v, tu_dcap_set(i));
        if (v.version == 3) {
            vec_free(&v);
            continue;
        }
        size_t off = off_sig_data(&v) + ECDSA_SIG + ATT_KEY;
        assert_int_equal(get_le16(v.quote + off), 6);
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            int rc = with_u16(&v, off, bad[k], &q);
            if (rc != AECS_E_UNSUPPORTED)
                fail_msg("%s: outer cert type %u: got %d", v.set, bad[k], rc);
        }
        /* the type-6 size: one more overruns the signature data, one less leaves a byte */
        uint32_t inner = get_le32(v.quote + off + 2);
        assert_int_equal(inner, v.sig_data_len - ECDSA_SIG - ATT_KEY - 6);
        assert_int_equal(with_u32(&v, off + 2, inner + 1, &q), AECS_E_TRUNCATED);
        assert_int_equal(with_u32(&v, off + 2, inner - 1, &q) == AECS_OK, 0);
        vec_free(&v);
    }
}

static void test_mutation_inner_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;
        vec_load(&v, tu_dcap_set(i));
        size_t auth = off_qe_auth_size(&v);
        uint16_t auth_len = get_le16(v.quote + auth);
        assert_int_equal(auth_len, tu_json_int(v.exp, "header.qe_auth_len"));
        size_t type_off = auth + 2 + auth_len;
        size_t size_off = type_off + CERT_TYPE_FIELD;
        uint32_t cert_size = get_le32(v.quote + size_off);
        assert_int_equal(get_le16(v.quote + type_off), tu_json_int(v.exp, "header.cert_type"));
        assert_int_equal(size_off + CERT_SIZE_FIELD + cert_size, end_of_sig_data(&v));

        /* QE auth data longer than what is left */
        assert_int_equal(with_u16(&v, auth, 0xffff, &q), AECS_E_TRUNCATED);
        /* certification data type outside 1..5 */
        assert_int_equal(with_u16(&v, type_off, 0, &q), AECS_E_UNSUPPORTED);
        assert_int_equal(with_u16(&v, type_off, 6, &q), AECS_E_UNSUPPORTED);
        assert_int_equal(with_u16(&v, type_off, 0xffff, &q), AECS_E_UNSUPPORTED);
        assert_msg_has("certification_data.type");
        /* certification data size: one more overruns, one less leaves a trailing byte */
        assert_int_equal(with_u32(&v, size_off, cert_size + 1, &q), AECS_E_TRUNCATED);
        assert_int_equal(with_u32(&v, size_off, cert_size - 1, &q), AECS_E_TRAILING_DATA);
        assert_int_equal(with_u32(&v, size_off, 0xffffffffu, &q), AECS_E_TRUNCATED);
        vec_free(&v);
    }
}

static void test_extra_bytes_after_signature_data(void **state)
{
    (void)state;
    static const size_t extra[] = {1, 17, 4096};

    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        vec_load(&v, tu_dcap_set(i));
        for (size_t k = 0; k < sizeof(extra) / sizeof(extra[0]); k++) {
            struct aecs_quote q;
            uint8_t *longer = malloc(v.size + extra[k]);
            assert_non_null(longer);
            memcpy(longer, v.quote, v.size);
            memset(longer + v.size, 0xa5, extra[k]);
            assert_int_equal(aecs_quote_parse(longer, v.size + extra[k], &q), AECS_OK);
            assert_int_equal(q.trailing_size, v.trailing + extra[k]);
            assert_int_equal(q.sig_data_size, v.sig_data_len);
            free(longer);
        }
        vec_free(&v);
    }
}

/* Decoding a report body at spec offsets. */
static void test_sgx_report_decode(void **state)
{
    (void)state;
    uint8_t raw[AECS_SGX_REPORT_SIZE];
    struct aecs_sgx_report r;

    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)i;
    aecs_sgx_report_decode(raw, &r);
    /* SGX REPORTBODY: cpusvn 0, miscselect 16, isvextprodid 32, attributes 48, mrenclave 64,
       mrsigner 128, configid 192, isvprodid 256, isvsvn 258, configsvn 260,
       isvfamilyid 304, reportdata 320 */
    assert_memory_equal(r.cpusvn, raw, 16);
    assert_int_equal(r.miscselect, 0x13121110u);
    assert_memory_equal(r.isv_ext_prod_id, raw + 32, 16);
    assert_memory_equal(r.attributes, raw + 48, 16);
    assert_memory_equal(r.mrenclave, raw + 64, 32);
    assert_memory_equal(r.mrsigner, raw + 128, 32);
    assert_memory_equal(r.config_id, raw + 192, 64);
    assert_int_equal(r.isvprodid, 0x0100);
    assert_int_equal(r.isvsvn, 0x0302);
    assert_int_equal(r.config_svn, 0x0504);
    assert_memory_equal(r.isv_family_id, raw + 304, 16);
    assert_memory_equal(r.report_data, raw + 320, 64);
}

/* TD report fields at spec offsets, on the v4 and v5 vectors (rtmr1..3, mrconfigid, ...). */
static void test_td_report_offsets(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        struct vec v;
        struct aecs_quote q;
        vec_load(&v, tu_dcap_set(i));
        assert_int_equal(aecs_quote_parse(v.quote, v.size, &q), AECS_OK);
        if (q.body_type == AECS_BODY_SGX) {
            vec_free(&v);
            continue;
        }
        const uint8_t *b = v.quote + HEADER + (v.version == 5 ? V5_BODY_DESCRIPTOR : 0);
        /* TDX module spec, TDREPORT/TD quote body: tee_tcb_svn 0, mrseam 16, mrsignerseam 64,
           seam_attributes 112, td_attributes 120, xfam 128, mrtd 136, mrconfigid 184,
           mrowner 232, mrownerconfig 280, rtmr0..3 328.., reportdata 520;
           1.5 adds tee_tcb_svn2 584, mrservicetd 600 */
        assert_memory_equal(q.td.mrconfigid, b + 184, 48);
        assert_memory_equal(q.td.mrowner, b + 232, 48);
        assert_memory_equal(q.td.mrownerconfig, b + 280, 48);
        for (int k = 0; k < 4; k++)
            assert_memory_equal(q.td.rtmr[k], b + 328 + 48 * k, 48);
        assert_memory_equal(q.td.report_data, b + 520, 64);
        if (q.td.is_td15) {
            assert_memory_equal(q.td.tee_tcb_svn2, b + 584, 16);
            assert_memory_equal(q.td.mrservicetd, b + 600, 48);
        }
        vec_free(&v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_vector_parses),
        cmocka_unit_test(test_cert_data_der_in_intel_tdx_sample),
        cmocka_unit_test(test_truncation_at_every_offset),
        cmocka_unit_test(test_truncation_messages_name_fields),
        cmocka_unit_test(test_mutation_version),
        cmocka_unit_test(test_mutation_att_key_type),
        cmocka_unit_test(test_mutation_tee_type),
        cmocka_unit_test(test_mutation_v5_body_descriptor),
        cmocka_unit_test(test_mutation_signature_data_size),
        cmocka_unit_test(test_mutation_gotdx_cert_data_size),
        cmocka_unit_test(test_mutation_outer_cert_type),
        cmocka_unit_test(test_mutation_inner_fields),
        cmocka_unit_test(test_extra_bytes_after_signature_data),
        cmocka_unit_test(test_sgx_report_decode),
        cmocka_unit_test(test_td_report_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
