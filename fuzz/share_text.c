/*
 * share_text.c - libFuzzer target for the shares of the root key as they come
 * in: share texts (src/keystore/shares.c: what an admin types, what an unseal
 * request carries once its envelope is opened, what `aecs admin init` reads
 * back from the server's answer), and the pieces of a share another replica
 * forwarded through the store (src/service/unseal.c: the plaintext of the
 * envelope, which anyone who can write the store can seal to a mailbox's
 * public key, and the index at the end of the box's key).
 *
 * Whatever the bytes: no crash, no leak, and
 *   - an accepted share text is, blanks around it cut and the case of its
 *     checksum aside, the text the splitter writes for the share it parses
 *     to (written here by code of our own, checksum included), and that
 *     text parses to the same share; each input is also tried with its
 *     checksum made right, so that the fields behind it are reached;
 *   - a forwarded share's plaintext is accepted exactly when its fields are
 *     in range (checked here by code of our own), and encodes back to the
 *     same bytes;
 *   - a box index is accepted exactly when it is what "%u" writes for
 *     1..16.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/codec.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "keystore/shares.h"
#include "service/internal.h"

#include "fuzz_text.h"

/* The text the splitter writes for sh: prefix, set, k, index, base64 data, check. */
static void share_text(const struct aecs_share *sh, char out[AECS_SHARE_TEXT_MAX])
{
    uint8_t digest[32];
    char b64[64];
    int n;

    aecs_base64_encode(sh->data, sizeof(sh->data), b64);
    n = snprintf(out, AECS_SHARE_TEXT_MAX, "aecs-share-v1:%s:%u:%u:%s", sh->set, sh->threshold,
                 sh->index, b64);
    if (n < 0 || n + 10 > AECS_SHARE_TEXT_MAX)
        abort();
    aecs_sha256(out, (size_t)n, digest);
    snprintf(out + n, AECS_SHARE_TEXT_MAX - (size_t)n, ":%02x%02x%02x%02x", digest[0], digest[1],
             digest[2], digest[3]);
}

static int lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* text without the blanks around it: its start, and *len its length */
static const char *trimmed(const char *text, size_t *len)
{
    while (isspace((unsigned char)*text))
        text++;
    *len = strlen(text);
    while (*len > 0 && isspace((unsigned char)text[*len - 1]))
        (*len)--;
    return text;
}

static void fuzz_share_text(const char *text)
{
    struct aecs_share sh, again;
    char canon[AECS_SHARE_TEXT_MAX];

    if (aecs_share_parse(text, 1, &sh) != AECS_OK) {
        /* a refused share leaves nothing behind */
        static const struct aecs_share zero;
        if (memcmp(&sh, &zero, sizeof(sh)) != 0)
            abort();
        return;
    }
    if (strlen(sh.set) != 8 || !lower_hex(sh.set, 8) || sh.threshold < 2 || sh.threshold > 16 ||
        sh.index < 1 || sh.index > 16)
        abort();
    share_text(&sh, canon);
    /* the input is the canonical text, but for blanks around it and the case of the check */
    size_t len;
    const char *p = trimmed(text, &len);
    if (len != strlen(canon) || memcmp(p, canon, len - 8) != 0 ||
        strncasecmp(p + len - 8, canon + len - 8, 8) != 0)
        abort();
    if (aecs_share_parse(canon, 1, &again) != AECS_OK || memcmp(&sh, &again, sizeof(sh)) != 0)
        abort();
}

/*
 * The same text with its checksum (what follows the last ':') made right for
 * what comes before it, so that the fields behind the checksum are reached.
 */
static void fuzz_share_fields(const char *text)
{
    char buf[AECS_SHARE_TEXT_MAX + 16];
    uint8_t digest[32];
    size_t len;
    const char *p = trimmed(text, &len);

    if (len >= AECS_SHARE_TEXT_MAX)
        return;
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *last = strrchr(buf, ':');
    if (last == NULL)
        return;
    aecs_sha256(buf, (size_t)(last - buf), digest);
    snprintf(last + 1, sizeof(buf) - (size_t)(last + 1 - buf), "%02x%02x%02x%02x", digest[0],
             digest[1], digest[2], digest[3]);
    fuzz_share_text(buf);
}

static void fuzz_forwarded(const uint8_t *data, size_t size)
{
    struct aecs_share sh;
    uint8_t again[SVC_UNSEAL_SHARE_PLAIN_SIZE];
    int want = size == SVC_UNSEAL_SHARE_PLAIN_SIZE && data[0] >= 1 && data[0] <= 16 &&
               data[1] >= 2 && data[1] <= 16 && lower_hex((const char *)data + 2, 8);
    int ok = svc_unseal_share_decode(data, size, &sh) == AECS_OK;

    if (ok != want)
        abort();
    if (!ok)
        return;
    if (sh.index != data[0] || sh.threshold != data[1] || strlen(sh.set) != 8)
        abort();
    svc_unseal_share_encode(&sh, again);
    if (memcmp(again, data, size) != 0)
        abort();
}

static void fuzz_box_index(const char *text)
{
    unsigned index = 0;
    char again[16];
    int ok = svc_unseal_box_index(text, &index);
    int want = 0;

    for (unsigned i = 1; i <= 16 && !want; i++) {
        snprintf(again, sizeof(again), "%u", i);
        want = strcmp(again, text) == 0;
    }
    if (ok != want)
        abort();
    if (ok) {
        snprintf(again, sizeof(again), "%u", index);
        if (strcmp(again, text) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);

    if (text == NULL)
        return 0;
    fuzz_share_text(text);
    fuzz_share_fields(text);
    fuzz_forwarded(data, size);
    fuzz_box_index(text);
    free(text);
    aecs_err_clear();
    return 0;
}
