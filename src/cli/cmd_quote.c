/*
 * cmd_quote.c - `aecs quote show` and `aecs quote verify`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/collateral.h"
#include "attest/dcap.h"
#include "attest/evidence.h"
#include "attest/quote.h"
#include "attest/report.h"
#include "base/codec.h"
#include "base/err.h"
#include "base/file.h"
#include "base/timeutil.h"
#include "cli/cli.h"

#define MAX_QUOTE_FILE (1u << 20)

static void print_json(json_t *o)
{
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (text != NULL) {
        printf("%s\n", text);
        free(text);
    }
}

static void print_hex_line(const char *label, const uint8_t *data, size_t size)
{
    char buf[2 * 64 + 1];

    aecs_hex_encode(data, size, buf);
    printf("  %-15s %s\n", label, buf);
}

static void show_usage(FILE *out)
{
    fprintf(out, "usage: aecs quote show FILE [--json]\n\n"
                 "Parses an SGX (v3) or TDX (v4, v5) DCAP quote, or an AMD SEV-SNP attestation\n"
                 "report (v2, v3, v5), and prints its fields. The kind is detected.\n"
                 "Nothing is verified: use 'aecs quote verify' for that.\n\n"
                 "  --json      print every field as JSON\n"
                 "  -h, --help  this help\n");
}

static int quote_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0;
    int c;
    uint8_t *data = NULL;
    size_t size = 0;
    struct aecs_quote q;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'h':
            show_usage(stdout);
            return EXIT_OK;
        default:
            show_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        show_usage(stderr);
        return EXIT_USAGE;
    }
    if (aecs_file_read(argv[optind], MAX_QUOTE_FILE, &data, &size) != AECS_OK) {
        cli_report_error(NULL);
        return EXIT_USAGE;
    }
    if (aecs_evidence_detect(data, size) == AECS_EVIDENCE_SNP) {
        int rc = quote_show_snp(argv[optind], data, size, json);
        free(data);
        return rc;
    }
    if (aecs_quote_parse(data, size, &q) != AECS_OK) {
        cli_report_error(argv[optind]);
        free(data);
        return EXIT_USAGE;
    }
    if (json) {
        json_t *o = aecs_quote_to_json(&q);
        print_json(o);
        json_decref(o);
    } else {
        printf("%s quote, version %u, %zu bytes (%zu after the signature data)\n",
               q.body_type == AECS_BODY_SGX ? "SGX" : "TDX", q.version, size, q.trailing_size);
        if (q.body_type == AECS_BODY_SGX) {
            print_hex_line("mrenclave", q.sgx.mrenclave, 32);
            print_hex_line("mrsigner", q.sgx.mrsigner, 32);
            printf("  %-15s %u\n  %-15s %u\n", "isvprodid", q.sgx.isvprodid, "isvsvn",
                   q.sgx.isvsvn);
            print_hex_line("attributes", q.sgx.attributes, 16);
            printf("  %-15s %s\n", "debug", q.sgx.attributes[0] & 0x02 ? "yes" : "no");
            print_hex_line("report_data", q.sgx.report_data, 64);
        } else {
            print_hex_line("mrtd", q.td.mrtd, 48);
            for (int i = 0; i < 4; i++) {
                char label[8];
                snprintf(label, sizeof(label), "rtmr%d", i);
                print_hex_line(label, q.td.rtmr[i], 48);
            }
            print_hex_line("mrseam", q.td.mrseam, 48);
            print_hex_line("tee_tcb_svn", q.td.tee_tcb_svn, 16);
            print_hex_line("td_attributes", q.td.td_attributes, 8);
            printf("  %-15s %s\n", "debug", q.td.td_attributes[0] & 0x01 ? "yes" : "no");
            print_hex_line("report_data", q.td.report_data, 64);
        }
        printf("  %-15s %u (%s)\n", "cert_data_type", q.cert_type,
               q.cert_type == 5 ? "PCK certificate chain" : "no chain in the quote");
    }
    free(data);
    return EXIT_OK;
}

static void verify_usage(FILE *out)
{
    fprintf(out,
            "usage: aecs quote verify FILE --collateral DIR [--at TIME] [--trusted-root CERT]\n"
            "                         [--json]\n\n"
            "Verifies evidence offline. An SGX or TDX DCAP quote: the PCK chain to the Intel\n"
            "SGX Root CA, the CRLs, TCB Info and QE Identity, the QE report, the quote\n"
            "signature, and the platform's TCB status, as Intel's quote verification library\n"
            "does. An AMD SEV-SNP report: the VCEK (or VLEK) chain to AMD's ARK pinned for the\n"
            "product, the report signature, the chip id and the reported TCB.\n\n"
            "  --collateral DIR     folder with root_ca_crl.der, pck_crl.der, tcb_info.json\n"
            "                       (or tcb_info.body.json + tcb_info.sig.hex),\n"
            "                       tcb_info_issuer_chain.pem, qe_identity.json (or .body.json\n"
            "                       + .sig.hex), qe_identity_issuer_chain.pem, and pck_chain.pem\n"
            "                       for quotes that do not carry their PCK chain.\n"
            "                       For SEV-SNP: vcek.der (or vlek.der), and optionally\n"
            "                       cert_chain.pem or ask.pem + ark.pem\n"
            "  --at TIME            verify as of this RFC 3339 time (default: now)\n"
            "  --trusted-root CERT  trust this root CA (DER or PEM) instead of the pinned\n"
            "                       Intel SGX Root CA (Intel quotes only)\n"
            "  --json               print the verdict as JSON\n"
            "  -h, --help           this help\n\n"
            "Exit status: 0 verified (whatever the TCB status), 1 not verified (including\n"
            "expired collateral), 2 usage error or unreadable input.\n");
}

static void print_verdict(const struct aecs_dcap_result *r)
{
    char from[32];
    char until[32];

    printf("verified:   %s\n", r->verified ? "yes" : "no");
    if (r->platform != AECS_PLATFORM_UNKNOWN)
        printf("platform:   %s\n", r->platform == AECS_PLATFORM_SGX ? "sgx" : "tdx");
    if (r->sim)
        printf("simulated:  yes (an aecs sim root, trusted only because it was given)\n");
    if (r->has_tcb_status)
        printf("status:     %s (qv_result 0x%04X)\n", r->tcb_status, r->qv_result);
    if (r->advisories.count > 0) {
        printf("advisories:");
        for (size_t i = 0; i < r->advisories.count; i++)
            printf("%s %s", i ? "," : "", r->advisories.ids[i]);
        printf("\n");
    }
    if (r->valid_until > 0 && r->valid_until < INT64_MAX) {
        aecs_time_format(r->valid_from, from);
        aecs_time_format(r->valid_until, until);
        printf("collateral: valid %s .. %s%s\n", from, until,
               r->collateral_expired ? " (EXPIRED at the verification time)" : "");
    }
    if (!r->verified)
        printf("error:      [%s] %s (%s): %s\n", r->stage, aecs_qvl_quote3_error_name(r->error),
               aecs_qvl_status_name(r->error), r->message);
}

static int quote_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"collateral", required_argument, NULL, 'c'},
        {"at", required_argument, NULL, 'a'},
        {"trusted-root", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    const char *root_path = NULL;
    int64_t at = aecs_time_now();
    int json = 0;
    int c;
    int rc = EXIT_USAGE;
    uint8_t *data = NULL;
    size_t size = 0;
    uint8_t *root_data = NULL;
    size_t root_size = 0;
    struct aecs_cert *root = NULL;
    struct aecs_collateral *col = NULL;
    struct aecs_dcap_prepared *prep = NULL;
    struct aecs_dcap_result *res = NULL;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            dir = optarg;
            break;
        case 'a':
            if (aecs_time_parse(optarg, &at) != AECS_OK) {
                cli_report_error("--at");
                return EXIT_USAGE;
            }
            break;
        case 'r':
            root_path = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            verify_usage(stdout);
            return EXIT_OK;
        default:
            verify_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || dir == NULL) {
        if (dir == NULL)
            fprintf(stderr, "aecs: quote verify needs --collateral DIR\n");
        verify_usage(stderr);
        return EXIT_USAGE;
    }
    if (aecs_file_read(argv[optind], MAX_QUOTE_FILE, &data, &size) != AECS_OK) {
        cli_report_error(NULL);
        goto out;
    }
    if (aecs_evidence_detect(data, size) == AECS_EVIDENCE_SNP) {
        if (root_path != NULL) {
            fprintf(stderr, "aecs: --trusted-root applies to Intel quotes; SEV-SNP reports always "
                            "chain to the ARK that aecs pins for the product\n");
            goto out;
        }
        rc = quote_verify_snp(argv[optind], data, size, dir, at, json);
        goto out;
    }
    if (root_path != NULL) {
        if (aecs_file_read(root_path, 1u << 16, &root_data, &root_size) != AECS_OK ||
            aecs_cert_parse(root_data, root_size, &root) != AECS_OK) {
            cli_report_error("--trusted-root");
            goto out;
        }
    }
    if (aecs_collateral_load_dir(dir, &col) != AECS_OK) {
        cli_report_error(NULL);
        goto out;
    }
    if (aecs_dcap_prepare(col, root, &prep) != AECS_OK) {
        cli_report_error(NULL);
        goto out;
    }
    res = calloc(1, sizeof(*res));
    if (res == NULL) {
        fprintf(stderr, "aecs: out of memory\n");
        goto out;
    }
    aecs_dcap_verify(prep, data, size, at, res);
    if (json) {
        json_t *o = aecs_dcap_result_to_json(res);
        print_json(o);
        json_decref(o);
    } else {
        print_verdict(res);
    }
    rc = res->verified ? EXIT_OK : EXIT_REFUSED;
out:
    free(res);
    aecs_dcap_prepared_free(prep);
    aecs_cert_free(root);
    free(root_data);
    free(data);
    return rc;
}

static const struct cli_command k_quote_commands[] = {
    {"show", quote_show, "parse a quote or report and print its fields"},
    {"verify", quote_verify, "verify a quote or report against collateral"},
    {"generate", quote_generate, "produce evidence over 64 bytes of report data"},
    {NULL, NULL, NULL},
};

int cmd_quote(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: aecs quote COMMAND [ARGS...]\n\nCommands:\n");
        cli_print_table(stdout, "aecs quote", k_quote_commands);
        return EXIT_OK;
    }
    optind = 0;
    return cli_dispatch("aecs quote", k_quote_commands, argc - 1, argv + 1);
}
