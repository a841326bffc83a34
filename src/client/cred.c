/*
 * cred.c - the credential file; see cred.h.
 *
 * The file is read by the client configuration's parser
 * (client_config.c, AECS_CONFIG_CREDENTIAL), so its keys, its values and its
 * messages follow one set of rules with the client's, and server_policy and
 * verifier are read by one code. What it gives is moved into struct
 * aecs_cred; the environment is applied on top by aecs_cred_load, then the
 * required keys are checked.
 */
#include "client/cred.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/file.h"
#include "client/client_config.h"

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
    aecs_server_trust_clear(cred->trust);
    free(cred->trust);
    free(cred);
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

int aecs_cred_parse(const char *text, size_t size, const char *name, const char *base_dir,
                    struct aecs_cred **out)
{
    struct aecs_client_config *cfg = NULL;
    struct aecs_cred *c = NULL;
    struct aecs_server_trust *t;

    *out = NULL;
    GUARD(aecs_client_config_parse_kind(AECS_CONFIG_CREDENTIAL, text, size, name, base_dir, &cfg));
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        aecs_client_config_free(cfg);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    /* Ownership moves field by field; what is left is freed with cfg. */
    memcpy(c->servers, cfg->servers, sizeof(c->servers));
    c->server_count = cfg->server_count;
    cfg->server_count = 0;
    c->key = cfg->key;
    c->ca = cfg->ca;
    c->pinned = cfg->pinned;
    c->pin = cfg->pin;
    c->service = cfg->service;
    c->source = cfg->source;
    cfg->key = cfg->ca = cfg->service = cfg->source = NULL;
    t = &cfg->trust;
    if (t->has_policy || t->collateral_dir != NULL || t->pccs_url != NULL ||
        t->collateral_cache_dir != NULL || t->intel_root != NULL || t->snp_collateral_dir != NULL ||
        t->use_kds || t->kds_url != NULL || t->kds_cache_dir != NULL ||
        t->insecure_trust_sim != NULL || t->accept_insecure_server || t->service_id[0] != '\0') {
        c->trust = malloc(sizeof(*c->trust));
        if (c->trust == NULL) {
            aecs_client_config_free(cfg);
            aecs_cred_free(c);
            return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
        }
        *c->trust = *t;
        memset(t, 0, sizeof(*t));
    }
    aecs_client_config_free(cfg);
    *out = c;
    return AECS_OK;
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

static int apply_env(struct aecs_cred *c)
{
    const char *key = getenv("AECS_KEY");

    GUARD(aecs_client_env_server(c->servers, &c->server_count, &c->ca, &c->pinned, &c->pin));
    if (key != NULL && key[0] != '\0') {
        free(c->key);
        c->key = strdup(key);
        ENSURE(c->key != NULL, AECS_E_NO_MEMORY, "out of memory");
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
