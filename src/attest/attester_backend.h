/*
 * attester_backend.h - what attester.c shares with the backends
 * (attester_tsm.c, attester_sevguest.c, attester_gramine.c, attester_file.c,
 * attester_sim.c). Not part of the API: use attester.h.
 *
 * A backend has a probe (is its interface there?) and an evidence function.
 * The evidence function hands back the raw evidence together with what it
 * must be (platform, VMPL) and where it came from; attester.c then checks it
 * (aecs_attester_check_evidence plus those expectations) before anyone sees
 * it, so no backend can forget the report data check.
 */
#ifndef AECS_ATTEST_ATTESTER_BACKEND_H
#define AECS_ATTEST_ATTESTER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "attest/attester.h"
#include "base/err.h"

#define ATTESTER_PATH_MAX 4096

struct aecs_attester {
    const struct aecs_attester_backend *backend;
    char *root; /* "" for "/", else the prefix without a trailing slash */
    char *sim_dir;
    char *quote_file;
    int sim_tdx;
    int has_sim_identity;
    struct aecs_sim_quote_params sim_identity;
    int has_privlevel;
    unsigned privlevel;
    const struct aecs_attester_ops *ops;
};

enum aecs_attester_platform {
    AECS_ATTESTER_ANY = 0, /* a DCAP quote or an SNP report, whichever it is */
    AECS_ATTESTER_SGX,     /* a DCAP quote with an SGX report body */
    AECS_ATTESTER_TDX,     /* a DCAP quote with a TD report body */
    AECS_ATTESTER_SNP,     /* an SEV-SNP attestation report */
};

/* What a backend's evidence must be, and where it came from (for messages). */
struct aecs_attester_expect {
    enum aecs_attester_platform platform;
    int vmpl; /* SNP: the VMPL the report must carry; -1: any */
    char source[320];
};

struct aecs_attester_backend {
    const char *name;
    const char *hint; /* added to "not found" when the backend was named; may be NULL */
    /* AECS_OK when the interface is there; AECS_E_NOT_FOUND (auto goes on to
     * the next backend) or another error (auto stops) with a short message. */
    int (*probe)(const struct aecs_attester *a);
    int (*evidence)(struct aecs_attester *a, const uint8_t report_data[64], uint8_t **evidence,
                    size_t *size, struct aecs_attester_expect *expect);
};

extern const struct aecs_attester_backend g_aecs_attester_tsm;
extern const struct aecs_attester_backend g_aecs_attester_sev_guest;
extern const struct aecs_attester_backend g_aecs_attester_gramine;
extern const struct aecs_attester_backend g_aecs_attester_file;
extern const struct aecs_attester_backend g_aecs_attester_sim;

/* ROOT followed by rel (an absolute path such as "/dev/sev-guest"). */
AECS_MUST_CHECK int aecs_attester_path(const struct aecs_attester *a, char *buf, size_t size,
                                       const char *rel);

/*
 * Reads a small text attribute (configfs, Gramine) and cuts trailing
 * whitespace and NULs: *text holds at most cap-1 characters. Returns 0 or the
 * errno of the read; ENAMETOOLONG (not a real read error) when longer.
 */
int aecs_attester_read_text(const struct aecs_attester *a, const char *path, char *text,
                            size_t cap);

#endif
