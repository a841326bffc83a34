/*
 * attester.c - see attester.h. Opening (by name or by the auto order), the
 * check every piece of evidence goes through before it is handed out, and the
 * plain system-call operations the backends use by default.
 */
#include "attest/attester.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/attester_backend.h"
#include "attest/quote.h"
#include "attest/snp.h"
#include "base/codec.h"
#include "base/log.h"

/* ---- the real system calls ---- */

static int posix_stat(void *ctx, const char *path, int *is_dir)
{
    struct stat st;

    (void)ctx;
    *is_dir = 0;
    if (stat(path, &st) != 0)
        return errno;
    *is_dir = S_ISDIR(st.st_mode);
    return 0;
}

static int posix_read(void *ctx, const char *path, size_t max, uint8_t **data, size_t *size)
{
    int fd;
    int err = 0;
    uint8_t *buf = NULL;
    size_t cap = 0;
    size_t got = 0;

    (void)ctx;
    *data = NULL;
    *size = 0;
    if (max > SIZE_MAX / 2)
        max = SIZE_MAX / 2; /* so that max + 1 cannot wrap */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    for (;;) {
        if (got == cap) {
            /* Grow up to max + 1 bytes: one byte more than max means too large. */
            size_t next = cap == 0 ? 4096 : 2 * cap;
            if (next > max + 1)
                next = max + 1;
            if (next <= got) {
                err = EFBIG;
                break;
            }
            uint8_t *p = realloc(buf, next);
            if (p == NULL) {
                err = ENOMEM;
                break;
            }
            buf = p;
            cap = next;
        }
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = errno;
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > max) {
            err = EFBIG;
            break;
        }
    }
    close(fd);
    if (err != 0) {
        free(buf);
        return err;
    }
    if (buf == NULL && (buf = malloc(1)) == NULL)
        return ENOMEM;
    *data = buf;
    *size = got;
    return 0;
}

static int posix_write(void *ctx, const char *path, const uint8_t *data, size_t size)
{
    int fd;
    size_t done = 0;

    (void)ctx;
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            close(fd);
            return err;
        }
        done += (size_t)n;
    }
    if (close(fd) != 0)
        return errno;
    return 0;
}

static int posix_mkdir(void *ctx, const char *path)
{
    (void)ctx;
    return mkdir(path, 0700) == 0 ? 0 : errno;
}

static int posix_rmdir(void *ctx, const char *path)
{
    (void)ctx;
    return rmdir(path) == 0 ? 0 : errno;
}

static int posix_ioctl(void *ctx, const char *path, unsigned long request, void *arg)
{
    int fd;
    int err = 0;

    (void)ctx;
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno;
    while (ioctl(fd, request, arg) != 0) {
        if (errno != EINTR) {
            err = errno;
            break;
        }
    }
    close(fd);
    return err;
}

const struct aecs_attester_ops g_aecs_attester_posix_ops = {
    .ctx = NULL,
    .stat = posix_stat,
    .read = posix_read,
    .write = posix_write,
    .mkdir = posix_mkdir,
    .rmdir = posix_rmdir,
    .ioctl = posix_ioctl,
};

/* ---- helpers for the backends ---- */

int aecs_attester_path(const struct aecs_attester *a, char *buf, size_t size, const char *rel)
{
    int n = snprintf(buf, size, "%s%s", a->root, rel);

    ENSURE(n > 0 && (size_t)n < size, AECS_E_INVALID_ARGUMENT, "path too long: %.100s%.100s",
           a->root, rel);
    return AECS_OK;
}

int aecs_attester_read_text(const struct aecs_attester *a, const char *path, char *text, size_t cap)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int err = a->ops->read(a->ops->ctx, path, cap - 1, &data, &size);

    text[0] = '\0';
    if (err == EFBIG)
        return ENAMETOOLONG;
    if (err != 0)
        return err;
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == ' ' || data[size - 1] == '\t' ||
                        data[size - 1] == '\r' || data[size - 1] == 0))
        size--;
    memcpy(text, data, size);
    text[size] = '\0';
    free(data);
    return 0;
}

/* ---- the evidence check ---- */

static const char *platform_name(enum aecs_attester_platform p)
{
    switch (p) {
    case AECS_ATTESTER_SGX:
        return "an SGX quote";
    case AECS_ATTESTER_TDX:
        return "a TDX quote";
    case AECS_ATTESTER_SNP:
        return "an SEV-SNP report";
    case AECS_ATTESTER_ANY:
        return "a DCAP quote or an SEV-SNP report";
    default:
        return "?";
    }
}

/*
 * Parses evidence as `expect` says (by its first bytes for ANY) and checks
 * the report data and, for SNP with vmpl >= 0, the VMPL. Messages are
 * prefixed by the caller.
 */
static int check_evidence(const uint8_t *ev, size_t size, const uint8_t report_data[64],
                          enum aecs_attester_platform expect, int vmpl,
                          enum aecs_evidence_kind *kind)
{
    enum aecs_attester_platform got;
    const uint8_t *rd;
    struct aecs_quote q;
    struct aecs_snp_report *snp = NULL;
    int is_snp = expect == AECS_ATTESTER_SNP;
    int rc = AECS_OK;

    if (expect == AECS_ATTESTER_ANY) {
        enum aecs_evidence_kind k = aecs_evidence_detect(ev, size);
        ENSURE(k != AECS_EVIDENCE_UNKNOWN, AECS_E_FORMAT,
               "neither an Intel DCAP quote nor an SEV-SNP report (%zu bytes)", size);
        is_snp = k == AECS_EVIDENCE_SNP;
    }
    if (is_snp) {
        snp = malloc(sizeof(*snp));
        ENSURE(snp != NULL, AECS_E_NO_MEMORY, "out of memory");
        GUARD_OUT(aecs_snp_report_parse(ev, size, snp));
        got = AECS_ATTESTER_SNP;
        rd = snp->report_data;
    } else {
        GUARD_OUT(aecs_quote_parse(ev, size, &q));
        got = q.body_type == AECS_BODY_SGX ? AECS_ATTESTER_SGX : AECS_ATTESTER_TDX;
        rd = got == AECS_ATTESTER_SGX ? q.sgx.report_data : q.td.report_data;
    }
    ENSURE_OUT(expect == AECS_ATTESTER_ANY || got == expect, AECS_E_UNSUPPORTED,
               "expected %s, got %s", platform_name(expect), platform_name(got));
    if (memcmp(rd, report_data, 64) != 0) {
        char want_hex[129];
        char got_hex[129];
        aecs_hex_encode(report_data, 64, want_hex);
        aecs_hex_encode(rd, 64, got_hex);
        log_debug("report data asked for %s, in the evidence %s", want_hex, got_hex);
        BAIL_OUT(AECS_E_MISMATCH, "its report data is not the requested report data: it was "
                                  "made for another request (refused)");
    }
    if (is_snp && vmpl >= 0)
        ENSURE_OUT(snp->vmpl == (uint32_t)vmpl, AECS_E_MISMATCH,
                   "the report is for VMPL %u, VMPL %d was asked for", snp->vmpl, vmpl);
    *kind = is_snp ? AECS_EVIDENCE_SNP : AECS_EVIDENCE_DCAP;
out:
    free(snp);
    return rc;
}

int aecs_attester_check_evidence(const uint8_t *evidence, size_t size,
                                 const uint8_t report_data[64], enum aecs_evidence_kind *kind)
{
    *kind = AECS_EVIDENCE_UNKNOWN;
    return check_evidence(evidence, size, report_data, AECS_ATTESTER_ANY, -1, kind);
}

/* ---- opening ---- */

static const struct aecs_attester_backend *const k_auto_order[] = {
    &g_aecs_attester_tsm,
    &g_aecs_attester_sev_guest,
    &g_aecs_attester_gramine,
};

static const struct aecs_attester_backend *backend_named(const char *name)
{
    static const struct {
        const char *name;
        const struct aecs_attester_backend *backend;
    } k_names[] = {
        {"tsm", &g_aecs_attester_tsm},
        {"configfs-tsm", &g_aecs_attester_tsm},
        {"sev-guest", &g_aecs_attester_sev_guest},
        {"gramine", &g_aecs_attester_gramine},
        {"file", &g_aecs_attester_file},
        {"sim", &g_aecs_attester_sim},
    };

    for (size_t i = 0; i < sizeof(k_names) / sizeof(k_names[0]); i++) {
        if (strcmp(name, k_names[i].name) == 0)
            return k_names[i].backend;
    }
    return NULL;
}

/* The configured value, else the environment variable, else NULL (empty counts as unset). */
static const char *setting(const char *value, const char *env)
{
    if (value != NULL)
        return value;
    value = secure_getenv(env);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

static int dup_string(const char *s, char **out)
{
    *out = NULL;
    if (s == NULL)
        return AECS_OK;
    *out = strdup(s);
    ENSURE(*out != NULL, AECS_E_NO_MEMORY, "out of memory");
    return AECS_OK;
}

static int configure(struct aecs_attester *a, const struct aecs_attester_config *cfg)
{
    const char *root = setting(cfg->root, AECS_ATTEST_ROOT_ENV);
    size_t len;

    if (root == NULL)
        root = "/";
    ENSURE(root[0] != '\0', AECS_E_INVALID_ARGUMENT, "the attestation root must not be empty");
    GUARD(dup_string(root, &a->root));
    /* "/" and "/x/" become "" and "/x": paths are appended as "/dev/...". */
    len = strlen(a->root);
    while (len > 0 && a->root[len - 1] == '/')
        a->root[--len] = '\0';
    GUARD(dup_string(setting(cfg->sim_dir, AECS_SIM_DIR_ENV), &a->sim_dir));
    GUARD(dup_string(cfg->quote_file, &a->quote_file));
    a->sim_tdx = cfg->sim_tdx != 0;
    if (cfg->sim_identity != NULL) {
        a->has_sim_identity = 1;
        a->sim_identity = *cfg->sim_identity;
    }
    a->has_privlevel = cfg->has_privlevel != 0;
    a->privlevel = cfg->privlevel;
    ENSURE(!a->has_privlevel || a->privlevel <= 3, AECS_E_INVALID_ARGUMENT,
           "privlevel (VMPL) must be 0 to 3, not %u", a->privlevel);
    a->ops = cfg->ops != NULL ? cfg->ops : &g_aecs_attester_posix_ops;
    return AECS_OK;
}

/* The first backend of the auto order whose interface is there, then the sim if configured. */
static int pick_auto(struct aecs_attester *a)
{
    char tried[4][160];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(k_auto_order) / sizeof(k_auto_order[0]); i++) {
        const struct aecs_attester_backend *b = k_auto_order[i];
        int rc = b->probe(a);
        if (rc == AECS_OK) {
            log_info("attester auto: using %s", b->name);
            a->backend = b;
            return AECS_OK;
        }
        if (rc != AECS_E_NOT_FOUND) {
            /* The interface is there but unusable: never fall back past it. */
            aecs_err_prefix("auto: ");
            return rc;
        }
        snprintf(tried[n++], sizeof(tried[0]), "%.159s", aecs_err_last()->message);
        log_info("attester auto: %s", aecs_err_last()->message);
    }
    if (a->sim_dir == NULL) {
        snprintf(tried[n++], sizeof(tried[0]), "sim: not configured (--sim DIR or %s)",
                 AECS_SIM_DIR_ENV);
    } else {
        int rc = g_aecs_attester_sim.probe(a);
        if (rc == AECS_OK) {
            a->backend = &g_aecs_attester_sim;
            return AECS_OK;
        }
        if (rc != AECS_E_NOT_FOUND)
            return rc;
        snprintf(tried[n++], sizeof(tried[0]), "%.159s", aecs_err_last()->message);
    }
    return AECS_ERR(AECS_E_NOT_FOUND, "no attester available: %s; %s; %s; %s", tried[0], tried[1],
                    tried[2], tried[3]);
}

int aecs_attester_open(const char *name, const struct aecs_attester_config *cfg,
                       struct aecs_attester **out)
{
    static const struct aecs_attester_config k_defaults;
    struct aecs_attester *a = NULL;
    int rc = AECS_OK;

    *out = NULL;
    ENSURE(name != NULL, AECS_E_INVALID_ARGUMENT, "no attester named");
    a = calloc(1, sizeof(*a));
    ENSURE(a != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(configure(a, cfg != NULL ? cfg : &k_defaults));
    if (strcmp(name, "auto") == 0) {
        GUARD_OUT(pick_auto(a));
    } else {
        a->backend = backend_named(name);
        ENSURE_OUT(a->backend != NULL, AECS_E_INVALID_ARGUMENT,
                   "unknown attester '%.40s' (auto, tsm, sev-guest, gramine, file or sim)", name);
        rc = a->backend->probe(a);
        if (rc == AECS_E_NOT_FOUND && a->backend->hint != NULL) {
            char msg[sizeof(aecs_err_last()->message)];
            snprintf(msg, sizeof(msg), "%s", aecs_err_last()->message);
            rc = AECS_ERR(rc, "%.300s (%s)", msg, a->backend->hint);
        }
        if (rc != AECS_OK)
            goto out;
    }
    ENSURE_OUT(!a->has_privlevel || a->backend == &g_aecs_attester_tsm ||
                   a->backend == &g_aecs_attester_sev_guest,
               AECS_E_INVALID_ARGUMENT,
               "a privlevel (VMPL) applies to SEV-SNP guests (tsm, sev-guest), not to %s",
               a->backend->name);
    if (a->backend == &g_aecs_attester_sim)
        log_warn("attester sim (%.200s): a SIMULATED TEE, insecure: its evidence is signed by "
                 "keys in that folder, verifies only against its own root and proves nothing "
                 "about this machine; for tests and demos only",
                 a->sim_dir);
    *out = a;
    a = NULL;
out:
    aecs_attester_free(a);
    return rc;
}

int aecs_attester_evidence(struct aecs_attester *a, const uint8_t report_data[64],
                           uint8_t **evidence, size_t *size, enum aecs_evidence_kind *kind)
{
    struct aecs_attester_expect expect;
    uint8_t *ev = NULL;
    size_t ev_size = 0;
    int rc = AECS_OK;

    *evidence = NULL;
    *size = 0;
    *kind = AECS_EVIDENCE_UNKNOWN;
    memset(&expect, 0, sizeof(expect));
    expect.vmpl = -1;
    rc = a->backend->evidence(a, report_data, &ev, &ev_size, &expect);
    if (rc != AECS_OK) {
        free(ev);
        return rc;
    }
    rc = check_evidence(ev, ev_size, report_data, expect.platform, expect.vmpl, kind);
    if (rc != AECS_OK) {
        aecs_err_prefix("%s: %s: ", a->backend->name, expect.source);
        *kind = AECS_EVIDENCE_UNKNOWN;
        free(ev);
        return rc;
    }
    *evidence = ev;
    *size = ev_size;
    return AECS_OK;
}

const char *aecs_attester_name(const struct aecs_attester *a)
{
    return a->backend->name;
}

int aecs_attester_is_sim(const struct aecs_attester *a)
{
    return a->backend == &g_aecs_attester_sim;
}

void aecs_attester_free(struct aecs_attester *a)
{
    if (a == NULL)
        return;
    free(a->root);
    free(a->sim_dir);
    free(a->quote_file);
    free(a);
}
