/*
 * codec.h - hex and base64 encodings, strict on input.
 */
#ifndef AECS_BASE_CODEC_H
#define AECS_BASE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* The value of one hex digit (either case), or -1. */
int aecs_hex_digit(char c);

/* Writes 2*size lowercase hex digits and a NUL to out (capacity 2*size+1). */
void aecs_hex_encode(const uint8_t *data, size_t size, char *out);

/*
 * Decodes exactly `len` hex characters (upper or lower case, no separators) into
 * out (capacity out_cap). Fails on an odd length, a non-hex character or a
 * result longer than out_cap. *out_size gets the decoded size.
 */
AECS_MUST_CHECK int aecs_hex_decode(const char *hex, size_t len, uint8_t *out, size_t out_cap,
                                    size_t *out_size);

/* Like aecs_hex_decode but the result must be exactly `size` bytes. */
AECS_MUST_CHECK int aecs_hex_decode_exact(const char *hex, size_t len, uint8_t *out, size_t size);

/* Standard base64 with padding. out capacity: 4*((size+2)/3)+1. */
void aecs_base64_encode(const uint8_t *data, size_t size, char *out);
size_t aecs_base64_encoded_size(size_t size);
/* Strict standard base64 (padding required, no whitespace). */
AECS_MUST_CHECK int aecs_base64_decode(const char *b64, size_t len, uint8_t *out, size_t out_cap,
                                       size_t *out_size);

#endif
