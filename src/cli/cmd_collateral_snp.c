/*
 * cmd_collateral_snp.c - the SEV-SNP half of `aecs collateral fetch`: gets a
 * report's VCEK and its product's cert_chain from AMD's KDS and writes them as
 * the folder `aecs quote verify --collateral` reads (vcek.der,
 * cert_chain.pem).
 *
 * cmd_collateral.c parses the options and reads the file; when it is an SNP
 * report it hands it here. Exit codes as there: 0 written, 1 the fetch or the
 * write failed, 2 usage error or unreadable input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attest/kds.h"
#include "attest/snp.h"
#include "base/codec.h"
#include "base/err.h"
#include "base/timeutil.h"
#include "cli/cli.h"

/* --product: Milan, Genoa or Turin (any case). */
static int parse_product(const char *name, enum aecs_amd_product *out)
{
    static const enum aecs_amd_product known[] = {AECS_AMD_MILAN, AECS_AMD_GENOA, AECS_AMD_TURIN};

    *out = AECS_AMD_PRODUCT_UNKNOWN;
    if (name == NULL)
        return AECS_OK;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcasecmp(name, aecs_amd_product_name(known[i])) == 0) {
            *out = known[i];
            return AECS_OK;
        }
    }
    return AECS_ERR(AECS_E_USAGE,
                    "--product must be Milan, Genoa or Turin (Bergamo and Siena "
                    "are Genoa), not '%.40s'",
                    name);
}

int collateral_fetch_snp(const char *path, const uint8_t *data, size_t size, const char *out_dir,
                         const char *kds_url, const char *product_name, long timeout_s)
{
    struct aecs_snp_report *r = NULL;
    struct aecs_kds_key key;
    struct aecs_kds_source src;
    struct aecs_kds_vcek *v = NULL;
    enum aecs_amd_product given;
    char hwid[2 * 8 + 1];
    char until[32];
    struct aecs_snp_tcb t;
    int rc = EXIT_USAGE;

    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        fprintf(stderr, "aecs: out of memory\n");
        return EXIT_USAGE;
    }
    if (parse_product(product_name, &given) != AECS_OK ||
        aecs_kds_source_init(&src, kds_url) != AECS_OK) {
        cli_report_error(NULL);
        goto out;
    }
    if (aecs_snp_report_parse(data, size, r) != AECS_OK ||
        aecs_kds_key_from_report(r, given, &key) != AECS_OK) {
        cli_report_error(path);
        if (aecs_err_last()->code == AECS_E_USAGE)
            fprintf(stderr, "aecs: pass --product Milan|Genoa|Turin\n");
        goto out;
    }
    if (timeout_s > 0)
        src.http.total_timeout_ms = timeout_s * 1000;

    rc = EXIT_REFUSED;
    if (aecs_kds_fetch(&src, &key, &v) != AECS_OK) {
        cli_report_error(NULL);
        fprintf(stderr, "aecs: nothing was written; %s is unchanged\n", out_dir);
        goto out;
    }
    if (aecs_kds_dir_write(out_dir, v) != AECS_OK) {
        cli_report_error(NULL);
        goto out;
    }
    aecs_hex_encode(key.hwid, 8, hwid);
    aecs_snp_tcb_decode(key.tcb, aecs_amd_product_turin_layout(key.product), &t);
    aecs_time_format(aecs_kds_vcek_not_after(v), until);
    printf("fetched the %s VCEK (hwID %s%s, TCB ", aecs_amd_product_name(key.product), hwid,
           key.hwid_size > 8 ? "..." : "");
    if (t.turin_layout)
        printf("fmc %u, ", t.fmc);
    printf("bootloader %u, tee %u, snp %u, microcode %u) and cert_chain from %s\n", t.bootloader,
           t.tee, t.snp, t.microcode, src.base_url);
    printf("wrote %s (vcek.der, cert_chain.pem; the VCEK is valid until %s%s)\n", out_dir, until,
           aecs_kds_vcek_not_after(v) <= aecs_time_now() ? ", already EXPIRED" : "");
    rc = EXIT_OK;
out:
    aecs_kds_vcek_release(v);
    free(r);
    return rc;
}
