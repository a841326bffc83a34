/*
 * shamir.c - Shamir secret sharing through libgfshare; see shamir.h.
 *
 * libgfshare calls gfshare_fill_rand() for the coefficients (in
 * gfshare_ctx_enc_setsecret) and also to scrub its buffers (in
 * gfshare_ctx_free, for encoding and decoding contexts alike), so the pointer
 * is installed before any context is made. Its signature has no way to report
 * failure: fill_rand() records one in a thread-local flag that the split checks
 * right after setsecret (a failed fill is zeroed, and zero coefficients would
 * make every share equal the secret, so the split must not go on).
 *
 * The library keeps the secret and coefficients in its own malloc'ed buffer
 * while a context lives (a few microseconds here) and overwrites it with random
 * bytes when the context is freed.
 */
#include "crypto/shamir.h"

#include <libgfshare.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "crypto/ossl.h"
#include "crypto/secmem.h"

/* Internal accessor of kek.c. */
const uint8_t *aecs_kek_bytes(const struct aecs_kek *kek);

static _Thread_local int g_fill_failed;
static pthread_once_t g_fill_once = PTHREAD_ONCE_INIT;

static void fill_rand(unsigned char *buf, unsigned int size)
{
    if (size == 0)
        return;
    if (RAND_priv_bytes(buf, (int)size) != 1) {
        ERR_clear_error();
        OPENSSL_cleanse(buf, size);
        g_fill_failed = 1;
    }
}

static void install_fill_rand(void)
{
    gfshare_fill_rand = fill_rand;
}

static void use_openssl_rand(void)
{
    pthread_once(&g_fill_once, install_fill_rand);
}

int aecs_shamir_split(const uint8_t *secret, size_t size, unsigned k, unsigned n, uint8_t *ys)
{
    unsigned char xs[AECS_SHAMIR_MAX_SHARES];
    gfshare_ctx *ctx;
    int failed;

    ENSURE(size > 0 && size <= AECS_SHAMIR_MAX_SECRET, AECS_E_INVALID_ARGUMENT,
           "Shamir split: secret of %zu bytes (1..%d)", size, AECS_SHAMIR_MAX_SECRET);
    ENSURE(k >= AECS_SHAMIR_MIN_THRESHOLD, AECS_E_INVALID_ARGUMENT,
           "threshold %u: at least %d shares must be needed", k, AECS_SHAMIR_MIN_THRESHOLD);
    ENSURE(n <= AECS_SHAMIR_MAX_SHARES, AECS_E_INVALID_ARGUMENT, "%u shares: at most %d", n,
           AECS_SHAMIR_MAX_SHARES);
    ENSURE(k <= n, AECS_E_INVALID_ARGUMENT, "threshold %u is more than the %u shares", k, n);
    use_openssl_rand();
    for (unsigned i = 0; i < n; i++)
        xs[i] = (unsigned char)(i + 1);
    ctx = gfshare_ctx_init_enc(xs, n, (unsigned char)k, (unsigned int)size);
    ENSURE(ctx != NULL, AECS_E_NO_MEMORY, "Shamir split: out of memory");
    g_fill_failed = 0;
    /* setsecret only copies from its (non-const) argument. */
    gfshare_ctx_enc_setsecret(ctx, (unsigned char *)secret);
    failed = g_fill_failed;
    if (!failed)
        for (unsigned i = 0; i < n; i++)
            gfshare_ctx_enc_getshare(ctx, (unsigned char)i, ys + (size_t)i * size);
    gfshare_ctx_free(ctx);
    ENSURE(!failed, AECS_E_CRYPTO, "Shamir split: OpenSSL's random generator failed");
    return AECS_OK;
}

int aecs_shamir_combine(const uint8_t *xs, const uint8_t *ys, size_t count, size_t size,
                        uint8_t *secret)
{
    unsigned char x[AECS_SHAMIR_MAX_SHARES];
    gfshare_ctx *ctx;

    ENSURE(size > 0 && size <= AECS_SHAMIR_MAX_SECRET, AECS_E_INVALID_ARGUMENT,
           "Shamir combine: secret of %zu bytes (1..%d)", size, AECS_SHAMIR_MAX_SECRET);
    ENSURE(count >= 1 && count <= AECS_SHAMIR_MAX_SHARES, AECS_E_INVALID_ARGUMENT,
           "Shamir combine: %zu shares (1..%d)", count, AECS_SHAMIR_MAX_SHARES);
    for (size_t i = 0; i < count; i++) {
        ENSURE(xs[i] != 0, AECS_E_INVALID_ARGUMENT, "Shamir combine: share index 0");
        for (size_t j = 0; j < i; j++)
            ENSURE(xs[i] != xs[j], AECS_E_INVALID_ARGUMENT,
                   "Shamir combine: share index %u given twice", xs[i]);
        x[i] = xs[i];
    }
    use_openssl_rand(); /* gfshare_ctx_free() scrubs with it */
    ctx = gfshare_ctx_init_dec(x, (unsigned int)count, (unsigned int)size);
    ENSURE(ctx != NULL, AECS_E_NO_MEMORY, "Shamir combine: out of memory");
    /* giveshare only copies from its (non-const) argument. */
    for (size_t i = 0; i < count; i++)
        gfshare_ctx_dec_giveshare(ctx, (unsigned char)i, (unsigned char *)ys + i * size);
    gfshare_ctx_dec_extract(ctx, secret);
    gfshare_ctx_free(ctx);
    return AECS_OK;
}

int aecs_shamir_split_kek(const struct aecs_kek *kek, unsigned k, unsigned n, uint8_t *ys)
{
    return aecs_shamir_split(aecs_kek_bytes(kek), AECS_KEK_SIZE, k, n, ys);
}

int aecs_shamir_combine_kek(const uint8_t *xs, const uint8_t *ys, size_t count,
                            struct aecs_kek **out)
{
    uint8_t *key = aecs_secure_alloc(AECS_KEK_SIZE);
    int rc;

    *out = NULL;
    ENSURE(key != NULL, AECS_E_NO_MEMORY, "out of memory");
    rc = aecs_shamir_combine(xs, ys, count, AECS_KEK_SIZE, key);
    if (rc == AECS_OK)
        rc = aecs_kek_from_bytes(key, out);
    aecs_secure_free(key, AECS_KEK_SIZE);
    return rc;
}
