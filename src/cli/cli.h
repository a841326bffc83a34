/*
 * cli.h - shared pieces of the aecs command: the subcommand table type and
 * the exit codes every command uses.
 */
#ifndef AECS_CLI_CLI_H
#define AECS_CLI_CLI_H

#include <stdio.h>

/* Exit codes: 0 success (verified), 1 a negative verdict, 2 usage or unreadable input. */
enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's own name */
    const char *summary;
};

/* Finds `name` in a NULL-terminated table and runs it, or prints the table. */
int cli_dispatch(const char *prog, const struct cli_command *table, int argc, char **argv);
void cli_print_table(FILE *out, const char *prog, const struct cli_command *table);

/* Prints "aecs: <message of the last error>" to stderr. */
void cli_report_error(const char *context);

int cmd_quote(int argc, char **argv);

#endif
