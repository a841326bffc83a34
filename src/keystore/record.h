/*
 * record.h - sealed records: how every object of the key store is encrypted
 * before it reaches storage.
 *
 * A record is a value stored under a path ("services/svc1/secrets/db-key"),
 * with a type ("secret", "service", "admin", "meta", ...) and a version (1, 2,
 * ... as the object is updated). Sealing encrypts the value with AES-256-GCM
 * under a key derived from the KEK for that path:
 *
 *   record key = HKDF-SHA256(KEK, info = "aecs-record-v1" || 0x00 || path)
 *
 * and authenticates, as associated data, the format byte, the version, the
 * type and the path. So a sealed record opens only under the same KEK, path,
 * type and version: one moved to another path, relabelled with another type,
 * or put back at an older (or newer) version than the caller expects is
 * refused, as is any changed byte.
 *
 * Sealed layout (docs/design-keystore.md has it byte by byte):
 *
 *   offset  size  field
 *   0       1     format, 0x01
 *   1       8     version, big-endian (a copy in clear; also authenticated)
 *   9       12    nonce, random per seal
 *   21      n     ciphertext (n = plaintext size)
 *   21+n    16    GCM tag
 *
 * What this cannot see on its own: the whole store rolled back to an older
 * copy (every record consistent with itself). The caller must take the
 * expected version from somewhere that cannot be rolled back with the data;
 * see the design doc for the server's plan (a monotonic counter).
 */
#ifndef AECS_KEYSTORE_RECORD_H
#define AECS_KEYSTORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/kek.h"

#define AECS_RECORD_FORMAT_V1 0x01
#define AECS_RECORD_HEADER_SIZE (1 + 8 + AECS_AEAD_NONCE_SIZE)
#define AECS_RECORD_OVERHEAD (AECS_RECORD_HEADER_SIZE + AECS_AEAD_TAG_SIZE)
/* Largest value a record holds. */
#define AECS_RECORD_MAX_VALUE (4u << 20)
/* Paths: 1..512 bytes, no control characters. Types: 1..32 of [a-z0-9_-]. */
#define AECS_RECORD_MAX_PATH 512
#define AECS_RECORD_MAX_TYPE 32

/*
 * Seals size bytes of plain (plain may be NULL when size is 0) for path, type
 * and version. *sealed gets a fresh buffer of *sealed_size = size +
 * AECS_RECORD_OVERHEAD bytes, not secret; the caller frees it with free().
 * AECS_E_INVALID_ARGUMENT for a bad path or type, AECS_E_TOO_LARGE above
 * AECS_RECORD_MAX_VALUE.
 */
AECS_MUST_CHECK int aecs_record_seal(const struct aecs_kek *kek, const char *path, const char *type,
                                     uint64_t version, const uint8_t *plain, size_t size,
                                     uint8_t **sealed, size_t *sealed_size);

/*
 * Opens a sealed record that must belong to path, type and version. On success
 * *plain is a fresh secure-heap buffer of *plain_size bytes, followed by a NUL
 * that is not counted (handy for text values); free it with
 * aecs_record_value_free(*plain, *plain_size). Errors (messages name the path,
 * type and versions, never any of the value):
 *   AECS_E_TRUNCATED      shorter than AECS_RECORD_OVERHEAD
 *   AECS_E_UNSUPPORTED    a format byte other than 0x01
 *   AECS_E_BAD_SIGNATURE  the record says another version than expected
 *                         (an older or newer copy), or it does not
 *                         authenticate: another KEK, path or type, or any
 *                         changed byte
 */
AECS_MUST_CHECK int aecs_record_open(const struct aecs_kek *kek, const char *path, const char *type,
                                     uint64_t version, const uint8_t *sealed, size_t sealed_size,
                                     uint8_t **plain, size_t *plain_size);

/* Wipes and frees a value from aecs_record_open(). NULL is fine. */
void aecs_record_value_free(uint8_t *plain, size_t plain_size);

/*
 * The version a sealed record says it holds, read from its header without
 * opening it (unauthenticated: only for diagnostics and listings).
 */
AECS_MUST_CHECK int aecs_record_peek_version(const uint8_t *sealed, size_t sealed_size,
                                             uint64_t *version);

#endif
