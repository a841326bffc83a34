/*
 * store.c - the backend-independent half of the store: spec parsing, the
 * checks on every argument (keys, versions, sizes, limits), put and delete
 * as one-op transactions, and the calls through to the backend's ops table.
 *
 * Backends (backend.h) receive only arguments that passed these checks, so
 * the rules of store.h hold whatever the backend.
 */
#include "store/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "store/backend.h"

#define SPEC_SQLITE "sqlite:"
#define SPEC_ETCD "etcd:"
#define SPEC_LOCATION_MAX 4095

/* ---------------------------------------------------------------- specs */

int aecs_store_spec_parse(const char *spec, struct aecs_store_spec *out)
{
    const char *loc = NULL;

    memset(out, 0, sizeof(*out));
    ENSURE(spec != NULL, AECS_E_INVALID_ARGUMENT, "store: no store spec given");
    if (strncmp(spec, SPEC_SQLITE, strlen(SPEC_SQLITE)) == 0) {
        out->kind = AECS_STORE_BACKEND_SQLITE;
        loc = spec + strlen(SPEC_SQLITE);
    } else if (strncmp(spec, SPEC_ETCD, strlen(SPEC_ETCD)) == 0) {
        out->kind = AECS_STORE_BACKEND_ETCD;
        loc = spec + strlen(SPEC_ETCD);
    }
    ENSURE(loc != NULL, AECS_E_INVALID_ARGUMENT,
           "store: unknown store spec (expected sqlite:PATH or etcd:ENDPOINTS, that is %s)",
           AECS_STORE_ETCD_FORM);
    size_t len = strnlen(loc, SPEC_LOCATION_MAX + 1);
    ENSURE(len > 0, AECS_E_INVALID_ARGUMENT, "store: spec '%s' names no %s", spec,
           out->kind == AECS_STORE_BACKEND_SQLITE ? "file (sqlite:PATH)"
                                                  : "endpoints (etcd:ENDPOINTS)");
    ENSURE(len <= SPEC_LOCATION_MAX, AECS_E_INVALID_ARGUMENT,
           "store: spec location longer than %d bytes", SPEC_LOCATION_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)loc[i];
        ENSURE(c >= 0x20 && c != 0x7f, AECS_E_INVALID_ARGUMENT,
               "store: spec has a control character (byte 0x%02x at offset %zu)", c,
               (size_t)(loc - spec) + i);
    }
    if (out->kind == AECS_STORE_BACKEND_ETCD) {
        struct aecs_store_etcd_spec etcd;
        GUARD(aecs_store_etcd_spec_parse(loc, &etcd));
    }
    out->location = loc;
    return AECS_OK;
}

/* ----------------------------------------------------------------- keys */

/* Length of the well-formed, non-control UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return (c >= 0x20 && c != 0x7f) ? 1 : 0;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        if (c == 0xc2)
            lo = 0xa0; /* U+0080..U+009F are the C1 controls */
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return len;
}

/* Checks a key, prefix or cursor; `what` names it in messages. Never prints the key itself. */
static int check_key(const char *key, const char *what)
{
    ENSURE(key != NULL, AECS_E_INVALID_ARGUMENT, "store: no %s given", what);
    size_t len = strnlen(key, AECS_STORE_KEY_MAX + 1);
    ENSURE(len > 0, AECS_E_INVALID_ARGUMENT, "store: empty %s", what);
    ENSURE(len <= AECS_STORE_KEY_MAX, AECS_E_INVALID_ARGUMENT, "store: %s longer than %d bytes",
           what, AECS_STORE_KEY_MAX);
    ENSURE(key[0] == '/', AECS_E_INVALID_ARGUMENT, "store: %s does not start with '/'", what);
    const unsigned char *p = (const unsigned char *)key;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_char(p + i, len - i);
        ENSURE(n > 0, AECS_E_INVALID_ARGUMENT,
               "store: %s has a control character or invalid UTF-8 (byte 0x%02x at offset %zu)",
               what, p[i], i);
        i += n;
    }
    return AECS_OK;
}

int aecs_store_key_check(const char *key)
{
    return check_key(key, "key");
}

int aecs_store_prefix_end(const char *prefix, char *out, size_t out_size)
{
    size_t len = strlen(prefix);

    if (out_size < len + 1)
        return -1;
    while (len > 0 && (unsigned char)prefix[len - 1] == 0xff)
        len--;
    if (len == 0)
        return -1;
    memcpy(out, prefix, len);
    out[len - 1] = (char)((unsigned char)prefix[len - 1] + 1);
    out[len] = '\0';
    return 0;
}

int aecs_store_mismatch(const char *file, int line, const char *key, uint64_t expected,
                        uint64_t found)
{
    char e[48];
    char f[48];

    if (expected == 0)
        snprintf(e, sizeof(e), "absent");
    else
        snprintf(e, sizeof(e), "version %llu", (unsigned long long)expected);
    if (found == 0)
        snprintf(f, sizeof(f), "absent");
    else
        snprintf(f, sizeof(f), "version %llu", (unsigned long long)found);
    return aecs_err_set(AECS_E_MISMATCH, file, line, "store: %.200s: expected %s, found %s", key, e,
                        f);
}

/* A condition version: N >= 1 or 0; AECS_STORE_ANY only where allow_any. */
static int check_version(uint64_t v, int allow_any, const char *key)
{
    if (v == AECS_STORE_ANY && allow_any)
        return AECS_OK;
    ENSURE(v <= (uint64_t)INT64_MAX, AECS_E_INVALID_ARGUMENT,
           "store: %.200s: expected version %llu is out of range", key, (unsigned long long)v);
    return AECS_OK;
}

/* -------------------------------------------------------- open and close */

int aecs_store_open(const char *spec, struct aecs_store **out)
{
    struct aecs_store_spec sp;

    *out = NULL;
    GUARD(aecs_store_spec_parse(spec, &sp));
    switch (sp.kind) {
    case AECS_STORE_BACKEND_SQLITE:
        return aecs_store_sqlite_open(sp.location, out);
    case AECS_STORE_BACKEND_ETCD:
        return aecs_store_etcd_open(sp.location, out);
    default:
        return AECS_ERR(AECS_E_INTERNAL, "store: spec kind %d has no backend", (int)sp.kind);
    }
}

void aecs_store_free(struct aecs_store *s)
{
    if (s == NULL)
        return;
    s->ops->free(s);
}

const char *aecs_store_backend_name(const struct aecs_store *s)
{
    return s->ops->name;
}

/* ----------------------------------------------------------------- reads */

int aecs_store_get(struct aecs_store *s, const char *key, struct aecs_store_value *out)
{
    memset(out, 0, sizeof(*out));
    ENSURE(s != NULL, AECS_E_INVALID_ARGUMENT, "store: no store");
    GUARD(check_key(key, "key"));
    return s->ops->get(s, key, out);
}

void aecs_store_value_free(struct aecs_store_value *v)
{
    if (v == NULL)
        return;
    if (v->data != NULL) {
        aecs_cleanse(v->data, v->size);
        free(v->data);
    }
    memset(v, 0, sizeof(*v));
}

int aecs_store_list(struct aecs_store *s, const char *prefix, const char *start_after, size_t limit,
                    unsigned flags, struct aecs_store_list *out)
{
    char end[AECS_STORE_KEY_MAX + 1];

    memset(out, 0, sizeof(*out));
    ENSURE(s != NULL, AECS_E_INVALID_ARGUMENT, "store: no store");
    GUARD(check_key(prefix, "prefix"));
    if (start_after != NULL)
        GUARD(check_key(start_after, "start_after cursor"));
    if (limit == 0)
        limit = AECS_STORE_LIST_MAX;
    ENSURE(limit <= AECS_STORE_LIST_MAX, AECS_E_INVALID_ARGUMENT,
           "store: list limit %zu is above %d", limit, AECS_STORE_LIST_MAX);
    ENSURE((flags & ~AECS_STORE_LIST_VALUES) == 0, AECS_E_INVALID_ARGUMENT,
           "store: unknown list flags 0x%x", flags);
    /* A valid prefix starts with '/', so it always has a successor. */
    ENSURE(aecs_store_prefix_end(prefix, end, sizeof(end)) == 0, AECS_E_INTERNAL,
           "store: prefix has no successor");
    return s->ops->list(s, prefix, end, start_after, limit, flags, out);
}

void aecs_store_list_free(struct aecs_store_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->count; i++) {
        struct aecs_store_item *it = &l->items[i];
        free(it->key);
        if (it->value != NULL) {
            aecs_cleanse(it->value, it->value_size);
            free(it->value);
        }
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* ---------------------------------------------------------------- writes */

static int check_txn(const struct aecs_store_compare *cmps, size_t cmp_count,
                     const struct aecs_store_op *ops, size_t op_count)
{
    size_t total = 0;

    ENSURE(cmp_count <= AECS_STORE_TXN_MAX_OPS, AECS_E_INVALID_ARGUMENT,
           "store: txn has %zu compares, at most %d", cmp_count, AECS_STORE_TXN_MAX_OPS);
    ENSURE(op_count <= AECS_STORE_TXN_MAX_OPS, AECS_E_INVALID_ARGUMENT,
           "store: txn has %zu ops, at most %d", op_count, AECS_STORE_TXN_MAX_OPS);
    ENSURE(cmps != NULL || cmp_count == 0, AECS_E_INVALID_ARGUMENT, "store: txn compares missing");
    ENSURE(ops != NULL || op_count == 0, AECS_E_INVALID_ARGUMENT, "store: txn ops missing");
    for (size_t i = 0; i < cmp_count; i++) {
        GUARD(check_key(cmps[i].key, "compare key"));
        ENSURE(cmps[i].version != AECS_STORE_ANY, AECS_E_INVALID_ARGUMENT,
               "store: txn compare %zu (%.200s) has no version (AECS_STORE_ANY)", i, cmps[i].key);
        GUARD(check_version(cmps[i].version, 0, cmps[i].key));
        total += strlen(cmps[i].key);
        ENSURE(total <= AECS_STORE_TXN_MAX_SIZE, AECS_E_TOO_LARGE,
               "store: txn larger than %u bytes", AECS_STORE_TXN_MAX_SIZE);
    }
    for (size_t i = 0; i < op_count; i++) {
        const struct aecs_store_op *op = &ops[i];

        GUARD(check_key(op->key, "op key"));
        switch (op->kind) {
        case AECS_STORE_OP_PUT:
            ENSURE(op->value != NULL || op->value_size == 0, AECS_E_INVALID_ARGUMENT,
                   "store: put %.200s: no value bytes", op->key);
            ENSURE(op->value_size <= AECS_STORE_VALUE_MAX, AECS_E_TOO_LARGE,
                   "store: put %.200s: value of %zu bytes is above the limit of %u", op->key,
                   op->value_size, AECS_STORE_VALUE_MAX);
            break;
        case AECS_STORE_OP_DELETE:
            ENSURE(op->value == NULL && op->value_size == 0, AECS_E_INVALID_ARGUMENT,
                   "store: delete %.200s: a delete takes no value", op->key);
            break;
        default:
            return AECS_ERR(AECS_E_INVALID_ARGUMENT, "store: txn op %zu has unknown kind %d", i,
                            (int)op->kind);
        }
        total += strlen(op->key) + op->value_size;
        ENSURE(total <= AECS_STORE_TXN_MAX_SIZE, AECS_E_TOO_LARGE,
               "store: txn larger than %u bytes", AECS_STORE_TXN_MAX_SIZE);
        /* etcd refuses a txn that writes one key twice; so do we, everywhere. */
        for (size_t j = 0; j < i; j++) {
            ENSURE(strcmp(ops[j].key, op->key) != 0, AECS_E_INVALID_ARGUMENT,
                   "store: txn ops %zu and %zu both write %.200s", j, i, op->key);
        }
    }
    return AECS_OK;
}

int aecs_store_txn(struct aecs_store *s, const struct aecs_store_compare *cmps, size_t cmp_count,
                   const struct aecs_store_op *ops, size_t op_count, uint64_t *versions)
{
    uint64_t local[AECS_STORE_TXN_MAX_OPS];

    if (versions != NULL && op_count <= AECS_STORE_TXN_MAX_OPS)
        memset(versions, 0, op_count * sizeof(*versions));
    ENSURE(s != NULL, AECS_E_INVALID_ARGUMENT, "store: no store");
    GUARD(check_txn(cmps, cmp_count, ops, op_count));
    memset(local, 0, sizeof(local));
    GUARD(s->ops->txn(s, cmps, cmp_count, ops, op_count, local));
    if (versions != NULL)
        memcpy(versions, local, op_count * sizeof(*versions));
    return AECS_OK;
}

int aecs_store_put(struct aecs_store *s, const char *key, const void *value, size_t value_size,
                   uint64_t expected_version, uint64_t *new_version)
{
    uint64_t v = 0;

    if (new_version != NULL)
        *new_version = 0;
    ENSURE(s != NULL, AECS_E_INVALID_ARGUMENT, "store: no store");
    GUARD(check_key(key, "key"));
    GUARD(check_version(expected_version, 1, key));
    const struct aecs_store_compare cmp = {.key = key, .version = expected_version};
    const struct aecs_store_op op = {
        .kind = AECS_STORE_OP_PUT, .key = key, .value = value, .value_size = value_size};
    GUARD(aecs_store_txn(s, &cmp, expected_version == AECS_STORE_ANY ? 0 : 1, &op, 1, &v));
    if (new_version != NULL)
        *new_version = v;
    return AECS_OK;
}

int aecs_store_delete(struct aecs_store *s, const char *key, uint64_t expected_version)
{
    uint64_t v = 0;

    ENSURE(s != NULL, AECS_E_INVALID_ARGUMENT, "store: no store");
    GUARD(check_key(key, "key"));
    ENSURE(expected_version != 0, AECS_E_INVALID_ARGUMENT,
           "store: delete %.200s: expected version 0 (absent) cannot be deleted", key);
    GUARD(check_version(expected_version, 1, key));
    const struct aecs_store_compare cmp = {.key = key, .version = expected_version};
    const struct aecs_store_op op = {.kind = AECS_STORE_OP_DELETE, .key = key};
    GUARD(aecs_store_txn(s, &cmp, expected_version == AECS_STORE_ANY ? 0 : 1, &op, 1, &v));
    ENSURE(v != 0, AECS_E_NOT_FOUND, "store: delete %.200s: no such key", key);
    return AECS_OK;
}
