/*
 * tls.h - the server side of TLS: a TLS 1.2+ context from a certificate and
 * key file, a connection limit enforced at the handshake, and the
 * self-signed certificate aecsd makes at its first start.
 *
 * The HTTP layer (src/server/) hands each new connection's SSL object to
 * libevent's OpenSSL bufferevent; it only ever sees `struct ssl_st *`, which
 * libevent's own header declares, so OpenSSL's headers stay in src/crypto/.
 *
 * Connection limit: aecs_tls_server_ssl() counts live SSL objects (the count
 * goes down when libevent frees one). Past the limit it still returns an SSL
 * object (libevent would otherwise fall back to plain text), but one whose
 * handshake is refused at the ClientHello, so the connection closes at once.
 * A limit per client address (an IPv4 address, an IPv6 /64) works the same
 * way: the ClientHello of a connection from an address that has that many
 * open already is refused. Both kinds of refusal are counted together.
 */
#ifndef AECS_CRYPTO_TLS_H
#define AECS_CRYPTO_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct ssl_st;
struct aecs_tls_server;

/*
 * A server context for the PEM certificate (chain) file and private key
 * file, TLS 1.2 and 1.3 only, at most max_connections live connections
 * (>= 1). AECS_E_NOT_FOUND / AECS_E_FORMAT name the file that is missing or
 * unreadable, AECS_E_MISMATCH when the key does not belong to the
 * certificate. The caller frees *out with aecs_tls_server_free once every
 * connection is gone.
 */
AECS_MUST_CHECK int aecs_tls_server_new(const char *cert_file, const char *key_file,
                                        unsigned max_connections,
                                        struct aecs_tls_server **out);
void aecs_tls_server_free(struct aecs_tls_server *tls);

/*
 * A new SSL object for an accepted connection, or NULL when out of memory.
 * owner names the thread whose event loop serves the connection (0 by
 * default), for aecs_tls_server_reap.
 */
struct ssl_st *aecs_tls_server_ssl(struct aecs_tls_server *tls);
struct ssl_st *aecs_tls_server_ssl_owned(struct aecs_tls_server *tls, unsigned owner);

/*
 * Shuts down (shutdown(2), both ways) the sockets of owner's connections
 * that are max_ms old and have sent no ClientHello yet: a connection that
 * never begins its handshake would otherwise hold a place under the limits
 * (the per-address one counts from the ClientHello) until the HTTP timeout.
 * Call from owner's thread (its event loop then closes them); returns how
 * many it shut down.
 */
unsigned aecs_tls_server_reap(struct aecs_tls_server *tls, unsigned owner, unsigned max_ms);

/*
 * At most n live connections per client address (0: no such limit, the
 * default). Set before the first connection.
 */
void aecs_tls_server_set_max_per_address(struct aecs_tls_server *tls, unsigned n);

/* Connections open now, and connections refused for the limits since start. */
unsigned aecs_tls_server_open_count(const struct aecs_tls_server *tls);
unsigned long aecs_tls_server_refused_count(const struct aecs_tls_server *tls);

/*
 * Writes a fresh P-256 key (mode 0600) and a self-signed certificate for it
 * (CN `cn`, the given subjectAltNames in OpenSSL's form such as
 * "DNS:localhost,IP:127.0.0.1", serverAuth, valid for `days` days), each
 * atomically. Existing files are replaced: the caller decides when to make one.
 */
AECS_MUST_CHECK int aecs_tls_make_self_signed(const char *cert_file, const char *key_file,
                                              const char *cn, const char *alt_names,
                                              unsigned days);

/*
 * The SHA-256 fingerprint of the first certificate in a PEM file, as 64
 * lowercase hex digits and a NUL (what a credential's `fingerprint:` pins).
 */
AECS_MUST_CHECK int aecs_tls_cert_file_fingerprint(const char *cert_file, char hex[65]);

#endif
