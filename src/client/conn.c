/*
 * conn.c - a connection to aecsd over libcurl; see conn.h.
 *
 * One easy handle per connection, reset (curl_easy_reset keeps live
 * connections and the TLS session cache) and configured afresh for every
 * request, so nothing of one request leaks into the next. Answers go into a
 * capped buffer that is wiped before it is freed, since some carry shares.
 * Signing builds the string of proto/reqsig.h from exactly the target and
 * body bytes handed to libcurl (CURLOPT_PATH_AS_IS: the path is sent as is).
 * Raw requests (aecs_conn_request_raw) keep the answer's bytes as they came
 * and one response header, for answers whose signature covers the body.
 */
#include "client/conn.h"
#include "proto/json_wipe.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/tls_pin.h"
#include "net/http.h"
#include "proto/reqsig.h"

#define TARGET_MAX 2048
/* How much of the server's error message is kept. */
#define SERVER_MESSAGE_MAX 470

struct aecs_conn {
    const struct aecs_cred *cred;
    struct aecs_conn_options opts;
    CURL *h;
    size_t server;           /* index into cred->servers */
    struct aecs_tls_pin tls; /* the pin, and the last certificate seen */
    char service_id[AECS_REQSIG_SERVICE_ID_HEX + 1];
    int service_id_known; /* service_id was read ("" for an uninitialized service) */
    struct aecs_sigkey *key; /* loaded on first use */
    char key_id[AECS_SIGKEY_ID_HEX + 1];
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- buffers ---- */

/* A growing answer buffer with a cap; wiped when released. */
struct answer {
    char *data;
    size_t size;
    size_t alloc;
    size_t cap;
    int over;
    /* The one response header kept (raw requests), or NULL. */
    const char *hdr_name;
    char hdr[AECS_CONN_HEADER_MAX + 1];
    int hdr_count; /* times it came in the final response */
};

static void answer_release(struct answer *a)
{
    if (a->data != NULL)
        aecs_cleanse(a->data, a->alloc);
    free(a->data);
    memset(a, 0, sizeof(*a));
}

/* Grows by copying into a fresh buffer and wiping the old one (realloc would leave copies). */
static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct answer *a = arg;
    size_t n = size * nmemb;

    if (n > a->cap - a->size) {
        a->over = 1;
        return 0;
    }
    if (a->size + n + 1 > a->alloc) {
        size_t want = a->alloc ? a->alloc : 4096;
        while (want < a->size + n + 1)
            want *= 2;
        char *grown = malloc(want);
        if (grown == NULL)
            return 0;
        if (a->data != NULL) {
            memcpy(grown, a->data, a->size);
            aecs_cleanse(a->data, a->alloc);
            free(a->data);
        }
        a->data = grown;
        a->alloc = want;
    }
    memcpy(a->data + a->size, p, n);
    a->size += n;
    a->data[a->size] = '\0';
    return n;
}

/*
 * Keeps the value of a->hdr_name (blanks around it dropped). A status line
 * starts a new response (an interim 1xx one came first): what the earlier one
 * said is forgotten. A value too long to keep is counted but left empty, so
 * the caller sees a header it cannot use.
 */
static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct answer *a = arg;
    size_t n = size * nmemb;
    const char *v = NULL;
    size_t len = 0;
    enum aecs_http_line kind = aecs_http_header_line(p, n, a->hdr_name, &v, &len);

    if (kind == AECS_HTTP_LINE_STATUS) {
        a->hdr_count = 0;
        a->hdr[0] = '\0';
        return n;
    }
    if (kind != AECS_HTTP_LINE_MATCH)
        return n;
    a->hdr_count++;
    if (len > AECS_CONN_HEADER_MAX)
        len = 0;
    memcpy(a->hdr, v, len);
    a->hdr[len] = '\0';
    return n;
}

/* ---- JSON ---- */


void aecs_reply_clear(struct aecs_reply *reply)
{
    if (reply == NULL)
        return;
    aecs_json_wipe(reply->body);
    json_decref(reply->body);
    memset(reply, 0, sizeof(*reply));
}

/* ---- opening ---- */

static int url_is_https(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0;
}

int aecs_conn_open(const struct aecs_cred *cred, const struct aecs_conn_options *opts,
                   struct aecs_conn **out)
{
    int rc = AECS_OK;
    struct aecs_conn *c = NULL;
    uint8_t fp[AECS_TLS_FINGERPRINT_SIZE];

    *out = NULL;
    ENSURE(cred != NULL, AECS_E_INVALID_ARGUMENT, "no credentials given");
    GUARD(aecs_cred_check(cred, 0));
    c = calloc(1, sizeof(*c));
    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");
    c->cred = cred;
    if (opts != NULL)
        c->opts = *opts;
    if (c->opts.connect_timeout_ms <= 0)
        c->opts.connect_timeout_ms = AECS_CONN_DEFAULT_CONNECT_TIMEOUT_MS;
    if (c->opts.timeout_ms <= 0)
        c->opts.timeout_ms = AECS_CONN_DEFAULT_TIMEOUT_MS;
    if (c->opts.max_response_size == 0)
        c->opts.max_response_size = AECS_CONN_DEFAULT_MAX_RESPONSE;
    for (size_t i = 0; i < cred->server_count; i++)
        ENSURE_OUT(url_is_https(cred->servers[i]) || c->opts.insecure_allow_http_insecure,
                   AECS_E_INVALID_ARGUMENT,
                   "%.200s: plain http:// is refused: aecsd speaks HTTPS only (https://...)",
                   cred->servers[i]);
    if (cred->pinned) {
        c->tls = cred->pin;
        c->tls.pinned = 1;
    } else {
        /* The CA file must hold a certificate: say so now rather than as a TLS failure. */
        rc = aecs_tls_cert_fingerprint_file(cred->ca, fp);
        if (rc != AECS_OK) {
            aecs_err_prefix("ca: ");
            goto out;
        }
    }
    pthread_once(&g_curl_once, curl_init_once);
    ENSURE_OUT(g_curl_init_rc == CURLE_OK, AECS_E_INTERNAL, "libcurl initialisation failed: %s",
               curl_easy_strerror(g_curl_init_rc));
    c->h = curl_easy_init();
    ENSURE_OUT(c->h != NULL, AECS_E_NO_MEMORY, "cannot create a libcurl handle");
    *out = c;
    c = NULL;
out:
    aecs_conn_free(c);
    return rc;
}

void aecs_conn_free(struct aecs_conn *c)
{
    if (c == NULL)
        return;
    if (c->h != NULL)
        curl_easy_cleanup(c->h);
    aecs_sigkey_free(c->key);
    free(c);
}

const char *aecs_conn_server(const struct aecs_conn *c)
{
    return c->cred->servers[c->server];
}

int aecs_conn_peer_fingerprint(const struct aecs_conn *c, uint8_t out[AECS_TLS_FINGERPRINT_SIZE])
{
    ENSURE(c->tls.seen, AECS_E_NOT_FOUND, "no server certificate seen yet");
    memcpy(out, c->tls.seen_sha256, AECS_TLS_FINGERPRINT_SIZE);
    return AECS_OK;
}

int aecs_conn_key(struct aecs_conn *c, const struct aecs_sigkey **key)
{
    *key = NULL;
    if (c->key == NULL) {
        ENSURE(c->cred->key != NULL, AECS_E_INVALID_ARGUMENT,
               "%.200s: no `key` (the admin's private key file, made by `aecs keygen`): signed "
               "requests need one",
               c->cred->source);
        GUARD(aecs_sigkey_load_private(c->cred->key, &c->key));
        if (aecs_sigkey_id(c->key, c->key_id) != AECS_OK) {
            aecs_sigkey_free(c->key);
            c->key = NULL;
            return aecs_err_last()->code;
        }
    }
    *key = c->key;
    return AECS_OK;
}

/* ---- one exchange ---- */

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (curl_easy_setopt(c->h, (opt), (val)) != CURLE_OK)                                      \
            BAIL_OUT(AECS_E_INTERNAL, "libcurl refused option %s", #opt);                          \
    } while (0)

static int check_target(const char *target)
{
    size_t len;

    ENSURE(target != NULL && target[0] == '/', AECS_E_INVALID_ARGUMENT,
           "request target must start with '/'");
    len = strnlen(target, TARGET_MAX + 1);
    ENSURE(len <= TARGET_MAX, AECS_E_INVALID_ARGUMENT, "request target longer than %d bytes",
           TARGET_MAX);
    for (size_t i = 0; i < len; i++)
        ENSURE((unsigned char)target[i] > 0x20 && (unsigned char)target[i] < 0x7f,
               AECS_E_INVALID_ARGUMENT,
               "request target holds a space, a control character or a non-ASCII byte");
    return AECS_OK;
}

/* Adds one "Name: value" header to the list. */
static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[512];
    struct curl_slist *grown;

    ENSURE((size_t)snprintf(line, sizeof(line), "%s: %s", name, value) < sizeof(line),
           AECS_E_INTERNAL, "header %s too long", name);
    grown = curl_slist_append(*list, line);
    ENSURE(grown != NULL, AECS_E_NO_MEMORY, "out of memory");
    *list = grown;
    return AECS_OK;
}

/* The four X-Aecs-* headers of a signed request. */
static int sign_headers(struct aecs_conn *c, const char *method, const char *target,
                        const char *body, size_t body_size, struct curl_slist **list)
{
    int rc = AECS_OK;
    const struct aecs_sigkey *key = NULL;
    const char *service_id = NULL;
    uint8_t raw_nonce[AECS_REQSIG_NONCE_HEX / 2];
    char nonce[AECS_REQSIG_NONCE_HEX + 1];
    char timestamp[24];
    struct aecs_reqsig_fields f;
    char *canonical = NULL;
    size_t canonical_size = 0;
    uint8_t sig[AECS_SIGKEY_SIG_MAX];
    size_t sig_size = 0;
    char sig_b64[((AECS_SIGKEY_SIG_MAX + 2) / 3) * 4 + 1];

    GUARD(aecs_conn_key(c, &key));
    GUARD(aecs_conn_service_id(c, &service_id));
    GUARD(aecs_random_bytes(raw_nonce, sizeof(raw_nonce)));
    aecs_hex_encode(raw_nonce, sizeof(raw_nonce), nonce);
    memset(&f, 0, sizeof(f));
    f.method = method;
    f.target = target;
    f.service_id = service_id;
    f.body = (const uint8_t *)body;
    f.body_size = body_size;
    f.timestamp = aecs_time_now();
    f.nonce = nonce;
    f.key_id = c->key_id;
    snprintf(timestamp, sizeof(timestamp), "%" PRId64, f.timestamp);
    GUARD(aecs_reqsig_canonical(&f, &canonical, &canonical_size));
    GUARD_OUT(aecs_sigkey_sign(key, canonical, canonical_size, sig, &sig_size));
    aecs_base64_encode(sig, sig_size, sig_b64);
    GUARD_OUT(add_header(list, AECS_HDR_KEY, c->key_id));
    GUARD_OUT(add_header(list, AECS_HDR_TIMESTAMP, timestamp));
    GUARD_OUT(add_header(list, AECS_HDR_NONCE, nonce));
    GUARD_OUT(add_header(list, AECS_HDR_SIGNATURE, sig_b64));
    log_debug("signed %s %.200s with key %s", method, target, c->key_id);
out:
    free(canonical);
    return rc;
}

/* Copies the server's message with control characters replaced, cut short. */
static void clean_message(const char *in, char *out, size_t size)
{
    size_t n = 0;

    for (; in[0] != '\0' && n + 1 < size; in++) {
        unsigned char ch = (unsigned char)*in;
        out[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    out[n] = '\0';
    if (in[0] != '\0' && size > 4)
        memcpy(out + size - 4, "...", 4);
}

static int error_for_status(long status)
{
    if (status == 404)
        return AECS_E_NOT_FOUND;
    if (status == 413)
        return AECS_E_TOO_LARGE;
    if (status == 401 || status == 403)
        return AECS_E_UNTRUSTED;
    if (status >= 400 && status < 500)
        return AECS_E_INVALID_ARGUMENT;
    return AECS_E_IO;
}

/* Turns an answer that is not a 2xx into an error with the server's message and code. */
static int error_answer(struct aecs_conn *c, struct aecs_reply *reply)
{
    json_t *err = json_object_get(reply->body, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *message = json_string_value(json_object_get(err, "message"));
    char clean[SERVER_MESSAGE_MAX + 1];
    int ecode = error_for_status(reply->status);

    if (code != NULL) {
        size_t n = strnlen(code, sizeof(reply->code));
        int ok = n > 0 && n < sizeof(reply->code);
        for (size_t i = 0; ok && i < n; i++)
            ok = (code[i] >= 'a' && code[i] <= 'z') || code[i] == '_';
        if (ok)
            memcpy(reply->code, code, n + 1);
    }
    if (message != NULL && message[0] != '\0') {
        clean_message(message, clean, sizeof(clean));
        return AECS_ERR(ecode, "%s", clean);
    }
    if (reply->status >= 300 && reply->status < 400)
        return AECS_ERR(ecode, "%.200s answered HTTP %ld, a redirect (not followed)",
                        aecs_conn_server(c), reply->status);
    return AECS_ERR(ecode, "%.200s answered HTTP %ld%s%s", aecs_conn_server(c), reply->status,
                    reply->code[0] ? ": " : " without an aecs error", reply->code);
}

/* A failure to reach the server at all, when the next server may be tried. */
static int unreachable(CURLcode cc)
{
    return cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT;
}

/* What went wrong when no answer arrived. */
static int transport_error(struct aecs_conn *c, CURLcode cc, const struct answer *a)
{
    const char *server = aecs_conn_server(c);
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
    char seen[AECS_TLS_FINGERPRINT_TEXT];

    if (a->over || cc == CURLE_FILESIZE_EXCEEDED)
        return AECS_ERR(AECS_E_TOO_LARGE, "%.200s: the answer is larger than %zu bytes", server,
                        c->opts.max_response_size);
    if (c->tls.pinned && c->tls.refused) {
        aecs_tls_fingerprint_format(c->tls.seen_sha256, seen);
        return AECS_ERR(AECS_E_IO,
                        "%.200s: TLS: the server's certificate (SHA-256 %s) is not the one "
                        "pinned by `fingerprint` in %.200s",
                        server, seen, c->cred->source);
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
        cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CONNECT_ERROR) {
        if (c->tls.pinned)
            return AECS_ERR(AECS_E_IO, "%.200s: TLS: %.200s", server, why);
        return AECS_ERR(AECS_E_IO,
                        "%.200s: TLS: %.200s (the server's certificate must chain to `ca` "
                        "%.200s and name the host)",
                        server, why, c->cred->ca);
    }
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return AECS_ERR(AECS_E_IO, "%.200s: no answer in time: %.200s", server, why);
    return AECS_ERR(AECS_E_IO, "cannot reach %.200s: %.200s", server, why);
}

static int configure(struct aecs_conn *c, const char *url, struct answer *a)
{
    int rc = AECS_OK;

    curl_easy_reset(c->h);
    c->errbuf[0] = '\0';
    c->tls.refused = 0; /* set again by this request's handshake, if it refuses */
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_PROTOCOLS_STR, c->opts.insecure_allow_http_insecure ? "http,https" : "https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_PATH_AS_IS, 1L);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
    SETOPT(CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->opts.max_response_size);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, a);
    SETOPT(CURLOPT_ERRORBUFFER, c->errbuf);
    SETOPT(CURLOPT_USERAGENT, "aecs/0.1");
    SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    /* Every TLS handshake records the server's certificate; pinned, it decides. */
    if (curl_easy_setopt(c->h, CURLOPT_SSL_CTX_FUNCTION, aecs_tls_pin_ssl_ctx_cb) != CURLE_OK) {
        ENSURE_OUT(!c->tls.pinned, AECS_E_UNSUPPORTED,
                   "this libcurl cannot pin certificates (it is not built with OpenSSL): use "
                   "`ca` instead of `fingerprint`");
    } else {
        SETOPT(CURLOPT_SSL_CTX_DATA, &c->tls);
    }
    if (a->hdr_name != NULL) {
        SETOPT(CURLOPT_HEADERFUNCTION, on_header);
        SETOPT(CURLOPT_HEADERDATA, a);
    }
    if (c->tls.pinned) {
        SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
        SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        /* Only the credential's CA: not the system's bundle, not its folder. */
        SETOPT(CURLOPT_CAINFO, c->cred->ca);
        SETOPT(CURLOPT_CAPATH, (char *)NULL);
        SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    }
out:
    return rc;
}

/*
 * One attempt against the current server. *cc gets curl's result. Signing
 * comes first: it may itself send GET /v1/status on this handle.
 */
static int exchange(struct aecs_conn *c, const char *method, const char *target, const char *body,
                    size_t body_size, unsigned flags, struct answer *a, long *status, CURLcode *cc)
{
    int rc = AECS_OK;
    struct curl_slist *headers = NULL;
    char url[AECS_CRED_VALUE_MAX + TARGET_MAX + 1];

    *status = 0;
    *cc = CURLE_OK;
    if (flags & AECS_REQ_SIGNED)
        GUARD_OUT(sign_headers(c, method, target, body, body_size, &headers));
    GUARD_OUT(add_header(&headers, "Accept", "application/json"));
    GUARD_OUT(add_header(&headers, "Expect", "")); /* no 100-continue round trip */
    if (body != NULL || strcmp(method, "POST") == 0)
        GUARD_OUT(add_header(&headers, "Content-Type", "application/json"));
    snprintf(url, sizeof(url), "%s%s", aecs_conn_server(c), target);
    GUARD_OUT(configure(c, url, a));
    if (strcmp(method, "GET") == 0) {
        SETOPT(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "POST") == 0) {
        SETOPT(CURLOPT_POST, 1L);
        SETOPT(CURLOPT_POSTFIELDS, body != NULL ? body : "");
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_size);
    } else {
        SETOPT(CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL) {
            SETOPT(CURLOPT_POSTFIELDS, body);
            SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_size);
        }
    }
    SETOPT(CURLOPT_HTTPHEADER, headers);
    *cc = curl_easy_perform(c->h);
    if (*cc == CURLE_OK)
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, status);
out:
    /* The handle must not point at freed headers or at the caller's body any longer. */
    (void)curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    (void)curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, (char *)NULL);
    (void)curl_easy_setopt(c->h, CURLOPT_WRITEDATA, (void *)NULL);
    (void)curl_easy_setopt(c->h, CURLOPT_HEADERDATA, (void *)NULL);
    curl_slist_free_all(headers);
    return rc;
}

/*
 * Checks the request, then sends it to the current server, moving on to the
 * next one when a server cannot be reached at all. On return *status is the
 * HTTP status of the answer in a (0: none arrived, and the error says why).
 */
static int perform(struct aecs_conn *c, const char *method, const char *target, const char *body,
                   size_t body_size, unsigned flags, struct answer *a, long *status)
{
    CURLcode cc = CURLE_OK;

    *status = 0;
    ENSURE(c != NULL && method != NULL, AECS_E_INVALID_ARGUMENT, "no connection or method");
    ENSURE(strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ||
               strcmp(method, "DELETE") == 0,
           AECS_E_INVALID_ARGUMENT, "method %.20s: only GET, POST and DELETE", method);
    GUARD(check_target(target));
    ENSURE(body != NULL || body_size == 0, AECS_E_INVALID_ARGUMENT, "body size without a body");
    ENSURE(body_size <= AECS_CONN_MAX_BODY, AECS_E_TOO_LARGE,
           "the request is %zu bytes; aecsd takes at most %u", body_size, AECS_CONN_MAX_BODY);
    ENSURE(strcmp(method, "GET") != 0 || body == NULL, AECS_E_INVALID_ARGUMENT,
           "a GET request has no body");

    for (size_t tried = 0;; tried++) {
        const char *keep = a->hdr_name;
        answer_release(a);
        a->hdr_name = keep;
        a->cap = c->opts.max_response_size;
        GUARD(exchange(c, method, target, body, body_size, flags, a, status, &cc));
        if (cc == CURLE_OK || !unreachable(cc) || tried + 1 >= c->cred->server_count)
            break;
        log_info("%.200s: %s; trying %.200s", aecs_conn_server(c),
                 c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc),
                 c->cred->servers[(c->server + 1) % c->cred->server_count]);
        c->server = (c->server + 1) % c->cred->server_count;
    }
    if (cc != CURLE_OK)
        return transport_error(c, cc, a);
    return AECS_OK;
}

/* The answer's JSON object, or NULL when it is empty or something else. */
static json_t *answer_json(const struct answer *a)
{
    json_error_t jerr;
    json_t *v;

    if (a->size == 0)
        return NULL;
    v = json_loadb(a->data, a->size, JSON_REJECT_DUPLICATES, &jerr);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

int aecs_conn_request(struct aecs_conn *c, const char *method, const char *target, const char *body,
                      size_t body_size, unsigned flags, struct aecs_reply *reply)
{
    int rc = AECS_OK;
    struct answer a = {0};
    long status = 0;

    memset(reply, 0, sizeof(*reply));
    GUARD_OUT(perform(c, method, target, body, body_size, flags, &a, &status));
    reply->status = status;
    reply->body = answer_json(&a);
    if (status < 200 || status >= 300)
        GUARD_OUT(error_answer(c, reply));
    ENSURE_OUT(reply->body != NULL, AECS_E_FORMAT,
               "%.200s answered HTTP %ld with something that is not a JSON object",
               aecs_conn_server(c), status);
out:
    answer_release(&a);
    return rc;
}

int aecs_conn_request_raw(struct aecs_conn *c, const char *method, const char *target,
                          const char *body, size_t body_size, unsigned flags, const char *header,
                          struct aecs_raw_reply *reply)
{
    int rc = AECS_OK;
    struct answer a = {0};
    struct aecs_reply err = {0};
    long status = 0;

    memset(reply, 0, sizeof(*reply));
    ENSURE(header == NULL || (header[0] != '\0' && strchr(header, ':') == NULL),
           AECS_E_INVALID_ARGUMENT, "a header name is a non-empty word");
    a.hdr_name = header;
    GUARD_OUT(perform(c, method, target, body, body_size, flags, &a, &status));
    reply->status = status;
    reply->header_count = a.hdr_count;
    memcpy(reply->header, a.hdr, sizeof(reply->header));
    if (a.size > 0) {
        /* The buffer moves to the reply; aecs_raw_reply_clear wipes it. */
        reply->body = a.data;
        reply->body_size = a.size;
        reply->body_alloc = a.alloc;
        a.data = NULL;
        a.size = a.alloc = 0;
    }
    if (status < 200 || status >= 300) {
        struct answer view = {.data = reply->body, .size = reply->body_size};
        err.status = status;
        err.body = answer_json(&view);
        rc = error_answer(c, &err);
        memcpy(reply->code, err.code, sizeof(reply->code));
    }
out:
    aecs_reply_clear(&err);
    answer_release(&a);
    return rc;
}

void aecs_raw_reply_clear(struct aecs_raw_reply *reply)
{
    if (reply == NULL)
        return;
    if (reply->body != NULL)
        aecs_cleanse(reply->body, reply->body_alloc);
    free(reply->body);
    memset(reply, 0, sizeof(*reply));
}

int aecs_conn_request_json(struct aecs_conn *c, const char *method, const char *target,
                           const json_t *body, unsigned flags, struct aecs_reply *reply)
{
    char *text = NULL;
    size_t size = 0;
    int rc;

    memset(reply, 0, sizeof(*reply));
    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        ENSURE(text != NULL, AECS_E_NO_MEMORY, "cannot serialize the request");
        size = strlen(text);
    }
    rc = aecs_conn_request(c, method, target, text, size, flags, reply);
    if (text != NULL) {
        aecs_cleanse(text, size);
        free(text);
    }
    return rc;
}

int aecs_conn_service_id(struct aecs_conn *c, const char **id)
{
    int rc = AECS_OK;
    struct aecs_reply r;
    const char *got;

    *id = NULL;
    memset(&r, 0, sizeof(r));
    if (!c->service_id_known) {
        GUARD_OUT(aecs_conn_request(c, "GET", "/v1/status", NULL, 0, 0, &r));
        got = json_string_value(json_object_get(r.body, "id"));
        ENSURE_OUT(got != NULL, AECS_E_FORMAT, "%.200s: GET /v1/status has no service `id`",
                   aecs_conn_server(c));
        /* "" before the init: the service has no id until its root key is made. */
        if (got[0] != '\0' &&
            aecs_reqsig_check_hex(got, AECS_REQSIG_SERVICE_ID_HEX, "service id") != AECS_OK)
            BAIL_OUT(AECS_E_FORMAT,
                     "%.200s: GET /v1/status gave a service `id` that is not 32 lowercase hex "
                     "digits, nor empty",
                     aecs_conn_server(c));
        snprintf(c->service_id, sizeof(c->service_id), "%s", got);
        /* an empty id is asked again: an init on this connection gives the service one */
        c->service_id_known = got[0] != '\0';
    }
    *id = c->service_id;
out:
    aecs_reply_clear(&r);
    return rc;
}
