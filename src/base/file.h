/*
 * file.h - whole-file reads with a size cap, and atomic private writes.
 */
#ifndef AECS_BASE_FILE_H
#define AECS_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * Reads the file at path into a fresh buffer with a NUL after the last byte
 * (not counted in *size). Fails with AECS_E_NOT_FOUND when it does not exist and
 * AECS_E_TOO_LARGE above max_size. The caller frees *data with free().
 */
AECS_MUST_CHECK int aecs_file_read(const char *path, size_t max_size, uint8_t **data,
                                   size_t *size);

/* 1 if path exists (any type), else 0. */
int aecs_file_exists(const char *path);

/*
 * The full path of the program `name` found in $PATH (or /usr/bin:/bin when
 * PATH is unset or empty), the first executable one, into buf: 1, or 0 when
 * there is none.
 */
int aecs_file_find_program(const char *name, char *buf, size_t size);

/*
 * Writes data to path atomically: a temporary file in the same folder with
 * mode `mode` (0600 for anything private), fsync, rename, fsync of the folder.
 * A crash leaves either the old file or the new one, never half of it.
 */
AECS_MUST_CHECK int aecs_file_write_atomic(const char *path, const void *data, size_t size,
                                           unsigned mode);

#endif
