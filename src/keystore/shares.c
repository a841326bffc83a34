/*
 * shares.c - share texts: split the KEK, parse shares, combine and verify;
 * see shares.h for the format.
 *
 * The GF(2^8) arithmetic is libgfshare's, behind src/crypto/shamir.h; this
 * file only encodes and checks. Every buffer that holds share bytes or text
 * comes from the secure heap or the stack and is wiped before it is released.
 */
#include "keystore/shares.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "crypto/crypto.h"
#include "crypto/secmem.h"
#include "crypto/shamir.h"

#define SET_BYTES 4
#define CHECK_BYTES 4
#define DATA_B64_LEN 44 /* base64 of 32 bytes, with one '=' */
#define FIELDS 5        /* set, k, index, data, check */

static int check_k_n(unsigned k, unsigned n)
{
    ENSURE(k >= AECS_SHARES_MIN_THRESHOLD, AECS_E_INVALID_ARGUMENT,
           "threshold %u: at least %d shares must be needed to rebuild the key", k,
           AECS_SHARES_MIN_THRESHOLD);
    ENSURE(n <= AECS_SHARES_MAX, AECS_E_INVALID_ARGUMENT, "%u shares: at most %d", n,
           AECS_SHARES_MAX);
    ENSURE(k <= n, AECS_E_INVALID_ARGUMENT, "threshold %u is more than the %u shares", k, n);
    return AECS_OK;
}

/* Writes "<prefix><set>:<k>:<index>:<base64>:<check>" into text (AECS_SHARE_TEXT_MAX). */
static void format_share(const char *set, unsigned k, unsigned index, const uint8_t *data,
                         char *text)
{
    uint8_t digest[32];
    char check[2 * CHECK_BYTES + 1];
    size_t len;

    len = (size_t)snprintf(text, AECS_SHARE_TEXT_MAX, AECS_SHARE_PREFIX "%s:%u:%u:", set, k, index);
    aecs_base64_encode(data, AECS_KEK_SIZE, text + len);
    len += DATA_B64_LEN;
    aecs_sha256(text, len, digest);
    aecs_hex_encode(digest, CHECK_BYTES, check);
    snprintf(text + len, AECS_SHARE_TEXT_MAX - len, ":%s", check);
}

void aecs_shares_free(char **shares, unsigned n)
{
    if (shares == NULL)
        return;
    for (unsigned i = 0; i < n; i++)
        aecs_secure_free(shares[i], AECS_SHARE_TEXT_MAX);
    free(shares);
}

int aecs_shares_split(const struct aecs_kek *kek, unsigned k, unsigned n, char ***out)
{
    int rc = AECS_OK;
    uint8_t *ys = NULL;
    char **texts = NULL;
    uint8_t set_bytes[SET_BYTES];
    char set[2 * SET_BYTES + 1];

    *out = NULL;
    GUARD(check_k_n(k, n));
    GUARD(aecs_random_bytes(set_bytes, sizeof(set_bytes)));
    aecs_hex_encode(set_bytes, sizeof(set_bytes), set);
    ys = aecs_secure_alloc((size_t)n * AECS_KEK_SIZE);
    texts = calloc(n, sizeof(*texts));
    ENSURE_OUT(ys != NULL && texts != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(aecs_shamir_split_kek(kek, k, n, ys));
    for (unsigned i = 0; i < n; i++) {
        texts[i] = aecs_secure_alloc(AECS_SHARE_TEXT_MAX);
        ENSURE_OUT(texts[i] != NULL, AECS_E_NO_MEMORY, "out of memory");
        format_share(set, k, i + 1, ys + (size_t)i * AECS_KEK_SIZE, texts[i]);
    }
    *out = texts;
    texts = NULL;
out:
    aecs_shares_free(texts, n);
    aecs_secure_free(ys, (size_t)n * AECS_KEK_SIZE);
    return rc;
}

/* ---- parsing ---- */

/* A decimal number of 1 or 2 digits in lo..hi; -1 otherwise. */
static int small_number(const char *s, int lo, int hi)
{
    size_t len = strlen(s);
    int v = 0;

    if (len < 1 || len > 2 || (len == 2 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

/* Parses the trimmed text in buf (a prefix match; modified in place). */
static int parse_fields(char *buf, unsigned pos, struct aecs_share *out)
{
    char *field[FIELDS];
    char *p = buf + strlen(AECS_SHARE_PREFIX);
    char *last = strrchr(buf, ':');
    uint8_t digest[32];
    uint8_t check[CHECK_BYTES];
    size_t count = 1;
    size_t data_size = 0;
    int k;
    int index;

    for (const char *c = p; *c != '\0'; c++)
        count += *c == ':';
    ENSURE(count == FIELDS, AECS_E_FORMAT,
           "share %u: %zu ':'-separated fields after the prefix, expected 5 "
           "(set:k:index:data:check); is it complete?",
           pos, count);
    /* The checksum covers every character before the last ':'. */
    ENSURE(aecs_hex_decode_exact(last + 1, strlen(last + 1), check, sizeof(check)) == AECS_OK,
           AECS_E_FORMAT, "share %u: the checksum (last field) is not 8 hex digits", pos);
    aecs_sha256(buf, (size_t)(last - buf), digest);
    ENSURE(aecs_ct_memcmp(digest, check, sizeof(check)) == 0, AECS_E_FORMAT,
           "share %u: checksum mismatch: the share was mistyped, cut short or damaged", pos);

    for (size_t i = 0; i < FIELDS; i++) {
        char *colon = strchr(p, ':');

        field[i] = p;
        if (colon != NULL) {
            *colon = '\0';
            p = colon + 1;
        }
    }
    /* Lowercase, as the splitter writes it: one share has one text (its checksum covers it). */
    ENSURE(strlen(field[0]) == 2 * SET_BYTES &&
               strspn(field[0], "0123456789abcdef") == 2 * SET_BYTES,
           AECS_E_FORMAT, "share %u: the set id is not 8 lowercase hex digits", pos);
    memcpy(out->set, field[0], 2 * SET_BYTES + 1);
    k = small_number(field[1], AECS_SHARES_MIN_THRESHOLD, AECS_SHARES_MAX);
    ENSURE(k > 0, AECS_E_FORMAT, "share %u: the threshold is not a number in %d..%d", pos,
           AECS_SHARES_MIN_THRESHOLD, AECS_SHARES_MAX);
    index = small_number(field[2], 1, AECS_SHARES_MAX);
    ENSURE(index > 0, AECS_E_FORMAT, "share %u: the index is not a number in 1..%d", pos,
           AECS_SHARES_MAX);
    ENSURE(strlen(field[3]) == DATA_B64_LEN &&
               aecs_base64_decode(field[3], DATA_B64_LEN, out->data, sizeof(out->data),
                                  &data_size) == AECS_OK &&
               data_size == AECS_KEK_SIZE,
           AECS_E_FORMAT, "share %u: the data is not base64 of %d bytes", pos, AECS_KEK_SIZE);
    out->threshold = (unsigned)k;
    out->index = (unsigned)index;
    return AECS_OK;
}

int aecs_share_parse(const char *text, unsigned pos, struct aecs_share *out)
{
    char buf[AECS_SHARE_TEXT_MAX];
    size_t len;
    int rc;

    memset(out, 0, sizeof(*out));
    ENSURE(text != NULL, AECS_E_INVALID_ARGUMENT, "share %u: missing", pos);
    while (isspace((unsigned char)*text))
        text++;
    len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    ENSURE(len > 0, AECS_E_FORMAT, "share %u: empty", pos);
    ENSURE(len < sizeof(buf), AECS_E_FORMAT, "share %u: %zu characters, too long for an aecs share",
           pos, len);
    if (strncmp(text, AECS_SHARE_PREFIX, strlen(AECS_SHARE_PREFIX)) != 0) {
        ENSURE(strncmp(text, "aecs-share-", 11) != 0, AECS_E_FORMAT,
               "share %u: a share format this build does not read (it reads %.13s)", pos,
               AECS_SHARE_PREFIX);
        return AECS_ERR(AECS_E_FORMAT, "share %u: not an aecs share (it should start with %.14s)",
                        pos, AECS_SHARE_PREFIX);
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    rc = parse_fields(buf, pos, out);
    aecs_cleanse(buf, sizeof(buf));
    if (rc != AECS_OK)
        aecs_cleanse(out, sizeof(*out));
    return rc;
}

/* ---- combining ---- */

int aecs_shares_combine_parsed(const struct aecs_share *shares, size_t count,
                               const uint8_t check[AECS_KEK_CHECK_SIZE], struct aecs_kek **out)
{
    int rc = AECS_OK;
    uint8_t xs[AECS_SHARES_MAX];
    uint8_t *ys = NULL;
    struct aecs_kek *kek = NULL;

    *out = NULL;
    ENSURE(count > 0, AECS_E_INVALID_ARGUMENT, "no shares given");
    ENSURE(count <= AECS_SHARES_MAX, AECS_E_INVALID_ARGUMENT, "%zu shares given: at most %d", count,
           AECS_SHARES_MAX);
    for (size_t i = 1; i < count; i++) {
        ENSURE(strcmp(shares[i].set, shares[0].set) == 0, AECS_E_INVALID_ARGUMENT,
               "share %zu is from another split (set %s) than share 1 (set %s)", i + 1,
               shares[i].set, shares[0].set);
        ENSURE(shares[i].threshold == shares[0].threshold, AECS_E_INVALID_ARGUMENT,
               "share %zu says threshold %u but share 1 says %u", i + 1, shares[i].threshold,
               shares[0].threshold);
        for (size_t j = 0; j < i; j++)
            ENSURE(shares[i].index != shares[j].index, AECS_E_INVALID_ARGUMENT,
                   "share %zu repeats share %zu (index %u)", i + 1, j + 1, shares[i].index);
    }
    ENSURE(count >= shares[0].threshold, AECS_E_INVALID_ARGUMENT,
           "%zu share%s given, this split needs %u", count, count == 1 ? "" : "s",
           shares[0].threshold);

    ys = aecs_secure_alloc(count * AECS_KEK_SIZE);
    ENSURE(ys != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < count; i++) {
        xs[i] = (uint8_t)shares[i].index;
        memcpy(ys + i * AECS_KEK_SIZE, shares[i].data, AECS_KEK_SIZE);
    }
    GUARD_OUT(aecs_shamir_combine_kek(xs, ys, count, &kek));
    if (aecs_kek_verify(kek, check) != AECS_OK)
        BAIL_OUT(AECS_E_BAD_SIGNATURE,
                 "the %zu shares combine into a key that does not match the store's check "
                 "value: a share is wrong (altered, or from another store)",
                 count);
    *out = kek;
    kek = NULL;
out:
    aecs_kek_free(kek);
    aecs_secure_free(ys, count * AECS_KEK_SIZE);
    return rc;
}

int aecs_shares_combine(const char *const *texts, size_t count,
                        const uint8_t check[AECS_KEK_CHECK_SIZE], struct aecs_kek **out)
{
    int rc = AECS_OK;
    struct aecs_share *shares = NULL;

    *out = NULL;
    ENSURE(count > 0, AECS_E_INVALID_ARGUMENT, "no shares given");
    ENSURE(count <= AECS_SHARES_MAX, AECS_E_INVALID_ARGUMENT, "%zu shares given: at most %d", count,
           AECS_SHARES_MAX);
    shares = aecs_secure_alloc(count * sizeof(*shares));
    ENSURE(shares != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < count; i++)
        GUARD_OUT(aecs_share_parse(texts[i], (unsigned)(i + 1), &shares[i]));
    GUARD_OUT(aecs_shares_combine_parsed(shares, count, check, out));
out:
    aecs_secure_free(shares, count * sizeof(*shares));
    return rc;
}
