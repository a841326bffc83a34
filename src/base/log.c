/*
 * log.c - see log.h. One line per message, written with a single fprintf so
 * lines from different threads do not interleave.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int g_aecs_log_level = AECS_LOG_WARN;

void aecs_log_set_level(int level)
{
    g_aecs_log_level = level;
}

int aecs_log_level_parse(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0)
            return i;
    }
    return -1;
}

void aecs_log_write(int level, const char *fmt, ...)
{
    static const char *const tags[] = {"error", "warning", "info", "debug"};
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "aecs: %s: %s\n", tags[level < 0 || level > 3 ? 0 : level], line);
}
