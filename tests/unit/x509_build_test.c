/*
 * x509_build_test.c - keys, certificates, CRLs and the SGX extension made by
 * src/crypto/x509_build.c.
 *
 * The SGX extension is checked against Intel's own certificates: built from
 * the values of a real PCK certificate (read off with `openssl asn1parse`),
 * its DER must appear byte for byte inside that certificate. Certificates and
 * CRLs are checked by the independent parts of x509.c (issuer checks run
 * OpenSSL's X509_check_issued and X509_verify); tests/integration/cli_sim.sh
 * also runs `openssl verify` on what the simulator writes.
 */
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

#include "base/file.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "crypto/x509_build.h"
#include "testutil.h"

#define T0 1751328000 /* 2025-07-01T00:00:00Z (checked against timegm in a test) */

static int contains(const uint8_t *hay, size_t hay_size, const uint8_t *needle, size_t size)
{
    return memmem(hay, hay_size, needle, size) != NULL;
}

/* ---- the SGX extension against Intel's certificates ---- */

/* The values of sgx_v3_dcapqvl's PCK certificate, as `openssl asn1parse -strparse` shows them. */
static void test_sgx_ext_matches_intel_processor_cert(void **state)
{
    struct aecs_sgx_ext ext;
    struct aecs_certs *chain = NULL;
    uint8_t *pem;
    uint8_t *der = NULL;
    size_t size = 0;
    size_t der_size = 0;
    size_t cert_size = 0;
    const uint8_t *cert_der;

    (void)state;
    memset(&ext, 0, sizeof(ext));
    tu_hex("D04EC06D4E6D92DC90D0AD3CF5EE2DDF", ext.ppid, 16);
    tu_hex("0B0B0202FF0100000000000000000000", ext.tcb_comp, 16);
    ext.pcesvn = 13;
    tu_hex("0B0B0202FF0100000000000000000000", ext.cpusvn, 16);
    tu_hex("0000", ext.pceid, 2);
    tu_hex("00A067110000", ext.fmspc, 6);
    ext.sgx_type = 0;
    assert_int_equal(aecs_sgx_ext_build_der(&ext, &der, &der_size), AECS_OK);
    assert_int_equal(der_size, 453); /* the OCTET STRING's length in the certificate */

    assert_int_equal(tu_utc("2025-07-01T00:00:00Z"), T0);
    pem = tu_read_dcap("sgx_v3_dcapqvl", "pck_chain.pem", &size);
    assert_int_equal(aecs_certs_parse(pem, size, &chain), AECS_OK);
    cert_der = aecs_cert_der(aecs_certs_get(chain, 0), &cert_size);
    assert_true(contains(cert_der, cert_size, der, der_size));
    free(der);
    aecs_certs_free(chain);
    free(pem);
}

/* Every vector's PCK certificate (Processor and Platform CA, with PIID and Configuration). */
static void test_sgx_ext_rebuilds_every_vector(void **state)
{
    static const char *const sets[] = {
        "sgx_v3_dcapqvl",          "sgx_v3_intel_qvl_sample_testroot",
        "tdx_v4_dcapqvl",          "tdx_v4_automata_jun2025",
        "tdx_v4_automata_jul2025", "neg_tdx_v5_gotdx_mixed_epoch",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        struct aecs_certs *chain = NULL;
        struct aecs_sgx_ext ext;
        struct aecs_sgx_ext back;
        uint8_t *der = NULL;
        size_t der_size = 0;
        size_t size = 0;
        size_t cert_size = 0;

        uint8_t *pem = tu_read_dcap(sets[i], "pck_chain.pem", &size);
        assert_int_equal(aecs_certs_parse(pem, size, &chain), AECS_OK);
        assert_int_equal(aecs_certs_order_chain(chain), AECS_OK);
        const struct aecs_cert *leaf = aecs_certs_get(chain, 0);
        assert_int_equal(aecs_sgx_ext_parse_cert(leaf, &ext), AECS_OK);
        assert_int_equal(aecs_sgx_ext_build_der(&ext, &der, &der_size), AECS_OK);
        const uint8_t *cert_der = aecs_cert_der(leaf, &cert_size);
        if (!contains(cert_der, cert_size, der, der_size)) {
            print_error("%s: rebuilt SGX extension is not the certificate's\n", sets[i]);
            fail();
        }
        assert_int_equal(aecs_sgx_ext_parse_der(der, der_size, &back), AECS_OK);
        assert_memory_equal(&back, &ext, sizeof(ext));
        free(der);
        aecs_certs_free(chain);
        free(pem);
    }
}

static void test_sgx_ext_rejects_bad_type(void **state)
{
    struct aecs_sgx_ext ext;
    uint8_t *der = NULL;
    size_t size = 0;

    (void)state;
    memset(&ext, 0, sizeof(ext));
    ext.sgx_type = 3;
    assert_int_equal(aecs_sgx_ext_build_der(&ext, &der, &size), AECS_E_INVALID_ARGUMENT);
    assert_null(der);
}

/* ---- a small PKI ---- */

struct pki {
    struct aecs_privkey *root_key, *ca_key, *leaf_key;
    struct aecs_cert *root, *ca, *leaf;
};

static void make_pki(struct pki *p, const struct aecs_sgx_ext *ext)
{
    memset(p, 0, sizeof(*p));
    assert_int_equal(aecs_privkey_generate_p256(&p->root_key), AECS_OK);
    assert_int_equal(aecs_privkey_generate_p256(&p->ca_key), AECS_OK);
    assert_int_equal(aecs_privkey_generate_p256(&p->leaf_key), AECS_OK);
    const struct aecs_cert_template root = {
        .subject_cn = "test root",
        .subject_o = "aecs tests",
        .subject_key = p->root_key,
        .not_before = T0,
        .not_after = T0 + 1000,
        .ca = 1,
        .path_len = 1,
        .key_usage = AECS_KU_CERT_SIGN | AECS_KU_CRL_SIGN,
    };
    assert_int_equal(aecs_cert_build(&root, &p->root), AECS_OK);
    const struct aecs_cert_template ca = {
        .subject_cn = "test ca",
        .subject_key = p->ca_key,
        .issuer = p->root,
        .issuer_key = p->root_key,
        .not_before = T0,
        .not_after = T0 + 900,
        .ca = 1,
        .path_len = 0,
        .key_usage = AECS_KU_CERT_SIGN | AECS_KU_CRL_SIGN,
        .crl_uri = "https://example.invalid/ca.crl",
    };
    assert_int_equal(aecs_cert_build(&ca, &p->ca), AECS_OK);
    const struct aecs_cert_template leaf = {
        .subject_cn = "test leaf",
        .subject_key = p->leaf_key,
        .issuer = p->ca,
        .issuer_key = p->ca_key,
        .not_before = T0 + 1,
        .not_after = T0 + 800,
        .path_len = -1,
        .key_usage = AECS_KU_DIGITAL_SIGNATURE | AECS_KU_NON_REPUDIATION,
        .sgx_ext = ext,
    };
    assert_int_equal(aecs_cert_build(&leaf, &p->leaf), AECS_OK);
}

static void free_pki(struct pki *p)
{
    aecs_cert_free(p->root);
    aecs_cert_free(p->ca);
    aecs_cert_free(p->leaf);
    aecs_privkey_free(p->root_key);
    aecs_privkey_free(p->ca_key);
    aecs_privkey_free(p->leaf_key);
}

static void test_cert_chain_links(void **state)
{
    struct pki p;
    char cn[64];
    uint8_t xy[64];
    uint8_t rs[64];
    struct aecs_pubkey *pub = NULL;

    (void)state;
    make_pki(&p, NULL);
    assert_int_equal(aecs_cert_check_issued_by(p.root, p.root), AECS_OK);
    assert_int_equal(aecs_cert_check_issued_by(p.ca, p.root), AECS_OK);
    assert_int_equal(aecs_cert_check_issued_by(p.leaf, p.ca), AECS_OK);
    assert_true(aecs_cert_self_issued(p.root));
    assert_false(aecs_cert_self_issued(p.ca));
    /* the leaf is no CA; the CA did not issue the root */
    assert_int_equal(aecs_cert_check_issued_by(p.leaf, p.leaf), AECS_E_MISMATCH);
    assert_int_equal(aecs_cert_check_issued_by(p.root, p.ca), AECS_E_MISMATCH);
    aecs_cert_subject_cn(p.leaf, cn, sizeof(cn));
    assert_string_equal(cn, "test leaf");
    assert_int_equal(aecs_cert_not_before(p.leaf), T0 + 1);
    assert_int_equal(aecs_cert_not_after(p.leaf), T0 + 800);
    /* the certified key is the subject's */
    assert_int_equal(aecs_privkey_p256_xy(p.leaf_key, xy), AECS_OK);
    assert_int_equal(aecs_pubkey_from_p256_xy(xy, &pub), AECS_OK);
    assert_int_equal(aecs_ecdsa_sign_p256_rs(p.leaf_key, "m", 1, rs), AECS_OK);
    assert_int_equal(aecs_ecdsa_verify_rs(aecs_cert_pubkey(p.leaf), AECS_SHA256, "m", 1, rs, 64),
                     AECS_OK);
    aecs_pubkey_free(pub);
    free_pki(&p);
}

static void test_cert_serials_differ(void **state)
{
    struct pki a;
    struct pki b;

    (void)state;
    make_pki(&a, NULL);
    make_pki(&b, NULL);
    assert_false(aecs_cert_equal(a.root, b.root));
    assert_false(aecs_cert_same_key_and_subject(a.root, b.root));
    free_pki(&a);
    free_pki(&b);
}

static void test_cert_with_sgx_ext_and_pem(void **state)
{
    struct pki p;
    struct aecs_sgx_ext ext;
    struct aecs_sgx_ext got;
    char *pem = NULL;
    size_t size = 0;
    struct aecs_cert *back = NULL;

    (void)state;
    memset(&ext, 0, sizeof(ext));
    memset(ext.ppid, 0xab, 16);
    for (int i = 0; i < 16; i++)
        ext.tcb_comp[i] = (uint8_t)(i * 17);
    ext.pcesvn = 0x1234;
    memset(ext.cpusvn, 0x5a, 16);
    ext.pceid[1] = 1;
    tu_hex("AEC551000000", ext.fmspc, 6);
    ext.sgx_type = 1;
    ext.dynamic_platform = ext.cached_keys = ext.smt_enabled = -1;
    make_pki(&p, &ext);
    assert_int_equal(aecs_sgx_ext_parse_cert(p.leaf, &got), AECS_OK);
    assert_memory_equal(&got, &ext, sizeof(ext));
    assert_int_equal(aecs_sgx_ext_parse_cert(p.ca, &got), AECS_E_FORMAT);

    assert_int_equal(aecs_cert_to_pem(p.leaf, &pem, &size), AECS_OK);
    assert_int_equal(strlen(pem), size);
    assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
    assert_int_equal(aecs_cert_parse((const uint8_t *)pem, size, &back), AECS_OK);
    assert_true(aecs_cert_equal(back, p.leaf));
    aecs_cert_free(back);
    free(pem);
    free_pki(&p);
}

static void test_cert_bad_template(void **state)
{
    struct aecs_privkey *key = NULL;
    struct aecs_cert *cert = NULL;

    (void)state;
    assert_int_equal(aecs_privkey_generate_p256(&key), AECS_OK);
    const struct aecs_cert_template t = {
        .subject_cn = "x",
        .subject_key = key,
        .not_before = T0,
        .not_after = T0,
        .path_len = -1,
    };
    assert_int_equal(aecs_cert_build(&t, &cert), AECS_E_INVALID_ARGUMENT);
    assert_null(cert);
    aecs_privkey_free(key);
}

/* ---- CRLs ---- */

static void test_crl_lists_revoked(void **state)
{
    struct pki p;
    struct aecs_crl *crl = NULL;
    uint8_t *der = NULL;
    size_t size = 0;

    (void)state;
    make_pki(&p, NULL);
    const struct aecs_cert *const revoked[] = {p.leaf};
    const struct aecs_crl_template t = {
        .issuer = p.ca,
        .issuer_key = p.ca_key,
        .this_update = T0 + 10,
        .next_update = T0 + 20,
        .number = 7,
        .revoked = revoked,
        .revoked_count = 1,
    };
    assert_int_equal(aecs_crl_build(&t, &der, &size), AECS_OK);
    assert_int_equal(aecs_crl_parse(der, size, &crl), AECS_OK);
    assert_int_equal(aecs_crl_check_issued_by(crl, p.ca), AECS_OK);
    assert_int_equal(aecs_crl_check_issued_by(crl, p.root), AECS_E_MISMATCH);
    assert_int_equal(aecs_crl_this_update(crl), T0 + 10);
    assert_int_equal(aecs_crl_next_update(crl), T0 + 20);
    assert_true(aecs_crl_lists(crl, p.leaf));
    assert_false(aecs_crl_lists(crl, p.ca));
    aecs_crl_free(crl);
    free(der);
    free_pki(&p);
}

static void test_crl_empty_and_wrong_key(void **state)
{
    struct pki p;
    struct aecs_crl *crl = NULL;
    uint8_t *der = NULL;
    size_t size = 0;

    (void)state;
    make_pki(&p, NULL);
    /* named as the CA's but signed with the root's key: the signature must not verify */
    const struct aecs_crl_template t = {
        .issuer = p.ca,
        .issuer_key = p.root_key,
        .this_update = T0,
        .next_update = T0 + 20,
        .number = 1,
    };
    assert_int_equal(aecs_crl_build(&t, &der, &size), AECS_OK);
    assert_int_equal(aecs_crl_parse(der, size, &crl), AECS_OK);
    assert_false(aecs_crl_lists(crl, p.leaf));
    assert_int_equal(aecs_crl_check_issued_by(crl, p.ca), AECS_E_BAD_SIGNATURE);
    aecs_crl_free(crl);
    free(der);

    const struct aecs_crl_template backwards = {
        .issuer = p.ca,
        .issuer_key = p.ca_key,
        .this_update = T0 + 5,
        .next_update = T0,
    };
    assert_int_equal(aecs_crl_build(&backwards, &der, &size), AECS_E_INVALID_ARGUMENT);
    assert_null(der);
    free_pki(&p);
}

/* ---- key files ---- */

static void test_privkey_save_load(void **state)
{
    char dir[64];
    char path[256];
    char cmd[512];
    struct aecs_privkey *key = NULL;
    struct aecs_privkey *back = NULL;
    uint8_t a[64];
    uint8_t b[64];
    struct stat st;

    (void)state;
    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/k.pem", dir);
    assert_int_equal(aecs_privkey_generate_p256(&key), AECS_OK);
    assert_int_equal(aecs_privkey_save_pem(key, path), AECS_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(aecs_privkey_load_pem(path, &back), AECS_OK);
    assert_int_equal(aecs_privkey_p256_xy(key, a), AECS_OK);
    assert_int_equal(aecs_privkey_p256_xy(back, b), AECS_OK);
    assert_memory_equal(a, b, 64);
    aecs_privkey_free(back);
    back = NULL;

    /* missing file, not a key, a P-384 key (made by the openssl command) */
    snprintf(path, sizeof(path), "%s/none.pem", dir);
    assert_int_equal(aecs_privkey_load_pem(path, &back), AECS_E_NOT_FOUND);
    snprintf(path, sizeof(path), "%s/junk.pem", dir);
    tu_write_file(path, "hello\n", 6);
    assert_int_equal(aecs_privkey_load_pem(path, &back), AECS_E_FORMAT);
    snprintf(path, sizeof(path), "%s/p384.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out '%s' "
             "2>/dev/null",
             path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(aecs_privkey_load_pem(path, &back), AECS_E_FORMAT);
    assert_non_null(strstr(aecs_err_last()->message, "not a P-256"));
    assert_null(back);

    aecs_privkey_free(key);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_ext_matches_intel_processor_cert),
        cmocka_unit_test(test_sgx_ext_rebuilds_every_vector),
        cmocka_unit_test(test_sgx_ext_rejects_bad_type),
        cmocka_unit_test(test_cert_chain_links),
        cmocka_unit_test(test_cert_serials_differ),
        cmocka_unit_test(test_cert_with_sgx_ext_and_pem),
        cmocka_unit_test(test_cert_bad_template),
        cmocka_unit_test(test_crl_lists_revoked),
        cmocka_unit_test(test_crl_empty_and_wrong_key),
        cmocka_unit_test(test_privkey_save_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
