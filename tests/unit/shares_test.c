/*
 * shares_test.c - the KEK, its check value, and Shamir shares as text
 * (src/crypto/kek.c, src/crypto/shamir.c, src/keystore/shares.c).
 *
 * Expected values come from outside the code under test: the check value of
 * a fixed KEK was computed with `openssl mac` (below), the share checksum is
 * recomputed with `openssl dgst -sha256` over the text, and every share
 * combination is judged by that externally anchored check value. Shamir's
 * property is tested as such: every K-subset of a split gives the KEK back,
 * K-1 shares give some other key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/codec.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/kek.h"
#include "crypto/secmem.h"
#include "crypto/shamir.h"
#include "keystore/shares.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

/* KEK = 00 01 02 ... 1f. */
static uint8_t g_kek_bytes[32];

/*
 * printf '%s' 'aecs kek check' | openssl mac -digest SHA256 \
 *   -macopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f HMAC
 */
static const char *const KEK_CHECK_HEX =
    "F21E947625A2F78F5BC01ACAC36FB6572DF45561D26CBC3B17BF11D832D1F0AF";

static struct aecs_kek *fixed_kek(void)
{
    struct aecs_kek *kek = NULL;

    for (int i = 0; i < 32; i++)
        g_kek_bytes[i] = (uint8_t)i;
    assert_int_equal(aecs_kek_from_bytes(g_kek_bytes, &kek), AECS_OK);
    return kek;
}

static void fixed_check(uint8_t check[32])
{
    tu_hex(KEK_CHECK_HEX, check, 32);
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

/* The base64 data field of a share text (fourth field after the prefix), into out. */
static void data_field(const char *share, char *out, size_t size)
{
    const char *p = share;

    for (int colons = 0; colons < 4; p++)
        colons += *p == ':';
    snprintf(out, size, "%.*s", (int)(strrchr(share, ':') - p), p);
}

/* A share text with the given fields and a correct checksum (SHA-256 via crypto_test'ed code). */
static void craft_share(char *out, size_t size, const char *set, const char *k, const char *index,
                        const char *data)
{
    uint8_t digest[32];
    char hex[9];
    int n = snprintf(out, size, "aecs-share-v1:%s:%s:%s:%s", set, k, index, data);

    aecs_sha256(out, (size_t)n, digest);
    aecs_hex_encode(digest, 4, hex);
    snprintf(out + n, size - (size_t)n, ":%s", hex);
}

/* ---- the KEK ---- */

static void test_check_value_matches_openssl(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    uint8_t expected[32];
    uint8_t got[32];

    (void)state;
    fixed_check(expected);
    assert_int_equal(aecs_kek_check_value(kek, got), AECS_OK);
    assert_memory_equal(got, expected, 32);
    assert_int_equal(aecs_kek_verify(kek, expected), AECS_OK);
    expected[31] ^= 1;
    assert_int_equal(aecs_kek_verify(kek, expected), AECS_E_BAD_SIGNATURE);
    assert_msg_has("does not match the stored check value");
    aecs_kek_free(kek);
}

static void test_kek_generate_is_random(void **state)
{
    struct aecs_kek *a = NULL;
    struct aecs_kek *b = NULL;
    uint8_t ca[32];
    uint8_t cb[32];

    (void)state;
    assert_int_equal(aecs_kek_generate(&a), AECS_OK);
    assert_int_equal(aecs_kek_generate(&b), AECS_OK);
    assert_int_equal(aecs_kek_check_value(a, ca), AECS_OK);
    assert_int_equal(aecs_kek_check_value(b, cb), AECS_OK);
    assert_memory_not_equal(ca, cb, 32);
    assert_int_equal(aecs_kek_verify(a, cb), AECS_E_BAD_SIGNATURE);
    aecs_kek_free(a);
    aecs_kek_free(b);
    aecs_kek_free(NULL);
}

/* ---- split and combine ---- */

/* Combines every k-subset of the n shares (in increasing index order, and reversed). */
static size_t combine_subsets(char **shares, unsigned n, unsigned k, const uint8_t check[32])
{
    unsigned idx[AECS_SHARES_MAX];
    const char *pick[AECS_SHARES_MAX];
    size_t tried = 0;

    for (unsigned i = 0; i < k; i++)
        idx[i] = i;
    for (;;) {
        struct aecs_kek *back = NULL;

        for (unsigned i = 0; i < k; i++)
            pick[i] = shares[idx[(tried % 2) ? k - 1 - i : i]];
        if (aecs_shares_combine(pick, k, check, &back) != AECS_OK)
            fail_msg("k=%u n=%u subset %zu: %s", k, n, tried, MSG());
        aecs_kek_free(back);
        tried++;
        /* next combination */
        int i = (int)k - 1;
        while (i >= 0 && idx[i] == n - k + (unsigned)i)
            i--;
        if (i < 0)
            return tried;
        idx[i]++;
        for (unsigned j = (unsigned)i + 1; j < k; j++)
            idx[j] = idx[j - 1] + 1;
    }
}

static size_t choose(unsigned n, unsigned k)
{
    size_t r = 1;

    for (unsigned i = 1; i <= k; i++)
        r = r * (n - k + i) / i;
    return r;
}

static void test_every_k_subset_reconstructs(void **state)
{
    static const unsigned kn[][2] = {{2, 2}, {2, 3}, {3, 5}, {5, 8}, {2, 16}, {4, 16}, {16, 16}};
    struct aecs_kek *kek = fixed_kek();
    uint8_t check[32];

    (void)state;
    fixed_check(check);
    for (size_t t = 0; t < sizeof(kn) / sizeof(kn[0]); t++) {
        unsigned k = kn[t][0];
        unsigned n = kn[t][1];
        char **shares = NULL;

        assert_int_equal(aecs_shares_split(kek, k, n, &shares), AECS_OK);
        for (unsigned i = 0; i < n; i++) {
            unsigned got_k = 0;
            unsigned got_index = 0;
            char set[9] = "";

            assert_int_equal(
                sscanf(shares[i], "aecs-share-v1:%8[0-9a-f]:%u:%u:", set, &got_k, &got_index), 3);
            assert_int_equal(got_k, k);
            assert_int_equal(got_index, i + 1);
            assert_true(strlen(shares[i]) >= 80 && strlen(shares[i]) <= 82);
        }
        assert_int_equal(combine_subsets(shares, n, k, check), choose(n, k));
        /* All n together work too. */
        {
            struct aecs_kek *back = NULL;

            assert_int_equal(aecs_shares_combine((const char *const *)shares, n, check, &back),
                             AECS_OK);
            aecs_kek_free(back);
        }
        aecs_shares_free(shares, n);
    }
    aecs_kek_free(kek);
}

static void test_combined_kek_derives_the_same_keys(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    struct aecs_kek *back = NULL;
    char **shares = NULL;
    uint8_t check[32];
    uint8_t a[32];
    uint8_t b[32];

    (void)state;
    fixed_check(check);
    assert_int_equal(aecs_shares_split(kek, 3, 4, &shares), AECS_OK);
    assert_int_equal(aecs_shares_combine((const char *const *)shares + 1, 3, check, &back),
                     AECS_OK);
    assert_int_equal(aecs_kek_derive(kek, "x", 1, a, sizeof(a)), AECS_OK);
    assert_int_equal(aecs_kek_derive(back, "x", 1, b, sizeof(b)), AECS_OK);
    assert_memory_equal(a, b, 32);
    aecs_kek_free(back);
    aecs_shares_free(shares, 4);
    aecs_kek_free(kek);
}

static void test_fewer_than_k_shares_do_not_give_the_kek(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    char **shares = NULL;
    uint8_t check[32];

    (void)state;
    fixed_check(check);
    for (unsigned k = 2; k <= 5; k++) {
        struct aecs_share parsed[AECS_SHARES_MAX];
        uint8_t xs[AECS_SHARES_MAX];
        uint8_t ys[AECS_SHARES_MAX * 32];
        struct aecs_kek *guess = NULL;

        assert_int_equal(aecs_shares_split(kek, k, 5, &shares), AECS_OK);
        for (unsigned i = 0; i < k - 1; i++) {
            assert_int_equal(aecs_share_parse(shares[i], i + 1, &parsed[i]), AECS_OK);
            xs[i] = (uint8_t)parsed[i].index;
            memcpy(ys + i * 32, parsed[i].data, 32);
        }
        /* Raw interpolation of k-1 points gives some key, which is not the KEK. */
        assert_int_equal(aecs_shamir_combine_kek(xs, ys, k - 1, &guess), AECS_OK);
        assert_int_equal(aecs_kek_verify(guess, check), AECS_E_BAD_SIGNATURE);
        aecs_kek_free(guess);
        /* The text API refuses outright, and says how many are needed. */
        assert_int_equal(aecs_shares_combine((const char *const *)shares, k - 1, check, &guess),
                         AECS_E_INVALID_ARGUMENT);
        assert_null(guess);
        {
            char expected[96];

            snprintf(expected, sizeof(expected), "%u share%s given, this split needs %u", k - 1,
                     k - 1 == 1 ? "" : "s", k);
            assert_msg_is(expected);
        }
        aecs_cleanse(parsed, sizeof(parsed));
        aecs_cleanse(ys, sizeof(ys));
        aecs_shares_free(shares, 5);
    }
    aecs_kek_free(kek);
}

static void test_split_bounds(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    char **shares = NULL;

    (void)state;
    assert_int_equal(aecs_shares_split(kek, 1, 3, &shares), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("threshold 1: at least 2 shares must be needed to rebuild the key");
    assert_int_equal(aecs_shares_split(kek, 0, 0, &shares), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_shares_split(kek, 3, 2, &shares), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("threshold 3 is more than the 2 shares");
    assert_int_equal(aecs_shares_split(kek, 2, 17, &shares), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("17 shares: at most 16");
    assert_int_equal(aecs_shares_split(kek, 17, 17, &shares), AECS_E_INVALID_ARGUMENT);
    assert_null(shares);
    /* The raw layer checks the same bounds. */
    {
        uint8_t ys[17 * 32];

        assert_int_equal(aecs_shamir_split(g_kek_bytes, 32, 1, 2, ys), AECS_E_INVALID_ARGUMENT);
        assert_int_equal(aecs_shamir_split(g_kek_bytes, 32, 2, 17, ys), AECS_E_INVALID_ARGUMENT);
        assert_int_equal(aecs_shamir_split(g_kek_bytes, 0, 2, 2, ys), AECS_E_INVALID_ARGUMENT);
        assert_int_equal(aecs_shamir_combine((const uint8_t *)"\0\1", ys, 2, 32, ys),
                         AECS_E_INVALID_ARGUMENT);
        assert_msg_is("Shamir combine: share index 0");
        assert_int_equal(aecs_shamir_combine((const uint8_t *)"\1\1", ys, 2, 32, ys),
                         AECS_E_INVALID_ARGUMENT);
        assert_msg_is("Shamir combine: share index 1 given twice");
    }
    aecs_kek_free(kek);
}

/* ---- randomness ---- */

static void test_two_splits_differ(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    char **a = NULL;
    char **b = NULL;
    char da[64];
    char db[64];
    char kek_b64[64];

    (void)state;
    aecs_base64_encode(g_kek_bytes, 32, kek_b64);
    /*
     * Re-seeding random() identically before each split: libgfshare's
     * random()-based default would then give identical coefficients. The
     * shares must differ anyway (OpenSSL's generator is in use).
     */
    srandom(1);
    assert_int_equal(aecs_shares_split(kek, 2, 3, &a), AECS_OK);
    srandom(1);
    assert_int_equal(aecs_shares_split(kek, 2, 3, &b), AECS_OK);
    for (unsigned i = 0; i < 3; i++) {
        data_field(a[i], da, sizeof(da));
        data_field(b[i], db, sizeof(db));
        assert_string_not_equal(da, db);
        /* Zero coefficients would make every share equal to the secret. */
        assert_string_not_equal(da, kek_b64);
        assert_string_not_equal(db, kek_b64);
    }
    assert_memory_not_equal(a[0] + 14, b[0] + 14, 8); /* the set ids */
    aecs_shares_free(a, 3);
    aecs_shares_free(b, 3);
    aecs_kek_free(kek);
}

/* ---- the text format ---- */

static void test_share_checksum_is_sha256_of_the_text(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    char **shares = NULL;
    char path[128];
    char dir[64];
    char cmd[512];
    char line[256] = "";
    const char *last;
    FILE *p;

    (void)state;
    assert_int_equal(aecs_shares_split(kek, 2, 2, &shares), AECS_OK);
    last = strrchr(shares[0], ':');
    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/text", dir);
    tu_write_file(path, shares[0], (size_t)(last - shares[0]));
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -r '%s'", path);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    assert_int_equal(pclose(p), 0);
    assert_int_equal(strncmp(line, last + 1, 8), 0);
    tu_rmtree(dir);
    aecs_shares_free(shares, 2);
    aecs_kek_free(kek);
}

static void test_share_parse_accepts_surrounding_space(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    char **shares = NULL;
    char text[160];
    struct aecs_share s;

    (void)state;
    assert_int_equal(aecs_shares_split(kek, 2, 2, &shares), AECS_OK);
    snprintf(text, sizeof(text), "  \t%s\r\n", shares[1]);
    assert_int_equal(aecs_share_parse(text, 1, &s), AECS_OK);
    assert_int_equal(s.index, 2);
    assert_int_equal(s.threshold, 2);
    assert_memory_equal(s.set, shares[1] + 14, 8);
    aecs_cleanse(&s, sizeof(s));
    aecs_shares_free(shares, 2);
    aecs_kek_free(kek);
}

/* Parses text as share `pos` and expects AECS_E_FORMAT with exactly `msg`. */
static void expect_malformed(const char *text, unsigned pos, const char *msg)
{
    struct aecs_share s;

    memset(&s, 0xaa, sizeof(s));
    assert_int_equal(aecs_share_parse(text, pos, &s), AECS_E_FORMAT);
    assert_msg_is(msg);
    /* wiped on failure */
    for (size_t i = 0; i < sizeof(s.data); i++)
        assert_int_equal(s.data[i], 0);
}

static void test_malformed_shares_refused(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    char **shares = NULL;
    char text[200];
    char data[64];
    char *p;
    size_t len;

    (void)state;
    assert_int_equal(aecs_shares_split(kek, 2, 3, &shares), AECS_OK);
    data_field(shares[0], data, sizeof(data));
    len = strlen(shares[0]);

    expect_malformed("", 1, "share 1: empty");
    expect_malformed(" \n", 2, "share 2: empty");
    expect_malformed("hello", 2,
                     "share 2: not an aecs share (it should start with aecs-share-v1:)");
    expect_malformed("aecs-share-v2:00000000:2:1:x:00000000", 3,
                     "share 3: a share format this build does not read (it reads aecs-share-v1)");
    memset(text, 'a', 150);
    text[150] = '\0';
    expect_malformed(text, 1, "share 1: 150 characters, too long for an aecs share");

    /* Cut short: the checksum field loses characters, or disappears. */
    snprintf(text, sizeof(text), "%.*s", (int)(len - 3), shares[0]);
    expect_malformed(text, 1, "share 1: the checksum (last field) is not 8 hex digits");
    snprintf(text, sizeof(text), "%.*s", (int)(strrchr(shares[0], ':') - shares[0]), shares[0]);
    expect_malformed(text, 1,
                     "share 1: 4 ':'-separated fields after the prefix, expected 5 "
                     "(set:k:index:data:check); is it complete?");
    snprintf(text, sizeof(text), "%s:00", shares[0]);
    expect_malformed(text, 1,
                     "share 1: 6 ':'-separated fields after the prefix, expected 5 "
                     "(set:k:index:data:check); is it complete?");

    /* Typos: one character changed in the data, the index, the set, the checksum. */
    snprintf(text, sizeof(text), "%s", shares[0]);
    p = strstr(text, data) + 10;
    *p = *p == 'A' ? 'B' : 'A';
    expect_malformed(text, 2,
                     "share 2: checksum mismatch: the share was mistyped, cut short or damaged");
    snprintf(text, sizeof(text), "%s", shares[0]);
    text[25] = '3'; /* "aecs-share-v1:xxxxxxxx:2:1:" -> index 3 */
    expect_malformed(text, 2,
                     "share 2: checksum mismatch: the share was mistyped, cut short or damaged");
    snprintf(text, sizeof(text), "%s", shares[0]);
    text[14] = text[14] == 'f' ? 'e' : 'f';
    expect_malformed(text, 2,
                     "share 2: checksum mismatch: the share was mistyped, cut short or damaged");
    snprintf(text, sizeof(text), "%s", shares[0]);
    text[len - 1] = text[len - 1] == '0' ? '1' : '0';
    expect_malformed(text, 2,
                     "share 2: checksum mismatch: the share was mistyped, cut short or damaged");

    /* Well-formed checksums over bad fields (made on purpose, not by typing). */
    craft_share(text, sizeof(text), "0123456789", "2", "1", data);
    expect_malformed(text, 1, "share 1: the set id is not 8 lowercase hex digits");
    craft_share(text, sizeof(text), "0123456g", "2", "1", data);
    expect_malformed(text, 1, "share 1: the set id is not 8 lowercase hex digits");
    /* An upper-case set id would parse to the share of another text (found by fuzz/share_text). */
    craft_share(text, sizeof(text), "0123456A", "2", "1", data);
    expect_malformed(text, 1, "share 1: the set id is not 8 lowercase hex digits");
    craft_share(text, sizeof(text), "01234567", "1", "1", data);
    expect_malformed(text, 1, "share 1: the threshold is not a number in 2..16");
    craft_share(text, sizeof(text), "01234567", "17", "1", data);
    expect_malformed(text, 1, "share 1: the threshold is not a number in 2..16");
    craft_share(text, sizeof(text), "01234567", "02", "1", data);
    expect_malformed(text, 1, "share 1: the threshold is not a number in 2..16");
    craft_share(text, sizeof(text), "01234567", "2", "0", data);
    expect_malformed(text, 1, "share 1: the index is not a number in 1..16");
    craft_share(text, sizeof(text), "01234567", "2", "17", data);
    expect_malformed(text, 1, "share 1: the index is not a number in 1..16");
    craft_share(text, sizeof(text), "01234567", "2", "-1", data);
    expect_malformed(text, 1, "share 1: the index is not a number in 1..16");
    craft_share(text, sizeof(text), "01234567", "2", "1",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="); /* 31 bytes */
    expect_malformed(text, 1, "share 1: the data is not base64 of 32 bytes");
    craft_share(text, sizeof(text), "01234567", "2", "1",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8*");
    expect_malformed(text, 1, "share 1: the data is not base64 of 32 bytes");

    aecs_shares_free(shares, 3);
    aecs_kek_free(kek);
}

/* Combining refuses with `code` and exactly `msg`, which never quotes share data. */
static void expect_combine_refused(const char *const *texts, size_t count, int code,
                                   const char *msg, char **all, unsigned n)
{
    struct aecs_kek *out = (struct aecs_kek *)1;
    uint8_t check[32];
    char data[64];

    fixed_check(check);
    assert_int_equal(aecs_shares_combine(texts, count, check, &out), code);
    assert_null(out);
    assert_msg_is(msg);
    for (unsigned i = 0; i < n; i++) {
        data_field(all[i], data, sizeof(data));
        assert_null(strstr(MSG(), data));
        assert_null(strstr(MSG(), all[i]));
    }
}

static void test_combine_refusals(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    char **a = NULL;
    char **b = NULL;
    char *both[6];
    char forged[160];
    char set[9];
    char msg[200];
    char data[64];
    const char *list[4];

    (void)state;
    assert_int_equal(aecs_shares_split(kek, 2, 3, &a), AECS_OK);
    assert_int_equal(aecs_shares_split(kek, 3, 3, &b), AECS_OK);
    memcpy(both, a, 3 * sizeof(char *));
    memcpy(both + 3, b, 3 * sizeof(char *));

    expect_combine_refused(NULL, 0, AECS_E_INVALID_ARGUMENT, "no shares given", both, 6);

    /* The same share twice, and two shares with one index. */
    list[0] = a[0];
    list[1] = a[1];
    list[2] = a[0];
    expect_combine_refused(list, 3, AECS_E_INVALID_ARGUMENT, "share 3 repeats share 1 (index 1)",
                           both, 6);
    list[0] = a[1];
    list[1] = a[1];
    expect_combine_refused(list, 2, AECS_E_INVALID_ARGUMENT, "share 2 repeats share 1 (index 2)",
                           both, 6);

    /* A malformed share is named by its position, and stops everything. */
    list[0] = a[0];
    list[1] = "not a share";
    expect_combine_refused(list, 2, AECS_E_FORMAT,
                           "share 2: not an aecs share (it should start with aecs-share-v1:)", both,
                           6);

    /* Shares of two different splits (of the same KEK, even). */
    list[0] = a[0];
    list[1] = b[1];
    snprintf(msg, sizeof(msg), "share 2 is from another split (set %.8s) than share 1 (set %.8s)",
             b[1] + 14, a[0] + 14);
    expect_combine_refused(list, 2, AECS_E_INVALID_ARGUMENT, msg, both, 6);

    /* One share altered with a recomputed checksum: the check value catches it. */
    snprintf(set, sizeof(set), "%.8s", a[1] + 14);
    data_field(a[1], data, sizeof(data));
    data[5] = data[5] == 'A' ? 'B' : 'A';
    craft_share(forged, sizeof(forged), set, "2", "2", data);
    list[0] = a[0];
    list[1] = forged;
    expect_combine_refused(list, 2, AECS_E_BAD_SIGNATURE,
                           "the 2 shares combine into a key that does not match the store's "
                           "check value: a share is wrong (altered, or from another store)",
                           both, 6);

    /* Right shares, check value of another store. */
    {
        struct aecs_kek *out = NULL;
        uint8_t other[32];

        fixed_check(other);
        other[0] ^= 0x80;
        assert_int_equal(aecs_shares_combine((const char *const *)a, 2, other, &out),
                         AECS_E_BAD_SIGNATURE);
        assert_null(out);
    }

    /* Too many. */
    {
        const char *many[17];

        for (int i = 0; i < 17; i++)
            many[i] = a[0];
        expect_combine_refused(many, 17, AECS_E_INVALID_ARGUMENT, "17 shares given: at most 16",
                               both, 6);
    }
    aecs_shares_free(a, 3);
    aecs_shares_free(b, 3);
    aecs_kek_free(kek);
}

static void test_combine_parsed_one_at_a_time(void **state)
{
    struct aecs_kek *kek = fixed_kek();
    struct aecs_kek *back = NULL;
    struct aecs_share parsed[3];
    char **shares = NULL;
    uint8_t check[32];

    (void)state;
    fixed_check(check);
    assert_int_equal(aecs_shares_split(kek, 3, 5, &shares), AECS_OK);
    /* As a server would: admins hand in shares 5, 2 and 4 one by one. */
    assert_int_equal(aecs_share_parse(shares[4], 1, &parsed[0]), AECS_OK);
    assert_int_equal(aecs_share_parse(shares[1], 2, &parsed[1]), AECS_OK);
    assert_int_equal(aecs_shares_combine_parsed(parsed, 2, check, &back), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("2 shares given, this split needs 3");
    assert_int_equal(aecs_share_parse(shares[3], 3, &parsed[2]), AECS_OK);
    assert_int_equal(aecs_shares_combine_parsed(parsed, 3, check, &back), AECS_OK);
    assert_int_equal(aecs_kek_verify(back, check), AECS_OK);
    /* A forged threshold in the same set. */
    parsed[2].threshold = 4;
    aecs_kek_free(back);
    assert_int_equal(aecs_shares_combine_parsed(parsed, 3, check, &back), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("share 3 says threshold 4 but share 1 says 3");
    aecs_cleanse(parsed, sizeof(parsed));
    aecs_shares_free(shares, 5);
    aecs_kek_free(kek);
}

static void test_secure_heap(void **state)
{
    (void)state;
    /* This program never sets the secure heap up: the fallback is in use. */
    assert_int_equal(aecs_secure_heap_state(), AECS_SECURE_HEAP_OFF);
    assert_int_equal(aecs_secure_heap_init(3000), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_secure_heap_init(6000), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_secure_heap_state(), AECS_SECURE_HEAP_OFF);
    {
        uint8_t *p = aecs_secure_alloc(40);

        assert_non_null(p);
        for (int i = 0; i < 40; i++)
            assert_int_equal(p[i], 0);
        aecs_secure_free(p, 40);
        assert_null(aecs_secure_alloc(0));
        aecs_secure_free(NULL, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value_matches_openssl),
        cmocka_unit_test(test_kek_generate_is_random),
        cmocka_unit_test(test_every_k_subset_reconstructs),
        cmocka_unit_test(test_combined_kek_derives_the_same_keys),
        cmocka_unit_test(test_fewer_than_k_shares_do_not_give_the_kek),
        cmocka_unit_test(test_split_bounds),
        cmocka_unit_test(test_two_splits_differ),
        cmocka_unit_test(test_share_checksum_is_sha256_of_the_text),
        cmocka_unit_test(test_share_parse_accepts_surrounding_space),
        cmocka_unit_test(test_malformed_shares_refused),
        cmocka_unit_test(test_combine_refusals),
        cmocka_unit_test(test_combine_parsed_one_at_a_time),
        cmocka_unit_test(test_secure_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
