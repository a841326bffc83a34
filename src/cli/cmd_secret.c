/*
 * cmd_secret.c - `aecs secret`: a service admin's secrets on aecsd, over the
 * HTTP API of docs/api.md (src/client/conn.h).
 *
 *   create       POST   /v1/secrets (signed; the policy file's YAML as is)
 *   list         GET    /v1/services/{service}/secrets (signed)
 *   destroy      DELETE /v1/services/{service}/secrets/{name} (signed)
 *   get-public   GET    /v1/services/{service}/secrets/{name}/public
 *
 * The service comes from --service, or else from `service:` in the
 * credential file. Names are checked locally (proto/name.h) before they go
 * into a URL path.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "cli/cli.h"
#include "client/conn.h"
#include "client/cred.h"
#include "crypto/crypto.h"
#include "policy/policy.h"
#include "proto/name.h"

#define PUBLIC_PEM_MAX (64u << 10)

enum {
    OPT_CONFIG = 1000,
    OPT_JSON,
    OPT_POLICY,
    OPT_UPDATE,
    OPT_ANY_ENCLAVE,
    OPT_SERVICE,
    OPT_NAME,
    OPT_OUT,
};

static const char k_config_help[] =
    "  --config CRED    the credential file (default $AECS_CONFIG); see `aecs admin --help`\n";



/*
 * The service: --service, else the credential file's `service`. Checked as a
 * name. NULL (after a message) when there is none.
 */
static const char *pick_service(const char *option, const struct cli_client *cl, const char *what)
{
    const char *s = option != NULL ? option : cl->cred->service;

    if (s == NULL) {
        fprintf(stderr, "aecs: %s needs --service SERVICE (or `service:` in the credential file)\n",
                what);
        return NULL;
    }
    if (aecs_name_check(s, option != NULL ? "--service" : "`service`") != AECS_OK) {
        cli_report_error(NULL);
        return NULL;
    }
    return s;
}

/* Prints a JSON array of names after a label, or nothing when it is empty. */
static void print_names(const char *label, const json_t *names)
{
    size_t i;
    json_t *n;

    if (json_array_size(names) == 0)
        return;
    printf("%s", label);
    json_array_foreach(names, i, n)
        printf("%s%s", i ? ", " : " ", json_string_value(n) ? json_string_value(n) : "?");
    printf("\n");
}

/* ---- create ---- */

static void create_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs secret create --config CRED --policy FILE [--update]\n"
            "                          [--insecure-allow-any-enclave]\n\n"
            "Sends a secret policy file (YAML: the secrets, their types and who may get\n"
            "them) to aecsd, which checks it and makes the secrets. Every secret must belong\n"
            "to a service the credential's key administers; otherwise nothing is made.\n"
            "Signed by a service admin.\n\n"
            "%s"
            "  --policy FILE    the policy file (at most %u bytes), sent as is\n"
            "  --update         replace secrets that already exist (else: conflict)\n"
            "  --insecure-allow-any-enclave\n"
            "                   INSECURE: accept a policy whose secrets any enclave may get\n"
            "                   (no measurement is checked); for tests only\n"
            "  -h, --help       this help\n",
            k_config_help, AECS_POLICY_MAX_SIZE);
}

static int secret_create(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"update", no_argument, NULL, OPT_UPDATE},
        {"insecure-allow-any-enclave", no_argument, NULL, OPT_ANY_ENCLAVE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *policy = NULL;
    int update = 0, any_enclave = 0, c, rc;
    uint8_t *text = NULL;
    size_t size = 0;
    struct cli_client cl;
    struct aecs_reply r = {0};
    json_t *body = NULL;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_POLICY:
            policy = optarg;
            break;
        case OPT_UPDATE:
            update = 1;
            break;
        case OPT_ANY_ENCLAVE:
            any_enclave = 1;
            break;
        case 'h':
            create_usage(stdout);
            return EXIT_OK;
        default:
            create_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "secret create") != 0)
        return EXIT_USAGE;
    if (policy == NULL) {
        fprintf(stderr, "aecs: secret create needs --policy FILE\n");
        return EXIT_USAGE;
    }
    if (aecs_file_read(policy, AECS_POLICY_MAX_SIZE, &text, &size) != AECS_OK) {
        cli_report_error("--policy");
        return EXIT_USAGE;
    }
    /* A policy may import secret data: its text is wiped wherever it was copied. */
    body = json_pack("{s:s%, s:b, s:b}", "policy", (const char *)text, size, "update", update,
                     "insecure_allow_any_enclave", any_enclave);
    aecs_cleanse(text, size);
    free(text);
    if (body == NULL) {
        fprintf(stderr, "aecs: %s is not UTF-8 text\n", policy);
        return EXIT_USAGE;
    }
    if (any_enclave)
        fprintf(stderr, "aecs: warning: --insecure-allow-any-enclave: secrets without a "
                        "measurement check may be released to any enclave\n");
    rc = cli_client_open(config, AECS_CRED_NEED_KEY, &cl);
    if (rc != EXIT_OK)
        goto done;
    rc = cli_request(&cl, "POST", "/v1/secrets", body, AECS_REQ_SIGNED, &r);
    if (rc == EXIT_OK) {
        json_t *created = json_object_get(r.body, "created");
        json_t *updated = json_object_get(r.body, "updated");
        print_names("created:", created);
        print_names("updated:", updated);
        if (json_array_size(created) == 0 && json_array_size(updated) == 0)
            printf("no secrets created or updated\n");
    }
    aecs_reply_clear(&r);
    cli_client_close(&cl);
done:
    aecs_json_wipe(body);
    json_decref(body);
    return rc;
}

/* ---- list ---- */

static void list_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs secret list --config CRED [--service SERVICE] [--json]\n\n"
            "Lists a service's secrets (their specs, never their values). Signed by the\n"
            "service's admin or a cluster admin.\n\n"
            "%s"
            "  --service S      the service (default: `service:` in the credential file)\n"
            "  --json           print aecsd's answer as JSON\n"
            "  -h, --help       this help\n",
            k_config_help);
}

static int secret_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *service_opt = NULL, *service;
    int json = 0, c, rc;
    char target[192];
    struct cli_client cl;
    struct aecs_reply r = {0};
    json_t *secrets, *s;
    size_t i;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_SERVICE:
            service_opt = optarg;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case 'h':
            list_usage(stdout);
            return EXIT_OK;
        default:
            list_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "secret list") != 0)
        return EXIT_USAGE;
    if (service_opt != NULL && cli_check_name(service_opt, "--service", "secret list") != 0)
        return EXIT_USAGE;
    rc = cli_client_open(config, AECS_CRED_NEED_KEY, &cl);
    if (rc != EXIT_OK)
        return rc;
    service = pick_service(service_opt, &cl, "secret list");
    if (service == NULL) {
        rc = EXIT_USAGE;
        goto out;
    }
    snprintf(target, sizeof(target), "/v1/services/%s/secrets", service);
    rc = cli_request(&cl, "GET", target, NULL, AECS_REQ_SIGNED, &r);
    if (rc != EXIT_OK)
        goto out;
    if (json) {
        rc = cli_print_json(r.body);
        goto out;
    }
    secrets = json_object_get(r.body, "secrets");
    if (json_array_size(secrets) == 0) {
        printf("no secrets in service %s\n", service);
        goto out;
    }
    printf("%-32s %-28s %s\n", "SECRET", "TYPE", "SHARE");
    json_array_foreach(secrets, i, s)
    {
        printf("%-32s %-28s %s\n", cli_json_str(s, "name", "?"), cli_json_str(s, "type", "-"),
               cli_json_str(s, "share", "-"));
    }
out:
    aecs_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

/* ---- destroy ---- */

static void destroy_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs secret destroy --config CRED --name NAME [--service SERVICE]\n\n"
            "Destroys one secret: aecsd forgets it for good. Signed by the service's admin.\n\n"
            "%s"
            "  --name NAME      the secret\n"
            "  --service S      its service (default: `service:` in the credential file)\n"
            "  -h, --help       this help\n",
            k_config_help);
}

static int secret_destroy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"name", required_argument, NULL, OPT_NAME},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *service_opt = NULL, *name = NULL, *service;
    int c, rc;
    char target[256];
    struct cli_client cl;
    struct aecs_reply r = {0};

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_SERVICE:
            service_opt = optarg;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case 'h':
            destroy_usage(stdout);
            return EXIT_OK;
        default:
            destroy_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "secret destroy") != 0 ||
        cli_check_name(name, "--name", "secret destroy") != 0 ||
        (service_opt != NULL && cli_check_name(service_opt, "--service", "secret destroy") != 0))
        return EXIT_USAGE;
    rc = cli_client_open(config, AECS_CRED_NEED_KEY, &cl);
    if (rc != EXIT_OK)
        return rc;
    service = pick_service(service_opt, &cl, "secret destroy");
    if (service == NULL) {
        rc = EXIT_USAGE;
        goto out;
    }
    snprintf(target, sizeof(target), "/v1/services/%s/secrets/%s", service, name);
    rc = cli_request(&cl, "DELETE", target, NULL, AECS_REQ_SIGNED, &r);
    if (rc == EXIT_OK)
        printf("destroyed secret %s of service %s\n", cli_json_str(r.body, "name", name),
               cli_json_str(r.body, "service", service));
out:
    aecs_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

/* ---- get-public ---- */

static void public_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs secret get-public --config CRED --service SERVICE --name NAME\n"
            "                              [--out FILE]\n\n"
            "Prints the public half of a secret whose policy says `share: public` (a public\n"
            "key or certificate, PEM), or writes it to FILE. Needs no admin key.\n\n"
            "%s"
            "  --service S      the service (default: `service:` in the credential file)\n"
            "  --name NAME      the secret\n"
            "  --out FILE       write the PEM to FILE (mode 0644) instead of printing it\n"
            "  -h, --help       this help\n",
            k_config_help);
}

static int secret_get_public(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"name", required_argument, NULL, OPT_NAME},
        {"out", required_argument, NULL, OPT_OUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *service_opt = NULL, *name = NULL, *out_path = NULL, *service;
    const char *pem;
    int c, rc;
    char target[256];
    struct cli_client cl;
    struct aecs_reply r = {0};

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_SERVICE:
            service_opt = optarg;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_OUT:
            out_path = optarg;
            break;
        case 'h':
            public_usage(stdout);
            return EXIT_OK;
        default:
            public_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "secret get-public") != 0 ||
        cli_check_name(name, "--name", "secret get-public") != 0 ||
        (service_opt != NULL && cli_check_name(service_opt, "--service", "secret get-public") != 0))
        return EXIT_USAGE;
    rc = cli_client_open(config, 0, &cl);
    if (rc != EXIT_OK)
        return rc;
    service = pick_service(service_opt, &cl, "secret get-public");
    if (service == NULL) {
        rc = EXIT_USAGE;
        goto out;
    }
    snprintf(target, sizeof(target), "/v1/services/%s/secrets/%s/public", service, name);
    rc = cli_request(&cl, "GET", target, NULL, 0, &r);
    if (rc != EXIT_OK)
        goto out;
    pem = json_string_value(json_object_get(r.body, "public"));
    if (pem == NULL || strncmp(pem, "-----BEGIN ", 11) != 0 || strlen(pem) > PUBLIC_PEM_MAX) {
        fprintf(stderr, "aecs: %s answered without a PEM `public`\n", aecs_conn_server(cl.conn));
        rc = EXIT_USAGE;
        goto out;
    }
    if (out_path == NULL) {
        fputs(pem, stdout);
        if (pem[0] != '\0' && pem[strlen(pem) - 1] != '\n')
            fputc('\n', stdout);
        goto out;
    }
    if (aecs_file_write_atomic(out_path, pem, strlen(pem), 0644) != AECS_OK) {
        cli_report_error("--out");
        rc = EXIT_USAGE;
        goto out;
    }
    printf("wrote %s: the public part of %s/%s (%s)\n", out_path, service, name,
           cli_json_str(r.body, "type", "?"));
out:
    aecs_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

static const struct cli_command k_secret_commands[] = {
    {"create", secret_create, "send a policy file: make (or --update) its secrets"},
    {"list", secret_list, "list a service's secrets"},
    {"destroy", secret_destroy, "destroy one secret"},
    {"get-public", secret_get_public, "the public half of a `share: public` secret"},
    {NULL, NULL, NULL},
};

int cmd_secret(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: aecs secret COMMAND --config CRED [ARGS...]\n\n"
               "A service's secrets on aecsd, for its service admin. The credential file\n"
               "(see `aecs admin --help`) may name a default `service:`.\n\n"
               "Exit status: 0 done, 1 refused by aecsd (its message and error code are\n"
               "printed), 2 bad usage, unreadable files, or no usable answer (network, TLS).\n\n"
               "Commands:\n");
        cli_print_table(stdout, "aecs secret", k_secret_commands);
        return EXIT_OK;
    }
    optind = 0;
    return cli_dispatch("aecs secret", k_secret_commands, argc - 1, argv + 1);
}
