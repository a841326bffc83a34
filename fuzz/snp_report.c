/*
 * snp_report.c - libFuzzer target for the SEV-SNP report parser.
 *
 * Parses the input as an attestation report; when it parses, renders it as
 * JSON, decodes its TCBs in every product layout, builds the KDS VCEK path and
 * runs the identity and TCB checks against a fixed VCEK extension set, so that
 * everything downstream of the parser sees arbitrary field values.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attest/snp.h"
#include "attest/snp_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct aecs_snp_report r;
    static const enum aecs_amd_product products[] = {AECS_AMD_MILAN, AECS_AMD_GENOA, AECS_AMD_TURIN,
                                                     AECS_AMD_PRODUCT_UNKNOWN};
    struct aecs_amd_vek_ext vek;
    char path[256];

    if (aecs_snp_report_parse(data, size, &r) != AECS_OK)
        return 0;
    json_t *o = aecs_snp_report_to_json(&r);
    json_decref(o);
    o = aecs_snp_claims_json(&r);
    json_decref(o);
    memset(&vek, 0, sizeof(vek));
    for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++) {
        aecs_snp_report_set_product(&r, products[i]);
        if (aecs_snp_kds_vcek_path(&r, products[i], path, sizeof(path)) == AECS_OK &&
            strlen(path) >= sizeof(path))
            __builtin_trap();
        vek.product = products[i];
        vek.struct_version = aecs_amd_product_turin_layout(products[i]);
        vek.hwid_size = vek.struct_version ? 8 : 64;
        memcpy(vek.hwid, r.chip_id, vek.hwid_size);
        memcpy(vek.tcb, r.reported_tcb_raw, 8);
        (void)aecs_snp_check_identity(&r, &vek);
        (void)aecs_snp_check_tcb(&r, &vek);
    }
    return 0;
}
