/*
 * admin_request.c - libFuzzer target for what aecsd reads of a signed admin
 * request before (and while) it checks the signature (src/service/service.c,
 * src/proto/reqsig.c, src/crypto/sigkey.c): the X-Aecs-Key, -Timestamp,
 * -Nonce and -Signature headers, the string the signature covers, and the
 * body of POST /v1/admin/init, which anyone may send to an uninitialized
 * service: its fields and the admin's PEM public key in it.
 *
 * Input, '\n'-separated: key id, timestamp, nonce, signature, "METHOD
 * TARGET", then the body (the rest). Whatever the bytes: no crash, no leak,
 * and
 *   - headers are accepted exactly when the key id and nonce are lowercase
 *     hex of 64 and 32 characters and the timestamp is decimal digits of a
 *     non-negative int64 (checked here by code of our own), with that value;
 *   - the signed string splits back into its eight lines, each the field it
 *     came from (the body as its SHA-256), so no two requests share one;
 *   - an accepted init body has 2 <= threshold <= shares <= 16, a P-256
 *     share key, and the nonce and join policy the JSON holds;
 *   - an accepted public key is a P-256 key whose PEM, written again, parses
 *     to the same key id; a signature that verifies over the signed string
 *     does not verify over another.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/err.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "crypto/sigkey.h"
#include "proto/reqsig.h"
#include "service/internal.h"

#include "fuzz_text.h"

#define SERVICE_ID "0123456789abcdef0123456789abcdef"

static int lower_hex(const char *s, size_t len)
{
    if (s == NULL || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* Decimal digits of a value in 0..INT64_MAX (leading zeros allowed), or -1. */
static int64_t digits(const char *s)
{
    int64_t v = 0;

    if (s[0] == '\0')
        return -1;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* The signed string splits back into its lines, each the field it came from. */
static void check_canonical(const struct aecs_reqsig_fields *f, const char *s, size_t size)
{
    char body_hex[65], ts[24];
    uint8_t digest[32];
    const char *want[8];
    const char *p = s;

    aecs_sha256(f->body_size > 0 ? (const void *)f->body : (const void *)"", f->body_size, digest);
    aecs_hex_encode(digest, sizeof(digest), body_hex);
    snprintf(ts, sizeof(ts), "%lld", (long long)f->timestamp);
    want[0] = AECS_REQSIG_LABEL;
    want[1] = f->method;
    want[2] = f->target;
    want[3] = f->service_id;
    want[4] = body_hex;
    want[5] = ts;
    want[6] = f->nonce;
    want[7] = f->key_id;
    if (strlen(s) != size)
        abort();
    for (size_t i = 0; i < 8; i++) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if ((i < 7) != (nl != NULL) || n != strlen(want[i]) || memcmp(p, want[i], n) != 0)
            abort();
        p = nl != NULL ? nl + 1 : p + n;
    }
}

static void fuzz_key(const char *pem, size_t size, const char *canonical, size_t canonical_size,
                     const char *sig_b64)
{
    struct aecs_sigkey *key = NULL, *again = NULL;
    char id[AECS_SIGKEY_ID_HEX + 1], id2[AECS_SIGKEY_ID_HEX + 1];
    char *written = NULL;
    uint8_t sig[256];
    size_t sig_size = 0;

    if (aecs_sigkey_parse_public(pem, size, &key) != AECS_OK) {
        if (key != NULL)
            abort();
        return;
    }
    if (aecs_sigkey_id(key, id) != AECS_OK || !lower_hex(id, 64) ||
        aecs_sigkey_public_pem(key, &written) != AECS_OK ||
        aecs_sigkey_parse_public(written, strlen(written), &again) != AECS_OK ||
        aecs_sigkey_id(again, id2) != AECS_OK || strcmp(id, id2) != 0)
        abort();
    /* as check_signature reads X-Aecs-Signature */
    if (canonical != NULL && sig_b64 != NULL &&
        aecs_base64_decode(sig_b64, strlen(sig_b64), sig, sizeof(sig), &sig_size) == AECS_OK &&
        aecs_sigkey_verify(key, canonical, canonical_size, sig, sig_size) == AECS_OK) {
        char *other = malloc(canonical_size + 1);
        if (other == NULL)
            abort();
        memcpy(other, canonical, canonical_size + 1);
        other[canonical_size - 1] ^= 1;
        if (aecs_sigkey_verify(key, other, canonical_size, sig, sig_size) == AECS_OK)
            abort();
        free(other);
    }
    free(written);
    aecs_sigkey_free(again);
    aecs_sigkey_free(key);
}

static void fuzz_init_body(const struct aecs_request *req, const char *canonical,
                           size_t canonical_size)
{
    enum aecs_api_code api = API_OK;
    struct svc_init_args a;
    json_t *body = NULL;

    if (svc_body_object(req, &body, &api) != AECS_OK) {
        if (body != NULL || api == API_OK)
            abort();
        return;
    }
    if (svc_init_args_parse(body, &a, &api) == AECS_OK) {
        const char *nonce = json_string_value(json_object_get(body, "nonce"));
        char hex[65];
        if (a.k < 2 || a.k > a.n || a.n > 16 || a.pem == NULL || a.share_key[0] != 0x04)
            abort();
        aecs_hex_encode(a.nonce, sizeof(a.nonce), hex);
        if (nonce == NULL || strcmp(nonce, hex) != 0)
            abort();
        if (a.join_policy != json_string_value(json_object_get(body, "join_policy")))
            abort();
        fuzz_key(a.pem, strlen(a.pem), canonical, canonical_size, req->signature);
    } else if (api == API_OK) {
        abort();
    }
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    char *line[5] = {NULL};
    char *p, *body;
    struct aecs_request req;
    enum aecs_api_code api = API_OK;
    int64_t ts = -1;
    char *canonical = NULL;
    size_t canonical_size = 0;

    aecs_log_set_level(AECS_LOG_ERROR);
    if (text == NULL)
        return 0;
    p = text;
    for (size_t i = 0; i < 5 && p != NULL; i++) {
        line[i] = p;
        p = strchr(p, '\n');
        if (p != NULL)
            *p++ = '\0';
    }
    body = p;
    memset(&req, 0, sizeof(req));
    req.key_id = line[0];
    req.timestamp = line[1];
    req.nonce = line[2];
    req.signature = line[3];
    req.method = "POST";
    req.target = "/v1/admin/init";
    if (line[4] != NULL && strchr(line[4], ' ') != NULL) {
        req.method = line[4];
        req.target = strchr(line[4], ' ') + 1;
        *strchr(line[4], ' ') = '\0';
    }
    req.body = (const uint8_t *)body;
    req.body_size = body != NULL ? (size_t)(text + size - body) : 0;

    /* the headers */
    int want =
        line[3] != NULL && lower_hex(line[0], 64) && lower_hex(line[2], 32) && digits(line[1]) >= 0;
    int ok = svc_sig_headers_parse(&req, &ts, &api) == AECS_OK;
    if (ok != want || (ok && ts != digits(line[1])) || (!ok && api != API_UNAUTHENTICATED))
        abort();

    /* the signed string */
    if (ok) {
        struct aecs_reqsig_fields f = {
            .method = req.method,
            .target = req.target,
            .service_id = SERVICE_ID,
            .body = req.body,
            .body_size = req.body_size,
            .timestamp = ts,
            .nonce = req.nonce,
            .key_id = req.key_id,
        };
        if (aecs_reqsig_canonical(&f, &canonical, &canonical_size) == AECS_OK)
            check_canonical(&f, canonical, canonical_size);
        else if (canonical != NULL)
            abort();
    }

    /* the init body, and the key in it; the body on its own as a key file */
    fuzz_init_body(&req, canonical, canonical_size);
    if (body != NULL)
        fuzz_key(body, req.body_size, NULL, 0, NULL);
    free(canonical);
    free(text);
    aecs_err_clear();
    return 0;
}
