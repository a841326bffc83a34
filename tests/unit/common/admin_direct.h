/*
 * admin_direct.h - the admin side of init and unseal (src/client/admin.h)
 * against a service in the same process: a transport that calls the
 * service's handlers as src/server/http.c does, signing the requests that
 * need it with an admin key as src/client/conn.c does, and that can change a
 * request or an answer on the way (a host in the middle).
 *
 * For the tests that need a service initialized or unsealed the way `aecs
 * admin` does it (service_test, unseal_cluster_test, join_client_test) and
 * for admin_test, which tests the admin side itself.
 */
#ifndef AECS_TEST_ADMIN_DIRECT_H
#define AECS_TEST_ADMIN_DIRECT_H

#include <stddef.h>

#include "client/admin.h"
#include "crypto/sigkey.h"
#include "service/service.h"

struct tu_admin {
    struct aecs_service *svc;
    const struct aecs_sigkey *key; /* signs AECS_REQ_SIGNED requests (borrowed) */
    const char *remote;            /* the client address the service sees ("127.0.0.1") */
    /*
     * Called with every request body once it is signed, before the service
     * sees it (may change it in place; setting key makes it signed anew).
     */
    void (*on_request)(void *arg, const char *target, char *body, size_t size);
    /* Called with every answer before the admin side sees it (may change it). */
    void (*on_answer)(void *arg, const char *target, struct aecs_raw_reply *reply);
    void *arg;
    /* what went through */
    unsigned requests;
    char targets[16][160]; /* the first 16 request targets */
};

/* The transport of d (d must outlive it). */
void tu_admin_transport(struct tu_admin *d, struct aecs_admin_transport *t);

/*
 * Initializes d->svc as `aecs admin init` does, with d->key as the admin
 * and the identity taken unchecked (the INSECURE path; the tests that check
 * the identity use admin.h themselves). *shares gets the n share texts
 * (free with aecs_shares_free(*shares, n)). Fails the test on any error.
 */
void tu_admin_init(struct tu_admin *d, unsigned n, unsigned k, const char *join_policy,
                   char ***shares);
/* The same, returning the call's result and, for a refusal, its API code in *api. */
int tu_admin_try_init(struct tu_admin *d, unsigned n, unsigned k, const char *join_policy,
                      char ***shares, enum aecs_api_code *api);

/*
 * Gives one share as `aecs admin unseal` does (identity unchecked). Returns
 * the call's result; *api gets the API code of a refusal (API_OK on success)
 * and, when answer is not NULL, *answer the answer's JSON (json_decref it).
 */
int tu_admin_unseal(struct tu_admin *d, const char *share, enum aecs_api_code *api,
                    json_t **answer);
/* The same for a reset proven by share, as `aecs admin unseal --reset` does. */
int tu_admin_unseal_reset(struct tu_admin *d, const char *share, enum aecs_api_code *api,
                          json_t **answer);

#endif
