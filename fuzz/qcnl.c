/*
 * qcnl.c - libFuzzer target for the sgx_default_qcnl.conf reader (both the
 * legacy KEY=VALUE form and the JSON form with comments), and for the
 * comment scanner on its own: whatever the bytes, no crash, no leak, and on
 * success the URLs it returns are http(s) and NUL-terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attest/qcnl.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aecs_qcnl q;
    char *copy;
    int line = 0;

    aecs_log_set_level(AECS_LOG_ERROR); /* unknown keys and insecure settings warn */
    if (aecs_qcnl_parse((const char *)data, size, "fuzz", &q) == AECS_OK) {
        if (strnlen(q.pccs_url, sizeof(q.pccs_url)) == sizeof(q.pccs_url) ||
            strnlen(q.collateral_url, sizeof(q.collateral_url)) == sizeof(q.collateral_url) ||
            (strncasecmp(q.collateral_url, "http://", 7) != 0 &&
             strncasecmp(q.collateral_url, "https://", 8) != 0))
            abort();
    } else if (q.error_line < 0) {
        abort();
    }
    copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    if (aecs_qcnl_strip_json_comments(copy, size, &line) == AECS_OK) {
        /* newlines are kept where they were */
        for (size_t i = 0; i < size; i++) {
            if ((data[i] == '\n') != (copy[i] == '\n'))
                abort();
        }
    }
    free(copy);
    return 0;
}
