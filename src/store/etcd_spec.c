/*
 * etcd_spec.c - the grammar of an etcd store spec (what follows "etcd:"),
 * cut into endpoints and options without any I/O, so that
 * aecs_store_spec_parse can refuse a bad spec before anything is opened
 * (and the fuzzer can run it).
 *
 *   ENDPOINTS [ "?" OPTION *( "&" OPTION ) ]
 *   ENDPOINTS = ENDPOINT *( "," ENDPOINT )        at most 16, no repeats
 *   ENDPOINT  = ( "http://" / "https://" ) HOST ":" PORT
 *   HOST      = letters, digits, '-' and '.', or "[" IPv6 address "]"
 *   PORT      = 1..65535
 *   OPTION    = NAME "=" VALUE (VALUE not empty, no '?'; each NAME at most once)
 *
 * Names: cacert, cert, key (TLS: every endpoint https://; cert and key
 * together), user and password-file (together), timeout and connect-timeout
 * (milliseconds). A password itself is never part of a spec: specs end up
 * in command lines, unit files and logs. URLs carry no user, path or query:
 * everything goes through the options above.
 */
#include <string.h>

#include "store/backend.h"

#define SPAN_SHOWN 100 /* bytes of a rejected piece shown in a message */
#define TIMEOUT_MIN_MS 100L
#define TIMEOUT_MAX_MS 600000L
#define CONNECT_TIMEOUT_MAX_MS 60000L
#define HOST_MAX 253

#define SPEC_ERR(...) AECS_ERR(AECS_E_INVALID_ARGUMENT, __VA_ARGS__)

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
           c == '.';
}

static int is_ipv6_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

/* A decimal number of at most 9 digits in [min, max]; -1 when it is not one. */
static long parse_number(const char *p, size_t len, long min, long max)
{
    long v = 0;

    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v >= min && v <= max ? v : -1;
}

static int span_eq(struct aecs_store_span a, struct aecs_store_span b)
{
    return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* Checks one endpoint (n: its position, from 1, for messages) and records it. */
static int parse_endpoint(const char *p, size_t len, size_t n, struct aecs_store_etcd_spec *out)
{
    size_t i;
    int tls;

    ENSURE(len > 0, AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: endpoint %zu is empty (expected %s)", n, AECS_STORE_ETCD_FORM);
    ENSURE(out->endpoint_count < AECS_STORE_ETCD_MAX_ENDPOINTS, AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: more than %d endpoints", AECS_STORE_ETCD_MAX_ENDPOINTS);
    if (len > 7 && memcmp(p, "http://", 7) == 0) {
        tls = 0;
        i = 7;
    } else if (len > 8 && memcmp(p, "https://", 8) == 0) {
        tls = 1;
        i = 8;
    } else {
        return SPEC_ERR("store: etcd spec: endpoint %zu '%.*s' does not start with http:// or "
                        "https:// (expected %s)",
                        n, (int)(len < SPAN_SHOWN ? len : SPAN_SHOWN), p, AECS_STORE_ETCD_FORM);
    }
    ENSURE(out->endpoint_count == 0 || out->tls == tls, AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: endpoints mix http:// and https://");
    out->tls = tls;

    size_t host = i;
    if (p[i] == '[') {
        i++;
        while (i < len && is_ipv6_char(p[i]))
            i++;
        ENSURE(i < len && p[i] == ']' && i > host + 1, AECS_E_INVALID_ARGUMENT,
               "store: etcd spec: endpoint %zu has a malformed IPv6 address (expected [ADDRESS])",
               n);
        i++;
    } else {
        while (i < len && is_host_char(p[i]))
            i++;
        ENSURE(i > host, AECS_E_INVALID_ARGUMENT, "store: etcd spec: endpoint %zu has no host",
               n);
    }
    ENSURE(i - host <= HOST_MAX, AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: endpoint %zu has a host longer than %d bytes", n, HOST_MAX);
    ENSURE(i < len && p[i] == ':', AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: endpoint %zu '%.*s' needs HOST:PORT (no user, path or other "
           "characters; etcd's client port is usually 2379)",
           n, (int)(len < SPAN_SHOWN ? len : SPAN_SHOWN), p);
    i++;
    ENSURE(parse_number(p + i, len - i, 1, 65535) > 0, AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: endpoint %zu has a port that is not a number from 1 to 65535", n);

    struct aecs_store_span ep = {p, len};
    for (size_t k = 0; k < out->endpoint_count; k++) {
        ENSURE(!span_eq(out->endpoints[k], ep), AECS_E_INVALID_ARGUMENT,
               "store: etcd spec: endpoint %zu repeats endpoint %zu", n, k + 1);
    }
    out->endpoints[out->endpoint_count++] = ep;
    return AECS_OK;
}

static int parse_endpoints(const char *p, size_t len, struct aecs_store_etcd_spec *out)
{
    const char *end = p + len;

    ENSURE(len > 0, AECS_E_INVALID_ARGUMENT, "store: etcd spec names no endpoint (expected %s)",
           AECS_STORE_ETCD_FORM);
    for (size_t n = 1;; n++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        GUARD(parse_endpoint(p, (size_t)(stop - p), n, out));
        if (comma == NULL)
            return AECS_OK;
        p = comma + 1;
    }
}

/* Sets a span option once. */
static int set_once(struct aecs_store_span *slot, const char *name, const char *v, size_t vlen)
{
    ENSURE(slot->len == 0, AECS_E_INVALID_ARGUMENT, "store: etcd spec: option %s given twice",
           name);
    slot->p = v;
    slot->len = vlen;
    return AECS_OK;
}

static int parse_option(const char *p, size_t len, struct aecs_store_etcd_spec *out, int *seen)
{
    const char *eq = memchr(p, '=', len);

    ENSURE(eq != NULL && eq > p, AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: option '%.*s' is not NAME=VALUE (expected %s)",
           (int)(len < SPAN_SHOWN ? len : SPAN_SHOWN), p, AECS_STORE_ETCD_FORM);
    size_t nlen = (size_t)(eq - p);
    const char *v = eq + 1;
    size_t vlen = len - nlen - 1;

#define NAME_IS(s) (nlen == strlen(s) && memcmp(p, (s), nlen) == 0)
    if (NAME_IS("password")) {
        return SPEC_ERR("store: etcd spec: a password is never given in a spec (specs end up in "
                        "command lines and logs): put it in a file only the service can read "
                        "and give password-file=FILE");
    }
    ENSURE(vlen > 0, AECS_E_INVALID_ARGUMENT, "store: etcd spec: option %.*s has no value",
           (int)(nlen < SPAN_SHOWN ? nlen : SPAN_SHOWN), p);
    /* one '?' only, so that "...?password=..." can never hide inside another option */
    ENSURE(memchr(v, '?', vlen) == NULL, AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: option %.*s has a second '?' in its value",
           (int)(nlen < SPAN_SHOWN ? nlen : SPAN_SHOWN), p);
    if (NAME_IS("cacert"))
        return set_once(&out->cacert, "cacert", v, vlen);
    if (NAME_IS("cert"))
        return set_once(&out->cert, "cert", v, vlen);
    if (NAME_IS("key"))
        return set_once(&out->key, "key", v, vlen);
    if (NAME_IS("user"))
        return set_once(&out->user, "user", v, vlen);
    if (NAME_IS("password-file"))
        return set_once(&out->password_file, "password-file", v, vlen);
    if (NAME_IS("timeout") || NAME_IS("connect-timeout")) {
        int connect = NAME_IS("connect-timeout");
        long max = connect ? CONNECT_TIMEOUT_MAX_MS : TIMEOUT_MAX_MS;
        int bit = connect ? 2 : 1;
        ENSURE((*seen & bit) == 0, AECS_E_INVALID_ARGUMENT,
               "store: etcd spec: option %s given twice", connect ? "connect-timeout" : "timeout");
        *seen |= bit;
        long ms = parse_number(v, vlen, TIMEOUT_MIN_MS, max);
        ENSURE(ms > 0, AECS_E_INVALID_ARGUMENT,
               "store: etcd spec: %s is not a number of milliseconds from %ld to %ld",
               connect ? "connect-timeout" : "timeout", TIMEOUT_MIN_MS, max);
        if (connect)
            out->connect_timeout_ms = ms;
        else
            out->timeout_ms = ms;
        return AECS_OK;
    }
    if (NAME_IS("connections")) {
        ENSURE((*seen & 4) == 0, AECS_E_INVALID_ARGUMENT,
               "store: etcd spec: option connections given twice");
        *seen |= 4;
        long n = parse_number(v, vlen, 1, AECS_STORE_ETCD_MAX_CONNECTIONS);
        ENSURE(n > 0, AECS_E_INVALID_ARGUMENT,
               "store: etcd spec: connections is not a number from 1 to %d",
               AECS_STORE_ETCD_MAX_CONNECTIONS);
        out->connections = (size_t)n;
        return AECS_OK;
    }
#undef NAME_IS
    return SPEC_ERR("store: etcd spec: unknown option '%.*s' (expected %s)",
                    (int)(nlen < SPAN_SHOWN ? nlen : SPAN_SHOWN), p, AECS_STORE_ETCD_FORM);
}

static int parse_options(const char *p, size_t len, struct aecs_store_etcd_spec *out)
{
    const char *end = p + len;
    int seen = 0;

    ENSURE(len > 0, AECS_E_INVALID_ARGUMENT, "store: etcd spec: nothing after '?' (expected %s)",
           AECS_STORE_ETCD_FORM);
    for (;;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        GUARD(parse_option(p, (size_t)(stop - p), out, &seen));
        if (amp == NULL)
            return AECS_OK;
        p = amp + 1;
    }
}

int aecs_store_etcd_spec_parse(const char *location, struct aecs_store_etcd_spec *out)
{
    memset(out, 0, sizeof(*out));
    out->timeout_ms = AECS_STORE_ETCD_DEFAULT_TIMEOUT_MS;
    out->connect_timeout_ms = AECS_STORE_ETCD_DEFAULT_CONNECT_TIMEOUT_MS;
    out->connections = AECS_STORE_ETCD_DEFAULT_CONNECTIONS;
    ENSURE(location != NULL, AECS_E_INVALID_ARGUMENT, "store: no etcd spec given");

    const char *q = strchr(location, '?');
    size_t elen = q != NULL ? (size_t)(q - location) : strlen(location);
    GUARD(parse_endpoints(location, elen, out));
    if (q != NULL)
        GUARD(parse_options(q + 1, strlen(q + 1), out));

    ENSURE((out->cert.len == 0) == (out->key.len == 0), AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: cert= and key= go together (a client certificate and its key)");
    ENSURE(out->tls || (out->cacert.len == 0 && out->cert.len == 0), AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: cacert=, cert= and key= need https:// endpoints");
    ENSURE((out->user.len == 0) == (out->password_file.len == 0), AECS_E_INVALID_ARGUMENT,
           "store: etcd spec: user= and password-file= go together");
    return AECS_OK;
}
