/*
 * daemon_config.c - libFuzzer target for aecsd's configuration file reader:
 * whatever the bytes, no crash or leak, and on success every pair is two
 * NUL-terminated strings with a positive line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "service/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aecs_config cfg;

    if (aecs_config_parse((const char *)data, size, "fuzz", &cfg) == AECS_OK) {
        for (size_t i = 0; i < cfg.count; i++) {
            if (cfg.items[i].key == NULL || cfg.items[i].value == NULL || cfg.items[i].line < 1)
                abort();
        }
    }
    aecs_config_free(&cfg);
    return 0;
}
