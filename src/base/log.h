/*
 * log.h - leveled logging to stderr.
 *
 * The level is checked before anything is formatted. Never pass key material,
 * plaintext secrets, shares or tokens: log key ids and fingerprints instead,
 * and cut untrusted strings short ("%.100s").
 */
#ifndef AECS_BASE_LOG_H
#define AECS_BASE_LOG_H

#include "base/err.h"

enum aecs_log_level {
    AECS_LOG_ERROR = 0,
    AECS_LOG_WARN = 1,
    AECS_LOG_INFO = 2,
    AECS_LOG_DEBUG = 3,
};

extern int g_aecs_log_level;

void aecs_log_set_level(int level);
/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int aecs_log_level_parse(const char *name);
void aecs_log_write(int level, const char *fmt, ...) AECS_PRINTF(2, 3);

#define AECS_LOG(level, ...)                                                                       \
    do {                                                                                           \
        if ((level) <= g_aecs_log_level)                                                           \
            aecs_log_write((level), __VA_ARGS__);                                                  \
    } while (0)

#define log_error(...) AECS_LOG(AECS_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) AECS_LOG(AECS_LOG_WARN, __VA_ARGS__)
#define log_info(...) AECS_LOG(AECS_LOG_INFO, __VA_ARGS__)
#define log_debug(...) AECS_LOG(AECS_LOG_DEBUG, __VA_ARGS__)

#endif
