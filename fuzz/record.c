/*
 * record.c - libFuzzer target for sealed records as the store gives them back
 * (src/keystore/record.c): every object of the key store, the index and the
 * audit log is one, and the host can put any bytes in their place.
 *
 * Under a fixed KEK (the seeds in fuzz/corpus/record/ were sealed with it),
 * the input is
 *   - peeked at: accepted exactly when it is at least AECS_RECORD_OVERHEAD
 *     bytes and starts with format 0x01, and the version is its bytes 1..8
 *     big-endian;
 *   - opened for a fixed path and type at the version it names: refused with
 *     AECS_E_TRUNCATED, AECS_E_UNSUPPORTED or AECS_E_BAD_SIGNATURE as the
 *     header says (nobody without the KEK makes one that opens); one that
 *     opens holds size - AECS_RECORD_OVERHEAD bytes followed by a NUL, and
 *     does not open at another version, path or type;
 *   - sealed as a value and opened again: the same bytes; with any one byte
 *     changed (picked by the input) it does not open.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "keystore/record.h"

#define PATH "/k/services/fuzz"
#define TYPE "service"

static struct aecs_kek *fixed_kek(void)
{
    static struct aecs_kek *kek;
    uint8_t key[AECS_KEK_SIZE];

    if (kek == NULL) {
        for (size_t i = 0; i < sizeof(key); i++)
            key[i] = (uint8_t)i;
        if (aecs_kek_from_bytes(key, &kek) != AECS_OK)
            abort();
    }
    return kek;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void fuzz_open(const uint8_t *data, size_t size)
{
    uint64_t version = 7;
    uint8_t *plain = NULL;
    size_t plain_size = 0;
    int peek = aecs_record_peek_version(data, size, &version);

    if (size < AECS_RECORD_OVERHEAD) {
        if (peek != AECS_E_TRUNCATED || version != 0)
            abort();
    } else if (data[0] != AECS_RECORD_FORMAT_V1) {
        if (peek != AECS_E_UNSUPPORTED || version != 0)
            abort();
    } else if (peek != AECS_OK || version != be64(data + 1)) {
        abort();
    }
    int rc = aecs_record_open(fixed_kek(), PATH, TYPE, version, data, size, &plain, &plain_size);
    if (rc != AECS_OK) {
        if (plain != NULL || plain_size != 0 || (peek != AECS_OK && rc != peek) ||
            (peek == AECS_OK && rc != AECS_E_BAD_SIGNATURE && rc != AECS_E_TOO_LARGE))
            abort();
        return;
    }
    if (plain_size != size - AECS_RECORD_OVERHEAD || plain[plain_size] != '\0')
        abort();
    aecs_record_value_free(plain, plain_size);
    if (aecs_record_open(fixed_kek(), PATH, TYPE, version + 1, data, size, &plain, &plain_size) !=
            AECS_E_BAD_SIGNATURE ||
        aecs_record_open(fixed_kek(), PATH "x", TYPE, version, data, size, &plain, &plain_size) !=
            AECS_E_BAD_SIGNATURE ||
        aecs_record_open(fixed_kek(), PATH, "secret", version, data, size, &plain, &plain_size) !=
            AECS_E_BAD_SIGNATURE)
        abort();
}

static void fuzz_seal(const uint8_t *data, size_t size)
{
    uint8_t *sealed = NULL, *plain = NULL;
    size_t sealed_size = 0, plain_size = 0;
    uint64_t version = size > 0 ? data[0] : 0;

    if (size > AECS_RECORD_MAX_VALUE)
        return;
    if (aecs_record_seal(fixed_kek(), PATH, TYPE, version, data, size, &sealed, &sealed_size) !=
            AECS_OK ||
        sealed_size != size + AECS_RECORD_OVERHEAD)
        abort();
    if (aecs_record_open(fixed_kek(), PATH, TYPE, version, sealed, sealed_size, &plain,
                         &plain_size) != AECS_OK ||
        plain_size != size || (size > 0 && memcmp(plain, data, size) != 0))
        abort();
    aecs_record_value_free(plain, plain_size);
    /* one byte changed, where the input says: refused */
    size_t at = size > 1 ? (size_t)data[1] * 257 % sealed_size : sealed_size - 1;
    sealed[at] ^= size > 2 && data[2] != 0 ? data[2] : 0x80;
    int rc = aecs_record_open(fixed_kek(), PATH, TYPE, version, sealed, sealed_size, &plain,
                              &plain_size);
    if (rc == AECS_OK || (at == 0 ? rc != AECS_E_UNSUPPORTED : rc != AECS_E_BAD_SIGNATURE))
        abort();
    free(sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_open(data, size);
    fuzz_seal(data, size);
    aecs_err_clear();
    return 0;
}
