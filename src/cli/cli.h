/*
 * cli.h - shared pieces of the aecs command: the subcommand table type and
 * the exit codes every command uses.
 */
#ifndef AECS_CLI_CLI_H
#define AECS_CLI_CLI_H

#include <jansson.h>
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

/*
 * Reports a failed request (status: the HTTP status, 0 when no answer came;
 * code: the answer's error code or "") and returns its exit code: 1 when the
 * server refused, 2 when no usable answer came.
 */
int cli_report_request_failure(long status, const char *code);

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

/* ---- the commands that talk to aecsd ---- */

int cmd_keygen(int argc, char **argv); /* cmd_keygen.c */
int cmd_admin(int argc, char **argv);  /* cmd_admin.c */
int cmd_secret(int argc, char **argv); /* cmd_secret.c */
int cmd_fetch(int argc, char **argv);  /* cmd_fetch.c */

struct aecs_cred;
struct aecs_conn;
struct aecs_reply;

/* A loaded credential file and a connection made from it (cli_client.c). */
struct cli_client {
    struct aecs_cred *cred;
    struct aecs_conn *conn;
};

/*
 * Loads the credential file `config` (NULL: $AECS_CONFIG, or the AECS_SERVER...
 * variables alone) with aecs_cred_load's flags and opens a connection.
 * Returns EXIT_OK, or EXIT_USAGE after printing why not.
 */
int cli_client_open(const char *config, unsigned cred_flags, struct cli_client *cl);
void cli_client_close(struct cli_client *cl);

/*
 * Sends one request (aecs_conn_request_json). Returns EXIT_OK with the
 * answer in reply, or prints the error and returns EXIT_REFUSED when the
 * server answered with an error, EXIT_USAGE when no usable answer came. The
 * caller clears reply with aecs_reply_clear in every case.
 */
int cli_request(struct cli_client *cl, const char *method, const char *target, const json_t *body,
                unsigned flags, struct aecs_reply *reply);

/* Prints value as indented JSON and a newline. EXIT_OK or EXIT_USAGE. */
int cli_print_json(const json_t *value);
/* obj[key] when it is a string, else `missing`. */
const char *cli_json_str(const json_t *obj, const char *key, const char *missing);
/* A decimal number in [min, max] into *out: 0, or -1 when it is not one. */
int cli_parse_count(const char *text, long min, long max, long *out);

/* 0 when getopt left no argument; else prints "aecs: WHAT takes no arguments ..." and -1. */
int cli_no_arguments(int argc, char **argv, const char *what);
/* 0 when name (given with `option`) is a valid name; else prints why ("WHAT needs ...") and -1. */
int cli_check_name(const char *name, const char *option, const char *what);

#endif
