/*
 * reader.c - bounded reads; see reader.h.
 */
#include "base/reader.h"

#include <string.h>

void aecs_reader_init(struct aecs_reader *r, const void *data, size_t size, const char *what)
{
    r->data = data;
    r->size = size;
    r->pos = 0;
    r->what = what;
    r->base = 0;
}

size_t aecs_reader_remaining(const struct aecs_reader *r)
{
    return r->size - r->pos;
}

size_t aecs_reader_offset(const struct aecs_reader *r)
{
    return r->base + r->pos;
}

static int need(const struct aecs_reader *r, const char *field, size_t n)
{
    ENSURE(n <= r->size - r->pos, AECS_E_TRUNCATED,
           "%s: truncated at field '%s' (offset %zu): needs %zu bytes, %zu left", r->what, field,
           aecs_reader_offset(r), n, r->size - r->pos);
    return AECS_OK;
}

int aecs_read_u8(struct aecs_reader *r, const char *field, uint8_t *out)
{
    GUARD(need(r, field, 1));
    *out = r->data[r->pos];
    r->pos += 1;
    return AECS_OK;
}

int aecs_read_u16le(struct aecs_reader *r, const char *field, uint16_t *out)
{
    GUARD(need(r, field, 2));
    *out = aecs_le16(r->data + r->pos);
    r->pos += 2;
    return AECS_OK;
}

int aecs_read_u32le(struct aecs_reader *r, const char *field, uint32_t *out)
{
    GUARD(need(r, field, 4));
    *out = aecs_le32(r->data + r->pos);
    r->pos += 4;
    return AECS_OK;
}

int aecs_read_u64le(struct aecs_reader *r, const char *field, uint64_t *out)
{
    GUARD(need(r, field, 8));
    *out = (uint64_t)aecs_le32(r->data + r->pos) |
           ((uint64_t)aecs_le32(r->data + r->pos + 4) << 32);
    r->pos += 8;
    return AECS_OK;
}

int aecs_read_bytes(struct aecs_reader *r, const char *field, size_t n, const uint8_t **out)
{
    GUARD(need(r, field, n));
    *out = r->data + r->pos;
    r->pos += n;
    return AECS_OK;
}

int aecs_read_copy(struct aecs_reader *r, const char *field, void *dst, size_t n)
{
    GUARD(need(r, field, n));
    memcpy(dst, r->data + r->pos, n);
    r->pos += n;
    return AECS_OK;
}

int aecs_read_skip(struct aecs_reader *r, const char *field, size_t n)
{
    GUARD(need(r, field, n));
    r->pos += n;
    return AECS_OK;
}

int aecs_read_sub(struct aecs_reader *r, const char *field, size_t n, const char *what,
                  struct aecs_reader *sub)
{
    GUARD(need(r, field, n));
    sub->data = r->data + r->pos;
    sub->size = n;
    sub->pos = 0;
    sub->what = what;
    sub->base = aecs_reader_offset(r);
    r->pos += n;
    return AECS_OK;
}

int aecs_read_end(const struct aecs_reader *r)
{
    ENSURE(r->pos == r->size, AECS_E_TRAILING_DATA, "%s: %zu unexpected trailing bytes at offset %zu",
           r->what, r->size - r->pos, aecs_reader_offset(r));
    return AECS_OK;
}
