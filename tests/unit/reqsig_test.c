/*
 * reqsig_test.c - the signed string of admin requests (src/proto/reqsig.c).
 *
 * The expected strings are written out by hand from docs/api.md ("Signed
 * admin requests"): seven lines each ended by \n, then the key id without a
 * final newline. Body hashes are `printf '%s' BODY | sha256sum`. Every
 * refusal is checked with its exact code and message.
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
#include "proto/reqsig.h"

#define MSG() (aecs_err_last()->message)

#define SERVICE_ID "0123456789abcdef0123456789abcdef"
#define NONCE "00112233445566778899aabbccddeeff"
#define KEY_ID "0af213ca5258b339c2d66355a52123edfbcc167faea8237c0a2b29489c834a29"
#define BODY "{\"name\":\"payments\",\"pubkey\":\"x\"}"
/* printf '%s' '{"name":"payments","pubkey":"x"}' | sha256sum */
#define BODY_SHA256 "33b358a597d2367b963e1846596ba557a56b71016738905f0fdcd3735cb4dbd1"
/* printf '' | sha256sum (FIPS 180-4 SHA-256 of the empty string) */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static struct aecs_reqsig_fields base_fields(void)
{
    struct aecs_reqsig_fields f = {
        .method = "POST",
        .target = "/v1/admin/services?force=1",
        .service_id = SERVICE_ID,
        .body = (const uint8_t *)BODY,
        .body_size = sizeof(BODY) - 1,
        .timestamp = 1763812800,
        .nonce = NONCE,
        .key_id = KEY_ID,
    };
    return f;
}

static void assert_canonical(const struct aecs_reqsig_fields *f, const char *expected)
{
    char *s = NULL;
    size_t size = 0;

    if (aecs_reqsig_canonical(f, &s, &size) != AECS_OK)
        fail_msg("refused: %s", MSG());
    assert_non_null(s);
    assert_int_equal(size, strlen(expected));
    assert_memory_equal(s, expected, size);
    assert_int_equal(s[size], '\0');
    free(s);
}

static void expect_refused(const struct aecs_reqsig_fields *f, const char *msg)
{
    char *s = (char *)1;
    size_t size = 99;

    assert_int_equal(aecs_reqsig_canonical(f, &s, &size), AECS_E_INVALID_ARGUMENT);
    assert_null(s);
    assert_int_equal(size, 0);
    if (strcmp(MSG(), msg) != 0)
        fail_msg("message '%s' is not '%s'", MSG(), msg);
}

static void test_post_with_body(void **state)
{
    struct aecs_reqsig_fields f = base_fields();

    (void)state;
    assert_canonical(&f, "aecs-request-v1\n"
                         "POST\n"
                         "/v1/admin/services?force=1\n"
                         "0123456789abcdef0123456789abcdef\n"
                         "33b358a597d2367b963e1846596ba557a56b71016738905f0fdcd3735cb4dbd1\n"
                         "1763812800\n"
                         "00112233445566778899aabbccddeeff\n"
                         "0af213ca5258b339c2d66355a52123edfbcc167faea8237c0a2b29489c834a29");
    /* The exact length: 7 lines and the 64-character key id. */
    char *s = NULL;
    size_t size = 0;
    assert_int_equal(aecs_reqsig_canonical(&f, &s, &size), AECS_OK);
    assert_int_equal(size, 16 + 5 + 27 + 33 + 65 + 11 + 33 + 64);
    free(s);
}

static void test_no_body(void **state)
{
    struct aecs_reqsig_fields f = base_fields();

    (void)state;
    f.method = "GET";
    f.target = "/v1/admin/audit?from=5&limit=100";
    f.body = NULL;
    f.body_size = 0;
    f.timestamp = 0;
    assert_canonical(&f, "aecs-request-v1\nGET\n/v1/admin/audit?from=5&limit=100\n" SERVICE_ID
                         "\n" EMPTY_SHA256 "\n0\n" NONCE "\n" KEY_ID);
    /* a body pointer with size 0 is the empty body too */
    f.method = "DELETE";
    f.target = "/v1/services/payments/secrets/db-key";
    f.body = (const uint8_t *)"ignored";
    f.timestamp = 9223372036854775807LL;
    assert_canonical(&f,
                     "aecs-request-v1\nDELETE\n/v1/services/payments/secrets/db-key\n" SERVICE_ID
                     "\n" EMPTY_SHA256 "\n9223372036854775807\n" NONCE "\n" KEY_ID);
}

/* The body is hashed as bytes: a NUL inside counts. */
/* An init is signed before the service has an id (it is made from the root key): an empty line. */
static void test_init_no_service_id(void **state)
{
    struct aecs_reqsig_fields f = base_fields();

    (void)state;
    f.target = "/v1/admin/init";
    f.service_id = "";
    assert_canonical(&f, "aecs-request-v1\nPOST\n/v1/admin/init\n\n" BODY_SHA256
                         "\n1763812800\n" NONCE "\n" KEY_ID);
}

static void test_body_bytes(void **state)
{
    struct aecs_reqsig_fields f = base_fields();
    static const uint8_t abc[] = {'a', 'b', 'c'};

    (void)state;
    f.body = abc;
    f.body_size = sizeof(abc);
    /* FIPS 180-2 appendix B.1: SHA-256("abc") */
    assert_canonical(&f, "aecs-request-v1\nPOST\n/v1/admin/services?force=1\n" SERVICE_ID "\n"
                         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
                         "1763812800\n" NONCE "\n" KEY_ID);
}

static void test_refusals(void **state)
{
    struct aecs_reqsig_fields f;

    (void)state;
    expect_refused(NULL, "reqsig: no fields given");

    f = base_fields();
    f.method = NULL;
    expect_refused(&f, "reqsig: no method given");
    f.method = "";
    expect_refused(&f, "reqsig: method must be 1 to 16 upper-case letters");
    f.method = "post";
    expect_refused(&f, "reqsig: method must be upper-case letters (GET, POST, DELETE)");
    f.method = "PO ST";
    expect_refused(&f, "reqsig: method must be upper-case letters (GET, POST, DELETE)");
    f.method = "POST\n";
    expect_refused(&f, "reqsig: method must be upper-case letters (GET, POST, DELETE)");
    f.method = "ABCDEFGHIJKLMNOPQ";
    expect_refused(&f, "reqsig: method must be 1 to 16 upper-case letters");

    f = base_fields();
    f.target = NULL;
    expect_refused(&f, "reqsig: no target given");
    f.target = "";
    expect_refused(&f, "reqsig: target must start with '/' (the path and query as sent)");
    f.target = "v1/status";
    expect_refused(&f, "reqsig: target must start with '/' (the path and query as sent)");
    f.target = "https://host/v1/status";
    expect_refused(&f, "reqsig: target must start with '/' (the path and query as sent)");
    f.target = "/v1/a b";
    expect_refused(&f, "reqsig: target holds a space, a control character or a non-ASCII byte "
                       "at offset 5");
    f.target = "/v1/a\nb";
    expect_refused(&f, "reqsig: target holds a space, a control character or a non-ASCII byte "
                       "at offset 5");
    f.target = "/v1/\ta";
    expect_refused(&f, "reqsig: target holds a space, a control character or a non-ASCII byte "
                       "at offset 4");
    f.target = "/\x7f";
    expect_refused(&f, "reqsig: target holds a space, a control character or a non-ASCII byte "
                       "at offset 1");
    f.target = "/caf\xc3\xa9";
    expect_refused(&f, "reqsig: target holds a space, a control character or a non-ASCII byte "
                       "at offset 4");

    f = base_fields();
    f.service_id = NULL;
    expect_refused(&f, "reqsig: no service id given");
    f.service_id = "0123456789abcdef0123456789abcde";
    expect_refused(&f, "reqsig: service id must be 32 lowercase hex digits (got 31 characters)");
    f.service_id = "0123456789abcdef0123456789abcdef0";
    expect_refused(
        &f, "reqsig: service id must be 32 lowercase hex digits (got more than 32 characters)");
    f.service_id = "0123456789ABCDEF0123456789abcdef";
    expect_refused(&f, "reqsig: service id must be 32 lowercase hex digits (character 11 is not "
                       "one)");
    f.service_id = "0123456789abcdef0123456789abcdeg";
    expect_refused(&f, "reqsig: service id must be 32 lowercase hex digits (character 32 is not "
                       "one)");

    f = base_fields();
    f.body = NULL;
    expect_refused(&f, "reqsig: body of 32 bytes given without its bytes");

    f = base_fields();
    f.timestamp = -1;
    expect_refused(&f, "reqsig: timestamp is negative");

    f = base_fields();
    f.nonce = NULL;
    expect_refused(&f, "reqsig: no nonce given");
    f.nonce = "";
    expect_refused(&f, "reqsig: nonce must be 32 lowercase hex digits (got 0 characters)");
    f.nonce = "00112233445566778899aabbccddeef";
    expect_refused(&f, "reqsig: nonce must be 32 lowercase hex digits (got 31 characters)");
    f.nonce = "00112233445566778899aabbccddeeff\n";
    expect_refused(&f,
                   "reqsig: nonce must be 32 lowercase hex digits (got more than 32 characters)");
    f.nonce = "0011223344556677 8899aabbccddeeff";
    expect_refused(&f,
                   "reqsig: nonce must be 32 lowercase hex digits (got more than 32 characters)");
    f.nonce = "00112233445566778899aabbccddeeFF";
    expect_refused(&f, "reqsig: nonce must be 32 lowercase hex digits (character 31 is not one)");

    f = base_fields();
    f.key_id = NULL;
    expect_refused(&f, "reqsig: no key id given");
    f.key_id = SERVICE_ID;
    expect_refused(&f, "reqsig: key id must be 64 lowercase hex digits (got 32 characters)");
    f.key_id = "0af213ca5258b339c2d66355a52123edfbcc167faea8237c0a2b29489c834a2Z";
    expect_refused(&f, "reqsig: key id must be 64 lowercase hex digits (character 64 is not one)");
}

static void test_check_hex(void **state)
{
    (void)state;
    assert_int_equal(aecs_reqsig_check_hex("00ff", 4, "x"), AECS_OK);
    assert_int_equal(aecs_reqsig_check_hex("", 0, "x"), AECS_OK);
    assert_int_equal(aecs_reqsig_check_hex("00fF", 4, "thing"), AECS_E_INVALID_ARGUMENT);
    assert_string_equal(MSG(),
                        "reqsig: thing must be 4 lowercase hex digits (character 4 is not one)");
    assert_int_equal(aecs_reqsig_check_hex("00f", 4, "thing"), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_reqsig_check_hex("00fff", 4, "thing"), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_reqsig_check_hex(NULL, 4, "thing"), AECS_E_INVALID_ARGUMENT);
    assert_string_equal(MSG(), "reqsig: no thing given");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_with_body), cmocka_unit_test(test_no_body),
        cmocka_unit_test(test_body_bytes),     cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_check_hex),      cmocka_unit_test(test_init_no_service_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
