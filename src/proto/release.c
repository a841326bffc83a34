/*
 * release.c - the release protocol's bindings, signed answer strings and JSON
 * messages; see release.h and docs/protocol-release.md.
 *
 * Parsing: jansson reads the body (duplicate members refused, trailing bytes
 * refused, no NUL in strings), then every member is checked against an
 * allow-list and a field rule before anything is copied out. Serializing: the
 * same field rules check the input, jansson writes compact JSON, and the
 * result must fit the limit the other side's parser enforces.
 */
#include "proto/release.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "proto/json_wipe.h"

/* ---- bindings ---- */

/* SHA-512(label || 0x00 || [nonce] || pubkey). */
static void binding(const char *label, const uint8_t *nonce, const uint8_t *pubkey,
                    uint8_t out[AECS_RELEASE_REPORT_DATA_SIZE])
{
    uint8_t buf[32 + AECS_RELEASE_NONCE_SIZE + AECS_P256_PUB_SIZE];
    size_t n = strlen(label) + 1; /* with its NUL */
    size_t at = n;

    memcpy(buf, label, n);
    if (nonce != NULL) {
        memcpy(buf + at, nonce, AECS_RELEASE_NONCE_SIZE);
        at += AECS_RELEASE_NONCE_SIZE;
    }
    memcpy(buf + at, pubkey, AECS_P256_PUB_SIZE);
    at += AECS_P256_PUB_SIZE;
    aecs_sha512(buf, at, out);
}

void aecs_release_binding(const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                          const uint8_t pubkey[AECS_P256_PUB_SIZE],
                          uint8_t out[AECS_RELEASE_REPORT_DATA_SIZE])
{
    binding(AECS_RELEASE_LABEL, nonce, pubkey, out);
}

void aecs_identity_binding(const uint8_t pubkey[AECS_P256_PUB_SIZE],
                           uint8_t out[AECS_RELEASE_REPORT_DATA_SIZE])
{
    binding(AECS_IDENTITY_LABEL, NULL, pubkey, out);
}

int aecs_release_binding_check(const uint8_t *report_data,
                               const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                               const uint8_t pubkey[AECS_P256_PUB_SIZE])
{
    uint8_t want[AECS_RELEASE_REPORT_DATA_SIZE];

    ENSURE(report_data != NULL && nonce != NULL && pubkey != NULL, AECS_E_INVALID_ARGUMENT,
           "release binding: missing argument");
    aecs_release_binding(nonce, pubkey, want);
    ENSURE(aecs_ct_memcmp(report_data, want, sizeof(want)) == 0, AECS_E_MISMATCH,
           "the evidence's report data is not SHA-512(\"" AECS_RELEASE_LABEL
           "\" || 0x00 || nonce || pubkey) of this request");
    return AECS_OK;
}

int aecs_identity_binding_check(const uint8_t *report_data,
                                const uint8_t pubkey[AECS_P256_PUB_SIZE])
{
    uint8_t want[AECS_RELEASE_REPORT_DATA_SIZE];

    ENSURE(report_data != NULL && pubkey != NULL, AECS_E_INVALID_ARGUMENT,
           "identity binding: missing argument");
    aecs_identity_binding(pubkey, want);
    ENSURE(aecs_ct_memcmp(report_data, want, sizeof(want)) == 0, AECS_E_MISMATCH,
           "the service evidence's report data is not SHA-512(\"" AECS_IDENTITY_LABEL
           "\" || 0x00 || pubkey) of the identity key it came with");
    return AECS_OK;
}

/* ---- signed answers ---- */

int aecs_answer_signed_bytes(enum aecs_answer_kind kind,
                             const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                             const uint8_t *client_pub, const void *body, size_t body_size,
                             uint8_t out[AECS_ANSWER_SIGNED_MAX], size_t *size)
{
    const char *label;
    size_t at;

    *size = 0;
    switch (kind) {
    case AECS_ANSWER_RELEASE:
        label = AECS_ANSWER_RELEASE_LABEL;
        break;
    case AECS_ANSWER_IDENTITY:
        label = AECS_ANSWER_IDENTITY_LABEL;
        break;
    case AECS_ANSWER_PUBLIC:
        label = AECS_ANSWER_PUBLIC_LABEL;
        break;
    case AECS_ANSWER_JOIN:
        label = AECS_ANSWER_JOIN_LABEL;
        break;
    case AECS_ANSWER_INIT:
        label = AECS_ANSWER_INIT_LABEL;
        break;
    default:
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "signed answer: unknown kind %d", (int)kind);
    }
    ENSURE(nonce != NULL, AECS_E_INVALID_ARGUMENT, "signed answer: no nonce");
    ENSURE((kind == AECS_ANSWER_RELEASE || kind == AECS_ANSWER_JOIN || kind == AECS_ANSWER_INIT) ==
               (client_pub != NULL),
           AECS_E_INVALID_ARGUMENT,
           "signed answer: the client's public key belongs in release, join and init answers, and "
           "only there");
    ENSURE(body != NULL || body_size == 0, AECS_E_INVALID_ARGUMENT, "signed answer: no body");
    at = strlen(label) + 1;
    memcpy(out, label, at);
    memcpy(out + at, nonce, AECS_RELEASE_NONCE_SIZE);
    at += AECS_RELEASE_NONCE_SIZE;
    if (client_pub != NULL) {
        memcpy(out + at, client_pub, AECS_P256_PUB_SIZE);
        at += AECS_P256_PUB_SIZE;
    }
    aecs_sha256(body_size > 0 ? body : "", body_size, out + at);
    *size = at + 32;
    return AECS_OK;
}

int aecs_answer_sign(const struct aecs_p256_key *identity, enum aecs_answer_kind kind,
                     const uint8_t nonce[AECS_RELEASE_NONCE_SIZE], const uint8_t *client_pub,
                     const void *body, size_t body_size, char sig_b64[AECS_ANSWER_SIG_B64_MAX])
{
    uint8_t msg[AECS_ANSWER_SIGNED_MAX];
    uint8_t sig[AECS_P256_SIG_MAX];
    size_t msg_size = 0, sig_size = 0;

    sig_b64[0] = '\0';
    ENSURE(identity != NULL, AECS_E_INVALID_ARGUMENT, "signed answer: no identity key");
    GUARD(aecs_answer_signed_bytes(kind, nonce, client_pub, body, body_size, msg, &msg_size));
    GUARD(aecs_p256_sign(identity, msg, msg_size, sig, &sig_size));
    aecs_base64_encode(sig, sig_size, sig_b64);
    return AECS_OK;
}

int aecs_answer_verify(const struct aecs_p256_pub *identity, enum aecs_answer_kind kind,
                       const uint8_t nonce[AECS_RELEASE_NONCE_SIZE], const uint8_t *client_pub,
                       const void *body, size_t body_size, const char *sig_b64, size_t sig_len)
{
    uint8_t msg[AECS_ANSWER_SIGNED_MAX];
    uint8_t sig[AECS_P256_SIG_MAX];
    size_t msg_size = 0, sig_size = 0;

    ENSURE(identity != NULL, AECS_E_INVALID_ARGUMENT, "signed answer: no identity key");
    GUARD(aecs_answer_signed_bytes(kind, nonce, client_pub, body, body_size, msg, &msg_size));
    ENSURE(sig_b64 != NULL && sig_len > 0 && sig_len < AECS_ANSWER_SIG_B64_MAX,
           AECS_E_BAD_SIGNATURE, "answer signature: missing, or %zu characters (at most %d)",
           sig_len, AECS_ANSWER_SIG_B64_MAX - 1);
    ENSURE(aecs_base64_decode(sig_b64, sig_len, sig, sizeof(sig), &sig_size) == AECS_OK,
           AECS_E_BAD_SIGNATURE, "answer signature: not base64 of at most %d bytes",
           AECS_P256_SIG_MAX);
    int rc = aecs_p256_verify(identity, msg, msg_size, sig, sig_size);
    if (rc != AECS_OK)
        aecs_err_prefix("answer signature: ");
    return rc;
}

/* ---- field rules ---- */

static int is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* api.md: 1..64 of [A-Za-z0-9._-], not starting with '.' */
static int valid_name(const char *s, size_t len)
{
    if (len < 1 || len > AECS_RELEASE_NAME_MAX || s[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* A secret type's name: 1..64 of [A-Z0-9_] */
static int valid_type(const char *s, size_t len)
{
    if (len < 1 || len > AECS_RELEASE_TYPE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    }
    return 1;
}

/* A content type: 1..64 printable ASCII characters, no space */
static int valid_content_type(const char *s, size_t len)
{
    if (len < 1 || len > AECS_RELEASE_CONTENT_TYPE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    }
    return 1;
}

/* A refusal code: 1..32 of [a-z_] */
static int valid_code(const char *s, size_t len)
{
    if (len < 1 || len > AECS_RELEASE_CODE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return 0;
    }
    return 1;
}

/* A refusal reason: 0..256 printable ASCII characters */
static int valid_reason(const char *s, size_t len)
{
    if (len > AECS_RELEASE_REASON_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    }
    return 1;
}

/* A public part: 1..64 KiB of text without NUL or control characters other than \t \n \r */
static int valid_public(const char *s, size_t len)
{
    if (len < 1 || len > AECS_RELEASE_PUBLIC_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* s of exactly strnlen(s, max + 1) <= max characters passing rule; for serializers. */
static int valid_str(const char *s, size_t max, int (*rule)(const char *, size_t))
{
    size_t n;

    if (s == NULL)
        return 0;
    n = strnlen(s, max + 1);
    return n <= max && rule(s, n);
}

/* ---- nonces ---- */

int aecs_release_nonce_parse(const char *hex, size_t len, uint8_t out[AECS_RELEASE_NONCE_SIZE])
{
    ENSURE(hex != NULL && len == AECS_RELEASE_NONCE_HEX && is_lower_hex(hex, len), AECS_E_FORMAT,
           "nonce: must be %d lowercase hex characters", AECS_RELEASE_NONCE_HEX);
    return aecs_hex_decode_exact(hex, len, out, AECS_RELEASE_NONCE_SIZE);
}

int aecs_release_pubkey_parse(const char *hex, size_t len, uint8_t out[AECS_P256_PUB_SIZE])
{
    struct aecs_p256_pub *pub = NULL;
    int rc;

    ENSURE(hex != NULL && len == AECS_RELEASE_PUBKEY_HEX && is_lower_hex(hex, len), AECS_E_FORMAT,
           "public key: must be %d lowercase hex characters", AECS_RELEASE_PUBKEY_HEX);
    GUARD(aecs_hex_decode_exact(hex, len, out, AECS_P256_PUB_SIZE));
    rc = aecs_p256_pub_import(out, AECS_P256_PUB_SIZE, &pub);
    aecs_p256_pub_free(pub);
    return rc;
}

/* ---- reading JSON ---- */

/* Copies s into out (cap bytes with the NUL) with anything but printable ASCII as '?'. */
static const char *printable(const char *s, char *out, size_t cap)
{
    size_t i = 0;

    for (; s[i] != '\0' && i + 1 < cap; i++)
        out[i] = ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f) ? s[i] : '?';
    out[i] = '\0';
    return out;
}

/* Parses body (at most max bytes) as one JSON object into *out (the caller json_decrefs it). */
static int load(const char *body, size_t size, size_t max, const char *what, json_t **out)
{
    json_error_t jerr;
    json_t *doc;

    *out = NULL;
    ENSURE(body != NULL || size == 0, AECS_E_INVALID_ARGUMENT, "%s: no body", what);
    ENSURE(size <= max, AECS_E_TOO_LARGE, "%s: %zu bytes (at most %zu)", what, size, max);
    ENSURE(size > 0, AECS_E_FORMAT, "%s: empty body", what);
    doc = json_loadb(body, size, JSON_REJECT_DUPLICATES, &jerr);
    /* Not jansson's text: it quotes the body, and an old client's unseal request holds a share. */
    ENSURE(doc != NULL || json_error_code(&jerr) != json_error_duplicate_key, AECS_E_FORMAT,
           "%s: not valid JSON: a member is given twice, a duplicate (line %d, column %d)", what,
           jerr.line, jerr.column);
    ENSURE(doc != NULL, AECS_E_FORMAT, "%s: not valid JSON (line %d, column %d)", what, jerr.line,
           jerr.column);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return AECS_ERR(AECS_E_FORMAT, "%s: not a JSON object", what);
    }
    *out = doc;
    return AECS_OK;
}

/* Refuses an object that is not one, or has a member outside `allowed` (NULL-terminated). */
static int only_members(const json_t *o, const char *what, const char *const *allowed)
{
    const char *key;
    json_t *value;
    char shown[48];

    ENSURE(json_is_object(o), AECS_E_FORMAT, "%s: must be an object", what);
    json_object_foreach((json_t *)o, key, value)
    {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
            i++;
        ENSURE(allowed[i] != NULL, AECS_E_FORMAT, "%s: unknown member \"%s\"", what,
               printable(key, shown, sizeof(shown)));
    }
    return AECS_OK;
}

static int get_string(const json_t *o, const char *what, const char *key, const char **s,
                      size_t *len)
{
    json_t *v = json_object_get(o, key);

    ENSURE(v != NULL, AECS_E_FORMAT, "%s: \"%s\" is missing", what, key);
    ENSURE(json_is_string(v), AECS_E_FORMAT, "%s: \"%s\" must be a string", what, key);
    *s = json_string_value(v);
    *len = json_string_length(v);
    return AECS_OK;
}

/* A string member that passes rule, copied into out (cap bytes with the NUL). */
static int get_checked(const json_t *o, const char *what, const char *key, char *out, size_t cap,
                       int (*rule)(const char *, size_t), const char *rule_text)
{
    const char *s;
    size_t len;

    GUARD(get_string(o, what, key, &s, &len));
    ENSURE(len < cap && rule(s, len), AECS_E_FORMAT, "%s: \"%s\" must be %s", what, key, rule_text);
    memcpy(out, s, len);
    out[len] = '\0';
    return AECS_OK;
}

#define NAME_RULE "1 to 64 characters of A-Z a-z 0-9 . _ - not starting with '.'"

static int get_name(const json_t *o, const char *what, const char *key,
                    char out[AECS_RELEASE_NAME_MAX + 1])
{
    return get_checked(o, what, key, out, AECS_RELEASE_NAME_MAX + 1, valid_name, NAME_RULE);
}

/* A member of exactly 2*size lowercase hex characters, decoded into out. */
static int get_hex(const json_t *o, const char *what, const char *key, uint8_t *out, size_t size)
{
    const char *s;
    size_t len;

    GUARD(get_string(o, what, key, &s, &len));
    ENSURE(len == 2 * size && is_lower_hex(s, len), AECS_E_FORMAT,
           "%s: \"%s\" must be %zu lowercase hex characters", what, key, 2 * size);
    return aecs_hex_decode_exact(s, len, out, size);
}

/* A member of exactly len lowercase hex characters, kept as text: out gets them and a NUL. */
static int get_hex_text(const json_t *o, const char *what, const char *key, size_t len,
                        char *out)
{
    const char *s;
    size_t n;

    GUARD(get_string(o, what, key, &s, &n));
    ENSURE(n == len && is_lower_hex(s, n), AECS_E_FORMAT,
           "%s: \"%s\" must be %zu lowercase hex characters", what, key, len);
    memcpy(out, s, n + 1);
    return AECS_OK;
}

/* A member holding the hex of a valid P-256 point. */
/* A hex public key that must be a valid point; imported into *keep when keep is not NULL. */
static int get_pubkey_keep(const json_t *o, const char *what, const char *key,
                           uint8_t out[AECS_P256_PUB_SIZE], struct aecs_p256_pub **keep)
{
    struct aecs_p256_pub *pub = NULL;
    int rc;

    GUARD(get_hex(o, what, key, out, AECS_P256_PUB_SIZE));
    rc = aecs_p256_pub_import(out, AECS_P256_PUB_SIZE, &pub);
    if (rc != AECS_OK)
        aecs_err_prefix("%s: \"%s\": ", what, key);
    if (rc == AECS_OK && keep != NULL)
        *keep = pub;
    else
        aecs_p256_pub_free(pub);
    return rc;
}

static int get_pubkey(const json_t *o, const char *what, const char *key,
                      uint8_t out[AECS_P256_PUB_SIZE])
{
    return get_pubkey_keep(o, what, key, out, NULL);
}

/*
 * A base64 member decoded into a fresh buffer (*out, *size) of min_size..max
 * bytes. The caller frees *out (NULL when the result is empty).
 */
static int get_base64(const json_t *o, const char *what, const char *key, size_t min_size,
                      size_t max, uint8_t **out, size_t *size)
{
    const char *s;
    size_t len, n = 0;
    uint8_t *buf = NULL;
    int rc;

    *out = NULL;
    *size = 0;
    GUARD(get_string(o, what, key, &s, &len));
    ENSURE(len <= aecs_base64_encoded_size(max), AECS_E_FORMAT,
           "%s: \"%s\" is longer than base64 of %zu bytes", what, key, max);
    if (len > 0) {
        buf = malloc(len / 4 * 3 + 1); /* never malloc(0): "AA" must fail as base64, not memory */
        ENSURE(buf != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    rc = aecs_base64_decode(s, len, buf, len / 4 * 3, &n);
    if (rc != AECS_OK) {
        free(buf);
        aecs_err_prefix("%s: \"%s\": ", what, key);
        return rc;
    }
    if (n < min_size || n > max) {
        free(buf);
        return AECS_ERR(AECS_E_FORMAT, "%s: \"%s\" must hold %zu to %zu bytes (it holds %zu)", what,
                        key, min_size, max, n);
    }
    *out = buf;
    *size = n;
    return AECS_OK;
}

static int get_array(const json_t *o, const char *what, const char *key, size_t min, size_t max,
                     json_t **out)
{
    json_t *v = json_object_get(o, key);

    ENSURE(v != NULL, AECS_E_FORMAT, "%s: \"%s\" is missing", what, key);
    ENSURE(json_is_array(v), AECS_E_FORMAT, "%s: \"%s\" must be an array", what, key);
    ENSURE(json_array_size(v) >= min && json_array_size(v) <= max, AECS_E_FORMAT,
           "%s: \"%s\" must have %zu to %zu entries (it has %zu)", what, key, min, max,
           json_array_size(v));
    *out = v;
    return AECS_OK;
}

/* ---- writing JSON ---- */

/*
 * Writes doc (consumed; NULL means a build step ran out of memory) compactly
 * into a fresh string of at most max bytes.
 */
static int dump(json_t *doc, size_t max, const char *what, char **out, size_t *size)
{
    char *s;
    size_t n;

    *out = NULL;
    *size = 0;
    ENSURE(doc != NULL, AECS_E_NO_MEMORY, "%s: out of memory", what);
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    ENSURE(s != NULL, AECS_E_NO_MEMORY, "%s: out of memory", what);
    n = strlen(s);
    if (n > max) {
        free(s);
        return AECS_ERR(AECS_E_TOO_LARGE, "%s: %zu bytes (at most %zu)", what, n, max);
    }
    *out = s;
    *size = n;
    return AECS_OK;
}

/* Sets o[key] = v (consumed); a NULL v or a failure turns *ok off. */
static void set(json_t *o, const char *key, json_t *v, int *ok)
{
    if (o == NULL || v == NULL || json_object_set_new(o, key, v) != 0) {
        if (o == NULL)
            json_decref(v);
        *ok = 0;
    }
}

static json_t *hex_string(const uint8_t *data, size_t size)
{
    char buf[2 * AECS_P256_PUB_SIZE + 1];

    if (2 * size + 1 > sizeof(buf))
        return NULL;
    aecs_hex_encode(data, size, buf);
    return json_string(buf);
}

static json_t *base64_string(const uint8_t *data, size_t size)
{
    size_t n = aecs_base64_encoded_size(size);
    char *buf = malloc(n + 1);
    json_t *s;

    if (buf == NULL)
        return NULL;
    aecs_base64_encode(data, size, buf);
    s = json_stringn(buf, n);
    free(buf);
    return s;
}

/* Returns doc, or NULL (and frees doc) when ok is off. */
static json_t *built(json_t *doc, int ok)
{
    if (!ok) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int valid_point(const uint8_t pub[AECS_P256_PUB_SIZE])
{
    struct aecs_p256_pub *p = NULL;
    int rc = aecs_p256_pub_import(pub, AECS_P256_PUB_SIZE, &p);

    aecs_p256_pub_free(p);
    return rc == AECS_OK;
}

/* ---- POST /v1/challenge ---- */

int aecs_challenge_request_check(const char *body, size_t size)
{
    json_t *doc = NULL;
    size_t n;

    if (size == 0)
        return AECS_OK;
    GUARD(load(body, size, 1024, "challenge request", &doc));
    n = json_object_size(doc);
    json_decref(doc);
    ENSURE(n == 0, AECS_E_FORMAT, "challenge request: the body must be empty or {}");
    return AECS_OK;
}

int aecs_challenge_answer_serialize(const uint8_t nonce[AECS_RELEASE_NONCE_SIZE], int64_t expires,
                                    char **out, size_t *size)
{
    char when[32];
    json_t *doc = json_object();
    int ok = 1;

    *out = NULL;
    *size = 0;
    if (nonce == NULL || expires < 0) {
        json_decref(doc);
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "challenge answer: no nonce or a negative time");
    }
    aecs_time_format(expires, when);
    set(doc, "nonce", hex_string(nonce, AECS_RELEASE_NONCE_SIZE), &ok);
    set(doc, "expires", json_string(when), &ok);
    return dump(built(doc, ok), 1024, "challenge answer", out, size);
}

int aecs_challenge_answer_parse(const char *body, size_t size,
                                uint8_t nonce[AECS_RELEASE_NONCE_SIZE], int64_t *expires)
{
    static const char *const members[] = {"nonce", "expires", NULL};
    const char *W = "challenge answer";
    json_t *doc = NULL;
    const char *s;
    size_t len;
    char again[32];
    int64_t t = 0;
    int rc = AECS_OK;

    *expires = 0;
    GUARD(load(body, size, 1024, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    GUARD_OUT(get_hex(doc, W, "nonce", nonce, AECS_RELEASE_NONCE_SIZE));
    GUARD_OUT(get_string(doc, W, "expires", &s, &len));
    /* RFC 3339 UTC in whole seconds, exactly as aecs writes it */
    rc = aecs_time_parse(s, &t);
    if (rc == AECS_OK)
        aecs_time_format(t, again);
    ENSURE_OUT(rc == AECS_OK && t >= 0 && strcmp(again, s) == 0, AECS_E_FORMAT,
               "%s: \"expires\" must be a UTC time like 2026-11-22T10:01:00Z", W);
    *expires = t;
out:
    json_decref(doc);
    return rc;
}

/* ---- POST /v1/release: request ---- */

int aecs_release_request_parse(const char *body, size_t size, struct aecs_release_request **out)
{
    static const char *const members[] = {"evidence", "pubkey", "nonce", "secrets", NULL};
    static const char *const ref_members[] = {"service", "name", NULL};
    const char *W = "release request";
    struct aecs_release_request *req = NULL;
    json_t *doc = NULL, *secrets = NULL;
    char what[64];
    int rc = AECS_OK;

    *out = NULL;
    GUARD(load(body, size, AECS_RELEASE_REQUEST_MAX, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    req = calloc(1, sizeof(*req));
    ENSURE_OUT(req != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(get_base64(doc, W, "evidence", 1, AECS_RELEASE_EVIDENCE_MAX, &req->evidence,
                         &req->evidence_size));
    GUARD_OUT(get_pubkey_keep(doc, W, "pubkey", req->pubkey, &req->pub));
    GUARD_OUT(get_hex(doc, W, "nonce", req->nonce, AECS_RELEASE_NONCE_SIZE));
    GUARD_OUT(get_array(doc, W, "secrets", 1, AECS_RELEASE_MAX_SECRETS, &secrets));
    for (size_t i = 0; i < json_array_size(secrets); i++) {
        json_t *e = json_array_get(secrets, i);
        struct aecs_release_ref *ref = &req->secrets[i];

        snprintf(what, sizeof(what), "%s: secrets[%zu]", W, i);
        GUARD_OUT(only_members(e, what, ref_members));
        GUARD_OUT(get_name(e, what, "service", ref->service));
        GUARD_OUT(get_name(e, what, "name", ref->name));
        for (size_t k = 0; k < i; k++) {
            ENSURE_OUT(strcmp(req->secrets[k].service, ref->service) != 0 ||
                           strcmp(req->secrets[k].name, ref->name) != 0,
                       AECS_E_FORMAT, "%s: %s/%s is already asked for in secrets[%zu]", what,
                       ref->service, ref->name, k);
        }
        req->count = i + 1;
    }
    *out = req;
    req = NULL;
out:
    aecs_release_request_free(req);
    json_decref(doc);
    return rc;
}

/* The rules the parser enforces, on a request about to be written. */
static int check_request(const struct aecs_release_request *req)
{
    ENSURE(req != NULL, AECS_E_INVALID_ARGUMENT, "release request: missing");
    ENSURE(req->evidence != NULL && req->evidence_size >= 1 &&
               req->evidence_size <= AECS_RELEASE_EVIDENCE_MAX,
           AECS_E_INVALID_ARGUMENT, "release request: evidence of %zu bytes (1 to %u)",
           req->evidence_size, AECS_RELEASE_EVIDENCE_MAX);
    ENSURE(valid_point(req->pubkey), AECS_E_INVALID_ARGUMENT,
           "release request: pubkey is not a valid P-256 point");
    ENSURE(req->count >= 1 && req->count <= AECS_RELEASE_MAX_SECRETS, AECS_E_INVALID_ARGUMENT,
           "release request: %zu secrets (1 to %d)", req->count, AECS_RELEASE_MAX_SECRETS);
    for (size_t i = 0; i < req->count; i++) {
        const struct aecs_release_ref *r = &req->secrets[i];
        ENSURE(valid_str(r->service, AECS_RELEASE_NAME_MAX, valid_name) &&
                   valid_str(r->name, AECS_RELEASE_NAME_MAX, valid_name),
               AECS_E_INVALID_ARGUMENT, "release request: secrets[%zu]: names must be " NAME_RULE,
               i);
        for (size_t k = 0; k < i; k++) {
            ENSURE(strcmp(req->secrets[k].service, r->service) != 0 ||
                       strcmp(req->secrets[k].name, r->name) != 0,
                   AECS_E_INVALID_ARGUMENT, "release request: %s/%s is asked for twice", r->service,
                   r->name);
        }
    }
    return AECS_OK;
}

int aecs_release_request_serialize(const struct aecs_release_request *req, char **out, size_t *size)
{
    json_t *doc, *arr;
    int ok = 1;

    *out = NULL;
    *size = 0;
    GUARD(check_request(req));
    doc = json_object();
    arr = json_array();
    set(doc, "evidence", base64_string(req->evidence, req->evidence_size), &ok);
    set(doc, "pubkey", hex_string(req->pubkey, AECS_P256_PUB_SIZE), &ok);
    set(doc, "nonce", hex_string(req->nonce, AECS_RELEASE_NONCE_SIZE), &ok);
    for (size_t i = 0; arr != NULL && i < req->count; i++) {
        json_t *e = json_object();
        set(e, "service", json_string(req->secrets[i].service), &ok);
        set(e, "name", json_string(req->secrets[i].name), &ok);
        if (e == NULL || json_array_append_new(arr, e) != 0)
            ok = 0;
    }
    set(doc, "secrets", arr, &ok);
    return dump(built(doc, ok), AECS_RELEASE_REQUEST_MAX, "release request", out, size);
}

void aecs_release_request_free(struct aecs_release_request *req)
{
    if (req == NULL)
        return;
    aecs_p256_pub_free(req->pub);
    free(req->evidence);
    free(req);
}

/* ---- POST /v1/release: answer ---- */

struct aecs_release_answer *aecs_release_answer_new(void)
{
    return calloc(1, sizeof(struct aecs_release_answer));
}

static int parse_envelope(const json_t *e, const char *what, struct aecs_envelope *env)
{
    static const char *const members[] = {"epk", "iv", "ciphertext", "tag", NULL};

    GUARD(only_members(e, what, members));
    GUARD(get_pubkey(e, what, "epk", env->epk)); /* a valid point, as for the request's key */
    GUARD(get_hex(e, what, "iv", env->iv, AECS_ENVELOPE_IV_SIZE));
    GUARD(get_hex(e, what, "tag", env->tag, AECS_ENVELOPE_TAG_SIZE));
    return get_base64(e, what, "ciphertext", 0, AECS_ENVELOPE_PLAIN_MAX, &env->ciphertext,
                      &env->size);
}

#define TYPE_RULE "1 to 64 characters of A-Z 0-9 _"
#define CONTENT_TYPE_RULE "1 to 64 printable ASCII characters without spaces"

static int parse_result(const json_t *e, const char *what, struct aecs_release_result *r)
{
    static const char *const sealed[] = {"service",      "name",     "type",
                                         "content_type", "envelope", NULL};
    static const char *const refused[] = {"service", "name", "code", "reason", NULL};
    char ewhat[80];

    ENSURE(json_is_object(e), AECS_E_FORMAT, "%s: must be an object", what);
    r->sealed = json_object_get(e, "envelope") != NULL;
    GUARD(only_members(e, what, r->sealed ? sealed : refused));
    GUARD(get_name(e, what, "service", r->service));
    GUARD(get_name(e, what, "name", r->name));
    if (!r->sealed) {
        GUARD(get_checked(e, what, "code", r->code, sizeof(r->code), valid_code,
                          "1 to 32 characters of a-z _"));
        return get_checked(e, what, "reason", r->reason, sizeof(r->reason), valid_reason,
                           "at most 256 printable ASCII characters");
    }
    GUARD(get_checked(e, what, "type", r->type, sizeof(r->type), valid_type, TYPE_RULE));
    GUARD(get_checked(e, what, "content_type", r->content_type, sizeof(r->content_type),
                      valid_content_type, CONTENT_TYPE_RULE));
    snprintf(ewhat, sizeof(ewhat), "%s: envelope", what);
    return parse_envelope(json_object_get(e, "envelope"), ewhat, &r->envelope);
}

int aecs_release_answer_parse(const char *body, size_t size, struct aecs_release_answer **out)
{
    static const char *const members[] = {"secrets", NULL};
    const char *W = "release answer";
    struct aecs_release_answer *a = NULL;
    json_t *doc = NULL, *arr = NULL;
    char what[64];
    int rc = AECS_OK;

    *out = NULL;
    GUARD(load(body, size, AECS_RELEASE_ANSWER_MAX, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    GUARD_OUT(get_array(doc, W, "secrets", 1, AECS_RELEASE_MAX_SECRETS, &arr));
    a = aecs_release_answer_new();
    ENSURE_OUT(a != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(what, sizeof(what), "%s: secrets[%zu]", W, i);
        a->count = i + 1; /* so that a failure below frees this entry's ciphertext too */
        GUARD_OUT(parse_result(json_array_get(arr, i), what, &a->results[i]));
    }
    *out = a;
    a = NULL;
out:
    aecs_release_answer_free(a);
    json_decref(doc);
    return rc;
}

static int check_result(const struct aecs_release_result *r, size_t i)
{
    ENSURE(valid_str(r->service, AECS_RELEASE_NAME_MAX, valid_name) &&
               valid_str(r->name, AECS_RELEASE_NAME_MAX, valid_name),
           AECS_E_INVALID_ARGUMENT, "release answer: secrets[%zu]: names must be " NAME_RULE, i);
    if (!r->sealed) {
        ENSURE(valid_str(r->code, AECS_RELEASE_CODE_MAX, valid_code), AECS_E_INVALID_ARGUMENT,
               "release answer: secrets[%zu]: a bad refusal code", i);
        ENSURE(valid_str(r->reason, AECS_RELEASE_REASON_MAX, valid_reason), AECS_E_INVALID_ARGUMENT,
               "release answer: secrets[%zu]: reason must be at most 256 printable ASCII "
               "characters",
               i);
        return AECS_OK;
    }
    ENSURE(valid_str(r->type, AECS_RELEASE_TYPE_MAX, valid_type), AECS_E_INVALID_ARGUMENT,
           "release answer: secrets[%zu]: type must be " TYPE_RULE, i);
    ENSURE(valid_str(r->content_type, AECS_RELEASE_CONTENT_TYPE_MAX, valid_content_type),
           AECS_E_INVALID_ARGUMENT,
           "release answer: secrets[%zu]: content_type must be " CONTENT_TYPE_RULE, i);
    ENSURE(r->envelope.size <= AECS_ENVELOPE_PLAIN_MAX &&
               (r->envelope.ciphertext != NULL || r->envelope.size == 0) &&
               r->envelope.epk[0] == 0x04,
           AECS_E_INVALID_ARGUMENT, "release answer: secrets[%zu]: a malformed envelope", i);
    return AECS_OK;
}

static json_t *result_json(const struct aecs_release_result *r)
{
    json_t *e = json_object(), *env;
    int ok = 1;

    set(e, "service", json_string(r->service), &ok);
    set(e, "name", json_string(r->name), &ok);
    if (!r->sealed) {
        set(e, "code", json_string(r->code), &ok);
        set(e, "reason", json_string(r->reason), &ok);
        return built(e, ok);
    }
    set(e, "type", json_string(r->type), &ok);
    set(e, "content_type", json_string(r->content_type), &ok);
    env = json_object();
    set(env, "epk", hex_string(r->envelope.epk, AECS_P256_PUB_SIZE), &ok);
    set(env, "iv", hex_string(r->envelope.iv, AECS_ENVELOPE_IV_SIZE), &ok);
    set(env, "ciphertext", base64_string(r->envelope.ciphertext, r->envelope.size), &ok);
    set(env, "tag", hex_string(r->envelope.tag, AECS_ENVELOPE_TAG_SIZE), &ok);
    set(e, "envelope", env, &ok);
    return built(e, ok);
}

int aecs_release_answer_serialize(const struct aecs_release_answer *answer, char **out,
                                  size_t *size)
{
    json_t *doc, *arr;
    int ok = 1;

    *out = NULL;
    *size = 0;
    ENSURE(answer != NULL && answer->count >= 1 && answer->count <= AECS_RELEASE_MAX_SECRETS,
           AECS_E_INVALID_ARGUMENT, "release answer: 1 to %d entries", AECS_RELEASE_MAX_SECRETS);
    for (size_t i = 0; i < answer->count; i++)
        GUARD(check_result(&answer->results[i], i));
    doc = json_object();
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < answer->count; i++) {
        if (json_array_append_new(arr, result_json(&answer->results[i])) != 0)
            ok = 0;
    }
    set(doc, "secrets", arr, &ok);
    return dump(built(doc, ok), AECS_RELEASE_ANSWER_MAX, "release answer", out, size);
}

void aecs_release_answer_free(struct aecs_release_answer *answer)
{
    if (answer == NULL)
        return;
    for (size_t i = 0; i < answer->count && i < AECS_RELEASE_MAX_SECRETS; i++)
        aecs_envelope_clear(&answer->results[i].envelope);
    free(answer);
}

int aecs_release_answer_match(const struct aecs_release_request *req,
                              const struct aecs_release_answer *answer)
{
    ENSURE(req != NULL && answer != NULL, AECS_E_INVALID_ARGUMENT, "answer match: missing");
    ENSURE(answer->count == req->count, AECS_E_MISMATCH,
           "release answer: %zu entries for %zu requested secrets", answer->count, req->count);
    for (size_t i = 0; i < req->count; i++) {
        const struct aecs_release_result *r = &answer->results[i];
        const struct aecs_release_ref *q = &req->secrets[i];
        ENSURE(strcmp(r->service, q->service) == 0 && strcmp(r->name, q->name) == 0,
               AECS_E_MISMATCH,
               "release answer: entry %zu is %.64s/%.64s, the request asked for %s/%s", i,
               r->service, r->name, q->service, q->name);
    }
    return AECS_OK;
}

/* ---- GET /v1/identity ---- */

/* An insecure option's name as GET /v1/status writes it: 1..32 of [a-z0-9-]. */
static int valid_option(const char *s, size_t len)
{
    if (len < 1 || len > AECS_IDENTITY_INSECURE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    }
    return 1;
}

#define OPTION_RULE "1 to 32 characters of a-z 0-9 -"

/* Index of the first of a's insecure options before the one at n that equals it, or n. */
static size_t first_equal(const struct aecs_identity_answer *a, size_t n)
{
    size_t i = 0;

    while (i < n && strcmp(a->insecure[i], a->insecure[n]) != 0)
        i++;
    return i;
}

int aecs_identity_answer_parse(const char *body, size_t size, struct aecs_identity_answer **out)
{
    static const char *const members[] = {"pubkey", "evidence", "service_id", "insecure", NULL};
    const char *W = "identity answer";
    struct aecs_identity_answer *a = NULL;
    json_t *doc = NULL, *arr = NULL, *e;
    const char *s;
    size_t len, i;
    int rc = AECS_OK;

    *out = NULL;
    GUARD(load(body, size, AECS_RELEASE_IDENTITY_MAX, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    a = calloc(1, sizeof(*a));
    ENSURE_OUT(a != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(get_pubkey(doc, W, "pubkey", a->pubkey));
    GUARD_OUT(get_base64(doc, W, "evidence", 1, AECS_RELEASE_EVIDENCE_MAX, &a->evidence,
                         &a->evidence_size));
    /* Empty before the init: an uninitialized service has no id yet. */
    GUARD_OUT(get_string(doc, W, "service_id", &s, &len));
    ENSURE_OUT(len == 0 || (len == AECS_SERVICE_ID_HEX && is_lower_hex(s, len)), AECS_E_FORMAT,
               "%s: \"service_id\" must be %d lowercase hex characters, or empty (not "
               "initialized)", W, AECS_SERVICE_ID_HEX);
    memcpy(a->service_id, s, len + 1);
    /* Required, even empty: an answer without it would hide what a client must see. */
    GUARD_OUT(get_array(doc, W, "insecure", 0, AECS_IDENTITY_INSECURE_MAX, &arr));
    json_array_foreach(arr, i, e)
    {
        ENSURE_OUT(json_is_string(e), AECS_E_FORMAT, "%s: \"insecure\"[%zu] must be a string", W,
                   i);
        s = json_string_value(e);
        len = json_string_length(e);
        ENSURE_OUT(valid_option(s, len), AECS_E_FORMAT, "%s: \"insecure\"[%zu] must be %s", W, i,
                   OPTION_RULE);
        memcpy(a->insecure[i], s, len + 1);
        ENSURE_OUT(first_equal(a, i) == i, AECS_E_FORMAT, "%s: \"insecure\"[%zu] repeats \"%s\"", W,
                   i, a->insecure[i]);
        a->insecure_count = i + 1;
    }
    *out = a;
    a = NULL;
out:
    aecs_identity_answer_free(a);
    json_decref(doc);
    return rc;
}

int aecs_identity_answer_serialize(const struct aecs_identity_answer *answer, char **out,
                                   size_t *size)
{
    json_t *doc, *arr;
    int ok = 1;

    *out = NULL;
    *size = 0;
    ENSURE(answer != NULL && answer->evidence != NULL && answer->evidence_size >= 1 &&
               answer->evidence_size <= AECS_RELEASE_EVIDENCE_MAX,
           AECS_E_INVALID_ARGUMENT, "identity answer: evidence of 1 to %u bytes",
           AECS_RELEASE_EVIDENCE_MAX);
    ENSURE(valid_point(answer->pubkey), AECS_E_INVALID_ARGUMENT,
           "identity answer: pubkey is not a valid P-256 point");
    ENSURE(answer->service_id[0] == '\0' ||
               (strnlen(answer->service_id, sizeof(answer->service_id)) == AECS_SERVICE_ID_HEX &&
                is_lower_hex(answer->service_id, AECS_SERVICE_ID_HEX)),
           AECS_E_INVALID_ARGUMENT,
           "identity answer: service_id must be %d lowercase hex, or empty (not initialized)",
           AECS_SERVICE_ID_HEX);
    ENSURE(answer->insecure_count <= AECS_IDENTITY_INSECURE_MAX, AECS_E_INVALID_ARGUMENT,
           "identity answer: at most %d insecure options", AECS_IDENTITY_INSECURE_MAX);
    for (size_t i = 0; i < answer->insecure_count; i++)
        ENSURE(valid_str(answer->insecure[i], AECS_IDENTITY_INSECURE_NAME_MAX, valid_option) &&
                   first_equal(answer, i) == i,
               AECS_E_INVALID_ARGUMENT,
               "identity answer: insecure option %zu must be " OPTION_RULE ", given once", i);
    doc = json_object();
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < answer->insecure_count; i++) {
        if (json_array_append_new(arr, json_string(answer->insecure[i])) != 0)
            ok = 0;
    }
    set(doc, "pubkey", hex_string(answer->pubkey, AECS_P256_PUB_SIZE), &ok);
    set(doc, "evidence", base64_string(answer->evidence, answer->evidence_size), &ok);
    set(doc, "service_id", json_string(answer->service_id), &ok);
    set(doc, "insecure", arr, &ok);
    return dump(built(doc, ok), AECS_RELEASE_IDENTITY_MAX, "identity answer", out, size);
}

void aecs_identity_answer_free(struct aecs_identity_answer *answer)
{
    if (answer == NULL)
        return;
    free(answer->evidence);
    free(answer);
}

/* ---- GET .../public ---- */

#define PUBLIC_RULE "1 to 65536 bytes of text without control characters other than tab and newline"

int aecs_public_answer_parse(const char *body, size_t size, struct aecs_public_answer **out)
{
    static const char *const members[] = {"service",      "name",   "type",
                                          "content_type", "public", NULL};
    const char *W = "public answer";
    struct aecs_public_answer *a = NULL;
    json_t *doc = NULL;
    const char *s;
    size_t len;
    int rc = AECS_OK;

    *out = NULL;
    GUARD(load(body, size, AECS_RELEASE_PUBLIC_ANSWER_MAX, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    a = calloc(1, sizeof(*a));
    ENSURE_OUT(a != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(get_name(doc, W, "service", a->service));
    GUARD_OUT(get_name(doc, W, "name", a->name));
    GUARD_OUT(get_checked(doc, W, "type", a->type, sizeof(a->type), valid_type, TYPE_RULE));
    GUARD_OUT(get_checked(doc, W, "content_type", a->content_type, sizeof(a->content_type),
                          valid_content_type, CONTENT_TYPE_RULE));
    GUARD_OUT(get_string(doc, W, "public", &s, &len));
    ENSURE_OUT(valid_public(s, len), AECS_E_FORMAT, "%s: \"public\" must be " PUBLIC_RULE, W);
    a->public_data = malloc(len + 1);
    ENSURE_OUT(a->public_data != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(a->public_data, s, len + 1);
    a->public_size = len;
    *out = a;
    a = NULL;
out:
    aecs_public_answer_free(a);
    json_decref(doc);
    return rc;
}

int aecs_public_answer_serialize(const struct aecs_public_answer *answer, char **out, size_t *size)
{
    json_t *doc;
    int ok = 1;

    *out = NULL;
    *size = 0;
    ENSURE(answer != NULL, AECS_E_INVALID_ARGUMENT, "public answer: missing");
    ENSURE(valid_str(answer->service, AECS_RELEASE_NAME_MAX, valid_name) &&
               valid_str(answer->name, AECS_RELEASE_NAME_MAX, valid_name),
           AECS_E_INVALID_ARGUMENT, "public answer: names must be " NAME_RULE);
    ENSURE(valid_str(answer->type, AECS_RELEASE_TYPE_MAX, valid_type), AECS_E_INVALID_ARGUMENT,
           "public answer: type must be " TYPE_RULE);
    ENSURE(valid_str(answer->content_type, AECS_RELEASE_CONTENT_TYPE_MAX, valid_content_type),
           AECS_E_INVALID_ARGUMENT, "public answer: content_type must be " CONTENT_TYPE_RULE);
    ENSURE(answer->public_data != NULL &&
               strnlen(answer->public_data, answer->public_size + 1) == answer->public_size &&
               valid_public(answer->public_data, answer->public_size),
           AECS_E_INVALID_ARGUMENT, "public answer: the public part must be " PUBLIC_RULE);
    doc = json_object();
    set(doc, "service", json_string(answer->service), &ok);
    set(doc, "name", json_string(answer->name), &ok);
    set(doc, "type", json_string(answer->type), &ok);
    set(doc, "content_type", json_string(answer->content_type), &ok);
    set(doc, "public", json_stringn(answer->public_data, answer->public_size), &ok);
    return dump(built(doc, ok), AECS_RELEASE_PUBLIC_ANSWER_MAX, "public answer", out, size);
}

void aecs_public_answer_free(struct aecs_public_answer *answer)
{
    if (answer == NULL)
        return;
    free(answer->public_data);
    free(answer);
}

/* ---- POST /v1/cluster/join ---- */

int aecs_join_request_parse(const char *body, size_t size, struct aecs_release_request **out)
{
    static const char *const members[] = {"evidence", "pubkey", "nonce", NULL};
    const char *W = "join request";
    struct aecs_release_request *req = NULL;
    json_t *doc = NULL;
    int rc = AECS_OK;

    *out = NULL;
    GUARD(load(body, size, AECS_RELEASE_REQUEST_MAX, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    req = calloc(1, sizeof(*req));
    ENSURE_OUT(req != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(get_base64(doc, W, "evidence", 1, AECS_RELEASE_EVIDENCE_MAX, &req->evidence,
                         &req->evidence_size));
    GUARD_OUT(get_pubkey(doc, W, "pubkey", req->pubkey));
    GUARD_OUT(get_hex(doc, W, "nonce", req->nonce, AECS_RELEASE_NONCE_SIZE));
    *out = req;
    req = NULL;
out:
    aecs_release_request_free(req);
    json_decref(doc);
    return rc;
}

int aecs_join_request_serialize(const struct aecs_release_request *req, char **out, size_t *size)
{
    json_t *doc;
    int ok = 1;

    *out = NULL;
    *size = 0;
    ENSURE(req != NULL && req->evidence != NULL && req->evidence_size >= 1 &&
               req->evidence_size <= AECS_RELEASE_EVIDENCE_MAX && valid_point(req->pubkey),
           AECS_E_INVALID_ARGUMENT, "join request: evidence and a valid public key are required");
    doc = json_object();
    set(doc, "evidence", base64_string(req->evidence, req->evidence_size), &ok);
    set(doc, "pubkey", hex_string(req->pubkey, AECS_P256_PUB_SIZE), &ok);
    set(doc, "nonce", hex_string(req->nonce, AECS_RELEASE_NONCE_SIZE), &ok);
    return dump(built(doc, ok), AECS_RELEASE_REQUEST_MAX, "join request", out, size);
}

int aecs_join_answer_serialize(const char *id, const struct aecs_envelope *env, char **out,
                               size_t *size)
{
    json_t *doc, *e;
    int ok = 1;

    *out = NULL;
    *size = 0;
    ENSURE(id != NULL && strlen(id) == 32 && is_lower_hex(id, 32) && env != NULL &&
               env->ciphertext != NULL && env->size >= 1,
           AECS_E_INVALID_ARGUMENT, "join answer: a service id and an envelope are required");
    doc = json_object();
    e = json_object();
    set(e, "epk", hex_string(env->epk, AECS_P256_PUB_SIZE), &ok);
    set(e, "iv", hex_string(env->iv, AECS_ENVELOPE_IV_SIZE), &ok);
    set(e, "ciphertext", base64_string(env->ciphertext, env->size), &ok);
    set(e, "tag", hex_string(env->tag, AECS_ENVELOPE_TAG_SIZE), &ok);
    set(doc, "id", json_string(id), &ok);
    set(doc, "envelope", e, &ok);
    return dump(built(doc, ok), 64u << 10, "join answer", out, size);
}

int aecs_join_answer_parse(const char *body, size_t size, char id[33], struct aecs_envelope *env)
{
    static const char *const members[] = {"id", "envelope", NULL};
    const char *W = "join answer";
    json_t *doc = NULL, *e;
    const char *s = NULL;
    size_t len = 0;
    int rc = AECS_OK;

    memset(env, 0, sizeof(*env));
    id[0] = '\0';
    GUARD(load(body, size, 64u << 10, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    GUARD_OUT(get_string(doc, W, "id", &s, &len));
    ENSURE_OUT(len == 32 && is_lower_hex(s, 32), AECS_E_FORMAT,
               "%s: id is not 32 lowercase hex characters", W);
    e = json_object_get(doc, "envelope");
    ENSURE_OUT(json_is_object(e), AECS_E_FORMAT, "%s: envelope is not an object", W);
    GUARD_OUT(parse_envelope(e, "join answer: envelope", env));
    /* what aecs_join_answer_serialize writes: the root key's envelope is never empty */
    ENSURE_OUT(env->size >= 1, AECS_E_FORMAT, "%s: the envelope's ciphertext is empty", W);
    memcpy(id, s, 33);
out:
    if (rc != AECS_OK)
        aecs_envelope_clear(env);
    json_decref(doc);
    return rc;
}

/* ---- unseal progress shared by replicas ---- */

void aecs_unseal_binding(const char service_id[AECS_UNSEAL_ID_HEX],
                         const char replica_id[AECS_UNSEAL_ID_HEX],
                         const uint8_t pubkey[AECS_P256_PUB_SIZE],
                         uint8_t out[AECS_RELEASE_REPORT_DATA_SIZE])
{
    uint8_t buf[sizeof(AECS_UNSEAL_LABEL) + 2 * AECS_UNSEAL_ID_HEX + AECS_P256_PUB_SIZE];
    size_t at = sizeof(AECS_UNSEAL_LABEL); /* with its NUL */

    memcpy(buf, AECS_UNSEAL_LABEL, at);
    memcpy(buf + at, service_id, AECS_UNSEAL_ID_HEX);
    at += AECS_UNSEAL_ID_HEX;
    memcpy(buf + at, replica_id, AECS_UNSEAL_ID_HEX);
    at += AECS_UNSEAL_ID_HEX;
    memcpy(buf + at, pubkey, AECS_P256_PUB_SIZE);
    at += AECS_P256_PUB_SIZE;
    aecs_sha512(buf, at, out);
}

int aecs_unseal_binding_check(const uint8_t *report_data, const char service_id[AECS_UNSEAL_ID_HEX],
                              const char replica_id[AECS_UNSEAL_ID_HEX],
                              const uint8_t pubkey[AECS_P256_PUB_SIZE])
{
    uint8_t want[AECS_RELEASE_REPORT_DATA_SIZE];

    ENSURE(report_data != NULL && service_id != NULL && replica_id != NULL && pubkey != NULL,
           AECS_E_INVALID_ARGUMENT, "unseal binding: missing argument");
    aecs_unseal_binding(service_id, replica_id, pubkey, want);
    ENSURE(aecs_ct_memcmp(report_data, want, sizeof(want)) == 0, AECS_E_MISMATCH,
           "the mailbox evidence's report data is not SHA-512(\"" AECS_UNSEAL_LABEL
           "\" || 0x00 || service id || replica id || key) of this mailbox");
    return AECS_OK;
}

/* A "YYYY-MM-DDTHH:MM:SSZ" member exactly as aecs writes it, into *t. */
static int get_time(const json_t *o, const char *what, const char *key, int64_t *t)
{
    const char *s;
    size_t len;
    char again[32];
    int rc;

    GUARD(get_string(o, what, key, &s, &len));
    rc = aecs_time_parse(s, t);
    if (rc == AECS_OK)
        aecs_time_format(*t, again);
    ENSURE(rc == AECS_OK && *t >= 0 && strcmp(again, s) == 0, AECS_E_FORMAT,
           "%s: \"%s\" must be a UTC time like 2026-11-22T10:01:00Z", what, key);
    return AECS_OK;
}

int aecs_unseal_mailbox_parse(const char *body, size_t size, struct aecs_unseal_mailbox **out)
{
    static const char *const members[] = {"key", "evidence", "set", "time", NULL};
    const char *W = "unseal mailbox";
    struct aecs_unseal_mailbox *m = NULL;
    json_t *doc = NULL;
    int rc = AECS_OK;

    *out = NULL;
    GUARD(load(body, size, AECS_UNSEAL_MAILBOX_MAX, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    m = calloc(1, sizeof(*m));
    ENSURE_OUT(m != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(get_pubkey(doc, W, "key", m->pubkey));
    GUARD_OUT(get_base64(doc, W, "evidence", 1, AECS_RELEASE_EVIDENCE_MAX, &m->evidence,
                         &m->evidence_size));
    GUARD_OUT(get_hex_text(doc, W, "set", AECS_UNSEAL_SET_HEX, m->set));
    GUARD_OUT(get_time(doc, W, "time", &m->time));
    *out = m;
    m = NULL;
out:
    aecs_unseal_mailbox_free(m);
    json_decref(doc);
    return rc;
}

int aecs_unseal_mailbox_serialize(const struct aecs_unseal_mailbox *m, char **out, size_t *size)
{
    json_t *doc;
    char when[32];
    int ok = 1;

    *out = NULL;
    *size = 0;
    ENSURE(m != NULL && m->evidence != NULL && m->evidence_size >= 1 &&
               m->evidence_size <= AECS_RELEASE_EVIDENCE_MAX && valid_point(m->pubkey) &&
               strnlen(m->set, sizeof(m->set)) == AECS_UNSEAL_SET_HEX &&
               is_lower_hex(m->set, AECS_UNSEAL_SET_HEX) && m->time >= 0,
           AECS_E_INVALID_ARGUMENT,
           "unseal mailbox: a valid key, evidence, a set id and a time are required");
    aecs_time_format(m->time, when);
    doc = json_object();
    set(doc, "key", hex_string(m->pubkey, AECS_P256_PUB_SIZE), &ok);
    set(doc, "evidence", base64_string(m->evidence, m->evidence_size), &ok);
    set(doc, "set", json_string(m->set), &ok);
    set(doc, "time", json_string(when), &ok);
    return dump(built(doc, ok), AECS_UNSEAL_MAILBOX_MAX, "unseal mailbox", out, size);
}

void aecs_unseal_mailbox_free(struct aecs_unseal_mailbox *m)
{
    if (m == NULL)
        return;
    free(m->evidence);
    free(m);
}

int aecs_unseal_box_serialize(const char *from, const struct aecs_envelope *env, char **out,
                              size_t *size)
{
    json_t *doc, *e;
    int ok = 1;

    *out = NULL;
    *size = 0;
    ENSURE(from != NULL && strnlen(from, AECS_UNSEAL_ID_HEX + 1) == AECS_UNSEAL_ID_HEX &&
               is_lower_hex(from, AECS_UNSEAL_ID_HEX) && env != NULL &&
               env->ciphertext != NULL && env->size >= 1 &&
               env->size <= AECS_UNSEAL_BOX_PLAIN_MAX && valid_point(env->epk),
           AECS_E_INVALID_ARGUMENT, "forwarded share: a sender id and an envelope are required");
    doc = json_object();
    e = json_object();
    set(e, "epk", hex_string(env->epk, AECS_P256_PUB_SIZE), &ok);
    set(e, "iv", hex_string(env->iv, AECS_ENVELOPE_IV_SIZE), &ok);
    set(e, "ciphertext", base64_string(env->ciphertext, env->size), &ok);
    set(e, "tag", hex_string(env->tag, AECS_ENVELOPE_TAG_SIZE), &ok);
    set(doc, "from", json_string(from), &ok);
    set(doc, "envelope", e, &ok);
    return dump(built(doc, ok), AECS_UNSEAL_BOX_MAX, "forwarded share", out, size);
}

int aecs_unseal_box_parse(const char *body, size_t size, char from[AECS_UNSEAL_ID_HEX + 1],
                          struct aecs_envelope *env)
{
    static const char *const members[] = {"from", "envelope", NULL};
    const char *W = "forwarded share";
    json_t *doc = NULL, *e;
    const char *s = NULL;
    size_t len = 0;
    int rc = AECS_OK;

    memset(env, 0, sizeof(*env));
    from[0] = '\0';
    GUARD(load(body, size, AECS_UNSEAL_BOX_MAX, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    GUARD_OUT(get_string(doc, W, "from", &s, &len));
    ENSURE_OUT(len == AECS_UNSEAL_ID_HEX && is_lower_hex(s, len), AECS_E_FORMAT,
               "%s: \"from\" is not %d lowercase hex characters", W, AECS_UNSEAL_ID_HEX);
    e = json_object_get(doc, "envelope");
    ENSURE_OUT(json_is_object(e), AECS_E_FORMAT, "%s: \"envelope\" is missing or not an object",
               W);
    GUARD_OUT(parse_envelope(e, "forwarded share: envelope", env));
    ENSURE_OUT(env->size >= 1 && env->size <= AECS_UNSEAL_BOX_PLAIN_MAX, AECS_E_FORMAT,
               "%s: the ciphertext must hold 1 to %u bytes", W, AECS_UNSEAL_BOX_PLAIN_MAX);
    memcpy(from, s, len + 1);
out:
    if (rc != AECS_OK)
        aecs_envelope_clear(env);
    json_decref(doc);
    return rc;
}

int aecs_unseal_share_binding(const char *service_id, const char *recipient, const char *set,
                              unsigned index, uint64_t epoch,
                              struct aecs_unseal_share_binding *out)
{
    uint8_t head[sizeof(AECS_UNSEAL_SHARE_LABEL)];
    uint8_t tail[1 + 8];
    struct aecs_bytes parts[5];

    memset(out, 0, sizeof(*out));
    ENSURE(service_id != NULL && recipient != NULL && set != NULL &&
               strnlen(service_id, AECS_UNSEAL_ID_HEX + 1) == AECS_UNSEAL_ID_HEX &&
               is_lower_hex(service_id, AECS_UNSEAL_ID_HEX) &&
               strnlen(recipient, AECS_UNSEAL_ID_HEX + 1) == AECS_UNSEAL_ID_HEX &&
               is_lower_hex(recipient, AECS_UNSEAL_ID_HEX) &&
               strnlen(set, AECS_UNSEAL_SET_HEX + 1) == AECS_UNSEAL_SET_HEX &&
               is_lower_hex(set, AECS_UNSEAL_SET_HEX) && index >= 1 && index <= 255,
           AECS_E_INVALID_ARGUMENT, "forwarded share binding: malformed ids, set or index");
    memcpy(head, AECS_UNSEAL_SHARE_LABEL, sizeof(head)); /* with its NUL */
    tail[0] = (uint8_t)index;
    for (int i = 0; i < 8; i++)
        tail[1 + i] = (uint8_t)(epoch >> (56 - 8 * i));
    parts[0] = (struct aecs_bytes){head, sizeof(head)};
    parts[1] = (struct aecs_bytes){service_id, AECS_UNSEAL_ID_HEX};
    parts[2] = (struct aecs_bytes){recipient, AECS_UNSEAL_ID_HEX};
    parts[3] = (struct aecs_bytes){set, AECS_UNSEAL_SET_HEX};
    parts[4] = (struct aecs_bytes){tail, sizeof(tail)};
    GUARD(aecs_sha256_parts(parts, 5, out->nonce));
    memcpy(out->service, service_id, AECS_UNSEAL_ID_HEX);
    snprintf(out->name, sizeof(out->name), "%.32s.%u", recipient, index);
    snprintf(out->type, sizeof(out->type), AECS_UNSEAL_SHARE_TYPE ".%.8s.%llu", set,
             (unsigned long long)epoch);
    out->b.nonce = out->nonce;
    out->b.service = out->service;
    out->b.name = out->name;
    out->b.type = out->type;
    return AECS_OK;
}

/* ---- admin init and unseal, sealed to the identity key ---- */

static int check_service_id(const char *id)
{
    ENSURE(id != NULL && strnlen(id, AECS_UNSEAL_ID_HEX + 1) == AECS_UNSEAL_ID_HEX &&
               is_lower_hex(id, AECS_UNSEAL_ID_HEX),
           AECS_E_INVALID_ARGUMENT,
           "share binding: the service id must be %d lowercase hex "
           "characters",
           AECS_UNSEAL_ID_HEX);
    return AECS_OK;
}

int aecs_admin_share_binding(const char *service_id, struct aecs_admin_share_binding *out)
{
    struct aecs_bytes parts[2];

    memset(out, 0, sizeof(*out));
    GUARD(check_service_id(service_id));
    parts[0] = (struct aecs_bytes){AECS_ADMIN_SHARE_LABEL, sizeof(AECS_ADMIN_SHARE_LABEL)};
    parts[1] = (struct aecs_bytes){service_id, AECS_UNSEAL_ID_HEX};
    GUARD(aecs_sha256_parts(parts, 2, out->nonce));
    memcpy(out->service, service_id, AECS_UNSEAL_ID_HEX);
    snprintf(out->name, sizeof(out->name), "%s", AECS_ADMIN_SHARE_NAME);
    out->b.nonce = out->nonce;
    out->b.service = out->service;
    out->b.name = out->name;
    out->b.type = AECS_ADMIN_SHARE_TYPE;
    return AECS_OK;
}

int aecs_init_share_binding(const char *service_id, unsigned index,
                            const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                            struct aecs_admin_share_binding *out)
{
    uint8_t i8;
    struct aecs_bytes parts[4];

    memset(out, 0, sizeof(*out));
    GUARD(check_service_id(service_id));
    ENSURE(index >= 1 && index <= AECS_INIT_SHARES_MAX && nonce != NULL, AECS_E_INVALID_ARGUMENT,
           "init share binding: index %u (1..%d) or no nonce", index, AECS_INIT_SHARES_MAX);
    i8 = (uint8_t)index;
    parts[0] = (struct aecs_bytes){AECS_INIT_SHARE_LABEL, sizeof(AECS_INIT_SHARE_LABEL)};
    parts[1] = (struct aecs_bytes){service_id, AECS_UNSEAL_ID_HEX};
    parts[2] = (struct aecs_bytes){&i8, 1};
    parts[3] = (struct aecs_bytes){nonce, AECS_RELEASE_NONCE_SIZE};
    GUARD(aecs_sha256_parts(parts, 4, out->nonce));
    memcpy(out->service, service_id, AECS_UNSEAL_ID_HEX);
    snprintf(out->name, sizeof(out->name), "share-%u", index);
    out->b.nonce = out->nonce;
    out->b.service = out->service;
    out->b.name = out->name;
    out->b.type = AECS_INIT_SHARE_TYPE;
    return AECS_OK;
}

/* An envelope as JSON, or NULL when out of memory. */
static json_t *envelope_json(const struct aecs_envelope *env)
{
    json_t *e = json_object();
    int ok = 1;

    set(e, "epk", hex_string(env->epk, AECS_P256_PUB_SIZE), &ok);
    set(e, "iv", hex_string(env->iv, AECS_ENVELOPE_IV_SIZE), &ok);
    set(e, "ciphertext", base64_string(env->ciphertext, env->size), &ok);
    set(e, "tag", hex_string(env->tag, AECS_ENVELOPE_TAG_SIZE), &ok);
    return built(e, ok);
}

/* A sealed share's envelope: an object, parsed, with 1..AECS_ADMIN_SHARE_PLAIN_MAX bytes. */
static int parse_share_envelope(const json_t *e, const char *what, struct aecs_envelope *env)
{
    ENSURE(json_is_object(e), AECS_E_FORMAT, "%s: must be an object", what);
    GUARD(parse_envelope(e, what, env));
    if (env->size < 1 || env->size > AECS_ADMIN_SHARE_PLAIN_MAX) {
        aecs_envelope_clear(env);
        return AECS_ERR(AECS_E_FORMAT, "%s: the ciphertext must hold 1 to %u bytes", what,
                        AECS_ADMIN_SHARE_PLAIN_MAX);
    }
    return AECS_OK;
}

static int valid_share_envelope(const struct aecs_envelope *env)
{
    return env != NULL && env->ciphertext != NULL && env->size >= 1 &&
           env->size <= AECS_ADMIN_SHARE_PLAIN_MAX && valid_point(env->epk);
}

int aecs_unseal_request_parse(const char *body, size_t size, struct aecs_unseal_request *out)
{
    static const char *const members[] = {"share_sealed", "reset", "share", NULL};
    const char *W = "unseal request";
    json_t *doc = NULL, *reset;
    int rc = AECS_OK;

    memset(out, 0, sizeof(*out));
    GUARD(load(body, size, AECS_UNSEAL_REQUEST_MAX, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    reset = json_object_get(doc, "reset");
    ENSURE_OUT(reset == NULL || json_is_true(reset), AECS_E_FORMAT, "%s: \"reset\" must be true",
               W);
    if (json_object_get(doc, "share") != NULL) {
        /* An older client's share in clear: recognized, never read. */
        ENSURE_OUT(json_object_size(doc) == 1, AECS_E_FORMAT,
                   "%s: \"share\" (a share in clear) goes alone", W);
        out->kind = AECS_UNSEAL_REQUEST_PLAIN;
        goto out;
    }
    /*
     * A reset is not authenticated by an admin key (a sealed service cannot
     * read them), so it proves instead that the caller holds a share: without
     * one, anyone could keep a cluster sealed by resetting it again and again.
     */
    ENSURE_OUT(reset == NULL || json_object_size(doc) == 2, AECS_E_FORMAT,
               "%s: a reset must carry a sealed share (\"share_sealed\"), which proves that the "
               "caller holds one of the service's shares",
               W);
    ENSURE_OUT(json_object_get(doc, "share_sealed") != NULL, AECS_E_FORMAT,
               "%s: must hold \"share_sealed\" (and \"reset\": true for a reset)", W);
    GUARD_OUT(parse_share_envelope(json_object_get(doc, "share_sealed"),
                                   "unseal request: share_sealed", &out->share));
    out->kind = reset != NULL ? AECS_UNSEAL_REQUEST_RESET : AECS_UNSEAL_REQUEST_SEALED;
out:
    if (rc != AECS_OK)
        memset(out, 0, sizeof(*out));
    aecs_json_wipe(doc); /* an older client's share in clear */
    json_decref(doc);
    return rc;
}

int aecs_unseal_request_serialize(const struct aecs_unseal_request *ur, char **out, size_t *size)
{
    json_t *doc;
    int ok = 1;

    *out = NULL;
    *size = 0;
    ENSURE(ur->kind == AECS_UNSEAL_REQUEST_SEALED || ur->kind == AECS_UNSEAL_REQUEST_RESET,
           AECS_E_INVALID_ARGUMENT, "unseal request: only a sealed share or a reset is sent");
    ENSURE(valid_share_envelope(&ur->share), AECS_E_INVALID_ARGUMENT,
           "unseal request: an envelope of 1 to %u bytes is required", AECS_ADMIN_SHARE_PLAIN_MAX);
    doc = json_object();
    if (ur->kind == AECS_UNSEAL_REQUEST_RESET)
        set(doc, "reset", json_true(), &ok);
    set(doc, "share_sealed", envelope_json(&ur->share), &ok);
    return dump(built(doc, ok), AECS_UNSEAL_REQUEST_MAX, "unseal request", out, size);
}

void aecs_init_answer_free(struct aecs_init_answer *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < AECS_INIT_SHARES_MAX; i++)
        aecs_envelope_clear(&a->shares[i]);
    free(a);
}

int aecs_init_answer_parse(const char *body, size_t size, struct aecs_init_answer **out)
{
    static const char *const members[] = {"id", "admin", "threshold", "shares", NULL};
    static const char *const share_members[] = {"index", "envelope", NULL};
    const char *W = "init answer";
    struct aecs_init_answer *a = NULL;
    json_t *doc = NULL, *arr = NULL, *e, *v;
    size_t i;
    char what[64];
    int rc = AECS_OK;

    *out = NULL;
    GUARD(load(body, size, AECS_INIT_ANSWER_MAX, W, &doc));
    GUARD_OUT(only_members(doc, W, members));
    a = calloc(1, sizeof(*a));
    ENSURE_OUT(a != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(get_hex_text(doc, W, "id", AECS_UNSEAL_ID_HEX, a->id));
    GUARD_OUT(get_hex_text(doc, W, "admin", AECS_ADMIN_KEY_ID_HEX, a->admin));
    GUARD_OUT(get_array(doc, W, "shares", 2, AECS_INIT_SHARES_MAX, &arr));
    a->count = json_array_size(arr);
    v = json_object_get(doc, "threshold");
    ENSURE_OUT(json_is_integer(v) && json_integer_value(v) >= 2 &&
                   json_integer_value(v) <= (json_int_t)a->count,
               AECS_E_FORMAT, "%s: \"threshold\" must be an integer from 2 to the number of shares",
               W);
    a->threshold = (unsigned)json_integer_value(v);
    json_array_foreach(arr, i, e)
    {
        snprintf(what, sizeof(what), "%s: shares[%zu]", W, i);
        GUARD_OUT(only_members(e, what, share_members));
        v = json_object_get(e, "index");
        /* Each share says its index, and the list is in index order: nothing to reorder. */
        ENSURE_OUT(json_is_integer(v) && json_integer_value(v) == (json_int_t)(i + 1),
                   AECS_E_FORMAT, "%s: \"index\" must be %zu", what, i + 1);
        snprintf(what, sizeof(what), "%s: shares[%zu]: envelope", W, i);
        GUARD_OUT(parse_share_envelope(json_object_get(e, "envelope"), what, &a->shares[i]));
    }
    *out = a;
    a = NULL;
out:
    aecs_init_answer_free(a);
    json_decref(doc);
    return rc;
}

int aecs_init_answer_serialize(const struct aecs_init_answer *a, char **out, size_t *size)
{
    json_t *doc, *arr;
    int ok = 1;

    *out = NULL;
    *size = 0;
    ENSURE(a != NULL && a->count >= 2 && a->count <= AECS_INIT_SHARES_MAX && a->threshold >= 2 &&
               a->threshold <= a->count && strnlen(a->id, sizeof(a->id)) == AECS_UNSEAL_ID_HEX &&
               is_lower_hex(a->id, AECS_UNSEAL_ID_HEX) &&
               strnlen(a->admin, sizeof(a->admin)) == AECS_ADMIN_KEY_ID_HEX &&
               is_lower_hex(a->admin, AECS_ADMIN_KEY_ID_HEX),
           AECS_E_INVALID_ARGUMENT,
           "init answer: a service id, an admin key id and 2 to %d shares "
           "of a threshold from 2 to their number are required",
           AECS_INIT_SHARES_MAX);
    for (size_t i = 0; i < a->count; i++)
        ENSURE(valid_share_envelope(&a->shares[i]), AECS_E_INVALID_ARGUMENT,
               "init answer: share %zu: an envelope of 1 to %u bytes is required", i + 1,
               AECS_ADMIN_SHARE_PLAIN_MAX);
    doc = json_object();
    arr = json_array();
    for (size_t i = 0; i < a->count; i++) {
        json_t *e = json_object();
        set(e, "index", json_integer((json_int_t)(i + 1)), &ok);
        set(e, "envelope", envelope_json(&a->shares[i]), &ok);
        if (arr == NULL)
            json_decref(e);
        if (e == NULL || arr == NULL || json_array_append_new(arr, e) != 0)
            ok = 0;
    }
    set(doc, "id", json_string(a->id), &ok);
    set(doc, "admin", json_string(a->admin), &ok);
    set(doc, "threshold", json_integer((json_int_t)a->threshold), &ok);
    set(doc, "shares", arr, &ok);
    return dump(built(doc, ok), AECS_INIT_ANSWER_MAX, "init answer", out, size);
}
