/*
 * err.h - error codes and the guard macros every fallible function uses.
 *
 * Functions that can fail return an int: AECS_OK (0) or one of the codes below,
 * grouped by kind (the hundreds digit). Failing code records a message with the
 * file and line where it failed in a thread-local slot (aecs_err_last()), so the
 * caller that finally reports the error can say what failed and where without
 * each layer formatting its own string.
 *
 * Style: the success path reads straight down; failure branches leave early with
 * GUARD (propagate), ENSURE (check a condition) or, in functions with cleanup,
 * the *_OUT variants that jump to a single `out:` label.
 */
#ifndef AECS_BASE_ERR_H
#define AECS_BASE_ERR_H

#include <stddef.h>

#define AECS_MUST_CHECK __attribute__((warn_unused_result))
#define AECS_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum aecs_err {
    AECS_OK = 0,

    /* usage: the caller asked for something malformed */
    AECS_E_USAGE = 100,
    AECS_E_INVALID_ARGUMENT = 101,

    /* io: files, devices, network */
    AECS_E_IO = 200,
    AECS_E_NOT_FOUND = 201,
    AECS_E_TOO_LARGE = 202,

    /* format: bytes or text that do not parse */
    AECS_E_FORMAT = 300,
    AECS_E_TRUNCATED = 301,
    AECS_E_TRAILING_DATA = 302,
    AECS_E_UNSUPPORTED = 303,

    /* attestation: evidence parsed but is not acceptable */
    AECS_E_ATTESTATION = 400,
    AECS_E_UNTRUSTED = 401,
    AECS_E_REVOKED = 402,
    AECS_E_EXPIRED = 403,
    AECS_E_MISMATCH = 404,

    /* crypto: a primitive failed or a signature is wrong */
    AECS_E_CRYPTO = 500,
    AECS_E_BAD_SIGNATURE = 501,

    /* internal: a bug or resource exhaustion */
    AECS_E_INTERNAL = 600,
    AECS_E_NO_MEMORY = 601,
};

/* The last error recorded on this thread. */
struct aecs_err_info {
    int code;
    const char *file;
    int line;
    char message[512];
};

/* Records code, place and message; returns code so callers can `return aecs_err_set(...)`. */
int aecs_err_set(int code, const char *file, int line, const char *fmt, ...) AECS_PRINTF(4, 5);

/* Prefixes the recorded message with more context ("collateral: " ...), keeps code and place. */
void aecs_err_prefix(const char *fmt, ...) AECS_PRINTF(1, 2);

const struct aecs_err_info *aecs_err_last(void);
void aecs_err_clear(void);

/* "usage", "io", "format", "attestation", "crypto", "internal" (or "ok"). */
const char *aecs_err_kind(int code);
/* A stable identifier such as "E_TRUNCATED". */
const char *aecs_err_name(int code);

#define AECS_ERR(code, ...) aecs_err_set((code), __FILE__, __LINE__, __VA_ARGS__)

/* Propagate a failure unchanged. */
#define GUARD(x)                                                                                   \
    do {                                                                                           \
        int guard_rc_ = (x);                                                                       \
        if (guard_rc_ != AECS_OK)                                                                  \
            return guard_rc_;                                                                      \
    } while (0)

/* Fail with `code` and a message unless `cond` holds. */
#define ENSURE(cond, code, ...)                                                                    \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return AECS_ERR((code), __VA_ARGS__);                                                  \
    } while (0)

/* Variants for functions with a local `int rc` and an `out:` cleanup label. */
#define GUARD_OUT(x)                                                                               \
    do {                                                                                           \
        rc = (x);                                                                                  \
        if (rc != AECS_OK)                                                                         \
            goto out;                                                                              \
    } while (0)

#define ENSURE_OUT(cond, code, ...)                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            rc = AECS_ERR((code), __VA_ARGS__);                                                    \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#define BAIL_OUT(code, ...)                                                                        \
    do {                                                                                           \
        rc = AECS_ERR((code), __VA_ARGS__);                                                        \
        goto out;                                                                                  \
    } while (0)

#endif
