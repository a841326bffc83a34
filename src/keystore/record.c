/*
 * record.c - sealing and opening key-store records; see record.h.
 *
 * The associated data is built here, unambiguously (every variable field is
 * length-prefixed):
 *
 *   "aecs-record" || format (1) || version (8, BE) || len(type) (1) || type
 *   || len(path) (2, BE) || path
 *
 * and the record key's HKDF info is "aecs-record-v1" || 0x00 || path. The
 * cryptography (HKDF, AES-256-GCM, the nonce) is in src/crypto/kek.c.
 */
#include "keystore/record.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/secmem.h"

#define AAD_MAGIC "aecs-record"
#define INFO_LABEL "aecs-record-v1"
#define AAD_MAX                                                                                    \
    (sizeof(AAD_MAGIC) - 1 + 1 + 8 + 1 + AECS_RECORD_MAX_TYPE + 2 + AECS_RECORD_MAX_PATH)
#define INFO_MAX (sizeof(INFO_LABEL) + AECS_RECORD_MAX_PATH)

static int check_names(const char *path, const char *type)
{
    size_t path_len;
    size_t type_len;

    ENSURE(path != NULL && type != NULL, AECS_E_INVALID_ARGUMENT, "record: path and type needed");
    path_len = strlen(path);
    type_len = strlen(type);
    ENSURE(path_len >= 1 && path_len <= AECS_RECORD_MAX_PATH, AECS_E_INVALID_ARGUMENT,
           "record path of %zu bytes (1..%d)", path_len, AECS_RECORD_MAX_PATH);
    for (size_t i = 0; i < path_len; i++)
        ENSURE((unsigned char)path[i] >= 0x20 && path[i] != 0x7f, AECS_E_INVALID_ARGUMENT,
               "record path has a control character at byte %zu", i);
    ENSURE(type_len >= 1 && type_len <= AECS_RECORD_MAX_TYPE, AECS_E_INVALID_ARGUMENT,
           "record type of %zu characters (1..%d)", type_len, AECS_RECORD_MAX_TYPE);
    for (size_t i = 0; i < type_len; i++) {
        char c = type[i];

        ENSURE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-',
               AECS_E_INVALID_ARGUMENT, "record type '%.32s': only a-z, 0-9, '_' and '-'", type);
    }
    return AECS_OK;
}

static void put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_u64be(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The associated data; returns its size. aad has AAD_MAX bytes. */
static size_t build_aad(const char *path, const char *type, uint64_t version, uint8_t *aad)
{
    size_t type_len = strlen(type);
    size_t path_len = strlen(path);
    size_t n = 0;

    memcpy(aad, AAD_MAGIC, sizeof(AAD_MAGIC) - 1);
    n += sizeof(AAD_MAGIC) - 1;
    aad[n++] = AECS_RECORD_FORMAT_V1;
    put_u64be(aad + n, version);
    n += 8;
    aad[n++] = (uint8_t)type_len;
    memcpy(aad + n, type, type_len);
    n += type_len;
    aad[n++] = (uint8_t)(path_len >> 8);
    aad[n++] = (uint8_t)path_len;
    memcpy(aad + n, path, path_len);
    return n + path_len;
}

/* The HKDF info; returns its size. info has INFO_MAX bytes. */
static size_t build_info(const char *path, uint8_t *info)
{
    size_t path_len = strlen(path);

    memcpy(info, INFO_LABEL, sizeof(INFO_LABEL)); /* with its NUL: the 0x00 separator */
    memcpy(info + sizeof(INFO_LABEL), path, path_len);
    return sizeof(INFO_LABEL) + path_len;
}

int aecs_record_seal(const struct aecs_kek *kek, const char *path, const char *type,
                     uint64_t version, const uint8_t *plain, size_t size, uint8_t **sealed,
                     size_t *sealed_size)
{
    uint8_t aad[AAD_MAX];
    uint8_t info[INFO_MAX];
    size_t aad_size;
    size_t info_size;
    uint8_t *buf;
    int rc;

    *sealed = NULL;
    *sealed_size = 0;
    GUARD(check_names(path, type));
    ENSURE(size <= AECS_RECORD_MAX_VALUE, AECS_E_TOO_LARGE,
           "record %.100s: value of %zu bytes (at most %u)", path, size, AECS_RECORD_MAX_VALUE);
    ENSURE(plain != NULL || size == 0, AECS_E_INVALID_ARGUMENT, "record: no value");
    aad_size = build_aad(path, type, version, aad);
    info_size = build_info(path, info);
    buf = malloc(size + AECS_RECORD_OVERHEAD);
    ENSURE(buf != NULL, AECS_E_NO_MEMORY, "out of memory");
    buf[0] = AECS_RECORD_FORMAT_V1;
    put_u64be(buf + 1, version);
    rc = aecs_kek_aead_seal(kek, info, info_size, aad, aad_size, plain, size, buf + 9,
                            buf + AECS_RECORD_HEADER_SIZE, buf + AECS_RECORD_HEADER_SIZE + size);
    if (rc != AECS_OK) {
        aecs_cleanse(buf, size + AECS_RECORD_OVERHEAD);
        free(buf);
        aecs_err_prefix("record %.100s: ", path);
        return rc;
    }
    *sealed = buf;
    *sealed_size = size + AECS_RECORD_OVERHEAD;
    return AECS_OK;
}

int aecs_record_peek_version(const uint8_t *sealed, size_t sealed_size, uint64_t *version)
{
    *version = 0;
    ENSURE(sealed_size >= AECS_RECORD_OVERHEAD, AECS_E_TRUNCATED,
           "sealed record of %zu bytes: at least %d expected", sealed_size, AECS_RECORD_OVERHEAD);
    ENSURE(sealed[0] == AECS_RECORD_FORMAT_V1, AECS_E_UNSUPPORTED,
           "sealed record format 0x%02x is not supported (this build reads 0x%02x)", sealed[0],
           AECS_RECORD_FORMAT_V1);
    *version = get_u64be(sealed + 1);
    return AECS_OK;
}

int aecs_record_open(const struct aecs_kek *kek, const char *path, const char *type,
                     uint64_t version, const uint8_t *sealed, size_t sealed_size, uint8_t **plain,
                     size_t *plain_size)
{
    uint8_t aad[AAD_MAX];
    uint8_t info[INFO_MAX];
    size_t aad_size;
    size_t info_size;
    size_t size;
    uint64_t found = 0;
    uint8_t *buf;
    int rc;

    *plain = NULL;
    *plain_size = 0;
    GUARD(check_names(path, type));
    rc = aecs_record_peek_version(sealed, sealed_size, &found);
    if (rc != AECS_OK) {
        aecs_err_prefix("record %.100s: ", path);
        return rc;
    }
    ENSURE(found == version, AECS_E_BAD_SIGNATURE,
           "record %.100s (%.32s): holds version %llu, expected %llu (an older or newer copy, "
           "or a modified header)",
           path, type, (unsigned long long)found, (unsigned long long)version);
    size = sealed_size - AECS_RECORD_OVERHEAD;
    ENSURE(size <= AECS_RECORD_MAX_VALUE, AECS_E_TOO_LARGE,
           "record %.100s: value of %zu bytes (at most %u)", path, size, AECS_RECORD_MAX_VALUE);
    aad_size = build_aad(path, type, version, aad);
    info_size = build_info(path, info);
    buf = aecs_secure_alloc(size + 1);
    ENSURE(buf != NULL, AECS_E_NO_MEMORY, "out of memory");
    rc = aecs_kek_aead_open(kek, info, info_size, aad, aad_size, sealed + 9,
                            sealed + AECS_RECORD_HEADER_SIZE, size,
                            sealed + AECS_RECORD_HEADER_SIZE + size, buf);
    if (rc == AECS_E_BAD_SIGNATURE) {
        aecs_secure_free(buf, size + 1);
        return AECS_ERR(AECS_E_BAD_SIGNATURE,
                        "record %.100s (%.32s, version %llu) does not authenticate: sealed under "
                        "another key, path or type, or modified",
                        path, type, (unsigned long long)version);
    }
    if (rc != AECS_OK) {
        aecs_secure_free(buf, size + 1);
        aecs_err_prefix("record %.100s: ", path);
        return rc;
    }
    *plain = buf;
    *plain_size = size;
    return AECS_OK;
}

void aecs_record_value_free(uint8_t *plain, size_t plain_size)
{
    aecs_secure_free(plain, plain_size + 1);
}
