/*
 * name.c - the check of service and secret names; see name.h.
 */
#include "proto/name.h"

#include <string.h>

static int name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int aecs_name_check(const char *name, const char *what)
{
    size_t len;

    ENSURE(name != NULL, AECS_E_INVALID_ARGUMENT, "%s: no name given", what);
    len = strnlen(name, AECS_NAME_MAX + 1);
    ENSURE(len >= 1 && len <= AECS_NAME_MAX, AECS_E_INVALID_ARGUMENT,
           "%s must be 1 to %d characters (got %s%zu)", what, AECS_NAME_MAX,
           len > AECS_NAME_MAX ? "more than " : "",
           len > AECS_NAME_MAX ? (size_t)AECS_NAME_MAX : len);
    ENSURE(name[0] != '.', AECS_E_INVALID_ARGUMENT, "%s must not start with '.'", what);
    for (size_t i = 0; i < len; i++) {
        if (!name_char(name[i]))
            return AECS_ERR(AECS_E_INVALID_ARGUMENT,
                            "%s may only hold A-Z a-z 0-9 . _ - (character %zu is not one)", what,
                            i + 1);
    }
    return AECS_OK;
}
