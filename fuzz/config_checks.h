/*
 * config_checks.h - what the client-config and credential-file fuzz targets
 * check of an accepted file's values, by code of their own: server URLs are
 * http(s)://HOST[:PORT] with nothing else, paths are absolute (relative ones
 * are joined to BASE) and free of control characters. Any breach aborts.
 */
#ifndef AECS_FUZZ_CONFIG_CHECKS_H
#define AECS_FUZZ_CONFIG_CHECKS_H

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BASE "/base"

static void check_url(const char *u)
{
    size_t skip;

    if (strncasecmp(u, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(u, "http://", 7) == 0)
        skip = 7;
    else
        abort();
    if (u[skip] == '\0')
        abort();
    for (const char *p = u + skip; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || strchr("/?#@\\", ch) != NULL)
            abort();
    }
}

static void check_path(const char *p)
{
    if (p == NULL)
        return;
    if (p[0] != '/')
        abort(); /* relative values are joined to BASE */
    for (const char *q = p; *q; q++) {
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            abort();
    }
}

#endif
