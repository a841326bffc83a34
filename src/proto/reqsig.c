/*
 * reqsig.c - the string a signed admin request's signature covers; see
 * reqsig.h and docs/api.md ("Signed admin requests").
 *
 * Every field is checked before anything is written, so the string can be
 * split back into its lines unambiguously: no field may hold a newline, and
 * the hex fields have fixed lengths. The body enters only as its SHA-256.
 */
#include "proto/reqsig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "crypto/crypto.h"
#include "crypto/sigkey.h"

/* Longest method accepted ("OPTIONS" is 7; leave room). */
#define METHOD_MAX 16

int aecs_reqsig_check_hex(const char *s, size_t len, const char *what)
{
    size_t n;

    ENSURE(s != NULL, AECS_E_INVALID_ARGUMENT, "reqsig: no %s given", what);
    n = strnlen(s, len + 1);
    ENSURE(n == len, AECS_E_INVALID_ARGUMENT,
           "reqsig: %s must be %zu lowercase hex digits (got %s%zu characters)", what, len,
           n > len ? "more than " : "", n > len ? len : n);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        ENSURE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), AECS_E_INVALID_ARGUMENT,
               "reqsig: %s must be %zu lowercase hex digits (character %zu is not one)", what, len,
               i + 1);
    }
    return AECS_OK;
}

static int check_method(const char *method)
{
    size_t n;

    ENSURE(method != NULL, AECS_E_INVALID_ARGUMENT, "reqsig: no method given");
    n = strnlen(method, METHOD_MAX + 1);
    ENSURE(n > 0 && n <= METHOD_MAX, AECS_E_INVALID_ARGUMENT,
           "reqsig: method must be 1 to %d upper-case letters", METHOD_MAX);
    for (size_t i = 0; i < n; i++)
        ENSURE(method[i] >= 'A' && method[i] <= 'Z', AECS_E_INVALID_ARGUMENT,
               "reqsig: method must be upper-case letters (GET, POST, DELETE)");
    return AECS_OK;
}

/*
 * The target must start with '/' and be printable ASCII without spaces: what
 * an HTTP request line can carry as is. Non-ASCII bytes are refused as well,
 * since the signed string is ASCII (docs/api.md).
 */
static int check_target(const char *target)
{
    ENSURE(target != NULL, AECS_E_INVALID_ARGUMENT, "reqsig: no target given");
    ENSURE(target[0] == '/', AECS_E_INVALID_ARGUMENT,
           "reqsig: target must start with '/' (the path and query as sent)");
    for (const unsigned char *p = (const unsigned char *)target; *p != '\0'; p++) {
        ENSURE(*p > 0x20 && *p < 0x7f, AECS_E_INVALID_ARGUMENT,
               "reqsig: target holds a space, a control character or a non-ASCII byte at "
               "offset %zu",
               (size_t)(p - (const unsigned char *)target));
    }
    return AECS_OK;
}

int aecs_reqsig_canonical(const struct aecs_reqsig_fields *f, char **out, size_t *size)
{
    uint8_t digest[32];
    char body_hex[65];
    char *buf = NULL;
    int n;

    *out = NULL;
    *size = 0;
    ENSURE(f != NULL, AECS_E_INVALID_ARGUMENT, "reqsig: no fields given");
    GUARD(check_method(f->method));
    GUARD(check_target(f->target));
    /* An init is signed before the service has an id: the line is empty then. */
    ENSURE(f->service_id != NULL, AECS_E_INVALID_ARGUMENT, "reqsig: no service id given");
    if (f->service_id[0] != '\0')
        GUARD(aecs_reqsig_check_hex(f->service_id, AECS_REQSIG_SERVICE_ID_HEX, "service id"));
    ENSURE(f->body != NULL || f->body_size == 0, AECS_E_INVALID_ARGUMENT,
           "reqsig: body of %zu bytes given without its bytes", f->body_size);
    ENSURE(f->timestamp >= 0, AECS_E_INVALID_ARGUMENT, "reqsig: timestamp is negative");
    GUARD(aecs_reqsig_check_hex(f->nonce, AECS_REQSIG_NONCE_HEX, "nonce"));
    GUARD(aecs_reqsig_check_hex(f->key_id, AECS_SIGKEY_ID_HEX, "key id"));

    aecs_sha256(f->body_size > 0 ? (const void *)f->body : (const void *)"", f->body_size, digest);
    aecs_hex_encode(digest, sizeof(digest), body_hex);
    n = snprintf(NULL, 0, "%s\n%s\n%s\n%s\n%s\n%" PRId64 "\n%s\n%s", AECS_REQSIG_LABEL, f->method,
                 f->target, f->service_id, body_hex, f->timestamp, f->nonce, f->key_id);
    ENSURE(n > 0, AECS_E_INTERNAL, "reqsig: cannot format the signed string");
    buf = malloc((size_t)n + 1);
    ENSURE(buf != NULL, AECS_E_NO_MEMORY, "out of memory");
    snprintf(buf, (size_t)n + 1, "%s\n%s\n%s\n%s\n%s\n%" PRId64 "\n%s\n%s", AECS_REQSIG_LABEL,
             f->method, f->target, f->service_id, body_hex, f->timestamp, f->nonce, f->key_id);
    *out = buf;
    *size = (size_t)n;
    return AECS_OK;
}
