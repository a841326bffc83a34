/*
 * config.h - aecsd's configuration file: a flat YAML mapping whose keys are
 * the long option names of aecsd (without the dashes) and whose values are
 * scalars, e.g.
 *
 *   listen: 0.0.0.0:19527
 *   data: /var/lib/aecs
 *   threads: 4
 *   insecure-sim-auto-unseal: true
 *
 * This file only reads the pairs (with their lines); aecsd applies each as
 * if it were given as --key value, so the file and the flags cannot drift
 * apart. Refused with the line: not a mapping, a value that is not a scalar,
 * a repeated key, an alias or a tag, more than one document.
 */
#ifndef AECS_SERVICE_CONFIG_H
#define AECS_SERVICE_CONFIG_H

#include <stddef.h>

#include "base/err.h"

#define AECS_CONFIG_MAX_SIZE (64u * 1024u)
#define AECS_CONFIG_MAX_KEYS 64

struct aecs_config_item {
    char *key;
    char *value;
    int line;
};

struct aecs_config {
    struct aecs_config_item *items;
    size_t count;
};

/*
 * Parses text[0..size); `source` names it in messages ("aecsd.yaml:3: ...").
 * AECS_E_FORMAT for anything malformed, AECS_E_TOO_LARGE above the limits. The
 * caller frees *out with aecs_config_free (also after a failure).
 */
AECS_MUST_CHECK int aecs_config_parse(const char *text, size_t size, const char *source,
                                      struct aecs_config *out);
void aecs_config_free(struct aecs_config *cfg);

#endif
