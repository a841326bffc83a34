/*
 * cmd_snp.c - the SEV-SNP halves of `aecs quote show|verify`.
 *
 * cmd_quote.c detects an SNP report by its version field and size and hands it
 * here; the options (--json, --collateral, --at) were parsed there. Output and
 * exit codes follow the DCAP commands: 0 verified, 1 not verified, 2 usage
 * error or unreadable input (including a collateral folder without a VCEK).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "attest/snp.h"
#include "attest/snp_report.h"
#include "base/codec.h"
#include "base/err.h"
#include "base/timeutil.h"
#include "cli/cli.h"

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

static void print_tcb_line(const char *label, const struct aecs_snp_tcb *t)
{
    char raw[17];

    aecs_hex_encode(t->bytes, 8, raw);
    if (t->turin_layout)
        printf("  %-15s %s (fmc %u, bootloader %u, tee %u, snp %u, microcode %u)\n", label, raw,
               t->fmc, t->bootloader, t->tee, t->snp, t->microcode);
    else
        printf("  %-15s %s (bootloader %u, tee %u, snp %u, microcode %u)\n", label, raw,
               t->bootloader, t->tee, t->snp, t->microcode);
}

static void print_report(const struct aecs_snp_report *r)
{
    print_hex_line("measurement", r->measurement, 48);
    print_hex_line("host_data", r->host_data, 32);
    print_hex_line("report_data", r->report_data, 64);
    printf("  %-15s 0x%" PRIx64 "\n", "policy", r->policy);
    printf("  %-15s %s\n", "debug", (r->policy & AECS_SNP_POLICY_DEBUG) ? "yes" : "no");
    printf("  %-15s %u\n  %-15s %u\n", "vmpl", r->vmpl, "guest_svn", r->guest_svn);
    print_hex_line("family_id", r->family_id, 16);
    print_hex_line("image_id", r->image_id, 16);
    print_tcb_line("reported_tcb", &r->reported_tcb);
    print_hex_line("chip_id", r->chip_id, 64);
    printf("  %-15s %s%s\n", "signing_key", aecs_snp_signing_key_name(r->signing_key),
           r->mask_chip_id ? " (CHIP_ID masked)" : "");
    printf("  %-15s %u.%u.%u\n", "firmware", r->current_major, r->current_minor, r->current_build);
}

int quote_show_snp(const char *path, const uint8_t *data, size_t size, int json)
{
    struct aecs_snp_report *r = calloc(1, sizeof(*r));
    int rc = EXIT_USAGE;

    if (r == NULL) {
        fprintf(stderr, "aecs: out of memory\n");
        return EXIT_USAGE;
    }
    if (aecs_snp_report_parse(data, size, r) != AECS_OK) {
        cli_report_error(path);
        goto out;
    }
    if (json) {
        json_t *o = aecs_snp_report_to_json(r);
        print_json(o);
        json_decref(o);
    } else {
        printf("SEV-SNP attestation report, version %u, %zu bytes (%s)\n", r->version, size,
               r->product == AECS_AMD_PRODUCT_UNKNOWN
                   ? "product not stated in a v2 report; TCB shown in the Milan/Genoa layout"
                   : aecs_amd_product_name(r->product));
        print_report(r);
    }
    rc = EXIT_OK;
out:
    free(r);
    return rc;
}

static void print_verdict(const struct aecs_snp_result *r)
{
    char from[32];
    char until[32];

    printf("verified:   %s\n", r->verified ? "yes" : "no");
    printf("platform:   snp");
    if (r->vek_parsed)
        printf(" (%s, %s)", r->vek.product_name, r->vek.is_vlek ? "VLEK" : "VCEK");
    printf("\n");
    if (r->valid_until != 0) {
        aecs_time_format(r->valid_from, from);
        aecs_time_format(r->valid_until, until);
        printf("collateral: valid %s .. %s%s\n", from, until,
               r->collateral_expired ? " (EXPIRED at the verification time)" : "");
    }
    if (r->report_parsed) {
        char hex[2 * 48 + 1];
        aecs_hex_encode(r->report.measurement, 48, hex);
        printf("measurement: %s\n", hex);
    }
    if (!r->verified)
        printf("error:      [%s] %s: %s\n", r->stage ? r->stage : "internal",
               aecs_snp_error_name(r->error), r->message);
}

int quote_verify_snp(const char *path, const uint8_t *data, size_t size, const char *collateral,
                     int64_t at, int json)
{
    struct aecs_snp_collateral *col = NULL;
    struct aecs_snp_result *res = NULL;
    int rc = EXIT_USAGE;

    (void)path;
    if (aecs_snp_collateral_load_dir(collateral, &col) != AECS_OK) {
        cli_report_error(NULL);
        goto out;
    }
    res = calloc(1, sizeof(*res));
    if (res == NULL) {
        fprintf(stderr, "aecs: out of memory\n");
        goto out;
    }
    aecs_snp_verify(data, size, col, at, res);
    if (json) {
        json_t *o = aecs_snp_result_to_json(res);
        print_json(o);
        json_decref(o);
    } else {
        print_verdict(res);
    }
    rc = res->verified ? EXIT_OK : EXIT_REFUSED;
out:
    free(res);
    aecs_snp_collateral_free(col);
    return rc;
}
