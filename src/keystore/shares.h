/*
 * shares.h - the KEK split into Shamir shares for the admins, as text they can
 * copy, and put back together.
 *
 * Share text (one line, ASCII; docs/design-keystore.md has the details):
 *
 *   aecs-share-v1:<set>:<k>:<index>:<data>:<check>
 *
 *   set    8 lowercase hex digits, random per split: shares of different
 *          splits are never mixed (they would combine into garbage)
 *   k      the threshold, decimal 2..16 (how many shares the split needs)
 *   index  the share's x coordinate, decimal 1..16
 *   data   standard base64 (with padding) of the 32 share bytes: 44 characters
 *   check  8 lowercase hex digits: the first 4 bytes of SHA-256 over every
 *          character before the last ':' (from "aecs-share-v1:" to the end of
 *          data), so a mistyped or truncated share is refused before combining
 *
 * Shares are as sensitive as the KEK once k of them are together: they are
 * kept on the secure heap, never logged, and never quoted in error messages
 * (messages name a share by its position in the list, 1-based).
 *
 * Shamir cannot tell a wrong share from a right one, so combining always
 * checks the result against the KEK's stored check value (kek.h).
 */
#ifndef AECS_KEYSTORE_SHARES_H
#define AECS_KEYSTORE_SHARES_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/kek.h"

#define AECS_SHARE_PREFIX "aecs-share-v1:"
#define AECS_SHARES_MIN_THRESHOLD 2
#define AECS_SHARES_MAX 16
/* Room for one share's text and its NUL (the text is 80 to 82 characters). */
#define AECS_SHARE_TEXT_MAX 128

/* One parsed share. Wipe it with aecs_cleanse() when done. */
struct aecs_share {
    char set[9];        /* 8 hex digits and a NUL */
    unsigned threshold; /* k */
    unsigned index;     /* x coordinate, 1..16 */
    uint8_t data[AECS_KEK_SIZE];
};

/*
 * Splits the KEK into n shares, any k of which give it back (2 <= k <= n <= 16;
 * AECS_E_INVALID_ARGUMENT otherwise, naming the bound). *out gets an array of n
 * NUL-terminated share texts, each on the secure heap, in index order 1..n;
 * free it with aecs_shares_free(*out, n). Two splits of the same KEK give
 * different shares (fresh coefficients and set id).
 */
AECS_MUST_CHECK int aecs_shares_split(const struct aecs_kek *kek, unsigned k, unsigned n,
                                      char ***out);

/* Wipes and frees an array from aecs_shares_split(). NULL is fine. */
void aecs_shares_free(char **shares, unsigned n);

/*
 * Parses one share text (leading and trailing white space ignored) into out.
 * `position` (1-based) only names the share in messages: "share 2: ...".
 * AECS_E_FORMAT for anything malformed, with what is wrong (not an aecs
 * share, unsupported version, wrong field count, checksum mismatch, bad set,
 * threshold or index, bad base64); the share's data is never quoted. out is
 * wiped on failure.
 */
AECS_MUST_CHECK int aecs_share_parse(const char *text, unsigned position, struct aecs_share *out);

/*
 * Combines parsed shares into the KEK and verifies it against check (the
 * value aecs_kek_check_value() gave at init). Refused, naming the shares by
 * position: an empty list or more than 16 (AECS_E_INVALID_ARGUMENT); shares of
 * different splits or thresholds (AECS_E_INVALID_ARGUMENT); two shares with the
 * same index (AECS_E_INVALID_ARGUMENT, "share 3 repeats share 1 (index 2)");
 * fewer than the threshold (AECS_E_INVALID_ARGUMENT); a result that does not
 * match the check value (AECS_E_BAD_SIGNATURE). On success the caller frees
 * *out with aecs_kek_free().
 */
AECS_MUST_CHECK int aecs_shares_combine_parsed(const struct aecs_share *shares, size_t count,
                                               const uint8_t check[AECS_KEK_CHECK_SIZE],
                                               struct aecs_kek **out);

/* aecs_share_parse() on each text (positions 1..count), then aecs_shares_combine_parsed(). */
AECS_MUST_CHECK int aecs_shares_combine(const char *const *texts, size_t count,
                                        const uint8_t check[AECS_KEK_CHECK_SIZE],
                                        struct aecs_kek **out);

#endif
