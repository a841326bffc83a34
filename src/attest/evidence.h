/*
 * evidence.h - tells which kind of attestation evidence a blob is, from its
 * first bytes, so commands can take any kind without being told.
 */
#ifndef AECS_ATTEST_EVIDENCE_H
#define AECS_ATTEST_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

enum aecs_evidence_kind {
    AECS_EVIDENCE_UNKNOWN = 0,
    AECS_EVIDENCE_DCAP, /* Intel SGX/TDX quote: u16 version 3..5, u16 key type 2 */
    AECS_EVIDENCE_SNP,  /* AMD SEV-SNP attestation report: u32 version 2, 3 or 5 (1184 bytes) */
};

enum aecs_evidence_kind aecs_evidence_detect(const uint8_t *data, size_t size);
const char *aecs_evidence_kind_name(enum aecs_evidence_kind kind);

#endif
