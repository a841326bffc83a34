/*
 * etcd.c - the etcd store backend: the four backend calls (backend.h) as
 * requests to etcd's v3 JSON gateway (POST /v3/kv/range and /v3/kv/txn,
 * keys and values in base64), spoken with libcurl and jansson.
 *
 * Mapping (docs/design-store.md has the table):
 *   get   Range{key}: no kvs is AECS_E_NOT_FOUND, kvs[0].version the version;
 *   list  Range{key: max(prefix, start_after "\0"), range_end: prefix_end,
 *         limit}, in etcd's own order (the key index, byte order: no sort
 *         option, which would make etcd read the whole range before it cuts
 *         it at limit); `more` is etcd's. With values a call reads at most
 *         LIST_VALUE_CHUNK values per request, which keeps every answer
 *         bounded; the requests after the first read at the first one's
 *         revision, so the call still sees one state (a revision compacted
 *         in between makes the call start over, at most LIST_ATTEMPTS times);
 *   txn   one Txn: compares are Version(key) == N, the ops Put and
 *         DeleteRange with prev_kv in `success` (a put's new version is
 *         prev_kv.version + 1, or 1; a delete's old version prev_kv.version,
 *         or 0), and one keys-only Range per compare in `failure`, read in the
 *         same revision as the compares, so the first compare that did not
 *         hold, and the version found, are exact. put and delete are txns
 *         (store.c).
 *
 * Connections: a handle keeps a small pool of curl handles (connections=,
 * default 8), each with its own connection to etcd that stays open between
 * calls. A call takes an idle one for its whole length (a list's several
 * requests included), waiting on a condition variable while all are busy,
 * and gives it back: so the calls of aecsd's worker threads reach etcd side
 * by side, and etcd can group their writes into one fsync, where one
 * connection behind one mutex sent them one after another. Idle handles are
 * a stack, so a lone caller always gets the same warm connection. There is
 * no watch or lease: no call holds a connection longer than its time budget.
 *
 * Endpoints and failover: the handle remembers the endpoint that last
 * answered (one for the whole pool, under its lock). A call tries that one
 * first, then the others in order, within one time budget (timeout=,
 * default 5 s; each connection attempt connect-timeout=, default 2 s). What
 * it does after a failure depends on whether etcd may have acted:
 *   - nothing was sent (connection refused, name not resolved, TLS handshake
 *     failed, connect timed out): any request moves on to the next endpoint;
 *   - etcd refused before acting ("no leader" - every request asks etcd to
 *     refuse when the member has no leader, so a cut-off member does not
 *     hold it until etcd's own timeout -, "too many requests", "not
 *     capable"): the next endpoint, and when a whole round fails like this,
 *     again after a short wait (an election takes about a second) until the
 *     budget is spent;
 *   - the request went out and no answer came (timeout, connection lost), or
 *     etcd said "request timed out" / "leader changed": a read moves on to
 *     the next endpoint; a write is NOT sent again, since it may have been
 *     applied (a proposal that timed out can still be committed later), and
 *     fails with AECS_E_IO saying that its outcome is unknown. The caller
 *     reads again: with compare-and-swap the version shows whether the write
 *     is there. To make sure curl itself never sends a write twice, the
 *     body goes through a read callback that refuses to rewind once a byte
 *     of a write went out (curl otherwise re-sends a request on a fresh
 *     connection when a reused one closes without an answer);
 *   - an invalid auth token: authenticate again, then the same request once
 *     more (etcd checks the token before it acts);
 *   - any other error answer (request too large, permission denied, no
 *     space, ...): AECS_E_IO at once with etcd's message, cut short.
 * Unreachable everywhere: AECS_E_IO naming each endpoint and why it failed.
 *
 * TLS and auth: cacert= (CA file, else the system's), cert= and key= (client
 * certificate); peer and host name checks are always on; proxies from the
 * environment are ignored. user= and password-file=: the password is read
 * at open (a group- or world-readable file gets a warning), exchanged for a
 * token at /v3/auth/authenticate, and the token goes in the Authorization
 * header. The token is the handle's, under its lock, with a generation
 * number: each connection rebuilds its header list when the token changed,
 * and a call refused for its token authenticates again only when no other
 * call did since that token was sent. Password, token, request and answer
 * bytes are wiped before they are freed (best effort: jansson's own parse
 * buffers are not).
 *
 * Threads: the lock guards the pool's idle stack and counters, the current
 * endpoint and the token; everything else of the handle is set at open and
 * only read afterwards, and a connection (its curl handle, header list,
 * answer buffer) belongs to the call that took it. Nothing runs while the
 * lock is held but bookkeeping: no I/O, no logging.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "net/http.h"
#include "store/backend.h"

#define PASSWORD_MAX 1024
#define TOKEN_MAX 4096
/* Values per request when a list returns values: its budget in biggest values (16). */
#define LIST_VALUE_CHUNK (AECS_STORE_LIST_MAX_SIZE / AECS_STORE_VALUE_MAX)
#define LIST_ATTEMPTS 3
#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS 1000
/* Answer caps: a fixed part, plus per value (base64 of etcd's default 1.5 MiB) or per key. */
#define ANSWER_BASE (1u << 20)
#define ANSWER_PER_VALUE (5u << 19)
#define ANSWER_PER_KEY 1024u
#define WHY_MAX 160
#define REASONS_MAX 420

enum call_kind {
    CALL_READ,  /* safe to send again anywhere */
    CALL_WRITE, /* sent at most once */
    CALL_AUTH,  /* authenticate: safe to send again, without a token */
};

enum outcome {
    OUT_OK,
    OUT_UNREACHED, /* nothing was sent */
    OUT_RETRY,     /* etcd refused before acting, for a passing reason */
    OUT_LOST,      /* sent, no answer */
    OUT_UNKNOWN,   /* etcd answered that it does not know whether it acted */
    OUT_AUTH,      /* the token is not (or no longer) valid */
    OUT_TOO_BIG,   /* the answer passed its cap */
    OUT_FAIL,      /* any other error answer: final */
};

/* The request body as curl reads it. */
struct body {
    const char *data;
    size_t size;
    size_t pos;
    int rewindable; /* 0 for writes: once a byte went out, never again */
    int sent;       /* some of it went out */
};

/* The answer, in a buffer that grows up to cap and is wiped whenever it is let go. */
struct answer {
    char *data;
    size_t size;
    size_t alloc;
    size_t cap;
    int over;
};

/* One connection of the pool; it belongs to the call that took it. */
struct conn {
    CURL *curl;                   /* its connection stays open between calls */
    struct curl_slist *hdr_token; /* the headers with the token of generation token_gen */
    uint64_t token_gen;
    struct answer ans;
    char errbuf[CURL_ERROR_SIZE];
};

struct etcd_store {
    struct aecs_store base; /* first: the handle callers hold */
    /* set at open, only read afterwards */
    struct curl_slist *hdr_plain; /* without a token (authenticate, no auth) */
    char *urls[AECS_STORE_ETCD_MAX_ENDPOINTS];
    size_t url_count;
    char *cacert;
    char *cert;
    char *key;
    char *user;
    char *password;
    size_t password_size;
    long timeout_ms;
    long connect_timeout_ms;
    struct conn conns[AECS_STORE_ETCD_MAX_CONNECTIONS];
    size_t conn_count;
    /* under lock */
    pthread_mutex_t lock;
    pthread_cond_t idle_cond; /* signalled when a connection goes back on the stack */
    struct conn *idle[AECS_STORE_ETCD_MAX_CONNECTIONS];
    size_t idle_count;
    size_t peak;    /* the most connections taken at once */
    size_t current; /* the endpoint that answered last */
    char *token;    /* NULL before authenticating, or without auth */
    size_t token_size;
    uint64_t token_gen; /* incremented with each new token */
};

/* ------------------------------------------------------------- helpers */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void free_secret(char *p, size_t size)
{
    if (p == NULL)
        return;
    aecs_cleanse(p, size);
    free(p);
}

static void free_slist(struct curl_slist *l)
{
    for (struct curl_slist *i = l; i != NULL; i = i->next)
        aecs_cleanse(i->data, strlen(i->data));
    curl_slist_free_all(l);
}

/* Wipes every string of a JSON tree (values, tokens, passwords) and frees it. NULL is fine. */
static void json_wipe(json_t *j)
{
    const char *k;
    json_t *v;
    size_t i;

    if (json_is_object(j)) {
        json_object_foreach(j, k, v)
            json_wipe(v);
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
            json_wipe(v);
    } else if (json_is_string(j)) {
        aecs_cleanse((char *)json_string_value(j), json_string_length(j));
    }
}

static void json_free(json_t *j)
{
    if (j == NULL)
        return;
    json_wipe(j);
    json_decref(j);
}

/* A JSON string holding the base64 of size bytes; NULL when out of memory. */
static json_t *b64_json(const void *data, size_t size)
{
    size_t n = aecs_base64_encoded_size(size);
    char *tmp = malloc(n + 1);
    json_t *j;

    if (tmp == NULL)
        return NULL;
    aecs_base64_encode(data, size, tmp);
    j = json_stringn_nocheck(tmp, n);
    free_secret(tmp, n + 1);
    return j;
}

static json_t *key_json(const char *key)
{
    return b64_json(key, strlen(key));
}

/*
 * Decodes the base64 string `j` (NULL: absent, which proto3 JSON makes of
 * empty bytes) into a fresh buffer of at least one byte, *size of at most
 * max; `what` names it in messages.
 */
static int b64_decode(const json_t *j, size_t max, const char *what, uint8_t **out, size_t *size)
{
    const char *s = "";
    size_t len = 0;
    int rc;

    *out = NULL;
    *size = 0;
    if (j != NULL) {
        ENSURE(json_is_string(j), AECS_E_FORMAT, "store: etcd: %s in etcd's answer is not a string",
               what);
        s = json_string_value(j);
        len = json_string_length(j);
    }
    ENSURE(len / 4 * 3 <= max + 2, AECS_E_FORMAT,
           "store: etcd: a %s in etcd's answer is larger than %zu bytes", what, max);
    size_t cap = len / 4 * 3 + 1;
    uint8_t *buf = malloc(cap);
    ENSURE(buf != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    rc = aecs_base64_decode(s, len, buf, cap, size);
    if (rc == AECS_OK && *size > max)
        rc = AECS_ERR(AECS_E_FORMAT, "store: etcd: a %s in etcd's answer is larger than %zu bytes",
                      what, max);
    else if (rc != AECS_OK)
        rc = AECS_ERR(AECS_E_FORMAT, "store: etcd: a %s in etcd's answer is not base64", what);
    if (rc != AECS_OK) {
        free_secret((char *)buf, cap);
        *size = 0;
        return rc;
    }
    *out = buf;
    return AECS_OK;
}

/* An int64 field of etcd's answer (a string of digits in proto3 JSON, or a number); 0 if absent. */
static int json_u64(const json_t *obj, const char *name, uint64_t *out)
{
    const json_t *j = json_object_get(obj, name);
    uint64_t v = 0;

    *out = 0;
    if (j == NULL)
        return AECS_OK;
    if (json_is_integer(j)) {
        ENSURE(json_integer_value(j) >= 0, AECS_E_FORMAT, "store: etcd: %s is negative", name);
        *out = (uint64_t)json_integer_value(j);
        return AECS_OK;
    }
    ENSURE(json_is_string(j), AECS_E_FORMAT, "store: etcd: %s in etcd's answer is not a number",
           name);
    const char *s = json_string_value(j);
    size_t len = json_string_length(j);
    ENSURE(len > 0 && len <= 19, AECS_E_FORMAT, "store: etcd: %s in etcd's answer is not a number",
           name);
    for (size_t i = 0; i < len; i++) {
        ENSURE(s[i] >= '0' && s[i] <= '9', AECS_E_FORMAT,
               "store: etcd: %s in etcd's answer is not a number", name);
        v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits cannot pass UINT64_MAX */
    }
    *out = v;
    return AECS_OK;
}

/* Reads one kv of etcd's answer (backend.h). */
int aecs_store_etcd_read_kv(const json_t *kv, char **key, uint64_t *version, uint8_t **value,
                            size_t *value_size)
{
    uint8_t *k = NULL;
    size_t klen = 0;
    int rc = AECS_OK;

    *key = NULL;
    ENSURE(json_is_object(kv), AECS_E_FORMAT, "store: etcd: a kv in etcd's answer is not an object");
    GUARD(b64_decode(json_object_get(kv, "key"), AECS_STORE_KEY_MAX, "key", &k, &klen));
    k[klen] = '\0';
    ENSURE_OUT(strlen((char *)k) == klen && aecs_store_key_check((char *)k) == AECS_OK,
               AECS_E_FORMAT,
               "store: etcd holds a key that is not a valid aecs key (written by something "
               "else than aecs?)");
    GUARD_OUT(json_u64(kv, "version", version));
    ENSURE_OUT(*version >= 1 && *version <= (uint64_t)INT64_MAX, AECS_E_FORMAT,
               "store: etcd: %.200s has version %llu", (char *)k, (unsigned long long)*version);
    if (value != NULL) {
        size_t vsize = 0;
        rc = b64_decode(json_object_get(kv, "value"), AECS_STORE_VALUE_MAX, "value", value, &vsize);
        if (rc == AECS_E_FORMAT)
            rc = AECS_ERR(AECS_E_FORMAT,
                          "store: etcd: the value of %.200s is not base64 or is larger than %u "
                          "bytes (written by something else than aecs?)",
                          (char *)k, AECS_STORE_VALUE_MAX);
        GUARD_OUT(rc);
        *value_size = vsize;
    }
    *key = (char *)k;
    k = NULL;
out:
    free(k);
    return rc;
}

/* ------------------------------------------------------------ transport */

static size_t on_body_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct body *b = arg;
    size_t n = size * nitems;

    if (n > b->size - b->pos)
        n = b->size - b->pos;
    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    if (n > 0)
        b->sent = 1;
    return n;
}

/* curl asks to rewind when it wants to send the body again: never for a write once sent. */
static int on_body_seek(void *arg, curl_off_t offset, int origin)
{
    struct body *b = arg;

    if (origin != SEEK_SET || offset < 0 || (size_t)offset > b->size)
        return CURL_SEEKFUNC_CANTSEEK;
    if (b->sent && !b->rewindable)
        return CURL_SEEKFUNC_CANTSEEK;
    b->pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static void answer_reset(struct answer *a, size_t cap)
{
    free_secret(a->data, a->alloc);
    a->data = NULL;
    a->size = 0;
    a->alloc = 0;
    a->over = 0;
    a->cap = cap;
}

/* Appends to the answer; grows by copying so that no old copy is left unwiped. */
static size_t on_answer(char *p, size_t size, size_t nmemb, void *arg)
{
    struct answer *a = arg;
    size_t n = size * nmemb;

    if (n > a->cap - a->size) {
        a->over = 1;
        return 0;
    }
    if (a->size + n + 1 > a->alloc) {
        size_t alloc = a->alloc == 0 ? 16384 : a->alloc;
        while (alloc < a->size + n + 1)
            alloc *= 2;
        char *grown = malloc(alloc);
        if (grown == NULL)
            return 0;
        if (a->size > 0)
            memcpy(grown, a->data, a->size);
        free_secret(a->data, a->alloc);
        a->data = grown;
        a->alloc = alloc;
    }
    memcpy(a->data + a->size, p, n);
    a->size += n;
    a->data[a->size] = '\0';
    return n;
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (curl_easy_setopt(c->curl, (opt), (val)) != CURLE_OK)                                   \
            return AECS_ERR(AECS_E_INTERNAL, "store: etcd: libcurl rejected option %s", #opt);     \
    } while (0)

/* ----------------------------------------------------------------- pool */

/* A fresh header list, with "Authorization: token" when token is not NULL. */
static int build_headers(const char *token, struct curl_slist **out)
{
    static const char *const base[] = {
        "Content-Type: application/json",
        "Expect:",                       /* no 100-continue round trip for big bodies */
        "Grpc-Metadata-hasleader: true", /* a member with no leader refuses at once */
    };
    struct curl_slist *list = NULL;
    char auth[TOKEN_MAX + 32];

    *out = NULL;
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
        struct curl_slist *l = curl_slist_append(list, base[i]);
        if (l == NULL)
            goto fail;
        list = l;
    }
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: %s", token);
        struct curl_slist *l = curl_slist_append(list, auth);
        aecs_cleanse(auth, sizeof(auth));
        if (l == NULL)
            goto fail;
        list = l;
    }
    *out = list;
    return AECS_OK;
fail:
    free_slist(list);
    return AECS_ERR(AECS_E_NO_MEMORY, "store: out of memory");
}

/*
 * Takes an idle connection, waiting while every one is busy (each call
 * holds one for at most its time budget). Give it back with conn_put.
 */
static struct conn *conn_take(struct etcd_store *es)
{
    struct conn *c;

    pthread_mutex_lock(&es->lock);
    while (es->idle_count == 0)
        pthread_cond_wait(&es->idle_cond, &es->lock);
    c = es->idle[--es->idle_count];
    if (es->conn_count - es->idle_count > es->peak)
        es->peak = es->conn_count - es->idle_count;
    pthread_mutex_unlock(&es->lock);
    return c;
}

static void conn_put(struct etcd_store *es, struct conn *c)
{
    pthread_mutex_lock(&es->lock);
    es->idle[es->idle_count++] = c;
    pthread_cond_signal(&es->idle_cond);
    pthread_mutex_unlock(&es->lock);
}

/* Brings c's header list up to the handle's token (another call may have renewed it). */
static int conn_headers(struct etcd_store *es, struct conn *c)
{
    int rc = AECS_OK;

    pthread_mutex_lock(&es->lock);
    if (c->hdr_token == NULL || c->token_gen != es->token_gen) {
        struct curl_slist *l = NULL;
        rc = build_headers(es->token, &l);
        if (rc == AECS_OK) {
            free_slist(c->hdr_token);
            c->hdr_token = l;
            c->token_gen = es->token_gen;
        }
    }
    pthread_mutex_unlock(&es->lock);
    return rc;
}

/* Whether the handle has a newer token than the one c last sent. */
static int token_changed(struct etcd_store *es, const struct conn *c)
{
    pthread_mutex_lock(&es->lock);
    int changed = c->token_gen != es->token_gen;
    pthread_mutex_unlock(&es->lock);
    return changed;
}

/* Makes a copy of token (len bytes) the handle's token; the old one is wiped. */
static int set_token(struct etcd_store *es, const char *token, size_t len)
{
    char *copy = strndup(token, len);

    ENSURE(copy != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    pthread_mutex_lock(&es->lock);
    char *old = es->token;
    size_t old_size = es->token_size;
    es->token = copy;
    es->token_size = len;
    es->token_gen++;
    pthread_mutex_unlock(&es->lock);
    free_secret(old, old_size + 1);
    return AECS_OK;
}

/* What etcd's error answer means for the request (see the top of the file). */
static enum outcome classify(const char *msg, long code)
{
    /* a token that expired or never was; "user name is empty": no token while auth is on */
    if (strcmp(msg, "etcdserver: invalid auth token") == 0 ||
        strcmp(msg, "etcdserver: user name is empty") == 0)
        return OUT_AUTH;
    if (strcmp(msg, "etcdserver: no leader") == 0 ||
        strcmp(msg, "etcdserver: too many requests") == 0 ||
        strcmp(msg, "etcdserver: not capable") == 0)
        return OUT_RETRY;
    /* gRPC's UNAVAILABLE and DEADLINE_EXCEEDED: request timed out, leader changed, stopping. */
    if (code == 14 || code == 4 || strncmp(msg, "etcdserver: request timed out", 29) == 0 ||
        strcmp(msg, "etcdserver: leader changed") == 0)
        return OUT_UNKNOWN;
    return OUT_FAIL;
}

/*
 * Sends the body once to endpoint ep within left_ms and says what came of
 * it in *oc: on OUT_OK *out is etcd's answer (the caller frees it with
 * json_free), otherwise why (a short text) says what failed. Returns an
 * error only for failures of this process (memory, libcurl options).
 */
static int attempt(struct etcd_store *es, struct conn *c, size_t ep, const char *path,
                   struct body *b, enum call_kind kind, size_t cap, int64_t left_ms,
                   enum outcome *oc, json_t **out, char *why, size_t why_size)
{
    char url[320];
    long status = 0;
    json_error_t jerr;

    *out = NULL;
    *oc = OUT_FAIL;
    why[0] = '\0';
    snprintf(url, sizeof(url), "%s%s", es->urls[ep], path);
    b->pos = 0;
    b->sent = 0;
    b->rewindable = kind != CALL_WRITE;
    if (kind != CALL_AUTH)
        GUARD(conn_headers(es, c));
    answer_reset(&c->ans, cap);
    c->errbuf[0] = '\0';
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_TIMEOUT_MS, (long)left_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
           (long)(es->connect_timeout_ms < left_ms ? es->connect_timeout_ms : left_ms));
    SETOPT(CURLOPT_HTTPHEADER, kind == CALL_AUTH ? es->hdr_plain : c->hdr_token);
    SETOPT(CURLOPT_READDATA, b);
    SETOPT(CURLOPT_SEEKDATA, b);
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->size);

    CURLcode cc = curl_easy_perform(c->curl);
    if (cc != CURLE_OK) {
        if (c->ans.over || cc == CURLE_FILESIZE_EXCEEDED) {
            snprintf(why, why_size, "the answer is larger than %zu bytes", cap);
            *oc = OUT_TOO_BIG;
            return AECS_OK;
        }
        if (cc == CURLE_OPERATION_TIMEDOUT && b->sent)
            snprintf(why, why_size, "no answer within %lld ms", (long long)left_ms);
        else
            snprintf(why, why_size, "%.120s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
        if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
            cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_SSL_CERTPROBLEM)
            snprintf(why + strlen(why), why_size - strlen(why), " (TLS: check cacert=, cert=, key=)");
        *oc = b->sent ? OUT_LOST : OUT_UNREACHED;
        return AECS_OK;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    json_t *j = json_loadb(c->ans.data != NULL ? c->ans.data : "", c->ans.size,
                           JSON_REJECT_DUPLICATES, &jerr);
    answer_reset(&c->ans, cap);
    if (!json_is_object(j)) {
        json_free(j);
        snprintf(why, why_size,
                 "HTTP %ld with an answer that is not etcd's (is this etcd's client URL, etcd "
                 "3.4 or later?)",
                 status);
        return AECS_OK;
    }
    if (status == 200) {
        *out = j;
        *oc = OUT_OK;
        return AECS_OK;
    }
    const char *msg = json_string_value(json_object_get(j, "error"));
    if (msg == NULL)
        msg = json_string_value(json_object_get(j, "message"));
    long code = (long)json_integer_value(json_object_get(j, "code"));
    if (msg == NULL) {
        snprintf(why, why_size, "HTTP %ld", status);
    } else {
        snprintf(why, why_size, "%.120s", msg);
        *oc = classify(msg, code);
    }
    json_free(j);
    return AECS_OK;
}

static int authenticate(struct etcd_store *es, struct conn *c);

/* "URL: why; URL: why" for each endpoint, from the last failure of each (or "not tried"). */
static void reasons_text(const struct etcd_store *es, char why[][WHY_MAX], char *out, size_t size)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < es->url_count && len + 8 < size; i++) {
        len += (size_t)snprintf(out + len, size - len, "%s%s: %.100s", i > 0 ? "; " : "",
                                es->urls[i], why[i][0] ? why[i] : "not tried, out of time");
    }
}

/*
 * Sends req to path (POST, JSON) as the top of the file says, and on
 * success puts etcd's answer in *out (the caller frees it with json_free).
 * cap bounds the answer.
 */
static int call(struct etcd_store *es, struct conn *c, const char *path, const json_t *req,
                enum call_kind kind, size_t cap, json_t **out)
{
    int rc = AECS_OK;
    struct body b = {0};
    char why[AECS_STORE_ETCD_MAX_ENDPOINTS][WHY_MAX];
    char reasons[REASONS_MAX];
    int reauthed = kind == CALL_AUTH;
    int64_t backoff = BACKOFF_FIRST_MS;
    int64_t deadline = now_ms() + es->timeout_ms;
    char *text = json_dumps(req, JSON_COMPACT);
    size_t first;

    *out = NULL;
    pthread_mutex_lock(&es->lock);
    first = es->current;
    pthread_mutex_unlock(&es->lock);
    memset(why, 0, sizeof(why));
    ENSURE(text != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    b.data = text;
    b.size = strlen(text);
    for (;;) {
        int again = 0; /* some endpoint may serve the request if asked again a little later */
        size_t i = 0;

        while (i < es->url_count) {
            size_t ep = (first + i) % es->url_count;
            int64_t left = deadline - now_ms();
            enum outcome oc;
            json_t *j = NULL;
            int moved;

            if (left <= 0)
                break;
            GUARD_OUT(attempt(es, c, ep, path, &b, kind, cap, left, &oc, &j, why[ep], WHY_MAX));
            switch (oc) {
            case OUT_OK:
                /* The first call to get through elsewhere moves the others, and says so;
                   a call that got through where it started moves nobody (another call may
                   have left that endpoint meanwhile, for good reason). */
                moved = 0;
                if (ep != first) {
                    pthread_mutex_lock(&es->lock);
                    moved = es->current != ep;
                    es->current = ep;
                    pthread_mutex_unlock(&es->lock);
                }
                if (moved) {
                    reasons_text(es, why, reasons, sizeof(reasons));
                    log_warn("store: etcd: now using %s (%s)", es->urls[ep], reasons);
                }
                *out = j;
                goto out;
            case OUT_AUTH:
                ENSURE_OUT(es->user != NULL, AECS_E_IO,
                           "store: etcd: %s: %s (etcd wants a user: give user= and "
                           "password-file= in the spec)",
                           es->urls[ep], why[ep]);
                ENSURE_OUT(!reauthed, AECS_E_IO, "store: etcd: %s: %s, even after authenticating",
                           es->urls[ep], why[ep]);
                reauthed = 1;
                /* another call may have got a new token since this one was sent: use it */
                if (!token_changed(es, c))
                    GUARD_OUT(authenticate(es, c));
                continue; /* the same endpoint again */
            case OUT_UNREACHED:
                i++;
                continue;
            case OUT_RETRY:
                again = 1;
                i++;
                continue;
            case OUT_LOST:
            case OUT_UNKNOWN:
                ENSURE_OUT(kind != CALL_WRITE, AECS_E_IO,
                           "store: etcd: %s: %s: the write may or may not have been applied; "
                           "read the keys again before retrying",
                           es->urls[ep], why[ep]);
                again = 1;
                i++;
                continue;
            case OUT_TOO_BIG:
                BAIL_OUT(AECS_E_FORMAT, "store: etcd: %s: %s (values above aecs's limits?)",
                         es->urls[ep], why[ep]);
            case OUT_FAIL:
            default:
                BAIL_OUT(AECS_E_IO, "store: etcd: %s: %s", es->urls[ep], why[ep]);
            }
        }
        int64_t left = deadline - now_ms();
        if (!again || left <= 0)
            break;
        sleep_ms(backoff < left ? backoff : left);
        backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
    }
    reasons_text(es, why, reasons, sizeof(reasons));
    BAIL_OUT(AECS_E_IO, "store: etcd: no endpoint served the request within %ld ms (%s)",
             es->timeout_ms, reasons);
out:
    free_secret(text, b.size + 1);
    return rc;
}

/*
 * Exchanges user and password for a token (etcd's simple or JWT tokens), on
 * the caller's connection c, and makes it the handle's.
 */
static int authenticate(struct etcd_store *es, struct conn *c)
{
    json_t *resp = NULL;
    int rc = AECS_OK;
    /* etcd's names and passwords are protobuf strings: UTF-8 (json_stringn checks it) */
    json_t *name = json_string(es->user);
    json_t *pw = json_stringn(es->password, es->password_size);

    if (name == NULL || pw == NULL) {
        json_free(name);
        json_free(pw);
        return AECS_ERR(AECS_E_FORMAT, "store: etcd: the user name or the password is not UTF-8");
    }
    json_t *req = json_pack("{s:o, s:o}", "name", name, "password", pw);
    ENSURE(req != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    rc = call(es, c, "/v3/auth/authenticate", req, CALL_AUTH, ANSWER_BASE, &resp);
    json_free(req);
    if (rc != AECS_OK) {
        aecs_err_prefix("authenticating as %.100s: ", es->user);
        return rc;
    }
    const json_t *t = json_object_get(resp, "token");
    const char *token = json_string_value(t);
    size_t len = json_string_length(t);
    ENSURE_OUT(token != NULL && len > 0 && len < TOKEN_MAX, AECS_E_FORMAT,
               "store: etcd: authenticating as %.100s: no token in etcd's answer", es->user);
    /* it goes into a header: printable ASCII only */
    for (size_t i = 0; i < len; i++) {
        ENSURE_OUT(token[i] > 0x20 && token[i] < 0x7f, AECS_E_FORMAT,
                   "store: etcd: authenticating as %.100s: the token etcd gave has a byte that "
                   "cannot go into a header",
                   es->user);
    }
    GUARD_OUT(set_token(es, token, len));
    log_debug("store: etcd: authenticated as %.100s", es->user);
out:
    json_free(resp);
    return rc;
}

/* ----------------------------------------------------------------- calls */

static int get_on(struct etcd_store *es, struct conn *c, const char *key,
                  struct aecs_store_value *out)
{
    json_t *resp = NULL;
    char *found = NULL;
    int rc = AECS_OK;
    json_t *req = json_pack("{s:o}", "key", key_json(key));

    ENSURE(req != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    rc = call(es, c, "/v3/kv/range", req, CALL_READ, ANSWER_BASE + ANSWER_PER_VALUE, &resp);
    json_free(req);
    GUARD(rc);
    const json_t *kvs = json_object_get(resp, "kvs");
    if (json_array_size(kvs) == 0)
        BAIL_OUT(AECS_E_NOT_FOUND, "store: %.200s: no such key", key);
    GUARD_OUT(aecs_store_etcd_read_kv(json_array_get(kvs, 0), &found, &out->version, &out->data,
                                      &out->size));
    ENSURE_OUT(strcmp(found, key) == 0, AECS_E_FORMAT,
               "store: etcd answered a get of %.200s with another key", key);
out:
    free(found);
    json_free(resp);
    if (rc != AECS_OK)
        aecs_store_value_free(out);
    return rc;
}

static int etcd_get(struct aecs_store *s, const char *key, struct aecs_store_value *out)
{
    struct etcd_store *es = (struct etcd_store *)s;

    struct conn *c = conn_take(es);
    int rc = get_on(es, c, key, out);
    conn_put(es, c);
    return rc;
}

/*
 * One Range of a list: keys from start (start_size bytes) up to prefix_end,
 * at most limit, at revision rev (0: the latest). The answer goes to *resp.
 */
static int list_range(struct etcd_store *es, struct conn *c, const char *start,
                      size_t start_size, const char *prefix_end, size_t limit, int values,
                      uint64_t rev, json_t **resp)
{
    char revtext[24];
    json_t *req;
    int rc;

    snprintf(revtext, sizeof(revtext), "%llu", (unsigned long long)rev);
    req = json_pack("{s:o, s:o, s:I, s:b, s:s}", "key", b64_json(start, start_size), "range_end",
                    key_json(prefix_end), "limit", (json_int_t)limit, "keys_only", !values,
                    "revision", revtext);
    ENSURE(req != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    rc = call(es, c, "/v3/kv/range", req, CALL_READ,
              ANSWER_BASE + limit * (values ? ANSWER_PER_VALUE : ANSWER_PER_KEY), resp);
    json_free(req);
    return rc;
}

/* One try at a list (see the top of the file); *compacted when the revision went away. */
static int list_once(struct etcd_store *es, struct conn *c, const char *prefix,
                     const char *prefix_end, const char *start_after, size_t limit, int values,
                     struct aecs_store_list *out, int *compacted)
{
    char start[AECS_STORE_KEY_MAX + 2];
    size_t start_size;
    uint64_t rev = 0;
    size_t bytes = 0;
    json_t *resp = NULL;
    int rc = AECS_OK;

    *compacted = 0;
    out->items = calloc(limit, sizeof(*out->items));
    ENSURE(out->items != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    /* The first key: the prefix, or just after the cursor ("\0" appended) when that is later. */
    if (start_after == NULL || strcmp(start_after, prefix) < 0) {
        start_size = strlen(prefix);
        memcpy(start, prefix, start_size);
    } else {
        start_size = strlen(start_after) + 1;
        memcpy(start, start_after, start_size); /* with its NUL: the byte after it */
    }
    /* Nothing can match past the prefix's end (etcd's answer to key >= range_end is not one). */
    size_t end_size = strlen(prefix_end);
    size_t common = start_size < end_size ? start_size : end_size;
    int cmp = memcmp(start, prefix_end, common);
    if (cmp > 0 || (cmp == 0 && start_size >= end_size))
        return AECS_OK;

    for (;;) {
        size_t want = limit - out->count;
        if (values && want > LIST_VALUE_CHUNK)
            want = LIST_VALUE_CHUNK;
        rc = list_range(es, c, start, start_size, prefix_end, want, values, rev, &resp);
        if (rc != AECS_OK && rev != 0 && strstr(aecs_err_last()->message, "compacted") != NULL)
            *compacted = 1;
        GUARD_OUT(rc);
        if (rev == 0) {
            GUARD_OUT(json_u64(json_object_get(resp, "header"), "revision", &rev));
            ENSURE_OUT(rev > 0, AECS_E_FORMAT, "store: etcd: no revision in etcd's answer");
        }
        const json_t *kvs = json_object_get(resp, "kvs");
        size_t n = json_array_size(kvs);
        int etcd_more = json_is_true(json_object_get(resp, "more"));
        ENSURE_OUT(n <= want, AECS_E_FORMAT, "store: etcd answered with more keys than asked");
        for (size_t i = 0; i < n; i++) {
            struct aecs_store_item it = {0};
            GUARD_OUT(aecs_store_etcd_read_kv(json_array_get(kvs, i), &it.key, &it.version,
                                              values ? &it.value : NULL, &it.value_size));
            ENSURE_OUT(strncmp(it.key, prefix, strlen(prefix)) == 0 &&
                           (start_after == NULL || strcmp(it.key, start_after) > 0) &&
                           (out->count == 0 || strcmp(it.key, out->items[out->count - 1].key) > 0),
                       AECS_E_FORMAT, "store: etcd answered a list with a key out of its range");
            if (values && out->count > 0 && bytes + it.value_size > AECS_STORE_LIST_MAX_SIZE) {
                free(it.key);
                free_secret((char *)it.value, it.value_size);
                out->more = 1;
                goto out;
            }
            bytes += it.value_size;
            out->items[out->count++] = it;
        }
        if (out->count == limit || !etcd_more) {
            out->more = etcd_more;
            goto out;
        }
        ENSURE_OUT(n > 0, AECS_E_FORMAT, "store: etcd said there is more but sent no key");
        /* the next chunk starts just after the last key */
        start_size = strlen(out->items[out->count - 1].key) + 1;
        memcpy(start, out->items[out->count - 1].key, start_size);
        json_free(resp);
        resp = NULL;
    }
out:
    json_free(resp);
    if (rc != AECS_OK)
        aecs_store_list_free(out);
    return rc;
}

static int etcd_list(struct aecs_store *s, const char *prefix, const char *prefix_end,
                     const char *start_after, size_t limit, unsigned flags,
                     struct aecs_store_list *out)
{
    struct etcd_store *es = (struct etcd_store *)s;
    int values = (flags & AECS_STORE_LIST_VALUES) != 0;
    int compacted = 0;
    int rc;

    struct conn *c = conn_take(es);
    for (int i = 0;; i++) {
        rc = list_once(es, c, prefix, prefix_end, start_after, limit, values, out, &compacted);
        if (rc == AECS_OK || !compacted || i + 1 == LIST_ATTEMPTS)
            break;
        log_info("store: etcd: the revision of a list was compacted meanwhile; listing again");
    }
    conn_put(es, c);
    return rc;
}

/* The Txn request of backend.h's txn (see the top of the file). */
static json_t *txn_request(const struct aecs_store_compare *cmps, size_t cmp_count,
                           const struct aecs_store_op *ops, size_t op_count)
{
    json_t *compare = json_array();
    json_t *success = json_array();
    json_t *failure = json_array();
    json_t *req = json_pack("{s:o, s:o, s:o}", "compare", compare, "success", success, "failure",
                            failure);

    if (req == NULL)
        return NULL;
    for (size_t i = 0; i < cmp_count; i++) {
        char v[24];
        snprintf(v, sizeof(v), "%llu", (unsigned long long)cmps[i].version);
        if (json_array_append_new(compare, json_pack("{s:o, s:s, s:s, s:s}", "key",
                                                     key_json(cmps[i].key), "target", "VERSION",
                                                     "result", "EQUAL", "version", v)) != 0 ||
            json_array_append_new(failure,
                                  json_pack("{s:{s:o, s:b}}", "request_range", "key",
                                            key_json(cmps[i].key), "keys_only", 1)) != 0)
            goto fail;
    }
    for (size_t i = 0; i < op_count; i++) {
        json_t *op;
        if (ops[i].kind == AECS_STORE_OP_PUT)
            op = json_pack("{s:{s:o, s:o, s:b}}", "request_put", "key", key_json(ops[i].key),
                           "value", b64_json(ops[i].value, ops[i].value_size), "prev_kv", 1);
        else
            op = json_pack("{s:{s:o, s:b}}", "request_delete_range", "key", key_json(ops[i].key),
                           "prev_kv", 1);
        if (json_array_append_new(success, op) != 0)
            goto fail;
    }
    return req;
fail:
    json_free(req);
    return NULL;
}

/* The version of the first kv in list (prev_kvs, kvs), or of the object kv; 0 when none. */
static int first_version(const json_t *list, const json_t *kv, uint64_t *out)
{
    *out = 0;
    if (list != NULL) {
        ENSURE(json_is_array(list), AECS_E_FORMAT, "store: etcd: a kv list is not an array");
        kv = json_array_get(list, 0);
    }
    if (kv == NULL)
        return AECS_OK;
    ENSURE(json_is_object(kv), AECS_E_FORMAT, "store: etcd: a kv is not an object");
    GUARD(json_u64(kv, "version", out));
    ENSURE(*out >= 1 && *out < (uint64_t)INT64_MAX, AECS_E_FORMAT,
           "store: etcd: a kv has version %llu", (unsigned long long)*out);
    return AECS_OK;
}

static int txn_on(struct etcd_store *es, struct conn *c, const struct aecs_store_compare *cmps,
                  size_t cmp_count, const struct aecs_store_op *ops, size_t op_count,
                  uint64_t *versions)
{
    json_t *resp = NULL;
    int rc;
    json_t *req = txn_request(cmps, cmp_count, ops, op_count);

    ENSURE(req != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    rc = call(es, c, "/v3/kv/txn", req, op_count > 0 ? CALL_WRITE : CALL_READ,
              ANSWER_BASE + op_count * ANSWER_PER_VALUE + cmp_count * ANSWER_PER_KEY, &resp);
    json_free(req);
    GUARD(rc);
    rc = aecs_store_etcd_txn_answer(resp, cmps, cmp_count, ops, op_count, versions);
    json_free(resp);
    return rc;
}

int aecs_store_etcd_txn_answer(const json_t *resp, const struct aecs_store_compare *cmps,
                               size_t cmp_count, const struct aecs_store_op *ops, size_t op_count,
                               uint64_t *versions)
{
    int rc = AECS_OK;
    const json_t *responses = json_object_get(resp, "responses");
    int succeeded = json_is_true(json_object_get(resp, "succeeded"));
    size_t want = succeeded ? op_count : cmp_count;
    ENSURE_OUT(json_array_size(responses) == want, AECS_E_FORMAT,
               "store: etcd answered a txn with %zu responses, not %zu",
               json_array_size(responses), want);
    if (!succeeded) {
        ENSURE_OUT(cmp_count > 0, AECS_E_FORMAT, "store: etcd failed a txn that has no compares");
        for (size_t i = 0; i < cmp_count; i++) {
            const json_t *r = json_object_get(json_array_get(responses, i), "response_range");
            uint64_t found = 0;
            ENSURE_OUT(json_is_object(r), AECS_E_FORMAT,
                       "store: etcd: a txn's failure branch has no range answer");
            GUARD_OUT(first_version(json_object_get(r, "kvs"), NULL, &found));
            if (found != cmps[i].version) {
                rc = AECS_STORE_MISMATCH(cmps[i].key, cmps[i].version, found);
                goto out;
            }
        }
        BAIL_OUT(AECS_E_FORMAT, "store: etcd failed a txn whose compares all hold");
    }
    for (size_t i = 0; i < op_count; i++) {
        const json_t *r = json_array_get(responses, i);
        uint64_t prev = 0;
        if (ops[i].kind == AECS_STORE_OP_PUT) {
            const json_t *p = json_object_get(r, "response_put");
            ENSURE_OUT(json_is_object(p), AECS_E_FORMAT, "store: etcd: a put has no answer");
            GUARD_OUT(first_version(NULL, json_object_get(p, "prev_kv"), &prev));
            versions[i] = prev + 1;
        } else {
            const json_t *d = json_object_get(r, "response_delete_range");
            ENSURE_OUT(json_is_object(d), AECS_E_FORMAT, "store: etcd: a delete has no answer");
            GUARD_OUT(first_version(json_object_get(d, "prev_kvs"), NULL, &prev));
            versions[i] = prev;
        }
    }
out:
    if (rc != AECS_OK)
        memset(versions, 0, op_count * sizeof(*versions));
    return rc;
}

static int etcd_txn(struct aecs_store *s, const struct aecs_store_compare *cmps, size_t cmp_count,
                    const struct aecs_store_op *ops, size_t op_count, uint64_t *versions)
{
    struct etcd_store *es = (struct etcd_store *)s;

    struct conn *c = conn_take(es);
    int rc = txn_on(es, c, cmps, cmp_count, ops, op_count, versions);
    conn_put(es, c);
    return rc;
}

/* No call may be running (store.h): every connection is idle. */
static void etcd_free(struct aecs_store *s)
{
    struct etcd_store *es = (struct etcd_store *)s;

    for (size_t i = 0; i < es->conn_count; i++) {
        struct conn *c = &es->conns[i];
        if (c->curl != NULL)
            curl_easy_cleanup(c->curl);
        free_slist(c->hdr_token);
        answer_reset(&c->ans, 0);
    }
    free_slist(es->hdr_plain);
    free_secret(es->token, es->token_size + 1);
    for (size_t i = 0; i < es->url_count; i++)
        free(es->urls[i]);
    free(es->cacert);
    free(es->cert);
    free(es->key);
    free(es->user);
    free_secret(es->password, es->password_size + 1);
    pthread_cond_destroy(&es->idle_cond);
    pthread_mutex_destroy(&es->lock);
    free(es);
}

static const struct aecs_store_ops k_etcd_ops = {
    .name = "etcd",
    .get = etcd_get,
    .list = etcd_list,
    .txn = etcd_txn,
    .free = etcd_free,
};

/* --------------------------------------------------------------- open */

static int copy_span(struct aecs_store_span sp, char **out)
{
    *out = NULL;
    if (sp.len == 0)
        return AECS_OK;
    *out = strndup(sp.p, sp.len);
    ENSURE(*out != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    return AECS_OK;
}

/* Reads the password: the file's bytes without one final newline. */
static int read_password(struct etcd_store *es, const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    struct stat st;
    int rc;

    rc = aecs_file_read(path, PASSWORD_MAX, &data, &size);
    if (rc != AECS_OK) {
        char why[300]; /* the recorded message is overwritten below */
        snprintf(why, sizeof(why), "%.250s", aecs_err_last()->message);
        return AECS_ERR(AECS_E_IO, "store: etcd: cannot read the password-file: %s", why);
    }
    if (stat(path, &st) == 0 && (st.st_mode & 0077) != 0)
        log_warn("store: etcd: password file %.200s can be read by group or others (mode %04o)",
                 path, (unsigned)(st.st_mode & 07777));
    if (size > 0 && data[size - 1] == '\n')
        size--;
    if (size > 0 && data[size - 1] == '\r')
        size--;
    data[size] = '\0';
    if (size == 0 || memchr(data, '\0', size) != NULL) {
        free_secret((char *)data, size + 1);
        return AECS_ERR(AECS_E_FORMAT, "store: etcd: password file %.200s %s", path,
                        size == 0 ? "is empty" : "has a NUL byte");
    }
    es->password = (char *)data;
    es->password_size = size;
    return AECS_OK;
}

/* Creates connection c's curl handle (it connects at its first request). */
static int setup_curl(struct etcd_store *es, struct conn *c)
{
    c->curl = curl_easy_init();
    ENSURE(c->curl != NULL, AECS_E_NO_MEMORY, "store: etcd: cannot create a libcurl handle");
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_PROXY, ""); /* never a proxy from the environment */
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_READFUNCTION, on_body_read);
    SETOPT(CURLOPT_SEEKFUNCTION, on_body_seek);
    SETOPT(CURLOPT_WRITEFUNCTION, on_answer);
    SETOPT(CURLOPT_WRITEDATA, &c->ans);
    SETOPT(CURLOPT_ERRORBUFFER, c->errbuf);
    SETOPT(CURLOPT_USERAGENT, "aecs/0.1");
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    if (es->cacert != NULL)
        SETOPT(CURLOPT_CAINFO, es->cacert);
    if (es->cert != NULL) {
        SETOPT(CURLOPT_SSLCERT, es->cert);
        SETOPT(CURLOPT_SSLKEY, es->key);
    }
    return AECS_OK;
}

static int loopback_url(const char *url)
{
    return strncmp(url, "http://127.", 11) == 0 || strncmp(url, "http://localhost:", 17) == 0 ||
           strncmp(url, "http://[::1]:", 13) == 0;
}

/* One cheap request that needs no key permission: reachable, etcd, has a leader. */
static int probe(struct etcd_store *es, struct conn *c)
{
    json_t *resp = NULL;
    json_t *req = json_object();
    int rc;

    ENSURE(req != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    rc = call(es, c, "/v3/maintenance/status", req, CALL_READ, ANSWER_BASE, &resp);
    json_free(req);
    json_free(resp);
    return rc;
}

int aecs_store_etcd_open(const char *location, struct aecs_store **out)
{
    struct aecs_store_etcd_spec sp;
    struct etcd_store *es = NULL;
    struct conn *c = NULL;
    char *pwfile = NULL;
    int rc = AECS_OK;

    *out = NULL;
    GUARD(aecs_store_etcd_spec_parse(location, &sp));
    es = calloc(1, sizeof(*es));
    ENSURE(es != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    es->base.ops = &k_etcd_ops;
    pthread_mutex_init(&es->lock, NULL);
    pthread_cond_init(&es->idle_cond, NULL);
    for (size_t i = 0; i < sp.endpoint_count; i++) {
        GUARD_OUT(copy_span(sp.endpoints[i], &es->urls[i]));
        es->url_count++;
    }
    GUARD_OUT(copy_span(sp.cacert, &es->cacert));
    GUARD_OUT(copy_span(sp.cert, &es->cert));
    GUARD_OUT(copy_span(sp.key, &es->key));
    GUARD_OUT(copy_span(sp.user, &es->user));
    GUARD_OUT(copy_span(sp.password_file, &pwfile));
    es->timeout_ms = sp.timeout_ms;
    es->connect_timeout_ms = sp.connect_timeout_ms;
    if (pwfile != NULL)
        GUARD_OUT(read_password(es, pwfile));
    GUARD_OUT(aecs_http_init());
    GUARD_OUT(build_headers(NULL, &es->hdr_plain));
    for (size_t i = 0; i < sp.connections; i++) {
        es->conn_count++;
        GUARD_OUT(setup_curl(es, &es->conns[i]));
        /* pushed in reverse, so that a lone caller always takes conns[0] */
        es->idle[i] = &es->conns[sp.connections - 1 - i];
    }
    es->idle_count = es->conn_count;
    /* authenticate and probe on one connection; the others connect when first needed */
    c = conn_take(es);
    if (es->user != NULL) {
        for (size_t i = 0; i < es->url_count; i++) {
            if (!sp.tls && !loopback_url(es->urls[i]))
                log_warn("store: etcd: the password of %.100s goes to %s in clear (http://)",
                         es->user, es->urls[i]);
        }
        GUARD_OUT(authenticate(es, c));
    }
    GUARD_OUT(probe(es, c));
    conn_put(es, c);
    c = NULL;
    *out = &es->base;
    es = NULL;
out:
    free(pwfile);
    if (c != NULL && es != NULL)
        conn_put(es, c);
    if (es != NULL)
        etcd_free(&es->base);
    return rc;
}

size_t aecs_store_etcd_peak_calls(struct aecs_store *s)
{
    struct etcd_store *es = (struct etcd_store *)s;

    if (s == NULL || s->ops != &k_etcd_ops)
        return 0;
    pthread_mutex_lock(&es->lock);
    size_t peak = es->peak;
    pthread_mutex_unlock(&es->lock);
    return peak;
}
