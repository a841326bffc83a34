/*
 * attester_gramine.c - the Gramine attester (SGX enclaves under Gramine with
 * sgx.remote_attestation = "dcap").
 *
 * Gramine's pseudo-files under ROOT/dev/attestation: attestation_type says
 * which attestation the manifest turned on ("none", "epid" or "dcap"; aecs
 * takes only "dcap", and a Gramine without the file is taken as DCAP);
 * writing the 64 bytes of report data to user_report_data and then reading
 * quote gives an SGX DCAP quote over them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attest/attester_backend.h"

#define QUOTE_MAX (1u << 20)

static int gramine_probe(const struct aecs_attester *a)
{
    char path[ATTESTER_PATH_MAX];
    char type[32];
    int is_dir = 0;
    int err;

    GUARD(aecs_attester_path(a, path, sizeof(path), AECS_GRAMINE_ATTESTATION_DIR "/quote"));
    err = a->ops->stat(a->ops->ctx, path, &is_dir);
    ENSURE(err != ENOENT && err != ENOTDIR, AECS_E_NOT_FOUND, "gramine: no %.200s", path);
    ENSURE(err == 0, AECS_E_IO, "gramine: cannot stat %.200s: %s", path, strerror(err));

    GUARD(aecs_attester_path(a, path, sizeof(path),
                             AECS_GRAMINE_ATTESTATION_DIR "/attestation_type"));
    err = aecs_attester_read_text(a, path, type, sizeof(type));
    if (err == ENOENT)
        return AECS_OK; /* older Gramine: no attestation_type, quote is there */
    ENSURE(err == 0, AECS_E_IO, "gramine: cannot read %.200s: %s", path,
           err == ENAMETOOLONG ? "too long" : strerror(err));
    ENSURE(strcmp(type, "dcap") == 0, AECS_E_UNSUPPORTED,
           "gramine: %.200s says '%.20s': aecs needs DCAP attestation "
           "(sgx.remote_attestation = \"dcap\" in the manifest)",
           path, type);
    return AECS_OK;
}

static int gramine_evidence(struct aecs_attester *a, const uint8_t report_data[64],
                            uint8_t **evidence, size_t *size, struct aecs_attester_expect *expect)
{
    char path[ATTESTER_PATH_MAX];
    int err;

    GUARD(aecs_attester_path(a, path, sizeof(path),
                             AECS_GRAMINE_ATTESTATION_DIR "/user_report_data"));
    err = a->ops->write(a->ops->ctx, path, report_data, 64);
    ENSURE(err == 0, err == ENOENT ? AECS_E_NOT_FOUND : AECS_E_IO,
           "gramine: cannot write the report data to %.200s: %s", path, strerror(err));
    GUARD(aecs_attester_path(a, path, sizeof(path), AECS_GRAMINE_ATTESTATION_DIR "/quote"));
    err = a->ops->read(a->ops->ctx, path, QUOTE_MAX, evidence, size);
    ENSURE(err == 0, err == ENOENT ? AECS_E_NOT_FOUND : AECS_E_IO,
           "gramine: cannot read %.200s: %s", path, strerror(err));
    expect->platform = AECS_ATTESTER_SGX;
    snprintf(expect->source, sizeof(expect->source), "the quote from %.250s", path);
    return AECS_OK;
}

const struct aecs_attester_backend g_aecs_attester_gramine = {
    .name = "gramine",
    .hint = "not inside a Gramine SGX enclave with sgx.remote_attestation = \"dcap\"",
    .probe = gramine_probe,
    .evidence = gramine_evidence,
};
