/*
 * release_proto_test.c - unit tests for src/proto/release: the report-data
 * bindings, the signed answer strings and the JSON messages of
 * docs/protocol-release.md.
 *
 * Expected values come from outside the code under test. Keys, nonce and
 * the envelope are envelope_test.c's vector. The JSON bodies below were
 * written by hand from the spec. The hashes and signatures came from these
 * commands:
 *
 *   bindings: { printf 'aecs-release-v1\0'; echo -n "$NONCE$CLIENT_PUB" | xxd -r -p; } | sha512sum
 *             { printf 'aecs-identity-v1\0'; echo -n "$IDENT_PUB" | xxd -r -p; } | sha512sum
 *             { printf 'aecs-unseal-v1\0'; printf '%s%s' "$SID" "$RID";
 *               echo -n "$IDENT_PUB" | xxd -r -p; } | sha512sum
 *   unseal:   { printf 'aecs-unseal-share-v1\0'; printf '%s%s%s' "$SID" "$RID" "$SET";
 *               printf '\x02\x00\x00\x00\x00\x00\x00\x00\x07'; } | sha256sum
 *   admin:    { printf 'aecs-admin-share-v1\0'; printf '%s' "$SID"; } | sha256sum
 *             { printf 'aecs-init-share-v1\0'; printf '%s' "$SID"; printf '\x02';
 *               echo -n "$NONCE" | xxd -r -p; } | sha256sum
 *   init:     { printf 'aecs-init-answer-v1\0'; echo -n "$NONCE$CLIENT_PUB" | xxd -r -p;
 *               sha256sum init.json | cut -c1-64 | xxd -r -p; } > init_signed.bin
 *             openssl ecparam -name prime256v1 -genkey -noout -out k.pem (its point from
 *             `openssl pkey -text`: V_INIT_SIGNER), then as for sigs above
 *   signed:   { printf 'aecs-release-answer-v1\0'; echo -n "$NONCE$CLIENT_PUB" | xxd -r -p;
 *               sha256sum answer.json | cut -c1-64 | xxd -r -p; } > rel_signed.bin
 *             (identity and public: their labels, the nonce and the body hash)
 *   sigs:     openssl dgst -sha256 -sign ident.pem rel_signed.bin | base64 -w0
 *             (each checked with openssl dgst -verify)
 *   ct b64:   echo -n $CT | xxd -r -p | base64
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
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "proto/release.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

#define V_CLIENT_PRIV "b80b2f18e815b5fd2dc56278fa3f78ae7e4ac1cd24586a558e852fd06e4cdc8f"
#define V_CLIENT_PUB                                                                               \
    "04e8037831df483c2e40451fbeadd5d95e0f09e838b7b763c58d41186f2d5b88dd41571a0cd3acb58a7fe7d7dd2e" \
    "b8304386baa7dee78f5b9078669061a3c289a9"
#define V_EPH_PUB                                                                                  \
    "0405ce7e060cbe7e8bf9595bcbcdcd100f21aba2936b4e74b08bfc60d7e011a7a51f4391ea811e8af131e886f363" \
    "2d72a4008869a784879e863763ecbd714c0248"
#define V_IDENT_PUB                                                                                \
    "04e49f38c885189769e4ed92a9162e6b6243b51dffa045fef478a6a278ddfd119cc4ba270b6b8d4cf7780b7cd9f8" \
    "c2033d2873f25ec5ef9928f768ed06c3e52dc7"
#define V_NONCE "c5bf1091355f95a1278adf63259e4b920835d1683b2be0fdb5047e0c5accbd6a"
#define V_PT "attack at dawn: 32 bytes of key."

/* sha512sum of the two binding inputs */
#define V_RELEASE_BINDING                                                                          \
    "bd456cd59326d68435b8c184b1bf2a033b354768741e7963ce670ee4d397bbf21b19afe3e0011342fae09e3146db" \
    "5f5b30c89bfa1cc3b4ca02a0717de6ab9b39"
#define V_IDENTITY_BINDING                                                                         \
    "40999e4198c3bdcf18946c562a9c4422b3a1170b43bffcd298ec78034ac57d7b2ba5d9ac49dc9dca6df564fac6f7" \
    "00dc3684131608aa668f9fc0310aa68786ef"

/* The cluster unseal vectors: a service id, a replica id, a share set (index 2, epoch 7). */
#define V_SID "0123456789abcdef0123456789abcdef"
#define V_RID "fedcba9876543210fedcba9876543210"
#define V_SET "1a2b3c4d"
#define V_UNSEAL_BINDING                                                                           \
    "3a4e2b456d9f0d3a24aa2296ed263e0adb8d71b2af3d3c9f91f571f59a078d6f1717bb2aa0573147baa3324985" \
    "6d6827dcf90463cdf3ba985a0faba14c552720"
#define V_UNSEAL_SHARE_NONCE "943bfbd0628f943d31e315cf9fd447afc1d93c638be0e9d492c29c734ef0531a"

/* Admin init and unseal (section 7): the envelope nonces of share 2 of an init and of unseal. */
#define V_ADMIN_SHARE_NONCE "4d302563615d9fdef2fd471794316d9b0cddee30a2412ffa03718818a3734147"
#define V_INIT_SHARE_NONCE "515ac879860e3bd3c907413db8375077f4a5b377fc0e53002a77fd62ab32e4af"
#define V_ENV                                                                                      \
    "{\"epk\":\"" V_EPH_PUB "\",\"iv\":\"dadda3de6a335b6a442d0af8\",\"ciphertext\":\"AAEC\","      \
    "\"tag\":\"8f8cf4457df444f55a7dfa5d624ca25f\"}"
#define V_ADMIN_ID "0af213ca5258b339c2d66355a52123edfbcc167faea8237c0a2b29489c834a29"
/* An init answer by hand; signed as the spec says, for V_NONCE and V_CLIENT_PUB as share key */
#define V_INIT                                                                                     \
    "{\"id\":\"" V_SID "\",\"admin\":\"" V_ADMIN_ID "\",\"threshold\":2,\"shares\":[{\"index\":"   \
    "1,\"envelope\":" V_ENV "},{\"index\":2,\"envelope\":" V_ENV "}]}"
#define V_INIT_SIGNED                                                                              \
    "616563732d696e69742d616e737765722d763100c5bf1091355f95a1278adf63259e4b920835d1683b2be0fdb5"   \
    "047e0c5accbd6a04e8037831df483c2e40451fbeadd5d95e0f09e838b7b763c58d41186f2d5b88dd41571a0cd3"   \
    "acb58a7fe7d7dd2eb8304386baa7dee78f5b9078669061a3c289a9db581372bceaaa99df3b38d594a66dde5249"   \
    "28d6fc5610a9edfd1074fce1d4d1"
#define V_INIT_SIGNER                                                                              \
    "04804b33b0f05ede5edd2482b9b54672ed9611391454c0b60a185d30f90ba65b37c2c982f21b9772fc7a6675e1"   \
    "30ac15633e9509e57e20ade363b740b86603a616"
#define V_INIT_SIG                                                                                 \
    "MEUCIQDhzYGE6DBIZp+uhu6eHr3QarC6x9Fw4CZUKzIbcpOI+QIgCsjqfz2+3MX5JWOPni96C9aE5a1DOx7ZfZKPT9gt" \
    "mMU="

/* A release answer: the envelope vector, then a refusal (written by hand from the spec). */
#define V_ANSWER                                                                                   \
    "{\"secrets\":[{\"service\":\"svc1\",\"name\":\"data_key_1\",\"type\":\"SECRET_TYPE_AES256_"   \
    "KEY\",\"content_type\":\"application/octet-stream\",\"envelope\":{\"epk\":\"" V_EPH_PUB       \
    "\",\"iv\":\"dadda3de6a335b6a442d0af8\",\"ciphertext\":\"dfXdO3l8e0f7d2DZKMknS71A2cnL/TXV/"    \
    "mGPEahVbKs=\",\"tag\":\"8f8cf4457df444f55a7dfa5d624ca25f\"}},{\"service\":\"svc1\","          \
    "\"name\":\"tls\",\"code\":\"forbidden\",\"reason\":\"no rule of the policy matches the "      \
    "evidence\"}]}"
#define V_ANSWER_SIGNED                                                                            \
    "616563732d72656c656173652d616e737765722d763100c5bf1091355f95a1278adf63259e4b920835d1683b2b"   \
    "e0fdb5047e0c5accbd6a04e8037831df483c2e40451fbeadd5d95e0f09e838b7b763c58d41186f2d5b88dd4157"   \
    "1a0cd3acb58a7fe7d7dd2eb8304386baa7dee78f5b9078669061a3c289a9224862f23ca5f65bfaf7b678155d10"   \
    "18bd55f2b03dea066b9aaac666abf06e7d"
#define V_ANSWER_SIG                                                                               \
    "MEUCIGjRZYzwIe/MIeynK2X0ZOUefpENrZScT44joqELpK9vAiEA+Cwa8VGM8mPh8nt8ICwUDqA73bcclhFXg13vH/"   \
    "gQVHE="

/*
 * The signed-bytes vectors below sign this body as bytes (the identity
 * answer of before service_id and insecure: whatever a body says, its
 * signature covers it the same way); V_IDENTITY_ANSWER is today's answer.
 */
#define V_IDENTITY                                                                                 \
    "{\"pubkey\":\"" V_IDENT_PUB "\",\"evidence\":\"bm90IGEgcmVhbCBxdW90ZSwgb25seSBieXRlcw==\"}"
#define V_IDENTITY_ANSWER                                                                          \
    "{\"pubkey\":\"" V_IDENT_PUB "\",\"evidence\":\"bm90IGEgcmVhbCBxdW90ZSwgb25seSBieXRlcw==\","   \
    "\"service_id\":\"" V_SID "\",\"insecure\":[\"intel-root\",\"sim-attester\"]}"
#define V_ID_HEAD "{\"pubkey\":\"" V_IDENT_PUB "\",\"evidence\":\"AA==\""
#define V_IDENTITY_SIGNED                                                                          \
    "616563732d6964656e746974792d616e737765722d763100c5bf1091355f95a1278adf63259e4b920835d1683b"   \
    "2be0fdb5047e0c5accbd6a7213923481331850228bf1a2aa0c632e6ecd7597f9c8b78694c736b5eb4772f2"
#define V_IDENTITY_SIG                                                                             \
    "MEUCIQDfCEDDqNHAk+gh6IfBWteiw4Maik3uvpT0Jxzq6PNrrgIgMrIv5O2HCqVAR8eV5LvmZC6FgaDfjICXLKgDgZQQ" \
    "VZk="

#define V_PUBLIC                                                                                   \
    "{\"service\":\"svc1\",\"name\":\"tls\",\"type\":\"SECRET_TYPE_CERTIFICATE\",\"content_type\"" \
    ":\"application/x-pem-file\",\"public\":\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END "      \
    "CERTIFICATE-----\\n\"}"
#define V_PUBLIC_SIGNED                                                                            \
    "616563732d7075626c69632d616e737765722d763100c5bf1091355f95a1278adf63259e4b920835d1683b2be0"   \
    "fdb5047e0c5accbd6a82b948330df2e7de7b66bafdc98246fd5e7396b4eb174eb071cfe7c5b1b21445"
#define V_PUBLIC_SIG                                                                               \
    "MEYCIQD3MvVPhk72svcf9JiY3FHDMFIz7PVZhOrDardKLP4LNgIhAJUntVRTg0L1lfk63g9jHEbkq1g267daMT2FeMl2" \
    "gT7r"

/* A release request (by hand): evidence is base64 of "fake evidence". */
#define V_REQUEST                                                                                  \
    "{\"evidence\":\"ZmFrZSBldmlkZW5jZQ==\",\"pubkey\":\"" V_CLIENT_PUB "\",\"nonce\":\"" V_NONCE  \
    "\",\"secrets\":[{\"service\":\"svc1\",\"name\":\"data_key_1\"},{\"service\":\"svc1\","        \
    "\"name\":\"tls\"}]}"

static void expect_rc(int rc, int want)
{
    if (rc != want)
        fail_msg("got %s (%d), wanted %s: %s", aecs_err_name(rc), rc, aecs_err_name(want), MSG());
}

static void assert_msg_has(const char *needle)
{
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", MSG(), needle);
}

static uint8_t g_nonce[32], g_client_pub[65], g_ident_pub[65];

static int setup(void **state)
{
    (void)state;
    tu_hex(V_NONCE, g_nonce, sizeof(g_nonce));
    tu_hex(V_CLIENT_PUB, g_client_pub, sizeof(g_client_pub));
    tu_hex(V_IDENT_PUB, g_ident_pub, sizeof(g_ident_pub));
    return 0;
}

static struct aecs_p256_pub *ident_pub(void)
{
    struct aecs_p256_pub *p = NULL;

    expect_rc(aecs_p256_pub_import(g_ident_pub, sizeof(g_ident_pub), &p), AECS_OK);
    return p;
}

/* ---- bindings ---- */

static void test_bindings_match_sha512sum(void **state)
{
    uint8_t rd[64], want[64];

    (void)state;
    tu_hex(V_RELEASE_BINDING, want, sizeof(want));
    aecs_release_binding(g_nonce, g_client_pub, rd);
    assert_memory_equal(rd, want, 64);
    expect_rc(aecs_release_binding_check(want, g_nonce, g_client_pub), AECS_OK);
    /* any bit of the report data, another nonce, another key */
    for (size_t i = 0; i < 64 * 8; i += 37) {
        want[i / 8] ^= (uint8_t)(1u << (i % 8));
        expect_rc(aecs_release_binding_check(want, g_nonce, g_client_pub), AECS_E_MISMATCH);
        want[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    g_nonce[0] ^= 1;
    expect_rc(aecs_release_binding_check(want, g_nonce, g_client_pub), AECS_E_MISMATCH);
    g_nonce[0] ^= 1;
    expect_rc(aecs_release_binding_check(want, g_nonce, g_ident_pub), AECS_E_MISMATCH);
    expect_rc(aecs_release_binding_check(NULL, g_nonce, g_client_pub), AECS_E_INVALID_ARGUMENT);

    tu_hex(V_IDENTITY_BINDING, want, sizeof(want));
    aecs_identity_binding(g_ident_pub, rd);
    assert_memory_equal(rd, want, 64);
    expect_rc(aecs_identity_binding_check(want, g_ident_pub), AECS_OK);
    expect_rc(aecs_identity_binding_check(want, g_client_pub), AECS_E_MISMATCH);
    /* the labels keep the two apart: a release binding is not an identity binding */
    tu_hex(V_RELEASE_BINDING, want, sizeof(want));
    expect_rc(aecs_identity_binding_check(want, g_client_pub), AECS_E_MISMATCH);
}

/* ---- signed answers ---- */

static void expect_signed(enum aecs_answer_kind kind, const uint8_t *client, const char *body,
                          const char *want_hex)
{
    uint8_t out[AECS_ANSWER_SIGNED_MAX];
    size_t size = 0, want_size = 0;
    uint8_t *want = tu_hex_alloc(want_hex, &want_size);

    expect_rc(aecs_answer_signed_bytes(kind, g_nonce, client, body, strlen(body), out, &size),
              AECS_OK);
    assert_int_equal(size, want_size);
    assert_memory_equal(out, want, size);
    free(want);
}

static void test_signed_bytes_match_printf(void **state)
{
    uint8_t out[AECS_ANSWER_SIGNED_MAX];
    size_t size = 0;

    (void)state;
    expect_signed(AECS_ANSWER_RELEASE, g_client_pub, V_ANSWER, V_ANSWER_SIGNED);
    expect_signed(AECS_ANSWER_IDENTITY, NULL, V_IDENTITY, V_IDENTITY_SIGNED);
    expect_signed(AECS_ANSWER_PUBLIC, NULL, V_PUBLIC, V_PUBLIC_SIGNED);
    /* the sizes of the spec */
    expect_rc(
        aecs_answer_signed_bytes(AECS_ANSWER_RELEASE, g_nonce, g_client_pub, NULL, 0, out, &size),
        AECS_OK);
    assert_int_equal(size, 152);
    expect_rc(aecs_answer_signed_bytes(AECS_ANSWER_IDENTITY, g_nonce, NULL, "", 0, out, &size),
              AECS_OK);
    assert_int_equal(size, 88);
    expect_rc(aecs_answer_signed_bytes(AECS_ANSWER_PUBLIC, g_nonce, NULL, "", 0, out, &size),
              AECS_OK);
    assert_int_equal(size, 86);
    /* a client key only in release answers, and always there */
    expect_rc(aecs_answer_signed_bytes(AECS_ANSWER_RELEASE, g_nonce, NULL, "", 0, out, &size),
              AECS_E_INVALID_ARGUMENT);
    expect_rc(
        aecs_answer_signed_bytes(AECS_ANSWER_IDENTITY, g_nonce, g_client_pub, "", 0, out, &size),
        AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_answer_signed_bytes((enum aecs_answer_kind)9, g_nonce, NULL, "", 0, out, &size),
              AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_answer_signed_bytes(AECS_ANSWER_PUBLIC, NULL, NULL, "", 0, out, &size),
              AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_answer_signed_bytes(AECS_ANSWER_PUBLIC, g_nonce, NULL, NULL, 3, out, &size),
              AECS_E_INVALID_ARGUMENT);
}

static void test_openssl_answer_signatures_verify(void **state)
{
    struct aecs_p256_pub *ident = ident_pub();
    char body[sizeof(V_ANSWER)];
    uint8_t other_nonce[32];

    (void)state;
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_RELEASE, g_nonce, g_client_pub, V_ANSWER,
                                 strlen(V_ANSWER), V_ANSWER_SIG, strlen(V_ANSWER_SIG)),
              AECS_OK);
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_IDENTITY, g_nonce, NULL, V_IDENTITY,
                                 strlen(V_IDENTITY), V_IDENTITY_SIG, strlen(V_IDENTITY_SIG)),
              AECS_OK);
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_PUBLIC, g_nonce, NULL, V_PUBLIC,
                                 strlen(V_PUBLIC), V_PUBLIC_SIG, strlen(V_PUBLIC_SIG)),
              AECS_OK);

    /* one byte of the body */
    memcpy(body, V_ANSWER, sizeof(body));
    body[100] ^= 1;
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_RELEASE, g_nonce, g_client_pub, body,
                                 strlen(body), V_ANSWER_SIG, strlen(V_ANSWER_SIG)),
              AECS_E_BAD_SIGNATURE);
    /* another request's nonce (replay) */
    memcpy(other_nonce, g_nonce, 32);
    other_nonce[5] ^= 0x10;
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_RELEASE, other_nonce, g_client_pub, V_ANSWER,
                                 strlen(V_ANSWER), V_ANSWER_SIG, strlen(V_ANSWER_SIG)),
              AECS_E_BAD_SIGNATURE);
    /* another client's key (answer swap) */
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_RELEASE, g_nonce, g_ident_pub, V_ANSWER,
                                 strlen(V_ANSWER), V_ANSWER_SIG, strlen(V_ANSWER_SIG)),
              AECS_E_BAD_SIGNATURE);
    /* an identity signature is not a public-part signature (labels) */
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_PUBLIC, g_nonce, NULL, V_IDENTITY,
                                 strlen(V_IDENTITY), V_IDENTITY_SIG, strlen(V_IDENTITY_SIG)),
              AECS_E_BAD_SIGNATURE);
    /* the header: missing, empty, not base64, too long, cut */
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_PUBLIC, g_nonce, NULL, V_PUBLIC,
                                 strlen(V_PUBLIC), NULL, 0),
              AECS_E_BAD_SIGNATURE);
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_PUBLIC, g_nonce, NULL, V_PUBLIC,
                                 strlen(V_PUBLIC), "", 0),
              AECS_E_BAD_SIGNATURE);
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_PUBLIC, g_nonce, NULL, V_PUBLIC,
                                 strlen(V_PUBLIC), "MEYC!IQD3", 8),
              AECS_E_BAD_SIGNATURE);
    char long_sig[200];
    memset(long_sig, 'A', sizeof(long_sig));
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_PUBLIC, g_nonce, NULL, V_PUBLIC,
                                 strlen(V_PUBLIC), long_sig, 100),
              AECS_E_BAD_SIGNATURE);
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_PUBLIC, g_nonce, NULL, V_PUBLIC,
                                 strlen(V_PUBLIC), V_PUBLIC_SIG, strlen(V_PUBLIC_SIG) - 4),
              AECS_E_BAD_SIGNATURE);
    aecs_p256_pub_free(ident);
}

static void test_sign_round_trip(void **state)
{
    struct aecs_p256_key *key = NULL;
    struct aecs_p256_pub *pub = NULL;
    uint8_t point[65];
    char sig[AECS_ANSWER_SIG_B64_MAX];

    (void)state;
    expect_rc(aecs_p256_key_generate(&key), AECS_OK);
    aecs_p256_key_public(key, point);
    expect_rc(aecs_p256_pub_import(point, sizeof(point), &pub), AECS_OK);
    expect_rc(aecs_answer_sign(key, AECS_ANSWER_RELEASE, g_nonce, g_client_pub, V_ANSWER,
                               strlen(V_ANSWER), sig),
              AECS_OK);
    assert_true(strlen(sig) > 0 && strlen(sig) < AECS_ANSWER_SIG_B64_MAX);
    expect_rc(aecs_answer_verify(pub, AECS_ANSWER_RELEASE, g_nonce, g_client_pub, V_ANSWER,
                                 strlen(V_ANSWER), sig, strlen(sig)),
              AECS_OK);
    expect_rc(aecs_answer_sign(key, AECS_ANSWER_RELEASE, g_nonce, NULL, "", 0, sig),
              AECS_E_INVALID_ARGUMENT);
    assert_string_equal(sig, "");
    aecs_p256_pub_free(pub);
    aecs_p256_key_free(key);
}

/* ---- nonces and challenges ---- */

static void test_nonce_parse(void **state)
{
    uint8_t out[32];
    char upper[65];

    (void)state;
    expect_rc(aecs_release_nonce_parse(V_NONCE, 64, out), AECS_OK);
    assert_memory_equal(out, g_nonce, 32);
    expect_rc(aecs_release_nonce_parse(V_NONCE, 63, out), AECS_E_FORMAT);
    expect_rc(aecs_release_nonce_parse(NULL, 64, out), AECS_E_FORMAT);
    memcpy(upper, V_NONCE, 65);
    upper[1] = 'F'; /* 'c5...' -> 'cF...' */
    expect_rc(aecs_release_nonce_parse(upper, 64, out), AECS_E_FORMAT);
    upper[1] = 'g';
    expect_rc(aecs_release_nonce_parse(upper, 64, out), AECS_E_FORMAT);
}

#define V_CHALLENGE "{\"nonce\":\"" V_NONCE "\",\"expires\":\"2026-11-22T10:01:00Z\"}"

static void test_challenge_messages(void **state)
{
    char *s = NULL;
    size_t size = 0;
    uint8_t nonce[32];
    int64_t expires = 0;

    (void)state;
    expect_rc(aecs_challenge_answer_serialize(g_nonce, tu_utc("2026-11-22T10:01:00Z"), &s, &size),
              AECS_OK);
    assert_string_equal(s, V_CHALLENGE);
    assert_int_equal(size, strlen(V_CHALLENGE));
    free(s);
    expect_rc(aecs_challenge_answer_serialize(g_nonce, -1, &s, &size), AECS_E_INVALID_ARGUMENT);
    assert_null(s);

    expect_rc(aecs_challenge_answer_parse(V_CHALLENGE, strlen(V_CHALLENGE), nonce, &expires),
              AECS_OK);
    assert_memory_equal(nonce, g_nonce, 32);
    assert_int_equal(expires, tu_utc("2026-11-22T10:01:00Z"));

    static const char *const bad[] = {
        "{\"nonce\":\"" V_NONCE "\",\"expires\":\"2026-11-22T10:01:00.5Z\"}",
        "{\"nonce\":\"" V_NONCE "\",\"expires\":\"2026-11-22T11:01:00+01:00\"}",
        "{\"nonce\":\"" V_NONCE "\",\"expires\":1795860060}",
        "{\"nonce\":\"" V_NONCE "\"}",
        "{\"nonce\":\"" V_NONCE "\",\"expires\":\"2026-11-22T10:01:00Z\",\"ttl\":60}",
        "{\"nonce\":\"C5BF\",\"expires\":\"2026-11-22T10:01:00Z\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_rc(aecs_challenge_answer_parse(bad[i], strlen(bad[i]), nonce, &expires),
                  AECS_E_FORMAT);

    expect_rc(aecs_challenge_request_check("", 0), AECS_OK);
    expect_rc(aecs_challenge_request_check(NULL, 0), AECS_OK);
    expect_rc(aecs_challenge_request_check("{}", 2), AECS_OK);
    expect_rc(aecs_challenge_request_check(" { } \n", 6), AECS_OK);
    expect_rc(aecs_challenge_request_check("[]", 2), AECS_E_FORMAT);
    expect_rc(aecs_challenge_request_check("{\"a\":1}", 7), AECS_E_FORMAT);
    expect_rc(aecs_challenge_request_check("{}x", 3), AECS_E_FORMAT);
}

/* ---- release requests ---- */

static void test_release_request_by_hand(void **state)
{
    struct aecs_release_request *req = NULL;
    char *s = NULL;
    size_t size = 0;

    (void)state;
    expect_rc(aecs_release_request_parse(V_REQUEST, strlen(V_REQUEST), &req), AECS_OK);
    assert_int_equal(req->evidence_size, 13);
    assert_memory_equal(req->evidence, "fake evidence", 13);
    assert_memory_equal(req->pubkey, g_client_pub, 65);
    assert_memory_equal(req->nonce, g_nonce, 32);
    assert_int_equal(req->count, 2);
    assert_string_equal(req->secrets[0].service, "svc1");
    assert_string_equal(req->secrets[0].name, "data_key_1");
    assert_string_equal(req->secrets[1].name, "tls");
    /* writing it again gives the same bytes */
    expect_rc(aecs_release_request_serialize(req, &s, &size), AECS_OK);
    assert_string_equal(s, V_REQUEST);
    assert_int_equal(size, strlen(V_REQUEST));
    free(s);
    aecs_release_request_free(req);
    aecs_release_request_free(NULL);
}

struct bad_body {
    const char *body;
    int code;
    const char *message; /* a part of the expected message */
};

#define REQ_HEAD "{\"evidence\":\"ZmFrZSBldmlkZW5jZQ==\",\"pubkey\":\"" V_CLIENT_PUB "\","
#define REQ_NONCE "\"nonce\":\"" V_NONCE "\","
#define REQ_ONE "\"secrets\":[{\"service\":\"svc1\",\"name\":\"k\"}]"
/* V_CLIENT_PUB with its last digit changed: not on the curve */
#define OFF_CURVE_PUB                                                                              \
    "04e8037831df483c2e40451fbeadd5d95e0f09e838b7b763c58d41186f2d5b88dd41571a0cd3acb58a7fe7d7dd2e" \
    "b8304386baa7dee78f5b9078669061a3c289a8"

static void test_release_request_refusals(void **state)
{
    static const struct bad_body bad[] = {
        {"", AECS_E_FORMAT, "empty body"},
        {"[]", AECS_E_FORMAT, "not a JSON object"},
        {"{", AECS_E_FORMAT, "not valid JSON"},
        {REQ_HEAD REQ_NONCE REQ_ONE "} x", AECS_E_FORMAT, "not valid JSON"},
        {REQ_HEAD REQ_NONCE REQ_ONE ",\"extra\":1}", AECS_E_FORMAT, "unknown member \"extra\""},
        {REQ_HEAD REQ_NONCE REQ_ONE ",\"bad\\nkey\":1}", AECS_E_FORMAT,
         "unknown member \"bad?key\""},
        {REQ_HEAD REQ_NONCE REQ_NONCE REQ_ONE "}", AECS_E_FORMAT, "duplicate"},
        {"{\"pubkey\":\"" V_CLIENT_PUB "\"," REQ_NONCE REQ_ONE "}", AECS_E_FORMAT,
         "\"evidence\" is missing"},
        {REQ_HEAD REQ_ONE "}", AECS_E_FORMAT, "\"nonce\" is missing"},
        {REQ_HEAD REQ_NONCE "\"x\":0}", AECS_E_FORMAT, "unknown member \"x\""},
        {REQ_HEAD REQ_NONCE "\"secrets\":null}", AECS_E_FORMAT, "must be an array"},
        /* evidence */
        {"{\"evidence\":\"\",\"pubkey\":\"" V_CLIENT_PUB "\"," REQ_NONCE REQ_ONE "}", AECS_E_FORMAT,
         "must hold 1 to"},
        {"{\"evidence\":42,\"pubkey\":\"" V_CLIENT_PUB "\"," REQ_NONCE REQ_ONE "}", AECS_E_FORMAT,
         "\"evidence\" must be a string"},
        {"{\"evidence\":\"ZmFrZSBldmlkZW5jZR==\",\"pubkey\":\"" V_CLIENT_PUB "\"," REQ_NONCE REQ_ONE
         "}",
         AECS_E_FORMAT, "non-canonical base64"},
        {"{\"evidence\":\"ZmFrZSBldmlkZW5jZQ\",\"pubkey\":\"" V_CLIENT_PUB "\"," REQ_NONCE REQ_ONE
         "}",
         AECS_E_FORMAT, "multiple of 4"},
        {"{\"evidence\":\"AA\",\"pubkey\":\"" V_CLIENT_PUB "\"," REQ_NONCE REQ_ONE "}",
         AECS_E_FORMAT, "multiple of 4"},
        {"{\"evidence\":\"ZmFr ZSB\",\"pubkey\":\"" V_CLIENT_PUB "\"," REQ_NONCE REQ_ONE "}",
         AECS_E_FORMAT, "not a base64 character"},
        /* pubkey: upper case, short, compressed, off the curve */
        {"{\"evidence\":\"ZmFrZSBldmlkZW5jZQ==\",\"pubkey\":\"04E8037831DF483C2E40451FBEADD5D95E0F"
         "09E838B7B763C58D41186F2D5B88DD41571A0CD3ACB58A7FE7D7DD2EB8304386BAA7DEE78F5B9078669061A3C"
         "289A9\"," REQ_NONCE REQ_ONE "}",
         AECS_E_FORMAT, "130 lowercase hex"},
        {"{\"evidence\":\"ZmFrZSBldmlkZW5jZQ==\",\"pubkey\":\"04e8\"," REQ_NONCE REQ_ONE "}",
         AECS_E_FORMAT, "130 lowercase hex"},
        {"{\"evidence\":\"ZmFrZSBldmlkZW5jZQ==\",\"pubkey\":\"03e8037831df483c2e40451fbeadd5d95e0f"
         "09e838b7b763c58d41186f2d5b88dd41571a0cd3acb58a7fe7d7dd2eb8304386baa7dee78f5b9078669061a3c"
         "289a9\"," REQ_NONCE REQ_ONE "}",
         AECS_E_FORMAT, "only the uncompressed form"},
        {"{\"evidence\":\"ZmFrZSBldmlkZW5jZQ==\",\"pubkey\":\"" OFF_CURVE_PUB
         "\"," REQ_NONCE REQ_ONE "}",
         AECS_E_FORMAT, "release request: \"pubkey\": "},
        /* nonce */
        {REQ_HEAD "\"nonce\":\"c5bf\"," REQ_ONE "}", AECS_E_FORMAT, "64 lowercase hex"},
        {REQ_HEAD
         "\"nonce\":\"C5bf1091355f95a1278adf63259e4b920835d1683b2be0fdb5047e0c5accbd6a\"," REQ_ONE
         "}",
         AECS_E_FORMAT, "64 lowercase hex"},
        /* secrets */
        {REQ_HEAD REQ_NONCE "\"secrets\":[]}", AECS_E_FORMAT, "must have 1 to 16 entries"},
        {REQ_HEAD REQ_NONCE "\"secrets\":[\"svc1/k\"]}", AECS_E_FORMAT,
         "secrets[0]: must be an object"},
        {REQ_HEAD REQ_NONCE "\"secrets\":[{\"service\":\"svc1\"}]}", AECS_E_FORMAT,
         "secrets[0]: \"name\" is missing"},
        {REQ_HEAD REQ_NONCE "\"secrets\":[{\"service\":\"svc1\",\"name\":\"k\",\"type\":\"x\"}]}",
         AECS_E_FORMAT, "secrets[0]: unknown member \"type\""},
        {REQ_HEAD REQ_NONCE "\"secrets\":[{\"service\":\"svc1\",\"name\":\".hidden\"}]}",
         AECS_E_FORMAT, "not starting with '.'"},
        {REQ_HEAD REQ_NONCE "\"secrets\":[{\"service\":\"svc1\",\"name\":\"a/b\"}]}", AECS_E_FORMAT,
         "secrets[0]: \"name\" must be"},
        {REQ_HEAD REQ_NONCE "\"secrets\":[{\"service\":\"\",\"name\":\"k\"}]}", AECS_E_FORMAT,
         "secrets[0]: \"service\" must be"},
        {REQ_HEAD REQ_NONCE "\"secrets\":[{\"service\":\"svc1\",\"name\":\"k\"},{\"service\":"
                            "\"svc1\",\"name\":\"k\"}]}",
         AECS_E_FORMAT, "svc1/k is already asked for in secrets[0]"},
        {REQ_HEAD REQ_NONCE "\"secrets\":[{\"service\":\"svc1\",\"name\":\"k\\u0000\"}]}",
         AECS_E_FORMAT, "not valid JSON"},
    };
    struct aecs_release_request *req = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = aecs_release_request_parse(bad[i].body, strlen(bad[i].body), &req);
        if (rc != bad[i].code || strstr(MSG(), bad[i].message) == NULL)
            fail_msg("case %zu: got %s '%s', wanted %s '...%s...'", i, aecs_err_name(rc), MSG(),
                     aecs_err_name(bad[i].code), bad[i].message);
        assert_null(req);
    }
}

/* A request whose secrets array has n entries k0..k(n-1); the caller frees it. */
static char *request_with(size_t n)
{
    size_t cap = 1024 + n * 64;
    char *s = malloc(cap);
    size_t at;

    assert_non_null(s);
    at = (size_t)snprintf(s, cap, "%s%s\"secrets\":[", REQ_HEAD, REQ_NONCE);
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(s + at, cap - at, "%s{\"service\":\"svc1\",\"name\":\"k%zu\"}",
                               i ? "," : "", i);
    snprintf(s + at, cap - at, "]}");
    return s;
}

/* A request whose evidence is `size` zero bytes (base64 "AAAA"...). */
static char *request_with_evidence(size_t size)
{
    size_t b64 = 4 * ((size + 2) / 3);
    char *s = malloc(b64 + 1024);
    size_t at;

    assert_non_null(s);
    at = (size_t)snprintf(s, 32, "{\"evidence\":\"");
    memset(s + at, 'A', b64);
    if (size % 3 == 1)
        memcpy(s + at + b64 - 2, "==", 2);
    if (size % 3 == 2)
        s[at + b64 - 1] = '=';
    at += b64;
    snprintf(s + at, 1024, "\",\"pubkey\":\"%s\",%s%s}", V_CLIENT_PUB, REQ_NONCE, REQ_ONE);
    return s;
}

static void test_release_request_limits(void **state)
{
    struct aecs_release_request *req = NULL;
    char *s;

    (void)state;
    s = request_with(16);
    expect_rc(aecs_release_request_parse(s, strlen(s), &req), AECS_OK);
    assert_int_equal(req->count, 16);
    assert_string_equal(req->secrets[15].name, "k15");
    aecs_release_request_free(req);
    free(s);
    s = request_with(17);
    expect_rc(aecs_release_request_parse(s, strlen(s), &req), AECS_E_FORMAT);
    assert_msg_has("must have 1 to 16 entries (it has 17)");
    free(s);

    s = request_with_evidence(AECS_RELEASE_EVIDENCE_MAX);
    expect_rc(aecs_release_request_parse(s, strlen(s), &req), AECS_OK);
    assert_int_equal(req->evidence_size, 65536);
    assert_int_equal(req->evidence[65535], 0);
    aecs_release_request_free(req);
    free(s);
    s = request_with_evidence(AECS_RELEASE_EVIDENCE_MAX + 1);
    expect_rc(aecs_release_request_parse(s, strlen(s), &req), AECS_E_FORMAT);
    assert_msg_has("must hold 1 to 65536 bytes (it holds 65537)");
    free(s);
    s = request_with_evidence(AECS_RELEASE_EVIDENCE_MAX + 3); /* one more base64 quad */
    expect_rc(aecs_release_request_parse(s, strlen(s), &req), AECS_E_FORMAT);
    assert_msg_has("longer than base64 of 65536 bytes");
    free(s);

    /* the body limit comes first */
    s = malloc(AECS_RELEASE_REQUEST_MAX + 2);
    assert_non_null(s);
    memset(s, ' ', AECS_RELEASE_REQUEST_MAX + 1);
    s[AECS_RELEASE_REQUEST_MAX + 1] = '\0';
    expect_rc(aecs_release_request_parse(s, AECS_RELEASE_REQUEST_MAX + 1, &req), AECS_E_TOO_LARGE);
    free(s);
}

static void test_release_request_serialize_refuses(void **state)
{
    struct aecs_release_request req;
    char *s = NULL;
    size_t size = 0;
    const uint8_t ev[] = "x";

    (void)state;
    memset(&req, 0, sizeof(req));
    req.evidence = (uint8_t *)ev;
    req.evidence_size = 1;
    memcpy(req.pubkey, g_client_pub, 65);
    memcpy(req.nonce, g_nonce, 32);
    req.count = 1;
    strcpy(req.secrets[0].service, "svc1");
    strcpy(req.secrets[0].name, "k");
    expect_rc(aecs_release_request_serialize(&req, &s, &size), AECS_OK);
    free(s);

    req.count = 0;
    expect_rc(aecs_release_request_serialize(&req, &s, &size), AECS_E_INVALID_ARGUMENT);
    req.count = 17;
    expect_rc(aecs_release_request_serialize(&req, &s, &size), AECS_E_INVALID_ARGUMENT);
    req.count = 2;
    strcpy(req.secrets[1].service, "svc1");
    strcpy(req.secrets[1].name, "k");
    expect_rc(aecs_release_request_serialize(&req, &s, &size), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("asked for twice");
    strcpy(req.secrets[1].name, ".k");
    expect_rc(aecs_release_request_serialize(&req, &s, &size), AECS_E_INVALID_ARGUMENT);
    req.count = 1;
    req.pubkey[64] ^= 1;
    expect_rc(aecs_release_request_serialize(&req, &s, &size), AECS_E_INVALID_ARGUMENT);
    req.pubkey[64] ^= 1;
    req.evidence = NULL;
    expect_rc(aecs_release_request_serialize(&req, &s, &size), AECS_E_INVALID_ARGUMENT);
    assert_null(s);
    expect_rc(aecs_release_request_serialize(NULL, &s, &size), AECS_E_INVALID_ARGUMENT);
}

/* ---- release answers ---- */

static void test_release_answer_vector_end_to_end(void **state)
{
    struct aecs_p256_pub *ident = ident_pub();
    struct aecs_release_request *req = NULL;
    struct aecs_release_answer *a = NULL;
    struct aecs_p256_key *client = NULL;
    uint8_t priv[32];
    uint8_t *plain = NULL;
    size_t size = 0;
    char *s = NULL;

    (void)state;
    /* what a client does: verify the raw body, parse, match, open */
    expect_rc(aecs_answer_verify(ident, AECS_ANSWER_RELEASE, g_nonce, g_client_pub, V_ANSWER,
                                 strlen(V_ANSWER), V_ANSWER_SIG, strlen(V_ANSWER_SIG)),
              AECS_OK);
    expect_rc(aecs_release_answer_parse(V_ANSWER, strlen(V_ANSWER), &a), AECS_OK);
    expect_rc(aecs_release_request_parse(V_REQUEST, strlen(V_REQUEST), &req), AECS_OK);
    expect_rc(aecs_release_answer_match(req, a), AECS_OK);
    assert_int_equal(a->count, 2);
    assert_true(a->results[0].sealed);
    assert_string_equal(a->results[0].type, "SECRET_TYPE_AES256_KEY");
    assert_string_equal(a->results[0].content_type, "application/octet-stream");
    assert_false(a->results[1].sealed);
    assert_string_equal(a->results[1].code, "forbidden");
    assert_string_equal(a->results[1].reason, "no rule of the policy matches the evidence");

    tu_hex(V_CLIENT_PRIV, priv, sizeof(priv));
    expect_rc(aecs_p256_key_import(priv, g_client_pub, &client), AECS_OK);
    struct aecs_envelope_binding b = {req->nonce, a->results[0].service, a->results[0].name,
                                      a->results[0].type};
    expect_rc(aecs_envelope_open(client, &b, &a->results[0].envelope, &plain, &size), AECS_OK);
    assert_int_equal(size, strlen(V_PT));
    assert_memory_equal(plain, V_PT, size);
    aecs_envelope_plain_free(plain, size);

    /* the server's writer gives the hand-written bytes back */
    expect_rc(aecs_release_answer_serialize(a, &s, &size), AECS_OK);
    assert_string_equal(s, V_ANSWER);
    assert_int_equal(size, strlen(V_ANSWER));
    free(s);

    /* match: order, names, count */
    struct aecs_release_result tmp = a->results[0];
    a->results[0] = a->results[1];
    a->results[1] = tmp;
    expect_rc(aecs_release_answer_match(req, a), AECS_E_MISMATCH);
    assert_msg_has("entry 0 is svc1/tls, the request asked for svc1/data_key_1");
    a->results[1] = a->results[0];
    a->results[0] = tmp;
    a->count = 1;
    expect_rc(aecs_release_answer_match(req, a), AECS_E_MISMATCH);
    assert_msg_has("1 entries for 2 requested secrets");
    a->count = 2;
    strcpy(req->secrets[1].service, "svc2");
    expect_rc(aecs_release_answer_match(req, a), AECS_E_MISMATCH);

    aecs_p256_key_free(client);
    aecs_release_request_free(req);
    aecs_release_answer_free(a);
    aecs_release_answer_free(NULL);
    aecs_p256_pub_free(ident);
}

#define ANS_SEALED_HEAD                                                                            \
    "{\"secrets\":[{\"service\":\"s\",\"name\":\"n\",\"type\":\"T\",\"content_type\":\"a/b\","
#define ANS_ENV_TAIL "\"tag\":\"8f8cf4457df444f55a7dfa5d624ca25f\"}}]}"
#define ANS_ENV "\"envelope\":{\"epk\":\"" V_EPH_PUB "\",\"iv\":\"dadda3de6a335b6a442d0af8\","

static void test_release_answer_refusals(void **state)
{
    static const struct bad_body bad[] = {
        {"{\"secrets\":[]}", AECS_E_FORMAT, "must have 1 to 16 entries"},
        {"{\"secrets\":[],\"ok\":true}", AECS_E_FORMAT, "unknown member \"ok\""},
        {"{\"secrets\":[{\"service\":\"s\",\"name\":\"n\",\"code\":\"forbidden\"}]}", AECS_E_FORMAT,
         "\"reason\" is missing"},
        {"{\"secrets\":[{\"service\":\"s\",\"name\":\"n\",\"code\":\"Forbidden\",\"reason\":\"\"}]"
         "}",
         AECS_E_FORMAT, "\"code\" must be"},
        {"{\"secrets\":[{\"service\":\"s\",\"name\":\"n\",\"code\":\"x\",\"reason\":\"a\\nb\"}]}",
         AECS_E_FORMAT, "\"reason\" must be"},
        {"{\"secrets\":[{\"service\":\"s\",\"name\":\"n\",\"code\":\"x\",\"reason\":\"\","
         "\"type\":\"T\"}]}",
         AECS_E_FORMAT, "unknown member \"type\""},
        /* sealed with a refusal's member, or with a bad envelope */
        {ANS_SEALED_HEAD "\"code\":\"x\"," ANS_ENV "\"ciphertext\":\"\"," ANS_ENV_TAIL,
         AECS_E_FORMAT, "unknown member \"code\""},
        {"{\"secrets\":[{\"service\":\"s\",\"name\":\"n\",\"type\":\"t\",\"content_type\":\"a/"
         "b\"," ANS_ENV "\"ciphertext\":\"\"," ANS_ENV_TAIL,
         AECS_E_FORMAT, "\"type\" must be"},
        {"{\"secrets\":[{\"service\":\"s\",\"name\":\"n\",\"type\":\"T\",\"content_type\":\"a "
         "b\"," ANS_ENV "\"ciphertext\":\"\"," ANS_ENV_TAIL,
         AECS_E_FORMAT, "\"content_type\" must be"},
        {ANS_SEALED_HEAD ANS_ENV "\"ciphertext\":\"\"}}]}", AECS_E_FORMAT,
         "envelope: \"tag\" is missing"},
        {ANS_SEALED_HEAD ANS_ENV "\"ciphertext\":\"\",\"aad\":\"\"," ANS_ENV_TAIL, AECS_E_FORMAT,
         "envelope: unknown member \"aad\""},
        {ANS_SEALED_HEAD "\"envelope\":{\"epk\":\"04\",\"iv\":\"dadda3de6a335b6a442d0af8\","
                         "\"ciphertext\":\"\"," ANS_ENV_TAIL,
         AECS_E_FORMAT, "\"epk\" must be 130 lowercase hex"},
        {ANS_SEALED_HEAD "\"envelope\":{\"epk\":\"" V_EPH_PUB
                         "\",\"iv\":\"dadda3de6a335b6a442d0a\","
                         "\"ciphertext\":\"\"," ANS_ENV_TAIL,
         AECS_E_FORMAT, "\"iv\" must be 24 lowercase hex"},
        {ANS_SEALED_HEAD ANS_ENV "\"ciphertext\":\"A===\"," ANS_ENV_TAIL, AECS_E_FORMAT,
         "\"ciphertext\""},
        {ANS_SEALED_HEAD "\"envelope\":{\"epk\":\"" OFF_CURVE_PUB
                         "\",\"iv\":\"dadda3de6a335b6a442d0af8\","
                         "\"ciphertext\":\"\"," ANS_ENV_TAIL,
         AECS_E_FORMAT, "envelope: \"epk\": public key: not a point of P-256"},
        {ANS_SEALED_HEAD "\"envelope\":[]}]}", AECS_E_FORMAT, "envelope: must be an object"},
    };
    struct aecs_release_answer *a = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = aecs_release_answer_parse(bad[i].body, strlen(bad[i].body), &a);
        if (rc != bad[i].code || strstr(MSG(), bad[i].message) == NULL)
            fail_msg("case %zu: got %s '%s', wanted %s '...%s...'", i, aecs_err_name(rc), MSG(),
                     aecs_err_name(bad[i].code), bad[i].message);
        assert_null(a);
    }
    /* an empty ciphertext is a valid (empty) envelope */
    const char *empty = ANS_SEALED_HEAD ANS_ENV "\"ciphertext\":\"\"," ANS_ENV_TAIL;
    expect_rc(aecs_release_answer_parse(empty, strlen(empty), &a), AECS_OK);
    assert_int_equal(a->results[0].envelope.size, 0);
    aecs_release_answer_free(a);
}

static void test_release_answer_serialize_refuses(void **state)
{
    struct aecs_release_answer *a = aecs_release_answer_new();
    char *s = NULL;
    size_t size = 0;

    (void)state;
    assert_non_null(a);
    expect_rc(aecs_release_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    a->count = 1;
    strcpy(a->results[0].service, "s");
    strcpy(a->results[0].name, "n");
    strcpy(a->results[0].code, "not_found");
    strcpy(a->results[0].reason, "no such secret");
    expect_rc(aecs_release_answer_serialize(a, &s, &size), AECS_OK);
    assert_string_equal(
        s, "{\"secrets\":[{\"service\":\"s\",\"name\":\"n\",\"code\":\"not_found\",\"reason\":"
           "\"no such secret\"}]}");
    free(s);
    strcpy(a->results[0].code, "Not-Found");
    expect_rc(aecs_release_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    strcpy(a->results[0].code, "x");
    strcpy(a->results[0].reason, "tab\there");
    expect_rc(aecs_release_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    a->results[0].sealed = 1;
    strcpy(a->results[0].type, "T");
    strcpy(a->results[0].content_type, "a/b");
    a->results[0].envelope.epk[0] = 0x04;
    a->results[0].envelope.size = 3; /* no ciphertext */
    expect_rc(aecs_release_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    a->results[0].envelope.size = 0;
    expect_rc(aecs_release_answer_serialize(a, &s, &size), AECS_OK);
    free(s);
    strcpy(a->results[0].name, ".n");
    expect_rc(aecs_release_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    assert_null(s);
    aecs_release_answer_free(a);
}

/* ---- identity and public answers ---- */

static void test_identity_answer(void **state)
{
    struct aecs_identity_answer *a = NULL;
    char *s = NULL;
    size_t size = 0;

    (void)state;
    expect_rc(aecs_identity_answer_parse(V_IDENTITY_ANSWER, strlen(V_IDENTITY_ANSWER), &a),
              AECS_OK);
    assert_memory_equal(a->pubkey, g_ident_pub, 65);
    assert_int_equal(a->evidence_size, strlen("not a real quote, only bytes"));
    assert_memory_equal(a->evidence, "not a real quote, only bytes", a->evidence_size);
    assert_string_equal(a->service_id, V_SID);
    assert_int_equal(a->insecure_count, 2);
    assert_string_equal(a->insecure[0], "intel-root");
    assert_string_equal(a->insecure[1], "sim-attester");
    expect_rc(aecs_identity_answer_serialize(a, &s, &size), AECS_OK);
    assert_string_equal(s, V_IDENTITY_ANSWER);
    free(s);
    /* no insecure option: an empty list, written out */
    a->insecure_count = 0;
    expect_rc(aecs_identity_answer_serialize(a, &s, &size), AECS_OK);
    assert_string_equal(s, "{\"pubkey\":\"" V_IDENT_PUB
                           "\",\"evidence\":\"bm90IGEgcmVhbCBxdW90ZSwgb25s"
                           "eSBieXRlcw==\",\"service_id\":\"" V_SID "\",\"insecure\":[]}");
    free(s);
    /* the serializer checks what the parser checks */
    a->insecure_count = AECS_IDENTITY_INSECURE_MAX + 1;
    expect_rc(aecs_identity_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    a->insecure_count = 2;
    strcpy(a->insecure[1], "intel-root");
    expect_rc(aecs_identity_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    strcpy(a->insecure[1], "Sim");
    expect_rc(aecs_identity_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    strcpy(a->insecure[1], "sim-attester");
    /* before the init a service has no id: "", written and read back */
    {
        struct aecs_identity_answer *back = NULL;
        a->service_id[0] = '\0';
        expect_rc(aecs_identity_answer_serialize(a, &s, &size), AECS_OK);
        assert_non_null(strstr(s, "\"service_id\":\"\","));
        expect_rc(aecs_identity_answer_parse(s, size, &back), AECS_OK);
        assert_string_equal(back->service_id, "");
        aecs_identity_answer_free(back);
        free(s);
        s = NULL;
        memcpy(a->service_id, V_SID, sizeof(V_SID));
    }
    a->service_id[0] = 'A';
    expect_rc(aecs_identity_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    a->service_id[0] = '0';
    a->pubkey[64] ^= 1;
    expect_rc(aecs_identity_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    assert_null(s);
    aecs_identity_answer_free(a);
    aecs_identity_answer_free(NULL);

    static const struct bad_body bad[] = {
        {"{\"pubkey\":\"" V_IDENT_PUB "\"}", AECS_E_FORMAT, "\"evidence\" is missing"},
        {"{\"pubkey\":\"" V_IDENT_PUB "\",\"evidence\":\"\"}", AECS_E_FORMAT, "must hold 1 to"},
        {"{\"pubkey\":\"" OFF_CURVE_PUB "\",\"evidence\":\"AA==\"}", AECS_E_FORMAT,
         "identity answer: \"pubkey\": "},
        {V_ID_HEAD ",\"service_id\":\"" V_SID "\",\"insecure\":[],\"sig\":\"\"}", AECS_E_FORMAT,
         "unknown member \"sig\""},
        /* the answer of before: what a client must see is missing */
        {V_ID_HEAD "}", AECS_E_FORMAT, "identity answer: \"service_id\" is missing"},
        {V_ID_HEAD ",\"service_id\":\"" V_SID "\"}", AECS_E_FORMAT,
         "identity answer: \"insecure\" is missing"},
        {V_ID_HEAD ",\"service_id\":\"0123456789ABCDEF0123456789abcdef\",\"insecure\":[]}",
         AECS_E_FORMAT, "identity answer: \"service_id\" must be 32 lowercase hex characters"},
        {V_ID_HEAD ",\"service_id\":\"0123\",\"insecure\":[]}", AECS_E_FORMAT,
         "identity answer: \"service_id\" must be 32 lowercase hex characters"},
        {V_ID_HEAD ",\"service_id\":7,\"insecure\":[]}", AECS_E_FORMAT,
         "identity answer: \"service_id\" must be a string"},
        {V_ID_HEAD ",\"service_id\":\"" V_SID "\",\"insecure\":\"intel-root\"}", AECS_E_FORMAT,
         "identity answer: \"insecure\" must be an array"},
        {V_ID_HEAD ",\"service_id\":\"" V_SID "\",\"insecure\":[1]}", AECS_E_FORMAT,
         "identity answer: \"insecure\"[0] must be a string"},
        {V_ID_HEAD ",\"service_id\":\"" V_SID "\",\"insecure\":[\"trust-sim\",\"\"]}",
         AECS_E_FORMAT, "identity answer: \"insecure\"[1] must be 1 to 32 characters of a-z 0-9 -"},
        {V_ID_HEAD ",\"service_id\":\"" V_SID "\",\"insecure\":[\"Intel-Root\"]}", AECS_E_FORMAT,
         "identity answer: \"insecure\"[0] must be 1 to 32 characters of a-z 0-9 -"},
        {V_ID_HEAD ",\"service_id\":\"" V_SID "\",\"insecure\":[\"intel-root\\u0000\"]}",
         AECS_E_FORMAT, "identity answer: not valid JSON"}, /* no NUL in any string */
        {V_ID_HEAD ",\"service_id\":\"" V_SID
                   "\",\"insecure\":[\"abcdefghijklmnopqrstuvwxyz0123456\"]}",
         AECS_E_FORMAT, "identity answer: \"insecure\"[0] must be 1 to 32 characters"},
        {V_ID_HEAD ",\"service_id\":\"" V_SID "\",\"insecure\":[\"trust-sim\",\"trust-sim\"]}",
         AECS_E_FORMAT, "identity answer: \"insecure\"[1] repeats \"trust-sim\""},
        {V_ID_HEAD ",\"service_id\":\"" V_SID
                   "\",\"insecure\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\","
                   "\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}",
         AECS_E_FORMAT, "identity answer: \"insecure\" must have 0 to 16 entries (it has 17)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = aecs_identity_answer_parse(bad[i].body, strlen(bad[i].body), &a);
        if (rc != bad[i].code || strstr(MSG(), bad[i].message) == NULL)
            fail_msg("case %zu: got %s '%s'", i, aecs_err_name(rc), MSG());
        assert_null(a);
    }
}

static void test_public_answer(void **state)
{
    struct aecs_public_answer *a = NULL;
    char *s = NULL;
    size_t size = 0;
    const char *pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    (void)state;
    expect_rc(aecs_public_answer_parse(V_PUBLIC, strlen(V_PUBLIC), &a), AECS_OK);
    assert_string_equal(a->service, "svc1");
    assert_string_equal(a->name, "tls");
    assert_string_equal(a->type, "SECRET_TYPE_CERTIFICATE");
    assert_string_equal(a->content_type, "application/x-pem-file");
    assert_string_equal(a->public_data, pem);
    assert_int_equal(a->public_size, strlen(pem));
    expect_rc(aecs_public_answer_serialize(a, &s, &size), AECS_OK);
    assert_string_equal(s, V_PUBLIC);
    free(s);
    a->public_data[3] = '\x01';
    expect_rc(aecs_public_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    a->public_size = 1000; /* longer than the string */
    expect_rc(aecs_public_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    aecs_public_answer_free(a);
    aecs_public_answer_free(NULL);

    static const struct bad_body bad[] = {
        {"{\"service\":\"s\",\"name\":\"n\",\"type\":\"T\",\"content_type\":\"a/b\","
         "\"public\":\"\"}",
         AECS_E_FORMAT, "\"public\" must be"},
        {"{\"service\":\"s\",\"name\":\"n\",\"type\":\"T\",\"content_type\":\"a/b\","
         "\"public\":\"a\\u0007b\"}",
         AECS_E_FORMAT, "\"public\" must be"},
        {"{\"service\":\"s\",\"name\":\"n\",\"type\":\"T\",\"content_type\":\"a/b\"}",
         AECS_E_FORMAT, "\"public\" is missing"},
        {"{\"service\":\"s\",\"name\":\"n\",\"type\":\"T\",\"content_type\":\"a/b\","
         "\"public\":\"x\",\"private\":\"y\"}",
         AECS_E_FORMAT, "unknown member \"private\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = aecs_public_answer_parse(bad[i].body, strlen(bad[i].body), &a);
        if (rc != bad[i].code || strstr(MSG(), bad[i].message) == NULL)
            fail_msg("case %zu: got %s '%s'", i, aecs_err_name(rc), MSG());
        assert_null(a);
    }
}

/* ---- join ---- */

/* The signed bytes of a join answer, built by hand from section 5 of the spec. */
static void test_join_messages(void **state)
{
    static const char body[] =
        "{\"evidence\":\"ZmFrZSBldmlkZW5jZQ==\",\"pubkey\":\"" V_CLIENT_PUB "\",\"nonce\":\"" V_NONCE
        "\"}";
    struct aecs_release_request *req = NULL;
    struct aecs_envelope env, back;
    uint8_t out[AECS_ANSWER_SIGNED_MAX], want[AECS_ANSWER_SIGNED_MAX];
    char *s = NULL, id[33];
    size_t size = 0, at;

    (void)state;
    expect_rc(aecs_join_request_parse(body, strlen(body), &req), AECS_OK);
    assert_int_equal(req->count, 0);
    assert_memory_equal(req->pubkey, g_client_pub, 65);
    assert_memory_equal(req->nonce, g_nonce, 32);
    expect_rc(aecs_join_request_serialize(req, &s, &size), AECS_OK);
    assert_string_equal(s, body);
    free(s);
    aecs_release_request_free(req);
    req = NULL;
    /* a release request is not a join request: unknown members are refused */
    expect_rc(aecs_join_request_parse(REQ_HEAD REQ_NONCE REQ_ONE "}",
                                      strlen(REQ_HEAD REQ_NONCE REQ_ONE "}"), &req),
              AECS_E_FORMAT);
    assert_msg_has("secrets");

    /* label || 0x00 || nonce || joiner key || SHA-256(body) */
    at = strlen("aecs-join-answer-v1") + 1;
    memcpy(want, "aecs-join-answer-v1", at);
    memcpy(want + at, g_nonce, 32);
    memcpy(want + at + 32, g_client_pub, 65);
    aecs_sha256("{}", 2, want + at + 97);
    expect_rc(aecs_answer_signed_bytes(AECS_ANSWER_JOIN, g_nonce, g_client_pub, "{}", 2, out,
                                       &size),
              AECS_OK);
    assert_int_equal(size, at + 97 + 32);
    assert_memory_equal(out, want, size);
    expect_rc(aecs_answer_signed_bytes(AECS_ANSWER_JOIN, g_nonce, NULL, "{}", 2, out, &size),
              AECS_E_INVALID_ARGUMENT);

    /* the answer round-trips */
    memset(&env, 0, sizeof(env));
    memcpy(env.epk, g_client_pub, 65);
    memset(env.iv, 1, sizeof(env.iv));
    memset(env.tag, 2, sizeof(env.tag));
    env.size = 32;
    env.ciphertext = calloc(1, 32);
    assert_non_null(env.ciphertext);
    expect_rc(aecs_join_answer_serialize("0123456789abcdef0123456789abcdef", &env, &s, &size),
              AECS_OK);
    expect_rc(aecs_join_answer_parse(s, size, id, &back), AECS_OK);
    assert_string_equal(id, "0123456789abcdef0123456789abcdef");
    assert_int_equal(back.size, 32);
    assert_memory_equal(back.epk, env.epk, 65);
    aecs_envelope_clear(&back);
    free(s);
    expect_rc(aecs_join_answer_serialize("0123456789ABCDEF0123456789abcdef", &env, &s, &size),
              AECS_E_INVALID_ARGUMENT);
    aecs_envelope_clear(&env);
    /*
     * An empty ciphertext, which the serializer refuses to write, is refused
     * when read too (found by fuzz/release_msg).
     */
    {
        static const char empty[] =
            "{\"id\":\"0123456789abcdef0123456789abcdef\",\"envelope\":{\"epk\":\"" V_CLIENT_PUB
            "\",\"iv\":\"010101010101010101010101\",\"ciphertext\":\"\","
            "\"tag\":\"02020202020202020202020202020202\"}}";
        expect_rc(aecs_join_answer_parse(empty, strlen(empty), id, &back), AECS_E_FORMAT);
        assert_msg_has("join answer: the envelope's ciphertext is empty");
        assert_string_equal(id, "");
        assert_null(back.ciphertext);
    }
}

/* ---- unseal progress shared by replicas ---- */

static void test_unseal_bindings(void **state)
{
    uint8_t rd[64], want[64], nonce[32];
    struct aecs_unseal_share_binding sb;

    (void)state;
    tu_hex(V_UNSEAL_BINDING, want, sizeof(want));
    aecs_unseal_binding(V_SID, V_RID, g_ident_pub, rd);
    assert_memory_equal(rd, want, 64);
    expect_rc(aecs_unseal_binding_check(want, V_SID, V_RID, g_ident_pub), AECS_OK);
    /* another replica id, service id or key */
    expect_rc(aecs_unseal_binding_check(want, V_SID, V_SID, g_ident_pub), AECS_E_MISMATCH);
    expect_rc(aecs_unseal_binding_check(want, V_RID, V_RID, g_ident_pub), AECS_E_MISMATCH);
    expect_rc(aecs_unseal_binding_check(want, V_SID, V_RID, g_client_pub), AECS_E_MISMATCH);
    /* the identity binding of the same key is not an unseal binding */
    aecs_identity_binding(g_ident_pub, rd);
    expect_rc(aecs_unseal_binding_check(rd, V_SID, V_RID, g_ident_pub), AECS_E_MISMATCH);

    tu_hex(V_UNSEAL_SHARE_NONCE, nonce, sizeof(nonce));
    expect_rc(aecs_unseal_share_binding(V_SID, V_RID, V_SET, 2, 7, &sb), AECS_OK);
    assert_memory_equal(sb.nonce, nonce, 32);
    assert_ptr_equal(sb.b.nonce, sb.nonce);
    assert_string_equal(sb.b.service, V_SID);
    assert_string_equal(sb.b.name, V_RID ".2");
    assert_string_equal(sb.b.type, "AECS_UNSEAL_SHARE_V1." V_SET ".7");
    expect_rc(aecs_unseal_share_binding(V_SID, V_RID, V_SET, 2, 8, &sb), AECS_OK);
    assert_memory_not_equal(sb.nonce, nonce, 32);
    expect_rc(aecs_unseal_share_binding(V_SID, V_RID, "1A2B3C4D", 2, 7, &sb),
              AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_unseal_share_binding(V_SID, "fedcba98", V_SET, 2, 7, &sb),
              AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_unseal_share_binding(V_SID, V_RID, V_SET, 0, 7, &sb), AECS_E_INVALID_ARGUMENT);
}

static void test_unseal_messages(void **state)
{
    /* written by hand from section 6 of the spec */
    static const char mailbox[] = "{\"key\":\"" V_IDENT_PUB "\",\"evidence\":\"ZmFrZSBldmlkZW5jZQ"
                                  "==\",\"set\":\"" V_SET "\",\"time\":\"2026-11-22T10:01:00Z\"}";
    static const char box[] = "{\"from\":\"" V_RID "\",\"envelope\":{\"epk\":\"" V_EPH_PUB
                              "\",\"iv\":\"dadda3de6a335b6a442d0af8\",\"ciphertext\":\"AAEC\","
                              "\"tag\":\"8f8cf4457df444f55a7dfa5d624ca25f\"}}";
    static const char box_empty[] =
        "{\"from\":\"" V_RID "\",\"envelope\":{\"epk\":\"" V_EPH_PUB
        "\",\"iv\":\"dadda3de6a335b6a442d0af8\",\"ciphertext\":\"\","
        "\"tag\":\"8f8cf4457df444f55a7dfa5d624ca25f\"}}";
    struct aecs_unseal_mailbox *m = NULL;
    struct aecs_envelope env;
    char *s = NULL, from[33], *bad;
    size_t size = 0;

    (void)state;
    expect_rc(aecs_unseal_mailbox_parse(mailbox, strlen(mailbox), &m), AECS_OK);
    assert_memory_equal(m->pubkey, g_ident_pub, 65);
    assert_int_equal(m->evidence_size, strlen("fake evidence"));
    assert_memory_equal(m->evidence, "fake evidence", m->evidence_size);
    assert_string_equal(m->set, V_SET);
    assert_int_equal(m->time, tu_utc("2026-11-22T10:01:00Z"));
    expect_rc(aecs_unseal_mailbox_serialize(m, &s, &size), AECS_OK);
    assert_string_equal(s, mailbox);
    free(s);
    aecs_unseal_mailbox_free(m);
    m = NULL;
    /* refusals name the member: an upper-case set, a time in another form, an unknown member */
    bad = strdup(mailbox);
    assert_non_null(bad);
    memcpy(strstr(bad, V_SET), "1A2B3C4D", 8);
    expect_rc(aecs_unseal_mailbox_parse(bad, strlen(bad), &m), AECS_E_FORMAT);
    assert_msg_has("\"set\"");
    free(bad);
    bad = strdup(mailbox);
    assert_non_null(bad);
    strstr(bad, "T10:01")[0] = ' ';
    expect_rc(aecs_unseal_mailbox_parse(bad, strlen(bad), &m), AECS_E_FORMAT);
    assert_msg_has("\"time\"");
    free(bad);
    expect_rc(aecs_unseal_mailbox_parse("{\"key\":\"00\"}", 11, &m), AECS_E_FORMAT);
    expect_rc(aecs_unseal_mailbox_parse("{\"x\":1}", 7, &m), AECS_E_FORMAT);
    assert_msg_has("unknown member");
    assert_null(m);

    expect_rc(aecs_unseal_box_parse(box, strlen(box), from, &env), AECS_OK);
    assert_string_equal(from, V_RID);
    assert_int_equal(env.size, 3);
    assert_memory_equal(env.ciphertext, "\x00\x01\x02", 3);
    expect_rc(aecs_unseal_box_serialize(from, &env, &s, &size), AECS_OK);
    assert_string_equal(s, box);
    free(s);
    expect_rc(aecs_unseal_box_serialize("FEDCBA9876543210FEDCBA9876543210", &env, &s, &size),
              AECS_E_INVALID_ARGUMENT);
    aecs_envelope_clear(&env);
    /* an empty ciphertext, a missing sender */
    expect_rc(aecs_unseal_box_parse(box_empty, strlen(box_empty), from, &env), AECS_E_FORMAT);
    assert_msg_has("ciphertext");
    expect_rc(aecs_unseal_box_parse("{\"envelope\":{}}", 15, from, &env), AECS_E_FORMAT);
    assert_msg_has("from");
}

/* ---- admin init and unseal, sealed to the identity key (section 7) ---- */

static void test_admin_bindings(void **state)
{
    struct aecs_admin_share_binding b;
    uint8_t want[32];

    (void)state;
    tu_hex(V_ADMIN_SHARE_NONCE, want, sizeof(want));
    expect_rc(aecs_admin_share_binding(V_SID, &b), AECS_OK);
    assert_memory_equal(b.nonce, want, 32);
    assert_ptr_equal(b.b.nonce, b.nonce);
    assert_string_equal(b.b.service, V_SID);
    assert_string_equal(b.b.name, "unseal");
    assert_string_equal(b.b.type, "AECS_ADMIN_SHARE_V1");
    expect_rc(aecs_admin_share_binding("0123456789ABCDEF0123456789abcdef", &b),
              AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_admin_share_binding("0123", &b), AECS_E_INVALID_ARGUMENT);

    tu_hex(V_INIT_SHARE_NONCE, want, sizeof(want));
    expect_rc(aecs_init_share_binding(V_SID, 2, g_nonce, &b), AECS_OK);
    assert_memory_equal(b.nonce, want, 32);
    assert_string_equal(b.b.service, V_SID);
    assert_string_equal(b.b.name, "share-2");
    assert_string_equal(b.b.type, "AECS_INIT_SHARE_V1");
    /* another index, another nonce: another envelope nonce */
    expect_rc(aecs_init_share_binding(V_SID, 3, g_nonce, &b), AECS_OK);
    assert_memory_not_equal(b.nonce, want, 32);
    expect_rc(aecs_init_share_binding(V_SID, 0, g_nonce, &b), AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_init_share_binding(V_SID, 17, g_nonce, &b), AECS_E_INVALID_ARGUMENT);
    expect_rc(aecs_init_share_binding(V_SID, 1, NULL, &b), AECS_E_INVALID_ARGUMENT);
}

static void test_init_answer(void **state)
{
    struct aecs_init_answer *a = NULL;
    struct aecs_p256_pub *signer = NULL;
    uint8_t signer_pub[65], out[AECS_ANSWER_SIGNED_MAX];
    size_t size = 0;
    char *s = NULL, *bad;

    (void)state;
    /* the signed string: 149 bytes, label, nonce, share key, body hash */
    expect_signed(AECS_ANSWER_INIT, g_client_pub, V_INIT, V_INIT_SIGNED);
    expect_rc(aecs_answer_signed_bytes(AECS_ANSWER_INIT, g_nonce, NULL, "", 0, out, &size),
              AECS_E_INVALID_ARGUMENT);
    /* openssl's signature verifies; not as another kind, nor for another share key */
    tu_hex(V_INIT_SIGNER, signer_pub, sizeof(signer_pub));
    expect_rc(aecs_p256_pub_import(signer_pub, sizeof(signer_pub), &signer), AECS_OK);
    expect_rc(aecs_answer_verify(signer, AECS_ANSWER_INIT, g_nonce, g_client_pub, V_INIT,
                                 strlen(V_INIT), V_INIT_SIG, strlen(V_INIT_SIG)),
              AECS_OK);
    expect_rc(aecs_answer_verify(signer, AECS_ANSWER_JOIN, g_nonce, g_client_pub, V_INIT,
                                 strlen(V_INIT), V_INIT_SIG, strlen(V_INIT_SIG)),
              AECS_E_BAD_SIGNATURE);
    expect_rc(aecs_answer_verify(signer, AECS_ANSWER_INIT, g_nonce, g_ident_pub, V_INIT,
                                 strlen(V_INIT), V_INIT_SIG, strlen(V_INIT_SIG)),
              AECS_E_BAD_SIGNATURE);
    aecs_p256_pub_free(signer);

    expect_rc(aecs_init_answer_parse(V_INIT, strlen(V_INIT), &a), AECS_OK);
    assert_string_equal(a->id, V_SID);
    assert_string_equal(a->admin, V_ADMIN_ID);
    assert_int_equal(a->threshold, 2);
    assert_int_equal(a->count, 2);
    assert_int_equal(a->shares[1].size, 3);
    assert_memory_equal(a->shares[1].ciphertext, "\x00\x01\x02", 3);
    expect_rc(aecs_init_answer_serialize(a, &s, &size), AECS_OK);
    assert_string_equal(s, V_INIT);
    free(s);
    a->threshold = 3;
    expect_rc(aecs_init_answer_serialize(a, &s, &size), AECS_E_INVALID_ARGUMENT);
    aecs_init_answer_free(a);
    a = NULL;

    /* shares out of order, a threshold above the count, an upper-case id, a share in clear */
    bad = strdup(V_INIT);
    assert_non_null(bad);
    strstr(bad, "\"index\":1")[8] = '2';
    expect_rc(aecs_init_answer_parse(bad, strlen(bad), &a), AECS_E_FORMAT);
    assert_msg_has("shares[0]: \"index\" must be 1");
    free(bad);
    bad = strdup(V_INIT);
    strstr(bad, "\"threshold\":2")[12] = '3';
    expect_rc(aecs_init_answer_parse(bad, strlen(bad), &a), AECS_E_FORMAT);
    assert_msg_has("\"threshold\" must be an integer from 2 to the number of shares");
    free(bad);
    bad = strdup(V_INIT);
    memcpy(strstr(bad, V_SID), "0123456789ABCDEF", 16);
    expect_rc(aecs_init_answer_parse(bad, strlen(bad), &a), AECS_E_FORMAT);
    assert_msg_has("\"id\" must be 32 lowercase hex characters");
    free(bad);
    {
        static const char clear[] = "{\"id\":\"" V_SID "\",\"admin\":\"" V_ADMIN_ID
                                    "\",\"threshold\":2,\"shares\":[\"aecs-share-v1:x\","
                                    "\"aecs-share-v1:y\"]}";
        expect_rc(aecs_init_answer_parse(clear, strlen(clear), &a), AECS_E_FORMAT);
        assert_msg_has("shares[0]: must be an object");
    }
    expect_rc(aecs_init_answer_parse("{\"shares\":[]}", 13, &a), AECS_E_FORMAT);
    assert_null(a);
}

static void test_unseal_request(void **state)
{
    static const char sealed[] = "{\"share_sealed\":" V_ENV "}";
    static const char reset[] = "{\"reset\":true,\"share_sealed\":" V_ENV "}";
    static const char reset_last[] = "{\"share_sealed\":" V_ENV ",\"reset\":true}";
    static const char reset_false[] = "{\"reset\":false,\"share_sealed\":" V_ENV "}";
    static const char reset_extra[] =
        "{\"reset\":true,\"share_sealed\":" V_ENV ",\"share\":\"aecs-share-v1:x\"}";
    static const char reset_other[] = "{\"reset\":true,\"share_sealed\":" V_ENV ",\"nonce\":1}";
    static const char reset_empty[] = "{\"reset\":true,\"share_sealed\":{}}";
    struct aecs_unseal_request ur;
    char *s = NULL;
    size_t size = 0;

    (void)state;
    expect_rc(aecs_unseal_request_parse(sealed, strlen(sealed), &ur), AECS_OK);
    assert_int_equal(ur.kind, AECS_UNSEAL_REQUEST_SEALED);
    assert_int_equal(ur.share.size, 3);
    expect_rc(aecs_unseal_request_serialize(&ur, &s, &size), AECS_OK);
    assert_string_equal(s, sealed);
    free(s);
    aecs_envelope_clear(&ur.share);

    /* a reset carries a sealed share, the proof that the caller holds one */
    expect_rc(aecs_unseal_request_parse(reset, strlen(reset), &ur), AECS_OK);
    assert_int_equal(ur.kind, AECS_UNSEAL_REQUEST_RESET);
    assert_int_equal(ur.share.size, 3);
    expect_rc(aecs_unseal_request_serialize(&ur, &s, &size), AECS_OK);
    assert_string_equal(s, reset);
    free(s);
    aecs_envelope_clear(&ur.share);
    expect_rc(aecs_unseal_request_parse(reset_last, strlen(reset_last), &ur), AECS_OK);
    assert_int_equal(ur.kind, AECS_UNSEAL_REQUEST_RESET);
    aecs_envelope_clear(&ur.share);
    /* the old bare reset: refused, it proves nothing */
    expect_rc(aecs_unseal_request_parse("{\"reset\":true}", 14, &ur), AECS_E_FORMAT);
    assert_msg_has("unseal request: a reset must carry a sealed share (\"share_sealed\"), which "
                   "proves that the caller holds one of the service's shares");
    assert_null(ur.share.ciphertext);
    expect_rc(aecs_unseal_request_parse(reset_false, strlen(reset_false), &ur), AECS_E_FORMAT);
    assert_msg_has("\"reset\" must be true");
    expect_rc(aecs_unseal_request_parse(reset_extra, strlen(reset_extra), &ur), AECS_E_FORMAT);
    assert_msg_has("\"share\" (a share in clear) goes alone");
    expect_rc(aecs_unseal_request_parse(reset_other, strlen(reset_other), &ur), AECS_E_FORMAT);
    assert_msg_has("unknown member \"nonce\"");
    expect_rc(aecs_unseal_request_parse(reset_empty, strlen(reset_empty), &ur), AECS_E_FORMAT);
    assert_msg_has("share_sealed: \"epk\"");
    assert_int_equal(ur.kind, 0);
    /* only a sealed share and a reset are sent */
    ur.kind = AECS_UNSEAL_REQUEST_PLAIN;
    expect_rc(aecs_unseal_request_serialize(&ur, &s, &size), AECS_E_INVALID_ARGUMENT);
    assert_null(s);
    /* an old client's share in clear: recognized, and nothing of it kept */
    expect_rc(aecs_unseal_request_parse("{\"share\":\"aecs-share-v1:x\"}", 27, &ur), AECS_OK);
    assert_int_equal(ur.kind, AECS_UNSEAL_REQUEST_PLAIN);
    assert_null(ur.share.ciphertext);

    expect_rc(aecs_unseal_request_parse("{\"reset\":1}", 11, &ur), AECS_E_FORMAT);
    assert_msg_has("\"reset\" must be true");
    expect_rc(aecs_unseal_request_parse("{}", 2, &ur), AECS_E_FORMAT);
    assert_msg_has("must hold \"share_sealed\" (and \"reset\": true for a reset)");
    expect_rc(aecs_unseal_request_parse("{\"reset\":true,\"share\":\"x\"}", 26, &ur),
              AECS_E_FORMAT);
    assert_msg_has("\"share\" (a share in clear) goes alone");
    expect_rc(aecs_unseal_request_parse("{\"sealed\":1}", 12, &ur), AECS_E_FORMAT);
    assert_msg_has("unknown member \"sealed\"");
    /* not jansson's text, which would quote the body */
    expect_rc(aecs_unseal_request_parse("{\"share\": aecs-share-v1:secret}", 31, &ur),
              AECS_E_FORMAT);
    assert_null(strstr(MSG(), "secret"));
    {
        char big[AECS_UNSEAL_REQUEST_MAX + 2];
        memset(big, ' ', sizeof(big));
        expect_rc(aecs_unseal_request_parse(big, sizeof(big), &ur), AECS_E_TOO_LARGE);
    }
    {
        /* an empty ciphertext carries no share */
        static const char empty[] = "{\"share_sealed\":{\"epk\":\"" V_EPH_PUB
                                    "\",\"iv\":\"dadda3de6a335b6a442d0af8\",\"ciphertext\":\"\","
                                    "\"tag\":\"8f8cf4457df444f55a7dfa5d624ca25f\"}}";
        expect_rc(aecs_unseal_request_parse(empty, strlen(empty), &ur), AECS_E_FORMAT);
        assert_msg_has("the ciphertext must hold 1 to 256 bytes");
    }
}

static void test_pubkey_parse(void **state)
{
    uint8_t out[65];
    char upper[131];

    (void)state;
    expect_rc(aecs_release_pubkey_parse(V_CLIENT_PUB, strlen(V_CLIENT_PUB), out), AECS_OK);
    assert_memory_equal(out, g_client_pub, 65);
    snprintf(upper, sizeof(upper), "%s", V_CLIENT_PUB);
    upper[2] = 'E';
    expect_rc(aecs_release_pubkey_parse(upper, strlen(upper), out), AECS_E_FORMAT);
    expect_rc(aecs_release_pubkey_parse(V_CLIENT_PUB, 128, out), AECS_E_FORMAT);
    /* right form, off the curve */
    upper[2] = 'e';
    upper[129] = upper[129] == '9' ? '8' : '9';
    expect_rc(aecs_release_pubkey_parse(upper, strlen(upper), out), AECS_E_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bindings_match_sha512sum),
        cmocka_unit_test(test_signed_bytes_match_printf),
        cmocka_unit_test(test_openssl_answer_signatures_verify),
        cmocka_unit_test(test_sign_round_trip),
        cmocka_unit_test(test_nonce_parse),
        cmocka_unit_test(test_challenge_messages),
        cmocka_unit_test(test_release_request_by_hand),
        cmocka_unit_test(test_release_request_refusals),
        cmocka_unit_test(test_release_request_limits),
        cmocka_unit_test(test_release_request_serialize_refuses),
        cmocka_unit_test(test_release_answer_vector_end_to_end),
        cmocka_unit_test(test_release_answer_refusals),
        cmocka_unit_test(test_release_answer_serialize_refuses),
        cmocka_unit_test(test_identity_answer),
        cmocka_unit_test(test_public_answer),
        cmocka_unit_test(test_join_messages),
        cmocka_unit_test(test_unseal_bindings),
        cmocka_unit_test(test_unseal_messages),
        cmocka_unit_test(test_admin_bindings),
        cmocka_unit_test(test_init_answer),
        cmocka_unit_test(test_unseal_request),
        cmocka_unit_test(test_pubkey_parse),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
