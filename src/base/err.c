/*
 * err.c - the thread-local "last error" record behind err.h.
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local struct aecs_err_info g_last;

int aecs_err_set(int code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    g_last.code = code;
    g_last.file = file;
    g_last.line = line;
    va_start(ap, fmt);
    vsnprintf(g_last.message, sizeof(g_last.message), fmt, ap);
    va_end(ap);
    return code;
}

void aecs_err_prefix(const char *fmt, ...)
{
    char prefix[256];
    char old[sizeof(g_last.message)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, g_last.message, sizeof(old));
    size_t n = strnlen(prefix, sizeof(prefix));
    if (n >= sizeof(g_last.message))
        n = sizeof(g_last.message) - 1;
    memcpy(g_last.message, prefix, n);
    size_t rest = strnlen(old, sizeof(old) - 1);
    if (rest > sizeof(g_last.message) - 1 - n)
        rest = sizeof(g_last.message) - 1 - n;
    memcpy(g_last.message + n, old, rest);
    g_last.message[n + rest] = '\0';
}

const struct aecs_err_info *aecs_err_last(void)
{
    return &g_last;
}

void aecs_err_clear(void)
{
    memset(&g_last, 0, sizeof(g_last));
}

const char *aecs_err_kind(int code)
{
    switch (code / 100) {
    case 0:
        return "ok";
    case 1:
        return "usage";
    case 2:
        return "io";
    case 3:
        return "format";
    case 4:
        return "attestation";
    case 5:
        return "crypto";
    default:
        return "internal";
    }
}

const char *aecs_err_name(int code)
{
    switch (code) {
    case AECS_OK:
        return "OK";
    case AECS_E_USAGE:
        return "E_USAGE";
    case AECS_E_INVALID_ARGUMENT:
        return "E_INVALID_ARGUMENT";
    case AECS_E_IO:
        return "E_IO";
    case AECS_E_NOT_FOUND:
        return "E_NOT_FOUND";
    case AECS_E_TOO_LARGE:
        return "E_TOO_LARGE";
    case AECS_E_FORMAT:
        return "E_FORMAT";
    case AECS_E_TRUNCATED:
        return "E_TRUNCATED";
    case AECS_E_TRAILING_DATA:
        return "E_TRAILING_DATA";
    case AECS_E_UNSUPPORTED:
        return "E_UNSUPPORTED";
    case AECS_E_ATTESTATION:
        return "E_ATTESTATION";
    case AECS_E_UNTRUSTED:
        return "E_UNTRUSTED";
    case AECS_E_REVOKED:
        return "E_REVOKED";
    case AECS_E_EXPIRED:
        return "E_EXPIRED";
    case AECS_E_MISMATCH:
        return "E_MISMATCH";
    case AECS_E_CRYPTO:
        return "E_CRYPTO";
    case AECS_E_BAD_SIGNATURE:
        return "E_BAD_SIGNATURE";
    case AECS_E_INTERNAL:
        return "E_INTERNAL";
    case AECS_E_NO_MEMORY:
        return "E_NO_MEMORY";
    default:
        return "E_UNKNOWN";
    }
}
