/*
 * http.c - the HTTP side of aecsd: listening socket, worker threads, TLS
 * bufferevents, limits, routing, JSON answers and the access log.
 *
 * Each worker thread runs its own event base with an evhttp server bound to a
 * dup() of one listening socket: the kernel hands each connection to one of
 * them, and a slow request (an RSA 4096 key being made) holds up only its
 * own thread. Handlers call src/service/, which does its own locking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <event2/util.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "proto/json_wipe.h"
#include "proto/release.h"
#include "proto/reqsig.h"
#include "server/server.h"

struct worker {
    struct aecsd *d;
    unsigned index;
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct event *reaper; /* every second: connections that never began their handshake */
    int started;
};

struct aecsd {
    struct aecs_service *svc;
    struct aecs_tls_server *tls;
    FILE *access_log;
    int fd;
    int port;
    unsigned worker_count;
    struct worker *workers;
};

/* ---- one request ---- */

/* AUTH_LIMITED: unauthenticated and rate-limited per client address. */
enum auth { AUTH_NONE, AUTH_LIMITED, AUTH_SIGNED };

struct call {
    struct aecsd *d;
    struct aecs_request req;
    const char *seg[2]; /* the {service} and {name} parts of the path */
    struct evkeyvalq query;
    struct aecs_caller caller;
    int authenticated;
    json_t *answer;
    struct aecs_answer raw; /* signed answers: sent byte for byte */
    enum aecs_api_code api;
};

typedef int (*handler_fn)(struct call *c);

static int h_health(struct call *c)
{
    c->answer = json_pack("{s:s}", "status", "ok");
    return c->answer != NULL ? AECS_OK : AECS_E_NO_MEMORY;
}

static int h_status(struct call *c)
{
    return aecs_service_status(c->d->svc, &c->answer);
}

static int h_init(struct call *c)
{
    return aecs_service_init(c->d->svc, &c->req, &c->raw, &c->api);
}

static int h_unseal(struct call *c)
{
    return aecs_service_unseal(c->d->svc, &c->req, &c->answer, &c->api);
}

static int h_services_list(struct call *c)
{
    return aecs_service_services_list(c->d->svc, &c->caller, &c->answer, &c->api);
}

static int h_service_register(struct call *c)
{
    return aecs_service_service_register(c->d->svc, &c->caller, &c->req, &c->answer, &c->api);
}

static int query_flag(struct call *c, const char *name)
{
    const char *v = evhttp_find_header(&c->query, name);

    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static int query_u64(struct call *c, const char *name, uint64_t *out)
{
    const char *v = evhttp_find_header(&c->query, name);
    char *end = NULL;

    *out = 0;
    if (v == NULL)
        return AECS_OK;
    errno = 0;
    *out = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-') {
        c->api = API_BAD_REQUEST;
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "query %s must be a number", name);
    }
    return AECS_OK;
}

static int h_service_unregister(struct call *c)
{
    return aecs_service_service_unregister(c->d->svc, &c->caller, c->seg[0],
                                           query_flag(c, "force"), &c->answer, &c->api);
}

static int h_audit_list(struct call *c)
{
    uint64_t from = 0, limit = 0;

    GUARD(query_u64(c, "from", &from));
    GUARD(query_u64(c, "limit", &limit));
    return aecs_service_audit_list(c->d->svc, &c->caller, from,
                                   limit > 1000 ? 1000 : (unsigned)limit, &c->answer, &c->api);
}

static int h_audit_verify(struct call *c)
{
    return aecs_service_audit_verify(c->d->svc, &c->caller, &c->answer, &c->api);
}

static int h_secrets_create(struct call *c)
{
    return aecs_service_secrets_create(c->d->svc, &c->caller, &c->req, &c->answer, &c->api);
}

static int h_secrets_list(struct call *c)
{
    return aecs_service_secrets_list(c->d->svc, &c->caller, c->seg[0], &c->answer, &c->api);
}

static int h_secret_destroy(struct call *c)
{
    return aecs_service_secret_destroy(c->d->svc, &c->caller, c->seg[0], c->seg[1], &c->answer,
                                       &c->api);
}

static int h_secret_public(struct call *c)
{
    return aecs_service_public(c->d->svc, c->seg[0], c->seg[1],
                               evhttp_find_header(&c->query, "nonce"), &c->raw, &c->api);
}

static int h_challenge(struct call *c)
{
    return aecs_service_challenge(c->d->svc, &c->req, &c->raw, &c->api);
}

static int h_release(struct call *c)
{
    return aecs_service_release(c->d->svc, &c->req, &c->raw, &c->api);
}

static int h_join(struct call *c)
{
    return aecs_service_join(c->d->svc, &c->req, &c->raw, &c->api);
}

static int h_identity(struct call *c)
{
    return aecs_service_identity(c->d->svc, evhttp_find_header(&c->query, "nonce"), &c->raw,
                                 &c->api);
}

/* Patterns: '*' matches one path segment (a name, checked by the handler). */
static const struct route {
    const char *method;
    const char *pattern;
    enum auth auth;
    handler_fn fn;
} k_routes[] = {
    {"GET", "/v1/health", AUTH_NONE, h_health},
    {"GET", "/v1/status", AUTH_NONE, h_status},
    {"POST", "/v1/admin/init", AUTH_LIMITED, h_init}, /* signed; checked by the service */
    {"POST", "/v1/admin/unseal", AUTH_LIMITED, h_unseal},
    {"POST", "/v1/challenge", AUTH_LIMITED, h_challenge},
    {"POST", "/v1/release", AUTH_LIMITED, h_release},
    {"POST", "/v1/cluster/join", AUTH_LIMITED, h_join},
    {"GET", "/v1/identity", AUTH_LIMITED, h_identity},
    {"GET", "/v1/admin/services", AUTH_SIGNED, h_services_list},
    {"POST", "/v1/admin/services", AUTH_SIGNED, h_service_register},
    {"DELETE", "/v1/admin/services/*", AUTH_SIGNED, h_service_unregister},
    {"GET", "/v1/admin/audit", AUTH_SIGNED, h_audit_list},
    {"POST", "/v1/admin/audit/verify", AUTH_SIGNED, h_audit_verify},
    {"POST", "/v1/secrets", AUTH_SIGNED, h_secrets_create},
    {"GET", "/v1/services/*/secrets", AUTH_SIGNED, h_secrets_list},
    {"DELETE", "/v1/services/*/secrets/*", AUTH_SIGNED, h_secret_destroy},
    {"GET", "/v1/services/*/secrets/*/public", AUTH_LIMITED, h_secret_public},
};

/*
 * Matches path against pattern; segments matched by '*' are copied into
 * bufs (each at most 64 characters, the longest name) and pointed to by seg.
 */
static int route_match(const char *pattern, const char *path, char bufs[2][65],
                       const char *seg[2])
{
    int n = 0;

    while (*pattern != '\0') {
        if (*pattern == '*') {
            size_t len = strcspn(path, "/");
            if (len == 0 || len > 64 || n >= 2)
                return 0;
            memcpy(bufs[n], path, len);
            bufs[n][len] = '\0';
            seg[n] = bufs[n];
            n++;
            path += len;
            pattern++;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *path == '\0';
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

static void add_common_headers(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
}

/* Sends a signed answer's exact bytes (the signature covers them) with its signature header. */
static void send_raw(struct evhttp_request *req, const struct aecs_answer *a)
{
    struct evbuffer *out = evbuffer_new();

    add_common_headers(req);
    if (a->signature[0] != '\0')
        evhttp_add_header(evhttp_request_get_output_headers(req), AECS_HDR_ANSWER_SIGNATURE,
                          a->signature);
    if (out == NULL || evbuffer_add(out, a->body, a->size) != 0) {
        if (out != NULL)
            evbuffer_free(out);
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evhttp_send_reply(req, 200, NULL, out);
    evbuffer_free(out);
}

static void send_json(struct evhttp_request *req, int status, json_t *body)
{
    struct evbuffer *out = evbuffer_new();
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

    add_common_headers(req);
    if (out == NULL || text == NULL) {
        free(text);
        if (out != NULL)
            evbuffer_free(out);
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add(out, text, strlen(text));
    evbuffer_add(out, "\n", 1);
    aecs_cleanse(text, strlen(text)); /* cheap, and no copy of an answer outlives the request */
    free(text);
    evhttp_send_reply(req, status, NULL, out);
    evbuffer_free(out);
}

static void access_log(struct aecsd *d, const struct call *c, const char *path, int status,
                       double ms)
{
    json_t *line;
    char ts[32], *text;

    if (d->access_log == NULL)
        return;
    aecs_time_format(aecs_time_now(), ts);
    line = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:o, s:o}", "ts", ts, "remote",
                     c->req.remote != NULL ? c->req.remote : "?", "method", c->req.method, "path",
                     path, "status", status, "ms", ms, "key",
                     c->authenticated ? json_string(c->caller.key_id) : json_null(), "code",
                     c->api != API_OK ? json_string(aecs_api_code_name(c->api)) : json_null());
    text = line != NULL ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4))
                       : NULL;
    if (text != NULL) {
        flockfile(d->access_log);
        fprintf(d->access_log, "%s\n", text);
        fflush(d->access_log);
        funlockfile(d->access_log);
    }
    free(text);
    json_decref(line);
}

static double ms_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 + (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* The path's characters: printable ASCII without spaces (names never need escapes). */
static int path_ok(const char *p)
{
    for (; *p != '\0'; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '%')
            return 0;
    }
    return 1;
}

static void handle(struct evhttp_request *er, void *arg)
{
    struct aecsd *d = arg;
    struct call c;
    struct timespec start;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(er);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq *in = evhttp_request_get_input_headers(er);
    struct evbuffer *body = evhttp_request_get_input_buffer(er);
    struct evhttp_connection *conn = evhttp_request_get_connection(er);
    char *peer = NULL, bufs[2][65];
    ev_uint16_t peer_port = 0;
    uint8_t *body_copy = NULL;
    size_t body_size = evbuffer_get_length(body);
    const struct route *route = NULL;
    int method_seen = 0, rc = AECS_OK, status;
    json_t *err = NULL;

    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(&c, 0, sizeof(c));
    TAILQ_INIT(&c.query);
    c.d = d;
    if (conn != NULL)
        evhttp_connection_get_peer(conn, &peer, &peer_port);
    c.req.remote = peer;
    c.req.method = method_name(evhttp_request_get_command(er));
    c.req.target = evhttp_request_get_uri(er);
    if (path == NULL || path[0] == '\0')
        path = "/";
    aecs_err_clear();

    if (!path_ok(path)) {
        c.api = API_NOT_FOUND;
        rc = AECS_ERR(AECS_E_NOT_FOUND, "no such route");
        goto done;
    }
    for (size_t i = 0; i < sizeof(k_routes) / sizeof(k_routes[0]); i++) {
        if (!route_match(k_routes[i].pattern, path, bufs, c.seg))
            continue;
        method_seen = 1;
        if (strcmp(k_routes[i].method, c.req.method) == 0) {
            route = &k_routes[i];
            break;
        }
    }
    if (route == NULL) {
        c.api = method_seen ? API_METHOD_NOT_ALLOWED : API_NOT_FOUND;
        rc = AECS_ERR(method_seen ? AECS_E_USAGE : AECS_E_NOT_FOUND,
                      method_seen ? "%s is not allowed on %.100s" : "no such route: %.100s",
                      method_seen ? c.req.method : path, path);
        goto done;
    }
    if (body_size > AECSD_BODY_MAX) {
        c.api = API_TOO_LARGE;
        rc = AECS_ERR(AECS_E_TOO_LARGE, "the body is %zu bytes; at most %u", body_size,
                      AECSD_BODY_MAX);
        goto done;
    }
    if (body_size > 0) {
        body_copy = malloc(body_size + 1);
        if (body_copy == NULL) {
            rc = AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
            goto done;
        }
        evbuffer_remove(body, body_copy, body_size);
        body_copy[body_size] = '\0';
        c.req.body = body_copy;
        c.req.body_size = body_size;
    }
    c.req.key_id = evhttp_find_header(in, AECS_HDR_KEY);
    c.req.timestamp = evhttp_find_header(in, AECS_HDR_TIMESTAMP);
    c.req.nonce = evhttp_find_header(in, AECS_HDR_NONCE);
    c.req.signature = evhttp_find_header(in, AECS_HDR_SIGNATURE);
    if (query != NULL && evhttp_parse_query_str(query, &c.query) != 0) {
        c.api = API_BAD_REQUEST;
        rc = AECS_ERR(AECS_E_FORMAT, "malformed query string");
        goto done;
    }
    if (route->auth == AUTH_LIMITED) {
        rc = aecs_service_rate_check(d->svc, peer, &c.api);
        if (rc != AECS_OK)
            goto done;
    }
    if (route->auth == AUTH_SIGNED) {
        rc = aecs_service_authenticate(d->svc, &c.req, &c.caller, &c.api);
        if (rc != AECS_OK) {
            log_info("refused %s %.100s from %s: %s", c.req.method, path,
                     peer != NULL ? peer : "?", aecs_err_last()->message);
            goto done;
        }
        c.authenticated = 1;
    }
    rc = route->fn(&c);
    if (rc != AECS_OK && c.authenticated && c.api != API_INTERNAL && c.api != API_OK) {
        /* a copy: auditing records errors of its own into the same buffer */
        struct aecs_err_info why = *aecs_err_last();
        aecs_service_audit_refusal(d->svc, &c.caller, &c.req, why.message);
        aecs_err_set(why.code, why.file, why.line, "%s", why.message);
    }

done:
    if (rc == AECS_OK && c.raw.body != NULL) {
        status = 200;
        send_raw(er, &c.raw);
    } else if (rc == AECS_OK) {
        status = 200;
        send_json(er, status, c.answer);
    } else {
        if (c.api == API_OK)
            c.api = aecs_api_code_from_err(rc);
        if (c.api == API_INTERNAL && rc == AECS_E_IO &&
            strncmp(aecs_err_last()->message, "store:", 6) == 0) {
            /* the store (etcd without a quorum, say) is down: worth a retry, not a bug */
            log_error("%s %.100s: %s", c.req.method, path, aecs_err_last()->message);
            c.api = API_BUSY;
            (void)AECS_ERR(AECS_E_IO, "the store is unavailable (etcd without a leader, or "
                                      "unreachable): retry later, after a list shows whether the "
                                      "change was made (the server's log has the details)");
        }
        status = aecs_api_code_status(c.api);
        if (c.api == API_INTERNAL) {
            log_error("%s %.100s: %s (%s:%d)", c.req.method, path, aecs_err_last()->message,
                      aecs_err_last()->file, aecs_err_last()->line);
            err = json_pack("{s:{s:s, s:s}}", "error", "code", "internal", "message",
                            "internal error: the server's log has the details");
        } else {
            err = json_pack("{s:{s:s, s:s}}", "error", "code", aecs_api_code_name(c.api),
                            "message", aecs_err_last()->message);
        }
        send_json(er, status, err);
        json_decref(err);
    }
    access_log(d, &c, path, status, ms_since(&start));
    aecs_json_wipe(c.answer);
    json_decref(c.answer);
    aecs_answer_clear(&c.raw);
    evhttp_clear_headers(&c.query);
    if (body_copy != NULL) {
        aecs_cleanse(body_copy, body_size); /* shares, imported data */
        free(body_copy);
    }
}

/* ---- threads ---- */

static struct bufferevent *new_tls_bev(struct event_base *base, void *arg)
{
    struct worker *w = arg;
    struct ssl_st *ssl = aecs_tls_server_ssl_owned(w->d->tls, w->index);

    if (ssl == NULL)
        return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    event_base_dispatch(w->base);
    return NULL;
}

static int listen_socket(const char *listen_spec, int *fd_out, int *port_out)
{
    char host[256];
    const char *colon = strrchr(listen_spec, ':');
    const char *port;
    struct addrinfo hints, *res = NULL;
    int fd = -1, one = 1, rc;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    *fd_out = -1;
    ENSURE(colon != NULL && colon != listen_spec && colon[1] != '\0' &&
               (size_t)(colon - listen_spec) < sizeof(host),
           AECS_E_INVALID_ARGUMENT, "--listen: '%.100s' is not HOST:PORT", listen_spec);
    memcpy(host, listen_spec, (size_t)(colon - listen_spec));
    host[colon - listen_spec] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:19527 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    port = colon + 1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    ENSURE(rc == 0 && res != NULL, AECS_E_INVALID_ARGUMENT, "--listen %.100s: %s", listen_spec,
           gai_strerror(rc));
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return AECS_ERR(AECS_E_IO, "socket: %s", strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Accepted sockets inherit it (Linux): an answer's TLS records leave at once instead of
       waiting for the client's delayed ACK of the one before (Nagle), ~40 ms a request. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 512) != 0) {
        int e = errno;
        freeaddrinfo(res);
        close(fd);
        return AECS_ERR(AECS_E_IO, "cannot listen on %.100s: %s", listen_spec, strerror(e));
    }
    freeaddrinfo(res);
    evutil_make_socket_nonblocking(fd);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return AECS_OK;
}

static void reap(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    unsigned n = aecs_tls_server_reap(w->d->tls, w->index, AECSD_HANDSHAKE_START_MS);

    (void)fd;
    (void)what;
    if (n > 0)
        log_debug("closed %u connection%s that sent no TLS ClientHello in %d ms", n,
                  n == 1 ? "" : "s", AECSD_HANDSHAKE_START_MS);
}

static int worker_start(struct aecsd *d, struct worker *w, unsigned index)
{
    struct timeval second = {1, 0};
    int fd;

    w->d = d;
    w->index = index;
    w->base = event_base_new();
    ENSURE(w->base != NULL, AECS_E_NO_MEMORY, "event_base_new failed");
    w->http = evhttp_new(w->base);
    ENSURE(w->http != NULL, AECS_E_NO_MEMORY, "evhttp_new failed");
    w->reaper = event_new(w->base, -1, EV_PERSIST, reap, w);
    ENSURE(w->reaper != NULL && event_add(w->reaper, &second) == 0, AECS_E_NO_MEMORY,
           "event_new failed");
    evhttp_set_bevcb(w->http, new_tls_bev, w);
    evhttp_set_gencb(w->http, handle, d);
    evhttp_set_max_headers_size(w->http, AECSD_HEADERS_MAX);
    evhttp_set_max_body_size(w->http, AECSD_BODY_HARD_MAX); /* bounds what is buffered */
    evhttp_set_timeout(w->http, AECSD_REQUEST_TIMEOUT_S);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    fd = dup(d->fd);
    ENSURE(fd >= 0, AECS_E_IO, "dup: %s", strerror(errno));
    evutil_make_socket_nonblocking(fd);
    if (evhttp_accept_socket(w->http, fd) != 0) {
        close(fd);
        return AECS_ERR(AECS_E_IO, "evhttp_accept_socket failed");
    }
    ENSURE(pthread_create(&w->thread, NULL, worker_main, w) == 0, AECS_E_INTERNAL,
           "pthread_create failed");
    w->started = 1;
    return AECS_OK;
}

int aecsd_start(const struct aecsd_options *opts, struct aecs_service *svc,
                struct aecs_tls_server *tls, struct aecsd **out)
{
    int rc = AECS_OK;
    struct aecsd *d;

    *out = NULL;
    ENSURE(opts->threads >= 1 && opts->threads <= 256, AECS_E_INVALID_ARGUMENT,
           "--threads must be 1..256");
    ENSURE(evthread_use_pthreads() == 0, AECS_E_INTERNAL, "evthread_use_pthreads failed");
    d = calloc(1, sizeof(*d));
    ENSURE(d != NULL, AECS_E_NO_MEMORY, "out of memory");
    d->svc = svc;
    d->tls = tls;
    d->access_log = opts->access_log;
    d->fd = -1;
    d->workers = calloc(opts->threads, sizeof(*d->workers));
    ENSURE_OUT(d->workers != NULL, AECS_E_NO_MEMORY, "out of memory");
    d->worker_count = opts->threads;
    GUARD_OUT(listen_socket(opts->listen, &d->fd, &d->port));
    for (unsigned i = 0; i < d->worker_count; i++)
        GUARD_OUT(worker_start(d, &d->workers[i], i));
    *out = d;
    d = NULL;
out:
    aecsd_stop(d);
    return rc;
}

int aecsd_port(const struct aecsd *d)
{
    return d->port;
}

void aecsd_stop(struct aecsd *d)
{
    if (d == NULL)
        return;
    for (unsigned i = 0; d->workers != NULL && i < d->worker_count; i++) {
        if (d->workers[i].started)
            event_base_loopbreak(d->workers[i].base);
    }
    for (unsigned i = 0; d->workers != NULL && i < d->worker_count; i++) {
        struct worker *w = &d->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        if (w->http != NULL)
            evhttp_free(w->http);
        if (w->reaper != NULL)
            event_free(w->reaper);
        if (w->base != NULL)
            event_base_free(w->base);
    }
    if (d->fd >= 0)
        close(d->fd);
    free(d->workers);
    free(d);
}
