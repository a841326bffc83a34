/*
 * secmem.c - key memory on OpenSSL's secure heap; see secmem.h.
 *
 * CRYPTO_secure_zalloc() already falls back to the ordinary heap while the
 * secure heap is not set up, and CRYPTO_secure_clear_free() wipes and frees
 * memory from either heap. The one case added here is a full secure heap:
 * the allocation is retried on the ordinary heap (still wiped on free) so a
 * large record does not fail just because it does not fit the locked arena.
 */
#include "crypto/secmem.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "base/log.h"

/* Smallest secure-heap block: one 32-byte key fits one block. */
#define SECURE_HEAP_MIN_BLOCK 32

static int g_secure_heap_state = AECS_SECURE_HEAP_OFF;

int aecs_secure_heap_init(size_t size)
{
    int ret;

    if (size == 0)
        size = AECS_SECURE_HEAP_DEFAULT_SIZE;
    ENSURE(size >= 4096 && (size & (size - 1)) == 0, AECS_E_INVALID_ARGUMENT,
           "secure heap size %zu is not a power of two of at least 4096", size);
    if (CRYPTO_secure_malloc_initialized())
        return AECS_OK;
    ret = CRYPTO_secure_malloc_init(size, SECURE_HEAP_MIN_BLOCK);
    ERR_clear_error();
    if (ret == 0) {
        log_warn("secure heap: not available; key material lives in ordinary memory "
                 "(still wiped after use)");
        g_secure_heap_state = AECS_SECURE_HEAP_OFF;
        return AECS_OK;
    }
    if (ret == 2) {
        log_warn("secure heap: %zu bytes set up but not locked into RAM (mlock failed; "
                 "raise RLIMIT_MEMLOCK): keys may be swapped out",
                 size);
        g_secure_heap_state = AECS_SECURE_HEAP_UNLOCKED;
        return AECS_OK;
    }
    log_debug("secure heap: %zu bytes, locked", size);
    g_secure_heap_state = AECS_SECURE_HEAP_ON;
    return AECS_OK;
}

enum aecs_secure_heap_state aecs_secure_heap_state(void)
{
    return (enum aecs_secure_heap_state)g_secure_heap_state;
}

void *aecs_secure_alloc(size_t size)
{
    void *p;

    if (size == 0)
        return NULL;
    p = OPENSSL_secure_zalloc(size);
    if (p == NULL && CRYPTO_secure_malloc_initialized()) {
        ERR_clear_error(); /* a full secure heap leaves an error on the queue */
        log_debug("secure heap full: %zu bytes from the ordinary heap (wiped on free)", size);
        p = OPENSSL_zalloc(size);
    }
    return p;
}

void aecs_secure_free(void *p, size_t size)
{
    if (p == NULL)
        return;
    /* Frees secure-heap memory, or cleanses and frees ordinary-heap memory. */
    OPENSSL_secure_clear_free(p, size);
}
