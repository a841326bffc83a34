/*
 * codec.c - hex and base64; see codec.h.
 */
#include "base/codec.h"

#include <pthread.h>
#include <string.h>

static const char k_hex[] = "0123456789abcdef";
static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void aecs_hex_encode(const uint8_t *data, size_t size, char *out)
{
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = k_hex[data[i] >> 4];
        out[2 * i + 1] = k_hex[data[i] & 15];
    }
    out[2 * size] = '\0';
}

int aecs_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int aecs_hex_decode(const char *hex, size_t len, uint8_t *out, size_t out_cap, size_t *out_size)
{
    ENSURE(len % 2 == 0, AECS_E_FORMAT, "hex string has an odd length (%zu)", len);
    ENSURE(len / 2 <= out_cap, AECS_E_FORMAT, "hex string too long: %zu bytes, at most %zu",
           len / 2, out_cap);
    for (size_t i = 0; i < len; i += 2) {
        int hi = aecs_hex_digit(hex[i]);
        int lo = aecs_hex_digit(hex[i + 1]);
        ENSURE(hi >= 0 && lo >= 0, AECS_E_FORMAT, "not a hex digit at position %zu",
               hi < 0 ? i : i + 1);
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *out_size = len / 2;
    return AECS_OK;
}

int aecs_hex_decode_exact(const char *hex, size_t len, uint8_t *out, size_t size)
{
    size_t got = 0;

    ENSURE(len == 2 * size, AECS_E_FORMAT, "expected %zu hex digits, got %zu", 2 * size, len);
    GUARD(aecs_hex_decode(hex, len, out, size, &got));
    return AECS_OK;
}

size_t aecs_base64_encoded_size(size_t size)
{
    return 4 * ((size + 2) / 3);
}

void aecs_base64_encode(const uint8_t *data, size_t size, char *out)
{
    size_t o = 0;
    size_t i = 0;

    for (; i + 3 <= size; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = k_b64[v >> 18];
        out[o++] = k_b64[(v >> 12) & 63];
        out[o++] = k_b64[(v >> 6) & 63];
        out[o++] = k_b64[v & 63];
    }
    if (size - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        out[o++] = k_b64[v >> 18];
        out[o++] = k_b64[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (size - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        out[o++] = k_b64[v >> 18];
        out[o++] = k_b64[(v >> 12) & 63];
        out[o++] = k_b64[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* The value of each byte as a base64 digit, or -1; filled once from k_b64. */
static signed char g_b64_values[256];
static pthread_once_t g_b64_once = PTHREAD_ONCE_INIT;

static void b64_values_init(void)
{
    memset(g_b64_values, -1, sizeof(g_b64_values));
    for (int i = 0; k_b64[i] != '\0'; i++)
        g_b64_values[(unsigned char)k_b64[i]] = (signed char)i;
}

static int b64_value(char c)
{
    return g_b64_values[(unsigned char)c];
}

int aecs_base64_decode(const char *b64, size_t len, uint8_t *out, size_t out_cap, size_t *out_size)
{
    size_t o = 0;

    ENSURE(len % 4 == 0, AECS_E_FORMAT, "base64 length %zu is not a multiple of 4", len);
    pthread_once(&g_b64_once, b64_values_init);
    for (size_t i = 0; i < len; i += 4) {
        int last = (i + 4 == len);
        int pad = 0;
        uint32_t w = 0;

        if (last && b64[i + 3] == '=')
            pad = b64[i + 2] == '=' ? 2 : 1;
        for (int k = 0; k < 4 - pad; k++) {
            int v = b64_value(b64[i + k]);
            ENSURE(v >= 0, AECS_E_FORMAT, "not a base64 character at position %zu", i + k);
            w |= (uint32_t)v << (18 - 6 * k);
        }
        size_t n = 3 - (size_t)pad;
        /* Canonical encodings leave the bits under the padding zero. */
        ENSURE((pad == 0 || (w & (pad == 1 ? 0xffu : 0xffffu)) == 0), AECS_E_FORMAT,
               "non-canonical base64 padding at position %zu", i);
        ENSURE(o + n <= out_cap, AECS_E_FORMAT, "base64 data too long (more than %zu bytes)",
               out_cap);
        out[o++] = (uint8_t)(w >> 16);
        if (n > 1)
            out[o++] = (uint8_t)(w >> 8);
        if (n > 2)
            out[o++] = (uint8_t)w;
    }
    *out_size = o;
    return AECS_OK;
}
