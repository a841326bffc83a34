/*
 * cmd_sim.c - `aecs sim init` and `aecs sim quote`: the simulated TEE
 * (src/attest/sim.h) from the command line.
 *
 * Every failure, whether a bad option or a library error (unknown status,
 * folder not initialised), exits with EXIT_USAGE and one message on stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/sim.h"
#include "base/codec.h"
#include "base/err.h"
#include "base/file.h"
#include "base/timeutil.h"
#include "cli/cli.h"

static void init_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs sim init DIR [--tcb-status STATUS] [--revoke-pck] [--validity-days N]\n"
            "                     [--force]\n\n"
            "Makes a simulated SGX/TDX platform in DIR, for tests and demos on machines\n"
            "without a TEE: a test PKI (root CA 'aecs simulated SGX Root CA', PCK Processor\n"
            "CA, PCK certificate with the SGX extensions, TCB signing certificate), both\n"
            "CRLs, signed TCB Info and QE Identity for the sim FMSPC, and an attestation key.\n\n"
            "  --tcb-status STATUS  status of the TCB level the sim platform matches:\n"
            "                       UpToDate (default), SWHardeningNeeded,\n"
            "                       ConfigurationNeeded, ConfigurationAndSWHardeningNeeded,\n"
            "                       OutOfDate, OutOfDateConfigurationNeeded or Revoked;\n"
            "                       levels that are not UpToDate list advisory %s\n"
            "  --revoke-pck         list the PCK certificate in the PCK CRL\n"
            "  --validity-days N    the CRLs, TCB Info and QE Identity expire N days from now\n"
            "                       (default %d, at most %d)\n"
            "  --force              replace a sim already in DIR (new keys: a new platform)\n"
            "  -h, --help           this help\n\n"
            "DIR gets root.der (the root to trust explicitly), collateral/ (SGX),\n"
            "collateral-tdx/ (TDX), pck_chain.pem, and the private keys *.key.pem (mode\n"
            "0600). Sim quotes verify only when the sim root is given explicitly:\n"
            "  aecs quote verify QUOTE --collateral DIR/collateral --trusted-root DIR/root.der\n"
            "For tests and demos only: the keys are plain files.\n",
            AECS_SIM_ADVISORY, AECS_SIM_DEFAULT_VALIDITY_DAYS, AECS_SIM_MAX_VALIDITY_DAYS);
}

/* Parses a decimal integer in [min, max]; 0 on success. */
static int parse_uint(const char *text, long max, long *out)
{
    char *end = NULL;
    long v;

    if (text[0] < '0' || text[0] > '9')
        return -1;
    v = strtol(text, &end, 10);
    if (*end != '\0' || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int sim_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tcb-status", required_argument, NULL, 's'},
        {"revoke-pck", no_argument, NULL, 'r'},
        {"validity-days", required_argument, NULL, 'v'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct aecs_sim_options o;
    long days = AECS_SIM_DEFAULT_VALIDITY_DAYS;
    char until[32];
    const char *dir;
    int c;

    memset(&o, 0, sizeof(o));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.tcb_status = optarg;
            break;
        case 'r':
            o.revoke_pck = 1;
            break;
        case 'v':
            if (parse_uint(optarg, AECS_SIM_MAX_VALIDITY_DAYS, &days) != 0 || days < 1) {
                fprintf(stderr, "aecs: --validity-days must be a number of days from 1 to %d\n",
                        AECS_SIM_MAX_VALIDITY_DAYS);
                return EXIT_USAGE;
            }
            break;
        case 'f':
            o.force = 1;
            break;
        case 'h':
            init_usage(stdout);
            return EXIT_OK;
        default:
            init_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "aecs: sim init needs exactly one folder, DIR\n");
        init_usage(stderr);
        return EXIT_USAGE;
    }
    dir = argv[optind];
    o.validity_days = (int)days;
    o.now = aecs_time_now();
    if (aecs_sim_init(dir, &o) != AECS_OK) {
        cli_report_error(NULL);
        return EXIT_USAGE;
    }
    aecs_time_format(o.now + days * 86400, until);
    printf("sim initialised in %s: TCB status %s, PCK %s, collateral valid until %s\n", dir,
           o.tcb_status ? o.tcb_status : "UpToDate", o.revoke_pck ? "revoked" : "not revoked",
           until);
    printf("  root CA (trust explicitly): %s/%s\n", dir, AECS_SIM_ROOT_FILE);
    printf("  SGX collateral:             %s/%s\n", dir, AECS_SIM_SGX_COLLATERAL);
    printf("  TDX collateral:             %s/%s\n", dir, AECS_SIM_TDX_COLLATERAL);
    printf("verify sim quotes with:\n  aecs quote verify QUOTE --collateral %s/%s "
           "--trusted-root %s/%s\n",
           dir, AECS_SIM_SGX_COLLATERAL, dir, AECS_SIM_ROOT_FILE);
    return EXIT_OK;
}

static void quote_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs sim quote --sim DIR --report-data HEX --out FILE\n"
            "                      --mrenclave HEX --mrsigner HEX [--isvprodid N] [--isvsvn N]\n"
            "                      [--debug]\n"
            "       aecs sim quote --sim DIR --report-data HEX --out FILE --tdx\n"
            "                      --mrtd HEX [--rtmr0 HEX] .. [--rtmr3 HEX] [--mrconfigid HEX]\n"
            "                      [--mrowner HEX] [--debug]\n\n"
            "Makes a quote on the simulated platform of DIR (made by 'aecs sim init'): an SGX\n"
            "quote v3, or with --tdx a TDX quote v4, real in every byte and signed through\n"
            "the sim's PCK chain. Quotes from one DIR share one platform.\n\n"
            "  --sim DIR           the sim folder\n"
            "  --report-data HEX   64 bytes (128 hex digits) of report data\n"
            "  --out FILE          where to write the quote\n"
            "  --debug             set the debug attribute (SGX ATTRIBUTES bit 1, TDX\n"
            "                      TDATTRIBUTES bit 0)\n"
            "SGX:\n"
            "  --mrenclave HEX     32 bytes\n"
            "  --mrsigner HEX      32 bytes\n"
            "  --isvprodid N       0..65535 (default 0)\n"
            "  --isvsvn N          0..65535 (default 0)\n"
            "TDX:\n"
            "  --tdx               make a TDX quote\n"
            "  --mrtd HEX          48 bytes\n"
            "  --rtmr0..--rtmr3 HEX, --mrconfigid HEX, --mrowner HEX\n"
            "                      48 bytes each (default all zero)\n"
            "  -h, --help          this help\n");
}

enum {
    OPT_SIM = 1000,
    OPT_TDX,
    OPT_REPORT_DATA,
    OPT_OUT,
    OPT_DEBUG,
    OPT_MRENCLAVE,
    OPT_MRSIGNER,
    OPT_ISVPRODID,
    OPT_ISVSVN,
    OPT_MRTD,
    OPT_RTMR0,
    OPT_RTMR1,
    OPT_RTMR2,
    OPT_RTMR3,
    OPT_MRCONFIGID,
    OPT_MROWNER,
};

/* Decodes a hex option of exactly `size` bytes, or says what is wrong with it. */
static int hex_option(const char *name, const char *text, uint8_t *out, size_t size)
{
    size_t len = strlen(text);

    if (aecs_hex_decode_exact(text, len, out, size) != AECS_OK) {
        fprintf(stderr, "aecs: --%s must be %zu bytes: %zu hex digits (got %zu characters)\n", name,
                size, 2 * size, len);
        return -1;
    }
    return 0;
}

static int sim_quote(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sim", required_argument, NULL, OPT_SIM},
        {"tdx", no_argument, NULL, OPT_TDX},
        {"report-data", required_argument, NULL, OPT_REPORT_DATA},
        {"out", required_argument, NULL, OPT_OUT},
        {"debug", no_argument, NULL, OPT_DEBUG},
        {"mrenclave", required_argument, NULL, OPT_MRENCLAVE},
        {"mrsigner", required_argument, NULL, OPT_MRSIGNER},
        {"isvprodid", required_argument, NULL, OPT_ISVPRODID},
        {"isvsvn", required_argument, NULL, OPT_ISVSVN},
        {"mrtd", required_argument, NULL, OPT_MRTD},
        {"rtmr0", required_argument, NULL, OPT_RTMR0},
        {"rtmr1", required_argument, NULL, OPT_RTMR1},
        {"rtmr2", required_argument, NULL, OPT_RTMR2},
        {"rtmr3", required_argument, NULL, OPT_RTMR3},
        {"mrconfigid", required_argument, NULL, OPT_MRCONFIGID},
        {"mrowner", required_argument, NULL, OPT_MROWNER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct aecs_sim_quote_params p;
    const char *dir = NULL;
    const char *out = NULL;
    int have_rd = 0, have_mrenclave = 0, have_mrsigner = 0, have_mrtd = 0;
    const char *sgx_only = NULL; /* an SGX option seen */
    const char *tdx_only = NULL; /* a TDX measurement option seen */
    uint8_t *quote = NULL;
    size_t size = 0;
    long v = 0;
    int c;
    int bad = 0;

    memset(&p, 0, sizeof(p));
    p.tee = AECS_SIM_SGX;
    while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_SIM:
            dir = optarg;
            break;
        case OPT_TDX:
            p.tee = AECS_SIM_TDX;
            break;
        case OPT_REPORT_DATA:
            bad = hex_option("report-data", optarg, p.report_data, 64);
            have_rd = 1;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_DEBUG:
            p.debug = 1;
            break;
        case OPT_MRENCLAVE:
            bad = hex_option("mrenclave", optarg, p.mrenclave, 32);
            have_mrenclave = 1;
            sgx_only = "--mrenclave";
            break;
        case OPT_MRSIGNER:
            bad = hex_option("mrsigner", optarg, p.mrsigner, 32);
            have_mrsigner = 1;
            sgx_only = "--mrsigner";
            break;
        case OPT_ISVPRODID:
        case OPT_ISVSVN:
            if (parse_uint(optarg, 65535, &v) != 0) {
                fprintf(stderr, "aecs: --%s must be a number from 0 to 65535\n",
                        c == OPT_ISVPRODID ? "isvprodid" : "isvsvn");
                bad = 1;
            }
            *(c == OPT_ISVPRODID ? &p.isvprodid : &p.isvsvn) = (uint16_t)v;
            sgx_only = c == OPT_ISVPRODID ? "--isvprodid" : "--isvsvn";
            break;
        case OPT_MRTD:
            bad = hex_option("mrtd", optarg, p.mrtd, 48);
            have_mrtd = 1;
            tdx_only = "--mrtd";
            break;
        case OPT_RTMR0:
        case OPT_RTMR1:
        case OPT_RTMR2:
        case OPT_RTMR3: {
            static const char *const names[] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
            bad = hex_option(names[c - OPT_RTMR0], optarg, p.rtmr[c - OPT_RTMR0], 48);
            tdx_only = "--rtmrN";
            break;
        }
        case OPT_MRCONFIGID:
            bad = hex_option("mrconfigid", optarg, p.mrconfigid, 48);
            tdx_only = "--mrconfigid";
            break;
        case OPT_MROWNER:
            bad = hex_option("mrowner", optarg, p.mrowner, 48);
            tdx_only = "--mrowner";
            break;
        case 'h':
            quote_usage(stdout);
            return EXIT_OK;
        default:
            quote_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (bad)
        return EXIT_USAGE;
    if (optind != argc) {
        fprintf(stderr, "aecs: sim quote takes no arguments besides options ('%.60s')\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    if (dir == NULL || out == NULL || !have_rd) {
        fprintf(stderr, "aecs: sim quote needs %s\n",
                dir == NULL   ? "--sim DIR (a folder made by 'aecs sim init')"
                : out == NULL ? "--out FILE"
                              : "--report-data HEX (64 bytes)");
        return EXIT_USAGE;
    }
    if (p.tee == AECS_SIM_TDX) {
        if (sgx_only != NULL) {
            fprintf(stderr,
                    "aecs: %s is for SGX quotes; a TDX quote takes --mrtd, --rtmr0..3, "
                    "--mrconfigid and --mrowner\n",
                    sgx_only);
            return EXIT_USAGE;
        }
        if (!have_mrtd) {
            fprintf(stderr, "aecs: a TDX quote (--tdx) needs --mrtd HEX (48 bytes)\n");
            return EXIT_USAGE;
        }
    } else {
        if (tdx_only != NULL) {
            fprintf(stderr, "aecs: %s is for TDX quotes: add --tdx\n", tdx_only);
            return EXIT_USAGE;
        }
        if (!have_mrenclave || !have_mrsigner) {
            fprintf(stderr, "aecs: an SGX quote needs --mrenclave HEX and --mrsigner HEX "
                            "(32 bytes each); use --tdx for a TDX quote\n");
            return EXIT_USAGE;
        }
    }
    if (aecs_sim_quote(dir, &p, &quote, &size) != AECS_OK) {
        cli_report_error(NULL);
        return EXIT_USAGE;
    }
    if (aecs_file_write_atomic(out, quote, size, 0644) != AECS_OK) {
        cli_report_error("--out");
        free(quote);
        return EXIT_USAGE;
    }
    free(quote);
    printf("wrote %s: %s quote v%d, %zu bytes\n", out, p.tee == AECS_SIM_TDX ? "TDX" : "SGX",
           p.tee == AECS_SIM_TDX ? 4 : 3, size);
    return EXIT_OK;
}

static const struct cli_command k_sim_commands[] = {
    {"init", sim_init, "make a sim platform: test PKI, collateral and attestation key"},
    {"quote", sim_quote, "make an SGX (v3) or TDX (v4) quote on a sim platform"},
    {NULL, NULL, NULL},
};

int cmd_sim(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: aecs sim COMMAND [ARGS...]\n\n"
               "A simulated SGX/TDX platform for machines without a TEE, for tests and demos.\n"
               "Its quotes are real DCAP quotes signed by a local test PKI; verifiers trust it\n"
               "only when its root is given explicitly (--trusted-root DIR/root.der), and\n"
               "mark the result 'sim'.\n\nCommands:\n");
        cli_print_table(stdout, "aecs sim", k_sim_commands);
        return EXIT_OK;
    }
    optind = 0;
    return cli_dispatch("aecs sim", k_sim_commands, argc - 1, argv + 1);
}
