/*
 * client.c - the aecs client library (include/aecs/client.h): the client
 * side of the release protocol, docs/protocol-release.md, "Summary of checks,
 * client side".
 *
 * One round, against one server:
 *   1. identity: GET /v1/identity?nonce=N0 with 32 fresh random bytes; the
 *      answer must parse, its signature verify with the key it names over N0
 *      and its body; then, unless that very key was checked before on this
 *      server, the evidence must verify, carry the identity binding of the
 *      key, and its claims match the configured server policy. Any failure
 *      stops the round before anything else is sent.
 *   2. challenge: POST /v1/challenge gives N.
 *   3. a fresh P-256 key pair (c, C); evidence of this application from the
 *      attester over SHA-512("aecs-release-v1" || 0 || N || C).
 *   4. POST /v1/release; the answer's signature must verify with the checked
 *      identity key over N, C and the body, before the body is parsed; the
 *      entries must name the requested secrets in order; each envelope must
 *      open with c for its service, name and type. Nothing is returned unless
 *      all of that holds.
 *   5. c is wiped (aecs_p256_key_free); plaintexts live on the secure heap
 *      until aecs_client_secret_free wipes them.
 *
 * Failover: servers are tried in the configuration's order, starting with
 * the one that answered last. A server that gives no answer (connection,
 * TLS, timeout) or a server error (5xx) moves the round to the next one, from
 * step 1. Anything else (a refusal, an identity that does not pass, an
 * answer that breaks the protocol) ends the round: a server that fails a
 * check is never papered over by another one.
 *
 * The identity cache: per server (by its index, hence its URL), the identity
 * public key whose evidence passed, kept for the client's lifetime. A server
 * that restarts has a new identity key, which is checked in full on the next
 * round; a key that fails replaces nothing and empties the server's cache.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/verifier.h"
#include "base/codec.h"
#include "base/log.h"
#include "client/client_internal.h"
#include "client/identity.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "policy/policy.h"
#include "proto/name.h"
#include "proto/release.h"

#define MSG_MAX AECS_CLIENT_MESSAGE_MAX

struct server {
    const char *url;                /* the configuration's */
    struct aecs_cred *cred;         /* a one-server view of the configuration, for the connection */
    struct aecs_conn *conn;         /* opened on first use */
    struct aecs_p256_pub *identity; /* the checked identity key, or NULL */
    uint8_t identity_pub[AECS_P256_PUB_SIZE];
};

struct aecs_client {
    struct aecs_client_config *cfg;
    struct server servers[AECS_CRED_MAX_SERVERS];
    size_t server_count;
    size_t current;
    struct aecs_client_transport transport;
    struct aecs_verifier *verifier;
    struct aecs_attester *attester;
    uint64_t identity_verifications;
    aecs_client_error err;
};

struct aecs_client_secret {
    uint8_t *data; /* on the secure heap, size bytes and a NUL */
    size_t size;
    char service[AECS_RELEASE_NAME_MAX + 1];
    char name[AECS_RELEASE_NAME_MAX + 1];
    char type[AECS_RELEASE_TYPE_MAX + 1];
    char content_type[AECS_RELEASE_CONTENT_TYPE_MAX + 1];
};

/* ---- errors ---- */

const char *aecs_client_status_string(aecs_client_status status)
{
    switch (status) {
    case AECS_CLIENT_OK:
        return "success";
    case AECS_CLIENT_E_USAGE:
        return "invalid argument";
    case AECS_CLIENT_E_CONFIG:
        return "the client configuration is wrong";
    case AECS_CLIENT_E_UNAVAILABLE:
        return "no server gave a usable answer";
    case AECS_CLIENT_E_SERVER_IDENTITY:
        return "the server's identity did not pass";
    case AECS_CLIENT_E_ATTESTATION:
        return "this application's evidence could not be made";
    case AECS_CLIENT_E_REFUSED:
        return "the server refused the request";
    case AECS_CLIENT_E_PROTOCOL:
        return "the server's answer broke the protocol";
    case AECS_CLIENT_E_SECRET_REFUSED:
        return "the server refused the secret";
    case AECS_CLIENT_E_NO_MEMORY:
        return "out of memory";
    case AECS_CLIENT_E_INTERNAL:
        return "internal error";
    default:
        return "unknown status";
    }
}

static aecs_client_status set_error(aecs_client_error *e, aecs_client_status status,
                                    const char *check, const char *code, const char *fmt, ...)
    AECS_PRINTF(5, 6);
static aecs_client_status set_error(aecs_client_error *e, aecs_client_status status,
                                    const char *check, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return status;
    memset(e, 0, sizeof(*e));
    e->status = status;
    snprintf(e->check, sizeof(e->check), "%s", check);
    snprintf(e->server_code, sizeof(e->server_code), "%s", code != NULL ? code : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return status;
}

/* The client's error from the thread's last recorded one, with a prefix. */
static aecs_client_status fail_last(aecs_client *c, aecs_client_status status, const char *check,
                                    const char *prefix)
{
    const struct aecs_err_info *e = aecs_err_last();

    if (e->code == AECS_E_NO_MEMORY)
        status = AECS_CLIENT_E_NO_MEMORY;
    return set_error(&c->err, status, check, NULL, "%s%s", prefix,
                     e->message[0] ? e->message : "unknown error");
}

static void clear_error(aecs_client *c)
{
    memset(&c->err, 0, sizeof(c->err));
}

const aecs_client_error *aecs_client_last_error(const aecs_client *client)
{
    return &client->err;
}

/* ---- the HTTPS transport ---- */

static int https_request(void *ctx, size_t index, const char *url, const char *method,
                         const char *target, const char *body, size_t body_size, const char *header,
                         struct aecs_raw_reply *reply)
{
    aecs_client *c = ctx;

    (void)url;
    memset(reply, 0, sizeof(*reply));
    return aecs_conn_request_raw(c->servers[index].conn, method, target, body, body_size, 0, header,
                                 reply);
}

/*
 * The connection to each server: the URL's scheme and the `ca` file are
 * checked now, so that they are configuration errors; nothing is sent yet.
 */
static int open_connections(aecs_client *c)
{
    struct aecs_conn_options opts;

    memset(&opts, 0, sizeof(opts));
    opts.connect_timeout_ms = c->cfg->connect_timeout * 1000;
    opts.timeout_ms = c->cfg->timeout * 1000;
    opts.max_response_size = AECS_RELEASE_ANSWER_MAX;
    for (size_t i = 0; i < c->server_count; i++)
        GUARD(aecs_conn_open(c->servers[i].cred, &opts, &c->servers[i].conn));
    return AECS_OK;
}

/* A one-server credential for the connection to server i. */
static int make_cred(const struct aecs_client_config *cfg, size_t i, struct aecs_cred **out)
{
    struct aecs_cred *cr = calloc(1, sizeof(*cr));

    *out = NULL;
    ENSURE(cr != NULL, AECS_E_NO_MEMORY, "out of memory");
    cr->servers[0] = strdup(cfg->servers[i]);
    cr->server_count = 1;
    cr->source = strdup(cfg->source);
    cr->pinned = cfg->pinned;
    cr->pin = cfg->pin;
    cr->ca = cfg->ca != NULL ? strdup(cfg->ca) : NULL;
    if (cr->servers[0] == NULL || cr->source == NULL || (cfg->ca != NULL && cr->ca == NULL)) {
        aecs_cred_free(cr);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    *out = cr;
    return AECS_OK;
}

/* ---- making and freeing ---- */

void aecs_client_free(aecs_client *client)
{
    if (client == NULL)
        return;
    for (size_t i = 0; i < client->server_count; i++) {
        struct server *s = &client->servers[i];
        aecs_conn_free(s->conn);
        aecs_cred_free(s->cred);
        aecs_p256_pub_free(s->identity);
    }
    aecs_verifier_free(client->verifier);
    aecs_attester_free(client->attester);
    aecs_client_config_free(client->cfg);
    free(client);
}

/* This application's attester, as configured. */
static int open_attester(const struct aecs_client_config *cfg, const struct aecs_client_options *o,
                         struct aecs_attester **out)
{
    struct aecs_attester_config ac;

    memset(&ac, 0, sizeof(ac));
    ac.root = cfg->attest_root;
    ac.sim_dir = cfg->sim_dir;
    ac.sim_tdx = cfg->sim_tdx;
    if (cfg->has_sim_identity)
        ac.sim_identity = &cfg->sim_identity;
    ac.quote_file = cfg->quote_file;
    ac.has_privlevel = cfg->has_privlevel;
    ac.privlevel = cfg->privlevel;
    if (o != NULL)
        ac.ops = o->attester_ops;
    return aecs_attester_open(cfg->attester, &ac, out);
}

aecs_client_status aecs_client_new_config(struct aecs_client_config *cfg,
                                          const struct aecs_client_options *opts, aecs_client **out,
                                          aecs_client_error *err)
{
    aecs_client *c = NULL;
    aecs_client_status st = AECS_CLIENT_OK;
    int rc;

    if (out != NULL)
        *out = NULL;
    set_error(err, AECS_CLIENT_OK, "", NULL, "%s", "");
    if (cfg == NULL || out == NULL) {
        aecs_client_config_free(cfg);
        return set_error(err, AECS_CLIENT_E_USAGE, "usage", NULL,
                         "no configuration or no place for the client");
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        aecs_client_config_free(cfg);
        return set_error(err, AECS_CLIENT_E_NO_MEMORY, "internal", NULL, "out of memory");
    }
    c->cfg = cfg;
    c->server_count = cfg->server_count;
    for (size_t i = 0; i < c->server_count; i++) {
        c->servers[i].url = cfg->servers[i];
        if (make_cred(cfg, i, &c->servers[i].cred) != AECS_OK) {
            st = set_error(err, AECS_CLIENT_E_NO_MEMORY, "internal", NULL, "out of memory");
            goto out;
        }
    }
    if (opts != NULL && opts->transport != NULL) {
        c->transport = *opts->transport;
    } else {
        c->transport.ctx = c;
        c->transport.request = https_request;
        rc = open_connections(c);
        if (rc != AECS_OK) {
            st = set_error(err,
                           rc == AECS_E_NO_MEMORY ? AECS_CLIENT_E_NO_MEMORY : AECS_CLIENT_E_CONFIG,
                           "config", NULL, "%.200s: %s", cfg->source, aecs_err_last()->message);
            goto out;
        }
    }
    rc = aecs_server_trust_verifier(&cfg->trust, cfg->source, opts != NULL ? opts->now : NULL,
                                    opts != NULL ? opts->now_arg : NULL, &c->verifier);
    if (rc != AECS_OK) {
        st = set_error(err, rc == AECS_E_NO_MEMORY ? AECS_CLIENT_E_NO_MEMORY : AECS_CLIENT_E_CONFIG,
                       "config", NULL, "%.200s: verifier: %s", cfg->source,
                       aecs_err_last()->message);
        goto out;
    }
    rc = open_attester(cfg, opts, &c->attester);
    if (rc != AECS_OK) {
        st = set_error(err,
                       rc == AECS_E_INVALID_ARGUMENT ? AECS_CLIENT_E_CONFIG
                       : rc == AECS_E_NO_MEMORY      ? AECS_CLIENT_E_NO_MEMORY
                                                     : AECS_CLIENT_E_ATTESTATION,
                       rc == AECS_E_INVALID_ARGUMENT ? "config" : "attester", NULL,
                       "%.200s: attester: %s", cfg->source, aecs_err_last()->message);
        goto out;
    }
    log_info("aecs client: %zu server(s), first %.200s; attester %s", c->server_count,
             c->servers[0].url, aecs_attester_name(c->attester));
    *out = c;
    c = NULL;
out:
    aecs_client_free(c);
    return st;
}

/* Turns a configuration load failure into the caller's error. */
static aecs_client_status config_failed(int rc, aecs_client_error *err)
{
    return set_error(err, rc == AECS_E_NO_MEMORY ? AECS_CLIENT_E_NO_MEMORY : AECS_CLIENT_E_CONFIG,
                     "config", NULL, "%s", aecs_err_last()->message);
}

aecs_client_status aecs_client_new_from_file(const char *path, aecs_client **client,
                                             aecs_client_error *err)
{
    struct aecs_client_config *cfg = NULL;
    int rc;

    if (client != NULL)
        *client = NULL;
    if (path == NULL || client == NULL)
        return set_error(err, AECS_CLIENT_E_USAGE, "usage", NULL,
                         "no configuration file or no place for the client");
    rc = aecs_client_config_load(path, 0, &cfg);
    if (rc != AECS_OK)
        return config_failed(rc, err);
    return aecs_client_new_config(cfg, NULL, client, err);
}

aecs_client_status aecs_client_new_from_env(aecs_client **client, aecs_client_error *err)
{
    const char *path = getenv("AECS_CONFIG");
    struct aecs_client_config *cfg = NULL;
    int rc;

    if (client != NULL)
        *client = NULL;
    if (client == NULL)
        return set_error(err, AECS_CLIENT_E_USAGE, "usage", NULL, "no place for the client");
    if (path == NULL || path[0] == '\0')
        return set_error(err, AECS_CLIENT_E_CONFIG, "config", NULL,
                         "AECS_CONFIG is not set: it names the client configuration file "
                         "(docs/client.md)");
    rc = aecs_client_config_load(path, AECS_CLIENT_CONFIG_ENV, &cfg);
    if (rc != AECS_OK)
        return config_failed(rc, err);
    return aecs_client_new_config(cfg, NULL, client, err);
}

uint64_t aecs_client_identity_verifications(const aecs_client *client)
{
    return client->identity_verifications;
}

size_t aecs_client_current_server(const aecs_client *client)
{
    return client->current;
}

/* ---- secrets ---- */

const uint8_t *aecs_client_secret_data(const aecs_client_secret *secret)
{
    return secret->data;
}

size_t aecs_client_secret_size(const aecs_client_secret *secret)
{
    return secret->size;
}

const char *aecs_client_secret_type(const aecs_client_secret *secret)
{
    return secret->type;
}

const char *aecs_client_secret_content_type(const aecs_client_secret *secret)
{
    return secret->content_type;
}

const char *aecs_client_secret_service(const aecs_client_secret *secret)
{
    return secret->service;
}

const char *aecs_client_secret_name(const aecs_client_secret *secret)
{
    return secret->name;
}

void aecs_client_secret_free(aecs_client_secret *secret)
{
    if (secret == NULL)
        return;
    aecs_envelope_plain_free(secret->data, secret->size);
    free(secret);
}

void aecs_client_results_clear(aecs_client_result *results, size_t count)
{
    if (results == NULL)
        return;
    for (size_t i = 0; i < count; i++) {
        aecs_client_secret_free(results[i].secret);
        memset(&results[i], 0, sizeof(results[i]));
    }
}

/* ---- one round ---- */

/* What one round on one server came to. */
struct round {
    aecs_client *c;
    struct server *s;
    size_t index;
    int failover; /* set when the next server should be tried */
};

/*
 * A request that did not succeed: no answer or a 5xx lets the next server
 * be tried; a refusal ends the round with the server's code. `status_4xx` is
 * the status a refusal gets (a refused identity request is an identity
 * failure).
 */
static aecs_client_status request_failed(struct round *r, const struct aecs_raw_reply *reply,
                                         int rc, const char *check, aecs_client_status status_4xx)
{
    const struct aecs_err_info *e = aecs_err_last();
    aecs_client *c = r->c;

    if (rc == AECS_E_NO_MEMORY)
        return set_error(&c->err, AECS_CLIENT_E_NO_MEMORY, check, NULL, "out of memory");
    if (reply->status == 0 && rc == AECS_E_TOO_LARGE)
        return set_error(&c->err, AECS_CLIENT_E_PROTOCOL, check, NULL, "%.200s: %s", r->s->url,
                         e->message);
    if (reply->status == 0) {
        r->failover = 1;
        return set_error(&c->err, AECS_CLIENT_E_UNAVAILABLE, "connect", NULL, "%s", e->message);
    }
    if (reply->status >= 500) {
        r->failover = 1;
        return set_error(&c->err, AECS_CLIENT_E_UNAVAILABLE, check, reply->code,
                         "%.200s: %s: HTTP %ld: %s", r->s->url, check, reply->status, e->message);
    }
    return set_error(&c->err, status_4xx, check, reply->code,
                     "%.200s refused the %s request: %s%s%s%s", r->s->url, check, e->message,
                     reply->code[0] ? " (" : "", reply->code, reply->code[0] ? ")" : "");
}

static int send_request(struct round *r, const char *method, const char *target, const char *body,
                        size_t body_size, const char *header, struct aecs_raw_reply *reply)
{
    aecs_err_clear();
    return r->c->transport.request(r->c->transport.ctx, r->index, r->s->url, method, target, body,
                                   body_size, header, reply);
}

/* The answer's single signature header, or NULL after setting the error. */
static const char *one_signature(struct round *r, const struct aecs_raw_reply *reply,
                                 aecs_client_status status, const char *check)
{
    if (reply->header_count == 1 && reply->header[0] != '\0')
        return reply->header;
    set_error(&r->c->err, status, check, NULL,
              "%.200s: the answer has %s " AECS_HDR_ANSWER_SIGNATURE " header", r->s->url,
              reply->header_count == 0  ? "no"
              : reply->header_count > 1 ? "more than one"
                                        : "an unusable");
    return NULL;
}

/* Step 1: the server's identity (identity.c), from the cache or checked in full. */
static aecs_client_status check_identity(struct round *r)
{
    aecs_client *c = r->c;
    struct server *s = r->s;
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    char target[AECS_IDENTITY_TARGET_MAX];
    struct aecs_raw_reply reply;
    struct aecs_identity_check chk = {
        .url = s->url,
        .source = c->cfg->source,
        .verifier = c->verifier,
        .rules = &c->cfg->trust.server_rules,
        .known = s->identity != NULL ? s->identity_pub : NULL,
        .service_id = c->cfg->trust.service_id,
        .accept_insecure = c->cfg->trust.accept_insecure_server,
    };
    struct aecs_identity_result res;
    aecs_client_status st = AECS_CLIENT_OK;
    int rc;

    memset(&reply, 0, sizeof(reply));
    if (aecs_identity_request(nonce, target) != AECS_OK)
        return fail_last(c, AECS_CLIENT_E_INTERNAL, "internal", "");
    rc = send_request(r, "GET", target, NULL, 0, AECS_HDR_ANSWER_SIGNATURE, &reply);
    if (rc != AECS_OK) {
        st = request_failed(r, &reply, rc, "identity", AECS_CLIENT_E_SERVER_IDENTITY);
        goto out;
    }
    rc = aecs_identity_answer_check(&chk, nonce, &reply, &res);
    if (res.verified) {
        /* Another key than the cached one: the cache holds none until this one passes. */
        aecs_p256_pub_free(s->identity);
        s->identity = NULL;
        c->identity_verifications++;
    }
    if (rc != AECS_OK) {
        st = fail_last(c, AECS_CLIENT_E_SERVER_IDENTITY, res.check != NULL ? res.check : "identity",
                       "");
        goto out;
    }
    if (res.cached) {
        aecs_p256_pub_free(res.pub);
        goto out;
    }
    memcpy(s->identity_pub, res.pubkey, AECS_P256_PUB_SIZE);
    s->identity = res.pub;
out:
    aecs_raw_reply_clear(&reply);
    return st;
}

/* Step 2: a challenge nonce. */
static aecs_client_status get_challenge(struct round *r, uint8_t nonce[AECS_RELEASE_NONCE_SIZE])
{
    struct aecs_raw_reply reply;
    int64_t expires = 0;
    aecs_client_status st = AECS_CLIENT_OK;
    int rc;

    memset(&reply, 0, sizeof(reply));
    rc = send_request(r, "POST", "/v1/challenge", "{}", 2, NULL, &reply);
    if (rc != AECS_OK)
        st = request_failed(r, &reply, rc, "challenge", AECS_CLIENT_E_REFUSED);
    else if (aecs_challenge_answer_parse(reply.body, reply.body_size, nonce, &expires) != AECS_OK)
        st = fail_last(r->c, AECS_CLIENT_E_PROTOCOL, "challenge", "challenge answer: ");
    aecs_raw_reply_clear(&reply);
    return st;
}

/* Opens every sealed entry into results (all or nothing). */
static aecs_client_status open_entries(struct round *r, const struct aecs_p256_key *key,
                                       const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                                       const struct aecs_release_answer *ans,
                                       aecs_client_result *results)
{
    size_t i;

    for (i = 0; i < ans->count; i++) {
        const struct aecs_release_result *e = &ans->results[i];
        aecs_client_result *out = &results[i];
        struct aecs_envelope_binding b;
        aecs_client_secret *sec;

        memset(out, 0, sizeof(*out));
        if (!e->sealed) {
            out->status = AECS_CLIENT_E_SECRET_REFUSED;
            snprintf(out->code, sizeof(out->code), "%s", e->code);
            snprintf(out->reason, sizeof(out->reason), "%s", e->reason);
            continue;
        }
        sec = calloc(1, sizeof(*sec));
        if (sec == NULL) {
            set_error(&r->c->err, AECS_CLIENT_E_NO_MEMORY, "envelope", NULL, "out of memory");
            goto fail;
        }
        b.nonce = nonce;
        b.service = e->service;
        b.name = e->name;
        b.type = e->type;
        if (aecs_envelope_open(key, &b, &e->envelope, &sec->data, &sec->size) != AECS_OK) {
            free(sec);
            set_error(&r->c->err, AECS_CLIENT_E_PROTOCOL, "envelope", NULL,
                      "%.200s: the envelope of %s/%s does not open: %.200s", r->s->url, e->service,
                      e->name, aecs_err_last()->message);
            goto fail;
        }
        memcpy(sec->service, e->service, sizeof(sec->service));
        memcpy(sec->name, e->name, sizeof(sec->name));
        memcpy(sec->type, e->type, sizeof(sec->type));
        memcpy(sec->content_type, e->content_type, sizeof(sec->content_type));
        out->secret = sec;
        out->status = AECS_CLIENT_OK;
    }
    return AECS_CLIENT_OK;
fail:
    aecs_client_results_clear(results, i);
    return r->c->err.status;
}

/* Steps 2 to 5 on a server whose identity passed. */
static aecs_client_status release(struct round *r, const aecs_client_ref *refs, size_t count,
                                  aecs_client_result *results)
{
    aecs_client *c = r->c;
    struct aecs_release_request req;
    struct aecs_p256_key *key = NULL;
    uint8_t report_data[AECS_RELEASE_REPORT_DATA_SIZE];
    enum aecs_evidence_kind kind;
    char *body = NULL;
    size_t body_size = 0;
    struct aecs_raw_reply reply;
    struct aecs_release_answer *ans = NULL;
    const char *sig;
    aecs_client_status st = AECS_CLIENT_OK;
    int rc;

    memset(&req, 0, sizeof(req));
    memset(&reply, 0, sizeof(reply));
    st = get_challenge(r, req.nonce);
    if (st != AECS_CLIENT_OK)
        goto out;
    if (aecs_p256_key_generate(&key) != AECS_OK) {
        st = fail_last(c, AECS_CLIENT_E_INTERNAL, "internal", "ephemeral key: ");
        goto out;
    }
    aecs_p256_key_public(key, req.pubkey);
    aecs_release_binding(req.nonce, req.pubkey, report_data);
    if (aecs_attester_evidence(c->attester, report_data, &req.evidence, &req.evidence_size,
                               &kind) != AECS_OK) {
        st = fail_last(c, AECS_CLIENT_E_ATTESTATION, "attester", "attester: ");
        goto out;
    }
    req.count = count;
    for (size_t i = 0; i < count; i++) {
        snprintf(req.secrets[i].service, sizeof(req.secrets[i].service), "%s", refs[i].service);
        snprintf(req.secrets[i].name, sizeof(req.secrets[i].name), "%s", refs[i].name);
    }
    if (aecs_release_request_serialize(&req, &body, &body_size) != AECS_OK) {
        st = fail_last(c, AECS_CLIENT_E_INTERNAL, "release", "release request: ");
        goto out;
    }
    rc = send_request(r, "POST", "/v1/release", body, body_size, AECS_HDR_ANSWER_SIGNATURE, &reply);
    if (rc != AECS_OK) {
        st = request_failed(r, &reply, rc, "release", AECS_CLIENT_E_REFUSED);
        goto out;
    }
    /* The signature first: nothing of an answer is parsed before it verifies. */
    sig = one_signature(r, &reply, AECS_CLIENT_E_PROTOCOL, "release-signature");
    if (sig == NULL) {
        st = AECS_CLIENT_E_PROTOCOL;
        goto out;
    }
    if (aecs_answer_verify(r->s->identity, AECS_ANSWER_RELEASE, req.nonce, req.pubkey, reply.body,
                           reply.body_size, sig, strlen(sig)) != AECS_OK) {
        st = set_error(&c->err, AECS_CLIENT_E_PROTOCOL, "release-signature", NULL,
                       "%.200s: the release answer's signature does not verify with the "
                       "server's checked identity key over this request's nonce and key",
                       r->s->url);
        goto out;
    }
    if (aecs_release_answer_parse(reply.body, reply.body_size, &ans) != AECS_OK) {
        st = fail_last(c, AECS_CLIENT_E_PROTOCOL, "release-answer", "release answer: ");
        goto out;
    }
    if (aecs_release_answer_match(&req, ans) != AECS_OK) {
        st = fail_last(c, AECS_CLIENT_E_PROTOCOL, "release-entries", "release answer: ");
        goto out;
    }
    st = open_entries(r, key, req.nonce, ans, results);
out:
    aecs_p256_key_free(key); /* wipes c */
    aecs_release_answer_free(ans);
    aecs_raw_reply_clear(&reply);
    free(body);
    free(req.evidence);
    return st;
}

/* ---- fetching ---- */

static aecs_client_status check_refs(aecs_client *c, const aecs_client_ref *refs, size_t count,
                                     aecs_client_result *results)
{
    if (refs == NULL || results == NULL)
        return set_error(&c->err, AECS_CLIENT_E_USAGE, "usage", NULL, "no secrets or no results");
    if (count == 0 || count > AECS_CLIENT_MAX_SECRETS)
        return set_error(&c->err, AECS_CLIENT_E_USAGE, "usage", NULL,
                         "ask for 1 to %d secrets at once (got %zu)", AECS_CLIENT_MAX_SECRETS,
                         count);
    for (size_t i = 0; i < count; i++) {
        if (refs[i].service == NULL || refs[i].name == NULL)
            return set_error(&c->err, AECS_CLIENT_E_USAGE, "usage", NULL,
                             "secret %zu: no service or name", i + 1);
        if (aecs_name_check(refs[i].service, "service") != AECS_OK ||
            aecs_name_check(refs[i].name, "name") != AECS_OK)
            return set_error(&c->err, AECS_CLIENT_E_USAGE, "usage", NULL, "secret %zu: %s", i + 1,
                             aecs_err_last()->message);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(refs[i].service, refs[j].service) == 0 &&
                strcmp(refs[i].name, refs[j].name) == 0)
                return set_error(&c->err, AECS_CLIENT_E_USAGE, "usage", NULL,
                                 "secret %s/%s is asked for twice", refs[i].service, refs[i].name);
        }
    }
    return AECS_CLIENT_OK;
}

aecs_client_status aecs_client_fetch_many(aecs_client *client, const aecs_client_ref *refs,
                                          size_t count, aecs_client_result *results)
{
    aecs_client_status st;
    char tried[MSG_MAX];
    size_t used = 0;

    if (client == NULL)
        return AECS_CLIENT_E_USAGE;
    clear_error(client);
    if (results != NULL && count <= AECS_CLIENT_MAX_SECRETS)
        memset(results, 0, count * sizeof(*results));
    st = check_refs(client, refs, count, results);
    if (st != AECS_CLIENT_OK)
        return st;
    tried[0] = '\0';
    for (size_t n = 0; n < client->server_count; n++) {
        size_t index = (client->current + n) % client->server_count;
        struct round r = {.c = client, .s = &client->servers[index], .index = index};

        clear_error(client);
        st = check_identity(&r);
        if (st == AECS_CLIENT_OK)
            st = release(&r, refs, count, results);
        if (!r.failover) {
            client->current = index;
            break;
        }
        log_warn("%s", client->err.message);
        int w = snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? "; " : "",
                         client->err.message);
        if (w > 0)
            used = used + (size_t)w < sizeof(tried) ? used + (size_t)w : sizeof(tried) - 1;
        if (n + 1 == client->server_count) {
            if (client->server_count > 1)
                snprintf(client->err.message, sizeof(client->err.message),
                         "no server gave a usable answer: %s", tried);
            return st;
        }
    }
    if (st != AECS_CLIENT_OK)
        return st;
    for (size_t i = 0; i < count; i++) {
        if (results[i].secret == NULL) {
            set_error(&client->err, AECS_CLIENT_E_SECRET_REFUSED, "secret", results[i].code,
                      "%s/%s refused: %s (%s)", refs[i].service, refs[i].name, results[i].reason,
                      results[i].code);
            return AECS_CLIENT_E_SECRET_REFUSED;
        }
    }
    return AECS_CLIENT_OK;
}

aecs_client_status aecs_client_fetch(aecs_client *client, const char *service, const char *name,
                                     aecs_client_secret **secret)
{
    aecs_client_ref ref = {service, name};
    aecs_client_result result;
    aecs_client_status st;

    if (secret != NULL)
        *secret = NULL;
    if (client == NULL)
        return AECS_CLIENT_E_USAGE;
    if (secret == NULL)
        return set_error(&client->err, AECS_CLIENT_E_USAGE, "usage", NULL,
                         "no place for the secret");
    st = aecs_client_fetch_many(client, &ref, 1, &result);
    if (st == AECS_CLIENT_OK) {
        *secret = result.secret;
        result.secret = NULL;
    }
    aecs_client_results_clear(&result, 1);
    return st;
}
