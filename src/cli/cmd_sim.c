/*
 * cmd_sim.c - `aecs sim` (placeholder until it is implemented).
 */
#include "cli/cli.h"

int cmd_sim(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_yet("aecs sim");
}
