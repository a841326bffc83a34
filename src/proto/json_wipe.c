/*
 * json_wipe.c - wiping the strings of a JSON value in place; see json_wipe.h.
 */
#include "proto/json_wipe.h"

#include "crypto/crypto.h"

void aecs_json_wipe(json_t *v)
{
    const char *k;
    json_t *item;
    size_t i;

    if (v == NULL)
        return;
    switch (json_typeof(v)) {
    case JSON_STRING:
        /* jansson owns the bytes; wiping them in place before the free is deliberate. */
        aecs_cleanse((char *)json_string_value(v), json_string_length(v));
        break;
    case JSON_OBJECT:
        json_object_foreach(v, k, item) aecs_json_wipe(item);
        break;
    case JSON_ARRAY:
        json_array_foreach(v, i, item) aecs_json_wipe(item);
        break;
    case JSON_INTEGER:
    case JSON_REAL:
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_NULL:
    default:
        break;
    }
}
