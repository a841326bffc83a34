/*
 * cmd_collateral.c - `aecs collateral fetch`: gets the collateral a quote
 * needs from a PCCS or Intel's PCS and writes it as a folder that
 * `aecs quote verify --collateral` reads. SEV-SNP reports go to
 * cmd_collateral_snp.c (AMD KDS).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/collateral_fetch.h"
#include "attest/collateral_mem.h"
#include "attest/evidence.h"
#include "attest/kds.h"
#include "attest/qcnl.h"
#include "base/err.h"
#include "base/file.h"
#include "base/timeutil.h"
#include "cli/cli.h"

#define MAX_QUOTE_FILE (1u << 20)

static void fetch_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs collateral fetch --quote FILE --out DIR [--pccs URL] [--qcnl FILE]\n"
            "                             [--timeout SECONDS]\n"
            "       aecs collateral fetch --quote REPORT --out DIR [--kds URL]\n"
            "                             [--product Milan|Genoa|Turin] [--timeout SECONDS]\n\n"
            "Fetches what 'aecs quote verify' needs for an SGX or TDX quote: the root CA CRL,\n"
            "the PCK CRL (for the quote's PCK CA, processor or platform), the TCB Info for its\n"
            "FMSPC and the QE Identity, with their issuer chains, from a PCCS or Intel's PCS\n"
            "(API v4). Every item is checked before anything is written; DIR is replaced as a\n"
            "whole, or left untouched when anything fails.\n\n"
            "For an AMD SEV-SNP report it fetches, from AMD's KDS, the VCEK for the report's\n"
            "chip (CHIP_ID) and REPORTED_TCB, and the product's cert_chain (ASK, ARK), checks\n"
            "that the VCEK chains to AMD's pinned ARK and is for that chip and TCB, and writes\n"
            "vcek.der and cert_chain.pem the same all-or-nothing way.\n\n"
            "  --quote FILE       the quote (it must carry its PCK certificate chain) or the\n"
            "                     SEV-SNP report\n"
            "  --out DIR          the collateral folder to write (created or replaced; an\n"
            "                     existing DIR may only hold collateral files)\n"
            "  --pccs URL         the PCCS or PCS, e.g. https://pccs:8081 or\n"
            "                     https://pccs:8081/sgx/certification/v4/ (default: from the\n"
            "                     qcnl configuration)\n"
            "  --qcnl FILE        Intel's QCNL configuration, legacy KEY=VALUE or JSON form\n"
            "                     (default " AECS_QCNL_DEFAULT_PATH "; with --pccs, read only\n"
            "                     when given: its use_secure_cert and retry settings apply)\n"
            "  --kds URL          SNP: AMD's KDS (default $" AECS_KDS_URL_ENV " when set, else\n"
            "                     " AECS_KDS_DEFAULT_URL ")\n"
            "  --product NAME     SNP: Milan, Genoa (also Bergamo, Siena) or Turin; needed for\n"
            "                     version 2 reports, which do not name their product\n"
            "  --timeout SECONDS  give up on one request after this long (default 60)\n"
            "  -h, --help         this help\n\n"
            "From the qcnl file: collateral_service (else pccs_url) is where collateral comes\n"
            "from; use_secure_cert=false turns TLS verification off (insecure, warned about);\n"
            "retry_times and retry_delay set the retries, as in Intel's library.\n\n"
            "KDS rate-limits clients: an HTTP 429 is waited out as its Retry-After says, up to\n"
            "60 s at a time and 3 times, and is an error beyond that. KDS serves no VLEKs.\n\n"
            "Exit status: 0 fetched and written, 1 the fetch or the write failed, 2 usage\n"
            "error or unreadable input.\n");
}

/* Where to fetch from: --pccs, else the qcnl file; both: the URL from --pccs. */
static int make_source(const char *pccs, const char *qcnl_path, struct aecs_pcs_source *src)
{
    struct aecs_qcnl q;

    if (pccs != NULL) {
        GUARD(aecs_pcs_source_from_url(pccs, src));
        if (qcnl_path != NULL) {
            GUARD(aecs_qcnl_load(qcnl_path, &q));
            src->http.tls_verify_disabled_insecure = !q.use_secure_cert;
            src->http.retry_times = q.retry_times;
            src->http.retry_delay_ms = q.retry_delay * 1000u;
        }
        return AECS_OK;
    }
    int rc = aecs_qcnl_load(qcnl_path, &q);
    if (rc == AECS_E_NOT_FOUND && qcnl_path == NULL)
        return AECS_ERR(AECS_E_USAGE, "no PCCS given: pass --pccs URL, or set pccs_url in %s",
                        AECS_QCNL_DEFAULT_PATH);
    GUARD(rc);
    return aecs_pcs_source_from_qcnl(&q, src);
}

static int collateral_fetch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"quote", required_argument, NULL, 'q'},
        {"out", required_argument, NULL, 'o'},
        {"pccs", required_argument, NULL, 'p'},
        {"qcnl", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"kds", required_argument, NULL, 'k'},
        {"product", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *quote_path = NULL;
    const char *out_dir = NULL;
    const char *pccs = NULL;
    const char *qcnl_path = NULL;
    const char *kds = NULL;
    const char *product = NULL;
    long timeout_s = 0;
    int c;
    int rc = EXIT_USAGE;
    uint8_t *quote = NULL;
    size_t size = 0;
    struct aecs_collateral_key key;
    struct aecs_pcs_source src;
    struct aecs_fetched_collateral *f = NULL;
    struct aecs_collateral *col = NULL;
    char key_name[40];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            quote_path = optarg;
            break;
        case 'o':
            out_dir = optarg;
            break;
        case 'p':
            pccs = optarg;
            break;
        case 'c':
            qcnl_path = optarg;
            break;
        case 'k':
            kds = optarg;
            break;
        case 'r':
            product = optarg;
            break;
        case 't': {
            char *end = NULL;
            timeout_s = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || timeout_s <= 0 || timeout_s > 3600) {
                fprintf(stderr, "aecs: --timeout must be a number of seconds from 1 to 3600\n");
                return EXIT_USAGE;
            }
            break;
        }
        case 'h':
            fetch_usage(stdout);
            return EXIT_OK;
        default:
            fetch_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || quote_path == NULL || out_dir == NULL) {
        if (optind != argc)
            fprintf(stderr, "aecs: unexpected argument '%.60s'\n", argv[optind]);
        else
            fprintf(stderr, "aecs: collateral fetch needs --quote FILE and --out DIR\n");
        fetch_usage(stderr);
        return EXIT_USAGE;
    }
    if (aecs_file_read(quote_path, MAX_QUOTE_FILE, &quote, &size) != AECS_OK) {
        cli_report_error(NULL);
        goto out;
    }
    if (aecs_evidence_detect(quote, size) == AECS_EVIDENCE_SNP) {
        if (pccs != NULL || qcnl_path != NULL) {
            fprintf(stderr,
                    "aecs: %s is an SEV-SNP report: its collateral comes from AMD's KDS "
                    "(--kds), not a PCCS (--pccs, --qcnl)\n",
                    quote_path);
            goto out;
        }
        rc = collateral_fetch_snp(quote_path, quote, size, out_dir, kds, product, timeout_s);
        goto out;
    }
    if (kds != NULL || product != NULL) {
        fprintf(stderr, "aecs: --kds and --product are for SEV-SNP reports; %s is not one\n",
                quote_path);
        goto out;
    }
    if (aecs_collateral_key_from_quote(quote, size, &key) != AECS_OK) {
        cli_report_error(quote_path);
        goto out;
    }
    if (make_source(pccs, qcnl_path, &src) != AECS_OK) {
        cli_report_error(NULL);
        goto out;
    }
    if (timeout_s > 0)
        src.http.total_timeout_ms = timeout_s * 1000;
    aecs_collateral_key_format(&key, key_name);
    rc = EXIT_REFUSED;
    if (aecs_collateral_fetch(&src, &key, &f) != AECS_OK) {
        cli_report_error(NULL);
        fprintf(stderr, "aecs: nothing was written; %s is unchanged\n", out_dir);
        goto out;
    }
    if (aecs_collateral_dir_write(out_dir, f) != AECS_OK) {
        cli_report_error(NULL);
        goto out;
    }
    if (aecs_fetched_collateral_parse(f, &col) == AECS_OK) {
        char until[32];
        int64_t next = aecs_collateral_next_update(col);
        aecs_time_format(next, until);
        printf("fetched %s collateral (PCK %s CA, FMSPC %.12s) from %s\n",
               key.tee == AECS_TEE_SGX ? "SGX" : "TDX", aecs_pck_ca_kind_name(key.ca),
               key_name + strlen(key_name) - 12, src.base_url);
        printf("wrote %s (valid until %s%s)\n", out_dir, until,
               next <= aecs_time_now() ? ", already EXPIRED: the service has nothing newer" : "");
    }
    rc = EXIT_OK;
out:
    aecs_collateral_free(col);
    aecs_fetched_collateral_free(f);
    free(quote);
    return rc;
}

static const struct cli_command k_collateral_commands[] = {
    {"fetch", collateral_fetch,
     "fetch a quote's collateral from a PCCS or the PCS (SNP: AMD KDS) into a folder"},
    {NULL, NULL, NULL},
};

int cmd_collateral(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "usage: aecs collateral COMMAND [ARGS...]\n\nCommands:\n");
        cli_print_table(out, "aecs collateral", k_collateral_commands);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    optind = 0;
    return cli_dispatch("aecs collateral", k_collateral_commands, argc - 1, argv + 1);
}
