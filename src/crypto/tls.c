/*
 * tls.c - server TLS contexts, the handshake-time connection limit, and the
 * self-signed certificate of a first start (see tls.h).
 */
#include "crypto/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/codec.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "crypto/ossl.h"
#include "crypto/x509.h"
#include "crypto/x509_build.h"

/* A client address as counted: family (4 or 6) then 4 bytes, or 8 (an IPv6 /64). */
#define ADDR_KEY_SIZE 9
#define ADDR_BUCKETS 1024

struct addr_count {
    uint8_t key[ADDR_KEY_SIZE];
    unsigned open;
    struct addr_count *next;
};

struct aecs_tls_server {
    SSL_CTX *ctx;
    unsigned max_connections;
    unsigned max_per_address; /* 0: no limit per address */
    atomic_uint open;
    atomic_ulong refused;
    pthread_mutex_t addr_lock;
    struct addr_count *addrs[ADDR_BUCKETS];
    pthread_mutex_t slots_lock;
    struct conn_slot *slots; /* every live SSL of this server (for the reaper) */
};

/*
 * What each SSL carries (ex_data): the server, whether it counts against the
 * limit (0: taken over it, refused at the ClientHello), its address's count,
 * and what the reaper needs. owner, born_ms, prev and next never change
 * after creation but under slots_lock; hello is set by the owner's thread.
 */
struct conn_slot {
    struct aecs_tls_server *tls;
    SSL *ssl;
    int counted;
    uint8_t key[ADDR_KEY_SIZE];
    int addr_counted;
    unsigned owner;
    int64_t born_ms;
    int hello; /* a ClientHello came */
    int reaped;
    struct conn_slot *prev, *next;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ex_data slot on each SSL: its conn_slot. */
static int g_ssl_index = -1;
static pthread_once_t g_ssl_index_once = PTHREAD_ONCE_INIT;

static unsigned addr_bucket(const uint8_t key[ADDR_KEY_SIZE])
{
    uint32_t h = 2166136261u; /* FNV-1a: spreads addresses, nothing secret depends on it */

    for (size_t i = 0; i < ADDR_KEY_SIZE; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % ADDR_BUCKETS;
}

/* The peer's address key, 0 when it is not an IP address (nothing is counted then). */
static int peer_key(SSL *ssl, uint8_t key[ADDR_KEY_SIZE])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = SSL_get_fd(ssl);

    memset(key, 0, ADDR_KEY_SIZE);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        return 1;
    }
    if (ss.ss_family == AF_INET6) {
        const uint8_t *a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, v4mapped, 12) == 0) {
            key[0] = 4;
            memcpy(key + 1, a + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a, 8); /* one /64: what one host can easily have */
        }
        return 1;
    }
    return 0;
}

/* Counts one more connection from key: 0 when that address is at the limit already. */
static int addr_take(struct aecs_tls_server *tls, const uint8_t key[ADDR_KEY_SIZE])
{
    unsigned b = addr_bucket(key);
    struct addr_count *a;
    int ok = 1;

    pthread_mutex_lock(&tls->addr_lock);
    for (a = tls->addrs[b]; a != NULL && memcmp(a->key, key, ADDR_KEY_SIZE) != 0; a = a->next) {
    }
    if (a == NULL) {
        a = calloc(1, sizeof(*a));
        if (a != NULL) {
            memcpy(a->key, key, ADDR_KEY_SIZE);
            a->next = tls->addrs[b];
            tls->addrs[b] = a;
        }
    }
    if (a == NULL || a->open >= tls->max_per_address)
        ok = 0;
    else
        a->open++;
    pthread_mutex_unlock(&tls->addr_lock);
    return ok;
}

static void addr_release(struct aecs_tls_server *tls, const uint8_t key[ADDR_KEY_SIZE])
{
    unsigned b = addr_bucket(key);
    struct addr_count **pp = &tls->addrs[b];

    pthread_mutex_lock(&tls->addr_lock);
    while (*pp != NULL && memcmp((*pp)->key, key, ADDR_KEY_SIZE) != 0)
        pp = &(*pp)->next;
    if (*pp != NULL && --(*pp)->open == 0) {
        struct addr_count *gone = *pp;
        *pp = gone->next;
        free(gone);
    }
    pthread_mutex_unlock(&tls->addr_lock);
}

static void ssl_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                        void *argp)
{
    struct conn_slot *c = ptr;

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->tls->slots_lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->tls->slots = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&c->tls->slots_lock);
    if (c->addr_counted)
        addr_release(c->tls, c->key);
    if (c->counted)
        atomic_fetch_sub(&c->tls->open, 1);
    free(c);
}

static void ssl_index_init(void)
{
    g_ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_ex_free);
}

/*
 * Refuses the handshake of a connection taken over the limit, or from an
 * address that has max_per_address connections open already (the socket is
 * known by now: libevent gave it to the SSL object after accept).
 */
static int client_hello_cb(SSL *ssl, int *alert, void *arg)
{
    struct conn_slot *c = SSL_get_ex_data(ssl, g_ssl_index);

    (void)arg;
    if (c != NULL)
        c->hello = 1;
    if (c == NULL || !c->counted) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (c->tls->max_per_address > 0 && !c->addr_counted && peer_key(ssl, c->key)) {
        if (!addr_take(c->tls, c->key)) {
            atomic_fetch_add(&c->tls->refused, 1);
            *alert = SSL_AD_INTERNAL_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        c->addr_counted = 1;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

int aecs_tls_server_new(const char *cert_file, const char *key_file, unsigned max_connections,
                        struct aecs_tls_server **out)
{
    int rc = AECS_OK;
    struct aecs_tls_server *tls = NULL;

    *out = NULL;
    ENSURE(max_connections >= 1, AECS_E_INVALID_ARGUMENT, "tls: max connections must be >= 1");
    pthread_once(&g_ssl_index_once, ssl_index_init);
    ENSURE(g_ssl_index >= 0, AECS_E_CRYPTO, "tls: SSL_get_ex_new_index failed");
    ENSURE(aecs_file_exists(cert_file), AECS_E_NOT_FOUND, "tls: certificate file %.200s not found",
           cert_file);
    ENSURE(aecs_file_exists(key_file), AECS_E_NOT_FOUND, "tls: key file %.200s not found",
           key_file);

    tls = calloc(1, sizeof(*tls));
    ENSURE(tls != NULL, AECS_E_NO_MEMORY, "tls: out of memory");
    tls->max_connections = max_connections;
    pthread_mutex_init(&tls->addr_lock, NULL);
    pthread_mutex_init(&tls->slots_lock, NULL);
    atomic_init(&tls->open, 0);
    atomic_init(&tls->refused, 0);
    tls->ctx = SSL_CTX_new(TLS_server_method());
    ENSURE_OUT(tls->ctx != NULL, AECS_E_CRYPTO, "tls: SSL_CTX_new failed");
    OSSL_GUARD_OUT(SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION), AECS_E_CRYPTO,
                   "SSL_CTX_set_min_proto_version");
    SSL_CTX_set_options(tls->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                      SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* TLS 1.2: forward-secret AEAD suites only. */
    OSSL_GUARD_OUT(SSL_CTX_set_cipher_list(tls->ctx, "ECDHE+AESGCM:ECDHE+CHACHA20"),
                   AECS_E_CRYPTO, "SSL_CTX_set_cipher_list");
    if (SSL_CTX_use_certificate_chain_file(tls->ctx, cert_file) != 1) {
        rc = OSSL_FAIL(AECS_E_FORMAT, "SSL_CTX_use_certificate_chain_file");
        aecs_err_prefix("tls: certificate file %.200s: ", cert_file);
        goto out;
    }
    if (SSL_CTX_use_PrivateKey_file(tls->ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        rc = OSSL_FAIL(AECS_E_FORMAT, "SSL_CTX_use_PrivateKey_file");
        aecs_err_prefix("tls: key file %.200s: ", key_file);
        goto out;
    }
    if (SSL_CTX_check_private_key(tls->ctx) != 1) {
        rc = OSSL_FAIL(AECS_E_MISMATCH, "SSL_CTX_check_private_key");
        aecs_err_prefix("tls: %.200s does not belong to %.200s: ", key_file, cert_file);
        goto out;
    }
    SSL_CTX_set_client_hello_cb(tls->ctx, client_hello_cb, NULL);
    *out = tls;
    tls = NULL;
out:
    aecs_tls_server_free(tls);
    return rc;
}

void aecs_tls_server_free(struct aecs_tls_server *tls)
{
    if (tls == NULL)
        return;
    SSL_CTX_free(tls->ctx);
    for (size_t b = 0; b < ADDR_BUCKETS; b++) {
        while (tls->addrs[b] != NULL) {
            struct addr_count *a = tls->addrs[b];
            tls->addrs[b] = a->next;
            free(a);
        }
    }
    pthread_mutex_destroy(&tls->addr_lock);
    pthread_mutex_destroy(&tls->slots_lock);
    free(tls);
}

struct ssl_st *aecs_tls_server_ssl_owned(struct aecs_tls_server *tls, unsigned owner)
{
    SSL *ssl = SSL_new(tls->ctx);
    struct conn_slot *c = calloc(1, sizeof(*c));

    if (ssl == NULL || c == NULL || SSL_set_ex_data(ssl, g_ssl_index, c) != 1) {
        free(c);
        SSL_free(ssl);
        return NULL;
    }
    c->tls = tls;
    c->ssl = ssl;
    c->owner = owner;
    c->born_ms = now_ms();
    if (atomic_fetch_add(&tls->open, 1) >= tls->max_connections) {
        /* not counted: the ClientHello callback refuses it */
        atomic_fetch_sub(&tls->open, 1);
        atomic_fetch_add(&tls->refused, 1);
    } else {
        c->counted = 1;
    }
    pthread_mutex_lock(&tls->slots_lock);
    c->next = tls->slots;
    if (tls->slots != NULL)
        tls->slots->prev = c;
    tls->slots = c;
    pthread_mutex_unlock(&tls->slots_lock);
    return ssl;
}

struct ssl_st *aecs_tls_server_ssl(struct aecs_tls_server *tls)
{
    return aecs_tls_server_ssl_owned(tls, 0);
}

unsigned aecs_tls_server_reap(struct aecs_tls_server *tls, unsigned owner, unsigned max_ms)
{
    int64_t now = now_ms();
    unsigned n = 0;

    pthread_mutex_lock(&tls->slots_lock);
    for (struct conn_slot *c = tls->slots; c != NULL; c = c->next) {
        int fd;
        if (c->owner != owner || c->hello || c->reaped || now - c->born_ms < (int64_t)max_ms)
            continue;
        fd = SSL_get_fd(c->ssl);
        if (fd < 0)
            continue;
        /* The owner's event loop sees end of file and closes the connection itself. */
        shutdown(fd, SHUT_RDWR);
        c->reaped = 1;
        n++;
    }
    pthread_mutex_unlock(&tls->slots_lock);
    return n;
}

void aecs_tls_server_set_max_per_address(struct aecs_tls_server *tls, unsigned n)
{
    tls->max_per_address = n;
}

unsigned aecs_tls_server_open_count(const struct aecs_tls_server *tls)
{
    return atomic_load(&((struct aecs_tls_server *)tls)->open);
}

unsigned long aecs_tls_server_refused_count(const struct aecs_tls_server *tls)
{
    return atomic_load(&((struct aecs_tls_server *)tls)->refused);
}

int aecs_tls_make_self_signed(const char *cert_file, const char *key_file, const char *cn,
                              const char *alt_names, unsigned days)
{
    int rc = AECS_OK;
    struct aecs_privkey *key = NULL;
    struct aecs_cert *cert = NULL;
    char *pem = NULL;
    size_t pem_size = 0;
    int64_t now = (int64_t)time(NULL);
    struct aecs_cert_template t;

    ENSURE(days >= 1 && days <= 36500, AECS_E_INVALID_ARGUMENT, "tls: days must be 1..36500");
    GUARD_OUT(aecs_privkey_generate_p256(&key));
    memset(&t, 0, sizeof(t));
    t.subject_cn = cn;
    t.subject_key = key;
    t.not_before = now - 60;
    t.not_after = now + (int64_t)days * 86400;
    t.path_len = -1;
    t.key_usage = AECS_KU_DIGITAL_SIGNATURE;
    t.subject_alt_names = alt_names;
    t.server_auth = 1;
    GUARD_OUT(aecs_cert_build(&t, &cert));
    GUARD_OUT(aecs_cert_to_pem(cert, &pem, &pem_size));
    GUARD_OUT(aecs_privkey_save_pem(key, key_file));
    GUARD_OUT(aecs_file_write_atomic(cert_file, pem, pem_size, 0644));
out:
    free(pem);
    aecs_cert_free(cert);
    aecs_privkey_free(key);
    return rc;
}

int aecs_tls_cert_file_fingerprint(const char *cert_file, char hex[65])
{
    int rc = AECS_OK;
    uint8_t *data = NULL;
    size_t size = 0;
    BIO *bio = NULL;
    X509 *x = NULL;
    unsigned char *der = NULL;
    int len;
    uint8_t digest[32];

    hex[0] = '\0';
    GUARD(aecs_file_read(cert_file, 1u << 20, &data, &size));
    bio = BIO_new_mem_buf(data, (int)size);
    ENSURE_OUT(bio != NULL, AECS_E_NO_MEMORY, "tls: out of memory");
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x == NULL) {
        rc = OSSL_FAIL(AECS_E_FORMAT, "PEM_read_bio_X509");
        aecs_err_prefix("%.200s: ", cert_file);
        goto out;
    }
    len = i2d_X509(x, &der);
    ENSURE_OUT(len > 0, AECS_E_CRYPTO, "tls: i2d_X509 failed");
    aecs_sha256(der, (size_t)len, digest);
    aecs_hex_encode(digest, sizeof(digest), hex);
out:
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);
    free(data);
    return rc;
}
