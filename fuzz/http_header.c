/*
 * http_header.c - libFuzzer target for what is read of HTTP response headers
 * from servers (src/net/http.c): one raw header line as a libcurl header
 * callback sees it (the client's X-Aecs-Answer-Signature, and aecsd's when it
 * joins a cluster: aecs_http_header_line), a header looked up in a response's
 * header block (PCS and KDS answers: aecs_http_header), and the URL-encoded
 * PEM of an issuer chain header (aecs_url_decode).
 *
 * Input: byte 0 picks the header name; the rest is the line, the block and
 * the encoded text. Whatever the bytes: no crash, no leak, and
 *   - a status line is exactly one that starts with "HTTP/"; a match starts
 *     with the name (any case) and ':', its value lies inside the line with
 *     no blank or line end around it;
 *   - a line with no line break but at its end gives the same value from the
 *     line reader and from the block lookup;
 *   - the value the block lookup finds is a line's text after the name;
 *   - URL decoding agrees with a decoder of our own, and what it accepts
 *     encodes (every byte escaped) and decodes back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/codec.h"
#include "net/http.h"

static const char *const k_names[] = {
    "X-Aecs-Answer-Signature",
    "Retry-After",
    "Error-Message",
    "TCB-Info-Issuer-Chain",
    "SGX-PCK-CRL-Issuer-Chain",
    "SGX-Enclave-Identity-Issuer-Chain",
};

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void check_line(const char *line, size_t n, const char *name, const char *block)
{
    const char *v = NULL;
    size_t len = 0, name_len = strlen(name);
    enum aecs_http_line kind = aecs_http_header_line(line, n, name, &v, &len);
    int status = n >= 5 && memcmp(line, "HTTP/", 5) == 0;
    int match =
        !status && n > name_len && strncasecmp(line, name, name_len) == 0 && line[name_len] == ':';

    if ((kind == AECS_HTTP_LINE_STATUS) != status || (kind == AECS_HTTP_LINE_MATCH) != match)
        abort();
    if (kind != AECS_HTTP_LINE_MATCH) {
        if (v != NULL || len != 0)
            abort();
        return;
    }
    if (v < line + name_len + 1 || len > n || (size_t)(v - line) > n - len)
        abort();
    if (len > 0 && (v[0] == ' ' || v[0] == '\t' || blank(v[len - 1])))
        abort();
    /* only blanks between the ':' and the value, and after it */
    for (const char *p = line + name_len + 1; p < v; p++) {
        if (*p != ' ' && *p != '\t')
            abort();
    }
    for (const char *p = v + len; p < line + n; p++) {
        if (!blank(*p))
            abort();
    }

    /*
     * The block lookup reads the same line the same way when the line has no
     * NUL and no line break before its trailing blanks.
     */
    const char *nl = memchr(line, '\n', n);
    if (memchr(line, '\0', n) != NULL || (nl != NULL && nl < v + len))
        return;
    struct aecs_http_response r;
    char *value = NULL;
    memset(&r, 0, sizeof(r));
    r.headers = (char *)block;
    if (aecs_http_header(&r, name, &value) != AECS_OK || strlen(value) != len ||
        memcmp(value, v, len) != 0)
        abort();
    free(value);
}

/* The block lookup: what it finds is some line's value. */
static void check_block(const char *block, const char *name)
{
    struct aecs_http_response r;
    char *value = NULL;
    size_t name_len = strlen(name);

    memset(&r, 0, sizeof(r));
    r.headers = (char *)block;
    if (aecs_http_header(&r, name, &value) != AECS_OK) {
        if (value != NULL)
            abort();
        return;
    }
    for (const char *p = block; p != NULL;
         p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : NULL) {
        if (strncasecmp(p, name, name_len) != 0 || p[name_len] != ':')
            continue;
        const char *v = p + name_len + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strncmp(v, value, strlen(value)) == 0) {
            free(value);
            return; /* found the line it came from */
        }
    }
    abort();
}

/* %XX decoding by code of our own: -1 when refused (bad escape or %00), else the size. */
static long decode(const char *in, size_t len, char *out)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (in[i] != '%') {
            out[n++] = in[i];
            continue;
        }
        if (i + 2 >= len || aecs_hex_digit(in[i + 1]) < 0 || aecs_hex_digit(in[i + 2]) < 0)
            return -1;
        char c = (char)(aecs_hex_digit(in[i + 1]) << 4 | aecs_hex_digit(in[i + 2]));
        if (c == '\0')
            return -1;
        out[n++] = c;
        i += 2;
    }
    return (long)n;
}

static void check_url_decode(const char *in, size_t len)
{
    char *mine = malloc(len + 1);
    char *out = NULL;
    size_t size = 0;

    if (mine == NULL)
        abort();
    long want = decode(in, len, mine);
    int ok = aecs_url_decode(in, len, &out, &size) == AECS_OK;
    if (ok != (want >= 0))
        abort();
    if (ok) {
        if (size != (size_t)want || memcmp(out, mine, size) != 0 || out[size] != '\0')
            abort();
        /* every byte escaped, then decoded: the same bytes (a NUL is never decoded) */
        if (memchr(out, '\0', size) == NULL) {
            static const char hex[] = "0123456789ABCDEF";
            char *enc = malloc(3 * size + 1), *back = NULL;
            size_t back_size = 0;
            if (enc == NULL)
                abort();
            for (size_t i = 0; i < size; i++) {
                enc[3 * i] = '%';
                enc[3 * i + 1] = hex[(unsigned char)out[i] >> 4];
                enc[3 * i + 2] = hex[(unsigned char)out[i] & 15];
            }
            if (aecs_url_decode(enc, 3 * size, &back, &back_size) != AECS_OK || back_size != size ||
                memcmp(back, out, size) != 0)
                abort();
            free(back);
            free(enc);
        }
    } else if (out != NULL || size != 0) {
        abort();
    }
    free(out);
    free(mine);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *name = k_names[data[0] % (sizeof(k_names) / sizeof(k_names[0]))];
    const char *line = (const char *)data + 1;
    size_t n = size - 1;
    char *block = malloc(n + 1);

    if (block == NULL)
        return 0;
    memcpy(block, line, n);
    block[n] = '\0';
    check_line(line, n, name, block);
    check_block(block, name);
    check_url_decode(line, n);
    free(block);
    return 0;
}
