/*
 * objects.c - what the admins manage: services (each with one service admin
 * key) and their secrets, created from SecretPolicy YAML files.
 *
 * Records (sealed, see index.c):
 *   /k/keys/<key id>          {"key_id", "pubkey", "role", "service"?, "created"}
 *   /k/services/<name>        {"name", "key_id", "created"}
 *   /k/secrets/<svc>/<name>   {"spec", "content_type", "private", "public_content_type",
 *                              "public", "params_hash", "created", "updated"}
 *
 * A key has one role: a cluster admin, or the admin of exactly one service.
 * Names are matched exactly; paths are built only from names that passed
 * aecs_service_name_valid, so no name can reach another folder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "keystore/secret.h"
#include "policy/policy.h"
#include "proto/json_wipe.h"
#include "service/internal.h"

#define PATH_MAX_LEN 256

/* Refuses fields other than the NULL-terminated list. */
static int only_fields(const json_t *body, const char *const *allowed, enum aecs_api_code *api)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)body, key, value)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a != NULL; a++)
            ok |= strcmp(*a, key) == 0;
        if (!ok)
            return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                          "unknown field '%.40s' in the body", key);
    }
    return AECS_OK;
}

static int check_name(const char *what, const char *name, enum aecs_api_code *api)
{
    if (name == NULL)
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT, "%s is required", what);
    if (!aecs_service_name_valid(name))
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                      "%s '%.64s' is not a valid name (1 to 64 of A-Z a-z 0-9 . _ -, not "
                      "starting with '.')", what, name);
    return AECS_OK;
}

static int require_cluster_admin(const struct aecs_caller *caller, const char *what,
                                 enum aecs_api_code *api)
{
    if (caller->role != AECS_ROLE_CLUSTER_ADMIN)
        return REFUSE(api, API_FORBIDDEN, AECS_E_UNTRUSTED,
                      "only a cluster admin may %s (this key administers service '%s')", what,
                      caller->service);
    return AECS_OK;
}

static int require_service_admin(const struct aecs_caller *caller, const char *service,
                                 const char *what, enum aecs_api_code *api)
{
    if (caller->role == AECS_ROLE_CLUSTER_ADMIN)
        return REFUSE(api, API_FORBIDDEN, AECS_E_UNTRUSTED,
                      "a cluster admin may not %s: sign with the admin key of service '%.64s'",
                      what, service);
    if (strcmp(caller->service, service) != 0)
        return REFUSE(api, API_FORBIDDEN, AECS_E_UNTRUSTED,
                      "this key administers service '%s', not '%.64s'", caller->service,
                      service);
    return AECS_OK;
}

static void service_path(const char *name, char out[PATH_MAX_LEN])
{
    snprintf(out, PATH_MAX_LEN, SVC_SERVICES "%s", name);
}

static void secrets_prefix(const char *service, char out[PATH_MAX_LEN])
{
    snprintf(out, PATH_MAX_LEN, SVC_SECRETS "%s/", service);
}

static void secret_path(const char *service, const char *name, char out[PATH_MAX_LEN])
{
    snprintf(out, PATH_MAX_LEN, SVC_SECRETS "%s/%s", service, name);
}

static size_t count_under(const struct svc_index *ix, const char *prefix)
{
    json_t *paths = NULL;
    size_t n = 0;

    if (svc_index_paths(ix, prefix, &paths) == AECS_OK)
        n = json_array_size(paths);
    json_decref(paths);
    return n;
}

/* Maps a failed write: a concurrent change is a conflict, the rest is internal. */
static int write_failed(int rc, enum aecs_api_code *api)
{
    if (*api == API_OK)
        *api = rc == AECS_E_MISMATCH ? API_CONFLICT
               : rc == AECS_E_TOO_LARGE ? API_TOO_LARGE
                                        : API_INTERNAL;
    return rc;
}

static const char *role_name(const struct aecs_caller *caller)
{
    return caller->role == AECS_ROLE_CLUSTER_ADMIN ? "cluster-admin" : "service-admin";
}

/*
 * Refuses a create that would leave service `name` with more than
 * svc->max_secrets secrets (the `created` new ones are already in t's index):
 * one tenant cannot fill the index every service shares.
 */
static int check_quota(struct aecs_service *svc, const struct svc_txn *t, const char *name,
                       size_t created, enum aecs_api_code *api)
{
    char prefix[PATH_MAX_LEN];
    size_t n;

    if (created == 0)
        return AECS_OK;
    secrets_prefix(name, prefix);
    n = count_under(&t->ix, prefix);
    if (n > svc->max_secrets)
        return REFUSE(api, API_QUOTA_EXCEEDED, AECS_E_TOO_LARGE,
                      "service '%s' would hold %zu secrets, more than the %u this server allows "
                      "one service (aecsd --max-secrets-per-service): destroy some first",
                      name, n, svc->max_secrets);
    return AECS_OK;
}

/* Set when this thread's last commit lost a compare to another writer. */
static _Thread_local int tl_raced;

/* Commits an admin's write with its audit entry; a failure sets *api. */
static int commit_action(struct aecs_service *svc, struct svc_txn *t,
                         const struct aecs_caller *caller, const struct aecs_request *req,
                         const char *action, const char *target, const char *detail,
                         enum aecs_api_code *api)
{
    struct svc_audit_event ev = {0};
    int rc;

    ev.actor = caller->key_id;
    ev.role = role_name(caller);
    ev.remote = req != NULL              ? req->remote
                : caller->remote[0] != '\0' ? caller->remote
                                            : NULL;
    ev.action = action;
    ev.target = target;
    ev.result = "ok";
    ev.detail = detail;
    rc = svc_txn_commit(svc, t, &ev);
    if (rc == AECS_E_MISMATCH)
        tl_raced = 1;
    return rc == AECS_OK ? AECS_OK : write_failed(rc, api);
}

/*
 * Runs a whole admin write again when another replica (or thread) changed the
 * index or the audit head between its read and its commit: the write is then
 * decided anew on the state that won (a name taken meanwhile is a conflict
 * then), so a retry never overwrites the other write. Only the compare of
 * svc_txn_commit sets tl_raced; every other AECS_E_MISMATCH is a real
 * conflict and is answered as such. An AECS_E_IO ("may or may not have been
 * applied") is never retried.
 */
#define WRITE_WITH_RETRY(call)                                                                     \
    do {                                                                                           \
        for (int try_ = 1;; try_++) {                                                              \
            tl_raced = 0;                                                                          \
            rc = (call);                                                                           \
            if (rc != AECS_E_MISMATCH || !tl_raced || try_ >= SVC_WRITE_TRIES)                     \
                break;                                                                             \
            log_info("store: another replica wrote first; running the write again (try %d "       \
                     "of %d)", try_ + 1, SVC_WRITE_TRIES);                                         \
            *api = API_OK;                                                                         \
            aecs_err_clear();                                                                      \
            svc_retry_backoff();                                                                   \
        }                                                                                          \
    } while (0)

/* ---- services ---- */

int aecs_service_services_list(struct aecs_service *svc, const struct aecs_caller *caller,
                               json_t **answer, enum aecs_api_code *api)
{
    int rc = AECS_OK;
    struct svc_index ix = {0};
    json_t *paths = NULL, *list = NULL, *rec = NULL;
    char prefix[PATH_MAX_LEN];
    size_t i;
    json_t *p;

    *answer = NULL;
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    GUARD_OUT(require_cluster_admin(caller, "list services", api));
    GUARD_OUT(svc_index_load(svc, &ix));
    GUARD_OUT(svc_index_paths(&ix, SVC_SERVICES, &paths));
    list = json_array();
    ENSURE_OUT(list != NULL, AECS_E_NO_MEMORY, "out of memory");
    json_array_foreach(paths, i, p)
    {
        const char *name;
        GUARD_OUT(svc_record_read(svc, &ix, json_string_value(p), SVC_T_SERVICE, &rec));
        name = json_string_value(json_object_get(rec, "name"));
        ENSURE_OUT(name != NULL, AECS_E_FORMAT, "service record is malformed");
        secrets_prefix(name, prefix);
        json_object_set_new(rec, "secrets", json_integer((json_int_t)count_under(&ix, prefix)));
        json_array_append(list, rec);
        json_decref(rec);
        rec = NULL;
    }
    *answer = json_pack("{s:O}", "services", list);
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
out:
    json_decref(rec);
    json_decref(list);
    json_decref(paths);
    svc_index_clear(&ix);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

static int service_register_once(struct aecs_service *svc, const struct aecs_caller *caller,
                                  const struct aecs_request *req, json_t **answer,
                                  enum aecs_api_code *api)
{
    static const char *const fields[] = {"name", "pubkey", NULL};
    int rc = AECS_OK;
    json_t *body = NULL, *service = NULL, *key = NULL;
    struct aecs_sigkey *pub = NULL;
    const char *name, *pem;
    char key_id[AECS_SIGKEY_ID_HEX + 1], created[32], spath[PATH_MAX_LEN], kpath[PATH_MAX_LEN];
    struct svc_txn t;
    int in_txn = 0;

    *answer = NULL;
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    GUARD_OUT(require_cluster_admin(caller, "register services", api));
    GUARD_OUT(svc_body_object(req, &body, api));
    GUARD_OUT(only_fields(body, fields, api));
    name = json_string_value(json_object_get(body, "name"));
    pem = json_string_value(json_object_get(body, "pubkey"));
    GUARD_OUT(check_name("name", name, api));
    if (pem == NULL) {
        *api = API_BAD_REQUEST;
        BAIL_OUT(AECS_E_INVALID_ARGUMENT, "pubkey (the service admin's PEM public key) is "
                                          "required");
    }
    rc = aecs_sigkey_parse_public(pem, strlen(pem), &pub);
    if (rc != AECS_OK) {
        *api = API_BAD_REQUEST;
        aecs_err_prefix("pubkey: ");
        goto out;
    }
    GUARD_OUT(aecs_sigkey_id(pub, key_id));
    service_path(name, spath);
    snprintf(kpath, sizeof(kpath), SVC_KEYS "%s", key_id);

    in_txn = 1;
    GUARD_OUT(svc_txn_begin(svc, &t, 0));
    if (svc_index_version(&t.ix, spath) != 0) {
        *api = API_CONFLICT;
        BAIL_OUT(AECS_E_MISMATCH, "service '%s' is already registered", name);
    }
    if (svc_index_version(&t.ix, kpath) != 0) {
        *api = API_CONFLICT;
        BAIL_OUT(AECS_E_MISMATCH,
                 "key %.16s... is already registered (an admin key has one role: make another "
                 "with `aecs keygen`)", key_id);
    }
    aecs_time_format(aecs_time_now(), created);
    service = json_pack("{s:s, s:s, s:s}", "name", name, "key_id", key_id, "created", created);
    key = json_pack("{s:s, s:s, s:s, s:s, s:s}", "key_id", key_id, "pubkey", pem, "role",
                    "service-admin", "service", name, "created", created);
    ENSURE_OUT(service != NULL && key != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(svc_txn_put(svc, &t, spath, SVC_T_SERVICE, service));
    GUARD_OUT(svc_txn_put(svc, &t, kpath, SVC_T_KEY, key));
    GUARD_OUT(commit_action(svc, &t, caller, req, "service.register", name, key_id, api));
    *answer = json_pack("{s:s, s:s}", "name", name, "key_id", key_id);
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
out:
    if (in_txn)
        svc_txn_end(svc, &t);
    aecs_sigkey_free(pub);
    json_decref(service);
    json_decref(key);
    json_decref(body);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

int aecs_service_service_register(struct aecs_service *svc, const struct aecs_caller *caller,
                                  const struct aecs_request *req, json_t **answer,
                                  enum aecs_api_code *api)
{
    int rc;

    WRITE_WITH_RETRY(service_register_once(svc, caller, req, answer, api));
    return rc;
}

static int service_unregister_once(struct aecs_service *svc, const struct aecs_caller *caller,
                                    const char *name, int force, json_t **answer,
                                    enum aecs_api_code *api)
{
    int rc = AECS_OK;
    json_t *rec = NULL, *paths = NULL, *p;
    const char *key_id;
    char spath[PATH_MAX_LEN], kpath[PATH_MAX_LEN], prefix[PATH_MAX_LEN], detail[64];
    struct svc_txn t;
    int in_txn = 0;
    size_t i, n;

    *answer = NULL;
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    GUARD_OUT(require_cluster_admin(caller, "unregister services", api));
    GUARD_OUT(check_name("service", name, api));
    service_path(name, spath);
    secrets_prefix(name, prefix);

    in_txn = 1;
    GUARD_OUT(svc_txn_begin(svc, &t, 0));
    rc = svc_record_read(svc, &t.ix, spath, SVC_T_SERVICE, &rec);
    if (rc == AECS_E_NOT_FOUND) {
        *api = API_NOT_FOUND;
        BAIL_OUT(AECS_E_NOT_FOUND, "no service '%s'", name);
    }
    GUARD_OUT(rc);
    key_id = json_string_value(json_object_get(rec, "key_id"));
    ENSURE_OUT(key_id != NULL && strlen(key_id) == AECS_SIGKEY_ID_HEX, AECS_E_FORMAT,
               "service record is malformed");
    snprintf(kpath, sizeof(kpath), SVC_KEYS "%s", key_id);
    GUARD_OUT(svc_index_paths(&t.ix, prefix, &paths));
    n = json_array_size(paths);
    if (n > 0 && !force) {
        *api = API_CONFLICT;
        BAIL_OUT(AECS_E_MISMATCH,
                 "service '%s' has %zu secret%s: destroy them first, or unregister with --force "
                 "to destroy them too", name, n, n == 1 ? "" : "s");
    }
    if (n + 2 > SVC_TXN_MAX_OPS) {
        *api = API_TOO_LARGE;
        BAIL_OUT(AECS_E_TOO_LARGE,
                 "service '%s' has %zu secrets, more than one request can destroy (%d): "
                 "destroy some with `aecs secret destroy` first", name, n, SVC_TXN_MAX_OPS - 2);
    }
    json_array_foreach(paths, i, p) GUARD_OUT(svc_txn_delete(&t, json_string_value(p)));
    GUARD_OUT(svc_txn_delete(&t, spath));
    GUARD_OUT(svc_txn_delete(&t, kpath));
    snprintf(detail, sizeof(detail), "%zu secrets destroyed%s", n, force ? " (force)" : "");
    GUARD_OUT(commit_action(svc, &t, caller, NULL, "service.unregister", name, detail, api));
    *answer = json_pack("{s:s, s:I}", "name", name, "secrets_destroyed", (json_int_t)n);
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
out:
    if (in_txn)
        svc_txn_end(svc, &t);
    json_decref(rec);
    json_decref(paths);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

int aecs_service_service_unregister(struct aecs_service *svc, const struct aecs_caller *caller,
                                    const char *name, int force, json_t **answer,
                                    enum aecs_api_code *api)
{
    int rc;

    WRITE_WITH_RETRY(service_unregister_once(svc, caller, name, force, answer, api));
    return rc;
}

/* ---- secrets ---- */

/*
 * A hash of what makes a secret's value (type, params, data), so an update
 * can tell whether the value would have to change.
 */
static int params_hash(const struct aecs_secret_spec *spec, char hex[65])
{
    struct aecs_bytes parts[2 + 2 * AECS_POLICY_MAX_PARAMS + 1];
    size_t n = 0;
    uint8_t digest[32];
    const char *type = aecs_secret_type_name(spec->type);

    parts[n++] = (struct aecs_bytes){type, strlen(type) + 1};
    for (size_t i = 0; i < spec->param_count && i < AECS_POLICY_MAX_PARAMS; i++) {
        parts[n++] = (struct aecs_bytes){spec->params[i].key, strlen(spec->params[i].key) + 1};
        parts[n++] =
            (struct aecs_bytes){spec->params[i].value, strlen(spec->params[i].value) + 1};
    }
    parts[n++] = (struct aecs_bytes){spec->data != NULL ? spec->data : "", spec->data_size};
    GUARD(aecs_sha256_parts(parts, n, digest));
    aecs_hex_encode(digest, sizeof(digest), hex);
    return AECS_OK;
}

/* Makes the record of a new secret. */
static int make_secret_record(const struct aecs_secret_spec *spec, const char *hash,
                              const char *created, json_t **out)
{
    int rc = AECS_OK;
    struct aecs_secret_param params[AECS_POLICY_MAX_PARAMS];
    struct aecs_secret *secret = NULL;
    json_t *spec_json = NULL, *rec = NULL;
    char *b64 = NULL;
    size_t b64_size = 0;

    *out = NULL;
    for (size_t i = 0; i < spec->param_count && i < AECS_POLICY_MAX_PARAMS; i++) {
        params[i].key = spec->params[i].key;
        params[i].value = spec->params[i].value;
    }
    GUARD_OUT(aecs_secret_generate(aecs_secret_type_name(spec->type), params, spec->param_count,
                                   (const uint8_t *)spec->data, spec->data_size, &secret));
    GUARD_OUT(aecs_policy_spec_to_json(spec, &spec_json));
    b64_size = aecs_base64_encoded_size(secret->private_size);
    b64 = malloc(b64_size + 1);
    ENSURE_OUT(b64 != NULL, AECS_E_NO_MEMORY, "out of memory");
    aecs_base64_encode(secret->private_data, secret->private_size, b64);
    rec = json_pack("{s:O, s:s, s:s, s:s*, s:s*, s:s, s:s, s:s}", "spec", spec_json,
                    "content_type", secret->content_type, "private", b64,
                    "public_content_type", secret->public_content_type, "public",
                    secret->public_data, "params_hash", hash, "created", created, "updated",
                    created);
    ENSURE_OUT(rec != NULL, AECS_E_NO_MEMORY, "out of memory");
    *out = rec;
out:
    if (b64 != NULL) {
        aecs_cleanse(b64, b64_size);
        free(b64);
    }
    json_decref(spec_json);
    aecs_secret_free(secret);
    return rc;
}

static int policy_refused(const struct aecs_policy_error *perr, enum aecs_api_code *api)
{
    *api = API_INVALID_POLICY;
    (void)perr;
    return aecs_err_last()->code != AECS_OK ? aecs_err_last()->code : AECS_E_FORMAT;
}

static int secrets_create_once(struct aecs_service *svc, const struct aecs_caller *caller,
                                const struct aecs_request *req, json_t **answer,
                                enum aecs_api_code *api)
{
    static const char *const fields[] = {"policy", "update", "insecure_allow_any_enclave", NULL};
    int rc = AECS_OK;
    json_t *body = NULL, *created_list = NULL, *updated_list = NULL, *rec = NULL, *old = NULL;
    json_t *spec_json = NULL;
    struct aecs_policy *pol = NULL;
    struct aecs_policy_error perr;
    const char *text;
    unsigned flags = 0;
    int update;
    char path[PATH_MAX_LEN], hash[65], now[32], detail[256];
    struct svc_txn t;
    int in_txn = 0;

    *answer = NULL;
    memset(&perr, 0, sizeof(perr));
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    GUARD_OUT(svc_body_object(req, &body, api));
    GUARD_OUT(only_fields(body, fields, api));
    text = json_string_value(json_object_get(body, "policy"));
    if (text == NULL) {
        *api = API_BAD_REQUEST;
        BAIL_OUT(AECS_E_INVALID_ARGUMENT, "policy (the SecretPolicy YAML text) is required");
    }
    update = json_is_true(json_object_get(body, "update"));
    if (json_is_true(json_object_get(body, "insecure_allow_any_enclave")))
        flags |= AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE;
    rc = aecs_policy_parse(text, json_string_length(json_object_get(body, "policy")), "policy",
                           flags, &pol, &perr);
    if (rc != AECS_OK) {
        rc = policy_refused(&perr, api);
        goto out;
    }
    if (pol->count > SVC_MAX_SECRETS_PER_FILE) {
        *api = API_TOO_LARGE;
        BAIL_OUT(AECS_E_TOO_LARGE, "the policy has %zu secrets; at most %d per request: split "
                                   "the file", pol->count, SVC_MAX_SECRETS_PER_FILE);
    }
    /* Every secret must belong to the caller's service, with a valid, unique name. */
    for (size_t i = 0; i < pol->count; i++) {
        const struct aecs_secret_spec *s = &pol->specs[i];
        if (!aecs_service_name_valid(s->name)) {
            *api = API_INVALID_POLICY;
            BAIL_OUT(AECS_E_INVALID_ARGUMENT,
                     "secrets[%zu].spec.name: '%.64s' is not a valid name (1 to 64 of A-Z a-z "
                     "0-9 . _ -, not starting with '.')", i, s->name);
        }
        if (caller->role != AECS_ROLE_SERVICE_ADMIN || strcmp(caller->service, s->service) != 0) {
            rc = require_service_admin(caller, s->service, "create secrets", api);
            aecs_err_prefix("secrets[%zu].spec.service: ", i);
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(pol->specs[j].name, s->name) == 0) {
                *api = API_INVALID_POLICY;
                BAIL_OUT(AECS_E_INVALID_ARGUMENT,
                         "secrets[%zu].spec.name: '%s' is also secrets[%zu]'s name", i, s->name,
                         j);
            }
        }
    }

    created_list = json_array();
    updated_list = json_array();
    ENSURE_OUT(created_list != NULL && updated_list != NULL, AECS_E_NO_MEMORY, "out of memory");
    aecs_time_format(aecs_time_now(), now);
    in_txn = 1;
    GUARD_OUT(svc_txn_begin(svc, &t, 0));
    service_path(caller->service, path);
    if (svc_index_version(&t.ix, path) == 0) {
        *api = API_NOT_FOUND;
        BAIL_OUT(AECS_E_NOT_FOUND, "service '%s' is not registered", caller->service);
    }
    for (size_t i = 0; i < pol->count; i++) {
        const struct aecs_secret_spec *s = &pol->specs[i];
        secret_path(s->service, s->name, path);
        GUARD_OUT(params_hash(s, hash));
        if (svc_index_version(&t.ix, path) == 0) {
            rc = make_secret_record(s, hash, now, &rec);
            if (rc != AECS_OK) {
                *api = API_INVALID_POLICY;
                aecs_err_prefix("secrets[%zu] (%s): ", i, s->name);
                goto out;
            }
            json_array_append_new(created_list, json_string(s->name));
        } else {
            const char *old_hash;
            if (!update) {
                *api = API_CONFLICT;
                BAIL_OUT(AECS_E_MISMATCH,
                         "secrets[%zu]: secret '%s' of service '%s' already exists (use "
                         "--update to change its policy)", i, s->name, s->service);
            }
            GUARD_OUT(svc_record_read(svc, &t.ix, path, SVC_T_SECRET, &old));
            if (json_is_true(json_object_get(json_object_get(old, "spec"), "readonly"))) {
                *api = API_CONFLICT;
                BAIL_OUT(AECS_E_MISMATCH,
                         "secrets[%zu]: secret '%s' is readonly: destroy it and create it again "
                         "to change it", i, s->name);
            }
            old_hash = json_string_value(json_object_get(old, "params_hash"));
            if (old_hash == NULL || strcmp(old_hash, hash) != 0) {
                *api = API_CONFLICT;
                BAIL_OUT(AECS_E_MISMATCH,
                         "secrets[%zu]: the type, params or data of secret '%s' changed; an "
                         "update keeps the value and changes the policy only: destroy and "
                         "create the secret for a new value", i, s->name);
            }
            GUARD_OUT(aecs_policy_spec_to_json(s, &spec_json));
            rec = json_deep_copy(old);
            ENSURE_OUT(rec != NULL, AECS_E_NO_MEMORY, "out of memory");
            json_object_set(rec, "spec", spec_json);
            json_object_set_new(rec, "updated", json_string(now));
            json_decref(spec_json);
            spec_json = NULL;
            aecs_json_wipe(json_object_get(old, "private"));
            json_decref(old);
            old = NULL;
            json_array_append_new(updated_list, json_string(s->name));
        }
        rc = svc_txn_put(svc, &t, path, SVC_T_SECRET, rec);
        aecs_json_wipe(json_object_get(rec, "private"));
        json_decref(rec);
        rec = NULL;
        GUARD_OUT(rc);
    }
    GUARD_OUT(check_quota(svc, &t, caller->service, json_array_size(created_list), api));
    snprintf(detail, sizeof(detail), "created %zu, updated %zu%s", json_array_size(created_list),
             json_array_size(updated_list),
             flags & AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE ? " (insecure-allow-any-enclave)"
                                                            : "");
    GUARD_OUT(commit_action(svc, &t, caller, req, "secret.create", caller->service, detail, api));
    *answer = json_pack("{s:O, s:O}", "created", created_list, "updated", updated_list);
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
out:
    if (in_txn)
        svc_txn_end(svc, &t);
    if (old != NULL)
        aecs_json_wipe(json_object_get(old, "private"));
    json_decref(old);
    if (rec != NULL)
        aecs_json_wipe(json_object_get(rec, "private"));
    json_decref(rec);
    json_decref(spec_json);
    json_decref(created_list);
    json_decref(updated_list);
    aecs_policy_free(pol);
    aecs_json_wipe(body); /* the policy text may hold imported data */
    json_decref(body);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

int aecs_service_secrets_create(struct aecs_service *svc, const struct aecs_caller *caller,
                                const struct aecs_request *req, json_t **answer,
                                enum aecs_api_code *api)
{
    int rc;

    WRITE_WITH_RETRY(secrets_create_once(svc, caller, req, answer, api));
    return rc;
}

int aecs_service_secrets_list(struct aecs_service *svc, const struct aecs_caller *caller,
                              const char *service, json_t **answer, enum aecs_api_code *api)
{
    int rc = AECS_OK;
    struct svc_index ix = {0};
    json_t *paths = NULL, *list = NULL, *rec = NULL, *p, *item;
    char path[PATH_MAX_LEN];
    size_t i;

    *answer = NULL;
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    GUARD_OUT(check_name("service", service, api));
    if (caller->role != AECS_ROLE_CLUSTER_ADMIN)
        GUARD_OUT(require_service_admin(caller, service, "list secrets", api));
    GUARD_OUT(svc_index_load(svc, &ix));
    service_path(service, path);
    if (svc_index_version(&ix, path) == 0) {
        *api = API_NOT_FOUND;
        BAIL_OUT(AECS_E_NOT_FOUND, "no service '%s'", service);
    }
    secrets_prefix(service, path);
    GUARD_OUT(svc_index_paths(&ix, path, &paths));
    list = json_array();
    ENSURE_OUT(list != NULL, AECS_E_NO_MEMORY, "out of memory");
    json_array_foreach(paths, i, p)
    {
        GUARD_OUT(svc_record_read(svc, &ix, json_string_value(p), SVC_T_SECRET, &rec));
        aecs_json_wipe(json_object_get(rec, "private"));
        item = json_deep_copy(json_object_get(rec, "spec"));
        ENSURE_OUT(item != NULL, AECS_E_FORMAT, "secret record is malformed");
        json_object_set(item, "created", json_object_get(rec, "created"));
        json_object_set(item, "updated", json_object_get(rec, "updated"));
        json_array_append_new(list, item);
        json_decref(rec);
        rec = NULL;
    }
    *answer = json_pack("{s:s, s:O}", "service", service, "secrets", list);
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
out:
    if (rec != NULL)
        aecs_json_wipe(json_object_get(rec, "private"));
    json_decref(rec);
    json_decref(list);
    json_decref(paths);
    svc_index_clear(&ix);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

static int secret_destroy_once(struct aecs_service *svc, const struct aecs_caller *caller,
                                const char *service, const char *name, json_t **answer,
                                enum aecs_api_code *api)
{
    int rc = AECS_OK;
    char path[PATH_MAX_LEN], target[160];
    struct svc_txn t;
    int in_txn = 0;

    *answer = NULL;
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    GUARD_OUT(check_name("service", service, api));
    GUARD_OUT(check_name("name", name, api));
    GUARD_OUT(require_service_admin(caller, service, "destroy secrets", api));
    secret_path(service, name, path);
    in_txn = 1;
    GUARD_OUT(svc_txn_begin(svc, &t, 0));
    if (svc_index_version(&t.ix, path) == 0) {
        *api = API_NOT_FOUND;
        BAIL_OUT(AECS_E_NOT_FOUND, "service '%s' has no secret '%s'", service, name);
    }
    GUARD_OUT(svc_txn_delete(&t, path));
    snprintf(target, sizeof(target), "%s/%s", service, name);
    GUARD_OUT(commit_action(svc, &t, caller, NULL, "secret.destroy", target, NULL, api));
    *answer = json_pack("{s:s, s:s}", "service", service, "name", name);
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
out:
    if (in_txn)
        svc_txn_end(svc, &t);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

int aecs_service_secret_destroy(struct aecs_service *svc, const struct aecs_caller *caller,
                                const char *service, const char *name, json_t **answer,
                                enum aecs_api_code *api)
{
    int rc;

    WRITE_WITH_RETRY(secret_destroy_once(svc, caller, service, name, answer, api));
    return rc;
}

int aecs_service_secret_public(struct aecs_service *svc, const char *service, const char *name,
                               json_t **answer, enum aecs_api_code *api)
{
    int rc = AECS_OK;
    struct svc_index ix = {0};
    json_t *rec = NULL, *spec;
    char path[PATH_MAX_LEN];
    const char *pub, *share;

    *answer = NULL;
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    GUARD_OUT(check_name("service", service, api));
    GUARD_OUT(check_name("name", name, api));
    GUARD_OUT(svc_index_load(svc, &ix));
    secret_path(service, name, path);
    rc = svc_record_read(svc, &ix, path, SVC_T_SECRET, &rec);
    if (rc == AECS_E_NOT_FOUND) {
        *api = API_NOT_FOUND;
        BAIL_OUT(AECS_E_NOT_FOUND, "service '%s' has no public secret '%s'", service, name);
    }
    GUARD_OUT(rc);
    aecs_json_wipe(json_object_get(rec, "private"));
    spec = json_object_get(rec, "spec");
    share = json_string_value(json_object_get(spec, "share"));
    pub = json_string_value(json_object_get(rec, "public"));
    if (share == NULL || strcmp(share, "public") != 0 || pub == NULL) {
        *api = API_NOT_FOUND;
        BAIL_OUT(AECS_E_NOT_FOUND, "service '%s' has no public secret '%s'", service, name);
    }
    *answer = json_pack("{s:s, s:s, s:O, s:O, s:s}", "service", service, "name", name, "type",
                        json_object_get(spec, "type"), "content_type",
                        json_object_get(rec, "public_content_type"), "public", pub);
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
out:
    json_decref(rec);
    svc_index_clear(&ix);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}
