/*
 * kds_answer.c - libFuzzer target for what AMD's KDS answers: the input is
 * split into a VCEK body and a cert_chain body (the first two bytes give the
 * VCEK's length, big-endian) and checked as aecs_kds_vcek_check checks a
 * fetch, for the Milan test vector's key; the whole input, as text, also goes
 * through the Retry-After parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/kds.h"
#include "base/codec.h"

#include "fuzz_text.h"

/* tests/data/snp/snp_milan_virtee: CHIP_ID and REPORTED_TCB. */
static const char k_chip_id[] = "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc"
                                "15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6";
static const uint8_t k_tcb[8] = {3, 0, 0, 0, 0, 0, 8, 115};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aecs_kds_key key;
    struct aecs_kds_vcek *v = NULL;
    int64_t wait = 0;

    char *text = fuzz_text(data, size);
    if (text == NULL)
        return 0;
    if (aecs_kds_parse_retry_after(text, 0, &wait) == AECS_OK && wait < 0)
        __builtin_trap();
    free(text);

    if (size < 2)
        return 0;
    size_t vcek_size = ((size_t)data[0] << 8) | data[1];
    if (vcek_size > size - 2)
        return 0;
    memset(&key, 0, sizeof(key));
    key.product = AECS_AMD_MILAN;
    key.hwid_size = 64;
    if (aecs_hex_decode_exact(k_chip_id, 128, key.hwid, 64) != AECS_OK)
        __builtin_trap();
    memcpy(key.tcb, k_tcb, 8);
    key.path[0] = '/';
    if (aecs_kds_vcek_check(&key, data + 2, vcek_size, data + 2 + vcek_size, size - 2 - vcek_size,
                            &v) == AECS_OK) {
        size_t der_size = 0;
        if (aecs_kds_vcek_der(v, &der_size) == NULL || der_size == 0 ||
            aecs_kds_vcek_collateral(v)->vcek == NULL)
            __builtin_trap();
        aecs_kds_vcek_release(v);
    }
    return 0;
}
