/*
 * crypto_test.c - unit tests for src/crypto: hashes, raw ECDSA P-256 keys and
 * signatures, certificates and chains, CRLs and the SGX PCK extension.
 *
 * Expected values come from outside the code under test: FIPS 180-2 digests
 * (checked with `openssl dgst`), the real Intel signatures in the test vectors
 * (a TCB Info body signed by the TCB signing key verifies only if ECDSA works),
 * dates printed by `openssl crl -lastupdate -nextupdate` and
 * `openssl x509 -fingerprint -sha256`, and the PCK extension fields that the
 * independent cross-check wrote into each set's expected.json.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/codec.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

static void assert_msg_has(const char *needle)
{
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", MSG(), needle);
}

/* ---- helpers ---- */

static struct aecs_certs *load_certs(const char *set, const char *file)
{
    size_t size = 0;
    uint8_t *data = tu_read_dcap(set, file, &size);
    struct aecs_certs *certs = NULL;
    int rc = aecs_certs_parse(data, size, &certs);

    free(data);
    if (rc != AECS_OK)
        fail_msg("%s/%s: certs_parse %d: %s", set, file, rc, MSG());
    return certs;
}

/* A set's PCK chain in leaf-first order. */
static struct aecs_certs *load_pck_chain(const char *set)
{
    struct aecs_certs *certs = load_certs(set, "pck_chain.pem");

    assert_int_equal(aecs_certs_order_chain(certs), AECS_OK);
    return certs;
}

static struct aecs_cert *load_cert(const char *set, const char *file)
{
    size_t size = 0;
    uint8_t *data = tu_read_dcap(set, file, &size);
    struct aecs_cert *cert = NULL;
    int rc = aecs_cert_parse(data, size, &cert);

    free(data);
    if (rc != AECS_OK)
        fail_msg("%s/%s: cert_parse %d: %s", set, file, rc, MSG());
    return cert;
}

static struct aecs_crl *load_crl(const char *set, const char *file)
{
    size_t size = 0;
    uint8_t *data = tu_read_dcap(set, file, &size);
    struct aecs_crl *crl = NULL;
    int rc = aecs_crl_parse(data, size, &crl);

    free(data);
    if (rc != AECS_OK)
        fail_msg("%s/%s: crl_parse %d: %s", set, file, rc, MSG());
    return crl;
}

static void cn_of(const struct aecs_cert *cert, char *buf, size_t size)
{
    aecs_cert_subject_cn(cert, buf, size);
}

/* A copy of a buffer (so ASan sees overreads past exactly `size` bytes). */
static uint8_t *dup_bytes(const void *p, size_t size)
{
    uint8_t *d = malloc(size ? size : 1);

    assert_non_null(d);
    memcpy(d, p, size);
    return d;
}

/* ---- minimal DER walking, written here so tests can cut and rebuild encodings ---- */

/* Header and content length of the TLV at p; 0 when it does not fit in avail. */
static int der_tlv(const uint8_t *p, size_t avail, size_t *hdr, size_t *len)
{
    size_t h = 2;
    size_t l;

    if (avail < 2)
        return 0;
    if (p[1] < 0x80) {
        l = p[1];
    } else {
        size_t nb = p[1] & 0x7f;
        if (nb == 0 || nb > 3 || avail < 2 + nb)
            return 0;
        l = 0;
        for (size_t i = 0; i < nb; i++)
            l = l << 8 | p[2 + i];
        h += nb;
    }
    if (l > avail - h)
        return 0;
    *hdr = h;
    *len = l;
    return 1;
}

/* Writes a tag and length header; returns its size. */
static size_t der_header(uint8_t tag, size_t len, uint8_t *out)
{
    out[0] = tag;
    if (len < 0x80) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 0x100) {
        out[1] = 0x81;
        out[2] = (uint8_t)len;
        return 3;
    }
    out[1] = 0x82;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    return 4;
}

/* The n-th child TLV (start and total size) of the constructed TLV at p. */
static void der_child(const uint8_t *p, size_t avail, size_t n, const uint8_t **child,
                      size_t *child_size)
{
    size_t hdr = 0;
    size_t len = 0;

    assert_true(der_tlv(p, avail, &hdr, &len));
    const uint8_t *c = p + hdr;
    const uint8_t *end = p + hdr + len;
    for (size_t i = 0;; i++) {
        size_t ch = 0;
        size_t cl = 0;
        assert_true(c < end);
        assert_true(der_tlv(c, (size_t)(end - c), &ch, &cl));
        if (i == n) {
            *child = c;
            *child_size = ch + cl;
            return;
        }
        c += ch + cl;
    }
}

static const uint8_t k_sgx_oid_tlv[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                        0xf8, 0x4d, 0x01, 0x0d, 0x01}; /* 1.2.840.113741.1.13.1 */

/* The value (the DER inside the OCTET STRING) of the SGX extension of a PCK certificate. */
static void sgx_ext_value(const struct aecs_cert *cert, const uint8_t **val, size_t *size)
{
    size_t der_size = 0;
    const uint8_t *der = aecs_cert_der(cert, &der_size);
    size_t hdr = 0;
    size_t len = 0;

    for (size_t i = 0; i + sizeof(k_sgx_oid_tlv) < der_size; i++) {
        if (memcmp(der + i, k_sgx_oid_tlv, sizeof(k_sgx_oid_tlv)) != 0)
            continue;
        const uint8_t *p = der + i + sizeof(k_sgx_oid_tlv);
        if (p[0] == 0x01) /* critical BOOLEAN */
            p += 3;
        assert_int_equal(p[0], 0x04);
        assert_true(der_tlv(p, der_size - (size_t)(p - der), &hdr, &len));
        *val = p + hdr;
        *size = len;
        return;
    }
    fail_msg("no SGX extension in the certificate");
}

/* The SubjectPublicKeyInfo of a certificate: tbsCertificate's 7th field (with version). */
static void cert_spki(const struct aecs_cert *cert, const uint8_t **spki, size_t *size)
{
    size_t der_size = 0;
    const uint8_t *der = aecs_cert_der(cert, &der_size);
    const uint8_t *tbs = NULL;
    size_t tbs_size = 0;
    const uint8_t *first = NULL;
    size_t first_size = 0;

    der_child(der, der_size, 0, &tbs, &tbs_size);
    der_child(tbs, tbs_size, 0, &first, &first_size);
    /* version [0] present: SPKI is child 6, else 5 */
    der_child(tbs, tbs_size, first[0] == 0xa0 ? 6 : 5, spki, size);
    assert_int_equal((*spki)[0], 0x30);
}

/* PEM text of DER bytes with the project's base64 (tested on RFC 4648 vectors in base_test). */
static char *to_pem(const char *label, const uint8_t *der, size_t size, size_t *pem_size)
{
    size_t b64_size = aecs_base64_encoded_size(size);
    char *b64 = malloc(b64_size + 1);
    size_t cap = b64_size + b64_size / 64 + 2 + 2 * strlen(label) + 64;
    char *pem = malloc(cap);
    size_t o = 0;

    assert_non_null(b64);
    assert_non_null(pem);
    aecs_base64_encode(der, size, b64);
    o += (size_t)snprintf(pem + o, cap - o, "-----BEGIN %s-----\n", label);
    for (size_t i = 0; i < b64_size; i += 64) {
        size_t n = b64_size - i < 64 ? b64_size - i : 64;
        memcpy(pem + o, b64 + i, n);
        o += n;
        pem[o++] = '\n';
    }
    o += (size_t)snprintf(pem + o, cap - o, "-----END %s-----\n", label);
    free(b64);
    *pem_size = o;
    return pem;
}

/* ======================================================================= hashes */

static void test_sha_fips_vectors(void **state)
{
    (void)state;
    uint8_t out[64];
    uint8_t want[64];

    /* FIPS 180-2 appendix B.1 / C.1 / D.1 ("abc"); same values from `openssl dgst` */
    aecs_sha256("abc", 3, out);
    tu_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    assert_memory_equal(out, want, 32);
    aecs_sha384("abc", 3, out);
    tu_hex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc23"
           "58baeca134c825a7",
           want, 48);
    assert_memory_equal(out, want, 48);
    aecs_sha512("abc", 3, out);
    tu_hex("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a8"
           "36ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
           want, 64);
    assert_memory_equal(out, want, 64);
    /* FIPS 180-2 B.2: the two-block message */
    static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    aecs_sha256(two, strlen(two), out);
    tu_hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", want, 32);
    assert_memory_equal(out, want, 32);
    /* the empty message */
    aecs_sha256("", 0, out);
    tu_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
    assert_memory_equal(out, want, 32);
}

static void test_memory_helpers(void **state)
{
    (void)state;
    uint8_t a[32];
    uint8_t b[32];

    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_int_equal(aecs_ct_memcmp(a, b, sizeof(a)), 0);
    b[31] ^= 1;
    assert_int_not_equal(aecs_ct_memcmp(a, b, sizeof(a)), 0);
    aecs_cleanse(a, sizeof(a));
    for (size_t i = 0; i < sizeof(a); i++)
        assert_int_equal(a[i], 0);
    aecs_cleanse(NULL, 10); /* tolerated */

    assert_int_equal(aecs_random_bytes(a, sizeof(a)), AECS_OK);
    assert_int_equal(aecs_random_bytes(b, sizeof(b)), AECS_OK);
    assert_int_not_equal(memcmp(a, b, sizeof(a)), 0); /* 2^-256 chance of a false failure */
}

/* ======================================================================== ECDSA */

static void test_ecdsa_round_trip(void **state)
{
    (void)state;
    struct aecs_privkey *priv = NULL;
    struct aecs_pubkey *pub = NULL;
    uint8_t xy[64];
    uint8_t rs[64];
    uint8_t digest[32];
    static const char msg[] = "quote header and body";

    assert_int_equal(aecs_privkey_generate_p256(&priv), AECS_OK);
    assert_int_equal(aecs_privkey_p256_xy(priv, xy), AECS_OK);
    assert_int_equal(aecs_pubkey_from_p256_xy(xy, &pub), AECS_OK);
    assert_int_equal(aecs_ecdsa_sign_p256_rs(priv, msg, sizeof(msg), rs), AECS_OK);

    assert_int_equal(aecs_ecdsa_verify_rs(pub, AECS_SHA256, msg, sizeof(msg), rs, 64), AECS_OK);
    aecs_sha256(msg, sizeof(msg), digest);
    assert_int_equal(aecs_ecdsa_verify_rs_digest(pub, digest, 32, rs, 64), AECS_OK);

    /* every single flipped bit of r||s is caught (a sample of positions) */
    for (size_t bit = 0; bit < 512; bit += 37) {
        uint8_t bad[64];
        memcpy(bad, rs, 64);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(aecs_ecdsa_verify_rs(pub, AECS_SHA256, msg, sizeof(msg), bad, 64),
                         AECS_E_BAD_SIGNATURE);
    }
    /* another message, another hash */
    assert_int_equal(aecs_ecdsa_verify_rs(pub, AECS_SHA256, msg, sizeof(msg) - 1, rs, 64),
                     AECS_E_BAD_SIGNATURE);
    assert_int_equal(aecs_ecdsa_verify_rs(pub, AECS_SHA384, msg, sizeof(msg), rs, 64),
                     AECS_E_BAD_SIGNATURE);
    digest[0] ^= 0x80;
    assert_int_equal(aecs_ecdsa_verify_rs_digest(pub, digest, 32, rs, 64), AECS_E_BAD_SIGNATURE);
    /* r = s = 0 is never valid */
    uint8_t zero[64] = {0};
    assert_int_equal(aecs_ecdsa_verify_rs(pub, AECS_SHA256, msg, sizeof(msg), zero, 64),
                     AECS_E_BAD_SIGNATURE);
    /* wrong signature sizes are a usage error */
    assert_int_equal(aecs_ecdsa_verify_rs(pub, AECS_SHA256, msg, sizeof(msg), rs, 63),
                     AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_ecdsa_verify_rs(pub, AECS_SHA256, msg, sizeof(msg), rs, 0),
                     AECS_E_INVALID_ARGUMENT);

    /* a second key does not verify the first key's signature */
    struct aecs_privkey *priv2 = NULL;
    struct aecs_pubkey *pub2 = NULL;
    uint8_t xy2[64];
    assert_int_equal(aecs_privkey_generate_p256(&priv2), AECS_OK);
    assert_int_equal(aecs_privkey_p256_xy(priv2, xy2), AECS_OK);
    assert_int_not_equal(memcmp(xy, xy2, 64), 0);
    assert_int_equal(aecs_pubkey_from_p256_xy(xy2, &pub2), AECS_OK);
    assert_int_equal(aecs_ecdsa_verify_rs(pub2, AECS_SHA256, msg, sizeof(msg), rs, 64),
                     AECS_E_BAD_SIGNATURE);

    /* a reference outlives the original */
    struct aecs_pubkey *ref = aecs_pubkey_ref(pub);
    assert_non_null(ref);
    aecs_pubkey_free(pub);
    assert_int_equal(aecs_ecdsa_verify_rs(ref, AECS_SHA256, msg, sizeof(msg), rs, 64), AECS_OK);

    aecs_pubkey_free(ref);
    aecs_pubkey_free(pub2);
    aecs_privkey_free(priv);
    aecs_privkey_free(priv2);
    aecs_pubkey_free(NULL);
    aecs_privkey_free(NULL);
}

static void test_pubkey_from_xy_rejects_points_off_the_curve(void **state)
{
    (void)state;
    struct aecs_privkey *priv = NULL;
    struct aecs_pubkey *pub = (struct aecs_pubkey *)0x1;
    uint8_t xy[64];

    assert_int_equal(aecs_privkey_generate_p256(&priv), AECS_OK);
    assert_int_equal(aecs_privkey_p256_xy(priv, xy), AECS_OK);
    aecs_privkey_free(priv);

    xy[63] ^= 1; /* y changed: (x, y') is not on the curve */
    assert_int_equal(aecs_pubkey_from_p256_xy(xy, &pub), AECS_E_FORMAT);
    assert_null(pub);
    xy[63] ^= 1;
    xy[0] ^= 0x40; /* x changed */
    assert_int_equal(aecs_pubkey_from_p256_xy(xy, &pub), AECS_E_FORMAT);

    memset(xy, 0, sizeof(xy)); /* (0, 0) */
    assert_int_equal(aecs_pubkey_from_p256_xy(xy, &pub), AECS_E_FORMAT);
    memset(xy, 0xff, sizeof(xy)); /* coordinates above the field prime */
    assert_int_equal(aecs_pubkey_from_p256_xy(xy, &pub), AECS_E_FORMAT);
    assert_null(pub);
}

/* Real Intel signatures: each set's TCB Info and QE Identity bodies, signed by the TCB signing key.
 */
static void verify_signed_body(const char *set, const char *stem)
{
    char name[64];
    size_t body_size = 0;
    size_t sig_size = 0;
    uint8_t rs[64];

    snprintf(name, sizeof(name), "%s.body.json", stem);
    uint8_t *body = tu_read_dcap(set, name, &body_size);
    snprintf(name, sizeof(name), "%s.sig.hex", stem);
    uint8_t *sig = tu_read_dcap(set, name, &sig_size);
    while (sig_size > 0 && (sig[sig_size - 1] == '\n' || sig[sig_size - 1] == '\r'))
        sig[--sig_size] = '\0';
    tu_hex((const char *)sig, rs, 64);
    snprintf(name, sizeof(name), "%s_issuer_chain.pem", stem);
    struct aecs_certs *chain = load_certs(set, name);
    assert_int_equal(aecs_certs_count(chain), 2);
    assert_int_equal(aecs_certs_order_chain(chain), AECS_OK);
    const struct aecs_pubkey *key = aecs_cert_pubkey(aecs_certs_get(chain, 0));

    int rc = aecs_ecdsa_verify_rs(key, AECS_SHA256, body, body_size, rs, 64);
    if (rc != AECS_OK)
        fail_msg("%s %s: signature does not verify: %s", set, stem, MSG());
    uint8_t digest[32];
    aecs_sha256(body, body_size, digest);
    assert_int_equal(aecs_ecdsa_verify_rs_digest(key, digest, 32, rs, 64), AECS_OK);

    /* one changed byte of the signed text */
    body[body_size / 2] ^= 0x01;
    assert_int_equal(aecs_ecdsa_verify_rs(key, AECS_SHA256, body, body_size, rs, 64),
                     AECS_E_BAD_SIGNATURE);
    body[body_size / 2] ^= 0x01;
    /* the root's key did not sign it */
    assert_int_equal(aecs_ecdsa_verify_rs(aecs_cert_pubkey(aecs_certs_get(chain, 1)), AECS_SHA256,
                                          body, body_size, rs, 64),
                     AECS_E_BAD_SIGNATURE);
    aecs_certs_free(chain);
    free(body);
    free(sig);
}

static void test_ecdsa_verifies_intel_collateral_signatures(void **state)
{
    (void)state;
    assert_true(tu_dcap_set_count() >= 9);
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        verify_signed_body(tu_dcap_set(i), "tcb_info");
        verify_signed_body(tu_dcap_set(i), "qe_identity");
    }
}

static void test_pubkey_parse(void **state)
{
    (void)state;
    const char *set = "sgx_v3_dcapqvl";
    struct aecs_certs *chain = NULL;
    struct aecs_pubkey *key = NULL;
    const uint8_t *spki = NULL;
    size_t spki_size = 0;
    size_t body_size = 0;
    size_t sig_size = 0;
    uint8_t rs[64];

    chain = load_certs(set, "tcb_info_issuer_chain.pem");
    assert_int_equal(aecs_certs_order_chain(chain), AECS_OK);
    cert_spki(aecs_certs_get(chain, 0), &spki, &spki_size);
    uint8_t *body = tu_read_dcap(set, "tcb_info.body.json", &body_size);
    uint8_t *sig = tu_read_dcap(set, "tcb_info.sig.hex", &sig_size);
    sig[128] = '\0';
    tu_hex((const char *)sig, rs, 64);

    /* DER SubjectPublicKeyInfo */
    assert_int_equal(aecs_pubkey_parse(spki, spki_size, &key), AECS_OK);
    assert_int_equal(aecs_ecdsa_verify_rs(key, AECS_SHA256, body, body_size, rs, 64), AECS_OK);
    aecs_pubkey_free(key);

    /* PEM */
    size_t pem_size = 0;
    char *pem = to_pem("PUBLIC KEY", spki, spki_size, &pem_size);
    assert_int_equal(aecs_pubkey_parse((const uint8_t *)pem, pem_size, &key), AECS_OK);
    assert_int_equal(aecs_ecdsa_verify_rs(key, AECS_SHA256, body, body_size, rs, 64), AECS_OK);
    aecs_pubkey_free(key);
    free(pem);

    /* garbage and a truncated SPKI */
    key = (struct aecs_pubkey *)0x1;
    assert_int_equal(aecs_pubkey_parse((const uint8_t *)"not a key", 9, &key), AECS_E_FORMAT);
    assert_null(key);
    uint8_t *cut = dup_bytes(spki, spki_size - 1);
    assert_int_equal(aecs_pubkey_parse(cut, spki_size - 1, &key), AECS_E_FORMAT);
    free(cut);

    aecs_certs_free(chain);
    free(body);
    free(sig);
}

/* ================================================================ certificates */

static void test_certs_parse_every_pck_chain(void **state)
{
    (void)state;
    size_t with_nul = 0;

    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        json_t *exp = tu_dcap_expected(set);
        size_t size = 0;
        uint8_t *pem = tu_read_dcap(set, "pck_chain.pem", &size);
        struct aecs_certs *certs = NULL;
        char cn[128];

        with_nul += pem[size - 1] == '\0';
        int rc = aecs_certs_parse(pem, size, &certs);
        if (rc != AECS_OK)
            fail_msg("%s: certs_parse %d: %s", set, rc, MSG());
        assert_int_equal(aecs_certs_count(certs), 3);
        assert_null(aecs_certs_get(certs, 3));
        assert_int_equal(aecs_certs_order_chain(certs), AECS_OK);

        cn_of(aecs_certs_get(certs, 0), cn, sizeof(cn));
        if (strstr(cn, "SGX PCK Certificate") == NULL)
            fail_msg("%s: leaf CN after ordering is '%s'", set, cn);
        cn_of(aecs_certs_get(certs, 1), cn, sizeof(cn));
        assert_string_equal(cn, tu_json_str(exp, "pck_ext.ca"));
        cn_of(aecs_certs_get(certs, 2), cn, sizeof(cn));
        assert_string_equal(cn, "Intel SGX Root CA");
        assert_int_equal(aecs_cert_self_issued(aecs_certs_get(certs, 0)), 0);
        assert_int_equal(aecs_cert_self_issued(aecs_certs_get(certs, 1)), 0);
        assert_int_equal(aecs_cert_self_issued(aecs_certs_get(certs, 2)), 1);

        /* ordering an ordered chain changes nothing */
        struct aecs_certs *again = NULL;
        assert_int_equal(aecs_certs_dup(certs, &again), AECS_OK);
        assert_int_equal(aecs_certs_order_chain(again), AECS_OK);
        for (size_t k = 0; k < 3; k++)
            assert_ptr_equal(aecs_certs_get(again, k), aecs_certs_get(certs, k));
        aecs_certs_free(again);

        /* the root in the chain is the set's trust anchor */
        struct aecs_cert *root = load_cert(set, "trusted_root.der");
        assert_int_equal(aecs_cert_equal(aecs_certs_get(certs, 2), root), 1);
        assert_int_equal(aecs_cert_equal(aecs_certs_get(certs, 1), root), 0);
        aecs_cert_free(root);

        aecs_certs_free(certs);
        free(pem);
        json_decref(exp);
    }
    /* the sets include chains copied from quotes with their trailing NUL */
    assert_true(with_nul >= 1);
}

/* The Intel QVL TDX sample lists the chain leaf, root, intermediate. */
static void test_certs_order_root_first_sample(void **state)
{
    (void)state;
    struct aecs_certs *certs = load_certs("neg_tdx_v4_intel_qvl_sample_testroot", "pck_chain.pem");
    char cn[128];

    cn_of(aecs_certs_get(certs, 1), cn, sizeof(cn));
    assert_string_equal(cn, "Intel SGX Root CA"); /* as in the file: see MANIFEST.md */
    assert_int_equal(aecs_certs_order_chain(certs), AECS_OK);
    cn_of(aecs_certs_get(certs, 0), cn, sizeof(cn));
    assert_non_null(strstr(cn, "SGX PCK Certificate"));
    cn_of(aecs_certs_get(certs, 1), cn, sizeof(cn));
    assert_string_equal(cn, "Intel SGX PCK Processor CA");
    cn_of(aecs_certs_get(certs, 2), cn, sizeof(cn));
    assert_string_equal(cn, "Intel SGX Root CA");
    aecs_certs_free(certs);

    /* its TCB signing chain is root-first too */
    certs = load_certs("neg_tdx_v4_intel_qvl_sample_testroot", "tcb_info_issuer_chain.pem");
    assert_int_equal(aecs_certs_count(certs), 2);
    assert_int_equal(aecs_cert_self_issued(aecs_certs_get(certs, 0)), 1);
    assert_int_equal(aecs_certs_order_chain(certs), AECS_OK);
    assert_int_equal(aecs_cert_self_issued(aecs_certs_get(certs, 0)), 0);
    assert_int_equal(aecs_cert_self_issued(aecs_certs_get(certs, 1)), 1);
    aecs_certs_free(certs);
}

static void test_certs_parse_pem_with_noise(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *pem = tu_read_dcap("tdx_v4_automata_jun2025", "pck_chain.pem", &size);
    static const char head[] = "Bag Attributes\nsubject=whatever\n";
    static const char tail[] = "\ntrailing words\n\0\0\0";
    size_t n = sizeof(head) - 1 + size + sizeof(tail) - 1;
    uint8_t *buf = malloc(n);
    struct aecs_certs *certs = NULL;

    assert_non_null(buf);
    memcpy(buf, head, sizeof(head) - 1);
    memcpy(buf + sizeof(head) - 1, pem, size);
    memcpy(buf + sizeof(head) - 1 + size, tail, sizeof(tail) - 1);
    assert_int_equal(aecs_certs_parse(buf, n, &certs), AECS_OK);
    assert_int_equal(aecs_certs_count(certs), 3);
    aecs_certs_free(certs);
    free(buf);
    free(pem);
}

static void test_certs_parse_der_concatenation(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        struct aecs_certs *pem = load_certs(set, "pck_chain.pem");
        struct aecs_certs *der = NULL;
        uint8_t *buf = NULL;
        size_t total = 0;

        for (size_t k = 0; k < aecs_certs_count(pem); k++) {
            size_t n = 0;
            const uint8_t *d = aecs_cert_der(aecs_certs_get(pem, k), &n);
            assert_int_equal(d[0], 0x30); /* a DER SEQUENCE */
            buf = realloc(buf, total + n);
            assert_non_null(buf);
            memcpy(buf + total, d, n);
            total += n;
        }
        assert_int_equal(aecs_certs_parse(buf, total, &der), AECS_OK);
        assert_int_equal(aecs_certs_count(der), 3);
        for (size_t k = 0; k < 3; k++)
            assert_int_equal(aecs_cert_equal(aecs_certs_get(pem, k), aecs_certs_get(der, k)), 1);
        aecs_certs_free(der);

        /* the last certificate cut short */
        uint8_t *cut = dup_bytes(buf, total - 1);
        der = (struct aecs_certs *)0x1;
        assert_int_equal(aecs_certs_parse(cut, total - 1, &der), AECS_E_FORMAT);
        assert_null(der);
        free(cut);
        /* junk after the last certificate */
        uint8_t *junk = malloc(total + 3);
        assert_non_null(junk);
        memcpy(junk, buf, total);
        memcpy(junk + total, "\x30\x01\x00", 3);
        assert_int_equal(aecs_certs_parse(junk, total + 3, &der), AECS_E_FORMAT);
        free(junk);

        free(buf);
        aecs_certs_free(pem);
    }
}

static void test_certs_parse_rejects(void **state)
{
    (void)state;
    struct aecs_certs *certs = (struct aecs_certs *)0x1;
    static const char garbage[] = "this is not a certificate";
    static const char empty_pem[] = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
    static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\nMIIC!!!!notbase64\n"
                                  "-----END CERTIFICATE-----\n";

    assert_int_equal(aecs_certs_parse((const uint8_t *)garbage, sizeof(garbage) - 1, &certs),
                     AECS_E_FORMAT);
    assert_null(certs);
    assert_int_equal(aecs_certs_parse((const uint8_t *)garbage, 0, &certs), AECS_E_FORMAT);
    assert_int_equal(aecs_certs_parse((const uint8_t *)empty_pem, sizeof(empty_pem) - 1, &certs),
                     AECS_E_FORMAT);
    assert_int_equal(aecs_certs_parse((const uint8_t *)bad_pem, sizeof(bad_pem) - 1, &certs),
                     AECS_E_FORMAT);
    uint8_t zeros[64] = {0};
    assert_int_equal(aecs_certs_parse(zeros, sizeof(zeros), &certs), AECS_E_FORMAT);

    /* a good PEM followed by a broken one */
    size_t size = 0;
    uint8_t *root_der = tu_read_dcap("sgx_v3_intel_qvl_sample_testroot", "trusted_root.der", &size);
    struct aecs_cert *root = NULL;
    assert_int_equal(aecs_cert_parse(root_der, size, &root), AECS_OK);
    size_t der_size = 0;
    const uint8_t *der = aecs_cert_der(root, &der_size);
    size_t one_size = 0;
    char *one = to_pem("CERTIFICATE", der, der_size, &one_size);
    size_t two_size = one_size + sizeof(bad_pem) - 1;
    char *two = malloc(two_size);
    assert_non_null(two);
    memcpy(two, one, one_size);
    memcpy(two + one_size, bad_pem, sizeof(bad_pem) - 1);
    assert_int_equal(aecs_certs_parse((const uint8_t *)two, two_size, &certs), AECS_E_FORMAT);
    assert_null(certs);
    free(two);

    /* at most 8 certificates */
    char *nine = malloc(9 * one_size);
    assert_non_null(nine);
    for (int k = 0; k < 9; k++)
        memcpy(nine + (size_t)k * one_size, one, one_size);
    assert_int_equal(aecs_certs_parse((const uint8_t *)nine, 8 * one_size, &certs), AECS_OK);
    assert_int_equal(aecs_certs_count(certs), 8);
    aecs_certs_free(certs);
    assert_int_equal(aecs_certs_parse((const uint8_t *)nine, 9 * one_size, &certs), AECS_E_FORMAT);
    assert_null(certs);
    free(nine);
    free(one);
    aecs_cert_free(root);
    free(root_der);
}

static void test_certs_order_chain_rejects(void **state)
{
    (void)state;
    struct aecs_certs *a = load_certs("sgx_v3_dcapqvl", "pck_chain.pem");
    struct aecs_certs *b = load_certs("tdx_v4_dcapqvl", "pck_chain.pem");
    size_t n = 0;
    const uint8_t *d;
    uint8_t buf[8192];
    size_t total = 0;
    struct aecs_certs *mixed = NULL;

    assert_int_equal(aecs_certs_order_chain(a), AECS_OK);
    assert_int_equal(aecs_certs_order_chain(b), AECS_OK);

    /* leaf and root without the intermediate: no chain */
    d = aecs_cert_der(aecs_certs_get(a, 0), &n);
    memcpy(buf, d, n);
    total = n;
    d = aecs_cert_der(aecs_certs_get(a, 2), &n);
    memcpy(buf + total, d, n);
    total += n;
    assert_int_equal(aecs_certs_parse(buf, total, &mixed), AECS_OK);
    assert_int_equal(aecs_certs_order_chain(mixed), AECS_E_FORMAT);
    aecs_certs_free(mixed);

    /* two leaves (Processor CA and Platform CA chains) with both CAs and the root */
    total = 0;
    const struct aecs_cert *parts[] = {aecs_certs_get(a, 0), aecs_certs_get(a, 1),
                                       aecs_certs_get(b, 0), aecs_certs_get(b, 1),
                                       aecs_certs_get(a, 2)};
    for (size_t k = 0; k < 5; k++) {
        d = aecs_cert_der(parts[k], &n);
        assert_true(total + n <= sizeof(buf));
        memcpy(buf + total, d, n);
        total += n;
    }
    assert_int_equal(aecs_certs_parse(buf, total, &mixed), AECS_OK);
    assert_int_equal(aecs_certs_order_chain(mixed), AECS_E_FORMAT);
    aecs_certs_free(mixed);

    aecs_certs_free(a);
    aecs_certs_free(b);
}

static void test_cert_parse(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *der = tu_read_dcap("sgx_v3_dcapqvl", "trusted_root.der", &size);
    struct aecs_cert *cert = NULL;
    struct aecs_cert *again = NULL;
    uint8_t fp[32];
    uint8_t want[32];
    char cn[64];
    char line[256];

    assert_int_equal(aecs_cert_parse(der, size, &cert), AECS_OK);
    cn_of(cert, cn, sizeof(cn));
    assert_string_equal(cn, "Intel SGX Root CA");
    aecs_cert_subject_line(cert, line, sizeof(line));
    assert_non_null(strstr(line, "Intel SGX Root CA"));
    assert_non_null(strstr(line, "Intel Corporation"));
    assert_int_equal(aecs_cert_self_issued(cert), 1);
    assert_int_equal(aecs_cert_check_issued_by(cert, cert), AECS_OK);
    /* `openssl x509 -inform DER -in trusted_root.der -noout -fingerprint -sha256` */
    tu_hex("44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3", want, 32);
    aecs_cert_fingerprint(cert, fp);
    assert_memory_equal(fp, want, 32);
    /* `openssl x509 -dates`: notBefore May 21 10:45:10 2018, notAfter Dec 31 23:59:59 2049 */
    assert_true(aecs_cert_not_before(cert) == tu_utc("2018-05-21T10:45:10Z"));
    assert_true(aecs_cert_not_after(cert) == tu_utc("2049-12-31T23:59:59Z"));
    /* the DER comes back unchanged */
    size_t n = 0;
    const uint8_t *back = aecs_cert_der(cert, &n);
    assert_int_equal(n, size);
    assert_memory_equal(back, der, size);

    /* the same as PEM */
    size_t pem_size = 0;
    char *pem = to_pem("CERTIFICATE", der, size, &pem_size);
    assert_int_equal(aecs_cert_parse((const uint8_t *)pem, pem_size, &again), AECS_OK);
    assert_int_equal(aecs_cert_equal(cert, again), 1);
    assert_int_equal(aecs_cert_same_key_and_subject(cert, again), 1);
    aecs_cert_free(again);
    free(pem);

    /* references */
    struct aecs_cert *ref = aecs_cert_ref(cert);
    aecs_cert_free(cert);
    cn_of(ref, cn, sizeof(cn));
    assert_string_equal(cn, "Intel SGX Root CA");
    aecs_cert_free(ref);
    aecs_cert_free(NULL);

    /* trailing bytes, truncation, garbage */
    uint8_t *longer = malloc(size + 1);
    assert_non_null(longer);
    memcpy(longer, der, size);
    longer[size] = 0;
    cert = (struct aecs_cert *)0x1;
    assert_int_equal(aecs_cert_parse(longer, size + 1, &cert), AECS_E_FORMAT);
    assert_null(cert);
    free(longer);
    uint8_t *cut = dup_bytes(der, size - 1);
    assert_int_equal(aecs_cert_parse(cut, size - 1, &cert), AECS_E_FORMAT);
    free(cut);
    assert_int_equal(aecs_cert_parse((const uint8_t *)"junk", 4, &cert), AECS_E_FORMAT);
    assert_int_equal(aecs_cert_parse(der, 0, &cert), AECS_E_FORMAT);
    free(der);
}

/* The TCB signing certificate was re-issued in 2025 with the same key and subject (MANIFEST). */
static void test_cert_same_key_and_subject(void **state)
{
    (void)state;
    struct aecs_certs *old =
        load_certs("neg_tdx_v4_gotdx_tcb_not_supported", "tcb_info_issuer_chain.pem");
    struct aecs_certs *new = load_certs("tdx_v4_automata_jun2025", "tcb_info_issuer_chain.pem");
    struct aecs_certs *pck = load_pck_chain("tdx_v4_automata_jun2025");

    assert_int_equal(aecs_certs_order_chain(old), AECS_OK);
    assert_int_equal(aecs_certs_order_chain(new), AECS_OK);
    const struct aecs_cert *a = aecs_certs_get(old, 0);
    const struct aecs_cert *b = aecs_certs_get(new, 0);
    assert_int_equal(aecs_cert_equal(a, b), 0);
    assert_int_equal(aecs_cert_same_key_and_subject(a, b), 1);
    /* window_bounds "cert tcb_signing" of the two sets' expected.json */
    assert_true(aecs_cert_not_after(a) == tu_utc("2025-05-21T10:50:10Z"));
    assert_true(aecs_cert_not_before(b) == tu_utc("2025-05-06T09:25:00Z"));
    /* a different certificate */
    assert_int_equal(aecs_cert_same_key_and_subject(a, aecs_certs_get(pck, 1)), 0);
    aecs_certs_free(old);
    aecs_certs_free(new);
    aecs_certs_free(pck);
}

/* Certificate validity dates against expected.json window_bounds ("cert pck ...", ...). */
static void test_cert_dates(void **state)
{
    (void)state;
    static const struct {
        const char *prefix;
        size_t index;
    } roles[] = {{"cert pck C=", 0}, {"cert pck_ca ", 1}, {"cert root ", 2}};

    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        json_t *exp = tu_dcap_expected(set);
        json_t *bounds = json_object_get(exp, "window_bounds");
        struct aecs_certs *chain = load_pck_chain(set);
        const char *key;
        json_t *v;
        size_t found = 0;

        assert_non_null(bounds);
        json_object_foreach(bounds, key, v)
        {
            for (size_t r = 0; r < 3; r++) {
                if (strncmp(key, roles[r].prefix, strlen(roles[r].prefix)) != 0)
                    continue;
                const struct aecs_cert *c = aecs_certs_get(chain, roles[r].index);
                int64_t nb = tu_utc(json_string_value(json_array_get(v, 0)));
                int64_t na = tu_utc(json_string_value(json_array_get(v, 1)));
                if (aecs_cert_not_before(c) != nb || aecs_cert_not_after(c) != na)
                    fail_msg("%s: %s: got %lld..%lld", set, key, (long long)aecs_cert_not_before(c),
                             (long long)aecs_cert_not_after(c));
                found++;
            }
        }
        assert_int_equal(found, 3);
        aecs_certs_free(chain);
        json_decref(exp);
    }
}

/* A copy of a certificate whose last DER byte (the end of the signature's s) is flipped. */
static struct aecs_cert *with_flipped_signature(const struct aecs_cert *cert)
{
    size_t n = 0;
    const uint8_t *der = aecs_cert_der(cert, &n);
    uint8_t *copy = dup_bytes(der, n);
    struct aecs_cert *out = NULL;

    copy[n - 1] ^= 0x01;
    assert_int_equal(aecs_cert_parse(copy, n, &out), AECS_OK);
    free(copy);
    return out;
}

static void test_cert_check_issued_by(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        struct aecs_certs *chain = load_pck_chain(set);
        struct aecs_cert *leaf = aecs_certs_get(chain, 0);
        struct aecs_cert *ca = aecs_certs_get(chain, 1);
        struct aecs_cert *root = aecs_certs_get(chain, 2);

        assert_int_equal(aecs_cert_check_issued_by(leaf, ca), AECS_OK);
        assert_int_equal(aecs_cert_check_issued_by(ca, root), AECS_OK);
        assert_int_equal(aecs_cert_check_issued_by(root, root), AECS_OK);
        /* wrong links */
        assert_int_equal(aecs_cert_check_issued_by(leaf, root), AECS_E_MISMATCH);
        assert_int_equal(aecs_cert_check_issued_by(ca, leaf), AECS_E_MISMATCH);
        assert_int_equal(aecs_cert_check_issued_by(root, ca), AECS_E_MISMATCH);
        /* a leaf is not a CA, even for itself */
        assert_int_equal(aecs_cert_check_issued_by(leaf, leaf), AECS_E_MISMATCH);

        /* a changed signature byte */
        struct aecs_cert *bad_leaf = with_flipped_signature(leaf);
        struct aecs_cert *bad_ca = with_flipped_signature(ca);
        struct aecs_cert *bad_root = with_flipped_signature(root);
        assert_int_equal(aecs_cert_check_issued_by(bad_leaf, ca), AECS_E_BAD_SIGNATURE);
        assert_int_equal(aecs_cert_check_issued_by(bad_ca, root), AECS_E_BAD_SIGNATURE);
        assert_int_equal(aecs_cert_check_issued_by(bad_root, root), AECS_E_BAD_SIGNATURE);
        /* only the signature changed: the flipped CA still signs good leaves */
        assert_int_equal(aecs_cert_check_issued_by(leaf, bad_ca), AECS_OK);
        aecs_cert_free(bad_leaf);
        aecs_cert_free(bad_ca);
        aecs_cert_free(bad_root);
        aecs_certs_free(chain);
    }
}

/* Same issuer name, another key (production vs Intel's test Processor CA): key ids differ. */
static void test_cert_check_issued_by_same_name_other_key(void **state)
{
    (void)state;
    struct aecs_certs *prod = load_pck_chain("sgx_v3_dcapqvl");
    struct aecs_certs *test = load_pck_chain("sgx_v3_intel_qvl_sample_testroot");
    char a[128];
    char b[128];

    aecs_cert_subject_line(aecs_certs_get(prod, 1), a, sizeof(a));
    aecs_cert_subject_line(aecs_certs_get(test, 1), b, sizeof(b));
    assert_string_equal(a, b);
    /* AKID/SKID differ (openssl x509 -text): a name match alone is not enough */
    assert_int_equal(aecs_cert_check_issued_by(aecs_certs_get(test, 0), aecs_certs_get(prod, 1)),
                     AECS_E_MISMATCH);
    assert_int_equal(aecs_cert_check_issued_by(aecs_certs_get(test, 1), aecs_certs_get(prod, 2)),
                     AECS_E_MISMATCH);
    aecs_certs_free(prod);
    aecs_certs_free(test);
}

/* ========================================================================== CRLs */

/* `openssl crl -inform DER -noout -lastupdate -nextupdate` on each set's CRLs. */
static const struct {
    const char *set;
    const char *pck_this, *pck_next;
    const char *root_this, *root_next;
} k_crl_dates[] = {
    {"neg_tdx_v4_gotdx_tcb_not_supported", "2023-06-08T07:27:52Z", "2023-07-08T07:27:52Z",
     "2023-04-03T10:22:51Z", "2024-04-02T10:22:51Z"},
    {"neg_tdx_v4_intel_qvl_sample_testroot", "2021-08-06T13:55:15Z", "2031-08-04T13:55:15Z",
     "2021-08-06T13:55:15Z", "2031-08-04T13:55:15Z"},
    {"neg_tdx_v5_dcapqvl_tcb_not_supported", "2026-02-18T10:41:15Z", "2026-03-20T10:41:15Z",
     "2025-03-20T11:21:57Z", "2026-04-03T11:21:57Z"},
    {"neg_tdx_v5_gotdx_mixed_epoch", "2023-06-08T07:27:52Z", "2023-07-08T07:27:52Z",
     "2023-04-03T10:22:51Z", "2024-04-02T10:22:51Z"},
    {"sgx_v3_dcapqvl", "2025-06-19T10:23:18Z", "2025-07-19T10:23:18Z", "2025-03-20T11:21:57Z",
     "2026-04-03T11:21:57Z"},
    {"sgx_v3_intel_qvl_sample_testroot", "2019-09-05T07:47:07Z", "2029-09-05T07:47:07Z",
     "2019-08-28T11:46:15Z", "2029-08-25T11:46:15Z"},
    {"tdx_v4_automata_jul2025", "2025-07-07T09:15:57Z", "2025-08-06T09:15:57Z",
     "2025-03-20T11:21:57Z", "2026-04-03T11:21:57Z"},
    {"tdx_v4_automata_jun2025", "2025-06-04T09:19:31Z", "2025-07-04T09:19:31Z",
     "2025-03-20T11:21:57Z", "2026-04-03T11:21:57Z"},
    {"tdx_v4_dcapqvl", "2025-06-19T10:00:35Z", "2025-07-19T10:00:35Z", "2025-03-20T11:21:57Z",
     "2026-04-03T11:21:57Z"},
};

static void check_crl_dates(const struct aecs_crl *crl, const char *this_update,
                            const char *next_update, const char *what)
{
    if (aecs_crl_this_update(crl) != tu_utc(this_update) ||
        aecs_crl_next_update(crl) != tu_utc(next_update))
        fail_msg("%s: CRL dates %lld..%lld, want %s..%s", what,
                 (long long)aecs_crl_this_update(crl), (long long)aecs_crl_next_update(crl),
                 this_update, next_update);
}

static void test_crl_dates_match_openssl(void **state)
{
    (void)state;
    size_t n = sizeof(k_crl_dates) / sizeof(k_crl_dates[0]);

    assert_int_equal(n, tu_dcap_set_count());
    for (size_t i = 0; i < n; i++) {
        const char *set = k_crl_dates[i].set;
        struct aecs_crl *pck = load_crl(set, "pck_crl.der");
        struct aecs_crl *root = load_crl(set, "root_ca_crl.der");
        json_t *exp = tu_dcap_expected(set);
        json_t *b = json_object_get(exp, "window_bounds");

        check_crl_dates(pck, k_crl_dates[i].pck_this, k_crl_dates[i].pck_next, set);
        check_crl_dates(root, k_crl_dates[i].root_this, k_crl_dates[i].root_next, set);
        /* and the cross-check's bounds agree */
        check_crl_dates(pck, json_string_value(json_array_get(json_object_get(b, "PCK CRL"), 0)),
                        json_string_value(json_array_get(json_object_get(b, "PCK CRL"), 1)), set);
        check_crl_dates(root, json_string_value(json_array_get(json_object_get(b, "root CRL"), 0)),
                        json_string_value(json_array_get(json_object_get(b, "root CRL"), 1)), set);
        json_decref(exp);
        aecs_crl_free(pck);
        aecs_crl_free(root);
    }
}

static void test_crl_parse_der_pem_hex(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        size_t size = 0;
        uint8_t *der = tu_read_dcap(set, "pck_crl.der", &size);
        struct aecs_crl *a = NULL;
        struct aecs_crl *b = NULL;
        struct aecs_crl *c = NULL;
        struct aecs_crl *d = NULL;

        assert_int_equal(der[0], 0x30);
        assert_int_equal(aecs_crl_parse(der, size, &a), AECS_OK);

        size_t pem_size = 0;
        char *pem = to_pem("X509 CRL", der, size, &pem_size);
        int rc = aecs_crl_parse((const uint8_t *)pem, pem_size, &b);
        if (rc != AECS_OK)
            fail_msg("%s: PEM CRL: %d %s", set, rc, MSG());

        char *hex = malloc(2 * size + 2);
        assert_non_null(hex);
        tu_hex_encode(der, size, hex);
        assert_int_equal(aecs_crl_parse((const uint8_t *)hex, 2 * size, &c), AECS_OK);
        /* upper case hex with a newline, as a file would have it */
        for (size_t k = 0; k < 2 * size; k++)
            if (hex[k] >= 'a' && hex[k] <= 'f')
                hex[k] = (char)(hex[k] - 'a' + 'A');
        hex[2 * size] = '\n';
        assert_int_equal(aecs_crl_parse((const uint8_t *)hex, 2 * size + 1, &d), AECS_OK);

        assert_true(aecs_crl_this_update(a) == aecs_crl_this_update(b));
        assert_true(aecs_crl_this_update(a) == aecs_crl_this_update(c));
        assert_true(aecs_crl_next_update(a) == aecs_crl_next_update(d));
        assert_true(aecs_crl_next_update(a) > aecs_crl_this_update(a));

        /* odd-length hex and a non-hex character */
        struct aecs_crl *bad = (struct aecs_crl *)0x1;
        assert_int_equal(aecs_crl_parse((const uint8_t *)hex, 2 * size - 1, &bad), AECS_E_FORMAT);
        assert_null(bad);
        hex[10] = 'G';
        assert_int_equal(aecs_crl_parse((const uint8_t *)hex, 2 * size, &bad), AECS_E_FORMAT);

        aecs_crl_free(a);
        aecs_crl_free(b);
        aecs_crl_free(c);
        aecs_crl_free(d);
        free(hex);
        free(pem);
        free(der);
    }
}

static void test_crl_parse_rejects(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *der = tu_read_dcap("sgx_v3_dcapqvl", "pck_crl.der", &size);
    struct aecs_crl *crl = (struct aecs_crl *)0x1;

    assert_int_equal(aecs_crl_parse((const uint8_t *)"nonsense!", 9, &crl), AECS_E_FORMAT);
    assert_null(crl);
    assert_int_equal(aecs_crl_parse(der, 0, &crl), AECS_E_FORMAT);
    assert_int_equal(aecs_crl_parse((const uint8_t *)"\n\n", 2, &crl), AECS_E_FORMAT);
    uint8_t *cut = dup_bytes(der, size - 1);
    assert_int_equal(aecs_crl_parse(cut, size - 1, &crl), AECS_E_FORMAT);
    free(cut);
    uint8_t *longer = malloc(size + 2);
    assert_non_null(longer);
    memcpy(longer, der, size);
    longer[size] = 0x05;
    longer[size + 1] = 0x00;
    assert_int_equal(aecs_crl_parse(longer, size + 2, &crl), AECS_E_FORMAT);
    free(longer);
    /* a certificate is not a CRL */
    size_t csize = 0;
    uint8_t *cert = tu_read_dcap("sgx_v3_dcapqvl", "trusted_root.der", &csize);
    assert_int_equal(aecs_crl_parse(cert, csize, &crl), AECS_E_FORMAT);
    assert_null(crl);
    free(cert);
    free(der);
}

/*
 * Regression: the last byte of a DER CRL is the last byte of its
 * signature: any value.
 * A DER CRL whose last byte happens to be 0x00, 0x0a, 0x0d or 0x20 is still a
 * CRL (1 in 64 real ones); parsing it must not depend on that byte (an earlier
 * aecs_crl_parse() trimmed such bytes before every form, DER included).
 */
static void test_crl_parse_der_ending_in_whitespace_bytes(void **state)
{
    (void)state;
    static const uint8_t endings[] = {0x00, 0x0a, 0x0d, 0x20};
    size_t size = 0;
    uint8_t *der = tu_read_dcap("sgx_v3_dcapqvl", "pck_crl.der", &size);
    struct aecs_certs *chain = load_pck_chain("sgx_v3_dcapqvl");

    char failed[64] = "";
    for (size_t k = 0; k < sizeof(endings); k++) {
        struct aecs_crl *crl = NULL;
        der[size - 1] = endings[k];
        if (aecs_crl_parse(der, size, &crl) != AECS_OK) {
            snprintf(failed + strlen(failed), sizeof(failed) - strlen(failed), " 0x%02x",
                     endings[k]);
            continue;
        }
        /* it parsed; the changed signature byte is then caught by the signature check */
        assert_int_equal(aecs_crl_check_issued_by(crl, aecs_certs_get(chain, 1)),
                         AECS_E_BAD_SIGNATURE);
        aecs_crl_free(crl);
    }
    aecs_certs_free(chain);
    free(der);
    if (failed[0] != '\0')
        fail_msg("well-formed DER CRLs whose last (signature) byte is one of%s do not "
                 "parse (aecs_crl_parse strips trailing NUL/CR/LF/space bytes before trying DER)",
                 failed);
}

static struct aecs_crl *crl_with_flipped_signature(const char *set, const char *file)
{
    size_t size = 0;
    uint8_t *der = tu_read_dcap(set, file, &size);
    struct aecs_crl *crl = NULL;

    der[size - 1] ^= 0x01;
    assert_int_equal(aecs_crl_parse(der, size, &crl), AECS_OK);
    free(der);
    return crl;
}

static void test_crl_check_issued_by(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        struct aecs_certs *chain = load_pck_chain(set);
        struct aecs_cert *leaf = aecs_certs_get(chain, 0);
        struct aecs_cert *ca = aecs_certs_get(chain, 1);
        struct aecs_cert *anchor = load_cert(set, "trusted_root.der");
        struct aecs_crl *pck = load_crl(set, "pck_crl.der");
        struct aecs_crl *root = load_crl(set, "root_ca_crl.der");

        int rc = aecs_crl_check_issued_by(pck, ca);
        if (rc != AECS_OK)
            fail_msg("%s: PCK CRL by PCK CA: %d %s", set, rc, MSG());
        assert_int_equal(aecs_crl_check_issued_by(root, anchor), AECS_OK);
        /* wrong issuers */
        assert_int_equal(aecs_crl_check_issued_by(pck, anchor), AECS_E_MISMATCH);
        assert_int_equal(aecs_crl_check_issued_by(root, ca), AECS_E_MISMATCH);
        assert_int_equal(aecs_crl_check_issued_by(root, leaf), AECS_E_MISMATCH);
        /* a changed signature */
        struct aecs_crl *bad = crl_with_flipped_signature(set, "pck_crl.der");
        assert_int_equal(aecs_crl_check_issued_by(bad, ca), AECS_E_BAD_SIGNATURE);
        aecs_crl_free(bad);
        bad = crl_with_flipped_signature(set, "root_ca_crl.der");
        assert_int_equal(aecs_crl_check_issued_by(bad, anchor), AECS_E_BAD_SIGNATURE);
        aecs_crl_free(bad);
        /* the PCK leaf of every set is not revoked (they all verify, MANIFEST.md) */
        assert_int_equal(aecs_crl_lists(pck, leaf), 0);
        assert_int_equal(aecs_crl_lists(root, ca), 0);

        struct aecs_crl *ref = aecs_crl_ref(pck);
        aecs_crl_free(pck);
        assert_int_equal(aecs_crl_check_issued_by(ref, ca), AECS_OK);
        aecs_crl_free(ref);
        aecs_crl_free(root);
        aecs_cert_free(anchor);
        aecs_certs_free(chain);
    }
    aecs_crl_free(NULL);
}

/* The PCK CRL's issuer named in expected.json is the chain's CA. */
static void test_crl_issuer_is_pck_ca(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        json_t *exp = tu_dcap_expected(set);
        const char *issuer = tu_json_str(exp, "pck_crl_issuer");
        const char *ca = tu_json_str(exp, "pck_ext.ca");
        assert_non_null(strstr(issuer, ca));
        json_decref(exp);
    }
}

/* ============================================================ SGX PCK extension */

static void check_ext_against_expected(const char *set, const struct aecs_sgx_ext *ext,
                                       const json_t *exp)
{
    uint8_t b[16];
    json_t *comp = tu_json_path(exp, "pck_ext.tcb_comp");

    tu_hex(tu_json_str(exp, "pck_ext.fmspc"), b, 6);
    assert_memory_equal(ext->fmspc, b, 6);
    tu_hex(tu_json_str(exp, "pck_ext.pceid"), b, 2);
    assert_memory_equal(ext->pceid, b, 2);
    assert_int_equal(ext->pcesvn, tu_json_int(exp, "pck_ext.pcesvn"));
    tu_hex(tu_json_str(exp, "pck_ext.cpusvn"), b, 16);
    assert_memory_equal(ext->cpusvn, b, 16);
    tu_hex(tu_json_str(exp, "pck_ext.ppid"), b, 16);
    assert_memory_equal(ext->ppid, b, 16);
    assert_int_equal(ext->sgx_type, tu_json_int(exp, "pck_ext.sgx_type"));
    assert_int_equal(json_array_size(comp), 16);
    for (size_t k = 0; k < 16; k++) {
        if ((long long)ext->tcb_comp[k] != json_integer_value(json_array_get(comp, k)))
            fail_msg("%s: tcb_comp[%zu] = %u, want %lld", set, k, ext->tcb_comp[k],
                     json_integer_value(json_array_get(comp, k)));
    }

    json_t *conf = tu_json_path(exp, "pck_ext.configuration");
    if (conf == NULL) {
        assert_int_equal(ext->has_configuration, 0);
        assert_int_equal(ext->dynamic_platform, -1);
        assert_int_equal(ext->cached_keys, -1);
        assert_int_equal(ext->smt_enabled, -1);
        return;
    }
    static const char *const oids[] = {"1.2.840.113741.1.13.1.7.1", "1.2.840.113741.1.13.1.7.2",
                                       "1.2.840.113741.1.13.1.7.3"};
    const int got[] = {ext->dynamic_platform, ext->cached_keys, ext->smt_enabled};
    assert_int_equal(ext->has_configuration, 1);
    for (size_t k = 0; k < 3; k++) {
        json_t *v = json_object_get(conf, oids[k]);
        int want = v == NULL ? -1 : strcmp(json_string_value(v), "ff") == 0 ? 1 : 0;
        if (got[k] != want)
            fail_msg("%s: configuration %s = %d, want %d", set, oids[k], got[k], want);
    }
}

static void test_sgx_ext_parse_cert_matches_expected(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        json_t *exp = tu_dcap_expected(set);
        struct aecs_certs *chain = load_pck_chain(set);
        struct aecs_sgx_ext ext;

        int rc = aecs_sgx_ext_parse_cert(aecs_certs_get(chain, 0), &ext);
        if (rc != AECS_OK)
            fail_msg("%s: sgx_ext_parse_cert %d: %s", set, rc, MSG());
        check_ext_against_expected(set, &ext, exp);

        /* CA certificates carry no SGX extension */
        assert_int_equal(aecs_sgx_ext_parse_cert(aecs_certs_get(chain, 1), &ext), AECS_E_FORMAT);
        assert_int_equal(aecs_sgx_ext_parse_cert(aecs_certs_get(chain, 2), &ext), AECS_E_FORMAT);
        aecs_certs_free(chain);
        json_decref(exp);
    }
}

static void test_sgx_ext_parse_der(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        json_t *exp = tu_dcap_expected(set);
        struct aecs_certs *chain = load_pck_chain(set);
        const uint8_t *val = NULL;
        size_t size = 0;
        struct aecs_sgx_ext ext;

        sgx_ext_value(aecs_certs_get(chain, 0), &val, &size);
        uint8_t *copy = dup_bytes(val, size);
        assert_int_equal(aecs_sgx_ext_parse_der(copy, size, &ext), AECS_OK);
        check_ext_against_expected(set, &ext, exp);
        free(copy);

        /* every truncation fails with AECS_E_FORMAT */
        for (size_t n = 0; n < size; n++) {
            uint8_t *cut = dup_bytes(val, n);
            int rc = aecs_sgx_ext_parse_der(cut, n, &ext);
            free(cut);
            if (rc != AECS_E_FORMAT)
                fail_msg("%s: SGX extension cut to %zu of %zu bytes: got %d", set, n, size, rc);
        }
        /* trailing bytes */
        uint8_t *longer = malloc(size + 2);
        assert_non_null(longer);
        memcpy(longer, val, size);
        longer[size] = 0x05; /* a NULL */
        longer[size + 1] = 0x00;
        assert_int_equal(aecs_sgx_ext_parse_der(longer, size + 1, &ext), AECS_E_FORMAT);
        assert_int_equal(aecs_sgx_ext_parse_der(longer, size + 2, &ext), AECS_E_FORMAT);
        free(longer);

        aecs_certs_free(chain);
        json_decref(exp);
    }
}

/* Rebuilds the extension SEQUENCE from a selection of its elements. */
static size_t rebuild_ext(const uint8_t *val, size_t size, const int *pick, size_t npick,
                          uint8_t *out, size_t cap)
{
    uint8_t body[4096];
    size_t o = 0;

    for (size_t k = 0; k < npick; k++) {
        const uint8_t *c = NULL;
        size_t cs = 0;
        der_child(val, size, (size_t)pick[k], &c, &cs);
        assert_true(o + cs <= sizeof(body));
        memcpy(body + o, c, cs);
        o += cs;
    }
    size_t h = der_header(0x30, o, out);
    assert_true(h + o <= cap);
    memcpy(out + h, body, o);
    return h + o;
}

/* The index of the element whose OID ends in .<last> (1 PPID, 2 TCB, ... 5 SGX Type). */
static int element_index(const uint8_t *val, size_t size, uint8_t last)
{
    for (int k = 0; k < 16; k++) {
        const uint8_t *c = NULL;
        size_t cs = 0;
        der_child(val, size, (size_t)k, &c, &cs);
        const uint8_t *oid = NULL;
        size_t os = 0;
        der_child(c, cs, 0, &oid, &os);
        /* 06 0A 2A 86 48 86 F8 4D 01 0D 01 <last> */
        if (os == 12 && memcmp(oid + 2, k_sgx_oid_tlv + 2, 9) == 0 && oid[11] == last)
            return k;
    }
    fail_msg("no element .%u", last);
    return -1;
}

/* Number of elements of the constructed TLV at p. */
static size_t der_count_children(const uint8_t *p, size_t avail)
{
    size_t hdr = 0;
    size_t len = 0;
    size_t n = 0;

    assert_true(der_tlv(p, avail, &hdr, &len));
    for (size_t off = 0; off < len; n++) {
        size_t h = 0;
        size_t l = 0;
        assert_true(der_tlv(p + hdr + off, len - off, &h, &l));
        off += h + l;
    }
    return n;
}

static void test_sgx_ext_parse_der_structure_errors(void **state)
{
    (void)state;
    struct aecs_certs *chain = load_pck_chain("tdx_v4_dcapqvl");
    const uint8_t *val = NULL;
    size_t size = 0;
    uint8_t out[4200];
    struct aecs_sgx_ext ext;
    int pick[17];
    size_t n = 0;

    sgx_ext_value(aecs_certs_get(chain, 0), &val, &size);
    size_t count = der_count_children(val, size);
    assert_true(count >= 5 && count <= 16);

    /* all elements in order: the same bytes as the original */
    for (size_t k = 0; k < count; k++)
        pick[k] = (int)k;
    n = rebuild_ext(val, size, pick, count, out, sizeof(out));
    assert_int_equal(n, size);
    assert_memory_equal(out, val, size);
    assert_int_equal(aecs_sgx_ext_parse_der(out, n, &ext), AECS_OK);

    /* each mandatory element left out: AECS_E_FORMAT naming it */
    static const struct {
        uint8_t oid_last;
        const char *name;
    } mandatory[] = {{1, "PPID"}, {2, "TCB"}, {3, "PCE-ID"}, {4, "FMSPC"}, {5, "SGX Type"}};
    for (size_t m = 0; m < 5; m++) {
        int skip = element_index(val, size, mandatory[m].oid_last);
        size_t np = 0;
        for (size_t k = 0; k < count; k++)
            if ((int)k != skip)
                pick[np++] = (int)k;
        n = rebuild_ext(val, size, pick, np, out, sizeof(out));
        assert_int_equal(aecs_sgx_ext_parse_der(out, n, &ext), AECS_E_FORMAT);
        assert_msg_has(mandatory[m].name);
    }

    /* an element twice */
    for (size_t k = 0; k < count; k++)
        pick[k] = (int)k;
    pick[count] = element_index(val, size, 1);
    n = rebuild_ext(val, size, pick, count + 1, out, sizeof(out));
    assert_int_equal(aecs_sgx_ext_parse_der(out, n, &ext), AECS_E_FORMAT);
    assert_msg_has("twice");

    /* an empty SEQUENCE and a non-SEQUENCE */
    assert_int_equal(aecs_sgx_ext_parse_der((const uint8_t *)"\x30\x00", 2, &ext), AECS_E_FORMAT);
    assert_int_equal(aecs_sgx_ext_parse_der((const uint8_t *)"\x04\x00", 2, &ext), AECS_E_FORMAT);
    assert_int_equal(aecs_sgx_ext_parse_der(val, 0, &ext), AECS_E_FORMAT);

    /* an FMSPC of 5 bytes instead of 6 */
    int f = element_index(val, size, 4);
    const uint8_t *fe = NULL;
    size_t fs = 0;
    der_child(val, size, (size_t)f, &fe, &fs);
    /* 30 14 | 06 0A <10-byte OID> | 04 06 <6 bytes>  ->  30 13 | same OID | 04 05 <5 bytes> */
    assert_int_equal(fs, 22);
    uint8_t short_fmspc[21];
    short_fmspc[0] = 0x30;
    short_fmspc[1] = 0x13;
    memcpy(short_fmspc + 2, fe + 2, 12);
    short_fmspc[14] = 0x04;
    short_fmspc[15] = 0x05;
    memcpy(short_fmspc + 16, fe + 16, 5);
    uint8_t body[4096];
    size_t o = 0;
    for (size_t k = 0; k < count; k++) {
        const uint8_t *e = NULL;
        size_t es = 0;
        der_child(val, size, k, &e, &es);
        if ((int)k == f) {
            e = short_fmspc;
            es = sizeof(short_fmspc);
        }
        assert_true(o + es <= sizeof(body));
        memcpy(body + o, e, es);
        o += es;
    }
    size_t h = der_header(0x30, o, out);
    memcpy(out + h, body, o);
    assert_int_equal(aecs_sgx_ext_parse_der(out, h + o, &ext), AECS_E_FORMAT);
    assert_msg_has("FMSPC");
    aecs_certs_free(chain);
}

/* Writes tag + length + the concatenated parts; returns the total size. */
static size_t der_wrap(uint8_t tag, const uint8_t *const *parts, const size_t *sizes, size_t n,
                       uint8_t *out, size_t cap)
{
    size_t len = 0;

    for (size_t k = 0; k < n; k++)
        len += sizes[k];
    size_t h = der_header(tag, len, out);
    assert_true(h + len <= cap);
    for (size_t k = 0, o = h; k < n; o += sizes[k], k++)
        memcpy(out + o, parts[k], sizes[k]);
    return h + len;
}

/*
 * Rebuilds a PCK certificate's SGX extension with the OID of the first TCB
 * element (...13.1.2.1) replaced by `oid` (a full OID TLV). Returns the size.
 */
static size_t ext_with_first_tcb_oid(const uint8_t *val, size_t size, const uint8_t *oid,
                                     size_t oid_size, uint8_t *out, size_t cap)
{
    static uint8_t comp1[64], inner[2048], tcb[2048];
    const uint8_t *tcb_elem = NULL, *tcb_oid = NULL, *tcb_seq = NULL, *c1 = NULL, *c1_val = NULL;
    size_t tcb_elem_size = 0, tcb_oid_size = 0, tcb_seq_size = 0, c1_size = 0, c1_val_size = 0;
    const uint8_t *parts[32];
    size_t sizes[32];
    int t = element_index(val, size, 2);

    der_child(val, size, (size_t)t, &tcb_elem, &tcb_elem_size);
    der_child(tcb_elem, tcb_elem_size, 0, &tcb_oid, &tcb_oid_size);
    der_child(tcb_elem, tcb_elem_size, 1, &tcb_seq, &tcb_seq_size);
    der_child(tcb_seq, tcb_seq_size, 0, &c1, &c1_size);
    der_child(c1, c1_size, 1, &c1_val, &c1_val_size);

    /* SEQUENCE { oid, value } */
    parts[0] = oid;
    sizes[0] = oid_size;
    parts[1] = c1_val;
    sizes[1] = c1_val_size;
    size_t comp1_size = der_wrap(0x30, parts, sizes, 2, comp1, sizeof(comp1));
    /* the TCB SEQUENCE with its first element replaced */
    size_t n = der_count_children(tcb_seq, tcb_seq_size);
    assert_true(n <= 32);
    for (size_t k = 0; k < n; k++)
        der_child(tcb_seq, tcb_seq_size, k, &parts[k], &sizes[k]);
    parts[0] = comp1;
    sizes[0] = comp1_size;
    size_t inner_size = der_wrap(0x30, parts, sizes, n, inner, sizeof(inner));
    /* SEQUENCE { ...13.1.2, TCB } */
    parts[0] = tcb_oid;
    sizes[0] = tcb_oid_size;
    parts[1] = inner;
    sizes[1] = inner_size;
    size_t tcb_size = der_wrap(0x30, parts, sizes, 2, tcb, sizeof(tcb));
    /* the extension with the TCB element replaced */
    n = der_count_children(val, size);
    assert_true(n <= 32);
    for (size_t k = 0; k < n; k++)
        der_child(val, size, k, &parts[k], &sizes[k]);
    parts[t] = tcb;
    sizes[t] = tcb_size;
    return der_wrap(0x30, parts, sizes, n, out, cap);
}

/*
 * Regression: the TCB element OIDs are exactly
 * 1.2.840.113741.1.13.1.2.<1..18>. An OID with more arcs, such as ...2.1.5, is
 * not TCB component 1 (nor anything else here) and must be rejected like any
 * other unknown element (an earlier parse_tcb() took atoi() of the text after
 * "...2.", which stopped at the next dot and wrapped on huge arcs).
 */
static void test_sgx_ext_rejects_longer_tcb_oid(void **state)
{
    (void)state;
    struct aecs_certs *chain = load_pck_chain("sgx_v3_dcapqvl");
    const uint8_t *val = NULL;
    size_t size = 0;
    struct aecs_sgx_ext ext;
    static uint8_t out[4200];
    /* 1.2.840.113741.1.13.1.2.1 and 1.2.840.113741.1.13.1.2.1.5 */
    static const uint8_t comp1_oid[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf8,
                                        0x4d, 0x01, 0x0d, 0x01, 0x02, 0x01};
    static const uint8_t longer_oid[] = {0x06, 0x0c, 0x2a, 0x86, 0x48, 0x86, 0xf8,
                                         0x4d, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x05};

    sgx_ext_value(aecs_certs_get(chain, 0), &val, &size);
    /* sanity: rebuilt with the real OID, the bytes are the original ones */
    size_t n = ext_with_first_tcb_oid(val, size, comp1_oid, sizeof(comp1_oid), out, sizeof(out));
    assert_int_equal(n, size);
    assert_memory_equal(out, val, size);

    n = ext_with_first_tcb_oid(val, size, longer_oid, sizeof(longer_oid), out, sizeof(out));
    assert_int_equal(n, size + 1);
    int rc_longer = aecs_sgx_ext_parse_der(out, n, &ext);

    /* ...13.1.2.4294967297 (2^32 + 1): an arc that only wraps to 1 in an int */
    static const uint8_t wrapping_oid[] = {0x06, 0x0f, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01,
                                           0x0d, 0x01, 0x02, 0x90, 0x80, 0x80, 0x80, 0x01};
    n = ext_with_first_tcb_oid(val, size, wrapping_oid, sizeof(wrapping_oid), out, sizeof(out));
    assert_int_equal(n, size + 4);
    int rc_wrapping = aecs_sgx_ext_parse_der(out, n, &ext);
    aecs_certs_free(chain);

    if (rc_longer != AECS_E_FORMAT || rc_wrapping != AECS_E_FORMAT)
        fail_msg("SGX extensions whose first TCB element has OID "
                 "1.2.840.113741.1.13.1.2.1.5 / ...2.4294967297 (not ...2.1) gave %d / %d; want "
                 "AECS_E_FORMAT for both (parse_tcb reads the component number with atoi(), "
                 "which stops at the next dot and wraps on huge arcs)",
                 rc_longer, rc_wrapping);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha_fips_vectors),
        cmocka_unit_test(test_memory_helpers),
        cmocka_unit_test(test_ecdsa_round_trip),
        cmocka_unit_test(test_pubkey_from_xy_rejects_points_off_the_curve),
        cmocka_unit_test(test_ecdsa_verifies_intel_collateral_signatures),
        cmocka_unit_test(test_pubkey_parse),
        cmocka_unit_test(test_certs_parse_every_pck_chain),
        cmocka_unit_test(test_certs_order_root_first_sample),
        cmocka_unit_test(test_certs_parse_pem_with_noise),
        cmocka_unit_test(test_certs_parse_der_concatenation),
        cmocka_unit_test(test_certs_parse_rejects),
        cmocka_unit_test(test_certs_order_chain_rejects),
        cmocka_unit_test(test_cert_parse),
        cmocka_unit_test(test_cert_same_key_and_subject),
        cmocka_unit_test(test_cert_dates),
        cmocka_unit_test(test_cert_check_issued_by),
        cmocka_unit_test(test_cert_check_issued_by_same_name_other_key),
        cmocka_unit_test(test_crl_dates_match_openssl),
        cmocka_unit_test(test_crl_parse_der_pem_hex),
        cmocka_unit_test(test_crl_parse_rejects),
        cmocka_unit_test(test_crl_parse_der_ending_in_whitespace_bytes),
        cmocka_unit_test(test_crl_check_issued_by),
        cmocka_unit_test(test_crl_issuer_is_pck_ca),
        cmocka_unit_test(test_sgx_ext_parse_cert_matches_expected),
        cmocka_unit_test(test_sgx_ext_parse_der),
        cmocka_unit_test(test_sgx_ext_parse_der_structure_errors),
        cmocka_unit_test(test_sgx_ext_rejects_longer_tcb_oid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
