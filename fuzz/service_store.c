/*
 * service_store.c - libFuzzer target for what the service reads back from its
 * store (src/service/), which the host controls: the values kept in clear
 * (a nonce's expiry, the unseal reset epoch, the init metadata at
 * /meta/init) and the text of sealed records once opened (the index, the
 * audit head, an audit entry checked against the chain).
 *
 * Input: byte 0 (modulo 6) picks the reader, the rest is the value:
 *   0  svc_nonce_expiry_parse   /nonce/...: accepted exactly when it is what
 *                               the writer's "%lld" makes of a positive int64
 *   1  svc_unseal_epoch_parse   /meta/unseal/epoch: exactly what "%llu" makes
 *   2  svc_meta_init_parse      /meta/init: what is accepted, written again
 *                               as init writes it, reads back the same
 *   3  svc_index_parse          /k/index (opened): the same, as a commit
 *                               writes it
 *   4  svc_audit_head_parse     /k/audit-head (opened): the same
 *   5  svc_audit_entry_check    /audit/<n> (opened): accepted exactly when
 *                               its seq and prev (read here by code of our
 *                               own) are the ones asked for
 * The checks by code of our own say what each writer writes; anything else
 * is refused with AECS_E_FORMAT (or AECS_E_BAD_SIGNATURE for an entry).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/err.h"
#include "base/log.h"
#include "service/internal.h"

/* 1 when data is what printf("%llu") writes for some value in 1..max (0 allowed if zero_ok). */
static int canonical_decimal(const uint8_t *data, size_t size, uint64_t max, int zero_ok,
                             uint64_t *value)
{
    uint64_t v = 0;

    if (size < 1 || size > 20 || (data[0] == '0' && size > 1))
        return 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] < '0' || data[i] > '9')
            return 0;
        unsigned d = (unsigned)(data[i] - '0');
        if (v > (max - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (v == 0 && !zero_ok)
        return 0;
    *value = v;
    return 1;
}

static void fuzz_expiry(const uint8_t *data, size_t size)
{
    int64_t expires = 0;
    uint64_t want_value = 0;
    int want = canonical_decimal(data, size, INT64_MAX, 0, &want_value);
    int ok = svc_nonce_expiry_parse(data, size, &expires) == AECS_OK;

    if (ok != want || (ok && (uint64_t)expires != want_value))
        abort();
}

static void fuzz_epoch(const uint8_t *data, size_t size)
{
    uint64_t epoch = 0, want_value = 0;
    /* the parser takes at most 19 digits: every such value fits */
    int want = size <= 19 && canonical_decimal(data, size, UINT64_MAX, 1, &want_value);
    int ok = svc_unseal_epoch_parse(data, size, &epoch) == AECS_OK;

    if (ok != want || (ok && epoch != want_value))
        abort();
}

static void fuzz_meta_init(const uint8_t *data, size_t size)
{
    struct svc_meta_init m, again;
    char check[65];
    json_t *meta;
    char *text;

    if (svc_meta_init_parse(data, size, &m) != AECS_OK)
        return;
    if (m.threshold < 2 || m.share_count < m.threshold || m.share_count > 16 ||
        strnlen(m.set, sizeof(m.set)) == sizeof(m.set))
        abort();
    /* written again as init writes it (service.c), with the commitments when it has them */
    aecs_hex_encode(m.check, sizeof(m.check), check);
    meta = json_pack("{s:i, s:s, s:I, s:I, s:s, s:[]}", "format", 1, "check", check, "threshold",
                     (json_int_t)m.threshold, "shares", (json_int_t)m.share_count, "created",
                     "2026-01-01T00:00:00Z", "commitments");
    if (meta == NULL)
        abort();
    if (m.set[0] != '\0')
        json_object_set_new(meta, "set", json_string(m.set));
    for (unsigned i = 0; m.has_commitments && i < m.share_count; i++) {
        char hex[65];
        aecs_hex_encode(m.commitments[i], 32, hex);
        json_array_append_new(json_object_get(meta, "commitments"), json_string(hex));
    }
    text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL || svc_meta_init_parse((const uint8_t *)text, strlen(text), &again) != AECS_OK)
        abort();
    if (memcmp(again.check, m.check, sizeof(m.check)) != 0 || again.threshold != m.threshold ||
        again.share_count != m.share_count || strcmp(again.set, m.set) != 0 ||
        again.has_commitments != m.has_commitments ||
        (m.has_commitments &&
         memcmp(again.commitments, m.commitments, (size_t)m.share_count * 32) != 0))
        abort();
    free(text);
    json_decref(meta);
}

/* The record's JSON as the index reader loads it (an object), or NULL. */
static json_t *load_object(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);

    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static void fuzz_index(const uint8_t *data, size_t size)
{
    json_t *j = load_object(data, size), *records = NULL, *again_records = NULL;
    uint64_t gen = 0, seq = 0, gen2 = 0, seq2 = 0;
    json_int_t claimed;

    if (j == NULL)
        return;
    /* the version the record opened at: the one it claims, so the success path is reached */
    claimed = json_integer_value(json_object_get(j, "generation"));
    uint64_t version = claimed > 0 ? (uint64_t)claimed : 1;
    if (svc_index_parse(j, version, &records, &gen, &seq) != AECS_OK) {
        if (records != NULL || gen != 0 || seq != 0)
            abort();
        json_decref(j);
        return;
    }
    if (gen != version || !json_is_object(records))
        abort();
    /* another version than the record's own: refused */
    if (svc_index_parse(j, version + 1, &again_records, &gen2, &seq2) == AECS_OK)
        abort();
    /* written again as a commit writes it (index.c) */
    json_t *w = json_pack("{s:I, s:I, s:O}", "generation", (json_int_t)gen, "audit_seq",
                          (json_int_t)seq, "records", records);
    char *text = w != NULL ? json_dumps(w, JSON_COMPACT) : NULL;
    json_t *back = text != NULL ? load_object((const uint8_t *)text, strlen(text)) : NULL;
    if (back == NULL || svc_index_parse(back, version, &again_records, &gen2, &seq2) != AECS_OK ||
        gen2 != gen || seq2 != seq || !json_equal(again_records, records))
        abort();
    json_decref(back);
    free(text);
    json_decref(w);
    json_decref(j);
}

static void fuzz_audit_head(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    json_int_t claimed = json_integer_value(json_object_get(j, "seq"));
    uint64_t version = claimed > 0 ? (uint64_t)claimed : 1;
    uint64_t seq = 0, seq2 = 0;
    char hash[65], hash2[65];

    json_decref(j);
    if (svc_audit_head_parse(data, size, version, &seq, hash) != AECS_OK) {
        if (seq != 0 || hash[0] != '\0')
            abort();
        return;
    }
    if (seq != version || strlen(hash) != 64)
        abort();
    if (svc_audit_head_parse(data, size, version + 1, &seq2, hash2) == AECS_OK)
        abort();
    /* written again as an append writes it (audit.c) */
    json_t *w = json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "hash", hash);
    char *text = w != NULL ? json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text == NULL ||
        svc_audit_head_parse((const uint8_t *)text, strlen(text), version, &seq2, hash2) !=
            AECS_OK ||
        seq2 != seq || strcmp(hash2, hash) != 0)
        abort();
    free(text);
    json_decref(w);
}

static void fuzz_audit_entry(const uint8_t *data, size_t size)
{
    static const char zero[] = "0000000000000000000000000000000000000000000000000000000000000000";
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    json_t *jseq = json_object_get(j, "seq");
    const char *jprev = json_string_value(json_object_get(j, "prev"));
    /* what to ask for: the entry's own seq and prev when it has them */
    uint64_t seq = json_is_integer(jseq) && json_integer_value(jseq) >= 0
                       ? (uint64_t)json_integer_value(jseq)
                       : 1;
    char prev[65];
    char why[256];
    int want;

    snprintf(prev, sizeof(prev), "%s", jprev != NULL && strlen(jprev) == 64 ? jprev : zero);
    /* a JSON object whose seq is seq (none counts as 0) and whose prev is prev */
    want = json_is_object(j) &&
           (jseq == NULL ? seq == 0
                         : json_is_integer(jseq) && (uint64_t)json_integer_value(jseq) == seq) &&
           jprev != NULL && strcmp(jprev, prev) == 0;
    why[0] = '\0';
    int rc = svc_audit_entry_check((const char *)data, size, seq, prev, why, sizeof(why));
    if ((rc == AECS_OK) != want || (rc != AECS_OK && rc != AECS_E_BAD_SIGNATURE))
        abort();
    if (rc != AECS_OK && (why[0] == '\0' || strnlen(why, sizeof(why)) == sizeof(why)))
        abort();
    /* the next place in the chain, or another prev: refused */
    if (rc == AECS_OK) {
        if (svc_audit_entry_check((const char *)data, size, seq + 1, prev, why, sizeof(why)) !=
            AECS_E_BAD_SIGNATURE)
            abort();
        prev[0] = prev[0] == '0' ? '1' : '0';
        if (svc_audit_entry_check((const char *)data, size, seq, prev, why, sizeof(why)) !=
            AECS_E_BAD_SIGNATURE)
            abort();
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aecs_log_set_level(AECS_LOG_ERROR);
    if (size < 1)
        return 0;
    const uint8_t *v = data + 1;
    size_t n = size - 1;

    switch (data[0] % 6) {
    case 0:
        fuzz_expiry(v, n);
        break;
    case 1:
        fuzz_epoch(v, n);
        break;
    case 2:
        fuzz_meta_init(v, n);
        break;
    case 3:
        fuzz_index(v, n);
        break;
    case 4:
        fuzz_audit_head(v, n);
        break;
    default:
        fuzz_audit_entry(v, n);
        break;
    }
    aecs_err_clear();
    return 0;
}
