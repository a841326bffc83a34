/*
 * codec.c - libFuzzer target for the text codecs every parser of outside
 * bytes leans on (src/base/codec.c, src/base/timeutil.c): hex, base64 and
 * RFC 3339 times.
 *
 * The input is read both as text (hex, base64, a time) and as raw bytes (to
 * encode). Whatever the bytes: no crash, no leak, and
 *   - hex is accepted exactly when it is an even run of hex digits (either
 *     case), and decodes to what encoding gives back in lower case;
 *   - base64 that decodes encodes back to the very same text (the decoder
 *     accepts only the canonical form), and any bytes encode and decode back;
 *   - an accepted time is the one timegm() computes from its fields, less its
 *     zone offset, and one between the years 1000 and 9999 formats and parses
 *     back to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/codec.h"
#include "base/err.h"
#include "base/timeutil.h"

#include "fuzz_text.h"

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void fuzz_hex(const char *text, size_t size)
{
    uint8_t *out = malloc(size / 2 + 1);
    char *again = malloc(size + 1);
    size_t n = 0;
    int want = size % 2 == 0;

    if (out == NULL || again == NULL)
        abort();
    for (size_t i = 0; want && i < size; i++)
        want = is_hex(text[i]);
    int ok = aecs_hex_decode(text, size, out, size / 2, &n) == AECS_OK;
    if (ok != want)
        abort();
    if (ok) {
        if (n != size / 2)
            abort();
        aecs_hex_encode(out, n, again);
        for (size_t i = 0; i < size; i++) {
            if (again[i] != lower(text[i]))
                abort();
        }
    }
    /* one byte of room too few: refused */
    if (size >= 2 && aecs_hex_decode(text, size, out, size / 2 - 1, &n) == AECS_OK)
        abort();
    free(out);
    free(again);
}

static void fuzz_base64(const char *text, size_t size)
{
    size_t cap = size / 4 * 3 + 3;
    uint8_t *out = malloc(cap);
    char *again = malloc(aecs_base64_encoded_size(cap) + 1);
    size_t n = 0;

    if (out == NULL || again == NULL)
        abort();
    if (aecs_base64_decode(text, size, out, cap, &n) == AECS_OK) {
        if (n > size / 4 * 3 || aecs_base64_encoded_size(n) != size)
            abort();
        aecs_base64_encode(out, n, again);
        if (strlen(again) != size || memcmp(again, text, size) != 0)
            abort();
        /* exactly n bytes of room is enough, one less is not */
        if (aecs_base64_decode(text, size, out, n, &n) != AECS_OK ||
            (n > 0 && aecs_base64_decode(text, size, out, n - 1, &n) == AECS_OK))
            abort();
    }
    free(out);
    free(again);
}

/* Any bytes: hex and base64 encodings decode back to them. */
static void encode_round_trip(const uint8_t *data, size_t size)
{
    char *text = malloc(2 * size + aecs_base64_encoded_size(size) + 2);
    uint8_t *back = malloc(size + 1);
    size_t n = 0;

    if (text == NULL || back == NULL)
        abort();
    aecs_hex_encode(data, size, text);
    if (strlen(text) != 2 * size || aecs_hex_decode_exact(text, 2 * size, back, size) != AECS_OK ||
        memcmp(back, data, size) != 0)
        abort();
    aecs_base64_encode(data, size, text);
    if (strlen(text) != aecs_base64_encoded_size(size) ||
        aecs_base64_decode(text, strlen(text), back, size, &n) != AECS_OK || n != size ||
        memcmp(back, data, size) != 0)
        abort();
    free(text);
    free(back);
}

/* The digits at p (n of them), or -1. */
static int num(const char *p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static void fuzz_time(const char *text)
{
    int64_t t = 0, back = 0;
    char out[32];

    if (aecs_time_parse(text, &t) != AECS_OK)
        return;
    /* the fields by code of our own; the parser accepted the shape */
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = num(text, 4) - 1900;
    tm.tm_mon = num(text + 5, 2) - 1;
    tm.tm_mday = num(text + 8, 2);
    tm.tm_hour = num(text + 11, 2);
    tm.tm_min = num(text + 14, 2);
    tm.tm_sec = num(text + 17, 2);
    if (tm.tm_sec == 60)
        tm.tm_sec = 59;
    const char *z = text + 19;
    if (*z == '.') {
        z++;
        while (*z >= '0' && *z <= '9')
            z++;
    }
    int64_t offset = 0;
    if (*z == '+' || *z == '-')
        offset = (int64_t)(num(z + 1, 2) * 3600 + num(z + 4, 2) * 60) * (*z == '-' ? -1 : 1);
    else if (*z != 'Z' && *z != 'z')
        abort();
    if ((int64_t)timegm(&tm) - offset != t)
        abort();
    /* formatted (years 1000..9999: four digits) and parsed again: the same second */
    if (t >= -30610224000LL && t <= 253402300799LL) {
        aecs_time_format(t, out);
        if (aecs_time_parse(out, &back) != AECS_OK || back != t)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);

    if (text == NULL)
        return 0;
    fuzz_hex(text, size);
    fuzz_base64(text, size);
    encode_round_trip(data, size);
    fuzz_time(text);
    free(text);
    aecs_err_clear();
    return 0;
}
