/*
 * ossl.h - private helpers for the src/crypto files that call OpenSSL.
 */
#ifndef AECS_CRYPTO_OSSL_H
#define AECS_CRYPTO_OSSL_H

#include <openssl/err.h>

#include "base/err.h"

/*
 * Records `code` with the operation's name and the OpenSSL error queue folded
 * into one message, clears the queue, and returns code.
 */
int aecs_ossl_fail(int code, const char *file, int line, const char *op);

#define OSSL_FAIL(code, op) aecs_ossl_fail((code), __FILE__, __LINE__, (op))

/* For OpenSSL calls that return 1 on success. */
#define OSSL_GUARD(call, code, op)                                                                 \
    do {                                                                                           \
        if ((call) != 1)                                                                           \
            return OSSL_FAIL((code), (op));                                                        \
    } while (0)

#define OSSL_GUARD_OUT(call, code, op)                                                             \
    do {                                                                                           \
        if ((call) != 1) {                                                                         \
            rc = OSSL_FAIL((code), (op));                                                          \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#endif
