/*
 * evidence.c - see evidence.h. Detection only looks at the version fields; the
 * parsers decide whether the rest is well formed.
 */
#include "attest/evidence.h"

#include "base/reader.h"

enum aecs_evidence_kind aecs_evidence_detect(const uint8_t *data, size_t size)
{
    if (size < 8)
        return AECS_EVIDENCE_UNKNOWN;
    uint16_t v16 = aecs_le16(data);
    uint16_t key = aecs_le16(data + 2);
    uint32_t v32 = aecs_le32(data);
    if (v16 >= 3 && v16 <= 5 && key == 2)
        return AECS_EVIDENCE_DCAP;
    /*
     * An SNP report's version is a u32, so its bytes 2-3 are zero where a DCAP
     * quote has its key type; the SNP parser judges the size (and names what a
     * truncated report lacks).
     */
    if (v32 == 2 || v32 == 3 || v32 == 5)
        return AECS_EVIDENCE_SNP;
    /* DCAP-shaped but with another key type: let the DCAP parser say what is wrong. */
    if (v16 >= 3 && v16 <= 5)
        return AECS_EVIDENCE_DCAP;
    return AECS_EVIDENCE_UNKNOWN;
}

const char *aecs_evidence_kind_name(enum aecs_evidence_kind kind)
{
    switch (kind) {
    case AECS_EVIDENCE_DCAP:
        return "dcap";
    case AECS_EVIDENCE_SNP:
        return "snp";
    default:
        return "unknown";
    }
}
