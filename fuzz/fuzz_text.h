/*
 * fuzz_text.h - the fuzz input as a C string: a malloc'ed copy of data with a
 * NUL after it (NULL when memory runs out; the caller frees it). Parsers of
 * text see everything up to the first NUL the input may hold.
 */
#ifndef AECS_FUZZ_TEXT_H
#define AECS_FUZZ_TEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text != NULL) {
        memcpy(text, data, size);
        text[size] = '\0';
    }
    return text;
}

#endif
