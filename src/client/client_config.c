/*
 * client_config.c - the client configuration file and the admin credential
 * file; see client_config.h and cred.h.
 *
 * libyaml's document API composes the file. Each mapping (the root,
 * verifier, attester, attester.sim_identity, timeouts) is walked
 * against its own table of keys, which remembers the line each key was first
 * seen on, so unknown and repeated keys are refused with both lines. Values
 * are read by kind (path, URL, boolean, number in a range, hex of an exact
 * size, a word from a list), each failure naming "FILE:LINE: PATH". The
 * server policy is handed to the policy module (aecs_policy_rules_parse),
 * which composes the same text with its own loader and applies exactly the
 * checks of a secret's policy, aliases and custom tags included. Then the
 * cross-key checks: what is required, and what goes with which attester.
 * The two kinds of file differ only in which root keys they allow and what
 * they require: the values, and the messages, are read by one code.
 */
#include "client/client_config.h"

#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "base/codec.h"
#include "base/file.h"
#include "proto/name.h"

#define CORE_TAG "tag:yaml.org,2002:"
#define MAX_KEYS 16
#define PATH_MAX_LEN 96

struct cfgp {
    enum aecs_config_kind kind;
    const char *name;     /* for messages */
    const char *base_dir; /* for relative paths, or NULL */
    yaml_document_t *doc;
    struct aecs_client_config *cfg;
    char path[PATH_MAX_LEN]; /* the key being read: "verifier.pccs_url" */
    unsigned char *seen;     /* per node of doc: reached already (a second time is an alias) */
    size_t node_count;
};

/* One mapping's keys, with the line each was seen on. */
struct section {
    const char *prefix; /* "" at the root, else "verifier." */
    const char *const *keys;
    size_t count;
    unsigned allowed; /* bit k: keys[k] may be given here; 0: every key */
    int line[MAX_KEYS];
};

/* "NAME:LINE: PATH: message" (PATH and LINE left out when unknown) as AECS_E_INVALID_ARGUMENT. */
static int fail_at(const struct cfgp *p, int line, const char *fmt, ...) AECS_PRINTF(3, 4);
static int fail_at(const struct cfgp *p, int line, const char *fmt, ...)
{
    char msg[400];
    char where[PATH_MAX_LEN + 8];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    where[0] = '\0';
    if (p->path[0] != '\0')
        snprintf(where, sizeof(where), " %s:", p->path);
    if (line > 0)
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "%.200s:%d:%s %s", p->name, line, where, msg);
    return AECS_ERR(AECS_E_INVALID_ARGUMENT, "%.200s:%s %s", p->name, where, msg);
}

static int node_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

void aecs_server_trust_clear(struct aecs_server_trust *t)
{
    if (t == NULL)
        return;
    aecs_policy_rules_clear(&t->server_rules);
    free(t->collateral_dir);
    free(t->pccs_url);
    free(t->collateral_cache_dir);
    free(t->intel_root);
    free(t->snp_collateral_dir);
    free(t->kds_url);
    free(t->kds_cache_dir);
    free(t->insecure_trust_sim);
    memset(t, 0, sizeof(*t));
}

void aecs_client_config_free(struct aecs_client_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->source);
    for (size_t i = 0; i < cfg->server_count; i++)
        free(cfg->servers[i]);
    free(cfg->ca);
    aecs_server_trust_clear(&cfg->trust);
    free(cfg->key);
    free(cfg->service);
    free(cfg->attester);
    free(cfg->attest_root);
    free(cfg->sim_dir);
    free(cfg->quote_file);
    free(cfg);
}

/* ---- scalars ---- */

static int printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return 0;
    }
    return 1;
}

/*
 * A single value with no control character and no unsupported tag. An empty
 * or null value is refused: a key written without a value is a mistake.
 */
static int scalar(const struct cfgp *p, const yaml_node_t *n, const char **s, size_t *len)
{
    int line = node_line(n);
    const char *tag = (const char *)n->tag;

    if (n->type != YAML_SCALAR_NODE)
        return fail_at(p, line, "must be a single value, not a %s",
                       n->type == YAML_MAPPING_NODE ? "mapping" : "list");
    if (tag != NULL && strncmp(tag, CORE_TAG, strlen(CORE_TAG)) != 0)
        return fail_at(p, line, "unsupported YAML tag");
    *s = (const char *)n->data.scalar.value;
    *len = n->data.scalar.length;
    if (!printable(*s, *len))
        return fail_at(p, line, "holds a control character");
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (*len == 0 || (*len == 1 && (*s)[0] == '~') ||
         (*len == 4 && strncasecmp(*s, "null", 4) == 0)))
        *len = 0;
    if (*len == 0)
        return fail_at(p, line, "has no value");
    return AECS_OK;
}

/* A path, joined to base_dir when relative; replaces *out. */
static int get_path(const struct cfgp *p, const yaml_node_t *n, char **out)
{
    const char *s;
    size_t len;
    char *v;

    GUARD(scalar(p, n, &s, &len));
    if (len > AECS_CRED_VALUE_MAX)
        return fail_at(p, node_line(n), "longer than %d characters", AECS_CRED_VALUE_MAX);
    if (s[0] == '/' || p->base_dir == NULL) {
        v = strndup(s, len);
    } else {
        size_t blen = strlen(p->base_dir);
        v = malloc(blen + 1 + len + 1);
        if (v != NULL) {
            memcpy(v, p->base_dir, blen);
            v[blen] = '/';
            memcpy(v + blen + 1, s, len);
            v[blen + 1 + len] = '\0';
        }
    }
    ENSURE(v != NULL, AECS_E_NO_MEMORY, "out of memory");
    free(*out);
    *out = v;
    return AECS_OK;
}

/* An http(s) URL for the verifier's fetches (PCCS, KDS): the fetching code checks the rest. */
static int get_url(const struct cfgp *p, const yaml_node_t *n, char **out)
{
    const char *s;
    size_t len;

    GUARD(scalar(p, n, &s, &len));
    if (len > AECS_CRED_VALUE_MAX)
        return fail_at(p, node_line(n), "longer than %d characters", AECS_CRED_VALUE_MAX);
    if (!((len > 8 && strncasecmp(s, "https://", 8) == 0) ||
          (len > 7 && strncasecmp(s, "http://", 7) == 0)))
        return fail_at(p, node_line(n), "must be an https:// URL");
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            return fail_at(p, node_line(n), "holds a space");
    }
    free(*out);
    *out = strndup(s, len);
    ENSURE(*out != NULL, AECS_E_NO_MEMORY, "out of memory");
    return AECS_OK;
}

/* true/false in any case, quoted or not; nothing else (no yes/no/on/off/1/0). */
static int get_bool(const struct cfgp *p, const yaml_node_t *n, int *out)
{
    const char *s;
    size_t len;

    GUARD(scalar(p, n, &s, &len));
    if (len == 4 && strncasecmp(s, "true", 4) == 0)
        *out = 1;
    else if (len == 5 && strncasecmp(s, "false", 5) == 0)
        *out = 0;
    else
        return fail_at(p, node_line(n), "must be true or false");
    return AECS_OK;
}

/* A decimal number in [min, max]: digits only, no sign, no leading zero. */
static int get_uint(const struct cfgp *p, const yaml_node_t *n, unsigned long min,
                    unsigned long max, unsigned long *out)
{
    const char *s;
    size_t len;
    unsigned long v = 0;

    GUARD(scalar(p, n, &s, &len));
    if (len > 10 || (len > 1 && s[0] == '0'))
        return fail_at(p, node_line(n), "must be a number from %lu to %lu", min, max);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return fail_at(p, node_line(n), "must be a number from %lu to %lu", min, max);
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < min || v > max)
        return fail_at(p, node_line(n), "must be a number from %lu to %lu", min, max);
    *out = v;
    return AECS_OK;
}

/* Exactly 2*size hex digits, either case. */
static int get_hex(const struct cfgp *p, const yaml_node_t *n, uint8_t *out, size_t size)
{
    const char *s;
    size_t len;

    GUARD(scalar(p, n, &s, &len));
    if (len != 2 * size || aecs_hex_decode_exact(s, len, out, size) != AECS_OK)
        return fail_at(p, node_line(n), "must be %zu hex digits", 2 * size);
    return AECS_OK;
}

/* One word of a NULL-terminated list; *out gets a copy of the list's spelling. */
static int get_word(const struct cfgp *p, const yaml_node_t *n, const char *const *words,
                    const char *expected, char **out)
{
    const char *s;
    size_t len;

    GUARD(scalar(p, n, &s, &len));
    for (size_t i = 0; words[i] != NULL; i++) {
        if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0) {
            free(*out);
            *out = strdup(words[i]);
            ENSURE(*out != NULL, AECS_E_NO_MEMORY, "out of memory");
            return AECS_OK;
        }
    }
    return fail_at(p, node_line(n), "must be %s", expected);
}

/* ---- mappings ---- */

/*
 * Marks node id as read. A node reached twice is used again through a YAML
 * alias (*name): refused, as in policy files, so that what a key says is
 * always written where the key is.
 */
static int visit(const struct cfgp *p, int id, int line)
{
    if (id < 1 || (size_t)id > p->node_count)
        return fail_at(p, line, "a YAML node refers to nothing");
    if (p->seen[id - 1])
        return fail_at(p, line,
                       "a value used again through a YAML alias (*name): aliases are refused, "
                       "write the value out");
    p->seen[id - 1] = 1;
    return AECS_OK;
}

/* The section's keys, comma-separated, into out. */
static void known_keys(const struct section *sec, char *out, size_t size)
{
    size_t at = 0;

    out[0] = '\0';
    for (size_t k = 0; k < sec->count && at < size; k++) {
        if (sec->allowed != 0 && !(sec->allowed & (1u << k)))
            continue;
        int n = snprintf(out + at, size - at, "%s%s", at > 0 ? ", " : "", sec->keys[k]);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}

/*
 * Walks a mapping: each key must be in the section's table and appear once;
 * set(p, index, value) reads its value with p->path naming it.
 */
static int walk(struct cfgp *p, const yaml_node_t *m, struct section *sec,
                int (*set)(struct cfgp *p, size_t key, const yaml_node_t *value))
{
    char saved[PATH_MAX_LEN];
    yaml_node_pair_t *pair;
    size_t count;

    if (m->type != YAML_MAPPING_NODE)
        return fail_at(p, node_line(m), "must be a mapping of `key: value` lines");
    pair = m->data.mapping.pairs.start;
    count = (size_t)(m->data.mapping.pairs.top - pair);
    memcpy(saved, p->path, sizeof(saved));
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *kn = yaml_document_get_node(p->doc, pair[i].key);
        yaml_node_t *vn = yaml_document_get_node(p->doc, pair[i].value);
        const char *name;
        size_t len, k;

        if (kn == NULL || vn == NULL)
            return fail_at(p, 0, "a YAML key or value refers to nothing");
        GUARD(visit(p, pair[i].key, node_line(kn)));
        if (kn->type != YAML_SCALAR_NODE)
            return fail_at(p, node_line(kn), "keys must be plain words");
        name = (const char *)kn->data.scalar.value;
        len = kn->data.scalar.length;
        for (k = 0; k < sec->count; k++) {
            if ((sec->allowed == 0 || (sec->allowed & (1u << k))) && strlen(sec->keys[k]) == len &&
                memcmp(sec->keys[k], name, len) == 0)
                break;
        }
        if (k == sec->count) {
            char known[320];
            known_keys(sec, known, sizeof(known));
            if (len <= 40 && printable(name, len) && memchr(name, '\0', len) == NULL)
                snprintf(p->path, sizeof(p->path), "%s%.*s", sec->prefix, (int)len, name);
            return fail_at(p, node_line(kn), "unknown key (known keys here: %s)", known);
        }
        snprintf(p->path, sizeof(p->path), "%s%s", sec->prefix, sec->keys[k]);
        if (sec->line[k] != 0)
            return fail_at(p, node_line(kn), "given twice (first on line %d)", sec->line[k]);
        sec->line[k] = node_line(kn);
        GUARD(visit(p, pair[i].value, node_line(kn)));
        GUARD(set(p, k, vn));
        memcpy(p->path, saved, sizeof(p->path));
    }
    return AECS_OK;
}

/* ---- timeouts ---- */

static const char *const k_timeout_keys[] = {"connect", "request"};

static int set_timeout(struct cfgp *p, size_t key, const yaml_node_t *v)
{
    unsigned long n = 0;

    GUARD(get_uint(p, v, 1, AECS_CLIENT_CONFIG_MAX_TIMEOUT, &n));
    if (key == 0)
        p->cfg->connect_timeout = (long)n;
    else
        p->cfg->timeout = (long)n;
    return AECS_OK;
}

/* ---- verifier ---- */

enum {
    V_COLLATERAL_DIR,
    V_PCCS_URL,
    V_COLLATERAL_CACHE_DIR,
    V_INTEL_ROOT,
    V_SNP_COLLATERAL_DIR,
    V_USE_KDS,
    V_KDS_URL,
    V_KDS_CACHE_DIR,
    V_INSECURE_TRUST_SIM,
    V_COUNT
};

static const char *const k_verifier_keys[V_COUNT] = {
    "collateral_dir", "pccs_url",           "collateral_cache_dir",
    "intel_root",     "snp_collateral_dir", "use_kds",
    "kds_url",        "kds_cache_dir",      "insecure_trust_sim",
};

static int set_verifier(struct cfgp *p, size_t key, const yaml_node_t *v)
{
    struct aecs_server_trust *c = &p->cfg->trust;

    switch (key) {
    case V_COLLATERAL_DIR:
        return get_path(p, v, &c->collateral_dir);
    case V_PCCS_URL:
        return get_url(p, v, &c->pccs_url);
    case V_COLLATERAL_CACHE_DIR:
        return get_path(p, v, &c->collateral_cache_dir);
    case V_INTEL_ROOT:
        return get_path(p, v, &c->intel_root);
    case V_SNP_COLLATERAL_DIR:
        return get_path(p, v, &c->snp_collateral_dir);
    case V_USE_KDS:
        return get_bool(p, v, &c->use_kds);
    case V_KDS_URL:
        return get_url(p, v, &c->kds_url);
    case V_KDS_CACHE_DIR:
        return get_path(p, v, &c->kds_cache_dir);
    case V_INSECURE_TRUST_SIM:
        return get_path(p, v, &c->insecure_trust_sim);
    default:
        return AECS_ERR(AECS_E_INTERNAL, "client config: verifier key %zu", key);
    }
}

/* ---- attester ---- */

enum { A_TYPE, A_ROOT, A_SIM_DIR, A_SIM_TEE, A_SIM_IDENTITY, A_QUOTE_FILE, A_PRIVLEVEL, A_COUNT };

static const char *const k_attester_keys[A_COUNT] = {
    "type", "root", "sim_dir", "sim_tee", "sim_identity", "quote_file", "privlevel",
};

static const char *const k_attester_types[] = {
    "auto", "sim", "gramine", "tsm", "configfs-tsm", "sev-guest", "file", NULL,
};

enum {
    I_MRENCLAVE,
    I_MRSIGNER,
    I_ISVPRODID,
    I_ISVSVN,
    I_DEBUG,
    I_MRTD,
    I_RTMR0,
    I_RTMR1,
    I_RTMR2,
    I_RTMR3,
    I_MRCONFIGID,
    I_MROWNER,
    I_COUNT
};

static const char *const k_identity_keys[I_COUNT] = {
    "mrenclave", "mrsigner", "isvprodid", "isvsvn", "debug",      "mrtd",
    "rtmr0",     "rtmr1",    "rtmr2",     "rtmr3",  "mrconfigid", "mrowner",
};

static int set_identity(struct cfgp *p, size_t key, const yaml_node_t *v)
{
    struct aecs_sim_quote_params *id = &p->cfg->sim_identity;
    unsigned long n = 0;

    switch (key) {
    case I_MRENCLAVE:
        return get_hex(p, v, id->mrenclave, sizeof(id->mrenclave));
    case I_MRSIGNER:
        return get_hex(p, v, id->mrsigner, sizeof(id->mrsigner));
    case I_ISVPRODID:
    case I_ISVSVN:
        GUARD(get_uint(p, v, 0, 65535, &n));
        if (key == I_ISVPRODID)
            id->isvprodid = (uint16_t)n;
        else
            id->isvsvn = (uint16_t)n;
        return AECS_OK;
    case I_DEBUG:
        return get_bool(p, v, &id->debug);
    case I_MRTD:
        return get_hex(p, v, id->mrtd, sizeof(id->mrtd));
    case I_RTMR0:
    case I_RTMR1:
    case I_RTMR2:
    case I_RTMR3:
        return get_hex(p, v, id->rtmr[key - I_RTMR0], sizeof(id->rtmr[0]));
    case I_MRCONFIGID:
        return get_hex(p, v, id->mrconfigid, sizeof(id->mrconfigid));
    case I_MROWNER:
        return get_hex(p, v, id->mrowner, sizeof(id->mrowner));
    default:
        return AECS_ERR(AECS_E_INTERNAL, "client config: sim_identity key %zu", key);
    }
}

static int set_attester(struct cfgp *p, size_t key, const yaml_node_t *v)
{
    static const char *const tees[] = {"sgx", "tdx", NULL};
    struct aecs_client_config *c = p->cfg;
    char *tee = NULL;
    unsigned long n = 0;
    int rc;

    switch (key) {
    case A_TYPE:
        return get_word(p, v, k_attester_types, "auto, sim, gramine, tsm, sev-guest or file",
                        &c->attester);
    case A_ROOT:
        return get_path(p, v, &c->attest_root);
    case A_SIM_DIR:
        return get_path(p, v, &c->sim_dir);
    case A_SIM_TEE:
        rc = get_word(p, v, tees, "sgx or tdx", &tee);
        if (rc == AECS_OK)
            c->sim_tdx = strcmp(tee, "tdx") == 0;
        free(tee);
        return rc;
    case A_SIM_IDENTITY: {
        struct section sec = {"attester.sim_identity.", k_identity_keys, I_COUNT, 0, {0}};
        c->has_sim_identity = 1;
        return walk(p, v, &sec, set_identity);
    }
    case A_QUOTE_FILE:
        return get_path(p, v, &c->quote_file);
    case A_PRIVLEVEL:
        GUARD(get_uint(p, v, 0, 3, &n));
        c->has_privlevel = 1;
        c->privlevel = (unsigned)n;
        return AECS_OK;
    default:
        return AECS_ERR(AECS_E_INTERNAL, "client config: attester key %zu", key);
    }
}

/* ---- the root ---- */

enum {
    R_SERVER,
    R_KEY,
    R_CA,
    R_FINGERPRINT,
    R_SERVICE,
    R_SERVER_POLICY,
    R_VERIFIER,
    R_ATTESTER,
    R_TIMEOUTS,
    R_SERVICE_ID,
    R_ACCEPT_INSECURE_SERVER,
    R_COUNT
};

static const char *const k_root_keys[R_COUNT] = {
    "server",
    "key",
    "ca",
    "fingerprint",
    "service",
    "server_policy",
    "verifier",
    "attester",
    "timeouts",
    "service_id",
    "accept_insecure_server",
};

#define BIT(k) (1u << (k))
/* The root keys of each kind of file. */
static const unsigned k_root_allowed[] = {
    [AECS_CONFIG_CLIENT] = BIT(R_SERVER) | BIT(R_CA) | BIT(R_FINGERPRINT) | BIT(R_SERVER_POLICY) |
                           BIT(R_VERIFIER) | BIT(R_ATTESTER) | BIT(R_TIMEOUTS) | BIT(R_SERVICE_ID) |
                           BIT(R_ACCEPT_INSECURE_SERVER),
    [AECS_CONFIG_CREDENTIAL] = BIT(R_SERVER) | BIT(R_KEY) | BIT(R_CA) | BIT(R_FINGERPRINT) |
                               BIT(R_SERVICE) | BIT(R_SERVER_POLICY) | BIT(R_VERIFIER) |
                               BIT(R_SERVICE_ID) | BIT(R_ACCEPT_INSECURE_SERVER),
};

/* Appends one server URL (len bytes at s). */
static int add_server(const struct cfgp *p, int line, const char *s, size_t len, char **servers,
                      size_t *count)
{
    char *url = NULL;
    int rc;

    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0)
        return fail_at(p, line, "has an empty entry");
    rc = aecs_cred_server_url(s, len, "a server", &url);
    if (rc == AECS_E_NO_MEMORY)
        return rc;
    if (rc != AECS_OK)
        return fail_at(p, line, "%s", aecs_err_last()->message);
    if (*count >= AECS_CRED_MAX_SERVERS) {
        free(url);
        return fail_at(p, line, "lists more than %d servers", AECS_CRED_MAX_SERVERS);
    }
    servers[(*count)++] = url;
    return AECS_OK;
}

/* A comma-separated list of URLs. */
static int add_server_list(const struct cfgp *p, int line, const char *s, size_t len,
                           char **servers, size_t *count)
{
    for (size_t start = 0, i = 0;; i++) {
        if (i == len || s[i] == ',') {
            GUARD(add_server(p, line, s + start, i - start, servers, count));
            if (i == len)
                return AECS_OK;
            start = i + 1;
        }
    }
}

/* One URL, a comma-separated list of them, or a YAML list. */
static int set_servers(struct cfgp *p, const yaml_node_t *v)
{
    const char *s;
    size_t len;

    if (v->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *it = v->data.sequence.items.start;
        size_t count = (size_t)(v->data.sequence.items.top - it);
        if (count == 0)
            return fail_at(p, node_line(v), "is an empty list");
        for (size_t i = 0; i < count; i++) {
            yaml_node_t *item = yaml_document_get_node(p->doc, it[i]);
            if (item == NULL)
                return fail_at(p, node_line(v), "has a list item that refers to nothing");
            GUARD(visit(p, it[i], node_line(item)));
            GUARD(scalar(p, item, &s, &len));
            GUARD(add_server(p, node_line(item), s, len, p->cfg->servers, &p->cfg->server_count));
        }
        return AECS_OK;
    }
    GUARD(scalar(p, v, &s, &len));
    return add_server_list(p, node_line(v), s, len, p->cfg->servers, &p->cfg->server_count);
}

static int set_fingerprint(struct cfgp *p, const yaml_node_t *v)
{
    const char *s;
    size_t len;
    char text[128];

    GUARD(scalar(p, v, &s, &len));
    if (len < sizeof(text)) {
        memcpy(text, s, len);
        text[len] = '\0';
    }
    if (len >= sizeof(text) || aecs_tls_pin_parse(text, &p->cfg->pin) != AECS_OK)
        return fail_at(p, node_line(v),
                       "must be the SHA-256 of the server's certificate: 64 hex digits, "
                       "optionally in pairs separated by ':'");
    p->cfg->pinned = 1;
    return AECS_OK;
}

/* The default service of `aecs secret` (credential files): a name of docs/api.md. */
static int set_service(struct cfgp *p, const yaml_node_t *v)
{
    const char *s;
    size_t len;

    GUARD(scalar(p, v, &s, &len));
    if (memchr(s, '\0', len) != NULL || aecs_name_check(s, "the name") != AECS_OK)
        return fail_at(p, node_line(v), "%s",
                       memchr(s, '\0', len) != NULL ? "holds a NUL" : aecs_err_last()->message);
    free(p->cfg->service);
    p->cfg->service = strndup(s, len);
    ENSURE(p->cfg->service != NULL, AECS_E_NO_MEMORY, "out of memory");
    return AECS_OK;
}

/*
 * The service id to insist on: 32 hex digits in either case, kept lowercase
 * as the server writes it (GET /v1/status "id", the identity answer).
 */
static int set_service_id(struct cfgp *p, const yaml_node_t *v)
{
    uint8_t raw[16];

    GUARD(get_hex(p, v, raw, sizeof(raw)));
    aecs_hex_encode(raw, sizeof(raw), p->cfg->trust.service_id);
    return AECS_OK;
}

static int set_root(struct cfgp *p, size_t key, const yaml_node_t *v)
{
    switch (key) {
    case R_SERVER:
        return set_servers(p, v);
    case R_CA:
        return get_path(p, v, &p->cfg->ca);
    case R_KEY:
        return get_path(p, v, &p->cfg->key);
    case R_FINGERPRINT:
        return set_fingerprint(p, v);
    case R_SERVICE:
        return set_service(p, v);
    case R_SERVER_POLICY:
        return AECS_OK; /* checked as a whole by the policy module */
    case R_VERIFIER: {
        struct section sec = {"verifier.", k_verifier_keys, V_COUNT, 0, {0}};
        return walk(p, v, &sec, set_verifier);
    }
    case R_ATTESTER: {
        struct section sec = {"attester.", k_attester_keys, A_COUNT, 0, {0}};
        return walk(p, v, &sec, set_attester);
    }
    case R_TIMEOUTS: {
        struct section sec = {"timeouts.", k_timeout_keys, 2, 0, {0}};
        return walk(p, v, &sec, set_timeout);
    }
    case R_SERVICE_ID:
        return set_service_id(p, v);
    case R_ACCEPT_INSECURE_SERVER:
        return get_bool(p, v, &p->cfg->trust.accept_insecure_server);
    default:
        return AECS_ERR(AECS_E_INTERNAL, "client config: key %zu", key);
    }
}

/* What goes together, once every key is read. */
static int check_whole(struct cfgp *p, const struct section *root)
{
    struct aecs_client_config *c = p->cfg;
    const char *type = c->attester != NULL ? c->attester : "auto";
    int sim = strcmp(type, "sim") == 0;
    int snp = strcmp(type, "tsm") == 0 || strcmp(type, "configfs-tsm") == 0 ||
              strcmp(type, "sev-guest") == 0 || strcmp(type, "auto") == 0;

    p->path[0] = '\0';
    if (c->ca != NULL && c->pinned) {
        int later = root->line[R_CA] > root->line[R_FINGERPRINT] ? R_CA : R_FINGERPRINT;
        return fail_at(p, root->line[later],
                       "`ca` and `fingerprint` are both given (the other on line %d): trust the "
                       "server one way, with a CA file or a pinned certificate",
                       root->line[later == R_CA ? R_FINGERPRINT : R_CA]);
    }
    snprintf(p->path, sizeof(p->path), "verifier");
    if (c->trust.kds_url != NULL && !c->trust.use_kds)
        return fail_at(p, root->line[R_VERIFIER], "kds_url is given but use_kds is not true");
    p->path[0] = '\0';
    /* A credential file's required keys are checked once the environment is applied. */
    if (p->kind == AECS_CONFIG_CREDENTIAL)
        return AECS_OK;
    if (c->server_count == 0)
        return fail_at(p, 0, "no `server` (the aecsd URL, https://HOST:PORT)");
    if (c->ca == NULL && !c->pinned)
        return fail_at(p, 0,
                       "neither `ca` nor `fingerprint`: say how to trust the server's TLS "
                       "certificate (a CA or certificate PEM file, or its SHA-256)");
    snprintf(p->path, sizeof(p->path), "attester");
    if (strcmp(type, "file") == 0 && c->quote_file == NULL)
        return fail_at(p, root->line[R_ATTESTER], "type file needs quote_file");
    if (sim && c->sim_dir == NULL)
        return fail_at(p, root->line[R_ATTESTER],
                       "type sim needs sim_dir (the folder of `aecs sim init`)");
    if (!sim && (c->has_sim_identity || c->sim_tdx))
        return fail_at(p, root->line[R_ATTESTER], "sim_identity and sim_tee are for type sim only");
    if (!snp && c->has_privlevel)
        return fail_at(p, root->line[R_ATTESTER],
                       "privlevel is for SEV-SNP attesters only (tsm, sev-guest, auto)");
    if (strcmp(type, "file") != 0 && c->quote_file != NULL)
        return fail_at(p, root->line[R_ATTESTER], "quote_file is for type file only");
    p->path[0] = '\0';
    return AECS_OK;
}

static int yaml_failure(const struct cfgp *p, const yaml_parser_t *y)
{
    if (y->error == YAML_MEMORY_ERROR)
        return AECS_ERR(AECS_E_NO_MEMORY, "%.200s: out of memory in the YAML parser", p->name);
    if (y->error == YAML_READER_ERROR)
        return fail_at(p, 0, "YAML: %s at byte %zu", y->problem ? y->problem : "unreadable input",
                       y->problem_offset);
    return fail_at(p, (int)y->problem_mark.line + 1, "YAML: %s%s%s", y->context ? y->context : "",
                   y->context ? ": " : "", y->problem ? y->problem : "syntax error");
}

/* The server policy, by the policy module; its message already names file, line and path. */
static int parse_rules(struct cfgp *p, const char *text, size_t size, int line)
{
    static const char k_no_identity[] = "this rule names no enclave identity";
    struct aecs_policy_error perr;
    int rc;

    /* Optional in a credential file: init and unseal refuse to go on without it. */
    if (line == 0 && p->kind == AECS_CONFIG_CREDENTIAL)
        return AECS_OK;
    if (line == 0)
        return fail_at(p, 0,
                       "no `server_policy`: say which aecsd to trust (enclaveMatchAnyRules, "
                       "as in a secret's policy: docs/policy.md)");
    rc = aecs_policy_rules_parse(text, size, p->name, "server_policy", 0,
                                 &p->cfg->trust.server_rules, &perr);
    if (rc == AECS_E_NO_MEMORY)
        return rc;
    /* The policy module's hint for this one names an option secrets have and clients do not. */
    if (rc != AECS_OK && strncmp(perr.reason, k_no_identity, strlen(k_no_identity)) == 0) {
        snprintf(p->path, sizeof(p->path), "%.90s", perr.path);
        return fail_at(p, perr.line,
                       "%s, so any server would be trusted: set mrenclave or mrsigner (SGX), mrtd "
                       "(TDX) or measurement (SNP) of the aecsd to trust",
                       k_no_identity);
    }
    if (rc != AECS_OK) {
        char msg[sizeof(aecs_err_last()->message)];
        memcpy(msg, aecs_err_last()->message, sizeof(msg));
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "%s", msg);
    }
    p->cfg->trust.has_policy = 1;
    return AECS_OK;
}

int aecs_client_config_parse(const char *text, size_t size, const char *name, const char *base_dir,
                             struct aecs_client_config **out)
{
    return aecs_client_config_parse_kind(AECS_CONFIG_CLIENT, text, size, name, base_dir, out);
}

int aecs_client_config_parse_kind(enum aecs_config_kind kind, const char *text, size_t size,
                                  const char *name, const char *base_dir,
                                  struct aecs_client_config **out)
{
    int rc = AECS_OK;
    yaml_parser_t parser;
    yaml_document_t doc, next;
    int have_doc = 0;
    int cred = kind == AECS_CONFIG_CREDENTIAL;
    struct cfgp p;
    struct section root_sec = {"", k_root_keys, R_COUNT, 0, {0}};
    struct aecs_client_config *c = NULL;

    *out = NULL;
    memset(&p, 0, sizeof(p));
    ENSURE(kind == AECS_CONFIG_CLIENT || cred, AECS_E_INVALID_ARGUMENT, "unknown file kind");
    p.kind = kind;
    p.name = name != NULL ? name : cred ? "credentials" : "client configuration";
    p.base_dir = base_dir;
    root_sec.allowed = k_root_allowed[kind];
    ENSURE(text != NULL || size == 0, AECS_E_INVALID_ARGUMENT, "no configuration text");
    if (size > AECS_CLIENT_CONFIG_MAX || (cred && size > AECS_CRED_FILE_MAX))
        return fail_at(&p, 0, "larger than %u bytes: not a %s",
                       cred ? AECS_CRED_FILE_MAX : AECS_CLIENT_CONFIG_MAX,
                       cred ? "credential file" : "client configuration");
    c = calloc(1, sizeof(*c));
    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");
    p.cfg = c;
    c->source = strdup(p.name);
    c->attester = strdup("auto");
    c->connect_timeout = AECS_CLIENT_DEFAULT_CONNECT_TIMEOUT;
    c->timeout = AECS_CLIENT_DEFAULT_TIMEOUT;
    if (c->source == NULL || c->attester == NULL) {
        aecs_client_config_free(c);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    if (!yaml_parser_initialize(&parser)) {
        aecs_client_config_free(c);
        return AECS_ERR(AECS_E_NO_MEMORY, "cannot initialize the YAML parser");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text != NULL ? text : ""), size);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_failure(&p, &parser);
        goto out;
    }
    have_doc = 1;
    p.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL)
        GUARD_OUT(fail_at(&p, 0,
                          cred ? "empty: expected server, key and ca or fingerprint"
                               : "empty: expected server, ca or fingerprint, server_policy"));
    if (!yaml_parser_load(&parser, &next)) {
        rc = yaml_failure(&p, &parser);
        goto out;
    }
    yaml_node_t *extra = yaml_document_get_root_node(&next);
    int extra_line = extra != NULL ? node_line(extra) : 0;
    yaml_document_delete(&next);
    if (extra != NULL)
        GUARD_OUT(fail_at(&p, extra_line, "more than one YAML document"));
    p.node_count = (size_t)(doc.nodes.top - doc.nodes.start);
    p.seen = calloc(p.node_count, 1);
    ENSURE_OUT(p.seen != NULL, AECS_E_NO_MEMORY, "out of memory");
    p.seen[0] = 1; /* the root, the first node the loader made */
    GUARD_OUT(walk(&p, root, &root_sec, set_root));
    GUARD_OUT(check_whole(&p, &root_sec));
    GUARD_OUT(parse_rules(&p, text, size, root_sec.line[R_SERVER_POLICY]));
    *out = c;
    c = NULL;
out:
    free(p.seen);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    aecs_client_config_free(c);
    return rc;
}

/* ---- the environment ---- */

static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

int aecs_client_env_server(char *servers[AECS_CRED_MAX_SERVERS], size_t *count, char **ca,
                           int *pinned, struct aecs_tls_pin *pin)
{
    const char *server = env("AECS_SERVER");
    const char *ca_env = env("AECS_CA");
    const char *fp = env("AECS_FINGERPRINT");
    struct cfgp p = {.name = "environment"};

    ENSURE(ca_env == NULL || fp == NULL, AECS_E_INVALID_ARGUMENT,
           "AECS_CA and AECS_FINGERPRINT are both set: use one");
    if (server != NULL) {
        for (size_t i = 0; i < *count; i++) {
            free(servers[i]);
            servers[i] = NULL;
        }
        *count = 0;
        snprintf(p.path, sizeof(p.path), "AECS_SERVER");
        GUARD(add_server_list(&p, 0, server, strlen(server), servers, count));
    }
    if (ca_env != NULL || fp != NULL) {
        free(*ca);
        *ca = NULL;
        *pinned = 0;
        memset(pin, 0, sizeof(*pin));
    }
    if (ca_env != NULL) {
        *ca = strdup(ca_env);
        ENSURE(*ca != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    if (fp != NULL) {
        if (aecs_tls_pin_parse(fp, pin) != AECS_OK) {
            aecs_err_prefix("AECS_FINGERPRINT: ");
            return aecs_err_last()->code;
        }
        *pinned = 1;
    }
    return AECS_OK;
}

static int apply_env(struct aecs_client_config *c)
{
    const char *attester = env("AECS_ATTESTER");

    GUARD(aecs_client_env_server(c->servers, &c->server_count, &c->ca, &c->pinned, &c->pin));
    if (attester != NULL) {
        size_t i = 0;
        while (k_attester_types[i] != NULL && strcmp(k_attester_types[i], attester) != 0)
            i++;
        ENSURE(k_attester_types[i] != NULL, AECS_E_INVALID_ARGUMENT,
               "AECS_ATTESTER must be auto, sim, gramine, tsm, sev-guest or file");
        free(c->attester);
        c->attester = strdup(attester);
        ENSURE(c->attester != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    return AECS_OK;
}

int aecs_client_config_load(const char *path, unsigned flags, struct aecs_client_config **out)
{
    int rc = AECS_OK;
    uint8_t *text = NULL;
    size_t size = 0;
    char *dir_buf = NULL;
    struct aecs_client_config *c = NULL;

    *out = NULL;
    ENSURE(path != NULL && path[0] != '\0', AECS_E_INVALID_ARGUMENT,
           "no client configuration file given");
    rc = aecs_file_read(path, AECS_CLIENT_CONFIG_MAX, &text, &size);
    if (rc != AECS_OK) {
        aecs_err_prefix("client configuration: ");
        return rc;
    }
    dir_buf = strdup(path);
    ENSURE_OUT(dir_buf != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(aecs_client_config_parse((const char *)text, size, path, dirname(dir_buf), &c));
    if (flags & AECS_CLIENT_CONFIG_ENV)
        GUARD_OUT(apply_env(c));
    *out = c;
    c = NULL;
out:
    aecs_client_config_free(c);
    free(dir_buf);
    free(text);
    return rc;
}
