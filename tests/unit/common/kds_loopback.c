/*
 * kds_loopback.c - see kds_loopback.h.
 */
#include "kds_loopback.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

void kds_loopback_start(struct tu_loopback *s)
{
    char data[1024];
    const char *src = getenv("AECS_SRC");

    snprintf(data, sizeof(data), "%s/tests/data/snp", src && src[0] ? src : ".");
    const char *args[] = {"--data", data, "--lifetime", "300", NULL};
    tu_loopback_start(s, "kds_server", args);
}

void kds_loopback_last(struct tu_loopback *s, const char *name, char *buf, size_t size)
{
    json_t *j = tu_loopback_stats(s);

    assert_true(json_is_string(json_object_get(j, name)));
    snprintf(buf, size, "%s", json_string_value(json_object_get(j, name)));
    json_decref(j);
}
