/*
 * client_config.h - the configuration of the aecs client library
 * (include/aecs/client.h) and of `aecs fetch`: which aecsd servers to ask, how
 * to trust their TLS certificate, which server identity to accept, how to
 * verify the server's evidence and how to make this application's own.
 *
 *   # client.yaml
 *   server:                                # one URL, a list or a comma-separated list,
 *     - https://aecs-1.example.com:19527   # tried in this order
 *     - https://aecs-2.example.com:19527
 *   ca: server-ca.pem                      # or fingerprint: <SHA-256 of its certificate>
 *   server_policy:                         # the aecsd this client trusts: the rule
 *     enclaveMatchAnyRules:                # fields of docs/policy.md
 *     - mrenclave: "<64 hex>"
 *   verifier:                              # how the server's evidence is verified
 *     collateral_dir: /var/lib/aecs/collateral
 *     pccs_url: https://pccs.example.com:8081
 *     collateral_cache_dir: /var/cache/aecs/collateral
 *     intel_root: intel-root.pem           # default: Intel's root, pinned
 *     snp_collateral_dir: /var/lib/aecs/snp
 *     use_kds: false
 *     kds_url: https://kds.example.com     # default: AMD's
 *     kds_cache_dir: /var/cache/aecs/kds
 *     insecure_trust_sim: /tmp/sim         # INSECURE: trust this `aecs sim` folder's root
 *   attester:                              # how this application makes its evidence
 *     type: auto                           # auto|sim|gramine|tsm|sev-guest|file
 *     root: /                              # prefix of device paths (tests)
 *     sim_dir: /tmp/sim                    # sim: the folder; sim_tee: sgx|tdx
 *     sim_identity: {mrenclave: ..., mrsigner: ..., isvprodid: 1, isvsvn: 2, debug: false}
 *     quote_file: quote.bin                # file
 *     privlevel: 0                         # SEV-SNP VMPL (tsm, sev-guest)
 *   timeouts:
 *     connect: 10                          # seconds
 *     request: 60
 *   service_id: <32 hex>                   # refuse a server that serves another store
 *   accept_insecure_server: false          # INSECURE when true: accept a server started
 *                                          # with --insecure-* options
 *
 * Required: server, exactly one of ca and fingerprint, and server_policy.
 * The admin credential file (client/cred.h) is read by the same code, with
 * its own keys (AECS_CONFIG_CREDENTIAL), so server_policy and verifier mean
 * the same in both.
 * Relative paths are relative to the file's folder. Every key at most once;
 * unknown keys, wrong kinds and bad values are refused as "FILE:LINE: PATH:
 * reason" (client.yaml:9: verifier.pccs_url: ...), and so are YAML aliases,
 * tags outside the core schema and a second document. server_policy is
 * checked by the policy module, with the same rules and messages as a
 * secret's policy (aecs_policy_rules_parse); a rule that names no identity is
 * refused, so a client never trusts any server at all.
 */
#ifndef AECS_CLIENT_CLIENT_CONFIG_H
#define AECS_CLIENT_CLIENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "attest/sim.h"
#include "base/err.h"
#include "client/cred.h"
#include "crypto/tls_pin.h"
#include "policy/policy.h"

#define AECS_CLIENT_CONFIG_MAX (256u << 10)
#define AECS_CLIENT_CONFIG_MAX_TIMEOUT 3600 /* seconds */
#define AECS_CLIENT_DEFAULT_CONNECT_TIMEOUT 10
#define AECS_CLIENT_DEFAULT_TIMEOUT 60

/*
 * Which server to trust and how its evidence is verified: the `server_policy`
 * and `verifier` keys, read by the same code in a client configuration and
 * in an admin credential file (client/cred.h). NULL or 0 when not given.
 */
struct aecs_server_trust {
    int has_policy;                        /* server_policy was given */
    struct aecs_policy_rules server_rules; /* its enclaveMatchAnyRules */
    char *collateral_dir;
    char *pccs_url;
    char *collateral_cache_dir;
    char *intel_root;
    char *snp_collateral_dir;
    int use_kds;
    char *kds_url;
    char *kds_cache_dir;
    char *insecure_trust_sim; /* a sim folder whose root.der is trusted */
    /*
     * The top-level keys about what the server reports in its signed identity
     * answer (client/identity.h): accept a server started with insecure
     * options, and the service id to insist on ("" when not pinned).
     */
    int accept_insecure_server;
    char service_id[33]; /* 32 lowercase hex, or "" */
};

/* Frees what t holds and zeroes it. */
void aecs_server_trust_clear(struct aecs_server_trust *t);

struct aecs_client_config {
    char *source; /* the file name, for messages */

    char *servers[AECS_CRED_MAX_SERVERS]; /* "https://host[:port]" */
    size_t server_count;
    char *ca;   /* CA or certificate PEM file, or NULL when pinned */
    int pinned; /* 1: `fingerprint` given, in pin */
    struct aecs_tls_pin pin;

    struct aecs_server_trust trust;

    /* credential files only (AECS_CONFIG_CREDENTIAL): NULL when not given */
    char *key;     /* the admin's private key file */
    char *service; /* the default service of `aecs secret` */

    /* attester */
    char *attester; /* never NULL after parsing a client configuration: "auto" by default */
    char *attest_root;
    char *sim_dir;
    int sim_tdx;
    int has_sim_identity;
    struct aecs_sim_quote_params sim_identity;
    char *quote_file;
    int has_privlevel;
    unsigned privlevel;

    long connect_timeout; /* seconds */
    long timeout;
};

/* The two files read by this parser. */
enum aecs_config_kind {
    /* a client configuration (this header's top comment): server_policy required */
    AECS_CONFIG_CLIENT = 0,
    /*
     * an admin credential file (client/cred.h): server, key, ca, fingerprint,
     * service, server_policy, verifier; nothing is required here (the
     * caller checks that once the environment is applied)
     */
    AECS_CONFIG_CREDENTIAL = 1,
};

/*
 * Parses text of the given kind (size bytes, at most
 * AECS_CLIENT_CONFIG_MAX); as aecs_client_config_parse otherwise.
 */
AECS_MUST_CHECK int aecs_client_config_parse_kind(enum aecs_config_kind kind, const char *text,
                                                  size_t size, const char *name,
                                                  const char *base_dir,
                                                  struct aecs_client_config **out);

/*
 * The server part of the environment, over what a client config or a
 * credential file gave: AECS_SERVER (a comma-separated list of URLs, each
 * checked by aecs_cred_server_url) replaces servers; AECS_CA or
 * AECS_FINGERPRINT (not both) replaces ca / the pin. Unset or empty
 * variables change nothing.
 */
AECS_MUST_CHECK int aecs_client_env_server(char *servers[AECS_CRED_MAX_SERVERS], size_t *count,
                                           char **ca, int *pinned, struct aecs_tls_pin *pin);

/*
 * Parses configuration text (size bytes, at most AECS_CLIENT_CONFIG_MAX).
 * `name` names it in messages; relative paths are joined to base_dir (NULL:
 * kept as they are). No environment, no file is read. Checks syntax, values
 * and the required keys. AECS_E_INVALID_ARGUMENT for anything wrong (the
 * message is "NAME:LINE: PATH: reason"), AECS_E_NO_MEMORY. The caller frees
 * *out with aecs_client_config_free.
 */
AECS_MUST_CHECK int aecs_client_config_parse(const char *text, size_t size, const char *name,
                                             const char *base_dir,
                                             struct aecs_client_config **out);

/* Flags of aecs_client_config_load. */
enum {
    AECS_CLIENT_CONFIG_ENV = 1, /* apply AECS_SERVER, AECS_CA, AECS_FINGERPRINT, AECS_ATTESTER */
};

/*
 * Reads and parses the file at path, then (with AECS_CLIENT_CONFIG_ENV)
 * applies the environment: AECS_SERVER (comma-separated) replaces the
 * servers, AECS_CA or AECS_FINGERPRINT (not both) the TLS trust,
 * AECS_ATTESTER the attester type; empty variables count as unset.
 * AECS_E_NOT_FOUND when the file does not exist, the errors of
 * aecs_client_config_parse otherwise.
 */
AECS_MUST_CHECK int aecs_client_config_load(const char *path, unsigned flags,
                                            struct aecs_client_config **out);

/* Frees a configuration. NULL is fine. */
void aecs_client_config_free(struct aecs_client_config *cfg);

#endif
