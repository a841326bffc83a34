/*
 * rate_bucket.c - libFuzzer target for the shared rate limiter's stored
 * bucket values (aecs_ratelimit_bucket_parse): they come from etcd, which
 * the host controls. Whatever the bytes: no crash, and a value is accepted
 * exactly when it is two runs of 1 to 19 decimal digits around one space
 * (checked here by code of its own), with the numbers those digits spell.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "service/challenge.h"

/* The digits at p (at most 19) as a number; *n their count. */
static uint64_t digits(const uint8_t *p, size_t size, size_t *n)
{
    uint64_t v = 0;

    *n = 0;
    while (*n < size && p[*n] >= '0' && p[*n] <= '9') {
        v = v * 10 + (uint64_t)(p[*n] - '0');
        (*n)++;
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t tokens = 0, when = 0, t, w;
    size_t n1, n2;
    int ok = aecs_ratelimit_bucket_parse(data, size, &tokens, &when) == AECS_OK;
    int want;

    t = digits(data, size, &n1);
    want = n1 >= 1 && n1 <= 19 && n1 < size && data[n1] == ' ';
    if (want) {
        w = digits(data + n1 + 1, size - n1 - 1, &n2);
        want = n2 >= 1 && n2 <= 19 && n1 + 1 + n2 == size;
    }
    if (ok != want)
        abort();
    if (ok && (tokens != t || when != w))
        abort();
    aecs_err_clear();
    return 0;
}
