/*
 * shamir.h - Shamir secret sharing over GF(2^8), with Debian's libgfshare.
 *
 * A secret of `size` bytes is split byte by byte: for each byte a random
 * polynomial of degree k-1 whose constant term is that byte; share x is the
 * polynomials evaluated at x (x = 1..n here; x = 0 would be the secret). Any k
 * shares give the secret back by Lagrange interpolation at 0; fewer give no
 * information about it. Shamir has no integrity: wrong or mixed shares yield a
 * wrong secret without any error, which is why callers verify the result (the
 * KEK's check value, kek.h).
 *
 * Randomness: libgfshare draws the polynomial coefficients through its global
 * function pointer gfshare_fill_rand. This module points it, once, at a
 * function that calls OpenSSL's RAND_priv_bytes (never libgfshare's
 * random()-based helper); if OpenSSL's generator fails, the split fails.
 *
 * This is the raw layer; src/keystore/shares.h puts shares into text form.
 */
#ifndef AECS_CRYPTO_SHAMIR_H
#define AECS_CRYPTO_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/kek.h"

#define AECS_SHAMIR_MIN_THRESHOLD 2
#define AECS_SHAMIR_MAX_SHARES 16
#define AECS_SHAMIR_MAX_SECRET 64

/*
 * Splits size bytes (1..AECS_SHAMIR_MAX_SECRET) of secret into n shares with
 * threshold k (2 <= k <= n <= 16). Share i (0-based) has x coordinate i+1 and
 * its size bytes are written at ys + i*size (the caller provides n*size bytes,
 * ideally from aecs_secure_alloc, and wipes them). AECS_E_INVALID_ARGUMENT for
 * k or n out of range, AECS_E_CRYPTO when OpenSSL's generator fails.
 */
AECS_MUST_CHECK int aecs_shamir_split(const uint8_t *secret, size_t size, unsigned k, unsigned n,
                                      uint8_t *ys);

/*
 * Interpolates at 0 from count points (1..16): x coordinates xs[i] (non-zero,
 * all different) and share bytes at ys + i*size; writes size bytes to secret.
 * The result is the secret only when the points are count >= k genuine shares
 * of one split; anything else gives some other value, with no error.
 */
AECS_MUST_CHECK int aecs_shamir_combine(const uint8_t *xs, const uint8_t *ys, size_t count,
                                        size_t size, uint8_t *secret);

/* aecs_shamir_split() of the KEK's 32 bytes: ys receives n*AECS_KEK_SIZE bytes. */
AECS_MUST_CHECK int aecs_shamir_split_kek(const struct aecs_kek *kek, unsigned k, unsigned n,
                                          uint8_t *ys);

/*
 * aecs_shamir_combine() into a new KEK (on the secure heap; the caller frees it
 * with aecs_kek_free). Not verified: check it with aecs_kek_verify().
 */
AECS_MUST_CHECK int aecs_shamir_combine_kek(const uint8_t *xs, const uint8_t *ys, size_t count,
                                            struct aecs_kek **out);

#endif
