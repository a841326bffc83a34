/*
 * service.c - the service's life: open, state, status, init, unseal (by
 * shares or automatically with a TEE sealing key), and the checks of signed
 * admin requests. The objects themselves are in objects.c, the audit log in
 * audit.c, the index and writes in index.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/secmem.h"
#include "attest/verifier.h"
#include "crypto/envelope.h"
#include "policy/policy.h"
#include "proto/json_wipe.h"
#include "proto/release.h"
#include "proto/reqsig.h"
#include "service/challenge.h"
#include "service/internal.h"

#define SEALED_KEK_FILE "sealed-root-key"
#define SIM_SEALING_KEY_FILE "sim-sealing.key"
#define GRAMINE_SEALING_KEY "/dev/attestation/keys/_sgx_mrenclave"
#define WRAP_INFO "aecs sealed root key v1"
#define MAX_BODY_JSON (1u << 20)

/* ---- API codes ---- */

static const struct {
    const char *name;
    int status;
} k_api[] = {
    [API_OK] = {"ok", 200},
    [API_BAD_REQUEST] = {"bad_request", 400},
    [API_INVALID_POLICY] = {"invalid_policy", 400},
    [API_UNAUTHENTICATED] = {"unauthenticated", 401},
    [API_STALE_REQUEST] = {"stale_request", 401},
    [API_REPLAYED_REQUEST] = {"replayed_request", 401},
    [API_FORBIDDEN] = {"forbidden", 403},
    [API_NOT_FOUND] = {"not_found", 404},
    [API_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [API_CONFLICT] = {"conflict", 409},
    [API_TOO_LARGE] = {"too_large", 413},
    [API_RATE_LIMITED] = {"rate_limited", 429},
    [API_NOT_INITIALIZED] = {"not_initialized", 409},
    [API_SEALED] = {"sealed", 503},
    [API_BAD_SHARE] = {"bad_share", 400},
    [API_BUSY] = {"busy", 503},
    [API_STORE_DAMAGED] = {"store_damaged", 500},
    [API_INVALID_NONCE] = {"invalid_nonce", 401},
    [API_EXPIRED_NONCE] = {"expired_nonce", 401},
    [API_ATTESTATION_FAILED] = {"attestation_failed", 401},
    [API_BINDING_MISMATCH] = {"binding_mismatch", 401},
    [API_NO_IDENTITY] = {"no_identity", 503},
    [API_NOT_CONFIGURED] = {"not_configured", 503},
    [API_QUOTA_EXCEEDED] = {"quota_exceeded", 409},
    [API_SHARE_NOT_SEALED] = {"share_not_sealed", 400},
    [API_INTERNAL] = {"internal", 500},
};

const char *aecs_api_code_name(enum aecs_api_code code)
{
    if ((unsigned)code >= sizeof(k_api) / sizeof(k_api[0]))
        return "internal";
    return k_api[code].name;
}

int aecs_api_code_status(enum aecs_api_code code)
{
    if ((unsigned)code >= sizeof(k_api) / sizeof(k_api[0]))
        return 500;
    return k_api[code].status;
}

enum aecs_api_code aecs_api_code_from_err(int err)
{
    switch (err) {
    case AECS_E_USAGE:
    case AECS_E_INVALID_ARGUMENT:
    case AECS_E_FORMAT:
    case AECS_E_TRUNCATED:
    case AECS_E_TRAILING_DATA:
    case AECS_E_UNSUPPORTED:
        return API_BAD_REQUEST;
    case AECS_E_NOT_FOUND:
        return API_NOT_FOUND;
    case AECS_E_TOO_LARGE:
        return API_TOO_LARGE;
    case AECS_E_MISMATCH:
        return API_CONFLICT;
    case AECS_E_BAD_SIGNATURE:
        return API_STORE_DAMAGED; /* a sealed record that does not open */
    default:
        return API_INTERNAL;
    }
}

const char *aecs_service_state_name(enum aecs_service_state state)
{
    switch (state) {
    case AECS_STATE_UNINITIALIZED:
        return "uninitialized";
    case AECS_STATE_SEALED:
        return "sealed";
    case AECS_STATE_WORKING:
        return "working";
    default:
        return "?";
    }
}

int aecs_service_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 64 || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

/*
 * Refuses with the message of the error just recorded, under another code.
 * The message is copied first: formatting aecs_err_last()->message into
 * itself (AECS_ERR("%s", aecs_err_last()->message)) is undefined behaviour
 * and leaves it empty.
 */
static int refuse_recorded(enum aecs_api_code *api, enum aecs_api_code apicode, int code)
{
    char message[sizeof(aecs_err_last()->message)];

    snprintf(message, sizeof(message), "%s", aecs_err_last()->message);
    return REFUSE(api, apicode, code, "%s", message);
}

int svc_require_working(struct aecs_service *svc, enum aecs_api_code *api)
{
    switch (svc->state) {
    case AECS_STATE_WORKING:
        return AECS_OK;
    case AECS_STATE_SEALED:
        return REFUSE(api, API_SEALED, AECS_E_USAGE,
                      "the service is sealed: unseal it with `aecs admin unseal`");
    case AECS_STATE_UNINITIALIZED:
        return REFUSE(api, API_NOT_INITIALIZED, AECS_E_USAGE,
                      "the service is not initialized: run `aecs admin init`");
    default:
        return REFUSE(api, API_INTERNAL, AECS_E_INTERNAL, "unknown state");
    }
}

/* The commitment to one share: SHA-256 over its set id, index and data. */
static int share_commitment(const struct aecs_share *sh, uint8_t out[32])
{
    uint8_t index = (uint8_t)sh->index;
    struct aecs_bytes parts[3] = {
        {sh->set, 8},
        {&index, 1},
        {sh->data, sizeof(sh->data)},
    };

    return aecs_sha256_parts(parts, 3, out);
}

/* ---- local files ---- */

static int data_path(const struct aecs_service *svc, const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", svc->data_dir, name);

    ENSURE(n > 0 && (size_t)n < size, AECS_E_INVALID_ARGUMENT, "data folder path too long");
    return AECS_OK;
}

/* The key that wraps the root key for auto-unseal. */
static int sealing_key(struct aecs_service *svc, struct aecs_kek **out)
{
    int rc = AECS_OK;
    char path[4096];
    uint8_t *data = NULL;
    size_t size = 0;
    uint8_t key[AECS_KEK_SIZE];

    *out = NULL;
    switch (svc->auto_unseal) {
    case AECS_AUTO_UNSEAL_SIM_INSECURE:
        GUARD(data_path(svc, SIM_SEALING_KEY_FILE, path, sizeof(path)));
        if (!aecs_file_exists(path)) {
            GUARD(aecs_random_bytes(key, sizeof(key)));
            rc = aecs_file_write_atomic(path, key, sizeof(key), 0600);
            aecs_cleanse(key, sizeof(key));
            GUARD(rc);
        }
        GUARD(aecs_file_read(path, 64, &data, &size));
        ENSURE_OUT(size == AECS_KEK_SIZE, AECS_E_FORMAT,
                   "%.200s: a sealing key is %d bytes, not %zu", path, AECS_KEK_SIZE, size);
        rc = aecs_kek_from_bytes(data, out);
        break;
    case AECS_AUTO_UNSEAL_GRAMINE: {
        int n = snprintf(path, sizeof(path), "%s%s", svc->attest_root, GRAMINE_SEALING_KEY);
        ENSURE(n > 0 && (size_t)n < sizeof(path), AECS_E_INVALID_ARGUMENT, "path too long");
        GUARD(aecs_file_read(path, 64, &data, &size));
        ENSURE_OUT(size == 16, AECS_E_FORMAT, "%.200s: Gramine gives 16 bytes, not %zu", path,
                   size);
        aecs_sha256(data, size, key);
        rc = aecs_kek_from_bytes(key, out);
        aecs_cleanse(key, sizeof(key));
        break;
    }
    default:
        return AECS_ERR(AECS_E_INTERNAL, "no auto-unseal configured");
    }
out:
    if (data != NULL) {
        aecs_cleanse(data, size);
        free(data);
    }
    return rc;
}

/* Writes the root key wrapped under the sealing key (auto-unseal only). */
static int seal_root_key(struct aecs_service *svc)
{
    int rc;
    struct aecs_kek *wrapping = NULL;
    uint8_t blob[AECS_KEK_WRAPPED_SIZE];
    char path[4096];

    if (svc->auto_unseal == AECS_AUTO_UNSEAL_NONE)
        return AECS_OK;
    GUARD(data_path(svc, SEALED_KEK_FILE, path, sizeof(path)));
    GUARD(sealing_key(svc, &wrapping));
    rc = aecs_kek_wrap(wrapping, svc->kek, WRAP_INFO, strlen(WRAP_INFO), svc->id, 32, blob);
    aecs_kek_free(wrapping);
    GUARD(rc);
    return aecs_file_write_atomic(path, blob, sizeof(blob), 0600);
}

static int auto_unseal(struct aecs_service *svc)
{
    int rc;
    enum aecs_api_code api = API_OK;
    struct aecs_kek *wrapping = NULL, *kek = NULL;
    uint8_t *blob = NULL;
    size_t size = 0;
    char path[4096];

    GUARD(data_path(svc, SEALED_KEK_FILE, path, sizeof(path)));
    if (!aecs_file_exists(path)) {
        log_info("auto-unseal: no sealed root key yet (%s); unseal with shares once", path);
        return AECS_OK;
    }
    GUARD(aecs_file_read(path, 4096, &blob, &size));
    rc = AECS_ERR(AECS_E_FORMAT, "%.200s: not a sealed root key", path);
    if (size == AECS_KEK_WRAPPED_SIZE)
        rc = sealing_key(svc, &wrapping);
    if (rc == AECS_OK)
        rc = aecs_kek_unwrap(wrapping, WRAP_INFO, strlen(WRAP_INFO), svc->id, 32, blob, &kek);
    if (rc == AECS_OK)
        rc = aecs_kek_verify(kek, svc->check);
    if (rc == AECS_OK)
        rc = svc_check_id(svc, kek, &api);
    free(blob);
    aecs_kek_free(wrapping);
    if (rc != AECS_OK) {
        aecs_kek_free(kek);
        log_error("auto-unseal failed, staying sealed: %s", aecs_err_last()->message);
        return AECS_OK;
    }
    svc->kek = kek;
    svc->state = AECS_STATE_WORKING;
    log_info("auto-unseal: unsealed with the %s sealing key",
             svc->auto_unseal == AECS_AUTO_UNSEAL_GRAMINE ? "Gramine" : "simulated (INSECURE)");
    return AECS_OK;
}

/* ---- open ---- */

/*
 * Reads the service id of an initialized store (/meta/id, written with
 * /meta/init by the init). Only an initialized store has one, and it must:
 * without it no share, mailbox or signed request can name the service.
 * Whether it belongs to the root key is checked once the key is in
 * (svc_check_id).
 */
static int load_id(struct aecs_service *svc, char id[AECS_KEK_SERVICE_ID_HEX + 1])
{
    int rc, ok;
    struct aecs_store_value v = {0};

    id[0] = '\0';
    rc = aecs_store_get(svc->store, SVC_META_ID, &v);
    if (rc == AECS_E_NOT_FOUND)
        return AECS_ERR(AECS_E_FORMAT, "store: %s is there but %s is not: the store was changed",
                        SVC_META_INIT, SVC_META_ID);
    GUARD(rc);
    /* The value has no NUL after it: check a terminated copy. */
    ok = v.size == AECS_KEK_SERVICE_ID_HEX;
    if (ok) {
        memcpy(id, v.data, AECS_KEK_SERVICE_ID_HEX);
        id[AECS_KEK_SERVICE_ID_HEX] = '\0';
        ok = aecs_reqsig_check_hex(id, AECS_KEK_SERVICE_ID_HEX, "id") == AECS_OK;
    }
    aecs_store_value_free(&v);
    if (!ok)
        id[0] = '\0';
    ENSURE(ok, AECS_E_FORMAT, "store: %s is not a service id", SVC_META_ID);
    return AECS_OK;
}

int svc_check_id(const struct aecs_service *svc, const struct aecs_kek *kek,
                 enum aecs_api_code *api)
{
    char id[AECS_KEK_SERVICE_ID_HEX + 1];
    int rc;

    rc = aecs_kek_service_id(kek, id);
    if (rc != AECS_OK) {
        *api = API_INTERNAL;
        return rc;
    }
    if (strlen(svc->id) != AECS_KEK_SERVICE_ID_HEX ||
        aecs_ct_memcmp(id, svc->id, AECS_KEK_SERVICE_ID_HEX) != 0)
        return REFUSE(api, API_STORE_DAMAGED, AECS_E_BAD_SIGNATURE, "%s", SVC_ID_MISMATCH);
    return AECS_OK;
}

int svc_meta_init_parse(const uint8_t *data, size_t size, struct svc_meta_init *out)
{
    int rc;
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    const char *check = json_string_value(json_object_get(j, "check"));
    json_int_t k = json_integer_value(json_object_get(j, "threshold"));
    json_int_t n = json_integer_value(json_object_get(j, "shares"));
    const char *set = json_string_value(json_object_get(j, "set")); /* absent in older stores */
    json_t *commitments;

    memset(out, 0, sizeof(*out));
    rc = AECS_ERR(AECS_E_FORMAT, "store: %s is malformed", SVC_META_INIT);
    if (check != NULL && strlen(check) == 64 && k >= 2 && n >= k && n <= AECS_SHARES_MAX &&
        aecs_hex_decode_exact(check, 64, out->check, sizeof(out->check)) == AECS_OK &&
        (set == NULL || aecs_reqsig_check_hex(set, 8, "set") == AECS_OK)) {
        out->threshold = (unsigned)k;
        out->share_count = (unsigned)n;
        snprintf(out->set, sizeof(out->set), "%s", set != NULL ? set : "");
        commitments = json_object_get(j, "commitments"); /* absent in older stores */
        out->has_commitments =
            json_is_array(commitments) && json_array_size(commitments) == (size_t)n;
        for (size_t i = 0; out->has_commitments && i < (size_t)n; i++) {
            const char *hex = json_string_value(json_array_get(commitments, i));
            out->has_commitments =
                hex != NULL && strlen(hex) == 64 &&
                aecs_hex_decode_exact(hex, 64, out->commitments[i], 32) == AECS_OK;
        }
        aecs_err_clear();
        rc = AECS_OK;
    }
    json_decref(j);
    return rc;
}

static int load_init(struct aecs_service *svc)
{
    int rc;
    struct aecs_store_value v = {0};
    struct svc_meta_init m;
    char id[AECS_KEK_SERVICE_ID_HEX + 1];

    rc = aecs_store_get(svc->store, SVC_META_INIT, &v);
    if (rc == AECS_E_NOT_FOUND) {
        aecs_err_clear();
        svc->state = AECS_STATE_UNINITIALIZED;
        return AECS_OK;
    }
    GUARD(rc);
    rc = svc_meta_init_parse(v.data, v.size, &m);
    aecs_store_value_free(&v);
    GUARD(rc);
    GUARD(load_id(svc, id));
    memcpy(svc->id, id, sizeof(svc->id));
    memcpy(svc->check, m.check, sizeof(svc->check));
    svc->threshold = m.threshold;
    svc->share_count = m.share_count;
    memcpy(svc->share_set, m.set, sizeof(svc->share_set));
    svc->has_commitments = m.has_commitments;
    if (m.has_commitments)
        memcpy(svc->commitments, m.commitments, sizeof(svc->commitments));
    svc->state = AECS_STATE_SEALED;
    return AECS_OK;
}

int aecs_service_open(const struct aecs_service_config *cfg, struct aecs_service **out)
{
    int rc = AECS_OK;
    struct aecs_service *svc;
    uint8_t *pem = NULL;
    size_t pem_size = 0;

    *out = NULL;
    ENSURE(cfg->store_spec != NULL && cfg->data_dir != NULL, AECS_E_INVALID_ARGUMENT,
           "service: a store and a data folder are required");
    svc = calloc(1, sizeof(*svc));
    ENSURE(svc != NULL, AECS_E_NO_MEMORY, "out of memory");
    pthread_rwlock_init(&svc->state_lock, NULL);
    pthread_mutex_init(&svc->write_lock, NULL);
    pthread_mutex_init(&svc->audit_lock, NULL);
    pthread_mutex_init(&svc->index_lock, NULL);
    pthread_mutex_init(&svc->nonce_sweep_lock, NULL);
    if (svc_audit_cond_init(&svc->audit_cond) != AECS_OK) { /* then the linger never waits */
        aecs_err_clear();
        pthread_cond_init(&svc->audit_cond, NULL);
    }
    svc->store_spec = strdup(cfg->store_spec);
    svc->data_dir = strdup(cfg->data_dir);
    svc->attest_root = strdup(cfg->attest_root != NULL ? cfg->attest_root : "");
    svc->version = strdup(cfg->version != NULL ? cfg->version : "?");
    svc->auto_unseal = cfg->auto_unseal;
    svc->max_secrets = cfg->max_secrets_per_service != 0 ? cfg->max_secrets_per_service
                                                         : AECS_SERVICE_DEFAULT_MAX_SECRETS;
    svc->shared_nonces = cfg->shared_nonces || strncmp(cfg->store_spec, "etcd:", 5) == 0;
    svc->pending = aecs_secure_alloc(AECS_SHARES_MAX * sizeof(struct aecs_share));
    ENSURE_OUT(svc->store_spec != NULL && svc->data_dir != NULL && svc->attest_root != NULL &&
                   svc->version != NULL && svc->pending != NULL,
               AECS_E_NO_MEMORY, "out of memory");
    if (cfg->init_admin_key_file != NULL) {
        GUARD_OUT(aecs_file_read(cfg->init_admin_key_file, 64 * 1024, &pem, &pem_size));
        rc = aecs_sigkey_parse_public((const char *)pem, pem_size, &svc->init_admin_key);
        if (rc != AECS_OK) {
            aecs_err_prefix("%.200s: ", cfg->init_admin_key_file);
            goto out;
        }
    }
    GUARD_OUT(aecs_store_open(cfg->store_spec, &svc->store));
    GUARD_OUT(load_init(svc));
    if (svc->state == AECS_STATE_SEALED && svc->auto_unseal != AECS_AUTO_UNSEAL_NONE)
        GUARD_OUT(auto_unseal(svc));
    *out = svc;
    svc = NULL;
out:
    free(pem);
    aecs_service_free(svc);
    return rc;
}

void aecs_service_free(struct aecs_service *svc)
{
    if (svc == NULL)
        return;
    svc_unseal_free(svc); /* before the store closes: it deletes a published mailbox */
    aecs_kek_free(svc->kek);
    aecs_verifier_free(svc->verifier);
    aecs_p256_key_free(svc->identity);
    free(svc->identity_evidence);
    free(svc->identity_attester);
    aecs_challenge_table_free(svc->challenges);
    aecs_ratelimit_free(svc->ratelimit);
    if (svc->pending != NULL)
        aecs_secure_free(svc->pending, AECS_SHARES_MAX * sizeof(struct aecs_share));
    aecs_sigkey_free(svc->init_admin_key);
    aecs_store_free(svc->store);
    free(svc->store_spec);
    free(svc->data_dir);
    free(svc->attest_root);
    free(svc->version);
    pthread_rwlock_destroy(&svc->state_lock);
    pthread_mutex_destroy(&svc->write_lock);
    pthread_mutex_destroy(&svc->audit_lock);
    pthread_mutex_destroy(&svc->nonce_sweep_lock);
    pthread_mutex_destroy(&svc->index_lock);
    json_decref(svc->index_records);
    pthread_cond_destroy(&svc->audit_cond);
    free(svc);
}

enum aecs_service_state aecs_service_state(struct aecs_service *svc)
{
    enum aecs_service_state s;

    pthread_rwlock_rdlock(&svc->state_lock);
    s = svc->state;
    pthread_rwlock_unlock(&svc->state_lock);
    return s;
}

const char *aecs_service_id(const struct aecs_service *svc)
{
    return svc->id;
}

/* Appends a string to a; on failure frees a and returns NULL (a list must not lose one). */
static json_t *append_name(json_t *a, const char *name)
{
    if (a != NULL && json_array_append_new(a, json_string(name)) != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

json_t *aecs_service_insecure(const struct aecs_service *svc)
{
    json_t *a = json_array();

    if (svc->auto_unseal == AECS_AUTO_UNSEAL_SIM_INSECURE)
        a = append_name(a, "sim-auto-unseal");
    if (svc->insecure_trust_sim)
        a = append_name(a, "trust-sim");
    if (svc->insecure_intel_root)
        a = append_name(a, "intel-root");
    if (svc->attest_root != NULL && svc->attest_root[0] != '\0')
        a = append_name(a, "attest-root");
    if (svc->identity_attester != NULL && strcmp(svc->identity_attester, "sim") == 0)
        a = append_name(a, "sim-attester");
    return a;
}

/* ---- status ---- */

static size_t count_prefix(const struct svc_index *ix, const char *prefix)
{
    const char *key;
    json_t *value;
    size_t n = 0, plen = strlen(prefix);

    json_object_foreach(ix->records, key, value)
    {
        if (strncmp(key, prefix, plen) == 0)
            n++;
    }
    return n;
}

int aecs_service_status(struct aecs_service *svc, json_t **answer)
{
    int rc = AECS_OK;
    json_t *a;
    struct svc_index ix;

    *answer = NULL;
    svc_unseal_sync_throttled(svc);
    pthread_rwlock_rdlock(&svc->state_lock);
    a = json_pack("{s:s, s:s, s:s, s:s, s:o}", "state", aecs_service_state_name(svc->state),
                  "version", svc->version, "id", svc->id, "store",
                  aecs_store_backend_name(svc->store), "insecure", aecs_service_insecure(svc));
    ENSURE_OUT(a != NULL, AECS_E_NO_MEMORY, "out of memory");
    if (svc->identity != NULL) {
        char hex[2 * 65 + 1];
        aecs_hex_encode(svc->identity_pub, sizeof(svc->identity_pub), hex);
        json_object_set_new(a, "identity",
                            json_pack("{s:s, s:s?, s:b}", "pubkey", hex, "attester",
                                      svc->identity_attester, "evidence",
                                      svc->identity_evidence != NULL));
    }
    if (svc->state == AECS_STATE_SEALED)
        json_object_set_new(a, "unseal",
                            json_pack("{s:I, s:I, s:b}", "received",
                                      (json_int_t)svc->pending_count, "threshold",
                                      (json_int_t)svc->threshold, "shared", svc->cu.enabled));
    if (svc->state == AECS_STATE_WORKING) {
        rc = svc_index_load(svc, &ix);
        if (rc != AECS_OK) {
            json_decref(a);
            goto out;
        }
        size_t keys = count_prefix(&ix, SVC_KEYS), services = count_prefix(&ix, SVC_SERVICES);
        json_object_set_new(a, "generation", json_integer((json_int_t)ix.generation));
        /*
         * docs/api.md's "admins" are the cluster admins: every other key is the
         * admin key of exactly one service (objects.c registers and removes
         * the two together).
         */
        json_object_set_new(
            a, "counts",
            json_pack("{s:I, s:I, s:I, s:I, s:I}", "admins",
                      (json_int_t)(keys >= services ? keys - services : 0), "keys",
                      (json_int_t)keys, "services", (json_int_t)services, "secrets",
                      (json_int_t)count_prefix(&ix, SVC_SECRETS), "audit_entries",
                      (json_int_t)ix.audit_seq));
        svc_index_clear(&ix);
    }
    *answer = a;
out:
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

/* ---- signed requests ---- */

/* Parses the body as a JSON object (internal.h). */
int svc_body_object(const struct aecs_request *req, json_t **out, enum aecs_api_code *api)
{
    json_error_t jerr;

    *out = NULL;
    if (req->body_size > MAX_BODY_JSON)
        return REFUSE(api, API_TOO_LARGE, AECS_E_TOO_LARGE, "the body is over %u bytes",
                      MAX_BODY_JSON);
    *out = json_loadb((const char *)req->body, req->body_size, JSON_REJECT_DUPLICATES, &jerr);
    if (*out == NULL)
        /* not jansson's text: it quotes the body, which may hold secrets */
        return REFUSE(api, API_BAD_REQUEST, AECS_E_FORMAT,
                      "the body is not JSON (line %d, column %d)", jerr.line, jerr.column);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return REFUSE(api, API_BAD_REQUEST, AECS_E_FORMAT, "the body is not a JSON object");
    }
    return AECS_OK;
}

int svc_sig_headers_parse(const struct aecs_request *req, int64_t *timestamp,
                          enum aecs_api_code *api)
{
    char *end = NULL;
    long long ts;

    if (req->key_id == NULL || req->timestamp == NULL || req->nonce == NULL ||
        req->signature == NULL)
        return REFUSE(api, API_UNAUTHENTICATED, AECS_E_USAGE,
                      "this request must be signed (headers X-Aecs-Key, X-Aecs-Timestamp, "
                      "X-Aecs-Nonce, X-Aecs-Signature)");
    if (aecs_reqsig_check_hex(req->key_id, AECS_SIGKEY_ID_HEX, "X-Aecs-Key") != AECS_OK ||
        aecs_reqsig_check_hex(req->nonce, AECS_REQSIG_NONCE_HEX, "X-Aecs-Nonce") != AECS_OK)
        return refuse_recorded(api, API_UNAUTHENTICATED, AECS_E_FORMAT);
    errno = 0;
    ts = strtoll(req->timestamp, &end, 10);
    if (errno != 0 || end == req->timestamp || *end != '\0' || ts < 0 ||
        !isdigit((unsigned char)req->timestamp[0]))
        return REFUSE(api, API_UNAUTHENTICATED, AECS_E_FORMAT,
                      "X-Aecs-Timestamp is not Unix seconds");
    *timestamp = ts;
    return AECS_OK;
}

static int check_skew(int64_t ts, int64_t now, enum aecs_api_code *api)
{
    int64_t skew = ts > now ? ts - now : now - ts;

    if (skew > AECS_REQSIG_MAX_SKEW)
        return REFUSE(api, API_STALE_REQUEST, AECS_E_EXPIRED,
                      "the request's timestamp is %lld s away from the server's clock (at most "
                      "%d): check the clocks, and do not resend old requests",
                      (long long)skew, AECS_REQSIG_MAX_SKEW);
    return AECS_OK;
}

/* Checks the signature with key, then remembers the nonce. */
static int check_signature(struct aecs_service *svc, const struct aecs_request *req,
                           const struct aecs_sigkey *key, int64_t ts, int64_t now,
                           enum aecs_api_code *api)
{
    int rc;
    struct aecs_reqsig_fields f = {
        .method = req->method,
        .target = req->target,
        .service_id = svc->id,
        .body = req->body,
        .body_size = req->body_size,
        .timestamp = ts,
        .nonce = req->nonce,
        .key_id = req->key_id,
    };
    char *canonical = NULL;
    size_t canonical_size = 0;
    uint8_t sig[256];
    size_t sig_size = 0;

    rc = aecs_base64_decode(req->signature, strlen(req->signature), sig, sizeof(sig), &sig_size);
    if (rc != AECS_OK)
        return REFUSE(api, API_UNAUTHENTICATED, AECS_E_FORMAT,
                      "X-Aecs-Signature is not base64 of a signature");
    rc = aecs_reqsig_canonical(&f, &canonical, &canonical_size);
    if (rc != AECS_OK)
        return refuse_recorded(api, API_BAD_REQUEST, rc);
    rc = aecs_sigkey_verify(key, canonical, canonical_size, sig, sig_size);
    free(canonical);
    if (rc != AECS_OK)
        return REFUSE(api, API_UNAUTHENTICATED, AECS_E_BAD_SIGNATURE,
                      "the request's signature does not verify with key %.16s...",
                      req->key_id);
    /* In the store with either backend: a restart does not forget it, nor does another replica. */
    rc = svc_nonce_remember(svc, req->nonce, ts + AECS_REQSIG_NONCE_TTL);
    if (rc == AECS_E_MISMATCH)
        return refuse_recorded(api, API_REPLAYED_REQUEST, rc);
    return rc;
}

int aecs_service_authenticate(struct aecs_service *svc, const struct aecs_request *req,
                              struct aecs_caller *caller, enum aecs_api_code *api)
{
    int rc = AECS_OK;
    int64_t ts = 0, now = aecs_time_now();
    struct svc_index ix = {0};
    json_t *rec = NULL;
    struct aecs_sigkey *key = NULL;
    const char *pem, *role, *service;
    char path[128];

    memset(caller, 0, sizeof(*caller));
    pthread_rwlock_rdlock(&svc->state_lock);
    GUARD_OUT(svc_require_working(svc, api));
    GUARD_OUT(svc_sig_headers_parse(req, &ts, api));
    GUARD_OUT(check_skew(ts, now, api));
    GUARD_OUT(svc_index_load(svc, &ix));
    snprintf(path, sizeof(path), SVC_KEYS "%s", req->key_id);
    rc = svc_record_read(svc, &ix, path, SVC_T_KEY, &rec);
    if (rc == AECS_E_NOT_FOUND) {
        *api = API_UNAUTHENTICATED;
        BAIL_OUT(AECS_E_UNTRUSTED, "key %.16s... is not registered with this service",
                 req->key_id);
    }
    GUARD_OUT(rc);
    pem = json_string_value(json_object_get(rec, "pubkey"));
    role = json_string_value(json_object_get(rec, "role"));
    service = json_string_value(json_object_get(rec, "service"));
    ENSURE_OUT(pem != NULL && role != NULL, AECS_E_FORMAT, "key record %.80s is malformed", path);
    GUARD_OUT(aecs_sigkey_parse_public(pem, strlen(pem), &key));
    GUARD_OUT(check_signature(svc, req, key, ts, now, api));
    memcpy(caller->key_id, req->key_id, AECS_SIGKEY_ID_HEX + 1);
    if (req->remote != NULL)
        snprintf(caller->remote, sizeof(caller->remote), "%s", req->remote);
    if (strcmp(role, "cluster-admin") == 0) {
        caller->role = AECS_ROLE_CLUSTER_ADMIN;
    } else {
        ENSURE_OUT(strcmp(role, "service-admin") == 0 && service != NULL &&
                       strlen(service) < sizeof(caller->service),
                   AECS_E_FORMAT, "key record %.80s has an unknown role", path);
        caller->role = AECS_ROLE_SERVICE_ADMIN;
        strcpy(caller->service, service);
    }
out:
    aecs_sigkey_free(key);
    json_decref(rec);
    svc_index_clear(&ix);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

/* ---- init ---- */

int svc_init_args_parse(const json_t *body, struct svc_init_args *a, enum aecs_api_code *api)
{
    json_t *jn = json_object_get(body, "shares");
    json_t *jk = json_object_get(body, "threshold");
    const char *key, *hex;
    json_t *value;

    memset(a, 0, sizeof(*a));
    json_object_foreach((json_t *)body, key, value)
    {
        if (strcmp(key, "pubkey") != 0 && strcmp(key, "shares") != 0 &&
            strcmp(key, "threshold") != 0 && strcmp(key, "join_policy") != 0 &&
            strcmp(key, "share_key") != 0 && strcmp(key, "nonce") != 0)
            return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                          "init: unknown field '%.40s'", key);
    }
    /*
     * Without a share key the client expects the shares in clear, which a host
     * that holds the TLS key would read: refused with a code of its own, so an
     * old client says what to do.
     */
    if (json_object_get(body, "share_key") == NULL)
        return REFUSE(api, API_SHARE_NOT_SEALED, AECS_E_UNSUPPORTED,
                      "init: no share_key: this aecsd only hands out shares sealed to the "
                      "admin's key; use a current `aecs admin init`");
    hex = json_string_value(json_object_get(body, "share_key"));
    if (hex == NULL || aecs_release_pubkey_parse(hex, strlen(hex), a->share_key) != AECS_OK)
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                      "init: share_key must be a P-256 point, 130 lowercase hex characters");
    hex = json_string_value(json_object_get(body, "nonce"));
    if (hex == NULL || aecs_release_nonce_parse(hex, strlen(hex), a->nonce) != AECS_OK)
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                      "init: nonce must be 64 lowercase hex characters");
    a->join_policy = json_string_value(json_object_get(body, "join_policy"));
    if (json_object_get(body, "join_policy") != NULL && a->join_policy == NULL)
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                      "init: join_policy must be the policy file's YAML text");
    a->pem = json_string_value(json_object_get(body, "pubkey"));
    if (a->pem == NULL)
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                      "init: pubkey (a PEM public key) is required");
    if (!json_is_integer(jn) || !json_is_integer(jk))
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                      "init: shares and threshold must be integers");
    if (json_integer_value(jk) < AECS_SHARES_MIN_THRESHOLD ||
        json_integer_value(jn) > AECS_SHARES_MAX ||
        json_integer_value(jk) > json_integer_value(jn))
        return REFUSE(api, API_BAD_REQUEST, AECS_E_INVALID_ARGUMENT,
                      "init: need 2 <= threshold <= shares <= 16 (got %lld of %lld)",
                      (long long)json_integer_value(jk), (long long)json_integer_value(jn));
    a->n = (unsigned)json_integer_value(jn);
    a->k = (unsigned)json_integer_value(jk);
    return AECS_OK;
}

/*
 * The init answer: each share sealed to the admin's share key (bound to the
 * service id, its index and the request's nonce), the whole signed by the
 * identity key over the nonce and the share key. The shares leave this
 * process in no other form.
 */
static int init_answer(struct aecs_service *svc, const struct svc_init_args *a,
                       const struct aecs_p256_pub *share_key, const char *key_id,
                       char *const *shares, struct aecs_answer *out)
{
    int rc = AECS_OK;
    struct aecs_init_answer *ans = calloc(1, sizeof(*ans));
    struct aecs_admin_share_binding b;

    ENSURE(ans != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(ans->id, svc->id, sizeof(ans->id));
    snprintf(ans->admin, sizeof(ans->admin), "%s", key_id);
    ans->threshold = a->k;
    ans->count = a->n;
    for (unsigned i = 0; i < a->n; i++) {
        GUARD_OUT(aecs_init_share_binding(svc->id, i + 1, a->nonce, &b));
        GUARD_OUT(aecs_envelope_seal(share_key, &b.b, (const uint8_t *)shares[i], strlen(shares[i]),
                                     &ans->shares[i]));
    }
    GUARD_OUT(aecs_init_answer_serialize(ans, &out->body, &out->size));
    GUARD_OUT(aecs_answer_sign(svc->identity, AECS_ANSWER_INIT, a->nonce, a->share_key, out->body,
                               out->size, out->signature));
out:
    if (rc != AECS_OK)
        aecs_answer_clear(out);
    aecs_init_answer_free(ans);
    return rc;
}

int aecs_service_init(struct aecs_service *svc, const struct aecs_request *req,
                      struct aecs_answer *out, enum aecs_api_code *api)
{
    int rc = AECS_OK;
    json_t *body = NULL, *rec = NULL, *meta = NULL;
    struct aecs_sigkey *key = NULL;
    struct aecs_p256_pub *share_key = NULL;
    struct aecs_kek *kek = NULL;
    char **shares = NULL;
    char *meta_text = NULL;
    struct svc_init_args a;
    unsigned n = 0, k = 0;
    int64_t ts = 0, now = aecs_time_now();
    char key_id[AECS_SIGKEY_ID_HEX + 1], check_hex[65], created[32], path[128];
    struct svc_txn t;
    int in_txn = 0;
    struct svc_audit_event ev = {0};
    char detail[64];
    struct aecs_share first;
    char set[sizeof(first.set)];
    char id[AECS_KEK_SERVICE_ID_HEX + 1];

    memset(out, 0, sizeof(*out));
    memset(&a, 0, sizeof(a));
    pthread_rwlock_wrlock(&svc->state_lock);
    /*
     * Another replica sharing the store may have initialized it since this
     * one started: read /meta/init again (it then is sealed here).
     */
    if (svc->state == AECS_STATE_UNINITIALIZED)
        GUARD_OUT(load_init(svc));
    if (svc->state != AECS_STATE_UNINITIALIZED) {
        *api = API_CONFLICT;
        BAIL_OUT(AECS_E_USAGE, "the service is already initialized");
    }
    /* The identity key signs the answer; without it no admin can check where the shares
       come from. */
    if (svc->identity == NULL) {
        *api = API_NO_IDENTITY;
        BAIL_OUT(AECS_E_USAGE, "init: this aecsd has no identity key (its release setup was not "
                               "done), so it cannot seal and sign the shares");
    }
    GUARD_OUT(svc_sig_headers_parse(req, &ts, api));
    GUARD_OUT(check_skew(ts, now, api));
    GUARD_OUT(svc_body_object(req, &body, api));
    GUARD_OUT(svc_init_args_parse(body, &a, api));
    n = a.n;
    k = a.k;
    if (a.join_policy != NULL) {
        struct aecs_policy_rules rules;
        struct aecs_policy_error perr;
        rc = aecs_policy_rules_parse(a.join_policy, strlen(a.join_policy), "join-policy",
                                     SVC_JOIN_POLICY_KEY, 0, &rules, &perr);
        if (rc != AECS_OK) {
            *api = API_INVALID_POLICY;
            goto out;
        }
        aecs_policy_rules_clear(&rules);
    }
    rc = aecs_sigkey_parse_public(a.pem, strlen(a.pem), &key);
    if (rc != AECS_OK) {
        *api = API_BAD_REQUEST;
        aecs_err_prefix("init: pubkey: ");
        goto out;
    }
    GUARD_OUT(aecs_sigkey_id(key, key_id));
    if (strcmp(key_id, req->key_id) != 0) {
        *api = API_UNAUTHENTICATED;
        BAIL_OUT(AECS_E_UNTRUSTED, "init: X-Aecs-Key is not the id of the key in the body");
    }
    if (svc->init_admin_key != NULL) {
        char allowed[AECS_SIGKEY_ID_HEX + 1];
        GUARD_OUT(aecs_sigkey_id(svc->init_admin_key, allowed));
        if (strcmp(allowed, key_id) != 0) {
            *api = API_FORBIDDEN;
            BAIL_OUT(AECS_E_UNTRUSTED,
                     "init: this service may only be initialized by key %.16s... "
                     "(aecsd --init-admin-key)", allowed);
        }
    }
    GUARD_OUT(check_signature(svc, req, key, ts, now, api));
    /* Checked by svc_init_args_parse already: importing it again cannot fail but for memory. */
    GUARD_OUT(aecs_p256_pub_import(a.share_key, sizeof(a.share_key), &share_key));

    GUARD_OUT(aecs_kek_generate(&kek));
    GUARD_OUT(aecs_kek_check_value(kek, svc->check));
    /* The service id is the root key's: written with /meta/init, checked at every unseal. */
    GUARD_OUT(aecs_kek_service_id(kek, id));
    GUARD_OUT(aecs_shares_split(kek, k, n, &shares));
    /* The split's set id (not secret: every share shows it), so unseal knows its shares. */
    GUARD_OUT(aecs_share_parse(shares[0], 1, &first));
    memcpy(set, first.set, sizeof(set));
    aecs_cleanse(&first, sizeof(first));
    aecs_hex_encode(svc->check, sizeof(svc->check), check_hex);
    aecs_time_format(now, created);
    meta = json_pack("{s:i, s:s, s:I, s:I, s:s, s:s, s:[]}", "format", 1, "check", check_hex,
                     "threshold", (json_int_t)k, "shares", (json_int_t)n, "set", set, "created",
                     created, "commitments");
    ENSURE_OUT(meta != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (unsigned i = 0; i < n; i++) {
        char hex[65];
        GUARD_OUT(aecs_share_parse(shares[i], i + 1, &first));
        rc = share_commitment(&first, svc->commitments[i]);
        aecs_cleanse(&first, sizeof(first));
        GUARD_OUT(rc);
        aecs_hex_encode(svc->commitments[i], 32, hex);
        json_array_append_new(json_object_get(meta, "commitments"), json_string(hex));
    }
    svc->has_commitments = 1;
    meta_text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    rec = json_pack("{s:s, s:s, s:s, s:s}", "key_id", key_id, "pubkey", a.pem, "role",
                    "cluster-admin", "created", created);
    ENSURE_OUT(meta_text != NULL && rec != NULL, AECS_E_NO_MEMORY, "out of memory");

    svc->kek = kek; /* the writes below seal with it */
    in_txn = 1;
    GUARD_OUT(svc_txn_begin(svc, &t, 1));
    snprintf(path, sizeof(path), SVC_KEYS "%s", key_id);
    GUARD_OUT(svc_txn_put(svc, &t, path, SVC_T_KEY, rec));
    if (a.join_policy != NULL) {
        json_t *jp = json_pack("{s:s}", "yaml", a.join_policy);
        ENSURE_OUT(jp != NULL, AECS_E_NO_MEMORY, "out of memory");
        rc = svc_txn_put(svc, &t, SVC_JOIN_POLICY, SVC_T_JOIN_POLICY, jp);
        json_decref(jp);
        GUARD_OUT(rc);
    }
    GUARD_OUT(svc_txn_create_clear(&t, SVC_META_ID, id));
    GUARD_OUT(svc_txn_create_clear(&t, SVC_META_INIT, meta_text));
    ev.actor = key_id;
    ev.role = "cluster-admin";
    ev.remote = req->remote;
    ev.action = "init";
    ev.result = "ok";
    snprintf(detail, sizeof(detail), "%u shares, threshold %u", n, k);
    ev.detail = detail;
    rc = svc_txn_commit(svc, &t, &ev);
    svc_txn_end(svc, &t);
    in_txn = 0;
    if (rc == AECS_E_MISMATCH) {
        int lrc = load_init(svc);

        if (lrc != AECS_OK) {
            log_error("init: cannot read the other replica's init: %s",
                      aecs_err_last()->message);
            *api = API_CONFLICT;
            aecs_err_prefix("init: not done, the store changed meanwhile and does not load: ");
            rc = lrc;
            goto out;
        }
        *api = API_CONFLICT;
        if (svc->state == AECS_STATE_UNINITIALIZED)
            BAIL_OUT(AECS_E_MISMATCH, "init: the store holds a service id (" SVC_META_ID ") but "
                                      "no " SVC_META_INIT ": it is left from another service or "
                                      "was changed; init an empty store");
        BAIL_OUT(AECS_E_MISMATCH, "the service was initialized at the same time by another "
                                  "request or replica");
    }
    GUARD_OUT(rc);
    memcpy(svc->id, id, sizeof(svc->id));
    svc->threshold = k;
    svc->share_count = n;
    memcpy(svc->share_set, set, sizeof(svc->share_set));
    svc->state = AECS_STATE_WORKING;
    kek = NULL;
    if (seal_root_key(svc) != AECS_OK)
        log_error("auto-unseal: could not seal the root key: %s", aecs_err_last()->message);

    /*
     * The service is initialized: a failure from here on leaves it without
     * shares anyone received (only memory or the crypto library can fail).
     */
    rc = init_answer(svc, &a, share_key, key_id, shares, out);
    if (rc != AECS_OK) {
        log_error("init: the store is initialized but the answer with the shares could not be "
                  "made: %s",
                  aecs_err_last()->message);
        goto out;
    }
    log_info("init: initialized by key %.16s... with %u shares, threshold %u", key_id, n, k);
out:
    if (in_txn)
        svc_txn_end(svc, &t);
    if (kek != NULL) {
        if (svc->kek == kek)
            svc->kek = NULL;
        aecs_kek_free(kek);
    }
    aecs_shares_free(shares, n);
    aecs_p256_pub_free(share_key);
    json_decref(body);
    json_decref(rec);
    json_decref(meta);
    free(meta_text);
    aecs_sigkey_free(key);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

/* ---- unseal ---- */

/* Tries every set of `threshold` pending shares that holds the newest one. */
static int try_combine(struct aecs_service *svc, struct aecs_kek **out)
{
    size_t n = svc->pending_count, k = svc->threshold;
    struct aecs_share subset[AECS_SHARES_MAX];
    int rc = AECS_E_BAD_SIGNATURE;

    *out = NULL;
    for (uint32_t mask = 0; mask < (1u << n); mask++) {
        size_t m = 0;
        if (!(mask & (1u << (n - 1))) || (size_t)__builtin_popcount(mask) != k)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (mask & (1u << i))
                subset[m++] = svc->pending[i];
        }
        rc = aecs_shares_combine_parsed(subset, m, svc->check, out);
        if (rc == AECS_OK)
            break;
    }
    aecs_cleanse(subset, sizeof(subset));
    return rc;
}

void svc_pending_wipe(struct aecs_service *svc)
{
    aecs_cleanse(svc->pending, AECS_SHARES_MAX * sizeof(struct aecs_share));
    svc->pending_count = 0;
    svc->cu.direct = 0;
    /* Nothing counts as forwarded any more: shares given again are forwarded again. */
    for (size_t i = 0; i < svc->cu.peer_count; i++)
        svc->cu.peers[i].sent = 0;
}

static json_t *unseal_answer(const struct aecs_service *svc)
{
    return json_pack("{s:s, s:I, s:I}", "state", aecs_service_state_name(svc->state), "received",
                     (json_int_t)(svc->state == AECS_STATE_WORKING ? svc->threshold
                                                                   : svc->pending_count),
                     "threshold", (json_int_t)svc->threshold);
}

/*
 * Checks a share against this service alone: its threshold, share set and,
 * for stores that have them, the commitment made at init. API_BAD_SHARE with
 * the reason.
 */
static int share_check_service(struct aecs_service *svc, const struct aecs_share *share,
                               enum aecs_api_code *api)
{
    if (share->threshold != svc->threshold)
        return REFUSE(api, API_BAD_SHARE, AECS_E_INVALID_ARGUMENT,
                      "this share is from a split with threshold %u; this service needs %u: it "
                      "is not one of this service's shares", share->threshold, svc->threshold);
    if (svc->share_set[0] != '\0' && strcmp(share->set, svc->share_set) != 0)
        return REFUSE(api, API_BAD_SHARE, AECS_E_INVALID_ARGUMENT,
                      "this share is from another split than this service's shares: it is not "
                      "one of this service's shares");
    if (svc->has_commitments) {
        uint8_t c[32];
        if (share->index < 1 || share->index > svc->share_count)
            return REFUSE(api, API_BAD_SHARE, AECS_E_INVALID_ARGUMENT,
                          "this service has %u shares; there is no share %u", svc->share_count,
                          share->index);
        GUARD(share_commitment(share, c));
        if (aecs_ct_memcmp(c, svc->commitments[share->index - 1], 32) != 0)
            return REFUSE(api, API_BAD_SHARE, AECS_E_BAD_SIGNATURE,
                          "this is not share %u of this service: it does not match the "
                          "commitment made at init (mistyped data with a recomputed checksum, or "
                          "a forged share)", share->index);
    }
    return AECS_OK;
}

int svc_share_check(struct aecs_service *svc, const struct aecs_share *share,
                    enum aecs_api_code *api)
{
    GUARD(share_check_service(svc, share, api));
    for (size_t i = 0; i < svc->pending_count; i++) {
        if (strcmp(svc->pending[i].set, share->set) != 0)
            return REFUSE(api, API_BAD_SHARE, AECS_E_INVALID_ARGUMENT,
                          "this share is from another split than the %zu already given: it is "
                          "not one of this service's shares", svc->pending_count);
    }
    return AECS_OK;
}

int svc_pending_has(const struct aecs_service *svc, unsigned index)
{
    for (size_t i = 0; i < svc->pending_count; i++) {
        if (svc->pending[i].index == index)
            return 1;
    }
    return 0;
}

/* The service is working with kek (taken over): the same steps however it was unsealed. */
static void unsealed(struct aecs_service *svc, struct aecs_kek *kek, const char *remote)
{
    struct svc_audit_event ev = {0};
    struct svc_index ix;
    size_t direct = (size_t)__builtin_popcount(svc->cu.direct);
    char detail[96];

    svc->kek = kek;
    svc->state = AECS_STATE_WORKING;
    if (direct == svc->pending_count)
        snprintf(detail, sizeof(detail), "unsealed with %zu shares", svc->pending_count);
    else
        snprintf(detail, sizeof(detail), "unsealed with %zu shares (%zu forwarded by other "
                 "replicas)", svc->pending_count, svc->pending_count - direct);
    svc_pending_wipe(svc);
    log_info("unseal: %s; the service is working", detail);
    if (svc_index_load(svc, &ix) == AECS_OK)
        svc_index_clear(&ix);
    else
        log_error("unseal: the store's index does not open: %s", aecs_err_last()->message);
    if (seal_root_key(svc) != AECS_OK)
        log_error("auto-unseal: could not seal the root key: %s", aecs_err_last()->message);
    ev.remote = remote;
    ev.action = "unseal";
    ev.result = "ok";
    ev.detail = detail;
    if (svc_audit_append(svc, &ev) != AECS_OK)
        log_error("audit: could not record the unseal: %s", aecs_err_last()->message);
    svc_unseal_done(svc);
}

int svc_pending_add(struct aecs_service *svc, const struct aecs_share *share, int direct,
                    const char *remote, enum aecs_api_code *api)
{
    struct aecs_kek *kek = NULL;
    int rc;

    ENSURE(svc->pending_count < AECS_SHARES_MAX && share->index < 32, AECS_E_INTERNAL,
           "too many shares");
    svc->pending[svc->pending_count++] = *share;
    if (direct) {
        svc->cu.direct |= 1u << share->index;
        if (svc->cu.enabled)
            svc_unseal_forward(svc);
    }
    if (svc->pending_count < svc->threshold) {
        log_info("unseal: %zu of %u shares in", svc->pending_count, svc->threshold);
        return AECS_OK;
    }
    rc = try_combine(svc, &kek);
    if (rc != AECS_OK) {
        svc->pending_count--;
        aecs_cleanse(&svc->pending[svc->pending_count], sizeof(*share));
        svc->cu.direct &= ~(1u << share->index);
        for (size_t i = 0; i < svc->cu.peer_count; i++)
            svc->cu.peers[i].sent &= ~(1u << share->index);
        log_warn("unseal: a share that does not give the root key was refused");
        return REFUSE(api, API_BAD_SHARE, AECS_E_BAD_SIGNATURE,
                      "this share does not combine with the %zu already given into this "
                      "service's root key: it is wrong, or one given before is (start again "
                      "with `aecs admin unseal --reset`)", svc->pending_count);
    }
    rc = svc_check_id(svc, kek, api);
    if (rc != AECS_OK) {
        /* The shares are /meta/init's, but the store is not the one they were made for. */
        aecs_kek_free(kek);
        svc_pending_wipe(svc);
        log_error("unseal: %s (the shares given are dropped)", aecs_err_last()->message);
        return rc;
    }
    unsealed(svc, kek, remote);
    return AECS_OK;
}

/* The sealed share's ephemeral key as remembered (a hash: it is public anyway). */
static void sealed_seen_id(const struct aecs_envelope *env, uint8_t out[32])
{
    aecs_sha256(env->epk, sizeof(env->epk), out);
}

static int sealed_seen_has(const struct aecs_service *svc, const uint8_t id[32])
{
    for (size_t i = 0; i < svc->sealed_seen_count; i++) {
        if (memcmp(svc->sealed_seen[i], id, 32) == 0)
            return 1;
    }
    return 0;
}

static void sealed_seen_add(struct aecs_service *svc, const uint8_t id[32])
{
    memcpy(svc->sealed_seen[svc->sealed_seen_next], id, 32);
    svc->sealed_seen_next = (svc->sealed_seen_next + 1) % SVC_SEALED_SEEN_MAX;
    if (svc->sealed_seen_count < SVC_SEALED_SEEN_MAX)
        svc->sealed_seen_count++;
}

/*
 * Opens a share sealed to the identity key (docs/protocol-release.md section
 * 7) and parses it into *share (wiped by the caller). The envelope is bound
 * to the service id and, through the identity key, to this process: sealed
 * for another service or another run of aecsd (a restart makes a new key),
 * or changed on the way, it does not open.
 */
static int open_sealed_share(struct aecs_service *svc, const struct aecs_envelope *env,
                             struct aecs_share *share, enum aecs_api_code *api)
{
    int rc;
    struct aecs_admin_share_binding b;
    uint8_t *plain = NULL;
    size_t size = 0;

    GUARD(aecs_admin_share_binding(svc->id, &b));
    rc = aecs_envelope_open(svc->identity, &b.b, env, &plain, &size);
    if (rc == AECS_E_NO_MEMORY)
        return rc;
    if (rc != AECS_OK)
        return REFUSE(api, API_BAD_SHARE, AECS_E_BAD_SIGNATURE,
                      "the sealed share does not open with this aecsd's identity key: it was "
                      "sealed for another service or another start of aecsd (each start makes a "
                      "new key), or changed on the way; check the identity and seal it again "
                      "(`aecs admin unseal`)");
    /* The plaintext is followed by a NUL; a NUL inside it is no share. */
    if (strlen((const char *)plain) != size)
        rc = AECS_ERR(AECS_E_FORMAT, "share 1: not a share's text");
    else
        rc = aecs_share_parse((const char *)plain, (unsigned)(svc->pending_count + 1), share);
    aecs_envelope_plain_free(plain, size);
    if (rc != AECS_OK)
        *api = API_BAD_SHARE;
    return rc;
}

/*
 * A reset proven by share, opened from a sealed envelope whose id is seen; on
 * a sealed service. The share must be one of this service's, but is checked
 * against the service only, not against the shares given so far: those may
 * be the wrong ones the reset is for, and the proving share may be one of
 * them. It is remembered as seen, so its envelope does not reset again, and
 * never counted. Then this replica's progress is dropped and, with shared
 * progress, every replica's (svc_unseal_reset). A refused share resets
 * nothing.
 */
static int reset_progress(struct aecs_service *svc, const struct aecs_share *share,
                          const uint8_t seen[32], const char *remote, enum aecs_api_code *api)
{
    size_t dropped = svc->pending_count;
    int rc;

    if (remote == NULL || remote[0] == '\0')
        remote = "?";
    rc = share_check_service(svc, share, api);
    if (rc != AECS_OK) {
        log_warn("unseal: a reset from %.64s was refused: its share is not one of this "
                 "service's", remote);
        return rc;
    }
    sealed_seen_add(svc, seen);
    svc_pending_wipe(svc);
    if (svc->cu.enabled)
        rc = svc_unseal_reset(svc);
    /* Who reset, and with which share, since a reset undoes other admins' work. */
    log_warn("unseal: progress reset by %.64s, proven with share %u (%zu shares dropped%s)",
             remote, share->index, dropped,
             !svc->cu.enabled ? ""
             : rc == AECS_OK  ? "; on every replica"
                              : "; the other replicas' could not be reset");
    if (rc != AECS_OK)
        *api = API_INTERNAL;
    return rc;
}

int aecs_service_unseal(struct aecs_service *svc, const struct aecs_request *req,
                        json_t **answer, enum aecs_api_code *api)
{
    int rc = AECS_OK;
    struct aecs_unseal_request ur;
    struct aecs_share share;
    uint8_t seen[32];

    *answer = NULL;
    memset(&share, 0, sizeof(share));
    memset(&ur, 0, sizeof(ur));
    pthread_rwlock_wrlock(&svc->state_lock);
    if (svc->state == AECS_STATE_UNINITIALIZED) {
        *api = API_NOT_INITIALIZED;
        BAIL_OUT(AECS_E_USAGE, "the service is not initialized: run `aecs admin init`");
    }
    rc = aecs_unseal_request_parse((const char *)req->body, req->body_size, &ur);
    if (rc != AECS_OK) {
        *api = rc == AECS_E_TOO_LARGE ? API_TOO_LARGE : API_BAD_REQUEST;
        goto out;
    }
    if (ur.kind == AECS_UNSEAL_REQUEST_PLAIN) {
        /* A share in clear crossed TLS, which the host may terminate: never take one. */
        log_warn("unseal: a share sent in clear from %.64s was refused (an old aecs client)",
                 req->remote != NULL ? req->remote : "?");
        *api = API_SHARE_NOT_SEALED;
        BAIL_OUT(AECS_E_UNSUPPORTED,
                 "unseal: a share sent in clear is refused: anyone who holds this server's TLS "
                 "key could read it; use a current `aecs admin unseal`, which seals it to the "
                 "service's attested identity key");
    }
    if (svc->state == AECS_STATE_SEALED && svc->cu.enabled)
        svc_unseal_sync(svc); /* another replica's reset, or shares forwarded to this one */
    if (svc->state == AECS_STATE_WORKING) {
        /*
         * A working replica has no progress of its own, and resetting the
         * shared progress from here would only undo what the sealed replicas
         * were given.
         */
        if (ur.kind == AECS_UNSEAL_REQUEST_RESET) {
            *api = API_CONFLICT;
            BAIL_OUT(AECS_E_USAGE, "the service is working: there is no unseal progress to "
                                   "reset; send the reset to a sealed replica");
        }
        goto answer; /* already unsealed: nothing to do */
    }
    if (svc->identity == NULL) {
        *api = API_NO_IDENTITY;
        BAIL_OUT(AECS_E_USAGE, "unseal: this aecsd has no identity key (its release setup was "
                               "not done), so no share can be sealed to it");
    }
    sealed_seen_id(&ur.share, seen);
    if (sealed_seen_has(svc, seen)) {
        *api = API_BAD_SHARE;
        BAIL_OUT(AECS_E_INVALID_ARGUMENT, "this sealed share was given to this aecsd before (a "
                                          "replay): seal it again with `aecs admin unseal`");
    }
    GUARD_OUT(open_sealed_share(svc, &ur.share, &share, api));
    if (ur.kind == AECS_UNSEAL_REQUEST_RESET) {
        GUARD_OUT(reset_progress(svc, &share, seen, req->remote, api));
        goto answer;
    }
    GUARD_OUT(svc_share_check(svc, &share, api));
    sealed_seen_add(svc, seen);
    if (svc_pending_has(svc, share.index)) {
        *api = API_BAD_SHARE;
        BAIL_OUT(AECS_E_INVALID_ARGUMENT,
                 svc->cu.direct & (1u << share.index)
                     ? "share %u was already given"
                     : "share %u was already given (to another replica, which forwarded it)",
                 share.index);
    }
    GUARD_OUT(svc_pending_add(svc, &share, 1, req->remote, api));
answer:
    *answer = unseal_answer(svc);
    ENSURE_OUT(*answer != NULL, AECS_E_NO_MEMORY, "out of memory");
    rc = AECS_OK;
out:
    aecs_cleanse(&share, sizeof(share));
    aecs_envelope_clear(&ur.share);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

int aecs_service_join_apply(struct aecs_service *svc, struct aecs_kek *kek, const char *peer)
{
    int rc = AECS_OK;
    enum aecs_api_code api = API_OK;
    struct svc_audit_event ev = {0};
    char detail[320];

    pthread_rwlock_wrlock(&svc->state_lock);
    if (svc->state == AECS_STATE_WORKING)
        goto out; /* unsealed meanwhile (shares): the key it has is the right one */
    ENSURE_OUT(svc->state == AECS_STATE_SEALED, AECS_E_USAGE,
               "join: the service is not initialized");
    rc = aecs_kek_verify(kek, svc->check);
    if (rc != AECS_OK)
        BAIL_OUT(AECS_E_BAD_SIGNATURE, "join: the key the peer sent does not match this store's "
                                       "check value: refused (a rogue or misconfigured peer)");
    rc = svc_check_id(svc, kek, &api);
    if (rc != AECS_OK) {
        aecs_err_prefix("join: ");
        log_error("%s", aecs_err_last()->message);
        goto out;
    }
    svc->kek = kek;
    kek = NULL;
    svc->state = AECS_STATE_WORKING;
    svc_pending_wipe(svc);
    svc_unseal_done(svc);
    {
        struct svc_index ix;
        if (svc_index_load(svc, &ix) == AECS_OK)
            svc_index_clear(&ix);
        else
            log_error("join: the store's index does not open: %s", aecs_err_last()->message);
    }
    if (seal_root_key(svc) != AECS_OK)
        log_error("auto-unseal: could not seal the root key: %s", aecs_err_last()->message);
    snprintf(detail, sizeof(detail), "root key received by attestation from %.200s",
             peer != NULL ? peer : "a peer");
    ev.action = "cluster.joined";
    ev.result = "ok";
    ev.detail = detail;
    ev.target = peer;
    if (svc_audit_append(svc, &ev) != AECS_OK)
        log_error("audit: could not record the join: %s", aecs_err_last()->message);
out:
    aecs_kek_free(kek);
    pthread_rwlock_unlock(&svc->state_lock);
    return rc;
}

void aecs_service_audit_refusal(struct aecs_service *svc, const struct aecs_caller *caller,
                                const struct aecs_request *req, const char *why)
{
    struct svc_audit_event ev = {0};
    char action[160];

    snprintf(action, sizeof(action), "%.10s %.140s", req->method, req->target);
    ev.actor = caller->key_id;
    ev.role = caller->role == AECS_ROLE_CLUSTER_ADMIN ? "cluster-admin" : "service-admin";
    ev.remote = req->remote;
    ev.action = action;
    ev.result = "refused";
    ev.detail = why;
    pthread_rwlock_rdlock(&svc->state_lock);
    if (svc->state == AECS_STATE_WORKING && svc_audit_append(svc, &ev) != AECS_OK)
        log_error("audit: could not record a refusal: %s", aecs_err_last()->message);
    pthread_rwlock_unlock(&svc->state_lock);
}
