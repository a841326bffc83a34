/*
 * json_wipe.h - wiping the strings of a JSON value in place, for JSON that
 * held secrets (shares, secret values, policy texts with imported data)
 * before it is freed: jansson frees its copies without wiping them.
 */
#ifndef AECS_PROTO_JSON_WIPE_H
#define AECS_PROTO_JSON_WIPE_H

#include <jansson.h>

/* Wipes every string (object keys excepted) in value, recursively. NULL is fine. */
void aecs_json_wipe(json_t *value);

#endif
