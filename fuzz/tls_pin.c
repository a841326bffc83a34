/*
 * tls_pin.c - libFuzzer target for TLS certificate pins (src/crypto/tls_pin.c):
 * the fingerprint text of a client configuration, a credential file or
 * AECS_FINGERPRINT, and the fingerprint of a PEM certificate.
 *
 * Whatever the bytes: no crash, no leak, and
 *   - a pin is accepted exactly when, blanks around it cut, it is 64 hex
 *     digits or 32 pairs of them separated by ':' (checked here by code of
 *     our own), and pins those digits; formatted as openssl prints it, it
 *     parses back to the same pin;
 *   - the fingerprint of a PEM certificate is the one aecs_cert_parse's
 *     certificate has, when that parser reads the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/err.h"
#include "crypto/tls_pin.h"
#include "crypto/x509.h"

#include "fuzz_text.h"

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The 64 hex digits of a well-formed pin, or 0. */
static int pin_digits(const char *text, char hex[65])
{
    const char *s = text, *e;
    size_t len, n = 0;

    while (blank(*s))
        s++;
    e = s + strlen(s);
    while (e > s && blank(e[-1]))
        e--;
    len = (size_t)(e - s);
    if (len != 64 && len != 95)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (len == 95 && i % 3 == 2) {
            if (s[i] != ':')
                return 0;
            continue;
        }
        if (aecs_hex_digit(s[i]) < 0)
            return 0;
        hex[n++] = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] - 'A' + 'a') : s[i];
    }
    hex[n] = '\0';
    return n == 64;
}

static void fuzz_pin(const char *text)
{
    struct aecs_tls_pin pin, again;
    char hex[65], mine[65], shown[AECS_TLS_FINGERPRINT_TEXT];
    int want = pin_digits(text, mine);
    int ok = aecs_tls_pin_parse(text, &pin) == AECS_OK;

    if (ok != want)
        abort();
    if (!ok) {
        if (pin.pinned)
            abort();
        return;
    }
    aecs_hex_encode(pin.sha256, sizeof(pin.sha256), hex);
    if (!pin.pinned || strcmp(hex, mine) != 0 || pin.seen || pin.refused)
        abort();
    aecs_tls_fingerprint_format(pin.sha256, shown);
    if (strlen(shown) != 95 || aecs_tls_pin_parse(shown, &again) != AECS_OK ||
        memcmp(again.sha256, pin.sha256, sizeof(pin.sha256)) != 0)
        abort();
}

static void fuzz_cert(const uint8_t *data, size_t size)
{
    uint8_t fp[AECS_TLS_FINGERPRINT_SIZE], fp2[32];
    struct aecs_cert *cert = NULL;

    if (aecs_tls_cert_fingerprint_pem((const char *)data, size, fp) != AECS_OK)
        return;
    if (aecs_cert_parse(data, size, &cert) == AECS_OK) {
        aecs_cert_fingerprint(cert, fp2);
        if (memcmp(fp, fp2, sizeof(fp)) != 0)
            abort();
        aecs_cert_free(cert);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);

    if (text == NULL)
        return 0;
    fuzz_pin(text);
    fuzz_cert(data, size);
    free(text);
    aecs_err_clear();
    return 0;
}
