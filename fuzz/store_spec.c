/*
 * store_spec.c - libFuzzer target for the store's input checks: the store
 * spec parser ("sqlite:PATH", "etcd:ENDPOINTS[?OPTIONS]", whose parts are
 * checked again here) and the key check that every key, prefix and cursor
 * goes through (the server passes request paths to it). Whatever the bytes: no crash, no leak, and what is accepted has the
 * properties store.h promises, checked here by code of its own.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "store/store.h"

#include "fuzz_text.h"

/* Well-formed UTF-8 with no C0/DEL/C1 control, decoded by code point (not by the store's table). */
static int printable_utf8(const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint32_t cp;
        size_t len;
        if (p[i] < 0x80) {
            cp = p[i];
            len = 1;
        } else if ((p[i] & 0xe0) == 0xc0) {
            cp = p[i] & 0x1f;
            len = 2;
        } else if ((p[i] & 0xf0) == 0xe0) {
            cp = p[i] & 0x0f;
            len = 3;
        } else if ((p[i] & 0xf8) == 0xf0) {
            cp = p[i] & 0x07;
            len = 4;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return 0;
        i += len;
    }
    return 1;
}

/* A span lies inside [lo, hi) and holds none of the bytes in `stop`. */
static int span_ok(struct aecs_store_span sp, const char *lo, const char *hi, const char *stop)
{
    if (sp.len == 0)
        return 1;
    if (sp.p < lo || sp.p + sp.len > hi)
        return 0;
    for (size_t i = 0; i < sp.len; i++) {
        if (strchr(stop, sp.p[i]) != NULL)
            return 0;
    }
    return 1;
}

/* What an accepted etcd location must look like, checked by code of its own. */
static void check_etcd(const char *loc)
{
    struct aecs_store_etcd_spec e;
    const char *end = loc + strlen(loc);

    if (aecs_store_etcd_spec_parse(loc, &e) != AECS_OK)
        abort(); /* aecs_store_spec_parse accepted it */
    if (e.endpoint_count < 1 || e.endpoint_count > AECS_STORE_ETCD_MAX_ENDPOINTS)
        abort();
    for (size_t i = 0; i < e.endpoint_count; i++) {
        struct aecs_store_span ep = e.endpoints[i];
        const char *scheme = e.tls ? "https://" : "http://";
        if (ep.len <= strlen(scheme) || strncmp(ep.p, scheme, strlen(scheme)) != 0)
            abort();
        struct aecs_store_span rest = {ep.p + strlen(scheme), ep.len - strlen(scheme)};
        if (!span_ok(rest, loc, end, ",?&@/ ") || rest.p[rest.len - 1] < '0' ||
            rest.p[rest.len - 1] > '9')
            abort();
    }
    const struct aecs_store_span opts[] = {e.cacert, e.cert, e.key, e.user, e.password_file};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (!span_ok(opts[i], loc, end, "&"))
            abort();
    }
    if ((e.cert.len == 0) != (e.key.len == 0) || (e.user.len == 0) != (e.password_file.len == 0))
        abort();
    if (!e.tls && (e.cacert.len != 0 || e.cert.len != 0))
        abort();
    if (e.timeout_ms < 100 || e.timeout_ms > 600000 || e.connect_timeout_ms < 100 ||
        e.connect_timeout_ms > 60000)
        abort();
    /* a password is never taken from a spec */
    const char *q = strchr(loc, '?');
    if (q != NULL && (strstr(q, "?password=") != NULL || strstr(q, "&password=") != NULL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aecs_store_spec spec;
    char *s = fuzz_text(data, size);

    if (s == NULL)
        return 0;
    size_t len = strlen(s); /* up to an embedded NUL */

    if (aecs_store_spec_parse(s, &spec) == AECS_OK) {
        if (spec.location < s || spec.location > s + len || spec.location[0] == '\0')
            abort();
        if (spec.kind == AECS_STORE_BACKEND_SQLITE && strncmp(s, "sqlite:", 7) != 0)
            abort();
        if (spec.kind == AECS_STORE_BACKEND_ETCD && strncmp(s, "etcd:", 5) != 0)
            abort();
        for (const char *p = spec.location; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                abort();
        }
        if (spec.kind == AECS_STORE_BACKEND_ETCD)
            check_etcd(spec.location);
    }

    int ok = aecs_store_key_check(s) == AECS_OK;
    int want = len >= 1 && len <= AECS_STORE_KEY_MAX && s[0] == '/' &&
               printable_utf8((const unsigned char *)s, len);
    if (ok != want)
        abort();
    if (ok) {
        /* the prefix end bounds exactly the strings that start with the key */
        char end[AECS_STORE_KEY_MAX + 1];
        char longer[AECS_STORE_KEY_MAX + 3];
        if (aecs_store_prefix_end(s, end, sizeof(end)) != 0)
            abort();
        snprintf(longer, sizeof(longer), "%s\xff\xff", s);
        if (strcmp(s, end) >= 0 || strcmp(longer, end) >= 0)
            abort();
        if (strncmp(end, s, len) == 0) /* end itself does not start with the key */
            abort();
    }
    free(s);
    return 0;
}
