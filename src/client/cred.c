/*
 * cred.c - the credential file; see cred.h.
 *
 * libyaml's document API composes the file (as src/policy/policy_yaml.c
 * does); the root must be a mapping of plain keys to scalars, `server` may
 * also be a sequence of scalars. Each key is looked up in one table that
 * remembers the line it was first seen on, for duplicate messages. Values
 * are copied out and checked one by one; the environment is applied on top
 * by aecs_cred_load, then the required keys are checked.
 */
#include "client/cred.h"

#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "base/file.h"
#include "proto/name.h"

#define CORE_TAG "tag:yaml.org,2002:"

enum cred_key { K_SERVER, K_KEY, K_CA, K_FINGERPRINT, K_SERVICE, K_COUNT };

static const char *const k_key_names[K_COUNT] = {"server", "key", "ca", "fingerprint", "service"};

struct cparse {
    const char *name;     /* for messages */
    const char *base_dir; /* for relative paths, or NULL */
    yaml_document_t *doc;
    int line[K_COUNT]; /* where each key was seen, 0: not yet */
    struct aecs_cred *cred;
};

/* "NAME:LINE: message" (or "NAME: message" without a line) as AECS_E_INVALID_ARGUMENT. */
static int fail_at(const struct cparse *p, int line, const char *fmt, ...) AECS_PRINTF(3, 4);
static int fail_at(const struct cparse *p, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "%.200s:%d: %s", p->name, line, msg);
    return AECS_ERR(AECS_E_INVALID_ARGUMENT, "%.200s: %s", p->name, msg);
}

static int node_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

void aecs_cred_free(struct aecs_cred *cred)
{
    if (cred == NULL)
        return;
    for (size_t i = 0; i < cred->server_count; i++)
        free(cred->servers[i]);
    free(cred->key);
    free(cred->ca);
    free(cred->service);
    free(cred->source);
    free(cred);
}

static void clear_servers(struct aecs_cred *c)
{
    for (size_t i = 0; i < c->server_count; i++) {
        free(c->servers[i]);
        c->servers[i] = NULL;
    }
    c->server_count = 0;
}

/* ---- values ---- */

static int printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return 0;
    }
    return 1;
}

int aecs_cred_server_url(const char *s, size_t len, const char *what, char **out)
{
    size_t scheme;

    *out = NULL;
    ENSURE(len > 0, AECS_E_INVALID_ARGUMENT, "%s has no value", what);
    ENSURE(len <= AECS_CRED_VALUE_MAX, AECS_E_INVALID_ARGUMENT, "%s is longer than %d characters",
           what, AECS_CRED_VALUE_MAX);
    if (len >= 8 && strncasecmp(s, "https://", 8) == 0)
        scheme = 8;
    else if (len >= 7 && strncasecmp(s, "http://", 7) == 0)
        scheme = 7;
    else
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "%s must be an https:// URL (https://HOST:PORT)",
                        what);
    if (len > scheme && s[len - 1] == '/')
        len--;
    ENSURE(len > scheme, AECS_E_INVALID_ARGUMENT, "%s has no host name", what);
    for (size_t i = scheme; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        ENSURE(!(ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '@' ||
                 ch == '\\'),
               AECS_E_INVALID_ARGUMENT,
               "%s must be just https://HOST[:PORT], without a path, query, user or spaces "
               "(character %zu)",
               what, i + 1);
    }
    *out = strndup(s, len);
    ENSURE(*out != NULL, AECS_E_NO_MEMORY, "out of memory");
    return AECS_OK;
}

/*
 * Checks one server URL (len bytes at s, blanks already trimmed) with
 * aecs_cred_server_url and appends it.
 */
static int add_server(const struct cparse *p, int line, const char *s, size_t len)
{
    struct aecs_cred *c = p->cred;
    char *url = NULL;
    int rc;

    if (len == 0)
        return fail_at(p, line, "`server` has an empty entry");
    rc = aecs_cred_server_url(s, len, "`server`", &url);
    if (rc == AECS_E_NO_MEMORY)
        return rc;
    if (rc != AECS_OK)
        return fail_at(p, line, "%s", aecs_err_last()->message);
    if (c->server_count >= AECS_CRED_MAX_SERVERS) {
        free(url);
        return fail_at(p, line, "`server` lists more than %d servers", AECS_CRED_MAX_SERVERS);
    }
    c->servers[c->server_count++] = url;
    return AECS_OK;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* A comma-separated list of servers. */
static int add_server_list(const struct cparse *p, int line, const char *s, size_t len)
{
    size_t i = 0;

    for (;;) {
        size_t start = i, end;
        while (i < len && s[i] != ',')
            i++;
        end = i;
        while (start < end && is_blank(s[start]))
            start++;
        while (end > start && is_blank(s[end - 1]))
            end--;
        GUARD(add_server(p, line, s + start, end - start));
        if (i >= len)
            return AECS_OK;
        i++; /* the comma */
    }
}

/* A path value, joined to base_dir when relative. */
static int make_path(const struct cparse *p, int line, const char *what, const char *s, size_t len,
                     char **out)
{
    *out = NULL;
    if (len == 0)
        return fail_at(p, line, "`%s` has no value", what);
    if (len > AECS_CRED_VALUE_MAX)
        return fail_at(p, line, "`%s` is longer than %d characters", what, AECS_CRED_VALUE_MAX);
    if (s[0] == '/' || p->base_dir == NULL) {
        *out = strndup(s, len);
    } else {
        size_t blen = strlen(p->base_dir);
        *out = malloc(blen + 1 + len + 1);
        if (*out != NULL) {
            memcpy(*out, p->base_dir, blen);
            (*out)[blen] = '/';
            memcpy(*out + blen + 1, s, len);
            (*out)[blen + 1 + len] = '\0';
        }
    }
    ENSURE(*out != NULL, AECS_E_NO_MEMORY, "out of memory");
    return AECS_OK;
}

/* ---- YAML ---- */

/* A scalar value (not a mapping or sequence), with no NUL and no control character. */
static int scalar(const struct cparse *p, const yaml_node_t *n, const char *what, const char **s,
                  size_t *len)
{
    int line = node_line(n);
    const char *tag = (const char *)n->tag;

    if (n->type != YAML_SCALAR_NODE)
        return fail_at(p, line, "`%s` must be a single value, not a %s", what,
                       n->type == YAML_MAPPING_NODE ? "mapping" : "list");
    if (tag != NULL && strncmp(tag, CORE_TAG, strlen(CORE_TAG)) != 0)
        return fail_at(p, line, "`%s` has an unsupported YAML tag", what);
    *s = (const char *)n->data.scalar.value;
    *len = n->data.scalar.length;
    if (!printable(*s, *len))
        return fail_at(p, line, "`%s` holds a control character", what);
    /* An empty or null plain scalar is no value. */
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (*len == 0 || (*len == 1 && (*s)[0] == '~') ||
         (*len == 4 && strncasecmp(*s, "null", 4) == 0)))
        *len = 0;
    if (*len == 0)
        return fail_at(p, line, "`%s` has no value", what);
    return AECS_OK;
}

static int set_value(struct cparse *p, enum cred_key k, const yaml_node_t *v)
{
    struct aecs_cred *c = p->cred;
    const char *what = k_key_names[k];
    int line = node_line(v);
    const char *s = NULL;
    size_t len = 0;

    if (k == K_SERVER && v->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *it = v->data.sequence.items.start;
        size_t count = (size_t)(v->data.sequence.items.top - it);
        if (count == 0)
            return fail_at(p, line, "`server` is an empty list");
        for (size_t i = 0; i < count; i++) {
            yaml_node_t *item = yaml_document_get_node(p->doc, it[i]);
            if (item == NULL)
                return fail_at(p, line, "`server` has a list item that refers to nothing");
            GUARD(scalar(p, item, what, &s, &len));
            GUARD(add_server(p, node_line(item), s, len));
        }
        return AECS_OK;
    }
    GUARD(scalar(p, v, what, &s, &len));
    switch (k) {
    case K_SERVER:
        return add_server_list(p, line, s, len);
    case K_KEY:
        return make_path(p, line, what, s, len, &c->key);
    case K_CA:
        return make_path(p, line, what, s, len, &c->ca);
    case K_FINGERPRINT: {
        char text[128];
        if (len < sizeof(text)) {
            memcpy(text, s, len);
            text[len] = '\0';
        }
        if (len >= sizeof(text) || aecs_tls_pin_parse(text, &c->pin) != AECS_OK)
            return fail_at(p, line,
                           "`fingerprint` must be the SHA-256 of the server's certificate: 64 "
                           "hex digits, optionally in pairs separated by ':'");
        c->pinned = 1;
        return AECS_OK;
    }
    case K_SERVICE:
        if (memchr(s, '\0', len) != NULL || aecs_name_check(s, "`service`") != AECS_OK)
            return fail_at(p, line, "%s", aecs_err_last()->message);
        c->service = strndup(s, len);
        ENSURE(c->service != NULL, AECS_E_NO_MEMORY, "out of memory");
        return AECS_OK;
    case K_COUNT:
    default:
        return AECS_ERR(AECS_E_INTERNAL, "credential: unexpected key %d", (int)k);
    }
}

static int load_mapping(struct cparse *p, const yaml_node_t *root)
{
    yaml_node_pair_t *pair = root->data.mapping.pairs.start;
    size_t count = (size_t)(root->data.mapping.pairs.top - pair);

    for (size_t i = 0; i < count; i++) {
        yaml_node_t *kn = yaml_document_get_node(p->doc, pair[i].key);
        yaml_node_t *vn = yaml_document_get_node(p->doc, pair[i].value);
        const char *name;
        size_t len;
        int k;

        if (kn == NULL || vn == NULL)
            return fail_at(p, 0, "a YAML key or value refers to nothing");
        if (kn->type != YAML_SCALAR_NODE)
            return fail_at(p, node_line(kn),
                           "keys must be plain words (server, key, ca, "
                           "fingerprint, service)");
        name = (const char *)kn->data.scalar.value;
        len = kn->data.scalar.length;
        for (k = 0; k < K_COUNT; k++) {
            if (strlen(k_key_names[k]) == len && memcmp(k_key_names[k], name, len) == 0)
                break;
        }
        if (k == K_COUNT) {
            if (len > 40 || !printable(name, len) || memchr(name, '\0', len) != NULL)
                return fail_at(p, node_line(kn),
                               "unknown key (known: server, key, ca, fingerprint, service)");
            return fail_at(p, node_line(kn),
                           "unknown key `%.*s` (known: server, key, ca, fingerprint, service)",
                           (int)len, name);
        }
        if (p->line[k] != 0)
            return fail_at(p, node_line(kn), "`%s` is given twice (first on line %d)",
                           k_key_names[k], p->line[k]);
        p->line[k] = node_line(kn);
        if ((k == K_CA && p->line[K_FINGERPRINT] != 0) ||
            (k == K_FINGERPRINT && p->line[K_CA] != 0))
            return fail_at(p, node_line(kn),
                           "`ca` and `fingerprint` are both given (the other on line %d): "
                           "trust the server one way, with a CA file or a pinned certificate",
                           p->line[k == K_CA ? K_FINGERPRINT : K_CA]);
        GUARD(set_value(p, (enum cred_key)k, vn));
    }
    return AECS_OK;
}

static int yaml_failure(const struct cparse *p, const yaml_parser_t *y)
{
    if (y->error == YAML_MEMORY_ERROR)
        return AECS_ERR(AECS_E_NO_MEMORY, "%.200s: out of memory in the YAML parser", p->name);
    if (y->error == YAML_READER_ERROR)
        return fail_at(p, 0, "YAML: %s at byte %zu", y->problem ? y->problem : "unreadable input",
                       y->problem_offset);
    return fail_at(p, (int)y->problem_mark.line + 1, "YAML: %s%s%s", y->context ? y->context : "",
                   y->context ? ": " : "", y->problem ? y->problem : "syntax error");
}

int aecs_cred_parse(const char *text, size_t size, const char *name, const char *base_dir,
                    struct aecs_cred **out)
{
    int rc = AECS_OK;
    yaml_parser_t parser;
    yaml_document_t doc, next;
    int have_doc = 0;
    struct cparse p;
    struct aecs_cred *c = NULL;

    *out = NULL;
    memset(&p, 0, sizeof(p));
    p.name = name != NULL ? name : "credentials";
    p.base_dir = base_dir;
    if (size > AECS_CRED_FILE_MAX)
        return fail_at(&p, 0, "larger than %u bytes: not a credential file", AECS_CRED_FILE_MAX);
    c = calloc(1, sizeof(*c));
    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");
    p.cred = c;
    c->source = strdup(p.name);
    if (c->source == NULL) {
        free(c);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    if (!yaml_parser_initialize(&parser)) {
        aecs_cred_free(c);
        return AECS_ERR(AECS_E_NO_MEMORY, "cannot initialize the YAML parser");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_failure(&p, &parser);
        goto out;
    }
    have_doc = 1;
    p.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL)
        BAIL_OUT(AECS_E_INVALID_ARGUMENT,
                 "%.200s: empty: expected server, key and ca or fingerprint", p.name);
    if (!yaml_parser_load(&parser, &next)) {
        rc = yaml_failure(&p, &parser);
        goto out;
    }
    yaml_node_t *extra = yaml_document_get_root_node(&next);
    int extra_line = extra != NULL ? node_line(extra) : 0;
    yaml_document_delete(&next);
    if (extra != NULL)
        GUARD_OUT(fail_at(&p, extra_line, "more than one YAML document"));
    if (root->type != YAML_MAPPING_NODE)
        GUARD_OUT(fail_at(&p, node_line(root),
                          "expected `key: value` lines (server, key, ca or fingerprint)"));
    GUARD_OUT(load_mapping(&p, root));
    *out = c;
    c = NULL;
out:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    aecs_cred_free(c);
    return rc;
}

/* ---- loading, environment, checks ---- */

int aecs_cred_check(const struct aecs_cred *c, unsigned flags)
{
    ENSURE(c->server_count > 0, AECS_E_INVALID_ARGUMENT,
           "%.200s: no `server` (the aecsd URL, https://HOST:PORT)", c->source);
    ENSURE(!(flags & AECS_CRED_NEED_KEY) || c->key != NULL, AECS_E_INVALID_ARGUMENT,
           "%.200s: no `key` (the admin's private key file, made by `aecs keygen`): signed "
           "requests need one",
           c->source);
    ENSURE(c->ca != NULL || c->pinned, AECS_E_INVALID_ARGUMENT,
           "%.200s: neither `ca` nor `fingerprint`: say how to trust the server (a CA or "
           "certificate PEM file, or the SHA-256 fingerprint of its certificate)",
           c->source);
    ENSURE(c->ca == NULL || !c->pinned, AECS_E_INVALID_ARGUMENT,
           "%.200s: both `ca` and `fingerprint`: use one", c->source);
    return AECS_OK;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int apply_env(struct aecs_cred *c)
{
    const char *server = env("AECS_SERVER");
    const char *key = env("AECS_KEY");
    const char *ca = env("AECS_CA");
    const char *fp = env("AECS_FINGERPRINT");
    struct cparse p = {.name = "AECS_SERVER", .cred = c};

    ENSURE(ca == NULL || fp == NULL, AECS_E_INVALID_ARGUMENT,
           "AECS_CA and AECS_FINGERPRINT are both set: use one");
    if (server != NULL) {
        clear_servers(c);
        GUARD(add_server_list(&p, 0, server, strlen(server)));
    }
    if (key != NULL) {
        free(c->key);
        c->key = strdup(key);
        ENSURE(c->key != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    if (ca != NULL || fp != NULL) {
        free(c->ca);
        c->ca = NULL;
        c->pinned = 0;
        memset(&c->pin, 0, sizeof(c->pin));
    }
    if (ca != NULL) {
        c->ca = strdup(ca);
        ENSURE(c->ca != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    if (fp != NULL) {
        if (aecs_tls_pin_parse(fp, &c->pin) != AECS_OK) {
            aecs_err_prefix("AECS_FINGERPRINT: ");
            return aecs_err_last()->code;
        }
        c->pinned = 1;
    }
    return AECS_OK;
}

int aecs_cred_load(const char *path, unsigned flags, struct aecs_cred **out)
{
    int rc = AECS_OK;
    uint8_t *text = NULL;
    size_t size = 0;
    char *dir_buf = NULL;
    struct aecs_cred *c = NULL;

    *out = NULL;
    if (path != NULL) {
        ENSURE(path[0] != '\0', AECS_E_INVALID_ARGUMENT, "the credential file name is empty");
        rc = aecs_file_read(path, AECS_CRED_FILE_MAX, &text, &size);
        if (rc != AECS_OK) {
            aecs_err_prefix("credential file: ");
            return rc;
        }
        dir_buf = strdup(path);
        ENSURE_OUT(dir_buf != NULL, AECS_E_NO_MEMORY, "out of memory");
        GUARD_OUT(aecs_cred_parse((const char *)text, size, path, dirname(dir_buf), &c));
    } else {
        c = calloc(1, sizeof(*c));
        ENSURE_OUT(c != NULL, AECS_E_NO_MEMORY, "out of memory");
        c->source = strdup("environment (AECS_SERVER, AECS_KEY, AECS_CA, AECS_FINGERPRINT)");
        ENSURE_OUT(c->source != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    GUARD_OUT(apply_env(c));
    GUARD_OUT(aecs_cred_check(c, flags));
    *out = c;
    c = NULL;
out:
    aecs_cred_free(c);
    free(dir_buf);
    free(text);
    return rc;
}
