/*
 * pcs_loopback.c - see pcs_loopback.h.
 */
#include "pcs_loopback.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

void pcs_loopback_start(struct tu_loopback *s, const char *const *sets, const char *const *flags)
{
    char data[1024];
    const char *args[40];
    size_t n = 0;
    const char *src = getenv("AECS_SRC");

    snprintf(data, sizeof(data), "%s/tests/data/dcap", src && src[0] ? src : ".");
    args[n++] = "--data";
    args[n++] = data;
    args[n++] = "--lifetime";
    args[n++] = "300";
    for (size_t i = 0; sets[i] != NULL; i++) {
        assert_true(n < 36);
        args[n++] = "--set";
        args[n++] = sets[i];
    }
    for (size_t i = 0; flags != NULL && flags[i] != NULL; i++) {
        assert_true(n < 39);
        args[n++] = flags[i];
    }
    args[n] = NULL;
    tu_loopback_start(s, "pcs_server", args);
}
