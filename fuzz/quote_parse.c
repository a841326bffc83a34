/*
 * quote_parse.c - libFuzzer target for aecs_quote_parse().
 *
 * Parses the input as a DCAP quote. When parsing succeeds, every region the
 * parsed quote points at must lie inside the input (checked explicitly, then
 * read byte by byte so ASan sees any stray pointer), the sizes must add up to
 * the input size, and the decoded fields must agree with the raw bytes they
 * came from. Seeds: fuzz/corpus/quote_parse/ (SGX v3, TDX v4 and v5 quotes
 * from tests/data/dcap, and truncated pieces of them).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/quote.h"

/* 1 when [p, p + n) lies inside [base, base + size). */
static int in_bounds(const uint8_t *base, size_t size, const uint8_t *p, size_t n)
{
    uintptr_t b = (uintptr_t)base;
    uintptr_t q = (uintptr_t)p;

    if (p == NULL)
        return n == 0;
    return q >= b && n <= size && q - b <= size - n;
}

/* Reads every byte of a region so that the sanitizers check each access. */
static uint32_t touch(const uint8_t *p, size_t n)
{
    uint32_t acc = 2166136261u;

    for (size_t i = 0; i < n; i++)
        acc = (acc ^ p[i]) * 16777619u;
    return acc;
}

static void check_region(const uint8_t *data, size_t size, const uint8_t *p, size_t n,
                         volatile uint32_t *sink)
{
    if (!in_bounds(data, size, p, n))
        abort();
    *sink ^= touch(p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aecs_quote q;
    volatile uint32_t sink = 0;

    if (aecs_quote_parse(data, size, &q) != AECS_OK)
        return 0;

    check_region(data, size, q.signed_data, q.signed_size, &sink);
    check_region(data, size, q.body, q.body_size, &sink);
    check_region(data, size, q.signature, 64, &sink);
    check_region(data, size, q.attest_key, 64, &sink);
    check_region(data, size, q.qe_report_raw, AECS_SGX_REPORT_SIZE, &sink);
    check_region(data, size, q.qe_report_sig, 64, &sink);
    check_region(data, size, q.qe_auth_data, q.qe_auth_size, &sink);
    check_region(data, size, q.cert_data, q.cert_size, &sink);

    /* The signed part starts the quote; the body ends it. */
    if (q.signed_data != data || q.body + q.body_size != q.signed_data + q.signed_size)
        abort();
    /* header + body, the signature data size field, the signature data, the ignored tail */
    if (q.signed_size > size || size - q.signed_size < 4 ||
        (size_t)q.sig_data_size > size - q.signed_size - 4 ||
        q.signed_size + 4 + (size_t)q.sig_data_size + q.trailing_size != size)
        abort();
    /* The pieces of the signature data lie inside it. */
    const uint8_t *sig_data = data + q.signed_size + 4;
    if (!in_bounds(sig_data, q.sig_data_size, q.signature, 64) ||
        !in_bounds(sig_data, q.sig_data_size, q.attest_key, 64) ||
        !in_bounds(sig_data, q.sig_data_size, q.qe_report_raw, AECS_SGX_REPORT_SIZE) ||
        !in_bounds(sig_data, q.sig_data_size, q.cert_data, q.cert_size))
        abort();

    /* Body sizes match the body type. */
    size_t want = q.body_type == AECS_BODY_SGX    ? AECS_SGX_REPORT_SIZE
                  : q.body_type == AECS_BODY_TD10 ? AECS_TD10_REPORT_SIZE
                  : q.body_type == AECS_BODY_TD15 ? AECS_TD15_REPORT_SIZE
                                                  : 0;
    if (want == 0 || q.body_size != want)
        abort();

    /* Decoded copies agree with the raw bytes. */
    struct aecs_sgx_report qe;
    memset(&qe, 0, sizeof(qe));
    aecs_sgx_report_decode(q.qe_report_raw, &qe);
    if (memcmp(qe.report_data, q.qe_report.report_data, 64) != 0 ||
        memcmp(qe.mrsigner, q.qe_report.mrsigner, 32) != 0 ||
        memcmp(qe.attributes, q.qe_report.attributes, 16) != 0 ||
        qe.miscselect != q.qe_report.miscselect || qe.isvprodid != q.qe_report.isvprodid ||
        qe.isvsvn != q.qe_report.isvsvn)
        abort();
    if (q.body_type == AECS_BODY_SGX) {
        if (memcmp(q.sgx.report_data, q.body + 320, 64) != 0)
            abort();
    } else if (memcmp(q.td.report_data, q.body + 520, 64) != 0 ||
               memcmp(q.td.mrtd, q.body + 136, 48) != 0) {
        abort();
    }
    if (q.version < 3 || q.version > 5 || q.att_key_type != AECS_ATT_KEY_ECDSA_P256)
        abort();
    (void)sink;
    return 0;
}
