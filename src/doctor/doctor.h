/*
 * doctor.h - `aecs doctor`: checks this machine's TEE setup and says, for
 * each thing it looks at, whether it is fine and what to do when it is not.
 *
 * The checks are a table of functions (doctor.c), run in a fixed order, each
 * filling one row: a stable name, a status, a detail (what was found) and a
 * hint (what to do; empty when there is nothing to do). Statuses:
 *
 *   OK    present and usable by the user the checks are made for
 *   WARN  present but not usable by that user (permissions), or usable with
 *         a weakness (TLS checks off, a legacy driver, SGX without FLC), or
 *         missing while the rest of the machine says it should be there
 *   FAIL  present or configured, but broken for everyone: a configuration
 *         file that does not parse (the detail names the line), a device path
 *         that is not a character device, a socket nobody answers, a PCCS
 *         that cannot be reached, a sim folder that is not one
 *   SKIP  not applicable here (no such TEE on this machine) or not asked for
 *         (--offline)
 *
 * A machine without any TEE gets SKIPs, never a FAIL: `aecs doctor` exits 0
 * there and says that the simulated TEE is available.
 *
 * Every path the checks read (/proc/cpuinfo, /dev/..., /sys/kernel/config/
 * tsm/report, /var/run/aesmd/aesm.socket, the library folders,
 * /etc/sgx_default_qcnl.conf) is taken under `root`, so tests run against a
 * fake tree. Device checks follow symbolic links, as open() does: a fake
 * tree can link /dev/sgx_enclave to /dev/null to stand in for a working
 * device. The qcnl file given with `qcnl_path` and the sim folder are the
 * user's own paths and are not put under root.
 *
 * Nothing is written anywhere: the checks stat, read, open a Unix socket
 * (AESM) and make one HTTP(S) GET per PCCS URL (unless offline).
 */
#ifndef AECS_DOCTOR_DOCTOR_H
#define AECS_DOCTOR_DOCTOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

#define AECS_DOCTOR_MAX_CHECKS 32
#define AECS_DOCTOR_NAME_MAX 32
#define AECS_DOCTOR_TEXT_MAX 640
#define AECS_DOCTOR_DEFAULT_TIMEOUT_MS 5000
/* The folders searched for Intel's DCAP libraries, in this order, under root. */
#define AECS_DOCTOR_LIB_DIRS                                                                       \
    "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib",      \
        "/lib", "/usr/local/lib", "/usr/local/lib64"

enum aecs_doctor_status {
    AECS_DOCTOR_OK = 0,
    AECS_DOCTOR_WARN = 1,
    AECS_DOCTOR_FAIL = 2,
    AECS_DOCTOR_SKIP = 3,
};

enum aecs_doctor_tee {
    AECS_DOCTOR_TEE_NONE = 0,
    AECS_DOCTOR_TEE_SGX = 1,
    AECS_DOCTOR_TEE_TDX = 2,
    AECS_DOCTOR_TEE_SNP = 3,
};

struct aecs_doctor_options {
    const char *root;      /* every system path is read under it; NULL or "": "/" */
    const char *qcnl_path; /* NULL: <root>/etc/sgx_default_qcnl.conf (a missing one is no error) */
    const char *sim_dir;   /* a sim folder to check; NULL: none given (SKIP) */
    int offline;           /* do not contact the PCCS (SKIP) */
    long timeout_ms;       /* for each PCCS request; 0: AECS_DOCTOR_DEFAULT_TIMEOUT_MS */
    int64_t now;           /* for the sim collateral's expiry; 0: the current time */
    /* The environment the Occlum marker (OCCLUM=yes) is looked for in; NULL: the process's. */
    char *const *env;
    /*
     * Judge permissions for another user than the caller: from the mode bits,
     * owner and group of each path (POSIX ACLs and security modules are not
     * considered). When 0, the caller's own access is asked with access(2).
     */
    int as_user;
    uid_t uid;
    gid_t gid;
    const gid_t *groups; /* supplementary groups */
    size_t group_count;
    const char *user_name; /* for messages; NULL: "uid N" */
    /*
     * TESTS ONLY: a regular file where a device node is expected counts as a
     * character device (fake trees cannot hold device nodes without root).
     * The CLI never sets it; without it such a file is a FAIL.
     */
    int test_accept_regular_files;
};

struct aecs_doctor_check {
    char name[AECS_DOCTOR_NAME_MAX];
    enum aecs_doctor_status status;
    char detail[AECS_DOCTOR_TEXT_MAX];
    char hint[AECS_DOCTOR_TEXT_MAX]; /* "" when there is nothing to do */
};

struct aecs_doctor_report {
    enum aecs_doctor_tee tee;
    char libos[16];    /* "Gramine" or "Occlum" when tee is sgx through one, else "" */
    int sim_ready;     /* the sim folder given is set up and its collateral current */
    char sim_dir[512]; /* the sim folder checked ("" when none) */
    size_t count;
    struct aecs_doctor_check checks[AECS_DOCTOR_MAX_CHECKS];
};

/*
 * Runs every check and fills *out (which the caller owns; nothing to free).
 * Fails only on bad options: AECS_E_INVALID_ARGUMENT when root is not a
 * folder. What the checks find, broken files included, goes into the rows.
 */
AECS_MUST_CHECK int aecs_doctor_run(const struct aecs_doctor_options *opts,
                                    struct aecs_doctor_report *out);

/* "OK", "WARN", "FAIL", "SKIP". */
const char *aecs_doctor_status_name(enum aecs_doctor_status s);
/* "none", "sgx", "tdx", "snp". */
const char *aecs_doctor_tee_name(enum aecs_doctor_tee t);

/* The row with that name, or NULL. */
const struct aecs_doctor_check *aecs_doctor_find(const struct aecs_doctor_report *r,
                                                 const char *name);
/* How many rows have status s. */
size_t aecs_doctor_count(const struct aecs_doctor_report *r, enum aecs_doctor_status s);

/*
 * One or two sentences for the end of the output: which TEE this machine
 * has, or, with none, that there is none and that the simulated TEE is
 * available (and how to start it). Written NUL-terminated into buf.
 */
void aecs_doctor_summary(const struct aecs_doctor_report *r, char *buf, size_t size);

#endif
