/*
 * cmd_snp.c - the SEV-SNP halves of `aecs quote show|verify` (placeholder).
 */
#include "cli/cli.h"

int quote_show_snp(const char *path, const uint8_t *data, size_t size, int json)
{
    (void)path;
    (void)data;
    (void)size;
    (void)json;
    return cli_not_yet("SEV-SNP report parsing");
}

int quote_verify_snp(const char *path, const uint8_t *data, size_t size, const char *collateral,
                     int64_t at, int json)
{
    (void)path;
    (void)data;
    (void)size;
    (void)collateral;
    (void)at;
    (void)json;
    return cli_not_yet("SEV-SNP verification");
}
