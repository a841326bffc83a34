/*
 * pck_ext.c - libFuzzer target for the Intel SGX PCK certificate extension
 * (OID 1.2.840.113741.1.13.1) and for certificate parsing.
 *
 * Each input goes through two paths:
 *   1. aecs_sgx_ext_parse_der() on the input as the DER of the extension's
 *      value (the content of its OCTET STRING);
 *   2. aecs_cert_parse() on the input as a certificate (DER or PEM), then
 *      aecs_sgx_ext_parse_cert() and the read-only accessors on the result.
 * Seeds: fuzz/corpus/pck_ext/ holds the extension values and the PCK leaf
 * certificates of the sgx_v3_dcapqvl and tdx_v4_dcapqvl test vectors.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/x509.h"

/* Sanity of a successfully parsed extension. */
static void check_ext(const struct aecs_sgx_ext *ext)
{
    if (ext->has_configuration != 0 && ext->has_configuration != 1)
        abort();
    if (ext->has_platform_instance_id != 0 && ext->has_platform_instance_id != 1)
        abort();
    if (ext->dynamic_platform < -1 || ext->dynamic_platform > 1 || ext->cached_keys < -1 ||
        ext->cached_keys > 1 || ext->smt_enabled < -1 || ext->smt_enabled > 1)
        abort();
}

static void fuzz_ext_der(const uint8_t *data, size_t size)
{
    struct aecs_sgx_ext ext;

    if (aecs_sgx_ext_parse_der(data, size, &ext) == AECS_OK)
        check_ext(&ext);
}

static void fuzz_cert(const uint8_t *data, size_t size)
{
    struct aecs_cert *cert = NULL;
    struct aecs_sgx_ext ext;
    char buf[256];
    uint8_t fp[32];
    size_t der_size = 0;

    if (aecs_cert_parse(data, size, &cert) != AECS_OK)
        return;
    if (aecs_sgx_ext_parse_cert(cert, &ext) == AECS_OK)
        check_ext(&ext);
    aecs_cert_subject_cn(cert, buf, sizeof(buf));
    if (strlen(buf) >= sizeof(buf))
        abort();
    aecs_cert_subject_line(cert, buf, sizeof(buf));
    aecs_cert_fingerprint(cert, fp);
    (void)aecs_cert_self_issued(cert);
    (void)aecs_cert_not_before(cert);
    (void)aecs_cert_not_after(cert);
    if (aecs_cert_pubkey(cert) == NULL)
        abort();

    /* The re-encoded DER parses to the same certificate. */
    const uint8_t *der = aecs_cert_der(cert, &der_size);
    if (der == NULL || der_size == 0)
        abort();
    struct aecs_cert *again = NULL;
    if (aecs_cert_parse(der, der_size, &again) == AECS_OK) {
        if (!aecs_cert_equal(cert, again))
            abort();
        aecs_cert_free(again);
    }
    aecs_cert_free(cert);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ext_der(data, size);
    fuzz_cert(data, size);
    return 0;
}
