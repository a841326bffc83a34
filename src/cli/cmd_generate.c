/*
 * cmd_generate.c - `aecs quote generate` (placeholder until it is implemented).
 */
#include "cli/cli.h"

int quote_generate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_yet("aecs quote generate");
}
