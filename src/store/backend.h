/*
 * backend.h - what a store backend implements (private to src/store/).
 *
 * store.c checks every argument (keys, prefixes, cursors, limits, sizes,
 * duplicate ops) before it calls a backend, so backends see valid input
 * only. put and delete are transactions of one compare and one op, so a
 * backend implements four calls: get, list, txn and free. Each maps onto
 * one etcd request: get and list onto Range, txn onto Txn.
 *
 * A backend embeds `struct aecs_store` as its first member and fills in
 * `ops`; aecs_store_free calls ops->free, which frees the whole object.
 */
#ifndef AECS_STORE_BACKEND_H
#define AECS_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct aecs_store_ops {
    const char *name;
    /* *out is cleared; AECS_E_NOT_FOUND when absent. */
    int (*get)(struct aecs_store *s, const char *key, struct aecs_store_value *out);
    /*
     * Keys k with prefix <= k < prefix_end (prefix_end: the prefix's byte
     * successor, see aecs_store_prefix_end) and, when start_after is not
     * NULL, k > start_after; at most limit items (1..AECS_STORE_LIST_MAX) and,
     * with values, AECS_STORE_LIST_MAX_SIZE value bytes. *out is cleared.
     */
    int (*list)(struct aecs_store *s, const char *prefix, const char *prefix_end,
                const char *start_after, size_t limit, unsigned flags, struct aecs_store_list *out);
    /* As aecs_store_txn; versions is never NULL (op_count entries). */
    int (*txn)(struct aecs_store *s, const struct aecs_store_compare *cmps, size_t cmp_count,
               const struct aecs_store_op *ops, size_t op_count, uint64_t *versions);
    void (*free)(struct aecs_store *s);
};

struct aecs_store {
    const struct aecs_store_ops *ops;
};

/*
 * The smallest string greater than every string that starts with prefix:
 * the prefix with its last byte that is not 0xff incremented and what follows
 * it dropped (etcd's GetPrefixRangeEnd). For "/a/b" it is "/a/c". out needs
 * strlen(prefix) + 1 bytes. Returns 0, or -1 when there is none (every byte
 * is 0xff, which a valid key cannot be).
 */
int aecs_store_prefix_end(const char *prefix, char *out, size_t out_size);

/* The message for a failed compare, as store.h describes; returns AECS_E_MISMATCH. */
int aecs_store_mismatch(const char *file, int line, const char *key, uint64_t expected,
                        uint64_t found);
#define AECS_STORE_MISMATCH(key, expected, found)                                                  \
    aecs_store_mismatch(__FILE__, __LINE__, (key), (expected), (found))

/* Backends. Each validates nothing that store.c already checked. */
AECS_MUST_CHECK int aecs_store_sqlite_open(const char *path, struct aecs_store **out);

/* ---- etcd (etcd_spec.c: the spec, etcd.c: the backend) ---- */

#define AECS_STORE_ETCD_MAX_ENDPOINTS 16
#define AECS_STORE_ETCD_DEFAULT_TIMEOUT_MS 5000L
#define AECS_STORE_ETCD_DEFAULT_CONNECT_TIMEOUT_MS 2000L
#define AECS_STORE_ETCD_DEFAULT_CONNECTIONS 8
#define AECS_STORE_ETCD_MAX_CONNECTIONS 64

/* What an etcd spec looks like, for messages (see store.h). */
#define AECS_STORE_ETCD_FORM                                                                       \
    "etcd:http[s]://HOST:PORT[,http[s]://HOST:PORT...][?OPTION=VALUE&...] with OPTION one of "   \
    "cacert, cert, key, user, password-file, timeout, connect-timeout, connections"

/* A piece of the spec string: len bytes at p, not NUL-terminated; len 0 when not given. */
struct aecs_store_span {
    const char *p;
    size_t len;
};

/* An etcd location ("etcd:" taken off), cut into its parts; every span points into it. */
struct aecs_store_etcd_spec {
    size_t endpoint_count;
    struct aecs_store_span endpoints[AECS_STORE_ETCD_MAX_ENDPOINTS]; /* "http[s]://HOST:PORT" */
    int tls;                                                          /* 1: every one is https */
    struct aecs_store_span cacert;        /* CA file to check etcd's certificate with */
    struct aecs_store_span cert;          /* client certificate (PEM), with key */
    struct aecs_store_span key;           /* its private key (PEM) */
    struct aecs_store_span user;          /* etcd user, with password_file */
    struct aecs_store_span password_file; /* the file that holds the user's password */
    long timeout_ms;                      /* budget of one store call, all endpoints together */
    long connect_timeout_ms;              /* budget of one connection attempt */
    size_t connections;                   /* calls of one handle that run at once */
};

/*
 * Parses what follows "etcd:" (the grammar is in store.h). Does no I/O.
 * Fails with AECS_E_INVALID_ARGUMENT and a message that says what is wrong
 * and shows AECS_STORE_ETCD_FORM.
 */
AECS_MUST_CHECK int aecs_store_etcd_spec_parse(const char *location,
                                               struct aecs_store_etcd_spec *out);
AECS_MUST_CHECK int aecs_store_etcd_open(const char *location, struct aecs_store **out);
/*
 * For tests: the most calls of handle s that held a connection at the same
 * time since it was opened (0 when s is not an etcd store).
 */
size_t aecs_store_etcd_peak_calls(struct aecs_store *s);

/*
 * What the etcd backend reads of etcd's answers (etcd.c), which the host
 * controls; exposed for fuzz/etcd_answer.c.
 *
 * aecs_store_etcd_read_kv reads one kv of a Range answer: its key (base64 of
 * a key that passes aecs_store_key_check; *key a fresh string), its version
 * (1..INT64_MAX, a JSON number or a string of 1 to 19 digits) and, when value
 * is not NULL, its value (base64 of at most AECS_STORE_VALUE_MAX bytes; absent
 * means empty; *value a fresh buffer of at least one byte, *value_size bytes).
 * The caller frees both with free(). AECS_E_FORMAT otherwise.
 *
 * aecs_store_etcd_txn_answer reads the answer to the Txn made of cmps and ops
 * (see the top of etcd.c): AECS_OK with versions[i] the version op i left (a
 * put's prev_kv version + 1, a delete's prev_kvs[0] version or 0);
 * AECS_E_MISMATCH naming the first compare that did not hold; AECS_E_FORMAT
 * for anything else (versions zeroed).
 */
struct json_t;
AECS_MUST_CHECK int aecs_store_etcd_read_kv(const struct json_t *kv, char **key, uint64_t *version,
                                            uint8_t **value, size_t *value_size);
AECS_MUST_CHECK int aecs_store_etcd_txn_answer(const struct json_t *resp,
                                               const struct aecs_store_compare *cmps,
                                               size_t cmp_count, const struct aecs_store_op *ops,
                                               size_t op_count, uint64_t *versions);

#endif
