/*
 * testutil.h - small helpers shared by the unit tests (linked into every one).
 *
 * Everything here is deliberately independent of the code under test: files
 * are read with stdio, hex is decoded by its own loop, JSON is read with
 * jansson and RFC 3339 times are converted with timegm(), so that expected
 * values built with these helpers never come from aecs itself.
 *
 * Paths: tests run from the repository root (ctest sets the working directory
 * and AECS_SRC); tu_src_path() prefixes $AECS_SRC when it is set.
 *
 * Helpers whose name does not contain "try" fail the current cmocka test when
 * something is wrong (missing file, bad hex, absent JSON field).
 */
#ifndef AECS_TESTUTIL_H
#define AECS_TESTUTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TU_DCAP_DIR "tests/data/dcap"

/* ---- files ---- */

/* $AECS_SRC/rel, or rel when AECS_SRC is unset. */
void tu_src_path(char *buf, size_t size, const char *rel);

/*
 * Reads a whole file into a fresh buffer with a NUL after the last byte (not
 * counted in *size). Returns NULL (and *size = 0) when it cannot be read.
 * The caller frees the buffer with free().
 */
uint8_t *tu_try_read_file(const char *path, size_t *size);
/* The same, failing the test when the file cannot be read. */
uint8_t *tu_read_file(const char *path, size_t *size);
/* Reads tests/data/dcap/<set>/<name> (under $AECS_SRC). */
uint8_t *tu_read_dcap(const char *set, const char *name, size_t *size);
/* Path of tests/data/dcap/<set>/<name> (under $AECS_SRC). */
void tu_dcap_path(char *buf, size_t size, const char *set, const char *name);

/* Writes (creates or truncates) a file; fails the test on error. */
void tu_write_file(const char *path, const void *data, size_t size);
/* Copies a file; fails the test on error. */
void tu_copy_file(const char *from, const char *to);

/* Makes a fresh private folder /tmp/aecs-test-XXXXXX; buf needs 64 bytes at least. */
void tu_mkdtemp(char *buf, size_t size);
/* Removes a folder and everything below it (for folders made by tu_mkdtemp). */
void tu_rmtree(const char *dir);

/* ---- DCAP test vectors ---- */

/*
 * The DCAP sets: the folders under tests/data/dcap holding both quote.bin and
 * expected.json, in sorted order. The list is built on first use.
 */
size_t tu_dcap_set_count(void);
const char *tu_dcap_set(size_t i);

/* ---- JSON ---- */

/* Parses a JSON file (duplicates rejected); fails the test when it does not parse. */
json_t *tu_load_json(const char *path);
/* tests/data/dcap/<set>/expected.json. The caller json_decref()s it. */
json_t *tu_dcap_expected(const char *set);
/* Member lookup by a dotted path ("header.version"); NULL when absent. Borrowed. */
json_t *tu_json_path(const json_t *root, const char *path);
/* The string / integer at a dotted path; fails the test when absent or of another type. */
const char *tu_json_str(const json_t *root, const char *path);
long long tu_json_int(const json_t *root, const char *path);

/* ---- hex ---- */

/*
 * Decodes a hex string (either case, no separators) into out (capacity cap).
 * Returns the decoded size, or -1 on an odd length, a bad digit or overflow.
 */
long tu_try_hex_decode(const char *hex, uint8_t *out, size_t cap);
/* Decodes exactly `size` bytes; fails the test otherwise. */
void tu_hex(const char *hex, uint8_t *out, size_t size);
/* Decodes into a fresh buffer (caller frees); fails the test on bad hex. */
uint8_t *tu_hex_alloc(const char *hex, size_t *size);
/* Writes 2*size lowercase hex digits and a NUL. */
void tu_hex_encode(const uint8_t *data, size_t size, char *out);

/* ---- time ---- */

/*
 * "YYYY-MM-DDTHH:MM:SSZ" as seconds since the epoch, computed with timegm().
 * Fails the test on any other form.
 */
int64_t tu_utc(const char *text);

#endif
