/*
 * cmd_fetch.c - `aecs fetch`: the client library (include/aecs/client.h) as
 * a command, for the init step of an application started in a TEE (as
 * Occlum's init-ra does): attest to aecsd, get the secrets, write them to
 * files (mode 0600, atomically) or print them.
 *
 * Secrets are named by --service and --name: each --name belongs to the
 * nearest --service before it (names given before any --service belong to
 * the first one), so `--service S --name a --name b` and `--service S --name
 * a --service T --name b` both work. All of them are fetched in one round
 * (one piece of evidence); nothing is written or printed unless every one
 * was released.
 *
 * Exit codes: 0 every secret released (and written); 1 aecsd refused (a
 * secret, the request) or its identity did not pass the server policy; 2
 * usage, configuration, files, or no usable answer (unreachable servers, an
 * answer that breaks the protocol, an attester that fails).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aecs/client.h"
#include "base/codec.h"
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "crypto/secmem.h"
#include "proto/name.h"

enum { OPT_CONFIG = 1000, OPT_SERVICE, OPT_NAME, OPT_OUT, OPT_OUT_DIR, OPT_RAW };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aecs fetch [--config FILE] --service S --name N [--name N2 ...]\n"
            "                  [--service S2 --name N3 ...] [--out FILE | --out-dir DIR | "
            "--raw]\n\n"
            "Gets secrets from aecsd for the application this command runs in: checks the\n"
            "server's identity against the configuration's server_policy before sending\n"
            "anything, proves this application's identity with fresh evidence, and opens\n"
            "the secrets the server releases to it (docs/client.md). All the secrets are\n"
            "fetched in one round; nothing is written unless every one was released.\n\n"
            "  --config FILE   the client configuration (default $AECS_CONFIG): servers, TLS\n"
            "                  trust, server_policy, verifier, attester\n"
            "  --service S     the service of the --name options that follow\n"
            "  --name N        a secret of that service (repeat for several, up to %d)\n"
            "  --out FILE      write the one secret to FILE (mode 0600, atomically; a\n"
            "                  symbolic link there is refused)\n"
            "  --out-dir DIR   write each secret to DIR/NAME (mode 0600, atomically)\n"
            "  --raw           print the secret's bytes as they are (one secret only);\n"
            "                  without it, application/octet-stream secrets are printed\n"
            "                  in base64, others as text\n"
            "  -h, --help      this help\n\n"
            "Environment: AECS_CONFIG, and AECS_SERVER, AECS_CA, AECS_FINGERPRINT,\n"
            "AECS_ATTESTER over the file's values.\n\n"
            "Exit status: 0 every secret released; 1 aecsd refused a secret or the request,\n"
            "or its identity does not match server_policy; 2 usage or configuration error,\n"
            "unreadable or unwritable files, no usable answer from any server.\n",
            AECS_CLIENT_MAX_SECRETS);
}

struct request {
    aecs_client_ref refs[AECS_CLIENT_MAX_SECRETS];
    size_t count;
    const char *services[AECS_CLIENT_MAX_SECRETS]; /* in the order given */
    size_t service_names[AECS_CLIENT_MAX_SECRETS]; /* names following each --service */
    size_t service_count;
    size_t orphans; /* names before the first --service */
};

static int add_service(struct request *r, const char *s)
{
    if (r->service_count >= AECS_CLIENT_MAX_SECRETS) {
        fprintf(stderr, "aecs: fetch: more than %d --service options\n", AECS_CLIENT_MAX_SECRETS);
        return -1;
    }
    if (aecs_name_check(s, "--service") != AECS_OK) {
        cli_report_error(NULL);
        return -1;
    }
    r->services[r->service_count++] = s;
    return 0;
}

static int add_name(struct request *r, const char *n)
{
    if (r->count >= AECS_CLIENT_MAX_SECRETS) {
        fprintf(stderr, "aecs: fetch: at most %d secrets at once\n", AECS_CLIENT_MAX_SECRETS);
        return -1;
    }
    if (aecs_name_check(n, "--name") != AECS_OK) {
        cli_report_error(NULL);
        return -1;
    }
    if (r->service_count == 0) {
        r->orphans++;
    } else {
        r->refs[r->count].service = r->services[r->service_count - 1];
        r->service_names[r->service_count - 1]++;
    }
    r->refs[r->count++].name = n;
    return 0;
}

/* Pairs the names given before any --service with the first one; checks every --service is used. */
static int finish_request(struct request *r)
{
    if (r->count == 0) {
        fprintf(stderr, "aecs: fetch needs --service S --name N\n");
        return -1;
    }
    if (r->service_count == 0) {
        fprintf(stderr, "aecs: fetch: --name %.64s has no --service\n", r->refs[0].name);
        return -1;
    }
    for (size_t i = 0; i < r->orphans; i++)
        r->refs[i].service = r->services[0];
    r->service_names[0] += r->orphans;
    for (size_t i = 0; i < r->service_count; i++) {
        if (r->service_names[i] == 0) {
            fprintf(stderr, "aecs: fetch: --service %s has no --name after it\n", r->services[i]);
            return -1;
        }
    }
    for (size_t i = 0; i < r->count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->refs[i].service, r->refs[j].service) == 0 &&
                strcmp(r->refs[i].name, r->refs[j].name) == 0) {
                fprintf(stderr, "aecs: fetch: %s/%s is asked for twice\n", r->refs[i].service,
                        r->refs[i].name);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- output ---- */

/* Writes one secret to path, refusing a symbolic link or a directory there. */
static int write_secret(const char *path, const aecs_client_secret *s)
{
    struct stat st;

    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            fprintf(stderr, "aecs: %s is a symbolic link: refused (write to the real path)\n",
                    path);
            return -1;
        }
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "aecs: %s is a folder: give a file name (or --out-dir)\n", path);
            return -1;
        }
    } else if (errno != ENOENT) {
        fprintf(stderr, "aecs: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (aecs_file_write_atomic(path, aecs_client_secret_data(s), aecs_client_secret_size(s),
                               0600) != AECS_OK) {
        cli_report_error(NULL);
        return -1;
    }
    fprintf(stderr, "aecs: wrote %s/%s (%s, %zu bytes) to %s\n", aecs_client_secret_service(s),
            aecs_client_secret_name(s), aecs_client_secret_type(s), aecs_client_secret_size(s),
            path);
    return 0;
}

/* Binary secrets are printed in base64; text as it is. */
static int is_binary(const aecs_client_secret *s)
{
    return strcmp(aecs_client_secret_content_type(s), "application/octet-stream") == 0 ||
           memchr(aecs_client_secret_data(s), '\0', aecs_client_secret_size(s)) != NULL;
}

static int print_secret(const aecs_client_secret *s, int raw)
{
    const uint8_t *data = aecs_client_secret_data(s);
    size_t size = aecs_client_secret_size(s);
    char *b64;
    int ok;

    if (raw || !is_binary(s)) {
        ok = fwrite(data, 1, size, stdout) == size;
        if (!raw && size > 0 && data[size - 1] != '\n')
            ok = ok && fputc('\n', stdout) != EOF;
        return ok ? 0 : -1;
    }
    b64 = malloc(aecs_base64_encoded_size(size) + 1);
    if (b64 == NULL) {
        fprintf(stderr, "aecs: out of memory\n");
        return -1;
    }
    aecs_base64_encode(data, size, b64);
    ok = printf("%s\n", b64) >= 0;
    aecs_cleanse(b64, strlen(b64));
    free(b64);
    return ok ? 0 : -1;
}

static int output(const struct request *r, const aecs_client_result *res, const char *out,
                  const char *out_dir, int raw)
{
    char path[4096];

    if (out != NULL)
        return write_secret(out, res[0].secret);
    if (out_dir != NULL) {
        for (size_t i = 0; i < r->count; i++) {
            if ((size_t)snprintf(path, sizeof(path), "%s/%s", out_dir, r->refs[i].name) >=
                sizeof(path)) {
                fprintf(stderr, "aecs: --out-dir: path too long\n");
                return -1;
            }
            if (write_secret(path, res[i].secret) != 0)
                return -1;
        }
        return 0;
    }
    for (size_t i = 0; i < r->count; i++) {
        if (r->count > 1)
            printf("== %s/%s ==\n", r->refs[i].service, r->refs[i].name);
        if (print_secret(res[i].secret, raw) != 0) {
            fprintf(stderr, "aecs: cannot write to standard output\n");
            return -1;
        }
    }
    return fflush(stdout) == 0 ? 0 : -1;
}

/*
 * This process is about to hold secrets: no core dump, no ptrace by other
 * processes of the user, plaintexts on the secure heap when the system gives
 * one (a failure only means ordinary memory, still wiped: said at info level).
 */
static void harden(void)
{
    struct rlimit no_core = {0, 0};

    (void)setrlimit(RLIMIT_CORE, &no_core);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (aecs_secure_heap_init(0) != AECS_OK)
        log_info("secure heap: %s; secrets live on the ordinary heap (still wiped)",
                 aecs_err_last()->message);
}

/* The exit code of a failed round (docs/client.md). */
static int exit_for(aecs_client_status st)
{
    switch (st) {
    case AECS_CLIENT_E_SECRET_REFUSED:
    case AECS_CLIENT_E_REFUSED:
    case AECS_CLIENT_E_SERVER_IDENTITY:
        return EXIT_REFUSED;
    case AECS_CLIENT_OK:
        return EXIT_OK;
    case AECS_CLIENT_E_USAGE:
    case AECS_CLIENT_E_CONFIG:
    case AECS_CLIENT_E_UNAVAILABLE:
    case AECS_CLIENT_E_ATTESTATION:
    case AECS_CLIENT_E_PROTOCOL:
    case AECS_CLIENT_E_NO_MEMORY:
    case AECS_CLIENT_E_INTERNAL:
    default:
        return EXIT_USAGE;
    }
}

static void report(const aecs_client_error *e)
{
    fprintf(stderr, "aecs: fetch: %s\n", e->message[0] ? e->message : "failed");
    fprintf(stderr, "aecs: fetch: %s (check: %s%s%s)\n", aecs_client_status_string(e->status),
            e->check[0] ? e->check : "-", e->server_code[0] ? ", server code: " : "",
            e->server_code);
}

int cmd_fetch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"name", required_argument, NULL, OPT_NAME},
        {"out", required_argument, NULL, OPT_OUT},
        {"out-dir", required_argument, NULL, OPT_OUT_DIR},
        {"raw", no_argument, NULL, OPT_RAW},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct request req;
    const char *config = NULL, *out = NULL, *out_dir = NULL;
    int raw = 0, c, rc;
    aecs_client *client = NULL;
    aecs_client_error err;
    aecs_client_result res[AECS_CLIENT_MAX_SECRETS];
    aecs_client_status st;
    struct stat sb;

    memset(&req, 0, sizeof(req));
    memset(res, 0, sizeof(res));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_SERVICE:
            if (add_service(&req, optarg) != 0)
                return EXIT_USAGE;
            break;
        case OPT_NAME:
            if (add_name(&req, optarg) != 0)
                return EXIT_USAGE;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_OUT_DIR:
            out_dir = optarg;
            break;
        case OPT_RAW:
            raw = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "aecs: fetch takes no arguments besides options ('%.60s')\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (finish_request(&req) != 0)
        return EXIT_USAGE;
    if ((out != NULL) + (out_dir != NULL) + raw > 1) {
        fprintf(stderr, "aecs: fetch: --out, --out-dir and --raw do not go together\n");
        return EXIT_USAGE;
    }
    if ((out != NULL || raw) && req.count > 1) {
        fprintf(stderr, "aecs: fetch: %s is for one secret; use --out-dir DIR for several\n",
                out != NULL ? "--out" : "--raw");
        return EXIT_USAGE;
    }
    if (out != NULL && out[0] == '\0') {
        fprintf(stderr, "aecs: fetch: --out needs a file name\n");
        return EXIT_USAGE;
    }
    if (out_dir != NULL) {
        if (stat(out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "aecs: fetch: --out-dir %s is not a folder\n", out_dir);
            return EXIT_USAGE;
        }
        for (size_t i = 0; i < req.count; i++) {
            for (size_t j = 0; j < i; j++) {
                if (strcmp(req.refs[i].name, req.refs[j].name) == 0) {
                    fprintf(stderr,
                            "aecs: fetch: --out-dir: two secrets are named %s (services %s "
                            "and %s): fetch them separately\n",
                            req.refs[i].name, req.refs[j].service, req.refs[i].service);
                    return EXIT_USAGE;
                }
            }
        }
    }

    harden();
    if (config != NULL) {
        st = aecs_client_new_from_file(config, &client, &err);
    } else {
        const char *env = getenv("AECS_CONFIG");
        if (env == NULL || env[0] == '\0') {
            fprintf(stderr, "aecs: fetch: no client configuration: give --config FILE or set "
                            "AECS_CONFIG (see docs/client.md)\n");
            return EXIT_USAGE;
        }
        st = aecs_client_new_from_env(&client, &err);
    }
    if (st != AECS_CLIENT_OK) {
        report(&err);
        return EXIT_USAGE;
    }
    st = aecs_client_fetch_many(client, req.refs, req.count, res);
    if (st == AECS_CLIENT_E_SECRET_REFUSED) {
        for (size_t i = 0; i < req.count; i++) {
            if (res[i].status != AECS_CLIENT_OK)
                fprintf(stderr, "aecs: fetch: %s/%s refused: %s: %s\n", req.refs[i].service,
                        req.refs[i].name, res[i].code, res[i].reason);
        }
        fprintf(stderr, "aecs: fetch: nothing written: not every secret was released\n");
        rc = EXIT_REFUSED;
    } else if (st != AECS_CLIENT_OK) {
        report(aecs_client_last_error(client));
        rc = exit_for(st);
    } else {
        rc = output(&req, res, out, out_dir, raw) == 0 ? EXIT_OK : EXIT_USAGE;
    }
    aecs_client_results_clear(res, req.count);
    aecs_client_free(client);
    return rc;
}
