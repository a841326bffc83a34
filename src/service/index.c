/*
 * index.c - the sealed index and the service's writes.
 *
 * Every object lives in a sealed record (keystore/record.h) whose expected
 * version comes from one place: the index, itself a sealed record at
 * /k/index whose version is the store's generation. A write reads the index,
 * seals the changed records with the version of the new generation, and
 * commits them in one store transaction together with the new index
 * (generation + 1) and an audit entry, on the condition that the index was
 * not changed meanwhile. So a record swapped, renamed, deleted or put back at
 * an older version in the store is refused when it is read, and a write is
 * all or nothing.
 *
 * A record's version is the generation that wrote it, not a count of its own
 * writes: a count would start at 1 again when a secret is destroyed and made
 * again under its name, and the destroyed secret's record, put back in the
 * store, would open as the new one. Generations never repeat, so a (path,
 * version) pair names one value for the life of the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "crypto/crypto.h"
#include "keystore/record.h"
#include "service/internal.h"

void svc_index_clear(struct svc_index *ix)
{
    json_decref(ix->records);
    memset(ix, 0, sizeof(*ix));
}

/* Raises *max to at least value (other threads may raise it at the same time). */
static void raise_max(uint64_t *max, uint64_t value)
{
    uint64_t seen = __atomic_load_n(max, __ATOMIC_SEQ_CST);

    while (value > seen && !__atomic_compare_exchange_n(max, &seen, value, 0, __ATOMIC_SEQ_CST,
                                                         __ATOMIC_SEQ_CST)) {
    }
}

static int parse_json_record(const uint8_t *plain, size_t size, const char *path, json_t **out)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)plain, size, 0, &jerr);

    *out = NULL;
    ENSURE(j != NULL && json_is_object(j), AECS_E_FORMAT,
           "store: record %.200s is not a JSON object", path);
    *out = j;
    return AECS_OK;
}

/* Opens a sealed JSON record at an explicit version. */
static int open_json(struct aecs_service *svc, const char *path, const char *type,
                     uint64_t version, const struct aecs_store_value *v, json_t **out)
{
    int rc;
    uint8_t *plain = NULL;
    size_t plain_size = 0;

    rc = aecs_record_open(svc->kek, path, type, version, v->data, v->size, &plain, &plain_size);
    if (rc != AECS_OK) {
        log_error("store: record %.200s does not open: %s (changed, moved or rolled back in "
                  "the store?)",
                  path, aecs_err_last()->message);
        return rc;
    }
    rc = parse_json_record(plain, plain_size, path, out);
    aecs_record_value_free(plain, plain_size);
    return rc;
}

/*
 * Fills ix from the index opened last time when the store still holds that
 * version of it, learnt from a keys-only listing (the index can be large):
 * AECS_OK on a hit, AECS_E_NOT_FOUND otherwise (nothing recorded).
 */
static int cached_index(struct aecs_service *svc, struct svc_index *ix)
{
    struct aecs_store_list l = {0};
    int hit = 0;

    if (aecs_store_list(svc->store, SVC_INDEX, NULL, 1, 0, &l) != AECS_OK) {
        aecs_err_clear(); /* the get that follows reports the store's failure */
        return AECS_E_NOT_FOUND;
    }
    pthread_mutex_lock(&svc->index_lock);
    if (l.count == 1 && strcmp(l.items[0].key, SVC_INDEX) == 0 &&
        svc->index_records != NULL && svc->index_store_version == l.items[0].version) {
        ix->records = json_incref(svc->index_records);
        ix->generation = svc->index_generation;
        ix->audit_seq = svc->index_audit_seq;
        ix->store_version = l.items[0].version;
        hit = 1;
    }
    pthread_mutex_unlock(&svc->index_lock);
    aecs_store_list_free(&l);
    return hit ? AECS_OK : AECS_E_NOT_FOUND;
}

int svc_index_parse(const json_t *j, uint64_t version, json_t **records, uint64_t *generation,
                    uint64_t *audit_seq)
{
    json_int_t gen = json_integer_value(json_object_get(j, "generation"));
    json_int_t seq = json_integer_value(json_object_get(j, "audit_seq"));
    json_t *r = json_object_get(j, "records");

    *records = NULL;
    *generation = 0;
    *audit_seq = 0;
    ENSURE(gen >= 1 && (uint64_t)gen == version && seq >= 0 && json_is_object(r), AECS_E_FORMAT,
           "store: the index is malformed");
    *records = r;
    *generation = (uint64_t)gen;
    *audit_seq = (uint64_t)seq;
    return AECS_OK;
}

int svc_index_load(struct aecs_service *svc, struct svc_index *ix)
{
    int rc = AECS_OK;
    struct aecs_store_value v = {0};
    json_t *j = NULL;
    json_t *records;
    uint64_t version = 0, seen, gen = 0, seq = 0;

    memset(ix, 0, sizeof(*ix));
    /*
     * The highest generation seen is read before the store: a generation
     * committed before this read started must be in it, but one committed
     * (by another thread) after the read is not, and is no rollback.
     */
    seen = __atomic_load_n(&svc->max_generation, __ATOMIC_SEQ_CST);
    /* The index's store version alone first (a key listing): no value copied on a hit. */
    if (cached_index(svc, ix) == AECS_OK)
        return AECS_OK;
    GUARD(aecs_store_get(svc->store, SVC_INDEX, &v));
    /* The same store version as last time: the same index, already opened. */
    pthread_mutex_lock(&svc->index_lock);
    if (svc->index_records != NULL && svc->index_store_version == v.version) {
        ix->records = json_incref(svc->index_records);
        ix->generation = svc->index_generation;
        ix->audit_seq = svc->index_audit_seq;
        ix->store_version = v.version;
    }
    pthread_mutex_unlock(&svc->index_lock);
    if (ix->records != NULL) {
        aecs_store_value_free(&v);
        return AECS_OK;
    }
    GUARD_OUT(aecs_record_peek_version(v.data, v.size, &version));
    GUARD_OUT(open_json(svc, SVC_INDEX, SVC_T_INDEX, version, &v, &j));
    GUARD_OUT(svc_index_parse(j, version, &records, &gen, &seq));
    if (gen < seen) {
        log_error("store: the index is at generation %llu, older than generation %llu seen "
                  "before: the store was rolled back",
                  (unsigned long long)gen, (unsigned long long)seen);
        BAIL_OUT(AECS_E_BAD_SIGNATURE,
                 "store: generation %llu is older than %llu seen before (rolled back)",
                 (unsigned long long)gen, (unsigned long long)seen);
    }
    raise_max(&svc->max_generation, gen);
    ix->records = json_incref(records);
    ix->generation = gen;
    ix->audit_seq = seq;
    ix->store_version = v.version;
    pthread_mutex_lock(&svc->index_lock);
    json_decref(svc->index_records);
    svc->index_records = json_incref(records);
    svc->index_store_version = v.version;
    svc->index_generation = ix->generation;
    svc->index_audit_seq = ix->audit_seq;
    pthread_mutex_unlock(&svc->index_lock);
out:
    json_decref(j);
    aecs_store_value_free(&v);
    return rc;
}

uint64_t svc_index_version(const struct svc_index *ix, const char *path)
{
    json_t *v = json_object_get(ix->records, path);

    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int svc_index_paths(const struct svc_index *ix, const char *prefix, json_t **out)
{
    const char *key;
    json_t *value;
    size_t n = 0, i = 0, plen = strlen(prefix);
    const char **keys;
    json_t *arr;

    *out = NULL;
    json_object_foreach(ix->records, key, value) n++;
    keys = calloc(n + 1, sizeof(*keys));
    ENSURE(keys != NULL, AECS_E_NO_MEMORY, "out of memory");
    json_object_foreach(ix->records, key, value)
    {
        if (strncmp(key, prefix, plen) == 0)
            keys[i++] = key;
    }
    qsort(keys, i, sizeof(*keys), cmp_str);
    arr = json_array();
    for (size_t k = 0; arr != NULL && k < i; k++) {
        if (json_array_append_new(arr, json_string(keys[k])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(keys);
    ENSURE(arr != NULL, AECS_E_NO_MEMORY, "out of memory");
    *out = arr;
    return AECS_OK;
}

int svc_record_read(struct aecs_service *svc, const struct svc_index *ix, const char *path,
                    const char *type, json_t **out)
{
    int rc;
    struct aecs_store_value v = {0};
    uint64_t version = svc_index_version(ix, path);

    *out = NULL;
    ENSURE(version != 0, AECS_E_NOT_FOUND, "%.200s: no such record", path);
    rc = aecs_store_get(svc->store, path, &v);
    if (rc == AECS_E_NOT_FOUND) {
        log_error("store: record %.200s is in the index but missing from the store", path);
        return AECS_ERR(AECS_E_BAD_SIGNATURE, "store: record %.200s is missing (store damaged)",
                        path);
    }
    GUARD(rc);
    rc = open_json(svc, path, type, version, &v, out);
    aecs_store_value_free(&v);
    return rc;
}

/* ---- writes ---- */

int svc_txn_begin(struct aecs_service *svc, struct svc_txn *t, int allow_empty)
{
    int rc;

    memset(t, 0, sizeof(*t));
    pthread_mutex_lock(&svc->write_lock);
    rc = svc_index_load(svc, &t->ix);
    if (rc == AECS_E_NOT_FOUND && allow_empty) {
        aecs_err_clear();
        t->ix.records = json_object();
        ENSURE(t->ix.records != NULL, AECS_E_NO_MEMORY, "out of memory");
        return AECS_OK; /* generation 0, store version 0: the index must not exist yet */
    }
    if (rc == AECS_E_NOT_FOUND)
        return AECS_ERR(AECS_E_INTERNAL, "store: the index is missing");
    GUARD(rc);
    /* The loaded records are shared with readers: change a copy. */
    json_t *copy = json_deep_copy(t->ix.records);
    ENSURE(copy != NULL, AECS_E_NO_MEMORY, "out of memory");
    json_decref(t->ix.records);
    t->ix.records = copy;
    return AECS_OK;
}

static int txn_slot(struct svc_txn *t, const char *path, size_t *slot)
{
    ENSURE(t->op_count < SVC_TXN_MAX_OPS, AECS_E_TOO_LARGE,
           "too many changes in one request (at most %d)", SVC_TXN_MAX_OPS);
    t->keys[t->op_count] = strdup(path);
    ENSURE(t->keys[t->op_count] != NULL, AECS_E_NO_MEMORY, "out of memory");
    *slot = t->op_count++;
    return AECS_OK;
}

int svc_txn_put(struct aecs_service *svc, struct svc_txn *t, const char *path, const char *type,
                const json_t *value)
{
    char *text;
    size_t slot = 0, sealed_size = 0;
    uint8_t *sealed = NULL;
    uint64_t version = t->ix.generation + 1; /* see the top of this file */
    int rc;

    text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
    ENSURE(text != NULL, AECS_E_NO_MEMORY, "out of memory");
    rc = aecs_record_seal(svc->kek, path, type, version, (const uint8_t *)text, strlen(text),
                          &sealed, &sealed_size);
    aecs_cleanse(text, strlen(text));
    free(text);
    GUARD(rc);
    rc = txn_slot(t, path, &slot);
    if (rc != AECS_OK) {
        free(sealed);
        return rc;
    }
    t->bufs[slot] = sealed;
    t->ops[slot].kind = AECS_STORE_OP_PUT;
    t->ops[slot].key = t->keys[slot];
    t->ops[slot].value = sealed;
    t->ops[slot].value_size = sealed_size;
    if (json_object_get(t->ix.records, path) == NULL)
        t->grows = 1;
    if (json_object_set_new(t->ix.records, path, json_integer((json_int_t)version)) != 0)
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    return AECS_OK;
}

int svc_txn_delete(struct svc_txn *t, const char *path)
{
    size_t slot = 0;

    GUARD(txn_slot(t, path, &slot));
    t->ops[slot].kind = AECS_STORE_OP_DELETE;
    t->ops[slot].key = t->keys[slot];
    json_object_del(t->ix.records, path);
    return AECS_OK;
}

int svc_txn_create_clear(struct svc_txn *t, const char *path, const char *text)
{
    size_t slot = 0;

    ENSURE(t->cmp_count < sizeof(t->cmps) / sizeof(t->cmps[0]), AECS_E_INTERNAL,
           "too many compares");
    GUARD(txn_slot(t, path, &slot));
    t->bufs[slot] = (uint8_t *)strdup(text);
    ENSURE(t->bufs[slot] != NULL, AECS_E_NO_MEMORY, "out of memory");
    t->ops[slot].kind = AECS_STORE_OP_PUT;
    t->ops[slot].key = t->keys[slot];
    t->ops[slot].value = t->bufs[slot];
    t->ops[slot].value_size = strlen(text);
    t->cmps[t->cmp_count].key = t->keys[slot];
    t->cmps[t->cmp_count].version = 0;
    t->cmp_count++;
    return AECS_OK;
}

int svc_txn_commit(struct aecs_service *svc, struct svc_txn *t, const struct svc_audit_event *ev)
{
    int rc = AECS_OK;
    struct svc_audit_add add;
    json_t *index = NULL;
    char *text = NULL;
    uint8_t *sealed = NULL;
    size_t sealed_size = 0, n = t->op_count, c = t->cmp_count;
    struct aecs_store_op ops[AECS_STORE_TXN_MAX_OPS];
    struct aecs_store_compare cmps[8];
    uint64_t versions[AECS_STORE_TXN_MAX_OPS];
    uint64_t generation = t->ix.generation + 1;

    memset(&add, 0, sizeof(add));
    GUARD(svc_audit_prepare(svc, ev, generation, &add));
    index = json_pack("{s:I, s:I, s:O}", "generation", (json_int_t)generation, "audit_seq",
                      (json_int_t)add.seq, "records", t->ix.records);
    ENSURE_OUT(index != NULL, AECS_E_NO_MEMORY, "out of memory");
    text = json_dumps(index, JSON_COMPACT | JSON_SORT_KEYS);
    ENSURE_OUT(text != NULL, AECS_E_NO_MEMORY, "out of memory");
    ENSURE_OUT(!t->grows || strlen(text) <= SVC_INDEX_TEXT_MAX, AECS_E_TOO_LARGE,
               "the store's index is full (%zu records): destroy secrets or unregister "
               "services before adding more", json_object_size(t->ix.records));
    GUARD_OUT(aecs_record_seal(svc->kek, SVC_INDEX, SVC_T_INDEX, generation,
                               (const uint8_t *)text, strlen(text), &sealed, &sealed_size));

    memcpy(ops, t->ops, n * sizeof(ops[0]));
    ops[n++] = (struct aecs_store_op){AECS_STORE_OP_PUT, SVC_INDEX, sealed, sealed_size};
    memcpy(cmps, t->cmps, c * sizeof(cmps[0]));
    cmps[c++] = (struct aecs_store_compare){SVC_INDEX, t->ix.store_version};
    for (size_t i = 0; i < add.count; i++) {
        ops[n++] = add.ops[i];
        cmps[c++] = add.cmps[i];
    }
    rc = aecs_store_txn(svc->store, cmps, c, ops, n, versions);
    if (rc == AECS_E_MISMATCH) {
        log_warn("store: a concurrent write changed the store first: %s",
                 aecs_err_last()->message);
        BAIL_OUT(AECS_E_MISMATCH, "another write changed the store at the same time: retry");
    }
    GUARD_OUT(rc);
    raise_max(&svc->max_generation, generation);
    svc_audit_committed(svc, &add, versions[n - 1]);
out:
    free(sealed);
    if (text != NULL) {
        aecs_cleanse(text, strlen(text));
        free(text);
    }
    json_decref(index);
    svc_audit_add_free(&add);
    return rc;
}

void svc_txn_end(struct aecs_service *svc, struct svc_txn *t)
{
    for (size_t i = 0; i < t->op_count; i++) {
        free(t->bufs[i]);
        free(t->keys[i]);
    }
    svc_index_clear(&t->ix);
    memset(t, 0, sizeof(*t));
    pthread_mutex_unlock(&svc->write_lock);
}
