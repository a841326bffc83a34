/*
 * sigkey_test.c - admin signing keys (src/crypto/sigkey.c).
 *
 * Expected values come from OpenSSL's command line, never from sigkey.c: key
 * ids are `openssl pkey [-pubin] -pubout -outform DER | sha256sum` of the
 * fixed keys in tests/data/keys (MANIFEST.md), message.sig was made by
 * `openssl dgst -sha256 -sign`, and signatures made here are checked by
 * `openssl dgst -sha256 -verify`. Refusals are checked with their exact code
 * and message.
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

#include "base/err.h"
#include "crypto/sigkey.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

/* `openssl pkey -pubin -in admin_p256.pub.pem -outform DER | sha256sum` (and of -in admin_p256.pem
 * -pubout) */
#define ID_ADMIN "0af213ca5258b339c2d66355a52123edfbcc167faea8237c0a2b29489c834a29"
/* `openssl pkey -in admin_p256_sec1.pem -pubout -outform DER | sha256sum` */
#define ID_SEC1 "ff2e0d0f38d3af515398361e5c288ab326689964eea44f0946140a6f152bbb7b"
/* `openssl pkey -pubin -in admin_p256_sec1_compressed.pub.pem -outform DER | sha256sum`:
 * the compressed encoding's own hash, which is NOT the key id (ids use the uncompressed point). */
#define HASH_COMPRESSED_DER "44ed33ec5a4047339ae071628d75e28087fa3a6f0b9b2b25d255441db5a4df85"

#define HINT "aecs admin keys are ECDSA P-256 (make one with `aecs keygen`)"

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

static void key_path(char *buf, size_t size, const char *name)
{
    char rel[256];

    snprintf(rel, sizeof(rel), "tests/data/keys/%s", name);
    tu_src_path(buf, size, rel);
}

static void assert_msg_is(const char *expected)
{
    if (strcmp(MSG(), expected) != 0)
        fail_msg("message '%s' is not '%s'", MSG(), expected);
}

static void assert_msg_has(const char *needle)
{
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", MSG(), needle);
}

/* Runs a shell command; returns its exit status, stdout in g_out. */
static int run_status(const char *fmt, ...) AECS_PRINTF(1, 2);
static int run_status(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    FILE *p;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(g_out, 1, sizeof(g_out) - 1, p);
    g_out[n] = '\0';
    return pclose(p);
}

static struct aecs_sigkey *load_private(const char *name)
{
    char path[512];
    struct aecs_sigkey *key = NULL;

    key_path(path, sizeof(path), name);
    if (aecs_sigkey_load_private(path, &key) != AECS_OK)
        fail_msg("%s: %s", name, MSG());
    assert_non_null(key);
    return key;
}

static struct aecs_sigkey *load_public(const char *name)
{
    char path[512];
    size_t size = 0;
    uint8_t *pem;
    struct aecs_sigkey *key = NULL;

    key_path(path, sizeof(path), name);
    pem = tu_read_file(path, &size);
    if (aecs_sigkey_parse_public((const char *)pem, size, &key) != AECS_OK)
        fail_msg("%s: %s", name, MSG());
    free(pem);
    assert_non_null(key);
    return key;
}

static void assert_id(const struct aecs_sigkey *key, const char *expected)
{
    char id[AECS_SIGKEY_ID_HEX + 1];

    assert_int_equal(aecs_sigkey_id(key, id), AECS_OK);
    assert_string_equal(id, expected);
}

static void test_key_ids(void **state)
{
    struct aecs_sigkey *k;

    (void)state;
    k = load_public("admin_p256.pub.pem");
    assert_id(k, ID_ADMIN);
    aecs_sigkey_free(k);
    k = load_private("admin_p256.pem");
    assert_id(k, ID_ADMIN);
    aecs_sigkey_free(k);
    /* SEC 1 "EC PRIVATE KEY" after an "EC PARAMETERS" block (openssl ecparam -genkey) */
    k = load_private("admin_p256_sec1.pem");
    assert_id(k, ID_SEC1);
    aecs_sigkey_free(k);
    /* The same key with a compressed point: same id as the uncompressed form. */
    k = load_public("admin_p256_sec1_compressed.pub.pem");
    assert_id(k, ID_SEC1);
    aecs_sigkey_free(k);
    assert_string_not_equal(ID_SEC1, HASH_COMPRESSED_DER);
}

/* The public PEM is what `openssl pkey -pubout` wrote, byte for byte. */
static void test_public_pem(void **state)
{
    char path[512];
    size_t size = 0;
    uint8_t *want;
    char *pem = NULL;
    struct aecs_sigkey *k = load_private("admin_p256.pem");

    (void)state;
    key_path(path, sizeof(path), "admin_p256.pub.pem");
    want = tu_read_file(path, &size);
    assert_int_equal(aecs_sigkey_public_pem(k, &pem), AECS_OK);
    assert_string_equal(pem, (const char *)want);
    free(pem);
    aecs_sigkey_free(k);
    /* compressed in, uncompressed out: what `openssl pkey -ec_conv_form uncompressed` writes */
    k = load_public("admin_p256_sec1_compressed.pub.pem");
    assert_int_equal(aecs_sigkey_public_pem(k, &pem), AECS_OK);
    key_path(path, sizeof(path), "admin_p256_sec1_compressed.pub.pem");
    assert_int_equal(run_status("openssl pkey -pubin -in '%s' -ec_conv_form uncompressed", path),
                     0);
    assert_string_equal(pem, g_out);
    free(pem);
    aecs_sigkey_free(k);
    free(want);
}

/* message.sig was made by `openssl dgst -sha256 -sign admin_p256.pem message.txt`. */
static void test_verify_openssl_signature(void **state)
{
    char path[512];
    size_t msg_size = 0, sig_size = 0;
    uint8_t *msg, *sig;
    struct aecs_sigkey *pub = load_public("admin_p256.pub.pem");
    struct aecs_sigkey *pair = load_private("admin_p256.pem");
    struct aecs_sigkey *other = load_private("admin_p256_sec1.pem");

    (void)state;
    key_path(path, sizeof(path), "message.txt");
    msg = tu_read_file(path, &msg_size);
    key_path(path, sizeof(path), "message.sig");
    sig = tu_read_file(path, &sig_size);
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size, sig, sig_size), AECS_OK);
    assert_int_equal(aecs_sigkey_verify(pair, msg, msg_size, sig, sig_size), AECS_OK);

    assert_int_equal(aecs_sigkey_verify(other, msg, msg_size, sig, sig_size), AECS_E_BAD_SIGNATURE);
    assert_msg_is("the signature does not verify");
    msg[0] ^= 1;
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size, sig, sig_size), AECS_E_BAD_SIGNATURE);
    msg[0] ^= 1;
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size - 1, sig, sig_size),
                     AECS_E_BAD_SIGNATURE);
    sig[sig_size - 1] ^= 0x80;
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size, sig, sig_size), AECS_E_BAD_SIGNATURE);
    sig[sig_size - 1] ^= 0x80;
    /* not DER: truncated, a trailing byte, empty, too long */
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size, sig, sig_size - 1),
                     AECS_E_BAD_SIGNATURE);
    uint8_t longer[AECS_SIGKEY_SIG_MAX + 1];
    memset(longer, 0, sizeof(longer));
    memcpy(longer, sig, sig_size);
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size, longer, sig_size + 1),
                     AECS_E_BAD_SIGNATURE);
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size, sig, 0), AECS_E_BAD_SIGNATURE);
    assert_msg_is("the signature is not a DER ECDSA P-256 signature (0 bytes)");
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size, longer, sizeof(longer)),
                     AECS_E_BAD_SIGNATURE);
    assert_msg_is("the signature is not a DER ECDSA P-256 signature (81 bytes)");
    /* a raw r||s (64 bytes) is not DER */
    uint8_t rs[64];
    memset(rs, 0x11, sizeof(rs));
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size, rs, sizeof(rs)), AECS_E_BAD_SIGNATURE);
    /* the untouched signature still verifies */
    assert_int_equal(aecs_sigkey_verify(pub, msg, msg_size, sig, sig_size), AECS_OK);

    free(msg);
    free(sig);
    aecs_sigkey_free(pub);
    aecs_sigkey_free(pair);
    aecs_sigkey_free(other);
}

/* Signatures made here are verified by `openssl dgst -sha256 -verify`. */
static void test_sign_openssl_verifies(void **state)
{
    static const char msg[] = "aecs-request-v1\nGET\n/v1/admin/services\n";
    char pub[512], msg_path[256], sig_path[256];
    uint8_t sig[AECS_SIGKEY_SIG_MAX];
    size_t sig_size = 0;
    struct aecs_sigkey *pair = load_private("admin_p256.pem");
    struct aecs_sigkey *pubkey = load_public("admin_p256.pub.pem");

    (void)state;
    key_path(pub, sizeof(pub), "admin_p256.pub.pem");
    snprintf(msg_path, sizeof(msg_path), "%s/msg", g_dir);
    snprintf(sig_path, sizeof(sig_path), "%s/sig", g_dir);
    tu_write_file(msg_path, msg, strlen(msg));
    for (int i = 0; i < 4; i++) {
        assert_int_equal(aecs_sigkey_sign(pair, msg, strlen(msg), sig, &sig_size), AECS_OK);
        assert_true(sig_size >= 8 && sig_size <= 72);
        assert_int_equal(sig[0], 0x30); /* a DER SEQUENCE */
        tu_write_file(sig_path, sig, sig_size);
        assert_int_equal(run_status("openssl dgst -sha256 -verify '%s' -signature '%s' '%s'", pub,
                                    sig_path, msg_path),
                         0);
        assert_string_equal(g_out, "Verified OK\n");
        assert_int_equal(aecs_sigkey_verify(pubkey, msg, strlen(msg), sig, sig_size), AECS_OK);
    }
    /* and a signature over another message is refused by openssl too */
    tu_write_file(msg_path, msg, strlen(msg) - 1);
    assert_int_not_equal(run_status("openssl dgst -sha256 -verify '%s' -signature '%s' '%s'", pub,
                                    sig_path, msg_path),
                         0);
    /* an empty message is fine */
    assert_int_equal(aecs_sigkey_sign(pair, NULL, 0, sig, &sig_size), AECS_OK);
    assert_int_equal(aecs_sigkey_verify(pubkey, NULL, 0, sig, sig_size), AECS_OK);
    /* a public key cannot sign */
    assert_int_equal(aecs_sigkey_sign(pubkey, msg, strlen(msg), sig, &sig_size),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("cannot sign with a public key: load the private key file");
    assert_int_equal(sig_size, 0);
    aecs_sigkey_free(pair);
    aecs_sigkey_free(pubkey);
}

static void expect_private_refused(const char *name, int code, const char *what_follows)
{
    char path[512], want[1024];
    struct aecs_sigkey *key = (struct aecs_sigkey *)1;

    key_path(path, sizeof(path), name);
    assert_int_equal(aecs_sigkey_load_private(path, &key), code);
    assert_null(key);
    snprintf(want, sizeof(want), "%s%s", path, what_follows);
    assert_msg_is(want);
}

static void expect_public_refused(const char *pem, size_t size, int code, const char *msg)
{
    struct aecs_sigkey *key = (struct aecs_sigkey *)1;

    assert_int_equal(aecs_sigkey_parse_public(pem, size, &key), code);
    assert_null(key);
    if (msg != NULL)
        assert_msg_is(msg);
}

static void expect_public_file_refused(const char *name, int code, const char *msg)
{
    char path[512];
    size_t size = 0;
    uint8_t *pem;

    key_path(path, sizeof(path), name);
    pem = tu_read_file(path, &size);
    expect_public_refused((const char *)pem, size, code, msg);
    free(pem);
}

static void test_other_key_types_refused(void **state)
{
    (void)state;
    expect_private_refused("rsa2048.pem", AECS_E_UNSUPPORTED, " is an RSA key; " HINT);
    expect_private_refused("p384.pem", AECS_E_UNSUPPORTED, " is an EC key on secp384r1; " HINT);
    expect_private_refused("ed25519.pem", AECS_E_UNSUPPORTED, " is an Ed25519 key; " HINT);
    expect_public_file_refused("rsa2048.pub.pem", AECS_E_UNSUPPORTED,
                               "the public key is an RSA key; " HINT);
    expect_public_file_refused("p384.pub.pem", AECS_E_UNSUPPORTED,
                               "the public key is an EC key on secp384r1; " HINT);
    expect_public_file_refused("ed25519.pub.pem", AECS_E_UNSUPPORTED,
                               "the public key is an Ed25519 key; " HINT);
    expect_private_refused("admin_p256_encrypted.pem", AECS_E_UNSUPPORTED,
                           " is an encrypted private key; aecs reads unencrypted keys kept in a "
                           "file only you can read (mode 0600)");
}

static void write_tmp(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", g_dir, name);
    tu_write_file(path, text, strlen(text));
}

static void test_garbage_refused(void **state)
{
    char path[512], tls[512], want[1024], pub_path[512];
    size_t size = 0;
    uint8_t *pub;
    struct aecs_sigkey *key = (struct aecs_sigkey *)1;

    (void)state;
    /* public keys */
    expect_public_refused("hello", 5, AECS_E_FORMAT,
                          "the public key is not a PEM public key "
                          "(no \"-----BEGIN PUBLIC KEY-----\" block)");
    expect_public_refused("", 0, AECS_E_FORMAT, "the public key is not a PEM public key (0 bytes)");
    expect_public_refused(NULL, 0, AECS_E_INVALID_ARGUMENT, "no public key given");
    static const char short_der[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    static const char bad_b64[] = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n";
    static const char no_end[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n";
    expect_public_refused(short_der, strlen(short_der), AECS_E_FORMAT,
                          "the public key's PEM block is not a SubjectPublicKeyInfo");
    expect_public_refused(bad_b64, strlen(bad_b64), AECS_E_FORMAT,
                          "the public key's PEM block does not decode (bad base64, or no END "
                          "line)");
    expect_public_refused(no_end, strlen(no_end), AECS_E_FORMAT,
                          "the public key's PEM block does not decode (bad base64, or no END "
                          "line)");
    tu_src_path(tls, sizeof(tls), "tests/data/keys/tls_server.pem");
    pub = tu_read_file(tls, &size);
    expect_public_refused((const char *)pub, size, AECS_E_FORMAT,
                          "the public key is a PEM \"CERTIFICATE\" block, not \"PUBLIC KEY\"");
    free(pub);
    expect_public_file_refused("admin_p256.pem", AECS_E_FORMAT,
                               "the public key is a PEM \"PRIVATE KEY\" block, not \"PUBLIC KEY\"");
    /* text after the block, a NUL inside, two keys */
    key_path(pub_path, sizeof(pub_path), "admin_p256.pub.pem");
    pub = tu_read_file(pub_path, &size);
    char buf[1024];
    assert_true(size * 2 + 8 < sizeof(buf));
    memcpy(buf, pub, size);
    memcpy(buf + size, "junk\n", 5);
    expect_public_refused(buf, size + 5, AECS_E_FORMAT,
                          "the public key has text after its PEM block");
    memcpy(buf + size, pub, size);
    expect_public_refused(buf, 2 * size, AECS_E_FORMAT,
                          "the public key has text after its PEM block");
    memcpy(buf + size, "\n \t\r\n", 5); /* trailing white space is fine */
    assert_int_equal(aecs_sigkey_parse_public(buf, size + 5, &key), AECS_OK);
    aecs_sigkey_free(key);
    key = (struct aecs_sigkey *)1;
    buf[10] = '\0';
    expect_public_refused(buf, size, AECS_E_FORMAT,
                          "the public key is not a PEM public key (it holds a NUL byte)");
    /* a point that is not on the curve: flip a byte of the x coordinate */
    memcpy(buf, pub, size);
    buf[size] = '\0';
    char *line2 = strchr(buf, '\n') + 1;
    line2[40] = line2[40] == 'A' ? 'B' : 'A';
    expect_public_refused(buf, size, AECS_E_FORMAT, NULL);
    free(pub);

    /* private keys */
    write_tmp("garbage.pem", "this is not a key\n", path, sizeof(path));
    assert_int_equal(aecs_sigkey_load_private(path, &key), AECS_E_FORMAT);
    assert_null(key);
    snprintf(want, sizeof(want),
             "%s is not a PEM private key (no \"-----BEGIN PRIVATE KEY-----\" block)", path);
    assert_msg_is(want);
    write_tmp("empty.pem", "", path, sizeof(path));
    assert_int_equal(aecs_sigkey_load_private(path, &key), AECS_E_FORMAT);
    snprintf(want, sizeof(want), "%s is empty, not a PEM private key", path);
    assert_msg_is(want);
    write_tmp("bad.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", path,
              sizeof(path));
    assert_int_equal(aecs_sigkey_load_private(path, &key), AECS_E_FORMAT);
    snprintf(want, sizeof(want), "%s: the PEM block does not hold a private key it can decode",
             path);
    assert_msg_is(want);
    write_tmp("b64.pem", "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", path,
              sizeof(path));
    assert_int_equal(aecs_sigkey_load_private(path, &key), AECS_E_FORMAT);
    snprintf(want, sizeof(want), "%s: the PEM block does not decode (bad base64, or no END line)",
             path);
    assert_msg_is(want);
    expect_private_refused("admin_p256.pub.pem", AECS_E_FORMAT,
                           " is a PEM \"PUBLIC KEY\" block, not a private key");
    expect_private_refused("tls_server.pem", AECS_E_FORMAT,
                           " is a PEM \"CERTIFICATE\" block, not a private key");
    /* a key followed by something else */
    char priv[512];
    key_path(priv, sizeof(priv), "admin_p256.pem");
    uint8_t *pk = tu_read_file(priv, &size);
    snprintf(path, sizeof(path), "%s/two.pem", g_dir);
    char two[2048];
    memcpy(two, pk, size);
    memcpy(two + size, pk, size);
    tu_write_file(path, two, 2 * size);
    assert_int_equal(aecs_sigkey_load_private(path, &key), AECS_E_FORMAT);
    snprintf(want, sizeof(want), "%s has text after its private key", path);
    assert_msg_is(want);
    free(pk);
    snprintf(path, sizeof(path), "%s/missing.pem", g_dir);
    assert_int_equal(aecs_sigkey_load_private(path, &key), AECS_E_NOT_FOUND);
    assert_msg_has("missing.pem");
    assert_int_equal(aecs_sigkey_load_private(g_dir, &key), AECS_E_IO);
    assert_null(key);
}

static void test_generate_files(void **state)
{
    char base[256], priv[300], pub[300], want[600];
    char id[AECS_SIGKEY_ID_HEX + 1];
    char id2[AECS_SIGKEY_ID_HEX + 1];
    struct stat st;
    struct aecs_sigkey *k = NULL;
    size_t size = 0;
    uint8_t *pem;

    (void)state;
    snprintf(base, sizeof(base), "%s/admin", g_dir);
    snprintf(priv, sizeof(priv), "%s.pem", base);
    snprintf(pub, sizeof(pub), "%s.pub.pem", base);
    assert_int_equal(aecs_sigkey_generate_files(base, id), AECS_OK);
    assert_int_equal(stat(priv, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(pub, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    /* the id is what openssl computes, from either file */
    assert_int_equal(run_status("openssl pkey -pubin -in '%s' -outform DER | sha256sum", pub), 0);
    assert_int_equal(strlen(g_out) > 64, 1);
    g_out[64] = '\0';
    assert_string_equal(id, g_out);
    assert_int_equal(run_status("openssl pkey -in '%s' -pubout -outform DER | sha256sum", priv), 0);
    g_out[64] = '\0';
    assert_string_equal(id, g_out);
    /* PKCS#8, P-256 */
    pem = tu_read_file(priv, &size);
    assert_true(strncmp((const char *)pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    free(pem);
    assert_int_equal(
        run_status("openssl pkey -in '%s' -noout -text | grep -c 'NIST CURVE: P-256'", priv), 0);
    assert_int_equal(aecs_sigkey_load_private(priv, &k), AECS_OK);
    assert_int_equal(aecs_sigkey_id(k, id2), AECS_OK);
    assert_string_equal(id, id2);
    aecs_sigkey_free(k);

    /* never replaced */
    assert_int_equal(aecs_sigkey_generate_files(base, id2), AECS_E_INVALID_ARGUMENT);
    snprintf(want, sizeof(want),
             "%s already exists: keys are never replaced (remove it first, or pick another name)",
             priv);
    assert_msg_is(want);
    /* only the public half there: refused, and no private key written */
    assert_int_equal(unlink(priv), 0);
    assert_int_equal(aecs_sigkey_generate_files(base, NULL), AECS_E_INVALID_ARGUMENT);
    snprintf(want, sizeof(want),
             "%s already exists: keys are never replaced (remove it first, or pick another name)",
             pub);
    assert_msg_is(want);
    assert_int_not_equal(stat(priv, &st), 0);
    /* without key_id, in a missing folder, without a name */
    snprintf(base, sizeof(base), "%s/second", g_dir);
    assert_int_equal(aecs_sigkey_generate_files(base, NULL), AECS_OK);
    snprintf(base, sizeof(base), "%s/no/such/dir/k", g_dir);
    assert_int_equal(aecs_sigkey_generate_files(base, id2), AECS_E_IO);
    assert_int_equal(aecs_sigkey_generate_files("", id2), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("no key file name given");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_ids),
        cmocka_unit_test(test_public_pem),
        cmocka_unit_test(test_verify_openssl_signature),
        cmocka_unit_test(test_sign_openssl_verifies),
        cmocka_unit_test(test_other_key_types_refused),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_generate_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
