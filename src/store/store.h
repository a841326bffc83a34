/*
 * store.h - the key-value store under the key store: get, put, delete, list
 * by prefix and atomic transactions with compare-and-swap on a per-key
 * version, over pluggable backends (SQLite, etcd).
 *
 * What is stored: opaque values (the keystore encrypts them before they get
 * here) under printable paths such as "/secrets/service1/data_key_1". The
 * store never looks inside a value.
 *
 * Versions (the same as etcd's per-key `version`):
 *   - a key that does not exist has version 0;
 *   - creating a key gives it version 1, every put after that adds 1;
 *   - deleting a key takes it back to 0, so a key deleted and created again
 *     starts at 1 again. A (key, version) pair names one value only for as
 *     long as the key is not deleted: a caller that needs more (the keystore
 *     binding key and version into a ciphertext) keeps a tombstone instead of
 *     deleting, or adds its own generation to the value.
 *
 * Expected versions (put, delete) and compares (txn):
 *   AECS_STORE_ANY  no condition (put and delete only)
 *   0               the key must not exist
 *   N >= 1          the key must be at version N
 * A condition that does not hold fails with AECS_E_MISMATCH, and nothing is
 * written. The message names the key, the expected version and the version
 * found ("store: /a/b: expected version 2, found version 3"; "absent" for 0).
 * Callers tell "someone else wrote first" (AECS_E_MISMATCH: read again and
 * retry) from "no such key" (AECS_E_NOT_FOUND) from everything else.
 *
 * Error codes of this interface:
 *   AECS_E_INVALID_ARGUMENT  a key, prefix, cursor, limit or spec that is not
 *                            valid (see aecs_store_key_check), a txn with two
 *                            ops on one key or too many ops
 *   AECS_E_TOO_LARGE         a value above AECS_STORE_VALUE_MAX, a txn above
 *                            AECS_STORE_TXN_MAX_SIZE
 *   AECS_E_NOT_FOUND         get or unconditional delete of a key that is absent
 *   AECS_E_MISMATCH          a version condition or txn compare did not hold
 *   AECS_E_UNSUPPORTED       a store written by a newer aecs (schema version)
 *   AECS_E_FORMAT            the store file is corrupt or not an aecs store;
 *                            etcd holds a key or value aecs cannot have written
 *   AECS_E_IO                the backend cannot be reached, is busy past its
 *                            timeout, refused the request (etcd's message, cut
 *                            short), or failed to write; with etcd also a write
 *                            whose outcome is unknown (it went out and no
 *                            answer came: read the keys again before retrying)
 *   AECS_E_NO_MEMORY, AECS_E_INTERNAL
 *
 * Keys: 1 to AECS_STORE_KEY_MAX bytes of well-formed UTF-8, starting with
 * '/', with no control characters (C0, DEL, C1). Keys sort by their bytes
 * (memcmp order), in every backend.
 *
 * Listing by prefix is an exact byte prefix, never a pattern: '%', '_', '*'
 * and '?' are ordinary characters. list("/a/b") returns "/a/b", "/a/b/c" and
 * "/a/bc" (all start with those bytes), not "/a/c"; to list the children of
 * a folder, end the prefix with '/' ("/a/b/" returns "/a/b/c" only). The
 * server always lists with prefixes that end in '/'.
 *
 * Ownership: values and listings returned here belong to the caller, who
 * releases them with aecs_store_value_free / aecs_store_list_free; those
 * wipe value bytes (aecs_cleanse) before freeing them, since values are
 * ciphertexts of secrets. Input buffers are only read during the call.
 *
 * Threads: a store handle may be shared by threads, and some of its calls
 * run at once (SQLite: reads beside one transaction at a time; etcd: up to
 * connections= calls, default 8, one connection each); the others wait.
 * Several handles (threads, processes, or replicas for etcd) may use the
 * same store at once: each call is atomic, and CAS is how concurrent
 * writers avoid lost updates.
 */
#ifndef AECS_STORE_STORE_H
#define AECS_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Longest key or prefix, in bytes (without the NUL). */
#define AECS_STORE_KEY_MAX 512
/* Largest value, in bytes. */
#define AECS_STORE_VALUE_MAX (1024u * 1024u)
/* Most compares, and most ops, in one transaction (etcd's default --max-txn-ops). */
#define AECS_STORE_TXN_MAX_OPS 128
/*
 * Most bytes in one transaction: every compare's and op's key plus every
 * value. Below etcd's default request limit (1.5 MiB), so any transaction
 * this interface accepts, an etcd backend can send.
 */
#define AECS_STORE_TXN_MAX_SIZE (AECS_STORE_VALUE_MAX + 256u * 1024u)
/* Most items in one list call (and the default for limit 0). */
#define AECS_STORE_LIST_MAX 1000
/*
 * With values, a list call stops early (more = 1) before the values it
 * returns would pass this many bytes; it always returns at least one item.
 */
#define AECS_STORE_LIST_MAX_SIZE (16u * 1024u * 1024u)

/* "No condition" as an expected version (put, delete). */
#define AECS_STORE_ANY UINT64_MAX

struct aecs_store;

/* A value read from the store. data is never NULL after a successful get. */
struct aecs_store_value {
    uint8_t *data;
    size_t size;
    uint64_t version; /* >= 1 */
};

/* One listed key; value is NULL (and value_size 0) unless values were asked for. */
struct aecs_store_item {
    char *key;
    uint8_t *value;
    size_t value_size;
    uint64_t version;
};

struct aecs_store_list {
    struct aecs_store_item *items; /* sorted by key (bytes) */
    size_t count;
    int more; /* 1 when keys past the last item match too: ask again with start_after */
};

/* aecs_store_list flags */
#define AECS_STORE_LIST_VALUES 1u /* also return values (else keys and versions only) */

/* A txn condition: `key` is at `version` (0: absent). AECS_STORE_ANY is not allowed. */
struct aecs_store_compare {
    const char *key;
    uint64_t version;
};

enum aecs_store_op_kind {
    AECS_STORE_OP_PUT = 1,
    AECS_STORE_OP_DELETE = 2,
};

/* A txn write. value/value_size only for puts. Deleting an absent key is not an error. */
struct aecs_store_op {
    enum aecs_store_op_kind kind;
    const char *key;
    const void *value;
    size_t value_size;
};

/* ---- specs ---- */

enum aecs_store_backend_kind {
    AECS_STORE_BACKEND_SQLITE = 1,
    AECS_STORE_BACKEND_ETCD = 2,
};

/* A parsed store spec; `location` points into the spec string. */
struct aecs_store_spec {
    enum aecs_store_backend_kind kind;
    const char *location; /* sqlite: the file path; etcd: endpoints and options */
};

/*
 * Parses "sqlite:PATH" (PATH: a file, created if missing, non-empty, no
 * control characters) or "etcd:ENDPOINTS[?OPTIONS]":
 *
 *   etcd:http://10.0.0.1:2379,http://10.0.0.2:2379,http://10.0.0.3:2379
 *   etcd:https://h1:2379,https://h2:2379?cacert=/p/ca.pem&cert=/p/c.pem&key=/p/k.pem
 *       &user=aecs&password-file=/p/pw&timeout=5000&connect-timeout=2000&connections=8
 *
 * ENDPOINTS: 1 to 16 client URLs, comma-separated, each http:// or https://
 * (all the same), HOST:PORT with no user, path or query; HOST a name, an
 * IPv4 address or [IPv6]. OPTIONS, each at most once, '&'-separated:
 *   cacert=FILE         CA certificates (PEM) etcd's certificate must chain
 *                       to (default: the system's); https only
 *   cert=FILE, key=FILE a client certificate and its key (PEM); https only
 *   user=NAME, password-file=FILE
 *                       etcd auth: the password is the file's content (one
 *                       final newline dropped). A password is never part of
 *                       a spec: specs end up in command lines and logs
 *   timeout=MS          time budget of one call, all endpoints and retries
 *                       together (100..600000, default 5000)
 *   connect-timeout=MS  time for one connection attempt (100..60000,
 *                       default 2000)
 *   connections=N       calls of one handle that run at once, each on its
 *                       own connection (1..64, default 8); more wait for one
 * Values are taken as they are (no %-decoding); they cannot hold '&' or '?'.
 * Does no I/O. Fails with AECS_E_INVALID_ARGUMENT and a message that says
 * what is wrong and shows the accepted forms.
 */
AECS_MUST_CHECK int aecs_store_spec_parse(const char *spec, struct aecs_store_spec *out);

/* ---- open and close ---- */

/*
 * Opens the store a spec names. sqlite:PATH creates the file (mode 0600)
 * when it is missing and refuses a file that is corrupt, not an aecs store,
 * or written by a newer aecs. etcd: reads the password file, authenticates
 * and checks that some endpoint answers and has a leader (AECS_E_IO naming
 * every endpoint and why it failed when none does). On success the caller
 * frees *out with aecs_store_free.
 */
AECS_MUST_CHECK int aecs_store_open(const char *spec, struct aecs_store **out);
/* Closes the store and frees the handle. NULL is fine. No call may be running on it. */
void aecs_store_free(struct aecs_store *s);
/* "sqlite" or "etcd". */
const char *aecs_store_backend_name(const struct aecs_store *s);

/* ---- keys ---- */

/*
 * AECS_OK when `key` is a valid key (see the top of this file), else
 * AECS_E_INVALID_ARGUMENT with a message that says why (the key is cut
 * short in it). Every call below checks its keys with this.
 */
AECS_MUST_CHECK int aecs_store_key_check(const char *key);

/* ---- reads ---- */

/*
 * Reads a key's value and version into *out (cleared on entry). Fails with
 * AECS_E_NOT_FOUND when the key is absent. On success the caller releases
 * *out with aecs_store_value_free.
 */
AECS_MUST_CHECK int aecs_store_get(struct aecs_store *s, const char *key,
                                   struct aecs_store_value *out);
/* Wipes and frees the value bytes and clears *v. NULL is fine. */
void aecs_store_value_free(struct aecs_store_value *v);

/*
 * Lists the keys that start with the bytes of `prefix` (a valid key; "/"
 * lists everything) and, when start_after is not NULL, sort after
 * start_after (a valid key, normally the last key of the previous page), in
 * byte order, at most `limit` of them (1..AECS_STORE_LIST_MAX; 0 means
 * AECS_STORE_LIST_MAX). out->more says whether more keys match past the last
 * one returned. One call sees one consistent state; successive pages are not
 * a snapshot (keys written between calls may or may not appear). On success
 * the caller releases *out with aecs_store_list_free (also fine on an empty
 * or failed list).
 */
AECS_MUST_CHECK int aecs_store_list(struct aecs_store *s, const char *prefix,
                                    const char *start_after, size_t limit, unsigned flags,
                                    struct aecs_store_list *out);
void aecs_store_list_free(struct aecs_store_list *l);

/* ---- writes ---- */

/*
 * Writes a value (0..AECS_STORE_VALUE_MAX bytes) under key if the key is at
 * expected_version (AECS_STORE_ANY: whatever its version). When new_version
 * is not NULL it gets the key's version after the put (1 on create). The put
 * is durable when this returns AECS_OK.
 */
AECS_MUST_CHECK int aecs_store_put(struct aecs_store *s, const char *key, const void *value,
                                   size_t value_size, uint64_t expected_version,
                                   uint64_t *new_version);

/*
 * Deletes key if it is at expected_version (N >= 1, or AECS_STORE_ANY; 0 is
 * AECS_E_INVALID_ARGUMENT). With AECS_STORE_ANY an absent key is
 * AECS_E_NOT_FOUND; with N an absent key is AECS_E_MISMATCH (found 0).
 */
AECS_MUST_CHECK int aecs_store_delete(struct aecs_store *s, const char *key,
                                      uint64_t expected_version);

/*
 * Atomic transaction, all or nothing (etcd's Txn: if every compare holds,
 * then every op): when every compare holds against the state before the
 * transaction, applies the ops in order; else fails with AECS_E_MISMATCH
 * naming the first compare that did not hold, and changes nothing. Any other
 * failure changes nothing either. Limits: at most AECS_STORE_TXN_MAX_OPS
 * compares and as many ops, no two ops on one key, AECS_STORE_TXN_MAX_SIZE
 * bytes in all. Zero ops is allowed (a pure check of the compares).
 *
 * When versions is not NULL it has op_count entries and gets, on success,
 * for each op: a put's new version, or a delete's version before the delete
 * (0 when the key was absent).
 */
AECS_MUST_CHECK int aecs_store_txn(struct aecs_store *s, const struct aecs_store_compare *cmps,
                                   size_t cmp_count, const struct aecs_store_op *ops,
                                   size_t op_count, uint64_t *versions);

#endif
