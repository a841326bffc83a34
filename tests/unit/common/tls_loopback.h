/*
 * tls_loopback.h - runs tests/unit/common/tls_server.py, an HTTPS stand-in for
 * aecsd on 127.0.0.1 (for conn_test.c): start it with a certificate, read the
 * requests it logged, stop it. Every call fails the test on error.
 */
#ifndef AECS_TEST_TLS_LOOPBACK_H
#define AECS_TEST_TLS_LOOPBACK_H

#include <jansson.h>
#include <sys/types.h>

struct tu_tls_server {
    pid_t pid;
    int port;
    char url[64];  /* "https://127.0.0.1:PORT" */
    char log[256]; /* the request log: one JSON object a line */
};

/*
 * Starts the server with tests/data/keys/<cert_name>.pem and
 * <cert_name>.key.pem, checking signatures with admin_p256.pub.pem, its
 * requests logged to dir/<cert_name>-<port>.log. service_id NULL: the
 * server's default (0123456789abcdef0123456789abcdef). Returns 0, or -1 when
 * python3 cannot be started (the caller may skip).
 */
int tu_tls_server_start(struct tu_tls_server *s, const char *dir, const char *cert_name,
                        const char *service_id);
void tu_tls_server_stop(struct tu_tls_server *s);

/* The logged requests so far, as a JSON array (the caller json_decref()s it). */
json_t *tu_tls_server_requests(const struct tu_tls_server *s);

#endif
