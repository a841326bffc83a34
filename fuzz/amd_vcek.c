/*
 * amd_vcek.c - libFuzzer target for the VCEK/VLEK certificate checks: the input
 * is parsed as a certificate (DER or PEM) and, when it is one, its KDS
 * extensions are decoded and AMD's algorithm checks run on it.
 */
#include <stddef.h>
#include <stdint.h>

#include "crypto/amd.h"
#include "crypto/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aecs_cert *cert = NULL;
    struct aecs_amd_vek_ext ext;

    if (aecs_cert_parse(data, size, &cert) != AECS_OK)
        return 0;
    if (aecs_amd_vek_ext_parse(cert, &ext) == AECS_OK) {
        if (ext.hwid_size > sizeof(ext.hwid) || ext.product == AECS_AMD_PRODUCT_UNKNOWN)
            __builtin_trap();
    }
    (void)aecs_amd_check_pss_sha384(cert);
    (void)aecs_amd_check_p384_key(cert);
    aecs_cert_free(cert);
    return 0;
}
