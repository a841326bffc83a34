/*
 * timeutil.h - RFC 3339 timestamps as seconds since the epoch (UTC).
 */
#ifndef AECS_BASE_TIMEUTIL_H
#define AECS_BASE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * Parses "YYYY-MM-DDTHH:MM:SS" with an optional fraction and a zone of "Z" or
 * "+HH:MM"/"-HH:MM". Anything else is AECS_E_FORMAT.
 */
AECS_MUST_CHECK int aecs_time_parse(const char *text, int64_t *out);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with the NUL). */
void aecs_time_format(int64_t t, char out[32]);
int64_t aecs_time_now(void);

#endif
