/*
 * aecs/client.h - the aecs client library: a TEE application gets its secrets
 * from aecsd.
 *
 * One call does the whole release protocol (docs/protocol-release.md): it
 * checks the server's identity against the server policy the client is
 * configured with, before it sends anything else; asks for a challenge; makes
 * an ephemeral key pair and evidence of this application bound to the
 * challenge and that key; asks for the secrets; checks the answer's
 * signature with the server's identity key; and opens each secret's envelope.
 * docs/client.md has the configuration file, the order of the checks and an
 * example.
 *
 *   aecs_client *client = NULL;
 *   aecs_client_secret *key = NULL;
 *   aecs_client_error err;
 *
 *   if (aecs_client_new_from_file("/etc/aecs/client.yaml", &client, &err) != AECS_CLIENT_OK)
 *       die("%s", err.message);
 *   if (aecs_client_fetch(client, "payments", "db_key", &key) != AECS_CLIENT_OK)
 *       die("%s", aecs_client_last_error(client)->message);
 *   use(aecs_client_secret_data(key), aecs_client_secret_size(key));
 *   aecs_client_secret_free(key);         (wipes the bytes)
 *   aecs_client_free(client);
 *
 * Types. aecs_client and aecs_client_secret are opaque: only the functions
 * below make, read and free them. aecs_client_error, aecs_client_ref and
 * aecs_client_result are plain structs the caller allocates (on the stack),
 * so that an error can be reported when no client exists yet.
 *
 * Threads. A client is used by one thread at a time (it keeps one HTTPS
 * connection per server and its identity cache); use one client per thread,
 * or a lock. Secrets are independent of the client that fetched them and of
 * each other: they may outlive it and be read from any thread.
 *
 * Memory. A secret's bytes are kept on OpenSSL's secure heap when the
 * program has set one up (CRYPTO_secure_malloc_init), else on the ordinary
 * heap; they are wiped (OPENSSL_cleanse) when the secret is freed. Error
 * messages never hold secret bytes.
 *
 * This header includes only the C standard library's headers.
 */
#ifndef AECS_CLIENT_H
#define AECS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Outcomes. The values are stable: programs may store and compare them.
 * Which check failed is in aecs_client_error.check, the server's error code
 * (when it answered one) in aecs_client_error.server_code.
 */
typedef enum aecs_client_status {
    AECS_CLIENT_OK = 0,
    /* The caller passed something invalid (NULL, a malformed name, too many secrets). */
    AECS_CLIENT_E_USAGE = 1,
    /* The configuration (file or environment) is missing, unreadable or wrong; the message
       names the file, the line and the key. */
    AECS_CLIENT_E_CONFIG = 2,
    /* No server gave a usable answer: none could be reached (connection, TLS, timeout) or
       each answered with a server error (5xx). Worth retrying later. */
    AECS_CLIENT_E_UNAVAILABLE = 3,
    /* The server's identity did not pass: its identity answer did not parse or its signature
       did not verify, its evidence did not verify, was not bound to its identity key, or its
       claims do not match the configured server policy. Nothing else was sent to it. */
    AECS_CLIENT_E_SERVER_IDENTITY = 4,
    /* This application's own evidence could not be made (the attester failed). */
    AECS_CLIENT_E_ATTESTATION = 5,
    /* The server refused the request as a whole (4xx): its code says why, e.g.
       attestation_failed (it did not accept this application's evidence), binding_mismatch,
       invalid_nonce, expired_nonce, rate_limited, bad_request. */
    AECS_CLIENT_E_REFUSED = 6,
    /* The server's answer broke the protocol: a signature that does not verify with the
       checked identity key, malformed JSON, entries that do not match the request, an
       envelope that does not open. Nothing of that answer is returned. */
    AECS_CLIENT_E_PROTOCOL = 7,
    /* The exchange succeeded but the server refused (at least one of) the secrets: no such
       secret (not_found), the secret's policy does not match this application (forbidden),
       or a server-side failure for that secret (internal). */
    AECS_CLIENT_E_SECRET_REFUSED = 8,
    /* Out of memory. */
    AECS_CLIENT_E_NO_MEMORY = 9,
    /* Anything else (a bug, a failed cryptographic primitive). */
    AECS_CLIENT_E_INTERNAL = 10,
} aecs_client_status;

/* A short fixed description of a status ("the server's identity did not pass"), never NULL. */
const char *aecs_client_status_string(aecs_client_status status);

#define AECS_CLIENT_CHECK_MAX 32
#define AECS_CLIENT_CODE_MAX 32
#define AECS_CLIENT_MESSAGE_MAX 640

/* What failed, for people and for programs. */
typedef struct aecs_client_error {
    aecs_client_status status;
    /* The step or check that failed, one of: "config", "usage", "connect", "identity",
       "identity-signature", "identity-evidence", "identity-binding", "server-policy",
       "server-insecure", "server-service-id", "challenge", "attester", "release",
       "release-signature", "release-answer", "release-entries", "envelope", "secret", "internal";
       "" on success. */
    char check[AECS_CLIENT_CHECK_MAX + 1];
    /* The server's error code when it answered one ("invalid_nonce", "forbidden"), else "". */
    char server_code[AECS_CLIENT_CODE_MAX + 1];
    /* One line: what failed and, where it helps, how to fix it. Untrusted text is cut short. */
    char message[AECS_CLIENT_MESSAGE_MAX];
} aecs_client_error;

typedef struct aecs_client aecs_client;               /* opaque */
typedef struct aecs_client_secret aecs_client_secret; /* opaque */

/*
 * Makes a client from the YAML configuration file at path (docs/client.md).
 * The file is read and checked, the verifier and the attester are set up
 * and the server URLs checked; no server is contacted yet. On success
 * *client is a new client the caller frees with aecs_client_free. On failure
 * *client is NULL and *err (when err is not NULL) says why:
 * AECS_CLIENT_E_CONFIG for the file (its name, line and key), AECS_CLIENT_E_USAGE,
 * AECS_CLIENT_E_NO_MEMORY.
 */
aecs_client_status aecs_client_new_from_file(const char *path, aecs_client **client,
                                             aecs_client_error *err);

/*
 * The same from the environment: the file named by AECS_CONFIG (required),
 * then, when set and not empty, AECS_SERVER (comma-separated URLs) replaces
 * its servers, AECS_CA or AECS_FINGERPRINT (not both) replaces its TLS trust,
 * and AECS_ATTESTER its attester type. The server policy can come only from
 * the file.
 */
aecs_client_status aecs_client_new_from_env(aecs_client **client, aecs_client_error *err);

/* Frees a client and everything it caches. Secrets it fetched stay valid. NULL is fine. */
void aecs_client_free(aecs_client *client);

/*
 * The last failure of a call on this client (status AECS_CLIENT_OK and empty
 * strings after a success). Points into the client: valid until the next
 * call on it or its free.
 */
const aecs_client_error *aecs_client_last_error(const aecs_client *client);

/*
 * Fetches one secret of service `service` named `name` (each 1 to 64
 * characters of A-Z a-z 0-9 . _ -, not starting with '.'). On success
 * *secret is a new secret the caller frees with aecs_client_secret_free. On
 * failure *secret is NULL and aecs_client_last_error(client) says why;
 * AECS_CLIENT_E_SECRET_REFUSED means the server answered but refused this
 * secret (server_code not_found, forbidden or internal).
 */
aecs_client_status aecs_client_fetch(aecs_client *client, const char *service, const char *name,
                                     aecs_client_secret **secret);

/* The most secrets one aecs_client_fetch_many call may ask for. */
#define AECS_CLIENT_MAX_SECRETS 16

/* A secret to ask for (strings borrowed for the call). */
typedef struct aecs_client_ref {
    const char *service;
    const char *name;
} aecs_client_ref;

/* What became of one asked-for secret. */
typedef struct aecs_client_result {
    /* The secret when it was released (the caller frees it with aecs_client_secret_free),
       else NULL. */
    aecs_client_secret *secret;
    /* AECS_CLIENT_OK when released, AECS_CLIENT_E_SECRET_REFUSED when refused. */
    aecs_client_status status;
    /* When refused: the server's code (not_found, forbidden, internal) and its reason for
       people (printable ASCII, never secret material). "" when released. */
    char code[AECS_CLIENT_CODE_MAX + 1];
    char reason[257];
} aecs_client_result;

/*
 * Fetches count (1 to AECS_CLIENT_MAX_SECRETS) secrets in one attestation
 * round: one challenge, one piece of evidence, one release request. No
 * (service, name) pair may repeat. results must have room for count entries.
 *
 * When the round completed, every results[i] is filled (a secret, or a
 * refusal with its code and reason) and the return is AECS_CLIENT_OK when
 * every secret was released, AECS_CLIENT_E_SECRET_REFUSED when at least one
 * was refused (the others are still released: free them). For any other
 * return, no result holds a secret and aecs_client_last_error says what
 * failed.
 */
aecs_client_status aecs_client_fetch_many(aecs_client *client, const aecs_client_ref *refs,
                                          size_t count, aecs_client_result *results);

/*
 * A released secret's bytes (followed by a NUL byte that is not counted, so
 * text secrets can be used as C strings) and their count. Valid until
 * aecs_client_secret_free. Binary secrets may hold NUL bytes themselves.
 */
const uint8_t *aecs_client_secret_data(const aecs_client_secret *secret);
size_t aecs_client_secret_size(const aecs_client_secret *secret);

/* Its type name ("SECRET_TYPE_AES256_KEY", docs/policy.md) and content type
   ("application/octet-stream", "application/x-pem-file", ...), as the server said. */
const char *aecs_client_secret_type(const aecs_client_secret *secret);
const char *aecs_client_secret_content_type(const aecs_client_secret *secret);

/* The service and name it was fetched as. */
const char *aecs_client_secret_service(const aecs_client_secret *secret);
const char *aecs_client_secret_name(const aecs_client_secret *secret);

/* Wipes the secret's bytes and frees it. NULL is fine. */
void aecs_client_secret_free(aecs_client_secret *secret);

/* Frees the secrets of count results and empties them. */
void aecs_client_results_clear(aecs_client_result *results, size_t count);

#ifdef __cplusplus
}
#endif

#endif
