/*
 * attester.h - evidence producers ("attesters"): one interface that makes
 * attestation evidence over 64 bytes of report data, whatever hands it out.
 *
 * Backends (the name given to aecs_attester_open):
 *   tsm        Linux configfs-tsm, ROOT/sys/kernel/config/tsm/report (TDX and
 *              SEV-SNP guests, Linux 6.7+): a report entry per request.
 *   sev-guest  the SNP_GET_REPORT ioctl on ROOT/dev/sev-guest (SEV-SNP guests).
 *   gramine    Gramine's ROOT/dev/attestation (SGX enclaves, DCAP).
 *   file       a quote or report made elsewhere (an Intel SGX SDK enclave
 *              writes its own quote): handed out only when its report data is
 *              the requested one.
 *   sim        the simulated TEE (sim.h). Insecure: used only when named or
 *              configured, and every use is logged as a warning.
 *   auto       the first of tsm, sev-guest, gramine whose interface exists,
 *              then sim only when a sim folder is configured. A backend whose
 *              interface exists but is unusable (Gramine with attestation off,
 *              say) stops the search with its error: auto never falls back
 *              from a broken TEE to the sim.
 *
 * Every device and filesystem path is ROOT followed by the path the kernel or
 * Gramine uses (ROOT "/" by default), and every file operation and the ioctl go
 * through struct aecs_attester_ops, the plain system calls unless a caller
 * (a test) passes a fake kernel. The sim folder and the quote file are user
 * paths and are not prefixed.
 *
 * Whatever the backend, the evidence is parsed before it is handed out (an
 * Intel DCAP quote or an SEV-SNP report, of the platform the backend makes),
 * and its report data must equal the requested 64 bytes: an interface that
 * hands out stale or foreign evidence is refused with AECS_E_MISMATCH.
 *
 * An attester is used by one thread at a time; distinct attesters are
 * independent (configfs-tsm requests each use their own report entry).
 */
#ifndef AECS_ATTEST_ATTESTER_H
#define AECS_ATTEST_ATTESTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "attest/evidence.h"
#include "attest/sim.h"
#include "base/err.h"

#define AECS_ATTESTER_REPORT_DATA_SIZE 64

/* Environment variables read when the configuration leaves the field NULL. */
#define AECS_ATTEST_ROOT_ENV "AECS_ATTEST_ROOT"
#define AECS_SIM_DIR_ENV "AECS_SIM_DIR"

/* The paths under ROOT. */
#define AECS_TSM_REPORT_DIR "/sys/kernel/config/tsm/report"
#define AECS_SEV_GUEST_DEVICE "/dev/sev-guest"
#define AECS_GRAMINE_ATTESTATION_DIR "/dev/attestation"

/* configfs-tsm: how many report entries are tried when another writer interferes. */
#define AECS_TSM_TRIES 3

/*
 * The operations every backend performs on ROOT-prefixed paths. Each returns
 * 0 or an errno value (as the kernel would), never an aecs error: the backend
 * turns it into a message that names the path and the operation.
 *
 *   stat   whether path exists; *is_dir says whether it is a directory.
 *   read   the whole content (open, read to end of file, close) into a fresh
 *          buffer the caller frees with free(); EFBIG above max bytes.
 *   write  size bytes with one open (write only, no create, no truncate),
 *          writes and close: configfs attributes and Gramine's pseudo-files
 *          take a value per open.
 *   mkdir, rmdir  a directory (configfs makes and removes report entries).
 *   ioctl  open path read-write, ioctl(request, arg), close.
 */
struct aecs_attester_ops {
    void *ctx; /* passed to every call */
    int (*stat)(void *ctx, const char *path, int *is_dir);
    int (*read)(void *ctx, const char *path, size_t max, uint8_t **data, size_t *size);
    int (*write)(void *ctx, const char *path, const uint8_t *data, size_t size);
    int (*mkdir)(void *ctx, const char *path);
    int (*rmdir)(void *ctx, const char *path);
    int (*ioctl)(void *ctx, const char *path, unsigned long request, void *arg);
};

/* The real system calls. */
extern const struct aecs_attester_ops g_aecs_attester_posix_ops;

/*
 * The SNP_GET_REPORT ioctl of /dev/sev-guest, laid out as in Linux's
 * include/uapi/linux/sev-guest.h (checked against it by the unit tests), with
 * the request and response messages of AMD's SEV-SNP Firmware ABI
 * (MSG_REPORT_REQ, MSG_REPORT_RSP).
 */
struct aecs_snp_report_req { /* struct snp_report_req, MSG_REPORT_REQ */
    uint8_t user_data[64];   /* the report data */
    uint32_t vmpl;           /* the VMPL written into the report */
    uint8_t rsvd[28];        /* zero */
};

#define AECS_SNP_REPORT_RESP_SIZE 4000
struct aecs_snp_report_resp { /* struct snp_report_resp: a MSG_REPORT_RSP */
    uint8_t data[AECS_SNP_REPORT_RESP_SIZE];
};
/* MSG_REPORT_RSP: u32 STATUS, u32 REPORT_SIZE, 24 reserved bytes, then the report. */
#define AECS_SNP_MSG_REPORT_RSP_HEADER 32

struct aecs_snp_guest_request_ioctl {
    uint8_t msg_version; /* 1 */
    uint64_t req_data;   /* address of a struct aecs_snp_report_req */
    uint64_t resp_data;  /* address of a struct aecs_snp_report_resp */
    uint64_t exitinfo2;  /* out: bits 31:0 firmware error, 63:32 VMM error */
};

/* Linux's SNP_GET_REPORT: _IOWR('S', 0x0, struct snp_guest_request_ioctl). */
#define AECS_SNP_GET_REPORT _IOWR('S', 0x0, struct aecs_snp_guest_request_ioctl)

struct aecs_attester_config {
    /* Prefix of every device and filesystem path; NULL: $AECS_ATTEST_ROOT, else "/". */
    const char *root;
    /* sim: the folder made by aecs_sim_init; NULL: $AECS_SIM_DIR; unset: no sim. */
    const char *sim_dir;
    /* sim: make a TDX quote (v4) instead of an SGX quote (v3). */
    int sim_tdx;
    /* sim: the enclave or TD measurements (tee and report_data are ignored); NULL: all zero. */
    const struct aecs_sim_quote_params *sim_identity;
    /* file: the quote or report to hand out (read at every request). */
    const char *quote_file;
    /* SEV-SNP: ask for a report at this VMPL (0..3). Unset: configfs-tsm leaves
     * privlevel alone, sev-guest asks for VMPL 0. */
    int has_privlevel;
    unsigned privlevel;
    /* NULL: g_aecs_attester_posix_ops. Borrowed: must outlive the attester. */
    const struct aecs_attester_ops *ops;
};

struct aecs_attester;

/*
 * Opens the attester `name` ("auto", "tsm" (or "configfs-tsm"), "sev-guest",
 * "gramine", "file", "sim"). cfg may be NULL for the defaults. A named backend
 * is checked to be there: AECS_E_NOT_FOUND names the missing path. auto fails
 * with AECS_E_NOT_FOUND and what it tried when nothing is available.
 * AECS_E_INVALID_ARGUMENT: an unknown name, sim without a folder, file without
 * a file, a privlevel above 3 or for a backend that has none. Opening the sim
 * logs a warning. The caller frees *out with aecs_attester_free().
 */
AECS_MUST_CHECK int aecs_attester_open(const char *name, const struct aecs_attester_config *cfg,
                                       struct aecs_attester **out);

/*
 * Makes evidence over report_data. On success *evidence is a fresh buffer of
 * *size bytes (free() it) and *kind says what it is; it parses and carries
 * report_data. Errors name the backend, the path and what the interface
 * returned (errno text, firmware status, generation numbers).
 */
AECS_MUST_CHECK int aecs_attester_evidence(struct aecs_attester *a, const uint8_t report_data[64],
                                           uint8_t **evidence, size_t *size,
                                           enum aecs_evidence_kind *kind);

/* The backend in use: "tsm", "sev-guest", "gramine", "file" or "sim" (never "auto"). */
const char *aecs_attester_name(const struct aecs_attester *a);
/* 1 when the backend is the simulated TEE. */
int aecs_attester_is_sim(const struct aecs_attester *a);

void aecs_attester_free(struct aecs_attester *a);

/*
 * Checks that evidence is a DCAP quote or an SEV-SNP report that parses and
 * carries report_data: AECS_E_MISMATCH when it carries other report data,
 * the parser's error otherwise. *kind is set on success.
 */
AECS_MUST_CHECK int aecs_attester_check_evidence(const uint8_t *evidence, size_t size,
                                                 const uint8_t report_data[64],
                                                 enum aecs_evidence_kind *kind);

#endif
