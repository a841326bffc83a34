/*
 * etcd_answer.c - libFuzzer target for what the etcd store backend reads of
 * etcd's answers (src/store/etcd.c), which the host controls: one kv of a
 * Range answer, and the answer to a Txn.
 *
 * Input: byte 0 picks the reader (bit 0) and, for a Txn, its shape (bits 1-2:
 * with or without its compares and its ops); the rest is etcd's JSON.
 * Whatever the bytes: no crash, no leak, and
 *   - an accepted kv has a key that passes aecs_store_key_check, a version
 *     in 1..INT64_MAX and a value of at most AECS_STORE_VALUE_MAX bytes; it
 *     is also accepted when only its key is asked for; written again as etcd
 *     writes one (base64, the version as a string), it reads back the same;
 *   - a Txn answer is taken as success only when etcd said "succeeded" and
 *     gave one response per op, and then each put left a version >= 1; as a
 *     mismatch only when it did not succeed; anything else leaves the
 *     versions zero.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/err.h"
#include "store/backend.h"

static json_t *b64(const uint8_t *p, size_t n)
{
    char *text = malloc(aecs_base64_encoded_size(n) + 1);
    json_t *j;

    if (text == NULL)
        abort();
    aecs_base64_encode(p, n, text);
    j = json_string(text);
    free(text);
    return j;
}

static void fuzz_kv(const json_t *kv)
{
    char *key = NULL, *key2 = NULL;
    uint8_t *value = NULL, *value2 = NULL;
    size_t value_size = 0, value_size2 = 0;
    uint64_t version = 0, version2 = 0;

    if (aecs_store_etcd_read_kv(kv, &key, &version, NULL, NULL) == AECS_OK) {
        if (aecs_store_key_check(key) != AECS_OK || version < 1 || version > INT64_MAX)
            abort();
    } else if (key != NULL) {
        abort();
    }
    free(key);
    key = NULL;
    if (aecs_store_etcd_read_kv(kv, &key, &version, &value, &value_size) != AECS_OK) {
        if (key != NULL)
            abort();
        return;
    }
    if (aecs_store_key_check(key) != AECS_OK || version < 1 || version > INT64_MAX ||
        value == NULL || value_size > AECS_STORE_VALUE_MAX)
        abort();
    if (aecs_store_etcd_read_kv(kv, &key2, &version2, NULL, NULL) != AECS_OK ||
        strcmp(key, key2) != 0 || version2 != version)
        abort();
    free(key2);
    key2 = NULL;

    /* as etcd writes it: key and value in base64, the int64 version as a string */
    char vtext[24];
    snprintf(vtext, sizeof(vtext), "%llu", (unsigned long long)version);
    json_t *w = json_pack("{s:o, s:s, s:o}", "key", b64((const uint8_t *)key, strlen(key)),
                          "version", vtext, "value", b64(value, value_size));
    if (w == NULL ||
        aecs_store_etcd_read_kv(w, &key2, &version2, &value2, &value_size2) != AECS_OK ||
        strcmp(key2, key) != 0 || version2 != version || value_size2 != value_size ||
        memcmp(value2, value, value_size) != 0)
        abort();
    json_decref(w);
    free(key);
    free(key2);
    free(value);
    free(value2);
}

static void fuzz_txn(const json_t *resp, unsigned shape)
{
    static const struct aecs_store_compare cmps[] = {{"/audit/00000000000000000001", 0},
                                                     {"/k/index", 3}};
    static const struct aecs_store_op ops[] = {
        {AECS_STORE_OP_PUT, "/audit/00000000000000000001", (const uint8_t *)"x", 1},
        {AECS_STORE_OP_DELETE, "/k/index", NULL, 0},
    };
    size_t cmp_count = (shape & 1) ? 0 : 2;
    size_t op_count = (shape & 2) ? 0 : 2;
    uint64_t versions[2] = {99, 99};
    int rc = aecs_store_etcd_txn_answer(resp, cmps, cmp_count, ops, op_count, versions);
    int succeeded = json_is_true(json_object_get(resp, "succeeded"));
    size_t responses = json_array_size(json_object_get(resp, "responses"));

    if (rc == AECS_OK) {
        if (!succeeded || responses != op_count)
            abort();
        if (op_count > 0 && (versions[0] < 1 || versions[0] > INT64_MAX))
            abort();
    } else if (rc == AECS_E_MISMATCH) {
        if (succeeded || cmp_count == 0 || responses != cmp_count)
            abort();
    } else if (rc != AECS_E_FORMAT) {
        abort();
    }
    if (rc != AECS_OK && op_count > 0 && (versions[0] != 0 || versions[1] != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j;

    if (size < 1)
        return 0;
    /* as the backend loads every answer */
    j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (j == NULL)
        return 0;
    if (data[0] & 1)
        fuzz_txn(j, data[0] >> 1);
    else
        fuzz_kv(j);
    json_decref(j);
    aecs_err_clear();
    return 0;
}
