/*
 * cmd_admin.c - `aecs admin`: running aecsd from the command line, over the
 * HTTP API of docs/api.md (src/client/conn.h).
 *
 *   init       POST /v1/admin/init (signed; the key becomes the cluster admin)
 *   unseal     POST /v1/admin/unseal (alias: provision)
 *   status     GET  /v1/status
 *   service    register / list / unregister   (/v1/admin/services, signed)
 *   audit      list / verify                  (/v1/admin/audit, signed)
 *
 * Each subcommand parses its own options, loads the credential file
 * (client/cred.h), sends one request (audit list: one per page), and prints
 * plain text or, with --json, JSON. Shares are secrets: init prints them
 * once, unseal never does, and both wipe every copy they hold.
 *
 * init and unseal carry shares, so they first check the server's identity
 * against the credential file's server_policy, exactly as the client
 * library does, and the shares cross the network only sealed to that
 * identity key (client/admin.h): a host that holds aecsd's TLS key and
 * terminates its connections sees envelopes it cannot open. Without a
 * server_policy they refuse, unless --insecure-skip-server-attestation.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "cli/cli.h"
#include "attest/verifier.h"
#include "client/admin.h"
#include "client/client_config.h"
#include "client/conn.h"
#include "client/cred.h"
#include "client/identity.h"
#include "crypto/crypto.h"
#include "crypto/sigkey.h"
#include "crypto/tls_pin.h"
#include "keystore/shares.h"
#include "proto/name.h"

#define PUBKEY_FILE_MAX (64u << 10)
/* A share line read from standard input: a share is 80 to 82 characters. */
#define SHARE_LINE_MAX 1024
/* audit list follows `next` at most this many pages. */
#define AUDIT_MAX_PAGES 100000

enum {
    OPT_CONFIG = 1000,
    OPT_JSON,
    OPT_SHARES,
    OPT_THRESHOLD,
    OPT_NAME,
    OPT_PUBKEY,
    OPT_FORCE,
    OPT_FROM,
    OPT_LIMIT,
    OPT_JOIN_POLICY,
    OPT_RESET,
    OPT_INSECURE_SKIP_ATTESTATION,
};

static const char k_config_help[] =
    "  --config CRED   the credential file (default $AECS_CONFIG); see `aecs admin --help`\n";

static const char k_insecure_help[] =
    "  --insecure-skip-server-attestation\n"
    "                  INSECURE: do not check the server's identity against the credential\n"
    "                  file's server_policy (tests only); the shares are still sealed to the\n"
    "                  key the server presents, but nothing says who holds it\n";

/* ---- the server's identity, before a share is sent or received ---- */

/*
 * Prints why a raw request failed and returns its exit code: 1 when the
 * server answered with an error, 2 when no usable answer came.
 */
static int report_raw(const struct aecs_raw_reply *r)
{
    return cli_report_request_failure(r->status, r->code);
}

/*
 * Sets up adm for the command `what` on cl's server and checks the server's
 * identity (client/admin.h): with the credential file's server_policy and
 * verifier, or not at all when `insecure` (and says so). *verifier gets the
 * verifier the caller frees. Returns EXIT_OK, or an exit code after printing
 * why: 2 without a server_policy, no answer or a bad file; 1 when the
 * server refused or its identity does not pass.
 */
static int admin_identity(struct cli_client *cl, int insecure, const char *what,
                          struct aecs_admin *adm, struct aecs_verifier **verifier)
{
    const struct aecs_server_trust *trust = cl->cred->trust;
    struct aecs_raw_reply reply;
    int rc;

    *verifier = NULL;
    memset(adm, 0, sizeof(*adm));
    memset(&reply, 0, sizeof(reply));
    adm->t.ctx = cl->conn;
    adm->t.request = aecs_admin_conn_request;
    adm->url = aecs_conn_server(cl->conn);
    adm->source = cl->cred->source;
    if (trust != NULL) {
        adm->service_id = trust->service_id;
        adm->accept_insecure = trust->accept_insecure_server;
    }
    if (!insecure && (trust == NULL || !trust->has_policy)) {
        fprintf(
            stderr,
            "aecs: %s has no `server_policy`: admin %s sends nothing to a server whose "
            "identity it cannot check. Add the measurements of the aecsd to trust:\n"
            "  server_policy:\n"
            "    enclaveMatchAnyRules:\n"
            "    - {mrenclave: <64 hex digits>}     # or mrsigner, mrtd (TDX), measurement (SNP)\n"
            "and, if needed, `verifier:` (collateral_dir, pccs_url, ...; docs/cli.md)\n",
            cl->cred->source, what);
        return EXIT_USAGE;
    }
    if (insecure) {
        fprintf(stderr,
                "aecs: WARNING: --insecure-skip-server-attestation: the identity of %s "
                "is NOT checked: the shares are sealed to whatever key it presents, and "
                "whoever holds that key (a host that answers in aecsd's place) can read "
                "them\n",
                adm->url);
    } else {
        if (aecs_server_trust_verifier(trust, cl->cred->source, NULL, NULL, verifier) != AECS_OK) {
            cli_report_error("verifier");
            return EXIT_USAGE;
        }
        adm->verifier = *verifier;
        adm->rules = &trust->server_rules;
    }
    rc = aecs_admin_identity(adm, &reply);
    if (rc == AECS_OK) {
        aecs_raw_reply_clear(&reply);
        return EXIT_OK;
    }
    if (adm->check != NULL && strcmp(adm->check, "identity") != 0) {
        cli_report_error(NULL);
        fprintf(stderr,
                "aecs: admin %s: the server's identity did not pass (check: %s): "
                "nothing was sent\n",
                what, adm->check);
        rc = EXIT_REFUSED;
    } else {
        rc = report_raw(&reply);
    }
    aecs_raw_reply_clear(&reply);
    return rc;
}

/* ---- init ---- */

static void init_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs admin init --config CRED --shares N --threshold K\n"
            "                       [--join-policy FILE] [--json]\n"
            "                       [--insecure-skip-server-attestation]\n\n"
            "Initializes a new aecsd: it makes the root key of its key store, splits it\n"
            "into N shares of which any K unseal it, and registers the credential file's\n"
            "key as the first cluster admin. The request is signed by that key; aecsd\n"
            "refuses a second init (conflict).\n\n"
            "The shares are printed once and aecsd does not keep them: give each to a\n"
            "different person, or store each in a different place. K of them are needed\n"
            "every time aecsd starts (`aecs admin unseal`).\n\n"
            "Before anything is sent, aecsd's identity (its TEE evidence) is checked against\n"
            "the credential file's server_policy. The shares come back sealed to a key this\n"
            "command makes, in an answer signed by that identity, so whoever terminates TLS\n"
            "in aecsd's place cannot read them.\n\n"
            "%s"
            "  --shares N      how many shares to make (%d to %d)\n"
            "  --threshold K   how many unseal aecsd (%d to N)\n"
            "  --join-policy FILE\n"
            "                  the replicas that may join the cluster by attestation: a YAML\n"
            "                  file `join_policy: {enclaveMatchAnyRules: [...]}` with the rule\n"
            "                  fields of secret policies (default: the measurements of the\n"
            "                  replica that answers)\n"
            "  --json          print exactly {\"shares\": [...], \"threshold\": K}\n"
            "%s"
            "  -h, --help      this help\n",
            k_config_help, AECS_SHARES_MIN_THRESHOLD, AECS_SHARES_MAX, AECS_SHARES_MIN_THRESHOLD,
            k_insecure_help);
}

static int admin_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"shares", required_argument, NULL, OPT_SHARES},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"join-policy", required_argument, NULL, OPT_JOIN_POLICY},
        {"json", no_argument, NULL, OPT_JSON},
        {"insecure-skip-server-attestation", no_argument, NULL, OPT_INSECURE_SKIP_ATTESTATION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *join_policy_file = NULL;
    uint8_t *join_policy = NULL;
    size_t join_policy_size = 0;
    const char *shares_text = NULL, *threshold_text = NULL;
    char service_id[AECS_SERVICE_ID_HEX + 1];
    long n = 0, k = 0;
    int json = 0, insecure = 0, c, rc;
    struct cli_client cl;
    struct aecs_admin adm;
    struct aecs_verifier *verifier = NULL;
    struct aecs_raw_reply r;
    struct aecs_admin_init_params params;
    const struct aecs_sigkey *key = NULL;
    char key_id[AECS_SIGKEY_ID_HEX + 1];
    char *pem = NULL, **shares = NULL;
    json_t *out = NULL;

    memset(&adm, 0, sizeof(adm));
    memset(&r, 0, sizeof(r));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_SHARES:
            shares_text = optarg;
            break;
        case OPT_THRESHOLD:
            threshold_text = optarg;
            break;
        case OPT_JOIN_POLICY:
            join_policy_file = optarg;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case OPT_INSECURE_SKIP_ATTESTATION:
            insecure = 1;
            break;
        case 'h':
            init_usage(stdout);
            return EXIT_OK;
        default:
            init_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "admin init") != 0)
        return EXIT_USAGE;
    if (shares_text == NULL || threshold_text == NULL) {
        fprintf(stderr, "aecs: admin init needs --shares N and --threshold K\n");
        return EXIT_USAGE;
    }
    if (cli_parse_count(shares_text, AECS_SHARES_MIN_THRESHOLD, AECS_SHARES_MAX, &n) != 0) {
        fprintf(stderr, "aecs: --shares must be a number from %d to %d\n",
                AECS_SHARES_MIN_THRESHOLD, AECS_SHARES_MAX);
        return EXIT_USAGE;
    }
    if (cli_parse_count(threshold_text, AECS_SHARES_MIN_THRESHOLD, n, &k) != 0) {
        fprintf(stderr, "aecs: --threshold must be a number from %d to --shares (%ld)\n",
                AECS_SHARES_MIN_THRESHOLD, n);
        return EXIT_USAGE;
    }
    if (join_policy_file != NULL &&
        aecs_file_read(join_policy_file, 1u << 20, &join_policy, &join_policy_size) != AECS_OK) {
        cli_report_error(join_policy_file);
        return EXIT_USAGE;
    }
    rc = cli_client_open(config, AECS_CRED_NEED_KEY, &cl);
    if (rc != EXIT_OK) {
        free(join_policy);
        return rc;
    }
    if (aecs_conn_key(cl.conn, &key) != AECS_OK || aecs_sigkey_public_pem(key, &pem) != AECS_OK ||
        aecs_sigkey_id(key, key_id) != AECS_OK) {
        cli_report_error(NULL);
        rc = EXIT_USAGE;
        goto out;
    }
    rc = admin_identity(&cl, insecure, "init", &adm, &verifier);
    if (rc != EXIT_OK)
        goto out;
    memset(&params, 0, sizeof(params));
    params.pubkey_pem = pem;
    params.key_id = key_id;
    params.shares = (unsigned)n;
    params.threshold = (unsigned)k;
    params.join_policy = (const char *)join_policy;
    params.join_policy_size = join_policy_size;
    if (aecs_admin_init(&adm, &params, &r, &shares, service_id) != AECS_OK) {
        if (r.status < 200 || r.status >= 300) {
            rc = report_raw(&r);
            goto out;
        }
        /* aecsd is initialized now; its answer cannot be trusted to hold the shares. */
        cli_report_error(NULL);
        fprintf(stderr,
                "aecs: %s answered init without %ld usable shares of threshold %ld: the service "
                "may be initialized without usable shares; check `aecs admin status`\n",
                aecs_conn_server(cl.conn), n, k);
        rc = EXIT_USAGE;
        goto out;
    }
    if (json) {
        json_t *arr = json_array();
        for (long i = 0; arr != NULL && i < n; i++)
            json_array_append_new(arr, json_string(shares[i]));
        out =
            arr != NULL ? json_pack("{s:o, s:i}", "shares", arr, "threshold", (json_int_t)k) : NULL;
        rc = out != NULL ? cli_print_json(out) : EXIT_USAGE;
        goto out;
    }
    printf("aecsd at %s is initialized (service id %s)\n", aecs_conn_server(cl.conn), service_id);
    printf("its root key is split into %ld shares; any %ld of them unseal it.\n\n", n, k);
    printf("Store each share separately: give each to a different person, or keep each in a\n"
           "different place. They are shown only this once and aecsd does not keep them;\n"
           "%ld of them are needed every time aecsd starts (`aecs admin unseal`).\n\n",
           k);
    for (long i = 0; i < n; i++)
        printf("share %ld: %s\n", i + 1, shares[i]);
out:
    if (out != NULL) {
        aecs_json_wipe(out);
        json_decref(out);
    }
    aecs_shares_free(shares, (unsigned)n);
    aecs_admin_clear(&adm);
    aecs_verifier_free(verifier);
    free(pem);
    free(join_policy);
    aecs_raw_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

/* ---- unseal ---- */

static void unseal_usage(FILE *out, const char *name)
{
    fprintf(out,
            "usage: aecs admin %s --config CRED SHARE\n"
            "       aecs admin %s --config CRED -      (the share from standard input)\n"
            "       aecs admin %s --config CRED --reset SHARE|-\n"
            "       [--insecure-skip-server-attestation]\n\n"
            "Gives aecsd one share of its root key (made by `aecs admin init`). Once it has\n"
            "the threshold of them it unseals and starts serving; until then only status,\n"
            "health and unseal answer. Each share holder runs this once. `aecs admin\n"
            "provision` is the same command.\n\n"
            "Replicas on one etcd store share their progress: a share given to one sealed\n"
            "replica is forwarded, encrypted, to the other sealed replicas of the same\n"
            "enclave, so K shares given to any of them unseal them all.\n\n"
            "--reset drops the shares given so far (on every replica of the store). It is\n"
            "sent to a sealed replica (a working one refuses it) and carries one of the\n"
            "service's shares, sealed like an unseal, to prove that you hold one; that\n"
            "share is not counted: give it again afterwards.\n\n"
            "A share given as an argument is visible to other users of this machine (ps,\n"
            "/proc) while the command runs: prefer '-' and paste it, or pipe it in from\n"
            "where it is stored. The share is checked locally first (its checksum), never\n"
            "printed, and needs no admin key (the credential file's `key` is not used).\n\n"
            "Before the share is sent, aecsd's identity (its TEE evidence) is checked against\n"
            "the credential file's server_policy, and the share travels sealed to that\n"
            "identity's key: only that aecsd process can open it, not whoever terminates TLS.\n\n"
            "%s"
            "  --reset         start over: drop the shares given so far, proven by SHARE\n"
            "%s"
            "  -h, --help      this help\n",
            name, name, name, k_config_help, k_insecure_help);
}

/* Reads one line from standard input into buf (without the line end). 0, or -1. */
static int read_share_line(char *buf, size_t size)
{
    size_t len;

    if (fgets(buf, (int)size, stdin) == NULL) {
        fprintf(stderr, "aecs: no share on standard input\n");
        return -1;
    }
    len = strlen(buf);
    if (len == size - 1 && buf[len - 1] != '\n') {
        aecs_cleanse(buf, size);
        fprintf(stderr, "aecs: the line on standard input is too long to be a share\n");
        return -1;
    }
    return 0;
}

static int admin_unseal(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"reset", no_argument, NULL, OPT_RESET},
        {"insecure-skip-server-attestation", no_argument, NULL, OPT_INSECURE_SKIP_ATTESTATION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *service_id = NULL;
    int reset = 0, insecure = 0;
    unsigned share_index;
    char line[SHARE_LINE_MAX];
    const char *text;
    struct aecs_share parsed;
    struct cli_client cl;
    struct aecs_admin adm;
    struct aecs_verifier *verifier = NULL;
    struct aecs_raw_reply r;
    json_t *answer = NULL;
    int c, rc;

    memset(line, 0, sizeof(line));
    memset(&adm, 0, sizeof(adm));
    memset(&r, 0, sizeof(r));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_RESET:
            reset = 1;
            break;
        case OPT_INSECURE_SKIP_ATTESTATION:
            insecure = 1;
            break;
        case 'h':
            unseal_usage(stdout, argv[0]);
            return EXIT_OK;
        default:
            unseal_usage(stderr, argv[0]);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr,
                reset ? "aecs: admin unseal --reset needs exactly one SHARE (or '-' to read it "
                        "from standard input): a reset proves that you hold one\n"
                      : "aecs: admin unseal needs exactly one SHARE (or '-' to read it from "
                        "standard input)\n");
        return EXIT_USAGE;
    }
    if (strcmp(argv[optind], "-") == 0) {
        if (read_share_line(line, sizeof(line)) != 0)
            return EXIT_USAGE;
    } else {
        size_t len = strlen(argv[optind]);
        if (len >= sizeof(line)) {
            fprintf(stderr, "aecs: the argument is too long to be a share\n");
            return EXIT_USAGE;
        }
        memcpy(line, argv[optind], len + 1);
        /* Out of /proc/PID/cmdline from now on (it was visible until here). */
        aecs_cleanse(argv[optind], len);
    }
    /* Trim the line end and blanks: the share is one word. */
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                       line[len - 1] == '\t'))
        line[--len] = '\0';
    text = line;
    while (*text == ' ' || *text == '\t')
        text++;
    if (aecs_share_parse(text, 1, &parsed) != AECS_OK) {
        aecs_cleanse(&parsed, sizeof(parsed));
        aecs_cleanse(line, sizeof(line));
        fprintf(stderr, "aecs: not a valid share: %s\n", aecs_err_last()->message);
        return EXIT_USAGE;
    }
    share_index = parsed.index;
    aecs_cleanse(&parsed, sizeof(parsed));
    rc = cli_client_open(config, 0, &cl);
    if (rc != EXIT_OK) {
        aecs_cleanse(line, sizeof(line));
        return rc;
    }
    rc = admin_identity(&cl, insecure, "unseal", &adm, &verifier);
    if (rc != EXIT_OK)
        goto out;
    if (aecs_conn_service_id(cl.conn, &service_id) != AECS_OK) {
        cli_report_error(NULL);
        rc = EXIT_USAGE;
        goto out;
    }
    if (service_id[0] == '\0') {
        fprintf(stderr, "aecs: %s is not initialized (it has no service id yet): run `aecs admin "
                        "init`\n", aecs_conn_server(cl.conn));
        rc = EXIT_USAGE;
        goto out;
    }
    if ((reset ? aecs_admin_unseal_reset(&adm, service_id, text, &r)
               : aecs_admin_unseal(&adm, service_id, text, &r)) != AECS_OK) {
        rc = report_raw(&r);
        goto out;
    }
    answer = json_loadb(r.body != NULL ? r.body : "", r.body_size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(answer)) {
        fprintf(stderr, "aecs: %s answered unseal with something that is not a JSON object\n",
                aecs_conn_server(cl.conn));
        rc = EXIT_USAGE;
        goto out;
    }
    const char *state = cli_json_str(answer, "state", "?");
    if (reset)
        printf("unseal progress reset (proven with share %u; give it again to count it); ",
               share_index);
    printf("%lld of %lld shares in; %s%s\n",
           (long long)json_integer_value(json_object_get(answer, "received")),
           (long long)json_integer_value(json_object_get(answer, "threshold")), state,
           strcmp(state, "working") == 0 ? " (unsealed)" : "");
out:
    aecs_cleanse(line, sizeof(line));
    json_decref(answer);
    aecs_admin_clear(&adm);
    aecs_verifier_free(verifier);
    aecs_raw_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

/* ---- status ---- */

static void status_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs admin status --config CRED [--json]\n\n"
            "Shows aecsd's state (uninitialized, sealed or working), version, service id,\n"
            "unseal progress, counts, the insecure options it runs with, and the\n"
            "fingerprint of the TLS certificate it presented (what `fingerprint:` in a\n"
            "credential file pins). Needs no admin key.\n\n"
            "%s"
            "  --json          print aecsd's answer as JSON\n"
            "  -h, --help      this help\n",
            k_config_help);
}

static void print_status(struct cli_client *cl, const json_t *st)
{
    const json_t *unseal = json_object_get(st, "unseal");
    const json_t *counts = json_object_get(st, "counts");
    const json_t *insecure = json_object_get(st, "insecure");
    const json_t *item;
    size_t i;
    uint8_t fp[AECS_TLS_FINGERPRINT_SIZE];
    char fp_text[AECS_TLS_FINGERPRINT_TEXT];

    printf("server:      %s\n", aecs_conn_server(cl->conn));
    printf("state:       %s\n", cli_json_str(st, "state", "?"));
    printf("version:     %s\n", cli_json_str(st, "version", "?"));
    /* Empty before the init: the id is derived from the root key the init makes. */
    printf("service id:  %s\n", strcmp(cli_json_str(st, "id", "?"), "") != 0
                                     ? cli_json_str(st, "id", "?")
                                     : "none (not initialized)");
    printf("store:       %s\n", cli_json_str(st, "store", "?"));
    if (json_is_object(unseal))
        printf("unseal:      %lld of %lld shares in%s\n",
               (long long)json_integer_value(json_object_get(unseal, "received")),
               (long long)json_integer_value(json_object_get(unseal, "threshold")),
               json_is_true(json_object_get(unseal, "shared"))
                   ? " (progress shared with the other replicas)"
                   : "");
    if (json_is_object(counts))
        printf("counts:      %lld admins, %lld services, %lld secrets\n",
               (long long)json_integer_value(json_object_get(counts, "admins")),
               (long long)json_integer_value(json_object_get(counts, "services")),
               (long long)json_integer_value(json_object_get(counts, "secrets")));
    if (json_is_integer(json_object_get(st, "generation")))
        printf("generation:  %lld\n",
               (long long)json_integer_value(json_object_get(st, "generation")));
    printf("insecure:    ");
    if (json_array_size(insecure) == 0)
        printf("none");
    json_array_foreach(insecure, i, item)
        printf("%s%s", i ? ", " : "", json_string_value(item) ? json_string_value(item) : "?");
    printf("\n");
    if (aecs_conn_peer_fingerprint(cl->conn, fp) == AECS_OK) {
        aecs_tls_fingerprint_format(fp, fp_text);
        printf("certificate: SHA-256 %s\n", fp_text);
    }
    if (cl->cred->pinned)
        printf("trust:       pinned by `fingerprint` in %s\n", cl->cred->source);
    else
        printf("trust:       CA %s (host name checked)\n", cl->cred->ca);
}

static int admin_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int json = 0, c, rc;
    struct cli_client cl;
    struct aecs_reply r = {0};

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case 'h':
            status_usage(stdout);
            return EXIT_OK;
        default:
            status_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "admin status") != 0)
        return EXIT_USAGE;
    rc = cli_client_open(config, 0, &cl);
    if (rc != EXIT_OK)
        return rc;
    rc = cli_request(&cl, "GET", "/v1/status", NULL, 0, &r);
    if (rc == EXIT_OK) {
        if (json)
            rc = cli_print_json(r.body);
        else
            print_status(&cl, r.body);
    }
    aecs_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

/* ---- service ---- */

static void register_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs admin service register --config CRED --name SERVICE --pubkey FILE\n\n"
            "Registers a service and its admin's public key (made by `aecs keygen`, the\n"
            "NAME.pub.pem file): that key may then create and destroy the service's secrets.\n"
            "Signed by a cluster admin.\n\n"
            "%s"
            "  --name SERVICE  1 to 64 characters of A-Z a-z 0-9 . _ -, not starting with '.'\n"
            "  --pubkey FILE   the service admin's public key (PEM, ECDSA P-256)\n"
            "  -h, --help      this help\n",
            k_config_help);
}

static int service_register(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"name", required_argument, NULL, OPT_NAME},
        {"pubkey", required_argument, NULL, OPT_PUBKEY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *name = NULL, *pubkey = NULL;
    uint8_t *pem = NULL;
    size_t pem_size = 0;
    struct aecs_sigkey *key = NULL;
    char id[AECS_SIGKEY_ID_HEX + 1];
    struct cli_client cl;
    struct aecs_reply r = {0};
    json_t *body = NULL;
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_PUBKEY:
            pubkey = optarg;
            break;
        case 'h':
            register_usage(stdout);
            return EXIT_OK;
        default:
            register_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "admin service register") != 0 ||
        cli_check_name(name, "--name", "admin service register") != 0)
        return EXIT_USAGE;
    if (pubkey == NULL) {
        fprintf(stderr, "aecs: admin service register needs --pubkey FILE (made by `aecs "
                        "keygen`)\n");
        return EXIT_USAGE;
    }
    if (aecs_file_read(pubkey, PUBKEY_FILE_MAX, &pem, &pem_size) != AECS_OK) {
        cli_report_error("--pubkey");
        return EXIT_USAGE;
    }
    if (aecs_sigkey_parse_public((const char *)pem, pem_size, &key) != AECS_OK ||
        aecs_sigkey_id(key, id) != AECS_OK) {
        cli_report_error(pubkey);
        aecs_sigkey_free(key);
        free(pem);
        return EXIT_USAGE;
    }
    aecs_sigkey_free(key);
    rc = cli_client_open(config, AECS_CRED_NEED_KEY, &cl);
    if (rc != EXIT_OK) {
        free(pem);
        return rc;
    }
    body = json_pack("{s:s, s:s%}", "name", name, "pubkey", (const char *)pem, pem_size);
    if (body == NULL) {
        fprintf(stderr, "aecs: --pubkey: not text\n");
        rc = EXIT_USAGE;
        goto out;
    }
    rc = cli_request(&cl, "POST", "/v1/admin/services", body, AECS_REQ_SIGNED, &r);
    if (rc != EXIT_OK)
        goto out;
    const char *got = cli_json_str(r.body, "key_id", "");
    printf("registered service %s with admin key %s\n", cli_json_str(r.body, "name", name), id);
    if (strcmp(got, id) != 0)
        fprintf(stderr, "aecs: warning: aecsd names the key %.64s, not %s\n", got, id);
out:
    json_decref(body);
    free(pem);
    aecs_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

static void list_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs admin service list --config CRED [--json]\n\n"
            "Lists the registered services: name, number of secrets, when it was\n"
            "registered, and its admin's key id. Signed by a cluster admin.\n\n"
            "%s"
            "  --json          print aecsd's answer as JSON\n"
            "  -h, --help      this help\n",
            k_config_help);
}

static int service_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int json = 0, c, rc;
    struct cli_client cl;
    struct aecs_reply r = {0};
    json_t *services, *s;
    size_t i;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
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
    if (cli_no_arguments(argc, argv, "admin service list") != 0)
        return EXIT_USAGE;
    rc = cli_client_open(config, AECS_CRED_NEED_KEY, &cl);
    if (rc != EXIT_OK)
        return rc;
    rc = cli_request(&cl, "GET", "/v1/admin/services", NULL, AECS_REQ_SIGNED, &r);
    if (rc != EXIT_OK)
        goto out;
    if (json) {
        rc = cli_print_json(r.body);
        goto out;
    }
    services = json_object_get(r.body, "services");
    if (json_array_size(services) == 0) {
        printf("no services\n");
        goto out;
    }
    printf("%-24s %7s  %-20s  %s\n", "SERVICE", "SECRETS", "CREATED", "ADMIN KEY ID");
    json_array_foreach(services, i, s)
    {
        printf("%-24s %7lld  %-20s  %s\n", cli_json_str(s, "name", "?"),
               (long long)json_integer_value(json_object_get(s, "secrets")),
               cli_json_str(s, "created", "-"), cli_json_str(s, "key_id", "?"));
    }
out:
    aecs_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

static void unregister_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs admin service unregister --config CRED --name SERVICE [--force]\n\n"
            "Removes a service and its admin key. aecsd refuses (conflict) while the\n"
            "service has secrets, unless --force, which destroys them too. Signed by a\n"
            "cluster admin.\n\n"
            "%s"
            "  --name SERVICE  the service\n"
            "  --force         destroy the service's secrets as well\n"
            "  -h, --help      this help\n",
            k_config_help);
}

static int service_unregister(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"name", required_argument, NULL, OPT_NAME},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *name = NULL;
    int force = 0, c, rc;
    char target[160];
    struct cli_client cl;
    struct aecs_reply r = {0};

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_FORCE:
            force = 1;
            break;
        case 'h':
            unregister_usage(stdout);
            return EXIT_OK;
        default:
            unregister_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "admin service unregister") != 0 ||
        cli_check_name(name, "--name", "admin service unregister") != 0)
        return EXIT_USAGE;
    snprintf(target, sizeof(target), "/v1/admin/services/%s%s", name, force ? "?force=1" : "");
    rc = cli_client_open(config, AECS_CRED_NEED_KEY, &cl);
    if (rc != EXIT_OK)
        return rc;
    rc = cli_request(&cl, "DELETE", target, NULL, AECS_REQ_SIGNED, &r);
    if (rc == EXIT_OK)
        printf("unregistered service %s (%lld secrets destroyed)\n",
               cli_json_str(r.body, "name", name),
               (long long)json_integer_value(json_object_get(r.body, "secrets_destroyed")));
    aecs_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

static const struct cli_command k_service_commands[] = {
    {"register", service_register, "register a service and its admin's public key"},
    {"list", service_list, "list the services"},
    {"unregister", service_unregister, "remove a service (--force: and its secrets)"},
    {NULL, NULL, NULL},
};

static int admin_service(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: aecs admin service COMMAND [ARGS...]\n\n"
               "The services of aecsd and their admin keys (cluster admins only).\n\n"
               "Commands:\n");
        cli_print_table(stdout, "aecs admin service", k_service_commands);
        return EXIT_OK;
    }
    optind = 0;
    return cli_dispatch("aecs admin service", k_service_commands, argc - 1, argv + 1);
}

/* ---- audit ---- */

static void audit_list_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs admin audit list --config CRED [--from SEQ] [--limit N] [--json]\n\n"
            "Prints aecsd's audit log, one entry a line (its fields as name=value). Without\n"
            "--limit it follows the log to its end. Signed by a cluster admin.\n\n"
            "%s"
            "  --from SEQ      start at entry SEQ\n"
            "  --limit N       one page of at most N entries; the next SEQ is printed\n"
            "  --json          print {\"entries\": [...], \"next\": SEQ or null}\n"
            "  -h, --help      this help\n",
            k_config_help);
}

/* One audit entry as one line: its members as name=value, nested values as compact JSON. */
static void print_entry(const json_t *entry)
{
    const char *k;
    json_t *v;
    int first = 1;

    if (!json_is_object(entry)) {
        char *text = json_dumps(entry, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s\n", text != NULL ? text : "?");
        free(text);
        return;
    }
    json_object_foreach((json_t *)entry, k, v)
    {
        printf("%s%s=", first ? "" : "  ", k);
        first = 0;
        if (json_is_string(v)) {
            printf("%s", json_string_value(v));
        } else {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("%s", text != NULL ? text : "?");
            free(text);
        }
    }
    printf("\n");
}

static int audit_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"from", required_argument, NULL, OPT_FROM},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    long from = -1, limit = -1;
    int json = 0, c, rc;
    struct cli_client cl;
    struct aecs_reply r = {0};
    json_t *all = NULL, *next = NULL;
    char target[96];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_FROM:
            if (cli_parse_count(optarg, 0, 0x7fffffffL, &from) != 0) {
                fprintf(stderr, "aecs: --from must be an entry number\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_LIMIT:
            if (cli_parse_count(optarg, 1, 100000, &limit) != 0) {
                fprintf(stderr, "aecs: --limit must be a number from 1 to 100000\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_JSON:
            json = 1;
            break;
        case 'h':
            audit_list_usage(stdout);
            return EXIT_OK;
        default:
            audit_list_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "admin audit list") != 0)
        return EXIT_USAGE;
    rc = cli_client_open(config, AECS_CRED_NEED_KEY, &cl);
    if (rc != EXIT_OK)
        return rc;
    all = json_array();
    if (all == NULL) {
        rc = EXIT_USAGE;
        goto out;
    }
    for (long page = 0; page < AUDIT_MAX_PAGES; page++) {
        int n = snprintf(target, sizeof(target), "/v1/admin/audit");
        const char *sep = "?";
        if (from >= 0) {
            n += snprintf(target + n, sizeof(target) - (size_t)n, "%sfrom=%ld", sep, from);
            sep = "&";
        }
        if (limit > 0)
            snprintf(target + n, sizeof(target) - (size_t)n, "%slimit=%ld", sep, limit);
        aecs_reply_clear(&r);
        rc = cli_request(&cl, "GET", target, NULL, AECS_REQ_SIGNED, &r);
        if (rc != EXIT_OK)
            goto out;
        json_t *entries = json_object_get(r.body, "entries");
        if (!json_is_array(entries)) {
            fprintf(stderr, "aecs: %s answered without `entries`\n", aecs_conn_server(cl.conn));
            rc = EXIT_USAGE;
            goto out;
        }
        /* A copy: the reply's strings are wiped when it is cleared for the next page. */
        json_t *copy = json_deep_copy(entries);
        if (copy == NULL || json_array_extend(all, copy) != 0) {
            json_decref(copy);
            fprintf(stderr, "aecs: out of memory\n");
            rc = EXIT_USAGE;
            goto out;
        }
        json_decref(copy);
        json_decref(next);
        next = json_deep_copy(json_object_get(r.body, "next"));
        if (limit > 0 || !json_is_integer(next))
            break;
        /* The next page must start further on, or the loop would never end. */
        if (json_integer_value(next) <= from) {
            fprintf(stderr, "aecs: %s answered a `next` that does not move forward\n",
                    aecs_conn_server(cl.conn));
            rc = EXIT_USAGE;
            goto out;
        }
        from = (long)json_integer_value(next);
    }
    if (json) {
        json_t *o = json_pack("{s:O, s:O}", "entries", all, "next",
                              json_is_integer(next) && limit > 0 ? next : json_null());
        rc = o != NULL ? cli_print_json(o) : EXIT_USAGE;
        json_decref(o);
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e) print_entry(e);
    if (json_array_size(all) == 0)
        printf("no entries\n");
    if (limit > 0 && json_is_integer(next))
        printf("more: aecs admin audit list --from %lld --limit %ld\n",
               (long long)json_integer_value(next), limit);
out:
    json_decref(all);
    json_decref(next);
    aecs_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

static void audit_verify_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs admin audit verify --config CRED [--json]\n\n"
            "Asks aecsd to check its audit log's hash chain from the first entry to the\n"
            "last. Exit 0 when the chain holds, 1 when it is broken (the first broken\n"
            "entry is named), 2 when the check could not be made. Signed by a cluster\n"
            "admin.\n\n"
            "%s"
            "  --json          print aecsd's answer as JSON\n"
            "  -h, --help      this help\n",
            k_config_help);
}

static int audit_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int json = 0, c, rc;
    struct cli_client cl;
    struct aecs_reply r = {0};
    json_t *ok;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case 'h':
            audit_verify_usage(stdout);
            return EXIT_OK;
        default:
            audit_verify_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (cli_no_arguments(argc, argv, "admin audit verify") != 0)
        return EXIT_USAGE;
    rc = cli_client_open(config, AECS_CRED_NEED_KEY, &cl);
    if (rc != EXIT_OK)
        return rc;
    rc = cli_request(&cl, "POST", "/v1/admin/audit/verify", NULL, AECS_REQ_SIGNED, &r);
    if (rc != EXIT_OK)
        goto out;
    ok = json_object_get(r.body, "ok");
    if (!json_is_boolean(ok)) {
        fprintf(stderr, "aecs: %s answered without `ok`\n", aecs_conn_server(cl.conn));
        rc = EXIT_USAGE;
        goto out;
    }
    rc = json_is_true(ok) ? EXIT_OK : EXIT_REFUSED;
    if (json) {
        if (cli_print_json(r.body) != EXIT_OK)
            rc = EXIT_USAGE;
        goto out;
    }
    if (json_is_true(ok))
        printf("audit chain holds: %lld entries, head %s\n",
               (long long)json_integer_value(json_object_get(r.body, "entries")),
               cli_json_str(r.body, "head", "?"));
    else
        printf("audit chain BROKEN at entry %lld: %s (%lld entries)\n",
               (long long)json_integer_value(json_object_get(r.body, "first_broken")),
               cli_json_str(r.body, "reason", "no reason given"),
               (long long)json_integer_value(json_object_get(r.body, "entries")));
out:
    aecs_reply_clear(&r);
    cli_client_close(&cl);
    return rc;
}

static const struct cli_command k_audit_commands[] = {
    {"list", audit_list, "print the audit log"},
    {"verify", audit_verify, "check the audit log's hash chain (exit 1 when broken)"},
    {NULL, NULL, NULL},
};

static int admin_audit(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: aecs admin audit COMMAND [ARGS...]\n\n"
               "aecsd's audit log: every change, hash-chained (cluster admins only).\n\n"
               "Commands:\n");
        cli_print_table(stdout, "aecs admin audit", k_audit_commands);
        return EXIT_OK;
    }
    optind = 0;
    return cli_dispatch("aecs admin audit", k_audit_commands, argc - 1, argv + 1);
}

/* ---- the group ---- */

static const struct cli_command k_admin_commands[] = {
    {"init", admin_init, "initialize aecsd: root key, shares, first cluster admin"},
    {"unseal", admin_unseal, "give aecsd one share of its root key"},
    {"provision", admin_unseal, "the same as unseal"},
    {"status", admin_status, "aecsd's state, version, counts and certificate"},
    {"service", admin_service, "register, list and unregister services"},
    {"audit", admin_audit, "list and verify the audit log"},
    {NULL, NULL, NULL},
};

int cmd_admin(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: aecs admin COMMAND --config CRED [ARGS...]\n\n"
               "Runs aecsd over its HTTPS API. CRED is a credential file (YAML):\n\n"
               "  server: https://aecs.example.com:8443   # several: a list, or comma-separated\n"
               "  key: admin.pem                          # private key from `aecs keygen`\n"
               "  ca: server-ca.pem                       # CA or server certificate (PEM), or\n"
               "  # fingerprint: 13:F5:...:D7:89          # SHA-256 of the server's certificate\n"
               "  service: payments                       # optional: default for `aecs secret`\n"
               "  server_policy:                          # the aecsd init and unseal trust\n"
               "    enclaveMatchAnyRules: [{mrenclave: <64 hex>}]\n"
               "  verifier: {pccs_url: https://...}       # how its evidence is verified\n"
               "  service_id: <32 hex>                    # optional: the store it must serve\n"
               "  accept_insecure_server: false           # true: INSECURE, test servers only\n\n"
               "Exactly one of ca and fingerprint. server_policy and verifier are those of the\n"
               "client configuration (docs/client.md); init and unseal check aecsd's identity\n"
               "with them before they send anything, and refuse without server_policy.\n"
               "Relative paths are relative to the file's folder. --config defaults to\n"
               "$AECS_CONFIG; AECS_SERVER, AECS_KEY, AECS_CA and AECS_FINGERPRINT override the\n"
               "file's values.\n\n"
               "Exit status: 0 done, 1 refused by aecsd (its message and error code are\n"
               "printed) or its identity does not pass, 2 bad usage, unreadable files, or no\n"
               "usable answer (network, TLS).\n\n"
               "Commands:\n");
        cli_print_table(stdout, "aecs admin", k_admin_commands);
        return EXIT_OK;
    }
    optind = 0;
    return cli_dispatch("aecs admin", k_admin_commands, argc - 1, argv + 1);
}
