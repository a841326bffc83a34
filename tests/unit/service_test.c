/*
 * service_test.c - the service layer (src/service/) driven through
 * aecs_service_* without HTTP: status, init, unseal (by shares and
 * automatically), signed admin requests, services, secrets, the audit log,
 * and what someone who can write the SQLite store directly achieves.
 *
 * Every test opens a service on a fresh temp folder (sqlite:DIR/store.db),
 * makes its admin keys with aecs_sigkey_generate_files and signs its own
 * requests like a client would (aecs_reqsig_canonical, aecs_sigkey_sign,
 * base64): the helpers at the top are that small client. A refusal is
 * checked with its return code, its API code (as the server turns it into
 * an answer: the code the call set, else aecs_api_code_from_err) and a
 * distinctive part of its message; a refused call must answer nothing.
 *
 * Expected values come from the documents, not from a run of the service:
 * the JSON fields of docs/api.md, the share format of docs/design-keystore.md
 * (a share with a valid checksum is built here from that description) and
 * the audit chain (each entry's prev is the SHA-256 of the previous entry's
 * compact JSON with sorted keys, src/service/audit.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/sigkey.h"
#include "keystore/shares.h"
#include "crypto/envelope.h"
#include "proto/release.h"
#include "proto/reqsig.h"
#include "service/internal.h"
#include "service/service.h"
#include "store/store.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)
#define REMOTE "192.0.2.7"
#define VERSION "9.9.9-test"

/* Two SGX signers for policies (any 32 bytes of hex will do). */
#define MRSIGNER_A "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6"
#define MRSIGNER_B "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"

/* Values that must never be found where they do not belong. */
#define IMPORT_VALUE "aecs-test-import-7f3c9a1e20b4d6c8"
#define CONFIG_VALUE "aecs-test-config-55d1e0c7a9b3f2e4"

/* ---- the last call ---- */

static json_t *g_ans;            /* the answer of the last call */
static struct aecs_answer g_raw; /* or its signed answer (init) */
static enum aecs_api_code g_api; /* the API code it set */

static void reset_call(void)
{
    json_decref(g_ans);
    g_ans = NULL;
    aecs_answer_clear(&g_raw);
    g_api = API_OK;
}

/* The API code the server answers with (src/server/http.c). */
static enum aecs_api_code answered_api(int rc)
{
    return g_api != API_OK ? g_api : aecs_api_code_from_err(rc);
}

static void expect_ok(int rc, const char *what, const char *file, int line)
{
    if (rc != AECS_OK)
        fail_msg("%s:%d: %s: %s (%s): %s", file, line, what, aecs_err_name(rc),
                 aecs_api_code_name(answered_api(rc)), MSG());
}

static void expect_refused(int rc, int want_rc, enum aecs_api_code want_api, const char *needle,
                           const char *what, const char *file, int line)
{
    if (rc == want_rc && answered_api(rc) == want_api && strstr(MSG(), needle) != NULL &&
        g_ans == NULL && g_raw.body == NULL)
        return;
    fail_msg("%s:%d: %s: got %s (%s) '%s'%s; want %s (%s) with '%s'", file, line, what,
             aecs_err_name(rc), aecs_api_code_name(answered_api(rc)), MSG(),
             g_ans != NULL || g_raw.body != NULL ? " and an answer" : "", aecs_err_name(want_rc),
             aecs_api_code_name(want_api), needle);
}

/* Each runs a call that answers through g_ans and g_api. */
#define CALL(expr) (reset_call(), (expr))
#define EXPECT_OK(expr) expect_ok(CALL(expr), #expr, __FILE__, __LINE__)
#define EXPECT_REFUSED(expr, rc, api, needle)                                                      \
    expect_refused(CALL(expr), (rc), (api), (needle), #expr, __FILE__, __LINE__)

/* ---- small things ---- */

static char *xasprintf(const char *fmt, ...) AECS_PRINTF(1, 2);
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    assert_true(vasprintf(&s, fmt, ap) >= 0);
    va_end(ap);
    return s;
}

/* json_dumps (compact) of j, which it takes. */
static char *jdump(json_t *j)
{
    char *s;

    assert_non_null(j);
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", path, strerror(errno));
}

static int has_bytes(const uint8_t *hay, size_t size, const char *needle)
{
    return size > 0 && memmem(hay, size, needle, strlen(needle)) != NULL;
}

static int array_has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

/* Lowercase hex SHA-256 of a string. */
static void sha256_hex(const char *s, char out[65])
{
    uint8_t h[32];

    aecs_sha256(s, strlen(s), h);
    tu_hex_encode(h, sizeof(h), out);
}

/* Waits until the clock has just moved to a new second (for tests at a 1 s boundary). */
static void wait_next_second(void)
{
    time_t start = time(NULL);
    struct timespec ms = {0, 1000000};

    while (time(NULL) == start)
        nanosleep(&ms, NULL);
}

/* ---- admin keys ---- */

struct tkey {
    char id[AECS_SIGKEY_ID_HEX + 1];
    struct aecs_sigkey *key; /* the key pair */
    char *pem;               /* the public key PEM */
};

static void key_make(const char *dir, const char *name, struct tkey *k)
{
    char base[256], path[300];
    size_t size = 0;

    snprintf(base, sizeof(base), "%s/%s", dir, name);
    assert_int_equal(aecs_sigkey_generate_files(base, k->id), AECS_OK);
    snprintf(path, sizeof(path), "%s.pem", base);
    assert_int_equal(aecs_sigkey_load_private(path, &k->key), AECS_OK);
    snprintf(path, sizeof(path), "%s.pub.pem", base);
    k->pem = (char *)tu_read_file(path, &size);
}

static void key_clear(struct tkey *k)
{
    aecs_sigkey_free(k->key);
    free(k->pem);
    memset(k, 0, sizeof(*k));
}

/* ---- requests ---- */

/* A request and the strings it points to (do not copy it: it points into itself). */
struct treq {
    struct aecs_request r;
    char *body;
    char target[256];
    char key_id[AECS_SIGKEY_ID_HEX + 1];
    char timestamp[32];
    char nonce[AECS_REQSIG_NONCE_HEX + 1];
    char signature[128];
};

static void random_nonce(char out[AECS_REQSIG_NONCE_HEX + 1])
{
    uint8_t raw[16];

    assert_int_equal(getrandom(raw, sizeof(raw), 0), (ssize_t)sizeof(raw));
    tu_hex_encode(raw, sizeof(raw), out);
}

static void req_unsigned(struct treq *q, const char *method, const char *target, const char *body)
{
    memset(q, 0, sizeof(*q));
    snprintf(q->target, sizeof(q->target), "%s", target);
    q->body = body != NULL ? strdup(body) : NULL;
    q->r.method = method;
    q->r.target = q->target;
    q->r.body = (const uint8_t *)q->body;
    q->r.body_size = body != NULL ? strlen(body) : 0;
    q->r.remote = REMOTE;
}

/*
 * A request signed by `signer` for service id `sid` (docs/api.md): header key
 * id `key_id` (NULL: the signer's), timestamp now + skew, nonce `nonce` (NULL:
 * a fresh one).
 */
static void req_build(struct treq *q, const char *sid, const struct tkey *signer,
                      const char *key_id, const char *method, const char *target, const char *body,
                      int64_t skew, const char *nonce)
{
    struct aecs_reqsig_fields fields;
    char *canonical = NULL;
    size_t canonical_size = 0;
    uint8_t sig[AECS_SIGKEY_SIG_MAX];
    size_t sig_size = 0;
    int64_t ts = (int64_t)time(NULL) + skew;

    req_unsigned(q, method, target, body);
    snprintf(q->key_id, sizeof(q->key_id), "%s", key_id != NULL ? key_id : signer->id);
    snprintf(q->timestamp, sizeof(q->timestamp), "%lld", (long long)ts);
    if (nonce != NULL)
        snprintf(q->nonce, sizeof(q->nonce), "%s", nonce);
    else
        random_nonce(q->nonce);
    fields = (struct aecs_reqsig_fields){
        .method = method,
        .target = q->target,
        .service_id = sid,
        .body = q->r.body,
        .body_size = q->r.body_size,
        .timestamp = ts,
        .nonce = q->nonce,
        .key_id = q->key_id,
    };
    assert_int_equal(aecs_reqsig_canonical(&fields, &canonical, &canonical_size), AECS_OK);
    assert_int_equal(aecs_sigkey_sign(signer->key, canonical, canonical_size, sig, &sig_size),
                     AECS_OK);
    free(canonical);
    aecs_base64_encode(sig, sig_size, q->signature);
    q->r.key_id = q->key_id;
    q->r.timestamp = q->timestamp;
    q->r.nonce = q->nonce;
    q->r.signature = q->signature;
}

static void req_free(struct treq *q)
{
    free(q->body);
    memset(q, 0, sizeof(*q));
}

/* ---- bodies ---- */

/*
 * The admin's side of the last init body: the key the shares are sealed to
 * and the nonce (docs/protocol-release.md section 7).
 */
static struct aecs_p256_key *g_share_key;
static uint8_t g_share_pub[AECS_P256_PUB_SIZE];
static uint8_t g_init_nonce[AECS_RELEASE_NONCE_SIZE];

/* j (taken) with a fresh share key and nonce (kept in g_share_key, g_init_nonce), as text. */
static char *body_init_json(json_t *j)
{
    char key_hex[2 * AECS_P256_PUB_SIZE + 1], nonce_hex[2 * AECS_RELEASE_NONCE_SIZE + 1];

    aecs_p256_key_free(g_share_key);
    assert_int_equal(aecs_p256_key_generate(&g_share_key), AECS_OK);
    aecs_p256_key_public(g_share_key, g_share_pub);
    assert_int_equal(getrandom(g_init_nonce, sizeof(g_init_nonce), 0),
                     (ssize_t)sizeof(g_init_nonce));
    tu_hex_encode(g_share_pub, sizeof(g_share_pub), key_hex);
    tu_hex_encode(g_init_nonce, sizeof(g_init_nonce), nonce_hex);
    assert_non_null(j);
    json_object_set_new(j, "share_key", json_string(key_hex));
    json_object_set_new(j, "nonce", json_string(nonce_hex));
    return jdump(j);
}

static char *body_init(const char *pem, int shares, int threshold)
{
    return body_init_json(
        json_pack("{s:s, s:i, s:i}", "pubkey", pem, "shares", shares, "threshold", threshold));
}

static char *body_register(const char *name, const char *pem)
{
    return jdump(json_pack("{s:s, s:s}", "name", name, "pubkey", pem));
}

static char *body_secrets(const char *yaml, int update, int insecure)
{
    return jdump(json_pack("{s:s, s:b, s:b}", "policy", yaml, "update", update,
                           "insecure_allow_any_enclave", insecure));
}

/*
 * An unseal body (kind AECS_UNSEAL_REQUEST_SEALED) or a reset with share
 * sealed to the key pub for service id sid (docs/protocol-release.md section
 * 7), as `aecs admin unseal` and `aecs admin unseal --reset` send it.
 */
enum tamper { T_NONE, T_CIPHERTEXT, T_TAG, T_IV };

static char *body_sealed(const uint8_t pub[AECS_P256_PUB_SIZE], const char *sid,
                         const char *share, enum tamper tamper, enum aecs_unseal_request_kind kind)
{
    struct aecs_p256_pub *identity = NULL;
    struct aecs_admin_share_binding b;
    struct aecs_unseal_request ur = {.kind = kind};
    char *body = NULL;
    size_t size = 0;

    assert_int_equal(aecs_p256_pub_import(pub, AECS_P256_PUB_SIZE, &identity), AECS_OK);
    assert_int_equal(aecs_admin_share_binding(sid, &b), AECS_OK);
    assert_int_equal(
        aecs_envelope_seal(identity, &b.b, (const uint8_t *)share, strlen(share), &ur.share),
        AECS_OK);
    if (tamper == T_CIPHERTEXT)
        ur.share.ciphertext[ur.share.size - 1] ^= 0x01;
    else if (tamper == T_TAG)
        ur.share.tag[0] ^= 0x80;
    else if (tamper == T_IV)
        ur.share.iv[5] ^= 0x01;
    assert_int_equal(aecs_unseal_request_serialize(&ur, &body, &size), AECS_OK);
    aecs_envelope_clear(&ur.share);
    aecs_p256_pub_free(identity);
    return body;
}

static char *body_share_to(const uint8_t pub[AECS_P256_PUB_SIZE], const char *sid,
                           const char *share)
{
    return body_sealed(pub, sid, share, T_NONE, AECS_UNSEAL_REQUEST_SEALED);
}

static char *body_share(const struct aecs_service *svc, const char *share)
{
    return body_share_to(svc->identity_pub, aecs_service_id(svc), share);
}

/* A reset proven by share, sealed to svc's identity key. */
static char *body_reset(const struct aecs_service *svc, const char *share)
{
    return body_sealed(svc->identity_pub, aecs_service_id(svc), share, T_NONE,
                       AECS_UNSEAL_REQUEST_RESET);
}

/* ---- policies ---- */

/*
 * One secret of a SecretPolicy file (a "- spec:" item, docs/policy.md), with
 * one rule naming mrsigner. params: a YAML flow list or NULL; data: for
 * SECRET_TYPE_IMPORT_DATA only.
 */
static char *yaml_item(const char *service, const char *name, const char *type, const char *share,
                       int readonly, const char *mrsigner, const char *params, const char *data)
{
    char *p = params != NULL ? xasprintf("    params: %s\n", params) : strdup("");
    char *d = data != NULL ? xasprintf("  data: \"%s\"\n", data) : strdup("");
    char *s = xasprintf("- spec:\n"
                        "    name: %s\n"
                        "    type: %s\n"
                        "    service: %s\n"
                        "    share: %s\n"
                        "    readonly: %s\n"
                        "    policy:\n"
                        "      enclaveMatchAnyRules:\n"
                        "      - mrsigner: \"%s\"\n"
                        "%s%s",
                        name, type, service, share, readonly ? "true" : "false", mrsigner, p, d);
    free(p);
    free(d);
    return s;
}

/* A SecretPolicy file of `count` items, which it takes. */
static char *yaml_doc(size_t count, ...)
{
    va_list ap;
    char *doc = strdup("apiVersion: v1\nkind: SecretPolicy\nsecrets:\n");

    va_start(ap, count);
    for (size_t i = 0; i < count; i++) {
        char *item = va_arg(ap, char *);
        char *next = xasprintf("%s%s", doc, item);
        free(doc);
        free(item);
        doc = next;
    }
    va_end(ap);
    return doc;
}

/* A file with one AES key of `service` (the quickest secret to make). */
static char *yaml_aes(const char *service, const char *name)
{
    return yaml_doc(1, yaml_item(service, name, "SECRET_TYPE_AES256_KEY", "private", 0, MRSIGNER_A,
                                 NULL, NULL));
}

/* A file with one P-256 EC key pair of `service` whose public part is public. */
static char *yaml_ec(const char *service, const char *name, const char *mrsigner)
{
    return yaml_doc(1, yaml_item(service, name, "SECRET_TYPE_EC_KEY_PAIR", "public", 0, mrsigner,
                                 "[{key: curve, value: P-256}]", NULL));
}

/* ---- the fixture: one service on a temp folder ---- */

#define FX_KEYS 8

struct fx {
    char dir[64];
    char spec[160]; /* sqlite:DIR/store.db */
    char db[128];   /* DIR/store.db */
    char data[128]; /* DIR/data */
    char tee[128];  /* DIR/tee: a fake device tree for Gramine */
    char init_key[128];
    struct aecs_service_config cfg;
    struct aecs_service *svc;
    struct tkey admin; /* becomes the first cluster admin at init */
    struct tkey keys[FX_KEYS];
    size_t key_count;
    char *shares[AECS_SHARES_MAX];
    size_t share_count;
};

/*
 * Opens a service as aecsd does: with an identity key (made at each start),
 * here without an attester, so without evidence.
 */
static void svc_open(const struct aecs_service_config *cfg, struct aecs_service **out)
{
    struct aecs_release_config rc;

    expect_ok(aecs_service_open(cfg, out), "aecs_service_open", __FILE__, __LINE__);
    memset(&rc, 0, sizeof(rc));
    rc.attester = "none";
    rc.rate_burst = 1000;
    rc.rate_per_second = 1000;
    expect_ok(aecs_service_release_setup(*out, &rc), "aecs_service_release_setup", __FILE__,
              __LINE__);
}

static void fx_open(struct fx *f)
{
    assert_null(f->svc);
    svc_open(&f->cfg, &f->svc);
}

static void fx_close(struct fx *f)
{
    aecs_service_free(f->svc);
    f->svc = NULL;
}

static void fx_reopen(struct fx *f)
{
    fx_close(f);
    fx_open(f);
}

/* A fixture on a fresh folder, with its admin key made and the service open (uninitialized). */
static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/store.db", f->dir);
    snprintf(f->spec, sizeof(f->spec), "sqlite:%s", f->db);
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    snprintf(f->tee, sizeof(f->tee), "%s/tee", f->dir);
    make_dir(f->data);
    key_make(f->dir, "admin", &f->admin);
    f->cfg = (struct aecs_service_config){
        .store_spec = f->spec,
        .data_dir = f->data,
        .auto_unseal = AECS_AUTO_UNSEAL_NONE,
        .version = VERSION,
    };
    fx_open(f);
    return f;
}

static void fx_delete(struct fx *f)
{
    if (f == NULL)
        return;
    fx_close(f);
    key_clear(&f->admin);
    for (size_t i = 0; i < f->key_count; i++)
        key_clear(&f->keys[i]);
    for (size_t i = 0; i < f->share_count; i++)
        free(f->shares[i]);
    tu_rmtree(f->dir);
    free(f);
}

static int setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int teardown(void **state)
{
    reset_call();
    fx_delete(*state);
    aecs_p256_key_free(g_share_key);
    g_share_key = NULL;
    return 0;
}

/* Another admin key, freed with the fixture. */
static struct tkey *fx_key(struct fx *f, const char *name)
{
    assert_true(f->key_count < FX_KEYS);
    key_make(f->dir, name, &f->keys[f->key_count]);
    return &f->keys[f->key_count++];
}

static void fx_sign(struct fx *f, struct treq *q, const struct tkey *k, const char *method,
                    const char *target, const char *body)
{
    req_build(q, aecs_service_id(f->svc), k, NULL, method, target, body, 0, NULL);
}

/* Signs a request with k and authenticates it: q and *caller are ready for a call. */
static void fx_signed(struct fx *f, struct treq *q, const struct tkey *k, const char *method,
                      const char *target, const char *body, struct aecs_caller *caller)
{
    fx_sign(f, q, k, method, target, body);
    EXPECT_OK(aecs_service_authenticate(f->svc, &q->r, caller, &g_api));
}

/*
 * Checks the init answer in g_raw as docs/protocol-release.md section 7 says
 * an admin does: the signature with svc's identity key over the nonce, the
 * share key and the body; the members; then each share opened with the share
 * key for its index. Returns the answer (aecs_init_answer_free it) and the
 * share texts in texts[0..count-1] (free each).
 */
static struct aecs_init_answer *open_init_answer(const struct aecs_service *svc, char **texts)
{
    struct aecs_p256_pub *identity = NULL;
    struct aecs_init_answer *a = NULL;

    assert_non_null(g_raw.body);
    assert_int_equal(aecs_p256_pub_import(svc->identity_pub, sizeof(svc->identity_pub), &identity),
                     AECS_OK);
    assert_int_equal(aecs_answer_verify(identity, AECS_ANSWER_INIT, g_init_nonce, g_share_pub,
                                        g_raw.body, g_raw.size, g_raw.signature,
                                        strlen(g_raw.signature)),
                     AECS_OK);
    aecs_p256_pub_free(identity);
    assert_int_equal(aecs_init_answer_parse(g_raw.body, g_raw.size, &a), AECS_OK);
    assert_string_equal(a->id, aecs_service_id(svc));
    for (size_t i = 0; i < a->count; i++) {
        struct aecs_admin_share_binding b;
        uint8_t *plain = NULL;
        size_t size = 0;
        assert_int_equal(aecs_init_share_binding(a->id, (unsigned)(i + 1), g_init_nonce, &b),
                         AECS_OK);
        assert_int_equal(aecs_envelope_open(g_share_key, &b.b, &a->shares[i], &plain, &size),
                         AECS_OK);
        texts[i] = strndup((const char *)plain, size);
        assert_non_null(texts[i]);
        aecs_envelope_plain_free(plain, size);
    }
    return a;
}

/* Inits with n shares, threshold k, signed by the admin key; keeps the shares. */
static void fx_init(struct fx *f, int n, int k)
{
    struct treq q;
    char *body = body_init(f->admin.pem, n, k);
    struct aecs_init_answer *a;

    fx_sign(f, &q, &f->admin, "POST", "/v1/admin/init", body);
    EXPECT_OK(aecs_service_init(f->svc, &q.r, &g_raw, &g_api));
    a = open_init_answer(f->svc, f->shares + f->share_count);
    assert_int_equal(a->count, (size_t)n);
    f->share_count += a->count;
    aecs_init_answer_free(a);
    free(body);
    req_free(&q);
}

/* Gives a share text to unseal, sealed as `aecs admin unseal` does; returns the call's result. */
static int fx_unseal_text(struct fx *f, const char *share)
{
    struct treq q;
    char *body = body_share(f->svc, share);
    int rc;

    req_unsigned(&q, "POST", "/v1/admin/unseal", body);
    reset_call();
    rc = aecs_service_unseal(f->svc, &q.r, &g_ans, &g_api);
    free(body);
    req_free(&q);
    return rc;
}

/* Gives the fixture's share i (0-based). */
static int fx_unseal(struct fx *f, size_t i)
{
    return fx_unseal_text(f, f->shares[i]);
}

/* Registers service `name` with the admin key pem, signed by the cluster admin. */
static int fx_register(struct fx *f, const char *name, const char *pem)
{
    struct treq q;
    struct aecs_caller c;
    char *body = body_register(name, pem);
    int rc;

    fx_signed(f, &q, &f->admin, "POST", "/v1/admin/services", body, &c);
    reset_call();
    rc = aecs_service_service_register(f->svc, &c, &q.r, &g_ans, &g_api);
    free(body);
    req_free(&q);
    return rc;
}

/* Creates (or updates) the secrets of a policy file, signed by k. */
static int fx_create(struct fx *f, const struct tkey *k, const char *yaml, int update, int insecure)
{
    struct treq q;
    struct aecs_caller c;
    char *body = body_secrets(yaml, update, insecure);
    int rc;

    fx_signed(f, &q, k, "POST", "/v1/secrets", body, &c);
    reset_call();
    rc = aecs_service_secrets_create(f->svc, &c, &q.r, &g_ans, &g_api);
    free(body);
    req_free(&q);
    return rc;
}

/* Lists the secrets of a service, signed by k. */
static int fx_list(struct fx *f, const struct tkey *k, const char *service)
{
    struct treq q;
    struct aecs_caller c;
    char target[160];
    int rc;

    snprintf(target, sizeof(target), "/v1/services/%s/secrets", service);
    fx_signed(f, &q, k, "GET", target, NULL, &c);
    reset_call();
    rc = aecs_service_secrets_list(f->svc, &c, service, &g_ans, &g_api);
    req_free(&q);
    return rc;
}

static int fx_destroy(struct fx *f, const struct tkey *k, const char *service, const char *name)
{
    struct treq q;
    struct aecs_caller c;
    char target[200];
    int rc;

    snprintf(target, sizeof(target), "/v1/services/%s/secrets/%s", service, name);
    fx_signed(f, &q, k, "DELETE", target, NULL, &c);
    reset_call();
    rc = aecs_service_secret_destroy(f->svc, &c, service, name, &g_ans, &g_api);
    req_free(&q);
    return rc;
}

static int fx_audit_verify(struct fx *f)
{
    struct treq q;
    struct aecs_caller c;
    int rc;

    fx_signed(f, &q, &f->admin, "POST", "/v1/admin/audit/verify", NULL, &c);
    reset_call();
    rc = aecs_service_audit_verify(f->svc, &c, &g_ans, &g_api);
    req_free(&q);
    return rc;
}

static int fx_audit_list(struct fx *f, uint64_t from, unsigned limit)
{
    struct treq q;
    struct aecs_caller c;
    int rc;

    fx_signed(f, &q, &f->admin, "GET", "/v1/admin/audit", NULL, &c);
    reset_call();
    rc = aecs_service_audit_list(f->svc, &c, from, limit, &g_ans, &g_api);
    req_free(&q);
    return rc;
}

/* The status answer (in g_ans, until the next call). */
static json_t *fx_status(struct fx *f)
{
    EXPECT_OK(aecs_service_status(f->svc, &g_ans));
    return g_ans;
}

/* An initialized, working service with service1 administered by the returned key. */
static struct tkey *fx_working_with_service(struct fx *f)
{
    struct tkey *s1 = fx_key(f, "service1-admin");

    fx_init(f, 3, 2);
    EXPECT_OK(fx_register(f, "service1", s1->pem));
    return s1;
}

/* The names in a secrets listing, comma-separated, in order. */
static void listed_names(const json_t *ans, char *out, size_t size)
{
    size_t i;
    json_t *s;

    out[0] = '\0';
    json_array_foreach(json_object_get(ans, "secrets"), i, s)
    {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", n > 0 ? "," : "",
                 json_string_value(json_object_get(s, "name")));
    }
}

/* ---- the store, written behind the service's back ---- */

static struct aecs_store *store_open(struct fx *f)
{
    struct aecs_store *st = NULL;

    assert_int_equal(aecs_store_open(f->spec, &st), AECS_OK);
    return st;
}

/* A copy of the value at key (the caller frees .data with free()). */
static struct aecs_store_value store_copy(struct fx *f, const char *key)
{
    struct aecs_store *st = store_open(f);
    struct aecs_store_value v = {0}, out = {0};

    assert_int_equal(aecs_store_get(st, key, &v), AECS_OK);
    out.data = malloc(v.size);
    assert_non_null(out.data);
    memcpy(out.data, v.data, v.size);
    out.size = v.size;
    out.version = v.version;
    aecs_store_value_free(&v);
    aecs_store_free(st);
    return out;
}

/* Whether the store holds key. */
static int store_has(struct fx *f, const char *key)
{
    struct aecs_store *st = store_open(f);
    struct aecs_store_value v = {0};
    int rc = aecs_store_get(st, key, &v);

    assert_true(rc == AECS_OK || rc == AECS_E_NOT_FOUND);
    aecs_store_value_free(&v);
    aecs_store_free(st);
    aecs_err_clear();
    return rc == AECS_OK;
}

/* The text at key (a service id, /meta/init), NUL-terminated; the caller frees it. */
static char *store_text(struct fx *f, const char *key)
{
    struct aecs_store_value v = store_copy(f, key);
    char *text = malloc(v.size + 1);

    assert_non_null(text);
    memcpy(text, v.data, v.size);
    text[v.size] = '\0';
    free(v.data);
    return text;
}

static void store_set_text(struct fx *f, const char *key, const char *text)
{
    struct aecs_store *st = store_open(f);

    assert_int_equal(aecs_store_put(st, key, text, strlen(text), AECS_STORE_ANY, NULL), AECS_OK);
    aecs_store_free(st);
}

static void store_set(struct fx *f, const char *key, const struct aecs_store_value *v)
{
    struct aecs_store *st = store_open(f);

    assert_int_equal(aecs_store_put(st, key, v->data, v->size, AECS_STORE_ANY, NULL), AECS_OK);
    aecs_store_free(st);
}

/* ---- shares ---- */

/*
 * The share text with its data replaced by other valid bytes and a checksum
 * recomputed as docs/design-keystore.md says: the first 4 bytes (8 hex
 * digits) of SHA-256 over every character before the last ':'. The check of
 * the real share's own checksum first confirms that reading of the format.
 */
static char *share_with_other_data(const char *share)
{
    char *copy = strdup(share), *field[6], *save = NULL, *p = copy;
    char head[160], hex[65], b64[64];
    uint8_t data[64];
    size_t size = 0;
    int n = 0;

    for (char *tok; n < 6 && (tok = strtok_r(p, ":", &save)) != NULL; p = NULL)
        field[n++] = tok;
    assert_int_equal(n, 6);
    assert_string_equal(field[0], "aecs-share-v1");
    snprintf(head, sizeof(head), "%s:%s:%s:%s:%s", field[0], field[1], field[2], field[3],
             field[4]);
    sha256_hex(head, hex);
    assert_memory_equal(hex, field[5], 8);

    assert_int_equal(aecs_base64_decode(field[4], strlen(field[4]), data, sizeof(data), &size),
                     AECS_OK);
    assert_int_equal(size, 32);
    for (size_t i = 0; i < size; i++)
        data[i] ^= 0x5a;
    aecs_base64_encode(data, size, b64);
    snprintf(head, sizeof(head), "%s:%s:%s:%s:%s", field[0], field[1], field[2], field[3], b64);
    sha256_hex(head, hex);
    free(copy);
    return xasprintf("%s:%.8s", head, hex);
}

/* ---- calls in the wrong state ---- */

/* Every call that needs a working service is refused with api and needle. */
static void expect_admin_calls_refused(struct fx *f, enum aecs_api_code api, const char *needle)
{
    struct aecs_caller admin = {.role = AECS_ROLE_CLUSTER_ADMIN};
    struct aecs_caller owner = {.role = AECS_ROLE_SERVICE_ADMIN};
    struct aecs_caller c;
    struct treq q;
    char *body = body_secrets("apiVersion: v1\n", 0, 0);

    memcpy(admin.key_id, f->admin.id, sizeof(admin.key_id));
    snprintf(owner.service, sizeof(owner.service), "service1");
    fx_sign(f, &q, &f->admin, "POST", "/v1/secrets", body);

    EXPECT_REFUSED(aecs_service_authenticate(f->svc, &q.r, &c, &g_api), AECS_E_USAGE, api, needle);
    EXPECT_REFUSED(aecs_service_services_list(f->svc, &admin, &g_ans, &g_api), AECS_E_USAGE, api,
                   needle);
    EXPECT_REFUSED(aecs_service_service_register(f->svc, &admin, &q.r, &g_ans, &g_api),
                   AECS_E_USAGE, api, needle);
    EXPECT_REFUSED(aecs_service_service_unregister(f->svc, &admin, "service1", 1, &g_ans, &g_api),
                   AECS_E_USAGE, api, needle);
    EXPECT_REFUSED(aecs_service_secrets_create(f->svc, &owner, &q.r, &g_ans, &g_api), AECS_E_USAGE,
                   api, needle);
    EXPECT_REFUSED(aecs_service_secrets_list(f->svc, &owner, "service1", &g_ans, &g_api),
                   AECS_E_USAGE, api, needle);
    EXPECT_REFUSED(aecs_service_secret_destroy(f->svc, &owner, "service1", "k", &g_ans, &g_api),
                   AECS_E_USAGE, api, needle);
    EXPECT_REFUSED(aecs_service_secret_public(f->svc, "service1", "k", &g_ans, &g_api),
                   AECS_E_USAGE, api, needle);
    EXPECT_REFUSED(aecs_service_audit_list(f->svc, &admin, 0, 0, &g_ans, &g_api), AECS_E_USAGE, api,
                   needle);
    EXPECT_REFUSED(aecs_service_audit_verify(f->svc, &admin, &g_ans, &g_api), AECS_E_USAGE, api,
                   needle);
    free(body);
    req_free(&q);
}

/* ========================================================================= */
/* status and state                                                          */
/* ========================================================================= */

static void test_names(void **state)
{
    char long_name[80];

    (void)state;
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    assert_true(aecs_service_name_valid(long_name));
    long_name[64] = 'a';
    long_name[65] = '\0';
    assert_false(aecs_service_name_valid(long_name));
    assert_true(aecs_service_name_valid("data_key-1.v2"));
    assert_true(aecs_service_name_valid("a..b"));
    assert_false(aecs_service_name_valid(""));
    assert_false(aecs_service_name_valid(".x"));
    assert_false(aecs_service_name_valid(".."));
    assert_false(aecs_service_name_valid("../x"));
    assert_false(aecs_service_name_valid("a/b"));
    assert_false(aecs_service_name_valid("a b"));
    assert_false(aecs_service_name_valid("a%2fb"));
    assert_false(aecs_service_name_valid("caf\xc3\xa9"));
}

static int fx_unseal_body(struct fx *f, const char *body);

static void test_status_uninitialized(void **state)
{
    struct fx *f = *state;
    json_t *st = fx_status(f);
    char *body;

    assert_string_equal(tu_json_str(st, "state"), "uninitialized");
    assert_string_equal(tu_json_str(st, "version"), VERSION);
    assert_string_equal(tu_json_str(st, "store"), "sqlite");
    /* No id before the init: it is derived from the root key the init makes. */
    assert_string_equal(tu_json_str(st, "id"), "");
    assert_string_equal(aecs_service_id(f->svc), "");
    assert_true(json_is_array(json_object_get(st, "insecure")));
    assert_int_equal(json_array_size(json_object_get(st, "insecure")), 0);
    assert_null(json_object_get(st, "unseal"));
    assert_null(json_object_get(st, "counts"));
    assert_null(json_object_get(st, "generation"));
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_UNINITIALIZED);

    /* Nor is one written at open. */
    fx_reopen(f);
    assert_string_equal(aecs_service_id(f->svc), "");
    assert_int_equal(store_has(f, "/meta/id"), 0);

    expect_admin_calls_refused(f, API_NOT_INITIALIZED, "not initialized");
    body = body_share_to(f->svc->identity_pub, "0123456789abcdef0123456789abcdef",
                         "aecs-share-v1:x");
    EXPECT_REFUSED(fx_unseal_body(f, body), AECS_E_USAGE, API_NOT_INITIALIZED, "not initialized");
    free(body);
}

static void test_status_sealed_and_working(void **state)
{
    struct fx *f = *state;
    json_t *st;

    fx_init(f, 3, 2);
    st = fx_status(f);
    assert_string_equal(tu_json_str(st, "state"), "working");
    assert_null(json_object_get(st, "unseal"));
    assert_int_equal(tu_json_int(st, "generation"), 1);
    assert_int_equal(tu_json_int(st, "counts.admins"), 1);
    assert_int_equal(tu_json_int(st, "counts.services"), 0);
    assert_int_equal(tu_json_int(st, "counts.secrets"), 0);
    assert_int_equal(json_array_size(json_object_get(st, "insecure")), 0);

    fx_reopen(f);
    st = fx_status(f);
    assert_string_equal(tu_json_str(st, "state"), "sealed");
    assert_int_equal(tu_json_int(st, "unseal.received"), 0);
    assert_int_equal(tu_json_int(st, "unseal.threshold"), 2);
    assert_null(json_object_get(st, "counts"));
    assert_null(json_object_get(st, "generation"));
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    expect_admin_calls_refused(f, API_SEALED, "the service is sealed");

    EXPECT_OK(fx_unseal(f, 0));
    EXPECT_OK(fx_unseal(f, 1));
    st = fx_status(f);
    assert_string_equal(tu_json_str(st, "state"), "working");
    assert_int_equal(tu_json_int(st, "generation"), 1);
    assert_int_equal(tu_json_int(st, "counts.admins"), 1);
}

/* ========================================================================= */
/* init                                                                      */
/* ========================================================================= */

static void expect_init_refused(struct fx *f, const struct tkey *signer, const char *key_id,
                                const char *body, int rc, enum aecs_api_code api,
                                const char *needle, int line);

static void test_init(void **state)
{
    struct fx *f = *state;
    struct treq q;
    char *body = body_init(f->admin.pem, 5, 3);
    char *texts[AECS_SHARES_MAX] = {0};
    struct aecs_init_answer *a;

    fx_sign(f, &q, &f->admin, "POST", "/v1/admin/init", body);
    EXPECT_OK(aecs_service_init(f->svc, &q.r, &g_raw, &g_api));
    /* Signed over the nonce, the share key and the body; every share sealed to the key. */
    a = open_init_answer(f->svc, texts);
    assert_int_equal(a->threshold, 3);
    assert_int_equal(a->count, 5);
    assert_string_equal(a->admin, f->admin.id);
    for (size_t i = 0; i < a->count; i++) {
        char prefix[40];
        const char *text = texts[i];
        assert_true(strlen(text) >= 80 && strlen(text) <= 82);
        assert_int_equal(strncmp(text, "aecs-share-v1:", 14), 0);
        /* aecs-share-v1:<set>:3:<index>: */
        snprintf(prefix, sizeof(prefix), ":3:%zu:", i + 1);
        assert_non_null(strstr(text + 14 + 8, prefix));
        /* and nowhere in the answer's bytes */
        assert_null(memmem(g_raw.body, g_raw.size, text + 14, strlen(text) - 14));
        free(texts[i]);
    }
    aecs_init_answer_free(a);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
    req_free(&q);

    /* A second init, by anyone, is a conflict. */
    fx_sign(f, &q, &f->admin, "POST", "/v1/admin/init", body);
    EXPECT_REFUSED(aecs_service_init(f->svc, &q.r, &g_raw, &g_api), AECS_E_USAGE, API_CONFLICT,
                   "already initialized");
    req_free(&q);
    fx_reopen(f);
    fx_sign(f, &q, &f->admin, "POST", "/v1/admin/init", body);
    EXPECT_REFUSED(aecs_service_init(f->svc, &q.r, &g_raw, &g_api), AECS_E_USAGE, API_CONFLICT,
                   "already initialized");
    req_free(&q);
    free(body);
}

/* No share ever leaves in clear: an init without a share key is refused, and nothing happens. */
static void test_init_needs_share_key(void **state)
{
    struct fx *f = *state;
    char *body;

    body = jdump(json_pack("{s:s, s:i, s:i}", "pubkey", f->admin.pem, "shares", 3, "threshold", 2));
    expect_init_refused(f, &f->admin, NULL, body, AECS_E_UNSUPPORTED, API_SHARE_NOT_SEALED,
                        "no share_key: this aecsd only hands out shares sealed", __LINE__);
    free(body);
    body = jdump(json_pack("{s:s, s:i, s:i, s:s, s:s}", "pubkey", f->admin.pem, "shares", 3,
                           "threshold", 2, "share_key", "04ab", "nonce", ""));
    expect_init_refused(f, &f->admin, NULL, body, AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST,
                        "share_key must be a P-256 point", __LINE__);
    free(body);
    {
        /* a point off the curve: 0x04 and 64 bytes of 0x01 */
        char hex[2 * AECS_P256_PUB_SIZE + 1];
        memset(hex, '1', sizeof(hex) - 1);
        hex[0] = '0';
        hex[1] = '4';
        hex[sizeof(hex) - 1] = '\0';
        body = jdump(json_pack("{s:s, s:i, s:i, s:s, s:s}", "pubkey", f->admin.pem, "shares", 3,
                               "threshold", 2, "share_key", hex, "nonce",
                               "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"));
        expect_init_refused(f, &f->admin, NULL, body, AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST,
                            "share_key must be a P-256 point", __LINE__);
        free(body);
    }
    body = body_init_json(
        json_pack("{s:s, s:i, s:i}", "pubkey", f->admin.pem, "shares", 3, "threshold", 2));
    {
        /* an upper-case nonce: one text form per value */
        json_t *j = json_loads(body, 0, NULL);
        char nonce[65];
        snprintf(nonce, sizeof(nonce), "%s", json_string_value(json_object_get(j, "nonce")));
        for (char *c = nonce; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
        nonce[0] = 'A';
        json_object_set_new(j, "nonce", json_string(nonce));
        free(body);
        body = jdump(j);
    }
    expect_init_refused(f, &f->admin, NULL, body, AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST,
                        "nonce must be 64 lowercase hex characters", __LINE__);
    free(body);
}

/* A service without an identity key (no release setup) neither inits nor takes a share. */
static void test_no_identity_key(void **state)
{
    struct fx *f = *state;
    struct treq q;
    char *body = body_init(f->admin.pem, 3, 2);
    struct aecs_service *bare = NULL;

    expect_ok(aecs_service_open(&f->cfg, &bare), "open", __FILE__, __LINE__);
    req_build(&q, aecs_service_id(bare), &f->admin, NULL, "POST", "/v1/admin/init", body, 0, NULL);
    EXPECT_REFUSED(aecs_service_init(bare, &q.r, &g_raw, &g_api), AECS_E_USAGE, API_NO_IDENTITY,
                   "init: this aecsd has no identity key");
    req_free(&q);
    free(body);
    assert_int_equal(aecs_service_state(bare), AECS_STATE_UNINITIALIZED);
    aecs_service_free(bare);

    fx_init(f, 3, 2);
    fx_close(f);
    expect_ok(aecs_service_open(&f->cfg, &bare), "open", __FILE__, __LINE__);
    /* any envelope will do: it is refused before it is opened */
    body = body_share_to(g_share_pub, aecs_service_id(bare), f->shares[0]);
    req_unsigned(&q, "POST", "/v1/admin/unseal", body);
    EXPECT_REFUSED(aecs_service_unseal(bare, &q.r, &g_ans, &g_api), AECS_E_USAGE, API_NO_IDENTITY,
                   "unseal: this aecsd has no identity key");
    req_free(&q);
    free(body);
    assert_int_equal(aecs_service_state(bare), AECS_STATE_SEALED);
    aecs_service_free(bare);
    fx_open(f);
}

/* Two service objects on one store (replicas), both started before the init. */
static void test_init_by_another_replica(void **state)
{
    struct fx *f = *state;
    struct aecs_service *replica = NULL;
    struct treq q;
    char *body = body_init(f->admin.pem, 2, 2);

    svc_open(&f->cfg, &replica);
    assert_string_equal(aecs_service_id(replica), aecs_service_id(f->svc));
    fx_init(f, 2, 2);

    req_build(&q, aecs_service_id(replica), &f->admin, NULL, "POST", "/v1/admin/init", body, 0,
              NULL);
    EXPECT_REFUSED(aecs_service_init(replica, &q.r, &g_raw, &g_api), AECS_E_USAGE, API_CONFLICT,
                   "already initialized");
    assert_int_equal(aecs_service_state(replica), AECS_STATE_SEALED);
    req_free(&q);
    free(body);
    aecs_service_free(replica);
}

/* Init refused with rc, api and needle: body signed by signer with header key id key_id. */
static void expect_init_refused(struct fx *f, const struct tkey *signer, const char *key_id,
                                const char *body, int rc, enum aecs_api_code api,
                                const char *needle, int line)
{
    struct treq q;

    req_build(&q, aecs_service_id(f->svc), signer, key_id, "POST", "/v1/admin/init", body, 0, NULL);
    expect_refused(CALL(aecs_service_init(f->svc, &q.r, &g_raw, &g_api)), rc, api, needle,
                   "aecs_service_init", __FILE__, line);
    req_free(&q);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_UNINITIALIZED);
}

static void test_init_refused(void **state)
{
    struct fx *f = *state;
    struct tkey *other = fx_key(f, "other");
    char rsa_path[256], *rsa_pem, *body;
    size_t size = 0;
    struct treq q;

    body = body_init(f->admin.pem, 3, 2);
    /* Signed by another key, which the header names: not the body's key. */
    expect_init_refused(f, other, NULL, body, AECS_E_UNTRUSTED, API_UNAUTHENTICATED,
                        "X-Aecs-Key is not the id of the key in the body", __LINE__);
    /* The header names the body's key, but another key signed. */
    expect_init_refused(f, other, f->admin.id, body, AECS_E_BAD_SIGNATURE, API_UNAUTHENTICATED,
                        "signature does not verify", __LINE__);
    /* No signature at all. */
    req_unsigned(&q, "POST", "/v1/admin/init", body);
    EXPECT_REFUSED(aecs_service_init(f->svc, &q.r, &g_raw, &g_api), AECS_E_USAGE,
                   API_UNAUTHENTICATED, "must be signed");
    req_free(&q);
    /* Stale. */
    req_build(&q, aecs_service_id(f->svc), &f->admin, NULL, "POST", "/v1/admin/init", body, -301,
              NULL);
    EXPECT_REFUSED(aecs_service_init(f->svc, &q.r, &g_raw, &g_api), AECS_E_EXPIRED,
                   API_STALE_REQUEST, "s away from the server's clock");
    req_free(&q);
    free(body);

    /* Shares and threshold out of range. */
    {
        static const int cases[][2] = {{3, 1}, {3, 0}, {17, 2}, {2, 3}, {3, -2}, {0, 0}};
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            body = body_init(f->admin.pem, cases[i][0], cases[i][1]);
            expect_init_refused(f, &f->admin, NULL, body, AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST,
                                "need 2 <= threshold <= shares <= 16", __LINE__);
            free(body);
        }
    }
    body = body_init_json(
        json_pack("{s:s, s:s, s:i}", "pubkey", f->admin.pem, "shares", "3", "threshold", 2));
    expect_init_refused(f, &f->admin, NULL, body, AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST,
                        "shares and threshold must be integers", __LINE__);
    free(body);

    /* An unknown field. */
    body = jdump(json_pack("{s:s, s:i, s:i, s:s}", "pubkey", f->admin.pem, "shares", 3, "threshold",
                           2, "role", "root"));
    expect_init_refused(f, &f->admin, NULL, body, AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST,
                        "unknown field 'role'", __LINE__);
    free(body);

    /* Not a JSON object; no pubkey. */
    expect_init_refused(f, &f->admin, NULL, "[1]", AECS_E_FORMAT, API_BAD_REQUEST,
                        "not a JSON object", __LINE__);
    body = body_init_json(json_pack("{s:i, s:i}", "shares", 3, "threshold", 2));
    expect_init_refused(f, &f->admin, NULL, body, AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST,
                        "pubkey (a PEM public key) is required", __LINE__);
    free(body);

    /* Not a P-256 key. */
    tu_src_path(rsa_path, sizeof(rsa_path), "tests/data/keys/rsa2048.pub.pem");
    rsa_pem = (char *)tu_read_file(rsa_path, &size);
    body = body_init(rsa_pem, 3, 2);
    expect_init_refused(f, &f->admin, NULL, body, AECS_E_UNSUPPORTED, API_BAD_REQUEST,
                        "init: pubkey: ", __LINE__);
    assert_non_null(strstr(MSG(), "ECDSA P-256"));
    free(body);
    free(rsa_pem);

    /* After all that, the right request still works. */
    fx_init(f, 3, 2);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
}

static void test_init_admin_key_file(void **state)
{
    struct fx *f = *state;
    struct tkey *allowed = fx_key(f, "allowed");
    char *body = body_init(f->admin.pem, 2, 2), prefix[40];

    snprintf(f->init_key, sizeof(f->init_key), "%s/allowed.pub.pem", f->dir);
    f->cfg.init_admin_key_file = f->init_key;
    fx_reopen(f);
    snprintf(prefix, sizeof(prefix), "by key %.16s...", allowed->id);
    expect_init_refused(f, &f->admin, NULL, body, AECS_E_UNTRUSTED, API_FORBIDDEN, prefix,
                        __LINE__);
    free(body);

    /* The key named there may. */
    key_clear(&f->admin);
    f->admin = *allowed;
    memset(allowed, 0, sizeof(*allowed));
    fx_init(f, 2, 2);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
}

/* ========================================================================= */
/* signed requests                                                           */
/* ========================================================================= */

static void expect_auth_refused(struct fx *f, const struct treq *q, int rc, enum aecs_api_code api,
                                const char *needle, int line)
{
    struct aecs_caller c;

    expect_refused(CALL(aecs_service_authenticate(f->svc, &q->r, &c, &g_api)), rc, api, needle,
                   "aecs_service_authenticate", __FILE__, line);
}

static void test_signed_requests_refused(void **state)
{
    struct fx *f = *state;
    struct tkey *stranger = fx_key(f, "stranger");
    const char *target = "/v1/admin/services";
    char *body = body_register("service1", stranger->pem);
    struct treq q;
    struct aecs_caller c;

    fx_init(f, 2, 2);

    /* Each header missing. */
    for (int i = 0; i < 4; i++) {
        fx_sign(f, &q, &f->admin, "POST", target, body);
        if (i == 0)
            q.r.key_id = NULL;
        else if (i == 1)
            q.r.timestamp = NULL;
        else if (i == 2)
            q.r.nonce = NULL;
        else
            q.r.signature = NULL;
        expect_auth_refused(f, &q, AECS_E_USAGE, API_UNAUTHENTICATED, "must be signed", __LINE__);
        req_free(&q);
    }

    /* Malformed key id, nonce, timestamp, signature. */
    {
        static const struct {
            int field; /* 0 key id, 1 nonce, 2 timestamp, 3 signature */
            const char *value;
            const char *needle;
        } cases[] = {
            {0, "0af213ca5258b339c2d66355a52123edfbcc167faea8237c0a2b29489c834a2", "X-Aecs-Key"},
            {0, "0AF213CA5258B339C2D66355A52123EDFBCC167FAEA8237C0A2B29489C834A29", "X-Aecs-Key"},
            {0, "", "X-Aecs-Key"},
            {1, "00112233445566778899aabbccddeef", "X-Aecs-Nonce"},
            {1, "00112233445566778899AABBCCDDEEFF", "X-Aecs-Nonce"},
            {1, "00112233445566778899aabbccddeeffaa", "X-Aecs-Nonce"},
            {2, "12x", "X-Aecs-Timestamp is not Unix seconds"},
            {2, "-5", "X-Aecs-Timestamp is not Unix seconds"},
            {2, " 5", "X-Aecs-Timestamp is not Unix seconds"},
            {2, "", "X-Aecs-Timestamp is not Unix seconds"},
            {2, "99999999999999999999", "X-Aecs-Timestamp is not Unix seconds"},
            {3, "not base64!", "X-Aecs-Signature is not base64"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            fx_sign(f, &q, &f->admin, "POST", target, body);
            if (cases[i].field == 0)
                q.r.key_id = cases[i].value;
            else if (cases[i].field == 1)
                q.r.nonce = cases[i].value;
            else if (cases[i].field == 2)
                q.r.timestamp = cases[i].value;
            else
                q.r.signature = cases[i].value;
            expect_auth_refused(f, &q, AECS_E_FORMAT, API_UNAUTHENTICATED, cases[i].needle,
                                __LINE__);
            req_free(&q);
        }
    }

    /* Stale, both ways (the boundary is 300 s; see check_skew). */
    req_build(&q, aecs_service_id(f->svc), &f->admin, NULL, "POST", target, body, -301, NULL);
    expect_auth_refused(f, &q, AECS_E_EXPIRED, API_STALE_REQUEST, "s away from the server's clock",
                        __LINE__);
    req_free(&q);
    wait_next_second(); /* so the server's clock reads the same second as ours below */
    req_build(&q, aecs_service_id(f->svc), &f->admin, NULL, "POST", target, body, 301, NULL);
    expect_auth_refused(f, &q, AECS_E_EXPIRED, API_STALE_REQUEST, "s away from the server's clock",
                        __LINE__);
    req_free(&q);

    /* A key the service does not know. */
    fx_sign(f, &q, stranger, "POST", target, body);
    expect_auth_refused(f, &q, AECS_E_UNTRUSTED, API_UNAUTHENTICATED,
                        "is not registered with this service", __LINE__);
    req_free(&q);

    /* The admin's key id, another key's signature. */
    req_build(&q, aecs_service_id(f->svc), stranger, f->admin.id, "POST", target, body, 0, NULL);
    expect_auth_refused(f, &q, AECS_E_BAD_SIGNATURE, API_UNAUTHENTICATED,
                        "signature does not verify", __LINE__);
    req_free(&q);

    /* The body changed after signing. */
    fx_sign(f, &q, &f->admin, "POST", target, body);
    strstr(q.body, "service1")[7] = '9';
    expect_auth_refused(f, &q, AECS_E_BAD_SIGNATURE, API_UNAUTHENTICATED,
                        "signature does not verify", __LINE__);
    req_free(&q);

    /* The target changed after signing. */
    fx_sign(f, &q, &f->admin, "DELETE", "/v1/admin/services/service1", NULL);
    snprintf(q.target, sizeof(q.target), "/v1/admin/services/service1?force=1");
    expect_auth_refused(f, &q, AECS_E_BAD_SIGNATURE, API_UNAUTHENTICATED,
                        "signature does not verify", __LINE__);
    req_free(&q);

    /* The method changed after signing. */
    fx_sign(f, &q, &f->admin, "GET", "/v1/admin/services", NULL);
    q.r.method = "DELETE";
    expect_auth_refused(f, &q, AECS_E_BAD_SIGNATURE, API_UNAUTHENTICATED,
                        "signature does not verify", __LINE__);
    req_free(&q);

    /* Signed for another service (a test server, say). */
    req_build(&q, "00000000000000000000000000000001", &f->admin, NULL, "POST", target, body, 0,
              NULL);
    expect_auth_refused(f, &q, AECS_E_BAD_SIGNATURE, API_UNAUTHENTICATED,
                        "signature does not verify", __LINE__);
    /* A refused request's nonce is not remembered: the same nonce, rightly signed, passes. */
    {
        char nonce[AECS_REQSIG_NONCE_HEX + 1];
        memcpy(nonce, q.nonce, sizeof(nonce));
        req_free(&q);
        req_build(&q, aecs_service_id(f->svc), &f->admin, NULL, "POST", target, body, 0, nonce);
        EXPECT_OK(aecs_service_authenticate(f->svc, &q.r, &c, &g_api));
        assert_int_equal(c.role, AECS_ROLE_CLUSTER_ADMIN);
        assert_string_equal(c.key_id, f->admin.id);
        /* ... and now it is: the same request again is a replay. */
        expect_auth_refused(f, &q, AECS_E_MISMATCH, API_REPLAYED_REQUEST, "already used", __LINE__);
        req_free(&q);
        /* Another request with that nonce, too. */
        req_build(&q, aecs_service_id(f->svc), &f->admin, NULL, "GET", target, NULL, 0, nonce);
        expect_auth_refused(f, &q, AECS_E_MISMATCH, API_REPLAYED_REQUEST, "already used", __LINE__);
        req_free(&q);
    }

    /* The same request twice. */
    fx_sign(f, &q, &f->admin, "POST", target, body);
    EXPECT_OK(aecs_service_authenticate(f->svc, &q.r, &c, &g_api));
    expect_auth_refused(f, &q, AECS_E_MISMATCH, API_REPLAYED_REQUEST, "already used", __LINE__);
    req_free(&q);
    free(body);
}

/* ========================================================================= */
/* unseal                                                                    */
/* ========================================================================= */

static void expect_received(struct fx *f, long long received)
{
    json_t *st = fx_status(f);

    assert_string_equal(tu_json_str(st, "state"), "sealed");
    assert_int_equal(tu_json_int(st, "unseal.received"), received);
}

static void test_unseal(void **state)
{
    struct fx *f = *state;
    struct fx *g = fx_new();
    struct treq q;
    char *wrong;

    fx_init(f, 3, 2);
    fx_init(g, 3, 2);
    fx_reopen(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);

    /* A share of another init, first or later. */
    EXPECT_REFUSED(fx_unseal_text(f, g->shares[0]), AECS_E_INVALID_ARGUMENT, API_BAD_SHARE,
                   "is from another split");
    expect_received(f, 0);

    /* One share of two. */
    EXPECT_OK(fx_unseal(f, 0));
    assert_string_equal(tu_json_str(g_ans, "state"), "sealed");
    assert_int_equal(tu_json_int(g_ans, "received"), 1);
    assert_int_equal(tu_json_int(g_ans, "threshold"), 2);
    expect_received(f, 1);

    /* The same share again. */
    EXPECT_REFUSED(fx_unseal(f, 0), AECS_E_INVALID_ARGUMENT, API_BAD_SHARE,
                   "share 1 was already given");
    expect_received(f, 1);

    EXPECT_REFUSED(fx_unseal_text(f, g->shares[1]), AECS_E_INVALID_ARGUMENT, API_BAD_SHARE,
                   "is from another split");
    expect_received(f, 1);
    fx_delete(g);

    /* A share with a valid checksum and the wrong data: refused by the init's commitment. */
    wrong = share_with_other_data(f->shares[1]);
    EXPECT_REFUSED(fx_unseal_text(f, wrong), AECS_E_BAD_SIGNATURE, API_BAD_SHARE,
                   "this is not share 2 of this service: it does not match the commitment");
    expect_received(f, 1);
    free(wrong);

    /* Not a share; not the right body. */
    EXPECT_REFUSED(fx_unseal_text(f, "hello"), AECS_E_FORMAT, API_BAD_SHARE, "share 2");
    req_unsigned(&q, "POST", "/v1/admin/unseal", "{\"share_sealed\": 5}");
    EXPECT_REFUSED(aecs_service_unseal(f->svc, &q.r, &g_ans, &g_api), AECS_E_FORMAT,
                   API_BAD_REQUEST, "share_sealed: must be an object");
    req_free(&q);
    req_unsigned(&q, "POST", "/v1/admin/unseal", "share");
    EXPECT_REFUSED(aecs_service_unseal(f->svc, &q.r, &g_ans, &g_api), AECS_E_FORMAT,
                   API_BAD_REQUEST, "unseal request: not valid JSON (line 1, column");
    req_free(&q);
    expect_received(f, 1);

    /* The right share. */
    EXPECT_OK(fx_unseal(f, 2));
    assert_string_equal(tu_json_str(g_ans, "state"), "working");
    assert_int_equal(tu_json_int(g_ans, "received"), 2);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);

    /* Working: more shares change nothing. */
    EXPECT_OK(fx_unseal(f, 1));
    assert_string_equal(tu_json_str(g_ans, "state"), "working");

    /* And the root key is the right one: the records open. */
    EXPECT_OK(fx_register(f, "service1", fx_key(f, "s1")->pem));
}

/* Unseal request sent as body: refused with rc, api and needle. */
static void expect_unseal_body_refused(struct fx *f, const char *body, int rc,
                                       enum aecs_api_code api, const char *needle, int line)
{
    struct treq q;

    req_unsigned(&q, "POST", "/v1/admin/unseal", body);
    expect_refused(CALL(aecs_service_unseal(f->svc, &q.r, &g_ans, &g_api)), rc, api, needle,
                   "aecs_service_unseal", __FILE__, line);
    req_free(&q);
}

/*
 * Shares reach the service only sealed to its identity key, for its service
 * id (docs/protocol-release.md section 7): a share in clear, one sealed for
 * another service or another start of the service, a changed envelope, and
 * one given before (a replay, even after a reset) are refused.
 */
static void test_unseal_sealed(void **state)
{
    struct fx *f = *state;
    char *body, *first, clear[256];
    uint8_t old_pub[AECS_P256_PUB_SIZE];
    static const enum tamper tampers[] = {T_CIPHERTEXT, T_TAG, T_IV};

    fx_init(f, 3, 2);
    fx_reopen(f);

    /* In clear, as an old client sends it: refused with its own code, never taken. */
    snprintf(clear, sizeof(clear), "{\"share\": \"%s\"}", f->shares[0]);
    expect_unseal_body_refused(f, clear, AECS_E_UNSUPPORTED, API_SHARE_NOT_SEALED,
                               "a share sent in clear is refused", __LINE__);
    assert_non_null(strstr(MSG(), "use a current `aecs admin unseal`"));
    assert_null(strstr(MSG(), f->shares[0] + 14));
    expect_received(f, 0);

    /* Sealed for another service id. */
    body = body_share_to(f->svc->identity_pub, "0123456789abcdef0123456789abcdef", f->shares[0]);
    expect_unseal_body_refused(f, body, AECS_E_BAD_SIGNATURE, API_BAD_SHARE,
                               "does not open with this aecsd's identity key", __LINE__);
    free(body);

    /* Sealed to the identity key of the previous start. */
    memcpy(old_pub, f->svc->identity_pub, sizeof(old_pub));
    fx_reopen(f);
    assert_memory_not_equal(old_pub, f->svc->identity_pub, sizeof(old_pub));
    body = body_share_to(old_pub, aecs_service_id(f->svc), f->shares[0]);
    expect_unseal_body_refused(f, body, AECS_E_BAD_SIGNATURE, API_BAD_SHARE,
                               "another start of aecsd", __LINE__);
    free(body);

    /* Changed on the way. */
    for (size_t i = 0; i < sizeof(tampers) / sizeof(tampers[0]); i++) {
        body = body_sealed(f->svc->identity_pub, aecs_service_id(f->svc), f->shares[0],
                           tampers[i], AECS_UNSEAL_REQUEST_SEALED);
        expect_unseal_body_refused(f, body, AECS_E_BAD_SIGNATURE, API_BAD_SHARE,
                                   "changed on the way", __LINE__);
        free(body);
    }
    expect_received(f, 0);

    /* Malformed requests. */
    expect_unseal_body_refused(f, "{\"reset\": false}", AECS_E_FORMAT, API_BAD_REQUEST,
                               "\"reset\" must be true", __LINE__);
    expect_unseal_body_refused(f, "{\"reset\": true}", AECS_E_FORMAT, API_BAD_REQUEST,
                               "a reset must carry a sealed share", __LINE__);
    expect_unseal_body_refused(f, "{\"share_sealed\": {}, \"reset\": true}", AECS_E_FORMAT,
                               API_BAD_REQUEST, "share_sealed", __LINE__);
    expect_unseal_body_refused(f, "{}", AECS_E_FORMAT, API_BAD_REQUEST,
                               "must hold \"share_sealed\"", __LINE__);
    expect_unseal_body_refused(f, "{\"share_sealed\": {\"epk\": \"04\"}}", AECS_E_FORMAT,
                               API_BAD_REQUEST, "share_sealed", __LINE__);
    expect_unseal_body_refused(f, "{\"shares\": []}", AECS_E_FORMAT, API_BAD_REQUEST,
                               "unknown member \"shares\"", __LINE__);
    /* Sealed right, but not a share. */
    body = body_share(f->svc, "hello");
    expect_unseal_body_refused(f, body, AECS_E_FORMAT, API_BAD_SHARE, "share 1", __LINE__);
    free(body);

    /* The right one; then the same envelope again, and again after a reset: a replay. */
    first = body_share(f->svc, f->shares[0]);
    {
        struct treq q;
        req_unsigned(&q, "POST", "/v1/admin/unseal", first);
        EXPECT_OK(aecs_service_unseal(f->svc, &q.r, &g_ans, &g_api));
        req_free(&q);
    }
    expect_received(f, 1);
    expect_unseal_body_refused(f, first, AECS_E_INVALID_ARGUMENT, API_BAD_SHARE, "a replay",
                               __LINE__);
    {
        struct treq q;
        char *reset = body_reset(f->svc, f->shares[1]);
        req_unsigned(&q, "POST", "/v1/admin/unseal", reset);
        EXPECT_OK(aecs_service_unseal(f->svc, &q.r, &g_ans, &g_api));
        req_free(&q);
        free(reset);
    }
    expect_received(f, 0);
    expect_unseal_body_refused(f, first, AECS_E_INVALID_ARGUMENT, API_BAD_SHARE, "a replay",
                               __LINE__);
    expect_received(f, 0);
    free(first);

    /* Sealed afresh, the same share is welcome. */
    EXPECT_OK(fx_unseal(f, 0));
    EXPECT_OK(fx_unseal(f, 1));
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
}

/* Sends body to unseal; returns the call's result. */
static int fx_unseal_body(struct fx *f, const char *body)
{
    struct treq q;
    int rc;

    req_unsigned(&q, "POST", "/v1/admin/unseal", body);
    reset_call();
    rc = aecs_service_unseal(f->svc, &q.r, &g_ans, &g_api);
    req_free(&q);
    return rc;
}

/*
 * A reset proves that the caller holds a share (docs/protocol-release.md
 * section 7): without one, or with a share that is not one of the service's,
 * nothing is reset; a good one drops the progress and is not counted itself;
 * its envelope does not reset twice; only a sealed service takes a reset.
 */
static void test_unseal_reset(void **state)
{
    struct fx *f = *state;
    struct fx *g = fx_new();
    char *body, *good, *wrong;

    /* Uninitialized: nothing to reset, whatever the body (and no id to seal it for). */
    body = body_sealed(f->svc->identity_pub, "0123456789abcdef0123456789abcdef", "hello", T_NONE,
                       AECS_UNSEAL_REQUEST_RESET);
    EXPECT_REFUSED(fx_unseal_body(f, body), AECS_E_USAGE, API_NOT_INITIALIZED,
                   "the service is not initialized");
    free(body);

    fx_init(f, 3, 3);
    fx_init(g, 3, 3);
    fx_reopen(f);
    EXPECT_OK(fx_unseal(f, 0));
    EXPECT_OK(fx_unseal(f, 1));
    expect_received(f, 2);

    /* The bare reset of older clients proves nothing. */
    EXPECT_REFUSED(fx_unseal_body(f, "{\"reset\": true}"), AECS_E_FORMAT, API_BAD_REQUEST,
                   "unseal request: a reset must carry a sealed share (\"share_sealed\"), which "
                   "proves that the caller holds one of the service's shares");
    expect_received(f, 2);

    /* Shares that are not this service's: refused, and the progress kept. */
    wrong = share_with_other_data(f->shares[2]);
    body = body_reset(f->svc, wrong);
    EXPECT_REFUSED(fx_unseal_body(f, body), AECS_E_BAD_SIGNATURE, API_BAD_SHARE,
                   "this is not share 3 of this service: it does not match the commitment");
    free(body);
    free(wrong);
    expect_received(f, 2);
    body = body_reset(f->svc, g->shares[2]);
    EXPECT_REFUSED(fx_unseal_body(f, body), AECS_E_INVALID_ARGUMENT, API_BAD_SHARE,
                   "this share is from another split than this service's shares");
    free(body);
    expect_received(f, 2);
    body = body_reset(f->svc, "hello");
    EXPECT_REFUSED(fx_unseal_body(f, body), AECS_E_FORMAT, API_BAD_SHARE, "share 3");
    free(body);
    expect_received(f, 2);
    body = body_sealed(f->svc->identity_pub, "0123456789abcdef0123456789abcdef", f->shares[2],
                       T_NONE, AECS_UNSEAL_REQUEST_RESET);
    EXPECT_REFUSED(fx_unseal_body(f, body), AECS_E_BAD_SIGNATURE, API_BAD_SHARE,
                   "does not open with this aecsd's identity key");
    free(body);
    body = body_sealed(f->svc->identity_pub, aecs_service_id(f->svc), f->shares[2], T_TAG,
                       AECS_UNSEAL_REQUEST_RESET);
    EXPECT_REFUSED(fx_unseal_body(f, body), AECS_E_BAD_SIGNATURE, API_BAD_SHARE,
                   "changed on the way");
    free(body);
    expect_received(f, 2);

    /* A good share, here one given before: the progress is dropped, the share not counted. */
    good = body_reset(f->svc, f->shares[0]);
    EXPECT_OK(fx_unseal_body(f, good));
    assert_string_equal(tu_json_str(g_ans, "state"), "sealed");
    assert_int_equal(tu_json_int(g_ans, "received"), 0);
    assert_int_equal(tu_json_int(g_ans, "threshold"), 3);
    expect_received(f, 0);

    /* Share 1 again is welcome now; the reset's envelope again is a replay. */
    EXPECT_OK(fx_unseal(f, 1));
    expect_received(f, 1);
    EXPECT_REFUSED(fx_unseal_body(f, good), AECS_E_INVALID_ARGUMENT, API_BAD_SHARE,
                   "this sealed share was given to this aecsd before (a replay)");
    expect_received(f, 1);
    free(good);

    /* The proving share (sealed afresh) counts once given. */
    EXPECT_OK(fx_unseal(f, 2));
    expect_received(f, 2);
    EXPECT_OK(fx_unseal(f, 0));
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);

    /* Working: there is no progress to reset, and a reset changes nothing. */
    body = body_reset(f->svc, f->shares[0]);
    EXPECT_REFUSED(fx_unseal_body(f, body), AECS_E_USAGE, API_CONFLICT,
                   "the service is working: there is no unseal progress to reset; send the "
                   "reset to a sealed replica");
    free(body);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
    EXPECT_OK(fx_register(f, "service1", fx_key(f, "s1")->pem));
    fx_delete(g);
}

/* A store initialized before /meta/init named the share set still unseals. */
static void test_unseal_store_without_set(void **state)
{
    struct fx *f = *state;
    struct fx *g = fx_new();
    struct aecs_store *st;
    struct aecs_store_value v = {0};
    json_t *meta;
    char *text;

    fx_init(f, 3, 2);
    fx_init(g, 3, 2);
    fx_close(f);
    st = store_open(f);
    assert_int_equal(aecs_store_get(st, "/meta/init", &v), AECS_OK);
    meta = json_loadb((const char *)v.data, v.size, 0, NULL);
    assert_non_null(meta);
    assert_int_equal(json_object_del(meta, "set"), 0);
    assert_int_equal(json_object_del(meta, "commitments"), 0);
    text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    assert_int_equal(aecs_store_put(st, "/meta/init", text, strlen(text), AECS_STORE_ANY, NULL),
                     AECS_OK);
    free(text);
    json_decref(meta);
    aecs_store_value_free(&v);
    aecs_store_free(st);

    fx_open(f);
    EXPECT_OK(fx_unseal(f, 1));
    /* Without the set in the store, a foreign share is still caught against the first. */
    EXPECT_REFUSED(fx_unseal_text(f, g->shares[0]), AECS_E_INVALID_ARGUMENT, API_BAD_SHARE,
                   "is from another split");
    /* Without commitments, a wrong share is found when the shares are combined. */
    {
        char *wrong = share_with_other_data(f->shares[0]);
        EXPECT_REFUSED(fx_unseal_text(f, wrong), AECS_E_BAD_SIGNATURE, API_BAD_SHARE,
                       "does not combine");
        free(wrong);
    }
    expect_received(f, 1);
    EXPECT_OK(fx_unseal(f, 0));
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
    fx_delete(g);
}

/* ========================================================================= */
/* auto-unseal                                                               */
/* ========================================================================= */

static void flip_file_byte(const char *path, size_t offset)
{
    size_t size = 0;
    uint8_t *data = tu_read_file(path, &size);

    assert_true(offset < size);
    data[offset] ^= 0x01;
    tu_write_file(path, data, size);
    free(data);
}

static void test_auto_unseal_sim(void **state)
{
    struct fx *f = *state;
    char sealed[256];
    json_t *insecure;

    f->cfg.auto_unseal = AECS_AUTO_UNSEAL_SIM_INSECURE;
    fx_reopen(f);
    insecure = json_object_get(fx_status(f), "insecure");
    assert_int_equal(json_array_size(insecure), 1);
    assert_true(array_has_string(insecure, "sim-auto-unseal"));

    fx_init(f, 3, 2);
    snprintf(sealed, sizeof(sealed), "%s/sealed-root-key", f->data);
    assert_true(access(sealed, F_OK) == 0);

    /* Restarted: working at once, with the right root key. */
    fx_reopen(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
    assert_true(array_has_string(json_object_get(fx_status(f), "insecure"), "sim-auto-unseal"));
    EXPECT_OK(fx_register(f, "service1", fx_key(f, "s1")->pem));

    /* A damaged sealed copy: sealed, and the shares still work. */
    fx_close(f);
    flip_file_byte(sealed, 20);
    fx_open(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    EXPECT_OK(fx_unseal(f, 2));
    EXPECT_OK(fx_unseal(f, 0));
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);

    /* Unsealing sealed it again. */
    fx_reopen(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
}

/* ---- the service id, bound to the root key ---- */

/* The exact refusal of a root key whose service id is not the store's. */
#define ID_MISMATCH                                                                                \
    "the store's service id (/meta/id) does not belong to this root key: the store was changed, " \
    "or mixed with another service's; the service stays sealed"

/* The root key f's first k shares give (checked against f's stored check value). */
static struct aecs_kek *fx_kek(struct fx *f, size_t k)
{
    struct aecs_kek *kek = NULL;

    assert_int_equal(aecs_shares_combine((const char *const *)f->shares, k, f->svc->check, &kek),
                     AECS_OK);
    return kek;
}

/*
 * The derivation against a vector made outside the code under test:
 *   openssl kdf -keylen 16 -kdfopt digest:SHA256 -kdfopt info:aecs-service-id-v1 \
 *     -kdfopt hexkey:000102...1f HKDF
 * (OpenSSL 3.0's command; Python's hmac module gives the same RFC 5869 bytes).
 */
static void test_service_id_vector(void **state)
{
    uint8_t raw[AECS_KEK_SIZE];
    struct aecs_kek *kek = NULL;
    char id[AECS_KEK_SERVICE_ID_HEX + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)i;
    assert_int_equal(aecs_kek_from_bytes(raw, &kek), AECS_OK);
    assert_int_equal(aecs_kek_service_id(kek, id), AECS_OK);
    assert_string_equal(id, "498e7130cf4bbfedd952167b9dc2b9d8");
    aecs_kek_free(kek);
}

/*
 * The id is made at init from the root key, written with /meta/init, and the
 * same after a restart, an unseal, and on another replica of the store.
 */
static void test_service_id_of_root_key(void **state)
{
    struct fx *f = *state;
    struct aecs_service *other = NULL;
    struct aecs_service_config cfg;
    struct aecs_kek *kek;
    char id[33], derived[33], other_data[160], *stored;

    assert_int_equal(store_has(f, "/meta/id"), 0);
    fx_init(f, 3, 2);
    snprintf(id, sizeof(id), "%s", aecs_service_id(f->svc));
    assert_int_equal(strlen(id), 32);
    assert_string_equal(tu_json_str(fx_status(f), "id"), id);
    stored = store_text(f, "/meta/id");
    assert_string_equal(stored, id);
    free(stored);
    kek = fx_kek(f, 2);
    assert_int_equal(aecs_kek_service_id(kek, derived), AECS_OK);
    aecs_kek_free(kek);
    assert_string_equal(derived, id);

    fx_reopen(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    assert_string_equal(aecs_service_id(f->svc), id);
    EXPECT_OK(fx_unseal(f, 2));
    EXPECT_OK(fx_unseal(f, 0));
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
    assert_string_equal(aecs_service_id(f->svc), id);

    /* Another replica of the store: the same id, and it joins with the same key. */
    snprintf(other_data, sizeof(other_data), "%s/data2", f->dir);
    make_dir(other_data);
    cfg = f->cfg;
    cfg.data_dir = other_data;
    svc_open(&cfg, &other);
    assert_int_equal(aecs_service_state(other), AECS_STATE_SEALED);
    assert_string_equal(aecs_service_id(other), id);
    assert_int_equal(aecs_service_join_apply(other, fx_kek(f, 3), "peer"), AECS_OK);
    assert_int_equal(aecs_service_state(other), AECS_STATE_WORKING);
    assert_string_equal(aecs_service_id(other), id);
    aecs_service_free(other);
}

/*
 * The attack: the host keeps /meta/id, puts in a /meta/init of a key of its
 * own (here another service's, made by the real init code) and gives that
 * key's shares. The shares pass their commitments and combine into the key
 * /meta/init checks, but its id is not /meta/id: refused, still sealed, and
 * the shares given are dropped. With its own key's id written as well, the
 * service unseals, under another id, which pinned clients refuse.
 */
static void test_service_id_attack_init_replaced(void **state)
{
    struct fx *f = *state;
    struct fx *g = fx_new();
    char id[33], *other_init, *g_id;

    fx_init(f, 3, 2);
    fx_init(g, 3, 2);
    snprintf(id, sizeof(id), "%s", aecs_service_id(f->svc));
    g_id = strdup(aecs_service_id(g->svc));
    assert_non_null(g_id);
    assert_string_not_equal(id, g_id);
    other_init = store_text(g, "/meta/init");
    fx_close(f);
    store_set_text(f, "/meta/init", other_init);
    fx_open(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    assert_string_equal(aecs_service_id(f->svc), id);

    EXPECT_OK(fx_unseal_text(f, g->shares[0]));
    expect_received(f, 1);
    EXPECT_REFUSED(fx_unseal_text(f, g->shares[1]), AECS_E_BAD_SIGNATURE, API_STORE_DAMAGED,
                   ID_MISMATCH);
    assert_string_equal(MSG(), ID_MISMATCH);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    expect_received(f, 0);
    assert_string_equal(tu_json_str(fx_status(f), "state"), "sealed");
    assert_string_equal(tu_json_str(fx_status(f), "id"), id);
    expect_admin_calls_refused(f, API_SEALED, "the service is sealed");

    /* The same key by join (a peer that serves the other store): refused the same way. */
    {
        struct aecs_kek *kek = NULL;
        assert_int_equal(aecs_shares_combine((const char *const *)g->shares, 2, g->svc->check,
                                             &kek),
                         AECS_OK);
        assert_int_equal(aecs_service_join_apply(f->svc, kek, "peer"), AECS_E_BAD_SIGNATURE);
        assert_string_equal(MSG(), "join: " ID_MISMATCH);
        assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    }

    /* With the other key's id too, it is that other service: not the id pinned. */
    fx_close(f);
    store_set_text(f, "/meta/id", g_id);
    fx_open(f);
    assert_string_equal(aecs_service_id(f->svc), g_id);
    EXPECT_OK(fx_unseal_text(f, g->shares[0]));
    EXPECT_OK(fx_unseal_text(f, g->shares[2]));
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
    assert_string_equal(aecs_service_id(f->svc), g_id);

    free(other_init);
    free(g_id);
    fx_delete(g);
}

/* An initialized store without /meta/id does not open; init refuses a store with only one. */
static void test_service_id_missing_or_alone(void **state)
{
    struct fx *f = *state;
    struct fx *g = fx_new();
    struct aecs_store *st;
    struct aecs_service *svc = NULL;
    char *g_id;

    fx_init(f, 3, 2);
    fx_close(f);
    st = store_open(f);
    assert_int_equal(aecs_store_delete(st, "/meta/id", AECS_STORE_ANY), AECS_OK);
    aecs_store_free(st);
    assert_int_equal(aecs_service_open(&f->cfg, &svc), AECS_E_FORMAT);
    assert_null(svc);
    assert_string_equal(MSG(), "store: /meta/init is there but /meta/id is not: the store was "
                               "changed");

    /* A /meta/id without /meta/init (left over, or put there): init refuses to write over it. */
    fx_close(g);
    g_id = strdup("0123456789abcdef0123456789abcdef");
    store_set_text(g, "/meta/id", g_id);
    fx_open(g);
    assert_int_equal(aecs_service_state(g->svc), AECS_STATE_UNINITIALIZED);
    assert_string_equal(aecs_service_id(g->svc), "");
    {
        struct treq q;
        char *body = body_init(g->admin.pem, 3, 2);
        fx_sign(g, &q, &g->admin, "POST", "/v1/admin/init", body);
        EXPECT_REFUSED(aecs_service_init(g->svc, &q.r, &g_raw, &g_api), AECS_E_MISMATCH,
                       API_CONFLICT,
                       "init: the store holds a service id (/meta/id) but no /meta/init: it is "
                       "left from another service or was changed; init an empty store");
        req_free(&q);
        free(body);
    }
    assert_int_equal(aecs_service_state(g->svc), AECS_STATE_UNINITIALIZED);
    assert_int_equal(store_has(g, "/meta/init"), 0);
    free(g_id);
    fx_delete(g);
}

/*
 * Auto-unseal: a sealed copy of the real root key, wrapped with another id
 * as associated data (whoever holds the sealing key can make one), beside a
 * /meta/id of that other id: it unwraps and matches the check value, but the
 * id is not the key's, so the service stays sealed; so do its shares.
 */
static void test_service_id_auto_unseal(void **state)
{
    struct fx *f = *state;
    char path[256];
    const char *other = "0123456789abcdef0123456789abcdef";
    uint8_t *key_bytes = NULL, blob[AECS_KEK_WRAPPED_SIZE];
    size_t size = 0;
    struct aecs_kek *wrapping = NULL, *kek;

    f->cfg.auto_unseal = AECS_AUTO_UNSEAL_SIM_INSECURE;
    fx_reopen(f);
    fx_init(f, 3, 2);
    kek = fx_kek(f, 2);
    snprintf(path, sizeof(path), "%s/sim-sealing.key", f->data);
    assert_int_equal(aecs_file_read(path, 64, &key_bytes, &size), AECS_OK);
    assert_int_equal(size, AECS_KEK_SIZE);
    assert_int_equal(aecs_kek_from_bytes(key_bytes, &wrapping), AECS_OK);
    free(key_bytes);
    assert_int_equal(aecs_kek_wrap(wrapping, kek, "aecs sealed root key v1", 23, other, 32, blob),
                     AECS_OK);
    aecs_kek_free(wrapping);
    aecs_kek_free(kek);
    fx_close(f);
    snprintf(path, sizeof(path), "%s/sealed-root-key", f->data);
    assert_int_equal(aecs_file_write_atomic(path, blob, sizeof(blob), 0600), AECS_OK);
    store_set_text(f, "/meta/id", other);
    fx_open(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    assert_string_equal(aecs_service_id(f->svc), other);
    EXPECT_OK(fx_unseal(f, 0));
    EXPECT_REFUSED(fx_unseal(f, 1), AECS_E_BAD_SIGNATURE, API_STORE_DAMAGED, ID_MISMATCH);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
}

static void write_gramine_key(struct fx *f, uint8_t fill)
{
    char path[256];
    uint8_t key[16];

    snprintf(path, sizeof(path), "%s/dev", f->tee);
    make_dir(f->tee);
    make_dir(path);
    snprintf(path, sizeof(path), "%s/dev/attestation", f->tee);
    make_dir(path);
    snprintf(path, sizeof(path), "%s/dev/attestation/keys", f->tee);
    make_dir(path);
    snprintf(path, sizeof(path), "%s/dev/attestation/keys/_sgx_mrenclave", f->tee);
    memset(key, fill, sizeof(key));
    tu_write_file(path, key, sizeof(key));
}

static void test_auto_unseal_gramine(void **state)
{
    struct fx *f = *state;

    write_gramine_key(f, 0x11);
    f->cfg.auto_unseal = AECS_AUTO_UNSEAL_GRAMINE;
    f->cfg.attest_root = f->tee;
    fx_reopen(f);
    /* the fake device tree is a test setting, and status says so */
    assert_int_equal(json_array_size(json_object_get(fx_status(f), "insecure")), 1);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(fx_status(f), "insecure"), 0)),
        "attest-root");
    fx_init(f, 3, 2);

    fx_reopen(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
    EXPECT_OK(fx_register(f, "service1", fx_key(f, "s1")->pem));

    /* Another enclave (another sealing key): sealed; shares still work. */
    fx_close(f);
    write_gramine_key(f, 0x22);
    fx_open(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_SEALED);
    EXPECT_OK(fx_unseal(f, 0));
    EXPECT_OK(fx_unseal(f, 1));
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
    fx_reopen(f);
    assert_int_equal(aecs_service_state(f->svc), AECS_STATE_WORKING);
}

/* ========================================================================= */
/* services                                                                  */
/* ========================================================================= */

static void test_services_register(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_key(f, "s1"), *s2 = fx_key(f, "s2");
    char long_name[70];
    char rsa_path[256], *rsa_pem;
    size_t size = 0;
    struct treq q;
    struct aecs_caller c;
    char *body;

    fx_init(f, 2, 2);
    EXPECT_OK(fx_register(f, "service1", s1->pem));
    assert_string_equal(tu_json_str(g_ans, "name"), "service1");
    assert_string_equal(tu_json_str(g_ans, "key_id"), s1->id);

    EXPECT_REFUSED(fx_register(f, "service1", s2->pem), AECS_E_MISMATCH, API_CONFLICT,
                   "service 'service1' is already registered");

    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    {
        const char *bad[] = {"../x", ".x", "", long_name, "a/b"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            EXPECT_REFUSED(fx_register(f, bad[i], s2->pem), AECS_E_INVALID_ARGUMENT,
                           API_BAD_REQUEST, "is not a valid name");
    }

    /* A key has one role. */
    EXPECT_REFUSED(fx_register(f, "service2", f->admin.pem), AECS_E_MISMATCH, API_CONFLICT,
                   "is already registered (an admin key has one role");
    EXPECT_REFUSED(fx_register(f, "service2", s1->pem), AECS_E_MISMATCH, API_CONFLICT,
                   "is already registered (an admin key has one role");

    /* Malformed bodies. */
    tu_src_path(rsa_path, sizeof(rsa_path), "tests/data/keys/rsa2048.pub.pem");
    rsa_pem = (char *)tu_read_file(rsa_path, &size);
    EXPECT_REFUSED(fx_register(f, "service2", rsa_pem), AECS_E_UNSUPPORTED, API_BAD_REQUEST,
                   "pubkey: ");
    free(rsa_pem);
    EXPECT_REFUSED(fx_register(f, "service2", "-----BEGIN PUBLIC KEY-----\n"), AECS_E_FORMAT,
                   API_BAD_REQUEST, "pubkey: ");
    body = jdump(json_pack("{s:s}", "name", "service2"));
    fx_signed(f, &q, &f->admin, "POST", "/v1/admin/services", body, &c);
    EXPECT_REFUSED(aecs_service_service_register(f->svc, &c, &q.r, &g_ans, &g_api),
                   AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST, "pubkey (the service admin's");
    req_free(&q);
    free(body);
    body = jdump(json_pack("{s:s, s:s, s:s}", "name", "service2", "pubkey", s2->pem, "role",
                           "cluster-admin"));
    fx_signed(f, &q, &f->admin, "POST", "/v1/admin/services", body, &c);
    EXPECT_REFUSED(aecs_service_service_register(f->svc, &c, &q.r, &g_ans, &g_api),
                   AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST, "unknown field 'role'");
    req_free(&q);
    free(body);

    /* Only a cluster admin registers or lists services. */
    body = body_register("service2", s2->pem);
    fx_signed(f, &q, s1, "POST", "/v1/admin/services", body, &c);
    assert_int_equal(c.role, AECS_ROLE_SERVICE_ADMIN);
    assert_string_equal(c.service, "service1");
    EXPECT_REFUSED(aecs_service_service_register(f->svc, &c, &q.r, &g_ans, &g_api),
                   AECS_E_UNTRUSTED, API_FORBIDDEN, "only a cluster admin may register services");
    EXPECT_REFUSED(aecs_service_services_list(f->svc, &c, &g_ans, &g_api), AECS_E_UNTRUSTED,
                   API_FORBIDDEN, "only a cluster admin may list services");
    req_free(&q);
    free(body);

    EXPECT_OK(fx_register(f, "service2", s2->pem));
    fx_signed(f, &q, &f->admin, "GET", "/v1/admin/services", NULL, &c);
    EXPECT_OK(aecs_service_services_list(f->svc, &c, &g_ans, &g_api));
    req_free(&q);
    {
        json_t *list = json_object_get(g_ans, "services");
        assert_int_equal(json_array_size(list), 2);
        assert_string_equal(tu_json_str(json_array_get(list, 0), "name"), "service1");
        assert_string_equal(tu_json_str(json_array_get(list, 0), "key_id"), s1->id);
        assert_int_equal(tu_json_int(json_array_get(list, 0), "secrets"), 0);
        assert_non_null(json_object_get(json_array_get(list, 0), "created"));
        assert_string_equal(tu_json_str(json_array_get(list, 1), "name"), "service2");
        assert_string_equal(tu_json_str(json_array_get(list, 1), "key_id"), s2->id);
    }
    assert_int_equal(tu_json_int(fx_status(f), "counts.services"), 2);
    assert_int_equal(tu_json_int(fx_status(f), "counts.admins"), 1);
}

static int fx_unregister(struct fx *f, const struct tkey *k, const char *name, int force)
{
    struct treq q;
    struct aecs_caller c;
    char target[160];
    int rc;

    snprintf(target, sizeof(target), "/v1/admin/services/%s%s", name, force ? "?force=1" : "");
    fx_signed(f, &q, k, "DELETE", target, NULL, &c);
    reset_call();
    rc = aecs_service_service_unregister(f->svc, &c, name, force, &g_ans, &g_api);
    req_free(&q);
    return rc;
}

static void test_services_unregister(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    struct tkey *s1b = fx_key(f, "s1b");
    char *yaml = yaml_doc(
        2,
        yaml_item("service1", "k1", "SECRET_TYPE_AES256_KEY", "private", 0, MRSIGNER_A, NULL, NULL),
        yaml_item("service1", "k2", "SECRET_TYPE_HMAC_KEY", "private", 0, MRSIGNER_A, NULL, NULL));
    struct treq q;

    EXPECT_OK(fx_create(f, s1, yaml, 0, 0));
    free(yaml);

    EXPECT_REFUSED(fx_unregister(f, &f->admin, "service1", 0), AECS_E_MISMATCH, API_CONFLICT,
                   "service 'service1' has 2 secrets");
    EXPECT_OK(fx_list(f, s1, "service1"));
    assert_int_equal(json_array_size(json_object_get(g_ans, "secrets")), 2);
    EXPECT_REFUSED(fx_unregister(f, s1, "service1", 1), AECS_E_UNTRUSTED, API_FORBIDDEN,
                   "only a cluster admin may unregister services");
    EXPECT_REFUSED(fx_unregister(f, &f->admin, "nope", 1), AECS_E_NOT_FOUND, API_NOT_FOUND,
                   "no service 'nope'");
    EXPECT_REFUSED(fx_unregister(f, &f->admin, "../service1", 1), AECS_E_INVALID_ARGUMENT,
                   API_BAD_REQUEST, "is not a valid name");

    EXPECT_OK(fx_unregister(f, &f->admin, "service1", 1));
    assert_string_equal(tu_json_str(g_ans, "name"), "service1");
    assert_int_equal(tu_json_int(g_ans, "secrets_destroyed"), 2);
    assert_int_equal(tu_json_int(fx_status(f), "counts.secrets"), 0);
    assert_int_equal(tu_json_int(fx_status(f), "counts.services"), 0);

    /* The service admin's key went with it. */
    fx_sign(f, &q, s1, "GET", "/v1/services/service1/secrets", NULL);
    expect_auth_refused(f, &q, AECS_E_UNTRUSTED, API_UNAUTHENTICATED, "is not registered",
                        __LINE__);
    req_free(&q);
    EXPECT_REFUSED(fx_list(f, &f->admin, "service1"), AECS_E_NOT_FOUND, API_NOT_FOUND,
                   "no service 'service1'");

    /* Registered again: its secrets are gone. */
    EXPECT_OK(fx_register(f, "service1", s1b->pem));
    EXPECT_OK(fx_list(f, s1b, "service1"));
    assert_int_equal(json_array_size(json_object_get(g_ans, "secrets")), 0);

    /* Without secrets, no force is needed. */
    EXPECT_OK(fx_unregister(f, &f->admin, "service1", 0));
    assert_int_equal(tu_json_int(g_ans, "secrets_destroyed"), 0);
}

/* ========================================================================= */
/* secrets                                                                   */
/* ========================================================================= */

static void test_secrets_seeds_sample(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    char path[256];
    size_t size = 0;
    char *yaml;
    char names[256];
    json_t *rules;

    tu_src_path(path, sizeof(path), "tests/data/policy/seeds_sample.yaml");
    yaml = (char *)tu_read_file(path, &size);

    EXPECT_REFUSED(fx_create(f, s1, yaml, 0, 0), AECS_E_FORMAT, API_INVALID_POLICY,
                   "secrets[0].spec.policy.enclaveMatchAnyRules[0]: this rule names no enclave "
                   "identity");
    assert_non_null(strstr(MSG(), "set mrenclave or mrsigner"));
    assert_non_null(strstr(MSG(), "--insecure-allow-any-enclave"));
    assert_int_equal(tu_json_int(fx_status(f), "counts.secrets"), 0);

    EXPECT_OK(fx_create(f, s1, yaml, 0, 1));
    assert_int_equal(json_array_size(json_object_get(g_ans, "created")), 3);
    assert_true(array_has_string(json_object_get(g_ans, "created"), "data_key_1"));
    assert_true(array_has_string(json_object_get(g_ans, "created"), "data_key_2"));
    assert_true(array_has_string(json_object_get(g_ans, "created"), "image_key"));
    assert_int_equal(json_array_size(json_object_get(g_ans, "updated")), 0);
    free(yaml);

    EXPECT_OK(fx_list(f, s1, "service1"));
    listed_names(g_ans, names, sizeof(names));
    assert_string_equal(names, "data_key_1,data_key_2,image_key");
    rules = tu_json_path(json_array_get(json_object_get(g_ans, "secrets"), 0),
                         "policy.enclaveMatchAnyRules");
    assert_true(
        json_is_true(json_object_get(json_array_get(rules, 0), "insecure_allow_any_enclave")));

    /* data_key_1 is an RSA pkcs8 key with share: public. */
    EXPECT_OK(aecs_service_secret_public(f->svc, "service1", "data_key_1", &g_ans, &g_api));
    assert_string_equal(tu_json_str(g_ans, "type"), "SECRET_TYPE_RSA_KEY_PAIR");
    assert_int_equal(strncmp(tu_json_str(g_ans, "public"), "-----BEGIN PUBLIC KEY-----\n", 27), 0);
}

struct type_case {
    const char *name;
    const char *type;
    const char *share;
    const char *params;
    const char *data;
    const char *pem_header; /* of the public part, or NULL for none */
};

static const struct type_case k_types[] = {
    {"aes", "SECRET_TYPE_AES256_KEY", "private", NULL, NULL, NULL},
    {"rsa", "SECRET_TYPE_RSA_KEY_PAIR", "public", "[{key: pkcs_type, value: pkcs1}]", NULL,
     "-----BEGIN RSA PUBLIC KEY-----\n"},
    {"sm2", "SECRET_TYPE_SM2_KEY_PAIR", "public", NULL, NULL, "-----BEGIN PUBLIC KEY-----\n"},
    {"cert", "SECRET_TYPE_CERTIFICATE", "public",
     "[{key: days, value: 30}, {key: subject, value: \"CN=svc-test,O=aecs\"}]", NULL,
     "-----BEGIN CERTIFICATE-----\n"},
    {"import", "SECRET_TYPE_IMPORT_DATA", "private", NULL, IMPORT_VALUE, NULL},
    {"config", "SECRET_TYPE_CONFIGURATIONS", "private",
     "[{key: db_password, value: \"" CONFIG_VALUE "\"}, {key: db_host, value: db.internal}]", NULL,
     NULL},
    {"ec", "SECRET_TYPE_EC_KEY_PAIR", "public", "[{key: curve, value: P-384}]", NULL,
     "-----BEGIN PUBLIC KEY-----\n"},
    {"ed25519", "SECRET_TYPE_ED25519_KEY_PAIR", "public", NULL, NULL,
     "-----BEGIN PUBLIC KEY-----\n"},
    {"hmac", "SECRET_TYPE_HMAC_KEY", "private", "[{key: byte_length, value: 64}]", NULL, NULL},
};

static void test_secrets_every_type(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    size_t n = sizeof(k_types) / sizeof(k_types[0]);
    char *text;
    size_t i;
    json_t *item;

    for (i = 0; i < n; i++) {
        const struct type_case *t = &k_types[i];
        char *yaml = yaml_doc(1, yaml_item("service1", t->name, t->type, t->share, 0, MRSIGNER_A,
                                           t->params, t->data));
        EXPECT_OK(fx_create(f, s1, yaml, 0, 0));
        assert_true(array_has_string(json_object_get(g_ans, "created"), t->name));
        free(yaml);
    }
    assert_int_equal(tu_json_int(fx_status(f), "counts.secrets"), (long long)n);

    EXPECT_OK(fx_list(f, s1, "service1"));
    assert_string_equal(tu_json_str(g_ans, "service"), "service1");
    assert_int_equal(json_array_size(json_object_get(g_ans, "secrets")), n);
    json_array_foreach(json_object_get(g_ans, "secrets"), i, item)
    {
        const char *name = tu_json_str(item, "name");
        const struct type_case *t = NULL;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(k_types[j].name, name) == 0)
                t = &k_types[j];
        }
        assert_non_null(t);
        assert_string_equal(tu_json_str(item, "type"), t->type);
        assert_string_equal(tu_json_str(item, "service"), "service1");
        assert_string_equal(tu_json_str(item, "share"), t->share);
        assert_non_null(json_object_get(item, "created"));
        assert_null(json_object_get(item, "data"));
        assert_null(json_object_get(item, "private"));
        assert_null(json_object_get(item, "public"));
        assert_null(json_object_get(item, "content_type"));
    }
    text = json_dumps(g_ans, JSON_COMPACT);
    assert_null(strstr(text, "PRIVATE KEY"));
    assert_null(strstr(text, "BEGIN"));
    assert_null(strstr(text, IMPORT_VALUE));
    assert_null(strstr(text, CONFIG_VALUE));
    assert_non_null(strstr(text, "db_password")); /* the key of a configuration is not secret */
    free(text);

    /* Public parts, for share: public only. */
    for (i = 0; i < n; i++) {
        const struct type_case *t = &k_types[i];
        if (t->pem_header == NULL) {
            EXPECT_REFUSED(aecs_service_secret_public(f->svc, "service1", t->name, &g_ans, &g_api),
                           AECS_E_NOT_FOUND, API_NOT_FOUND, "has no public secret");
            continue;
        }
        EXPECT_OK(aecs_service_secret_public(f->svc, "service1", t->name, &g_ans, &g_api));
        assert_string_equal(tu_json_str(g_ans, "service"), "service1");
        assert_string_equal(tu_json_str(g_ans, "name"), t->name);
        assert_string_equal(tu_json_str(g_ans, "type"), t->type);
        assert_string_equal(tu_json_str(g_ans, "content_type"), "application/x-pem-file");
        if (strncmp(tu_json_str(g_ans, "public"), t->pem_header, strlen(t->pem_header)) != 0)
            fail_msg("%s: public part '%.40s' does not start with %s", t->name,
                     tu_json_str(g_ans, "public"), t->pem_header);
        assert_null(strstr(tu_json_str(g_ans, "public"), "PRIVATE"));
    }
    EXPECT_REFUSED(aecs_service_secret_public(f->svc, "service1", "nope", &g_ans, &g_api),
                   AECS_E_NOT_FOUND, API_NOT_FOUND, "has no public secret 'nope'");
    EXPECT_REFUSED(aecs_service_secret_public(f->svc, "nope", "rsa", &g_ans, &g_api),
                   AECS_E_NOT_FOUND, API_NOT_FOUND, "has no public secret");
    EXPECT_REFUSED(aecs_service_secret_public(f->svc, "service1", "../service1", &g_ans, &g_api),
                   AECS_E_INVALID_ARGUMENT, API_BAD_REQUEST, "is not a valid name");
}

static void test_secrets_private_share_public(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    char *yaml = yaml_doc(1, yaml_item("service1", "ec_private", "SECRET_TYPE_EC_KEY_PAIR",
                                       "private", 0, MRSIGNER_A, NULL, NULL));

    EXPECT_OK(fx_create(f, s1, yaml, 0, 0));
    free(yaml);
    EXPECT_REFUSED(aecs_service_secret_public(f->svc, "service1", "ec_private", &g_ans, &g_api),
                   AECS_E_NOT_FOUND, API_NOT_FOUND, "has no public secret 'ec_private'");
}

static void test_secrets_other_service(void **state)
{
    struct fx *f = *state;
    struct tkey *s = fx_key(f, "svc-s"), *t = fx_key(f, "svc-t");
    char *yaml;

    fx_init(f, 2, 2);
    EXPECT_OK(fx_register(f, "svc-s", s->pem));
    EXPECT_OK(fx_register(f, "svc-t", t->pem));

    /* S's admin writes a secret of T. */
    yaml = yaml_aes("svc-t", "planted");
    EXPECT_REFUSED(fx_create(f, s, yaml, 0, 0), AECS_E_UNTRUSTED, API_FORBIDDEN,
                   "secrets[0].spec.service: this key administers service 'svc-s', not 'svc-t'");
    free(yaml);

    /* One good secret of S and one of T: neither is created. */
    yaml = yaml_doc(
        2,
        yaml_item("svc-s", "mine", "SECRET_TYPE_AES256_KEY", "private", 0, MRSIGNER_A, NULL, NULL),
        yaml_item("svc-t", "planted", "SECRET_TYPE_AES256_KEY", "private", 0, MRSIGNER_A, NULL,
                  NULL));
    EXPECT_REFUSED(fx_create(f, s, yaml, 0, 0), AECS_E_UNTRUSTED, API_FORBIDDEN,
                   "secrets[1].spec.service: this key administers service 'svc-s', not 'svc-t'");
    free(yaml);

    /* The cluster admin makes no secrets. */
    yaml = yaml_aes("svc-s", "mine");
    EXPECT_REFUSED(fx_create(f, &f->admin, yaml, 0, 0), AECS_E_UNTRUSTED, API_FORBIDDEN,
                   "a cluster admin may not create secrets");
    free(yaml);

    EXPECT_OK(fx_list(f, &f->admin, "svc-s"));
    assert_int_equal(json_array_size(json_object_get(g_ans, "secrets")), 0);
    EXPECT_OK(fx_list(f, &f->admin, "svc-t"));
    assert_int_equal(json_array_size(json_object_get(g_ans, "secrets")), 0);
    assert_int_equal(tu_json_int(fx_status(f), "counts.secrets"), 0);

    /* Listing and destroying are per service too. */
    yaml = yaml_aes("svc-t", "theirs");
    EXPECT_OK(fx_create(f, t, yaml, 0, 0));
    free(yaml);
    EXPECT_REFUSED(fx_list(f, s, "svc-t"), AECS_E_UNTRUSTED, API_FORBIDDEN,
                   "this key administers service 'svc-s', not 'svc-t'");
    EXPECT_REFUSED(fx_destroy(f, s, "svc-t", "theirs"), AECS_E_UNTRUSTED, API_FORBIDDEN,
                   "this key administers service 'svc-s', not 'svc-t'");
    EXPECT_REFUSED(fx_destroy(f, &f->admin, "svc-t", "theirs"), AECS_E_UNTRUSTED, API_FORBIDDEN,
                   "a cluster admin may not destroy secrets");
    EXPECT_REFUSED(fx_list(f, &f->admin, "nope"), AECS_E_NOT_FOUND, API_NOT_FOUND,
                   "no service 'nope'");
    EXPECT_OK(fx_list(f, t, "svc-t"));
    assert_int_equal(json_array_size(json_object_get(g_ans, "secrets")), 1);
}

static void test_secrets_update(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    char *yaml, *pem, names[128];
    json_t *spec;

    yaml = yaml_doc(2,
                    yaml_item("service1", "signing", "SECRET_TYPE_EC_KEY_PAIR", "public", 0,
                              MRSIGNER_A, "[{key: curve, value: P-256}]", NULL),
                    yaml_item("service1", "frozen", "SECRET_TYPE_AES256_KEY", "private", 1,
                              MRSIGNER_A, NULL, NULL));
    EXPECT_OK(fx_create(f, s1, yaml, 0, 0));

    /* Again without update. */
    EXPECT_REFUSED(fx_create(f, s1, yaml, 0, 0), AECS_E_MISMATCH, API_CONFLICT,
                   "secret 'signing' of service 'service1' already exists");
    free(yaml);
    EXPECT_OK(aecs_service_secret_public(f->svc, "service1", "signing", &g_ans, &g_api));
    pem = strdup(tu_json_str(g_ans, "public"));

    /* Only the rules change: the value stays. */
    yaml = yaml_ec("service1", "signing", MRSIGNER_B);
    EXPECT_OK(fx_create(f, s1, yaml, 1, 0));
    assert_int_equal(json_array_size(json_object_get(g_ans, "created")), 0);
    assert_true(array_has_string(json_object_get(g_ans, "updated"), "signing"));
    free(yaml);
    EXPECT_OK(aecs_service_secret_public(f->svc, "service1", "signing", &g_ans, &g_api));
    assert_string_equal(tu_json_str(g_ans, "public"), pem);
    EXPECT_OK(fx_list(f, s1, "service1"));
    listed_names(g_ans, names, sizeof(names));
    assert_string_equal(names, "frozen,signing");
    spec = json_array_get(json_object_get(g_ans, "secrets"), 1);
    assert_string_equal(
        tu_json_str(json_array_get(tu_json_path(spec, "policy.enclaveMatchAnyRules"), 0),
                    "mrsigner"),
        MRSIGNER_B);

    /* A readonly secret is not updated. */
    yaml = yaml_doc(1, yaml_item("service1", "frozen", "SECRET_TYPE_AES256_KEY", "private", 1,
                                 MRSIGNER_B, NULL, NULL));
    EXPECT_REFUSED(fx_create(f, s1, yaml, 1, 0), AECS_E_MISMATCH, API_CONFLICT,
                   "secret 'frozen' is readonly");
    free(yaml);

    /* Other params would need another value. */
    yaml = yaml_doc(1, yaml_item("service1", "signing", "SECRET_TYPE_EC_KEY_PAIR", "public", 0,
                                 MRSIGNER_A, "[{key: curve, value: P-384}]", NULL));
    EXPECT_REFUSED(fx_create(f, s1, yaml, 1, 0), AECS_E_MISMATCH, API_CONFLICT,
                   "the type, params or data of secret 'signing' changed");
    free(yaml);
    yaml = yaml_doc(1, yaml_item("service1", "signing", "SECRET_TYPE_ED25519_KEY_PAIR", "public", 0,
                                 MRSIGNER_A, NULL, NULL));
    EXPECT_REFUSED(fx_create(f, s1, yaml, 1, 0), AECS_E_MISMATCH, API_CONFLICT,
                   "the type, params or data of secret 'signing' changed");
    free(yaml);

    /* A refused update changed nothing, in any secret of its file. */
    yaml = yaml_doc(2,
                    yaml_item("service1", "signing", "SECRET_TYPE_EC_KEY_PAIR", "public", 0,
                              MRSIGNER_A, "[{key: curve, value: P-256}]", NULL),
                    yaml_item("service1", "frozen", "SECRET_TYPE_AES256_KEY", "private", 1,
                              MRSIGNER_B, NULL, NULL));
    EXPECT_REFUSED(fx_create(f, s1, yaml, 1, 0), AECS_E_MISMATCH, API_CONFLICT, "is readonly");
    free(yaml);
    EXPECT_OK(fx_list(f, s1, "service1"));
    spec = json_array_get(json_object_get(g_ans, "secrets"), 1);
    assert_string_equal(
        tu_json_str(json_array_get(tu_json_path(spec, "policy.enclaveMatchAnyRules"), 0),
                    "mrsigner"),
        MRSIGNER_B);
    EXPECT_OK(aecs_service_secret_public(f->svc, "service1", "signing", &g_ans, &g_api));
    assert_string_equal(tu_json_str(g_ans, "public"), pem);
    free(pem);
}

static void test_secrets_destroy(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    char *yaml = yaml_aes("service1", "data_key_1");
    char names[64];

    EXPECT_OK(fx_create(f, s1, yaml, 0, 0));
    free(yaml);

    /* Names are matched exactly: no prefixes. */
    EXPECT_REFUSED(fx_destroy(f, s1, "service1", "data_key"), AECS_E_NOT_FOUND, API_NOT_FOUND,
                   "service 'service1' has no secret 'data_key'");
    EXPECT_REFUSED(fx_destroy(f, s1, "service1", "data_key_"), AECS_E_NOT_FOUND, API_NOT_FOUND,
                   "has no secret 'data_key_'");
    EXPECT_REFUSED(fx_destroy(f, s1, "service1", "../service1/data_key_1"), AECS_E_INVALID_ARGUMENT,
                   API_BAD_REQUEST, "is not a valid name");
    EXPECT_OK(fx_list(f, s1, "service1"));
    listed_names(g_ans, names, sizeof(names));
    assert_string_equal(names, "data_key_1");

    EXPECT_OK(fx_destroy(f, s1, "service1", "data_key_1"));
    assert_string_equal(tu_json_str(g_ans, "service"), "service1");
    assert_string_equal(tu_json_str(g_ans, "name"), "data_key_1");
    EXPECT_REFUSED(fx_destroy(f, s1, "service1", "data_key_1"), AECS_E_NOT_FOUND, API_NOT_FOUND,
                   "has no secret 'data_key_1'");
    EXPECT_OK(fx_list(f, s1, "service1"));
    assert_int_equal(json_array_size(json_object_get(g_ans, "secrets")), 0);
}

/* ========================================================================= */
/* storage attacks                                                           */
/* ========================================================================= */

#define PATH_A "/k/secrets/service1/a"
#define PATH_B "/k/secrets/service1/b"

/* Every read of secret `name` is refused as a damaged store, answering nothing. */
static void expect_reads_refused(struct fx *f, const struct tkey *k, const char *name,
                                 const char *needle)
{
    char record[128];

    snprintf(record, sizeof(record), "record /k/secrets/service1/%s", name);
    EXPECT_REFUSED(fx_list(f, k, "service1"), AECS_E_BAD_SIGNATURE, API_STORE_DAMAGED, needle);
    EXPECT_REFUSED(aecs_service_secret_public(f->svc, "service1", name, &g_ans, &g_api),
                   AECS_E_BAD_SIGNATURE, API_STORE_DAMAGED, record);
    assert_non_null(strstr(MSG(), needle));
}

static void test_attack_swap_records(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    char *yaml;
    struct aecs_store_value a, b;

    /* One file: both records are written at one generation, so at one version. */
    yaml = yaml_doc(
        2,
        yaml_item("service1", "a", "SECRET_TYPE_EC_KEY_PAIR", "public", 0, MRSIGNER_A, NULL, NULL),
        yaml_item("service1", "b", "SECRET_TYPE_EC_KEY_PAIR", "public", 0, MRSIGNER_A, NULL, NULL));
    EXPECT_OK(fx_create(f, s1, yaml, 0, 0));
    free(yaml);

    /* Give each secret the other's record: only the path bound in it tells. */
    a = store_copy(f, PATH_A);
    b = store_copy(f, PATH_B);
    assert_memory_equal(a.data, b.data, 9); /* format and version (docs/design-keystore.md) */
    store_set(f, PATH_A, &b);
    store_set(f, PATH_B, &a);
    expect_reads_refused(f, s1, "a", "does not authenticate: sealed under another key, path");
    expect_reads_refused(f, s1, "b", "does not authenticate: sealed under another key, path");

    /* Put back, everything opens again. */
    store_set(f, PATH_A, &a);
    store_set(f, PATH_B, &b);
    EXPECT_OK(fx_list(f, s1, "service1"));
    free(a.data);
    free(b.data);
}

static void test_attack_old_record(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    char *yaml;
    struct aecs_store_value old;

    yaml = yaml_ec("service1", "a", MRSIGNER_A);
    EXPECT_OK(fx_create(f, s1, yaml, 0, 0));
    free(yaml);
    old = store_copy(f, PATH_A);

    /* A policy update; then the old record put back (an older policy). */
    yaml = yaml_ec("service1", "a", MRSIGNER_B);
    EXPECT_OK(fx_create(f, s1, yaml, 1, 0));
    free(yaml);
    store_set(f, PATH_A, &old);
    expect_reads_refused(f, s1, "a", "(an older or newer copy");
    free(old.data);
}

static void test_attack_record_of_destroyed_secret(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    char *yaml = yaml_ec("service1", "a", MRSIGNER_A);
    struct aecs_store_value old;
    char *old_pem;

    /* A secret, destroyed, then made again under the same name (a new key). */
    EXPECT_OK(fx_create(f, s1, yaml, 0, 0));
    EXPECT_OK(aecs_service_secret_public(f->svc, "service1", "a", &g_ans, &g_api));
    old_pem = strdup(tu_json_str(g_ans, "public"));
    old = store_copy(f, PATH_A);
    EXPECT_OK(fx_destroy(f, s1, "service1", "a"));
    EXPECT_OK(fx_create(f, s1, yaml, 0, 0));
    free(yaml);
    EXPECT_OK(aecs_service_secret_public(f->svc, "service1", "a", &g_ans, &g_api));
    assert_string_not_equal(tu_json_str(g_ans, "public"), old_pem);

    /* The destroyed secret's record put back must not come back to life. */
    store_set(f, PATH_A, &old);
    expect_reads_refused(f, s1, "a", "(an older or newer copy");
    free(old.data);
    free(old_pem);
}

/* Four audit entries: init, and three services registered. */
static void four_audit_entries(struct fx *f)
{
    fx_init(f, 2, 2);
    EXPECT_OK(fx_register(f, "service1", fx_key(f, "s1")->pem));
    EXPECT_OK(fx_register(f, "service2", fx_key(f, "s2")->pem));
    EXPECT_OK(fx_register(f, "service3", fx_key(f, "s3")->pem));
    EXPECT_OK(fx_audit_verify(f));
    assert_true(json_is_true(json_object_get(g_ans, "ok")));
    assert_int_equal(tu_json_int(g_ans, "entries"), 4);
}

static void expect_audit_broken(struct fx *f, long long first_broken, const char *needle)
{
    EXPECT_OK(fx_audit_verify(f));
    assert_true(json_is_false(json_object_get(g_ans, "ok")));
    assert_int_equal(tu_json_int(g_ans, "entries"), 4);
    assert_int_equal(tu_json_int(g_ans, "first_broken"), first_broken);
    if (strstr(tu_json_str(g_ans, "reason"), needle) == NULL)
        fail_msg("reason '%s' does not contain '%s'", tu_json_str(g_ans, "reason"), needle);
}

static void test_attack_audit_byte(void **state)
{
    struct fx *f = *state;
    struct aecs_store_value v;

    four_audit_entries(f);
    v = store_copy(f, "/audit/00000000000000000003");
    v.data[v.size / 2] ^= 0x01;
    store_set(f, "/audit/00000000000000000003", &v);
    expect_audit_broken(f, 3, "entry 3 does not authenticate");
    EXPECT_REFUSED(fx_audit_list(f, 0, 0), AECS_E_BAD_SIGNATURE, API_STORE_DAMAGED, "audit entry 3");
    free(v.data);

    /* Entry 2 copied to where entry 3 was: the path is bound too. */
    v = store_copy(f, "/audit/00000000000000000002");
    store_set(f, "/audit/00000000000000000003", &v);
    expect_audit_broken(f, 3, "entry 3 does not authenticate");
    free(v.data);
}

static void test_attack_audit_delete(void **state)
{
    struct fx *f = *state;
    struct aecs_store *st;

    four_audit_entries(f);
    st = store_open(f);
    assert_int_equal(aecs_store_delete(st, "/audit/00000000000000000003", AECS_STORE_ANY), AECS_OK);
    aecs_store_free(st);
    expect_audit_broken(f, 3, "entry 3 is missing");

    st = store_open(f);
    assert_int_equal(aecs_store_delete(st, "/audit/00000000000000000004", AECS_STORE_ANY), AECS_OK);
    assert_int_equal(aecs_store_delete(st, "/audit/00000000000000000002", AECS_STORE_ANY), AECS_OK);
    aecs_store_free(st);
    expect_audit_broken(f, 2, "entry 2 is missing");
}

/* Every key and value of the store. */
static struct aecs_store_list store_snapshot(struct fx *f)
{
    struct aecs_store *st = store_open(f);
    struct aecs_store_list l = {0};

    assert_int_equal(aecs_store_list(st, "/", NULL, 0, AECS_STORE_LIST_VALUES, &l), AECS_OK);
    assert_false(l.more);
    aecs_store_free(st);
    return l;
}

/* Puts the whole store back to snapshot l. */
static void store_restore(struct fx *f, const struct aecs_store_list *l)
{
    struct aecs_store *st = store_open(f);
    struct aecs_store_list now = {0};

    assert_int_equal(aecs_store_list(st, "/", NULL, 0, 0, &now), AECS_OK);
    for (size_t i = 0; i < now.count; i++) {
        int kept = 0;
        for (size_t j = 0; j < l->count; j++)
            kept |= strcmp(now.items[i].key, l->items[j].key) == 0;
        if (!kept)
            assert_int_equal(aecs_store_delete(st, now.items[i].key, AECS_STORE_ANY), AECS_OK);
    }
    for (size_t j = 0; j < l->count; j++)
        assert_int_equal(aecs_store_put(st, l->items[j].key, l->items[j].value,
                                        l->items[j].value_size, AECS_STORE_ANY, NULL),
                         AECS_OK);
    aecs_store_list_free(&now);
    aecs_store_free(st);
}

static void test_attack_store_rollback(void **state)
{
    struct fx *f = *state;
    struct tkey *s2 = fx_key(f, "s2");
    struct aecs_store_list old;
    struct treq q;
    struct aecs_caller c;
    json_t *list;

    fx_working_with_service(f); /* generation 2 */
    old = store_snapshot(f);
    EXPECT_OK(fx_register(f, "service2", s2->pem)); /* generation 3 */
    assert_int_equal(tu_json_int(fx_status(f), "generation"), 3);

    /* The whole store rolled back under the running service: it notices. */
    store_restore(f, &old);
    EXPECT_REFUSED(aecs_service_status(f->svc, &g_ans), AECS_E_BAD_SIGNATURE, API_STORE_DAMAGED,
                   "generation 2 is older than 3 seen before (rolled back)");
    fx_sign(f, &q, &f->admin, "GET", "/v1/admin/services", NULL);
    expect_auth_refused(f, &q, AECS_E_BAD_SIGNATURE, API_STORE_DAMAGED, "rolled back", __LINE__);
    req_free(&q);
    {
        struct aecs_caller admin = {.role = AECS_ROLE_CLUSTER_ADMIN};
        char *body = body_register("service3", fx_key(f, "s3")->pem);
        memcpy(admin.key_id, f->admin.id, sizeof(admin.key_id));
        req_unsigned(&q, "POST", "/v1/admin/services", body);
        EXPECT_REFUSED(aecs_service_service_register(f->svc, &admin, &q.r, &g_ans, &g_api),
                       AECS_E_BAD_SIGNATURE, API_STORE_DAMAGED, "rolled back");
        EXPECT_REFUSED(aecs_service_services_list(f->svc, &admin, &g_ans, &g_api),
                       AECS_E_BAD_SIGNATURE, API_STORE_DAMAGED, "rolled back");
        EXPECT_OK(aecs_service_audit_verify(f->svc, &admin, &g_ans, &g_api));
        assert_true(json_is_false(json_object_get(g_ans, "ok")));
        assert_non_null(strstr(tu_json_str(g_ans, "reason"), "rolled back"));
        req_free(&q);
        free(body);
    }

    /*
     * A new process on the rolled-back store cannot tell (docs/design-keystore.md,
     * "What is not detected": the highest generation is not yet kept outside the
     * store). This pins down today's behaviour: it serves generation 2.
     */
    fx_reopen(f);
    EXPECT_OK(fx_unseal(f, 0));
    EXPECT_OK(fx_unseal(f, 1));
    assert_int_equal(tu_json_int(fx_status(f), "generation"), 2);
    fx_signed(f, &q, &f->admin, "GET", "/v1/admin/services", NULL, &c);
    EXPECT_OK(aecs_service_services_list(f->svc, &c, &g_ans, &g_api));
    list = json_object_get(g_ans, "services");
    assert_int_equal(json_array_size(list), 1);
    req_free(&q);
    aecs_store_list_free(&old);
}

/* ========================================================================= */
/* the audit log                                                             */
/* ========================================================================= */

static void expect_entry(const json_t *e, long long seq, const char *action, const char *actor,
                         const char *role, const char *target, const char *result)
{
    const json_t *v;

    assert_int_equal(tu_json_int(e, "seq"), seq);
    assert_string_equal(tu_json_str(e, "action"), action);
    assert_string_equal(tu_json_str(e, "result"), result);
    v = json_object_get(e, "actor");
    if (actor == NULL)
        assert_true(json_is_null(v));
    else
        assert_string_equal(json_string_value(v), actor);
    v = json_object_get(e, "role");
    if (role == NULL)
        assert_true(json_is_null(v));
    else
        assert_string_equal(json_string_value(v), role);
    v = json_object_get(e, "target");
    if (target == NULL)
        assert_true(json_is_null(v));
    else
        assert_string_equal(json_string_value(v), target);
    assert_non_null(json_string_value(json_object_get(e, "time")));
}

static void test_audit_log(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_key(f, "s1");
    char *yaml, *text, hash[65], *body;
    json_t *entries, *e;
    struct treq q;
    struct aecs_caller c;
    size_t i;

    fx_init(f, 3, 2); /* 1 init */
    fx_reopen(f);
    EXPECT_OK(fx_unseal(f, 1));
    EXPECT_OK(fx_unseal(f, 2));                     /* 2 unseal */
    EXPECT_OK(fx_register(f, "service1", s1->pem)); /* 3 service.register */
    yaml = yaml_doc(1, yaml_item("service1", "image_key", "SECRET_TYPE_IMPORT_DATA", "private", 0,
                                 MRSIGNER_A, NULL, IMPORT_VALUE));
    EXPECT_OK(fx_create(f, s1, yaml, 0, 0)); /* 4 secret.create */
    free(yaml);
    /* 5: a refusal, recorded as the server records it. */
    body = body_register("service2", s1->pem);
    fx_signed(f, &q, s1, "POST", "/v1/admin/services", body, &c);
    EXPECT_REFUSED(aecs_service_service_register(f->svc, &c, &q.r, &g_ans, &g_api),
                   AECS_E_UNTRUSTED, API_FORBIDDEN, "only a cluster admin");
    aecs_service_audit_refusal(f->svc, &c, &q.r, MSG());
    req_free(&q);
    free(body);

    EXPECT_OK(fx_audit_list(f, 0, 0));
    entries = json_object_get(g_ans, "entries");
    assert_int_equal(json_array_size(entries), 5);
    assert_true(json_is_null(json_object_get(g_ans, "next")));
    expect_entry(json_array_get(entries, 0), 1, "init", f->admin.id, "cluster-admin", NULL, "ok");
    assert_string_equal(tu_json_str(json_array_get(entries, 0), "detail"), "3 shares, threshold 2");
    expect_entry(json_array_get(entries, 1), 2, "unseal", NULL, NULL, NULL, "ok");
    expect_entry(json_array_get(entries, 2), 3, "service.register", f->admin.id, "cluster-admin",
                 "service1", "ok");
    assert_string_equal(tu_json_str(json_array_get(entries, 2), "detail"), s1->id);
    expect_entry(json_array_get(entries, 3), 4, "secret.create", s1->id, "service-admin",
                 "service1", "ok");
    expect_entry(json_array_get(entries, 4), 5, "POST /v1/admin/services", s1->id, "service-admin",
                 NULL, "refused");
    assert_non_null(
        strstr(tu_json_str(json_array_get(entries, 4), "detail"), "only a cluster admin"));
    assert_string_equal(tu_json_str(json_array_get(entries, 4), "remote"), REMOTE);
    /* Generations: the refusal records the store's generation, it writes no object. */
    assert_int_equal(tu_json_int(json_array_get(entries, 0), "generation"), 1);
    assert_int_equal(tu_json_int(json_array_get(entries, 2), "generation"), 2);
    assert_int_equal(tu_json_int(json_array_get(entries, 3), "generation"), 3);
    assert_int_equal(tu_json_int(json_array_get(entries, 4), "generation"), 3);

    /* The chain: prev is the SHA-256 of the previous entry's compact sorted JSON. */
    strcpy(hash, "0000000000000000000000000000000000000000000000000000000000000000");
    json_array_foreach(entries, i, e)
    {
        char *entry_text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(tu_json_str(e, "prev"), hash);
        sha256_hex(entry_text, hash);
        free(entry_text);
    }

    /* No key material anywhere in it. */
    text = json_dumps(g_ans, JSON_COMPACT);
    for (i = 0; i < f->share_count; i++) {
        char data[64];
        /* the share's data field: between the 4th and 5th ':' */
        const char *p = f->shares[i];
        for (int colons = 0; colons < 4; p++)
            colons += *p == ':';
        snprintf(data, sizeof(data), "%.44s", p);
        assert_null(strstr(text, f->shares[i]));
        assert_null(strstr(text, data));
    }
    assert_null(strstr(text, IMPORT_VALUE));
    assert_null(strstr(text, "PRIVATE"));
    assert_null(strstr(text, "BEGIN"));
    free(text);

    /* Pages. */
    EXPECT_OK(fx_audit_list(f, 2, 2));
    assert_int_equal(json_array_size(json_object_get(g_ans, "entries")), 2);
    assert_int_equal(tu_json_int(json_array_get(json_object_get(g_ans, "entries"), 0), "seq"), 2);
    assert_int_equal(tu_json_int(g_ans, "next"), 4);

    /* Verify; the head is the hash of the last entry. */
    EXPECT_OK(fx_audit_verify(f));
    assert_true(json_is_true(json_object_get(g_ans, "ok")));
    assert_int_equal(tu_json_int(g_ans, "entries"), 5);
    assert_string_equal(tu_json_str(g_ans, "head"), hash);

    /* Only a cluster admin reads it. */
    fx_signed(f, &q, s1, "GET", "/v1/admin/audit", NULL, &c);
    EXPECT_REFUSED(aecs_service_audit_list(f->svc, &c, 0, 0, &g_ans, &g_api), AECS_E_UNTRUSTED,
                   API_FORBIDDEN, "only a cluster admin reads the audit log");
    EXPECT_REFUSED(aecs_service_audit_verify(f->svc, &c, &g_ans, &g_api), AECS_E_UNTRUSTED,
                   API_FORBIDDEN, "only a cluster admin verifies the audit log");
    req_free(&q);
}

/* ========================================================================= */
/* no plaintext in SQLite                                                    */
/* ========================================================================= */

/* Fails when needle is in DIR/store.db or its -wal. */
static void expect_not_stored(struct fx *f, const char *needle)
{
    static const char *const suffixes[] = {"", "-wal"};

    for (size_t i = 0; i < 2; i++) {
        char path[160];
        size_t size = 0;
        uint8_t *data;
        snprintf(path, sizeof(path), "%s%s", f->db, suffixes[i]);
        data = tu_try_read_file(path, &size);
        if (data == NULL)
            continue;
        if (has_bytes(data, size, needle))
            fail_msg("'%.60s' is in %s", needle, path);
        free(data);
    }
}

static void test_no_plaintext_in_store(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    char b64[128];
    char *yaml =
        yaml_doc(3,
                 yaml_item("service1", "image_key", "SECRET_TYPE_IMPORT_DATA", "private", 0,
                           MRSIGNER_A, NULL, IMPORT_VALUE),
                 yaml_item("service1", "settings", "SECRET_TYPE_CONFIGURATIONS", "private", 0,
                           MRSIGNER_A, "[{key: db_password, value: \"" CONFIG_VALUE "\"}]", NULL),
                 yaml_item("service1", "ec", "SECRET_TYPE_EC_KEY_PAIR", "private", 0, MRSIGNER_A,
                           NULL, NULL));
    size_t size = 0;
    uint8_t *db;

    EXPECT_OK(fx_create(f, s1, yaml, 0, 0));
    free(yaml);
    aecs_base64_encode((const uint8_t *)IMPORT_VALUE, strlen(IMPORT_VALUE), b64);

    /* The file is there and holds the store (a sanity check of the search). */
    db = tu_read_file(f->db, &size);
    assert_true(has_bytes(db, size, "SQLite format 3"));
    free(db);

    for (int round = 0; round < 2; round++) {
        expect_not_stored(f, IMPORT_VALUE);
        expect_not_stored(f, b64);
        expect_not_stored(f, CONFIG_VALUE);
        expect_not_stored(f, "PRIVATE KEY");
        expect_not_stored(f, "SecretPolicy");
        expect_not_stored(f, MRSIGNER_A);
        for (size_t i = 0; i < f->share_count; i++)
            expect_not_stored(f, f->shares[i]);
        /* The paths are in clear, which is how the search is known to work. */
        {
            char path[160];
            snprintf(path, sizeof(path), "%s-wal", f->db);
            db = tu_try_read_file(path, &size);
            if (db == NULL || !has_bytes(db, size, "/k/secrets/service1/image_key")) {
                free(db);
                db = tu_read_file(f->db, &size);
            }
            assert_true(has_bytes(db, size, "/k/secrets/service1/image_key"));
            free(db);
        }
        fx_close(f); /* the second round after SQLite checkpointed and closed */
    }
    fx_open(f);
}

/* ========================================================================= */
/* concurrency                                                               */
/* ========================================================================= */

#define WRITERS 4
#define READERS 2

struct writer {
    struct aecs_service *svc;
    pthread_barrier_t *start;
    struct treq q;
    int rc;
    enum aecs_api_code api;
    char msg[512];
};

struct reader {
    struct aecs_service *svc;
    pthread_barrier_t *start;
    atomic_int *stop;
    int runs;
    int failures;
    char msg[512];
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct aecs_caller c;
    json_t *ans = NULL;

    pthread_barrier_wait(w->start);
    w->api = API_OK;
    w->rc = aecs_service_authenticate(w->svc, &w->q.r, &c, &w->api);
    if (w->rc == AECS_OK)
        w->rc = aecs_service_secrets_create(w->svc, &c, &w->q.r, &ans, &w->api);
    if (w->rc != AECS_OK)
        snprintf(w->msg, sizeof(w->msg), "%s", aecs_err_last()->message);
    json_decref(ans);
    return NULL;
}

/* Reads the status in a loop while the writers write: it must never fail. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;

    pthread_barrier_wait(r->start);
    while (!atomic_load(r->stop)) {
        json_t *ans = NULL;
        if (aecs_service_status(r->svc, &ans) != AECS_OK && r->failures++ == 0)
            snprintf(r->msg, sizeof(r->msg), "%s", aecs_err_last()->message);
        json_decref(ans);
        r->runs++;
    }
    return NULL;
}

static void test_concurrent_creates(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    struct writer w[WRITERS];
    struct reader r[READERS];
    pthread_t wt[WRITERS], rt[READERS];
    pthread_barrier_t start;
    atomic_int stop = 0;
    long long generation, entries;

    generation = tu_json_int(fx_status(f), "generation");
    EXPECT_OK(fx_audit_verify(f));
    entries = tu_json_int(g_ans, "entries");

    assert_int_equal(pthread_barrier_init(&start, NULL, WRITERS + READERS), 0);
    memset(r, 0, sizeof(r));
    for (int i = 0; i < READERS; i++) {
        r[i].svc = f->svc;
        r[i].start = &start;
        r[i].stop = &stop;
    }
    for (int i = 0; i < WRITERS; i++) {
        char name[32], *yaml, *body;
        memset(&w[i], 0, sizeof(w[i]));
        snprintf(name, sizeof(name), "key_%d", i);
        yaml = yaml_aes("service1", name);
        body = body_secrets(yaml, 0, 0);
        fx_sign(f, &w[i].q, s1, "POST", "/v1/secrets", body);
        free(body);
        free(yaml);
        w[i].svc = f->svc;
        w[i].start = &start;
    }
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &r[i]), 0);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&wt[i], NULL, writer_main, &w[i]), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(wt[i], NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(rt[i], NULL);
    pthread_barrier_destroy(&start);

    for (int i = 0; i < WRITERS; i++) {
        if (w[i].rc != AECS_OK)
            fail_msg("writer %d: %s (%s): %s", i, aecs_err_name(w[i].rc),
                     aecs_api_code_name(w[i].api), w[i].msg);
        req_free(&w[i].q);
    }
    /*
     * Before the fix in svc_index_load, a status read that raced with commits
     * was now and then taken for a rollback ("generation 2 is older than 5
     * seen before"); this catches that in about one run of ten.
     */
    for (int i = 0; i < READERS; i++) {
        if (r[i].failures > 0)
            fail_msg("status failed %d of %d times while writing: %s", r[i].failures, r[i].runs,
                     r[i].msg);
    }

    assert_int_equal(tu_json_int(fx_status(f), "generation"), generation + WRITERS);
    assert_int_equal(tu_json_int(fx_status(f), "counts.secrets"), WRITERS);
    EXPECT_OK(fx_audit_verify(f));
    assert_true(json_is_true(json_object_get(g_ans, "ok")));
    assert_int_equal(tu_json_int(g_ans, "entries"), entries + WRITERS);
    EXPECT_OK(fx_list(f, s1, "service1"));
    assert_int_equal(json_array_size(json_object_get(g_ans, "secrets")), WRITERS);
}

/* Unseals another service object (a replica) on the fixture's store with shares 0 and 1. */
static struct aecs_service *replica_open_working(struct fx *f)
{
    struct aecs_service *rep = NULL;

    svc_open(&f->cfg, &rep);
    for (size_t i = 0; i < 2; i++) {
        struct treq q;
        char *body = body_share(rep, f->shares[i]);
        req_unsigned(&q, "POST", "/v1/admin/unseal", body);
        reset_call();
        EXPECT_OK(aecs_service_unseal(rep, &q.r, &g_ans, &g_api));
        free(body);
        req_free(&q);
    }
    assert_int_equal(aecs_service_state(rep), AECS_STATE_WORKING);
    return rep;
}

#define NOISE 40

struct noise {
    struct aecs_service *svc;
    pthread_barrier_t *start;
    struct aecs_caller caller;
    struct treq q;
};

/* Appends audit entries on another replica while the writers write. */
static void *noise_main(void *arg)
{
    struct noise *n = arg;

    pthread_barrier_wait(n->start);
    for (int i = 0; i < NOISE; i++)
        aecs_service_audit_refusal(n->svc, &n->caller, &n->q.r, "noise");
    return NULL;
}

/*
 * Three replicas on one store: writers on two of them and audit appends on
 * the third race for the index and the audit head. Every write and every
 * entry must land (the losers run again), and the chain must verify.
 */
static void test_concurrent_replicas(void **state)
{
    struct fx *f = *state;
    struct tkey *s1 = fx_working_with_service(f);
    struct aecs_service *reps[3];
    struct writer w[WRITERS];
    struct noise nz;
    pthread_t wt[WRITERS], nt;
    pthread_barrier_t start;
    long long entries;

    reps[0] = f->svc;
    reps[1] = replica_open_working(f);
    reps[2] = replica_open_working(f);
    EXPECT_OK(fx_audit_verify(f));
    entries = tu_json_int(g_ans, "entries");

    assert_int_equal(pthread_barrier_init(&start, NULL, WRITERS + 1), 0);
    for (int i = 0; i < WRITERS; i++) {
        char name[32], *yaml, *body;
        memset(&w[i], 0, sizeof(w[i]));
        snprintf(name, sizeof(name), "rkey_%d", i);
        yaml = yaml_aes("service1", name);
        body = body_secrets(yaml, 0, 0);
        fx_sign(f, &w[i].q, s1, "POST", "/v1/secrets", body);
        free(body);
        free(yaml);
        w[i].svc = reps[i % 2];
        w[i].start = &start;
    }
    memset(&nz, 0, sizeof(nz));
    nz.svc = reps[2];
    nz.start = &start;
    snprintf(nz.caller.key_id, sizeof(nz.caller.key_id), "%s", s1->id);
    nz.caller.role = AECS_ROLE_SERVICE_ADMIN;
    req_unsigned(&nz.q, "POST", "/v1/secrets", "{}");
    assert_int_equal(pthread_create(&nt, NULL, noise_main, &nz), 0);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&wt[i], NULL, writer_main, &w[i]), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(wt[i], NULL);
    pthread_join(nt, NULL);
    pthread_barrier_destroy(&start);
    req_free(&nz.q);
    for (int i = 0; i < WRITERS; i++) {
        if (w[i].rc != AECS_OK)
            fail_msg("writer %d: %s (%s): %s", i, aecs_err_name(w[i].rc),
                     aecs_api_code_name(w[i].api), w[i].msg);
        req_free(&w[i].q);
    }
    aecs_service_free(reps[1]);
    aecs_service_free(reps[2]);

    assert_int_equal(tu_json_int(fx_status(f), "counts.secrets"), WRITERS);
    EXPECT_OK(fx_audit_verify(f));
    assert_true(json_is_true(json_object_get(g_ans, "ok")));
    assert_int_equal(tu_json_int(g_ans, "entries"), entries + WRITERS + NOISE);
}

/*
 * Nonces in the store (as with etcd): a challenge issued by one replica is
 * consumed once by any, expiry is the stored one, and an admin request
 * accepted by one replica is a replay at the other.
 */
static void test_shared_nonces(void **state)
{
    struct fx *f = *state;
    struct aecs_service *b = NULL;
    uint8_t n1[32], n2[32];
    struct treq q;
    struct aecs_caller c;

    f->cfg.shared_nonces = 1;
    fx_reopen(f);
    fx_init(f, 2, 2);
    b = replica_open_working(f);
    assert_int_equal(getrandom(n1, sizeof(n1), 0), (ssize_t)sizeof(n1));
    assert_int_equal(getrandom(n2, sizeof(n2), 0), (ssize_t)sizeof(n2));
    EXPECT_OK(svc_nonce_issue(f->svc, n1, aecs_time_now() + 60));
    EXPECT_OK(svc_nonce_consume(b, n1));
    assert_int_equal(svc_nonce_consume(f->svc, n1), AECS_E_NOT_FOUND);
    assert_int_equal(svc_nonce_consume(b, n1), AECS_E_NOT_FOUND);
    assert_int_equal(svc_nonce_consume(b, n2), AECS_E_NOT_FOUND); /* never issued */
    EXPECT_OK(svc_nonce_issue(b, n2, aecs_time_now() - 1));
    assert_int_equal(svc_nonce_consume(f->svc, n2), AECS_E_EXPIRED);
    assert_int_equal(svc_nonce_consume(f->svc, n2), AECS_E_NOT_FOUND); /* and gone */

    fx_sign(f, &q, &f->admin, "GET", "/v1/admin/services", NULL);
    reset_call();
    EXPECT_OK(aecs_service_authenticate(f->svc, &q.r, &c, &g_api));
    EXPECT_REFUSED(aecs_service_authenticate(b, &q.r, &c, &g_api), AECS_E_MISMATCH,
                   API_REPLAYED_REQUEST, "already used");
    req_free(&q);
    aecs_service_free(b);
}

/*
 * A nonce's value in the store is its expiry as a replica writes it ("%lld"
 * of a positive number); one the host changed to anything else is malformed,
 * not a time. Each value below was taken as an expiry before (found by
 * fuzz/service_store): a blank or a sign in front, a NUL inside, a leading
 * zero, a number past INT64_MAX (which became the largest time, so the nonce
 * never expired and no sweep removed it).
 */
static void test_nonce_stored_values(void **state)
{
    static const struct {
        const char *value;
        size_t size;
    } bad[] = {
        {" 4102444800", 11},     {"+4102444800", 11},
        {"4102444800\0007", 12}, /* a NUL, then 7 */
        {"04102444800", 11},     {"99999999999999999999", 20},
    };
    struct fx *f = *state;
    int64_t expires = 0;

    f->cfg.shared_nonces = 1;
    fx_reopen(f);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t n[32];
        char hex[65], key[80];

        assert_int_equal(getrandom(n, sizeof(n), 0), (ssize_t)sizeof(n));
        EXPECT_OK(svc_nonce_issue(f->svc, n, aecs_time_now() + 60));
        aecs_hex_encode(n, sizeof(n), hex);
        snprintf(key, sizeof(key), "/nonce/c/%s", hex);
        EXPECT_OK(
            aecs_store_put(f->svc->store, key, bad[i].value, bad[i].size, AECS_STORE_ANY, NULL));
        assert_int_equal(svc_nonce_consume(f->svc, n), AECS_E_FORMAT);
        assert_string_equal(MSG(), "store: a nonce is malformed");
        assert_int_equal(
            svc_nonce_expiry_parse((const uint8_t *)bad[i].value, bad[i].size, &expires),
            AECS_E_FORMAT);
        assert_int_equal(expires, 0);
    }
    /* what a replica writes: 1 to 19 digits, at most INT64_MAX */
    EXPECT_OK(svc_nonce_expiry_parse((const uint8_t *)"9223372036854775807", 19, &expires));
    assert_true(expires == INT64_MAX);
    EXPECT_OK(svc_nonce_expiry_parse((const uint8_t *)"1", 1, &expires));
    assert_true(expires == 1);
    assert_int_equal(svc_nonce_expiry_parse((const uint8_t *)"9223372036854775808", 19, &expires),
                     AECS_E_FORMAT);
    assert_int_equal(svc_nonce_expiry_parse((const uint8_t *)"0", 1, &expires), AECS_E_FORMAT);
    assert_int_equal(svc_nonce_expiry_parse((const uint8_t *)"", 0, &expires), AECS_E_FORMAT);
}

/* A file of n AES keys of service1 named <prefix><i> (names padded to 64 characters). */
static char *yaml_many(const char *prefix, size_t first, size_t n)
{
    char *doc = strdup("apiVersion: v1\nkind: SecretPolicy\nsecrets:\n");

    for (size_t i = first; i < first + n; i++) {
        char name[65];
        snprintf(name, sizeof(name), "%s%0*zu", prefix, (int)(64 - strlen(prefix)), i);
        char *item = yaml_item("service1", name, "SECRET_TYPE_AES256_KEY", "private", 0,
                               MRSIGNER_A, NULL, NULL);
        char *next = xasprintf("%s%s", doc, item);
        free(doc);
        free(item);
        doc = next;
    }
    return doc;
}

/* One service holds at most max_secrets_per_service secrets; updates and destroys still work. */
static void test_secrets_quota(void **state)
{
    struct fx *f = *state;
    struct tkey *s1;
    char *two, *more, *one;

    fx_close(f);
    f->cfg.max_secrets_per_service = 3;
    fx_open(f);
    s1 = fx_working_with_service(f);
    two = yaml_many("q", 0, 2);
    more = yaml_many("q", 2, 2);
    one = yaml_many("q", 2, 1);
    EXPECT_OK(fx_create(f, s1, two, 0, 0));
    EXPECT_REFUSED(fx_create(f, s1, more, 0, 0), AECS_E_TOO_LARGE, API_QUOTA_EXCEEDED,
                   "service 'service1' would hold 4 secrets, more than the 3 this server allows "
                   "one service");
    assert_int_equal(aecs_api_code_status(API_QUOTA_EXCEEDED), 409);
    assert_string_equal(aecs_api_code_name(API_QUOTA_EXCEEDED), "quota_exceeded");
    EXPECT_OK(fx_create(f, s1, one, 0, 0)); /* 3: at the limit */
    EXPECT_OK(fx_create(f, s1, two, 1, 0)); /* an update creates nothing */
    EXPECT_OK(fx_list(f, s1, "service1"));
    assert_int_equal(json_array_size(json_object_get(g_ans, "secrets")), 3);
    free(two);
    free(more);
    free(one);
}

/*
 * The index stays under the store's value limit: a create that would grow it
 * past SVC_INDEX_TEXT_MAX is refused, and a destroy (which shrinks it) is not.
 */
static void test_index_full(void **state)
{
    struct fx *f = *state;
    struct tkey *s1;
    size_t made = 0;
    int rc = AECS_OK;
    char name[65];

    fx_close(f);
    f->cfg.max_secrets_per_service = AECS_SERVICE_MAX_SECRETS_LIMIT;
    fx_open(f);
    s1 = fx_working_with_service(f);
    while (made < AECS_SERVICE_MAX_SECRETS_LIMIT) {
        char *doc = yaml_many("full-", made, 100);
        rc = fx_create(f, s1, doc, 0, 0);
        free(doc);
        if (rc != AECS_OK)
            break;
        made += 100;
    }
    expect_refused(rc, AECS_E_TOO_LARGE, API_TOO_LARGE, "the store's index is full", "create",
                   __FILE__, __LINE__);
    assert_true(made >= 5000); /* about 100 bytes of index per secret, 768 KiB in all */
    snprintf(name, sizeof(name), "full-%0*zu", 59, (size_t)0);
    EXPECT_OK(fx_destroy(f, s1, "service1", name));
    EXPECT_OK(fx_audit_verify(f));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        T(test_status_uninitialized),
        T(test_service_id_vector),
        T(test_service_id_of_root_key),
        T(test_service_id_attack_init_replaced),
        T(test_service_id_missing_or_alone),
        T(test_service_id_auto_unseal),
        T(test_status_sealed_and_working),
        T(test_init),
        T(test_init_needs_share_key),
        T(test_no_identity_key),
        T(test_init_refused),
        T(test_init_by_another_replica),
        T(test_concurrent_replicas),
        T(test_shared_nonces),
        T(test_nonce_stored_values),
        T(test_init_admin_key_file),
        T(test_signed_requests_refused),
        T(test_unseal),
        T(test_unseal_sealed),
        T(test_unseal_reset),
        T(test_unseal_store_without_set),
        T(test_auto_unseal_sim),
        T(test_auto_unseal_gramine),
        T(test_services_register),
        T(test_services_unregister),
        T(test_secrets_seeds_sample),
        T(test_secrets_every_type),
        T(test_secrets_private_share_public),
        T(test_secrets_other_service),
        T(test_secrets_update),
        T(test_secrets_destroy),
        T(test_attack_swap_records),
        T(test_attack_old_record),
        T(test_attack_record_of_destroyed_secret),
        T(test_attack_audit_byte),
        T(test_attack_audit_delete),
        T(test_attack_store_rollback),
        T(test_audit_log),
        T(test_no_plaintext_in_store),
        T(test_concurrent_creates),
        T(test_secrets_quota),
        T(test_index_full),
    };
#undef T

    aecs_log_set_level(getenv("AECS_TEST_DEBUG") ? AECS_LOG_DEBUG : AECS_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
