/*
 * cmd_collateral.c - `aecs collateral` (placeholder until it is implemented).
 */
#include "cli/cli.h"

int cmd_collateral(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_yet("aecs collateral");
}
