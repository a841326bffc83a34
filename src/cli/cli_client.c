/*
 * cli_client.c - what the commands that talk to aecsd share (`aecs admin`,
 * `aecs secret`): finding and loading the credential file, opening the
 * connection, sending one request and turning the outcome into a message
 * and an exit code, and printing JSON.
 *
 * Exit codes: EXIT_REFUSED (1) when the server answered with an error (the
 * message is the server's, followed by its code); EXIT_USAGE (2) for
 * everything that kept the request from being answered: bad credentials,
 * unreadable files, no connection, TLS failures, malformed answers.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "cli/cli.h"
#include "proto/name.h"
#include "client/conn.h"
#include "client/cred.h"
#include "crypto/crypto.h"

int cli_client_open(const char *config, unsigned cred_flags, struct cli_client *cl)
{
    const char *env_config = getenv("AECS_CONFIG");
    const char *env_server = getenv("AECS_SERVER");

    memset(cl, 0, sizeof(*cl));
    if (config == NULL && env_config != NULL && env_config[0] != '\0')
        config = env_config;
    if (config == NULL && (env_server == NULL || env_server[0] == '\0')) {
        fprintf(stderr, "aecs: no credential file: give --config FILE or set AECS_CONFIG "
                        "(see `aecs admin --help`)\n");
        return EXIT_USAGE;
    }
    if (aecs_cred_load(config, cred_flags, &cl->cred) != AECS_OK) {
        cli_report_error(NULL);
        return EXIT_USAGE;
    }
    if (aecs_conn_open(cl->cred, NULL, &cl->conn) != AECS_OK) {
        cli_report_error(NULL);
        cli_client_close(cl);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

void cli_client_close(struct cli_client *cl)
{
    aecs_conn_free(cl->conn);
    aecs_cred_free(cl->cred);
    memset(cl, 0, sizeof(*cl));
}

int cli_report_request_failure(long status, const char *code)
{
    const struct aecs_err_info *e = aecs_err_last();

    if (status >= 300) {
        if (code[0] != '\0')
            fprintf(stderr, "aecs: %s (%s)\n", e->message, code);
        else
            fprintf(stderr, "aecs: %s\n", e->message);
        return EXIT_REFUSED;
    }
    cli_report_error(NULL);
    return EXIT_USAGE;
}

/* Reports a failed request and says which exit code it deserves. */
static int report(const struct aecs_reply *r)
{
    return cli_report_request_failure(r->status, r->code);
}

int cli_request(struct cli_client *cl, const char *method, const char *target, const json_t *body,
                unsigned flags, struct aecs_reply *reply)
{
    if (aecs_conn_request_json(cl->conn, method, target, body, flags, reply) != AECS_OK)
        return report(reply);
    return EXIT_OK;
}

int cli_print_json(const json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (text == NULL) {
        fprintf(stderr, "aecs: cannot print the answer as JSON\n");
        return EXIT_USAGE;
    }
    printf("%s\n", text);
    /* Answers may hold shares: wipe this copy too. */
    aecs_cleanse(text, strlen(text));
    free(text);
    return EXIT_OK;
}

const char *cli_json_str(const json_t *obj, const char *key, const char *missing)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s != NULL ? s : missing;
}

int cli_parse_count(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    v = strtol(text, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_no_arguments(int argc, char **argv, const char *what)
{
    if (optind == argc)
        return 0;
    fprintf(stderr, "aecs: %s takes no arguments besides options ('%.60s')\n", what, argv[optind]);
    return -1;
}

int cli_check_name(const char *name, const char *option, const char *what)
{
    if (name == NULL) {
        fprintf(stderr, "aecs: %s needs %s NAME\n", what, option);
        return -1;
    }
    if (aecs_name_check(name, option) != AECS_OK) {
        cli_report_error(NULL);
        return -1;
    }
    return 0;
}
