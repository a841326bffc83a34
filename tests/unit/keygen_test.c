/*
 * keygen_test.c - secret types and their params (src/keystore/secret.c over
 * src/crypto/keygen.c).
 *
 * Every generated key is read back by OpenSSL's command line, which says what
 * it is: `openssl pkey -text` (algorithm, size, curve), `openssl rsa -check`,
 * public keys re-derived from the private key by `openssl pkey -pubout` /
 * `openssl rsa -RSAPublicKey_out` and compared byte for byte, certificates by
 * `openssl x509` (subject, dates, extensions) and `openssl verify` (the
 * self-signature). PEM labels are the ones RFC 7468 and OpenSSL define.
 * CONFIGURATIONS JSON is read back with jansson. Bad params are checked with
 * their exact messages, which must name the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <jansson.h>

#include "base/err.h"
#include "keystore/secret.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

static char g_dir[64];
static char g_out[16384];

static int setup(void **state)
{
    (void)state;
    tu_mkdtemp(g_dir, sizeof(g_dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(g_dir);
    return 0;
}

static void assert_msg_is(const char *expected)
{
    if (strcmp(MSG(), expected) != 0)
        fail_msg("message '%s' is not '%s'", MSG(), expected);
}

static void assert_has(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("'%.400s' does not contain '%s'", text, needle);
}

static int starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Writes data to g_dir/name; the path goes to path. */
static void save(const char *name, const void *data, size_t size, char *path, size_t path_size)
{
    snprintf(path, path_size, "%s/%s", g_dir, name);
    tu_write_file(path, data, size);
}

/* Runs a shell command, returns its stdout in g_out; fails the test on a non-zero exit. */
static const char *run(const char *fmt, ...) AECS_PRINTF(1, 2);
static const char *run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    FILE *p;
    size_t n;
    int status;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(g_out, 1, sizeof(g_out) - 1, p);
    g_out[n] = '\0';
    status = pclose(p);
    if (status != 0)
        fail_msg("'%s' exited with %d: %s", cmd, status, g_out);
    return g_out;
}

static struct aecs_secret *gen(const char *type, const struct aecs_secret_param *params,
                               size_t count)
{
    struct aecs_secret *s = NULL;

    if (aecs_secret_generate(type, params, count, NULL, 0, &s) != AECS_OK)
        fail_msg("%s: %s", type, MSG());
    assert_non_null(s);
    return s;
}

/* Expects AECS_E_INVALID_ARGUMENT (or `code`) and exactly `msg`. */
static void expect_refused(const char *type, const struct aecs_secret_param *params, size_t count,
                           int code, const char *msg)
{
    struct aecs_secret *s = (struct aecs_secret *)1;

    assert_int_equal(aecs_secret_generate(type, params, count, NULL, 0, &s), code);
    assert_null(s);
    assert_msg_is(msg);
}

/* The public PEM equals what OpenSSL derives from the private PEM with `derive` options. */
static void assert_public_matches(const struct aecs_secret *s, const char *derive)
{
    char priv[128];
    char pub[128];

    save("priv.pem", s->private_data, s->private_size, priv, sizeof(priv));
    save("pub.pem", s->public_data, s->public_size, pub, sizeof(pub));
    run("openssl %s -in '%s' 2>/dev/null", derive, priv);
    assert_string_equal(g_out, s->public_data);
}

/* `openssl pkey -text -noout` of the private part. */
static const char *pkey_text(const struct aecs_secret *s)
{
    char priv[128];

    save("priv.pem", s->private_data, s->private_size, priv, sizeof(priv));
    return run("openssl pkey -in '%s' -noout -text", priv);
}

static void assert_pem_pair(const struct aecs_secret *s, const char *priv_label,
                            const char *pub_label)
{
    char begin[64];

    assert_string_equal(s->content_type, AECS_CONTENT_PEM);
    assert_non_null(s->public_content_type);
    assert_string_equal(s->public_content_type, AECS_CONTENT_PEM);
    snprintf(begin, sizeof(begin), "-----BEGIN %s-----\n", priv_label);
    assert_true(starts_with((const char *)s->private_data, begin));
    assert_int_equal(s->private_data[s->private_size], 0);
    assert_int_equal(strlen((const char *)s->private_data), s->private_size);
    snprintf(begin, sizeof(begin), "-----BEGIN %s-----\n", pub_label);
    assert_true(starts_with(s->public_data, begin));
    assert_int_equal(strlen(s->public_data), s->public_size);
}

/* ---- types ---- */

static void test_type_names(void **state)
{
    static const char *const names[] = {
        "SECRET_TYPE_AES256_KEY",  "SECRET_TYPE_RSA_KEY_PAIR",     "SECRET_TYPE_SM2_KEY_PAIR",
        "SECRET_TYPE_CERTIFICATE", "SECRET_TYPE_IMPORT_DATA",      "SECRET_TYPE_CONFIGURATIONS",
        "SECRET_TYPE_EC_KEY_PAIR", "SECRET_TYPE_ED25519_KEY_PAIR", "SECRET_TYPE_HMAC_KEY",
    };
    enum aecs_secret_type t;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(aecs_secret_type_parse(names[i], &t), AECS_OK);
        assert_string_equal(aecs_secret_type_name(t), names[i]);
    }
    assert_string_equal(aecs_secret_type_name((enum aecs_secret_type)99), "?");
    assert_int_equal(aecs_secret_type_parse("secret_type_aes256_key", &t), AECS_E_INVALID_ARGUMENT);
    expect_refused("SECRET_TYPE_FOO", NULL, 0, AECS_E_INVALID_ARGUMENT,
                   "type: 'SECRET_TYPE_FOO' is not a secret type (one of SECRET_TYPE_AES256_KEY, "
                   "SECRET_TYPE_RSA_KEY_PAIR, SECRET_TYPE_SM2_KEY_PAIR, SECRET_TYPE_CERTIFICATE, "
                   "SECRET_TYPE_IMPORT_DATA, SECRET_TYPE_CONFIGURATIONS, SECRET_TYPE_EC_KEY_PAIR, "
                   "SECRET_TYPE_ED25519_KEY_PAIR, SECRET_TYPE_HMAC_KEY)");
    expect_refused("", NULL, 0, AECS_E_INVALID_ARGUMENT, "type: missing");
}

static void test_aes256_key(void **state)
{
    struct aecs_secret *a;
    struct aecs_secret *b;
    static const struct aecs_secret_param extra[] = {{"bit_length", "256"}};

    (void)state;
    a = gen("SECRET_TYPE_AES256_KEY", NULL, 0);
    b = gen("SECRET_TYPE_AES256_KEY", NULL, 0);
    assert_int_equal(a->type, AECS_SECRET_AES256_KEY);
    assert_string_equal(a->content_type, AECS_CONTENT_BINARY);
    assert_int_equal(a->private_size, 32);
    assert_null(a->public_data);
    assert_null(a->public_content_type);
    assert_memory_not_equal(a->private_data, b->private_data, 32);
    aecs_secret_free(a);
    aecs_secret_free(b);
    expect_refused("SECRET_TYPE_AES256_KEY", extra, 1, AECS_E_INVALID_ARGUMENT,
                   "params.bit_length: not a parameter of SECRET_TYPE_AES256_KEY (it takes: "
                   "none)");
}

static void test_hmac_key(void **state)
{
    static const struct aecs_secret_param p64[] = {{"byte_length", "64"}};
    static const struct aecs_secret_param p8[] = {{"byte_length", "8"}};
    static const struct aecs_secret_param p129[] = {{"byte_length", "129"}};
    static const struct aecs_secret_param pabc[] = {{"byte_length", "abc"}};
    static const struct aecs_secret_param pneg[] = {{"byte_length", "-32"}};
    struct aecs_secret *s;

    (void)state;
    s = gen("SECRET_TYPE_HMAC_KEY", NULL, 0);
    assert_int_equal(s->private_size, 32);
    assert_string_equal(s->content_type, AECS_CONTENT_BINARY);
    assert_null(s->public_data);
    aecs_secret_free(s);
    s = gen("SECRET_TYPE_HMAC_KEY", p64, 1);
    assert_int_equal(s->private_size, 64);
    aecs_secret_free(s);
    expect_refused("SECRET_TYPE_HMAC_KEY", p8, 1, AECS_E_INVALID_ARGUMENT,
                   "params.byte_length: 8 is not in 16..128");
    expect_refused("SECRET_TYPE_HMAC_KEY", p129, 1, AECS_E_INVALID_ARGUMENT,
                   "params.byte_length: 129 is not in 16..128");
    expect_refused("SECRET_TYPE_HMAC_KEY", pabc, 1, AECS_E_INVALID_ARGUMENT,
                   "params.byte_length: 'abc' is not a number");
    expect_refused("SECRET_TYPE_HMAC_KEY", pneg, 1, AECS_E_INVALID_ARGUMENT,
                   "params.byte_length: '-32' is not a number");
}

/* ---- RSA ---- */

static void test_rsa_pkcs1(void **state)
{
    static const struct aecs_secret_param p[] = {{"pkcs_type", "pkcs1"}, {"bit_length", "2048"}};
    struct aecs_secret *s;
    char priv[128];
    char pub[128];

    (void)state;
    s = gen("SECRET_TYPE_RSA_KEY_PAIR", p, 2);
    assert_int_equal(s->type, AECS_SECRET_RSA_KEY_PAIR);
    assert_pem_pair(s, "RSA PRIVATE KEY", "RSA PUBLIC KEY");
    assert_has((const char *)s->private_data, "-----END RSA PRIVATE KEY-----\n");
    assert_true(starts_with(pkey_text(s), "Private-Key: (2048 bit, 2 primes)"));
    assert_has(g_out, "publicExponent: 65537 (0x10001)");
    save("priv.pem", s->private_data, s->private_size, priv, sizeof(priv));
    assert_has(run("openssl rsa -in '%s' -check -noout 2>&1", priv), "RSA key ok");
    save("pub.pem", s->public_data, s->public_size, pub, sizeof(pub));
    assert_has(run("openssl rsa -RSAPublicKey_in -in '%s' -noout -text", pub),
               "Public-Key: (2048 bit)");
    assert_public_matches(s, "rsa -RSAPublicKey_out");
    aecs_secret_free(s);
}

static void test_rsa_pkcs8_3072(void **state)
{
    static const struct aecs_secret_param p[] = {{"bit_length", "3072"}, {"pkcs_type", "pkcs8"}};
    struct aecs_secret *s;

    (void)state;
    s = gen("SECRET_TYPE_RSA_KEY_PAIR", p, 2);
    assert_pem_pair(s, "PRIVATE KEY", "PUBLIC KEY");
    assert_true(starts_with(pkey_text(s), "Private-Key: (3072 bit, 2 primes)"));
    assert_public_matches(s, "pkey -pubout");
    aecs_secret_free(s);
}

static void test_rsa_defaults_and_4096(void **state)
{
    static const struct aecs_secret_param p[] = {{"bit_length", "4096"}};
    struct aecs_secret *s;

    (void)state;
    /* No params: 2048 bits, PKCS#8. */
    s = gen("SECRET_TYPE_RSA_KEY_PAIR", NULL, 0);
    assert_pem_pair(s, "PRIVATE KEY", "PUBLIC KEY");
    assert_true(starts_with(pkey_text(s), "Private-Key: (2048 bit, 2 primes)"));
    aecs_secret_free(s);
    s = gen("SECRET_TYPE_RSA_KEY_PAIR", p, 1);
    assert_pem_pair(s, "PRIVATE KEY", "PUBLIC KEY");
    assert_true(starts_with(pkey_text(s), "Private-Key: (4096 bit, 2 primes)"));
    assert_public_matches(s, "pkey -pubout");
    aecs_secret_free(s);
}

static void test_rsa_bad_params(void **state)
{
    static const struct aecs_secret_param bits1000[] = {{"bit_length", "1000"}};
    static const struct aecs_secret_param bits_text[] = {{"bit_length", "2048 "}};
    static const struct aecs_secret_param bits_empty[] = {{"bit_length", ""}};
    static const struct aecs_secret_param pkcs12[] = {{"pkcs_type", "pkcs12"}};
    static const struct aecs_secret_param upper[] = {{"pkcs_type", "PKCS8"}};
    static const struct aecs_secret_param unknown[] = {{"pkcs_type", "pkcs8"}, {"curve", "P-256"}};
    static const struct aecs_secret_param twice[] = {{"bit_length", "2048"},
                                                     {"bit_length", "2048"}};
    static const struct aecs_secret_param no_key[] = {{"", "2048"}};
    static const struct aecs_secret_param no_value[] = {{"bit_length", NULL}};

    (void)state;
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", bits1000, 1, AECS_E_INVALID_ARGUMENT,
                   "params.bit_length: 1000 is not one of 2048, 3072, 4096");
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", bits_text, 1, AECS_E_INVALID_ARGUMENT,
                   "params.bit_length: '2048 ' is not a number");
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", bits_empty, 1, AECS_E_INVALID_ARGUMENT,
                   "params.bit_length: '' is not a number");
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", pkcs12, 1, AECS_E_INVALID_ARGUMENT,
                   "params.pkcs_type: 'pkcs12' is not one of pkcs1, pkcs8");
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", upper, 1, AECS_E_INVALID_ARGUMENT,
                   "params.pkcs_type: 'PKCS8' is not one of pkcs1, pkcs8");
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", unknown, 2, AECS_E_INVALID_ARGUMENT,
                   "params.curve: not a parameter of SECRET_TYPE_RSA_KEY_PAIR (it takes: "
                   "bit_length, pkcs_type)");
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", twice, 2, AECS_E_INVALID_ARGUMENT,
                   "params.bit_length: given more than once");
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", no_key, 1, AECS_E_INVALID_ARGUMENT,
                   "params[0]: empty key");
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", no_value, 1, AECS_E_INVALID_ARGUMENT,
                   "params.bit_length: no value");
    expect_refused("SECRET_TYPE_RSA_KEY_PAIR", NULL, 1, AECS_E_INVALID_ARGUMENT, "params: missing");
}

/* ---- SM2, EC, Ed25519 ---- */

static void test_sm2(void **state)
{
    struct aecs_secret *s;

    (void)state;
    s = gen("SECRET_TYPE_SM2_KEY_PAIR", NULL, 0);
    assert_int_equal(s->type, AECS_SECRET_SM2_KEY_PAIR);
    assert_pem_pair(s, "PRIVATE KEY", "PUBLIC KEY");
    assert_true(starts_with(pkey_text(s), "Private-Key: (256 bit)"));
    assert_has(g_out, "ASN1 OID: SM2");
    assert_public_matches(s, "pkey -pubout");
    aecs_secret_free(s);
}

static void test_ec(void **state)
{
    static const struct aecs_secret_param p256[] = {{"curve", "P-256"}};
    static const struct aecs_secret_param prime[] = {{"curve", "prime256v1"}};
    static const struct aecs_secret_param p384[] = {{"curve", "P-384"}};
    static const struct aecs_secret_param secp[] = {{"curve", "secp384r1"}};
    static const struct aecs_secret_param p521[] = {{"curve", "P-521"}};
    static const struct aecs_secret_param bits[] = {{"bit_length", "256"}};
    const struct {
        const struct aecs_secret_param *p;
        size_t count;
        const char *oid;
        const char *nist;
    } cases[] = {
        {NULL, 0, "ASN1 OID: prime256v1", "NIST CURVE: P-256"},
        {p256, 1, "ASN1 OID: prime256v1", "NIST CURVE: P-256"},
        {prime, 1, "ASN1 OID: prime256v1", "NIST CURVE: P-256"},
        {p384, 1, "ASN1 OID: secp384r1", "NIST CURVE: P-384"},
        {secp, 1, "ASN1 OID: secp384r1", "NIST CURVE: P-384"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct aecs_secret *s = gen("SECRET_TYPE_EC_KEY_PAIR", cases[i].p, cases[i].count);

        assert_pem_pair(s, "PRIVATE KEY", "PUBLIC KEY");
        pkey_text(s);
        assert_has(g_out, cases[i].oid);
        assert_has(g_out, cases[i].nist);
        assert_public_matches(s, "pkey -pubout");
        aecs_secret_free(s);
    }
    expect_refused("SECRET_TYPE_EC_KEY_PAIR", p521, 1, AECS_E_INVALID_ARGUMENT,
                   "params.curve: 'P-521' is not one of P-256, P-384 (or their names "
                   "prime256v1, secp384r1)");
    expect_refused("SECRET_TYPE_EC_KEY_PAIR", bits, 1, AECS_E_INVALID_ARGUMENT,
                   "params.bit_length: not a parameter of SECRET_TYPE_EC_KEY_PAIR (it takes: "
                   "curve)");
}

static void test_ed25519(void **state)
{
    struct aecs_secret *s;

    (void)state;
    s = gen("SECRET_TYPE_ED25519_KEY_PAIR", NULL, 0);
    assert_pem_pair(s, "PRIVATE KEY", "PUBLIC KEY");
    assert_true(starts_with(pkey_text(s), "ED25519 Private-Key:"));
    assert_public_matches(s, "pkey -pubout");
    aecs_secret_free(s);
}

/* ---- certificates ---- */

/* "notBefore=2026-01-02 03:04:05Z" (openssl x509 -dateopt iso_8601) as epoch seconds. */
static int64_t iso_date(const char *text, const char *field)
{
    const char *p = strstr(text, field);
    char rfc3339[32];

    assert_non_null(p);
    p += strlen(field);
    /* "YYYY-MM-DD HH:MM:SSZ" -> "YYYY-MM-DDTHH:MM:SSZ" */
    snprintf(rfc3339, sizeof(rfc3339), "%.10sT%.9s", p, p + 11);
    return tu_utc(rfc3339);
}

static void test_certificate(void **state)
{
    static const struct aecs_secret_param p[] = {
        {"bit_length", "3072"}, {"days", "30"}, {"subject", "CN=test, O=org"}};
    struct aecs_secret *s;
    char cert[128];
    char priv[128];
    char key_pub[4096];
    char verified[160];
    const char *cert_in_private;
    int64_t before;
    int64_t after;
    int64_t now = (int64_t)time(NULL);

    (void)state;
    s = gen("SECRET_TYPE_CERTIFICATE", p, 3);
    assert_int_equal(s->type, AECS_SECRET_CERTIFICATE);
    assert_pem_pair(s, "PRIVATE KEY", "CERTIFICATE");
    /* The private part is the key followed by the certificate. */
    cert_in_private = strstr((const char *)s->private_data, "-----BEGIN CERTIFICATE-----\n");
    assert_non_null(cert_in_private);
    assert_string_equal(cert_in_private, s->public_data);
    assert_true(starts_with(pkey_text(s), "Private-Key: (3072 bit, 2 primes)"));

    save("cert.pem", s->public_data, s->public_size, cert, sizeof(cert));
    assert_string_equal(run("openssl x509 -in '%s' -noout -subject -nameopt RFC2253", cert),
                        "subject=O=org,CN=test\n");
    assert_string_equal(run("openssl x509 -in '%s' -noout -issuer -nameopt RFC2253", cert),
                        "issuer=O=org,CN=test\n");
    run("openssl x509 -in '%s' -noout -startdate -enddate -dateopt iso_8601", cert);
    before = iso_date(g_out, "notBefore=");
    after = iso_date(g_out, "notAfter=");
    assert_true(before >= now - 5 && before <= now + 5);
    assert_int_equal(after - before, 30 * 86400);
    run("openssl x509 -in '%s' -noout -text", cert);
    assert_has(g_out, "Signature Algorithm: sha256WithRSAEncryption");
    assert_has(g_out, "Public-Key: (3072 bit)");
    assert_has(g_out, "CA:FALSE");
    assert_has(g_out, "X509v3 Subject Key Identifier");
    /* The self-signature verifies, with the certificate as its own trust anchor. */
    snprintf(verified, sizeof(verified), "%s: OK\n", cert);
    assert_string_equal(run("openssl verify -CAfile '%s' '%s'", cert, cert), verified);
    /* The certificate certifies the private key's public half. */
    save("priv.pem", s->private_data, s->private_size, priv, sizeof(priv));
    snprintf(key_pub, sizeof(key_pub), "%s", run("openssl pkey -in '%s' -pubout", priv));
    assert_string_equal(run("openssl x509 -in '%s' -noout -pubkey", cert), key_pub);
    aecs_secret_free(s);
}

static void test_certificate_defaults(void **state)
{
    struct aecs_secret *s;
    char cert[128];

    (void)state;
    s = gen("SECRET_TYPE_CERTIFICATE", NULL, 0);
    assert_true(starts_with(pkey_text(s), "Private-Key: (2048 bit, 2 primes)"));
    save("cert.pem", s->public_data, s->public_size, cert, sizeof(cert));
    assert_string_equal(run("openssl x509 -in '%s' -noout -subject -nameopt RFC2253", cert),
                        "subject=CN=aecs\n");
    run("openssl x509 -in '%s' -noout -startdate -enddate -dateopt iso_8601", cert);
    assert_int_equal(iso_date(g_out, "notAfter=") - iso_date(g_out, "notBefore="), 365 * 86400);
    aecs_secret_free(s);
}

/* A certificate with the single param key=value is refused with exactly msg. */
static void cert_refused(const char *key, const char *value, const char *msg)
{
    struct aecs_secret_param p[1] = {{key, value}};

    expect_refused("SECRET_TYPE_CERTIFICATE", p, 1, AECS_E_INVALID_ARGUMENT, msg);
}

static void test_certificate_bad_params(void **state)
{
    char long_cn[80];

    (void)state;
    cert_refused("days", "0", "params.days: 0 is not in 1..36500");
    cert_refused("days", "36501", "params.days: 36501 is not in 1..36500");
    cert_refused("days", "1y", "params.days: '1y' is not a number");
    cert_refused("bit_length", "1024", "params.bit_length: 1024 is not one of 2048, 3072, 4096");
    cert_refused("subject", "", "params.subject: empty (expected e.g. CN=name,O=org)");
    cert_refused("subject", "O=org", "params.subject: has no CN (expected e.g. CN=name,O=org)");
    cert_refused("subject", "CN", "params.subject: 'CN' is not ATTR=VALUE");
    cert_refused("subject", "CN=a,,O=b", "params.subject: '' is not ATTR=VALUE");
    cert_refused("subject", "=x", "params.subject: an attribute name is missing before '='");
    cert_refused("subject", "CN=a,XX=b", "params.subject: 'XX' is not an X.509 name attribute");
    cert_refused("subject", "CN=a,OU=b",
                 "params.subject: attribute OU is not supported (only CN and O)");
    cert_refused("subject", "CN=a,CN=b", "params.subject: CN is given more than once");
    cert_refused("subject", "CN=", "params.subject: CN has an empty value");
    /* RFC 5280's upper bound for a CN is 64 characters; OpenSSL enforces it. */
    memset(long_cn, 'x', sizeof(long_cn));
    memcpy(long_cn, "CN=", 3);
    long_cn[3 + 65] = '\0';
    cert_refused("subject", long_cn,
                 "params.subject: the CN value is not valid in X.509 (string too long)");
    cert_refused("pkcs_type", "pkcs1",
                 "params.pkcs_type: not a parameter of SECRET_TYPE_CERTIFICATE (it takes: "
                 "bit_length, days, subject)");
}

/* ---- imported data and configurations ---- */

static void test_import_data(void **state)
{
    /* The seeds' sample import. */
    static const char sample[] = "48-f1-87-6c-da-13-be-ae-2f-14-f6-78-9e5-15-1d-e1";
    static const uint8_t binary[] = {0x00, 0xff, 0x10, 0x00};
    static const struct aecs_secret_param p[] = {{"format", "hex"}};
    struct aecs_secret *s = NULL;

    (void)state;
    assert_int_equal(aecs_secret_generate("SECRET_TYPE_IMPORT_DATA", NULL, 0,
                                          (const uint8_t *)sample, strlen(sample), &s),
                     AECS_OK);
    assert_string_equal(s->content_type, AECS_CONTENT_BINARY);
    assert_int_equal(s->private_size, strlen(sample));
    assert_memory_equal(s->private_data, sample, strlen(sample));
    assert_null(s->public_data);
    aecs_secret_free(s);
    assert_int_equal(
        aecs_secret_generate("SECRET_TYPE_IMPORT_DATA", NULL, 0, binary, sizeof(binary), &s),
        AECS_OK);
    assert_int_equal(s->private_size, sizeof(binary));
    assert_memory_equal(s->private_data, binary, sizeof(binary));
    aecs_secret_free(s);

    expect_refused("SECRET_TYPE_IMPORT_DATA", NULL, 0, AECS_E_INVALID_ARGUMENT,
                   "data: SECRET_TYPE_IMPORT_DATA needs the data to import");
    expect_refused("SECRET_TYPE_IMPORT_DATA", p, 1, AECS_E_INVALID_ARGUMENT,
                   "params.format: not a parameter of SECRET_TYPE_IMPORT_DATA (it takes: none)");
    s = (struct aecs_secret *)1;
    assert_int_equal(
        aecs_secret_generate("SECRET_TYPE_AES256_KEY", NULL, 0, binary, sizeof(binary), &s),
        AECS_E_INVALID_ARGUMENT);
    assert_null(s);
    assert_msg_is("data: only SECRET_TYPE_IMPORT_DATA takes data, not SECRET_TYPE_AES256_KEY");
    {
        uint8_t *big = calloc(1, AECS_SECRET_MAX_DATA + 1);

        assert_int_equal(aecs_secret_generate("SECRET_TYPE_IMPORT_DATA", NULL, 0, big,
                                              AECS_SECRET_MAX_DATA + 1, &s),
                         AECS_E_TOO_LARGE);
        assert_msg_is("data: 1048577 bytes, at most 1048576 can be imported");
        free(big);
    }
}

static void test_configurations(void **state)
{
    static const struct aecs_secret_param p[] = {
        {"db_host", "10.0.0.5"},
        {"db_password", "s3cr\"et\\"},
        {"bit_length", "2048"}, /* any key is a configuration key */
        {"greeting", "\xe4\xbd\xa0\xe5\xa5\xbd"},
    };
    static const struct aecs_secret_param twice[] = {{"a", "1"}, {"a", "2"}};
    static const struct aecs_secret_param not_utf8[] = {{"a", "SECRET\xff"}};
    struct aecs_secret *s;
    json_t *root;
    json_error_t error;
    const char *key;
    json_t *value;
    size_t i = 0;

    (void)state;
    s = gen("SECRET_TYPE_CONFIGURATIONS", p, 4);
    assert_string_equal(s->content_type, AECS_CONTENT_JSON);
    assert_null(s->public_data);
    root =
        json_loadb((const char *)s->private_data, s->private_size, JSON_REJECT_DUPLICATES, &error);
    assert_non_null(root);
    assert_true(json_is_object(root));
    assert_int_equal(json_object_size(root), 4);
    json_object_foreach(root, key, value)
    {
        /* in the given order, every value a string equal to the param */
        assert_string_equal(key, p[i].key);
        assert_true(json_is_string(value));
        assert_string_equal(json_string_value(value), p[i].value);
        i++;
    }
    json_decref(root);
    aecs_secret_free(s);

    expect_refused("SECRET_TYPE_CONFIGURATIONS", NULL, 0, AECS_E_INVALID_ARGUMENT,
                   "params: SECRET_TYPE_CONFIGURATIONS needs at least one key-value pair");
    expect_refused("SECRET_TYPE_CONFIGURATIONS", twice, 2, AECS_E_INVALID_ARGUMENT,
                   "params.a: given more than once");
    expect_refused("SECRET_TYPE_CONFIGURATIONS", not_utf8, 1, AECS_E_INVALID_ARGUMENT,
                   "params.a: value is not UTF-8 text");
    assert_null(strstr(MSG(), "SECRET"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_aes256_key),
        cmocka_unit_test(test_hmac_key),
        cmocka_unit_test(test_rsa_pkcs1),
        cmocka_unit_test(test_rsa_pkcs8_3072),
        cmocka_unit_test(test_rsa_defaults_and_4096),
        cmocka_unit_test(test_rsa_bad_params),
        cmocka_unit_test(test_sm2),
        cmocka_unit_test(test_ec),
        cmocka_unit_test(test_ed25519),
        cmocka_unit_test(test_certificate),
        cmocka_unit_test(test_certificate_defaults),
        cmocka_unit_test(test_certificate_bad_params),
        cmocka_unit_test(test_import_data),
        cmocka_unit_test(test_configurations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
