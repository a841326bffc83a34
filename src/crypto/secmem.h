/*
 * secmem.h - memory for key material: OpenSSL's secure heap when it is set up,
 * ordinary heap otherwise; wiped on free in both cases.
 *
 * The secure heap (CRYPTO_secure_malloc) is a separate mmap'ed arena that is
 * locked into RAM (never swapped), excluded from core dumps and surrounded by
 * guard pages. It is set up once, at startup, by aecs_secure_heap_init();
 * before that (and in programs that never call it) allocations come from the
 * ordinary heap. Either way aecs_secure_free() wipes the memory with
 * OPENSSL_cleanse before releasing it.
 *
 * This lives in src/crypto rather than src/base because it needs OpenSSL, and
 * only src/crypto includes OpenSSL headers.
 */
#ifndef AECS_CRYPTO_SECMEM_H
#define AECS_CRYPTO_SECMEM_H

#include <stddef.h>

#include "base/err.h"

/* The secure heap's size when aecs_secure_heap_init() is given 0. */
#define AECS_SECURE_HEAP_DEFAULT_SIZE (1u << 20)

enum aecs_secure_heap_state {
    AECS_SECURE_HEAP_OFF = 0,      /* not set up: ordinary heap, wiped on free */
    AECS_SECURE_HEAP_ON = 1,       /* set up and locked into RAM */
    AECS_SECURE_HEAP_UNLOCKED = 2, /* set up, but mlock() failed (may be swapped) */
};

/*
 * Sets up OpenSSL's secure heap of `size` bytes (a power of two, at least 4096;
 * 0 means AECS_SECURE_HEAP_DEFAULT_SIZE). Call once, early, before any key is
 * made. AECS_E_INVALID_ARGUMENT for a bad size. When the platform cannot give a
 * secure heap the call still succeeds, logs a warning, and allocations fall
 * back to the ordinary heap; aecs_secure_heap_state() tells which. Calling it
 * again once the heap is set up does nothing.
 */
AECS_MUST_CHECK int aecs_secure_heap_init(size_t size);

enum aecs_secure_heap_state aecs_secure_heap_state(void);

/*
 * size zeroed bytes (size > 0) from the secure heap, or from the ordinary heap
 * when there is no secure heap or it is full. NULL when out of memory. Free
 * with aecs_secure_free(p, size), giving the same size.
 */
void *aecs_secure_alloc(size_t size);

/* Wipes size bytes at p and releases them. NULL is fine. */
void aecs_secure_free(void *p, size_t size);

#endif
