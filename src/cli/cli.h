/*
 * cli.h - shared pieces of the aecs command: the subcommand table type and
 * the exit codes every command uses.
 */
#ifndef AECS_CLI_CLI_H
#define AECS_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>
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
int cmd_sim(int argc, char **argv);        /* cmd_sim.c */
int cmd_collateral(int argc, char **argv); /* cmd_collateral.c */
int cmd_doctor(int argc, char **argv);     /* cmd_doctor.c */

/* `aecs quote generate` (cmd_generate.c). */
int quote_generate(int argc, char **argv);

/*
 * SEV-SNP halves of `aecs quote show|verify` (cmd_snp.c), called once the
 * input is known to be an SNP report. They print like the DCAP ones and
 * return the same exit codes.
 */
int quote_show_snp(const char *path, const uint8_t *data, size_t size, int json);
int quote_verify_snp(const char *path, const uint8_t *data, size_t size, const char *collateral,
                     int64_t at, int json);

/*
 * The SEV-SNP half of `aecs collateral fetch` (cmd_collateral_snp.c): the
 * report's VCEK and cert_chain from AMD's KDS (kds_url NULL: the default),
 * written to out_dir. Returns an exit code.
 */
int collateral_fetch_snp(const char *path, const uint8_t *data, size_t size, const char *out_dir,
                         const char *kds_url, const char *product, long timeout_s);

/* Prints "<what> is not available yet" and returns EXIT_USAGE (for commands in progress). */
int cli_not_yet(const char *what);

#endif
