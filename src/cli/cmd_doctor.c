/*
 * cmd_doctor.c - `aecs doctor` (placeholder until it is implemented).
 */
#include "cli/cli.h"

int cmd_doctor(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_yet("aecs doctor");
}
