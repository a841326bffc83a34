/*
 * main.c - the aecs command: a table of subcommands, each with --help.
 *
 * Only this file and the cmd_*.c files decide exit codes; the libraries
 * return errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"

#define AECS_VERSION "0.1.0"

static const struct cli_command k_commands[] = {
    {"quote", cmd_quote, "show, verify and generate attestation evidence (SGX, TDX, SNP)"},
    {"collateral", cmd_collateral, "fetch and cache Intel collateral from a PCCS or the PCS"},
    {"sim", cmd_sim, "a simulated TEE for machines without one (test PKI and quotes)"},
    {"doctor", cmd_doctor, "check this machine's TEE setup and explain what is missing"},
    {"keygen", cmd_keygen, "make an admin key pair (ECDSA P-256) for signing requests to aecsd"},
    {"admin", cmd_admin, "run aecsd: init, unseal, status, services, audit log"},
    {"secret", cmd_secret, "create, list and destroy a service's secrets on aecsd"},
    {"fetch", cmd_fetch, "get secrets from aecsd for this TEE application (attested)"},
    {NULL, NULL, NULL},
};

void cli_print_table(FILE *out, const char *prog, const struct cli_command *table)
{
    for (const struct cli_command *c = table; c->name != NULL; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out, "\nRun '%s COMMAND --help' for a command's options.\n", prog);
}

int cli_dispatch(const char *prog, const struct cli_command *table, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "%s: missing command. Commands:\n", prog);
        cli_print_table(stderr, prog, table);
        return EXIT_USAGE;
    }
    for (const struct cli_command *c = table; c->name != NULL; c++) {
        if (strcmp(argv[0], c->name) == 0)
            return c->run(argc, argv);
    }
    fprintf(stderr, "%s: unknown command '%.60s'. Commands:\n", prog, argv[0]);
    cli_print_table(stderr, prog, table);
    return EXIT_USAGE;
}

int cli_not_yet(const char *what)
{
    fprintf(stderr, "aecs: %s is not available in this build yet\n", what);
    return EXIT_USAGE;
}

void cli_report_error(const char *context)
{
    const struct aecs_err_info *e = aecs_err_last();

    fprintf(stderr, "aecs: %s%s%s\n", context ? context : "", context ? ": " : "",
            e->message[0] ? e->message : "unknown error");
    log_debug("error %s (%s) raised at %s:%d", aecs_err_name(e->code), aecs_err_kind(e->code),
              e->file ? e->file : "?", e->line);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: aecs [--log-level LEVEL] COMMAND [ARGS...]\n\n"
                 "aecs verifies TEE attestation evidence and releases keys and configuration\n"
                 "only to applications whose measurements match a policy.\n\n"
                 "Options:\n"
                 "  --log-level LEVEL  error, warn (default), info or debug\n"
                 "  --version          print the version\n"
                 "  -h, --help         this help\n\n"
                 "Commands:\n");
    cli_print_table(out, "aecs", k_commands);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"log-level", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("aecs %s\n", AECS_VERSION);
            return EXIT_OK;
        case 'l': {
            int level = aecs_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "aecs: --log-level must be error, warn, info or debug\n");
                return EXIT_USAGE;
            }
            aecs_log_set_level(level);
            break;
        }
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    int first = optind;
    optind = 0; /* each command parses its own options from scratch */
    return cli_dispatch("aecs", k_commands, argc - first, argv + first);
}
