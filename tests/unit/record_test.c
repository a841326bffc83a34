/*
 * record_test.c - sealed records (src/keystore/record.c over src/crypto/kek.c).
 *
 * Expected values come from outside the code under test: the record key of a
 * fixed KEK and path was derived with `openssl kdf ... HKDF` (below), and a
 * sealed record's ciphertext is decrypted at test time by `openssl enc
 * -aes-256-ctr` (GCM encrypts with AES-CTR from counter block nonce||00000002,
 * NIST SP 800-38D), so the layout, the key derivation and the encryption are
 * all checked against OpenSSL's command line. Refusals (every byte region
 * tampered, swapped path, version, type, KEK) are checked with their exact
 * error codes, and no message may contain any of the plaintext.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "crypto/kek.h"
#include "crypto/secmem.h"
#include "keystore/record.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

#define PATH "services/svc1/secrets/db"
#define PLAIN "TOP-SECRET-PLAINTEXT: the database password is hunter2"

/*
 * KEK = 00 01 .. 1f; record key for PATH:
 *   openssl kdf -keylen 32 -kdfopt digest:SHA256 \
 *     -kdfopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
 *     -kdfopt hexinfo:$(printf 'aecs-record-v1\0services/svc1/secrets/db' | xxd -p) HKDF
 */
static const char *const RECORD_KEY_HEX =
    "2D7F299CB651A7B9257A4C3B1703CB44CC1A871E0487F7038B534165C675994B";
/* The same command with -kdfopt info:hello. */
static const char *const HELLO_KEY_HEX =
    "9DCA03902AF8A0F7A5E7FCC928D1250E93C15ADCF72ADA6C95EF6F8B687EFBAB";

static struct aecs_kek *fixed_kek(uint8_t first)
{
    uint8_t bytes[32];
    struct aecs_kek *kek = NULL;

    for (int i = 0; i < 32; i++)
        bytes[i] = (uint8_t)i;
    bytes[0] = first;
    assert_int_equal(aecs_kek_from_bytes(bytes, &kek), AECS_OK);
    return kek;
}

static void assert_msg_has(const char *needle)
{
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", MSG(), needle);
}

static void assert_msg_is(const char *expected)
{
    if (strcmp(MSG(), expected) != 0)
        fail_msg("message '%s' is not '%s'", MSG(), expected);
}

/* No part of PLAIN (any 6 consecutive characters) appears in the last message. */
static void assert_msg_has_no_plaintext(void)
{
    static const char plain[] = PLAIN;
    char piece[7];

    for (size_t i = 0; i + 6 <= strlen(plain); i++) {
        memcpy(piece, &plain[i], 6);
        piece[6] = '\0';
        if (strstr(MSG(), piece) != NULL)
            fail_msg("message '%s' contains plaintext '%s'", MSG(), piece);
    }
}

static void seal_plain(const struct aecs_kek *kek, uint64_t version, uint8_t **sealed, size_t *size)
{
    assert_int_equal(aecs_record_seal(kek, PATH, "secret", version, (const uint8_t *)PLAIN,
                                      strlen(PLAIN), sealed, size),
                     AECS_OK);
}

/* ---- derivation and layout against OpenSSL ---- */

static void test_derive_matches_openssl(void **state)
{
    struct aecs_kek *kek = fixed_kek(0);
    uint8_t expected[32];
    uint8_t got[32];
    static const char info[] = "aecs-record-v1\0" PATH;

    (void)state;
    tu_hex(HELLO_KEY_HEX, expected, 32);
    assert_int_equal(aecs_kek_derive(kek, "hello", 5, got, 32), AECS_OK);
    assert_memory_equal(got, expected, 32);
    tu_hex(RECORD_KEY_HEX, expected, 32);
    assert_int_equal(aecs_kek_derive(kek, info, sizeof(info) - 1, got, 32), AECS_OK);
    assert_memory_equal(got, expected, 32);
    assert_int_equal(aecs_kek_derive(kek, "", 0, got, 32), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_kek_derive(kek, "x", 1, got, 0), AECS_E_INVALID_ARGUMENT);
    aecs_kek_free(kek);
}

static void test_layout_and_ciphertext_match_openssl(void **state)
{
    struct aecs_kek *kek = fixed_kek(0);
    uint8_t *sealed = NULL;
    size_t size = 0;
    size_t n = strlen(PLAIN);
    char dir[64];
    char in[128];
    char out[128];
    char iv[33];
    char cmd[512];
    uint8_t *pt;
    size_t pt_size = 0;

    (void)state;
    seal_plain(kek, 0x0102030405060708ull, &sealed, &size);
    assert_int_equal(size, 1 + 8 + 12 + n + 16);
    assert_int_equal(sealed[0], 0x01);
    for (int i = 0; i < 8; i++)
        assert_int_equal(sealed[1 + i], i + 1); /* version, big-endian */
    assert_null(memmem(sealed, size, PLAIN, 6));

    /* AES-256-CTR from nonce || 00000002 with the OpenSSL-derived key gives PLAIN back. */
    tu_mkdtemp(dir, sizeof(dir));
    snprintf(in, sizeof(in), "%s/ct", dir);
    snprintf(out, sizeof(out), "%s/pt", dir);
    tu_write_file(in, sealed + 21, n);
    tu_hex_encode(sealed + 9, 12, iv);
    strcat(iv, "00000002");
    snprintf(cmd, sizeof(cmd), "openssl enc -d -aes-256-ctr -K %s -iv %s -in '%s' -out '%s'",
             RECORD_KEY_HEX, iv, in, out);
    assert_int_equal(system(cmd), 0);
    pt = tu_read_file(out, &pt_size);
    assert_int_equal(pt_size, n);
    assert_memory_equal(pt, PLAIN, n);
    free(pt);
    tu_rmtree(dir);

    {
        uint64_t v = 0;

        assert_int_equal(aecs_record_peek_version(sealed, size, &v), AECS_OK);
        assert_true(v == 0x0102030405060708ull);
    }
    free(sealed);
    aecs_kek_free(kek);
}

/* ---- round trips ---- */

static void test_round_trip(void **state)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 4096, 70000};
    struct aecs_kek *kek = NULL;

    (void)state;
    assert_int_equal(aecs_kek_generate(&kek), AECS_OK);
    for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
        size_t n = sizes[t];
        uint8_t *value = malloc(n + 1);
        uint8_t *sealed = NULL;
        uint8_t *plain = NULL;
        size_t sealed_size = 0;
        size_t plain_size = 1;

        for (size_t i = 0; i < n; i++)
            value[i] = (uint8_t)(i * 7 + t);
        assert_int_equal(
            aecs_record_seal(kek, "a/b", "meta", t, n ? value : NULL, n, &sealed, &sealed_size),
            AECS_OK);
        assert_int_equal(sealed_size, n + AECS_RECORD_OVERHEAD);
        assert_int_equal(
            aecs_record_open(kek, "a/b", "meta", t, sealed, sealed_size, &plain, &plain_size),
            AECS_OK);
        assert_int_equal(plain_size, n);
        assert_non_null(plain);
        if (n > 0)
            assert_memory_equal(plain, value, n);
        assert_int_equal(plain[n], 0); /* NUL after the value */
        aecs_record_value_free(plain, plain_size);
        free(sealed);
        free(value);
    }
    aecs_kek_free(kek);
}

static void test_nonce_is_fresh(void **state)
{
    struct aecs_kek *kek = fixed_kek(0);
    uint8_t *a = NULL;
    uint8_t *b = NULL;
    size_t as = 0;
    size_t bs = 0;

    (void)state;
    seal_plain(kek, 1, &a, &as);
    seal_plain(kek, 1, &b, &bs);
    assert_int_equal(as, bs);
    assert_memory_not_equal(a + 9, b + 9, 12);
    assert_memory_not_equal(a + 21, b + 21, as - 21);
    free(a);
    free(b);
    aecs_kek_free(kek);
}

/* ---- refusals ---- */

static void expect_open_fails(const struct aecs_kek *kek, const char *path, const char *type,
                              uint64_t version, const uint8_t *sealed, size_t size, int code)
{
    uint8_t *plain = (uint8_t *)1;
    size_t plain_size = 1;

    assert_int_equal(aecs_record_open(kek, path, type, version, sealed, size, &plain, &plain_size),
                     code);
    assert_null(plain);
    assert_int_equal(plain_size, 0);
    assert_msg_has_no_plaintext();
}

static void test_every_tampered_byte_refused(void **state)
{
    struct aecs_kek *kek = fixed_kek(0);
    uint8_t *sealed = NULL;
    size_t size = 0;

    (void)state;
    seal_plain(kek, 7, &sealed, &size);
    for (size_t i = 0; i < size; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            uint8_t *copy = malloc(size);

            memcpy(copy, sealed, size);
            copy[i] ^= (uint8_t)(1u << bit);
            if (i == 0) {
                expect_open_fails(kek, PATH, "secret", 7, copy, size, AECS_E_UNSUPPORTED);
                assert_msg_has("format 0x");
            } else if (i < 9) {
                expect_open_fails(kek, PATH, "secret", 7, copy, size, AECS_E_BAD_SIGNATURE);
                assert_msg_has("expected 7 (an older or newer copy, or a modified header)");
            } else {
                /* nonce, ciphertext, tag */
                expect_open_fails(kek, PATH, "secret", 7, copy, size, AECS_E_BAD_SIGNATURE);
                assert_msg_is("record " PATH " (secret, version 7) does not authenticate: "
                              "sealed under another key, path or type, or modified");
            }
            free(copy);
        }
    }
    free(sealed);
    aecs_kek_free(kek);
}

static void test_truncated_and_extended_refused(void **state)
{
    struct aecs_kek *kek = fixed_kek(0);
    uint8_t *sealed = NULL;
    uint8_t *longer;
    size_t size = 0;

    (void)state;
    seal_plain(kek, 1, &sealed, &size);
    for (size_t n = 0; n < AECS_RECORD_OVERHEAD; n++)
        expect_open_fails(kek, PATH, "secret", 1, sealed, n, AECS_E_TRUNCATED);
    assert_msg_is("record " PATH ": sealed record of 36 bytes: at least 37 expected");
    /* Any cut that leaves the header: the tag moves and no longer verifies. */
    for (size_t n = AECS_RECORD_OVERHEAD; n < size; n++)
        expect_open_fails(kek, PATH, "secret", 1, sealed, n, AECS_E_BAD_SIGNATURE);
    longer = malloc(size + 1);
    memcpy(longer, sealed, size);
    longer[size] = 0;
    expect_open_fails(kek, PATH, "secret", 1, longer, size + 1, AECS_E_BAD_SIGNATURE);
    free(longer);
    free(sealed);
    aecs_kek_free(kek);
}

static void test_swapped_path_type_version_kek_refused(void **state)
{
    struct aecs_kek *kek = fixed_kek(0);
    struct aecs_kek *other = fixed_kek(0xff);
    uint8_t *sealed = NULL;
    uint8_t *older = NULL;
    size_t size = 0;
    size_t older_size = 0;

    (void)state;
    seal_plain(kek, 5, &sealed, &size);

    /* Moved to another secret's path (a rename or a swap in storage). */
    expect_open_fails(kek, "services/svc1/secrets/other", "secret", 5, sealed, size,
                      AECS_E_BAD_SIGNATURE);
    assert_msg_is("record services/svc1/secrets/other (secret, version 5) does not authenticate: "
                  "sealed under another key, path or type, or modified");
    expect_open_fails(kek, "services/svc2/secrets/db", "secret", 5, sealed, size,
                      AECS_E_BAD_SIGNATURE);

    /* Read as another type. */
    expect_open_fails(kek, PATH, "admin", 5, sealed, size, AECS_E_BAD_SIGNATURE);
    assert_msg_is("record " PATH " (admin, version 5) does not authenticate: "
                  "sealed under another key, path or type, or modified");

    /* An older copy put back where version 6 is expected (single-record rollback). */
    expect_open_fails(kek, PATH, "secret", 6, sealed, size, AECS_E_BAD_SIGNATURE);
    assert_msg_is("record " PATH " (secret): holds version 5, expected 6 (an older or newer copy, "
                  "or a modified header)");
    /* ... with its clear version rewritten to 6: the associated data still says 5. */
    seal_plain(kek, 5, &older, &older_size);
    older[8] = 6;
    expect_open_fails(kek, PATH, "secret", 6, older, older_size, AECS_E_BAD_SIGNATURE);
    assert_msg_has("does not authenticate");

    /* Another store's KEK. */
    expect_open_fails(other, PATH, "secret", 5, sealed, size, AECS_E_BAD_SIGNATURE);
    assert_msg_has("does not authenticate");

    /* And the genuine one still opens. */
    {
        uint8_t *plain = NULL;
        size_t plain_size = 0;

        assert_int_equal(
            aecs_record_open(kek, PATH, "secret", 5, sealed, size, &plain, &plain_size), AECS_OK);
        assert_int_equal(plain_size, strlen(PLAIN));
        assert_memory_equal(plain, PLAIN, plain_size);
        aecs_record_value_free(plain, plain_size);
    }
    free(older);
    free(sealed);
    aecs_kek_free(other);
    aecs_kek_free(kek);
}

static void test_format_version_refused(void **state)
{
    struct aecs_kek *kek = fixed_kek(0);
    uint8_t *sealed = NULL;
    size_t size = 0;
    uint64_t v = 1;

    (void)state;
    seal_plain(kek, 1, &sealed, &size);
    sealed[0] = 0x02;
    expect_open_fails(kek, PATH, "secret", 1, sealed, size, AECS_E_UNSUPPORTED);
    assert_msg_is("record " PATH
                  ": sealed record format 0x02 is not supported (this build reads 0x01)");
    assert_int_equal(aecs_record_peek_version(sealed, size, &v), AECS_E_UNSUPPORTED);
    assert_true(v == 0);
    free(sealed);
    aecs_kek_free(kek);
}

static void test_bad_names_and_sizes(void **state)
{
    struct aecs_kek *kek = fixed_kek(0);
    uint8_t *sealed = NULL;
    size_t size = 0;
    char path[AECS_RECORD_MAX_PATH + 2];
    uint8_t *big;

    (void)state;
    assert_int_equal(
        aecs_record_seal(kek, "", "secret", 1, (const uint8_t *)"x", 1, &sealed, &size),
        AECS_E_INVALID_ARGUMENT);
    assert_msg_is("record path of 0 bytes (1..512)");
    assert_int_equal(
        aecs_record_seal(kek, "a/b\n", "secret", 1, (const uint8_t *)"x", 1, &sealed, &size),
        AECS_E_INVALID_ARGUMENT);
    assert_msg_is("record path has a control character at byte 3");
    assert_int_equal(
        aecs_record_seal(kek, "a", "Secret", 1, (const uint8_t *)"x", 1, &sealed, &size),
        AECS_E_INVALID_ARGUMENT);
    assert_msg_is("record type 'Secret': only a-z, 0-9, '_' and '-'");
    assert_int_equal(aecs_record_seal(kek, "a", "", 1, (const uint8_t *)"x", 1, &sealed, &size),
                     AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_record_seal(kek, "a", "secret", 1, NULL, 1, &sealed, &size),
                     AECS_E_INVALID_ARGUMENT);
    assert_null(sealed);

    /* The longest path works (its HKDF info fits OpenSSL's limit); one more byte does not. */
    memset(path, 'p', sizeof(path));
    path[AECS_RECORD_MAX_PATH] = '\0';
    assert_int_equal(
        aecs_record_seal(kek, path, "secret", 1, (const uint8_t *)"x", 1, &sealed, &size), AECS_OK);
    {
        uint8_t *plain = NULL;
        size_t plain_size = 0;

        assert_int_equal(
            aecs_record_open(kek, path, "secret", 1, sealed, size, &plain, &plain_size), AECS_OK);
        aecs_record_value_free(plain, plain_size);
    }
    free(sealed);
    sealed = NULL;
    path[AECS_RECORD_MAX_PATH] = 'p';
    path[AECS_RECORD_MAX_PATH + 1] = '\0';
    assert_int_equal(
        aecs_record_seal(kek, path, "secret", 1, (const uint8_t *)"x", 1, &sealed, &size),
        AECS_E_INVALID_ARGUMENT);

    /* Values: the largest fits (and opens, from the ordinary heap: it exceeds the secure one). */
    big = calloc(1, AECS_RECORD_MAX_VALUE + 1);
    assert_int_equal(
        aecs_record_seal(kek, "a", "secret", 1, big, AECS_RECORD_MAX_VALUE + 1, &sealed, &size),
        AECS_E_TOO_LARGE);
    assert_int_equal(
        aecs_record_seal(kek, "a", "secret", 1, big, AECS_RECORD_MAX_VALUE, &sealed, &size),
        AECS_OK);
    {
        uint8_t *plain = NULL;
        size_t plain_size = 0;

        assert_int_equal(aecs_record_open(kek, "a", "secret", 1, sealed, size, &plain, &plain_size),
                         AECS_OK);
        assert_int_equal(plain_size, AECS_RECORD_MAX_VALUE);
        assert_memory_equal(plain, big, plain_size);
        aecs_record_value_free(plain, plain_size);
    }
    free(sealed);
    free(big);
    aecs_record_value_free(NULL, 0);
    aecs_kek_free(kek);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_matches_openssl),
        cmocka_unit_test(test_layout_and_ciphertext_match_openssl),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_nonce_is_fresh),
        cmocka_unit_test(test_every_tampered_byte_refused),
        cmocka_unit_test(test_truncated_and_extended_refused),
        cmocka_unit_test(test_swapped_path_type_version_kek_refused),
        cmocka_unit_test(test_format_version_refused),
        cmocka_unit_test(test_bad_names_and_sizes),
    };

    /* Records run with the secure heap set up, as the server will (shares_test runs without). */
    if (aecs_secure_heap_init(1u << 16) != AECS_OK ||
        aecs_secure_heap_state() == AECS_SECURE_HEAP_OFF) {
        fprintf(stderr, "record_test: cannot set up the secure heap\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
