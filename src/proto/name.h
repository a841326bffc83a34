/*
 * name.h - service and secret names as docs/api.md defines them: 1 to 64
 * characters of [A-Za-z0-9._-], not starting with '.'. Names are only ever
 * matched exactly, and these characters need no escaping in a URL path.
 */
#ifndef AECS_PROTO_NAME_H
#define AECS_PROTO_NAME_H

#include "base/err.h"

#define AECS_NAME_MAX 64

/*
 * AECS_OK when name is such a name; AECS_E_INVALID_ARGUMENT otherwise, with
 * a message that starts with `what` ("--service", "service") and never
 * quotes the name (it may hold anything).
 */
AECS_MUST_CHECK int aecs_name_check(const char *name, const char *what);

#endif
