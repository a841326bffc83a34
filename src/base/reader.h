/*
 * reader.h - a bounded little-endian reader over a byte blob.
 *
 * Every read names the field it reads, checks the remaining length first and,
 * on a short buffer, fails with AECS_E_TRUNCATED and a message that names the
 * structure, the field and the offset. Nothing here allocates: byte reads
 * return pointers into the caller's blob, which must outlive the reader.
 */
#ifndef AECS_BASE_READER_H
#define AECS_BASE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct aecs_reader {
    const uint8_t *data;
    size_t size;
    size_t pos;
    const char *what; /* name of the structure, for messages ("quote") */
    size_t base;      /* offset of data[0] in the outermost blob, for messages */
};

void aecs_reader_init(struct aecs_reader *r, const void *data, size_t size, const char *what);
size_t aecs_reader_remaining(const struct aecs_reader *r);
/* Offset of the cursor in the outermost blob. */
size_t aecs_reader_offset(const struct aecs_reader *r);

AECS_MUST_CHECK int aecs_read_u8(struct aecs_reader *r, const char *field, uint8_t *out);
AECS_MUST_CHECK int aecs_read_u16le(struct aecs_reader *r, const char *field, uint16_t *out);
AECS_MUST_CHECK int aecs_read_u32le(struct aecs_reader *r, const char *field, uint32_t *out);
AECS_MUST_CHECK int aecs_read_u64le(struct aecs_reader *r, const char *field, uint64_t *out);
/* Points *out at the next n bytes and moves past them. */
AECS_MUST_CHECK int aecs_read_bytes(struct aecs_reader *r, const char *field, size_t n,
                                    const uint8_t **out);
AECS_MUST_CHECK int aecs_read_copy(struct aecs_reader *r, const char *field, void *dst, size_t n);
AECS_MUST_CHECK int aecs_read_skip(struct aecs_reader *r, const char *field, size_t n);
/* Splits off the next n bytes as a reader of their own (for nested structures). */
AECS_MUST_CHECK int aecs_read_sub(struct aecs_reader *r, const char *field, size_t n,
                                  const char *what, struct aecs_reader *sub);
/* Fails with AECS_E_TRAILING_DATA unless every byte has been read. */
AECS_MUST_CHECK int aecs_read_end(const struct aecs_reader *r);

/* Plain little-endian loads from a buffer known to be long enough. */
static inline uint16_t aecs_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t aecs_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

#endif
