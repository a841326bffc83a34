/*
 * cmd_generate.c - `aecs quote generate`: evidence over 64 bytes of report
 * data from one of the attesters of src/attest/attester.h, written to a file
 * atomically.
 *
 * Exit status: 0 written; 1 no evidence (no attester available, the TEE
 * interface failed, the evidence carried other report data, or the file could
 * not be written); 2 usage or configuration errors (bad options, an unknown
 * attester, sim or file backends without their folder or file).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attester.h"
#include "attest/evidence.h"
#include "attest/quote.h"
#include "attest/snp.h"
#include "base/codec.h"
#include "base/err.h"
#include "base/file.h"
#include "cli/cli.h"

static void generate_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs quote generate --report-data HEX --out FILE [--attester NAME]\n"
            "                           [--root DIR] [--sim DIR] [--tdx] [--quote-file FILE]\n"
            "                           [--privlevel N]\n\n"
            "Makes attestation evidence over 64 bytes of report data and writes it to FILE.\n\n"
            "  --report-data HEX   exactly 64 bytes: 128 hex digits\n"
            "  --out FILE          where to write the evidence (replaced atomically, mode 0644)\n"
            "  --attester NAME     which TEE interface makes it (default auto):\n"
            "                        tsm        Linux configfs-tsm, /sys/kernel/config/tsm/report\n"
            "                                   (TDX quote or SEV-SNP report)\n"
            "                        sev-guest  the SNP_GET_REPORT ioctl on /dev/sev-guest\n"
            "                        gramine    Gramine's /dev/attestation (SGX quote)\n"
            "                        file       a quote made elsewhere (--quote-file), handed\n"
            "                                   out only if its report data is HEX\n"
            "                        sim        the simulated TEE (--sim DIR or %s):\n"
            "                                   INSECURE, for tests and demos\n"
            "                        auto       the first of tsm, sev-guest, gramine that is\n"
            "                                   there, then sim only when a sim is configured\n"
            "  --root DIR          look for the TEE interfaces under DIR instead of / (a fake\n"
            "                      tree for tests; default %s or /)\n"
            "  --sim DIR           the sim folder (made by 'aecs sim init')\n"
            "  --tdx               sim: make a TDX quote (v4) instead of an SGX quote (v3)\n"
            "  --quote-file FILE   file: the quote or report (implies --attester file)\n"
            "  --privlevel N       SEV-SNP: ask for a report at VMPL N (0..3)\n"
            "  -h, --help          this help\n\n"
            "Exit status: 0 written, 1 no evidence (no attester, the TEE interface failed,\n"
            "report data mismatch, FILE not written), 2 usage or configuration error.\n",
            AECS_SIM_DIR_ENV, AECS_ATTEST_ROOT_ENV);
}

enum {
    OPT_ATTESTER = 1000,
    OPT_REPORT_DATA,
    OPT_OUT,
    OPT_SIM,
    OPT_TDX,
    OPT_QUOTE_FILE,
    OPT_ROOT,
    OPT_PRIVLEVEL,
};

/* "SGX quote v3", "TDX quote v4", "SEV-SNP report v2", from the evidence itself. */
static void describe(const uint8_t *ev, size_t size, enum aecs_evidence_kind kind, char *buf,
                     size_t cap)
{
    struct aecs_quote q;

    snprintf(buf, cap, "%s evidence", aecs_evidence_kind_name(kind));
    if (kind == AECS_EVIDENCE_DCAP && aecs_quote_parse(ev, size, &q) == AECS_OK)
        snprintf(buf, cap, "%s quote v%u", q.body_type == AECS_BODY_SGX ? "SGX" : "TDX", q.version);
    else if (kind == AECS_EVIDENCE_SNP && size >= 4)
        snprintf(buf, cap, "SEV-SNP report v%u", (unsigned)ev[0] | (unsigned)ev[1] << 8);
}

int quote_generate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"attester", required_argument, NULL, OPT_ATTESTER},
        {"report-data", required_argument, NULL, OPT_REPORT_DATA},
        {"out", required_argument, NULL, OPT_OUT},
        {"sim", required_argument, NULL, OPT_SIM},
        {"tdx", no_argument, NULL, OPT_TDX},
        {"quote-file", required_argument, NULL, OPT_QUOTE_FILE},
        {"root", required_argument, NULL, OPT_ROOT},
        {"privlevel", required_argument, NULL, OPT_PRIVLEVEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct aecs_attester_config cfg;
    struct aecs_attester *a = NULL;
    const char *name = NULL;
    const char *out = NULL;
    uint8_t report_data[64];
    int have_rd = 0;
    uint8_t *ev = NULL;
    size_t size = 0;
    enum aecs_evidence_kind kind = AECS_EVIDENCE_UNKNOWN;
    char what[64];
    int rc = EXIT_USAGE;
    int c;

    memset(&cfg, 0, sizeof(cfg));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_ATTESTER:
            name = optarg;
            break;
        case OPT_REPORT_DATA: {
            size_t len = strlen(optarg);
            if (len != 128 || aecs_hex_decode_exact(optarg, len, report_data, 64) != AECS_OK) {
                fprintf(stderr,
                        "aecs: --report-data must be exactly 64 bytes: 128 hex digits (got %zu "
                        "characters%s)\n",
                        len, len == 128 ? ", not all hex digits" : "");
                return EXIT_USAGE;
            }
            have_rd = 1;
            break;
        }
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_SIM:
            cfg.sim_dir = optarg;
            break;
        case OPT_TDX:
            cfg.sim_tdx = 1;
            break;
        case OPT_QUOTE_FILE:
            cfg.quote_file = optarg;
            break;
        case OPT_ROOT:
            cfg.root = optarg;
            break;
        case OPT_PRIVLEVEL:
            if (optarg[0] < '0' || optarg[0] > '3' || optarg[1] != '\0') {
                fprintf(stderr, "aecs: --privlevel must be a VMPL from 0 to 3\n");
                return EXIT_USAGE;
            }
            cfg.has_privlevel = 1;
            cfg.privlevel = (unsigned)(optarg[0] - '0');
            break;
        case 'h':
            generate_usage(stdout);
            return EXIT_OK;
        default:
            generate_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "aecs: quote generate takes no arguments besides options ('%.60s')\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    if (!have_rd || out == NULL) {
        fprintf(stderr, "aecs: quote generate needs %s\n",
                !have_rd ? "--report-data HEX (64 bytes)" : "--out FILE");
        return EXIT_USAGE;
    }
    if (name == NULL)
        name = cfg.quote_file != NULL ? "file" : "auto";
    if (cfg.quote_file != NULL && strcmp(name, "file") != 0) {
        fprintf(stderr, "aecs: --quote-file is for --attester file, not %.40s\n", name);
        return EXIT_USAGE;
    }
    if ((cfg.sim_dir != NULL || cfg.sim_tdx) && strcmp(name, "sim") != 0 &&
        strcmp(name, "auto") != 0) {
        fprintf(stderr, "aecs: %s is for the sim attester, not %.40s\n",
                cfg.sim_tdx ? "--tdx" : "--sim", name);
        return EXIT_USAGE;
    }

    if (aecs_attester_open(name, &cfg, &a) != AECS_OK) {
        int code = aecs_err_last()->code;
        cli_report_error("quote generate");
        return code == AECS_E_INVALID_ARGUMENT || code == AECS_E_USAGE ? EXIT_USAGE : EXIT_REFUSED;
    }
    rc = EXIT_REFUSED;
    if (aecs_attester_evidence(a, report_data, &ev, &size, &kind) != AECS_OK) {
        int code = aecs_err_last()->code;
        cli_report_error("quote generate");
        if (code == AECS_E_INVALID_ARGUMENT || code == AECS_E_USAGE)
            rc = EXIT_USAGE;
        goto out;
    }
    if (aecs_file_write_atomic(out, ev, size, 0644) != AECS_OK) {
        cli_report_error("--out");
        goto out;
    }
    describe(ev, size, kind, what, sizeof(what));
    printf("wrote %s: %s (%s), %zu bytes, from attester %s%s\n", out, what,
           aecs_evidence_kind_name(kind), size, aecs_attester_name(a),
           aecs_attester_is_sim(a) ? " (SIMULATED: verifies only with --trusted-root of the sim)"
                                   : "");
    rc = EXIT_OK;
out:
    free(ev);
    aecs_attester_free(a);
    return rc;
}
