/*
 * cred.h - the credential file of the `aecs` admin commands: which aecsd to
 * talk to, how to trust it, and which key signs the requests.
 *
 *   # admin.yaml
 *   server: https://aecs.example.com:8443   # or a list / comma-separated list
 *   key: admin.pem                          # private key (aecs keygen)
 *   ca: server-ca.pem                       # CA or server certificate (PEM), or
 *   # fingerprint: 13:F5:08:...:D7:89       # SHA-256 of the server certificate
 *   service: payments                       # optional: default for `aecs secret`
 *   server_policy:                          # the aecsd to trust (init, unseal)
 *     enclaveMatchAnyRules: [{mrenclave: "<64 hex>"}]
 *   verifier: {pccs_url: https://pccs.example.com:8081}   # how its evidence is verified
 *   service_id: <32 hex>                    # optional: the store it must serve (pin after init)
 *   accept_insecure_server: false           # INSECURE when true (docs/client.md)
 *
 * Exactly one of `ca` and `fingerprint`. `server_policy`, `verifier`,
 * `service_id` and `accept_insecure_server` are those of the client configuration
 * (client_config.h), and the file is read by the same parser (AECS_CONFIG_CREDENTIAL): relative
 * paths are relative to the credential file's folder; every key at most once; unknown keys,
 * duplicates, aliases and wrong values are refused as "FILE:LINE: KEY:
 * reason". Several servers are kept in order for failover; a connection
 * uses the first.
 *
 * The environment overrides the file: AECS_SERVER (comma-separated),
 * AECS_KEY, AECS_CA and AECS_FINGERPRINT (relative paths there are relative to
 * the current folder). AECS_CA or AECS_FINGERPRINT replaces both of the
 * file's `ca` and `fingerprint`; setting both is refused. Empty variables
 * count as unset.
 */
#ifndef AECS_CLIENT_CRED_H
#define AECS_CLIENT_CRED_H

#include <stddef.h>

#include "base/err.h"
#include "crypto/tls_pin.h"

struct aecs_server_trust; /* client/client_config.h */

#define AECS_CRED_MAX_SERVERS 8
#define AECS_CRED_FILE_MAX (64u << 10)
/* Longest server URL and path values accepted. */
#define AECS_CRED_VALUE_MAX 4000

/* aecs_cred_load flags */
enum {
    AECS_CRED_NEED_KEY = 1, /* a missing `key` is an error (commands that sign) */
};

struct aecs_cred {
    char *servers[AECS_CRED_MAX_SERVERS]; /* "https://host[:port]", no trailing '/' */
    size_t server_count;
    char *key;  /* private key file, or NULL */
    char *ca;   /* CA / certificate PEM file, or NULL when pinned */
    int pinned; /* 1: `fingerprint` given, in pin */
    struct aecs_tls_pin pin;
    char *service; /* default service name, or NULL */
    char *source;  /* the file it came from, or "environment" */
    /*
     * server_policy, verifier, service_id and accept_insecure_server, as
     * struct aecs_server_trust of client_config.h (which includes this
     * header, hence the pointer): NULL when the file has none of them, and
     * always for the environment alone.
     */
    struct aecs_server_trust *trust;
};

/*
 * Parses credential text (size bytes; `name` names it in messages, base_dir is
 * the folder relative paths are joined to, NULL for none). No environment.
 * Checks syntax and values (URLs, fingerprint, service name) but not that the
 * files exist, nor that the required keys are there (aecs_cred_check). The
 * caller frees *out with aecs_cred_free.
 */
AECS_MUST_CHECK int aecs_cred_parse(const char *text, size_t size, const char *name,
                                    const char *base_dir, struct aecs_cred **out);

/*
 * Reads the credential file at path (NULL: none, the environment alone),
 * applies the environment, then checks what is required: a server, a key when
 * flags has AECS_CRED_NEED_KEY, and exactly one of ca / fingerprint.
 * AECS_E_INVALID_ARGUMENT (or the file's read error) with a message naming the
 * file, line and key.
 */
AECS_MUST_CHECK int aecs_cred_load(const char *path, unsigned flags, struct aecs_cred **out);

/*
 * Checks one server URL, len bytes at s (blanks already trimmed): https://
 * (or http://, which aecs_conn_open refuses unless told otherwise), a host
 * and an optional port, nothing after them but one trailing '/', which is
 * dropped. On success *out is a fresh copy the caller frees. On failure
 * AECS_E_INVALID_ARGUMENT with a message that starts with `what` ("`server`")
 * and does not quote the value.
 */
AECS_MUST_CHECK int aecs_cred_server_url(const char *s, size_t len, const char *what, char **out);

/* The required-keys check of aecs_cred_load, on its own. */
AECS_MUST_CHECK int aecs_cred_check(const struct aecs_cred *cred, unsigned flags);

void aecs_cred_free(struct aecs_cred *cred);

#endif
