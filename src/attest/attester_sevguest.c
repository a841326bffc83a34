/*
 * attester_sevguest.c - the /dev/sev-guest attester (SEV-SNP guests).
 *
 * One SNP_GET_REPORT ioctl (Linux include/uapi/linux/sev-guest.h): a
 * struct snp_guest_request_ioctl with msg_version 1 whose req_data points at
 * a MSG_REPORT_REQ {user_data[64], vmpl, rsvd[28]} and resp_data at a 4000
 * byte buffer that receives the firmware's MSG_REPORT_RSP (AMD SEV-SNP
 * Firmware ABI): u32 STATUS, u32 REPORT_SIZE, 24 reserved bytes, then the
 * 1184-byte ATTESTATION_REPORT at offset 32. On failure the kernel leaves the
 * firmware error in exitinfo2 bits 31:0 and the VMM's in bits 63:32.
 *
 * The ioctl goes through the attester's ops, so tests can play the kernel.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attester_backend.h"
#include "attest/snp.h"
#include "base/reader.h"

_Static_assert(sizeof(struct aecs_snp_report_req) == 96, "snp_report_req is 96 bytes");
_Static_assert(offsetof(struct aecs_snp_report_req, vmpl) == 64, "vmpl at 64");
_Static_assert(sizeof(struct aecs_snp_report_resp) == 4000, "snp_report_resp is 4000 bytes");
_Static_assert(offsetof(struct aecs_snp_guest_request_ioctl, req_data) == 8, "req_data at 8");
_Static_assert(offsetof(struct aecs_snp_guest_request_ioctl, resp_data) == 16, "resp_data at 16");
_Static_assert(offsetof(struct aecs_snp_guest_request_ioctl, exitinfo2) == 24, "exitinfo2 at 24");
_Static_assert(sizeof(struct aecs_snp_guest_request_ioctl) == 32, "the ioctl argument is 32 bytes");

#define SNP_MSG_VERSION 1
#define SNP_STATUS_INVALID_PARAM 0x16 /* SEV_RET_INVALID_PARAM */

static int sev_probe(const struct aecs_attester *a)
{
    char path[ATTESTER_PATH_MAX];
    int is_dir = 0;
    int err;

    GUARD(aecs_attester_path(a, path, sizeof(path), AECS_SEV_GUEST_DEVICE));
    err = a->ops->stat(a->ops->ctx, path, &is_dir);
    ENSURE(err != ENOENT && err != ENOTDIR, AECS_E_NOT_FOUND, "sev-guest: no %.200s", path);
    ENSURE(err == 0, AECS_E_IO, "sev-guest: cannot stat %.200s: %s", path, strerror(err));
    ENSURE(!is_dir, AECS_E_NOT_FOUND, "sev-guest: %.200s is a directory, not the device", path);
    return AECS_OK;
}

/* Decodes a MSG_REPORT_RSP; *report points into resp. */
static int decode_response(const char *path, const uint8_t *resp, const uint8_t **report)
{
    struct aecs_reader r;
    uint32_t status = 0;
    uint32_t report_size = 0;

    aecs_reader_init(&r, resp, AECS_SNP_REPORT_RESP_SIZE, "MSG_REPORT_RSP");
    GUARD(aecs_read_u32le(&r, "STATUS", &status));
    GUARD(aecs_read_u32le(&r, "REPORT_SIZE", &report_size));
    GUARD(aecs_read_skip(&r, "reserved", AECS_SNP_MSG_REPORT_RSP_HEADER - 8));
    ENSURE(status != SNP_STATUS_INVALID_PARAM, AECS_E_IO,
           "sev-guest: the firmware refused the report request from %.200s: status 0x%x "
           "(INVALID_PARAM: the VMPL must be at least the guest's own, at most 3)",
           path, status);
    ENSURE(status == 0, AECS_E_IO,
           "sev-guest: the firmware refused the report request from %.200s: status 0x%x", path,
           status);
    ENSURE(report_size == AECS_SNP_REPORT_SIZE, AECS_E_UNSUPPORTED,
           "sev-guest: the firmware's report from %.200s is %u bytes; aecs reads %u-byte reports",
           path, report_size, AECS_SNP_REPORT_SIZE);
    return aecs_read_bytes(&r, "REPORT", AECS_SNP_REPORT_SIZE, report);
}

static int sev_evidence(struct aecs_attester *a, const uint8_t report_data[64], uint8_t **evidence,
                        size_t *size, struct aecs_attester_expect *expect)
{
    char path[ATTESTER_PATH_MAX];
    struct aecs_snp_report_req req;
    struct aecs_snp_report_resp *resp = NULL;
    struct aecs_snp_guest_request_ioctl io;
    const uint8_t *report = NULL;
    int err;
    int rc = AECS_OK;

    GUARD(aecs_attester_path(a, path, sizeof(path), AECS_SEV_GUEST_DEVICE));
    memset(&req, 0, sizeof(req));
    memcpy(req.user_data, report_data, sizeof(req.user_data));
    req.vmpl = a->has_privlevel ? a->privlevel : 0;
    resp = calloc(1, sizeof(*resp));
    ENSURE(resp != NULL, AECS_E_NO_MEMORY, "out of memory");
    memset(&io, 0, sizeof(io));
    io.msg_version = SNP_MSG_VERSION;
    io.req_data = (uint64_t)(uintptr_t)&req;
    io.resp_data = (uint64_t)(uintptr_t)resp;

    err = a->ops->ioctl(a->ops->ctx, path, AECS_SNP_GET_REPORT, &io);
    ENSURE_OUT(err != ENOENT, AECS_E_NOT_FOUND, "sev-guest: cannot open %.200s: %s", path,
               strerror(err));
    ENSURE_OUT(err != EACCES && err != EPERM, AECS_E_IO,
               "sev-guest: cannot open %.200s: %s (it needs read-write access: root, or the "
               "device's group)",
               path, strerror(err));
    if (err != 0 && io.exitinfo2 != 0)
        BAIL_OUT(AECS_E_IO,
                 "sev-guest: SNP_GET_REPORT on %.200s failed: %s (firmware error 0x%x, VMM "
                 "error 0x%x)",
                 path, strerror(err), (unsigned)(io.exitinfo2 & 0xffffffffu),
                 (unsigned)(io.exitinfo2 >> 32));
    ENSURE_OUT(err == 0, AECS_E_IO, "sev-guest: SNP_GET_REPORT on %.200s failed: %s", path,
               strerror(err));
    GUARD_OUT(decode_response(path, resp->data, &report));
    *evidence = malloc(AECS_SNP_REPORT_SIZE);
    ENSURE_OUT(*evidence != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(*evidence, report, AECS_SNP_REPORT_SIZE);
    *size = AECS_SNP_REPORT_SIZE;
    expect->platform = AECS_ATTESTER_SNP;
    expect->vmpl = (int)req.vmpl;
    snprintf(expect->source, sizeof(expect->source), "the report from %.250s", path);
out:
    free(resp);
    return rc;
}

const struct aecs_attester_backend g_aecs_attester_sev_guest = {
    .name = "sev-guest",
    .hint = "not an SEV-SNP guest, or the sev-guest driver is not loaded",
    .probe = sev_probe,
    .evidence = sev_evidence,
};
