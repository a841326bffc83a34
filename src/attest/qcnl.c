/*
 * qcnl.c - the sgx_default_qcnl.conf reader; see qcnl.h.
 *
 * JSON form: comments are blanked out (newlines kept) by a small scanner that
 * knows JSON strings, then jansson parses the result, so its error line is the
 * file's line. The line of a key, for errors about its value, is found by
 * scanning the blanked text for that key at the top level.
 *
 * Legacy form: line by line, as Intel's QcnlConfigLegacy: whitespace is
 * removed, '#' starts a comment, KEY=VALUE with Intel's upper-case keys.
 */
#include "attest/qcnl.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/file.h"
#include "base/log.h"

/* Intel caps its cache lifetimes at 90 days (CACHE_MAX_EXPIRY_HOURS). */
#define MAX_EXPIRY_HOURS 2160.0

void aecs_qcnl_defaults(struct aecs_qcnl *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->pccs_url, sizeof(out->pccs_url), "%s", AECS_QCNL_DEFAULT_PCCS_URL);
    snprintf(out->collateral_url, sizeof(out->collateral_url), "%s", AECS_QCNL_DEFAULT_PCCS_URL);
    snprintf(out->pccs_api_version, sizeof(out->pccs_api_version), "3.0");
    out->use_secure_cert = 1;
}

/* Records a configuration error at `line` of `name`. */
static int bad(struct aecs_qcnl *out, const char *name, int line, const char *fmt, ...)
    AECS_PRINTF(4, 5);
static int bad(struct aecs_qcnl *out, const char *name, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    out->error_line = line;
    if (line > 0)
        return AECS_ERR(AECS_E_FORMAT, "%.200s:%d: %s", name, line, msg);
    return AECS_ERR(AECS_E_FORMAT, "%.200s: %s", name, msg);
}

int aecs_qcnl_strip_json_comments(char *text, size_t size, int *bad_line)
{
    enum { CODE, STRING, LINE_COMMENT, BLOCK_COMMENT } st = CODE;
    int line = 1;
    int comment_line = 0;

    *bad_line = 0;
    for (size_t i = 0; i < size; i++) {
        char c = text[i];
        char next = i + 1 < size ? text[i + 1] : '\0';
        switch (st) {
        case CODE:
            if (c == '"') {
                st = STRING;
            } else if (c == '/' && next == '/') {
                st = LINE_COMMENT;
                text[i] = text[i + 1] = ' ';
                i++;
            } else if (c == '/' && next == '*') {
                st = BLOCK_COMMENT;
                comment_line = line;
                text[i] = text[i + 1] = ' ';
                i++;
            }
            break;
        case STRING:
            if (c == '\\' && next != '\0' && next != '\n') {
                i++; /* the escaped character cannot end the string */
            } else if (c == '"' || c == '\n') {
                st = CODE; /* a raw newline is invalid JSON: jansson reports it */
            }
            break;
        case LINE_COMMENT:
            if (c == '\n')
                st = CODE;
            else
                text[i] = ' ';
            break;
        case BLOCK_COMMENT:
            if (c == '*' && next == '/') {
                st = CODE;
                text[i] = text[i + 1] = ' ';
                i++;
            } else if (c != '\n') {
                text[i] = ' ';
            }
            break;
        default:
            return AECS_ERR(AECS_E_INTERNAL, "comment scanner in an unknown state");
        }
        if (c == '\n')
            line++;
    }
    if (st == BLOCK_COMMENT) {
        *bad_line = comment_line;
        return AECS_ERR(AECS_E_FORMAT, "a /* comment opened on line %d is never closed",
                        comment_line);
    }
    return AECS_OK;
}

/* The first character that is neither blank nor inside a leading JSON comment. */
static char first_significant(const char *t, size_t size)
{
    size_t i = 0;

    /* A UTF-8 byte order mark is not content. */
    if (size >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < size) {
        if (isspace((unsigned char)t[i])) {
            i++;
        } else if (t[i] == '/' && i + 1 < size && t[i + 1] == '/') {
            while (i < size && t[i] != '\n')
                i++;
        } else if (t[i] == '/' && i + 1 < size && t[i + 1] == '*') {
            i += 2;
            while (i + 1 < size && !(t[i] == '*' && t[i + 1] == '/'))
                i++;
            i += 2;
        } else {
            return t[i];
        }
    }
    return '\0';
}

/*
 * The line where `key` appears as a member name of the top-level object of
 * comment-free JSON text (0 when not found).
 */
static int key_line(const char *t, size_t size, const char *key)
{
    size_t klen = strlen(key);
    int line = 1;
    int depth = 0;

    for (size_t i = 0; i < size; i++) {
        if (t[i] == '\n') {
            line++;
        } else if (t[i] == '{' || t[i] == '[') {
            depth++;
        } else if (t[i] == '}' || t[i] == ']') {
            depth--;
        } else if (t[i] == '"') {
            size_t start = i + 1;
            int start_line = line;
            for (i = start; i < size && t[i] != '"' && t[i] != '\n'; i++) {
                if (t[i] == '\\' && i + 1 < size)
                    i++;
            }
            if (i >= size || t[i] == '\n') {
                if (i < size)
                    line++;
                continue;
            }
            size_t j = i + 1;
            while (j < size && isspace((unsigned char)t[j]))
                j++;
            if (depth == 1 && j < size && t[j] == ':' && i - start == klen &&
                memcmp(t + start, key, klen) == 0)
                return start_line;
        }
    }
    return 0;
}

static int check_url(struct aecs_qcnl *out, const char *name, int line, const char *key,
                     const char *url, size_t len, char *dst)
{
    if (len == 0)
        return bad(out, name, line, "%s is empty", key);
    if (len >= AECS_QCNL_URL_MAX)
        return bad(out, name, line, "%s is longer than %d characters", key, AECS_QCNL_URL_MAX - 1);
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return bad(out, name, line, "%s must be an http:// or https:// URL, not '%.60s'", key, url);
    memcpy(dst, url, len);
    dst[len] = '\0';
    return AECS_OK;
}

static void warn_insecure(const char *name, int line)
{
    log_warn("%.200s:%d: use_secure_cert is false: TLS certificates of the PCCS are NOT "
             "verified (insecure: anyone on the network path can answer with any collateral)",
             name, line);
}

/* ---- JSON form ---- */

struct json_ctx {
    struct aecs_qcnl *out;
    const char *name;
    const char *text; /* comment-free */
    size_t size;
};

static int jtype_error(struct json_ctx *c, const char *key, const char *what)
{
    return bad(c->out, c->name, key_line(c->text, c->size, key), "\"%s\" must be %s", key, what);
}

static int jurl(struct json_ctx *c, json_t *v, const char *key, char *dst)
{
    if (!json_is_string(v))
        return jtype_error(c, key, "a string (a URL)");
    return check_url(c->out, c->name, key_line(c->text, c->size, key), key, json_string_value(v),
                     json_string_length(v), dst);
}

static int jbool(struct json_ctx *c, json_t *v, const char *key, int *dst)
{
    if (!json_is_boolean(v))
        return jtype_error(c, key, "true or false (without quotes)");
    *dst = json_is_true(v);
    return AECS_OK;
}

static int juint(struct json_ctx *c, json_t *v, const char *key, unsigned max, unsigned *dst)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)max) {
        char what[64];
        snprintf(what, sizeof(what), "an integer from 0 to %u", max);
        return jtype_error(c, key, what);
    }
    *dst = (unsigned)json_integer_value(v);
    return AECS_OK;
}

static int jhours(struct json_ctx *c, json_t *v, const char *key, double *dst)
{
    if (!json_is_number(v) || json_number_value(v) < 0)
        return jtype_error(c, key, "a number of hours, 0 or more");
    *dst = json_number_value(v);
    if (*dst > MAX_EXPIRY_HOURS)
        *dst = MAX_EXPIRY_HOURS;
    return AECS_OK;
}

static int parse_json(char *text, size_t size, const char *name, struct aecs_qcnl *out)
{
    int rc = AECS_OK;
    int line = 0;
    json_t *doc = NULL;
    json_error_t jerr;
    const char *key;
    json_t *v;
    struct json_ctx c = {out, name, text, size};

    out->format = AECS_QCNL_JSON;
    if (aecs_qcnl_strip_json_comments(text, size, &line) != AECS_OK)
        return bad(out, name, line, "%s", aecs_err_last()->message);
    doc = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return bad(out, name, jerr.line > 0 ? jerr.line : 0, "not valid JSON: %.200s", jerr.text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return bad(out, name, 1, "the JSON form must be one object { ... }");
    }
    json_object_foreach(doc, key, v)
    {
        if (strcmp(key, "pccs_url") == 0) {
            GUARD_OUT(jurl(&c, v, key, out->pccs_url));
        } else if (strcmp(key, "collateral_service") == 0) {
            GUARD_OUT(jurl(&c, v, key, out->collateral_url));
            out->has_collateral_service = 1;
        } else if (strcmp(key, "use_secure_cert") == 0) {
            GUARD_OUT(jbool(&c, v, key, &out->use_secure_cert));
            if (!out->use_secure_cert)
                out->use_secure_cert_line = key_line(text, size, key);
        } else if (strcmp(key, "retry_times") == 0) {
            GUARD_OUT(juint(&c, v, key, AECS_QCNL_MAX_RETRY_TIMES, &out->retry_times));
        } else if (strcmp(key, "retry_delay") == 0) {
            GUARD_OUT(juint(&c, v, key, AECS_QCNL_MAX_RETRY_DELAY, &out->retry_delay));
        } else if (strcmp(key, "pccs_api_version") == 0) {
            if (!json_is_string(v) || json_string_length(v) >= sizeof(out->pccs_api_version)) {
                rc = jtype_error(&c, key, "a short string such as \"3.1\"");
                goto out;
            }
            snprintf(out->pccs_api_version, sizeof(out->pccs_api_version), "%s",
                     json_string_value(v));
        } else if (strcmp(key, "local_pck_url") == 0) {
            GUARD_OUT(jurl(&c, v, key, out->local_pck_url));
        } else if (strcmp(key, "pck_cache_expire_hours") == 0) {
            GUARD_OUT(jhours(&c, v, key, &out->pck_cache_expire_hours));
        } else if (strcmp(key, "verify_collateral_cache_expire_hours") == 0) {
            GUARD_OUT(jhours(&c, v, key, &out->verify_collateral_cache_expire_hours));
        } else if (strcmp(key, "local_cache_only") == 0) {
            GUARD_OUT(jbool(&c, v, key, &out->local_cache_only));
        } else if (strcmp(key, "custom_request_options") == 0) {
            if (!json_is_object(v)) {
                rc = jtype_error(&c, key, "an object");
                goto out;
            }
        } else {
            log_warn("%.200s:%d: unknown key \"%.60s\" ignored", name, key_line(text, size, key),
                     key);
        }
    }
out:
    json_decref(doc);
    return rc;
}

/* ---- legacy form ---- */

static int parse_bool_word(const char *v, int *out)
{
    if (strcasecmp(v, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (strcasecmp(v, "false") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_uint_word(const char *v, unsigned max, unsigned *out)
{
    unsigned long n = 0;

    if (*v == '\0' || strlen(v) > 9)
        return -1;
    for (const char *p = v; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        n = n * 10 + (unsigned long)(*p - '0');
    }
    if (n > max)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static int parse_hours_word(const char *v, double *out)
{
    char *end = NULL;

    errno = 0;
    double d = strtod(v, &end);
    if (*v == '\0' || end == NULL || *end != '\0' || errno != 0 || !(d >= 0))
        return -1;
    *out = d > MAX_EXPIRY_HOURS ? MAX_EXPIRY_HOURS : d;
    return 0;
}

static int legacy_line(struct aecs_qcnl *out, const char *name, int line, char *s)
{
    char *eq = strchr(s, '=');
    unsigned u = 0;

    if (eq == NULL)
        return bad(out, name, line, "expected KEY=VALUE, got '%.60s'", s);
    *eq = '\0';
    const char *key = s;
    const char *val = eq + 1;
    size_t vlen = strlen(val);

    if (strcmp(key, "PCCS_URL") == 0 || strcmp(key, "PCS_URL") == 0)
        return check_url(out, name, line, key, val, vlen, out->pccs_url);
    if (strcmp(key, "COLLATERAL_SERVICE") == 0) {
        out->has_collateral_service = 1;
        return check_url(out, name, line, key, val, vlen, out->collateral_url);
    }
    if (strcmp(key, "LOCAL_PCK_URL") == 0)
        return check_url(out, name, line, key, val, vlen, out->local_pck_url);
    if (strcmp(key, "USE_SECURE_CERT") == 0) {
        if (parse_bool_word(val, &out->use_secure_cert) != 0)
            return bad(out, name, line, "USE_SECURE_CERT must be TRUE or FALSE, not '%.20s'", val);
        out->use_secure_cert_line = out->use_secure_cert ? 0 : line;
        return AECS_OK;
    }
    if (strcmp(key, "LOCAL_CACHE_ONLY") == 0) {
        if (parse_bool_word(val, &out->local_cache_only) != 0)
            return bad(out, name, line, "LOCAL_CACHE_ONLY must be TRUE or FALSE, not '%.20s'", val);
        return AECS_OK;
    }
    if (strcmp(key, "RETRY_TIMES") == 0) {
        if (parse_uint_word(val, AECS_QCNL_MAX_RETRY_TIMES, &u) != 0)
            return bad(out, name, line, "RETRY_TIMES must be an integer from 0 to %d, not '%.20s'",
                       AECS_QCNL_MAX_RETRY_TIMES, val);
        out->retry_times = u;
        return AECS_OK;
    }
    if (strcmp(key, "RETRY_DELAY") == 0) {
        if (parse_uint_word(val, AECS_QCNL_MAX_RETRY_DELAY, &u) != 0)
            return bad(out, name, line,
                       "RETRY_DELAY must be an integer number of seconds from 0 to %d, not '%.20s'",
                       AECS_QCNL_MAX_RETRY_DELAY, val);
        out->retry_delay = u;
        return AECS_OK;
    }
    if (strcmp(key, "PCCS_API_VERSION") == 0) {
        if (vlen == 0 || vlen >= sizeof(out->pccs_api_version))
            return bad(out, name, line, "PCCS_API_VERSION must be a short string such as 3.1");
        memcpy(out->pccs_api_version, val, vlen + 1);
        return AECS_OK;
    }
    if (strcmp(key, "PCK_CACHE_EXPIRE_HOURS") == 0) {
        if (parse_hours_word(val, &out->pck_cache_expire_hours) != 0)
            return bad(out, name, line, "PCK_CACHE_EXPIRE_HOURS must be a number of hours");
        return AECS_OK;
    }
    if (strcmp(key, "VERIFY_COLLATERAL_CACHE_EXPIRE_HOURS") == 0) {
        if (parse_hours_word(val, &out->verify_collateral_cache_expire_hours) != 0)
            return bad(out, name, line,
                       "VERIFY_COLLATERAL_CACHE_EXPIRE_HOURS must be a number of hours");
        return AECS_OK;
    }
    log_warn("%.200s:%d: unknown key '%.60s' ignored", name, line, key);
    return AECS_OK;
}

static int parse_legacy(const char *text, size_t size, const char *name, struct aecs_qcnl *out)
{
    char buf[AECS_QCNL_URL_MAX + 256];
    int line = 0;
    size_t i = 0;

    out->format = AECS_QCNL_LEGACY;
    if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < size) {
        size_t n = 0;
        int comment = 0;
        int prev_blank = 1;
        line++;
        for (; i < size && text[i] != '\n'; i++) {
            char c = text[i];
            /* '#' at the start or after a blank starts a comment */
            if (c == '#' && prev_blank)
                comment = 1;
            prev_blank = isspace((unsigned char)c);
            if (comment || isspace((unsigned char)c))
                continue; /* Intel's reader drops every blank of a line */
            if (n + 1 >= sizeof(buf))
                return bad(out, name, line, "line is too long");
            buf[n++] = c;
        }
        i++; /* the newline */
        buf[n] = '\0';
        if (n == 0)
            continue;
        GUARD(legacy_line(out, name, line, buf));
    }
    return AECS_OK;
}

int aecs_qcnl_parse(const char *text, size_t size, const char *name, struct aecs_qcnl *out)
{
    int rc;
    char *copy = NULL;

    aecs_qcnl_defaults(out);
    if (name == NULL)
        name = "qcnl";
    const char *nul = memchr(text, '\0', size);
    if (nul != NULL) {
        int line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        return bad(out, name, line, "contains a NUL byte: not a text file");
    }
    if (first_significant(text, size) == '{') {
        copy = malloc(size + 1);
        ENSURE(copy != NULL, AECS_E_NO_MEMORY, "out of memory");
        memcpy(copy, text, size);
        copy[size] = '\0';
        if (size >= 3 && memcmp(copy, "\xEF\xBB\xBF", 3) == 0)
            memset(copy, ' ', 3); /* a byte order mark is not content */
        rc = parse_json(copy, size, name, out);
        free(copy);
    } else {
        rc = parse_legacy(text, size, name, out);
    }
    if (rc != AECS_OK)
        return rc;
    if (!out->has_collateral_service)
        memcpy(out->collateral_url, out->pccs_url, sizeof(out->collateral_url));
    if (!out->use_secure_cert)
        warn_insecure(name, out->use_secure_cert_line);
    return AECS_OK;
}

int aecs_qcnl_load(const char *path, struct aecs_qcnl *out)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc;

    if (path == NULL)
        path = AECS_QCNL_DEFAULT_PATH;
    aecs_qcnl_defaults(out);
    rc = aecs_file_read(path, AECS_QCNL_MAX_FILE, &data, &size);
    if (rc != AECS_OK) {
        aecs_err_prefix("qcnl configuration: ");
        return rc;
    }
    rc = aecs_qcnl_parse((const char *)data, size, path, out);
    free(data);
    return rc;
}
