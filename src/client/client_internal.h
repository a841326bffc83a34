/*
 * client_internal.h - what include/aecs/client.h does not show: making a
 * client from a parsed configuration with a transport and a clock of the
 * caller's choosing, for the unit tests (a server stand-in in the same
 * process) and for tools that must reach the library's inside.
 *
 * The transport is the client's only way out: every request of the release
 * protocol goes through it. The default one is HTTPS (client/conn.h), one
 * connection per configured server, opened on first use.
 */
#ifndef AECS_CLIENT_CLIENT_INTERNAL_H
#define AECS_CLIENT_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "aecs/client.h"
#include "attest/attester.h"
#include "base/err.h"
#include "client/client_config.h"
#include "client/conn.h"

/*
 * Sends one request to the server of index `server` (URL `url`, in the
 * configuration's order) and fills *reply as aecs_conn_request_raw does:
 * AECS_OK for a 2xx answer; for another answer its status, code and body
 * with an error; reply->status 0 when no answer came. The reply is cleared by
 * the client with aecs_raw_reply_clear.
 */
struct aecs_client_transport {
    void *ctx;
    int (*request)(void *ctx, size_t server, const char *url, const char *method,
                   const char *target, const char *body, size_t body_size, const char *header,
                   struct aecs_raw_reply *reply);
};

struct aecs_client_options {
    /* NULL: HTTPS to the configured servers. Copied; ctx is borrowed. */
    const struct aecs_client_transport *transport;
    /* The verifier's clock (NULL: the system's). */
    int64_t (*now)(void *arg);
    void *now_arg;
    /* The attester's system calls (NULL: the real ones). Borrowed. */
    const struct aecs_attester_ops *attester_ops;
};

/*
 * Makes a client from cfg, which it takes over (freed with the client, or
 * here on failure). opts may be NULL. Errors as aecs_client_new_from_file.
 */
aecs_client_status aecs_client_new_config(struct aecs_client_config *cfg,
                                          const struct aecs_client_options *opts, aecs_client **out,
                                          aecs_client_error *err);

/* How many times a server's identity evidence was verified in full (the cache's misses). */
uint64_t aecs_client_identity_verifications(const aecs_client *client);

/* The index of the server the next round starts with (the last one that answered). */
size_t aecs_client_current_server(const aecs_client *client);

#endif
