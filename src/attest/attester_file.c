/*
 * attester_file.c - the bring-your-own-quote attester: evidence made
 * elsewhere (an enclave built with Intel's SGX SDK calls the quoting library
 * itself) and left in a file. The file is read at every request and handed
 * out only when it is a DCAP quote or an SEV-SNP report whose report data is
 * the requested one (attester.c checks that), so a stale quote is refused
 * rather than sent.
 */
#include <stdio.h>

#include "attest/attester_backend.h"
#include "base/file.h"

#define QUOTE_FILE_MAX (1u << 20)

static int file_probe(const struct aecs_attester *a)
{
    ENSURE(a->quote_file != NULL, AECS_E_INVALID_ARGUMENT,
           "file: no quote file configured (--quote-file FILE)");
    ENSURE(aecs_file_exists(a->quote_file), AECS_E_NOT_FOUND, "file: no %.200s", a->quote_file);
    return AECS_OK;
}

static int file_evidence(struct aecs_attester *a, const uint8_t report_data[64], uint8_t **evidence,
                         size_t *size, struct aecs_attester_expect *expect)
{
    (void)report_data;
    int rc = aecs_file_read(a->quote_file, QUOTE_FILE_MAX, evidence, size);
    if (rc != AECS_OK) {
        aecs_err_prefix("file: ");
        return rc;
    }
    expect->platform = AECS_ATTESTER_ANY;
    snprintf(expect->source, sizeof(expect->source), "%.250s", a->quote_file);
    return AECS_OK;
}

const struct aecs_attester_backend g_aecs_attester_file = {
    .name = "file",
    .hint = NULL,
    .probe = file_probe,
    .evidence = file_evidence,
};
