/*
 * envelope_test.c - unit tests for src/crypto/envelope: P-256 keys in the
 * uncompressed point form, ECDH, ECDSA-SHA256 (DER), and the release envelope
 * (docs/protocol-release.md section 3).
 *
 * The fixed vector comes from outside the code under test, made with these
 * commands (in an empty folder):
 *
 *   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client.pem
 *   (the same for eph.pem and ident.pem; `openssl pkey -text` printed priv and pub)
 *   Z:   openssl pkeyutl -derive -inkey client.pem -peerkey eph.pub.pem | xxd -p
 *        (and -inkey eph.pem -peerkey client.pub.pem, which gives the same bytes)
 *   ctx: "aecs-envelope-v1" 00 C E N 04 "svc1" 0a "data_key_1" 16 "SECRET_TYPE_AES256_KEY",
 *        written out with printf | xxd -p
 *   K:   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:Z -kdfopt hexsalt:N
 *            -kdfopt hexinfo:ctx HKDF
 *   CT, tag: Python's cryptography package, AESGCM(K).encrypt(IV, PT, ctx)
 *   SIG: openssl dgst -sha256 -sign ident.pem msg.bin, checked with openssl dgst -verify
 *
 * P-256's p and n are from SEC 2 (section 2.4.2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "crypto/envelope.h"
#include "crypto/kek.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

/* ---- the external vector ---- */

#define V_CLIENT_PRIV "b80b2f18e815b5fd2dc56278fa3f78ae7e4ac1cd24586a558e852fd06e4cdc8f"
#define V_CLIENT_PUB                                                                               \
    "04e8037831df483c2e40451fbeadd5d95e0f09e838b7b763c58d41186f2d5b88dd41571a0cd3acb58a7fe7d7dd2e" \
    "b8304386baa7dee78f5b9078669061a3c289a9"
#define V_EPH_PRIV "c08a954f6bc967c820bad533f49892b0c5cb5a2b632f447d95fa58d683f5829d"
#define V_EPH_PUB                                                                                  \
    "0405ce7e060cbe7e8bf9595bcbcdcd100f21aba2936b4e74b08bfc60d7e011a7a51f4391ea811e8af131e886f363" \
    "2d72a4008869a784879e863763ecbd714c0248"
#define V_IDENT_PUB                                                                                \
    "04e49f38c885189769e4ed92a9162e6b6243b51dffa045fef478a6a278ddfd119cc4ba270b6b8d4cf7780b7cd9f8" \
    "c2033d2873f25ec5ef9928f768ed06c3e52dc7"
#define V_NONCE "c5bf1091355f95a1278adf63259e4b920835d1683b2be0fdb5047e0c5accbd6a"
#define V_Z "4472b6fc404851d11545338f8ff8c7ef44d709910f0693e370f7da3815514155"
#define V_CTX                                                                                      \
    "616563732d656e76656c6f70652d76310004e8037831df483c2e40451fbeadd5d95e0f09e838b7b763c58d4118"   \
    "6f2d5b88dd41571a0cd3acb58a7fe7d7dd2eb8304386baa7dee78f5b9078669061a3c289a90405ce7e060cbe7e8b" \
    "f9595bcbcdcd100f21aba2936b4e74b08bfc60d7e011a7a51f4391ea811e8af131e886f3632d72a4008869a78487" \
    "9e863763ecbd714c0248c5bf1091355f95a1278adf63259e4b920835d1683b2be0fdb5047e0c5accbd6a04737663" \
    "310a646174615f6b65795f31165345435245545f545950455f4145533235365f4b4559"
#define V_K "508b64780c40b56174310e77fa957cb6754807cca7ed3d25ca8c77c46a20a5f0"
#define V_IV "dadda3de6a335b6a442d0af8"
#define V_PT "attack at dawn: 32 bytes of key."
#define V_CT "75f5dd3b797c7b47fb7760d928c9274bbd40d9c9cbfd35d5fe618f11a8556cab"
#define V_TAG "8f8cf4457df444f55a7dfa5d624ca25f"
#define V_MSG "aecs envelope test message"
#define V_SIG                                                                                      \
    "304602210097fa91122f5da979577e9dd9dcd40dc774a6c764c7475ea98eadeda8f08916ee022100ec8172f91732" \
    "92c7e2cec54d279536fe4c63e2b5660de21f30d29518520239fc"

/* SEC 2: the field prime and the group order of secp256r1 */
#define P256_P "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
#define P256_N "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"

static void expect_rc(int rc, int want)
{
    if (rc != want)
        fail_msg("got %s (%d), wanted %s: %s", aecs_err_name(rc), rc, aecs_err_name(want), MSG());
}

static struct aecs_p256_key *import_key(const char *priv_hex, const char *pub_hex)
{
    uint8_t priv[32], pub[65];
    struct aecs_p256_key *key = NULL;

    tu_hex(priv_hex, priv, sizeof(priv));
    tu_hex(pub_hex, pub, sizeof(pub));
    expect_rc(aecs_p256_key_import(priv, pub, &key), AECS_OK);
    return key;
}

static struct aecs_p256_pub *import_pub(const char *pub_hex)
{
    uint8_t pub[65];
    struct aecs_p256_pub *p = NULL;

    tu_hex(pub_hex, pub, sizeof(pub));
    expect_rc(aecs_p256_pub_import(pub, sizeof(pub), &p), AECS_OK);
    return p;
}

static struct aecs_p256_key *generate(void)
{
    struct aecs_p256_key *key = NULL;

    expect_rc(aecs_p256_key_generate(&key), AECS_OK);
    return key;
}

/* The public half of a key pair as a public key object. */
static struct aecs_p256_pub *public_of(const struct aecs_p256_key *key)
{
    uint8_t pub[65];
    struct aecs_p256_pub *p = NULL;

    aecs_p256_key_public(key, pub);
    expect_rc(aecs_p256_pub_import(pub, sizeof(pub), &p), AECS_OK);
    return p;
}

static uint8_t g_nonce[32];

static struct aecs_envelope_binding vector_binding(void)
{
    struct aecs_envelope_binding b = {g_nonce, "svc1", "data_key_1", "SECRET_TYPE_AES256_KEY"};

    tu_hex(V_NONCE, g_nonce, sizeof(g_nonce));
    return b;
}

/* The vector's envelope; the caller clears it. */
static void vector_envelope(struct aecs_envelope *env)
{
    memset(env, 0, sizeof(*env));
    tu_hex(V_EPH_PUB, env->epk, sizeof(env->epk));
    tu_hex(V_IV, env->iv, sizeof(env->iv));
    tu_hex(V_TAG, env->tag, sizeof(env->tag));
    env->ciphertext = tu_hex_alloc(V_CT, &env->size);
}

/* ---- the vector, step by step ---- */

static void test_vector_ecdh_matches_openssl(void **state)
{
    struct aecs_p256_key *client = import_key(V_CLIENT_PRIV, V_CLIENT_PUB);
    struct aecs_p256_key *eph = import_key(V_EPH_PRIV, V_EPH_PUB);
    struct aecs_p256_pub *client_pub = import_pub(V_CLIENT_PUB);
    struct aecs_p256_pub *eph_pub = import_pub(V_EPH_PUB);
    uint8_t want[32], z[32];

    (void)state;
    tu_hex(V_Z, want, sizeof(want));
    expect_rc(aecs_p256_ecdh(client, eph_pub, z), AECS_OK);
    assert_memory_equal(z, want, 32);
    expect_rc(aecs_p256_ecdh(eph, client_pub, z), AECS_OK);
    assert_memory_equal(z, want, 32);
    aecs_p256_key_free(client);
    aecs_p256_key_free(eph);
    aecs_p256_pub_free(client_pub);
    aecs_p256_pub_free(eph_pub);
}

static void test_vector_context_and_hkdf_match_openssl(void **state)
{
    struct aecs_envelope_binding b = vector_binding();
    uint8_t client[65], eph[65], z[32], want_key[32], key[32];
    uint8_t ctx[AECS_ENVELOPE_CONTEXT_MAX];
    size_t ctx_size = 0, want_size = 0;
    uint8_t *want_ctx = tu_hex_alloc(V_CTX, &want_size);

    (void)state;
    tu_hex(V_CLIENT_PUB, client, sizeof(client));
    tu_hex(V_EPH_PUB, eph, sizeof(eph));
    expect_rc(aecs_envelope_context(client, eph, &b, ctx, &ctx_size), AECS_OK);
    assert_int_equal(ctx_size, want_size);
    assert_int_equal(ctx_size, 218);
    assert_memory_equal(ctx, want_ctx, want_size);

    tu_hex(V_Z, z, sizeof(z));
    tu_hex(V_K, want_key, sizeof(want_key));
    expect_rc(aecs_envelope_derive_key(z, g_nonce, ctx, ctx_size, key), AECS_OK);
    assert_memory_equal(key, want_key, 32);
    free(want_ctx);
}

static void test_vector_opens(void **state)
{
    struct aecs_envelope_binding b = vector_binding();
    struct aecs_p256_key *client = import_key(V_CLIENT_PRIV, V_CLIENT_PUB);
    struct aecs_envelope env;
    uint8_t *plain = NULL;
    size_t size = 0;

    (void)state;
    vector_envelope(&env);
    expect_rc(aecs_envelope_open(client, &b, &env, &plain, &size), AECS_OK);
    assert_int_equal(size, strlen(V_PT));
    assert_memory_equal(plain, V_PT, size);
    assert_int_equal(plain[size], 0); /* the uncounted NUL */
    aecs_envelope_plain_free(plain, size);
    aecs_envelope_clear(&env);
    aecs_p256_key_free(client);
}

/* ---- round trips ---- */

static void round_trip(size_t size)
{
    struct aecs_p256_key *client = generate();
    struct aecs_p256_pub *pub = public_of(client);
    struct aecs_envelope_binding b = vector_binding();
    struct aecs_envelope env;
    uint8_t *msg = malloc(size ? size : 1);
    uint8_t *plain = NULL;
    size_t out_size = 99;

    assert_non_null(msg);
    for (size_t i = 0; i < size; i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    expect_rc(aecs_envelope_seal(pub, &b, size ? msg : NULL, size, &env), AECS_OK);
    assert_int_equal(env.size, size);
    assert_int_equal(env.epk[0], 0x04);
    expect_rc(aecs_envelope_open(client, &b, &env, &plain, &out_size), AECS_OK);
    assert_int_equal(out_size, size);
    if (size > 0)
        assert_memory_equal(plain, msg, size);
    aecs_envelope_plain_free(plain, out_size);
    aecs_envelope_clear(&env);
    free(msg);
    aecs_p256_pub_free(pub);
    aecs_p256_key_free(client);
}

static void test_round_trip_sizes(void **state)
{
    (void)state;
    round_trip(0);
    round_trip(1);
    round_trip(32);
    round_trip(4097);
    round_trip(AECS_ENVELOPE_PLAIN_MAX);
}

static void test_each_seal_is_fresh(void **state)
{
    struct aecs_p256_key *client = generate();
    struct aecs_p256_pub *pub = public_of(client);
    struct aecs_envelope_binding b = vector_binding();
    struct aecs_envelope e1, e2;

    (void)state;
    expect_rc(aecs_envelope_seal(pub, &b, (const uint8_t *)V_PT, 32, &e1), AECS_OK);
    expect_rc(aecs_envelope_seal(pub, &b, (const uint8_t *)V_PT, 32, &e2), AECS_OK);
    assert_memory_not_equal(e1.epk, e2.epk, sizeof(e1.epk));
    assert_memory_not_equal(e1.iv, e2.iv, sizeof(e1.iv));
    assert_memory_not_equal(e1.ciphertext, e2.ciphertext, 32);
    assert_memory_not_equal(e1.ciphertext, V_PT, 32);
    aecs_envelope_clear(&e1);
    aecs_envelope_clear(&e2);
    aecs_p256_pub_free(pub);
    aecs_p256_key_free(client);
}

static void test_seal_refuses(void **state)
{
    struct aecs_p256_key *client = generate();
    struct aecs_p256_pub *pub = public_of(client);
    struct aecs_envelope_binding b = vector_binding();
    struct aecs_envelope env;
    char long_name[66];
    uint8_t byte = 1;

    (void)state;
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    expect_rc(aecs_envelope_seal(pub, &b, &byte, AECS_ENVELOPE_PLAIN_MAX + 1, &env),
              AECS_E_TOO_LARGE);
    expect_rc(aecs_envelope_seal(pub, &b, NULL, 1, &env), AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_envelope_seal(NULL, &b, &byte, 1, &env), AECS_E_INVALID_ARGUMENT);
    b.name = "";
    expect_rc(aecs_envelope_seal(pub, &b, &byte, 1, &env), AECS_E_INVALID_ARGUMENT);
    b.name = long_name;
    expect_rc(aecs_envelope_seal(pub, &b, &byte, 1, &env), AECS_E_INVALID_ARGUMENT);
    long_name[64] = '\0'; /* 64 bytes is the limit, and fine */
    expect_rc(aecs_envelope_seal(pub, &b, &byte, 1, &env), AECS_OK);
    aecs_envelope_clear(&env);
    b.name = "n";
    b.type = NULL;
    expect_rc(aecs_envelope_seal(pub, &b, &byte, 1, &env), AECS_E_INVALID_ARGUMENT);
    b.type = "T";
    b.nonce = NULL;
    expect_rc(aecs_envelope_seal(pub, &b, &byte, 1, &env), AECS_E_INVALID_ARGUMENT);
    assert_null(env.ciphertext);
    aecs_p256_pub_free(pub);
    aecs_p256_key_free(client);
}

/* ---- tampering and wrong bindings: the vector envelope, changed one thing at a time ---- */

static void expect_open_fails(const struct aecs_p256_key *client,
                              const struct aecs_envelope_binding *b,
                              const struct aecs_envelope *env, int want)
{
    uint8_t *plain = (uint8_t *)1;
    size_t size = 99;

    expect_rc(aecs_envelope_open(client, b, env, &plain, &size), want);
    assert_null(plain);
    assert_int_equal(size, 0);
}

static void test_tampered_fields_fail(void **state)
{
    struct aecs_envelope_binding b = vector_binding();
    struct aecs_p256_key *client = import_key(V_CLIENT_PRIV, V_CLIENT_PUB);
    struct aecs_p256_key *other = generate();
    struct aecs_envelope env;

    (void)state;
    vector_envelope(&env);

    /* every bit of IV, ciphertext and tag counts */
    for (size_t i = 0; i < sizeof(env.iv) * 8; i++) {
        env.iv[i / 8] ^= (uint8_t)(1u << (i % 8));
        expect_open_fails(client, &b, &env, AECS_E_BAD_SIGNATURE);
        env.iv[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t i = 0; i < env.size * 8; i++) {
        env.ciphertext[i / 8] ^= (uint8_t)(1u << (i % 8));
        expect_open_fails(client, &b, &env, AECS_E_BAD_SIGNATURE);
        env.ciphertext[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t i = 0; i < sizeof(env.tag) * 8; i++) {
        env.tag[i / 8] ^= (uint8_t)(1u << (i % 8));
        expect_open_fails(client, &b, &env, AECS_E_BAD_SIGNATURE);
        env.tag[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    /* a shorter or empty ciphertext */
    env.size--;
    expect_open_fails(client, &b, &env, AECS_E_BAD_SIGNATURE);
    env.size = 0;
    expect_open_fails(client, &b, &env, AECS_E_BAD_SIGNATURE);
    env.size = strlen(V_PT);

    /* epk: another valid point opens nothing; a changed coordinate is not a point at all */
    aecs_p256_key_public(other, env.epk);
    expect_open_fails(client, &b, &env, AECS_E_BAD_SIGNATURE);
    tu_hex(V_EPH_PUB, env.epk, sizeof(env.epk));
    env.epk[10] ^= 1;
    expect_open_fails(client, &b, &env, AECS_E_FORMAT);
    env.epk[10] ^= 1;
    env.epk[64] ^= 1;
    expect_open_fails(client, &b, &env, AECS_E_FORMAT);
    env.epk[64] ^= 1;
    env.epk[0] = 0x02;
    expect_open_fails(client, &b, &env, AECS_E_FORMAT);
    env.epk[0] = 0x04;

    /* untouched, it still opens */
    uint8_t *plain = NULL;
    size_t size = 0;
    expect_rc(aecs_envelope_open(client, &b, &env, &plain, &size), AECS_OK);
    aecs_envelope_plain_free(plain, size);

    aecs_envelope_clear(&env);
    aecs_p256_key_free(other);
    aecs_p256_key_free(client);
}

static void test_other_key_or_binding_fails(void **state)
{
    struct aecs_envelope_binding b = vector_binding();
    struct aecs_envelope_binding w;
    struct aecs_p256_key *client = import_key(V_CLIENT_PRIV, V_CLIENT_PUB);
    struct aecs_p256_key *other = generate();
    struct aecs_envelope env;
    uint8_t other_nonce[32];

    (void)state;
    vector_envelope(&env);
    expect_open_fails(other, &b, &env, AECS_E_BAD_SIGNATURE);

    w = b;
    w.name = "data_key_2";
    expect_open_fails(client, &w, &env, AECS_E_BAD_SIGNATURE);
    w = b;
    w.service = "svc2";
    expect_open_fails(client, &w, &env, AECS_E_BAD_SIGNATURE);
    w = b;
    w.type = "SECRET_TYPE_HMAC_KEY";
    expect_open_fails(client, &w, &env, AECS_E_BAD_SIGNATURE);
    /* the length prefixes keep "svc1"+"data_key_1" apart from "svc1d"+"ata_key_1" */
    w = b;
    w.service = "svc1d";
    w.name = "ata_key_1";
    expect_open_fails(client, &w, &env, AECS_E_BAD_SIGNATURE);
    w = b;
    memcpy(other_nonce, g_nonce, sizeof(other_nonce));
    other_nonce[31] ^= 0x80;
    w.nonce = other_nonce;
    expect_open_fails(client, &w, &env, AECS_E_BAD_SIGNATURE);
    w = b;
    w.name = NULL;
    expect_open_fails(client, &w, &env, AECS_E_INVALID_ARGUMENT);

    aecs_envelope_clear(&env);
    aecs_p256_key_free(other);
    aecs_p256_key_free(client);
}

static void test_open_refuses_oversize(void **state)
{
    struct aecs_envelope_binding b = vector_binding();
    struct aecs_p256_key *client = import_key(V_CLIENT_PRIV, V_CLIENT_PUB);
    struct aecs_envelope env;

    (void)state;
    vector_envelope(&env);
    size_t real = env.size;
    env.size = AECS_ENVELOPE_PLAIN_MAX + 1; /* refused before the ciphertext is read */
    expect_open_fails(client, &b, &env, AECS_E_TOO_LARGE);
    env.size = real;
    aecs_envelope_clear(&env);
    aecs_p256_key_free(client);
}

/* ---- public keys ---- */

static void expect_pub_refused(const uint8_t *data, size_t size)
{
    struct aecs_p256_pub *p = (struct aecs_p256_pub *)1;

    expect_rc(aecs_p256_pub_import(data, size, &p), AECS_E_FORMAT);
    assert_null(p);
}

static void test_pub_import(void **state)
{
    uint8_t good[65], pt[66], out[65];
    struct aecs_p256_pub *p = NULL;

    (void)state;
    tu_hex(V_CLIENT_PUB, good, sizeof(good));
    expect_rc(aecs_p256_pub_import(good, sizeof(good), &p), AECS_OK);
    aecs_p256_pub_export(p, out);
    assert_memory_equal(out, good, 65);
    aecs_p256_pub_free(p);

    /* sizes: empty, the 1-byte infinity, compressed (33), raw x||y (64), one too many */
    pt[0] = 0x00;
    expect_pub_refused(pt, 0);
    expect_pub_refused(pt, 1);
    memcpy(pt, good, 33);
    pt[0] = (good[64] & 1) ? 0x03 : 0x02;
    expect_pub_refused(pt, 33);
    expect_pub_refused(good + 1, 64);
    memcpy(pt, good, 65);
    pt[65] = 0;
    expect_pub_refused(pt, 66);

    /* first byte: compressed, hybrid, infinity markers on a 65-byte string */
    const uint8_t firsts[] = {0x00, 0x02, 0x03, 0x05, 0x06, 0x07, 0xff};
    for (size_t i = 0; i < sizeof(firsts); i++) {
        memcpy(pt, good, 65);
        pt[0] = firsts[i];
        expect_pub_refused(pt, 65);
    }

    /* off the curve: y changed */
    memcpy(pt, good, 65);
    pt[64] ^= 1;
    expect_pub_refused(pt, 65);
    /* (0, 0), which some encoders use for infinity */
    memset(pt, 0, 65);
    pt[0] = 0x04;
    expect_pub_refused(pt, 65);
    /* x = p (out of range) with the vector's y, and x = p + x0 cannot fit: use p itself */
    memcpy(pt, good, 65);
    tu_hex(P256_P, pt + 1, 32);
    expect_pub_refused(pt, 65);
    /* y = p */
    memcpy(pt, good, 65);
    tu_hex(P256_P, pt + 33, 32);
    expect_pub_refused(pt, 65);
    expect_rc(aecs_p256_pub_import(NULL, 65, &p), AECS_E_INVALID_ARGUMENT);
}

static void test_key_import(void **state)
{
    uint8_t priv[32], pub[65], other_pub[65], out[65];
    struct aecs_p256_key *key = NULL;

    (void)state;
    tu_hex(V_CLIENT_PRIV, priv, sizeof(priv));
    tu_hex(V_CLIENT_PUB, pub, sizeof(pub));
    tu_hex(V_EPH_PUB, other_pub, sizeof(other_pub));
    expect_rc(aecs_p256_key_import(priv, pub, &key), AECS_OK);
    aecs_p256_key_public(key, out);
    assert_memory_equal(out, pub, 65);
    aecs_p256_key_free(key);

    /* the public point of another key */
    expect_rc(aecs_p256_key_import(priv, other_pub, &key), AECS_E_FORMAT);
    assert_null(key);
    /* scalar 0, n, and all ones (above n) */
    memset(priv, 0, sizeof(priv));
    expect_rc(aecs_p256_key_import(priv, pub, &key), AECS_E_FORMAT);
    tu_hex(P256_N, priv, sizeof(priv));
    expect_rc(aecs_p256_key_import(priv, pub, &key), AECS_E_FORMAT);
    memset(priv, 0xff, sizeof(priv));
    expect_rc(aecs_p256_key_import(priv, pub, &key), AECS_E_FORMAT);
    /* a malformed point */
    tu_hex(V_CLIENT_PRIV, priv, sizeof(priv));
    pub[0] = 0x02;
    expect_rc(aecs_p256_key_import(priv, pub, &key), AECS_E_FORMAT);
    assert_null(key);
}

static void test_generated_keys_differ(void **state)
{
    struct aecs_p256_key *a = generate(), *b = generate();
    uint8_t pa[65], pb[65];

    (void)state;
    aecs_p256_key_public(a, pa);
    aecs_p256_key_public(b, pb);
    assert_int_equal(pa[0], 0x04);
    assert_memory_not_equal(pa, pb, 65);
    aecs_p256_key_free(a);
    aecs_p256_key_free(b);
    aecs_p256_key_free(NULL);
    aecs_p256_pub_free(NULL);
    aecs_envelope_clear(NULL);
    aecs_envelope_plain_free(NULL, 0);
}

/* ---- signatures ---- */

static void test_openssl_signature_verifies(void **state)
{
    struct aecs_p256_pub *ident = import_pub(V_IDENT_PUB);
    size_t size = 0;
    uint8_t *sig = tu_hex_alloc(V_SIG, &size);
    uint8_t longform[80];

    (void)state;
    expect_rc(aecs_p256_verify(ident, V_MSG, strlen(V_MSG), sig, size), AECS_OK);
    /* another message, a changed signature byte, a cut signature */
    expect_rc(aecs_p256_verify(ident, V_MSG, strlen(V_MSG) - 1, sig, size), AECS_E_BAD_SIGNATURE);
    sig[size - 1] ^= 1;
    expect_rc(aecs_p256_verify(ident, V_MSG, strlen(V_MSG), sig, size), AECS_E_BAD_SIGNATURE);
    sig[size - 1] ^= 1;
    expect_rc(aecs_p256_verify(ident, V_MSG, strlen(V_MSG), sig, size - 1), AECS_E_BAD_SIGNATURE);
    /* the same signature with a trailing byte, and with a non-minimal (long form) length */
    memcpy(longform, sig, size);
    longform[size] = 0;
    expect_rc(aecs_p256_verify(ident, V_MSG, strlen(V_MSG), longform, size + 1),
              AECS_E_BAD_SIGNATURE);
    assert_int_equal(sig[0], 0x30);
    longform[0] = 0x30;
    longform[1] = 0x81;
    longform[2] = sig[1];
    memcpy(longform + 3, sig + 2, size - 2);
    expect_rc(aecs_p256_verify(ident, V_MSG, strlen(V_MSG), longform, size + 1),
              AECS_E_BAD_SIGNATURE);
    /* sizes */
    expect_rc(aecs_p256_verify(ident, V_MSG, strlen(V_MSG), sig, 0), AECS_E_BAD_SIGNATURE);
    expect_rc(aecs_p256_verify(ident, V_MSG, strlen(V_MSG), NULL, 0), AECS_E_BAD_SIGNATURE);
    expect_rc(aecs_p256_verify(ident, V_MSG, strlen(V_MSG), longform, 73), AECS_E_BAD_SIGNATURE);
    free(sig);
    aecs_p256_pub_free(ident);
}

static void test_sign_round_trip(void **state)
{
    struct aecs_p256_key *key = generate();
    struct aecs_p256_pub *pub = public_of(key);
    struct aecs_p256_pub *other = import_pub(V_IDENT_PUB);
    uint8_t sig[AECS_P256_SIG_MAX];
    size_t size = 0;

    (void)state;
    expect_rc(aecs_p256_sign(key, V_MSG, strlen(V_MSG), sig, &size), AECS_OK);
    assert_true(size >= 8 && size <= AECS_P256_SIG_MAX);
    assert_int_equal(sig[0], 0x30);
    expect_rc(aecs_p256_verify(pub, V_MSG, strlen(V_MSG), sig, size), AECS_OK);
    expect_rc(aecs_p256_verify(other, V_MSG, strlen(V_MSG), sig, size), AECS_E_BAD_SIGNATURE);
    /* an empty message signs too */
    expect_rc(aecs_p256_sign(key, "", 0, sig, &size), AECS_OK);
    expect_rc(aecs_p256_verify(pub, "", 0, sig, size), AECS_OK);
    aecs_p256_pub_free(other);
    aecs_p256_pub_free(pub);
    aecs_p256_key_free(key);
}

/* The root key handed to a joiner: it opens only with the joiner's key and the same binding. */
static void test_kek_envelope(void **state)
{
    struct aecs_p256_key *joiner = generate(), *other = generate();
    struct aecs_p256_pub *to = public_of(joiner);
    struct aecs_kek *kek = NULL, *got = NULL;
    struct aecs_envelope env;
    uint8_t nonce[32], check[AECS_KEK_CHECK_SIZE], raw[AECS_KEK_SIZE];
    struct aecs_envelope_binding b = {nonce, "0123456789abcdef0123456789abcdef", "root-key",
                                      "AECS_ROOT_KEY_V1"};
    struct aecs_envelope_binding wrong = b;

    (void)state;
    memset(nonce, 0x42, sizeof(nonce));
    expect_rc(aecs_kek_generate(&kek), AECS_OK);
    expect_rc(aecs_kek_check_value(kek, check), AECS_OK);
    expect_rc(aecs_kek_envelope_seal(kek, to, &b, &env), AECS_OK);
    assert_int_equal(env.size, AECS_KEK_SIZE);
    expect_rc(aecs_kek_envelope_open(joiner, &b, &env, &got), AECS_OK);
    expect_rc(aecs_kek_verify(got, check), AECS_OK);
    aecs_kek_free(got);
    got = NULL;
    /* another key pair, another service id: refused, nothing returned */
    expect_rc(aecs_kek_envelope_open(other, &b, &env, &got), AECS_E_BAD_SIGNATURE);
    assert_null(got);
    wrong.service = "fedcba9876543210fedcba9876543210";
    expect_rc(aecs_kek_envelope_open(joiner, &wrong, &env, &got), AECS_E_BAD_SIGNATURE);
    assert_null(got);
    aecs_envelope_clear(&env);
    /* an envelope that does not hold 32 bytes is no root key */
    memset(raw, 7, sizeof(raw));
    expect_rc(aecs_envelope_seal(to, &b, raw, 31, &env), AECS_OK);
    expect_rc(aecs_kek_envelope_open(joiner, &b, &env, &got), AECS_E_FORMAT);
    assert_null(got);
    aecs_envelope_clear(&env);
    aecs_kek_free(kek);
    aecs_p256_pub_free(to);
    aecs_p256_key_free(joiner);
    aecs_p256_key_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_ecdh_matches_openssl),
        cmocka_unit_test(test_vector_context_and_hkdf_match_openssl),
        cmocka_unit_test(test_vector_opens),
        cmocka_unit_test(test_round_trip_sizes),
        cmocka_unit_test(test_each_seal_is_fresh),
        cmocka_unit_test(test_seal_refuses),
        cmocka_unit_test(test_tampered_fields_fail),
        cmocka_unit_test(test_other_key_or_binding_fails),
        cmocka_unit_test(test_open_refuses_oversize),
        cmocka_unit_test(test_pub_import),
        cmocka_unit_test(test_key_import),
        cmocka_unit_test(test_generated_keys_differ),
        cmocka_unit_test(test_openssl_signature_verifies),
        cmocka_unit_test(test_sign_round_trip),
        cmocka_unit_test(test_kek_envelope),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
