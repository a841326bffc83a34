/*
 * base_test.c - unit tests for src/base: err, reader, codec (hex, base64),
 * timeutil, file and log.
 *
 * Expected values come from outside the code: hand-computed little-endian
 * values, the RFC 4648 base64 test vectors, epoch values computed with GNU
 * `date -u -d <time> +%s`, and what POSIX reports about files (stat()).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/codec.h"
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "base/reader.h"
#include "base/timeutil.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

static void assert_msg_has(const char *needle)
{
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", MSG(), needle);
}

/* ======================================================================== err */

static void test_err_kind_and_name(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *kind;
        const char *name;
    } k[] = {
        {AECS_OK, "ok", "OK"},
        {AECS_E_USAGE, "usage", "E_USAGE"},
        {AECS_E_INVALID_ARGUMENT, "usage", "E_INVALID_ARGUMENT"},
        {AECS_E_IO, "io", "E_IO"},
        {AECS_E_NOT_FOUND, "io", "E_NOT_FOUND"},
        {AECS_E_TOO_LARGE, "io", "E_TOO_LARGE"},
        {AECS_E_FORMAT, "format", "E_FORMAT"},
        {AECS_E_TRUNCATED, "format", "E_TRUNCATED"},
        {AECS_E_TRAILING_DATA, "format", "E_TRAILING_DATA"},
        {AECS_E_UNSUPPORTED, "format", "E_UNSUPPORTED"},
        {AECS_E_ATTESTATION, "attestation", "E_ATTESTATION"},
        {AECS_E_UNTRUSTED, "attestation", "E_UNTRUSTED"},
        {AECS_E_REVOKED, "attestation", "E_REVOKED"},
        {AECS_E_EXPIRED, "attestation", "E_EXPIRED"},
        {AECS_E_MISMATCH, "attestation", "E_MISMATCH"},
        {AECS_E_CRYPTO, "crypto", "E_CRYPTO"},
        {AECS_E_BAD_SIGNATURE, "crypto", "E_BAD_SIGNATURE"},
        {AECS_E_INTERNAL, "internal", "E_INTERNAL"},
        {AECS_E_NO_MEMORY, "internal", "E_NO_MEMORY"},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        assert_string_equal(aecs_err_kind(k[i].code), k[i].kind);
        assert_string_equal(aecs_err_name(k[i].code), k[i].name);
    }
    /* codes nobody defined still get a stable answer */
    assert_string_equal(aecs_err_name(399), "E_UNKNOWN");
}

static int fails_here(void)
{
    return AECS_ERR(AECS_E_TRUNCATED, "quote: field '%s' short by %d", "header.version", 2);
}

static void test_err_set_records_place_and_message(void **state)
{
    (void)state;
    aecs_err_clear();
    assert_int_equal(aecs_err_last()->code, AECS_OK);
    assert_string_equal(MSG(), "");

    int rc = fails_here();
    assert_int_equal(rc, AECS_E_TRUNCATED);
    assert_int_equal(aecs_err_last()->code, AECS_E_TRUNCATED);
    assert_string_equal(MSG(), "quote: field 'header.version' short by 2");
    assert_non_null(aecs_err_last()->file);
    assert_non_null(strstr(aecs_err_last()->file, "base_test.c"));
    assert_true(aecs_err_last()->line > 0);

    aecs_err_clear();
    assert_int_equal(aecs_err_last()->code, AECS_OK);
    assert_string_equal(MSG(), "");
}

static int guard_user(int inner)
{
    GUARD(inner == 0 ? AECS_OK : AECS_ERR(inner, "inner failed"));
    return AECS_OK;
}

static int ensure_user(int ok)
{
    ENSURE(ok, AECS_E_FORMAT, "condition %d did not hold", ok);
    return AECS_OK;
}

static int out_user(int which)
{
    int rc = AECS_OK;
    char *p = malloc(16);

    ENSURE_OUT(p != NULL, AECS_E_NO_MEMORY, "oom");
    if (which == 1)
        BAIL_OUT(AECS_E_MISMATCH, "bail %d", which);
    GUARD_OUT(which == 2 ? AECS_ERR(AECS_E_IO, "io") : AECS_OK);
    ENSURE_OUT(which != 3, AECS_E_EXPIRED, "ensure_out");
out:
    free(p);
    return rc;
}

static void test_err_guard_macros(void **state)
{
    (void)state;
    assert_int_equal(guard_user(0), AECS_OK);
    assert_int_equal(guard_user(AECS_E_REVOKED), AECS_E_REVOKED);
    assert_int_equal(ensure_user(1), AECS_OK);
    assert_int_equal(ensure_user(0), AECS_E_FORMAT);
    assert_string_equal(MSG(), "condition 0 did not hold");
    assert_int_equal(out_user(0), AECS_OK);
    assert_int_equal(out_user(1), AECS_E_MISMATCH);
    assert_int_equal(out_user(2), AECS_E_IO);
    assert_int_equal(out_user(3), AECS_E_EXPIRED);
}

static void test_err_prefix(void **state)
{
    (void)state;
    (void)AECS_ERR(AECS_E_NOT_FOUND, "cannot open %s", "x.pem");
    int line = aecs_err_last()->line;
    aecs_err_prefix("collateral: %s: ", "tcb");
    assert_string_equal(MSG(), "collateral: tcb: cannot open x.pem");
    /* code and place stay */
    assert_int_equal(aecs_err_last()->code, AECS_E_NOT_FOUND);
    assert_int_equal(aecs_err_last()->line, line);
    aecs_err_prefix("outer: ");
    assert_string_equal(MSG(), "outer: collateral: tcb: cannot open x.pem");
}

static void test_err_long_messages_are_cut(void **state)
{
    (void)state;
    char big[2000];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    (void)AECS_ERR(AECS_E_FORMAT, "%s", big);
    assert_int_equal(strlen(MSG()), sizeof(aecs_err_last()->message) - 1);
    aecs_err_prefix("%s", "prefix: ");
    assert_int_equal(strlen(MSG()), sizeof(aecs_err_last()->message) - 1);
    assert_int_equal(strncmp(MSG(), "prefix: aaa", 11), 0);
    /* a prefix longer than the whole slot */
    aecs_err_prefix("%.300s%.300s", big, big);
    assert_int_equal(strlen(MSG()), sizeof(aecs_err_last()->message) - 1);
}

static void *other_thread(void *arg)
{
    (void)arg;
    (void)AECS_ERR(AECS_E_CRYPTO, "from the other thread");
    return NULL;
}

static void test_err_is_thread_local(void **state)
{
    (void)state;
    pthread_t t;

    (void)AECS_ERR(AECS_E_USAGE, "mine");
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(aecs_err_last()->code, AECS_E_USAGE);
    assert_string_equal(MSG(), "mine");
}

/* ===================================================================== reader */

static const uint8_t k_blob[] = {0x01, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0xef, 0xcd, 0xab, 0x89,
                                 0x67, 0x45, 0x23, 0x01, 'a',  'b',  'c',  'd',  0xff, 0xfe};

static void test_reader_reads_each_type(void **state)
{
    (void)state;
    struct aecs_reader r;
    uint8_t u8 = 0;
    uint16_t u16 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    const uint8_t *p = NULL;
    uint8_t copy[2];

    aecs_reader_init(&r, k_blob, sizeof(k_blob), "blob");
    assert_int_equal(aecs_reader_remaining(&r), sizeof(k_blob));
    assert_int_equal(aecs_reader_offset(&r), 0);
    assert_int_equal(aecs_read_u8(&r, "a", &u8), AECS_OK);
    assert_int_equal(u8, 0x01);
    assert_int_equal(aecs_read_u16le(&r, "b", &u16), AECS_OK);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(aecs_read_u32le(&r, "c", &u32), AECS_OK);
    assert_int_equal(u32, 0x12345678u);
    assert_int_equal(aecs_read_u64le(&r, "d", &u64), AECS_OK);
    assert_true(u64 == 0x0123456789abcdefull);
    assert_int_equal(aecs_reader_offset(&r), 15);
    assert_int_equal(aecs_read_bytes(&r, "e", 2, &p), AECS_OK);
    assert_ptr_equal(p, k_blob + 15);
    assert_int_equal(aecs_read_copy(&r, "f", copy, 2), AECS_OK);
    assert_memory_equal(copy, "cd", 2);
    assert_int_equal(aecs_read_skip(&r, "g", 1), AECS_OK);
    assert_int_equal(aecs_reader_remaining(&r), 1);
    assert_int_equal(aecs_read_end(&r), AECS_E_TRAILING_DATA);
    assert_int_equal(aecs_read_u8(&r, "h", &u8), AECS_OK);
    assert_int_equal(u8, 0xfe);
    assert_int_equal(aecs_reader_remaining(&r), 0);
    assert_int_equal(aecs_read_end(&r), AECS_OK);
    /* zero-length reads at the end are fine */
    assert_int_equal(aecs_read_bytes(&r, "empty", 0, &p), AECS_OK);
    assert_int_equal(aecs_read_skip(&r, "empty", 0), AECS_OK);

    /* 0xff.. values: no sign extension */
    static const uint8_t ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    aecs_reader_init(&r, ff, sizeof(ff), "ff");
    assert_int_equal(aecs_read_u64le(&r, "x", &u64), AECS_OK);
    assert_true(u64 == UINT64_MAX);
    aecs_reader_init(&r, ff, sizeof(ff), "ff");
    assert_int_equal(aecs_read_u32le(&r, "x", &u32), AECS_OK);
    assert_true(u32 == UINT32_MAX);
    assert_int_equal(aecs_read_u16le(&r, "x", &u16), AECS_OK);
    assert_true(u16 == UINT16_MAX);
    assert_int_equal(aecs_le16(ff), 0xffff);
    assert_true(aecs_le32(k_blob + 3) == 0x12345678u);
}

/* Each read type on a buffer one byte too short fails with the field named. */
static void test_reader_truncation(void **state)
{
    (void)state;
    struct aecs_reader r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    const uint8_t *p;
    uint8_t buf[8];

    aecs_reader_init(&r, k_blob, 0, "empty");
    assert_int_equal(aecs_read_u8(&r, "the_u8", &u8), AECS_E_TRUNCATED);
    assert_msg_has("the_u8");
    assert_msg_has("empty");

    aecs_reader_init(&r, k_blob, 1, "short");
    assert_int_equal(aecs_read_u16le(&r, "the_u16", &u16), AECS_E_TRUNCATED);
    assert_msg_has("the_u16");
    assert_msg_has("short");
    assert_int_equal(aecs_reader_remaining(&r), 1); /* nothing consumed */

    aecs_reader_init(&r, k_blob, 3, "short");
    assert_int_equal(aecs_read_u32le(&r, "the_u32", &u32), AECS_E_TRUNCATED);
    assert_msg_has("the_u32");
    assert_int_equal(aecs_reader_remaining(&r), 3);

    aecs_reader_init(&r, k_blob, 7, "short");
    assert_int_equal(aecs_read_u64le(&r, "the_u64", &u64), AECS_E_TRUNCATED);
    assert_msg_has("the_u64");

    aecs_reader_init(&r, k_blob, 4, "short");
    assert_int_equal(aecs_read_bytes(&r, "the_bytes", 5, &p), AECS_E_TRUNCATED);
    assert_msg_has("the_bytes");
    assert_int_equal(aecs_read_copy(&r, "the_copy", buf, 5), AECS_E_TRUNCATED);
    assert_msg_has("the_copy");
    assert_int_equal(aecs_read_skip(&r, "the_skip", 5), AECS_E_TRUNCATED);
    assert_msg_has("the_skip");
    assert_int_equal(aecs_reader_remaining(&r), 4);

    /* lengths that would overflow a pointer sum */
    assert_int_equal(aecs_read_bytes(&r, "huge", SIZE_MAX, &p), AECS_E_TRUNCATED);
    assert_int_equal(aecs_read_skip(&r, "huge", SIZE_MAX - 1), AECS_E_TRUNCATED);
    assert_int_equal(aecs_read_u8(&r, "x", &u8), AECS_OK);
    assert_int_equal(aecs_read_bytes(&r, "huge", SIZE_MAX, &p), AECS_E_TRUNCATED);
    assert_int_equal(aecs_reader_remaining(&r), 3);
}

static void test_reader_sub(void **state)
{
    (void)state;
    struct aecs_reader r;
    struct aecs_reader sub;
    uint8_t u8;
    uint32_t u32;
    uint16_t u16;

    aecs_reader_init(&r, k_blob, sizeof(k_blob), "outer");
    assert_int_equal(aecs_read_skip(&r, "skip", 3), AECS_OK);
    assert_int_equal(aecs_read_sub(&r, "inner_field", 4, "inner", &sub), AECS_OK);
    /* the parent moved past the sub-blob */
    assert_int_equal(aecs_reader_offset(&r), 7);
    assert_int_equal(aecs_reader_remaining(&sub), 4);
    /* offsets inside the sub-reader are offsets in the outer blob */
    assert_int_equal(aecs_reader_offset(&sub), 3);
    assert_int_equal(aecs_read_u16le(&sub, "lo", &u16), AECS_OK);
    assert_int_equal(u16, 0x5678);
    assert_int_equal(aecs_reader_offset(&sub), 5);
    assert_int_equal(aecs_read_end(&sub), AECS_E_TRAILING_DATA);
    assert_msg_has("inner");
    /* the sub-reader stops at its own end although the parent has more */
    assert_int_equal(aecs_read_u32le(&sub, "too_long", &u32), AECS_E_TRUNCATED);
    assert_msg_has("too_long");
    assert_msg_has("inner");
    assert_msg_has("offset 5");
    assert_int_equal(aecs_read_u16le(&sub, "hi", &u16), AECS_OK);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(aecs_read_end(&sub), AECS_OK);
    assert_int_equal(aecs_read_u8(&sub, "past", &u8), AECS_E_TRUNCATED);

    /* nested twice: the base offsets add up */
    struct aecs_reader sub2;
    aecs_reader_init(&r, k_blob, sizeof(k_blob), "outer");
    assert_int_equal(aecs_read_skip(&r, "skip", 2), AECS_OK);
    assert_int_equal(aecs_read_sub(&r, "a", 10, "a", &sub), AECS_OK);
    assert_int_equal(aecs_read_skip(&sub, "skip", 3), AECS_OK);
    assert_int_equal(aecs_read_sub(&sub, "b", 4, "b", &sub2), AECS_OK);
    assert_int_equal(aecs_reader_offset(&sub2), 5);

    /* a sub-reader larger than what is left fails and consumes nothing */
    aecs_reader_init(&r, k_blob, sizeof(k_blob), "outer");
    assert_int_equal(aecs_read_sub(&r, "big_sub", sizeof(k_blob) + 1, "x", &sub), AECS_E_TRUNCATED);
    assert_msg_has("big_sub");
    assert_int_equal(aecs_reader_offset(&r), 0);
}

static void test_reader_end_message(void **state)
{
    (void)state;
    struct aecs_reader r;
    uint8_t u8;

    aecs_reader_init(&r, k_blob, 3, "thing");
    assert_int_equal(aecs_read_u8(&r, "a", &u8), AECS_OK);
    assert_int_equal(aecs_read_end(&r), AECS_E_TRAILING_DATA);
    assert_msg_has("thing");
    assert_msg_has("2"); /* two bytes left */
}

/* ====================================================================== hex */

static void test_hex_encode(void **state)
{
    (void)state;
    static const uint8_t data[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(data) + 1];

    aecs_hex_encode(data, sizeof(data), out);
    assert_string_equal(out, "00017f80abff");
    aecs_hex_encode(data, 0, out);
    assert_string_equal(out, "");
}

static void test_hex_decode(void **state)
{
    (void)state;
    uint8_t out[8];
    size_t n = 99;

    assert_int_equal(aecs_hex_decode("00017F80aBfF", 12, out, sizeof(out), &n), AECS_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "\x00\x01\x7f\x80\xab\xff", 6);
    /* only `len` characters count */
    assert_int_equal(aecs_hex_decode("abcdZZ", 4, out, sizeof(out), &n), AECS_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\xab\xcd", 2);
    assert_int_equal(aecs_hex_decode("", 0, out, sizeof(out), &n), AECS_OK);
    assert_int_equal(n, 0);
    /* exactly the capacity */
    assert_int_equal(aecs_hex_decode("0102030405060708", 16, out, 8, &n), AECS_OK);
    assert_int_equal(n, 8);
}

static void test_hex_decode_rejects(void **state)
{
    (void)state;
    uint8_t out[8];
    size_t n = 0;

    assert_int_equal(aecs_hex_decode("abc", 3, out, sizeof(out), &n), AECS_E_FORMAT);
    assert_msg_has("odd");
    static const char *const bad[] = {"0g",
                                      "g0",
                                      "0 ",
                                      " 0",
                                      "-1",
                                      "0x",
                                      ("\xff"
                                       "0"),
                                      "+1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(aecs_hex_decode(bad[i], 2, out, sizeof(out), &n), AECS_E_FORMAT);
    /* a NUL inside the counted length is not a digit */
    assert_int_equal(aecs_hex_decode("a\0b0", 4, out, sizeof(out), &n), AECS_E_FORMAT);
    /* longer than the output buffer */
    assert_int_equal(aecs_hex_decode("010203040506070809", 18, out, 8, &n), AECS_E_FORMAT);
}

static void test_hex_decode_exact(void **state)
{
    (void)state;
    uint8_t out[4] = {0};

    assert_int_equal(aecs_hex_decode_exact("DEADbeef", 8, out, 4), AECS_OK);
    assert_memory_equal(out, "\xde\xad\xbe\xef", 4);
    assert_int_equal(aecs_hex_decode_exact("deadbe", 6, out, 4), AECS_E_FORMAT);
    assert_int_equal(aecs_hex_decode_exact("deadbeef00", 10, out, 4), AECS_E_FORMAT);
    assert_int_equal(aecs_hex_decode_exact("deadbee", 7, out, 4), AECS_E_FORMAT);
    assert_int_equal(aecs_hex_decode_exact("deadbeeg", 8, out, 4), AECS_E_FORMAT);
    assert_int_equal(aecs_hex_decode_exact("", 0, out, 0), AECS_OK);
}

/* =================================================================== base64 */

/* RFC 4648 section 10 test vectors. */
static const struct {
    const char *plain;
    const char *b64;
} k_rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_base64_rfc4648_encode(void **state)
{
    (void)state;
    char out[64];

    for (size_t i = 0; i < sizeof(k_rfc4648) / sizeof(k_rfc4648[0]); i++) {
        size_t n = strlen(k_rfc4648[i].plain);
        assert_int_equal(aecs_base64_encoded_size(n), strlen(k_rfc4648[i].b64));
        memset(out, 'X', sizeof(out));
        aecs_base64_encode((const uint8_t *)k_rfc4648[i].plain, n, out);
        assert_string_equal(out, k_rfc4648[i].b64);
    }
}

static void test_base64_rfc4648_decode(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n = 99;

    for (size_t i = 0; i < sizeof(k_rfc4648) / sizeof(k_rfc4648[0]); i++) {
        const char *b = k_rfc4648[i].b64;
        assert_int_equal(aecs_base64_decode(b, strlen(b), out, sizeof(out), &n), AECS_OK);
        assert_int_equal(n, strlen(k_rfc4648[i].plain));
        assert_memory_equal(out, k_rfc4648[i].plain, n);
        /* exactly enough room */
        assert_int_equal(aecs_base64_decode(b, strlen(b), out, n, &n), AECS_OK);
        if (n > 0)
            assert_int_equal(aecs_base64_decode(b, strlen(b), out, n - 1, &n), AECS_E_FORMAT);
    }
}

static void test_base64_all_bytes_round_trip(void **state)
{
    (void)state;
    uint8_t in[256];
    char enc[4 * 86 + 1];
    uint8_t dec[256];
    size_t n = 0;

    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    for (size_t len = 250; len <= 256; len++) {
        aecs_base64_encode(in, len, enc);
        assert_int_equal(strlen(enc), aecs_base64_encoded_size(len));
        assert_int_equal(aecs_base64_decode(enc, strlen(enc), dec, sizeof(dec), &n), AECS_OK);
        assert_int_equal(n, len);
        assert_memory_equal(dec, in, len);
    }
    /* 0xfb 0xff -> "+/8=": both non-alphanumeric characters of the standard alphabet */
    aecs_base64_encode((const uint8_t *)"\xfb\xff", 2, enc);
    assert_string_equal(enc, "+/8=");
}

static void test_base64_rejects(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n = 0;
    static const char *const bad[] = {
        "Zg",         /* padding missing */
        "Zg=",        /* padding short */
        "Zm9",        /* length not a multiple of 4 */
        "Z===",       /* too much padding */
        "====",       /* only padding */
        "Zg==Zg==",   /* padding in the middle */
        "Zm=v",       /* '=' inside a group */
        "=Zm9",       /* '=' first */
        "Zm9v\nYg==", /* whitespace */
        "Zm9 ",       /* space */
        "Zm9*",       /* not in the alphabet */
        "Zm-_",       /* base64url alphabet */
        "Zm9\x80",    /* high byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = aecs_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n);
        if (rc != AECS_E_FORMAT)
            fail_msg("base64 '%s': got %d, want AECS_E_FORMAT", bad[i], rc);
    }
    /* a NUL inside the counted length */
    assert_int_equal(aecs_base64_decode("Zm\0v", 4, out, sizeof(out), &n), AECS_E_FORMAT);
}

/* ===================================================================== time */

/* Epoch values from GNU date: `date -u -d <text> +%s`. */
static const struct {
    const char *text;
    int64_t epoch;
} k_times[] = {
    {"2025-07-19T10:01:17Z", 1752919277},
    {"1970-01-01T00:00:00Z", 0},
    {"1969-12-31T23:59:59Z", -1},
    {"2000-02-29T12:00:00Z", 951825600},
    {"2024-02-29T23:59:59Z", 1709251199},
    {"2038-01-19T03:14:08Z", 2147483648LL},
    {"2049-12-31T23:59:59Z", 2524607999LL},
    {"2100-03-01T00:00:00Z", 4107542400LL},
    {"1900-01-01T00:00:00Z", -2208988800LL},
    {"9999-12-31T23:59:59Z", 253402300799LL},
};

static void test_time_parse_known_instants(void **state)
{
    (void)state;
    int64_t t = 0;

    for (size_t i = 0; i < sizeof(k_times) / sizeof(k_times[0]); i++) {
        assert_int_equal(aecs_time_parse(k_times[i].text, &t), AECS_OK);
        if (t != k_times[i].epoch)
            fail_msg("%s: got %lld, want %lld", k_times[i].text, (long long)t,
                     (long long)k_times[i].epoch);
    }
}

static void test_time_parse_offsets_and_fractions(void **state)
{
    (void)state;
    int64_t t = 0;
    const int64_t want = 1752919277; /* 2025-07-19T10:01:17Z */
    static const char *const same[] = {
        "2025-07-19T12:01:17+02:00", "2025-07-19T04:31:17-05:30",
        "2025-07-19T10:01:17+00:00", "2025-07-19T10:01:17-00:00",
        "2025-07-19T10:01:17.5Z",    "2025-07-19T10:01:17.999999999Z",
        "2025-07-19T10:01:17.000Z",  "2025-07-19t10:01:17z",
        "2025-07-20T00:01:17+14:00", "2025-07-19T12:01:17.25+02:00",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        assert_int_equal(aecs_time_parse(same[i], &t), AECS_OK);
        if (t != want)
            fail_msg("%s: got %lld, want %lld", same[i], (long long)t, (long long)want);
    }
    /* an offset crossing midnight and the year */
    assert_int_equal(aecs_time_parse("2025-01-01T01:00:00+02:00", &t), AECS_OK);
    assert_int_equal(t, 1735686000); /* date -u -d 2024-12-31T23:00:00Z +%s */
}

static void test_time_parse_rejects(void **state)
{
    (void)state;
    int64_t t = 0;
    static const char *const bad[] = {
        "",
        "2025-07-19",
        "2025-07-19T10:01:17",  /* no zone */
        "2025-07-19 10:01:17Z", /* space instead of T */
        "2025-07-19T10:01Z",    /* no seconds */
        "2025-7-19T10:01:17Z",  /* one-digit month */
        "25-07-19T10:01:17Z",   /* two-digit year */
        "2025/07/19T10:01:17Z",
        "2025-00-19T10:01:17Z", /* month 0 */
        "2025-13-01T00:00:00Z", /* month 13 */
        "2025-07-00T10:01:17Z", /* day 0 */
        "2025-07-32T10:01:17Z", /* day 32 */
        "2025-04-31T00:00:00Z", /* April has 30 days */
        "2025-02-30T00:00:00Z",
        "2025-07-19T24:00:00Z",      /* hour 24 */
        "2025-07-19T10:60:00Z",      /* minute 60 */
        "2025-07-19T10:01:61Z",      /* second 61 */
        "2025-07-19T10:01:17.Z",     /* empty fraction */
        "2025-07-19T10:01:17.5",     /* fraction, no zone */
        "2025-07-19T10:01:17+0200",  /* offset without colon */
        "2025-07-19T10:01:17+02",    /* offset without minutes */
        "2025-07-19T10:01:17+24:00", /* offset hour 24 */
        "2025-07-19T10:01:17+02:60", /* offset minute 60 */
        "2025-07-19T10:01:17ZZ",     /* trailing characters */
        "2025-07-19T10:01:17Z ",
        "2025-07-19T10:01:17+02:00x",
        " 2025-07-19T10:01:17Z", /* leading space */
        "+2025-07-19T10:01:17Z",
        "2025-07-19T1a:01:17Z",
        "2025-07-19T10:01:17UTC",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = aecs_time_parse(bad[i], &t);
        if (rc != AECS_E_FORMAT)
            fail_msg("'%s': got %d, want AECS_E_FORMAT", bad[i], rc);
    }
}

/*
 * Regression (an earlier aecs_time_parse accepted 2023-02-29 as 2023-03-01).
 * RFC 3339 section 5.7: "date-mday 29 ... month 02, leap year" only. February 29
 * of a common year is not a date.
 */
static void test_time_parse_rejects_feb29_of_common_years(void **state)
{
    (void)state;
    int64_t t = 0;
    static const char *const bad[] = {"2023-02-29T00:00:00Z", "2025-02-29T12:00:00Z",
                                      "2100-02-29T00:00:00Z", "1900-02-29T00:00:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = aecs_time_parse(bad[i], &t);
        if (rc != AECS_E_FORMAT)
            fail_msg("'%s' is not a date but aecs_time_parse returned %d (time %lld, "
                     "which is March 1); want AECS_E_FORMAT",
                     bad[i], rc, (long long)t);
    }
    /* leap years still work */
    assert_int_equal(aecs_time_parse("2000-02-29T00:00:00Z", &t), AECS_OK);
    assert_int_equal(aecs_time_parse("2024-02-29T00:00:00Z", &t), AECS_OK);
}

static void test_time_leap_second_is_accepted(void **state)
{
    (void)state;
    int64_t t = 0;

    /* 2016-12-31T23:59:60Z was a real leap second; POSIX time has no slot for it */
    assert_int_equal(aecs_time_parse("2016-12-31T23:59:60Z", &t), AECS_OK);
    /* date -u -d 2016-12-31T23:59:59Z +%s = 1483228799; 2017-01-01 = 1483228800 */
    assert_true(t == 1483228799 || t == 1483228800);
}

static void test_time_format(void **state)
{
    (void)state;
    char out[32];
    int64_t t = 0;

    for (size_t i = 0; i < sizeof(k_times) / sizeof(k_times[0]); i++) {
        aecs_time_format(k_times[i].epoch, out);
        assert_string_equal(out, k_times[i].text);
        assert_int_equal(aecs_time_parse(out, &t), AECS_OK);
        assert_true(t == k_times[i].epoch);
    }
    int64_t now = aecs_time_now();
    assert_true(now > 1735689600); /* after 2025-01-01 */
}

/* ===================================================================== file */

struct tmpdir {
    char path[64];
};

static int file_setup(void **state)
{
    struct tmpdir *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return -1;
    tu_mkdtemp(d->path, sizeof(d->path));
    *state = d;
    return 0;
}

static int file_teardown(void **state)
{
    struct tmpdir *d = *state;

    tu_rmtree(d->path);
    free(d);
    return 0;
}

static void test_file_read_missing(void **state)
{
    struct tmpdir *d = *state;
    char path[128];
    uint8_t *data = (uint8_t *)"sentinel";
    size_t size = 7;

    snprintf(path, sizeof(path), "%s/nope.bin", d->path);
    assert_int_equal(aecs_file_read(path, 1024, &data, &size), AECS_E_NOT_FOUND);
    assert_null(data);
    assert_int_equal(size, 0);
    assert_msg_has("nope.bin");
    assert_int_equal(aecs_file_exists(path), 0);
    /* a folder is not a file */
    assert_int_not_equal(aecs_file_read(d->path, 1024, &data, &size), AECS_OK);
    assert_null(data);
    assert_int_equal(aecs_file_exists(d->path), 1);
}

static void test_file_read_content_and_cap(void **state)
{
    struct tmpdir *d = *state;
    char path[128];
    uint8_t content[100];
    uint8_t *data = NULL;
    size_t size = 0;

    for (size_t i = 0; i < sizeof(content); i++)
        content[i] = (uint8_t)(i * 7 + 1);
    snprintf(path, sizeof(path), "%s/hundred.bin", d->path);
    tu_write_file(path, content, sizeof(content));
    assert_int_equal(aecs_file_exists(path), 1);

    assert_int_equal(aecs_file_read(path, 100, &data, &size), AECS_OK);
    assert_int_equal(size, 100);
    assert_memory_equal(data, content, 100);
    assert_int_equal(data[100], 0); /* NUL after the last byte */
    free(data);

    assert_int_equal(aecs_file_read(path, 99, &data, &size), AECS_E_TOO_LARGE);
    assert_null(data);
    assert_msg_has("hundred.bin");

    /* an empty file */
    snprintf(path, sizeof(path), "%s/empty.bin", d->path);
    tu_write_file(path, "", 0);
    assert_int_equal(aecs_file_read(path, 0, &data, &size), AECS_OK);
    assert_int_equal(size, 0);
    assert_non_null(data);
    assert_int_equal(data[0], 0);
    free(data);
}

static size_t count_entries(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(dp);
    return n;
}

static void test_file_write_atomic(void **state)
{
    struct tmpdir *d = *state;
    char path[128];
    struct stat st;
    uint8_t *data = NULL;
    size_t size = 0;
    static const char first[] = "first content\n";
    static const char second[] = "the second, longer, content\n";

    snprintf(path, sizeof(path), "%s/secret.key", d->path);
    assert_int_equal(aecs_file_write_atomic(path, first, sizeof(first) - 1, 0600), AECS_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    data = tu_read_file(path, &size);
    assert_int_equal(size, sizeof(first) - 1);
    assert_memory_equal(data, first, size);
    free(data);

    /* replacing keeps the mode and leaves no temporary file behind */
    assert_int_equal(aecs_file_write_atomic(path, second, sizeof(second) - 1, 0600), AECS_OK);
    data = tu_read_file(path, &size);
    assert_int_equal(size, sizeof(second) - 1);
    assert_memory_equal(data, second, size);
    free(data);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(count_entries(d->path), 1);

    /* the mode asked for is the mode given, whatever the umask */
    snprintf(path, sizeof(path), "%s/public.txt", d->path);
    mode_t old = umask(077);
    int rc = aecs_file_write_atomic(path, "x", 1, 0644);
    umask(old);
    assert_int_equal(rc, AECS_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);

    /* an empty file */
    snprintf(path, sizeof(path), "%s/empty", d->path);
    assert_int_equal(aecs_file_write_atomic(path, "", 0, 0600), AECS_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(count_entries(d->path), 3);
}

static void test_file_write_atomic_fails_cleanly(void **state)
{
    struct tmpdir *d = *state;
    char path[128];

    snprintf(path, sizeof(path), "%s/no/such/folder/file", d->path);
    assert_int_equal(aecs_file_write_atomic(path, "x", 1, 0600), AECS_E_IO);
    assert_int_equal(count_entries(d->path), 0);

    /* the target is a folder: the rename fails and the temporary file is removed */
    snprintf(path, sizeof(path), "%s/sub", d->path);
    assert_int_equal(mkdir(path, 0700), 0);
    char inner[160];
    snprintf(inner, sizeof(inner), "%s/keep", path);
    tu_write_file(inner, "k", 1);
    assert_int_equal(aecs_file_write_atomic(path, "x", 1, 0600), AECS_E_IO);
    assert_int_equal(count_entries(d->path), 1);
}

/* ====================================================================== log */

static void test_log_level_parse(void **state)
{
    (void)state;
    assert_int_equal(aecs_log_level_parse("error"), AECS_LOG_ERROR);
    assert_int_equal(aecs_log_level_parse("warn"), AECS_LOG_WARN);
    assert_int_equal(aecs_log_level_parse("info"), AECS_LOG_INFO);
    assert_int_equal(aecs_log_level_parse("debug"), AECS_LOG_DEBUG);
    assert_int_equal(aecs_log_level_parse("warning"), -1);
    assert_int_equal(aecs_log_level_parse("DEBUG"), -1);
    assert_int_equal(aecs_log_level_parse(""), -1);
    assert_int_equal(aecs_log_level_parse("trace"), -1);
}

static int g_evaluated;

static int side_effect(void)
{
    g_evaluated++;
    return 42;
}

/* Runs fn with stderr redirected to a file and returns what it wrote (caller frees). */
static char *capture_stderr(void (*fn)(void))
{
    char dir[64];
    char path[128];
    size_t size = 0;
    uint8_t *out;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/stderr", dir);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(dup2(fileno(f), 2) >= 0);
    fn();
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    fclose(f);
    out = tu_read_file(path, &size);
    tu_rmtree(dir);
    return (char *)out;
}

static void log_some(void)
{
    aecs_log_set_level(AECS_LOG_WARN);
    log_debug("debug %d", side_effect());
    log_info("info %d", side_effect());
    log_warn("warn %d", side_effect());
    log_error("error %s", "x");
    aecs_log_set_level(AECS_LOG_DEBUG);
    log_debug("now debug %d", 7);
    aecs_log_set_level(AECS_LOG_WARN);
}

static void test_log_level_checked_before_formatting(void **state)
{
    (void)state;
    int saved = g_aecs_log_level;

    g_evaluated = 0;
    char *out = capture_stderr(log_some);
    aecs_log_set_level(saved);
    /* the arguments of suppressed levels are never evaluated */
    assert_int_equal(g_evaluated, 1);
    assert_null(strstr(out, "debug 42"));
    assert_null(strstr(out, "info 42"));
    assert_non_null(strstr(out, "warn 42"));
    assert_non_null(strstr(out, "error x"));
    assert_non_null(strstr(out, "now debug 7"));
    /* one line each */
    size_t lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_kind_and_name),
        cmocka_unit_test(test_err_set_records_place_and_message),
        cmocka_unit_test(test_err_guard_macros),
        cmocka_unit_test(test_err_prefix),
        cmocka_unit_test(test_err_long_messages_are_cut),
        cmocka_unit_test(test_err_is_thread_local),
        cmocka_unit_test(test_reader_reads_each_type),
        cmocka_unit_test(test_reader_truncation),
        cmocka_unit_test(test_reader_sub),
        cmocka_unit_test(test_reader_end_message),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_hex_decode),
        cmocka_unit_test(test_hex_decode_rejects),
        cmocka_unit_test(test_hex_decode_exact),
        cmocka_unit_test(test_base64_rfc4648_encode),
        cmocka_unit_test(test_base64_rfc4648_decode),
        cmocka_unit_test(test_base64_all_bytes_round_trip),
        cmocka_unit_test(test_base64_rejects),
        cmocka_unit_test(test_time_parse_known_instants),
        cmocka_unit_test(test_time_parse_offsets_and_fractions),
        cmocka_unit_test(test_time_parse_rejects),
        cmocka_unit_test(test_time_parse_rejects_feb29_of_common_years),
        cmocka_unit_test(test_time_leap_second_is_accepted),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test_setup_teardown(test_file_read_missing, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_file_read_content_and_cap, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_file_write_atomic, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_file_write_atomic_fails_cleanly, file_setup,
                                        file_teardown),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_log_level_checked_before_formatting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
