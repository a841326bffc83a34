/*
 * server.h - aecsd's HTTP side: a pool of threads, each with its own libevent
 * base and evhttp server accepting TLS connections on one shared listening
 * socket, routing requests to src/service/ and answering JSON (docs/api.md).
 */
#ifndef AECS_SERVER_SERVER_H
#define AECS_SERVER_SERVER_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"
#include "crypto/tls.h"
#include "service/service.h"

/* Largest request body answered with JSON 413 above it; evhttp cuts at the hard cap. */
#define AECSD_BODY_MAX ((1u << 20) + (64u << 10))
#define AECSD_BODY_HARD_MAX (AECSD_BODY_MAX + (64u << 10))
#define AECSD_HEADERS_MAX (16u << 10)
#define AECSD_REQUEST_TIMEOUT_S 30
/* A connection that sends no ClientHello within this long is closed (tls.h, the reaper). */
#define AECSD_HANDSHAKE_START_MS 5000

struct aecsd_options {
    const char *listen; /* "HOST:PORT" */
    unsigned threads;
    unsigned max_connections;
    FILE *access_log; /* NULL: none */
};

struct aecsd;

/*
 * Binds the listening socket and starts the threads; requests are served
 * until aecsd_stop. svc and tls must outlive the server.
 */
AECS_MUST_CHECK int aecsd_start(const struct aecsd_options *opts, struct aecs_service *svc,
                                struct aecs_tls_server *tls, struct aecsd **out);
/* The port actually bound (useful with port 0). */
int aecsd_port(const struct aecsd *d);
/* Stops every thread, waits for them, and frees the server. NULL is fine. */
void aecsd_stop(struct aecsd *d);

struct aecs_join_transport;
/*
 * The HTTPS transport of `aecsd --join` (join_http.c): peers' certificates
 * are checked against ca_file (borrowed: it must outlive the transport).
 */
void aecsd_join_transport(const char *ca_file, struct aecs_join_transport *t);

#endif
